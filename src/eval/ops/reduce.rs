//! Reductions and ops along an axis: Reduce*, ArgMax/ArgMin, TopK, Softmax/LogSoftmax, CumSum.
//! Values are reduced in f64 and cast back to the input's type.

use super::misc::cast;
use super::shape::take;
use super::{axes, axis, broadcast, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, Tensor};
use crate::ir::DType;

type Out = Result<Vec<Tensor>, Fail>;

/// A tensor seen as `outer × len × inner` around one axis: the lanes an axis op works on.
#[derive(Clone, Copy)]
struct Lanes {
    outer: usize,
    len: usize,
    inner: usize,
}

impl Lanes {
    fn around(shape: &[usize], axis: usize) -> Lanes {
        Lanes {
            outer: shape[..axis].iter().product(),
            len: shape[axis],
            inner: shape[axis + 1..].iter().product(),
        }
    }

    /// Calls `f` with the element offsets of each lane.
    fn for_each(self, mut f: impl FnMut(usize, &[usize])) {
        let mut lane = Vec::with_capacity(self.len);
        for o in 0..self.outer {
            for i in 0..self.inner {
                lane.clear();
                lane.extend((0..self.len).map(|j| (o * self.len + j) * self.inner + i));
                f(o * self.inner + i, &lane);
            }
        }
    }
}

/// How a Reduce* op folds a lane.
#[derive(Clone, Copy)]
enum Fold {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

impl Fold {
    fn apply(self, vals: impl Iterator<Item = f64>) -> f64 {
        match self {
            Fold::Sum => vals.sum(),
            Fold::Mean => {
                let (sum, n) = vals.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
                sum / n as f64
            }
            Fold::Max => vals.fold(f64::NEG_INFINITY, |a, b| {
                if !a.is_nan() && (b.is_nan() || b > a) {
                    b
                } else {
                    a
                }
            }),
            Fold::Min => vals.fold(f64::INFINITY, |a, b| {
                if !a.is_nan() && (b.is_nan() || b < a) {
                    b
                } else {
                    a
                }
            }),
            Fold::Prod => vals.product(),
            Fold::L1 => vals.map(f64::abs).sum(),
            Fold::L2 => vals.map(|x| x * x).sum::<f64>().sqrt(),
            Fold::LogSum => vals.sum::<f64>().ln(),
            Fold::LogSumExp => vals.map(f64::exp).sum::<f64>().ln(),
            Fold::SumSquare => vals.map(|x| x * x).sum(),
        }
    }
}

/// The Reduce* family. `axes` is an attribute before opset 18 (13 for ReduceSum) and an
/// input after; an empty list reduces everything unless `noop_with_empty_axes`.
fn reduce(ctx: &Ctx, fold: Fold) -> Out {
    let x = ctx.input(0)?;
    let keep = ctx.choice("keepdims", 1, &[0, 1])? == 1;
    let noop = ctx.choice("noop_with_empty_axes", 0, &[0, 1])? == 1;
    let list = ctx.ints_from("axes", 1)?.unwrap_or_default();
    if list.is_empty() && noop {
        return Ok(vec![x.clone()]);
    }
    let reduced = if list.is_empty() {
        (0..x.rank()).collect()
    } else {
        axes(&list, x.rank())?
    };
    let kept_shape: Vec<usize> = (0..x.rank())
        .map(|d| {
            if reduced.contains(&d) {
                1
            } else {
                x.shape()[d]
            }
        })
        .collect();
    let v = x.to_f64s("input")?;
    // Group the input's elements by output element.
    let out_len = numel(&kept_shape)?;
    let mut groups: Vec<Vec<f64>> = vec![Vec::new(); out_len];
    let out_strides: Vec<usize> = broadcast::strides_in(&kept_shape, x.shape());
    let mut i = 0;
    broadcast::walk(x.shape(), [&out_strides], |[o]| {
        groups[o].push(v[i]);
        i += 1;
    });
    let mut values: Vec<f64> = groups
        .iter()
        .map(|g| fold.apply(g.iter().copied()))
        .collect();
    if x.dtype() == DType::Bool {
        // The empty maximum of booleans is false and the empty minimum true, not ±∞ (≠ 0).
        values
            .iter_mut()
            .for_each(|v| *v = f64::from(u8::from(*v > 0.5)));
    }
    let shape = if keep {
        kept_shape
    } else {
        (0..x.rank())
            .filter(|d| !reduced.contains(d))
            .map(|d| x.shape()[d])
            .collect()
    };
    Ok(vec![cast(&Tensor::from_vec(shape, values)?, x.dtype())?])
}

macro_rules! reductions {
    ($($name:ident => $fold:ident;)*) => {$(
        pub(super) fn $name(ctx: &Ctx) -> Out {
            reduce(ctx, Fold::$fold)
        }
    )*};
}

reductions! {
    reduce_sum => Sum;
    reduce_mean => Mean;
    reduce_max => Max;
    reduce_min => Min;
    reduce_prod => Prod;
    reduce_l1 => L1;
    reduce_l2 => L2;
    reduce_log_sum => LogSum;
    reduce_log_sum_exp => LogSumExp;
    reduce_sum_square => SumSquare;
}

fn arg(ctx: &Ctx, largest: bool) -> Out {
    let x = ctx.input(0)?;
    let ax = axis(ctx.int("axis", 0)?, x.rank())?;
    let keep = ctx.choice("keepdims", 1, &[0, 1])? == 1;
    let last = ctx.choice("select_last_index", 0, &[0, 1])? == 1;
    let v = x.to_f64s("input")?;
    let lanes = Lanes::around(x.shape(), ax);
    if lanes.len == 0 {
        return Err(Fail::invalid(
            "cannot take the arg-extremum of an empty axis",
        ));
    }
    let mut out = vec![0i64; lanes.outer * lanes.inner];
    lanes.for_each(|o, lane| {
        let mut best = 0;
        for (j, &i) in lane.iter().enumerate().skip(1) {
            let (a, b) = (v[i], v[lane[best]]);
            let better = if largest { a > b } else { a < b };
            if better || (last && a == b) {
                best = j;
            }
        }
        out[o] = best as i64;
    });
    let mut shape = x.shape().to_vec();
    if keep {
        shape[ax] = 1;
    } else {
        shape.remove(ax);
    }
    Ok(vec![Tensor::from_vec(shape, out)?])
}

pub(super) fn arg_max(ctx: &Ctx) -> Out {
    arg(ctx, true)
}

pub(super) fn arg_min(ctx: &Ctx) -> Out {
    arg(ctx, false)
}

/// TopK: the k largest (or smallest) along an axis, ties broken by the lower index.
pub(super) fn top_k(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let ax = axis(ctx.int("axis", -1)?, x.rank())?;
    let largest = ctx.choice("largest", 1, &[0, 1])? == 1;
    let k = match ctx.opt(1) {
        Some(t) => *t
            .to_i64s("K")?
            .first()
            .ok_or_else(|| Fail::invalid("K is empty"))?,
        None => ctx.int("k", -1)?,
    };
    let lanes = Lanes::around(x.shape(), ax);
    let k = usize::try_from(k)
        .ok()
        .filter(|&k| k <= lanes.len)
        .ok_or_else(|| Fail::invalid(format!("K = {k} for an axis of size {}", lanes.len)))?;
    let v = x.to_f64s("input")?;
    let mut shape = x.shape().to_vec();
    shape[ax] = k;
    let out_lanes = Lanes { len: k, ..lanes };
    let mut picked = vec![0usize; numel(&shape)?];
    let mut indices = vec![0i64; picked.len()];
    let mut out_offsets = Vec::new();
    out_lanes.for_each(|_, lane| out_offsets.push(lane.to_vec()));
    let mut l = 0;
    lanes.for_each(|_, lane| {
        let mut order: Vec<usize> = (0..lane.len()).collect();
        order.sort_by(|&a, &b| {
            let (va, vb) = (v[lane[a]], v[lane[b]]);
            let ord = if largest {
                vb.total_cmp(&va)
            } else {
                va.total_cmp(&vb)
            };
            ord.then(a.cmp(&b))
        });
        for (j, &src) in order.iter().take(k).enumerate() {
            picked[out_offsets[l][j]] = lane[src];
            indices[out_offsets[l][j]] = src as i64;
        }
        l += 1;
    });
    Ok(vec![
        take(x, shape.clone(), &picked)?,
        Tensor::from_vec(shape, indices)?,
    ])
}

/// Softmax and LogSoftmax: before opset 13 the input is seen as 2-D, `[prod(shape[..axis]),
/// prod(shape[axis..])]`, and normalised over the second dimension; from 13 on, over `axis`.
fn softmax_lanes(ctx: &Ctx, x: &Tensor) -> Result<Lanes, Fail> {
    let legacy = ctx.opset < 13;
    let ax = axis(ctx.int("axis", if legacy { 1 } else { -1 })?, x.rank())?;
    Ok(if legacy {
        Lanes {
            outer: x.shape()[..ax].iter().product(),
            len: x.shape()[ax..].iter().product(),
            inner: 1,
        }
    } else {
        Lanes::around(x.shape(), ax)
    })
}

fn softmax_impl(ctx: &Ctx, log: bool) -> Out {
    let x = ctx.input(0)?;
    let lanes = softmax_lanes(ctx, x)?;
    if !x.dtype().is_float() {
        return Err(Fail::invalid(format!(
            "input must be a float tensor, got {}",
            x.dtype()
        )));
    }
    // Each step is rounded to the tensor's type, as the reference computes (this matters
    // for f16: a 2-ulp difference otherwise).
    let r = rounding(x.dtype());
    let v = x.to_f64s("input")?;
    let mut out = vec![0f64; v.len()];
    lanes.for_each(|_, lane| {
        let max = lane.iter().map(|&i| v[i]).fold(f64::NEG_INFINITY, f64::max);
        let shifted: Vec<f64> = lane.iter().map(|&i| r(v[i] - max)).collect();
        let exp: Vec<f64> = shifted.iter().map(|&t| r(t.exp())).collect();
        let sum = r(exp.iter().sum());
        for (j, &i) in lane.iter().enumerate() {
            out[i] = if log {
                r(shifted[j] - r(sum.ln()))
            } else {
                exp[j] / sum
            };
        }
    });
    Ok(vec![cast(
        &Tensor::from_vec(x.shape().to_vec(), out)?,
        x.dtype(),
    )?])
}

/// Rounding of an f64 to a float type and back.
fn rounding(dt: DType) -> fn(f64) -> f64 {
    match dt {
        DType::F32 => |v| v as f32 as f64,
        DType::F16 => |v| half::f16::from_f64(v).to_f64(),
        DType::BF16 => |v| half::bf16::from_f64(v).to_f64(),
        _ => |v| v,
    }
}

pub(super) fn softmax(ctx: &Ctx) -> Out {
    softmax_impl(ctx, false)
}

pub(super) fn log_softmax(ctx: &Ctx) -> Out {
    softmax_impl(ctx, true)
}

/// Hardmax: 1 at the first maximum of each lane (lanes as Softmax forms them), 0 elsewhere.
pub(super) fn hardmax(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let lanes = softmax_lanes(ctx, x)?;
    let v = x.to_f64s("input")?;
    let mut out = vec![0f64; v.len()];
    lanes.for_each(|_, lane| {
        let best = lane
            .iter()
            .copied()
            .fold(None, |b: Option<usize>, i| match b {
                Some(b) if v[i] <= v[b] => Some(b),
                _ => Some(i),
            });
        if let Some(b) = best {
            out[b] = 1.0;
        }
    });
    Ok(vec![cast(
        &Tensor::from_vec(x.shape().to_vec(), out)?,
        x.dtype(),
    )?])
}

pub(super) fn cum_sum(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let a = *ctx
        .input(1)?
        .to_i64s("axis")?
        .first()
        .ok_or_else(|| Fail::invalid("'axis' is empty"))?;
    let ax = axis(a, x.rank())?;
    let exclusive = ctx.choice("exclusive", 0, &[0, 1])? == 1;
    let reverse = ctx.choice("reverse", 0, &[0, 1])? == 1;
    let v = x.to_f64s("input")?;
    let mut out = vec![0f64; v.len()];
    Lanes::around(x.shape(), ax).for_each(|_, lane| {
        let mut acc = 0.0;
        let order: Box<dyn Iterator<Item = &usize>> = if reverse {
            Box::new(lane.iter().rev())
        } else {
            Box::new(lane.iter())
        };
        for &i in order {
            if exclusive {
                out[i] = acc;
                acc += v[i];
            } else {
                acc += v[i];
                out[i] = acc;
            }
        }
    });
    let dt = if x.dtype() == DType::Bool {
        DType::I64
    } else {
        x.dtype()
    };
    Ok(vec![cast(&Tensor::from_vec(x.shape().to_vec(), out)?, dt)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_visit_every_element_once_along_the_axis() {
        let mut seen = Vec::new();
        Lanes::around(&[2, 3, 2], 1).for_each(|o, lane| seen.push((o, lane.to_vec())));
        assert_eq!(seen[0], (0, vec![0, 2, 4]));
        assert_eq!(seen[3], (3, vec![7, 9, 11]));
    }

    #[test]
    fn folds() {
        let v = [1.0, -2.0, 3.0];
        assert_eq!(Fold::L1.apply(v.iter().copied()), 6.0);
        assert_eq!(Fold::Max.apply(v.iter().copied()), 3.0);
        assert_eq!(Fold::Max.apply([].iter().copied()), f64::NEG_INFINITY);
        assert!(Fold::Min.apply([1.0, f64::NAN].iter().copied()).is_nan());
    }
}
