//! Resize (and the opset-10 form), as the ONNX reference computes it: one axis at a time.
//!
//! Resizing is separable, so each resized axis is a 1-D resampling: every output coordinate is
//! mapped back to the input (`coordinate_transformation_mode`), and the result is a weighted sum
//! of `n` neighbours, the weights coming from the mode's kernel (nearest: one weight of 1;
//! linear: 2 taps; cubic: 4; wider with antialiasing). Nearest resizing picks elements instead
//! of summing, so it works on every element type and keeps values bit for bit.

use super::misc::cast;
use super::shape::take_or;
use super::{axes, strides, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, Tensor};

type Out = Result<Vec<Tensor>, Fail>;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

struct Attrs {
    mode: Mode,
    coord: String,
    nearest: String,
    cubic_a: f64,
    exclude_outside: bool,
    extrapolation: f64,
    antialias: bool,
}

/// How one axis is resampled: for each output coordinate, the neighbour indices (clamped into
/// the input) and their weights, or `None` where tf_crop_and_resize extrapolates.
type Taps = Vec<Option<(Vec<usize>, Vec<f64>)>>;

pub(super) fn resize(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let r = x.rank();
    let legacy = ctx.opset < 11;
    let a = Attrs {
        mode: match ctx.string("mode", "nearest")?.as_str() {
            "nearest" => Mode::Nearest,
            "linear" | "bilinear" | "trilinear" => Mode::Linear,
            "cubic" | "bicubic" => Mode::Cubic,
            other => return Err(Fail::invalid(format!("unknown mode '{other}'"))),
        },
        coord: if legacy {
            "asymmetric".into()
        } else {
            ctx.string("coordinate_transformation_mode", "half_pixel")?
        },
        nearest: if legacy {
            "floor".into()
        } else {
            ctx.string("nearest_mode", "round_prefer_floor")?
        },
        cubic_a: ctx.float("cubic_coeff_a", -0.75)? as f64,
        exclude_outside: ctx.choice("exclude_outside", 0, &[0, 1])? == 1,
        extrapolation: ctx.float("extrapolation_value", 0.0)? as f64,
        antialias: ctx.choice("antialias", 0, &[0, 1])? == 1,
    };
    let (roi_in, scales_in, sizes_in) = if legacy {
        (None, ctx.opt(1), None)
    } else {
        (ctx.opt(1), ctx.opt(2), ctx.opt(3))
    };
    let ax: Vec<usize> = match ctx.ints("axes")? {
        Some(list) => axes(list, r)?,
        None => (0..r).collect(),
    };
    let per_axis = |v: Vec<f64>, what: &str| -> Result<Vec<f64>, Fail> {
        if v.len() != ax.len() {
            return Err(Fail::invalid(format!(
                "{} {what} for {} axes",
                v.len(),
                ax.len()
            )));
        }
        Ok(v)
    };
    let mut scale = vec![1f64; r];
    let mut out: Vec<usize> = x.shape().to_vec();
    match (nonempty(sizes_in), nonempty(scales_in)) {
        (Some(sizes), _) => {
            let sizes = per_axis(sizes.to_f64s("sizes")?, "sizes")?;
            for (i, &d) in ax.iter().enumerate() {
                scale[d] = sizes[i] / x.shape()[d] as f64;
                out[d] = sizes[i] as usize;
            }
            let policy = ctx.string("keep_aspect_ratio_policy", "stretch")?;
            if policy != "stretch" {
                let s = ax.iter().map(|&d| scale[d]);
                let s = match policy.as_str() {
                    "not_larger" => s.fold(f64::INFINITY, f64::min),
                    "not_smaller" => s.fold(f64::NEG_INFINITY, f64::max),
                    other => {
                        return Err(Fail::invalid(format!(
                            "unknown keep_aspect_ratio_policy '{other}'"
                        )))
                    }
                };
                for &d in &ax {
                    scale[d] = s;
                    out[d] = (s * x.shape()[d] as f64 + 0.5) as usize;
                }
            }
        }
        (None, Some(scales)) => {
            let scales = if legacy {
                scales.to_f64s("scales")?
            } else {
                per_axis(scales.to_f64s("scales")?, "scales")?
            };
            let targets: Vec<usize> = if legacy { (0..r).collect() } else { ax.clone() };
            if scales.len() != targets.len() {
                return Err(Fail::invalid(format!(
                    "{} scales for rank {r}",
                    scales.len()
                )));
            }
            for (i, &d) in targets.iter().enumerate() {
                if scales[i].is_nan() || scales[i] <= 0.0 {
                    return Err(Fail::invalid(format!(
                        "scale {} is not positive",
                        scales[i]
                    )));
                }
                scale[d] = scales[i];
                out[d] = (scales[i] * x.shape()[d] as f64) as usize;
            }
        }
        (None, None) => return Err(Fail::invalid("neither 'scales' nor 'sizes' is given")),
    }
    numel(&out)?;
    let roi: Option<Vec<(f64, f64)>> = match nonempty(roi_in) {
        Some(t) if a.coord == "tf_crop_and_resize" => {
            let v = t.to_f64s("roi")?;
            let n = ax.len();
            if v.len() != 2 * n {
                return Err(Fail::invalid(format!(
                    "roi has {} values for {n} axes",
                    v.len()
                )));
            }
            let mut full = vec![(0.0, 1.0); r];
            for (i, &d) in ax.iter().enumerate() {
                full[d] = (v[i], v[n + i]);
            }
            Some(full)
        }
        _ => None,
    };
    // The axes that actually change.
    let resized: Vec<usize> = ax
        .iter()
        .copied()
        .filter(|&d| {
            let trivial_roi = roi.as_ref().is_none_or(|roi| roi[d] == (0.0, 1.0));
            !((scale[d] - 1.0).abs() < 1e-9 && out[d] == x.shape()[d] && trivial_roi)
        })
        .collect();
    let taps = |d: usize| {
        axis_taps(
            &a,
            x.shape()[d],
            out[d],
            scale[d],
            roi.as_ref().map(|r| r[d]),
        )
    };
    if a.mode == Mode::Nearest {
        // One pick per axis: a single gather over the cartesian product.
        let st = strides(x.shape());
        let mut lists = Vec::with_capacity(r);
        for (d, &stride) in st.iter().enumerate() {
            lists.push(if resized.contains(&d) {
                taps(d)?
                    .into_iter()
                    .map(|t| t.map(|(idx, w)| idx[pick(&w)] * stride))
                    .collect()
            } else {
                (0..x.shape()[d]).map(|j| Some(j * stride)).collect()
            });
        }
        let fill = cast(&Tensor::scalar(a.extrapolation), x.dtype())?;
        return Ok(vec![take_or(x, out, &lists, Some(&fill))?]);
    }
    let mut shape = x.shape().to_vec();
    let mut v = x.to_f64s("X")?;
    for &d in &resized {
        let t = taps(d)?;
        let (outer, len, inner) = (
            shape[..d].iter().product::<usize>(),
            shape[d],
            shape[d + 1..].iter().product::<usize>(),
        );
        let mut next = Vec::with_capacity(outer * out[d] * inner);
        for o in 0..outer {
            for tap in &t {
                for i in 0..inner {
                    next.push(match tap {
                        None => a.extrapolation,
                        Some((idx, w)) => idx
                            .iter()
                            .zip(w)
                            .map(|(&j, &c)| c * v[(o * len + j) * inner + i])
                            .sum(),
                    });
                }
            }
        }
        v = next;
        shape[d] = out[d];
    }
    if !x.dtype().is_float() {
        v.iter_mut().for_each(|e| *e = e.round_ties_even());
    }
    Ok(vec![cast(&Tensor::from_vec(shape, v)?, x.dtype())?])
}

/// An optional input given as an empty tensor counts as absent.
fn nonempty(t: Option<&Tensor>) -> Option<&Tensor> {
    t.filter(|t| !t.is_empty())
}

/// The tap holding the weight 1 of a nearest kernel.
fn pick(w: &[f64]) -> usize {
    w.iter().position(|&c| c > 0.5).unwrap_or(0)
}

/// The resampling of one axis from `in_len` to `out_len` elements.
fn axis_taps(
    a: &Attrs,
    in_len: usize,
    out_len: usize,
    scale: f64,
    roi: Option<(f64, f64)>,
) -> Result<Taps, Fail> {
    let (n_in, out_w) = (in_len as f64, scale * in_len as f64);
    if in_len == 0 && out_len > 0 {
        return Err(Fail::invalid(
            "cannot resize an empty axis to a non-empty one",
        ));
    }
    (0..out_len)
        .map(|y| {
            let y = y as f64;
            let x = match a.coord.as_str() {
                "half_pixel" => (y + 0.5) / scale - 0.5,
                "half_pixel_symmetric" => {
                    let offset = n_in / 2.0 * (1.0 - out_len as f64 / out_w);
                    offset + (y + 0.5) / scale - 0.5
                }
                "pytorch_half_pixel" => {
                    if out_w == 1.0 {
                        -0.5
                    } else {
                        (y + 0.5) / scale - 0.5
                    }
                }
                "align_corners" => {
                    if out_w == 1.0 {
                        0.0
                    } else {
                        y * (n_in - 1.0) / (out_w - 1.0)
                    }
                }
                "asymmetric" => y / scale,
                "tf_crop_and_resize" => {
                    let (start, end) =
                        roi.ok_or_else(|| Fail::invalid("tf_crop_and_resize needs 'roi'"))?;
                    let x = if out_w == 1.0 {
                        (end - start) * (n_in - 1.0) / 2.0
                    } else {
                        y * (end - start) * (n_in - 1.0) / (out_w - 1.0)
                    } + start * (n_in - 1.0);
                    if x < 0.0 || x > n_in - 1.0 {
                        return Ok(None);
                    }
                    x
                }
                other => {
                    return Err(Fail::invalid(format!(
                        "unknown coordinate_transformation_mode '{other}'"
                    )))
                }
            };
            let xi = x.floor();
            let ratio = if x == xi { 1.0 } else { x - xi };
            let mut w = coefficients(a, ratio, scale)?;
            let n = w.len() as i64;
            let pad = (n + 1) / 2;
            let xp = x + pad as f64;
            let (p, frac) = (xp.floor(), xp - xp.floor());
            let offset = if n % 2 == 0 {
                if frac == 0.0 {
                    -(n / 2)
                } else {
                    -(n / 2) + 1
                }
            } else {
                let base = -((n - 1) / 2);
                if frac <= 0.5 {
                    base
                } else {
                    base + 1
                }
            };
            let start = p as i64 + offset - pad;
            let raw: Vec<i64> = (start..start + n).collect();
            if a.exclude_outside {
                for (c, &j) in w.iter_mut().zip(&raw) {
                    if j < 0 || j >= in_len as i64 {
                        *c = 0.0;
                    }
                }
                let s: f64 = w.iter().sum();
                let s = if s == 0.0 { 1.0 } else { s };
                w.iter_mut().for_each(|c| *c /= s);
            }
            let idx = raw
                .iter()
                .map(|&j| j.clamp(0, in_len as i64 - 1) as usize)
                .collect();
            Ok(Some((idx, w)))
        })
        .collect()
}

/// The kernel weights for a fractional position `ratio` ∈ (0, 1].
fn coefficients(a: &Attrs, ratio: f64, scale: f64) -> Result<Vec<f64>, Fail> {
    Ok(match a.mode {
        Mode::Nearest => {
            let right = if ratio == 1.0 {
                true
            } else {
                match a.nearest.as_str() {
                    "round_prefer_floor" => ratio > 0.5,
                    "round_prefer_ceil" => ratio >= 0.5,
                    "floor" => false,
                    "ceil" => true,
                    other => return Err(Fail::invalid(format!("unknown nearest_mode '{other}'"))),
                }
            };
            if right {
                vec![0.0, 1.0]
            } else {
                vec![1.0, 0.0]
            }
        }
        Mode::Linear if a.antialias => {
            let s = scale.min(1.0);
            let start = (-1.0 / s).floor() as i64 + 1;
            let footprint = 2 - 2 * start;
            normalised(
                (start..start + footprint)
                    .map(|i| (1.0 - ((i as f64 - ratio) * s).abs()).clamp(0.0, 1.0)),
            )
        }
        Mode::Linear => vec![1.0 - ratio, ratio],
        Mode::Cubic if a.antialias => {
            let s = scale.min(1.0);
            let start = (-2.0 / s).floor() as i64 + 1;
            normalised((start..2 - start).map(|i| cubic(a.cubic_a, s * (i as f64 - ratio))))
        }
        Mode::Cubic => {
            let r = ratio;
            [r + 1.0, r, 1.0 - r, 2.0 - r]
                .iter()
                .map(|&t| cubic(a.cubic_a, t))
                .collect()
        }
    })
}

fn normalised(w: impl Iterator<Item = f64>) -> Vec<f64> {
    let w: Vec<f64> = w.collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|c| c / s).collect()
}

/// Keys' cubic convolution kernel with parameter `a`.
fn cubic(a: f64, x: f64) -> f64 {
    let x = x.abs();
    if x <= 1.0 {
        (a + 2.0) * x.powi(3) - (a + 3.0) * x * x + 1.0
    } else if x < 2.0 {
        a * x.powi(3) - 5.0 * a * x * x + 8.0 * a * x - 4.0 * a
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(mode: Mode, coord: &str, nearest: &str) -> Attrs {
        Attrs {
            mode,
            coord: coord.into(),
            nearest: nearest.into(),
            cubic_a: -0.75,
            exclude_outside: false,
            extrapolation: 0.0,
            antialias: false,
        }
    }

    fn picks(a: &Attrs, n: usize, out: usize) -> Vec<usize> {
        axis_taps(a, n, out, out as f64 / n as f64, None)
            .unwrap()
            .into_iter()
            .map(|t| t.map(|(i, w)| i[pick(&w)]).unwrap())
            .collect()
    }

    #[test]
    fn nearest_upsampling_by_two_repeats_each_element() {
        for coord in ["asymmetric", "half_pixel"] {
            let a = attrs(Mode::Nearest, coord, "round_prefer_floor");
            assert_eq!(picks(&a, 3, 6), vec![0, 0, 1, 1, 2, 2], "{coord}");
        }
        let a = attrs(Mode::Nearest, "align_corners", "round_prefer_ceil");
        assert_eq!(picks(&a, 2, 4), vec![0, 0, 1, 1]);
    }

    #[test]
    fn linear_half_pixel_interpolates_between_neighbours() {
        let a = attrs(Mode::Linear, "half_pixel", "");
        let t = axis_taps(&a, 2, 4, 2.0, None).unwrap();
        // Output 1 maps to x = 0.25: 0.75 of element 0 and 0.25 of element 1.
        assert_eq!(t[1], Some((vec![0, 1], vec![0.75, 0.25])));
        // Output 0 maps to x = −0.25: clamped, all from element 0.
        let (i, w) = t[0].clone().unwrap();
        assert_eq!(
            i.iter().zip(&w).map(|(&i, &w)| i as f64 * w).sum::<f64>(),
            0.0
        );
    }

    #[test]
    fn cubic_weights_sum_to_one() {
        let a = attrs(Mode::Cubic, "half_pixel", "");
        for ratio in [0.1, 0.5, 0.9, 1.0] {
            let s: f64 = coefficients(&a, ratio, 2.0).unwrap().iter().sum();
            assert!((s - 1.0).abs() < 1e-12);
        }
    }
}
