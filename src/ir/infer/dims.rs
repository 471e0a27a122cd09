//! Arithmetic on dimensions: broadcasting, unification, products, axes, and the element-wise
//! integer operations data propagation applies to shape values. Overflow is an error, never a
//! wrap; symbolic sizes survive wherever the result is obviously the same size.

use crate::ir::types::Dim;

/// The number of elements of a static shape, `None` on a negative dim or overflow.
pub fn element_count(dims: &[i64]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
}

/// `axis` in `[-rank, rank)` as an index.
pub fn norm_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    if (-r..r).contains(&axis) {
        Ok(if axis < 0 { axis + r } else { axis } as usize)
    } else {
        Err(format!("axis {axis} is out of range for rank {rank}"))
    }
}

/// Several axes, normalised; a repeated axis is an error.
pub fn norm_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>, String> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = norm_axis(a, rank)?;
        if out.contains(&n) {
            return Err(format!("axis {a} is repeated in {axes:?}"));
        }
        out.push(n);
    }
    Ok(out)
}

/// Multidirectional (numpy) broadcasting of two shapes.
pub fn broadcast(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, String> {
    let rank = a.len().max(b.len());
    let one = Dim::Known(1);
    let at = |s: &[Dim], i: usize| -> Dim {
        let pad = rank - s.len();
        if i < pad {
            one.clone()
        } else {
            s[i - pad].clone()
        }
    };
    (0..rank)
        .map(|i| broadcast_dim(&at(a, i), &at(b, i)))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("shapes {} and {} do not broadcast: {e}", show(a), show(b)))
}

/// Broadcasting of one dimension pair.
pub fn broadcast_dim(a: &Dim, b: &Dim) -> Result<Dim, String> {
    Ok(match (a, b) {
        (Dim::Known(1), d) | (d, Dim::Known(1)) => d.clone(),
        (Dim::Known(x), Dim::Known(y)) if x != y => return Err(format!("{x} vs {y}")),
        (Dim::Known(x), _) | (_, Dim::Known(x)) => Dim::Known(*x),
        (Dim::Param(p), Dim::Param(q)) if p == q => a.clone(),
        _ => Dim::Unknown,
    })
}

/// Two dims that must be equal, as the more precise of them.
pub fn unify(a: &Dim, b: &Dim) -> Result<Dim, String> {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) if x != y => Err(format!("{x} vs {y}")),
        (Dim::Known(_), _) => Ok(a.clone()),
        (_, Dim::Known(_)) => Ok(b.clone()),
        (Dim::Param(_), _) => Ok(a.clone()),
        _ => Ok(b.clone()),
    }
}

/// The product of dims: known when all are, the single symbolic factor when the rest are 1.
pub fn product(dims: &[Dim]) -> Result<Dim, String> {
    let mut known: i64 = 1;
    let mut unknown = Vec::new();
    for d in dims {
        match d {
            Dim::Known(n) => known = mul(known, *n)?,
            other => unknown.push(other),
        }
    }
    Ok(match unknown.as_slice() {
        [] => Dim::Known(known),
        _ if known == 0 => Dim::Known(0),
        [single] if known == 1 => (*single).clone(),
        _ => Dim::Unknown,
    })
}

/// Checked `a * b` for sizes.
pub fn mul(a: i64, b: i64) -> Result<i64, String> {
    a.checked_mul(b)
        .ok_or_else(|| format!("size {a} * {b} overflows"))
}

/// Checked `a + b` for sizes.
pub fn add(a: i64, b: i64) -> Result<i64, String> {
    a.checked_add(b)
        .ok_or_else(|| format!("size {a} + {b} overflows"))
}

/// A dim scaled by a known factor (symbolic dims survive a factor of 1).
pub fn scale(d: &Dim, factor: i64) -> Result<Dim, String> {
    Ok(match d {
        Dim::Known(n) => Dim::Known(mul(*n, factor)?),
        _ if factor == 1 => d.clone(),
        _ if factor == 0 => Dim::Known(0),
        _ => Dim::Unknown,
    })
}

/// A dim divided by a known factor that must divide it.
pub fn divide(d: &Dim, factor: i64, what: &str) -> Result<Dim, String> {
    Ok(match d {
        Dim::Known(n) if factor != 0 && n % factor == 0 => Dim::Known(n / factor),
        Dim::Known(n) => return Err(format!("{what} {n} is not divisible by {factor}")),
        _ if factor == 1 => d.clone(),
        _ => Dim::Unknown,
    })
}

/// Shape text for messages.
pub fn show(s: &[Dim]) -> String {
    let dims: Vec<String> = s.iter().map(Dim::to_string).collect();
    format!("[{}]", dims.join(","))
}

// ----- element-wise integer operations for data propagation --------------------------------
// Overflow gives an unknown element: at run time it would wrap, which no shape relies on.

pub fn data_add(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => x.checked_add(*y).map_or(Dim::Unknown, Dim::Known),
        (d, Dim::Known(0)) | (Dim::Known(0), d) => d.clone(),
        _ => Dim::Unknown,
    }
}

pub fn data_sub(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => x.checked_sub(*y).map_or(Dim::Unknown, Dim::Known),
        (d, Dim::Known(0)) => d.clone(),
        (Dim::Param(p), Dim::Param(q)) if p == q => Dim::Known(0),
        _ => Dim::Unknown,
    }
}

pub fn data_mul(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => x.checked_mul(*y).map_or(Dim::Unknown, Dim::Known),
        (d, Dim::Known(1)) | (Dim::Known(1), d) => d.clone(),
        (_, Dim::Known(0)) | (Dim::Known(0), _) => Dim::Known(0),
        _ => Dim::Unknown,
    }
}

/// Integer division truncating toward zero, as ONNX runtimes do.
pub fn data_div(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => x.checked_div(*y).map_or(Dim::Unknown, Dim::Known),
        (d, Dim::Known(1)) => d.clone(),
        _ => Dim::Unknown,
    }
}

/// `Equal` as 1/0.
pub fn data_equal(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => Dim::Known(i64::from(x == y)),
        (Dim::Param(p), Dim::Param(q)) if p == q => Dim::Known(1),
        _ => Dim::Unknown,
    }
}
