//! ONNX quantization ops: QuantizeLinear, DequantizeLinear (per tensor, per axis, blocked), and
//! the integer QLinearConv / QLinearMatMul.
//!
//! Rounding is the specification's: `saturate(round_half_to_even(x / scale) + zero_point)`, the
//! division done in f32 as ONNX Runtime's MLAS does. Integer accumulations run in f64, where
//! they are exact, through the float Conv and MatMul kernels; the requantization multiplier
//! `x_scale·w_scale / y_scale` is formed in the scales' own precision, as the reference does.

use half::{bf16, f16};

use super::conv::{conv_core, ConvAttrs};
use super::matmul::matmul_float;
use super::misc::cast;
use super::{axis, broadcast, strides, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, Data, Tensor};
use crate::ir::DType;

type Out = Result<Vec<Tensor>, Fail>;

/// The value range of a quantized type.
pub(super) fn quant_range(dt: DType) -> Result<(f64, f64), Fail> {
    Ok(match dt {
        DType::U8 => (0.0, 255.0),
        DType::I8 => (-128.0, 127.0),
        DType::U16 => (0.0, 65535.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::I32 => (i32::MIN as f64, i32::MAX as f64),
        other => {
            return Err(Fail::unsupported(format!(
                "quantization to {other} is not supported by the evaluator"
            )))
        }
    })
}

/// `saturate(round_half_to_even(v) + zero_point)` into `dt`'s range.
pub(super) fn saturate(v: f64, zero_point: f64, (lo, hi): (f64, f64)) -> f64 {
    (v.round_ties_even() + zero_point).clamp(lo, hi)
}

/// How scale and zero point map onto the elements of the quantized tensor.
struct Params {
    scale: Vec<f32>,
    zero_point: Vec<f64>,
    /// For each element, its parameter index; `None` when per tensor.
    index: Option<Vec<usize>>,
}

impl Params {
    fn at(&self, i: usize) -> (f32, f64) {
        let p = self.index.as_ref().map_or(0, |idx| idx[i]);
        (self.scale[p], self.zero_point[p])
    }
}

/// Reads scale and zero point (inputs 1 and 2) for a tensor of `shape`: one value, one per
/// index of `axis`, or one per block of `block_size` along `axis`.
fn params(ctx: &Ctx, shape: &[usize]) -> Result<Params, Fail> {
    let scale_t = ctx.input(1)?;
    let scale: Vec<f32> = scale_t
        .to_f64s("scale")?
        .iter()
        .map(|&s| s as f32)
        .collect();
    let zero_point = match ctx.opt(2) {
        Some(z) => {
            if z.len() != scale_t.len() {
                return Err(Fail::invalid(format!(
                    "zero point of shape {:?} for a scale of shape {:?}",
                    z.shape(),
                    scale_t.shape()
                )));
            }
            z.to_f64s("zero point")?
        }
        None => vec![0.0; scale.len()],
    };
    let block = ctx.int("block_size", 0)?;
    if scale.len() == 1 && scale_t.rank() <= 1 && block == 0 {
        return Ok(Params {
            scale,
            zero_point,
            index: None,
        });
    }
    let ax = axis(ctx.int("axis", 1)?, shape.len())?;
    let index = if block > 0 {
        let block = block as usize;
        let ps = scale_t.shape();
        let fits = ps.len() == shape.len()
            && (0..shape.len()).all(|d| {
                if d == ax {
                    ps[d] == shape[d].div_ceil(block)
                } else {
                    ps[d] == shape[d]
                }
            });
        if !fits {
            return Err(Fail::invalid(format!(
                "blocked scale of shape {ps:?} does not fit input {shape:?} with block_size {block} on axis {ax}"
            )));
        }
        let (xs, pst) = (strides(shape), strides(ps));
        let mut other = strides(ps);
        other[ax] = 0;
        let mut idx = Vec::with_capacity(numel(shape)?);
        let mut flat = 0;
        broadcast::walk(shape, [&other], |[o]| {
            let c = (flat / xs[ax]) % shape[ax];
            idx.push(o + (c / block) * pst[ax]);
            flat += 1;
        });
        idx
    } else {
        if scale_t.rank() != 1 || scale.len() != shape[ax] {
            return Err(Fail::invalid(format!(
                "scale of shape {:?} is neither per tensor nor per axis {ax} of {shape:?}",
                scale_t.shape()
            )));
        }
        let mut p = vec![1; shape.len()];
        p[ax] = shape[ax];
        let mut idx = Vec::with_capacity(numel(shape)?);
        broadcast::walk(shape, [&broadcast::strides_in(&p, shape)], |[o]| {
            idx.push(o)
        });
        idx
    };
    Ok(Params {
        scale,
        zero_point,
        index: Some(index),
    })
}

fn output_dtype(ctx: &Ctx) -> Result<Option<DType>, Fail> {
    match ctx.int("output_dtype", 0)? {
        0 => Ok(None),
        code => Ok(Some(DType::from_onnx(code as i32))),
    }
}

pub(super) fn quantize_linear(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let p = params(ctx, x.shape())?;
    let to = match (ctx.opt(2), output_dtype(ctx)?) {
        (Some(z), _) => z.dtype(),
        (None, Some(dt)) => dt,
        (None, None) => DType::U8,
    };
    let range = quant_range(to)?;
    let v = x.to_f64s("x")?;
    let q: Vec<f64> = v
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let (s, z) = p.at(i);
            saturate(((a as f32) / s) as f64, z, range)
        })
        .collect();
    Ok(vec![cast(&Tensor::from_vec(x.shape().to_vec(), q)?, to)?])
}

pub(super) fn dequantize_linear(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    if !matches!(
        x.dtype(),
        DType::U8 | DType::I8 | DType::U16 | DType::I16 | DType::I32
    ) {
        return Err(Fail::unsupported(format!(
            "dequantization of {} is not supported by the evaluator",
            x.dtype()
        )));
    }
    let p = params(ctx, x.shape())?;
    let to = output_dtype(ctx)?.unwrap_or(ctx.input(1)?.dtype());
    let v = x.to_f64s("x")?;
    let y: Vec<f32> = v
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let (s, z) = p.at(i);
            (a - z) as f32 * s
        })
        .collect();
    Ok(vec![Tensor::from_floats(x.shape().to_vec(), y, to)?])
}

/// The requantization multiplier `a_scale · b_scale / y_scale` in the scales' precision.
fn multiplier(a: f64, b: f64, y: f64, dt: DType) -> f64 {
    match dt {
        DType::F16 => {
            let h = |v: f64| f16::from_f64(v);
            (h(a) * h(b) / h(y)).to_f64()
        }
        DType::BF16 => {
            let h = |v: f64| bf16::from_f64(v);
            (h(a) * h(b) / h(y)).to_f64()
        }
        DType::F64 => a * b / y,
        _ => (a as f32 * b as f32 / y as f32) as f64,
    }
}

/// A scalar (one-element) parameter input.
fn scalar(ctx: &Ctx, i: usize, what: &str) -> Result<f64, Fail> {
    match ctx.input(i)?.to_f64s(what)?[..] {
        [v] => Ok(v),
        _ => Err(Fail::invalid(format!("{what} must hold one value"))),
    }
}

/// A parameter with one value or one per channel.
fn per_channel(ctx: &Ctx, i: usize, what: &str, channels: usize) -> Result<Vec<f64>, Fail> {
    let Some(t) = ctx.opt(i) else {
        return Ok(vec![0.0; channels]);
    };
    let v = t.to_f64s(what)?;
    match v.len() {
        1 => Ok(vec![v[0]; channels]),
        n if n == channels => Ok(v),
        n => Err(Fail::invalid(format!(
            "{what} has {n} values for {channels} channels"
        ))),
    }
}

/// Integer values minus their zero points, as f64.
fn centered(t: &Tensor, zero_points: impl Fn(usize) -> f64, what: &str) -> Result<Vec<f64>, Fail> {
    if !matches!(
        t.data(),
        Data::U8(_) | Data::I8(_) | Data::U16(_) | Data::I16(_)
    ) {
        return Err(Fail::invalid(format!(
            "{what} must be 8- or 16-bit integers, got {}",
            t.dtype()
        )));
    }
    Ok(t.to_f64s(what)?
        .iter()
        .enumerate()
        .map(|(i, &v)| v - zero_points(i))
        .collect())
}

fn output_type(ctx: &Ctx, zp_input: usize, x: &Tensor) -> DType {
    ctx.opt(zp_input).map_or(x.dtype(), Tensor::dtype)
}

pub(super) fn qlinear_conv(ctx: &Ctx) -> Out {
    let (x, w) = (ctx.input(0)?, ctx.input(3)?);
    let m = *w
        .shape()
        .first()
        .ok_or_else(|| Fail::invalid("weights must have rank 3 or more"))?;
    let x_zp = match ctx.opt(2) {
        Some(_) => scalar(ctx, 2, "x_zero_point")?,
        None => 0.0,
    };
    let w_zp = per_channel(ctx, 5, "w_zero_point", m)?;
    let per_m = w.len() / m.max(1);
    let xv = centered(x, |_| x_zp, "x")?;
    let wv = centered(w, |i| w_zp[i / per_m.max(1)], "w")?;
    let bias = ctx.opt(8).map(|b| b.to_f64s("B")).transpose()?;
    let (shape, acc) = conv_core(
        &xv,
        x.shape(),
        &wv,
        w.shape(),
        bias.as_deref(),
        &ConvAttrs::read(ctx)?,
    )?;
    let (x_scale, y_scale) = (scalar(ctx, 1, "x_scale")?, scalar(ctx, 6, "y_scale")?);
    let w_scale = per_channel(ctx, 4, "w_scale", m)?;
    let dt = ctx.input(1)?.dtype();
    let mult: Vec<f64> = w_scale
        .iter()
        .map(|&s| multiplier(x_scale, s, y_scale, dt))
        .collect();
    let y_zp = match ctx.opt(7) {
        Some(_) => scalar(ctx, 7, "y_zero_point")?,
        None => 0.0,
    };
    let to = output_type(ctx, 7, x);
    let range = quant_range(to)?;
    let plane = numel(&shape[2..])?;
    let q: Vec<f64> = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| saturate(a * mult[(i / plane.max(1)) % m], y_zp, range))
        .collect();
    Ok(vec![cast(&Tensor::from_vec(shape, q)?, to)?])
}

pub(super) fn qlinear_matmul(ctx: &Ctx) -> Out {
    let (a, b) = (ctx.input(0)?, ctx.input(3)?);
    let n = *b
        .shape()
        .last()
        .ok_or_else(|| Fail::invalid("b must have rank 1 or more"))?;
    let a_zp = match ctx.opt(2) {
        Some(_) => scalar(ctx, 2, "a_zero_point")?,
        None => 0.0,
    };
    let b_zp = per_channel(ctx, 5, "b_zero_point", n)?;
    let av = centered(a, |_| a_zp, "a")?;
    let bv = centered(b, |i| b_zp[i % n.max(1)], "b")?;
    let (shape, acc) = matmul_float(&av, a.shape(), &bv, b.shape())?;
    let (a_scale, y_scale) = (scalar(ctx, 1, "a_scale")?, scalar(ctx, 6, "y_scale")?);
    let b_scale = per_channel(ctx, 4, "b_scale", n)?;
    let dt = ctx.input(1)?.dtype();
    let mult: Vec<f64> = b_scale
        .iter()
        .map(|&s| multiplier(a_scale, s, y_scale, dt))
        .collect();
    let y_zp = match ctx.opt(7) {
        Some(_) => scalar(ctx, 7, "y_zero_point")?,
        None => 0.0,
    };
    let to = output_type(ctx, 7, a);
    let range = quant_range(to)?;
    let out_n = if b.rank() == 1 { 1 } else { n };
    let q: Vec<f64> = acc
        .iter()
        .enumerate()
        .map(|(i, &v)| saturate(v * mult[i % out_n], y_zp, range))
        .collect();
    Ok(vec![cast(&Tensor::from_vec(shape, q)?, to)?])
}

/// DynamicQuantizeLinear: uint8 quantization with the scale and zero point that map the
/// input's range (widened to include 0) onto [0, 255], computed in f32 as the reference does.
pub(super) fn dynamic_quantize_linear(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let v: Vec<f32> = x.floats::<f32>("x")?.into_owned();
    let max = v.iter().copied().fold(0f32, f32::max);
    let min = v.iter().copied().fold(0f32, f32::min);
    let scale = if max == min { 1.0 } else { max - min } / 255.0;
    let zero_point = (0.0 - min / scale).clamp(0.0, 255.0).round_ties_even();
    let range = (0.0, 255.0);
    let q: Vec<f64> = v
        .iter()
        .map(|&a| saturate((a / scale) as f64, zero_point as f64, range))
        .collect();
    Ok(vec![
        cast(&Tensor::from_vec(x.shape().to_vec(), q)?, DType::U8)?,
        Tensor::from_floats(Vec::new(), vec![scale], x.dtype())?,
        cast(&Tensor::scalar(zero_point), DType::U8)?,
    ])
}

/// A zero point input that is a scalar or has one value per `count` rows/columns.
fn zero_points(ctx: &Ctx, i: usize, what: &str, count: usize) -> Result<Vec<f64>, Fail> {
    per_channel(ctx, i, what, count)
}

/// MatMulInteger: `(A − a_zp)·(B − b_zp)` in int32; `a_zp` per row or scalar, `b_zp` per
/// column or scalar.
pub(super) fn matmul_integer(ctx: &Ctx) -> Out {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let (&m, &n) = match (a.shape(), b.shape()) {
        ([.., m, _], [.., n]) => (m, n),
        ([_], [.., n]) => (&1, n),
        _ => {
            return Err(Fail::invalid(
                "MatMulInteger operands must have rank 1 or more",
            ))
        }
    };
    let k = *a.shape().last().unwrap_or(&1);
    let a_zp = zero_points(ctx, 2, "a_zero_point", m)?;
    let b_zp = zero_points(ctx, 3, "b_zero_point", n)?;
    let av = centered(a, |i| a_zp[(i / k.max(1)) % m.max(1)], "A")?;
    let bv = centered(b, |i| b_zp[i % n.max(1)], "B")?;
    let (shape, acc) = matmul_float(&av, a.shape(), &bv, b.shape())?;
    Ok(vec![cast(&Tensor::from_vec(shape, acc)?, DType::I32)?])
}

/// ConvInteger: the convolution of `x − x_zp` and `w − w_zp` (per output channel or scalar),
/// in int32.
pub(super) fn conv_integer(ctx: &Ctx) -> Out {
    let (x, w) = (ctx.input(0)?, ctx.input(1)?);
    let m = *w
        .shape()
        .first()
        .ok_or_else(|| Fail::invalid("weights must have rank 3 or more"))?;
    let x_zp = match ctx.opt(2) {
        Some(_) => scalar(ctx, 2, "x_zero_point")?,
        None => 0.0,
    };
    let w_zp = per_channel(ctx, 3, "w_zero_point", m)?;
    let per_m = (w.len() / m.max(1)).max(1);
    let xv = centered(x, |_| x_zp, "x")?;
    let wv = centered(w, |i| w_zp[i / per_m], "w")?;
    let (shape, acc) = conv_core(&xv, x.shape(), &wv, w.shape(), None, &ConvAttrs::read(ctx)?)?;
    Ok(vec![cast(&Tensor::from_vec(shape, acc)?, DType::I32)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_to_even_then_saturating() {
        let r = quant_range(DType::U8).unwrap();
        assert_eq!(saturate(2.5, 0.0, r), 2.0);
        assert_eq!(saturate(3.5, 0.0, r), 4.0);
        assert_eq!(saturate(-0.5, 0.0, r), 0.0);
        assert_eq!(saturate(300.0, 0.0, r), 255.0);
        assert_eq!(
            saturate(-1.5, 128.0, quant_range(DType::I8).unwrap()),
            126.0
        );
        assert!(quant_range(DType::F8E4M3FN).is_err());
    }

    #[test]
    fn multiplier_uses_the_scales_precision() {
        let f = multiplier(0.1, 0.2, 0.3, DType::F32);
        assert_eq!(f, (0.1f32 * 0.2f32 / 0.3f32) as f64);
        let h = multiplier(0.1, 0.2, 0.3, DType::F16);
        assert_ne!(h, f);
    }
}
