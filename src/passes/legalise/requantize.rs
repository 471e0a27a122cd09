//! An operation whose output quantization the target fixes is computed at that quantization and
//! requantized to the model's, when that is within 1 LSB over every input code.

use super::exhaustive::{largest_difference, node_alone};
use crate::ir::build::{add_const, Namer};
use crate::ir::quant::{quant_of, QuantParams};
use crate::ir::{DType, Graph, NodeId, Op, OpNode, Port, TensorType, Value, ValueId};
use crate::proto;
use crate::target::Target;

/// Rewrites `id` to compute at `fixed` and requantize, when that is within 1 LSB and the target
/// then runs it; returns the largest difference over every input code.
pub(super) fn requantize_output(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    fixed: &QuantParams,
    target: &dyn Target,
) -> Result<i64, String> {
    if g.node(id).op() != Some(Op::QLinearSigmoid) {
        return Err(format!(
            "requantizing the output of '{}' is not implemented (only of elementwise \
             QLinearSigmoid)",
            g.node(id).display_name()
        ));
    }
    let out = ValueId { node: id, slot: 0 };
    if g.uses(out).iter().any(|(_, p)| *p == Port::Capture) {
        return Err("a subgraph reads the output by name".into());
    }
    let model = quant_of(g, out)
        .filter(QuantParams::is_per_tensor)
        .ok_or("the output's quantization is not a per-tensor constant")?;
    let (original, _) = node_alone(g, id)?;
    let (mut rewritten, alone) = node_alone(g, id)?;
    let mut names = Namer::for_graph(&rewritten);
    let added = rewrite(&mut rewritten, &mut names, alone, fixed)?;
    for n in [alone, added.0, added.1] {
        let j = target.judge(&rewritten, n);
        if !j.verdict.runs_on_npu() {
            return Err(format!(
                "after requantizing, the target still keeps {} on the CPU: {}",
                rewritten.node(n).display_name(),
                j.verdict.reason
            ));
        }
    }
    let lsb = largest_difference(&original, &rewritten)?;
    if lsb > 1 {
        return Err(format!(
            "computing at the NPU's output quantization (scale {}, zero point {}) and requantizing \
             to the model's (scale {}, zero point {}) is {lsb} LSB off for some input; exact \
             means at most 1 (the model's scale must be above half the NPU's)",
            fixed.scale[0],
            fixed.zp(),
            model.scale[0],
            model.zp()
        ));
    }
    rewrite(g, namer, id, fixed)?;
    Ok(lsb)
}

/// `y = op(…, sy, zy)` → `t = op(…, fixed)`, `y = QuantizeLinear(DequantizeLinear(t), sy, zy)`;
/// the model's tensor name stays on `y`. Returns the DequantizeLinear and QuantizeLinear.
fn rewrite(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    fixed: &QuantParams,
) -> Result<(NodeId, NodeId), String> {
    let out = ValueId { node: id, slot: 0 };
    let y = g.value(out).clone();
    let y_scale = g.input(id, 3).ok_or("the output scale is missing")?;
    let y_zero_point = g.input(id, 4);
    let node_name = g.node(id).as_op().map_or("", |o| o.name()).to_string();
    let scale = add_const(
        g,
        namer.fresh(&format!("{}_npu_scale", y.name)),
        DType::F32,
        &[],
        fixed.scale[0].to_le_bytes().to_vec(),
    );
    let zero_point = add_const(
        g,
        namer.fresh(&format!("{}_npu_zero_point", y.name)),
        fixed.dtype,
        &[],
        vec![fixed.zp() as u8],
    );
    g.set_input(id, 3, Some(scale));
    g.set_input(id, 4, Some(zero_point));
    let node = |op_type: &str, suffix: &str| {
        OpNode::new(
            proto::NodeProto {
                name: Some(format!("{node_name}_{suffix}")),
                op_type: Some(op_type.into()),
                ..Default::default()
            },
            0,
        )
    };
    let q = g.add_op(
        node("QuantizeLinear", "requantize"),
        &[None, Some(y_scale), y_zero_point],
        vec![Value {
            name: String::new(),
            ..y.clone()
        }],
    );
    let q_out = ValueId { node: q, slot: 0 };
    if !g.replace_uses(out, q_out) {
        return Err("a subgraph reads the output by name".into());
    }
    let float = y.ty.as_ref().map(|t| TensorType {
        dtype: DType::F32,
        shape: t.shape.clone(),
    });
    let dq_value = Value {
        name: namer.fresh(&format!("{}_npu_dequantized", y.name)),
        ty: float,
        info: None,
    };
    let dq = g.add_op(
        node("DequantizeLinear", "npu_dequantize"),
        &[Some(out), Some(scale), Some(zero_point)],
        vec![dq_value],
    );
    g.set_input(q, 0, Some(ValueId { node: dq, slot: 0 }));
    let npu_name = namer.fresh(&format!("{}_npu", y.name));
    let t = g.value_mut(out);
    t.name = npu_name;
    t.info = None;
    g.value_mut(q_out).name = y.name;
    Ok((dq, q))
}
