//! `Resize`: the output size from `sizes` (with `keep_aspect_ratio_policy`) or from `scales`
//! (`floor(D * scale)` in f32, as ONNX computes it), optionally for a subset of `axes` (opset
//! 18+). Opset 10 takes `scales` as input 1, opset 11+ takes `roi, scales, sizes` as inputs 1–3;
//! an empty `scales` or `sizes` means "not given".

use super::cx::Cx;
use super::dims;
use crate::ir::types::Dim;

/// How `sizes` may be adjusted to keep the aspect ratio.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Stretch,
    NotLarger,
    NotSmaller,
}

pub fn resize(cx: &mut Cx) -> Result<(), String> {
    let Some(x) = cx.ty(0) else { return Ok(()) };
    let Some(s) = x.shape.as_deref() else {
        cx.set_shape(0, x.dtype, None);
        return Ok(());
    };
    let axes: Vec<usize> = match cx.attr_ints("axes")? {
        Some(a) => dims::norm_axes(a, s.len())?,
        None => (0..s.len()).collect(),
    };
    let policy = match cx.str_or("keep_aspect_ratio_policy", "stretch")? {
        "stretch" => Policy::Stretch,
        "not_larger" => Policy::NotLarger,
        "not_smaller" => Policy::NotSmaller,
        other => {
            return Err(format!(
                "attribute 'keep_aspect_ratio_policy': unknown value '{other}'"
            ))
        }
    };
    let (scales_slot, sizes_slot) = if cx.opset < 11 {
        (1, None)
    } else {
        (2, Some(3))
    };
    // An input given as an empty tensor counts as absent.
    let given = |slot: usize| cx.has_input(slot) && cx.shape(slot) != Some(&[Dim::Known(0)]);
    let sizes = sizes_slot.filter(|&i| given(i)).map(|i| cx.data(i));
    let scales = Some(scales_slot)
        .filter(|&i| given(i))
        .map(|i| cx.floats(i).filter(|f| !f.is_empty()));
    let mut out = s.to_vec();
    let new_sizes: Vec<Dim> = match (sizes, scales) {
        (Some(Some(sizes)), _) => sized(s, &axes, sizes, policy)?,
        (None, Some(Some(scales))) => {
            if policy != Policy::Stretch {
                return Err("scales cannot be combined with a keep_aspect_ratio_policy".into());
            }
            scaled(s, &axes, &scales)?
        }
        (Some(None), _) | (None, Some(None)) => vec![Dim::Unknown; axes.len()],
        (None, None) if cx.opset >= 11 => {
            return Err("neither scales nor sizes is given".into());
        }
        (None, None) => vec![Dim::Unknown; axes.len()],
    };
    for (&axis, d) in axes.iter().zip(new_sizes) {
        out[axis] = d;
    }
    cx.set_shape(0, x.dtype, Some(out));
    Ok(())
}

fn check_len(what: &str, got: usize, axes: usize) -> Result<(), String> {
    if got == axes {
        Ok(())
    } else {
        Err(format!("{got} {what} for {axes} axes"))
    }
}

/// Output sizes from `sizes`, scaled uniformly under a keep-aspect-ratio policy.
fn sized(s: &[Dim], axes: &[usize], sizes: &[Dim], policy: Policy) -> Result<Vec<Dim>, String> {
    check_len("sizes", sizes.len(), axes.len())?;
    if let Some(n) = sizes.iter().find_map(|d| d.known().filter(|&n| n < 0)) {
        return Err(format!("size {n} is negative"));
    }
    if policy == Policy::Stretch {
        return Ok(sizes.to_vec());
    }
    let pairs: Option<Vec<(i64, i64)>> = axes
        .iter()
        .zip(sizes)
        .map(|(&a, size)| Some((s[a].known()?, size.known()?)))
        .collect();
    let Some(pairs) = pairs else {
        return Ok(vec![Dim::Unknown; axes.len()]);
    };
    let ratios = pairs.iter().map(|&(d, n)| n as f32 / d as f32);
    let scale = match policy {
        Policy::NotLarger => ratios.fold(f32::MAX, f32::min),
        _ => ratios.fold(f32::MIN_POSITIVE, f32::max),
    };
    pairs
        .iter()
        .map(|&(d, _)| to_size(scale * d as f32, d))
        .collect()
}

/// Output sizes from `scales`: `floor(D * scale)`.
fn scaled(s: &[Dim], axes: &[usize], scales: &[f64]) -> Result<Vec<Dim>, String> {
    check_len("scales", scales.len(), axes.len())?;
    axes.iter()
        .zip(scales)
        .map(|(&a, &scale)| {
            let scale = scale as f32;
            if scale.is_nan() || scale <= 0.0 {
                return Err(format!("scale {scale} is not positive"));
            }
            match &s[a] {
                Dim::Known(d) => to_size((*d as f32 * scale).floor(), *d),
                d if scale == 1.0 => Ok(d.clone()),
                _ => Ok(Dim::Unknown),
            }
        })
        .collect()
}

/// A computed float size as a dim, `roundf`-rounded; an absurd value is an error.
fn to_size(size: f32, input: i64) -> Result<Dim, String> {
    let size = size.round();
    if size.is_finite() && (0.0..=i64::MAX as f32 / 2.0).contains(&size) {
        Ok(Dim::Known(size as i64))
    } else {
        Err(format!("input size {input} resizes to {size}"))
    }
}
