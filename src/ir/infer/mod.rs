//! Shape and type inference: the [`TensorType`] of every value, computed from its producer's input
//! types, attributes and constant inputs, with ONNX semantics per opset.
//!
//! The walk follows [`Graph::topo_order`]. For each op node the op's rule (one module per op
//! family) fills in what it can of its outputs; [`infer_types`] then merges that with what the
//! model declared:
//! - a declared type is authoritative: when the inferred one contradicts it, the declared one stays
//!   and an issue names the node (`node 'X': value 'y': inferred f32[1,2], declared f32[1,3]`);
//! - a less precise declaration (unknown or symbolic dims, unknown rank) is refined; a declared
//!   element type is never changed;
//! - ops without a rule ([`Op::Other`], subgraph ops) keep what was declared.
//!
//! Small integer tensors (shapes, indices, axes: at most 64 elements, rank ≤ 1)
//! also get their *contents* propagated, like ONNX's data propagation: `Shape` of a partly static
//! shape gives its dims (symbolic ones included), and `Gather`/`Slice`/`Concat`/arithmetic on those
//! keep them known, so `Reshape`, `Expand`, `Slice`, `Resize`, … fed by computed shapes still get
//! static output shapes.
//!
//! Models are untrusted: a malformed attribute, an absurd value or a rank mismatch is an issue
//! naming the node, never a panic, and shape arithmetic is checked for overflow.

mod conv;
mod cx;
mod data;
mod dims;
mod elementwise;
mod matmul;
mod quant;
mod reduce;
mod reshape;
mod resize;
mod shape_data;
mod slicing;

use std::collections::BTreeMap;

use super::graph::{Graph, NodeKind, ValueId};
use super::op::Op;
use super::types::{Dim, TensorType};
use cx::{Cx, Out};
use data::DataMap;

/// Infers the type of every value produced by an op node, refining declared types where they are
/// less precise. Returns the issues found (malformed nodes, inferred types contradicting declared
/// ones), each naming its node; never fails.
pub fn infer_types(g: &mut Graph, opsets: &BTreeMap<String, i64>) -> Vec<String> {
    walk(g, onnx_opset(opsets)).0
}

/// The walk behind [`infer_types`]; also returns the propagated contents.
fn walk(g: &mut Graph, opset: i64) -> (Vec<String>, DataMap) {
    let mut data = DataMap::default();
    let order = match g.topo_order() {
        Ok(order) => order,
        Err(cycle) => {
            let msg = format!(
                "node '{}': the graph has a cycle through it; no type was inferred",
                cycle.node
            );
            return (vec![msg], data);
        }
    };
    let mut issues = Vec::new();
    for id in order {
        let outs = match &g.node(id).kind {
            NodeKind::Initializer(init) => {
                if let Some(d) = data::initializer_data(init, &g.pool) {
                    data.insert(ValueId { node: id, slot: 0 }, d);
                }
                continue;
            }
            NodeKind::Op(op) => {
                let mut cx = Cx::new(g, id, op, &data, opset);
                if let Err(msg) = infer_node(&mut cx) {
                    issues.push(format!("node '{}': {msg}", g.node(id).display_name()));
                }
                cx.into_outputs()
            }
            NodeKind::Input(_) | NodeKind::SparseInitializer(_) => continue,
        };
        for (slot, out) in outs.into_iter().enumerate() {
            let v = ValueId {
                node: id,
                slot: slot as u32,
            };
            if let Err(msg) = apply(g, v, out, &mut data) {
                issues.push(format!("node '{}': {msg}", g.node(id).display_name()));
            }
        }
    }
    (issues, data)
}

/// The default-domain opset; the newest this module knows when the model imports none.
fn onnx_opset(opsets: &BTreeMap<String, i64>) -> i64 {
    opsets
        .get("")
        .or_else(|| opsets.get("ai.onnx"))
        .copied()
        .unwrap_or(LATEST_OPSET)
}

/// The newest default-domain opset whose semantics the rules follow.
const LATEST_OPSET: i64 = 23;

/// Runs the rule for the node's op. `Err` is an issue: the node is malformed.
fn infer_node(cx: &mut Cx) -> Result<(), String> {
    use Op::*;
    match cx.op() {
        Abs | Neg | Reciprocal | Log | Exp | Sqrt | Relu | LeakyRelu | Sigmoid | HardSigmoid
        | HardSwish | Tanh | Gelu | Mish | Clip => elementwise::same_as_input(cx),
        Identity => elementwise::identity(cx),
        Softmax => elementwise::softmax(cx),
        BatchNormalization => elementwise::batch_norm(cx),
        Add | Sub | Mul | Div | Pow | Min | Max => elementwise::arithmetic(cx),
        Equal | Less | Greater => elementwise::comparison(cx),
        Where => elementwise::where_(cx),
        Cast => elementwise::cast(cx),
        Conv => conv::conv(cx),
        ConvTranspose => conv::conv_transpose(cx),
        MaxPool | AveragePool => conv::pool(cx),
        GlobalAveragePool => conv::global_pool(cx),
        MatMul => matmul::matmul(cx),
        Gemm => matmul::gemm(cx),
        Einsum => matmul::einsum(cx),
        QuantizeLinear => quant::quantize(cx),
        DequantizeLinear => quant::dequantize(cx),
        QLinearConv => quant::qlinear_conv(cx),
        QLinearMatMul => quant::qlinear_matmul(cx),
        QLinearAdd | QLinearMul => quant::qlinear_binary(cx),
        QLinearLeakyRelu | QLinearSigmoid | QLinearSoftmax => quant::qlinear_unary(cx),
        QLinearConcat => quant::qlinear_concat(cx),
        QLinearAveragePool => quant::qlinear_pool(cx),
        QLinearGlobalAveragePool => quant::qlinear_global_pool(cx),
        ReduceMax | ReduceMean | ReduceSum => reduce::reduce(cx),
        ArgMax => reduce::arg_max(cx),
        TopK => reduce::top_k(cx),
        NonMaxSuppression => reduce::non_max_suppression(cx),
        Reshape => reshape::reshape(cx),
        Flatten => reshape::flatten(cx),
        Squeeze => reshape::squeeze(cx),
        Unsqueeze => reshape::unsqueeze(cx),
        Transpose => reshape::transpose(cx),
        DepthToSpace => reshape::depth_to_space(cx),
        SpaceToDepth => reshape::space_to_depth(cx),
        Expand => reshape::expand(cx),
        Tile => reshape::tile(cx),
        Concat => slicing::concat(cx),
        Split => slicing::split(cx),
        Slice => slicing::slice(cx),
        Gather => slicing::gather(cx),
        Pad => slicing::pad(cx),
        Resize => resize::resize(cx),
        Constant => shape_data::constant(cx),
        ConstantOfShape => shape_data::constant_of_shape(cx),
        Shape => shape_data::shape(cx),
        Range => shape_data::range(cx),
        If | Loop | Scan | Other => Ok(()),
    }
}

/// Merges an inferred output into the value's type. `Err` when it contradicts the declaration
/// (the declaration stays).
fn apply(g: &mut Graph, v: ValueId, out: Out, data: &mut DataMap) -> Result<(), String> {
    let Some(inferred) = out.ty else {
        return Ok(());
    };
    let value = g.value_mut(v);
    let merged = match &value.ty {
        None => inferred,
        Some(declared) => match merge(declared, &inferred) {
            Some(merged) => merged,
            None => {
                return Err(format!(
                    "value '{}': inferred {inferred}, declared {declared}",
                    value.name
                ))
            }
        },
    };
    if let Some(d) = out.data {
        let holds = merged.rank().is_some_and(|r| r <= 1)
            && merged.static_dims().and_then(|s| dims::element_count(&s)) == Some(d.len());
        if holds {
            data.insert(v, d);
        }
    }
    value.ty = Some(merged);
    Ok(())
}

/// The more precise of two compatible types, `None` when they contradict each other.
fn merge(declared: &TensorType, inferred: &TensorType) -> Option<TensorType> {
    if declared.dtype != inferred.dtype {
        return None;
    }
    let shape = match (&declared.shape, &inferred.shape) {
        (Some(d), Some(i)) => {
            if d.len() != i.len() {
                return None;
            }
            let dims = d.iter().zip(i).map(|(d, i)| match (d, i) {
                (Dim::Known(a), Dim::Known(b)) => (a == b).then(|| d.clone()),
                (Dim::Known(_), _) => Some(d.clone()),
                (_, Dim::Known(_)) | (Dim::Unknown, _) => Some(i.clone()),
                (Dim::Param(_), _) => Some(d.clone()),
            });
            Some(dims.collect::<Option<Vec<Dim>>>()?)
        }
        (d, i) => d.clone().or_else(|| i.clone()),
    };
    Some(TensorType {
        dtype: declared.dtype,
        shape,
    })
}

#[cfg(test)]
mod tests;
