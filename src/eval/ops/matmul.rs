//! Matrix products: MatMul (batched, broadcast), Gemm, and Einsum.
//!
//! Float products run on `matrixmultiply`'s blocked GEMM (see [`Float::gemm`]); integer MatMul
//! uses a plain triple loop with wrapping arithmetic. Einsum is the textbook sum over all label
//! assignments, in f64, for any number of operands.

use std::collections::BTreeMap;

use super::elementwise::Arith;
use super::misc::cast;
use super::{broadcast, strides, Ctx};
use crate::eval::error::Fail;
use crate::eval::tensor::{numel, same_as, Data, Elem, Float, Tensor};
use crate::ir::DType;

type Out = Result<Vec<Tensor>, Fail>;

/// The shapes of a MatMul: batch shape, m, k, n, and the output shape (1-D operands promoted
/// and their unit dimension removed again, as NumPy does).
struct MatMulShape {
    batch: Vec<usize>,
    a_batch: Vec<usize>,
    b_batch: Vec<usize>,
    m: usize,
    k: usize,
    n: usize,
    out: Vec<usize>,
}

fn matmul_shape(sa: &[usize], sb: &[usize]) -> Result<MatMulShape, Fail> {
    if sa.is_empty() || sb.is_empty() {
        return Err(Fail::invalid("MatMul operands must have rank 1 or more"));
    }
    let a2: Vec<usize> = if sa.len() == 1 {
        vec![1, sa[0]]
    } else {
        sa.to_vec()
    };
    let b2: Vec<usize> = if sb.len() == 1 {
        vec![sb[0], 1]
    } else {
        sb.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != kb {
        return Err(Fail::invalid(format!(
            "MatMul of {sa:?} and {sb:?}: inner dimensions {k} and {kb} differ"
        )));
    }
    let a_batch = a2[..a2.len() - 2].to_vec();
    let b_batch = b2[..b2.len() - 2].to_vec();
    let batch = broadcast::shape(&[&a_batch, &b_batch])?;
    let mut out = batch.clone();
    if sa.len() > 1 {
        out.push(m);
    }
    if sb.len() > 1 {
        out.push(n);
    }
    Ok(MatMulShape {
        batch,
        a_batch,
        b_batch,
        m,
        k,
        n,
        out,
    })
}

/// For every output batch, the offsets of the matching A and B matrices.
fn batch_offsets(s: &MatMulShape) -> Vec<(usize, usize)> {
    let (sa, sb) = (
        broadcast::strides_in(&s.a_batch, &s.batch),
        broadcast::strides_in(&s.b_batch, &s.batch),
    );
    let mut pairs = Vec::new();
    broadcast::walk(&s.batch, [&sa, &sb], |[i, j]| {
        pairs.push((i * s.m * s.k, j * s.k * s.n))
    });
    pairs
}

/// Batched, broadcast float MatMul.
pub(super) fn matmul_float<T: Float>(
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
) -> Result<(Vec<usize>, Vec<T>), Fail> {
    let s = matmul_shape(sa, sb)?;
    let mut out = vec![T::ZERO; numel(&s.out)?];
    for (bi, (ao, bo)) in batch_offsets(&s).into_iter().enumerate() {
        let c = &mut out[bi * s.m * s.n..(bi + 1) * s.m * s.n];
        T::gemm(
            s.m,
            s.k,
            s.n,
            T::ONE,
            &a[ao..ao + s.m * s.k],
            (s.k as isize, 1),
            &b[bo..bo + s.k * s.n],
            (s.n as isize, 1),
            T::ZERO,
            c,
            s.n as isize,
        );
    }
    Ok((s.out, out))
}

/// Batched, broadcast integer MatMul with wrapping arithmetic.
fn matmul_int<T: Arith>(
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
) -> Result<(Vec<usize>, Vec<T>), Fail> {
    let s = matmul_shape(sa, sb)?;
    let mut out = vec![T::zero(); numel(&s.out)?];
    for (bi, (ao, bo)) in batch_offsets(&s).into_iter().enumerate() {
        let c = &mut out[bi * s.m * s.n..(bi + 1) * s.m * s.n];
        for i in 0..s.m {
            for p in 0..s.k {
                let x = a[ao + i * s.k + p];
                for j in 0..s.n {
                    c[i * s.n + j] = c[i * s.n + j].add(x.mul(b[bo + p * s.n + j]));
                }
            }
        }
    }
    Ok((s.out, out))
}

pub(super) fn matmul(ctx: &Ctx) -> Out {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let dt = a.dtype();
    let y = match a.data() {
        Data::F64(x) => {
            let (shape, v) = matmul_float(x, a.shape(), same_as(x, b, "input 1")?, b.shape())?;
            Tensor::from_vec(shape, v)?
        }
        Data::F32(_) | Data::F16(_) | Data::BF16(_) => {
            if b.dtype() != dt {
                return Err(Fail::invalid(format!(
                    "input 1 must be {dt}, got {}",
                    b.dtype()
                )));
            }
            let (shape, v) = matmul_float::<f32>(
                &a.floats("input 0")?,
                a.shape(),
                &b.floats("input 1")?,
                b.shape(),
            )?;
            Tensor::from_floats(shape, v, dt)?
        }
        Data::I32(x) => int_result(matmul_int(
            x,
            a.shape(),
            same_as(x, b, "input 1")?,
            b.shape(),
        )?)?,
        Data::I64(x) => int_result(matmul_int(
            x,
            a.shape(),
            same_as(x, b, "input 1")?,
            b.shape(),
        )?)?,
        Data::U32(x) => int_result(matmul_int(
            x,
            a.shape(),
            same_as(x, b, "input 1")?,
            b.shape(),
        )?)?,
        Data::U64(x) => int_result(matmul_int(
            x,
            a.shape(),
            same_as(x, b, "input 1")?,
            b.shape(),
        )?)?,
        _ => {
            return Err(Fail::unsupported(format!(
                "MatMul of {dt} tensors is not supported"
            )))
        }
    };
    Ok(vec![y])
}

fn int_result<T: Elem>((shape, v): (Vec<usize>, Vec<T>)) -> Result<Tensor, Fail> {
    Tensor::from_vec(shape, v)
}

/// Gemm: `alpha·A'·B' + beta·C`, `C` broadcast to the result.
pub(super) fn gemm(ctx: &Ctx) -> Out {
    let a = ctx.input(0)?;
    let dt = a.dtype();
    let y = if dt == DType::F64 {
        gemm_impl::<f64>(ctx)?
    } else {
        gemm_impl::<f32>(ctx)?
    };
    Ok(vec![y])
}

fn gemm_impl<T: Float>(ctx: &Ctx) -> Result<Tensor, Fail> {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let trans_a = ctx.choice("transA", 0, &[0, 1])? == 1;
    let trans_b = ctx.choice("transB", 0, &[0, 1])? == 1;
    let alpha = T::from_f64(ctx.float("alpha", 1.0)? as f64);
    let beta = T::from_f64(ctx.float("beta", 1.0)? as f64);
    let (&[ar, ac], &[br, bc]) = (a.shape(), b.shape()) else {
        return Err(Fail::invalid(format!(
            "Gemm needs 2-D A and B, got {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    };
    let (m, k) = if trans_a { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if trans_b { (bc, br) } else { (br, bc) };
    if k != kb {
        return Err(Fail::invalid(format!(
            "Gemm of {:?} and {:?} (transA={}, transB={}): inner dimensions {k} and {kb} differ",
            a.shape(),
            b.shape(),
            u8::from(trans_a),
            u8::from(trans_b)
        )));
    }
    let av = a.floats::<T>("A")?;
    let bv = b.floats::<T>("B")?;
    let (mut out, c_beta) = match ctx.opt(2) {
        Some(c) => {
            let cv = c.floats::<T>("C")?;
            if broadcast::shape(&[c.shape(), &[m, n]])? != [m, n] {
                return Err(Fail::invalid(format!(
                    "C of shape {:?} does not broadcast to the result's [{m}, {n}]",
                    c.shape()
                )));
            }
            let full = broadcast::to(&cv, c.shape(), &[m, n])?;
            (full.into_iter().map(|x| x * beta).collect(), T::ONE)
        }
        None => (vec![T::ZERO; numel(&[m, n])?], T::ZERO),
    };
    let a_strides = if trans_a {
        (1, ac as isize)
    } else {
        (ac as isize, 1)
    };
    let b_strides = if trans_b {
        (1, bc as isize)
    } else {
        (bc as isize, 1)
    };
    T::gemm(
        m, k, n, alpha, &av, a_strides, &bv, b_strides, c_beta, &mut out, n as isize,
    );
    Tensor::from_floats(vec![m, n], out, a.dtype())
}

/// Einsum over any number of operands, `...` included, explicit or implicit output.
pub(super) fn einsum(ctx: &Ctx) -> Out {
    let equation = ctx
        .node
        .attr_str("equation")?
        .ok_or_else(|| Fail::invalid("attribute 'equation' is required"))?
        .replace(' ', "");
    let inputs = ctx.all_inputs()?;
    let first = inputs
        .first()
        .ok_or_else(|| Fail::invalid("needs at least one input"))?;
    let (lhs, rhs) = match equation.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (equation.clone(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != inputs.len() {
        return Err(Fail::invalid(format!(
            "equation '{equation}' has {} operands, the node {}",
            terms.len(),
            inputs.len()
        )));
    }
    // Ellipsis dimensions become labels '0', '1', … (right-aligned, broadcast like NumPy).
    let ell_rank = terms
        .iter()
        .zip(&inputs)
        .filter(|(t, _)| t.contains("..."))
        .map(|(t, x)| x.rank() + 3 - t.chars().count())
        .max()
        .unwrap_or(0);
    let expand = |term: &str, rank: usize| -> Result<Vec<char>, Fail> {
        let Some((pre, post)) = term.split_once("...") else {
            return Ok(term.chars().collect());
        };
        let n = rank.checked_sub(pre.len() + post.len()).ok_or_else(|| {
            Fail::invalid(format!("term '{term}' has more labels than dimensions"))
        })?;
        let ell = (ell_rank - n..ell_rank).map(|i| char::from(b'0' + i as u8));
        Ok(pre.chars().chain(ell).chain(post.chars()).collect())
    };
    let mut sizes: BTreeMap<char, usize> = BTreeMap::new();
    let mut labels = Vec::new();
    for (term, x) in terms.iter().zip(&inputs) {
        let l = expand(term, x.rank())?;
        if l.len() != x.rank() {
            return Err(Fail::invalid(format!(
                "term '{term}' has {} labels for an operand of rank {}",
                l.len(),
                x.rank()
            )));
        }
        for (&c, &d) in l.iter().zip(x.shape()) {
            let s = sizes.entry(c).or_insert(d);
            if *s == 1 {
                *s = d;
            } else if d != 1 && d != *s {
                return Err(Fail::invalid(format!("label '{c}' has sizes {s} and {d}")));
            }
        }
        labels.push(l);
    }
    let out_labels: Vec<char> = match rhs {
        Some(r) => expand(&r, ell_rank + r.chars().filter(|&c| c != '.').count())?,
        None => {
            let ell = (0..ell_rank).map(|i| char::from(b'0' + i as u8));
            let once = sizes
                .keys()
                .filter(|c| c.is_alphabetic())
                .filter(|&&c| labels.iter().flatten().filter(|&&x| x == c).count() == 1)
                .copied();
            ell.chain(once).collect()
        }
    };
    let all: Vec<char> = sizes.keys().copied().collect();
    let dims: Vec<usize> = all.iter().map(|c| sizes[c]).collect();
    let pos = |c: char| all.iter().position(|&x| x == c);
    let out_shape = out_labels
        .iter()
        .map(|&c| {
            pos(c)
                .map(|p| dims[p])
                .ok_or_else(|| Fail::invalid(format!("output label '{c}' is on no input")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let values = inputs
        .iter()
        .map(|x| x.to_f64s("operand"))
        .collect::<Result<Vec<_>, _>>()?;
    // For each operand and label, the element stride it contributes (0 when broadcast).
    let contrib: Vec<Vec<usize>> = labels
        .iter()
        .zip(&inputs)
        .map(|(l, x)| {
            let st = strides(x.shape());
            all.iter()
                .map(|&c| {
                    l.iter()
                        .enumerate()
                        .filter(|&(i, &x_c)| x_c == c && x.shape()[i] != 1)
                        .map(|(i, _)| st[i])
                        .sum()
                })
                .collect()
        })
        .collect();
    let out_st = strides(&out_shape);
    let out_contrib: Vec<usize> = all
        .iter()
        .map(|&c| {
            out_labels
                .iter()
                .position(|&o| o == c)
                .map_or(0, |i| out_st[i])
        })
        .collect();
    let mut out = vec![0f64; numel(&out_shape)?];
    let mut idx = vec![0usize; all.len()];
    if dims.iter().all(|&d| d > 0) {
        loop {
            let product: f64 = values
                .iter()
                .zip(&contrib)
                .map(|(v, c)| v[idx.iter().zip(c).map(|(i, s)| i * s).sum::<usize>()])
                .product();
            out[idx
                .iter()
                .zip(&out_contrib)
                .map(|(i, s)| i * s)
                .sum::<usize>()] += product;
            let mut d = all.len();
            loop {
                if d == 0 {
                    let y = Tensor::from_vec(out_shape, out)?;
                    return Ok(vec![cast(&y, first.dtype())?]);
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < dims[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
    let y = Tensor::from_vec(out_shape, out)?;
    Ok(vec![cast(&y, first.dtype())?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_promotes_vectors_and_broadcasts_batches() {
        let s = matmul_shape(&[3], &[2, 3, 4]).unwrap();
        assert_eq!(s.out, vec![2, 4]);
        let s = matmul_shape(&[5, 1, 2, 3], &[4, 3, 6]).unwrap();
        assert_eq!(s.out, vec![5, 4, 2, 6]);
        assert!(matmul_shape(&[2, 3], &[4, 5]).is_err());
        let (shape, v) =
            matmul_float(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2], &[1.0, 1.0], &[2]).unwrap();
        assert_eq!(shape, vec![2]);
        assert_eq!(v, vec![3.0, 7.0]);
    }
}
