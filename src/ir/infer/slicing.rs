//! Ops that cut and join along axes: `Concat`, `Split` (sizes as attribute, input or
//! `num_outputs`), `Slice` (negative and clamped bounds, steps), `Gather`, `Pad`. `Concat`,
//! `Slice` and `Gather` also propagate shape-like contents, which is how computed `Reshape`
//! targets become known.

use super::cx::{Cx, Ints};
use super::dims::{self, show};
use crate::ir::types::{DType, Dim};

fn connected(cx: &Cx) -> Vec<usize> {
    (0..cx.n_inputs()).filter(|&i| cx.has_input(i)).collect()
}

/// `Concat` along `axis`; contents are joined too.
pub fn concat(cx: &mut Cx) -> Result<(), String> {
    let slots = connected(cx);
    let shape = concat_shape(cx, &slots)?;
    let mut dtype: Option<DType> = None;
    for &i in &slots {
        match (dtype, cx.dtype(i)) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!("inputs have different element types {a} and {b}"))
            }
            (None, t) => dtype = t,
            _ => {}
        }
    }
    let Some(dtype) = dtype else { return Ok(()) };
    cx.set_shape(0, dtype, shape);
    let parts: Option<Vec<&[Dim]>> = slots.iter().map(|&i| cx.data(i)).collect();
    if let Some(parts) = parts {
        cx.set_data(0, parts.concat());
    }
    Ok(())
}

/// The shape of inputs `slots` joined along the `axis` attribute.
pub fn concat_shape(cx: &Cx, slots: &[usize]) -> Result<Option<Vec<Dim>>, String> {
    let axis = cx.attr_int("axis")?.ok_or("attribute 'axis' is missing")?;
    let shapes: Option<Vec<&[Dim]>> = slots.iter().map(|&i| cx.shape(i)).collect();
    let Some(shapes) = shapes else {
        return Ok(None);
    };
    let Some(first) = shapes.first() else {
        return Err("no inputs".into());
    };
    if first.is_empty() {
        return Err("cannot concatenate scalars".into());
    }
    let a = dims::norm_axis(axis, first.len())?;
    let mut out = first.to_vec();
    for s in &shapes[1..] {
        if s.len() != out.len() {
            return Err(format!(
                "inputs {} and {} differ in rank",
                show(first),
                show(s)
            ));
        }
        for (i, (o, d)) in out.iter_mut().zip(s.iter()).enumerate() {
            *o = if i == a {
                match (&*o, d) {
                    (Dim::Known(x), Dim::Known(y)) => Dim::Known(dims::add(*x, *y)?),
                    (x, Dim::Known(0)) => x.clone(),
                    (Dim::Known(0), y) => y.clone(),
                    _ => Dim::Unknown,
                }
            } else {
                dims::unify(o, d).map_err(|e| {
                    format!(
                        "inputs {} and {} differ on axis {i}: {e}",
                        show(first),
                        show(s)
                    )
                })?
            };
        }
    }
    Ok(Some(out))
}

/// `Split` along `axis`: sizes from the `split` attribute/input, else `num_outputs` chunks
/// (the last one smaller), else equal parts, one per output.
pub fn split(cx: &mut Cx) -> Result<(), String> {
    let axis = cx.int_or("axis", 0)?;
    let n_out = cx.n_outputs();
    let sizes = cx.attr_or_input("split", 1)?;
    let num_outputs = cx.attr_int("num_outputs")?;
    if let Some(k) = num_outputs.filter(|&k| usize::try_from(k).ok() != Some(n_out)) {
        return Err(format!(
            "attribute 'num_outputs' is {k}, the node has {n_out} outputs"
        ));
    }
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let Some(s) = x.shape.as_deref() else {
        for slot in 0..n_out {
            cx.set_shape(slot, x.dtype, None);
        }
        return Ok(());
    };
    let a = dims::norm_axis(axis, s.len())?;
    let parts: Vec<Dim> = match (sizes, &s[a]) {
        (Ints::Known(v), d) => {
            if v.len() != n_out {
                return Err(format!("{} split sizes for {n_out} outputs", v.len()));
            }
            if let Some(n) = v.iter().find(|&&n| n < 0) {
                return Err(format!("split size {n} is negative"));
            }
            let total = v.iter().try_fold(0i64, |t, &n| dims::add(t, n))?;
            if let Dim::Known(d) = d {
                if total != *d {
                    return Err(format!("split sizes {v:?} do not add up to {d}"));
                }
            }
            v.iter().map(|&n| Dim::Known(n)).collect()
        }
        (Ints::Unknown, _) => vec![Dim::Unknown; n_out],
        (Ints::Absent, d) if n_out <= 1 => vec![d.clone(); n_out],
        (Ints::Absent, Dim::Known(d)) => {
            let k = n_out as i64;
            match num_outputs {
                Some(_) => {
                    let chunk = dims::add(*d, k - 1)? / k;
                    let last = dims::add(*d, -dims::mul(chunk, k - 1)?)?;
                    if last < 0 {
                        return Err(format!("{d} elements cannot be split into {k} chunks"));
                    }
                    let mut v = vec![Dim::Known(chunk); n_out - 1];
                    v.push(Dim::Known(last));
                    v
                }
                None if d % k != 0 => {
                    return Err(format!("{d} elements do not split evenly into {k} outputs"))
                }
                None => vec![Dim::Known(d / k); n_out],
            }
        }
        (Ints::Absent, _) => vec![Dim::Unknown; n_out],
    };
    for (slot, part) in parts.into_iter().enumerate() {
        let mut shape = s.to_vec();
        shape[a] = part;
        cx.set_shape(slot, x.dtype, Some(shape));
    }
    Ok(())
}

/// The elements `Slice` keeps of an axis of size `n`: `(first, count)`, ONNX clamping rules.
fn slice_range(n: i64, start: i64, end: i64, step: i64) -> (i128, i128) {
    let n = i128::from(n);
    let (mut s, mut e, step) = (i128::from(start), i128::from(end), i128::from(step));
    if s < 0 {
        s += n;
    }
    if e < 0 {
        e += n;
    }
    if n <= 0 {
        return (0, 0);
    }
    let count = if step > 0 {
        s = s.clamp(0, n);
        e = e.clamp(0, n);
        (e - s + step - 1) / step
    } else {
        s = s.clamp(0, n - 1);
        e = e.clamp(-1, n - 1);
        (s - e - step - 1) / -step
    };
    (s, count.max(0))
}

/// `Slice(data, starts, ends, axes?, steps?)`.
pub fn slice(cx: &mut Cx) -> Result<(), String> {
    // Before opset 10 starts/ends/axes are attributes and there is no input 1-4.
    let starts = cx.attr_or_input("starts", 1)?;
    let ends = cx.attr_or_input("ends", 2)?;
    let axes = cx.attr_or_input("axes", 3)?;
    let steps = cx.input_ints(4);
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let Some(s) = x.shape.as_deref() else {
        cx.set_shape(0, x.dtype, None);
        return Ok(());
    };
    let axes = match axes {
        Ints::Known(a) => Some(dims::norm_axes(&a, s.len())?),
        Ints::Absent => None,
        Ints::Unknown => {
            cx.set_shape(0, x.dtype, Some(vec![Dim::Unknown; s.len()]));
            return Ok(());
        }
    };
    let (Ints::Known(starts), Ints::Known(ends)) = (starts, ends) else {
        let mut out = s.to_vec();
        for i in axes.unwrap_or_else(|| (0..s.len()).collect()) {
            out[i] = Dim::Unknown;
        }
        cx.set_shape(0, x.dtype, Some(out));
        return Ok(());
    };
    if starts.len() != ends.len() {
        return Err(format!("{} starts but {} ends", starts.len(), ends.len()));
    }
    let axes = match axes {
        Some(a) => a,
        None if starts.len() <= s.len() => (0..starts.len()).collect(),
        None => return Err(format!("{} starts for rank {}", starts.len(), s.len())),
    };
    let steps = match steps {
        Ints::Known(v) => Some(v),
        Ints::Absent => Some(vec![1; starts.len()]),
        Ints::Unknown => None,
    };
    if axes.len() != starts.len() || steps.as_ref().is_some_and(|v| v.len() != starts.len()) {
        return Err(format!(
            "starts, ends, axes and steps differ in length ({}, {}, {}, {:?})",
            starts.len(),
            ends.len(),
            axes.len(),
            steps.as_ref().map(Vec::len)
        ));
    }
    let mut out = s.to_vec();
    let mut data = cx.data(0).map(<[_]>::to_vec);
    for (k, &axis) in axes.iter().enumerate() {
        let Some(step) = steps.as_ref().map(|v| v[k]) else {
            out[axis] = Dim::Unknown;
            data = None;
            continue;
        };
        if step == 0 {
            return Err(format!("step on axis {axis} is 0"));
        }
        out[axis] = match &s[axis] {
            Dim::Known(n) => {
                let (first, count) = slice_range(*n, starts[k], ends[k], step);
                if let Some(d) = data.as_mut().filter(|_| axis == 0) {
                    *d = (0..count)
                        .filter_map(|j| d.get(usize::try_from(first + j * i128::from(step)).ok()?))
                        .cloned()
                        .collect();
                }
                Dim::Known(count as i64)
            }
            d if step == 1 && starts[k] == 0 && ends[k] >= i64::from(i32::MAX) => d.clone(),
            _ => Dim::Unknown,
        };
    }
    cx.set_shape(0, x.dtype, Some(out));
    if let Some(d) = data {
        cx.set_data(0, d);
    }
    Ok(())
}

/// `Gather(data, indices)` along `axis`: `data[..axis] + indices + data[axis+1..]`; contents of
/// a 1-D input picked by known indices.
pub fn gather(cx: &mut Cx) -> Result<(), String> {
    let axis = cx.int_or("axis", 0)?;
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let Some(s) = x.shape.as_deref() else {
        cx.set_shape(0, x.dtype, None);
        return Ok(());
    };
    let a = dims::norm_axis(axis, s.len())?;
    let indices = cx.ints(1);
    if let (Some(idx), Dim::Known(n)) = (&indices, &s[a]) {
        if let Some(i) = idx.iter().find(|&&i| i < n.saturating_neg() || i >= *n) {
            return Err(format!(
                "index {i} is out of range for axis {a} of {}",
                show(s)
            ));
        }
    }
    let shape = cx.shape(1).map(|idx| {
        let mut out = s[..a].to_vec();
        out.extend_from_slice(idx);
        out.extend_from_slice(&s[a + 1..]);
        out
    });
    cx.set_shape(0, x.dtype, shape);
    if let (Some(d), Some(idx)) = (cx.data(0), indices) {
        let len = d.len() as i64;
        let picked: Option<Vec<Dim>> = idx
            .iter()
            .map(|&i| {
                d.get(usize::try_from(if i < 0 { i + len } else { i }).ok()?)
                    .cloned()
            })
            .collect();
        if let Some(p) = picked {
            cx.set_data(0, p);
        }
    }
    Ok(())
}

/// `Pad(data, pads, constant_value?, axes?)` (the `pads` attribute before opset 11): every padded
/// dim grows by its begin and end pads (negative pads crop).
pub fn pad(cx: &mut Cx) -> Result<(), String> {
    let pads = cx.attr_or_input("pads", 1)?;
    let axes = cx.input_ints(3);
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let Some(s) = x.shape.as_deref() else {
        cx.set_shape(0, x.dtype, None);
        return Ok(());
    };
    let (Ints::Known(pads), axes) = (pads, axes) else {
        cx.set_shape(0, x.dtype, Some(vec![Dim::Unknown; s.len()]));
        return Ok(());
    };
    let axes = match axes {
        Ints::Known(a) => dims::norm_axes(&a, s.len())?,
        Ints::Absent => (0..s.len()).collect(),
        Ints::Unknown => {
            cx.set_shape(0, x.dtype, Some(vec![Dim::Unknown; s.len()]));
            return Ok(());
        }
    };
    if pads.len() != 2 * axes.len() {
        return Err(format!(
            "{} pads for {} axes (need begin and end for each)",
            pads.len(),
            axes.len()
        ));
    }
    let mut out = s.to_vec();
    for (k, &axis) in axes.iter().enumerate() {
        let (begin, end) = (pads[k], pads[k + axes.len()]);
        out[axis] = match &s[axis] {
            Dim::Known(n) => {
                let size = dims::add(dims::add(*n, begin)?, end)?;
                if size < 0 {
                    return Err(format!(
                        "pads {begin},{end} on axis {axis} leave size {size}"
                    ));
                }
                Dim::Known(size)
            }
            d if begin == 0 && end == 0 => d.clone(),
            _ => Dim::Unknown,
        };
    }
    cx.set_shape(0, x.dtype, Some(out));
    Ok(())
}
