//! `legalise`: exact rewrites that move work onto the target's NPU, applied only where they do.
//!
//! Five rewrites. First, a constant Pad whose padding value is the zero point of the
//! QLinearConv it alone feeds is folded into the convolution's own padding (the convolution pads
//! with its input zero point: bit-exact), when the target keeps the Pad on the CPU and runs the
//! padded convolution — TensorFlow-style exports write `Pad → Conv(VALID)` for asymmetric padding.
//!
//! Second, an operation whose output quantization the target fixes (the Ethos-N runs
//! a Sigmoid only with outputs at scale 1/256, a Tanh at 1/128, a mean at its input's) is computed
//! at that quantization and requantized to the model's by a DequantizeLinear → QuantizeLinear
//! pair, which the target runs as one Requantize:
//! ```text
//! before:  y = QLinearSigmoid(x, sx, zx, sy, zy)
//! after:   t = QLinearSigmoid(x, sx, zx, 1/256, 0)
//!          y = QuantizeLinear(DequantizeLinear(t, 1/256, 0), sy, zy)
//! ```
//! Exactness is proven, not estimated: an elementwise operation on 8-bit codes (Sigmoid, Tanh)
//! and its rewrite are run in the evaluator on every input code, and the rewrite is kept only
//! when no output moves by more than 1 LSB — the default pipeline's bar for quantized ops. The
//! result rounds twice, so the bound holds when the model's output scale is above half the fixed
//! one (above 1/512 for Sigmoid); for finer scales the pass refuses and says by how much. A mean
//! combines many inputs, so there the bound is proven instead (`requantize::MAX_MEAN_SCALE_RATIO`:
//! input scale below twice the output's). The rewrite is also tried on the operation alone first
//! and kept only when the target then runs every node of it, so it never adds nodes that stay on
//! the CPU.
//!
//! Third, a QLinearMul or QLinearAdd of an activation and a constant that is one number or one
//! number per channel — the NPU does not broadcast — becomes a 1×1 depthwise QLinearConv, the
//! constant in its weights (Mul) or its bias (Add), as TVM's ConvertEquivalents does; proven
//! within 1 LSB the same way, over every input code at every channel ([`constant_op`]).
//!
//! Fourth, a QLinearConv without a bias gets an explicit zero bias where the target runs it only
//! with one (TVM's convolution pattern requires `bias_add`): bit-exact ([`bias`]). Convolutions
//! are visited first, so that a Pad in front of one sees it with its bias.
//!
//! Fifth, for releases whose compiler concatenates and splits along channels only in multiples
//! of 16, the tensors around such a Concat or Split are widened into 16-channel windows, the
//! padding made by the producing convolution and read with zero weights: bit-exact
//! ([`channels`]).
//!
//! Without a target (`--target`, or the default pipeline's) the pass does nothing.

mod bias;
mod channels;
mod constant_op;
mod exhaustive;
mod pad;
mod requantize;

use crate::ir::build::Namer;
use crate::ir::quant::QuantParams;
use crate::ir::{Graph, NodeId, Op};
use crate::pass::{Changed, Pass, PassCx};
use crate::target::Target;
use bias::add_zero_bias;
use constant_op::constant_operand_to_depthwise;
use pad::fold_pad_into_conv;
use requantize::requantize_output;

pub struct Legalise;

impl Pass for Legalise {
    fn name(&self) -> &'static str {
        "legalise"
    }

    fn summary(&self) -> &'static str {
        "exact rewrites that move work onto the target NPU (pad folding, requantized outputs, \
         constant Mul/Add as depthwise convolutions, explicit zero biases, 16-channel alignment)"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        let Some(target) = cx.target.clone() else {
            cx.note(None, "no target is named; nothing to legalise");
            return Ok(Changed::No);
        };
        let mut order = g
            .op_order()
            .map_err(|c| format!("cycle through '{}'", c.node))?;
        // Convolutions first: a Pad in front of one then sees it with the bias it may gain.
        order.sort_by_key(|&id| g.node(id).op() != Some(Op::QLinearConv));
        let mut namer = Namer::for_graph(g);
        let mut changed = false;
        for id in order {
            if !g.contains(id) || target.judge(g, id).verdict.runs_on_npu() {
                continue;
            }
            let name = g.node(id).display_name();
            match legalise_node(g, &mut namer, id, target.as_ref()) {
                Ok(Some(note)) => {
                    changed = true;
                    cx.note(Some(&name), note);
                }
                Ok(None) => {}
                Err(reason) => cx.reject(&name, reason),
            }
        }
        Ok(Changed::from(changed))
    }
}

/// The rewrite for one node the target keeps on the CPU: the note to record when it applied,
/// `None` when none applies, or why the one that applies was refused.
fn legalise_node(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    target: &dyn Target,
) -> Result<Option<String>, String> {
    match g.node(id).op() {
        Some(Op::Pad) => Ok(fold_pad_into_conv(g, id, target)?
            .map(|conv| format!("folded into the padding of '{conv}' (bit-exact)"))),
        Some(Op::QLinearConv) => add_zero_bias(g, namer, id, target),
        Some(Op::QLinearMul | Op::QLinearAdd) => {
            constant_operand_to_depthwise(g, namer, id, target)
        }
        Some(Op::Concat | Op::QLinearConcat | Op::Split) => channels::align(g, namer, id, target),
        _ => match target.required_output_quant(g, id) {
            Some(fixed) => Ok(requantize_output(g, namer, id, &fixed, target)?
                .map(|bound| requantized_note(&fixed, &bound))),
            None => Ok(None),
        },
    }
}

fn requantized_note(fixed: &QuantParams, bound: &str) -> String {
    format!(
        "computed at the NPU's output quantization (scale {}, zero point {}) and requantized to \
         the model's: {bound}",
        fixed.scale[0],
        fixed.zp()
    )
}
