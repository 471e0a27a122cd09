//! Conv and ConvTranspose, any number of spatial dimensions, as im2col / col2im around a GEMM.
//!
//! im2col lays every receptive field out as a column, so one convolution group is one matrix
//! product `W[M/g, C/g·K] × cols[C/g·K, L]`; a 1×1 convolution with unit strides needs no
//! columns at all. QLinearConv reuses [`conv_core`] in f64, where integer products are exact.

use super::{dim, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, Float, Tensor};
use crate::ir::DType;

type Out = Result<Vec<Tensor>, Fail>;

/// The attributes of a convolution (also QLinearConv's).
pub(super) struct ConvAttrs {
    auto_pad: String,
    dilations: Option<Vec<i64>>,
    group: i64,
    kernel_shape: Option<Vec<i64>>,
    pads: Option<Vec<i64>>,
    strides: Option<Vec<i64>>,
    /// ConvTranspose only.
    output_padding: Option<Vec<i64>>,
    output_shape: Option<Vec<i64>>,
}

impl ConvAttrs {
    pub(super) fn read(ctx: &Ctx) -> Result<ConvAttrs, Fail> {
        let owned = |v: Option<&[i64]>| v.map(<[i64]>::to_vec);
        Ok(ConvAttrs {
            auto_pad: ctx.string("auto_pad", "NOTSET")?,
            dilations: owned(ctx.ints("dilations")?),
            group: ctx.int("group", 1)?,
            kernel_shape: owned(ctx.ints("kernel_shape")?),
            pads: owned(ctx.ints("pads")?),
            strides: owned(ctx.ints("strides")?),
            output_padding: owned(ctx.ints("output_padding")?),
            output_shape: owned(ctx.ints("output_shape")?),
        })
    }

    /// A per-spatial-dimension list attribute, `default` when absent.
    fn per_dim(
        &self,
        v: &Option<Vec<i64>>,
        name: &str,
        n: usize,
        default: usize,
    ) -> Result<Vec<usize>, Fail> {
        match v {
            None => Ok(vec![default; n]),
            Some(v) if v.len() == n => v.iter().map(|&d| dim(d, name)).collect(),
            Some(v) => Err(Fail::invalid(format!(
                "attribute '{name}' has {} values for {n} spatial dimensions",
                v.len()
            ))),
        }
    }
}

/// The resolved geometry of one convolution.
struct Geometry {
    n: usize,
    c: usize,
    m: usize,
    group: usize,
    input: Vec<usize>,
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads_begin: Vec<usize>,
    output: Vec<usize>,
}

/// Checks the shapes of a convolution and resolves padding and the output size.
fn conv_geometry(xs: &[usize], ws: &[usize], a: &ConvAttrs, op: &str) -> Result<Geometry, Fail> {
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(Fail::invalid(format!(
            "{op} needs an input of rank 3 or more and weights of the same rank, got {xs:?} and {ws:?}"
        )));
    }
    let sp = xs.len() - 2;
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    let group = dim(a.group, "'group'")?;
    if group == 0 || c % group != 0 || m % group != 0 {
        return Err(Fail::invalid(format!(
            "{op} with group={group} and {c} input channels, {m} output channels"
        )));
    }
    if ws[1] * group != c {
        return Err(Fail::invalid(format!(
            "{op} weights of shape {ws:?} take {} input channels per group, the input has {c} channels in {group} groups",
            ws[1]
        )));
    }
    let kernel = ws[2..].to_vec();
    if let Some(k) = &a.kernel_shape {
        if k.iter().map(|&d| d as usize).ne(kernel.iter().copied()) {
            return Err(Fail::invalid(format!(
                "attribute 'kernel_shape' {k:?} does not match the weights' {kernel:?}"
            )));
        }
    }
    let strides = a.per_dim(&a.strides, "strides", sp, 1)?;
    let dilations = a.per_dim(&a.dilations, "dilations", sp, 1)?;
    if strides.contains(&0) || dilations.contains(&0) {
        return Err(Fail::invalid("strides and dilations must be positive"));
    }
    let input = xs[2..].to_vec();
    let span: Vec<usize> = (0..sp)
        .map(|i| (kernel[i].max(1) - 1) * dilations[i] + 1)
        .collect();
    let (pads_begin, pads_end) = match a.auto_pad.as_str() {
        "NOTSET" => {
            let p = a.per_dim(&a.pads, "pads", 2 * sp, 0)?;
            (p[..sp].to_vec(), p[sp..].to_vec())
        }
        "VALID" => (vec![0; sp], vec![0; sp]),
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            let mut begin = Vec::new();
            let mut end = Vec::new();
            for i in 0..sp {
                let out = input[i].div_ceil(strides[i]);
                let total = ((out.max(1) - 1) * strides[i] + span[i]).saturating_sub(input[i]);
                let b = if mode == "SAME_UPPER" {
                    total / 2
                } else {
                    total - total / 2
                };
                begin.push(b);
                end.push(total - b);
            }
            (begin, end)
        }
        other => return Err(Fail::invalid(format!("unknown auto_pad '{other}'"))),
    };
    let mut output = Vec::new();
    for i in 0..sp {
        let padded = input[i] + pads_begin[i] + pads_end[i];
        if padded < span[i] {
            return Err(Fail::invalid(format!(
                "{op}: the kernel spans {} but the padded input is only {padded} along spatial dimension {i}",
                span[i]
            )));
        }
        output.push((padded - span[i]) / strides[i] + 1);
    }
    Ok(Geometry {
        n,
        c,
        m,
        group,
        input,
        kernel,
        strides,
        dilations,
        pads_begin,
        output,
    })
}

/// For each kernel offset (row-major over `kernel`), the offset into a `target`-shaped tensor
/// that each position of a `positions`-shaped grid maps to; `usize::MAX` where `coord` (per
/// dimension: position, kernel index → target coordinate) falls outside the target.
fn kernel_offsets(
    kernel: &[usize],
    positions: &[usize],
    target: &[usize],
    coord: impl Fn(usize, usize, usize) -> i64,
) -> Result<Vec<Vec<usize>>, Fail> {
    const OUT: usize = usize::MAX;
    let target_strides = super::strides(target);
    let kst = super::strides(kernel);
    (0..numel(kernel)?)
        .map(|kk| {
            let mut offs = vec![0usize];
            for d in 0..kernel.len() {
                let kd = (kk / kst[d]) % kernel[d];
                let list: Vec<usize> = (0..positions[d])
                    .map(|p| {
                        let t = coord(d, p, kd);
                        if (0..target[d] as i64).contains(&t) {
                            t as usize * target_strides[d]
                        } else {
                            OUT
                        }
                    })
                    .collect();
                offs = offs
                    .iter()
                    .flat_map(|&o| {
                        list.iter()
                            .map(move |&x| if o == OUT || x == OUT { OUT } else { o + x })
                    })
                    .collect();
            }
            Ok(offs)
        })
        .collect()
}

/// Convolution of `x` (shape `xs`) with `w` (shape `ws`) plus an optional per-channel bias.
pub(super) fn conv_core<T: Float>(
    x: &[T],
    xs: &[usize],
    w: &[T],
    ws: &[usize],
    bias: Option<&[T]>,
    attrs: &ConvAttrs,
) -> Result<(Vec<usize>, Vec<T>), Fail> {
    let g = conv_geometry(xs, ws, attrs, "Conv")?;
    if let Some(b) = bias {
        if b.len() != g.m {
            return Err(Fail::invalid(format!(
                "bias has {} values for {} output channels",
                b.len(),
                g.m
            )));
        }
    }
    let (cg, mg) = (g.c / g.group, g.m / g.group);
    let in_size = numel(&g.input)?;
    let out_size = numel(&g.output)?;
    let k_total = numel(&g.kernel)?;
    let rows = cg * k_total;
    let mut out_shape = vec![g.n, g.m];
    out_shape.extend(&g.output);
    let mut out = vec![T::ZERO; numel(&out_shape)?];
    // A 1×1 kernel with unit strides and no padding reads the input as it is.
    let direct = k_total == 1
        && g.strides.iter().all(|&s| s == 1)
        && g.pads_begin.iter().all(|&p| p == 0)
        && g.output == g.input;
    let fields = if direct {
        Vec::new()
    } else {
        kernel_offsets(&g.kernel, &g.output, &g.input, |d, o, kd| {
            (o * g.strides[d] + kd * g.dilations[d]) as i64 - g.pads_begin[d] as i64
        })?
    };
    let mut cols = if direct {
        Vec::new()
    } else {
        vec![T::ZERO; numel(&[rows, out_size])?]
    };
    for n in 0..g.n {
        for grp in 0..g.group {
            let xg = &x[(n * g.c + grp * cg) * in_size..][..cg * in_size];
            let b_mat: &[T] = if direct {
                xg
            } else {
                for c in 0..cg {
                    let xc = &xg[c * in_size..][..in_size];
                    for (kk, offs) in fields.iter().enumerate() {
                        let row = &mut cols[(c * k_total + kk) * out_size..][..out_size];
                        for (dst, &o) in row.iter_mut().zip(offs) {
                            *dst = if o == usize::MAX { T::ZERO } else { xc[o] };
                        }
                    }
                }
                &cols
            };
            let wg = &w[grp * mg * rows..][..mg * rows];
            let yg = &mut out[(n * g.m + grp * mg) * out_size..][..mg * out_size];
            T::gemm(
                mg,
                rows,
                out_size,
                T::ONE,
                wg,
                (rows as isize, 1),
                b_mat,
                (out_size as isize, 1),
                T::ZERO,
                yg,
                out_size as isize,
            );
        }
    }
    if let Some(b) = bias {
        for (i, chunk) in out.chunks_mut(out_size.max(1)).enumerate() {
            let bv = b[i % g.m];
            chunk.iter_mut().for_each(|v| *v += bv);
        }
    }
    Ok((out_shape, out))
}

pub(super) fn conv(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let y = if x.dtype() == DType::F64 {
        conv_float::<f64>(ctx)?
    } else {
        conv_float::<f32>(ctx)?
    };
    Ok(vec![y])
}

fn conv_float<T: Float>(ctx: &Ctx) -> Result<Tensor, Fail> {
    let (x, w) = (ctx.input(0)?, ctx.input(1)?);
    let attrs = ConvAttrs::read(ctx)?;
    let bias = ctx.opt(2).map(|b| b.floats::<T>("bias")).transpose()?;
    let (shape, v) = conv_core(
        &x.floats::<T>("X")?,
        x.shape(),
        &w.floats::<T>("W")?,
        w.shape(),
        bias.as_deref(),
        &attrs,
    )?;
    Tensor::from_floats(shape, v, x.dtype())
}

pub(super) fn conv_transpose(ctx: &Ctx) -> Out {
    let x = ctx.input(0)?;
    let y = if x.dtype() == DType::F64 {
        conv_transpose_float::<f64>(ctx)?
    } else {
        conv_transpose_float::<f32>(ctx)?
    };
    Ok(vec![y])
}

fn conv_transpose_float<T: Float>(ctx: &Ctx) -> Result<Tensor, Fail> {
    let (xt, wt) = (ctx.input(0)?, ctx.input(1)?);
    let a = ConvAttrs::read(ctx)?;
    let (xs, ws) = (xt.shape(), wt.shape());
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(Fail::invalid(format!(
            "ConvTranspose needs an input of rank 3 or more and weights of the same rank, got {xs:?} and {ws:?}"
        )));
    }
    let sp = xs.len() - 2;
    let (n, c) = (xs[0], xs[1]);
    let group = dim(a.group, "'group'")?;
    if group == 0 || c % group != 0 || ws[0] != c {
        return Err(Fail::invalid(format!(
            "ConvTranspose with group={group}, {c} input channels and weights of shape {ws:?}"
        )));
    }
    let (cg, mg) = (c / group, ws[1]);
    let m = mg * group;
    let kernel = ws[2..].to_vec();
    let strides = a.per_dim(&a.strides, "strides", sp, 1)?;
    let dilations = a.per_dim(&a.dilations, "dilations", sp, 1)?;
    let out_pad = a.per_dim(&a.output_padding, "output_padding", sp, 0)?;
    let input = xs[2..].to_vec();
    let full: Vec<usize> = (0..sp)
        .map(|i| {
            strides[i] * input[i].saturating_sub(1)
                + out_pad[i]
                + (kernel[i].max(1) - 1) * dilations[i]
                + 1
        })
        .collect();
    let requested = match &a.output_shape {
        Some(s) if s.len() >= sp => Some(
            s[s.len() - sp..]
                .iter()
                .map(|&d| dim(d, "'output_shape'"))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(s) => {
            return Err(Fail::invalid(format!(
                "'output_shape' {s:?} has too few values"
            )))
        }
        None => None,
    };
    let (begin, output): (Vec<i64>, Vec<usize>) = match (a.auto_pad.as_str(), &a.pads) {
        (mode @ ("SAME_UPPER" | "SAME_LOWER"), None) => {
            let out = requested.unwrap_or_else(|| (0..sp).map(|i| input[i] * strides[i]).collect());
            let begin = (0..sp)
                .map(|i| {
                    let total = full[i] as i64 - out[i] as i64;
                    if mode == "SAME_UPPER" {
                        total.div_euclid(2)
                    } else {
                        total - total.div_euclid(2)
                    }
                })
                .collect();
            (begin, out)
        }
        _ => {
            let p = a.per_dim(&a.pads, "pads", 2 * sp, 0)?;
            let out = match requested {
                Some(o) => o,
                None => (0..sp)
                    .map(|i| {
                        full[i].checked_sub(p[i] + p[sp + i]).ok_or_else(|| {
                            Fail::invalid(format!("pads {p:?} remove the whole output"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            };
            (p[..sp].iter().map(|&v| v as i64).collect(), out)
        }
    };
    let bias = ctx.opt(2).map(|b| b.floats::<T>("bias")).transpose()?;
    if let Some(b) = &bias {
        if b.len() != m {
            return Err(Fail::invalid(format!(
                "bias has {} values for {m} output channels",
                b.len()
            )));
        }
    }
    let x = xt.floats::<T>("X")?;
    let w = wt.floats::<T>("W")?;
    let in_size = numel(&input)?;
    let out_size = numel(&output)?;
    let k_total = numel(&kernel)?;
    let rows = mg * k_total;
    // For each kernel offset, the output offset each input position contributes to.
    let targets = kernel_offsets(&kernel, &input, &output, |d, i, kd| {
        (i * strides[d] + kd * dilations[d]) as i64 - begin[d]
    })?;
    let mut out_shape = vec![n, m];
    out_shape.extend(&output);
    let mut out = vec![T::ZERO; numel(&out_shape)?];
    let mut cols = vec![T::ZERO; numel(&[rows, in_size])?];
    for b in 0..n {
        for grp in 0..group {
            let xg = &x[(b * c + grp * cg) * in_size..][..cg * in_size];
            let wg = &w[grp * cg * rows..][..cg * rows];
            // cols[mg·K, L] = Wgᵀ × Xg, Wg being [cg, mg·K].
            T::gemm(
                rows,
                cg,
                in_size,
                T::ONE,
                wg,
                (1, rows as isize),
                xg,
                (in_size as isize, 1),
                T::ZERO,
                &mut cols,
                in_size as isize,
            );
            for mo in 0..mg {
                let y = &mut out[(b * m + grp * mg + mo) * out_size..][..out_size];
                for (kk, offs) in targets.iter().enumerate() {
                    let row = &cols[(mo * k_total + kk) * in_size..][..in_size];
                    for (&v, &o) in row.iter().zip(offs) {
                        if o != usize::MAX {
                            y[o] += v;
                        }
                    }
                }
            }
        }
    }
    if let Some(bv) = bias {
        for (i, chunk) in out.chunks_mut(out_size.max(1)).enumerate() {
            let v = bv[i % m];
            chunk.iter_mut().for_each(|e| *e += v);
        }
    }
    Tensor::from_floats(out_shape, out, xt.dtype())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> ConvAttrs {
        ConvAttrs {
            auto_pad: "NOTSET".into(),
            dilations: None,
            group: 1,
            kernel_shape: None,
            pads: None,
            strides: None,
            output_padding: None,
            output_shape: None,
        }
    }

    /// The obvious six-loop convolution, to check the im2col path against.
    fn naive(
        x: &[f64],
        xs: &[usize],
        w: &[f64],
        ws: &[usize],
        pad: usize,
        stride: usize,
        group: usize,
    ) -> Vec<f64> {
        let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
        let (m, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
        let oh = (h + 2 * pad - kh) / stride + 1;
        let ow = (wd + 2 * pad - kw) / stride + 1;
        let mut out = vec![0.0; n * m * oh * ow];
        for b in 0..n {
            for mo in 0..m {
                let grp = mo / (m / group);
                for y in 0..oh {
                    for z in 0..ow {
                        let mut acc = 0.0;
                        for ci in 0..cg {
                            let cin = grp * cg + ci;
                            for i in 0..kh {
                                for j in 0..kw {
                                    let (iy, iz) = (
                                        (y * stride + i) as i64 - pad as i64,
                                        (z * stride + j) as i64 - pad as i64,
                                    );
                                    if iy >= 0 && iz >= 0 && (iy as usize) < h && (iz as usize) < wd
                                    {
                                        acc += x
                                            [((b * c + cin) * h + iy as usize) * wd + iz as usize]
                                            * w[((mo * cg + ci) * kh + i) * kw + j];
                                    }
                                }
                            }
                        }
                        out[((b * m + mo) * oh + y) * ow + z] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_matches_the_naive_convolution() {
        let xs = [2, 4, 7, 6];
        let x: Vec<f64> = (0..2 * 4 * 7 * 6)
            .map(|i| ((i * 37 % 11) as f64) - 5.0)
            .collect();
        for (group, pad, stride, k) in [(1, 0, 1, 1), (1, 1, 2, 3), (2, 1, 1, 3), (4, 2, 3, 2)] {
            let ws = [4, 4 / group, k, k];
            let w: Vec<f64> = (0..ws.iter().product::<usize>())
                .map(|i| ((i * 13 % 7) as f64) - 3.0)
                .collect();
            let a = ConvAttrs {
                group: group as i64,
                pads: Some(vec![pad as i64; 4]),
                strides: Some(vec![stride as i64; 2]),
                ..attrs()
            };
            let (_, got) = conv_core(&x, &xs, &w, &ws, None, &a).unwrap();
            assert_eq!(
                got,
                naive(&x, &xs, &w, &ws, pad, stride, group),
                "group {group} pad {pad} stride {stride} k {k}"
            );
        }
    }

    #[test]
    fn group_mismatch_is_an_error_naming_the_numbers() {
        let a = ConvAttrs {
            group: 3,
            ..attrs()
        };
        let err = conv_core(
            &[0.0f32; 16],
            &[1, 4, 2, 2],
            &[0.0; 4],
            &[4, 1, 1, 1],
            None,
            &a,
        )
        .unwrap_err();
        assert!(
            err.reason.contains("group=3 and 4 input channels"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn same_upper_pads_to_ceil_of_input_over_stride() {
        let a = ConvAttrs {
            auto_pad: "SAME_UPPER".into(),
            strides: Some(vec![2, 2]),
            ..attrs()
        };
        let g = conv_geometry(&[1, 1, 5, 6], &[1, 1, 3, 3], &a, "Conv").unwrap();
        assert_eq!(g.output, vec![3, 3]);
        assert_eq!(g.pads_begin, vec![1, 0]);
    }
}
