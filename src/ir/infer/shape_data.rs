//! Ops that make shape-like values: `Constant`, `ConstantOfShape`, `Shape` (with `start`/`end`),
//! `Range`. These are where propagated contents start.

use super::cx::Cx;
use super::data;
use crate::ir::types::{static_shape, DType, Dim, TensorType};

/// A static shape from tensor dims, which must not be negative.
fn dims_shape(dims: &[i64], what: &str) -> Result<Vec<Dim>, String> {
    match dims.iter().find(|&&d| d < 0) {
        Some(d) => Err(format!("{what} has a negative dimension {d}")),
        None => Ok(static_shape(dims)),
    }
}

/// `Constant`: the type of whichever value attribute it has; small integer values become
/// contents.
pub fn constant(cx: &mut Cx) -> Result<(), String> {
    let node = cx.node();
    let list = |dtype: DType, len: usize| TensorType::new(dtype, static_shape(&[len as i64]));
    let ty = if let Some(t) = cx.attr_tensor("value")? {
        TensorType::new(
            DType::from_onnx(t.data_type()),
            dims_shape(&t.dims, "attribute 'value'")?,
        )
    } else if let Some(sp) = node
        .attr("sparse_value")
        .and_then(|a| a.sparse_tensor.as_ref())
    {
        let dtype = sp.values.as_ref().map_or(0, |v| v.data_type());
        TensorType::new(
            DType::from_onnx(dtype),
            dims_shape(&sp.dims, "attribute 'sparse_value'")?,
        )
    } else if node.attr("value_int").is_some() {
        TensorType::new(DType::I64, vec![])
    } else if node.attr("value_float").is_some() {
        TensorType::new(DType::F32, vec![])
    } else if node.attr("value_string").is_some() {
        TensorType::new(DType::Str, vec![])
    } else if let Some(a) = node.attr("value_ints") {
        list(DType::I64, a.ints.len())
    } else if let Some(a) = node.attr("value_floats") {
        list(DType::F32, a.floats.len())
    } else if let Some(a) = node.attr("value_strings") {
        list(DType::Str, a.strings.len())
    } else {
        return Err("it has no value attribute".into());
    };
    cx.set(0, ty);
    if let Some(d) = data::constant_attr_value(node).and_then(|c| c.small_ints()) {
        cx.set_data(0, d);
    }
    Ok(())
}

/// `ConstantOfShape(shape)`: the shape input's contents as shape; the `value` attribute's type
/// (f32 by default). Small integer results get their contents.
pub fn constant_of_shape(cx: &mut Cx) -> Result<(), String> {
    let value = cx.attr_tensor("value")?;
    let dtype = value.map_or(DType::F32, |t| DType::from_onnx(t.data_type()));
    let shape = match cx.data(0) {
        Some(d) => {
            if let Some(n) = d.iter().find_map(|d| d.known().filter(|&n| n < 0)) {
                return Err(format!("shape has a negative dimension {n}"));
            }
            Some(d.to_vec())
        }
        None => match cx.shape(0) {
            Some([Dim::Known(n)]) if *n <= data::MAX_ELEMENTS as i64 && *n >= 0 => {
                Some(vec![Dim::Unknown; *n as usize])
            }
            _ => None,
        },
    };
    let fill = value
        .and_then(data::tensor_constant)
        .and_then(|c| c.small_ints())
        .map_or(Some(Dim::Known(0)), |v| v.first().cloned());
    let count = shape
        .as_ref()
        .filter(|s| s.len() <= 1)
        .and_then(|s| s.iter().map(Dim::known).collect::<Option<Vec<i64>>>())
        .and_then(|s| super::dims::element_count(&s));
    cx.set_shape(0, dtype, shape);
    if let (Some(n), Some(fill), true) = (count, fill, data::carries_data(dtype)) {
        if n <= data::MAX_ELEMENTS {
            cx.set_data(0, vec![fill; n]);
        }
    }
    Ok(())
}

/// `Shape(data)`: i64 `[rank]` (or the `start..end` part), contents the input's dims.
pub fn shape(cx: &mut Cx) -> Result<(), String> {
    let start = cx.int_or("start", 0)?;
    let end = cx.attr_int("end")?;
    let Some(s) = cx.shape(0) else {
        cx.set_shape(0, DType::I64, Some(vec![Dim::Unknown]));
        return Ok(());
    };
    let r = s.len() as i64;
    let clamp = |i: i64| (if i < 0 { i.saturating_add(r) } else { i }).clamp(0, r) as usize;
    let (a, b) = (clamp(start), clamp(end.unwrap_or(r)));
    let part = s.get(a..b.max(a)).unwrap_or_default();
    cx.set_shape(0, DType::I64, Some(vec![Dim::Known(part.len() as i64)]));
    cx.set_data(0, part.to_vec());
    Ok(())
}

/// `Range(start, limit, delta)`: `[max(ceil((limit - start) / delta), 0)]`, contents for small
/// integer ranges.
pub fn range(cx: &mut Cx) -> Result<(), String> {
    for i in 0..3 {
        if let Some(s) = cx.shape(i).filter(|s| !s.is_empty()) {
            return Err(format!(
                "input {i} must be a scalar, is {}",
                super::dims::show(s)
            ));
        }
    }
    let dtype = cx.dtype(0).or(cx.dtype(1)).or(cx.dtype(2));
    let Some(dtype) = dtype else { return Ok(()) };
    let ints: Option<Vec<i64>> = (0..3).map(|i| cx.ints(i)?.first().copied()).collect();
    let floats: Option<Vec<f64>> = (0..3).map(|i| cx.floats(i)?.first().copied()).collect();
    let count = match (ints.as_deref(), floats.as_deref()) {
        (Some(&[start, limit, delta]), _) => {
            if delta == 0 {
                return Err("delta is 0".into());
            }
            let span = i128::from(limit) - i128::from(start);
            let delta = i128::from(delta);
            // ceil(span / delta) for either sign of delta.
            let n = (span + delta - delta.signum()) / delta;
            let n = i64::try_from(n.max(0)).map_err(|_| "the range is too long".to_string())?;
            let step = delta as i64;
            let values: Option<Vec<Dim>> = (0..n.min(data::MAX_ELEMENTS as i64 + 1))
                .map(|k| Some(Dim::Known(start.checked_add(k.checked_mul(step)?)?)))
                .collect();
            if let Some(values) = values {
                cx.set_data(0, values);
            }
            Dim::Known(n)
        }
        (_, Some(&[start, limit, delta])) => {
            if delta == 0.0 {
                return Err("delta is 0".into());
            }
            let n = if dtype == DType::F32 {
                ((limit as f32 - start as f32) / delta as f32).ceil() as f64
            } else {
                ((limit - start) / delta).ceil()
            };
            if !n.is_finite() || n > i64::MAX as f64 / 2.0 {
                return Err(format!("the range has {n} elements"));
            }
            Dim::Known(n.max(0.0) as i64)
        }
        _ => Dim::Unknown,
    };
    cx.set_shape(0, dtype, Some(vec![count]));
    Ok(())
}
