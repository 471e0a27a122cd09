//! Sliding-window ops: `Conv`, `ConvTranspose`, `MaxPool`, `AveragePool`, `GlobalAveragePool`
//! (and the shape helpers their quantized forms share).
//!
//! Output sizes follow the ONNX operator specs: `floor((D + pads - ((k-1)*d + 1)) / s) + 1`, ceil
//! instead of floor with `ceil_mode` (dropping a last window that would start in the end padding,
//! as the spec and ONNX Runtime do), `ceil(D / s)` for `SAME_*`. The batch dim passes through, and a
//! symbolic spatial dim survives a window that keeps sizes (1×1 stride 1 unpadded, or `SAME`
//! stride 1).

use std::ops::Range;

use super::cx::Cx;
use super::dims::{self, show};
use crate::ir::op::Op;
use crate::ir::types::{DType, Dim};

/// Where the channel axis of an image tensor is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `N, C, D1, …, Dn`
    ChannelsFirst,
    /// `N, D1, …, Dn, C` (the `channels_last` attribute of ONNX Runtime's QLinear pools)
    ChannelsLast,
}

impl Layout {
    fn spatial(self, rank: usize) -> Range<usize> {
        match self {
            Layout::ChannelsFirst => 2..rank,
            Layout::ChannelsLast => 1..rank - 1,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AutoPad {
    NotSet,
    Valid,
    Same,
}

/// A window's geometry along every spatial axis.
struct Window {
    kernel: Vec<i64>,
    strides: Vec<i64>,
    dilations: Vec<i64>,
    /// `[x1_begin, x2_begin, …, x1_end, x2_end, …]`
    pads: Vec<i64>,
    auto_pad: AutoPad,
    ceil: bool,
}

/// A per-axis attribute of `n` values, or `default` on every axis.
fn spatial_attr(cx: &Cx, name: &str, n: usize, default: i64) -> Result<Vec<i64>, String> {
    match cx.attr_ints(name)? {
        Some(v) if v.len() == n => Ok(v.to_vec()),
        Some(v) => Err(format!(
            "attribute '{name}' has {} values, the input has {n} spatial axes",
            v.len()
        )),
        None => Ok(vec![default; n]),
    }
}

fn at_least(name: &str, values: &[i64], min: i64) -> Result<(), String> {
    match values.iter().find(|&&v| v < min) {
        Some(v) => Err(format!("{name} {values:?}: {v} is below {min}")),
        None => Ok(()),
    }
}

impl Window {
    fn read(cx: &Cx, kernel: Vec<i64>) -> Result<Window, String> {
        let n = kernel.len();
        at_least("kernel shape", &kernel, 1)?;
        let strides = spatial_attr(cx, "strides", n, 1)?;
        at_least("strides", &strides, 1)?;
        let dilations = spatial_attr(cx, "dilations", n, 1)?;
        at_least("dilations", &dilations, 1)?;
        let pads = spatial_attr(cx, "pads", 2 * n, 0)?;
        at_least("pads", &pads, 0)?;
        let auto_pad = match cx.str_or("auto_pad", "NOTSET")? {
            "NOTSET" => AutoPad::NotSet,
            "VALID" => AutoPad::Valid,
            "SAME_UPPER" | "SAME_LOWER" => AutoPad::Same,
            other => return Err(format!("attribute 'auto_pad': unknown value '{other}'")),
        };
        let ceil = cx.int_or("ceil_mode", 0)? != 0;
        Ok(Window {
            kernel,
            strides,
            dilations,
            pads,
            auto_pad,
            ceil,
        })
    }

    fn n(&self) -> usize {
        self.kernel.len()
    }

    /// `(k - 1) * d + 1`
    fn extent(&self, i: usize) -> Result<i64, String> {
        dims::add(dims::mul(self.kernel[i] - 1, self.dilations[i])?, 1)
    }

    /// Explicit padding `(begin, end)` on axis `i` (zero unless `NOTSET`).
    fn pad(&self, i: usize) -> (i64, i64) {
        match self.auto_pad {
            AutoPad::NotSet => (self.pads[i], self.pads[i + self.n()]),
            _ => (0, 0),
        }
    }

    /// Is the window the identity on sizes along axis `i`?
    fn keeps_size(&self, i: usize) -> Result<bool, String> {
        let s1 = self.strides[i] == 1;
        Ok(match self.auto_pad {
            AutoPad::Same => s1,
            _ => s1 && self.extent(i)? == 1 && self.pad(i) == (0, 0),
        })
    }

    /// Output size along spatial axis `i` for input size `input`.
    fn output(&self, i: usize, input: &Dim) -> Result<Dim, String> {
        let Dim::Known(d) = *input else {
            return Ok(if self.keeps_size(i)? {
                input.clone()
            } else {
                Dim::Unknown
            });
        };
        let s = self.strides[i];
        if self.auto_pad == AutoPad::Same {
            return Ok(Dim::Known(dims::add(d, s - 1)? / s));
        }
        let eff = self.extent(i)?;
        let (begin, end) = self.pad(i);
        let total = dims::add(dims::add(d, begin)?, end)?;
        if total < eff {
            return Err(format!(
                "spatial axis {i}: input size {d} with padding {begin}+{end} is smaller than the \
                 kernel extent {eff}"
            ));
        }
        let span = total - eff;
        if !self.ceil {
            return Ok(Dim::Known(span / s + 1));
        }
        let mut out = dims::add(span, s - 1)? / s + 1;
        // The last window must start inside the input or the begin padding.
        if (out - 1) * s >= dims::add(d, begin)? {
            out -= 1;
        }
        Ok(Dim::Known(out))
    }
}

/// `Conv`: `[N, M, spatial…]` from input `x` and weight `w` (`[M, C/group, k…]`).
pub fn conv(cx: &mut Cx) -> Result<(), String> {
    let shape = conv_shape(cx, 0, 1)?;
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// The kernel: the attribute, else the weight's spatial dims (`None` when neither is known).
fn kernel(cx: &Cx, weight: Option<&[Dim]>, n: usize) -> Result<Option<Vec<i64>>, String> {
    let from_weight: Option<Vec<i64>> =
        weight.and_then(|w| w.get(2..)?.iter().map(Dim::known).collect());
    let Some(k) = cx.attr_ints("kernel_shape")? else {
        return Ok(from_weight);
    };
    if k.len() != n {
        return Err(format!(
            "attribute 'kernel_shape' has {} values, the input has {n} spatial axes",
            k.len()
        ));
    }
    if let Some(w) = weight {
        if w[2..]
            .iter()
            .zip(k)
            .any(|(d, &k)| !d.compatible(&Dim::Known(k)))
        {
            return Err(format!(
                "attribute 'kernel_shape' {k:?} contradicts the weight shape {}",
                show(w)
            ));
        }
    }
    Ok(Some(k.to_vec()))
}

/// The input shape and (when known) the weight shape of a convolution.
type ConvOperands<'a> = (&'a [Dim], Option<&'a [Dim]>);

/// Input and weight shapes of a convolution, checked for rank.
fn conv_operands<'a>(cx: &Cx<'a>, x: usize, w: usize) -> Result<Option<ConvOperands<'a>>, String> {
    let Some(xs) = cx.shape(x) else {
        return Ok(None);
    };
    if xs.len() < 3 {
        return Err(format!("input rank {} is below 3", xs.len()));
    }
    let ws = cx.shape(w);
    if let Some(ws) = ws.filter(|ws| ws.len() != xs.len()) {
        return Err(format!(
            "weight rank {} differs from input rank {}",
            ws.len(),
            xs.len()
        ));
    }
    Ok(Some((xs, ws)))
}

fn group(cx: &Cx) -> Result<i64, String> {
    let group = cx.int_or("group", 1)?;
    if group < 1 {
        return Err(format!("attribute 'group': {group} is below 1"));
    }
    Ok(group)
}

/// The output shape of a `Conv` (or `QLinearConv`) with input `x` and weight `w`.
pub fn conv_shape(cx: &Cx, x: usize, w: usize) -> Result<Option<Vec<Dim>>, String> {
    let Some((xs, ws)) = conv_operands(cx, x, w)? else {
        return Ok(None);
    };
    let n = xs.len() - 2;
    let group = group(cx)?;
    let out_channels = ws.map_or(Dim::Unknown, |w| w[0].clone());
    if let Some(ws) = ws {
        if let (Dim::Known(c), Dim::Known(wc)) = (&xs[1], &ws[1]) {
            if *c != dims::mul(*wc, group)? {
                return Err(format!(
                    "input has {c} channels, the weight expects {wc} per group × {group} groups"
                ));
            }
        }
    }
    if let Dim::Known(m) = out_channels {
        if m % group != 0 {
            return Err(format!(
                "{m} output channels are not divisible by {group} groups"
            ));
        }
    }
    let mut out = vec![xs[0].clone(), out_channels];
    let Some(k) = kernel(cx, ws, n)? else {
        out.extend(std::iter::repeat_n(Dim::Unknown, n));
        return Ok(Some(out));
    };
    let win = Window::read(cx, k)?;
    for (i, d) in xs[2..].iter().enumerate() {
        out.push(win.output(i, d)?);
    }
    Ok(Some(out))
}

/// `ConvTranspose`: `[N, W[1] * group, spatial…]`, spatial from `output_shape` or
/// `s * (D - 1) + output_padding + ((k - 1) * d + 1) - pads` (`D * s` with `SAME_*`).
pub fn conv_transpose(cx: &mut Cx) -> Result<(), String> {
    let shape = conv_transpose_shape(cx)?;
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

fn conv_transpose_shape(cx: &Cx) -> Result<Option<Vec<Dim>>, String> {
    let Some((xs, ws)) = conv_operands(cx, 0, 1)? else {
        return Ok(None);
    };
    let n = xs.len() - 2;
    let group = group(cx)?;
    if let Some(ws) = ws {
        if !xs[1].compatible(&ws[0]) {
            return Err(format!(
                "input has {} channels, the weight expects {}",
                xs[1], ws[0]
            ));
        }
    }
    let out_channels = match ws {
        Some(w) => dims::scale(&w[1], group)?,
        None => Dim::Unknown,
    };
    let mut out = vec![xs[0].clone(), out_channels];
    if let Some(shape) = cx.attr_ints("output_shape")? {
        let spatial = match shape.len() {
            len if len == n => shape,
            len if len == n + 2 => &shape[2..],
            len => {
                return Err(format!(
                    "attribute 'output_shape' has {len} values, the input has {n} spatial axes"
                ))
            }
        };
        at_least("output shape", spatial, 0)?;
        out.extend(spatial.iter().map(|&d| Dim::Known(d)));
        return Ok(Some(out));
    }
    let Some(k) = kernel(cx, ws, n)? else {
        out.extend(std::iter::repeat_n(Dim::Unknown, n));
        return Ok(Some(out));
    };
    let win = Window::read(cx, k)?;
    let output_padding = spatial_attr(cx, "output_padding", n, 0)?;
    at_least("output padding", &output_padding, 0)?;
    for (i, d) in xs[2..].iter().enumerate() {
        let s = win.strides[i];
        let (begin, end) = win.pad(i);
        let o = match d {
            Dim::Known(d) if win.auto_pad == AutoPad::Same => Dim::Known(dims::mul(*d, s)?),
            Dim::Known(d) => {
                let grown = dims::add(dims::mul(s, dims::add(*d, -1)?)?, output_padding[i])?;
                let size = dims::add(dims::add(grown, win.extent(i)?)?, -dims::add(begin, end)?)?;
                if size < 0 {
                    return Err(format!(
                        "spatial axis {i}: the output size {size} is negative"
                    ));
                }
                Dim::Known(size)
            }
            _ if win.keeps_size(i)? && output_padding[i] == 0 => d.clone(),
            _ => Dim::Unknown,
        };
        out.push(o);
    }
    Ok(Some(out))
}

/// `MaxPool` (with its optional i64 `Indices`), `AveragePool`.
pub fn pool(cx: &mut Cx) -> Result<(), String> {
    let shape = pool_shape(cx, Layout::ChannelsFirst)?;
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape.clone());
    }
    if cx.op() == Op::MaxPool {
        cx.set_shape(1, DType::I64, shape);
    }
    Ok(())
}

/// The output shape of a pooling op over input 0.
pub fn pool_shape(cx: &Cx, layout: Layout) -> Result<Option<Vec<Dim>>, String> {
    let Some(xs) = cx.shape(0) else {
        return Ok(None);
    };
    if xs.len() < 3 {
        return Err(format!("input rank {} is below 3", xs.len()));
    }
    let k = cx
        .attr_ints("kernel_shape")?
        .ok_or("attribute 'kernel_shape' is missing")?;
    let spatial = layout.spatial(xs.len());
    if k.len() != spatial.len() {
        return Err(format!(
            "attribute 'kernel_shape' has {} values, the input has {} spatial axes",
            k.len(),
            spatial.len()
        ));
    }
    let win = Window::read(cx, k.to_vec())?;
    let mut out = xs.to_vec();
    for (i, axis) in spatial.enumerate() {
        out[axis] = win.output(i, &xs[axis])?;
    }
    Ok(Some(out))
}

/// `GlobalAveragePool`: every spatial dim becomes 1.
pub fn global_pool(cx: &mut Cx) -> Result<(), String> {
    let shape = global_pool_shape(cx, Layout::ChannelsFirst)?;
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// The output shape of a global pooling op over input 0.
pub fn global_pool_shape(cx: &Cx, layout: Layout) -> Result<Option<Vec<Dim>>, String> {
    let Some(xs) = cx.shape(0) else {
        return Ok(None);
    };
    if xs.len() < 2 {
        return Err(format!("input rank {} is below 2", xs.len()));
    }
    let mut out = xs.to_vec();
    for axis in layout.spatial(xs.len()) {
        out[axis] = Dim::Known(1);
    }
    Ok(Some(out))
}
