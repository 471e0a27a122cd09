//! ONNX nodes → Ethos-N operations (ethos-n-rules.md section f.4).
//!
//! Works on the integer (QOperator) graph that `fold-qdq` produces: a node is described as the
//! Support Library operation it would become, with its tensors in the library's terms, and the
//! rules judge it. NCHW is handled by mapping shapes and axes (`[N,C,H,W]` → `[N,H,W,C]`,
//! OIHW weights → HWIO/HWIM), never by inserting transposes. A node with no Ethos-N operation at
//! all (float ops, shape computations, the Q/DQ at a float boundary) gets a reason saying so.
//!
//! A missing convolution bias is described as a zero bias with the scales the library wants: the
//! NPU compiler synthesises it. The description also says the bias is missing, because TVM's
//! convolution pattern demands an explicit `bias_add`: the profile with TVM's front end (23.02)
//! keeps such a convolution on the CPU, later ones run it, and `legalise` gives it an explicit
//! zero bias where that moves it to the NPU. That is TVM's limitation, not the hardware's.

use super::npu::{
    Concatenation, Convolution, DataFormat, DataType, DepthToSpace, DepthToSpaceMode, Elementwise,
    FullyConnected, LeakyRelu, Operation, Padding, Pooling, PoolingKind, QuantInfo, Relu,
    Requantize, Reshape, Resize, ResizeAlgorithm, Split, StandalonePadding, Stride, TensorInfo,
    Transpose, Unary,
};
use crate::ir::consts::constant;
use crate::ir::quant::{qdq_params, quant_of, QuantParams};
use crate::ir::{DType, Graph, NodeId, Op, OpNode, ValueId};

/// Why a node has no Ethos-N operation.
pub struct NoNpuOp(pub String);

type Mapped = Result<Operation, NoNpuOp>;

fn no(reason: impl Into<String>) -> NoNpuOp {
    NoNpuOp(reason.into())
}

fn dims(g: &Graph, v: ValueId) -> Result<Vec<i64>, NoNpuOp> {
    g.value(v)
        .ty
        .as_ref()
        .and_then(|t| t.static_dims())
        .ok_or_else(|| no(format!("the shape of '{}' is not static", g.value(v).name)))
}

fn dtype(d: DType) -> DataType {
    match d {
        DType::U8 => DataType::U8,
        DType::I8 => DataType::I8,
        DType::I32 => DataType::I32,
        other => DataType::NotQuantized(other.name()),
    }
}

/// ONNX dims (NCHW for rank 4) as the library's 4-D NHWC shape; other ranks right-padded.
fn nhwc(d: &[i64]) -> Vec<u32> {
    let u = |x: i64| u32::try_from(x).unwrap_or(u32::MAX);
    if d.len() == 4 {
        vec![u(d[0]), u(d[2]), u(d[3]), u(d[1])]
    } else {
        d.iter().map(|&x| u(x)).collect()
    }
}

/// An ONNX axis of a rank-`rank` tensor as the library's NHWC axis.
fn nhwc_axis(axis: i64, rank: usize) -> Option<u32> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a as usize >= rank {
        return None;
    }
    Some(if rank == 4 {
        [0, 3, 1, 2][a as usize]
    } else {
        a as u32
    })
}

fn quant_info(p: &QuantParams) -> QuantInfo {
    if p.is_per_tensor() {
        QuantInfo::new(p.zp() as i32, p.scale[0])
    } else {
        QuantInfo::per_channel(p.zp() as i32, p.scale.clone(), 3)
    }
}

/// The library's view of an activation value.
fn activation(g: &Graph, v: ValueId) -> Result<TensorInfo, NoNpuOp> {
    let d = dims(g, v)?;
    let ty = g.value(v).ty.as_ref().map_or(DType::F32, |t| t.dtype);
    let quant = match quant_of(g, v) {
        Some(p) => quant_info(&p),
        None if ty.is_float() => QuantInfo::new(0, 1.0),
        None => {
            return Err(no(format!(
                "the quantization of '{}' is not known",
                g.value(v).name
            )))
        }
    };
    Ok(TensorInfo::from_dims(&nhwc(&d), dtype(ty), quant))
}

fn input(g: &Graph, id: NodeId, slot: u32) -> Result<ValueId, NoNpuOp> {
    g.input(id, slot)
        .ok_or_else(|| no(format!("input {slot} is missing")))
}

fn out(id: NodeId) -> ValueId {
    ValueId { node: id, slot: 0 }
}

fn ints(op: &OpNode, name: &str) -> Result<Option<Vec<i64>>, NoNpuOp> {
    op.attr_ints(name)
        .map(|v| v.map(<[i64]>::to_vec))
        .map_err(|e| no(e.to_string()))
}

fn int(op: &OpNode, name: &str, default: i64) -> Result<i64, NoNpuOp> {
    Ok(op
        .attr_int(name)
        .map_err(|e| no(e.to_string()))?
        .unwrap_or(default))
}

/// ONNX pads `[top, left, bottom, right]` (or `auto_pad`) as the library's padding.
fn padding(
    op: &OpNode,
    input_hw: (u32, u32),
    kernel: (u32, u32),
    stride: Stride,
) -> Result<Padding, NoNpuOp> {
    let auto = op
        .attr_str("auto_pad")
        .map_err(|e| no(e.to_string()))?
        .unwrap_or("NOTSET");
    let same = |before_larger: bool| {
        let pad = |size: u32, k: u32, s: u32| {
            let total = (size.div_ceil(s.max(1)).saturating_sub(1) * s + k).saturating_sub(size);
            let small = total / 2;
            if before_larger {
                (total - small, small)
            } else {
                (small, total - small)
            }
        };
        let (t, b) = pad(input_hw.0, kernel.0, stride.y);
        let (l, r) = pad(input_hw.1, kernel.1, stride.x);
        Padding::new(t, b, l, r)
    };
    Ok(match auto {
        "SAME_UPPER" => same(false),
        "SAME_LOWER" => same(true),
        "VALID" => Padding::ZERO,
        _ => {
            let p = ints(op, "pads")?.unwrap_or_else(|| vec![0; 4]);
            if p.len() != 4 || p.iter().any(|&x| x < 0) {
                return Err(no(format!("pads {p:?} are not 2-D")));
            }
            Padding::new(p[0] as u32, p[2] as u32, p[1] as u32, p[3] as u32)
        }
    })
}

fn stride(op: &OpNode) -> Result<Stride, NoNpuOp> {
    let s = ints(op, "strides")?.unwrap_or_else(|| vec![1, 1]);
    match s.as_slice() {
        [y, x] => Ok(Stride::new(*x as u32, *y as u32)),
        _ => Err(no(format!("strides {s:?} are not 2-D"))),
    }
}

/// The NPU operation a node would be, or why it has none. A node of a QDQ node unit
/// (`DequantizeLinear`s → float op → `QuantizeLinear`, as exporters write quantized models) is
/// judged as the unit: as the integer op fold-qdq makes of it.
pub fn map(g: &Graph, id: NodeId) -> Mapped {
    let node = g.node(id);
    let Some(op) = node.as_op() else {
        return Err(no("not an operator"));
    };
    if let Some(core) = qdq_unit_core(g, id) {
        return map_qdq_unit(g, core);
    }
    match op.op() {
        Op::QLinearConv => conv(g, id, op),
        Op::QLinearMatMul => fully_connected(g, id),
        Op::QLinearLeakyRelu => Ok(Operation::LeakyRelu(LeakyRelu {
            input: activation(g, input(g, id, 0)?)?,
            alpha: op
                .attr_float("alpha")
                .map_err(|e| no(e.to_string()))?
                .unwrap_or(0.01),
            output_quant: activation(g, out(id))?.quant,
            output: Some(activation(g, out(id))?),
        })),
        Op::QLinearSigmoid => Ok(Operation::Sigmoid(Unary {
            input: activation(g, input(g, id, 0)?)?,
            output: Some(activation(g, out(id))?),
        })),
        Op::QLinearAdd | Op::QLinearMul => {
            let e = Elementwise {
                input0: activation(g, input(g, id, 0)?)?,
                input1: activation(g, input(g, id, 3)?)?,
                output_quant: activation(g, out(id))?.quant,
                output: Some(activation(g, out(id))?),
            };
            Ok(if op.op() == Op::QLinearAdd {
                Operation::Addition(e)
            } else {
                Operation::Multiplication(e)
            })
        }
        Op::QLinearConcat | Op::Concat => concat(g, id, op),
        Op::QuantizeLinear => requantize(g, id),
        Op::DequantizeLinear => match requantize_reader(g, id) {
            Some(q) => requantize(g, q),
            None => Err(no(format!("{} has no Ethos-N operation", describe(op)))),
        },
        Op::QLinearGlobalAveragePool => Ok(Operation::MeanXy(Unary {
            input: activation(g, input(g, id, 0)?)?,
            output: Some(activation(g, out(id))?),
        })),
        Op::MaxPool | Op::QLinearAveragePool => pool(g, id, op),
        Op::Reshape | Op::Flatten | Op::Squeeze | Op::Unsqueeze => {
            let x = activation(g, input(g, id, 0)?)?;
            let y = activation(g, out(id))?;
            Ok(Operation::Reshape(Reshape {
                input: x,
                new_shape: y.shape,
                output: Some(y),
            }))
        }
        Op::Split => split(g, id, op),
        Op::Pad => standalone_padding(g, id, op),
        Op::Resize => resize(g, id, op),
        Op::Transpose => {
            let x = activation(g, input(g, id, 0)?)?;
            let perm = ints(op, "perm")?.unwrap_or_else(|| vec![3, 2, 1, 0]);
            if perm.len() != 4 || perm.iter().any(|&a| !(0..4).contains(&a)) {
                return Err(no(format!("perm {perm:?} is not a 4-D permutation")));
            }
            // Output NHWC axis j is NCHW axis NHWC_TO_NCHW[j], which reads input NCHW axis
            // perm[..], which is NHWC axis NCHW_TO_NHWC[..].
            const NHWC_TO_NCHW: [usize; 4] = [0, 2, 3, 1];
            const NCHW_TO_NHWC: [u32; 4] = [0, 3, 1, 2];
            let p: [u32; 4] = std::array::from_fn(|j| NCHW_TO_NHWC[perm[NHWC_TO_NCHW[j]] as usize]);
            Ok(Operation::Transpose(Transpose {
                input: x,
                permutation: p,
                output: Some(activation(g, out(id))?),
            }))
        }
        Op::Clip | Op::Relu => {
            let x = activation(g, input(g, id, 0)?)?;
            let bound = |slot: u32, default: i64| -> Result<i64, NoNpuOp> {
                match g.input(id, slot) {
                    Some(v) => constant(g, v)
                        .and_then(|c| c.to_i64())
                        .and_then(|c| c.first().copied())
                        .ok_or_else(|| no("Clip bounds are not integer constants")),
                    None => Ok(default),
                }
            };
            let (lo, hi) = match x.dtype {
                DataType::U8 => (0, 255),
                DataType::I8 => (-128, 127),
                _ => return Err(no("Clip on float data")),
            };
            let lower = if op.op() == Op::Relu {
                i64::from(x.quant.zero_point)
            } else {
                bound(1, lo)?
            };
            Ok(Operation::Relu(Relu {
                lower_bound: lower as i16,
                upper_bound: bound(2, hi)? as i16,
                output: Some(activation(g, out(id))?),
                input: x,
            }))
        }
        Op::DepthToSpace => {
            let mode = op
                .attr_str("mode")
                .map_err(|e| no(e.to_string()))?
                .unwrap_or("DCR");
            Ok(Operation::DepthToSpace(DepthToSpace {
                input: activation(g, input(g, id, 0)?)?,
                block_size: int(op, "blocksize", 0)? as u32,
                mode: if mode == "CRD" {
                    DepthToSpaceMode::Crd
                } else {
                    DepthToSpaceMode::Dcr
                },
                output: Some(activation(g, out(id))?),
            }))
        }
        _ => Err(no(format!("{} has no Ethos-N operation", describe(op)))),
    }
}

fn describe(op: &OpNode) -> String {
    if op.domain().is_empty() {
        op.op_type().to_string()
    } else {
        format!("{}.{}", op.domain(), op.op_type())
    }
}

fn conv(g: &Graph, id: NodeId, op: &OpNode) -> Mapped {
    let x = activation(g, input(g, id, 0)?)?;
    let w = input(g, id, 3)?;
    let wd = dims(g, w)?;
    if wd.len() != 4 {
        return Err(no(format!(
            "a {}-D convolution; the NPU runs 2-D ones",
            wd.len().saturating_sub(2)
        )));
    }
    let w_scales = constant(g, input(g, id, 4)?)
        .and_then(|c| c.to_f32())
        .ok_or_else(|| no("weight scales are not constant"))?;
    let w_zp = constant(g, input(g, id, 5)?)
        .and_then(|c| c.to_i64())
        .ok_or_else(|| no("weight zero point is not constant"))?;
    let w_dtype = g.value(w).ty.as_ref().map_or(DType::I8, |t| t.dtype);
    let group = int(op, "group", 1)?;
    let (o, i_per_group, kh, kw) = (wd[0] as u32, wd[1] as u32, wd[2] as u32, wd[3] as u32);
    let c_in = x.channels();
    let depthwise = group > 1 && group as u32 == c_in && i_per_group == 1;
    let (w_shape, format, axis) = if depthwise {
        ([kh, kw, c_in, o / c_in.max(1)], DataFormat::Hwim, 2)
    } else {
        ([kh, kw, i_per_group, o], DataFormat::Hwio, 3)
    };
    let w_quant = if w_scales.len() > 1 {
        QuantInfo::per_channel(
            w_zp.first().copied().unwrap_or(0) as i32,
            w_scales.clone(),
            axis,
        )
    } else {
        QuantInfo::new(w_zp.first().copied().unwrap_or(0) as i32, w_scales[0])
    };
    let weights = TensorInfo::new(w_shape, dtype(w_dtype), w_quant).with_format(format);
    // One bias scale per weight scale: per-tensor weights have a per-tensor bias.
    let bias_scales: Vec<f32> = w_scales.iter().map(|s| x.quant.scale() * s).collect();
    let bias_quant = if bias_scales.len() > 1 {
        QuantInfo::per_channel(0, bias_scales, 3)
    } else {
        QuantInfo::new(0, bias_scales[0])
    };
    let bias = TensorInfo::new([1, 1, 1, o], DataType::I32, bias_quant);
    let dil = ints(op, "dilations")?.unwrap_or_else(|| vec![1, 1]);
    let st = stride(op)?;
    let pad = padding(op, (x.height(), x.width()), (kh, kw), st)?;
    let y = activation(g, out(id))?;
    let conv = Convolution {
        input: x,
        weights,
        bias,
        padding: pad,
        stride: st,
        output_quant: y.quant.clone(),
        output: Some(y),
        dilation: [
            dil.first().copied().unwrap_or(1) as u32,
            dil.get(1).copied().unwrap_or(1) as u32,
        ],
        fused_pad_attribute: None,
        bias_missing: g.input(id, 8).is_none(),
    };
    if depthwise {
        Ok(Operation::DepthwiseConvolution(conv))
    } else if group != 1 {
        Err(no(format!(
            "grouped convolution (group={group}) is neither normal nor depthwise"
        )))
    } else {
        Ok(Operation::Convolution(conv))
    }
}

/// The float op of the QDQ node unit `id` belongs to: `id` itself, the op a DequantizeLinear
/// alone feeds, or the op whose output a QuantizeLinear alone quantizes. A unit's op reads only
/// DequantizeLinear outputs of 8-bit data (or constants) and is read only by one QuantizeLinear.
fn qdq_unit_core(g: &Graph, id: NodeId) -> Option<NodeId> {
    let op = g.node(id).op()?;
    let core = match op {
        // A DequantizeLinear shared by several units belongs to the first; all must be units.
        Op::DequantizeLinear => {
            let readers = g.uses(out(id));
            if g.is_output(out(id))
                || readers.is_empty()
                || readers.iter().any(|(r, p)| {
                    !matches!(p, crate::ir::Port::Input(_)) || qdq_unit_core(g, *r) != Some(*r)
                })
            {
                return None;
            }
            readers[0].0
        }
        Op::QuantizeLinear => g.input(id, 0)?.node,
        _ => id,
    };
    let core_op = g.node(core).op()?;
    if matches!(core_op, Op::DequantizeLinear | Op::QuantizeLinear) {
        return None;
    }
    let eight_bit = |v: ValueId| {
        g.value(v)
            .ty
            .as_ref()
            .is_some_and(|t| t.dtype.is_quantized_8bit())
    };
    let reads_dq = g.inputs_of(core).into_iter().flatten().any(|v| {
        g.node(v.node).op() == Some(Op::DequantizeLinear)
            && g.input(v.node, 0)
                .is_some_and(|x| eight_bit(x) && constant(g, x).is_none())
    });
    let quantized = !unit_quantizers(g, core).is_empty();
    (reads_dq && quantized).then_some(core)
}

/// The QuantizeLinear alone reading each used output of `core` (one per output, in order), or
/// nothing when an output is read otherwise.
fn unit_quantizers(g: &Graph, core: NodeId) -> Vec<NodeId> {
    let mut qs = Vec::new();
    for v in g.values_of(core).filter(|&v| g.is_used(v)) {
        match g.uses(v).as_slice() {
            [(q, crate::ir::Port::Input(0))]
                if !g.is_output(v) && g.node(*q).op() == Some(Op::QuantizeLinear) =>
            {
                qs.push(*q)
            }
            _ => return Vec::new(),
        }
    }
    qs
}

/// A QDQ unit judged as the integer op fold-qdq makes of it: the unit is extracted on its own and
/// folded, and the folded op mapped (the rules look only at the op's own tensors).
fn map_qdq_unit(g: &Graph, core: NodeId) -> Mapped {
    let qs = unit_quantizers(g, core);
    if matches!(g.node(core).op(), Some(Op::Tanh | Op::ReduceMean)) {
        return float_unit(g, core, &qs);
    }
    let mut members = vec![core];
    members.extend(&qs);
    let mut inputs = Vec::new();
    // The unit's DequantizeLinears with their constants, and the QuantizeLinear producing each
    // integer input (so the extracted unit knows its input's quantization).
    let with_constants = |n: NodeId, members: &mut Vec<NodeId>, inputs: &mut Vec<ValueId>| {
        members.push(n);
        for w in g.inputs_of(n).into_iter().flatten() {
            if constant(g, w).is_some() {
                members.push(w.node);
            } else if !inputs.contains(&w) {
                inputs.push(w);
            }
        }
    };
    for v in g.inputs_of(core).into_iter().flatten() {
        let Some(x) = g.input(v.node, 0).filter(|x| constant(g, *x).is_none()) else {
            with_constants(v.node, &mut members, &mut inputs);
            continue;
        };
        let producer_is_q = g.node(x.node).op() == Some(Op::QuantizeLinear);
        with_constants(v.node, &mut members, &mut inputs);
        if producer_is_q && !members.contains(&x.node) {
            inputs.retain(|i| *i != x);
            with_constants(x.node, &mut members, &mut inputs);
        }
    }
    for &q in &qs {
        members.extend(g.inputs_of(q).into_iter().flatten().map(|v| v.node));
    }
    members.sort_unstable();
    members.dedup();
    let outputs: Vec<ValueId> = qs.iter().map(|&q| out(q)).collect();
    let mut unit = crate::ir::extract::extract(g, &members, &inputs, &outputs)
        .map_err(|e| no(format!("the QDQ unit cannot be taken apart: {e}")))?;
    let opsets = [
        (String::new(), 21),
        (crate::ir::op::MS_DOMAIN.to_string(), 1),
    ];
    let mut cx = crate::pass::PassCx::new(opsets.into_iter().collect());
    crate::pass::Pass::run(&crate::passes::fold_qdq::FoldQdq, &mut unit, &mut cx)
        .map_err(|e| no(format!("the QDQ unit does not fold: {e}")))?;
    let folded = unit
        .op_order()
        .ok()
        .and_then(|order| {
            order.into_iter().find(|&n| {
                !matches!(
                    unit.node(n).op(),
                    Some(Op::DequantizeLinear | Op::QuantizeLinear)
                )
            })
        })
        .ok_or_else(|| no("the QDQ unit folds to nothing"))?;
    let refusal = cx
        .diagnostics()
        .iter()
        .find(|d| d.pass == "fold-qdq")
        .map(|d| d.message.clone());
    match unit.node(folded).op() {
        Some(op)
            if op == g.node(core).op().unwrap_or(op)
                && !matches!(
                    op,
                    Op::MaxPool
                        | Op::Reshape
                        | Op::Resize
                        | Op::Split
                        | Op::Concat
                        | Op::Transpose
                        | Op::Flatten
                        | Op::Squeeze
                        | Op::Unsqueeze
                        | Op::Clip
                        | Op::Relu
                ) =>
        {
            Err(no(refusal.unwrap_or_else(|| {
                "the QDQ unit has no integer form".into()
            })))
        }
        _ => map(&unit, folded),
    }
}

/// A QDQ unit around an op that neither ONNX nor ONNX Runtime has in integer form, so fold-qdq
/// leaves it in float, but that the NPU computes from the codes, with the DequantizeLinear's
/// quantization in and the QuantizeLinear's out: Tanh, and ReduceMean over height and width
/// (MeanXy).
fn float_unit(g: &Graph, core: NodeId, qs: &[NodeId]) -> Mapped {
    let [q] = qs else {
        return Err(no("the output is not quantized once"));
    };
    let dq = input(g, core, 0)?.node;
    let quantized = |v: ValueId, qdq: NodeId| -> Result<TensorInfo, NoNpuOp> {
        let params = qdq_params(g, qdq).ok_or_else(|| {
            no(format!(
                "the scale or zero point of '{}' is not a constant",
                g.node(qdq).display_name()
            ))
        })?;
        let ty = g.value(v).ty.as_ref().map_or(DType::F32, |t| t.dtype);
        Ok(TensorInfo::from_dims(
            &nhwc(&dims(g, v)?),
            dtype(ty),
            quant_info(&params),
        ))
    };
    let unary = Unary {
        input: quantized(input(g, dq, 0)?, dq)?,
        output: Some(quantized(out(*q), *q)?),
    };
    match g.node(core).as_op() {
        Some(op) if op.op() == Op::ReduceMean => {
            mean_over_height_and_width(g, core, op)?;
            Ok(Operation::MeanXy(unary))
        }
        _ => Ok(Operation::Tanh(unary)),
    }
}

/// MeanXy reduces the height and width of an NCHW tensor and keeps them as 1.
fn mean_over_height_and_width(g: &Graph, id: NodeId, op: &OpNode) -> Result<(), NoNpuOp> {
    let rank = dims(g, input(g, id, 0)?)?.len() as i64;
    let axes = match (ints(op, "axes")?, g.input(id, 1)) {
        (Some(a), _) => a,
        (None, Some(v)) => constant(g, v)
            .and_then(|c| c.to_i64())
            .ok_or_else(|| no("the axes are not a constant"))?,
        (None, None) => Vec::new(),
    };
    let mut reduced: Vec<i64> = axes
        .iter()
        .map(|&a| if a < 0 { a + rank } else { a })
        .collect();
    reduced.sort_unstable();
    reduced.dedup();
    if rank != 4 || reduced != [2, 3] {
        return Err(no(format!(
            "ReduceMean over axes {axes:?} of a rank-{rank} tensor; MeanXy reduces height and \
             width (axes [2, 3] of NCHW)"
        )));
    }
    if int(op, "keepdims", 1)? != 1 {
        return Err(no(
            "ReduceMean with keepdims=0; MeanXy keeps height and width as 1",
        ));
    }
    Ok(())
}

/// The QuantizeLinear that alone reads an 8-bit-integer→float DequantizeLinear: the pair is one
/// requantization, and both nodes are that NPU operation.
fn requantize_reader(g: &Graph, dq: NodeId) -> Option<NodeId> {
    let v = out(dq);
    let integer = |v: ValueId| {
        g.value(v)
            .ty
            .as_ref()
            .is_some_and(|t| t.dtype.is_quantized_8bit())
    };
    let uses = g.uses(v);
    match uses.as_slice() {
        [(q, crate::ir::Port::Input(0))]
            if !g.is_output(v)
                && g.node(*q).op() == Some(Op::QuantizeLinear)
                && integer(g.input(dq, 0)?)
                && integer(out(*q)) =>
        {
            Some(*q)
        }
        _ => None,
    }
}

/// A QuantizeLinear reading an integer tensor's DequantizeLinear: a Requantize.
fn requantize(g: &Graph, q: NodeId) -> Mapped {
    let dq = input(g, q, 0)?.node;
    if g.node(dq).op() != Some(Op::DequantizeLinear) || requantize_reader(g, dq) != Some(q) {
        return Err(no(
            "QuantizeLinear of float data has no Ethos-N operation (a float-to-integer boundary)",
        ));
    }
    let x = activation(g, input(g, dq, 0)?)?;
    let y = activation(g, out(q))?;
    Ok(Operation::Requantize(Requantize {
        output_dtype: (y.dtype != x.dtype).then(|| y.dtype.clone()),
        output_quant: y.quant.clone(),
        input: x,
        output: Some(y),
    }))
}

fn fully_connected(g: &Graph, id: NodeId) -> Mapped {
    let b = input(g, id, 3)?;
    if constant(g, b).is_none() {
        return Err(no(
            "QLinearMatMul of two activations (attention) has no Ethos-N operation",
        ));
    }
    let x = activation(g, input(g, id, 0)?)?;
    let bd = dims(g, b)?;
    let (k, n) = match bd.as_slice() {
        [k, n] => (*k as u32, *n as u32),
        _ => return Err(no("weights are not 2-D")),
    };
    let w_scale = constant(g, input(g, id, 4)?)
        .and_then(|c| c.to_f32())
        .ok_or_else(|| no("weight scale is not constant"))?;
    let w_zp = constant(g, input(g, id, 5)?)
        .and_then(|c| c.to_i64())
        .unwrap_or_else(|| vec![0]);
    let w_dtype = g.value(b).ty.as_ref().map_or(DType::I8, |t| t.dtype);
    let weights = TensorInfo::new(
        [1, 1, k, n],
        dtype(w_dtype),
        QuantInfo::new(w_zp[0] as i32, w_scale[0]),
    )
    .with_format(DataFormat::Hwio);
    let bias = TensorInfo::new(
        [1, 1, 1, n],
        DataType::I32,
        QuantInfo::new(0, x.quant.scale() * w_scale[0]),
    );
    let y = activation(g, out(id))?;
    Ok(Operation::FullyConnected(FullyConnected {
        input: x,
        weights,
        bias,
        output_quant: y.quant.clone(),
        output: Some(y),
    }))
}

fn concat(g: &Graph, id: NodeId, op: &OpNode) -> Mapped {
    let slots: Vec<u32> = if op.op() == Op::QLinearConcat {
        (2..g.inputs_of(id).len() as u32).step_by(3).collect()
    } else {
        (0..g.inputs_of(id).len() as u32).collect()
    };
    let inputs = slots
        .iter()
        .map(|&s| activation(g, input(g, id, s)?))
        .collect::<Result<Vec<_>, _>>()?;
    let rank = dims(g, out(id))?.len();
    let axis = nhwc_axis(int(op, "axis", 1)?, rank).ok_or_else(|| no("axis out of range"))?;
    let y = activation(g, out(id))?;
    Ok(Operation::Concatenation(Concatenation {
        inputs,
        axis,
        output_quant: y.quant.clone(),
        output: Some(y),
    }))
}

fn split(g: &Graph, id: NodeId, op: &OpNode) -> Mapped {
    let x = activation(g, input(g, id, 0)?)?;
    let rank = dims(g, input(g, id, 0)?)?.len();
    let onnx_axis = int(op, "axis", 0)?;
    let axis = nhwc_axis(onnx_axis, rank).ok_or_else(|| no("axis out of range"))?;
    let outs: Vec<ValueId> = g.values_of(id).collect();
    let mut sizes = Vec::new();
    let mut infos = Vec::new();
    for v in outs {
        let d = dims(g, v)?;
        let a = if onnx_axis < 0 {
            onnx_axis + rank as i64
        } else {
            onnx_axis
        } as usize;
        sizes.push(d.get(a).copied().unwrap_or(0) as u32);
        infos.push(activation(g, v)?);
    }
    Ok(Operation::Split(Split {
        input: x,
        axis,
        sizes,
        outputs: Some(infos),
    }))
}

/// A constant Pad of an NCHW tensor's height and width with the zero point (what the library's
/// standalone padding does).
fn standalone_padding(g: &Graph, id: NodeId, op: &OpNode) -> Mapped {
    if op
        .attr_str("mode")
        .map_err(|e| no(e.to_string()))?
        .unwrap_or("constant")
        != "constant"
    {
        return Err(no("only a constant Pad is standalone padding"));
    }
    let x = activation(g, input(g, id, 0)?)?;
    let pads = constant(g, input(g, id, 1)?)
        .and_then(|c| c.to_i64())
        .ok_or_else(|| no("the pads are not a constant"))?;
    let [0, 0, top, left, 0, 0, bottom, right] = pads[..] else {
        return Err(no(format!(
            "pads {pads:?} are not spatial padding of an NCHW tensor"
        )));
    };
    let side = |v: i64| u32::try_from(v).map_err(|_| no(format!("pads {pads:?} crop")));
    let value = match g.input(id, 2) {
        Some(v) => constant(g, v)
            .and_then(|c| c.to_i64())
            .and_then(|c| c.first().copied())
            .ok_or_else(|| no("the padding value is not a constant"))?,
        None => 0,
    };
    if value != i64::from(x.quant.zero_point) {
        return Err(no(format!(
            "the padding value {value} is not the zero point {}: the NPU pads with the zero point",
            x.quant.zero_point
        )));
    }
    Ok(Operation::StandalonePadding(StandalonePadding {
        padding: Padding::new(side(top)?, side(bottom)?, side(left)?, side(right)?),
        output: Some(activation(g, out(id))?),
        input: x,
    }))
}

fn pool(g: &Graph, id: NodeId, op: &OpNode) -> Mapped {
    if op.op() == Op::MaxPool
        && g.node(id).outputs.len() > 1
        && g.is_used(ValueId { node: id, slot: 1 })
    {
        return Err(no("MaxPool's Indices output is used"));
    }
    let x = activation(g, input(g, id, 0)?)?;
    let k = ints(op, "kernel_shape")?.unwrap_or_default();
    let [kh, kw] = k.as_slice() else {
        return Err(no(format!("kernel_shape {k:?} is not 2-D")));
    };
    let st = stride(op)?;
    let pad = padding(op, (x.height(), x.width()), (*kh as u32, *kw as u32), st)?;
    Ok(Operation::Pooling(Pooling {
        kind: if op.op() == Op::MaxPool {
            PoolingKind::Max
        } else {
            PoolingKind::Avg
        },
        size_x: *kw as u32,
        size_y: *kh as u32,
        stride: st,
        padding: pad,
        output: Some(activation(g, out(id))?),
        input: x,
    }))
}

fn resize(g: &Graph, id: NodeId, op: &OpNode) -> Mapped {
    let mode = op
        .attr_str("mode")
        .map_err(|e| no(e.to_string()))?
        .unwrap_or("nearest");
    let x = activation(g, input(g, id, 0)?)?;
    let y = activation(g, out(id))?;
    Ok(Operation::Resize(Resize {
        input: x,
        algorithm: if mode == "nearest" {
            ResizeAlgorithm::NearestNeighbour
        } else {
            ResizeAlgorithm::Bilinear
        },
        new_height: y.height(),
        new_width: y.width(),
        output_quant: y.quant.clone(),
        output: Some(y),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::ethos_n::EthosN;
    use crate::target::Target;

    /// `DequantizeLinear → Tanh → QuantizeLinear` on an int8 `[1,8,4,4]`, output at `sy`, `zy`.
    fn tanh_unit(sy: &str, zy: &str) -> Graph {
        let text = format!(
            "input %x \"x\": i8[1,8,4,4]
             const %sx: f32[] = [0.05]
             const %zx: i8[] = [3]
             const %sy: f32[] = [{sy}]
             const %zy: i8[] = [{zy}]
             %d = DequantizeLinear(%x, %sx, %zx)  # dq
             %t = Tanh(%d)  # tanh
             %y = QuantizeLinear(%t, %sy, %zy)  # q
             output %y \"y\""
        );
        let mut g = crate::print::parse_graph(&text).unwrap();
        let opsets = [(String::new(), crate::testing::CASE_OPSET)].into();
        crate::ir::infer::infer_types(&mut g, &opsets);
        g
    }

    /// Each node's NPU operation, whether it runs on the NPU, and the rule that decided.
    fn judged(g: &Graph) -> Vec<(Option<&'static str>, bool, &'static str)> {
        let target = EthosN::from_spec("ethos-n78", None).unwrap();
        let order = g.op_order().unwrap();
        order
            .into_iter()
            .map(|n| {
                let j = target.judge(g, n);
                (j.npu_op, j.verdict.runs_on_npu(), j.verdict.rule)
            })
            .collect()
    }

    #[test]
    fn a_tanh_unit_is_the_npus_tanh_with_the_quantizelinears_output_quantization() {
        let g = tanh_unit("0.0078125", "0");
        let q = g.op_order().unwrap()[2];
        let Ok(Operation::Tanh(op)) = map(&g, q) else {
            panic!("not a Tanh");
        };
        assert_eq!(op.input.quant, QuantInfo::new(3, 0.05));
        assert_eq!(op.output.unwrap().quant, QuantInfo::new(0, 1.0 / 128.0));
        let judged = judged(&g);
        assert_eq!(judged.len(), 3);
        for (npu_op, on_npu, rule) in judged {
            assert_eq!(npu_op, Some("Tanh"));
            assert!(on_npu, "{rule}");
        }
    }

    #[test]
    fn a_reducemean_unit_is_meanxy_only_over_height_and_width_with_kept_dims() {
        let unit = |axes: &str, keepdims: i64| {
            let text = format!(
                "input %x \"x\": u8[1,16,7,7]
                 const %s: f32[] = [0.05]
                 const %z: u8[] = [10]
                 const %axes: i64[2] = {axes}
                 %d = DequantizeLinear(%x, %s, %z)  # dq
                 %m = ReduceMean(%d, %axes) {{keepdims={keepdims}}}  # mean
                 %y = QuantizeLinear(%m, %s, %z)  # q
                 output %y \"y\""
            );
            let mut g = crate::print::parse_graph(&text).unwrap();
            let opsets = [(String::new(), crate::testing::CASE_OPSET)].into();
            crate::ir::infer::infer_types(&mut g, &opsets);
            judged(&g)
        };
        assert_eq!(unit("[2, 3]", 1), vec![(Some("MeanXy"), true, ""); 3]);
        assert_eq!(unit("[-1, -2]", 1)[1].0, Some("MeanXy"));
        for refused in [unit("[1, 2]", 1), unit("[2, 3]", 0)] {
            assert_eq!(refused, vec![(None, false, "no-npu-op"); 3]);
        }
    }

    #[test]
    fn a_tanh_unit_at_another_output_quantization_stays_on_the_cpu_as_one_unit() {
        let judged = judged(&tanh_unit("0.006", "0"));
        assert_eq!(
            judged,
            vec![(Some("Tanh"), false, "tanh.output-info"); 3],
            "DequantizeLinear, Tanh and QuantizeLinear alike"
        );
    }
}
