//! ONNX Runtime's `com.microsoft` QOperator kernels, with ONNX Runtime's arithmetic.
//!
//! These ops have no reference implementation but ONNX Runtime's CPU kernels and MLAS, so the
//! kernels below follow them step by step (x86-64 with AVX2/FMA, the path ONNX Runtime takes on
//! the machines we verify on):
//! - quantization is MLAS's: `clamp(round_half_to_even(x / scale) + zero_point)`, in f32;
//! - QLinearLeakyRelu, QLinearSigmoid and QLinearConcat build a 256-entry table indexed by the
//!   input byte: dequantize (`scale · (q − zp)`), apply the function, quantize. Sigmoid is MLAS's
//!   rational approximation (Eigen's coefficients, evaluated with fused multiply-adds), not
//!   `1/(1+e^−x)`;
//! - QLinearAdd/QLinearMul evaluate MLAS's AVX2 formulas: Add as
//!   `fma(a, sA/sC, fma(b, sB/sC, zpC − (sA/sC·zpA + sB/sC·zpB)))` (a scalar operand is folded
//!   into the constant first), Mul as `(a−zpA)(b−zpB) · (sA·sB/sC) + zpC`, both rounded half to
//!   even and saturated;
//! - QLinearGlobalAveragePool sums integers and requantizes with `sX / (sY · size)`;
//!   QLinearAveragePool dequantizes, averages in f32 (ONNX Runtime's window rules: no dilation,
//!   `count_include_pad` counts the whole kernel) and quantizes `round(avg / sY + zpY)`, falling
//!   back to the global path when the kernel covers the whole input without padding;
//! - QLinearSoftmax follows the `opset` attribute: before 13 the input is 2-D at `axis`
//!   (default 1), from 13 on one axis (default −1). It looks `e^{(q − 255 + shift)·sX}` up in an
//!   f32 table aligned to each row's maximum, sums in f32 and writes
//!   `saturate(round(e · floor(1/sY) / sum) + zpY)` (X's zero point cancels out and is ignored).

use super::misc::cast;
use super::pool::PoolAttrs;
use super::shape::permute;
use super::{axis, broadcast, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, Tensor};
use crate::ir::DType;

type Out = Result<Vec<Tensor>, Fail>;

/// An 8-bit quantized tensor's type and values.
struct Quantized {
    dtype: DType,
    values: Vec<i32>,
}

fn quantized(t: &Tensor, what: &str, allow_u16: bool) -> Result<Quantized, Fail> {
    let ok = matches!(t.dtype(), DType::U8 | DType::I8) || (allow_u16 && t.dtype() == DType::U16);
    if !ok {
        return Err(Fail::invalid(format!(
            "{what} must be uint8 or int8, got {}",
            t.dtype()
        )));
    }
    let values = t.to_i64s(what)?.into_iter().map(|v| v as i32).collect();
    Ok(Quantized {
        dtype: t.dtype(),
        values,
    })
}

fn range(dt: DType) -> (i32, i32) {
    match dt {
        DType::I8 => (-128, 127),
        DType::U16 => (0, 65535),
        _ => (0, 255),
    }
}

/// A one-element scale.
fn scale(ctx: &Ctx, i: usize, what: &str) -> Result<f32, Fail> {
    match ctx.input(i)?.to_f64s(what)?[..] {
        [v] => Ok(v as f32),
        _ => Err(Fail::invalid(format!(
            "{what} must be a scalar or hold one value"
        ))),
    }
}

/// A one-element zero point of type `dt`; 0 when the input is absent.
fn zero_point(ctx: &Ctx, i: usize, what: &str, dt: DType) -> Result<i32, Fail> {
    let Some(t) = ctx.opt(i) else { return Ok(0) };
    if t.dtype() != dt {
        return Err(Fail::invalid(format!(
            "{what} must be {dt}, got {}",
            t.dtype()
        )));
    }
    match t.to_i64s(what)?[..] {
        [v] => Ok(v as i32),
        _ => Err(Fail::invalid(format!(
            "{what} must be a scalar or hold one value"
        ))),
    }
}

/// Rounds half to even and saturates, as MLAS's conversions do.
fn round_sat(v: f32, zp: i32, (lo, hi): (i32, i32)) -> i32 {
    (v.round_ties_even() as i64 + zp as i64).clamp(lo as i64, hi as i64) as i32
}

/// MLAS's QuantizeLinear of one value.
fn mlas_quantize(v: f32, scale: f32, zp: i32, r: (i32, i32)) -> i32 {
    round_sat(v / scale, zp, r)
}

fn output(shape: Vec<usize>, values: Vec<i32>, dt: DType) -> Result<Tensor, Fail> {
    cast(&Tensor::from_vec(shape, values)?, dt)
}

/// Dequantize → `f` → quantize, for all 256 input bytes (indexed by the raw byte).
fn lookup_table(dt: DType, x: (f32, i32), y: (f32, i32), f: impl Fn(f32) -> f32) -> [i32; 256] {
    std::array::from_fn(|byte| {
        let q = if dt == DType::I8 {
            byte as u8 as i8 as i32
        } else {
            byte as i32
        };
        let v = x.0 * (q - x.1) as f32;
        mlas_quantize(f(v), y.0, y.1, range(dt))
    })
}

fn byte(q: i32) -> usize {
    (q as u8) as usize
}

/// The shared form of QLinearLeakyRelu and QLinearSigmoid: X, X_scale, X_zp, Y_scale, Y_zp.
fn lookup_op(ctx: &Ctx, f: impl Fn(f32) -> f32) -> Out {
    let x = ctx.input(0)?;
    let q = quantized(x, "X", false)?;
    let xs = (
        scale(ctx, 1, "X_scale")?,
        zero_point(ctx, 2, "X_zero_point", q.dtype)?,
    );
    let ys = (
        scale(ctx, 3, "Y_scale")?,
        zero_point(ctx, 4, "Y_zero_point", q.dtype)?,
    );
    let table = lookup_table(q.dtype, xs, ys, f);
    let v = q.values.iter().map(|&v| table[byte(v)]).collect();
    Ok(vec![output(x.shape().to_vec(), v, q.dtype)?])
}

pub(super) fn qlinear_leaky_relu(ctx: &Ctx) -> Out {
    let alpha = ctx.float("alpha", 0.01)?;
    lookup_op(ctx, |v| if v >= 0.0 { v } else { alpha * v })
}

pub(super) fn qlinear_sigmoid(ctx: &Ctx) -> Out {
    lookup_op(ctx, mlas_logistic)
}

/// MLAS's logistic function: a rational approximation on [−18, 18] (Eigen's coefficients),
/// evaluated with fused multiply-adds as the FMA3 kernel does.
fn mlas_logistic(x: f32) -> f32 {
    const ALPHA: [f32; 5] = [
        4.370_31e-11,
        1.156_273_2e-7,
        6.085_748_6e-5,
        8.513_771e-3,
        2.482_879_5e-1,
    ];
    const BETA: [f32; 6] = [
        6.102_474e-13,
        5.761_021_4e-9,
        6.291_068e-6,
        1.701_988_2e-3,
        1.168_176_6e-1,
        9.931_519e-1,
    ];
    if x.is_nan() {
        return x;
    }
    let v = x.clamp(-18.0, 18.0);
    let v2 = v * v;
    let p = ALPHA[1..]
        .iter()
        .fold(ALPHA[0], |acc, &a| acc.mul_add(v2, a))
        * v;
    let q = BETA[1..].iter().fold(BETA[0], |acc, &b| acc.mul_add(v2, b));
    (p / q + 0.5).clamp(0.0, 1.0)
}

/// The operands of QLinearAdd/QLinearMul: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp.
struct Binary {
    dtype: DType,
    a: Vec<i32>,
    b: Vec<i32>,
    shape: Vec<usize>,
    a_shape: Vec<usize>,
    b_shape: Vec<usize>,
    sa: f32,
    za: i32,
    sb: f32,
    zb: i32,
    sc: f32,
    zc: i32,
}

fn binary_operands(ctx: &Ctx, allow_u16: bool) -> Result<Binary, Fail> {
    let (at, bt) = (ctx.input(0)?, ctx.input(3)?);
    let a = quantized(at, "A", allow_u16)?;
    let b = quantized(bt, "B", allow_u16)?;
    if a.dtype != b.dtype {
        return Err(Fail::invalid(format!(
            "A is {} but B is {}",
            a.dtype, b.dtype
        )));
    }
    let dt = a.dtype;
    Ok(Binary {
        dtype: dt,
        shape: broadcast::shape(&[at.shape(), bt.shape()])?,
        a_shape: at.shape().to_vec(),
        b_shape: bt.shape().to_vec(),
        a: a.values,
        b: b.values,
        sa: scale(ctx, 1, "A_scale")?,
        za: zero_point(ctx, 2, "A_zero_point", dt)?,
        sb: scale(ctx, 4, "B_scale")?,
        zb: zero_point(ctx, 5, "B_zero_point", dt)?,
        sc: scale(ctx, 6, "C_scale")?,
        zc: zero_point(ctx, 7, "C_zero_point", dt)?,
    })
}

impl Binary {
    fn map(&self, f: impl Fn(i32, i32) -> i32) -> Result<Tensor, Fail> {
        let (shape, v) =
            broadcast::zip2(&self.a, &self.a_shape, &self.b, &self.b_shape, |&a, &b| {
                f(a, b)
            })?;
        debug_assert_eq!(shape, self.shape);
        output(shape, v, self.dtype)
    }
}

pub(super) fn qlinear_add(ctx: &Ctx) -> Out {
    let o = binary_operands(ctx, true)?;
    let (rac, rbc) = (o.sa / o.sc, o.sb / o.sc);
    let fixed = o.zc as f32 - (rac * o.za as f32 + rbc * o.zb as f32);
    let r = range(o.dtype);
    let y = match (o.a.len(), o.b.len()) {
        (1, _) => {
            let f = fixed + o.a[0] as f32 * rac;
            o.map(|_, b| round_sat((b as f32).mul_add(rbc, f), 0, r))?
        }
        (_, 1) => {
            let f = fixed + o.b[0] as f32 * rbc;
            o.map(|a, _| round_sat((a as f32).mul_add(rac, f), 0, r))?
        }
        _ => o.map(|a, b| {
            round_sat(
                (a as f32).mul_add(rac, (b as f32).mul_add(rbc, fixed)),
                0,
                r,
            )
        })?,
    };
    Ok(vec![y])
}

pub(super) fn qlinear_mul(ctx: &Ctx) -> Out {
    let o = binary_operands(ctx, false)?;
    let ratio = o.sa * o.sb / o.sc;
    let r = range(o.dtype);
    let y =
        o.map(|a, b| round_sat(((a - o.za) * (b - o.zb)) as f32 * ratio + o.zc as f32, 0, r))?;
    Ok(vec![y])
}

/// QLinearConcat: Y_scale, Y_zp, then (X, X_scale, X_zp) per input; each input is requantized
/// through a lookup table into Y's parameters, then concatenated along `axis`.
pub(super) fn qlinear_concat(ctx: &Ctx) -> Out {
    if ctx.arity() < 5 || (ctx.arity() - 2) % 3 != 0 {
        return Err(Fail::invalid(
            "inputs must be Y_scale, Y_zero_point and (X, X_scale, X_zero_point) triples",
        ));
    }
    let y_zp_t = ctx.input(1)?;
    let dt = y_zp_t.dtype();
    let ys = (
        scale(ctx, 0, "Y_scale")?,
        zero_point(ctx, 1, "Y_zero_point", dt)?,
    );
    let mut parts = Vec::new();
    for k in 0..(ctx.arity() - 2) / 3 {
        let i = 2 + 3 * k;
        let x = ctx.input(i)?;
        let q = quantized(x, &format!("input {i}"), false)?;
        if q.dtype != dt {
            return Err(Fail::invalid(format!(
                "input {i} is {}, Y_zero_point {dt}",
                q.dtype
            )));
        }
        let xs = (
            scale(ctx, i + 1, "X_scale")?,
            zero_point(ctx, i + 2, "X_zero_point", dt)?,
        );
        let table = lookup_table(dt, xs, ys, |v| v);
        let v = q.values.iter().map(|&v| table[byte(v)]).collect();
        parts.push(output(x.shape().to_vec(), v, dt)?);
    }
    let first = &parts[0];
    let ax = axis(ctx.int("axis", 0)?, first.rank())?;
    let mut shape = first.shape().to_vec();
    shape[ax] = 0;
    for p in &parts {
        let fits = p.rank() == first.rank()
            && (0..p.rank()).all(|d| d == ax || p.shape()[d] == first.shape()[d]);
        if !fits {
            return Err(Fail::invalid(format!(
                "shapes {:?} and {:?} cannot be concatenated on axis {ax}",
                first.shape(),
                p.shape()
            )));
        }
        shape[ax] += p.shape()[ax];
    }
    let outer: usize = shape[..ax].iter().product();
    let mut v = Vec::with_capacity(numel(&shape)?);
    let lists: Vec<Vec<i64>> = parts
        .iter()
        .map(|p| p.to_i64s("part"))
        .collect::<Result<_, _>>()?;
    for o in 0..outer {
        for l in &lists {
            let chunk = l.len() / outer.max(1);
            v.extend(l[o * chunk..(o + 1) * chunk].iter().map(|&e| e as i32));
        }
    }
    Ok(vec![output(shape, v, dt)?])
}

/// Input planes of an `[N, C, spatial…]` tensor (after moving channels first if `channels_last`).
fn channels_first(x: &Tensor, channels_last: bool) -> Result<Tensor, Fail> {
    if x.rank() < 3 {
        return Err(Fail::invalid(format!(
            "input must have rank 3 or more, has shape {:?}",
            x.shape()
        )));
    }
    if !channels_last {
        return Ok(x.clone());
    }
    let r = x.rank();
    let perm: Vec<usize> = [0, r - 1].into_iter().chain(1..r - 1).collect();
    permute(x, &perm)
}

fn channels_back(y: Tensor, channels_last: bool) -> Result<Tensor, Fail> {
    if !channels_last {
        return Ok(y);
    }
    let r = y.rank();
    let perm: Vec<usize> = [0].into_iter().chain(2..r).chain([1]).collect();
    permute(&y, &perm)
}

/// MLAS's global average: integer sum, requantized with `sX / (sY · size)`.
fn global_average(
    planes: &[i32],
    size: usize,
    xs: (f32, i32),
    ys: (f32, i32),
    r: (i32, i32),
) -> Vec<i32> {
    let scale = xs.0 / (ys.0 * size as f32);
    planes
        .chunks(size.max(1))
        .map(|p| {
            let acc: i32 = p.iter().sum::<i32>() - xs.1 * size as i32;
            round_sat(acc as f32 * scale, ys.1, r)
        })
        .collect()
}

/// The X, X_scale, X_zp, Y_scale, Y_zp inputs of the pooling ops, plus `channels_last`.
struct PoolOperands {
    /// X with channels first.
    x: Tensor,
    q: Quantized,
    xs: (f32, i32),
    ys: (f32, i32),
    channels_last: bool,
}

fn pool_operands(ctx: &Ctx) -> Result<PoolOperands, Fail> {
    let channels_last = ctx.choice("channels_last", 0, &[0, 1])? == 1;
    let x = channels_first(ctx.input(0)?, channels_last)?;
    let q = quantized(&x, "X", false)?;
    let xs = (
        scale(ctx, 1, "x_scale")?,
        zero_point(ctx, 2, "x_zero_point", q.dtype)?,
    );
    let ys = (
        scale(ctx, 3, "y_scale")?,
        zero_point(ctx, 4, "y_zero_point", q.dtype)?,
    );
    Ok(PoolOperands {
        x,
        q,
        xs,
        ys,
        channels_last,
    })
}

pub(super) fn qlinear_global_average_pool(ctx: &Ctx) -> Out {
    let PoolOperands {
        x,
        q,
        xs,
        ys,
        channels_last,
    } = pool_operands(ctx)?;
    let size = numel(&x.shape()[2..])?;
    let v = global_average(&q.values, size, xs, ys, range(q.dtype));
    let shape: Vec<usize> = x.shape()[..2]
        .iter()
        .copied()
        .chain(vec![1; x.rank() - 2])
        .collect();
    Ok(vec![channels_back(
        output(shape, v, q.dtype)?,
        channels_last,
    )?])
}

pub(super) fn qlinear_average_pool(ctx: &Ctx) -> Out {
    let PoolOperands {
        x,
        q,
        xs,
        ys,
        channels_last,
    } = pool_operands(ctx)?;
    let spatial = &x.shape()[2..];
    let attrs = PoolAttrs::read(ctx, spatial.len())?;
    if attrs.dilations.iter().any(|&d| d != 1) {
        return Err(Fail::unsupported("QLinearAveragePool with dilations"));
    }
    let include_pad = ctx.choice("count_include_pad", 0, &[0, 1])? == 1;
    let padding = attrs.resolve(spatial)?;
    let (out, begin) = (padding.output, padding.begin);
    let r = range(q.dtype);
    let planes = x.shape()[0] * x.shape()[1];
    let in_size = numel(spatial)?;
    let mut shape = x.shape()[..2].to_vec();
    shape.extend(&out);
    if attrs.kernel == spatial && attrs.auto_pad == "NOTSET" && attrs.pads.iter().all(|&p| p == 0) {
        let v = global_average(&q.values, in_size, xs, ys, r);
        return Ok(vec![channels_back(
            output(shape, v, q.dtype)?,
            channels_last,
        )?]);
    }
    let deq: Vec<f32> = q.values.iter().map(|&v| xs.0 * (v - xs.1) as f32).collect();
    let in_st = super::strides(spatial);
    let out_size = numel(&out)?;
    let out_st = super::strides(&out);
    let kernel_size: usize = attrs.kernel.iter().product();
    let mut v = Vec::with_capacity(planes * out_size);
    for p in 0..planes {
        let plane = &deq[p * in_size..][..in_size];
        for o in 0..out_size {
            // ONNX Runtime's window: [start, min(start + kernel, size)), start clamped at 0.
            let ranges: Vec<(usize, usize)> = (0..spatial.len())
                .map(|d| {
                    let start =
                        ((o / out_st[d]) % out[d]) as i64 * attrs.strides[d] as i64 - begin[d];
                    let end = (start + attrs.kernel[d] as i64).min(spatial[d] as i64);
                    (start.max(0) as usize, end.max(0) as usize)
                })
                .collect();
            let count: usize = if include_pad {
                kernel_size
            } else {
                ranges.iter().map(|&(s, e)| e.saturating_sub(s)).product()
            };
            let mut sum = 0f32;
            let lists: Vec<Vec<usize>> = ranges
                .iter()
                .enumerate()
                .map(|(d, &(s, e))| (s..e).map(|i| i * in_st[d]).collect())
                .collect();
            for off in super::shape::offsets(&lists)? {
                sum += plane[off];
            }
            let avg = sum / count as f32;
            v.push(round_sat(avg / ys.0 + ys.1 as f32, 0, r));
        }
    }
    Ok(vec![channels_back(
        output(shape, v, q.dtype)?,
        channels_last,
    )?])
}

pub(super) fn qlinear_softmax(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let q = quantized(x, "X", false)?;
    let opset = ctx
        .node
        .attr_int("opset")?
        .ok_or_else(|| Fail::invalid("attribute 'opset' is required"))?;
    let legacy = opset < 13;
    let ax = axis(ctx.int("axis", if legacy { 1 } else { -1 })?, x.rank())?;
    let x_scale = scale(ctx, 1, "X_scale")?;
    let y_scale = scale(ctx, 3, "Y_scale")?;
    let y_zp = zero_point(ctx, 4, "Y_zero_point", q.dtype)?;
    let shape = x.shape();
    // Rows of D elements: the flattened tail (before opset 13) or one axis, moved last.
    let (d, perm) = if legacy {
        (numel(&shape[ax..])?, None)
    } else {
        let mut perm: Vec<usize> = (0..x.rank()).collect();
        perm.swap(ax, x.rank() - 1);
        (shape[ax], Some(perm))
    };
    let values = match &perm {
        Some(p) => permute(&Tensor::from_vec(shape.to_vec(), q.values.clone())?, p)?
            .to_i64s("X")?
            .into_iter()
            .map(|v| v as i32)
            .collect(),
        None => q.values.clone(),
    };
    let table = softmax_table(x_scale, d.max(1), q.dtype == DType::I8);
    let y_scale_int = (1.0 / y_scale).floor();
    let mut y = Vec::with_capacity(values.len());
    for row in values.chunks(d.max(1)) {
        let max = row.iter().copied().max().unwrap_or(0);
        let exp = |v: i32| -> f32 {
            if q.dtype == DType::I8 {
                table[((127 - max + v) as u8) as usize]
            } else {
                table[(255 - max + v) as usize]
            }
        };
        let sum: f32 = row.iter().map(|&v| exp(v)).sum();
        for &v in row {
            y.push(round_sat(exp(v) * y_scale_int / sum, y_zp, range(q.dtype)));
        }
    }
    let out = match &perm {
        Some(p) => {
            let moved: Vec<usize> = p.iter().map(|&i| shape[i]).collect();
            permute(&Tensor::from_vec(moved, y)?, p)?
        }
        None => Tensor::from_vec(shape.to_vec(), y)?,
    };
    Ok(vec![cast(&out, q.dtype)?])
}

/// ONNX Runtime's f32 exponent table, shifted so that sums of `reduce_len` entries stay finite.
fn softmax_table(x_scale: f32, reduce_len: usize, signed: bool) -> [f32; 256] {
    let shift = ((f32::MAX / reduce_len as f32).ln() as f64 - 5.0).max(0.0) / x_scale as f64;
    let mut table = [0f32; 256];
    for i in 0..256i32 {
        let e = ((i as f64 - 255.0 + shift) * x_scale as f64).exp();
        let index = if signed { (i - 128) as u8 } else { i as u8 };
        table[index as usize] = e as f32;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tensor::Elem;
    use crate::ir::attrs::{float, int, ints};
    use crate::proto;

    fn t<T: Elem>(shape: &[usize], v: &[T]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    fn check(op: &str, attrs: Vec<proto::AttributeProto>, inputs: Vec<Tensor>, want: Tensor) {
        let got = super::super::run_op("com.microsoft", op, attrs, &inputs, 1, 1).unwrap();
        assert_eq!(got[0], want, "{op}");
    }

    /// Small cases whose expected outputs ONNX Runtime 1.31 computed (CPU provider, graph
    /// optimizations off); a wider random sweep of every op matched bit for bit as well.
    #[test]
    fn outputs_match_onnx_runtime() {
        // per-channel operand (broadcast over H, W)
        check(
            "QLinearAdd",
            vec![],
            vec![
                t::<u8>(
                    &[1, 2, 2, 3],
                    &[241, 160, 175, 229, 148, 198, 213, 57, 14, 76, 72, 223],
                ),
                t::<f32>(&[], &[0.031]),
                t::<u8>(&[], &[120]),
                t::<u8>(&[1, 2, 1, 1], &[233, 1]),
                t::<f32>(&[], &[0.047]),
                t::<u8>(&[], &[131]),
                t::<f32>(&[], &[0.052]),
                t::<u8>(&[], &[125]),
            ],
            t::<u8>(
                &[1, 2, 2, 3],
                &[255, 241, 250, 255, 234, 255, 63, 0, 0, 0, 0, 69],
            ),
        );
        // int8, both operands full
        check(
            "QLinearAdd",
            vec![],
            vec![
                t::<i8>(&[2, 5], &[-1, 82, -95, 76, -98, -9, 81, -51, -41, -57]),
                t::<f32>(&[], &[0.021]),
                t::<i8>(&[], &[-3]),
                t::<i8>(&[2, 5], &[56, -63, 125, -15, -6, 1, 21, 13, 2, 126]),
                t::<f32>(&[], &[0.017]),
                t::<i8>(&[], &[9]),
                t::<f32>(&[], &[0.025]),
                t::<i8>(&[], &[-7]),
            ],
            t::<i8>(&[2, 5], &[27, 15, -5, 43, -97, -17, 72, -45, -44, 27]),
        );
        // scalar first operand
        check(
            "QLinearAdd",
            vec![],
            vec![
                t::<u8>(&[1], &[206]),
                t::<f32>(&[], &[0.11]),
                t::<u8>(&[], &[100]),
                t::<u8>(&[7], &[202, 179, 159, 87, 253, 119, 55]),
                t::<f32>(&[], &[0.013]),
                t::<u8>(&[], &[3]),
                t::<f32>(&[], &[0.09]),
                t::<u8>(&[], &[0]),
            ],
            t::<u8>(&[7], &[158, 155, 152, 142, 166, 146, 137]),
        );
        // int8 with broadcasting rows
        check(
            "QLinearMul",
            vec![],
            vec![
                t::<i8>(
                    &[3, 4],
                    &[88, -87, 91, 28, -99, -117, -15, -119, -92, 3, 120, -9],
                ),
                t::<f32>(&[], &[0.043]),
                t::<i8>(&[], &[5]),
                t::<i8>(&[1, 4], &[78, 106, 82, 33]),
                t::<f32>(&[], &[0.061]),
                t::<i8>(&[], &[-11]),
                t::<f32>(&[], &[0.2]),
                t::<i8>(&[], &[2]),
            ],
            t::<i8>(
                &[3, 4],
                &[99, -128, 107, 15, -119, -128, -22, -70, -111, -1, 127, -6],
            ),
        );
        // uint8
        check(
            "QLinearMul",
            vec![],
            vec![
                t::<u8>(&[9], &[112, 131, 68, 127, 97, 63, 254, 3, 24]),
                t::<f32>(&[], &[0.0123]),
                t::<u8>(&[], &[128]),
                t::<u8>(&[9], &[49, 248, 177, 225, 51, 184, 94, 125, 0]),
                t::<f32>(&[], &[0.0311]),
                t::<u8>(&[], &[117]),
                t::<f32>(&[], &[0.05]),
                t::<u8>(&[], &[128]),
            ],
            t::<u8>(&[9], &[136, 131, 100, 127, 144, 95, 106, 120, 221]),
        );
        // int8 table indexed by the raw byte
        check(
            "QLinearLeakyRelu",
            vec![float("alpha", 0.1)],
            vec![
                t::<i8>(
                    &[2, 8],
                    &[
                        30, 84, 41, -89, 8, -60, 119, 97, -81, 2, 112, 88, 53, 35, -118, 61,
                    ],
                ),
                t::<f32>(&[], &[0.05]),
                t::<i8>(&[], &[-10]),
                t::<f32>(&[], &[0.04]),
                t::<i8>(&[], &[20]),
            ],
            t::<i8>(
                &[2, 8],
                &[
                    70, 127, 84, 10, 43, 14, 127, 127, 11, 35, 127, 127, 99, 76, 6, 109,
                ],
            ),
        );
        // MLAS logistic, uint8
        check(
            "QLinearSigmoid",
            vec![],
            vec![
                t::<u8>(
                    &[16],
                    &[
                        121, 23, 62, 138, 186, 129, 156, 223, 175, 92, 164, 153, 27, 15, 169, 99,
                    ],
                ),
                t::<f32>(&[], &[0.071]),
                t::<u8>(&[], &[128]),
                t::<f32>(&[], &[0.00390625]),
                t::<u8>(&[], &[0]),
            ],
            t::<u8>(
                &[16],
                &[
                    97, 0, 2, 172, 252, 133, 225, 255, 247, 18, 238, 219, 0, 0, 243, 29,
                ],
            ),
        );
        // MLAS logistic, int8
        check(
            "QLinearSigmoid",
            vec![],
            vec![
                t::<i8>(
                    &[16],
                    &[
                        25, -46, -71, -90, -31, 80, -26, -31, 19, 122, -28, 23, -16, 26, -14, 35,
                    ],
                ),
                t::<f32>(&[], &[0.063]),
                t::<i8>(&[], &[3]),
                t::<f32>(&[], &[0.003921569]),
                t::<i8>(&[], &[-128]),
            ],
            t::<i8>(
                &[16],
                &[
                    76, -117, -126, -127, -101, 125, -93, -101, 59, 127, -96, 71, -69, 79, -63, 97,
                ],
            ),
        );
        // requantized inputs, one already in the output parameters
        check(
            "QLinearConcat",
            vec![int("axis", 1)],
            vec![
                t::<f32>(&[], &[0.05]),
                t::<i8>(&[], &[3]),
                t::<i8>(&[1, 2, 3], &[12, 45, 116, -90, 15, -16]),
                t::<f32>(&[], &[0.08]),
                t::<i8>(&[], &[-5]),
                t::<i8>(&[1, 1, 3], &[-37, -67, -115]),
                t::<f32>(&[], &[0.05]),
                t::<i8>(&[], &[3]),
            ],
            t::<i8>(&[1, 3, 3], &[30, 83, 127, -128, 35, -15, -37, -67, -115]),
        );
        // NHWC
        check(
            "QLinearGlobalAveragePool",
            vec![int("channels_last", 1)],
            vec![
                t::<u8>(
                    &[1, 3, 2, 4],
                    &[
                        103, 211, 24, 103, 247, 243, 55, 1, 171, 3, 76, 127, 223, 23, 169, 136, 33,
                        216, 216, 123, 241, 155, 231, 245,
                    ],
                ),
                t::<f32>(&[], &[0.05]),
                t::<u8>(&[], &[128]),
                t::<f32>(&[], &[0.03]),
                t::<u8>(&[], &[120]),
            ],
            t::<u8>(&[1, 1, 1, 4], &[189, 143, 121, 111]),
        );
        // ceil mode, count_include_pad: the whole kernel counts
        check(
            "QLinearAveragePool",
            vec![
                ints("kernel_shape", &[3, 3]),
                ints("strides", &[2, 2]),
                ints("pads", &[1, 1, 1, 1]),
                int("ceil_mode", 1),
                int("count_include_pad", 1),
            ],
            vec![
                t::<u8>(
                    &[1, 1, 5, 5],
                    &[
                        145, 71, 37, 144, 49, 192, 237, 62, 141, 12, 46, 96, 226, 248, 164, 149,
                        145, 15, 96, 251, 105, 54, 61, 182, 9,
                    ],
                ),
                t::<f32>(&[], &[0.05]),
                t::<u8>(&[], &[128]),
                t::<f32>(&[], &[0.04]),
                t::<u8>(&[], &[128]),
            ],
            t::<u8>(&[1, 1, 3, 3], &[146, 117, 105, 141, 144, 148, 120, 98, 132]),
        );
        // kernel over the whole input: the integer global path
        check(
            "QLinearAveragePool",
            vec![ints("kernel_shape", &[3, 3])],
            vec![
                t::<i8>(
                    &[1, 2, 3, 3],
                    &[
                        120, 96, 17, -9, 66, 12, -6, -46, -14, 64, -114, -122, 56, -33, 77, -121,
                        104, -97,
                    ],
                ),
                t::<f32>(&[], &[0.05]),
                t::<i8>(&[], &[1]),
                t::<f32>(&[], &[0.0123]),
                t::<i8>(&[], &[-2]),
            ],
            t::<i8>(&[1, 2, 1, 1], &[101, -90]),
        );
        // int8, opset 13, axis 1, saturating at 127
        check(
            "QLinearSoftmax",
            vec![int("opset", 13), int("axis", 1)],
            vec![
                t::<i8>(&[2, 5, 1], &[118, -115, 2, 42, -76, 3, 4, 5, 6, 7]),
                t::<f32>(&[], &[0.1322]),
                t::<i8>(&[], &[121]),
                t::<f32>(&[], &[0.00390625]),
                t::<i8>(&[], &[-128]),
            ],
            t::<i8>(
                &[2, 5, 1],
                &[127, -128, -128, -128, -128, -89, -84, -78, -71, -62],
            ),
        );
        // uint8, opset 12: rows are the flattened tail from axis 1
        check(
            "QLinearSoftmax",
            vec![int("opset", 12), int("axis", 1)],
            vec![
                t::<u8>(
                    &[2, 2, 3],
                    &[106, 247, 27, 168, 186, 109, 20, 134, 110, 223, 174, 88],
                ),
                t::<f32>(&[], &[0.05]),
                t::<u8>(&[], &[128]),
                t::<f32>(&[], &[0.00390625]),
                t::<u8>(&[], &[0]),
            ],
            t::<u8>(&[2, 2, 3], &[0, 240, 0, 5, 11, 0, 0, 3, 1, 232, 20, 0]),
        );
    }

    #[test]
    fn logistic_approximation_is_close_to_the_exact_function() {
        for x in [-20.0f32, -3.0, -0.5, 0.0, 0.25, 4.0, 17.0] {
            let exact = 1.0 / (1.0 + (-x).exp());
            assert!((mlas_logistic(x) - exact).abs() < 1e-6, "{x}");
        }
    }

    #[test]
    fn lookup_table_is_indexed_by_the_raw_byte() {
        // int8 byte 0xff is −1: with scale 1, zp 0, identity, output zp 0 → −1.
        let t = lookup_table(DType::I8, (1.0, 0), (1.0, 0), |v| v);
        assert_eq!(t[0xff], -1);
        assert_eq!(t[0x7f], 127);
        let t = lookup_table(DType::U8, (0.5, 10), (1.0, 0), |v| v);
        assert_eq!(t[13], 2); // 0.5·(13−10) = 1.5 → 2 (half to even)
        assert_eq!(t[11], 0); // 0.5 → 0
    }

    #[test]
    fn global_average_requantizes_the_integer_sum() {
        let v = global_average(&[1, 2, 3, 4], 4, (0.5, 1), (0.25, 3), (0, 255));
        // sum − zp·size = 6; 6 · 0.5/(0.25·4) = 3 → 3 + 3.
        assert_eq!(v, vec![6]);
    }
}
