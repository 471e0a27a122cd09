//! Ops that rearrange elements without computing: `Reshape` (0 and -1, `allowzero`), `Flatten`,
//! `Squeeze`/`Unsqueeze` (axes as attribute, or as input from opset 13), `Transpose`,
//! `DepthToSpace`/`SpaceToDepth`, `Expand`, `Tile`. Shape-like contents pass through `Reshape`,
//! `Squeeze` and `Unsqueeze`.

use super::cx::{Cx, Ints};
use super::data::MAX_ELEMENTS;
use super::dims::{self, show};
use crate::ir::types::Dim;

/// The rank a shape-typed input of static length `[n]` gives (unknown dims), for when its
/// contents are unknown.
fn rank_from_shape_input(cx: &Cx, slot: usize) -> Option<usize> {
    match cx.shape(slot)? {
        [Dim::Known(n)] => usize::try_from(*n).ok().filter(|&n| n <= MAX_ELEMENTS),
        _ => None,
    }
}

/// `Reshape(data, shape)`: the target shape, 0 copying the input dim (unless `allowzero`) and one
/// -1 inferred from the element count.
pub fn reshape(cx: &mut Cx) -> Result<(), String> {
    let allowzero = cx.int_or("allowzero", 0)? != 0;
    let target: Option<Vec<Dim>> = match cx.attr_ints("shape")? {
        Some(s) => Some(s.iter().map(|&d| Dim::Known(d)).collect()),
        None => cx.data(1).map(<[_]>::to_vec),
    };
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match target {
        Some(t) => Some(reshape_shape(x.shape.as_deref(), &t, allowzero)?),
        None => rank_from_shape_input(cx, 1).map(|r| vec![Dim::Unknown; r]),
    };
    cx.set_shape(0, x.dtype, shape);
    if let Some(d) = cx.data(0) {
        cx.set_data(0, d.to_vec());
    }
    Ok(())
}

fn reshape_shape(
    input: Option<&[Dim]>,
    target: &[Dim],
    allowzero: bool,
) -> Result<Vec<Dim>, String> {
    let mut out = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, t) in target.iter().enumerate() {
        let d = match t {
            Dim::Known(-1) => {
                if infer_at.replace(i).is_some() {
                    return Err(format!("shape {} has more than one -1", show(target)));
                }
                Dim::Unknown
            }
            Dim::Known(0) if !allowzero => match input {
                Some(s) => s.get(i).cloned().ok_or_else(|| {
                    format!(
                        "shape {}: 0 at position {i} copies a dim input {} does not have",
                        show(target),
                        show(s)
                    )
                })?,
                None => Dim::Unknown,
            },
            Dim::Known(n) if *n < 0 => {
                return Err(format!("shape {} has a negative size {n}", show(target)))
            }
            other => other.clone(),
        };
        out.push(d);
    }
    if allowzero && infer_at.is_some() && target.contains(&Dim::Known(0)) {
        return Err(format!(
            "shape {} has both 0 and -1 with allowzero",
            show(target)
        ));
    }
    let Some(input) = input else {
        return Ok(out);
    };
    match infer_at {
        Some(at) => out[at] = missing_size(input, &out, at)?,
        None => {
            if let (Dim::Known(a), Dim::Known(b)) = (dims::product(input)?, dims::product(&out)?) {
                if a != b {
                    return Err(format!(
                        "cannot reshape {} ({a} elements) to {} ({b} elements)",
                        show(input),
                        show(&out)
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The size -1 stands for: the input's element count over the other output dims', symbolic
/// factors present on both sides cancelled.
fn missing_size(input: &[Dim], out: &[Dim], at: usize) -> Result<Dim, String> {
    let mut symbols: Vec<&Dim> = Vec::new();
    let mut in_known: i64 = 1;
    for d in input {
        match d {
            Dim::Known(n) => in_known = dims::mul(in_known, *n)?,
            other => symbols.push(other),
        }
    }
    let mut out_known: i64 = 1;
    let mut unmatched = false;
    for (_, d) in out.iter().enumerate().filter(|(i, _)| *i != at) {
        match d {
            Dim::Known(n) => out_known = dims::mul(out_known, *n)?,
            Dim::Param(_) => match symbols.iter().position(|s| *s == d) {
                Some(p) => {
                    symbols.remove(p);
                }
                None => unmatched = true,
            },
            Dim::Unknown => unmatched = true,
        }
    }
    if unmatched || !symbols.is_empty() || (out_known == 0 && in_known == 0) {
        return Ok(Dim::Unknown);
    }
    if out_known == 0 || in_known % out_known != 0 {
        return Err(format!(
            "cannot reshape {} into {} with -1: {in_known} elements do not divide by {out_known}",
            show(input),
            show(out)
        ));
    }
    Ok(Dim::Known(in_known / out_known))
}

/// `Flatten`: `[prod(d[..axis]), prod(d[axis..])]`, axis in `[-r, r]`.
pub fn flatten(cx: &mut Cx) -> Result<(), String> {
    let axis = cx.int_or("axis", 1)?;
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match x.shape.as_deref() {
        Some(s) => {
            let r = s.len() as i64;
            if !(-r..=r).contains(&axis) {
                return Err(format!("axis {axis} is out of range for rank {r}"));
            }
            let a = if axis < 0 { axis + r } else { axis } as usize;
            Some(vec![dims::product(&s[..a])?, dims::product(&s[a..])?])
        }
        None => Some(vec![Dim::Unknown, Dim::Unknown]),
    };
    cx.set_shape(0, x.dtype, shape);
    Ok(())
}

/// `Squeeze`: removes the given size-1 axes, or every known 1 when none are given.
pub fn squeeze(cx: &mut Cx) -> Result<(), String> {
    let axes = cx.attr_or_input("axes", 1)?;
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match (x.shape.as_deref(), axes) {
        (Some(s), Ints::Known(a)) => {
            let a = dims::norm_axes(&a, s.len())?;
            if let Some(&i) = a.iter().find(|&&i| matches!(s[i], Dim::Known(n) if n != 1)) {
                return Err(format!("cannot squeeze axis {i} of {}", show(s)));
            }
            let kept = s.iter().enumerate().filter(|(i, _)| !a.contains(i));
            Some(kept.map(|(_, d)| d.clone()).collect())
        }
        (Some(s), Ints::Absent) if s.iter().all(|d| d.known().is_some()) => {
            Some(s.iter().filter(|d| **d != Dim::Known(1)).cloned().collect())
        }
        _ => None,
    };
    cx.set_shape(0, x.dtype, shape);
    if let Some(d) = cx.data(0) {
        cx.set_data(0, d.to_vec());
    }
    Ok(())
}

/// `Unsqueeze`: inserts size-1 axes at the given output positions.
pub fn unsqueeze(cx: &mut Cx) -> Result<(), String> {
    let axes = match cx.attr_or_input("axes", 1)? {
        Ints::Absent => return Err("no axes are given".into()),
        Ints::Known(a) => Some(a),
        Ints::Unknown => None,
    };
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match (x.shape.as_deref(), axes) {
        (Some(s), Some(a)) => {
            let rank = s.len() + a.len();
            let a = dims::norm_axes(&a, rank)?;
            let mut rest = s.iter();
            let out = (0..rank).map(|i| {
                if a.contains(&i) {
                    Some(Dim::Known(1))
                } else {
                    rest.next().cloned()
                }
            });
            out.collect::<Option<Vec<Dim>>>()
        }
        _ => None,
    };
    cx.set_shape(0, x.dtype, shape);
    if let Some(d) = cx.data(0) {
        cx.set_data(0, d.to_vec());
    }
    Ok(())
}

/// `Transpose`: dims permuted by `perm` (default: reversed).
pub fn transpose(cx: &mut Cx) -> Result<(), String> {
    let perm = cx.attr_ints("perm")?;
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match x.shape.as_deref() {
        Some(s) => {
            let perm: Vec<usize> = match perm {
                Some(p) if p.len() == s.len() => dims::norm_axes(p, s.len())
                    .map_err(|e| format!("attribute 'perm' {p:?}: {e}"))?,
                Some(p) => {
                    return Err(format!(
                        "attribute 'perm' {p:?} does not fit rank {}",
                        s.len()
                    ))
                }
                None => (0..s.len()).rev().collect(),
            };
            Some(perm.iter().map(|&i| s[i].clone()).collect())
        }
        None => perm.map(|p| vec![Dim::Unknown; p.len()]),
    };
    cx.set_shape(0, x.dtype, shape);
    Ok(())
}

fn blocksize(cx: &Cx) -> Result<i64, String> {
    match cx.attr_int("blocksize")? {
        Some(b) if b >= 1 => Ok(b),
        Some(b) => Err(format!("attribute 'blocksize': {b} is below 1")),
        None => Err("attribute 'blocksize' is missing".into()),
    }
}

/// `DepthToSpace`: `[N, C / b², H * b, W * b]`.
pub fn depth_to_space(cx: &mut Cx) -> Result<(), String> {
    block_rearrange(cx, true)
}

/// `SpaceToDepth`: `[N, C * b², H / b, W / b]`.
pub fn space_to_depth(cx: &mut Cx) -> Result<(), String> {
    block_rearrange(cx, false)
}

fn block_rearrange(cx: &mut Cx, to_space: bool) -> Result<(), String> {
    let b = blocksize(cx)?;
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match x.shape.as_deref() {
        Some([n, c, h, w]) if to_space => Some(vec![
            n.clone(),
            dims::divide(c, dims::mul(b, b)?, "channel count")?,
            dims::scale(h, b)?,
            dims::scale(w, b)?,
        ]),
        Some([n, c, h, w]) => Some(vec![
            n.clone(),
            dims::scale(c, dims::mul(b, b)?)?,
            dims::divide(h, b, "height")?,
            dims::divide(w, b, "width")?,
        ]),
        Some(s) => return Err(format!("input {} is not 4-D", show(s))),
        None => None,
    };
    cx.set_shape(0, x.dtype, shape);
    Ok(())
}

/// `Expand(input, shape)`: the input broadcast with the target shape.
pub fn expand(cx: &mut Cx) -> Result<(), String> {
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match (x.shape.as_deref(), cx.data(1)) {
        (Some(s), Some(target)) => Some(dims::broadcast(s, target)?),
        (Some(s), None) => rank_from_shape_input(cx, 1).map(|r| vec![Dim::Unknown; r.max(s.len())]),
        (None, _) => None,
    };
    cx.set_shape(0, x.dtype, shape);
    Ok(())
}

/// `Tile(input, repeats)`: every dim times its repeat count.
pub fn tile(cx: &mut Cx) -> Result<(), String> {
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let shape = match (x.shape.as_deref(), cx.data(1)) {
        (Some(s), Some(r)) if r.len() != s.len() => {
            return Err(format!(
                "{} repeats for input {} of rank {}",
                r.len(),
                show(s),
                s.len()
            ))
        }
        (Some(s), Some(r)) => Some(
            s.iter()
                .zip(r)
                .map(|(d, r)| match (d, r) {
                    (d, Dim::Known(n)) if *n < 0 => Err(format!("repeat count {n} of {d}")),
                    (d, Dim::Known(n)) => dims::scale(d, *n),
                    (Dim::Known(1), r) => Ok(r.clone()),
                    _ => Ok(Dim::Unknown),
                })
                .collect::<Result<Vec<Dim>, String>>()?,
        ),
        (Some(s), None) => Some(vec![Dim::Unknown; s.len()]),
        (None, _) => None,
    };
    cx.set_shape(0, x.dtype, shape);
    Ok(())
}
