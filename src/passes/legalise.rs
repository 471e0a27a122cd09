//! `legalise`: exact rewrites that move work onto the target's NPU, applied only where they do.
//!
//! Two rewrites so far. First, a constant Pad whose padding value is the zero point of the
//! QLinearConv it alone feeds is folded into the convolution's own padding (the convolution pads
//! with its input zero point: bit-exact), when the target keeps the Pad on the CPU and runs the
//! padded convolution — TensorFlow-style exports write `Pad → Conv(VALID)` for asymmetric padding.
//!
//! Second, an operation whose output quantization the target fixes (the Ethos-N runs
//! a Sigmoid only with outputs at scale 1/256) is computed at that quantization and requantized to
//! the model's by a DequantizeLinear → QuantizeLinear pair, which the target runs as one
//! Requantize:
//! ```text
//! before:  y = QLinearSigmoid(x, sx, zx, sy, zy)
//! after:   t = QLinearSigmoid(x, sx, zx, 1/256, 0)
//!          y = QuantizeLinear(DequantizeLinear(t, 1/256, 0), sy, zy)
//! ```
//! Exactness is proven, not estimated: the operation is elementwise on 8-bit codes, so the pass
//! runs the node and its rewrite in the evaluator on every input code and keeps the rewrite only
//! when no output moves by more than 1 LSB — the default pipeline's bar for quantized ops. The
//! result rounds twice, so the bound holds when the model's output scale is above half the fixed
//! one (above 1/512 for Sigmoid); for finer scales the pass refuses and says by how much. The
//! rewrite is also tried on the node alone first and kept only when the target then runs every
//! node of it, so it never adds nodes that stay on the CPU.
//!
//! Without a target (`--target`, or the default pipeline's) the pass does nothing.

use crate::eval::{self, Tensor};
use crate::ir::build::{add_const, Namer};
use crate::ir::consts::constant;
use crate::ir::extract::extract;
use crate::ir::quant::{int_range, quant_of, QuantParams};
use crate::ir::{DType, Graph, NodeId, Op, OpNode, Port, TensorType, Value, ValueId};
use crate::pass::{Changed, Pass, PassCx};
use crate::proto;
use crate::target::Target;

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
                Ok(lsb) => {
                    changed = true;
                    cx.note(
                        Some(&name),
                        format!(
                            "computed at the NPU's output quantization (scale {}, zero point {}) \
                             and requantized to the model's: at most {lsb} LSB from the original \
                             over every input code",
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

/// Rewrites `id` to compute at `fixed` and requantize, when that is within 1 LSB and the target
/// then runs it; returns the largest difference over every input code.
fn requantize_output(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    fixed: &QuantParams,
    target: &dyn Target,
) -> Result<i64, String> {
    if g.node(id).op() != Some(Op::QLinearSigmoid) {
        return Err(format!(
            "requantizing the output of '{}' is not implemented (only of elementwise \
             QLinearSigmoid)",
            g.node(id).display_name()
        ));
    }
    let out = ValueId { node: id, slot: 0 };
    if g.uses(out).iter().any(|(_, p)| *p == Port::Capture) {
        return Err("a subgraph reads the output by name".into());
    }
    let model = quant_of(g, out)
        .filter(QuantParams::is_per_tensor)
        .ok_or("the output's quantization is not a per-tensor constant")?;
    let x = g.input(id, 0).ok_or("input 0 is missing")?;

    // The node alone, with the constants it reads, before and after the rewrite.
    let mut members: Vec<NodeId> = (1..5)
        .filter_map(|s| g.input(id, s))
        .map(|v| v.node)
        .collect();
    members.push(id);
    let original = extract(g, &members, &[x], &[out])?;
    let mut rewritten = extract(g, &members, &[x], &[out])?;
    let alone = rewritten
        .nodes()
        .into_iter()
        .find(|&n| rewritten.node(n).op() == Some(Op::QLinearSigmoid))
        .ok_or("the extracted node is missing")?;
    let mut names = Namer::for_graph(&rewritten);
    let added = rewrite(&mut rewritten, &mut names, alone, fixed)?;
    for n in [alone, added.0, added.1] {
        let j = target.judge(&rewritten, n);
        if !j.verdict.runs_on_npu() {
            return Err(format!(
                "after requantizing, the target still keeps {} on the CPU: {}",
                rewritten.node(n).display_name(),
                j.verdict.reason
            ));
        }
    }
    let lsb = largest_difference(
        &original,
        &rewritten,
        &rewritten.value(x_of(&rewritten)).name,
    )?;
    if lsb > 1 {
        return Err(format!(
            "computing at the NPU's output quantization (scale {}, zero point {}) and requantizing \
             to the model's (scale {}, zero point {}) is {lsb} LSB off for some input; exact \
             means at most 1 (the model's scale must be above half the NPU's)",
            fixed.scale[0],
            fixed.zp(),
            model.scale[0],
            model.zp()
        ));
    }
    rewrite(g, namer, id, fixed)?;
    Ok(lsb)
}

/// The graph input of an extracted one-node graph.
fn x_of(g: &Graph) -> ValueId {
    let input = g.inputs()[0];
    ValueId {
        node: input,
        slot: 0,
    }
}

/// Runs `a` and `b` on every code of their 8-bit input and returns the largest output difference.
fn largest_difference(a: &Graph, b: &Graph, input: &str) -> Result<i64, String> {
    let ty = a
        .value(x_of(a))
        .ty
        .clone()
        .ok_or("the input's type is not known")?;
    let dims: Vec<usize> = ty
        .static_dims()
        .ok_or("the input's shape is not static")?
        .iter()
        .map(|&d| d as usize)
        .collect();
    let n: usize = dims.iter().product::<usize>().max(1);
    let (lo, hi) = int_range(ty.dtype);
    let codes = (hi - lo + 1) as usize;
    let mut worst = 0;
    for start in (0..codes).step_by(n) {
        let values = (0..n).map(|i| lo + ((start + i) % codes) as i64);
        let tensor = match ty.dtype {
            DType::U8 => Tensor::from_vec(dims.clone(), values.map(|v| v as u8).collect()),
            DType::I8 => Tensor::from_vec(dims.clone(), values.map(|v| v as i8).collect()),
            other => return Err(format!("{other} input is not an 8-bit code")),
        }
        .map_err(|e| e.reason)?;
        let inputs = [(input.to_string(), tensor)];
        let ya = eval::run(a, &inputs).map_err(|e| e.to_string())?;
        let yb = eval::run(b, &inputs).map_err(|e| e.to_string())?;
        for ((_, ta), (_, tb)) in ya.iter().zip(&yb) {
            let (va, vb) = (
                ta.to_i64s("output").map_err(|e| e.reason)?,
                tb.to_i64s("output").map_err(|e| e.reason)?,
            );
            let d = va.iter().zip(&vb).map(|(p, q)| (p - q).abs()).max();
            worst = worst.max(d.unwrap_or(0));
        }
    }
    Ok(worst)
}

/// `y = op(…, sy, zy)` → `t = op(…, fixed)`, `y = QuantizeLinear(DequantizeLinear(t), sy, zy)`;
/// the model's tensor name stays on `y`. Returns the DequantizeLinear and QuantizeLinear.
fn rewrite(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    fixed: &QuantParams,
) -> Result<(NodeId, NodeId), String> {
    let out = ValueId { node: id, slot: 0 };
    let y = g.value(out).clone();
    let y_scale = g.input(id, 3).ok_or("the output scale is missing")?;
    let y_zero_point = g.input(id, 4);
    let node_name = g.node(id).as_op().map_or("", |o| o.name()).to_string();
    let scale = add_const(
        g,
        namer.fresh(&format!("{}_npu_scale", y.name)),
        DType::F32,
        &[],
        fixed.scale[0].to_le_bytes().to_vec(),
    );
    let zero_point = add_const(
        g,
        namer.fresh(&format!("{}_npu_zero_point", y.name)),
        fixed.dtype,
        &[],
        vec![fixed.zp() as u8],
    );
    g.set_input(id, 3, Some(scale));
    g.set_input(id, 4, Some(zero_point));
    let node = |op_type: &str, suffix: &str| {
        OpNode::new(
            proto::NodeProto {
                name: Some(format!("{node_name}_{suffix}")),
                op_type: Some(op_type.into()),
                ..Default::default()
            },
            0,
        )
    };
    let q = g.add_op(
        node("QuantizeLinear", "requantize"),
        &[None, Some(y_scale), y_zero_point],
        vec![Value {
            name: String::new(),
            ..y.clone()
        }],
    );
    let q_out = ValueId { node: q, slot: 0 };
    if !g.replace_uses(out, q_out) {
        return Err("a subgraph reads the output by name".into());
    }
    let float = y.ty.as_ref().map(|t| TensorType {
        dtype: DType::F32,
        shape: t.shape.clone(),
    });
    let dq_value = Value {
        name: namer.fresh(&format!("{}_npu_dequantized", y.name)),
        ty: float,
        info: None,
    };
    let dq = g.add_op(
        node("DequantizeLinear", "npu_dequantize"),
        &[Some(out), Some(scale), Some(zero_point)],
        vec![dq_value],
    );
    g.set_input(q, 0, Some(ValueId { node: dq, slot: 0 }));
    let npu_name = namer.fresh(&format!("{}_npu", y.name));
    let t = g.value_mut(out);
    t.name = npu_name;
    t.info = None;
    g.value_mut(q_out).name = y.name;
    Ok((dq, q))
}

/// Folds the constant Pad `pad` into the padding of the QLinearConv it alone feeds; returns the
/// convolution's name, `None` when the Pad does not feed one, or why it cannot be folded.
fn fold_pad_into_conv(
    g: &mut Graph,
    pad: NodeId,
    target: &dyn Target,
) -> Result<Option<String>, String> {
    let out = ValueId { node: pad, slot: 0 };
    let conv = match g.uses(out).as_slice() {
        [(c, Port::Input(0))] if !g.is_output(out) && g.node(*c).op() == Some(Op::QLinearConv) => {
            *c
        }
        _ => return Ok(None),
    };
    let p = g.node(pad).as_op().ok_or("not an op")?;
    if p.attr_str("mode")
        .map_err(|e| e.to_string())?
        .unwrap_or("constant")
        != "constant"
    {
        return Err("only a constant Pad can become a convolution's padding".into());
    }
    if g.input(pad, 3).is_some() {
        return Err("a Pad with axes is not folded".into());
    }
    let pads = g
        .input(pad, 1)
        .and_then(|v| constant(g, v))
        .and_then(|c| c.to_i64())
        .ok_or("the pads are not a constant")?;
    let value = match g.input(pad, 2) {
        Some(v) => constant(g, v)
            .and_then(|c| c.to_i64())
            .and_then(|c| c.first().copied())
            .ok_or("the padding value is not a constant")?,
        None => 0,
    };
    let zero_point = g
        .input(conv, 2)
        .and_then(|v| constant(g, v))
        .and_then(|c| c.to_i64())
        .and_then(|c| c.first().copied())
        .unwrap_or(0);
    let [0, 0, top, left, 0, 0, bottom, right] = pads[..] else {
        return Err(format!(
            "pads {pads:?} are not spatial padding of an NCHW tensor"
        ));
    };
    if [top, left, bottom, right].iter().any(|&v| v < 0) {
        return Err(format!("pads {pads:?} crop"));
    }
    if value != zero_point {
        return Err(format!(
            "the padding value {value} is not the convolution's input zero point {zero_point}"
        ));
    }
    let c = g.node(conv).as_op().ok_or("not an op")?;
    if c.attr_str("auto_pad")
        .map_err(|e| e.to_string())?
        .is_some_and(|a| a != "NOTSET")
    {
        return Err("the convolution pads automatically (auto_pad)".into());
    }
    let old = c
        .attr_ints("pads")
        .map_err(|e| e.to_string())?
        .map_or_else(|| vec![0; 4], <[i64]>::to_vec);
    if old.len() != 4 {
        return Err(format!("the convolution's pads {old:?} are not 2-D"));
    }
    let conv_name = g.node(conv).display_name();
    let x = g.input(pad, 0).ok_or("the Pad has no input")?;
    let attrs_before = c.proto().attribute.clone();
    let new = [old[0] + top, old[1] + left, old[2] + bottom, old[3] + right];
    let set_attrs = |g: &mut Graph, attrs: Vec<crate::proto::AttributeProto>| {
        if let Some(op) = g.node_mut(conv).as_op_mut() {
            *op.attrs_mut() = attrs;
        }
    };
    let mut attrs: Vec<_> = attrs_before
        .iter()
        .filter(|a| a.name() != "pads")
        .cloned()
        .collect();
    attrs.push(crate::ir::attrs::ints("pads", &new));
    set_attrs(g, attrs);
    g.set_input(conv, 0, Some(x));
    let verdict = target.judge(g, conv).verdict;
    if !verdict.runs_on_npu() {
        set_attrs(g, attrs_before);
        g.set_input(conv, 0, Some(out));
        return Err(format!(
            "the padded convolution '{conv_name}' would not run on the NPU: {} {}",
            verdict.reason, verdict.details
        ));
    }
    g.remove_node(pad);
    Ok(Some(conv_name))
}
