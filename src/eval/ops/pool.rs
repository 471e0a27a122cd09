//! Pooling: MaxPool (with its Indices output), AveragePool, and the global poolings.
//!
//! Window rules follow the ONNX reference: the window of output `o` starts at `o·stride −
//! pad_begin` and takes `kernel` positions `dilation` apart; positions inside the input are
//! pooled, positions in the end padding count for `count_include_pad`, and positions past the
//! padded input (possible with `ceil_mode`) count for nothing. Values are pooled in f64.

use super::misc::cast;
use super::shape::offsets;
use super::{dim, strides, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, Tensor};

type Out = Result<Vec<Tensor>, Fail>;

/// Per spatial dimension and output coordinate: the input coordinates pooled, and how many
/// positions count when padding is included.
struct Windows {
    output: Vec<usize>,
    per_dim: Vec<Vec<(Vec<usize>, usize)>>,
}

/// A pooling's output size and padding, per spatial dimension.
pub(super) struct Padding {
    pub output: Vec<usize>,
    pub begin: Vec<i64>,
    pub end: Vec<i64>,
}

/// The pooling attributes shared by MaxPool, AveragePool and QLinearAveragePool.
pub(super) struct PoolAttrs {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub auto_pad: String,
    pub pads: Vec<i64>,
    pub ceil_mode: bool,
}

impl PoolAttrs {
    pub(super) fn read(ctx: &Ctx, spatial: usize) -> Result<PoolAttrs, Fail> {
        let kernel = ctx
            .ints("kernel_shape")?
            .ok_or_else(|| Fail::invalid("attribute 'kernel_shape' is required"))?;
        let list = |name: &str, n: usize, default: i64| -> Result<Vec<i64>, Fail> {
            match ctx.ints(name)? {
                Some(v) if v.len() == n => Ok(v.to_vec()),
                Some(v) => Err(Fail::invalid(format!(
                    "attribute '{name}' has {} values, needs {n}",
                    v.len()
                ))),
                None => Ok(vec![default; n]),
            }
        };
        let positive = |v: Vec<i64>, name: &str| -> Result<Vec<usize>, Fail> {
            v.into_iter()
                .map(|d| match dim(d, name)? {
                    0 => Err(Fail::invalid(format!("attribute '{name}' has a 0"))),
                    d => Ok(d),
                })
                .collect()
        };
        if kernel.len() != spatial {
            return Err(Fail::invalid(format!(
                "'kernel_shape' {kernel:?} for an input with {spatial} spatial dimensions"
            )));
        }
        Ok(PoolAttrs {
            kernel: positive(kernel.to_vec(), "kernel_shape")?,
            strides: positive(list("strides", spatial, 1)?, "strides")?,
            dilations: positive(list("dilations", spatial, 1)?, "dilations")?,
            auto_pad: ctx.string("auto_pad", "NOTSET")?,
            pads: list("pads", 2 * spatial, 0)?,
            ceil_mode: ctx.choice("ceil_mode", 0, &[0, 1])? == 1,
        })
    }

    /// Output size and begin/end padding per spatial dimension.
    pub(super) fn resolve(&self, input: &[usize]) -> Result<Padding, Fail> {
        let sp = input.len();
        let (mut out, mut begin, mut end) = (Vec::new(), Vec::new(), Vec::new());
        for (i, &n) in input.iter().enumerate() {
            let (n, k, s, d) = (
                n as i64,
                self.kernel[i] as i64,
                self.strides[i] as i64,
                self.dilations[i] as i64,
            );
            let (o, b, e) = match self.auto_pad.as_str() {
                "NOTSET" => {
                    let (b, e) = (self.pads[i], self.pads[sp + i]);
                    let span = n + b + e - d * (k - 1) - 1;
                    if span < 0 {
                        return Err(Fail::invalid(format!(
                            "the pooling window does not fit the padded input along spatial dimension {i}"
                        )));
                    }
                    let mut o = if self.ceil_mode {
                        (span + s - 1) / s
                    } else {
                        span / s
                    } + 1;
                    if self.ceil_mode && (o - 1) * s >= n + b {
                        o -= 1;
                    }
                    (o, b, e)
                }
                "VALID" => ((n - k).div_euclid(s) + 1, 0, 0),
                mode @ ("SAME_UPPER" | "SAME_LOWER") => {
                    let o = (n - 1).div_euclid(s) + 1;
                    let total = (o - 1) * s + k - n;
                    let b = if mode == "SAME_UPPER" {
                        total.div_euclid(2)
                    } else {
                        total - total.div_euclid(2)
                    };
                    (o, b, total - b)
                }
                other => return Err(Fail::invalid(format!("unknown auto_pad '{other}'"))),
            };
            out.push(dim(o.max(0), "the output size")?);
            begin.push(b);
            end.push(e);
        }
        Ok(Padding {
            output: out,
            begin,
            end,
        })
    }

    fn windows(&self, input: &[usize]) -> Result<Windows, Fail> {
        let Padding { output, begin, end } = self.resolve(input)?;
        let per_dim = (0..input.len())
            .map(|i| {
                let n = input[i] as i64;
                (0..output[i])
                    .map(|o| {
                        let start = o as i64 * self.strides[i] as i64 - begin[i];
                        let taps = (0..self.kernel[i] as i64)
                            .map(|j| start + j * self.dilations[i] as i64);
                        let inside = taps
                            .clone()
                            .filter(|p| (0..n).contains(p))
                            .map(|p| p as usize)
                            .collect();
                        let counted = taps.filter(|&p| p < n + end[i]).count();
                        (inside, counted)
                    })
                    .collect()
            })
            .collect();
        Ok(Windows { output, per_dim })
    }
}

/// Splits an `[N, C, spatial…]` shape.
fn split_nc(x: &Tensor) -> Result<(usize, &[usize]), Fail> {
    match x.shape() {
        [n, c, spatial @ ..] if !spatial.is_empty() => Ok((n * c, spatial)),
        s => Err(Fail::invalid(format!(
            "input must be [N, C, spatial…], has shape {s:?}"
        ))),
    }
}

/// Calls `f(output_index, input offsets of the window (row-major), counted positions)` for
/// every window of one plane.
fn for_each_window(
    w: &Windows,
    input: &[usize],
    mut f: impl FnMut(usize, &[usize], usize),
) -> Result<(), Fail> {
    let st = strides(input);
    let out_st = strides(&w.output);
    for o in 0..numel(&w.output)? {
        let mut lists = Vec::with_capacity(input.len());
        let mut counted = 1;
        for d in 0..input.len() {
            let (inside, c) = &w.per_dim[d][(o / out_st[d]) % w.output[d]];
            lists.push(inside.iter().map(|&p| p * st[d]).collect::<Vec<_>>());
            counted *= c;
        }
        f(o, &offsets(&lists)?, counted);
    }
    Ok(())
}

fn out_shape(x: &Tensor, spatial: &[usize]) -> Vec<usize> {
    x.shape()[..2].iter().chain(spatial).copied().collect()
}

pub(super) fn max_pool(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let (planes, spatial) = split_nc(x)?;
    let attrs = PoolAttrs::read(ctx, spatial.len())?;
    let column_major = ctx.choice("storage_order", 0, &[0, 1])? == 1;
    let w = attrs.windows(spatial)?;
    let v = x.to_f64s("X")?;
    let in_size = numel(spatial)?;
    let out_size = numel(&w.output)?;
    let mut values = vec![0f64; planes * out_size];
    let mut indices = vec![-1i64; planes * out_size];
    let in_st = strides(spatial);
    for p in 0..planes {
        let plane = &v[p * in_size..][..in_size];
        for_each_window(&w, spatial, |o, offs, _| {
            let best = offs
                .iter()
                .copied()
                .fold(None, |best: Option<usize>, i| match best {
                    Some(b) if plane[i] <= plane[b] || plane[i].is_nan() => Some(b),
                    _ => Some(i),
                });
            if let Some(b) = best {
                values[p * out_size + o] = plane[b];
                let idx = if column_major {
                    // The same coordinates, counted with the first spatial dimension fastest.
                    let mut acc = 0;
                    let mut scale = 1;
                    for d in 0..spatial.len() {
                        acc += (b / in_st[d]) % spatial[d] * scale;
                        scale *= spatial[d];
                    }
                    acc
                } else {
                    b
                };
                indices[p * out_size + o] = (p * in_size + idx) as i64;
            }
        })?;
    }
    let shape = out_shape(x, &w.output);
    let y = cast(&Tensor::from_vec(shape.clone(), values)?, x.dtype())?;
    let mut outs = vec![y];
    if ctx.outputs > 1 {
        outs.push(Tensor::from_vec(shape, indices)?);
    }
    Ok(outs)
}

pub(super) fn average_pool(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let (planes, spatial) = split_nc(x)?;
    let attrs = PoolAttrs::read(ctx, spatial.len())?;
    let include_pad = ctx.choice("count_include_pad", 0, &[0, 1])? == 1;
    let w = attrs.windows(spatial)?;
    let v = x.to_f64s("X")?;
    let in_size = numel(spatial)?;
    let out_size = numel(&w.output)?;
    let mut values = vec![0f64; planes * out_size];
    for p in 0..planes {
        let plane = &v[p * in_size..][..in_size];
        for_each_window(&w, spatial, |o, offs, counted| {
            let sum: f64 = offs.iter().map(|&i| plane[i]).sum();
            let n = if include_pad { counted } else { offs.len() };
            values[p * out_size + o] = sum / n as f64;
        })?;
    }
    let y = Tensor::from_vec(out_shape(x, &w.output), values)?;
    Ok(vec![cast(&y, x.dtype())?])
}

/// Reduces every plane of an `[N, C, spatial…]` tensor to one value.
fn global(ctx: &Ctx, f: fn(&[f64]) -> f64) -> Out {
    let x = ctx.input(0)?;
    let (planes, spatial) = split_nc(x)?;
    let size = numel(spatial)?;
    let v = x.to_f64s("X")?;
    let values: Vec<f64> = (0..planes).map(|p| f(&v[p * size..][..size])).collect();
    let shape = out_shape(x, &vec![1; spatial.len()]);
    Ok(vec![cast(&Tensor::from_vec(shape, values)?, x.dtype())?])
}

pub(super) fn global_average_pool(ctx: &Ctx) -> Out {
    global(ctx, |p| p.iter().sum::<f64>() / p.len() as f64)
}

pub(super) fn global_max_pool(ctx: &Ctx) -> Out {
    global(ctx, |p| p.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(kernel: usize, stride: usize, pads: [i64; 2], ceil_mode: bool) -> PoolAttrs {
        PoolAttrs {
            kernel: vec![kernel],
            strides: vec![stride],
            dilations: vec![1],
            auto_pad: "NOTSET".into(),
            pads: pads.to_vec(),
            ceil_mode,
        }
    }

    #[test]
    fn ceil_mode_adds_a_partial_window_but_never_one_starting_in_the_padding() {
        assert_eq!(
            attrs(2, 2, [0, 0], false).resolve(&[5]).unwrap().output,
            vec![2]
        );
        assert_eq!(
            attrs(2, 2, [0, 0], true).resolve(&[5]).unwrap().output,
            vec![3]
        );
        // ceil((in + pads − kernel) / stride) + 1 = 4 windows, but the 4th would start at
        // 6 ≥ in + pad_begin: it would pool only padding, so it is dropped.
        assert_eq!(
            attrs(2, 2, [1, 1], true).resolve(&[5]).unwrap().output,
            vec![3]
        );
        let w = attrs(3, 2, [1, 1], true).windows(&[4]).unwrap();
        // Window 1 covers 1..4; window 2 covers 3..6: only 3 is inside, 3 and 4 are counted.
        assert_eq!(w.per_dim[0][2], (vec![3], 2));
    }
}
