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
//! ([`channels`]). The padding costs MACs, so it is undone where the partition (demoting as the
//! context says) sends the aligned node's region back to the CPU anyway.
//!
//! Without a target (`--target`, or the default pipeline's) the pass does nothing.

use std::collections::{BTreeMap, BTreeSet};

mod bias;
mod channels;
mod constant_op;
mod exhaustive;
mod pad;
mod requantize;

use crate::ir::build::Namer;
use crate::ir::quant::QuantParams;
use crate::ir::{Graph, NodeId, Op};
use crate::partition::plan::plan;
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
        // Channel alignment costs MACs: it is undone, and the rest redone without it, where the
        // partition sends the aligned Concat/Split's region back to the CPU anyway. Judged on
        // the whole result, as regions form only once every alignment is made; each round
        // undoes at least one more, so this ends.
        let original = g.clone();
        let mut unaligned: BTreeMap<NodeId, String> = BTreeMap::new();
        loop {
            let round = legalise_graph(g, target.as_ref(), &unaligned)?;
            let placed = plan(g, target.as_ref(), cx.demotion)?;
            let demoted: Vec<(NodeId, String)> = placed
                .nodes
                .iter()
                .filter(|n| n.placement == "cpu" && round.aligned.contains(&n.node))
                .map(|n| (n.node, format!("{}: {}", n.reason, n.details)))
                .collect();
            if demoted.is_empty() {
                for (name, outcome) in round.outcomes {
                    match outcome {
                        Ok(note) => cx.note(Some(&name), note),
                        Err(reason) => cx.reject(&name, reason),
                    }
                }
                return Ok(Changed::from(round.changed));
            }
            for (root, why) in demoted {
                unaligned.insert(
                    root,
                    format!(
                        "aligned to {}-channel windows it would run on the NPU, but its region \
                         goes back to the CPU: {why}",
                        channels::WINDOW
                    ),
                );
            }
            *g = original.clone();
        }
    }
}

/// What one round of legalise did: a note or a refusal per node it tried, and the Concat/Split
/// nodes it aligned.
struct Round {
    outcomes: Vec<(String, Result<String, String>)>,
    aligned: BTreeSet<NodeId>,
    changed: bool,
}

/// Legalises every node of `g` the target keeps on the CPU, except that the Concat/Split nodes
/// of `unaligned` are refused with their reason.
fn legalise_graph(
    g: &mut Graph,
    target: &dyn Target,
    unaligned: &BTreeMap<NodeId, String>,
) -> Result<Round, String> {
    let mut order = g
        .op_order()
        .map_err(|c| format!("cycle through '{}'", c.node))?;
    // Convolutions first: a Pad in front of one then sees it with the bias it may gain.
    order.sort_by_key(|&id| g.node(id).op() != Some(Op::QLinearConv));
    let mut namer = Namer::for_graph(g);
    let mut round = Round {
        outcomes: Vec::new(),
        aligned: BTreeSet::new(),
        changed: false,
    };
    for id in order {
        if !g.contains(id) || target.judge(g, id).verdict.runs_on_npu() {
            continue;
        }
        let name = g.node(id).display_name();
        if let Some(why) = unaligned.get(&id) {
            round.outcomes.push((name, Err(why.clone())));
            continue;
        }
        let aligning = matches!(
            g.node(id).op(),
            Some(Op::Concat | Op::QLinearConcat | Op::Split)
        );
        match legalise_node(g, &mut namer, id, target) {
            Ok(Some(note)) => {
                round.changed = true;
                if aligning {
                    round.aligned.insert(id);
                }
                round.outcomes.push((name, Ok(note)));
            }
            Ok(None) => {}
            Err(reason) => round.outcomes.push((name, Err(reason))),
        }
    }
    Ok(round)
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
