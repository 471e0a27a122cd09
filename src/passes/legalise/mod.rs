//! `legalise`: exact rewrites that move work onto the target's NPU, applied only where they do.
//!
//! Two rewrites so far. First, a constant Pad whose padding value is the zero point of the
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
//! Without a target (`--target`, or the default pipeline's) the pass does nothing.

mod pad;
mod requantize;

use crate::ir::build::Namer;
use crate::ir::{Graph, Op};
use crate::pass::{Changed, Pass, PassCx};
use pad::fold_pad_into_conv;
use requantize::requantize_output;

pub struct Legalise;

impl Pass for Legalise {
    fn name(&self) -> &'static str {
        "legalise"
    }

    fn summary(&self) -> &'static str {
        "exact rewrites that move work onto the target NPU (requantize fixed-quantization outputs)"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        let Some(target) = cx.target.clone() else {
            cx.note(None, "no target is named; nothing to legalise");
            return Ok(Changed::No);
        };
        let order = g
            .op_order()
            .map_err(|c| format!("cycle through '{}'", c.node))?;
        let mut namer = Namer::for_graph(g);
        let mut changed = false;
        for id in order {
            if !g.contains(id) || target.judge(g, id).verdict.runs_on_npu() {
                continue;
            }
            if g.node(id).op() == Some(Op::Pad) {
                let name = g.node(id).display_name();
                match fold_pad_into_conv(g, id, target.as_ref()) {
                    Ok(Some(conv)) => {
                        changed = true;
                        cx.note(
                            Some(&name),
                            format!("folded into the padding of '{conv}' (bit-exact)"),
                        );
                    }
                    Ok(None) => {}
                    Err(reason) => cx.reject(&name, reason),
                }
                continue;
            }
            let Some(fixed) = target.required_output_quant(g, id) else {
                continue;
            };
            let name = g.node(id).display_name();
            match requantize_output(g, &mut namer, id, &fixed, target.as_ref()) {
                Ok(None) => {}
                Ok(Some(bound)) => {
                    changed = true;
                    cx.note(
                        Some(&name),
                        format!(
                            "computed at the NPU's output quantization (scale {}, zero point {}) \
                             and requantized to the model's: {bound}",
                            fixed.scale[0],
                            fixed.zp()
                        ),
                    );
                }
                Err(reason) => cx.reject(&name, reason),
            }
        }
        Ok(Changed::from(changed))
    }
}
