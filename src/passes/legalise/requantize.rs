//! An operation whose output quantization the target fixes is computed at that quantization and
//! requantized to the model's, when that is within 1 LSB of the original and the target then runs
//! it.
//!
//! Two kinds of operation, two kinds of proof:
//! - elementwise on 8-bit codes (QLinearSigmoid, a `DequantizeLinear → Tanh → QuantizeLinear`
//!   unit): the original and the rewrite are run in the evaluator on every input code;
//! - a mean over height and width (QLinearGlobalAveragePool, or a `DequantizeLinear → ReduceMean
//!   → QuantizeLinear` unit; the Ethos-N runs a mean only at its input's quantization): too many
//!   input combinations to run, so the bound is proven, see
//!   [`MAX_MEAN_SCALE_RATIO`].

use super::exhaustive::largest_difference;
use crate::ir::build::{add_const, Namer};
use crate::ir::consts::constant;
use crate::ir::extract::extract;
use crate::ir::quant::{quant_of, QuantParams};
use crate::ir::{DType, Graph, NodeId, Op, OpNode, Port, TensorType, Value, ValueId};
use crate::proto;
use crate::target::Target;

/// The largest input-to-output scale ratio at which a mean may be computed at its input's
/// quantization and requantized.
///
/// With `m` the exact mean of `x − zx` and `r = sx/sy`, the model computes
/// `y = round(m·r) + zy` and the rewrite `y' = round(round(m)·r) + zy` (the mean at the input's
/// quantization, `round(m) + zx`, never saturates: it lies between the smallest and largest
/// input code). Since `|round(m) − m| ≤ 1/2`, the two arguments of the outer rounding differ by
/// at most `r/2`, which is below 1 when `r < 2`; roundings to nearest of two numbers less than 1
/// apart differ by at most 1, and saturation keeps that. So `|y − y'| ≤ 1` whenever `r < 2`.
/// Beyond, the bound fails: at `r = 5/2` a mean of 73/49 gives `round(3.72) = 4` against
/// `round(1 · 2.5) = 2`.
pub(super) const MAX_MEAN_SCALE_RATIO: f32 = 2.0;

/// How the rewrite is shown to be within 1 LSB of the original.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Proof {
    /// Elementwise on 8-bit codes: run on every input code.
    EveryCode,
    /// A mean: the scale ratio bound of [`MAX_MEAN_SCALE_RATIO`].
    MeanScaleRatio,
}

/// The nodes that compute an output whose quantization the target fixes.
struct FixedOutput {
    /// Every op node of the computation, the first reading the integer input at slot 0.
    members: Vec<NodeId>,
    /// The node writing the output quantization: its inputs `scale_slot` and `scale_slot + 1`
    /// are the output's scale and zero point, its output 0 the output.
    quantizer: NodeId,
    scale_slot: u32,
    proof: Proof,
}

/// What computes the output of `id`; `Ok(None)` for the DequantizeLinear or QuantizeLinear of a
/// QDQ unit (the unit is rewritten from its operation).
fn fixed_output(g: &Graph, id: NodeId) -> Result<Option<FixedOutput>, String> {
    let alone = |proof| FixedOutput {
        members: vec![id],
        quantizer: id,
        scale_slot: 3,
        proof,
    };
    match g.node(id).op() {
        Some(Op::QLinearSigmoid) => Ok(Some(alone(Proof::EveryCode))),
        Some(Op::QLinearGlobalAveragePool) => Ok(Some(alone(Proof::MeanScaleRatio))),
        Some(Op::Tanh) => qdq_unit(g, id, Proof::EveryCode).map(Some),
        Some(Op::ReduceMean) => qdq_unit(g, id, Proof::MeanScaleRatio).map(Some),
        Some(Op::DequantizeLinear | Op::QuantizeLinear) => Ok(None),
        _ => Err(format!(
            "requantizing the output of '{}' is not implemented (only of QLinearSigmoid, \
             QLinearGlobalAveragePool, and the Tanh or ReduceMean of a DequantizeLinear → op → \
             QuantizeLinear unit)",
            g.node(id).display_name()
        )),
    }
}

/// The `DequantizeLinear → op → QuantizeLinear` unit around `core`.
fn qdq_unit(g: &Graph, core: NodeId, proof: Proof) -> Result<FixedOutput, String> {
    let dq = g
        .input(core, 0)
        .map(|v| v.node)
        .filter(|&n| g.node(n).op() == Some(Op::DequantizeLinear))
        .ok_or("the input is not dequantized")?;
    let y = ValueId {
        node: core,
        slot: 0,
    };
    let q = match g.uses(y).as_slice() {
        [(q, Port::Input(0))] if !g.is_output(y) && g.node(*q).op() == Some(Op::QuantizeLinear) => {
            *q
        }
        _ => return Err("the output is not read by one QuantizeLinear alone".into()),
    };
    Ok(FixedOutput {
        members: vec![dq, core, q],
        quantizer: q,
        scale_slot: 1,
        proof,
    })
}

/// Rewrites the operation of `id` to compute at `fixed` and requantize, when that is within
/// 1 LSB and the target then runs it. Returns how close to the original the rewrite is (for
/// the pass's note); `None` when `id` is a QDQ unit's boundary.
pub(super) fn requantize_output(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    fixed: &QuantParams,
    target: &dyn Target,
) -> Result<Option<String>, String> {
    let Some(op) = fixed_output(g, id)? else {
        return Ok(None);
    };
    let out = ValueId {
        node: op.quantizer,
        slot: 0,
    };
    if g.uses(out).iter().any(|(_, p)| *p == Port::Capture) {
        return Err("a subgraph reads the output by name".into());
    }
    let model = quant_of(g, out)
        .filter(QuantParams::is_per_tensor)
        .ok_or("the output's quantization is not a per-tensor constant")?;
    let ratio = fixed.scale[0] / model.scale[0];
    let x = g.input(op.members[0], 0).ok_or("input 0 is missing")?;
    if op.proof == Proof::MeanScaleRatio {
        if !quant_of(g, x).is_some_and(|p| p.same_as(fixed)) {
            return Err(
                "the target fixes a mean's output elsewhere than at its input's \
                        quantization, where the bound is not proven"
                    .into(),
            );
        }
        if ratio.is_nan() || ratio >= MAX_MEAN_SCALE_RATIO {
            return Err(format!(
                "computing the mean at the input's quantization (scale {}) and requantizing to \
                 the model's (scale {}) is within 1 LSB only for an input-to-output scale ratio \
                 below {MAX_MEAN_SCALE_RATIO}; it is {ratio}",
                fixed.scale[0], model.scale[0]
            ));
        }
    }

    // The computation alone, with the constants it reads, before and after the rewrite.
    let mut nodes = op.members.clone();
    for &m in &op.members {
        nodes.extend(
            g.inputs_of(m)
                .into_iter()
                .flatten()
                .filter(|v| constant(g, *v).is_some())
                .map(|v| v.node),
        );
    }
    let original = extract(g, &nodes, &[x], &[out])?;
    let mut rewritten = extract(g, &nodes, &[x], &[out])?;
    let quantizer = rewritten
        .outputs()
        .first()
        .ok_or("the extracted computation has no output")?
        .value
        .node;
    let mut names = Namer::for_graph(&rewritten);
    rewrite(&mut rewritten, &mut names, quantizer, op.scale_slot, fixed)?;
    let order = rewritten
        .op_order()
        .map_err(|c| format!("cycle through '{}'", c.node))?;
    for n in order {
        let j = target.judge(&rewritten, n);
        if !j.verdict.runs_on_npu() {
            return Err(format!(
                "after requantizing, the target still keeps {} on the CPU: {}",
                rewritten.node(n).display_name(),
                j.verdict.reason
            ));
        }
    }
    if op.proof == Proof::MeanScaleRatio {
        rewrite(g, namer, op.quantizer, op.scale_slot, fixed)?;
        return Ok(Some(format!(
            "at most 1 LSB from the original for every input (the input-to-output scale ratio \
             {ratio} is below {MAX_MEAN_SCALE_RATIO})"
        )));
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
    rewrite(g, namer, op.quantizer, op.scale_slot, fixed)?;
    Ok(Some(format!(
        "at most {lsb} LSB from the original over every input code"
    )))
}

/// `y = op(…, sy, zy)` → `t = op(…, fixed)`, `y = QuantizeLinear(DequantizeLinear(t), sy, zy)`,
/// where `sy` and `zy` are inputs `scale_slot` and `scale_slot + 1` of `id`; the model's tensor
/// name stays on `y`.
fn rewrite(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    scale_slot: u32,
    fixed: &QuantParams,
) -> Result<(), String> {
    let out = ValueId { node: id, slot: 0 };
    let y = g.value(out).clone();
    let y_scale = g
        .input(id, scale_slot)
        .ok_or("the output scale is missing")?;
    let y_zero_point = g.input(id, scale_slot + 1);
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
    g.set_input(id, scale_slot, Some(scale));
    g.set_input(id, scale_slot + 1, Some(zero_point));
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
    if let Some(ty) = &mut t.ty {
        ty.dtype = fixed.dtype;
    }
    g.value_mut(q_out).name = y.name;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use super::*;
    use crate::eval::{self, Tensor};
    use crate::pass::{Pass, PassCx};
    use crate::target::ethos_n::EthosN;

    /// A 7×7 mean of a `[1,16,7,7]` u8 tensor from scale `sx` to `sy` (zero points 10 and 5).
    fn mean(sx: f32, sy: f32) -> Graph {
        graph(&format!(
            "input %x \"x\": u8[1,16,7,7]
             const %sx: f32[] = [{sx}]
             const %zx: u8[] = [10]
             const %sy: f32[] = [{sy}]
             const %zy: u8[] = [5]
             %y = com.microsoft.QLinearGlobalAveragePool(%x, %sx, %zx, %sy, %zy)  # gap
             output %y \"y\""
        ))
    }

    /// [`mean`] as the QDQ unit `DequantizeLinear → ReduceMean → QuantizeLinear`, in float.
    fn reduce_mean(sx: f32, sy: f32) -> Graph {
        graph(&format!(
            "input %x \"x\": u8[1,16,7,7]
             const %sx: f32[] = [{sx}]
             const %zx: u8[] = [10]
             const %sy: f32[] = [{sy}]
             const %zy: u8[] = [5]
             const %axes: i64[2] = [-2, -1]
             %d = DequantizeLinear(%x, %sx, %zx)  # dq
             %m = ReduceMean(%d, %axes)  # mean
             %y = QuantizeLinear(%m, %sy, %zy)  # q
             output %y \"y\""
        ))
    }

    fn graph(text: &str) -> Graph {
        let mut g = crate::print::parse_graph(text).unwrap();
        let opsets: BTreeMap<String, i64> = [
            (String::new(), crate::testing::CASE_OPSET),
            (crate::ir::op::MS_DOMAIN.to_string(), 1),
        ]
        .into();
        crate::ir::infer::infer_types(&mut g, &opsets);
        g
    }

    /// Runs legalise for the Ethos-N78 at 25.03; returns its notes.
    fn legalise(g: &mut Graph) -> Vec<String> {
        let target = Rc::new(EthosN::from_spec("ethos-n78", None).unwrap());
        let mut cx = PassCx::new(BTreeMap::new()).with_target(target);
        super::super::Legalise.run(g, &mut cx).unwrap();
        cx.diagnostics().iter().map(ToString::to_string).collect()
    }

    /// Inputs whose 16 channels have every sum of codes from `first` on (as far as `last`).
    fn by_sum(first: usize, last: usize) -> Tensor {
        let mut codes = Vec::new();
        for c in 0..16 {
            let sum = (first + c).min(last);
            codes.extend((0..49).map(|i| (sum / 49 + usize::from(i < sum % 49)) as u8));
        }
        Tensor::from_vec(vec![1, 16, 7, 7], codes).unwrap()
    }

    /// The largest output difference between `a` and `b` over `inputs`.
    fn worst(a: &Graph, b: &Graph, inputs: impl Iterator<Item = Tensor>) -> i64 {
        let mut worst = 0;
        for x in inputs {
            let inputs = [("x".to_string(), x)];
            let ya = eval::run(a, &inputs).unwrap()[0].1.to_i64s("a").unwrap();
            let yb = eval::run(b, &inputs).unwrap()[0].1.to_i64s("b").unwrap();
            let d = ya.iter().zip(&yb).map(|(p, q)| (p - q).abs()).max();
            worst = worst.max(d.unwrap());
        }
        worst
    }

    /// Every input the mean can tell apart: it reads only the sum of each channel's codes.
    fn every_sum() -> impl Iterator<Item = Tensor> {
        let last = 49 * 255;
        (0..=last).step_by(16).map(move |s| by_sum(s, last))
    }

    #[test]
    fn a_requantized_mean_is_within_one_lsb_for_random_inputs_and_every_sum() {
        let original = mean(0.05, 0.03);
        let mut g = mean(0.05, 0.03);
        let notes = legalise(&mut g);
        assert!(notes[0].contains("scale ratio 1.6666"), "{notes:?}");
        assert_eq!(g.op_order().unwrap().len(), 3);
        let random = (0..20).map(|seed| {
            let inputs = crate::compare::random_inputs(&original, seed).unwrap();
            inputs.into_iter().next().unwrap().1
        });
        assert_eq!(worst(&original, &g, random), 1);
        assert_eq!(worst(&original, &g, every_sum()), 1);
    }

    #[test]
    fn a_requantized_reducemean_unit_is_within_one_lsb_for_every_sum() {
        for (sx, sy) in [(0.05, 0.03), (0.0398, 0.02)] {
            let original = reduce_mean(sx, sy);
            let mut g = reduce_mean(sx, sy);
            let notes = legalise(&mut g);
            assert!(notes[0].contains("below 2)"), "{notes:?}");
            assert_eq!(g.op_order().unwrap().len(), 5);
            assert_eq!(worst(&original, &g, every_sum()), 1, "{sx} → {sy}");
        }
        let notes = legalise(&mut reduce_mean(0.625, 0.25));
        assert!(notes[0].contains("ratio below 2; it is 2.5"), "{notes:?}");
    }

    #[test]
    fn a_mean_just_below_the_ratio_bound_is_within_one_lsb() {
        let original = mean(0.0398, 0.02);
        let mut g = mean(0.0398, 0.02);
        let notes = legalise(&mut g);
        assert!(notes[0].contains("scale ratio 1.99"), "{notes:?}");
        assert_eq!(worst(&original, &g, every_sum()), 1);
    }

    /// The bound is needed: at ratio 5/2 (exact in binary) forcing the rewrite moves a mean of
    /// 73/49 by 2, and the pass refuses.
    #[test]
    fn beyond_the_ratio_bound_a_mean_can_move_by_two() {
        let original = mean(0.625, 0.25);
        let mut refused = mean(0.625, 0.25);
        let notes = legalise(&mut refused);
        assert!(notes[0].contains("ratio below 2; it is 2.5"), "{notes:?}");
        assert_eq!(refused.op_order().unwrap().len(), 1);

        let mut forced = mean(0.625, 0.25);
        let gap = forced.op_order().unwrap()[0];
        let fixed = quant_of(&forced, forced.input(gap, 0).unwrap()).unwrap();
        rewrite(
            &mut forced,
            &mut Namer::for_graph(&original),
            gap,
            3,
            &fixed,
        )
        .unwrap();
        // Channel 0 sums to 73 + 49·10 (its codes minus the zero point sum to 73).
        assert_eq!(
            worst(&original, &forced, std::iter::once(by_sum(563, 563))),
            2
        );
    }
}
