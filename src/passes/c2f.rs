//! `c2f` (not exact; opt-in with `--c2f`): rewrites Ultralytics C3k2 and C2PSA blocks to the C2f
//! form the Ethos-N runs whole, found by structure (never by node name).
//!
//! ```text
//! C2PSA:  cv1 → Split(a, b) → b + Attention(b) → b + FFN(b) → Concat(a, ·) → cv2
//!   after: cv1 → Split(a, b) → b + FFN(b) → Concat(a, ·) → cv2   (qkv, MatMul, Softmax, pe, proj gone)
//! C3k2 with C3k inner blocks:  … → C3k(x) → …
//!   after: … → x + conv3×3(act(conv3×3(x))) → …   (a Bottleneck: the C3k2 form with c3k=False)
//! C3k2 with Bottleneck inner blocks (= C2f): unchanged.
//! ```
//! The attention residual keeps its input (`b + Attention(b)` → `b`); any other residual whose
//! branch holds a MatMul of two activations and a Softmax and reads nothing but its input (PSA,
//! C2fPSA) goes the same way. A C3k becomes one Bottleneck whose two 3×3 convolutions carry its
//! cv1 weights and the chain half of its cv3 weights as centre taps (see `rewrite`); in QOperator
//! graphs the C3k stays (all its ops run on an NPU anyway) with a note.
//!
//! The model's function changes: it must be retrained. Each change is reported as a warning with
//! the module path (`model.10` from `/model.10/…` node names, else the first node's name), what
//! was removed, and the Ultralytics model-YAML change that trains the same architecture. The pass
//! sweeps the nodes it made dead. It runs before fold-qdq (the QDQ units it leaves are then folded
//! like the rest), but also recognises folded QOperator graphs.

mod blocks;
mod rewrite;
mod view;

use crate::ir::build::Namer;
use blocks::{attention_residual, csp, AttentionResidual, Frame, Inner};
use rewrite::{c3k_to_bottleneck, drop_attention};
use view::{layer_index, module_path};

use crate::ir::{Graph, NodeId};
use crate::pass::{Changed, Pass, PassCx};
use crate::passes::dce::Dce;

pub struct C2f;

impl Pass for C2f {
    fn name(&self) -> &'static str {
        "c2f"
    }

    fn summary(&self) -> &'static str {
        "rewrite Ultralytics C2PSA (attention dropped) and C3k2/C3k blocks to the C2f form"
    }

    fn exact(&self) -> bool {
        false
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        let mut names = Namer::for_graph(g);
        let order = g
            .op_order()
            .map_err(|c| format!("cycle through '{}'", c.node))?;
        let frames: Vec<_> = order.iter().filter_map(|&n| csp(g, n)).collect();
        let mut changed = false;
        for frame in &frames {
            let path = module_path(g, frame.split);
            match &frame.frame {
                Frame::C2psa(attention) if !attention.is_empty() => {
                    for att in attention {
                        drop_attention(g, &mut names, att)?;
                    }
                    changed = true;
                    cx.warn(
                        Some(&g.node(frame.split).display_name()),
                        format!(
                            "{path} (C2PSA): removed {}; kept the feed-forward convs. {}",
                            removed_attention(attention),
                            hint(&path, "C2PSA")
                        ),
                    );
                }
                Frame::C2f(inner) => {
                    changed |= c3k_blocks(g, cx, &mut names, frame.split, &path, inner)?
                }
                Frame::C2psa(_) => {}
            }
        }
        Dce.run(g, cx)?;
        changed |= other_attention(g, cx, &mut names)?;
        Ok(Changed::from(changed))
    }
}

/// Rewrites the C3k inner blocks of a C3k2.
fn c3k_blocks(
    g: &mut Graph,
    cx: &mut PassCx,
    names: &mut Namer,
    split: NodeId,
    path: &str,
    inner: &[Inner],
) -> Result<bool, String> {
    let mut rewritten = Vec::new();
    for block in inner {
        let Inner::C3k(c3k) = block else { continue };
        let at = g.node(c3k.cv1.id).display_name();
        match c3k_to_bottleneck(g, names, c3k) {
            Ok(()) => rewritten.push(c3k.inner.len()),
            Err(why) => cx.reject(&at, format!("{path} (C3k2): C3k not rewritten: {why}")),
        }
    }
    if rewritten.is_empty() {
        return Ok(false);
    }
    let chains: Vec<String> = rewritten.iter().map(|n| n.to_string()).collect();
    cx.warn(
        Some(&g.node(split).display_name()),
        format!(
            "{path} (C3k2): {} C3k inner block(s) became Bottlenecks (removed per C3k: the inner \
             Bottleneck chain ({} Bottleneck(s)), cv2 and the Concat; cv1 and the chain half of \
             cv3 are the Bottleneck's 3x3 convs, centre tap). {}",
            rewritten.len(),
            chains.join(", "),
            hint(path, "C3k2")
        ),
    );
    Ok(true)
}

/// Drops attention residuals outside a recognised C2PSA.
fn other_attention(g: &mut Graph, cx: &mut PassCx, names: &mut Namer) -> Result<bool, String> {
    let order = g
        .op_order()
        .map_err(|c| format!("cycle through '{}'", c.node))?;
    let found: Vec<AttentionResidual> = order
        .into_iter()
        .filter_map(|n| attention_residual(g, n))
        .collect();
    for att in &found {
        let path = module_path(g, att.add);
        drop_attention(g, names, att)?;
        cx.warn(
            Some(&g.node(att.add).display_name()),
            format!(
                "{path} (attention block): removed {}. {}",
                removed_attention(std::slice::from_ref(att)),
                hint(&path, "attention")
            ),
        );
    }
    if !found.is_empty() {
        Dce.run(g, cx)?;
    }
    Ok(!found.is_empty())
}

fn removed_attention(attention: &[AttentionResidual]) -> String {
    let sum = |f: fn(&AttentionResidual) -> usize| attention.iter().map(f).sum::<usize>();
    format!(
        "{} attention branch(es) ({} ops: {} MatMul, {} Softmax)",
        attention.len(),
        sum(|a| a.branch),
        sum(|a| a.matmuls),
        sum(|a| a.softmaxes)
    )
}

/// The training-side change that gives the same architecture.
fn hint(path: &str, kind: &str) -> String {
    let at = layer_index(path).map_or_else(|| format!("'{path}'"), |i| format!("layer {i}"));
    match kind {
        "C2PSA" => {
            format!("Ultralytics: use `C2f` in place of `C2PSA` at {at} in the model YAML; retrain")
        }
        "C3k2" => format!(
            "Ultralytics: set c3k=False on the `C3k2` at {at} in the model YAML (or use `C2f`); \
             retrain"
        ),
        _ => format!("Ultralytics: replace the attention module at {at} with `C2f`; retrain"),
    }
}
