//! `fold-qdq`: folds `DequantizeLinear → op → QuantizeLinear` node units into integer ops.
//!
//! ```text
//! before:  %x  = DequantizeLinear(%xq, %sx, %zx)
//!          %w  = DequantizeLinear(%wq, %sw, %zw) {axis=0}
//!          %y  = Conv(%x, %w)
//!          %yq = QuantizeLinear(%y, %sy, %zy)
//! after:   %yq = QLinearConv(%xq, %sx, %zx, %wq, %sw, %zw, %sy, %zy)
//! ```
//! Three kinds of unit:
//! - ops with an integer ONNX or ONNX Runtime form: Conv → QLinearConv (int32 bias requantized to
//!   `s_x·s_w` when needed), MatMul → QLinearMatMul, and the `com.microsoft` QLinearAdd, QLinearMul,
//!   QLinearLeakyRelu, QLinearSigmoid, QLinearConcat, QLinearAveragePool, QLinearGlobalAveragePool,
//!   QLinearSoftmax;
//! - ops that commute with quantization (MaxPool, Reshape, Transpose, Flatten, Squeeze, Unsqueeze,
//!   Slice, Split, Concat, Resize nearest, Pad, Gather) when input and outputs share parameters: they
//!   run on the integers directly, with no Q/DQ;
//! - Relu and Clip with equal parameters become an integer Clip, or vanish when the zero point is
//!   the type's minimum (the range already excludes negatives); a `DequantizeLinear →
//!   QuantizeLinear` pair with equal parameters disappears.
//!
//! Every fold stays within 1 LSB of the QDQ model (the integer kernels compute the same real
//! arithmetic and round once). Whenever that cannot be guaranteed the unit is left alone and the
//! reason recorded: an op output with other users than its QuantizeLinear, a non-constant scale, a
//! per-axis quantization on the wrong axis, parameters that differ where an op needs them equal.
//! A DequantizeLinear shared with other readers does not block a fold: it stays for them.
//! Weights' DequantizeLinear are never folded into float constants. Run after `canonicalize`.

use crate::ir::attrs;
use crate::ir::build::{add_const, Namer};
use crate::ir::consts::constant;
use crate::ir::op::MS_DOMAIN;
use crate::ir::quant::{int_range, moves_data, qdq_params, QuantParams};
use crate::ir::rewire::bypass;
use crate::ir::{DType, Graph, NodeId, NodeKind, Op, OpNode, Port, Value, ValueId};
use crate::pass::{Changed, Pass, PassCx};
use crate::proto;

pub struct FoldQdq;

impl Pass for FoldQdq {
    fn name(&self) -> &'static str {
        "fold-qdq"
    }

    fn summary(&self) -> &'static str {
        "fold DequantizeLinear -> op -> QuantizeLinear units into integer ops (QOperator form)"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        fold_all(g, cx, Form::QOperator)
    }
}

/// `qdq-canonicalize` (`--quant-format qdq`): the QDQ form that TensorRT, QNN, OpenVINO and
/// RKNN importers want — canonical node units, not integer ops.
///
/// ```text
/// before:  %a = DequantizeLinear(%q)          # read by two ops
///          %p = MaxPool(%a) ; %pq = QuantizeLinear(%p)   (same parameters)
///          %r = Relu(%a) ...
/// after:   %pq = MaxPool(%q)                   # data movement runs on the integers
///          %a1 = DequantizeLinear(%q)          # one DequantizeLinear per reader
///          %r = Relu(%a1) ...
/// ```
/// Identical `DequantizeLinear → QuantizeLinear` pairs vanish, Q/DQ around data-movement ops
/// (and Concat with equal parameters) are propagated away, and a DequantizeLinear read by several
/// ops is duplicated so that every op has its own. Every rewrite is exact (bit for bit).
pub struct QdqCanonicalize;

impl Pass for QdqCanonicalize {
    fn name(&self) -> &'static str {
        "qdq-canonicalize"
    }

    fn summary(&self) -> &'static str {
        "canonical QDQ node units (one DQ per reader, Q/DQ propagated through data movement)"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        fold_all(g, cx, Form::Qdq)
    }
}

/// What fold-qdq produces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Integer ops (QLinearConv, com.microsoft QLinear*, integer data movement).
    QOperator,
    /// Canonical QDQ node units.
    Qdq,
}

fn fold_all(g: &mut Graph, cx: &mut PassCx, form: Form) -> Result<Changed, String> {
    let order = g
        .op_order()
        .map_err(|c| format!("cycle through '{}'", c.node))?;
    let mut names = Namer::for_graph(g);
    let mut changed = false;
    for id in order {
        if !g.contains(id) {
            continue;
        }
        let who = g.node(id).display_name();
        let mut f = Folder {
            g,
            cx,
            names: &mut names,
            form,
        };
        match f.fold(id) {
            Ok(()) => changed = true,
            Err(Outcome::NotAUnit) => {}
            Err(Outcome::Refused(reason)) => cx.reject(&who, reason),
        }
    }
    if form == Form::Qdq {
        changed |= (Folder {
            g,
            cx,
            names: &mut names,
            form,
        })
        .one_dequantize_per_reader()?;
    }
    Ok(Changed::from(changed))
}

/// Why a node was not folded.
enum Outcome {
    /// Not part of a quantized unit at all (a float op, a shape computation, …).
    NotAUnit,
    /// Part of a quantized unit, but folding it would not be exact.
    Refused(String),
}

fn refuse<T>(reason: impl Into<String>) -> Result<T, Outcome> {
    Err(Outcome::Refused(reason.into()))
}

/// A quantized operand: the integer value a DequantizeLinear reads, and its parameters.
#[derive(Clone)]
struct QIn {
    q: ValueId,
    dq: NodeId,
    params: QuantParams,
}

/// A quantized result: the QuantizeLinear consuming an op output, and its parameters.
struct QOut {
    q: NodeId,
    params: QuantParams,
}

struct Folder<'a> {
    g: &'a mut Graph,
    cx: &'a mut PassCx,
    names: &'a mut Namer,
    form: Form,
}

impl Folder<'_> {
    fn fold(&mut self, id: NodeId) -> Result<(), Outcome> {
        let Some(op) = self.g.node(id).op() else {
            return Err(Outcome::NotAUnit);
        };
        if self.form == Form::Qdq {
            // Canonical QDQ keeps every other unit as it is: that is the form importers want.
            return match op {
                Op::QuantizeLinear => self.fold_requantize(id),
                Op::Concat => self.fold_concat(id),
                op if moves_data(op) => self.fold_passthrough(id, op),
                _ => Err(Outcome::NotAUnit),
            };
        }
        match op {
            Op::QuantizeLinear => self.fold_requantize(id),
            // The unit's own boundary: handled from the op it surrounds.
            Op::DequantizeLinear => Err(Outcome::NotAUnit),
            Op::Conv => self.fold_conv(id),
            Op::MatMul => self.fold_with_params(id, Op::MatMul, &[0, 1]),
            Op::Add | Op::Mul => self.fold_with_params(id, op, &[0, 1]),
            Op::Softmax => refuse(
                "QLinearSoftmax computes exp from a lookup table and is not within 1 LSB of the \
                 float Softmax; it stays in float between Q/DQ",
            ),
            Op::LeakyRelu | Op::Sigmoid | Op::AveragePool | Op::GlobalAveragePool => {
                self.fold_with_params(id, op, &[0])
            }
            Op::Concat => self.fold_concat(id),
            Op::Relu | Op::Clip => self.fold_relu_clip(id, op),
            op if moves_data(op) => self.fold_passthrough(id, op),
            _ => {
                if self.in_quantized_unit(id) {
                    refuse(format!(
                        "{} has no integer form; it stays in float between Q/DQ",
                        self.op_type(id)
                    ))
                } else {
                    Err(Outcome::NotAUnit)
                }
            }
        }
    }

    fn op_type(&self, id: NodeId) -> String {
        self.g
            .node(id)
            .as_op()
            .map_or_else(String::new, |o| o.op_type().to_string())
    }

    /// Does the node read a DequantizeLinear or feed a QuantizeLinear?
    fn in_quantized_unit(&self, id: NodeId) -> bool {
        let reads_dq = self
            .g
            .inputs_of(id)
            .into_iter()
            .flatten()
            .any(|v| self.g.node(v.node).op() == Some(Op::DequantizeLinear));
        let feeds_q = self.g.values_of(id).any(|v| {
            self.g
                .uses(v)
                .iter()
                .any(|(u, _)| self.g.node(*u).op() == Some(Op::QuantizeLinear))
        });
        reads_dq || feeds_q
    }

    /// The quantized operand behind input `slot`, when a DequantizeLinear with constant
    /// parameters produces it.
    fn q_in(&self, id: NodeId, slot: u32) -> Option<QIn> {
        let v = self.g.input(id, slot)?;
        if self.g.node(v.node).op() != Some(Op::DequantizeLinear) {
            return None;
        }
        Some(QIn {
            q: self.g.input(v.node, 0)?,
            dq: v.node,
            params: qdq_params(self.g, v.node)?,
        })
    }

    /// Like [`Self::q_in`], but a refusal with the reason when the input is not quantized.
    fn require_q_in(&self, id: NodeId, slot: u32) -> Result<QIn, Outcome> {
        let Some(v) = self.g.input(id, slot) else {
            return refuse(format!("input {slot} is missing"));
        };
        if self.g.node(v.node).op() != Some(Op::DequantizeLinear) {
            return refuse(format!("input {slot} is not dequantized (it is float)"));
        }
        match self.q_in(id, slot) {
            Some(q) => Ok(q),
            None => refuse(format!(
                "input {slot}: the DequantizeLinear's scale or zero point is not a constant"
            )),
        }
    }

    /// The QuantizeLinear that is the only user of output `slot`.
    fn q_out(&self, id: NodeId, slot: u32) -> Result<QOut, Outcome> {
        let v = ValueId { node: id, slot };
        if self.g.is_output(v) {
            return refuse(format!("output {slot} is a graph output in float"));
        }
        let uses = self.g.uses(v);
        let q = match uses.as_slice() {
            [(q, Port::Input(0))] if self.g.node(*q).op() == Some(Op::QuantizeLinear) => *q,
            [] => return refuse(format!("output {slot} is unused")),
            _ if uses.iter().any(|(u, _)| self.g.node(*u).op() == Some(Op::QuantizeLinear)) => {
                return refuse(format!(
                    "output {slot} has {} users besides its QuantizeLinear; the float value is still needed",
                    uses.len() - 1
                ))
            }
            _ => return refuse(format!("output {slot} is not quantized")),
        };
        match qdq_params(self.g, q) {
            Some(params) => Ok(QOut { q, params }),
            None => refuse("the QuantizeLinear's scale or zero point is not a constant"),
        }
    }

    fn add_const(&mut self, base: &str, dtype: DType, dims: &[i64], bytes: Vec<u8>) -> ValueId {
        let name = self.names.fresh(base);
        add_const(self.g, name, dtype, dims, bytes)
    }

    /// The (scale, zero point) inputs of a Q/DQ node, adding a zero zero-point when it has none
    /// (the QLinear ops require one).
    fn scale_and_zp(
        &mut self,
        qdq: NodeId,
        params: &QuantParams,
    ) -> Result<(ValueId, ValueId), Outcome> {
        let Some(scale) = self.g.input(qdq, 1) else {
            return refuse("a Q/DQ node has no scale");
        };
        let zp = match self.g.input(qdq, 2) {
            Some(z) => z,
            None => {
                let bytes = match params.dtype {
                    DType::U8 | DType::I8 => vec![0u8],
                    _ => {
                        return refuse(format!(
                            "{} quantization has no integer-op form",
                            params.dtype
                        ))
                    }
                };
                let base = format!("{}_zero_point", self.g.value(scale).name);
                self.add_const(&base, params.dtype, &[], bytes)
            }
        };
        Ok((scale, zp))
    }

    /// Replaces `op` and the QuantizeLinear `out` consuming it by a new node in `domain`/`op_type`
    /// with `inputs` and `attrs`; the new node takes the op's name and the Q output's value.
    fn replace_unit(
        &mut self,
        op: NodeId,
        out: &QOut,
        domain: &str,
        op_type: &str,
        inputs: Vec<Option<ValueId>>,
        attrs: Vec<proto::AttributeProto>,
    ) -> Result<(), Outcome> {
        let q_out = ValueId {
            node: out.q,
            slot: 0,
        };
        let old = self
            .g
            .node(op)
            .as_op()
            .map(|o| o.proto().clone())
            .unwrap_or_default();
        let proto = proto::NodeProto {
            name: old.name.clone(),
            op_type: Some(op_type.to_string()),
            domain: (!domain.is_empty()).then(|| domain.to_string()),
            attribute: attrs,
            doc_string: old.doc_string.clone(),
            metadata_props: old.metadata_props.clone(),
            ..Default::default()
        };
        let value = self.g.value(q_out).clone();
        let new = self.g.add_op(
            OpNode::new(proto, 0),
            &inputs,
            vec![Value {
                name: String::new(),
                ..value.clone()
            }],
        );
        let new_out = ValueId { node: new, slot: 0 };
        if !self.g.replace_uses(q_out, new_out) {
            self.g.remove_node(new);
            return refuse("a subgraph reads the quantized output by name");
        }
        self.g.remove_node(out.q);
        self.g.value_mut(new_out).name = value.name;
        let inputs_before = self.g.inputs_of(op);
        self.g.remove_node(op);
        self.sweep(inputs_before);
        if !domain.is_empty() {
            self.cx.require_opset(domain, 1);
        }
        Ok(())
    }

    /// Removes DequantizeLinear nodes and constants that a fold left without users.
    fn sweep(&mut self, values: Vec<Option<ValueId>>) {
        let mut work: Vec<ValueId> = values.into_iter().flatten().collect();
        while let Some(v) = work.pop() {
            if !self.g.contains(v.node) || self.g.is_used(v) {
                continue;
            }
            let node = self.g.node(v.node);
            let removable = match &node.kind {
                NodeKind::Initializer(_) => true,
                NodeKind::Op(o) => matches!(
                    o.op(),
                    Op::DequantizeLinear | Op::QuantizeLinear | Op::Constant
                ),
                _ => false,
            };
            if removable && !self.g.values_of(v.node).any(|o| self.g.is_used(o)) {
                work.extend(self.g.inputs_of(v.node).into_iter().flatten());
                self.g.remove_node(v.node);
            }
        }
    }

    fn copy_attrs(&self, id: NodeId) -> Vec<proto::AttributeProto> {
        self.g
            .node(id)
            .as_op()
            .map(|o| o.proto().attribute.clone())
            .unwrap_or_default()
    }

    /// Gives every reader of a shared DequantizeLinear its own copy.
    fn one_dequantize_per_reader(&mut self) -> Result<bool, String> {
        let order = self
            .g
            .op_order()
            .map_err(|c| format!("cycle through '{}'", c.node))?;
        let mut changed = false;
        let dequantizers: Vec<NodeId> = order
            .into_iter()
            .filter(|&n| self.g.node(n).op() == Some(Op::DequantizeLinear))
            .collect();
        for dq in dequantizers {
            let out = ValueId { node: dq, slot: 0 };
            let readers: Vec<(NodeId, u32)> = self
                .g
                .uses(out)
                .into_iter()
                .filter_map(|(n, p)| match p {
                    Port::Input(slot) => Some((n, slot)),
                    Port::Capture => None,
                })
                .collect();
            for (k, &(reader, slot)) in readers.iter().enumerate().skip(1) {
                let Some(op) = self.g.node(dq).as_op().cloned() else {
                    break;
                };
                let inputs = self.g.inputs_of(dq);
                let value = self.g.value(out).clone();
                let name = self.names.fresh(&format!("{}_{k}", value.name));
                let mut proto = op.proto().clone();
                if let Some(n) = &mut proto.name {
                    n.push_str(&format!("_{k}"));
                }
                let copy = self.g.add_op(
                    OpNode::new(proto, 0),
                    &inputs,
                    vec![Value {
                        name,
                        info: None,
                        ..value
                    }],
                );
                self.g.set_input(
                    reader,
                    slot,
                    Some(ValueId {
                        node: copy,
                        slot: 0,
                    }),
                );
                changed = true;
            }
        }
        Ok(changed)
    }

    // ----- units -----------------------------------------------------------------------------

    /// `DQ → Q` with equal parameters is the identity on the integers.
    fn fold_requantize(&mut self, q: NodeId) -> Result<(), Outcome> {
        let Some(dq_in) = self.q_in(q, 0) else {
            return Err(Outcome::NotAUnit);
        };
        let Some(out) = qdq_params(self.g, q) else {
            return Err(Outcome::NotAUnit);
        };
        if !dq_in.params.same_as(&out) {
            return Err(Outcome::NotAUnit); // a real requantization: it stays
        }
        let q_out = ValueId { node: q, slot: 0 };
        bypass(self.g, dq_in.q, q_out)
            .map_err(|r| Outcome::Refused(format!("DequantizeLinear → QuantizeLinear: {r}")))?;
        let inputs = self.g.inputs_of(q);
        self.g.remove_node(q);
        self.sweep(inputs);
        Ok(())
    }

    fn fold_conv(&mut self, id: NodeId) -> Result<(), Outcome> {
        if !self.in_quantized_unit(id) {
            return Err(Outcome::NotAUnit);
        }
        let x = self.require_q_in(id, 0)?;
        let w = self.require_q_in(id, 1)?;
        let out = self.q_out(id, 0)?;
        if !x.params.is_per_tensor() || !out.params.is_per_tensor() {
            return refuse("the activation quantization is per-axis; QLinearConv needs per-tensor input and output");
        }
        if !x.params.dtype.is_quantized_8bit()
            || !w.params.dtype.is_quantized_8bit()
            || !out.params.dtype.is_quantized_8bit()
        {
            return refuse("QLinearConv needs 8-bit input, weights and output");
        }
        let Some(w_data) = constant(self.g, w.q) else {
            return refuse("the weights are not constant");
        };
        let out_channels = w_data.dims.first().copied().unwrap_or(0);
        if !w.params.is_per_tensor() {
            let axis = w.params.axis.unwrap_or(1);
            let axis = if axis < 0 {
                axis + w_data.dims.len() as i64
            } else {
                axis
            };
            if axis != 0 {
                return refuse(format!("weights are quantized along axis {axis}; QLinearConv needs the output-channel axis 0"));
            }
            if w.params.scale.len() as i64 != out_channels {
                return refuse("the number of weight scales differs from the output channels");
            }
        }
        let bias = match self.g.input(id, 2) {
            None => None,
            Some(_) => Some(self.conv_bias(id, &x.params, &w.params, out_channels)?),
        };
        let (sx, zx) = self.scale_and_zp(x.dq, &x.params)?;
        let (sw, zw) = self.scale_and_zp(w.dq, &w.params)?;
        let (sy, zy) = self.scale_and_zp(out.q, &out.params)?;
        let mut inputs = vec![
            Some(x.q),
            Some(sx),
            Some(zx),
            Some(w.q),
            Some(sw),
            Some(zw),
            Some(sy),
            Some(zy),
        ];
        if let Some(b) = bias {
            inputs.push(Some(b));
        }
        let attrs = self.copy_attrs(id);
        self.replace_unit(id, &out, "", "QLinearConv", inputs, attrs)
    }

    /// The int32 bias with scale `s_x·s_w[c]` and zero point 0 that QLinearConv needs: the
    /// model's own when it already is one, else requantized from the float (or dequantized) bias.
    fn conv_bias(
        &mut self,
        id: NodeId,
        x: &QuantParams,
        w: &QuantParams,
        channels: i64,
    ) -> Result<ValueId, Outcome> {
        let Some(b) = self.g.input(id, 2) else {
            return refuse("no bias");
        };
        let want: Vec<f32> = (0..channels as usize)
            .map(|c| x.scale[0] * w.scale.get(c).copied().unwrap_or(w.scale[0]))
            .collect();
        let real: Vec<f64> = if let Some(bq) = self.q_in(id, 2) {
            let Some(data) = constant(self.g, bq.q).and_then(|c| c.to_i64()) else {
                return refuse("the bias is not constant");
            };
            let exact = bq.params.dtype == DType::I32
                && bq.params.zero_point.iter().all(|&z| z == 0)
                && data.len() == want.len()
                && (0..want.len()).all(|c| {
                    let s = bq
                        .params
                        .scale
                        .get(c)
                        .copied()
                        .unwrap_or(bq.params.scale[0]);
                    ((s - want[c]) / want[c]).abs() <= 1e-6
                });
            if exact {
                return Ok(bq.q);
            }
            data.iter()
                .enumerate()
                .map(|(c, &q)| {
                    let s = bq
                        .params
                        .scale
                        .get(c)
                        .copied()
                        .unwrap_or(bq.params.scale[0]);
                    let z = bq
                        .params
                        .zero_point
                        .get(c)
                        .copied()
                        .unwrap_or(bq.params.zp());
                    (q - z) as f64 * s as f64
                })
                .collect()
        } else {
            match constant(self.g, b).and_then(|c| c.to_f32()) {
                Some(v) => v.into_iter().map(f64::from).collect(),
                None => return refuse("the bias is neither a constant nor dequantized from one"),
            }
        };
        if real.len() != want.len() {
            return refuse(format!(
                "the bias has {} values for {} output channels",
                real.len(),
                want.len()
            ));
        }
        let mut bytes = Vec::with_capacity(real.len() * 4);
        for (c, r) in real.iter().enumerate() {
            let q = (r / want[c] as f64).round_ties_even();
            if !(i32::MIN as f64..=i32::MAX as f64).contains(&q) {
                return refuse("the requantized bias does not fit in int32");
            }
            bytes.extend((q as i32).to_le_bytes());
        }
        let base = format!("{}_quantized", self.g.value(b).name);
        Ok(self.add_const(&base, DType::I32, &[channels], bytes))
    }

    /// Ops whose integer form takes (value, scale, zero point) per input and (scale, zero point)
    /// for the output, with the op's own attributes.
    fn fold_with_params(&mut self, id: NodeId, op: Op, slots: &[u32]) -> Result<(), Outcome> {
        if !self.in_quantized_unit(id) {
            return Err(Outcome::NotAUnit);
        }
        let mut ins = Vec::new();
        for &s in slots {
            ins.push(self.require_q_in(id, s)?);
        }
        let out = self.q_out(id, 0)?;
        if ins.iter().any(|q| !q.params.is_per_tensor()) || !out.params.is_per_tensor() {
            return refuse("per-axis quantization of an activation has no integer form here");
        }
        if !ins.iter().all(|q| q.params.dtype.is_quantized_8bit())
            || !out.params.dtype.is_quantized_8bit()
        {
            return refuse("the integer ops need 8-bit tensors");
        }
        let mut attrs = self.copy_attrs(id);
        let (domain, op_type) = match op {
            Op::MatMul => ("", "QLinearMatMul"),
            Op::Add => (MS_DOMAIN, "QLinearAdd"),
            Op::Mul => (MS_DOMAIN, "QLinearMul"),
            Op::LeakyRelu => (MS_DOMAIN, "QLinearLeakyRelu"),
            Op::Sigmoid => (MS_DOMAIN, "QLinearSigmoid"),
            Op::AveragePool => {
                let dilated = self
                    .g
                    .node(id)
                    .as_op()
                    .and_then(|o| o.attr_ints("dilations").ok().flatten())
                    .is_some_and(|d| d.iter().any(|&x| x != 1));
                if dilated {
                    return refuse("QLinearAveragePool has no dilations");
                }
                attrs.retain(|a| a.name() != "dilations");
                (MS_DOMAIN, "QLinearAveragePool")
            }
            Op::GlobalAveragePool => (MS_DOMAIN, "QLinearGlobalAveragePool"),
            Op::Softmax => {
                let opset = self.cx.opsets.get("").copied().unwrap_or(13);
                attrs.push(attrs::int("opset", opset));
                (MS_DOMAIN, "QLinearSoftmax")
            }
            _ => return Err(Outcome::NotAUnit),
        };
        let mut inputs = Vec::new();
        for q in &ins {
            let (s, z) = self.scale_and_zp(q.dq, &q.params)?;
            inputs.extend([Some(q.q), Some(s), Some(z)]);
        }
        let (sy, zy) = self.scale_and_zp(out.q, &out.params)?;
        inputs.extend([Some(sy), Some(zy)]);
        self.replace_unit(id, &out, domain, op_type, inputs, attrs)
    }

    /// Concat: on the integers when every input and the output share parameters, else QLinearConcat.
    fn fold_concat(&mut self, id: NodeId) -> Result<(), Outcome> {
        if !self.in_quantized_unit(id) {
            return Err(Outcome::NotAUnit);
        }
        let arity = self.g.inputs_of(id).len() as u32;
        let ins: Vec<QIn> = (0..arity)
            .map(|s| self.require_q_in(id, s))
            .collect::<Result<_, _>>()?;
        let out = self.q_out(id, 0)?;
        if ins.iter().all(|q| q.params.same_as(&out.params)) {
            return self.fold_passthrough(id, Op::Concat);
        }
        if self.form == Form::Qdq {
            return Err(Outcome::NotAUnit); // a canonical unit already
        }
        if ins.iter().any(|q| !q.params.is_per_tensor()) || !out.params.is_per_tensor() {
            return refuse("per-axis quantization of an activation has no integer form here");
        }
        let (sy, zy) = self.scale_and_zp(out.q, &out.params)?;
        let mut inputs = vec![Some(sy), Some(zy)];
        for q in &ins {
            let (s, z) = self.scale_and_zp(q.dq, &q.params)?;
            inputs.extend([Some(q.q), Some(s), Some(z)]);
        }
        let attrs = self.copy_attrs(id);
        self.replace_unit(id, &out, MS_DOMAIN, "QLinearConcat", inputs, attrs)
    }

    /// Relu/Clip with equal input and output parameters: an integer Clip at the quantized bounds,
    /// or nothing when the bounds are the type's own range.
    fn fold_relu_clip(&mut self, id: NodeId, op: Op) -> Result<(), Outcome> {
        if !self.in_quantized_unit(id) {
            return Err(Outcome::NotAUnit);
        }
        let x = self.require_q_in(id, 0)?;
        let out = self.q_out(id, 0)?;
        if !x.params.same_as(&out.params) || !x.params.is_per_tensor() {
            return refuse(
                "input and output quantization differ; an integer Clip would need a requantization",
            );
        }
        let (lo_real, hi_real) = match op {
            Op::Relu => (0.0f64, f64::INFINITY),
            _ => match self.clip_bounds(id) {
                Some(b) => b,
                None => return refuse("Clip bounds are not constants"),
            },
        };
        let (tmin, tmax) = int_range(x.params.dtype);
        let s = x.params.scale[0] as f64;
        let z = x.params.zp();
        let quantize = |r: f64| -> i64 {
            if r.is_infinite() {
                return if r > 0.0 { tmax } else { tmin };
            }
            ((r / s).round_ties_even() as i64 + z).clamp(tmin, tmax)
        };
        let (lo, hi) = (quantize(lo_real), quantize(hi_real));
        if lo == tmin && hi == tmax {
            // The integers cannot leave the bounds: the op is the identity here.
            let q_out = ValueId {
                node: out.q,
                slot: 0,
            };
            bypass(self.g, x.q, q_out).map_err(|r| Outcome::Refused(r.to_string()))?;
            self.g.remove_node(out.q);
            let inputs = self.g.inputs_of(id);
            self.g.remove_node(id);
            self.sweep(inputs);
            return Ok(());
        }
        let dtype = x.params.dtype;
        let scalar = |v: i64| vec![v as u8];
        let name = self.g.node(id).display_name();
        let lo_v = self.add_const(&format!("{name}_min"), dtype, &[], scalar(lo));
        let hi_v = self.add_const(&format!("{name}_max"), dtype, &[], scalar(hi));
        self.cx.require_opset("", 12);
        self.replace_unit(
            id,
            &out,
            "",
            "Clip",
            vec![Some(x.q), Some(lo_v), Some(hi_v)],
            vec![],
        )
    }

    /// Clip's (min, max): inputs from opset 11, attributes before.
    fn clip_bounds(&self, id: NodeId) -> Option<(f64, f64)> {
        let op = self.g.node(id).as_op()?;
        let read = |slot: u32, attr: &str, default: f64| -> Option<f64> {
            if let Some(v) = self.g.input(id, slot) {
                return constant(self.g, v)?.to_f32()?.first().map(|&f| f as f64);
            }
            Some(op.attr_float(attr).ok()?.map_or(default, f64::from))
        };
        Some((
            read(1, "min", f64::NEG_INFINITY)?,
            read(2, "max", f64::INFINITY)?,
        ))
    }

    /// Data-movement ops run on the integers unchanged when input and outputs share parameters.
    fn fold_passthrough(&mut self, id: NodeId, op: Op) -> Result<(), Outcome> {
        if !self.in_quantized_unit(id) {
            return Err(Outcome::NotAUnit);
        }
        let data_slots: Vec<u32> = match op {
            Op::Concat => (0..self.g.inputs_of(id).len() as u32).collect(),
            _ => vec![0],
        };
        let ins: Vec<QIn> = data_slots
            .iter()
            .map(|&s| self.require_q_in(id, s))
            .collect::<Result<_, _>>()?;
        let n_out = self.g.node(id).outputs.len() as u32;
        if op == Op::MaxPool && n_out > 1 && self.g.is_used(ValueId { node: id, slot: 1 }) {
            return refuse("MaxPool's Indices output is used");
        }
        let used_slots: Vec<u32> = (0..n_out)
            .filter(|&s| self.g.is_used(ValueId { node: id, slot: s }))
            .collect();
        let outs: Vec<(u32, QOut)> = used_slots
            .iter()
            .map(|&s| self.q_out(id, s).map(|q| (s, q)))
            .collect::<Result<_, _>>()?;
        let params = &ins[0].params;
        if ins.iter().any(|q| !q.params.same_as(params))
            || outs.iter().any(|(_, q)| !q.params.same_as(params))
        {
            return refuse("input and output quantization differ; the op only moves data, so they must be equal");
        }
        if params.scale.iter().any(|&s| s <= 0.0) {
            return refuse("a scale is not positive");
        }
        if op == Op::Resize {
            let mode = self
                .g
                .node(id)
                .as_op()
                .and_then(|o| o.attr_str("mode").ok().flatten().map(str::to_string));
            if mode.as_deref().is_some_and(|m| m != "nearest") {
                return refuse(format!(
                    "Resize mode '{}' interpolates; only 'nearest' is exact on integers",
                    mode.unwrap_or_default()
                ));
            }
        }
        let pad_value = if op == Op::Pad {
            self.pad_value(id, params)?
        } else {
            None
        };

        for (slot, q) in data_slots.iter().zip(&ins) {
            self.g.set_input(id, *slot, Some(q.q));
        }
        if let Some(v) = pad_value {
            self.g.set_input(id, 2, Some(v));
        }
        for (slot, out) in outs {
            let v = ValueId { node: id, slot };
            let q_out = ValueId {
                node: out.q,
                slot: 0,
            };
            let taken = self.g.value(q_out).clone();
            if !self.g.replace_uses(q_out, v) {
                return refuse("a subgraph reads the quantized output by name");
            }
            self.g.remove_node(out.q);
            *self.g.value_mut(v) = taken;
        }
        self.sweep(
            ins.iter()
                .map(|q| {
                    Some(ValueId {
                        node: q.dq,
                        slot: 0,
                    })
                })
                .collect(),
        );
        Ok(())
    }

    /// Pad's constant value quantized to the data's type (0.0 → the zero point); `None` when the
    /// mode ignores it and the model gave none.
    fn pad_value(&mut self, id: NodeId, p: &QuantParams) -> Result<Option<ValueId>, Outcome> {
        if self.cx.opsets.get("").is_some_and(|&v| v < 11) {
            return refuse("Pad before opset 11 keeps its value in an attribute; not folded");
        }
        let mode = self
            .g
            .node(id)
            .as_op()
            .and_then(|o| o.attr_str("mode").ok().flatten().map(str::to_string));
        let real = match self.g.input(id, 2) {
            Some(v) => match constant(self.g, v).and_then(|c| c.to_f32()) {
                Some(f) => f.first().copied().unwrap_or(0.0) as f64,
                None => return refuse("Pad's constant value is not a constant"),
            },
            None if mode.as_deref().unwrap_or("constant") != "constant" => return Ok(None),
            None => 0.0,
        };
        let (tmin, tmax) = int_range(p.dtype);
        let q = ((real / p.scale[0] as f64).round_ties_even() as i64 + p.zp()).clamp(tmin, tmax);
        let name = self.g.node(id).display_name();
        Ok(Some(self.add_const(
            &format!("{name}_pad_value"),
            p.dtype,
            &[],
            vec![q as u8],
        )))
    }
}
