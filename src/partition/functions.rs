//! `--emit functions`: every NPU region becomes a model-local function `region_<k>` in domain
//! [`DOMAIN`], and the main graph calls it with one node (`npu_region_<k>`). ONNX Runtime inlines
//! model-local functions, so the model runs as before; Netron shows each region as one node that
//! opens into its body.
//!
//! The weights a region reads stay initializers of the main graph and are passed to the function
//! as inputs, after the activations. ONNX functions cannot hold initializers; the alternative,
//! Constant nodes inside the body, would copy a weight that a CPU node or a second region also
//! reads, would keep the weights in the model file whatever `--external-data` says (a Constant's
//! tensor is an attribute, which npuopt's external-data writer does not place), and would put them
//! beyond the 2 GiB check. As inputs, every weight is stored once, where the model had it, and
//! both onnx.checker and ONNX Runtime accept initializers feeding a function call.
//!
//! A body keeps its nodes' and values' names: a function's formal names are its own scope, so the
//! formal inputs and outputs are simply the names of the values crossing the boundary.
//!
//! One op is written differently inside a body. ONNX Runtime (1.31) type-checks function bodies
//! strictly, and its `com.microsoft.QLinearConcat` schema infers the output's type from input 0
//! (the float scale), so any function holding one fails to load ("Y has unsupported type
//! tensor(float)"); in a main graph the same node loads. Inside bodies it is therefore written as
//! DequantizeLinear per input, Concat, QuantizeLinear: ONNX Runtime computes both forms with the
//! same float arithmetic (`(q - zp) · s`, then round-half-even, add the zero point, saturate), so
//! the outputs are bit for bit the same (checked by `tests/conformance/emit.py`).

use std::collections::HashMap;
use std::path::Path;

use super::emit::NODE_KEY;
use super::parts::{parts, PartKind};
use super::plan::Plan;
use crate::ir::extract::extract;
use crate::ir::op::{is_onnx_domain, MS_DOMAIN};
use crate::ir::{DeclaredInfo, Graph, Model, NodeId, OpNode, Port, ValueId};
use crate::onnx::encode::encode_graph;
use crate::onnx::external::{ExternalPolicy, ExternalWriter};
use crate::proto;

/// The domain of the region functions.
pub const DOMAIN: &str = "npuopt.ethos_n";
/// Model-local functions need IR version 8.
const FUNCTIONS_IR_VERSION: i64 = 8;

/// Wraps every NPU region of `plan` (computed on `model.graph`) as a function called from the
/// main graph. Returns the number of functions added.
pub fn wrap_regions(model: &mut Model, plan: &Plan) -> Result<usize, String> {
    let regions: Vec<_> = parts(&model.graph, plan)?
        .into_iter()
        .filter_map(|p| match p.kind {
            PartKind::Npu { region } => Some((region, p)),
            PartKind::Cpu => None,
        })
        .collect();
    // Outputs of regions already wrapped are now outputs of their call nodes.
    let mut moved: HashMap<ValueId, ValueId> = HashMap::new();
    for (region, part) in &regions {
        let mut signature: Vec<ValueId> = part
            .inputs
            .iter()
            .map(|v| moved.get(v).copied().unwrap_or(*v))
            .collect();
        signature.extend(part.constants.iter().map(|&c| ValueId { node: c, slot: 0 }));
        let body = extract(&model.graph, &part.nodes, &signature, &part.outputs)
            .map_err(|e| format!("NPU region {region}: {e}"))?;
        let function = function(model, *region, &body)?;
        model.shell.functions.push(function);
        let call = call(
            &mut model.graph,
            *region,
            &part.nodes,
            &signature,
            &part.outputs,
        );
        moved.extend(part.outputs.iter().copied().zip(call));
    }
    if !regions.is_empty() {
        let shell = &mut model.shell;
        shell.ir_version = Some(shell.ir_version().max(FUNCTIONS_IR_VERSION));
        if !shell.opset_import.iter().any(|o| o.domain() == DOMAIN) {
            shell.opset_import.push(proto::OperatorSetIdProto {
                domain: Some(DOMAIN.to_string()),
                version: Some(1),
            });
        }
    }
    Ok(regions.len())
}

/// The FunctionProto of one region, from its extracted graph.
fn function(model: &Model, region: usize, body: &Graph) -> Result<proto::FunctionProto, String> {
    // The body has no initializers, so nothing is ever written outside.
    let mut writer = ExternalWriter::new(ExternalPolicy::Inline, Path::new("."));
    let mut gp = encode_graph(body, &mut writer)?;
    gp.node = gp.node.into_iter().flat_map(loadable_in_function).collect();
    let mut opset_import: Vec<proto::OperatorSetIdProto> = Vec::new();
    for node in &gp.node {
        let domain = node.domain();
        if opset_import
            .iter()
            .any(|o| o.domain() == domain || (is_onnx_domain(domain) && is_onnx_domain(o.domain())))
        {
            continue;
        }
        let version = model.opset(domain).ok_or_else(|| {
            format!(
                "NPU region {region}: node '{}' is in domain '{domain}', which the model does not import",
                node.name()
            )
        })?;
        opset_import.push(proto::OperatorSetIdProto {
            domain: Some(domain.to_string()),
            version: Some(version),
        });
    }
    Ok(proto::FunctionProto {
        name: Some(format!("region_{region}")),
        domain: Some(DOMAIN.to_string()),
        input: gp.input.iter().map(|i| i.name().to_string()).collect(),
        output: gp.output.iter().map(|o| o.name().to_string()).collect(),
        doc_string: Some(format!(
            "NPU region {region}: {} nodes, placed by npuopt",
            gp.node.len()
        )),
        node: gp.node,
        opset_import,
        ..Default::default()
    })
}

/// The node, or for a QLinearConcat its DequantizeLinear–Concat–QuantizeLinear form (see the
/// module documentation), each new node keeping the original's name as a prefix and its metadata.
fn loadable_in_function(node: proto::NodeProto) -> Vec<proto::NodeProto> {
    if node.domain() != MS_DOMAIN || node.op_type() != "QLinearConcat" || node.input.len() < 5 {
        return vec![node];
    }
    let (Some(output), [y_scale, y_zero_point, triples @ ..]) =
        (node.output.first(), node.input.as_slice())
    else {
        return vec![node];
    };
    let derived = |op: &str, suffix: &str, input: Vec<String>, output: String| proto::NodeProto {
        name: Some(format!("{}/{suffix}", node.name())),
        op_type: Some(op.to_string()),
        domain: Some(String::new()),
        input,
        output: vec![output],
        attribute: Vec::new(),
        metadata_props: node.metadata_props.clone(),
        ..Default::default()
    };
    let mut nodes: Vec<proto::NodeProto> = triples
        .chunks(3)
        .enumerate()
        .map(|(i, t)| {
            derived(
                "DequantizeLinear",
                &format!("dq{i}"),
                t.to_vec(),
                format!("{output}/dq{i}"),
            )
        })
        .collect();
    let mut concat = derived(
        "Concat",
        "concat",
        nodes.iter().flat_map(|n| n.output.clone()).collect(),
        format!("{output}/concat"),
    );
    concat.attribute = node.attribute.clone();
    let quantize = derived(
        "QuantizeLinear",
        "q",
        vec![
            format!("{output}/concat"),
            y_scale.clone(),
            y_zero_point.clone(),
        ],
        output.clone(),
    );
    nodes.extend([concat, quantize]);
    nodes
}

/// Replaces the region's nodes by one call node computing the same outputs under the same names;
/// returns the call's outputs.
fn call(
    g: &mut Graph,
    region: usize,
    nodes: &[NodeId],
    signature: &[ValueId],
    outputs: &[ValueId],
) -> Vec<ValueId> {
    let proto = proto::NodeProto {
        name: Some(format!("npu_region_{region}")),
        op_type: Some(format!("region_{region}")),
        domain: Some(DOMAIN.to_string()),
        metadata_props: vec![proto::StringStringEntryProto {
            key: Some(NODE_KEY.to_string()),
            value: Some(format!("npu:{region}")),
        }],
        ..Default::default()
    };
    // A call's outputs are declared with their types: onnx.checker does not infer through a
    // model-local function, and an ONNX-domain reader (QLinearMatMul) needs its input's type.
    let values = outputs
        .iter()
        .map(|&v| {
            let mut value = g.value(v).clone();
            if let (None, Some(ty)) = (&value.info, &value.ty) {
                value.info = Some(DeclaredInfo {
                    seq: u32::MAX,
                    proto: proto::ValueInfoProto {
                        name: Some(value.name.clone()),
                        r#type: Some(ty.to_proto()),
                        ..Default::default()
                    },
                });
            }
            value
        })
        .collect();
    let inputs: Vec<Option<ValueId>> = signature.iter().copied().map(Some).collect();
    let id = g.add_op(OpNode::new(proto, 0), &inputs, values);
    let news: Vec<ValueId> = g.values_of(id).collect();
    for (&old, &new) in outputs.iter().zip(&news) {
        for (user, port) in g.uses(old) {
            match port {
                Port::Input(s) => g.set_input(user, s, Some(new)),
                // The name stays the same, so a subgraph capturing it still finds it.
                Port::Capture => g.connect(new, user, Port::Capture),
            }
        }
        for o in g.outputs_mut().iter_mut().filter(|o| o.value == old) {
            o.value = new;
        }
    }
    for &n in nodes {
        g.remove_node(n);
    }
    news
}
