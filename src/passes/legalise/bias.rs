//! A QLinearConv without a bias gets an explicit zero one (int32, one per output channel), where
//! the target runs the convolution only with a bias (TVM's convolution pattern requires a
//! `bias_add`). Adding zero: bit-exact.

use super::exhaustive::node_alone;
use crate::ir::build::{add_const, Namer};
use crate::ir::{DType, Graph, NodeId, Op, ValueId};
use crate::target::Target;

/// Gives the bias-less QLinearConv `id` a zero bias when the target then runs it; returns the
/// note to record, `None` when the convolution has a bias or the target keeps it on the CPU
/// either way (its reason is then not the bias).
pub(super) fn add_zero_bias(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    target: &dyn Target,
) -> Result<Option<String>, String> {
    if g.node(id).op() != Some(Op::QLinearConv) || g.input(id, 8).is_some() {
        return Ok(None);
    }
    let weights = g.input(id, 3).ok_or("the weights are missing")?;
    let outputs = g
        .value(weights)
        .ty
        .as_ref()
        .and_then(|t| t.static_dims())
        .and_then(|d| d.first().copied())
        .ok_or("the weights' shape is not static")?;
    let (mut trial, alone) = node_alone(g, id)?;
    let mut names = Namer::for_graph(&trial);
    add_bias(&mut trial, &mut names, alone, outputs);
    if !target.judge(&trial, alone).verdict.runs_on_npu() {
        return Ok(None);
    }
    add_bias(g, namer, id, outputs);
    Ok(Some(format!(
        "given an explicit zero int32 bias [{outputs}] (bit-exact), which the target requires"
    )))
}

/// Sets input 8 of the convolution `id` to a new zero int32 constant of `outputs` elements.
fn add_bias(g: &mut Graph, namer: &mut Namer, id: NodeId, outputs: i64) {
    let y = &g.value(ValueId { node: id, slot: 0 }).name;
    let name = namer.fresh(&format!("{y}_zero_bias"));
    let bytes = vec![0u8; 4 * outputs.max(0) as usize];
    let bias = add_const(g, name, DType::I32, &[outputs], bytes);
    g.set_input(id, 8, Some(bias));
}
