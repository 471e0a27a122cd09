//! Recognising the Ultralytics blocks by structure (never by node name).
//!
//! ```text
//! CSP frame (C2f, C3k2, C2PSA):  cv1 → Split(a, b) → inner blocks chained on b → Concat → cv2
//!   C2f / C3k2: Concat(a, b, out₁, …, outₙ)      C2PSA: Concat(a, outₙ)
//! Bottleneck:  x → conv3×3 → act → conv3×3 → act (→ Add(x, ·) with a shortcut)
//! C3k:         x → cv1 1×1 → Bottleneck chain ─┐
//!              x → cv2 1×1 ────────────────────┴→ Concat → cv3 1×1 → act
//! PSABlock:    x → Add(x, Attention(x)) = y → Add(y, conv1×1 → act → conv1×1) (attention may be gone)
//! Attention residual: Add(x, f(x)) where f reads only x and constants and holds a MatMul of two
//!   activations and a Softmax.
//! ```
//! Every matcher looks through Q/DQ pairs and activations (see `view`), so float, QDQ and
//! QOperator exports match alike.

use std::collections::HashSet;

use super::view::{conv_behind, data_inputs, producer, real, ConvNode};
use crate::ir::consts::is_constant;
use crate::ir::{Graph, NodeId, NodeKind, Op, Port, ValueId};

/// An attention branch added back onto its own input.
#[derive(Debug)]
pub struct AttentionResidual {
    /// The residual Add (or QLinearAdd).
    pub add: NodeId,
    /// Which data input of the Add carries the block input (0 or 1).
    pub kept: usize,
    pub matmuls: usize,
    pub softmaxes: usize,
    /// Op nodes of the branch.
    pub branch: usize,
}

/// The largest attention branch considered (nodes); a larger "branch" is not a block's.
const MAX_BRANCH: usize = 256;

/// `Add(x, f(x))` with an attention `f`.
pub fn attention_residual(g: &Graph, add: NodeId) -> Option<AttentionResidual> {
    if !matches!(g.node(add).op(), Some(Op::Add | Op::QLinearAdd)) {
        return None;
    }
    let ins = data_inputs(g, add);
    let [a, b] = ins.as_slice() else { return None };
    [(0, *a, *b), (1, *b, *a)]
        .into_iter()
        .find_map(|(kept, x, f)| {
            let (branch, matmuls, softmaxes) = closed_branch(g, x, f)?;
            (matmuls > 0 && softmaxes > 0).then_some(AttentionResidual {
                add,
                kept,
                matmuls,
                softmaxes,
                branch,
            })
        })
}

/// The nodes computing `f` from `x` and constants alone: (node count, MatMuls of two non-constant
/// tensors, Softmaxes); `None` when `f` reads anything else or is too large.
fn closed_branch(g: &Graph, x: ValueId, f: ValueId) -> Option<(usize, usize, usize)> {
    if f == x {
        return None;
    }
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut work = vec![f.node];
    let (mut matmuls, mut softmaxes) = (0, 0);
    while let Some(id) = work.pop() {
        if !seen.insert(id) {
            continue;
        }
        if seen.len() > MAX_BRANCH {
            return None;
        }
        match &g.node(id).kind {
            NodeKind::Initializer(_) | NodeKind::SparseInitializer(_) => continue,
            NodeKind::Input(_) => return None,
            NodeKind::Op(op) => match op.op() {
                Op::MatMul | Op::QLinearMatMul
                    if data_inputs(g, id).iter().all(|&v| !is_constant(g, v)) =>
                {
                    matmuls += 1
                }
                Op::Softmax | Op::QLinearSoftmax => softmaxes += 1,
                _ => {}
            },
        }
        for (v, _) in g.incoming(id) {
            if v == x || real(g, v) == x {
                continue;
            }
            work.push(v.node);
        }
    }
    let ops = seen
        .iter()
        .filter(|&&n| g.node(n).as_op().is_some())
        .count();
    Some((ops, matmuls, softmaxes))
}

/// A Bottleneck ending at `w`.
#[derive(Clone, Copy, Debug)]
pub struct Bottleneck {
    /// The tensor it reads.
    pub input: ValueId,
    /// Its first convolution.
    pub first: ConvNode,
    pub shortcut: bool,
}

/// Two 3×3 convolutions from `x` to `v`.
fn two_convs(g: &Graph, v: ValueId) -> Option<(ConvNode, ValueId)> {
    let c2 = conv_behind(g, v).filter(|c| c.kernel == 3)?;
    let c1 = conv_behind(g, c2.input(g)?).filter(|c| c.kernel == 3)?;
    Some((c1, c1.input(g)?))
}

pub fn bottleneck(g: &Graph, w: ValueId) -> Option<Bottleneck> {
    let (id, op) = producer(g, w)?;
    if matches!(op, Op::Add | Op::QLinearAdd) {
        let ins = data_inputs(g, id);
        let [a, b] = ins.as_slice() else { return None };
        return [(*a, *b), (*b, *a)].into_iter().find_map(|(x, f)| {
            let (first, input) = two_convs(g, f)?;
            (input == x).then_some(Bottleneck {
                input,
                first,
                shortcut: true,
            })
        });
    }
    let (first, input) = two_convs(g, w)?;
    Some(Bottleneck {
        input,
        first,
        shortcut: false,
    })
}

/// A C3k block from `u` to `w`.
#[derive(Debug)]
pub struct C3k {
    pub cv1: ConvNode,
    pub cv2: ConvNode,
    pub cv3: ConvNode,
    /// The inner Bottleneck chain, first to last.
    pub inner: Vec<Bottleneck>,
    /// Position of the Bottleneck chain among the inner Concat's two inputs.
    pub chain_position: usize,
    /// Every inner Bottleneck adds its input back.
    pub shortcut: bool,
    /// The block's output (behind Q/DQ).
    pub end: ValueId,
}

pub fn c3k(g: &Graph, u: ValueId, w: ValueId) -> Option<C3k> {
    let cv3 = conv_behind(g, w).filter(|c| c.kernel == 1 && c.group == 1)?;
    let (cat, op) = producer(g, cv3.input(g)?)?;
    if !matches!(op, Op::Concat | Op::QLinearConcat) {
        return None;
    }
    let ins = data_inputs(g, cat);
    let [p, q] = ins.as_slice() else { return None };
    let pointwise_from_u = |v: ValueId| {
        conv_behind(g, v).filter(|c| c.kernel == 1 && c.group == 1 && c.input(g) == Some(u))
    };
    [(0, *p, *q), (1, *q, *p)]
        .into_iter()
        .find_map(|(chain_position, chain_end, side)| {
            let cv2 = pointwise_from_u(side)?;
            let mut inner = Vec::new();
            let mut v = chain_end;
            while let Some(b) = bottleneck(g, v) {
                inner.push(b);
                v = b.input;
                if inner.len() > g.node_count() {
                    return None;
                }
            }
            inner.reverse();
            let cv1 = pointwise_from_u(v)?;
            (!inner.is_empty()).then(|| C3k {
                cv1,
                cv2,
                cv3,
                shortcut: inner.iter().all(|b| b.shortcut),
                inner,
                chain_position,
                end: w,
            })
        })
}

/// An inner block of a C2f-form frame.
#[derive(Debug)]
pub enum Inner {
    /// Already the C2f form.
    Bottleneck,
    C3k(C3k),
}

/// What sits inside a CSP frame.
#[derive(Debug)]
pub enum Frame {
    /// C2f, or C3k2 (whose inner blocks may be C3k).
    C2f(Vec<Inner>),
    /// C2PSA: the PSABlocks' attention residuals that are still there.
    C2psa(Vec<AttentionResidual>),
}

/// A CSP frame around `split`.
#[derive(Debug)]
pub struct Csp {
    pub split: NodeId,
    pub frame: Frame,
}

/// Op nodes reading `v`, directly or through Q/DQ pairs.
fn readers(g: &Graph, v: ValueId) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut work = vec![v];
    while let Some(v) = work.pop() {
        for (user, port) in g.uses(v) {
            match (g.node(user).op(), port) {
                (Some(Op::QuantizeLinear | Op::DequantizeLinear), Port::Input(0)) => {
                    work.push(ValueId {
                        node: user,
                        slot: 0,
                    })
                }
                (Some(_), _) => out.push(user),
                _ => {}
            }
        }
        if work.len() > g.node_count() {
            break;
        }
    }
    out
}

pub fn csp(g: &Graph, split: NodeId) -> Option<Csp> {
    if g.node(split).op() != Some(Op::Split) || g.node(split).outputs.len() != 2 {
        return None;
    }
    conv_behind(g, g.input(split, 0)?).filter(|c| c.kernel == 1)?;
    let a = ValueId {
        node: split,
        slot: 0,
    };
    let b = ValueId {
        node: split,
        slot: 1,
    };
    let concat = readers(g, a)
        .into_iter()
        .find(|&n| matches!(g.node(n).op(), Some(Op::Concat | Op::QLinearConcat)))?;
    let ins = data_inputs(g, concat);
    match ins.as_slice() {
        [first, second, outs @ ..] if *first == a && *second == b && !outs.is_empty() => {
            let mut prev = b;
            let mut inner = Vec::new();
            for &w in outs {
                let block = match bottleneck(g, w).filter(|bn| bn.input == prev) {
                    Some(_) => Inner::Bottleneck,
                    None => Inner::C3k(c3k(g, prev, w)?),
                };
                inner.push(block);
                prev = w;
            }
            Some(Csp {
                split,
                frame: Frame::C2f(inner),
            })
        }
        [first, end] if *first == a => Some(Csp {
            split,
            frame: Frame::C2psa(psa_chain(g, b, *end)?),
        }),
        _ => None,
    }
}

/// The PSABlocks from `start` to `end`, last first; their attention residuals that remain.
fn psa_chain(g: &Graph, start: ValueId, end: ValueId) -> Option<Vec<AttentionResidual>> {
    let mut v = end;
    let mut found = Vec::new();
    let mut blocks = 0;
    while v != start {
        // Feed-forward residual: Add(y, conv1×1(act(conv1×1(y)))).
        let (add, op) = producer(g, v)?;
        if !matches!(op, Op::Add | Op::QLinearAdd) {
            return None;
        }
        let ins = data_inputs(g, add);
        let [p, q] = ins.as_slice() else { return None };
        let y = [(*p, *q), (*q, *p)].into_iter().find_map(|(y, f)| {
            let c2 = conv_behind(g, f).filter(|c| c.kernel == 1)?;
            let c1 = conv_behind(g, c2.input(g)?).filter(|c| c.kernel == 1)?;
            (c1.input(g)? == y).then_some(y)
        })?;
        // Attention residual before it, unless already removed.
        v = match producer(g, y).and_then(|(n, _)| attention_residual(g, n)) {
            Some(att) => {
                let x = data_inputs(g, att.add)[att.kept];
                found.push(att);
                x
            }
            None => y,
        };
        blocks += 1;
        if blocks > g.node_count() {
            return None;
        }
    }
    Some(found)
}
