//! The graph as the Ultralytics blocks see it: through Q/DQ pairs and activations.
//!
//! The same block is exported three ways — float, QDQ (a `QuantizeLinear → DequantizeLinear` pair
//! after every op) and QOperator (integer `QLinear*` ops) — and the activation after a convolution
//! may be ReLU, LeakyReLU, SiLU (`x·Sigmoid(x)`), or nothing (a quantiser folds ReLU into the
//! output range). The matchers ask these helpers for "the tensor behind this value" and "the
//! convolution behind this activation", so one matcher covers every form.

use crate::ir::{Graph, NodeId, Op, ValueId};

/// The value behind `v` once `DequantizeLinear(QuantizeLinear(x))` pairs are looked through.
pub fn real(g: &Graph, v: ValueId) -> ValueId {
    let mut v = v;
    // Bounded: each step moves to a producer, and the graph is acyclic.
    for _ in 0..g.node_count() {
        if g.node(v.node).op() != Some(Op::DequantizeLinear) {
            break;
        }
        match g.input(v.node, 0) {
            Some(q) if g.node(q.node).op() == Some(Op::QuantizeLinear) => {
                match g.input(q.node, 0) {
                    Some(x) => v = x,
                    None => break,
                }
            }
            _ => break,
        }
    }
    v
}

/// The op producing the value behind `v`.
pub fn producer(g: &Graph, v: ValueId) -> Option<(NodeId, Op)> {
    let r = real(g, v);
    g.node(r.node).op().map(|op| (r.node, op))
}

/// Input slots that carry tensors (not scales, zero points or weights) for the ops the blocks use.
pub fn data_slots(g: &Graph, id: NodeId) -> Vec<u32> {
    let Some(node) = g.node(id).as_op() else {
        return Vec::new();
    };
    match node.op() {
        Op::Add | Op::Mul | Op::MatMul => vec![0, 1],
        Op::QLinearAdd | Op::QLinearMul | Op::QLinearMatMul => vec![0, 3],
        Op::Concat => (0..node.arity).collect(),
        Op::QLinearConcat => (2..node.arity).step_by(3).collect(),
        _ => vec![0],
    }
}

/// The tensors a node reads, looked through Q/DQ pairs.
pub fn data_inputs(g: &Graph, id: NodeId) -> Vec<ValueId> {
    data_slots(g, id)
        .into_iter()
        .filter_map(|s| g.input(id, s))
        .map(|v| real(g, v))
        .collect()
}

fn is_unary_activation(op: Op) -> bool {
    matches!(
        op,
        Op::Relu
            | Op::LeakyRelu
            | Op::Clip
            | Op::HardSwish
            | Op::Gelu
            | Op::Mish
            | Op::QLinearLeakyRelu
    )
}

fn is_gate(op: Op) -> bool {
    matches!(op, Op::Sigmoid | Op::QLinearSigmoid | Op::HardSigmoid)
}

/// The value an activation (ReLU-like, or a gated `x·σ(x)`) was applied to; `v` itself (through
/// Q/DQ) when it is no activation's output.
pub fn before_activation(g: &Graph, v: ValueId) -> ValueId {
    let mut v = real(g, v);
    for _ in 0..g.node_count() {
        let Some(op) = g.node(v.node).op() else { break };
        if is_unary_activation(op) {
            match g.input(v.node, 0) {
                Some(x) => v = real(g, x),
                None => break,
            }
            continue;
        }
        if matches!(op, Op::Mul | Op::QLinearMul) {
            let ins = data_inputs(g, v.node);
            let gated = |x: ValueId, s: ValueId| {
                g.node(s.node).op().is_some_and(is_gate)
                    && data_inputs(g, s.node).first() == Some(&x)
            };
            match ins.as_slice() {
                [a, b] if gated(*a, *b) => v = *a,
                [a, b] if gated(*b, *a) => v = *b,
                _ => break,
            }
            continue;
        }
        break;
    }
    v
}

/// A convolution with constant weights, as far as the blocks care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvNode {
    pub id: NodeId,
    /// Square kernel size (1 or 3 in the blocks).
    pub kernel: i64,
    pub group: i64,
}

impl ConvNode {
    /// The tensor the convolution reads.
    pub fn input(&self, g: &Graph) -> Option<ValueId> {
        g.input(self.id, 0).map(|v| real(g, v))
    }
}

/// The convolution whose (activated) output is `v`.
pub fn conv_behind(g: &Graph, v: ValueId) -> Option<ConvNode> {
    let v = before_activation(g, v);
    let node = g.node(v.node).as_op()?;
    if !matches!(node.op(), Op::Conv | Op::QLinearConv) {
        return None;
    }
    let kernel = node.attr_ints("kernel_shape").ok().flatten()?;
    let strides = node.attr_ints("strides").ok().flatten().unwrap_or(&[1, 1]);
    let [kh, kw] = kernel else { return None };
    if kh != kw || strides.iter().any(|&s| s != 1) {
        return None;
    }
    Some(ConvNode {
        id: v.node,
        kernel: *kh,
        group: node.attr_int("group").ok().flatten().unwrap_or(1),
    })
}

/// The Ultralytics module path of a node from its exported name (`/model.10/m/m.0/Add` →
/// `model.10`), else the node's own name.
pub fn module_path(g: &Graph, id: NodeId) -> String {
    let name = g.node(id).display_name();
    let module = name
        .split('/')
        .find(|part| part.starts_with("model.") && part[6..].parse::<u32>().is_ok());
    module.map_or(name.clone(), str::to_string)
}

/// The layer index of a module path (`model.10` → 10).
pub fn layer_index(path: &str) -> Option<u32> {
    path.strip_prefix("model.")?.parse().ok()
}
