//! NumPy-style multidirectional broadcasting, shared by every elementwise kernel.

use crate::eval::error::Fail;
use crate::eval::tensor::numel;

/// The broadcast shape of several operand shapes.
pub fn shape(shapes: &[&[usize]]) -> Result<Vec<usize>, Fail> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[rank - s.len() + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return Err(Fail::invalid(format!(
                    "shapes {:?} cannot be broadcast together",
                    shapes
                )));
            }
        }
    }
    Ok(out)
}

/// Element strides of an operand of `shape` read as the broadcast shape `out`: 0 along the
/// dimensions it is repeated over.
pub fn strides_in(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let offset = out.len() - shape.len();
    let own = super::strides(shape);
    (0..out.len())
        .map(|i| match i.checked_sub(offset) {
            Some(j) if shape[j] != 1 => own[j],
            _ => 0,
        })
        .collect()
}

/// Calls `f` with each operand's element offset, for every element of `out` in row-major order.
pub fn walk<const N: usize>(out: &[usize], strides: [&[usize]; N], mut f: impl FnMut([usize; N])) {
    let rank = out.len();
    if out.contains(&0) {
        return;
    }
    if rank == 0 {
        f([0; N]);
        return;
    }
    let inner = out[rank - 1];
    let step: [usize; N] = std::array::from_fn(|k| strides[k][rank - 1]);
    let mut idx = vec![0usize; rank - 1];
    let mut base = [0usize; N];
    loop {
        for j in 0..inner {
            f(std::array::from_fn(|k| base[k] + j * step[k]));
        }
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            for k in 0..N {
                base[k] += strides[k][d];
            }
            if idx[d] < out[d] {
                break;
            }
            for k in 0..N {
                base[k] -= strides[k][d] * out[d];
            }
            idx[d] = 0;
        }
    }
}

/// `f` over two broadcast operands: the output shape and values.
pub fn zip2<A, B, O>(
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    mut f: impl FnMut(&A, &B) -> O,
) -> Result<(Vec<usize>, Vec<O>), Fail> {
    if sa == sb {
        return Ok((sa.to_vec(), a.iter().zip(b).map(|(x, y)| f(x, y)).collect()));
    }
    let out = shape(&[sa, sb])?;
    let mut v = Vec::with_capacity(numel(&out)?);
    if b.len() == 1 && out == sa {
        v.extend(a.iter().map(|x| f(x, &b[0])));
    } else {
        walk(
            &out,
            [&strides_in(sa, &out), &strides_in(sb, &out)],
            |[i, j]| v.push(f(&a[i], &b[j])),
        );
    }
    Ok((out, v))
}

/// `f` over three broadcast operands.
pub fn zip3<A, B, C, O>(
    (a, sa): (&[A], &[usize]),
    (b, sb): (&[B], &[usize]),
    (c, sc): (&[C], &[usize]),
    mut f: impl FnMut(&A, &B, &C) -> O,
) -> Result<(Vec<usize>, Vec<O>), Fail> {
    let out = shape(&[sa, sb, sc])?;
    let mut v = Vec::with_capacity(numel(&out)?);
    let st = [
        &strides_in(sa, &out)[..],
        &strides_in(sb, &out),
        &strides_in(sc, &out),
    ];
    walk(&out, st, |[i, j, k]| v.push(f(&a[i], &b[j], &c[k])));
    Ok((out, v))
}

/// Copies of `v` (of shape `from`) laid out over the broadcast shape `to` (Expand).
pub fn to<T: Clone>(v: &[T], from: &[usize], to: &[usize]) -> Result<Vec<T>, Fail> {
    let mut out = Vec::with_capacity(numel(to)?);
    walk(to, [&strides_in(from, to)], |[i]| out.push(v[i].clone()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast_like_numpy() {
        assert_eq!(shape(&[&[2, 1, 3], &[4, 1]]).unwrap(), vec![2, 4, 3]);
        assert_eq!(shape(&[&[], &[5]]).unwrap(), vec![5]);
        assert_eq!(shape(&[&[0, 1], &[1, 3]]).unwrap(), vec![0, 3]);
        assert!(shape(&[&[2, 3], &[3, 2]]).is_err());
    }

    #[test]
    fn zip2_repeats_the_smaller_operand() {
        let (s, v) = zip2(&[1, 2, 3, 4, 5, 6], &[2, 3], &[10, 20], &[2, 1], |a, b| {
            a + b
        })
        .unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(v, vec![11, 12, 13, 24, 25, 26]);
        let (_, v) = zip2(&[1, 2], &[2, 1], &[10, 20, 30], &[3], |a, b| a * b).unwrap();
        assert_eq!(v, vec![10, 20, 30, 20, 40, 60]);
    }

    #[test]
    fn zip3_and_expand() {
        let (s, v) = zip3(
            (&[true, false], &[2]),
            (&[1], &[]),
            (&[7, 8], &[2, 1]),
            |c, x, y| {
                if *c {
                    *x
                } else {
                    *y
                }
            },
        )
        .unwrap();
        assert_eq!(s, vec![2, 2]);
        assert_eq!(v, vec![1, 7, 1, 8]);
        assert_eq!(
            to(&[1, 2], &[2, 1], &[2, 3]).unwrap(),
            vec![1, 1, 1, 2, 2, 2]
        );
    }
}
