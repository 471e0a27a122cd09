//! Contractions: `MatMul` (numpy semantics: 1-D operands, broadcast batch dims), `Gemm`
//! (`transA`/`transB`) and `Einsum` (explicit `->` and implicit output, `...` broadcasting).

use std::collections::BTreeMap;

use super::cx::Cx;
use super::dims::{self, show};
use crate::ir::types::Dim;

/// `MatMul`: element type of `A`.
pub fn matmul(cx: &mut Cx) -> Result<(), String> {
    let shape = match (cx.shape(0), cx.shape(1)) {
        (Some(a), Some(b)) => Some(matmul_shape(a, b)?),
        _ => None,
    };
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// numpy `matmul` shapes: a 1-D `A` gets a 1 prepended, a 1-D `B` a 1 appended (both removed
/// again), batch dims broadcast, inner dims must agree.
pub fn matmul_shape(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, String> {
    if a.is_empty() || b.is_empty() {
        return Err("a MatMul operand is a scalar".into());
    }
    let a2: Vec<Dim> = if a.len() == 1 {
        vec![Dim::Known(1), a[0].clone()]
    } else {
        a.to_vec()
    };
    let b2: Vec<Dim> = if b.len() == 1 {
        vec![b[0].clone(), Dim::Known(1)]
    } else {
        b.to_vec()
    };
    let (ar, br) = (a2.len(), b2.len());
    dims::unify(&a2[ar - 1], &b2[br - 2]).map_err(|e| {
        format!(
            "inner dimensions of {} and {} differ: {e}",
            show(a),
            show(b)
        )
    })?;
    let mut out = dims::broadcast(&a2[..ar - 2], &b2[..br - 2])?;
    if a.len() > 1 {
        out.push(a2[ar - 2].clone());
    }
    if b.len() > 1 {
        out.push(b2[br - 1].clone());
    }
    Ok(out)
}

/// `Gemm`: `[M, N]` from 2-D `A` (`[M, K]`, or `[K, M]` with `transA`) and `B`.
pub fn gemm(cx: &mut Cx) -> Result<(), String> {
    let trans_a = cx.int_or("transA", 0)? != 0;
    let trans_b = cx.int_or("transB", 0)? != 0;
    let shape = match (cx.shape(0), cx.shape(1)) {
        (Some(a), Some(b)) => {
            let ([a0, a1], [b0, b1]) = (a, b) else {
                return Err(format!(
                    "operands must be 2-D, got {} and {}",
                    show(a),
                    show(b)
                ));
            };
            let (m, ka) = if trans_a { (a1, a0) } else { (a0, a1) };
            let (kb, n) = if trans_b { (b1, b0) } else { (b0, b1) };
            dims::unify(ka, kb).map_err(|e| format!("inner dimensions differ: {e}"))?;
            Some(vec![m.clone(), n.clone()])
        }
        _ => None,
    };
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// One label of an einsum term.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Letter(u8),
    Ellipsis,
}

/// Parses one term (`"bij"`, `"...ij"`); at most one ellipsis.
fn parse_term(term: &str) -> Result<Vec<Label>, String> {
    let mut labels = Vec::new();
    let mut rest = term.as_bytes();
    while let Some((&c, tail)) = rest.split_first() {
        if let Some(after) = rest.strip_prefix(b"...") {
            if labels.contains(&Label::Ellipsis) {
                return Err(format!("einsum term '{term}' has two ellipses"));
            }
            labels.push(Label::Ellipsis);
            rest = after;
        } else if c.is_ascii_alphabetic() {
            labels.push(Label::Letter(c));
            rest = tail;
        } else {
            return Err(format!("einsum term '{term}' has an invalid character"));
        }
    }
    Ok(labels)
}

/// Sizes of labels and of the ellipsis, gathered over the operands.
#[derive(Default)]
struct Labels {
    sizes: BTreeMap<u8, Dim>,
    counts: BTreeMap<u8, usize>,
    /// The broadcast ellipsis dims, once an operand had an ellipsis.
    ellipsis: Option<Vec<Dim>>,
}

impl Labels {
    fn add_operand(&mut self, term: &str, labels: &[Label], shape: &[Dim]) -> Result<(), String> {
        let letters = labels.iter().filter(|l| **l != Label::Ellipsis).count();
        let has_ellipsis = labels.len() != letters;
        if shape.len() < letters || (!has_ellipsis && shape.len() != letters) {
            return Err(format!(
                "einsum term '{term}' does not fit operand shape {}",
                show(shape)
            ));
        }
        let ellipsis_rank = shape.len() - letters;
        let mut pos = 0;
        for l in labels {
            match *l {
                Label::Letter(c) => {
                    let d = &shape[pos];
                    let size = match self.sizes.get(&c) {
                        Some(prev) => dims::broadcast_dim(prev, d).map_err(|e| {
                            format!("einsum label '{}' has different sizes: {e}", c as char)
                        })?,
                        None => d.clone(),
                    };
                    self.sizes.insert(c, size);
                    *self.counts.entry(c).or_default() += 1;
                    pos += 1;
                }
                Label::Ellipsis => {
                    let part = &shape[pos..pos + ellipsis_rank];
                    // ONNX requires the same number of ellipsis dims in every operand (numpy
                    // would also broadcast differing counts); their sizes broadcast.
                    let merged = match &self.ellipsis {
                        Some(prev) if prev.len() != part.len() => {
                            return Err(format!(
                                "einsum ellipsis covers {} dims in one operand, {} in another",
                                prev.len(),
                                part.len()
                            ))
                        }
                        Some(prev) => dims::broadcast(prev, part)?,
                        None => part.to_vec(),
                    };
                    self.ellipsis = Some(merged);
                    pos += ellipsis_rank;
                }
            }
        }
        Ok(())
    }

    /// The explicit output term's shape.
    fn explicit(&self, labels: &[Label]) -> Result<Vec<Dim>, String> {
        let mut out = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            match *l {
                Label::Letter(c) => {
                    if labels[..i].contains(l) {
                        return Err(format!("einsum output repeats label '{}'", c as char));
                    }
                    let size = self.sizes.get(&c).ok_or_else(|| {
                        format!("einsum output label '{}' is in no input", c as char)
                    })?;
                    out.push(size.clone());
                }
                Label::Ellipsis => out.extend(self.ellipsis.iter().flatten().cloned()),
            }
        }
        Ok(out)
    }

    /// The implicit output: the ellipsis dims, then labels used exactly once, in ASCII order.
    fn implicit(&self) -> Vec<Dim> {
        let once = self
            .counts
            .iter()
            .filter(|(_, &n)| n == 1)
            .filter_map(|(c, _)| self.sizes.get(c).cloned());
        self.ellipsis
            .iter()
            .flatten()
            .cloned()
            .chain(once)
            .collect()
    }
}

/// `Einsum`: the output shape from the equation; element type of the first operand.
pub fn einsum(cx: &mut Cx) -> Result<(), String> {
    let equation: String = cx
        .str_or("equation", "")?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if equation.is_empty() {
        return Err("attribute 'equation' is missing".into());
    }
    let (lhs, rhs) = match equation.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (equation.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != cx.n_inputs() {
        return Err(format!(
            "equation '{equation}' has {} operands, the node {}",
            terms.len(),
            cx.n_inputs()
        ));
    }
    let mut labels = Labels::default();
    let mut all_known = true;
    for (i, term) in terms.iter().enumerate() {
        let parsed = parse_term(term)?;
        match cx.shape(i) {
            Some(s) => labels.add_operand(term, &parsed, s)?,
            None => all_known = false,
        }
    }
    let output_labels = rhs.map(parse_term).transpose()?;
    let output = match (&output_labels, all_known) {
        (_, false) => None,
        (Some(out), true) => Some(labels.explicit(out)?),
        (None, true) => Some(labels.implicit()),
    };
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, output);
    }
    Ok(())
}
