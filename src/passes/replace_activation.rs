//! `replace-activation` (`--activation relu|relu6|leaky-relu:ALPHA`): replaces the activations an
//! NPU cannot run — LeakyReLU, SiLU, HardSwish, GELU, Mish — by one it can. NOT exact: the model's
//! function changes and it must be fine-tuned or retrained; the pass manager measures the
//! deviation, and the pass names the Ultralytics setting that trains the same architecture.
//!
//! ```text
//! float:     %s = Sigmoid(%x) ; %y = Mul(%x, %s)          →  %y = Relu(%x)
//! QDQ:       %x = DequantizeLinear(%xq, %sx, %zx)           %xq = QuantizeLinear(%c, %so, %zo)
//!            %s = Sigmoid(%x) → Q → DQ ; %m = Mul(%x, ..)   →  %x = DequantizeLinear(%xq, %so, %zo)
//!            %y = QuantizeLinear(%m, %so, %zo)                 %y = QuantizeLinear(Relu(%x), %so, %zo)
//! QOperator: %s = QLinearSigmoid(%xq, ..) ; %y = QLinearMul(%xq, .., %s, .., %sy, %zy)
//!            →  %r = QuantizeLinear(DequantizeLinear(%xq, %sx, %zx), %sy, %zy) ; %y = Clip(%r, %zy, 255)
//! ```
//! Recognised by structure, never by names: LeakyRelu, HardSwish, Gelu and Mish ops; `x·Sigmoid(x)`
//! (SiLU), `x·HardSigmoid(x)` with α = 1/6, β = 1/2 (HardSwish), `x·Tanh(Softplus(x))` (Mish) and
//! `0.5·(x·(1 + Erf(x/√2)))` (GELU as exported by PyTorch), each in float and in QDQ form (every
//! inner value may pass through a QuantizeLinear → DequantizeLinear pair; the two reads of `x` may
//! be one DequantizeLinear or two of the same integers), and the QOperator forms QLinearLeakyRelu
//! and `QLinearSigmoid` + `QLinearMul` (com.microsoft). GELU's tanh approximation is not recognised.
//!
//! Quantized graphs keep a valid output quantization: the new activation produces the *old output
//! parameters* (`so`, `zo`), whose range covers `[0, max]` since the replaced activations are ≈ x
//! for large x. ReLU under them is a clamp at the zero point and ReLU6 a clamp within the existing
//! scale, which fold-qdq turns into an integer Clip (or nothing when `zo` is the type's minimum).
//! The input must be requantized from (`sx`, `zx`) to (`so`, `zo`): when the integers of `x` come
//! from a QuantizeLinear read by nothing else, that QuantizeLinear quantizes to (`so`, `zo`)
//! directly, so a Conv before the activation folds into one QLinearConv + Clip; otherwise a
//! `QuantizeLinear → DequantizeLinear` requantization pair is inserted. In QOperator form the
//! requantization is `DequantizeLinear → QuantizeLinear` followed by the integer Clip.
//!
//! Position: in the default pipeline the CLI inserts this pass after canonicalize and before
//! fold-qdq (`passes::configure`): on QDQ the units are float ops between Q/DQ, the replacement is one
//! float op, and fold-qdq then produces the integer form; after fold-qdq the same rewrite would
//! need the requantizing QOperator form above, which the Ethos-N mapping runs on the CPU.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::ir::attrs;
use crate::ir::build::{add_const, Namer};
use crate::ir::consts::constant;
use crate::ir::op::{is_onnx_domain, MS_DOMAIN};
use crate::ir::quant::{int_range, params_from_inputs, qdq_params, QuantParams};
use crate::ir::rewire::bypass;
use crate::ir::{DType, Graph, NodeId, NodeKind, Op, OpNode, Port, Value, ValueId};
use crate::pass::{Changed, Pass, PassCx};
use crate::proto;

/// The activation everything is replaced by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    Relu6,
    LeakyRelu { alpha: f32 },
}

impl FromStr for Activation {
    type Err = String;

    fn from_str(s: &str) -> Result<Activation, String> {
        match s {
            "relu" => Ok(Activation::Relu),
            "relu6" => Ok(Activation::Relu6),
            _ => {
                let alpha = s.strip_prefix("leaky-relu:").ok_or_else(|| {
                    format!("'{s}': the activation must be relu, relu6 or leaky-relu:ALPHA")
                })?;
                match alpha.parse::<f32>() {
                    Ok(a) if a.is_finite() && (0.0..1.0).contains(&a) => {
                        Ok(Activation::LeakyRelu { alpha: a })
                    }
                    _ => Err(format!(
                        "'{s}': ALPHA must be a number in [0, 1), e.g. leaky-relu:0.1"
                    )),
                }
            }
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Relu => write!(f, "ReLU"),
            Activation::Relu6 => write!(f, "ReLU6"),
            Activation::LeakyRelu { alpha } => write!(f, "LeakyReLU({alpha})"),
        }
    }
}

impl Activation {
    /// The PyTorch module Ultralytics builds for it (`activation:` in a model YAML).
    fn torch_module(self) -> String {
        match self {
            Activation::Relu => "nn.ReLU()".into(),
            Activation::Relu6 => "nn.ReLU6()".into(),
            Activation::LeakyRelu { alpha } => format!("nn.LeakyReLU({alpha})"),
        }
    }
}

/// The pass, with the activation it writes (the registry's entry writes ReLU).
pub struct ReplaceActivation {
    pub activation: Activation,
}

impl Default for ReplaceActivation {
    fn default() -> ReplaceActivation {
        ReplaceActivation {
            activation: Activation::Relu,
        }
    }
}

impl Pass for ReplaceActivation {
    fn name(&self) -> &'static str {
        "replace-activation"
    }

    fn summary(&self) -> &'static str {
        "replace LeakyReLU, SiLU, HardSwish, GELU, Mish by --activation (default relu)"
    }

    fn exact(&self) -> bool {
        false
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        let order = g
            .op_order()
            .map_err(|c| format!("cycle through '{}'", c.node))?;
        let mut names = Namer::for_graph(g);
        let mut constants = HashMap::new();
        let mut replaced: Vec<Source> = Vec::new();
        for id in order {
            if !g.contains(id) {
                continue;
            }
            let Some(unit) = recognise(g, id) else {
                continue;
            };
            let who = g.node(id).display_name();
            if unit.source == Source::LeakyRelu(self.activation) {
                continue;
            }
            if let Some(inner) = unit.read_outside(g) {
                cx.reject(
                    &who,
                    format!(
                        "{}: the inner value '{}' is also read outside the activation",
                        unit.source,
                        g.value(inner).name
                    ),
                );
                continue;
            }
            let mut r = Rewriter {
                g,
                cx,
                names: &mut names,
                constants: &mut constants,
                activation: self.activation,
            };
            match r.replace(&unit, &who) {
                Ok(how) => {
                    cx.note(
                        Some(&who),
                        format!("{} → {} ({how})", unit.source, self.activation),
                    );
                    replaced.push(unit.source);
                }
                Err(reason) => cx.reject(&who, format!("{}: {reason}", unit.source)),
            }
        }
        if replaced.is_empty() {
            return Ok(Changed::No);
        }
        cx.warn(None, summary(&replaced, self.activation));
        Ok(Changed::Yes)
    }
}

/// The pass's one summary: what was replaced, and how to train the same architecture.
fn summary(replaced: &[Source], activation: Activation) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for s in replaced {
        let name = s.to_string();
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some(c) => c.1 += 1,
            None => counts.push((name, 1)),
        }
    }
    let list: Vec<String> = counts.iter().map(|(n, c)| format!("{c} {n}")).collect();
    format!(
        "replaced {} activation(s) by {activation} ({}); the model's function changed: fine-tune \
         or retrain it. Ultralytics: retrain with `activation: {}` at the top of the model YAML \
         (ultralytics/cfg/models/v8/yolov8.yaml, ultralytics/cfg/models/11/yolo11.yaml, …), which \
         every Conv block then uses",
        replaced.len(),
        list.join(", "),
        activation.torch_module()
    )
}

/// The activation a unit computes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Source {
    /// A LeakyReLU, described as the activation it equals.
    LeakyRelu(Activation),
    Silu,
    HardSwish,
    Gelu,
    Mish,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::LeakyRelu(a) => write!(f, "{a}"),
            Source::Silu => write!(f, "SiLU"),
            Source::HardSwish => write!(f, "HardSwish"),
            Source::Gelu => write!(f, "GELU"),
            Source::Mish => write!(f, "Mish"),
        }
    }
}

/// The integer operands of a QOperator unit: the input's integers and (scale, zero point) inputs,
/// and the output's (scale, zero point) inputs.
#[derive(Clone, Copy)]
struct QLinear {
    x: ValueId,
    x_scale: ValueId,
    x_zp: ValueId,
    y_scale: ValueId,
    y_zp: ValueId,
}

/// A recognised activation: `y = f(x)`, computed by `inner` (the last node included).
struct Unit {
    source: Source,
    x: ValueId,
    y: ValueId,
    inner: Vec<NodeId>,
    /// Set for the QOperator forms, whose values are integers.
    qlinear: Option<QLinear>,
}

impl Unit {
    /// An inner value (not `y`) read by a node outside the unit or a graph output.
    fn read_outside(&self, g: &Graph) -> Option<ValueId> {
        self.inner
            .iter()
            .flat_map(|&n| g.values_of(n).collect::<Vec<_>>())
            .filter(|&v| v != self.y)
            .find(|&v| {
                g.is_output(v)
                    || g.uses(v)
                        .iter()
                        .any(|(u, p)| *p == Port::Capture || !self.inner.contains(u))
            })
    }
}

/// The op node producing `v`, seen through a `QuantizeLinear → DequantizeLinear` pair (which is
/// added to `inner`).
fn producer(g: &Graph, v: ValueId, inner: &mut Vec<NodeId>) -> Option<NodeId> {
    let node = g.node(v.node);
    if node.op() == Some(Op::DequantizeLinear) {
        if let Some(q) = g.input(v.node, 0) {
            if g.node(q.node).op() == Some(Op::QuantizeLinear) {
                inner.extend([v.node, q.node]);
                return g.input(q.node, 0).map(|f| f.node);
            }
        }
    }
    node.as_op().map(|_| v.node)
}

fn is_onnx(g: &Graph, n: NodeId, op_type: &str) -> bool {
    g.node(n)
        .as_op()
        .is_some_and(|o| is_onnx_domain(o.domain()) && o.op_type() == op_type)
}

/// Do `a` and `b` hold the same reals: the same value, or two DequantizeLinear of the same
/// integers with the same parameters?
fn same_source(g: &Graph, a: ValueId, b: ValueId) -> bool {
    if a == b {
        return true;
    }
    let dq = |v: ValueId| {
        (g.node(v.node).op() == Some(Op::DequantizeLinear))
            .then(|| Some((g.input(v.node, 0)?, qdq_params(g, v.node)?)))
            .flatten()
    };
    matches!((dq(a), dq(b)), (Some((qa, pa)), Some((qb, pb))) if qa == qb && pa.same_as(&pb))
}

/// A constant scalar's value.
fn scalar(g: &Graph, v: ValueId) -> Option<f32> {
    let c = constant(g, v)?.to_f32()?;
    (c.len() == 1).then(|| c[0])
}

fn near(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-3 * b.abs().max(1.0)
}

/// The activation whose last node is `id`, if it is one.
fn recognise(g: &Graph, id: NodeId) -> Option<Unit> {
    let op = g.node(id).as_op()?;
    let y = ValueId { node: id, slot: 0 };
    let single = |source| {
        Some(Unit {
            source,
            x: g.input(id, 0)?,
            y,
            inner: vec![id],
            qlinear: None,
        })
    };
    match op.op() {
        Op::LeakyRelu => {
            let alpha = op.attr_float("alpha").ok()?.unwrap_or(0.01);
            single(Source::LeakyRelu(Activation::LeakyRelu { alpha }))
        }
        Op::HardSwish => single(Source::HardSwish),
        Op::Gelu => single(Source::Gelu),
        Op::Mish => single(Source::Mish),
        Op::Mul => gated(g, id).or_else(|| gelu_decomposed(g, id)),
        Op::QLinearLeakyRelu => {
            let alpha = op.attr_float("alpha").ok()?.unwrap_or(0.01);
            let ins = g.inputs_of(id);
            Some(Unit {
                qlinear: Some(QLinear {
                    x: (*ins.first()?)?,
                    x_scale: (*ins.get(1)?)?,
                    x_zp: (*ins.get(2)?)?,
                    y_scale: (*ins.get(3)?)?,
                    y_zp: (*ins.get(4)?)?,
                }),
                ..single(Source::LeakyRelu(Activation::LeakyRelu { alpha }))?
            })
        }
        Op::QLinearMul => qlinear_silu(g, id),
        _ => None,
    }
}

/// `x · gate(x)`: SiLU (Sigmoid), HardSwish (HardSigmoid α = 1/6, β = 1/2), Mish (Tanh ∘ Softplus).
fn gated(g: &Graph, mul: NodeId) -> Option<Unit> {
    let (a, b) = (g.input(mul, 0)?, g.input(mul, 1)?);
    [(a, b), (b, a)].into_iter().find_map(|(x, gate)| {
        let mut inner = vec![mul];
        let gate_op = producer(g, gate, &mut inner)?;
        inner.push(gate_op);
        let source = match g.node(gate_op).op() {
            Some(Op::Sigmoid) => Source::Silu,
            Some(Op::HardSigmoid) => {
                let o = g.node(gate_op).as_op()?;
                let alpha = o.attr_float("alpha").ok()?.unwrap_or(0.2);
                let beta = o.attr_float("beta").ok()?.unwrap_or(0.5);
                (near(alpha, 1.0 / 6.0) && near(beta, 0.5)).then_some(Source::HardSwish)?
            }
            Some(Op::Tanh) => {
                let softplus = producer(g, g.input(gate_op, 0)?, &mut inner)?;
                inner.push(softplus);
                is_onnx(g, softplus, "Softplus").then_some(Source::Mish)?
            }
            _ => return None,
        };
        let gate_x = g.input(*inner.last()?, 0)?;
        same_source(g, x, gate_x).then_some(Unit {
            source,
            x,
            y: ValueId { node: mul, slot: 0 },
            inner,
            qlinear: None,
        })
    })
}

/// `Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)`, constants on either side.
fn gelu_decomposed(g: &Graph, last: NodeId) -> Option<Unit> {
    let mut inner = vec![last];
    let other = |n: NodeId, want: f32| -> Option<ValueId> {
        let (a, b) = (g.input(n, 0)?, g.input(n, 1)?);
        if scalar(g, b).is_some_and(|c| near(c, want)) {
            Some(a)
        } else if scalar(g, a).is_some_and(|c| near(c, want)) {
            Some(b)
        } else {
            None
        }
    };
    let half_of = other(last, 0.5)?;
    let mul = producer(g, half_of, &mut inner)?;
    (g.node(mul).op() == Some(Op::Mul)).then_some(())?;
    inner.push(mul);
    let (a, b) = (g.input(mul, 0)?, g.input(mul, 1)?);
    [(a, b), (b, a)].into_iter().find_map(|(x, sum)| {
        let mut inner = inner.clone();
        let add = producer(g, sum, &mut inner)?;
        (g.node(add).op() == Some(Op::Add)).then_some(())?;
        inner.push(add);
        let erf = producer(g, other(add, 1.0)?, &mut inner)?;
        is_onnx(g, erf, "Erf").then_some(())?;
        inner.push(erf);
        let scaled = producer(g, g.input(erf, 0)?, &mut inner)?;
        let gate_x = match g.node(scaled).op()? {
            Op::Div => {
                let d = scalar(g, g.input(scaled, 1)?)?;
                near(d, std::f32::consts::SQRT_2).then_some(g.input(scaled, 0)?)?
            }
            Op::Mul => other(scaled, std::f32::consts::FRAC_1_SQRT_2)?,
            _ => return None,
        };
        inner.push(scaled);
        same_source(g, x, gate_x).then_some(Unit {
            source: Source::Gelu,
            x,
            y: ValueId {
                node: last,
                slot: 0,
            },
            inner,
            qlinear: None,
        })
    })
}

/// `QLinearMul(x, sx, zx, QLinearSigmoid(x, sx, zx, ss, zs), ss, zs, sy, zy)`, either order.
fn qlinear_silu(g: &Graph, mul: NodeId) -> Option<Unit> {
    let ins = g.inputs_of(mul);
    let slot = |i: usize| ins.get(i).copied().flatten();
    [(0usize, 3usize), (3, 0)].into_iter().find_map(|(xi, si)| {
        let (x, gate) = (slot(xi)?, slot(si)?);
        (g.node(gate.node).op() == Some(Op::QLinearSigmoid)).then_some(())?;
        (g.input(gate.node, 0)? == x).then_some(())?;
        Some(Unit {
            source: Source::Silu,
            x,
            y: ValueId { node: mul, slot: 0 },
            inner: vec![mul, gate.node],
            qlinear: Some(QLinear {
                x,
                x_scale: slot(xi + 1)?,
                x_zp: slot(xi + 2)?,
                y_scale: slot(6)?,
                y_zp: slot(7)?,
            }),
        })
    })
}

/// The QuantizeLinear that is the only reader of a unit's float output, with its parameters.
fn output_quantizer(g: &Graph, y: ValueId) -> Option<(NodeId, QuantParams)> {
    if g.is_output(y) {
        return None;
    }
    match g.uses(y).as_slice() {
        [(q, Port::Input(0))] if g.node(*q).op() == Some(Op::QuantizeLinear) => {
            Some((*q, qdq_params(g, *q)?))
        }
        _ => None,
    }
}

struct Rewriter<'a> {
    g: &'a mut Graph,
    cx: &'a mut PassCx,
    names: &'a mut Namer,
    /// The bounds this run added, by type and bytes: every clamp of a run shares them.
    constants: &'a mut HashMap<(DType, Vec<u8>), ValueId>,
    activation: Activation,
}

impl Rewriter<'_> {
    /// Replaces the unit; says how, or why it could not.
    fn replace(&mut self, unit: &Unit, who: &str) -> Result<String, String> {
        if self.g.uses(unit.y).iter().any(|(_, p)| *p == Port::Capture) {
            return Err("a subgraph reads the output by name".into());
        }
        if let Some(q) = unit.qlinear {
            return self.replace_qlinear(unit, &q, who);
        }
        let x_dq = (self.g.node(unit.x.node).op() == Some(Op::DequantizeLinear))
            .then(|| qdq_params(self.g, unit.x.node))
            .flatten();
        let (x, how) = match (x_dq, output_quantizer(self.g, unit.y)) {
            (Some(px), Some((q_out, po))) if !px.same_as(&po) => {
                self.requantize_input(unit, q_out, &po, who)?
            }
            (Some(_), Some(_)) => (unit.x, "QDQ".to_string()),
            _ => (unit.x, "float".to_string()),
        };
        let act = self.float_activation(x, unit);
        self.take_over(unit, act)?;
        Ok(how)
    }

    /// The unit's input requantized to the output quantizer's parameters (see the module doc).
    fn requantize_input(
        &mut self,
        unit: &Unit,
        q_out: NodeId,
        po: &QuantParams,
        who: &str,
    ) -> Result<(ValueId, String), String> {
        let (Some(so), Some(zo)) = (self.g.input(q_out, 1), self.g.input(q_out, 2)) else {
            return Err("the output QuantizeLinear has no zero point".into());
        };
        if !po.is_per_tensor() {
            return Err("the output quantization is per-axis".into());
        }
        let xq = self
            .g
            .input(unit.x.node, 0)
            .ok_or("the input DequantizeLinear has no input")?;
        let dq_proto = self.op_proto(unit.x.node);
        if let Some(qx) = self.retargetable(unit, xq, po) {
            let name = self.g.node(qx).display_name();
            self.g.set_input(qx, 1, Some(so));
            self.g.set_input(qx, 2, Some(zo));
            let dq = self.add(dq_proto, &[Some(xq), Some(so), Some(zo)], unit.x);
            return Ok((
                dq,
                format!("QDQ; '{name}' now quantizes to the output's {po}"),
            ));
        }
        let q_proto = proto::NodeProto {
            name: Some(format!("{who}_requantize")),
            ..self.op_proto(q_out)
        };
        let q_value = self
            .g
            .value(ValueId {
                node: q_out,
                slot: 0,
            })
            .clone();
        let q = self.add_typed(q_proto, &[Some(unit.x), Some(so), Some(zo)], q_value);
        let dq_proto = proto::NodeProto {
            name: Some(format!("{who}_requantize_dq")),
            ..dq_proto
        };
        let dq = self.add(dq_proto, &[Some(q), Some(so), Some(zo)], unit.x);
        Ok((dq, format!("QDQ; input requantized to the output's {po}")))
    }

    /// The QuantizeLinear producing the unit's input integers when nothing outside the unit reads
    /// them (so it may quantize to other parameters), with the same integer type as `po`.
    fn retargetable(&self, unit: &Unit, xq: ValueId, po: &QuantParams) -> Option<NodeId> {
        let g = &*self.g;
        (g.node(xq.node).op() == Some(Op::QuantizeLinear)).then_some(())?;
        let px = qdq_params(g, xq.node)?;
        (px.dtype == po.dtype && px.is_per_tensor() && !g.is_output(xq)).then_some(())?;
        let only_unit_reads = g.uses(xq).iter().all(|&(dq, port)| {
            let v = ValueId { node: dq, slot: 0 };
            port == Port::Input(0)
                && g.node(dq).op() == Some(Op::DequantizeLinear)
                && !g.is_output(v)
                && g.uses(v)
                    .iter()
                    .all(|(u, p)| *p != Port::Capture && unit.inner.contains(u))
        });
        only_unit_reads.then_some(xq.node)
    }

    /// The QOperator form: a requantization to the output parameters, then an integer clamp (or
    /// QLinearLeakyRelu for a LeakyReLU target).
    fn replace_qlinear(&mut self, unit: &Unit, q: &QLinear, who: &str) -> Result<String, String> {
        let y = self.g.value(unit.y).clone();
        let dtype = y.ty.as_ref().map_or(DType::U8, |t| t.dtype);
        let params = |s, z| params_from_inputs(self.g, Some(s), Some(z), None, dtype);
        let (Some(px), Some(py)) = (params(q.x_scale, q.x_zp), params(q.y_scale, q.y_zp)) else {
            return Err("the scales or zero points are not constants".into());
        };
        if !px.is_per_tensor() || !py.is_per_tensor() || !dtype.is_quantized_8bit() {
            return Err("only per-tensor 8-bit quantization has an integer form here".into());
        }
        let named = |suffix: &str| proto::NodeProto {
            name: Some(format!("{who}{suffix}")),
            ..Default::default()
        };
        if let Activation::LeakyRelu { alpha } = self.activation {
            let p = proto::NodeProto {
                op_type: Some("QLinearLeakyRelu".into()),
                domain: Some(MS_DOMAIN.into()),
                attribute: vec![attrs::float("alpha", alpha)],
                ..named("")
            };
            let ins = [q.x, q.x_scale, q.x_zp, q.y_scale, q.y_zp].map(Some);
            self.cx.require_opset(MS_DOMAIN, 1);
            let act = self.add_typed(p, &ins, y);
            self.take_over(unit, act)?;
            return Ok("QOperator".into());
        }
        let requantized = if px.same_as(&py) {
            q.x
        } else {
            let dq = proto::NodeProto {
                op_type: Some("DequantizeLinear".into()),
                ..named("_requantize_dq")
            };
            let float = Value {
                ty: Some(crate::ir::TensorType {
                    dtype: DType::F32,
                    shape: y.ty.as_ref().and_then(|t| t.shape.clone()),
                }),
                ..y.clone()
            };
            let f = self.add_typed(dq, &[Some(q.x), Some(q.x_scale), Some(q.x_zp)], float);
            let qp = proto::NodeProto {
                op_type: Some("QuantizeLinear".into()),
                ..named("_requantize")
            };
            self.add_typed(qp, &[Some(f), Some(q.y_scale), Some(q.y_zp)], y.clone())
        };
        let (tmin, tmax) = int_range(dtype);
        let quantize = |r: f64| {
            ((r / py.scale[0] as f64).round_ties_even() as i64 + py.zp()).clamp(tmin, tmax)
        };
        let (lo, hi) = match self.activation {
            Activation::Relu6 => (quantize(0.0), quantize(6.0)),
            _ => (quantize(0.0), tmax),
        };
        let lo_v = self.add_const("activation_min", dtype, vec![lo as u8]);
        let hi_v = self.add_const("activation_max", dtype, vec![hi as u8]);
        let clip = proto::NodeProto {
            op_type: Some("Clip".into()),
            ..named("")
        };
        self.cx.require_opset("", 12);
        let act = self.add_typed(clip, &[Some(requantized), Some(lo_v), Some(hi_v)], y);
        self.take_over(unit, act)?;
        Ok(format!(
            "QOperator; clamped to [{lo}, {hi}] of the output's {py}"
        ))
    }

    /// The float activation on `x`, with the name of the unit's last node.
    fn float_activation(&mut self, x: ValueId, unit: &Unit) -> ValueId {
        let (op_type, attribute, bounds) = match self.activation {
            Activation::Relu => ("Relu", vec![], None),
            Activation::LeakyRelu { alpha } => {
                ("LeakyRelu", vec![attrs::float("alpha", alpha)], None)
            }
            Activation::Relu6 if self.cx.opsets.get("").is_some_and(|&v| v < 11) => (
                "Clip",
                vec![attrs::float("max", 6.0), attrs::float("min", 0.0)],
                None,
            ),
            Activation::Relu6 => ("Clip", vec![], Some((0.0f32, 6.0f32))),
        };
        let mut inputs = vec![Some(x)];
        if let Some((lo, hi)) = bounds {
            for (bound, v) in [("min", lo), ("max", hi)] {
                let c = self.add_const(
                    &format!("activation_{bound}"),
                    DType::F32,
                    v.to_le_bytes().to_vec(),
                );
                inputs.push(Some(c));
            }
        }
        let p = proto::NodeProto {
            name: self.op_proto(unit.y.node).name,
            op_type: Some(op_type.into()),
            attribute,
            ..Default::default()
        };
        self.add(p, &inputs, unit.y)
    }

    /// Makes the readers of the unit's output read `act` (which takes the output's name), then
    /// removes the unit and the producers only it read.
    fn take_over(&mut self, unit: &Unit, act: ValueId) -> Result<(), String> {
        let name = self.g.value(unit.y).name.clone();
        bypass(self.g, act, unit.y).map_err(str::to_string)?;
        if !self.g.is_output(act) {
            self.g.value_mut(act).name = name;
        }
        let mut operands = Vec::new();
        for &n in &unit.inner {
            if self.g.contains(n) {
                operands.extend(self.g.inputs_of(n).into_iter().flatten());
                self.g.remove_node(n);
            }
        }
        while let Some(v) = operands.pop() {
            let dead = self.g.contains(v.node)
                && !matches!(self.g.node(v.node).kind, NodeKind::Input(_))
                && !self.g.values_of(v.node).any(|o| self.g.is_used(o));
            if dead {
                operands.extend(self.g.inputs_of(v.node).into_iter().flatten());
                self.g.remove_node(v.node);
            }
        }
        Ok(())
    }

    fn op_proto(&self, n: NodeId) -> proto::NodeProto {
        self.g
            .node(n)
            .as_op()
            .map(|o| o.proto().clone())
            .unwrap_or_default()
    }

    /// Adds an op whose output has the type of `like` and a fresh name from it.
    fn add(&mut self, p: proto::NodeProto, inputs: &[Option<ValueId>], like: ValueId) -> ValueId {
        let value = Value {
            name: self.g.value(like).name.clone(),
            ty: self.g.value(like).ty.clone(),
            info: None,
        };
        self.add_typed(p, inputs, value)
    }

    /// Adds an op with one output like `value` (renamed to a fresh name).
    fn add_typed(
        &mut self,
        p: proto::NodeProto,
        inputs: &[Option<ValueId>],
        value: Value,
    ) -> ValueId {
        let name = self.fresh_name(&value.name);
        let node = self.g.add_op(
            OpNode::new(p, 0),
            inputs,
            vec![Value {
                name,
                info: None,
                ..value
            }],
        );
        ValueId { node, slot: 0 }
    }

    /// A scalar constant, shared with an equal one this run added before.
    fn add_const(&mut self, base: &str, dtype: DType, bytes: Vec<u8>) -> ValueId {
        if let Some(&v) = self.constants.get(&(dtype, bytes.clone())) {
            return v;
        }
        let name = self.fresh_name(base);
        let v = add_const(self.g, name, dtype, &[], bytes.clone());
        self.constants.insert((dtype, bytes), v);
        v
    }

    fn fresh_name(&mut self, base: &str) -> String {
        self.names
            .fresh(if base.is_empty() { "activation" } else { base })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_activation_option() {
        assert_eq!("relu".parse(), Ok(Activation::Relu));
        assert_eq!("relu6".parse(), Ok(Activation::Relu6));
        assert_eq!(
            "leaky-relu:0.1".parse(),
            Ok(Activation::LeakyRelu { alpha: 0.1 })
        );
        assert!("leaky-relu".parse::<Activation>().is_err());
        assert!("leaky-relu:2".parse::<Activation>().is_err());
        assert!("silu".parse::<Activation>().is_err());
    }

    #[test]
    fn inserted_before_fold_qdq() {
        use crate::passes::{configure, insert_opt_in, Options};
        let names = |p: &[Box<dyn Pass>]| p.iter().map(|p| p.name()).collect::<Vec<_>>();
        let default = crate::passes::pipeline("default").unwrap();
        let options = Options {
            activation: Some(Activation::Relu6),
            ..Options::default()
        };
        let mut with = configure(default, &options);
        let n = names(&with);
        let at = n.iter().position(|&p| p == "replace-activation").unwrap();
        assert_eq!(n[at + 1], "fold-qdq");
        assert_eq!(n.iter().filter(|&&p| p == "replace-activation").count(), 1);
        insert_opt_in(&mut with, Box::new(ReplaceActivation::default()));
        assert_eq!(
            names(&with),
            n,
            "an existing entry is configured, not duplicated"
        );
        let mut alone = Vec::new();
        insert_opt_in(&mut alone, Box::new(ReplaceActivation::default()));
        assert_eq!(names(&alone), ["replace-activation"]);
    }
}
