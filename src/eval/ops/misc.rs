//! Constants, casts and the remaining single ops: Constant, ConstantOfShape, EyeLike, Range,
//! Cast/CastLike, Dropout.

use half::{bf16, f16};

use super::{dim, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, unsupported_dtype, Data, Tensor};
use crate::ir::attrs::attr_type;
use crate::ir::DType;
use crate::proto::attribute_proto::AttributeType;

type Out = Result<Vec<Tensor>, Fail>;

/// Converts a tensor to another element type with NumPy's `astype` semantics: floats to
/// integers truncate (saturating), integers wrap, anything to bool is `!= 0`, strings are
/// parsed and printed as Python does.
pub(super) fn cast(t: &Tensor, to: DType) -> Result<Tensor, Fail> {
    if t.dtype() == to {
        return Ok(t.clone());
    }
    let data = match t.data() {
        Data::Str(v) => {
            let parsed = v
                .iter()
                .map(|s| parse_number(s))
                .collect::<Result<Vec<_>, _>>()?;
            from_numbers(parsed, to)?
        }
        Data::F32(v) => from_numbers(v.iter().map(|&x| Number::Float(x as f64)).collect(), to)?,
        Data::F64(v) => from_numbers(v.iter().map(|&x| Number::Float(x)).collect(), to)?,
        Data::F16(v) => from_numbers(v.iter().map(|x| Number::Float(x.to_f64())).collect(), to)?,
        Data::BF16(v) => from_numbers(v.iter().map(|x| Number::Float(x.to_f64())).collect(), to)?,
        Data::I8(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
        Data::I16(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
        Data::I32(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
        Data::I64(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
        Data::U8(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
        Data::U16(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
        Data::U32(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
        Data::U64(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
        Data::Bool(v) => from_numbers(v.iter().map(|&x| Number::Int(x.into())).collect(), to)?,
    };
    Tensor::new(t.shape().to_vec(), data)
}

/// An element on its way between types: integers stay exact.
#[derive(Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

fn parse_number(s: &str) -> Result<Number, Fail> {
    let s = s.trim();
    if let Ok(i) = s.parse::<i128>() {
        return Ok(Number::Int(i));
    }
    s.parse::<f64>()
        .map(Number::Float)
        .map_err(|_| Fail::invalid(format!("cannot cast the string '{s}' to a number")))
}

fn from_numbers(v: Vec<Number>, to: DType) -> Result<Data, Fail> {
    /// Integers wrap (NumPy's `astype`); floats truncate toward zero and saturate.
    macro_rules! ints {
        ($variant:ident, $t:ty) => {
            Data::$variant(
                v.into_iter()
                    .map(|n| match n {
                        Number::Int(i) => i as $t,
                        Number::Float(f) => f as $t,
                    })
                    .collect(),
            )
        };
    }
    Ok(match to {
        DType::F32 => Data::F32(
            v.into_iter()
                .map(|n| match n {
                    Number::Int(i) => i as f32,
                    Number::Float(f) => f as f32,
                })
                .collect(),
        ),
        DType::F64 => Data::F64(v.into_iter().map(Number::f64).collect()),
        DType::F16 => Data::F16(v.into_iter().map(|n| f16::from_f64(n.f64())).collect()),
        DType::BF16 => Data::BF16(v.into_iter().map(|n| bf16::from_f64(n.f64())).collect()),
        DType::I8 => ints!(I8, i8),
        DType::I16 => ints!(I16, i16),
        DType::I32 => ints!(I32, i32),
        DType::I64 => ints!(I64, i64),
        DType::U8 => ints!(U8, u8),
        DType::U16 => ints!(U16, u16),
        DType::U32 => ints!(U32, u32),
        DType::U64 => ints!(U64, u64),
        DType::Bool => Data::Bool(
            v.into_iter()
                .map(|n| match n {
                    Number::Int(i) => i != 0,
                    Number::Float(f) => f != 0.0,
                })
                .collect(),
        ),
        DType::Str => Data::Str(v.into_iter().map(python_str).collect()),
        other => return Err(unsupported_dtype(other)),
    })
}

/// Python's `str()` of a number: integers plainly, floats in the shortest round-trip form,
/// scientific outside `1e-4 ≤ |x| < 1e16`.
fn python_str(n: Number) -> String {
    let f = match n {
        Number::Int(i) => return i.to_string(),
        Number::Float(f) => f,
    };
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn to_dtype(code: i64) -> Result<DType, Fail> {
    let dt = DType::from_onnx(i32::try_from(code).unwrap_or(0));
    if matches!(dt, DType::Other(_)) {
        return Err(Fail::invalid(format!("{code} is not an ONNX element type")));
    }
    Ok(dt)
}

pub(super) fn cast_kernel(ctx: &Ctx) -> Out {
    let to = ctx
        .node
        .attr_int("to")?
        .ok_or_else(|| Fail::invalid("attribute 'to' is required"))?;
    Ok(vec![cast(ctx.input(0)?, to_dtype(to)?)?])
}

pub(super) fn cast_like(ctx: &Ctx) -> Out {
    Ok(vec![cast(ctx.input(0)?, ctx.input(1)?.dtype())?])
}

pub(super) fn constant(ctx: &Ctx) -> Out {
    let attr = ctx
        .node
        .proto()
        .attribute
        .first()
        .ok_or_else(|| Fail::invalid("Constant has no value attribute"))?;
    let name = attr.name();
    let t = match (name, attr_type(attr)) {
        ("value", AttributeType::Tensor) => Tensor::from_proto(
            attr.t
                .as_ref()
                .ok_or_else(|| Fail::invalid("'value' holds no tensor"))?,
        )?,
        ("value_float", AttributeType::Float) => Tensor::scalar(attr.f()),
        ("value_floats", AttributeType::Floats) => {
            Tensor::from_vec(vec![attr.floats.len()], attr.floats.clone())?
        }
        ("value_int", AttributeType::Int) => Tensor::scalar(attr.i()),
        ("value_ints", AttributeType::Ints) => {
            Tensor::from_vec(vec![attr.ints.len()], attr.ints.clone())?
        }
        ("value_string", AttributeType::String) => {
            Tensor::scalar(String::from_utf8_lossy(attr.s()).into_owned())
        }
        ("value_strings", AttributeType::Strings) => Tensor::from_vec(
            vec![attr.strings.len()],
            attr.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        )?,
        ("sparse_value", _) => {
            return Err(Fail::unsupported(
                "sparse Constant values are not supported",
            ))
        }
        (other, ty) => {
            return Err(Fail::invalid(format!(
                "attribute '{other}' of type {} is not a Constant value",
                ty.as_str_name()
            )))
        }
    };
    Ok(vec![t])
}

pub(super) fn constant_of_shape(ctx: &Ctx) -> Out {
    let shape: Vec<usize> = ctx
        .input(0)?
        .to_i64s("shape")?
        .iter()
        .map(|&d| dim(d, "shape"))
        .collect::<Result<_, _>>()?;
    let value = match ctx.node.attr_tensor("value")? {
        Some(t) => Tensor::from_proto(t)?,
        None => Tensor::scalar(0f32),
    };
    if value.len() != 1 {
        return Err(Fail::invalid(format!(
            "attribute 'value' must hold one element, holds {}",
            value.len()
        )));
    }
    let n = numel(&shape)?;
    let data = crate::eval::tensor::map_data!(value.data(), v => repeated(v, n));
    Ok(vec![Tensor::new(shape, data)?])
}

/// `n` copies of the first element of `v` (which has one).
fn repeated<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    vec![v[0].clone(); n]
}

pub(super) fn eye_like(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let &[rows, cols] = x.shape() else {
        return Err(Fail::invalid(format!(
            "input must be 2-D, has shape {:?}",
            x.shape()
        )));
    };
    let k = ctx.int("k", 0)?;
    let to = match ctx.node.attr_int("dtype")? {
        Some(code) => to_dtype(code)?,
        None => x.dtype(),
    };
    let v: Vec<f64> = (0..rows * cols)
        .map(|i| f64::from(u8::from((i % cols) as i64 - (i / cols) as i64 == k)))
        .collect();
    Ok(vec![cast(&Tensor::from_vec(vec![rows, cols], v)?, to)?])
}

pub(super) fn range(ctx: &Ctx) -> Out {
    let scalar = |i: usize, what: &str| -> Result<f64, Fail> {
        let t = ctx.input(i)?;
        match t.to_f64s(what)?[..] {
            [v] => Ok(v),
            _ => Err(Fail::invalid(format!("'{what}' must be a scalar"))),
        }
    };
    let (start, limit, delta) = (
        scalar(0, "start")?,
        scalar(1, "limit")?,
        scalar(2, "delta")?,
    );
    if delta == 0.0 {
        return Err(Fail::invalid("'delta' is 0"));
    }
    let count = ((limit - start) / delta).ceil().max(0.0);
    if !count.is_finite() || count > (1u64 << 40) as f64 {
        return Err(Fail::invalid(format!(
            "Range({start}, {limit}, {delta}) is too long"
        )));
    }
    let dt = ctx.input(0)?.dtype();
    let n = count as usize;
    let y = if dt.is_float() {
        cast(
            &Tensor::from_vec(vec![n], (0..n).map(|i| start + i as f64 * delta).collect())?,
            dt,
        )?
    } else {
        let (s, d) = (start as i64, delta as i64);
        cast(
            &Tensor::from_vec(vec![n], (0..n as i64).map(|i| s + i * d).collect())?,
            dt,
        )?
    };
    Ok(vec![y])
}

/// Dropout at inference: the identity, and an all-true mask when asked for.
pub(super) fn dropout(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let training = match ctx.opt(2) {
        Some(t) => t
            .typed::<bool>("training_mode")?
            .first()
            .copied()
            .unwrap_or(false),
        None => false,
    };
    let ratio = match ctx.opt(1) {
        Some(t) => t.to_f64s("ratio")?.first().copied().unwrap_or(0.5),
        None => 0.5,
    };
    if training && ratio != 0.0 {
        return Err(Fail::unsupported(
            "Dropout in training mode is random; the evaluator does not run it",
        ));
    }
    let mut outs = vec![x.clone()];
    if ctx.outputs > 1 {
        outs.push(Tensor::from_vec(x.shape().to_vec(), vec![true; x.len()])?);
    }
    Ok(outs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_numpy() {
        let t = Tensor::from_vec(vec![4], vec![-1.7f32, 2.9, 300.0, f32::NAN]).unwrap();
        assert_eq!(
            cast(&t, DType::I32).unwrap().as_slice::<i32>().unwrap(),
            &[-1, 2, 300, 0]
        );
        assert_eq!(
            cast(&t, DType::Bool).unwrap().as_slice::<bool>().unwrap(),
            &[true, true, true, true]
        );
        let wrap = Tensor::from_vec(vec![2], vec![300i32, -1]).unwrap();
        assert_eq!(
            cast(&wrap, DType::U8).unwrap().as_slice::<u8>().unwrap(),
            &[44, 255]
        );
        let big = Tensor::scalar(i64::MAX);
        assert_eq!(
            cast(&big, DType::U64).unwrap().as_slice::<u64>().unwrap(),
            &[i64::MAX as u64]
        );
    }

    #[test]
    fn strings_print_like_python() {
        let s = |f: f64| python_str(Number::Float(f));
        assert_eq!(s(0.5), "0.5");
        assert_eq!(s(3.0), "3.0");
        assert_eq!(s(1e-5), "1e-05");
        assert_eq!(s(-2.5e20), "-2.5e+20");
        assert_eq!(s(f64::NEG_INFINITY), "-inf");
        let t = Tensor::from_vec(vec![2], vec!["1.5".to_string(), "-7".to_string()]).unwrap();
        assert_eq!(
            cast(&t, DType::F32).unwrap().as_slice::<f32>().unwrap(),
            &[1.5, -7.0]
        );
        assert!(cast(&Tensor::scalar("x".to_string()), DType::F32).is_err());
    }
}
