//! Quantization parameters of values.
//!
//! "What scale does this tensor have?" is answered here, from the graph, every time it is asked:
//! by the QuantizeLinear or QLinear op that produces an integer value, or the DequantizeLinear that
//! reads it. DESIGN.md sketches the parameters as a field on each value; we derive them instead,
//! because a stored copy goes stale the moment a pass rewires a producer, and the lookup is a
//! couple of edge hops.

use std::fmt;

use super::consts::constant;
use super::graph::{Graph, NodeId, Port, ValueId};
use super::op::Op;
use super::types::DType;

/// Scale(s), zero point(s) and integer type of a quantized tensor: `real = (q - zp) * scale`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantParams {
    pub dtype: DType,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// The per-axis axis (normalised to be non-negative when the rank is known); `None` when
    /// per-tensor.
    pub axis: Option<i64>,
}

impl QuantParams {
    pub fn is_per_tensor(&self) -> bool {
        self.scale.len() == 1 && self.zero_point.len() <= 1
    }

    /// Zero point of a per-tensor quantization (0 when absent).
    pub fn zp(&self) -> i64 {
        self.zero_point.first().copied().unwrap_or(0)
    }

    /// Bitwise-equal parameters: the same integers mean the same reals.
    pub fn same_as(&self, other: &QuantParams) -> bool {
        let bits = |s: &[f32]| s.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        self.dtype == other.dtype
            && bits(&self.scale) == bits(&other.scale)
            && self.zero_point_or_zero() == other.zero_point_or_zero()
            && (self.is_per_tensor() || self.axis == other.axis)
    }

    fn zero_point_or_zero(&self) -> Vec<i64> {
        if self.zero_point.is_empty() {
            vec![0; self.scale.len()]
        } else {
            self.zero_point.clone()
        }
    }

    /// The smallest and largest value of the integer type.
    pub fn range(&self) -> (i64, i64) {
        int_range(self.dtype)
    }
}

/// Range of an integer type (`(0, 0)` for others).
pub fn int_range(dtype: DType) -> (i64, i64) {
    match dtype {
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        DType::U16 => (0, 65535),
        DType::I16 => (-32768, 32767),
        DType::I32 => (i32::MIN as i64, i32::MAX as i64),
        DType::U4 => (0, 15),
        DType::I4 => (-8, 7),
        _ => (0, 0),
    }
}

impl fmt::Display for QuantParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_per_tensor() {
            write!(f, "q(s={}, zp={})", self.scale[0], self.zp())
        } else {
            write!(
                f,
                "q(axis={}, {} scales)",
                self.axis.unwrap_or(0),
                self.scale.len()
            )
        }
    }
}

/// Parameters given to a Q/DQ-like op as (scale input, zero-point input); `None` unless the scale
/// is a constant float and the zero point (when present) a constant integer.
pub fn params_from_inputs(
    g: &Graph,
    scale: Option<ValueId>,
    zero_point: Option<ValueId>,
    axis: Option<i64>,
    default_dtype: DType,
) -> Option<QuantParams> {
    let scale = constant(g, scale?)?;
    let per_axis = !scale.dims.is_empty() && scale.len() > 1;
    let scale_values = scale.to_f32()?;
    let (dtype, zero_point) = match zero_point {
        Some(z) => {
            let z = constant(g, z)?;
            (z.dtype, z.to_i64()?)
        }
        None => (default_dtype, Vec::new()),
    };
    if scale_values.is_empty() || (!zero_point.is_empty() && zero_point.len() != scale_values.len())
    {
        return None;
    }
    Some(QuantParams {
        dtype,
        scale: scale_values,
        zero_point,
        axis: if per_axis {
            Some(axis.unwrap_or(1))
        } else {
            None
        },
    })
}

/// Parameters of a QuantizeLinear or DequantizeLinear node (its inputs 1 and 2, attribute `axis`).
/// QuantizeLinear without a zero point produces uint8 (or `output_dtype` when given).
pub fn qdq_params(g: &Graph, node: NodeId) -> Option<QuantParams> {
    let op = g.node(node).as_op()?;
    if !matches!(op.op(), Op::QuantizeLinear | Op::DequantizeLinear) {
        return None;
    }
    if op
        .attr_int("block_size")
        .ok()
        .flatten()
        .is_some_and(|b| b != 0)
    {
        return None;
    }
    let axis = op.attr_int("axis").ok()?;
    let default = if op.op() == Op::DequantizeLinear {
        // Without a zero point, the integer type is the input's.
        g.input(node, 0)
            .and_then(|x| {
                g.value(x)
                    .ty
                    .as_ref()
                    .map(|t| t.dtype)
                    .or_else(|| constant(g, x).map(|c| c.dtype))
            })
            .unwrap_or(DType::U8)
    } else {
        op.attr_int("output_dtype")
            .ok()
            .flatten()
            .filter(|&d| d != 0)
            .map_or(DType::U8, |d| DType::from_onnx(d as i32))
    };
    params_from_inputs(g, g.input(node, 1), g.input(node, 2), axis, default)
}

/// Where the QOperator ops keep the (scale, zero point) of their output.
fn output_params_slots(op: Op) -> Option<(u32, u32)> {
    Some(match op {
        Op::QuantizeLinear => (1, 2),
        Op::QLinearConv | Op::QLinearMatMul | Op::QLinearAdd | Op::QLinearMul => (6, 7),
        Op::QLinearLeakyRelu
        | Op::QLinearSigmoid
        | Op::QLinearAveragePool
        | Op::QLinearGlobalAveragePool
        | Op::QLinearSoftmax => (3, 4),
        Op::QLinearConcat => (0, 1),
        _ => return None,
    })
}

/// Where a QOperator op (or DequantizeLinear) keeps the (scale, zero point, per-axis axis) of its
/// input `slot`: a reader declares the quantization of what it reads.
fn input_params_slots(op: Op, slot: u32) -> Option<(u32, u32, Option<i64>)> {
    Some(match (op, slot) {
        (Op::QLinearConv, 3) => (4, 5, Some(0)),
        (Op::QLinearMatMul | Op::QLinearAdd | Op::QLinearMul, 3) => (4, 5, None),
        (
            Op::QLinearConv
            | Op::QLinearMatMul
            | Op::QLinearAdd
            | Op::QLinearMul
            | Op::QLinearLeakyRelu
            | Op::QLinearSigmoid
            | Op::QLinearAveragePool
            | Op::QLinearGlobalAveragePool
            | Op::QLinearSoftmax,
            0,
        ) => (1, 2, None),
        (Op::QLinearConcat, s) if s >= 2 && (s - 2) % 3 == 0 => (s + 1, s + 2, None),
        _ => return None,
    })
}

/// Ops that only move or select elements: on quantized data they run on the integers unchanged
/// (the integers mean the same before and after).
pub fn moves_data(op: Op) -> bool {
    matches!(
        op,
        Op::MaxPool
            | Op::Reshape
            | Op::Transpose
            | Op::Flatten
            | Op::Squeeze
            | Op::Unsqueeze
            | Op::Slice
            | Op::Split
            | Op::Resize
            | Op::Pad
            | Op::Gather
    )
}

/// Ops whose integer output has their input 0's quantization: the data movers, and the integer
/// Concat, Clip, Relu and Identity that fold-qdq leaves behind.
fn keeps_quantization(op: Op) -> bool {
    moves_data(op) || matches!(op, Op::Concat | Op::Clip | Op::Relu | Op::Identity)
}

/// The quantization of an integer value: from the op producing it (QuantizeLinear, a QLinear op,
/// or a data-movement op on integers, traced back to its input), else from the ops reading it —
/// DequantizeLinear or QLinear ops, which declare their inputs' quantization (all must agree).
pub fn quant_of(g: &Graph, v: ValueId) -> Option<QuantParams> {
    let original = v;
    let mut v = v;
    // Bounded: each step moves to a producer, and the graph is acyclic.
    for _ in 0..g.node_count() {
        let Some(op) = g.node(v.node).op() else { break };
        if let Some((s, z)) = output_params_slots(op) {
            let default = g.value(v).ty.as_ref().map_or(DType::U8, |t| t.dtype);
            return params_from_inputs(g, g.input(v.node, s), g.input(v.node, z), None, default);
        }
        let integer = g.value(v).ty.as_ref().is_some_and(|t| !t.dtype.is_float());
        match g.input(v.node, 0) {
            Some(src) if integer && keeps_quantization(op) => v = src,
            _ => break,
        }
    }
    // Readers declare it: of the value itself, else of the value its producers' chain reached.
    declared_by_readers(g, original).or_else(|| declared_by_readers(g, v))
}

/// The quantization the DequantizeLinear and QLinear readers of `v` declare (all must agree).
fn declared_by_readers(g: &Graph, v: ValueId) -> Option<QuantParams> {
    let mut found: Option<QuantParams> = None;
    for (user, port) in g.uses(v) {
        let (Port::Input(slot), Some(op)) = (port, g.node(user).op()) else {
            continue;
        };
        let p = if op == Op::DequantizeLinear && slot == 0 {
            qdq_params(g, user)?
        } else if let Some((s, z, axis)) = input_params_slots(op, slot) {
            let default = g.value(v).ty.as_ref().map_or(DType::U8, |t| t.dtype);
            params_from_inputs(g, g.input(user, s), g.input(user, z), axis, default)?
        } else {
            continue;
        };
        match &found {
            Some(f) if !f.same_as(&p) => return None,
            _ => found = Some(p),
        }
    }
    found
}
