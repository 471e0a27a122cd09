//! Ops that move elements without computing on them: reshapes, transposes, slicing, gathering,
//! concatenation and splitting, padding, tiling, and the shape queries.
//!
//! Most are written as "the source offset of every output element" (`offsets`) followed by one
//! generic gather ([`take`]), so each op is only its index arithmetic.

use super::misc::cast;
use super::{axes, axis, broadcast, dim, strides, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{map_data, numel, same_as, Elem, Tensor};

type Out = Result<Vec<Tensor>, Fail>;

/// Offsets of the cartesian product of per-dimension offset lists (row-major): every output
/// element's source offset is the sum of one entry per dimension.
pub(super) fn offsets(lists: &[Vec<usize>]) -> Result<Vec<usize>, Fail> {
    let n = numel(&lists.iter().map(Vec::len).collect::<Vec<_>>())?;
    let mut out = Vec::with_capacity(n);
    out.push(0usize);
    for l in lists {
        out = out
            .iter()
            .flat_map(|&o| l.iter().map(move |&x| o + x))
            .collect();
    }
    Ok(out)
}

/// The elements of `t` at `offsets`, as a tensor of `shape`.
pub(super) fn take(t: &Tensor, shape: Vec<usize>, offsets: &[usize]) -> Result<Tensor, Fail> {
    let data = map_data!(t.data(), v => pick(v, offsets));
    Tensor::new(shape, data)
}

fn pick<T: Clone>(v: &[T], offsets: &[usize]) -> Vec<T> {
    offsets.iter().map(|&i| v[i].clone()).collect()
}

/// `v` at `offsets`, and `fill` where an offset is `None`.
fn pick_or<T: Clone>(v: &[T], offsets: &[Option<usize>], fill: &T) -> Vec<T> {
    offsets
        .iter()
        .map(|o| o.map_or_else(|| fill.clone(), |i| v[i].clone()))
        .collect()
}

/// A scalar of the element type of `like`, read from `fill` (the type's default when absent
/// or empty).
fn fill_value<T: Elem>(like: &[T], fill: Option<&Tensor>) -> Result<T, Fail> {
    match fill {
        Some(f) => match same_as(like, f, "the fill value")? {
            [c] => Ok(c.clone()),
            [] => Ok(T::default()),
            _ => Err(Fail::invalid("the fill value must be a scalar")),
        },
        None => Ok(T::default()),
    }
}

/// Transposes `t`: output dimension `i` is input dimension `perm[i]`.
pub(super) fn permute(t: &Tensor, perm: &[usize]) -> Result<Tensor, Fail> {
    let st = strides(t.shape());
    let shape: Vec<usize> = perm.iter().map(|&p| t.shape()[p]).collect();
    let lists: Vec<Vec<usize>> = perm
        .iter()
        .map(|&p| (0..t.shape()[p]).map(|j| j * st[p]).collect())
        .collect();
    take(t, shape, &offsets(&lists)?)
}

pub(super) fn identity(ctx: &Ctx) -> Out {
    Ok(vec![ctx.input(0)?.clone()])
}

pub(super) fn transpose(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let perm = match ctx.ints("perm")? {
        Some(p) => {
            let perm = axes(p, x.rank())?;
            if perm.len() != x.rank() {
                return Err(Fail::invalid(format!(
                    "perm {p:?} is not a permutation of {} axes",
                    x.rank()
                )));
            }
            perm
        }
        None => (0..x.rank()).rev().collect(),
    };
    Ok(vec![permute(x, &perm)?])
}

pub(super) fn reshape(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let target = ctx
        .ints_from("shape", 1)?
        .ok_or_else(|| Fail::invalid("the target shape is missing"))?;
    let allow_zero = ctx.choice("allowzero", 0, &[0, 1])? == 1;
    let shape = reshape_target(x.shape(), &target, allow_zero)?;
    Ok(vec![x.clone().reshaped(shape)?])
}

/// Resolves a Reshape target: `0` copies the input dimension (unless `allow_zero`), `-1` is
/// inferred.
fn reshape_target(input: &[usize], target: &[i64], allow_zero: bool) -> Result<Vec<usize>, Fail> {
    let total = numel(input)?;
    let mut inferred = None;
    let mut shape = Vec::with_capacity(target.len());
    for (i, &d) in target.iter().enumerate() {
        shape.push(match d {
            -1 if inferred.is_none() => {
                inferred = Some(i);
                1
            }
            0 if !allow_zero => *input.get(i).ok_or_else(|| {
                Fail::invalid(format!(
                    "shape {target:?} copies dimension {i}, which the input {input:?} lacks"
                ))
            })?,
            d => dim(d, "the target shape")?,
        });
    }
    let known = numel(&shape)?;
    if let Some(i) = inferred {
        if known == 0 || total % known != 0 {
            return Err(Fail::invalid(format!(
                "cannot reshape {input:?} to {target:?}"
            )));
        }
        shape[i] = total / known;
    } else if known != total {
        return Err(Fail::invalid(format!(
            "cannot reshape {input:?} to {target:?}"
        )));
    }
    Ok(shape)
}

pub(super) fn flatten(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let a = ctx.int("axis", 1)?;
    let r = x.rank() as i64;
    if a < -r || a > r {
        return Err(Fail::invalid(format!(
            "axis {a} is out of range for rank {r}"
        )));
    }
    let a = if a < 0 { a + r } else { a } as usize;
    let outer = numel(&x.shape()[..a])?;
    let inner = numel(&x.shape()[a..])?;
    Ok(vec![x.clone().reshaped(vec![outer, inner])?])
}

pub(super) fn squeeze(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let shape = match ctx.ints_from("axes", 1)? {
        Some(list) => {
            let drop = axes(&list, x.rank())?;
            if let Some(&a) = drop.iter().find(|&&a| x.shape()[a] != 1) {
                return Err(Fail::invalid(format!(
                    "cannot squeeze axis {a} of size {} (shape {:?})",
                    x.shape()[a],
                    x.shape()
                )));
            }
            x.shape()
                .iter()
                .enumerate()
                .filter(|(i, _)| !drop.contains(i))
                .map(|(_, &d)| d)
                .collect()
        }
        None => x.shape().iter().copied().filter(|&d| d != 1).collect(),
    };
    Ok(vec![x.clone().reshaped(shape)?])
}

pub(super) fn unsqueeze(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let list = ctx
        .ints_from("axes", 1)?
        .ok_or_else(|| Fail::invalid("'axes' is missing"))?;
    let rank = x.rank() + list.len();
    let new = axes(&list, rank)?;
    let mut dims = x.shape().iter();
    let shape = (0..rank)
        .map(|i| {
            if new.contains(&i) {
                1
            } else {
                dims.next().copied().unwrap_or(1)
            }
        })
        .collect();
    Ok(vec![x.clone().reshaped(shape)?])
}

pub(super) fn concat(ctx: &Ctx) -> Out {
    let inputs = ctx.all_inputs()?;
    let first = inputs
        .first()
        .ok_or_else(|| Fail::invalid("needs at least one input"))?;
    let ax = axis(
        ctx.node
            .attr_int("axis")?
            .ok_or_else(|| Fail::invalid("attribute 'axis' is required"))?,
        first.rank(),
    )?;
    let mut shape = first.shape().to_vec();
    shape[ax] = 0;
    for (i, t) in inputs.iter().enumerate() {
        let fits = t.rank() == first.rank()
            && (0..t.rank()).all(|d| d == ax || t.shape()[d] == first.shape()[d]);
        if !fits {
            return Err(Fail::invalid(format!(
                "input {i} of shape {:?} does not fit input 0's {:?} outside axis {ax}",
                t.shape(),
                first.shape()
            )));
        }
        shape[ax] += t.shape()[ax];
    }
    let outer = numel(&shape[..ax])?;
    let data = map_data!(first.data(), v0 => {
        let parts = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let v = same_as(v0, t, &format!("input {i}"))?;
                Ok((v, t.len() / outer.max(1)))
            })
            .collect::<Result<Vec<_>, Fail>>()?;
        let mut out = Vec::with_capacity(numel(&shape)?);
        for o in 0..outer {
            for (v, chunk) in &parts {
                out.extend_from_slice(&v[o * chunk..(o + 1) * chunk]);
            }
        }
        out
    });
    Ok(vec![Tensor::new(shape, data)?])
}

pub(super) fn split(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let ax = axis(ctx.int("axis", 0)?, x.rank())?;
    let len = x.shape()[ax];
    let sizes: Vec<usize> = match ctx.ints_from("split", 1)? {
        Some(s) => s
            .iter()
            .map(|&d| dim(d, "'split'"))
            .collect::<Result<_, _>>()?,
        None => {
            let n = match ctx.node.attr_int("num_outputs")? {
                Some(n) => dim(n, "'num_outputs'")?,
                None => ctx.outputs,
            };
            if n == 0 {
                return Err(Fail::invalid("cannot split into 0 outputs"));
            }
            let chunk = len.div_ceil(n);
            (0..n)
                .map(|i| chunk.min(len.saturating_sub(i * chunk)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != len {
        return Err(Fail::invalid(format!(
            "split sizes {sizes:?} do not add up to dimension {ax} of size {len}"
        )));
    }
    let st = strides(x.shape());
    let mut start = 0;
    sizes
        .iter()
        .map(|&size| {
            let lists: Vec<Vec<usize>> = (0..x.rank())
                .map(|d| {
                    let range = if d == ax {
                        start..start + size
                    } else {
                        0..x.shape()[d]
                    };
                    range.map(|j| j * st[d]).collect()
                })
                .collect();
            start += size;
            let mut shape = x.shape().to_vec();
            shape[ax] = size;
            take(x, shape, &offsets(&lists)?)
        })
        .collect()
}

/// Slice: `starts`, `ends`, `axes`, `steps` from inputs (opset 10+) or attributes (before).
pub(super) fn slice(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let (starts, ends, axes_list, steps) = if ctx.opset < 10 {
        let need = |n: &str| {
            ctx.ints(n)?
                .map(<[i64]>::to_vec)
                .ok_or_else(|| Fail::invalid(format!("attribute '{n}' is required")))
        };
        (
            need("starts")?,
            need("ends")?,
            ctx.ints("axes")?.map(<[i64]>::to_vec),
            None,
        )
    } else {
        let read = |i: usize, what: &str| ctx.opt(i).map(|t| t.to_i64s(what)).transpose();
        (
            read(1, "starts")?.ok_or_else(|| Fail::invalid("input 'starts' is missing"))?,
            read(2, "ends")?.ok_or_else(|| Fail::invalid("input 'ends' is missing"))?,
            read(3, "axes")?,
            read(4, "steps")?,
        )
    };
    let n = starts.len();
    let axes_list = axes_list.unwrap_or_else(|| (0..n as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; n]);
    if ends.len() != n || axes_list.len() != n || steps.len() != n {
        return Err(Fail::invalid(format!(
            "starts, ends, axes and steps have different lengths ({n}, {}, {}, {})",
            ends.len(),
            axes_list.len(),
            steps.len()
        )));
    }
    let ax = axes(&axes_list, x.rank())?;
    let st = strides(x.shape());
    let mut lists: Vec<Vec<usize>> = (0..x.rank())
        .map(|d| (0..x.shape()[d]).map(|j| j * st[d]).collect())
        .collect();
    for i in 0..n {
        let d = ax[i];
        let picked = slice_indices(x.shape()[d] as i64, starts[i], ends[i], steps[i])?;
        lists[d] = picked.into_iter().map(|j| j * st[d]).collect();
    }
    let shape = lists.iter().map(Vec::len).collect();
    Ok(vec![take(x, shape, &offsets(&lists)?)?])
}

/// The indices a (start, end, step) slice picks from a dimension, clamped as ONNX specifies.
fn slice_indices(len: i64, start: i64, end: i64, step: i64) -> Result<Vec<usize>, Fail> {
    if step == 0 {
        return Err(Fail::invalid("a slice step is 0"));
    }
    let norm = |v: i64| if v < 0 { v.saturating_add(len) } else { v };
    let (start, end) = (norm(start), norm(end));
    let (start, end) = if step > 0 {
        (start.clamp(0, len), end.clamp(0, len))
    } else {
        (start.clamp(0, len - 1), end.clamp(-1, len - 1))
    };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < end) || (step < 0 && i > end) {
        out.push(i as usize);
        i += step;
    }
    Ok(out)
}

pub(super) fn expand(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let target: Vec<usize> = ctx
        .input(1)?
        .to_i64s("shape")?
        .iter()
        .map(|&d| dim(d, "shape"))
        .collect::<Result<_, _>>()?;
    let shape = broadcast::shape(&[x.shape(), &target])?;
    let data = map_data!(x.data(), v => broadcast::to(v, x.shape(), &shape)?);
    Ok(vec![Tensor::new(shape, data)?])
}

pub(super) fn tile(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let reps = ctx.input(1)?.to_i64s("repeats")?;
    if reps.len() != x.rank() {
        return Err(Fail::invalid(format!(
            "{} repeats for a tensor of rank {}",
            reps.len(),
            x.rank()
        )));
    }
    let st = strides(x.shape());
    let mut lists = Vec::new();
    for (d, &r) in reps.iter().enumerate() {
        let n = x.shape()[d];
        let total = n
            .checked_mul(dim(r, "repeats")?)
            .ok_or_else(|| Fail::invalid("repeats are too large"))?;
        lists.push((0..total).map(|j| (j % n) * st[d]).collect::<Vec<_>>());
    }
    let shape = lists.iter().map(Vec::len).collect();
    Ok(vec![take(x, shape, &offsets(&lists)?)?])
}

/// Pad in constant, edge, reflect or wrap mode; negative pads crop.
pub(super) fn pad(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let mode = ctx.string("mode", "constant")?;
    let r = x.rank();
    let (pads, value, axes_list) = if ctx.opset < 11 {
        let pads = ctx
            .ints("pads")?
            .ok_or_else(|| Fail::invalid("attribute 'pads' is required"))?
            .to_vec();
        let value = cast(&Tensor::scalar(ctx.float("value", 0.0)?), x.dtype())?;
        (pads, Some(value), None)
    } else {
        let pads = ctx.input(1)?.to_i64s("pads")?;
        let axes_list = ctx.opt(3).map(|t| t.to_i64s("axes")).transpose()?;
        (pads, ctx.opt(2).cloned(), axes_list)
    };
    let ax = match axes_list {
        Some(list) => axes(&list, r)?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * ax.len() {
        return Err(Fail::invalid(format!(
            "{} pads for {} axes (must be twice as many)",
            pads.len(),
            ax.len()
        )));
    }
    let mut begin = vec![0i64; r];
    let mut end = vec![0i64; r];
    for (i, &a) in ax.iter().enumerate() {
        begin[a] = pads[i];
        end[a] = pads[ax.len() + i];
    }
    let st = strides(x.shape());
    let mut lists: Vec<Vec<Option<usize>>> = Vec::with_capacity(r);
    let mut shape = Vec::with_capacity(r);
    for d in 0..r {
        let n = x.shape()[d] as i64;
        let len = n + begin[d] + end[d];
        if len < 0 {
            return Err(Fail::invalid(format!(
                "pads {pads:?} crop dimension {d} of size {n} below zero"
            )));
        }
        if mode != "constant" && n == 0 && len > 0 {
            return Err(Fail::invalid(format!(
                "cannot {mode}-pad an empty dimension"
            )));
        }
        let list = (0..len)
            .map(|j| {
                let s = j - begin[d];
                let src = if (0..n).contains(&s) {
                    Some(s)
                } else {
                    match mode.as_str() {
                        "constant" => None,
                        "edge" => Some(s.clamp(0, n - 1)),
                        "reflect" if n == 1 => Some(0),
                        "reflect" => {
                            let period = 2 * (n - 1);
                            let m = s.rem_euclid(period);
                            Some(if m >= n { period - m } else { m })
                        }
                        "wrap" => Some(s.rem_euclid(n)),
                        other => return Err(Fail::invalid(format!("unknown pad mode '{other}'"))),
                    }
                };
                Ok(src.map(|s| s as usize * st[d]))
            })
            .collect::<Result<Vec<_>, Fail>>()?;
        shape.push(len as usize);
        lists.push(list);
    }
    Ok(vec![take_or(x, shape, &lists, value.as_ref())?])
}

/// Like [`take`] over per-dimension offset lists, where `None` marks positions outside the
/// source: those get `fill` (a scalar of the same type; zero when absent or empty).
pub(super) fn take_or(
    t: &Tensor,
    shape: Vec<usize>,
    lists: &[Vec<Option<usize>>],
    fill: Option<&Tensor>,
) -> Result<Tensor, Fail> {
    numel(&shape)?;
    let mut offs: Vec<Option<usize>> = vec![Some(0)];
    for l in lists {
        offs = offs
            .iter()
            .flat_map(|&o| l.iter().map(move |&x| o.zip(x).map(|(a, b)| a + b)))
            .collect();
    }
    let data = map_data!(t.data(), v => pick_or(v, &offs, &fill_value(v, fill)?));
    Tensor::new(shape, data)
}

pub(super) fn shape(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let r = x.rank() as i64;
    let clamp = |v: i64| if v < 0 { (v + r).max(0) } else { v.min(r) } as usize;
    let start = clamp(ctx.int("start", 0)?);
    let end = clamp(ctx.int("end", r)?);
    let dims: Vec<i64> = x.shape()[start..end.max(start)]
        .iter()
        .map(|&d| d as i64)
        .collect();
    Ok(vec![Tensor::from_vec(vec![dims.len()], dims)?])
}

pub(super) fn size(ctx: &Ctx) -> Out {
    Ok(vec![Tensor::scalar(ctx.input(0)?.len() as i64)])
}

/// Reshapes, permutes, reshapes: the common form of DepthToSpace and SpaceToDepth.
fn regroup(x: &Tensor, split: Vec<usize>, perm: &[usize], out: Vec<usize>) -> Result<Tensor, Fail> {
    let t = x.clone().reshaped(split)?;
    permute(&t, perm)?.reshaped(out)
}

fn nchw(x: &Tensor) -> Result<[usize; 4], Fail> {
    match *x.shape() {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(Fail::invalid(format!(
            "input must be 4-D, has shape {:?}",
            x.shape()
        ))),
    }
}

fn block_size(ctx: &Ctx) -> Result<usize, Fail> {
    let b = dim(
        ctx.node
            .attr_int("blocksize")?
            .ok_or_else(|| Fail::invalid("attribute 'blocksize' is required"))?,
        "'blocksize'",
    )?;
    if b == 0 {
        return Err(Fail::invalid("'blocksize' is 0"));
    }
    Ok(b)
}

pub(super) fn depth_to_space(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let [n, c, h, w] = nchw(x)?;
    let b = block_size(ctx)?;
    if c % (b * b) != 0 {
        return Err(Fail::invalid(format!(
            "{c} channels are not divisible by blocksize² = {}",
            b * b
        )));
    }
    let c2 = c / (b * b);
    let out = vec![n, c2, h * b, w * b];
    let y = match ctx.string("mode", "DCR")?.as_str() {
        "DCR" => regroup(x, vec![n, b, b, c2, h, w], &[0, 3, 4, 1, 5, 2], out)?,
        "CRD" => regroup(x, vec![n, c2, b, b, h, w], &[0, 1, 4, 2, 5, 3], out)?,
        other => return Err(Fail::invalid(format!("unknown mode '{other}'"))),
    };
    Ok(vec![y])
}

pub(super) fn space_to_depth(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let [n, c, h, w] = nchw(x)?;
    let b = block_size(ctx)?;
    if h % b != 0 || w % b != 0 {
        return Err(Fail::invalid(format!(
            "spatial size {h}x{w} is not divisible by blocksize {b}"
        )));
    }
    let split = vec![n, c, h / b, b, w / b, b];
    let out = vec![n, c * b * b, h / b, w / b];
    let perm: &[usize] = match ctx.string("mode", "DCR")?.as_str() {
        "DCR" => &[0, 3, 5, 1, 2, 4],
        "CRD" => &[0, 1, 3, 5, 2, 4],
        other => return Err(Fail::invalid(format!("unknown mode '{other}'"))),
    };
    Ok(vec![regroup(x, split, perm, out)?])
}

/// Trilu: keeps the upper (or lower) triangle of the last two dimensions, shifted by `k`.
pub(super) fn trilu(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let upper = ctx.choice("upper", 1, &[0, 1])? == 1;
    let k = match ctx.opt(1) {
        Some(t) => *t
            .to_i64s("k")?
            .first()
            .ok_or_else(|| Fail::invalid("'k' is empty"))?,
        None => 0,
    };
    let [.., rows, cols] = *x.shape() else {
        return Err(Fail::invalid("input must have rank 2 or more"));
    };
    let (rows, cols) = (rows.max(1), cols.max(1));
    let keep = |i: usize| {
        let (r, c) = (((i / cols) % rows) as i64, (i % cols) as i64);
        if upper {
            c - r >= k
        } else {
            c - r <= k
        }
    };
    let data = map_data!(x.data(), v => triangle(v, keep));
    Ok(vec![Tensor::new(x.shape().to_vec(), data)?])
}

/// The elements of `v` where `keep(index)`, defaults elsewhere.
fn triangle<T: Clone + Default>(v: &[T], keep: impl Fn(usize) -> bool) -> Vec<T> {
    v.iter()
        .enumerate()
        .map(|(i, e)| if keep(i) { e.clone() } else { T::default() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_clamp_like_onnx() {
        assert_eq!(slice_indices(5, 1, 100, 2).unwrap(), vec![1, 3]);
        assert_eq!(slice_indices(5, -1, -100, -2).unwrap(), vec![4, 2, 0]);
        assert_eq!(slice_indices(5, 10, 0, -1).unwrap(), vec![4, 3, 2, 1]);
        assert!(slice_indices(5, 3, 1, 1).unwrap().is_empty());
        assert!(slice_indices(5, 0, 1, 0).is_err());
    }

    #[test]
    fn reshape_targets_resolve_zero_and_minus_one() {
        assert_eq!(
            reshape_target(&[2, 3, 4], &[0, -1], false).unwrap(),
            vec![2, 12]
        );
        assert_eq!(reshape_target(&[0, 3], &[0, 3], true).unwrap(), vec![0, 3]);
        assert!(reshape_target(&[2, 3], &[4, -1], false).is_err());
        assert!(reshape_target(&[2, 3], &[7], false).is_err());
    }

    #[test]
    fn permute_transposes() {
        let t = Tensor::from_vec(vec![2, 3], vec![1, 2, 3, 4, 5, 6]).unwrap();
        let p = permute(&t, &[1, 0]).unwrap();
        assert_eq!(p.shape(), &[3, 2]);
        assert_eq!(p.as_slice::<i32>().unwrap(), &[1, 4, 2, 5, 3, 6]);
    }
}
