//! A QLinearMul or QLinearAdd of an activation and a constant that is one number, or one number
//! per channel, becomes a 1×1 depthwise QLinearConv (TVM's ConvertEquivalents): the NPU does not
//! broadcast, but a depthwise convolution applies one weight and one bias per channel.
//! ```text
//! before:  y = QLinearMul(x, sx, zx, c, sc, zc, sy, zy)         x: [N,C,H,W], c: [] or [1,C,1,1]
//! after:   y = QLinearConv(x, sx, zx, w, sc, zc, sy, zy, 0) {group=C}   w: [C,1,1,1] = c's codes
//!
//! before:  y = QLinearAdd(x, sx, zx, c, sc, zc, sy, zy)
//! after:   y = QLinearConv(x, sx, zx, w, 1/K, 0, sy, zy, b) {group=C}   w = K, the largest code
//!          b = round(sc·(c − zc) / (sx/K))
//! ```
//! The multiplication is QLinearMul's own formula, `(sx·sc/sy)(x − zx)(c − zc)`. The addition
//! scales x by exactly K·(1/K) and rounds the constant once more, into the bias: at most sx/(2K)
//! off before the final rounding. TVM picks K near 2 (its `lb`/`ub` recipe); the largest code
//! (255 for uint8, 127 for int8) is 64 to 128 times finer. Neither is assumed: the evaluator runs
//! the node and the convolution on every input code at every channel, and the rewrite is kept only
//! when no output moves by more than 1 LSB and the target runs the convolution.

use super::exhaustive::{largest_difference, node_alone};
use crate::ir::attrs;
use crate::ir::build::{add_const, Namer};
use crate::ir::consts::{constant, ConstData};
use crate::ir::quant::{int_range, params_from_inputs, QuantParams};
use crate::ir::{DType, Graph, NodeId, Op, OpNode, Port, Value, ValueId};
use crate::proto;
use crate::target::Target;

/// Rewrites the QLinearMul or QLinearAdd `id` with exactly one constant operand as a depthwise
/// convolution, when that is within 1 LSB and the target runs it. Returns the note to record,
/// `None` when the node is not such an operation, or why it is not rewritten.
pub(super) fn constant_operand_to_depthwise(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    target: &dyn Target,
) -> Result<Option<String>, String> {
    let Some(plan) = plan(g, id)? else {
        return Ok(None);
    };
    let (original, _) = node_alone(g, id)?;
    let (mut rewritten, alone) = node_alone(g, id)?;
    let mut names = Namer::for_graph(&rewritten);
    let conv = rewrite(&mut rewritten, &mut names, alone, &plan)?;
    let verdict = target.judge(&rewritten, conv).verdict;
    if !verdict.runs_on_npu() {
        return Err(format!(
            "as a depthwise convolution it would still stay on the CPU: {} {}",
            verdict.reason, verdict.details
        ));
    }
    let lsb = largest_difference(&original, &rewritten)?;
    let what = plan.describe();
    if lsb > 1 {
        return Err(format!(
            "as a 1×1 depthwise convolution ({what}) it is {lsb} LSB off for some input code; \
             exact means at most 1"
        ));
    }
    rewrite(g, namer, id, &plan)?;
    let exactness = match lsb {
        0 => "bit-exact".to_string(),
        _ => format!("at most {lsb} LSB from the original"),
    };
    Ok(Some(format!(
        "became a 1×1 depthwise QLinearConv (group {}, {what}): {exactness} over every input \
         code at every channel",
        plan.channels
    )))
}

/// What the convolution is made of, read from the node before anything changes.
struct Plan {
    add: bool,
    /// The slot of the activation operand (0 or 3); the constant is at the other.
    x_slot: u32,
    channels: usize,
    dtype: DType,
    /// One weight code per channel.
    weights: Vec<i64>,
    /// The identity kernel's weight scale (Add), or `None`: the constant's own quantization (Mul).
    identity_scale: Option<f32>,
    bias: Vec<i32>,
}

impl Plan {
    fn describe(&self) -> String {
        if self.add {
            format!(
                "identity weights {} at scale 1/{}, the constant in the bias",
                self.weights[0], self.weights[0]
            )
        } else {
            "the constant as weights".into()
        }
    }
}

/// The plan for `id`, `None` when it is not a QLinearMul/QLinearAdd with exactly one constant
/// operand, or why the constant or the activation do not fit a depthwise convolution.
fn plan(g: &Graph, id: NodeId) -> Result<Option<Plan>, String> {
    let add = match g.node(id).op() {
        Some(Op::QLinearAdd) => true,
        Some(Op::QLinearMul) => false,
        _ => return Ok(None),
    };
    let operand = |slot| g.input(id, slot).map(|v| (v, constant(g, v)));
    let (x_slot, c_slot, x, c) = match (operand(0), operand(3)) {
        (Some((x, None)), Some((_, Some(c)))) => (0, 3, x, c),
        (Some((_, Some(c))), Some((x, None))) => (3, 0, x, c),
        _ => return Ok(None),
    };
    let out = ValueId { node: id, slot: 0 };
    if g.uses(out).iter().any(|(_, p)| *p == Port::Capture) {
        return Err("a subgraph reads the output by name".into());
    }
    let x_value = g.value(x);
    let x_dims = x_value
        .ty
        .as_ref()
        .and_then(|t| t.static_dims())
        .filter(|d| d.len() == 4)
        .ok_or_else(|| {
            let ty = x_value
                .ty
                .as_ref()
                .map_or("of unknown type".into(), |t| t.to_string());
            format!(
                "the activation '{}' is {ty}, not a rank-4 NCHW tensor of static shape",
                x_value.name
            )
        })?;
    let y_dims = g.value(out).ty.as_ref().and_then(|t| t.static_dims());
    if y_dims.as_ref() != Some(&x_dims) {
        return Err(format!(
            "the output's shape {y_dims:?} is not the activation's {x_dims:?}: the constant \
             broadcasts it"
        ));
    }
    let channels = x_dims[1] as usize;
    let codes = per_channel_codes(&c, channels)?;
    let x_dtype = x_value.ty.as_ref().map(|t| t.dtype);
    if !c.dtype.is_quantized_8bit() || x_dtype != Some(c.dtype) {
        return Err(format!(
            "the operands are {} and {}, not the same 8-bit type",
            x_dtype.map_or("?".into(), |d| d.to_string()),
            c.dtype
        ));
    }
    let params = |slot: u32| {
        params_from_inputs(g, g.input(id, slot), g.input(id, slot + 1), None, c.dtype)
            .filter(QuantParams::is_per_tensor)
            .ok_or("the scales and zero points are not per-tensor constants")
    };
    let (xq, cq) = (params(x_slot + 1)?, params(c_slot + 1)?);
    // The output's too: the convolution requantizes to them.
    params(6)?;
    if !add {
        return Ok(Some(Plan {
            add,
            x_slot,
            channels,
            dtype: c.dtype,
            weights: codes,
            identity_scale: None,
            bias: vec![0; channels],
        }));
    }
    let k = int_range(c.dtype).1;
    let scale = 1.0 / k as f32;
    let bias_scale = f64::from(xq.scale[0] * scale);
    let bias = codes
        .iter()
        .map(|&code| {
            let b =
                (f64::from(cq.scale[0]) * (code - cq.zp()) as f64 / bias_scale).round_ties_even();
            i32::try_from(b as i64).map_err(|_| {
                format!(
                    "the constant {code} at scale 1/{k} of the input's does not fit an int32 bias"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Plan {
        add,
        x_slot,
        channels,
        dtype: c.dtype,
        weights: vec![k; channels],
        identity_scale: Some(scale),
        bias,
    }))
}

/// The constant's codes, one per channel: a single number (any shape of one element) repeated, or
/// `[1,C,1,1]` / `[C,1,1]` as given.
fn per_channel_codes(c: &ConstData, channels: usize) -> Result<Vec<i64>, String> {
    let codes = c
        .to_i64()
        .ok_or_else(|| format!("the constant is {}, not integer codes", c.dtype))?;
    let ch = channels as i64;
    if codes.len() == 1 {
        return Ok(vec![codes[0]; channels]);
    }
    if c.dims == [1, ch, 1, 1] || c.dims == [ch, 1, 1] {
        return Ok(codes);
    }
    Err(format!(
        "the constant of shape {:?} is neither one number nor one per channel ([1,{ch},1,1] or \
         [{ch},1,1])",
        c.dims
    ))
}

/// Replaces `id` by the depthwise QLinearConv of `plan`, keeping the model's output tensor name
/// and the node's name; returns the convolution.
fn rewrite(g: &mut Graph, namer: &mut Namer, id: NodeId, plan: &Plan) -> Result<NodeId, String> {
    let out = ValueId { node: id, slot: 0 };
    let y = g.value(out).clone();
    let channels = plan.channels as i64;
    let code_bytes = |codes: &[i64]| codes.iter().map(|&c| c as u8).collect::<Vec<u8>>();
    let weights = add_const(
        g,
        namer.fresh(&format!("{}_weights", y.name)),
        plan.dtype,
        &[channels, 1, 1, 1],
        code_bytes(&plan.weights),
    );
    let c_slot = 3 - plan.x_slot;
    let (w_scale, w_zero_point) = match plan.identity_scale {
        None => (g.input(id, c_slot + 1), g.input(id, c_slot + 2)),
        Some(scale) => (
            Some(add_const(
                g,
                namer.fresh(&format!("{}_weight_scale", y.name)),
                DType::F32,
                &[],
                scale.to_le_bytes().to_vec(),
            )),
            Some(add_const(
                g,
                namer.fresh(&format!("{}_weight_zero_point", y.name)),
                plan.dtype,
                &[],
                vec![0],
            )),
        ),
    };
    let bias = add_const(
        g,
        namer.fresh(&format!("{}_bias", y.name)),
        DType::I32,
        &[channels],
        plan.bias.iter().flat_map(|b| b.to_le_bytes()).collect(),
    );
    let x = plan.x_slot;
    let inputs = [
        g.input(id, x),
        g.input(id, x + 1),
        g.input(id, x + 2),
        Some(weights),
        w_scale,
        w_zero_point,
        g.input(id, 6),
        g.input(id, 7),
        Some(bias),
    ];
    let name = g.node(id).as_op().map_or("", |o| o.name()).to_string();
    let conv = g.add_op(
        OpNode::new(
            proto::NodeProto {
                name: Some(name),
                op_type: Some("QLinearConv".into()),
                attribute: vec![
                    attrs::int("group", channels),
                    attrs::ints("kernel_shape", &[1, 1]),
                ],
                ..Default::default()
            },
            0,
        ),
        &inputs,
        vec![Value {
            name: String::new(),
            ..y.clone()
        }],
    );
    let conv_out = ValueId {
        node: conv,
        slot: 0,
    };
    if !g.replace_uses(out, conv_out) {
        return Err("a subgraph reads the output by name".into());
    }
    g.remove_node(id);
    g.value_mut(conv_out).name = y.name;
    Ok(conv)
}
