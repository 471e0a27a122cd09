//! Index-driven ops: Gather, GatherElements, GatherND, ScatterElements, ScatterND, OneHot.
//! Indices may be negative (counted from the end); out-of-range indices are errors.

use super::elementwise::Arith;
use super::misc::cast;
use super::shape::{offsets, take};
use super::{axis, dim, strides, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, same_as, with_data, with_numeric, Elem, Tensor};

type Out = Result<Vec<Tensor>, Fail>;

/// Checks and normalises gather indices against a dimension of size `len`.
fn gather_index(i: i64, len: usize) -> Result<usize, Fail> {
    let j = if i < 0 { i + len as i64 } else { i };
    if j < 0 || j >= len as i64 {
        return Err(Fail::invalid(format!(
            "index {i} is out of range for a dimension of size {len}"
        )));
    }
    Ok(j as usize)
}

pub(super) fn gather(ctx: &Ctx) -> Out {
    let (x, idx) = (ctx.input(0)?, ctx.input(1)?);
    let ax = axis(ctx.int("axis", 0)?, x.rank())?;
    let st = strides(x.shape());
    let picked = idx
        .to_i64s("indices")?
        .into_iter()
        .map(|i| gather_index(i, x.shape()[ax]).map(|j| j * st[ax]))
        .collect::<Result<Vec<_>, _>>()?;
    let mut lists: Vec<Vec<usize>> = (0..ax)
        .map(|d| (0..x.shape()[d]).map(|j| j * st[d]).collect())
        .collect();
    lists.push(picked);
    lists.extend((ax + 1..x.rank()).map(|d| (0..x.shape()[d]).map(|j| j * st[d]).collect()));
    let shape: Vec<usize> = x.shape()[..ax]
        .iter()
        .chain(idx.shape())
        .chain(&x.shape()[ax + 1..])
        .copied()
        .collect();
    Ok(vec![take(x, shape, &offsets(&lists)?)?])
}

pub(super) fn gather_elements(ctx: &Ctx) -> Out {
    let (x, idx) = (ctx.input(0)?, ctx.input(1)?);
    let ax = axis(ctx.int("axis", 0)?, x.rank())?;
    if idx.rank() != x.rank() {
        return Err(Fail::invalid(format!(
            "indices of rank {} for data of rank {}",
            idx.rank(),
            x.rank()
        )));
    }
    let (xs, is) = (strides(x.shape()), strides(idx.shape()));
    let index = idx.to_i64s("indices")?;
    let src = index
        .iter()
        .enumerate()
        .map(|(flat, &i)| {
            let mut off = 0;
            for d in 0..x.rank() {
                let coord = (flat / is[d]) % idx.shape()[d];
                let coord = if d == ax {
                    gather_index(i, x.shape()[d])?
                } else {
                    coord
                };
                if coord >= x.shape()[d] {
                    return Err(Fail::invalid(
                        "indices are larger than the data outside the axis",
                    ));
                }
                off += coord * xs[d];
            }
            Ok(off)
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    Ok(vec![take(x, idx.shape().to_vec(), &src)?])
}

/// GatherND: slices of `data` addressed by the last dimension of `indices`, after
/// `batch_dims` leading dimensions shared by both.
pub(super) fn gather_nd(ctx: &Ctx) -> Out {
    let (x, idx) = (ctx.input(0)?, ctx.input(1)?);
    let b = dim(ctx.int("batch_dims", 0)?, "'batch_dims'")?;
    let (starts, slice, out_shape) = nd_slices(x.shape(), idx, b)?;
    let offs: Vec<usize> = starts.iter().flat_map(|&s| s..s + slice).collect();
    Ok(vec![take(x, out_shape, &offs)?])
}

/// For GatherND/ScatterND: the start offset of every addressed slice, the slice length, and
/// the gathered shape (`indices.shape[..-1] + data.shape[b + k..]`).
fn nd_slices(
    data: &[usize],
    idx: &Tensor,
    b: usize,
) -> Result<(Vec<usize>, usize, Vec<usize>), Fail> {
    let is = idx.shape();
    let k = *is
        .last()
        .ok_or_else(|| Fail::invalid("indices must have rank 1 or more"))?;
    if b >= is.len() || b + k > data.len() || is[..b] != data[..b] {
        return Err(Fail::invalid(format!(
            "indices of shape {is:?} (batch_dims {b}) do not address data of shape {data:?}"
        )));
    }
    let st = strides(data);
    let slice = numel(&data[b + k..])?;
    let per_batch = numel(&is[b..is.len() - 1])?;
    let index = idx.to_i64s("indices")?;
    let starts = index
        .chunks(k.max(1))
        .take(numel(&is[..is.len() - 1])?)
        .enumerate()
        .map(|(row, coords)| {
            let batch = row / per_batch.max(1);
            let mut off = if b == 0 { 0 } else { batch * st[b - 1] };
            for (j, &c) in coords.iter().enumerate().take(k) {
                off += gather_index(c, data[b + j])? * st[b + j];
            }
            Ok(off)
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    let shape = is[..is.len() - 1]
        .iter()
        .chain(&data[b + k..])
        .copied()
        .collect();
    Ok((starts, slice, shape))
}

/// How a scatter combines an update with the existing element.
#[derive(Clone, Copy)]
enum Reduction {
    None,
    Add,
    Mul,
    Max,
    Min,
}

impl Reduction {
    fn read(ctx: &Ctx) -> Result<Reduction, Fail> {
        Ok(match ctx.string("reduction", "none")?.as_str() {
            "none" => Reduction::None,
            "add" => Reduction::Add,
            "mul" => Reduction::Mul,
            "max" => Reduction::Max,
            "min" => Reduction::Min,
            other => return Err(Fail::invalid(format!("unknown reduction '{other}'"))),
        })
    }

    fn combine<T: Arith>(self, old: T, new: T) -> T {
        match self {
            Reduction::None => new,
            Reduction::Add => old.add(new),
            Reduction::Mul => old.mul(new),
            Reduction::Max => old.max_nan(new),
            Reduction::Min => old.min_nan(new),
        }
    }
}

/// Writes `updates[src]` into `data[dst]` for every (dst, src) pair, in order.
fn scatter(
    ctx: &Ctx,
    data: &Tensor,
    updates: &Tensor,
    pairs: &[(usize, usize)],
) -> Result<Tensor, Fail> {
    let reduction = Reduction::read(ctx)?;
    let out = match reduction {
        Reduction::None => with_data!(data.data(), v => {
            Elem::wrap(overwrite(v, same_as(v, updates, "updates")?, pairs))
        }),
        _ => with_numeric!(data.data(), v => {
            let u = same_as(v, updates, "updates")?;
            let mut out = v.clone();
            for &(d, s) in pairs {
                out[d] = reduction.combine(out[d], u[s]);
            }
            Elem::wrap(out)
        }, _ => return Err(Fail::invalid("scatter reductions need numeric data"))),
    };
    Tensor::new(data.shape().to_vec(), out)
}

/// A copy of `data` with `updates[src]` written at each `dst`.
fn overwrite<T: Clone>(data: &[T], updates: &[T], pairs: &[(usize, usize)]) -> Vec<T> {
    let mut out = data.to_vec();
    for &(d, s) in pairs {
        out[d] = updates[s].clone();
    }
    out
}

pub(super) fn scatter_nd(ctx: &Ctx) -> Out {
    let (x, idx, upd) = (ctx.input(0)?, ctx.input(1)?, ctx.input(2)?);
    let (starts, slice, shape) = nd_slices(x.shape(), idx, 0)?;
    if upd.shape() != shape.as_slice() {
        return Err(Fail::invalid(format!(
            "updates of shape {:?}, expected {shape:?}",
            upd.shape()
        )));
    }
    let pairs: Vec<(usize, usize)> = starts
        .iter()
        .enumerate()
        .flat_map(|(r, &s)| (0..slice).map(move |j| (s + j, r * slice + j)))
        .collect();
    Ok(vec![scatter(ctx, x, upd, &pairs)?])
}

pub(super) fn scatter_elements(ctx: &Ctx) -> Out {
    let (x, idx, upd) = (ctx.input(0)?, ctx.input(1)?, ctx.input(2)?);
    let ax = axis(ctx.int("axis", 0)?, x.rank())?;
    if idx.shape() != upd.shape() || idx.rank() != x.rank() {
        return Err(Fail::invalid(format!(
            "indices {:?} and updates {:?} must have one shape, of data's rank {}",
            idx.shape(),
            upd.shape(),
            x.rank()
        )));
    }
    let (xs, is) = (strides(x.shape()), strides(idx.shape()));
    let index = idx.to_i64s("indices")?;
    let pairs = index
        .iter()
        .enumerate()
        .map(|(flat, &i)| {
            let mut off = 0;
            for d in 0..x.rank() {
                let c = if d == ax {
                    gather_index(i, x.shape()[d])?
                } else {
                    (flat / is[d]) % idx.shape()[d]
                };
                if c >= x.shape()[d] {
                    return Err(Fail::invalid(
                        "indices are larger than the data outside the axis",
                    ));
                }
                off += c * xs[d];
            }
            Ok((off, flat))
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    Ok(vec![scatter(ctx, x, upd, &pairs)?])
}

/// OneHot: a new dimension of size `depth` at `axis`, `values[1]` at each index, `values[0]`
/// elsewhere (also for out-of-range indices).
pub(super) fn one_hot(ctx: &Ctx) -> Out {
    let (idx, depth, values) = (ctx.input(0)?, ctx.input(1)?, ctx.input(2)?);
    let depth = match depth.to_f64s("depth")?[..] {
        [d] if d >= 0.0 => d as usize,
        _ => return Err(Fail::invalid("'depth' must be one non-negative value")),
    };
    if values.len() != 2 {
        return Err(Fail::invalid("'values' must hold [off, on]"));
    }
    let rank = idx.rank() + 1;
    let a = ctx.int("axis", -1)?;
    let ax = axis(a, rank)?;
    let mut shape = idx.shape().to_vec();
    shape.insert(ax, depth);
    let index = idx.to_f64s("indices")?;
    let inner = numel(&idx.shape()[ax..])?;
    let mut on = vec![false; numel(&shape)?];
    for (flat, &i) in index.iter().enumerate() {
        let i = if i < 0.0 { i + depth as f64 } else { i };
        if i >= 0.0 && (i as usize) < depth {
            let (o, r) = (flat / inner.max(1), flat % inner.max(1));
            on[(o * depth + i as usize) * inner + r] = true;
        }
    }
    let v = values.to_f64s("values")?;
    let out: Vec<f64> = on.iter().map(|&b| if b { v[1] } else { v[0] }).collect();
    Ok(vec![cast(&Tensor::from_vec(shape, out)?, values.dtype())?])
}

#[cfg(test)]
mod tests {
    use super::super::run_op;
    use crate::eval::Tensor;
    use crate::ir::attrs::string;

    #[test]
    fn scatter_nd_writes_and_reduces_slices() {
        let data = Tensor::from_vec(vec![3, 2], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
        let idx = Tensor::from_vec(vec![2, 1], vec![2i64, -3]).unwrap();
        let upd = Tensor::from_vec(vec![2, 2], vec![10i32, 20, 30, 40]).unwrap();
        let inputs = [data, idx, upd];
        let out = run_op("", "ScatterND", vec![], &inputs, 18, 1).unwrap();
        assert_eq!(out[0].as_slice::<i32>().unwrap(), &[30, 40, 3, 4, 10, 20]);
        let out = run_op(
            "",
            "ScatterND",
            vec![string("reduction", "add")],
            &inputs,
            18,
            1,
        )
        .unwrap();
        assert_eq!(out[0].as_slice::<i32>().unwrap(), &[31, 42, 3, 4, 15, 26]);
    }

    #[test]
    fn gather_nd_and_out_of_range_indices() {
        let data = Tensor::from_vec(vec![2, 2], vec![1f32, 2.0, 3.0, 4.0]).unwrap();
        let idx = Tensor::from_vec(vec![2, 2], vec![1i64, 0, 0, 1]).unwrap();
        let out = run_op("", "GatherND", vec![], &[data.clone(), idx], 13, 1).unwrap();
        assert_eq!(out[0].as_slice::<f32>().unwrap(), &[3.0, 2.0]);
        let bad = Tensor::from_vec(vec![1, 2], vec![2i64, 0]).unwrap();
        let err = run_op("", "GatherND", vec![], &[data, bad], 13, 1).unwrap_err();
        assert!(err.reason.contains("out of range"), "{}", err.reason);
    }
}
