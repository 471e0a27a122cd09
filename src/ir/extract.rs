//! Extracting part of a graph as a graph of its own (the post-processing model, an NPU region).

use std::collections::HashMap;

use super::graph::{Graph, GraphInput, NodeKind, ValueId};
use super::tensors::{Initializer, TensorData};
use crate::proto;

/// The declaration of `v` as a graph input or output of an extracted graph: its graph-output
/// declaration when it was one, else its value_info, else its known type.
pub fn declaration(g: &Graph, v: ValueId) -> proto::ValueInfoProto {
    let value = g.value(v);
    let mut info = g
        .outputs()
        .iter()
        .find(|o| o.value == v)
        .map(|o| o.info.clone())
        .or_else(|| value.info.as_ref().map(|d| d.proto.clone()))
        .unwrap_or_default();
    info.name = Some(value.name.clone());
    if info.r#type.is_none() {
        info.r#type = value.ty.as_ref().map(|t| t.to_proto());
    }
    info
}

/// A new graph made of `nodes` (op nodes and the constants they read, in any order), whose inputs
/// are `inputs` and whose outputs are `outputs` — values of `g`, keeping their names, types and
/// declarations. Every value the nodes read must be among `inputs` or produced by `nodes`.
pub fn extract(
    g: &Graph,
    nodes: &[super::NodeId],
    inputs: &[ValueId],
    outputs: &[ValueId],
) -> Result<Graph, String> {
    let mut out = Graph::new();
    out.shell.name = g.shell.name.clone();
    let mut map: HashMap<ValueId, ValueId> = HashMap::new();
    for &v in inputs {
        let info = declaration(g, v);
        let value = g.value(v).clone();
        let id = out.add_node(
            NodeKind::Input(Box::new(GraphInput {
                info,
                default: None,
            })),
            vec![super::Value {
                info: None,
                ..value
            }],
        );
        map.insert(v, ValueId { node: id, slot: 0 });
    }
    let members: std::collections::HashSet<_> = nodes.iter().copied().collect();
    let order = g
        .topo_order()
        .map_err(|c| format!("cycle through '{}'", c.node))?;
    for id in order.into_iter().filter(|n| members.contains(n)) {
        let node = g.node(id);
        let kind = match &node.kind {
            NodeKind::Initializer(init) => {
                NodeKind::Initializer(copy_initializer(g, init, &mut out))
            }
            other => other.clone(),
        };
        let new = out.add_node(kind, node.outputs.clone());
        for v in g.values_of(id) {
            map.insert(
                v,
                ValueId {
                    node: new,
                    slot: v.slot,
                },
            );
        }
        for (src, port) in g.incoming(id) {
            let mapped = map.get(&src).copied().ok_or_else(|| {
                format!("node '{}' reads '{}', which the extracted part neither computes nor takes as input", node.display_name(), g.value(src).name)
            })?;
            out.connect(mapped, new, port);
        }
    }
    for &v in outputs {
        let mapped = map.get(&v).copied().ok_or_else(|| {
            format!(
                "output '{}' is not computed by the extracted part",
                g.value(v).name
            )
        })?;
        out.add_output(mapped, declaration(g, v));
    }
    Ok(out)
}

/// The initializer with its bytes re-interned in `dst`'s pool (a view, not a copy).
fn copy_initializer(src: &Graph, init: &Initializer, dst: &mut Graph) -> Initializer {
    let data = match init.data {
        TensorData::Raw(id) => TensorData::Raw(dst.pool.intern(src.pool.get(id).clone())),
        TensorData::External(id) => TensorData::External(dst.pool.intern(src.pool.get(id).clone())),
        TensorData::Inline => TensorData::Inline,
    };
    Initializer {
        shell: init.shell.clone(),
        data,
    }
}
