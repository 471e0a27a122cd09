//! Reductions and selections: `ReduceMax`/`ReduceMean`/`ReduceSum` (axes as attribute or, from
//! opset 13/18, as input; `keepdims`, `noop_with_empty_axes`), `ArgMax`, `TopK`,
//! `NonMaxSuppression`.

use super::cx::{Cx, Ints};
use super::dims;
use crate::ir::types::{DType, Dim};

/// `ReduceX`: the reduced axes become 1 (`keepdims`) or disappear; no axes reduces everything,
/// unless `noop_with_empty_axes`.
pub fn reduce(cx: &mut Cx) -> Result<(), String> {
    let keep = cx.int_or("keepdims", 1)? != 0;
    let noop = cx.int_or("noop_with_empty_axes", 0)? != 0;
    let axes = cx.attr_or_input("axes", 1)?;
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match (x.shape.as_deref(), axes) {
        (None, _) => None,
        (Some(s), Ints::Unknown) => keep.then(|| vec![Dim::Unknown; s.len()]),
        (Some(s), Ints::Known(a)) if !a.is_empty() => {
            Some(reduced(s, &dims::norm_axes(&a, s.len())?, keep))
        }
        (Some(s), _) if noop => Some(s.to_vec()),
        (Some(s), _) => Some(reduced(s, &(0..s.len()).collect::<Vec<_>>(), keep)),
    };
    cx.set_shape(0, x.dtype, shape);
    Ok(())
}

fn reduced(shape: &[Dim], axes: &[usize], keep: bool) -> Vec<Dim> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match (axes.contains(&i), keep) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::Known(1)),
            (true, false) => None,
        })
        .collect()
}

/// `ArgMax`: i64 indices along `axis` (kept as 1 or removed).
pub fn arg_max(cx: &mut Cx) -> Result<(), String> {
    let axis = cx.int_or("axis", 0)?;
    let keep = cx.int_or("keepdims", 1)? != 0;
    let shape = match cx.shape(0) {
        Some(s) => Some(reduced(s, &[dims::norm_axis(axis, s.len())?], keep)),
        None => None,
    };
    cx.set_shape(0, DType::I64, shape);
    Ok(())
}

/// `TopK`: values and i64 indices, `k` along `axis` (k from input 1, or the opset-1 attribute).
pub fn top_k(cx: &mut Cx) -> Result<(), String> {
    let axis = cx.int_or("axis", -1)?;
    let k = match cx.attr_int("k")? {
        Some(k) => Some(k),
        None => match cx.ints(1).as_deref() {
            Some(&[k]) => Some(k),
            Some(other) => return Err(format!("K must hold one value, holds {other:?}")),
            None => None,
        },
    };
    if let Some(k) = k.filter(|&k| k < 0) {
        return Err(format!("K is {k}, must be non-negative"));
    }
    let shape = match cx.shape(0) {
        Some(s) => {
            let a = dims::norm_axis(axis, s.len())?;
            if let (Some(k), Dim::Known(n)) = (k, &s[a]) {
                if k > *n {
                    return Err(format!("K is {k}, axis {axis} has only {n} elements"));
                }
            }
            let mut out = s.to_vec();
            out[a] = k.map_or(Dim::Unknown, Dim::Known);
            Some(out)
        }
        None => None,
    };
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape.clone());
    }
    cx.set_shape(1, DType::I64, shape);
    Ok(())
}

/// `NonMaxSuppression`: `[num_selected, 3]` i64, the count known only at run time.
pub fn non_max_suppression(cx: &mut Cx) -> Result<(), String> {
    cx.set_shape(0, DType::I64, Some(vec![Dim::Unknown, Dim::Known(3)]));
    Ok(())
}
