//! The edits: dropping an attention branch, and turning a C3k into a Bottleneck.
//!
//! Both keep the quantization valid in every form: a QDQ graph gets Q/DQ pairs around what it
//! adds (with parameters it already had), a QOperator graph gets integer ops.

use std::ops::Range;

use super::blocks::{AttentionResidual, C3k};
use super::view::data_slots;
use crate::ir::attrs;
use crate::ir::build::{add_const, Namer};
use crate::ir::consts::constant;
use crate::ir::quant::params_from_inputs;
use crate::ir::rewire::bypass;
use crate::ir::{DType, Graph, NodeId, Op, OpNode, Port, Value, ValueId};
use crate::proto;

/// Adds a one-output op named after `base`.
fn add_op(
    g: &mut Graph,
    names: &mut Namer,
    (domain, op_type): (&str, &str),
    attributes: Vec<proto::AttributeProto>,
    base: &str,
    inputs: &[Option<ValueId>],
) -> ValueId {
    let proto = proto::NodeProto {
        name: Some(names.fresh(base)),
        op_type: Some(op_type.to_string()),
        domain: (!domain.is_empty()).then(|| domain.to_string()),
        attribute: attributes,
        ..Default::default()
    };
    let out = names.fresh(&format!("{base}_output_0"));
    let node = g.add_op(OpNode::new(proto, 0), inputs, vec![Value::new(out)]);
    ValueId { node, slot: 0 }
}

/// Removes the attention branch of a residual: `x + Attention(x)` becomes `x`, read with `x`'s own
/// quantization (the Ethos-N has no stand-alone requantization): in QDQ form the Add's Q/DQ pair
/// goes too; in QOperator form the readers take `x`'s scale and zero point (a QLinearConv's int32
/// bias is requantized to match). Readers that cannot (an integer data-movement op) get `x`
/// requantized by a DequantizeLinear → QuantizeLinear pair instead.
pub fn drop_attention(
    g: &mut Graph,
    names: &mut Namer,
    att: &AttentionResidual,
) -> Result<(), String> {
    let add = att.add;
    let slot = data_slots(g, add)[att.kept];
    let label = g.node(add).display_name();
    let fail = |why: &str| format!("'{label}': {why}");
    let x = g
        .input(add, slot)
        .ok_or_else(|| fail("the input is missing"))?;
    let out = ValueId { node: add, slot: 0 };
    if g.node(add).op() == Some(Op::QLinearAdd) {
        let (sx, zx) = (g.input(add, slot + 1), g.input(add, slot + 2));
        if let (Some(sx), Some(zx)) = (sx, zx) {
            if reread_quantized(g, names, out, x, sx, zx)? {
                return Ok(());
            }
        }
        let keep = requantize(g, names, add, slot, x)?;
        return bypass(g, keep, out).map_err(fail);
    }
    for dq in quantized_copies(g, out) {
        bypass(g, x, dq).map_err(fail)?;
    }
    if g.is_used(out) {
        bypass(g, x, out).map_err(fail)?;
    }
    Ok(())
}

/// The DequantizeLinear outputs of `v`'s only reader, a QuantizeLinear read only by them; none
/// when `v` is read otherwise.
fn quantized_copies(g: &Graph, v: ValueId) -> Vec<ValueId> {
    let uses = g.uses(v);
    let [(q, Port::Input(0))] = uses.as_slice() else {
        return Vec::new();
    };
    let q_out = ValueId { node: *q, slot: 0 };
    if g.node(*q).op() != Some(Op::QuantizeLinear) || g.is_output(v) || g.is_output(q_out) {
        return Vec::new();
    }
    let uses = g.uses(q_out);
    let all_dq = uses
        .iter()
        .all(|(n, p)| *p == Port::Input(0) && g.node(*n).op() == Some(Op::DequantizeLinear));
    if !all_dq {
        return Vec::new();
    }
    uses.into_iter()
        .map(|(n, _)| ValueId { node: n, slot: 0 })
        .collect()
}

/// Where a QOperator reader of input `slot` keeps that input's scale and zero point.
fn input_params_slots(op: Op, slot: u32) -> Option<(u32, u32)> {
    match (op, slot) {
        (Op::QLinearMatMul | Op::QLinearAdd | Op::QLinearMul, 0 | 3) | (Op::QLinearConv, 0) => {
            Some((slot + 1, slot + 2))
        }
        (Op::QLinearConcat, s) if s >= 2 && (s - 2) % 3 == 0 => Some((s + 1, s + 2)),
        (
            Op::QLinearLeakyRelu
            | Op::QLinearSigmoid
            | Op::QLinearSoftmax
            | Op::QLinearAveragePool
            | Op::QLinearGlobalAveragePool
            | Op::DequantizeLinear,
            0,
        ) => Some((1, 2)),
        _ => None,
    }
}

/// Makes every QOperator reader of `out` read `x` (scale `sx`, zero point `zx`) instead; `false`
/// (nothing changed) when a reader keeps no input parameters or `out` is a graph output.
fn reread_quantized(
    g: &mut Graph,
    names: &mut Namer,
    out: ValueId,
    x: ValueId,
    sx: ValueId,
    zx: ValueId,
) -> Result<bool, String> {
    if g.is_output(out) {
        return Ok(false);
    }
    let mut plan = Vec::new();
    for (n, p) in g.uses(out) {
        let (Port::Input(slot), Some(op)) = (p, g.node(n).op()) else {
            return Ok(false);
        };
        let Some(params) = input_params_slots(op, slot) else {
            return Ok(false);
        };
        plan.push((n, slot, params, op));
    }
    for (n, slot, (s, z), op) in plan {
        if op == Op::QLinearConv {
            requantize_bias(g, names, n, sx)?;
        }
        g.set_input(n, slot, Some(x));
        g.set_input(n, s, Some(sx));
        g.set_input(n, z, Some(zx));
    }
    Ok(true)
}

/// A QLinearConv's int32 bias (scale `s_x·s_w`) for a new input scale `sx`.
fn requantize_bias(
    g: &mut Graph,
    names: &mut Namer,
    conv: NodeId,
    sx: ValueId,
) -> Result<(), String> {
    let Some(b) = g.input(conv, 8) else {
        return Ok(());
    };
    let label = g.node(conv).display_name();
    let scalar = |v: Option<ValueId>| {
        v.and_then(|v| constant(g, v))
            .and_then(|c| c.to_f32())
            .and_then(|s| (s.len() == 1).then(|| s[0]))
    };
    let (Some(old), Some(new)) = (scalar(g.input(conv, 1)), scalar(Some(sx))) else {
        return Err(format!(
            "'{label}': the input scales are not scalar constants"
        ));
    };
    let bias = constant(g, b)
        .and_then(|c| c.to_i64().map(|v| (c.dims, v)))
        .ok_or_else(|| format!("'{label}': the bias is not a constant"))?;
    let mut bytes = Vec::with_capacity(bias.1.len() * 4);
    for v in &bias.1 {
        let q = (*v as f64 * old as f64 / new as f64).round_ties_even();
        let q = q.clamp(i32::MIN as f64, i32::MAX as f64) as i32;
        bytes.extend(q.to_le_bytes());
    }
    let name = names.fresh(&format!("{}_rescaled", g.value(b).name));
    let new_b = add_const(g, name, DType::I32, &bias.0, bytes);
    g.set_input(conv, 8, Some(new_b));
    Ok(())
}

/// `x` (input `slot` of QLinearAdd `add`, with its scale and zero point at `slot+1`, `slot+2`) in
/// the Add's output quantization (inputs 6, 7).
fn requantize(
    g: &mut Graph,
    names: &mut Namer,
    add: NodeId,
    slot: u32,
    x: ValueId,
) -> Result<ValueId, String> {
    let (sx, zx) = (g.input(add, slot + 1), g.input(add, slot + 2));
    let (sy, zy) = (g.input(add, 6), g.input(add, 7));
    let params = |s, z| params_from_inputs(g, s, z, None, DType::U8);
    match (params(sx, zx), params(sy, zy)) {
        (Some(a), Some(b)) if a.same_as(&b) => return Ok(x),
        (Some(_), Some(_)) => {}
        _ => {
            return Err(format!(
                "'{}': the scales or zero points are not constants",
                g.node(add).display_name()
            ))
        }
    }
    let base = g.node(add).display_name();
    let dq = add_op(
        g,
        names,
        ("", "DequantizeLinear"),
        vec![],
        &format!("{base}_kept_dq"),
        &[Some(x), sx, zx],
    );
    Ok(add_op(
        g,
        names,
        ("", "QuantizeLinear"),
        vec![],
        &format!("{base}_kept_q"),
        &[Some(dq), sy, zy],
    ))
}

/// Turns a C3k into a Bottleneck (the form C3k2 has with `c3k=False`):
///
/// ```text
/// before: x → cv1 1×1 → Bottleneck chain → Concat(·, cv2 1×1(x)) → cv3 1×1 → act → end
/// after:  x → cv1 3×3 → act → cv3 3×3 → act → Add(x, ·) → end      (Add with a shortcut)
/// ```
/// The Bottleneck's two 3×3 convolutions take the weights of cv1 and of the half of cv3 that read
/// the chain, as their centre tap (zero elsewhere); nothing of that shape exists in the C3k. The
/// chain, cv2 and the inner Concat become dead. Float and QDQ forms only.
pub fn c3k_to_bottleneck(g: &mut Graph, names: &mut Namer, block: &C3k) -> Result<(), String> {
    if g.node(block.cv1.id).op() != Some(Op::Conv) || g.node(block.cv3.id).op() != Some(Op::Conv) {
        return Err("integer (QOperator) convolutions: the C3k is left as it is".into());
    }
    let chain = out_channels(g, block.cv1.id)?;
    let side = out_channels(g, block.cv2.id)?;
    let read_chain = if block.chain_position == 0 {
        0..chain
    } else {
        side..side + chain
    };
    let x = g
        .input(block.cv1.id, 0)
        .ok_or("the C3k's cv1 has no input")?;
    let chain_input = g
        .input(block.inner[0].first.id, 0)
        .ok_or("the C3k's first inner convolution has no input")?;
    widen(g, names, block.cv1.id, None)?;
    widen(g, names, block.cv3.id, Some(read_chain))?;
    g.set_input(block.cv3.id, 0, Some(chain_input));
    if block.shortcut {
        add_shortcut(g, names, x, block.end)?;
    }
    Ok(())
}

/// The convolution's weight: (the raw constant value, its DequantizeLinear in QDQ form).
fn weight(g: &Graph, conv: NodeId) -> Result<(ValueId, Option<NodeId>), String> {
    let w = g
        .input(conv, 1)
        .ok_or_else(|| format!("'{}' has no weight", g.node(conv).display_name()))?;
    match g.node(w.node).op() {
        Some(Op::DequantizeLinear) => Ok((
            g.input(w.node, 0)
                .ok_or("a weight DequantizeLinear has no input")?,
            Some(w.node),
        )),
        _ => Ok((w, None)),
    }
}

fn out_channels(g: &Graph, conv: NodeId) -> Result<i64, String> {
    let (w, _) = weight(g, conv)?;
    constant(g, w)
        .and_then(|c| c.dims.first().copied())
        .ok_or_else(|| {
            format!(
                "'{}': the weight is not a constant",
                g.node(conv).display_name()
            )
        })
}

/// Makes a 1×1 convolution 3×3 ("same" padding): its weights (input channels `keep`, all when
/// `None`) become the centre tap, the other taps zero (the weight's zero point when quantized).
fn widen(
    g: &mut Graph,
    names: &mut Namer,
    conv: NodeId,
    keep: Option<Range<i64>>,
) -> Result<(), String> {
    let label = g.node(conv).display_name();
    let (w, dq) = weight(g, conv)?;
    let data = constant(g, w).ok_or_else(|| format!("'{label}': the weight is not a constant"))?;
    let [out_ch, in_ch, 1, 1] = data.dims[..] else {
        return Err(format!(
            "'{label}': the weight is not 1×1 ({:?})",
            data.dims
        ));
    };
    let keep = keep.unwrap_or(0..in_ch);
    if keep.end > in_ch {
        return Err(format!("'{label}': input channels {keep:?} of {in_ch}"));
    }
    let size = data.dtype.byte_size().ok_or_else(|| {
        format!(
            "'{label}': weight type {} has no byte size",
            data.dtype.name()
        )
    })?;
    let zero_points = dq.and_then(|d| g.input(d, 2)).and_then(|z| constant(g, z));
    let zero = |o: usize| -> Vec<u8> {
        match &zero_points {
            Some(z) if z.bytes.len() == size * z.len().max(1) && !z.is_empty() => {
                let c = if z.len() > 1 { o } else { 0 };
                z.bytes[c * size..(c + 1) * size].to_vec()
            }
            _ => vec![0; size],
        }
    };
    let kept = (keep.end - keep.start) as usize;
    let mut bytes = Vec::with_capacity(out_ch as usize * kept * 9 * size);
    for o in 0..out_ch as usize {
        let pad = zero(o);
        for i in keep.clone() {
            let at = (o * in_ch as usize + i as usize) * size;
            for tap in 0..9 {
                if tap == 4 {
                    bytes.extend_from_slice(&data.bytes[at..at + size]);
                } else {
                    bytes.extend_from_slice(&pad);
                }
            }
        }
    }
    let dims = [out_ch, kept as i64, 3, 3];
    let name = names.fresh(&format!("{}_3x3", g.value(w).name));
    let new_w = add_const(g, name, data.dtype, &dims, bytes);
    let new_w = match dq {
        Some(d) => {
            let mut inputs = g.inputs_of(d);
            inputs[0] = Some(new_w);
            let mut proto = g
                .node(d)
                .as_op()
                .map(|o| o.proto().clone())
                .unwrap_or_default();
            let base = format!("{}_3x3", g.node(d).display_name());
            proto.name = Some(names.fresh(&base));
            let out = names.fresh(&format!("{base}_output_0"));
            let node = g.add_op(OpNode::new(proto, 0), &inputs, vec![Value::new(out)]);
            ValueId { node, slot: 0 }
        }
        None => new_w,
    };
    g.set_input(conv, 1, Some(new_w));
    if let Some(op) = g.node_mut(conv).as_op_mut() {
        let a = op.attrs_mut();
        a.retain(|x| !matches!(x.name(), "kernel_shape" | "pads" | "auto_pad"));
        a.push(attrs::ints("kernel_shape", &[3, 3]));
        a.push(attrs::ints("pads", &[1, 1, 1, 1]));
    }
    Ok(())
}

/// Every (reader, slot) of `v`, subgraph captures refused.
fn readers_of(g: &Graph, v: ValueId) -> Result<Vec<(NodeId, u32)>, String> {
    if g.is_output(v) {
        return Err(format!("'{}' is a graph output", g.value(v).name));
    }
    g.uses(v)
        .into_iter()
        .map(|(n, p)| match p {
            Port::Input(s) => Ok((n, s)),
            Port::Capture => Err(format!("a subgraph reads '{}'", g.value(v).name)),
        })
        .collect()
}

/// `end` becomes `x + end` for every reader; in QDQ form the sum is quantized like `end`.
fn add_shortcut(g: &mut Graph, names: &mut Namer, x: ValueId, end: ValueId) -> Result<(), String> {
    let quantizer = g
        .uses(end)
        .into_iter()
        .find(|(n, p)| *p == Port::Input(0) && g.node(*n).op() == Some(Op::QuantizeLinear))
        .map(|(n, _)| n);
    let base = format!("{}_shortcut", g.node(end.node).display_name());
    let Some(q) = quantizer else {
        let readers = readers_of(g, end)?;
        let sum = add_op(g, names, ("", "Add"), vec![], &base, &[Some(x), Some(end)]);
        for (n, s) in readers {
            g.set_input(n, s, Some(sum));
        }
        return Ok(());
    };
    // QDQ: Add(x, DQ(Q(end))) → Q → DQ, with the parameters `end` already has.
    let q_out = ValueId { node: q, slot: 0 };
    let dequantized: Vec<ValueId> = g
        .uses(q_out)
        .into_iter()
        .filter(|(n, p)| *p == Port::Input(0) && g.node(*n).op() == Some(Op::DequantizeLinear))
        .map(|(n, _)| ValueId { node: n, slot: 0 })
        .collect();
    let Some(&first) = dequantized.first() else {
        return Err(format!(
            "'{}' is quantized but never dequantized",
            g.value(end).name
        ));
    };
    let mut readers = Vec::new();
    for &d in &dequantized {
        readers.extend(readers_of(g, d)?);
    }
    let sum = add_op(
        g,
        names,
        ("", "Add"),
        vec![],
        &base,
        &[Some(x), Some(first)],
    );
    let mut q_inputs = g.inputs_of(q);
    q_inputs[0] = Some(sum);
    let q_attrs = g
        .node(q)
        .as_op()
        .map(|o| o.proto().attribute.clone())
        .unwrap_or_default();
    let sum_q = add_op(
        g,
        names,
        ("", "QuantizeLinear"),
        q_attrs,
        &format!("{base}_q"),
        &q_inputs,
    );
    let mut dq_inputs = g.inputs_of(first.node);
    dq_inputs[0] = Some(sum_q);
    let dq_attrs = g
        .node(first.node)
        .as_op()
        .map(|o| o.proto().attribute.clone())
        .unwrap_or_default();
    let sum_dq = add_op(
        g,
        names,
        ("", "DequantizeLinear"),
        dq_attrs,
        &format!("{base}_dq"),
        &dq_inputs,
    );
    for (n, s) in readers {
        g.set_input(n, s, Some(sum_dq));
    }
    Ok(())
}
