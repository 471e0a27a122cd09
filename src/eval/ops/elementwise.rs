//! Elementwise ops: activations and math functions, arithmetic and comparisons with NumPy
//! broadcasting, Clip, Where, and the variadic Min/Max/Sum/Mean.
//!
//! Float functions are evaluated in f64 and rounded once to the tensor's type, so f32 results are
//! the correctly rounded values (ONNX Runtime's approximations differ by an ulp or so). Integer
//! arithmetic wraps like NumPy; integer division truncates toward zero, as the ONNX reference does.

use half::{bf16, f16};

use super::{broadcast, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{same_as, with_data, with_numeric, Data, Elem, Tensor};
use crate::ir::DType;

type Out = Result<Vec<Tensor>, Fail>;

/// Arithmetic on every numeric element type, with ONNX semantics.
pub(super) trait Arith: Elem + Copy + PartialOrd {
    fn zero() -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `None` for an integer division by zero.
    fn div(self, o: Self) -> Option<Self>;
    /// Python's `%` (sign of the divisor) or, with `fmod`, C's (sign of the dividend).
    fn modulo(self, o: Self, fmod: bool) -> Option<Self>;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
    fn to_f64(self) -> f64;
    /// From f64: rounded for floats, truncated and saturated for integers.
    fn from_f64(v: f64) -> Self;

    /// Larger of two, NaN if either is (NumPy's `maximum`).
    fn max_nan(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            return if self.is_nan() { self } else { o };
        }
        if o > self {
            o
        } else {
            self
        }
    }

    fn min_nan(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            return if self.is_nan() { self } else { o };
        }
        if o < self {
            o
        } else {
            self
        }
    }
}

macro_rules! impl_arith_int {
    ($($t:ty, $signed:expr;)*) => {$(
        impl Arith for $t {
            fn zero() -> Self { 0 }
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn div(self, o: Self) -> Option<Self> {
                (o != 0).then(|| self.wrapping_div(o))
            }
            fn modulo(self, o: Self, fmod: bool) -> Option<Self> {
                if o == 0 {
                    return None;
                }
                let r = self.wrapping_rem(o);
                #[allow(unused_comparisons)]
                let wrong_sign = $signed && r != 0 && ((r < 0) != (o < 0));
                Some(if !fmod && wrong_sign { r.wrapping_add(o) } else { r })
            }
            fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
            #[allow(unused_comparisons)]
            fn abs(self) -> Self { if self < 0 { self.neg() } else { self } }
            fn is_nan(self) -> bool { false }
            fn to_f64(self) -> f64 { self as f64 }
            fn from_f64(v: f64) -> Self { v as $t }
        }
    )*};
}

impl_arith_int! {
    i8, true; i16, true; i32, true; i64, true;
    u8, false; u16, false; u32, false; u64, false;
}

macro_rules! impl_arith_float {
    ($($t:ty, $to:expr, $from:expr;)*) => {$(
        impl Arith for $t {
            fn zero() -> Self { $from(0.0) }
            fn add(self, o: Self) -> Self { $from($to(self) + $to(o)) }
            fn sub(self, o: Self) -> Self { $from($to(self) - $to(o)) }
            fn mul(self, o: Self) -> Self { $from($to(self) * $to(o)) }
            fn div(self, o: Self) -> Option<Self> { Some($from($to(self) / $to(o))) }
            fn modulo(self, o: Self, fmod: bool) -> Option<Self> {
                let (a, b) = ($to(self), $to(o));
                let r = a % b;
                let wrong_sign = r != 0.0 && ((r < 0.0) != (b < 0.0));
                Some($from(if !fmod && wrong_sign { r + b } else { r }))
            }
            fn neg(self) -> Self { $from(-$to(self)) }
            fn abs(self) -> Self { $from($to(self).abs()) }
            fn is_nan(self) -> bool { $to(self).is_nan() }
            fn to_f64(self) -> f64 { $to(self) as f64 }
            fn from_f64(v: f64) -> Self { $from(v as _) }
        }
    )*};
}

impl_arith_float! {
    f32, |x: f32| x, |x: f32| x;
    f64, |x: f64| x, |x: f64| x;
    f16, |x: f16| x.to_f32(), f16::from_f32;
    bf16, |x: bf16| x.to_f32(), bf16::from_f32;
}

fn not_numeric(t: &Tensor) -> Fail {
    Fail::invalid(format!("input must be numeric, got {}", t.dtype()))
}

/// Applies `f` (in f64) to every element of a float tensor.
pub(super) fn map_float(x: &Tensor, f: impl Fn(f64) -> f64) -> Result<Tensor, Fail> {
    let data = match x.data() {
        Data::F32(v) => Data::F32(v.iter().map(|&a| f(a as f64) as f32).collect()),
        Data::F64(v) => Data::F64(v.iter().map(|&a| f(a)).collect()),
        Data::F16(v) => Data::F16(v.iter().map(|a| f16::from_f64(f(a.to_f64()))).collect()),
        Data::BF16(v) => Data::BF16(v.iter().map(|a| bf16::from_f64(f(a.to_f64()))).collect()),
        _ => {
            return Err(Fail::invalid(format!(
                "input must be a float tensor, got {}",
                x.dtype()
            )))
        }
    };
    Tensor::new(x.shape().to_vec(), data)
}

/// Defines kernels applying a float function to input 0; `$setup` reads attributes first.
macro_rules! float_unary {
    ($($(#[$doc:meta])* $name:ident $([$c:ident] ($($setup:tt)*))? = |$x:ident| $f:expr;)*) => {$(
        $(#[$doc])*
        pub(super) fn $name(ctx: &Ctx) -> Out {
            $(let $c = ctx; $($setup)*)?
            Ok(vec![map_float(ctx.input(0)?, |$x| $f)?])
        }
    )*};
}

float_unary! {
    acos = |x| x.acos();
    acosh = |x| x.acosh();
    asin = |x| x.asin();
    asinh = |x| x.asinh();
    atan = |x| x.atan();
    atanh = |x| x.atanh();
    ceil = |x| x.ceil();
    celu [ctx] (let alpha = ctx.float("alpha", 1.0)? as f64;) =
        |x| x.max(0.0) + (alpha * ((x / alpha).exp() - 1.0)).min(0.0);
    cos = |x| x.cos();
    cosh = |x| x.cosh();
    elu [ctx] (let alpha = ctx.float("alpha", 1.0)? as f64;) =
        |x| if x < 0.0 { alpha * (x.exp() - 1.0) } else { x };
    erf = |x| erf_f64(x);
    exp = |x| x.exp();
    floor = |x| x.floor();
    hard_sigmoid [ctx] (
        let alpha = ctx.float("alpha", 0.2)? as f64;
        let beta = ctx.float("beta", 0.5)? as f64;
    ) = |x| (alpha * x + beta).clamp(0.0, 1.0);
    hard_swish = |x| x * (x / 6.0 + 0.5).clamp(0.0, 1.0);
    leaky_relu [ctx] (let alpha = ctx.float("alpha", 0.01)? as f64;) =
        |x| if x < 0.0 { alpha * x } else { x };
    log = |x| x.ln();
    mish = |x| x * softplus_f64(x).tanh();
    reciprocal = |x| 1.0 / x;
    /// Round half to even.
    round = |x| x.round_ties_even();
    selu [ctx] (
        let alpha = ctx.float("alpha", 1.673_263_2)? as f64;
        let gamma = ctx.float("gamma", 1.050_701)? as f64;
    ) = |x| if x <= 0.0 { gamma * (alpha * x.exp() - alpha) } else { gamma * x };
    sigmoid = |x| 1.0 / (1.0 + (-x).exp());
    sin = |x| x.sin();
    sinh = |x| x.sinh();
    softplus = |x| softplus_f64(x);
    softsign = |x| x / (1.0 + x.abs());
    shrink [ctx] (
        let bias = ctx.float("bias", 0.0)? as f64;
        let lambd = ctx.float("lambd", 0.5)? as f64;
    ) = |x| if x < -lambd { x + bias } else if x > lambd { x - bias } else { 0.0 };
    swish [ctx] (let alpha = ctx.float("alpha", 1.0)? as f64;) =
        |x| x / (1.0 + (-alpha * x).exp());
    sqrt = |x| x.sqrt();
    tan = |x| x.tan();
    tanh = |x| x.tanh();
    thresholded_relu [ctx] (let alpha = ctx.float("alpha", 1.0)? as f64;) =
        |x| if x > alpha { x } else { 0.0 };
}

/// Gelu, exact (`approximate="none"`) or with the tanh approximation.
pub(super) fn gelu(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let y = match ctx.string("approximate", "none")?.as_str() {
        "none" => map_float(x, |x| {
            0.5 * x * (1.0 + erf_f64(x / std::f64::consts::SQRT_2))
        })?,
        "tanh" => {
            let k = (2.0 / std::f64::consts::PI).sqrt();
            map_float(x, |x| {
                0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
            })?
        }
        other => {
            return Err(Fail::invalid(format!(
                "attribute 'approximate' is '{other}', must be 'none' or 'tanh'"
            )))
        }
    };
    Ok(vec![y])
}

fn softplus_f64(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

/// The error function: its Taylor series near 0, elsewhere 1 − erfc from the Chebyshev fit of
/// Numerical Recipes (`erfcc`, relative error below 1.2e-7).
pub(super) fn erf_f64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x.abs() < 0.5 {
        let (x2, mut term, mut sum) = (x * x, x, x);
        for n in 1..30 {
            term *= -x2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        return sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

/// Defines kernels applying an `Arith` expression to each element of a numeric input 0.
macro_rules! numeric_unary {
    ($($name:ident = |$a:ident| $e:expr;)*) => {$(
        pub(super) fn $name(ctx: &Ctx) -> Out {
            let x = ctx.input(0)?;
            let data = with_numeric!(x.data(), v => {
                Elem::wrap(v.iter().map(|&$a| $e).collect::<Vec<_>>())
            }, _ => return Err(not_numeric(x)));
            Ok(vec![Tensor::new(x.shape().to_vec(), data)?])
        }
    )*};
}

numeric_unary! {
    abs = |a| Arith::abs(a);
    neg = |a| Arith::neg(a);
    relu = |a| if a > Arith::zero() { a } else { Arith::zero() };
    sign = |a| {
        let zero = Arith::zero();
        if a.is_nan() { a }
        else if a > zero { Arith::from_f64(1.0) }
        else if a < zero { Arith::from_f64(-1.0) }
        else { zero }
    };
}

/// Integer bit operations, on one integer type (booleans are not integers here).
fn bitwise(ctx: &Ctx, f: fn(u64, u64) -> u64) -> Out {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    if !matches!(
        a.dtype(),
        DType::I8
            | DType::I16
            | DType::I32
            | DType::I64
            | DType::U8
            | DType::U16
            | DType::U32
            | DType::U64
    ) {
        return Err(Fail::invalid(format!(
            "input must be integers, got {}",
            a.dtype()
        )));
    }
    if b.dtype() != a.dtype() {
        return Err(Fail::invalid(format!(
            "input 1 must be {}, got {}",
            a.dtype(),
            b.dtype()
        )));
    }
    // Bit patterns through i64/u64 and back: the casts wrap, so they keep the bits.
    let bits = |t: &Tensor| -> Result<Vec<u64>, Fail> {
        Ok(match t.to_i64s("input") {
            Ok(v) => v.into_iter().map(|x| x as u64).collect(),
            Err(_) => t.typed::<u64>("input")?.to_vec(),
        })
    };
    let (x, y) = (bits(a)?, bits(b)?);
    let (shape, v) = broadcast::zip2(&x, a.shape(), &y, b.shape(), |&p, &q| f(p, q) as i128)?;
    let numbers = Tensor::from_vec(shape, v.into_iter().map(|x| x as i64).collect::<Vec<_>>())?;
    Ok(vec![super::misc::cast(&numbers, a.dtype())?])
}

pub(super) fn bitwise_and(ctx: &Ctx) -> Out {
    bitwise(ctx, |a, b| a & b)
}

pub(super) fn bitwise_or(ctx: &Ctx) -> Out {
    bitwise(ctx, |a, b| a | b)
}

pub(super) fn bitwise_xor(ctx: &Ctx) -> Out {
    bitwise(ctx, |a, b| a ^ b)
}

/// BitShift: shifts of at least the type's width (or negative) give 0, or −1 when a negative
/// signed value is shifted right; left shifts wrap within the type.
pub(super) fn bit_shift(ctx: &Ctx) -> Out {
    let left = match ctx.string("direction", "")?.as_str() {
        "LEFT" => true,
        "RIGHT" => false,
        other => {
            return Err(Fail::invalid(format!(
                "'direction' is '{other}', must be LEFT or RIGHT"
            )))
        }
    };
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let width = a.dtype().bits().unwrap_or(64) as i128;
    let values = |t: &Tensor| -> Result<Vec<i128>, Fail> {
        Ok(match t.to_i64s("input") {
            Ok(v) => v.into_iter().map(i128::from).collect(),
            Err(_) => t
                .typed::<u64>("input")?
                .iter()
                .map(|&x| i128::from(x))
                .collect(),
        })
    };
    let (x, y) = (values(a)?, values(b)?);
    let (shape, v) = broadcast::zip2(&x, a.shape(), &y, b.shape(), |&p, &q| {
        if !(0..width).contains(&q) {
            if !left && p < 0 {
                -1
            } else {
                0
            }
        } else if left {
            p << q
        } else {
            p >> q
        }
    })?;
    // Wrap into the type's bits through i64/u64.
    let numbers = Tensor::from_vec(shape, v.into_iter().map(|x| x as i64).collect::<Vec<_>>())?;
    Ok(vec![super::misc::cast(&numbers, a.dtype())?])
}

pub(super) fn bitwise_not(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let data = with_numeric!(x.data(), v => {
        Elem::wrap(v.iter().map(|&a| Arith::neg(a).sub(Arith::from_f64(1.0))).collect::<Vec<_>>())
    }, _ => return Err(not_numeric(x)));
    if x.dtype().is_float() {
        return Err(Fail::invalid(format!(
            "input must be integers, got {}",
            x.dtype()
        )));
    }
    Ok(vec![Tensor::new(x.shape().to_vec(), data)?])
}

#[derive(Clone, Copy)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod(bool),
    Max,
    Min,
}

impl BinOp {
    fn apply<T: Arith>(self, a: T, b: T) -> Option<T> {
        match self {
            BinOp::Add => Some(a.add(b)),
            BinOp::Sub => Some(a.sub(b)),
            BinOp::Mul => Some(a.mul(b)),
            BinOp::Div => a.div(b),
            BinOp::Mod(fmod) => a.modulo(b, fmod),
            BinOp::Max => Some(a.max_nan(b)),
            BinOp::Min => Some(a.min_nan(b)),
        }
    }
}

/// A broadcasting binary op on two numeric tensors of one type.
fn binary(a: &Tensor, b: &Tensor, op: BinOp) -> Result<Tensor, Fail> {
    let mut div_by_zero = false;
    let (shape, data) = with_numeric!(a.data(), x => {
        let y = same_as(x, b, "input 1")?;
        let (shape, v) = broadcast::zip2(x, a.shape(), y, b.shape(), |&p, &q| {
            op.apply(p, q).unwrap_or_else(|| {
                div_by_zero = true;
                p
            })
        })?;
        (shape, Elem::wrap(v))
    }, _ => return Err(not_numeric(a)));
    if div_by_zero {
        return Err(Fail::invalid("integer division by zero"));
    }
    Tensor::new(shape, data)
}

fn binary_kernel(ctx: &Ctx, op: BinOp) -> Out {
    Ok(vec![binary(ctx.input(0)?, ctx.input(1)?, op)?])
}

pub(super) fn add(ctx: &Ctx) -> Out {
    binary_kernel(ctx, BinOp::Add)
}

pub(super) fn sub(ctx: &Ctx) -> Out {
    binary_kernel(ctx, BinOp::Sub)
}

pub(super) fn mul(ctx: &Ctx) -> Out {
    binary_kernel(ctx, BinOp::Mul)
}

pub(super) fn div(ctx: &Ctx) -> Out {
    binary_kernel(ctx, BinOp::Div)
}

pub(super) fn modulo(ctx: &Ctx) -> Out {
    let fmod = ctx.choice("fmod", 0, &[0, 1])? == 1;
    binary_kernel(ctx, BinOp::Mod(fmod))
}

/// Pow: the result has the base's type; the exponent may be of any numeric type.
pub(super) fn pow(ctx: &Ctx) -> Out {
    let (base, exponent) = (ctx.input(0)?, ctx.input(1)?);
    let e = exponent.to_f64s("exponent")?;
    let (shape, data) = with_numeric!(base.data(), x => {
        let (shape, v) = broadcast::zip2(x, base.shape(), &e, exponent.shape(), |&p, &q| {
            power(p, q)
        })?;
        (shape, Elem::wrap(v))
    }, _ => return Err(not_numeric(base)));
    Ok(vec![Tensor::new(shape, data)?])
}

fn power<T: Arith>(base: T, exponent: f64) -> T {
    T::from_f64(base.to_f64().powf(exponent))
}

/// Folds a variadic op over all inputs, left to right.
fn variadic(ctx: &Ctx, op: BinOp) -> Result<Tensor, Fail> {
    let inputs = ctx.all_inputs()?;
    let (first, rest) = inputs
        .split_first()
        .ok_or_else(|| Fail::invalid("needs at least one input"))?;
    let mut acc = (*first).clone();
    for t in rest {
        acc = binary(&acc, t, op)?;
    }
    Ok(acc)
}

pub(super) fn max(ctx: &Ctx) -> Out {
    Ok(vec![variadic(ctx, BinOp::Max)?])
}

pub(super) fn min(ctx: &Ctx) -> Out {
    Ok(vec![variadic(ctx, BinOp::Min)?])
}

pub(super) fn sum(ctx: &Ctx) -> Out {
    Ok(vec![variadic(ctx, BinOp::Add)?])
}

pub(super) fn mean(ctx: &Ctx) -> Out {
    let total = variadic(ctx, BinOp::Add)?;
    let n = ctx.arity() as f64;
    Ok(vec![map_float(&total, |x| x / n)?])
}

/// Equal: any element type, strings and booleans included.
pub(super) fn equal(ctx: &Ctx) -> Out {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let (shape, v) = with_data!(a.data(), x => {
        let y = same_as(x, b, "input 1")?;
        broadcast::zip2(x, a.shape(), y, b.shape(), |p, q| p == q)?
    });
    Ok(vec![Tensor::from_vec(shape, v)?])
}

/// A broadcasting ordered comparison of numeric tensors (false where NaN is involved).
fn compare(ctx: &Ctx, f: fn(std::cmp::Ordering) -> bool) -> Out {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let (shape, v) = with_numeric!(a.data(), x => {
        let y = same_as(x, b, "input 1")?;
        broadcast::zip2(x, a.shape(), y, b.shape(), |p, q| p.partial_cmp(q).is_some_and(f))?
    }, _ => return Err(not_numeric(a)));
    Ok(vec![Tensor::from_vec(shape, v)?])
}

pub(super) fn less(ctx: &Ctx) -> Out {
    compare(ctx, |o| o.is_lt())
}

pub(super) fn less_or_equal(ctx: &Ctx) -> Out {
    compare(ctx, |o| o.is_le())
}

pub(super) fn greater(ctx: &Ctx) -> Out {
    compare(ctx, |o| o.is_gt())
}

pub(super) fn greater_or_equal(ctx: &Ctx) -> Out {
    compare(ctx, |o| o.is_ge())
}

fn bools<'a>(t: &'a Tensor, what: &str) -> Result<&'a [bool], Fail> {
    t.typed::<bool>(what)
}

fn logical(ctx: &Ctx, f: fn(bool, bool) -> bool) -> Out {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let (shape, v) = broadcast::zip2(
        bools(a, "input 0")?,
        a.shape(),
        bools(b, "input 1")?,
        b.shape(),
        |&p, &q| f(p, q),
    )?;
    Ok(vec![Tensor::from_vec(shape, v)?])
}

pub(super) fn and(ctx: &Ctx) -> Out {
    logical(ctx, |a, b| a && b)
}

pub(super) fn or(ctx: &Ctx) -> Out {
    logical(ctx, |a, b| a || b)
}

pub(super) fn xor(ctx: &Ctx) -> Out {
    logical(ctx, |a, b| a != b)
}

pub(super) fn not(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let v = bools(x, "input 0")?.iter().map(|b| !b).collect();
    Ok(vec![Tensor::from_vec(x.shape().to_vec(), v)?])
}

pub(super) fn is_nan(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let v = x.to_f64s("input 0")?.iter().map(|a| a.is_nan()).collect();
    Ok(vec![Tensor::from_vec(x.shape().to_vec(), v)?])
}

pub(super) fn is_inf(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let neg = ctx.choice("detect_negative", 1, &[0, 1])? == 1;
    let pos = ctx.choice("detect_positive", 1, &[0, 1])? == 1;
    let v = x
        .to_f64s("input 0")?
        .iter()
        .map(|a| a.is_infinite() && ((neg && *a < 0.0) || (pos && *a > 0.0)))
        .collect();
    Ok(vec![Tensor::from_vec(x.shape().to_vec(), v)?])
}

/// PRelu: `slope` broadcasts to the input.
pub(super) fn prelu(ctx: &Ctx) -> Out {
    let (x, slope) = (ctx.input(0)?, ctx.input(1)?);
    let (shape, data) = with_numeric!(x.data(), v => {
        let s = same_as(v, slope, "slope")?;
        let (shape, out) = broadcast::zip2(v, x.shape(), s, slope.shape(), |&a, &k| {
            if a < Arith::zero() { a.mul(k) } else { a }
        })?;
        (shape, Elem::wrap(out))
    }, _ => return Err(not_numeric(x)));
    if shape != x.shape() {
        return Err(Fail::invalid(format!(
            "slope of shape {:?} does not broadcast to the input's {:?}",
            slope.shape(),
            x.shape()
        )));
    }
    Ok(vec![Tensor::new(shape, data)?])
}

/// Clip: bounds from inputs 1 and 2 (opset 11+) or the `min`/`max` attributes (before).
pub(super) fn clip(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let (attr_lo, attr_hi) = if ctx.opset < 11 {
        (
            Some(ctx.float("min", f32::MIN)? as f64),
            Some(ctx.float("max", f32::MAX)? as f64),
        )
    } else {
        (None, None)
    };
    let data = with_numeric!(x.data(), v => {
        let bound = |i: usize, what: &str, attr: Option<f64>| -> Result<Option<_>, Fail> {
            match ctx.opt(i) {
                Some(t) => match same_as(v, t, what)? {
                    [b] => Ok(Some(*b)),
                    _ => Err(Fail::invalid(format!("{what} must be a scalar, has shape {:?}", t.shape()))),
                },
                None => Ok(attr.map(Arith::from_f64)),
            }
        };
        let lo = bound(1, "min", attr_lo)?;
        let hi = bound(2, "max", attr_hi)?;
        let clipped: Vec<_> = v.iter().map(|&a| {
            let a = lo.map_or(a, |l| a.max_nan(l));
            hi.map_or(a, |h| a.min_nan(h))
        }).collect();
        Elem::wrap(clipped)
    }, _ => return Err(not_numeric(x)));
    Ok(vec![Tensor::new(x.shape().to_vec(), data)?])
}

/// Where: `condition ? x : y`, all three broadcast.
pub(super) fn where_(ctx: &Ctx) -> Out {
    let (c, x, y) = (ctx.input(0)?, ctx.input(1)?, ctx.input(2)?);
    let cond = bools(c, "condition")?;
    let (shape, data) = with_data!(x.data(), xv => {
        let yv = same_as(xv, y, "input 2")?;
        let (shape, v) = broadcast::zip3(
            (cond, c.shape()),
            (xv.as_slice(), x.shape()),
            (yv, y.shape()),
            |&k, a, b| select(k, a, b),
        )?;
        (shape, Elem::wrap(v))
    });
    Ok(vec![Tensor::new(shape, data)?])
}

fn select<T: Clone>(condition: bool, a: &T, b: &T) -> T {
    if condition {
        a.clone()
    } else {
        b.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_division_truncates_and_modulo_follows_the_divisor() {
        assert_eq!(Arith::div(-3i32, 2), Some(-1));
        assert_eq!(Arith::div(3i32, -2), Some(-1));
        assert_eq!(Arith::div(1u8, 0), None);
        assert_eq!((-3i32).modulo(2, false), Some(1));
        assert_eq!((-3i32).modulo(2, true), Some(-1));
        assert_eq!((-3.5f32).modulo(2.0, false), Some(0.5));
        assert_eq!(Arith::neg(i8::MIN), i8::MIN);
    }

    #[test]
    fn erf_is_accurate() {
        // Values from mpmath.
        for (x, want) in [
            (1e-8, 1.128_379_167_095_512_6e-8),
            (0.3, 0.328_626_759_459_127_4),
            (1.0, 0.842_700_792_949_714_9),
            (-2.5, -0.999_593_047_982_555),
        ] {
            let got = erf_f64(x);
            assert!(
                ((got - want) / want).abs() < 2e-7,
                "erf({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn max_and_min_propagate_nan() {
        assert!(1.0f32.max_nan(f32::NAN).is_nan());
        assert!(f32::NAN.min_nan(1.0).is_nan());
        assert_eq!(3u8.max_nan(7), 7);
    }
}
