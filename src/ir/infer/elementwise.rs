//! Element-wise ops: activations and other unary maps (output = input type), broadcasting
//! arithmetic and comparisons, `Where`, `Cast`, `Softmax`, `BatchNormalization`. The integer
//! ones among them (`Add`, `Sub`, `Mul`, `Div`, `Equal`, `Where`, `Cast`, `Identity`) also
//! propagate contents.

use super::cx::Cx;
use super::dims;
use crate::ir::op::Op;
use crate::ir::types::{DType, Dim, TensorType};

/// Output 0 has input 0's type.
pub fn same_as_input(cx: &mut Cx) -> Result<(), String> {
    if let Some(x) = cx.ty(0) {
        cx.set(0, x.clone());
    }
    Ok(())
}

/// Same type, same contents.
pub fn identity(cx: &mut Cx) -> Result<(), String> {
    same_as_input(cx)?;
    if let Some(d) = cx.data(0) {
        cx.set_data(0, d.to_vec());
    }
    Ok(())
}

/// Same type; the axis must exist (default 1 before opset 13, -1 since).
pub fn softmax(cx: &mut Cx) -> Result<(), String> {
    let default = if cx.opset < 13 { 1 } else { -1 };
    let axis = cx.int_or("axis", default)?;
    if let Some(s) = cx.shape(0) {
        dims::norm_axis(axis, s.len())?;
    }
    same_as_input(cx)
}

/// `Y` has `X`'s type; the optional statistics outputs are per channel.
pub fn batch_norm(cx: &mut Cx) -> Result<(), String> {
    same_as_input(cx)?;
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let channels = match x.shape.as_deref() {
        Some([_, c, ..]) => Some(c.clone()),
        Some(s) => return Err(format!("input rank {} is below 2", s.len())),
        None => cx.shape(1).and_then(|s| s.first().cloned()),
    };
    // Running mean/var (opset 14+: type of input 3) and, before opset 14, the saved statistics.
    let stat_dtype = cx.dtype(3).unwrap_or(x.dtype);
    for slot in 1..cx.n_outputs() {
        cx.set_shape(slot, stat_dtype, channels.clone().map(|c| vec![c]));
    }
    Ok(())
}

/// The broadcast shape of inputs `slots` (`None` when a rank is unknown).
fn broadcast_inputs(cx: &Cx, slots: &[usize]) -> Result<Option<Vec<Dim>>, String> {
    let mut out: Vec<Dim> = Vec::new();
    for &i in slots {
        let Some(s) = cx.shape(i) else {
            return Ok(None);
        };
        out = dims::broadcast(&out, s)?;
    }
    Ok(Some(out))
}

/// The common element type of inputs `slots`; differing known types are an error.
fn common_dtype(cx: &Cx, slots: &[usize]) -> Result<Option<DType>, String> {
    let mut found: Option<DType> = None;
    for &i in slots {
        match (found, cx.dtype(i)) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!("inputs have different element types {a} and {b}"))
            }
            (None, t) => found = t,
            _ => {}
        }
    }
    Ok(found)
}

fn all_inputs(cx: &Cx) -> Vec<usize> {
    (0..cx.n_inputs()).filter(|&i| cx.has_input(i)).collect()
}

/// `Add`, `Sub`, `Mul`, `Div`, `Pow`, `Min`, `Max`: broadcast; element type of the first input
/// (`Pow`'s exponent may differ).
pub fn arithmetic(cx: &mut Cx) -> Result<(), String> {
    let slots = all_inputs(cx);
    let dtype = if cx.op() == Op::Pow {
        cx.dtype(0)
    } else {
        common_dtype(cx, &slots)?
    };
    let shape = broadcast_inputs(cx, &slots)?;
    let Some(dtype) = dtype else { return Ok(()) };
    cx.set_shape(0, dtype, shape);
    let f = match cx.op() {
        Op::Add => dims::data_add,
        Op::Sub => dims::data_sub,
        Op::Mul => dims::data_mul,
        Op::Div => dims::data_div,
        _ => return Ok(()),
    };
    if let Some(d) = zip_data(cx.data(0), cx.data(1), f) {
        cx.set_data(0, d);
    }
    Ok(())
}

/// `Equal`, `Less`, `Greater`: broadcast, boolean output.
pub fn comparison(cx: &mut Cx) -> Result<(), String> {
    common_dtype(cx, &[0, 1])?;
    let shape = broadcast_inputs(cx, &[0, 1])?;
    cx.set_shape(0, DType::Bool, shape);
    if cx.op() == Op::Equal {
        if let Some(d) = zip_data(cx.data(0), cx.data(1), dims::data_equal) {
            cx.set_data(0, d);
        }
    }
    Ok(())
}

/// `Where(cond, x, y)`: broadcast of all three, element type of `x`.
pub fn where_(cx: &mut Cx) -> Result<(), String> {
    if let Some(t) = cx.dtype(0).filter(|&t| t != DType::Bool) {
        return Err(format!("condition is {t}, must be bool"));
    }
    let dtype = common_dtype(cx, &[1, 2])?;
    let shape = broadcast_inputs(cx, &[0, 1, 2])?;
    let Some(dtype) = dtype else { return Ok(()) };
    cx.set_shape(0, dtype, shape);
    let pick = |c: &Dim, x: &Dim, y: &Dim| match c {
        Dim::Known(0) => y.clone(),
        Dim::Known(_) => x.clone(),
        _ if x == y => x.clone(),
        _ => Dim::Unknown,
    };
    if let (Some(c), Some(x), Some(y)) = (cx.data(0), cx.data(1), cx.data(2)) {
        let n = c.len().max(x.len()).max(y.len());
        let at = |d: &[Dim], i: usize| d.get(if d.len() == 1 { 0 } else { i }).cloned();
        let fits = |d: &[Dim]| d.len() == n || d.len() == 1;
        if fits(c) && fits(x) && fits(y) {
            let d: Option<Vec<Dim>> = (0..n)
                .map(|i| Some(pick(&at(c, i)?, &at(x, i)?, &at(y, i)?)))
                .collect();
            if let Some(d) = d {
                cx.set_data(0, d);
            }
        }
    }
    Ok(())
}

/// `Cast`: the `to` type, same shape; integer contents survive casts between integer types.
pub fn cast(cx: &mut Cx) -> Result<(), String> {
    let to = cx.attr_int("to")?.ok_or("attribute 'to' is missing")?;
    let to = i32::try_from(to)
        .ok()
        .map(DType::from_onnx)
        .filter(|t| !matches!(t, DType::Other(_)))
        .ok_or_else(|| format!("attribute 'to': {to} is not an element type"))?;
    let shape = cx.ty(0).and_then(|t| t.shape.clone());
    cx.set(0, TensorType { dtype: to, shape });
    let Some(d) = cx.data(0) else { return Ok(()) };
    let cast_one = |e: &Dim| match (to, e) {
        (DType::Bool, Dim::Known(n)) => Dim::Known(i64::from(*n != 0)),
        (DType::I32, Dim::Known(n)) if i32::try_from(*n).is_err() => Dim::Unknown,
        (DType::Bool, _) => Dim::Unknown,
        _ => e.clone(),
    };
    if matches!(to, DType::I64 | DType::I32 | DType::Bool) {
        cx.set_data(0, d.iter().map(cast_one).collect());
    }
    Ok(())
}

/// Element-wise `f` over two contents with rank ≤ 1 broadcasting (equal lengths, or one of 1).
pub fn zip_data(
    a: Option<&[Dim]>,
    b: Option<&[Dim]>,
    f: fn(&Dim, &Dim) -> Dim,
) -> Option<Vec<Dim>> {
    let (a, b) = (a?, b?);
    match (a.len(), b.len()) {
        (x, y) if x == y => Some(a.iter().zip(b).map(|(p, q)| f(p, q)).collect()),
        (1, _) => Some(b.iter().map(|q| f(&a[0], q)).collect()),
        (_, 1) => Some(a.iter().map(|p| f(p, &b[0])).collect()),
        _ => None,
    }
}
