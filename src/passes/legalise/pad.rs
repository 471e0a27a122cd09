//! A constant Pad whose value is a convolution's input zero point becomes that convolution's
//! padding (the convolution pads with its input zero point: bit-exact).

use crate::ir::consts::constant;
use crate::ir::{Graph, NodeId, Op, Port, ValueId};
use crate::target::Target;

/// Folds the constant Pad `pad` into the padding of the QLinearConv it alone feeds; returns the
/// convolution's name, `None` when the Pad does not feed one, or why it cannot be folded.
pub(super) fn fold_pad_into_conv(
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
