//! Emission of a partition. `annotated` (the default, here): the model as it is, each op node
//! carrying its placement in its metadata (`npuopt.placement` = `npu:<region>` or `cpu`), the
//! model carrying the summary (`npuopt.partition`, JSON). Runtimes ignore metadata, so the model
//! runs unchanged. The other modes start from the annotated model: `functions` wraps each region
//! as a model-local function, `split` writes one model per part plus a manifest.

use super::plan::Plan;
use crate::ir::Model;
use crate::pass::apply_metadata;
use crate::proto::StringStringEntryProto;

pub const NODE_KEY: &str = "npuopt.placement";
pub const MODEL_KEY: &str = "npuopt.partition";

/// Writes the placement of every node and the summary into the model's metadata.
pub fn annotate(model: &mut Model, plan: &Plan) {
    for n in &plan.nodes {
        let value = match n.region {
            Some(r) => format!("npu:{r}"),
            None => "cpu".to_string(),
        };
        let Some(op) = model.graph.node_mut(n.node).as_op_mut() else {
            continue;
        };
        let meta = op.metadata_mut();
        match meta.iter_mut().find(|e| e.key() == NODE_KEY) {
            Some(e) => e.value = Some(value),
            None => meta.push(StringStringEntryProto {
                key: Some(NODE_KEY.to_string()),
                value: Some(value),
            }),
        }
    }
    let summary = serde_json::to_string(&plan.summary).unwrap_or_default();
    apply_metadata(&mut model.shell, vec![(MODEL_KEY.to_string(), summary)]);
}
