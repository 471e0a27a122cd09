//! Normalizations: BatchNormalization (inference and training forms), InstanceNormalization,
//! LayerNormalization and LpNormalization. Statistics are computed in f64 and results cast back
//! to the input's type.

use super::misc::cast;
use super::{axis, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, Tensor};

type Out = Result<Vec<Tensor>, Fail>;

/// BatchNormalization: inference form, or training form (batch statistics, updated running
/// statistics as extra outputs) when `training_mode` is set.
pub(super) fn batch_normalization(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let v = x.to_f64s("X")?;
    let read = |i: usize, what: &str| ctx.input(i)?.to_f64s(what);
    let (scale, bias, mean, var) = (
        read(1, "scale")?,
        read(2, "B")?,
        read(3, "input_mean")?,
        read(4, "input_var")?,
    );
    let eps = ctx.float("epsilon", 1e-5)? as f64;
    let momentum = ctx.float("momentum", 0.9)? as f64;
    let training = ctx.int("training_mode", 0)? != 0;
    let c = *x
        .shape()
        .get(1)
        .ok_or_else(|| Fail::invalid("input must have a channel dimension"))?;
    for (what, p) in [
        ("scale", &scale),
        ("B", &bias),
        ("input_mean", &mean),
        ("input_var", &var),
    ] {
        if p.len() != c {
            return Err(Fail::invalid(format!(
                "'{what}' has {} values for {c} channels",
                p.len()
            )));
        }
    }
    let inner = numel(&x.shape()[2..])?;
    let channel = |i: usize| (i / inner.max(1)) % c;
    let (use_mean, use_var) = if training {
        let count = (v.len() / c.max(1)) as f64;
        let mut m = vec![0f64; c];
        v.iter()
            .enumerate()
            .for_each(|(i, &a)| m[channel(i)] += a / count);
        let mut s = vec![0f64; c];
        v.iter()
            .enumerate()
            .for_each(|(i, &a)| s[channel(i)] += (a - m[channel(i)]).powi(2) / count);
        (m, s)
    } else {
        (mean.clone(), var.clone())
    };
    let y: Vec<f64> = v
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let ch = channel(i);
            scale[ch] * (a - use_mean[ch]) / (use_var[ch] + eps).sqrt() + bias[ch]
        })
        .collect();
    let mut outs = vec![cast(&Tensor::from_vec(x.shape().to_vec(), y)?, x.dtype())?];
    if training {
        let running = |old: &[f64], batch: &[f64]| -> Result<Tensor, Fail> {
            let r = old
                .iter()
                .zip(batch)
                .map(|(o, b)| o * momentum + b * (1.0 - momentum))
                .collect();
            cast(&Tensor::from_vec(vec![c], r)?, x.dtype())
        };
        outs.push(running(&mean, &use_mean)?);
        outs.push(running(&var, &use_var)?);
    }
    Ok(outs)
}

/// InstanceNormalization: each (n, c) plane normalised by its own mean and variance.
pub(super) fn instance_normalization(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let (scale, bias) = (ctx.input(1)?.to_f64s("scale")?, ctx.input(2)?.to_f64s("B")?);
    let eps = ctx.float("epsilon", 1e-5)? as f64;
    let &[_, c, ..] = x.shape() else {
        return Err(Fail::invalid("input must be [N, C, …]"));
    };
    if scale.len() != c || bias.len() != c {
        return Err(Fail::invalid(format!("scale and B must have {c} values")));
    }
    let size = numel(&x.shape()[2..])?.max(1);
    let v = x.to_f64s("input")?;
    let mut y = Vec::with_capacity(v.len());
    for (p, plane) in v.chunks(size).enumerate() {
        let (mean, var) = moments(plane);
        let ch = p % c;
        y.extend(
            plane
                .iter()
                .map(|&a| scale[ch] * (a - mean) / (var + eps).sqrt() + bias[ch]),
        );
    }
    Ok(vec![cast(
        &Tensor::from_vec(x.shape().to_vec(), y)?,
        x.dtype(),
    )?])
}

/// Mean and (population) variance.
fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n)
}

/// LayerNormalization over the dimensions from `axis` on; also returns the mean and the
/// inverse standard deviation when asked for.
pub(super) fn layer_normalization(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let ax = axis(ctx.int("axis", -1)?, x.rank())?;
    let eps = ctx.float("epsilon", 1e-5)? as f64;
    let cols = numel(&x.shape()[ax..])?.max(1);
    let scale = broadcast_row(ctx.input(1)?, cols, "Scale")?;
    let bias = match ctx.opt(2) {
        Some(b) => broadcast_row(b, cols, "B")?,
        None => vec![0.0; cols],
    };
    let v = x.to_f64s("X")?;
    let (mut y, mut means, mut inv_std) = (Vec::with_capacity(v.len()), Vec::new(), Vec::new());
    for row in v.chunks(cols) {
        let (mean, var) = moments(row);
        let inv = 1.0 / (var + eps).sqrt();
        y.extend(
            row.iter()
                .enumerate()
                .map(|(j, &a)| (a - mean) * inv * scale[j] + bias[j]),
        );
        means.push(mean);
        inv_std.push(inv);
    }
    let mut stat_shape = x.shape().to_vec();
    stat_shape[ax..].iter_mut().for_each(|d| *d = 1);
    let mut outs = vec![cast(&Tensor::from_vec(x.shape().to_vec(), y)?, x.dtype())?];
    for stat in [means, inv_std]
        .into_iter()
        .take(ctx.outputs.saturating_sub(1))
    {
        outs.push(cast(
            &Tensor::from_vec(stat_shape.clone(), stat)?,
            x.dtype(),
        )?);
    }
    Ok(outs)
}

/// A scale or bias broadcast over one normalised row of `cols` elements.
fn broadcast_row(t: &Tensor, cols: usize, what: &str) -> Result<Vec<f64>, Fail> {
    let v = t.to_f64s(what)?;
    match v.len() {
        1 => Ok(vec![v[0]; cols]),
        n if n == cols => Ok(v),
        n => Err(Fail::invalid(format!(
            "{what} has {n} values for rows of {cols}"
        ))),
    }
}

/// LpNormalization: divides by the L1 or L2 norm along `axis`.
pub(super) fn lp_normalization(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let ax = axis(ctx.int("axis", -1)?, x.rank())?;
    let p = ctx.choice("p", 2, &[1, 2])?;
    let (outer, len, inner) = (
        numel(&x.shape()[..ax])?,
        x.shape()[ax],
        numel(&x.shape()[ax + 1..])?,
    );
    let v = x.to_f64s("input")?;
    let mut y = v.clone();
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            let norm = if p == 1 {
                (0..len).map(|j| v[at(j)].abs()).sum::<f64>()
            } else {
                (0..len).map(|j| v[at(j)].powi(2)).sum::<f64>().sqrt()
            };
            for j in 0..len {
                y[at(j)] = if norm == 0.0 { 0.0 } else { v[at(j)] / norm };
            }
        }
    }
    Ok(vec![cast(
        &Tensor::from_vec(x.shape().to_vec(), y)?,
        x.dtype(),
    )?])
}
