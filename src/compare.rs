//! Running models on the same inputs and comparing what they compute: the library side of
//! `npuopt run` and `npuopt verify`.
//!
//! Float tensors compare with `|a − b| ≤ atol + rtol·|a|`; integer tensors (quantized activations)
//! compare in LSBs — the largest integer difference — against their own tolerance, since one LSB
//! is the unit a quantized rewrite is allowed to move.

use crate::eval::{self, Tensor};
use crate::ir::{DType, Graph, Model, NodeKind};
use crate::print::synth::Lcg;

/// Deterministic inputs for every graph input that has no default: floats in [0, 1] (what image
/// inputs expect), integers over their type's range (small non-negative values for i32/i64, which
/// usually index or size something), booleans at random. Unknown dimensions become 1.
pub fn random_inputs(g: &Graph, seed: u64) -> Result<Vec<(String, Tensor)>, String> {
    let mut rng = Lcg::new(seed);
    let mut out = Vec::new();
    for &id in g.inputs() {
        let node = g.node(id);
        if matches!(&node.kind, NodeKind::Input(i) if i.default.is_some()) {
            continue;
        }
        let value = &node.outputs[0];
        let Some(ty) = &value.ty else {
            return Err(format!(
                "input '{}' has no known type; give it with --input",
                value.name
            ));
        };
        let shape: Vec<usize> = ty
            .shape
            .as_ref()
            .map(|s| {
                s.iter()
                    .map(|d| d.known().map_or(1, |n| n.max(0) as usize))
                    .collect()
            })
            .unwrap_or_default();
        let n: usize = shape.iter().product();
        let t = match ty.dtype {
            DType::F32 => Tensor::from_vec(
                shape,
                (0..n)
                    .map(|_| (rng.unit() + 1.0) / 2.0)
                    .collect::<Vec<f32>>(),
            ),
            DType::F64 => Tensor::from_vec(
                shape,
                (0..n)
                    .map(|_| f64::from((rng.unit() + 1.0) / 2.0))
                    .collect::<Vec<f64>>(),
            ),
            DType::U8 => Tensor::from_vec(shape, rng.bytes(n)),
            DType::I8 => Tensor::from_vec(
                shape,
                rng.bytes(n)
                    .into_iter()
                    .map(|b| b as i8)
                    .collect::<Vec<i8>>(),
            ),
            DType::I32 => Tensor::from_vec(
                shape,
                (0..n)
                    .map(|_| (rng.next_u32() % 16) as i32)
                    .collect::<Vec<i32>>(),
            ),
            DType::I64 => Tensor::from_vec(
                shape,
                (0..n)
                    .map(|_| i64::from(rng.next_u32() % 16))
                    .collect::<Vec<i64>>(),
            ),
            DType::Bool => Tensor::from_vec(
                shape,
                (0..n)
                    .map(|_| rng.next_u32() & 1 == 1)
                    .collect::<Vec<bool>>(),
            ),
            other => {
                return Err(format!(
                    "input '{}': random {other} inputs are not supported; give it with --input",
                    value.name
                ))
            }
        }
        .map_err(|e| format!("input '{}': {}", value.name, e.reason))?;
        out.push((value.name.clone(), t));
    }
    Ok(out)
}

/// How far apart two tensors are.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub max_abs: f64,
    pub max_rel: f64,
    /// For integer tensors: the largest difference, in LSBs.
    pub lsb: Option<i64>,
}

/// Tolerances of a comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
    /// Allowed LSBs for integer tensors.
    pub lsb: i64,
}

impl Default for Tolerance {
    fn default() -> Tolerance {
        Tolerance {
            atol: 1e-5,
            rtol: 1e-5,
            lsb: 1,
        }
    }
}

/// Compares two tensors; `None` when their shapes or kinds differ.
pub fn difference(a: &Tensor, b: &Tensor, tol: &Tolerance) -> Option<(Difference, bool)> {
    if a.shape() != b.shape() {
        return None;
    }
    let integer = !a.dtype().is_float() && !b.dtype().is_float();
    if integer {
        let (x, y) = (a.to_i64s("a").ok()?, b.to_i64s("b").ok()?);
        let lsb = x
            .iter()
            .zip(&y)
            .map(|(p, q)| (p - q).abs())
            .max()
            .unwrap_or(0);
        let d = Difference {
            max_abs: lsb as f64,
            max_rel: 0.0,
            lsb: Some(lsb),
        };
        return Some((d, lsb <= tol.lsb));
    }
    let (x, y) = (a.to_f64s("a").ok()?, b.to_f64s("b").ok()?);
    let mut d = Difference {
        max_abs: 0.0,
        max_rel: 0.0,
        lsb: None,
    };
    let mut within = true;
    for (p, q) in x.iter().zip(&y) {
        if p.is_nan() && q.is_nan() {
            continue;
        }
        let abs = (p - q).abs();
        let abs = if abs.is_nan() { f64::INFINITY } else { abs };
        d.max_abs = d.max_abs.max(abs);
        if p.abs() > 0.0 {
            d.max_rel = d.max_rel.max(abs / p.abs());
        }
        within &= abs <= tol.atol + tol.rtol * p.abs();
    }
    Some((d, within))
}

/// One output compared.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputComparison {
    pub name: String,
    pub difference: Option<Difference>,
    pub within: bool,
}

/// The result of running two models on the same inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub outputs: Vec<OutputComparison>,
    /// The first intermediate tensor (in the first model's execution order) that both models
    /// compute under the same name and that differs beyond tolerance, with its difference.
    pub first_divergence: Option<(String, Difference)>,
}

impl Comparison {
    pub fn within(&self) -> bool {
        self.outputs.iter().all(|o| o.within)
    }
}

/// Runs both models on `inputs` and compares their outputs by name (an output missing from `b`
/// or of another shape counts as a difference).
pub fn compare(
    a: &Model,
    b: &Model,
    inputs: &[(String, Tensor)],
    tol: &Tolerance,
) -> Result<Comparison, String> {
    let run = |m: &Model| {
        let feeds: Vec<(String, Tensor)> = inputs
            .iter()
            .filter(|(n, _)| {
                m.graph
                    .inputs()
                    .iter()
                    .any(|&i| m.graph.node(i).outputs[0].name == *n)
            })
            .cloned()
            .collect();
        eval::run_all_with(&m.graph, &feeds, &eval::Options::for_model(m))
            .map_err(|e| e.to_string())
    };
    let (ra, rb) = (run(a)?, run(b)?);
    fn find<'a>(r: &'a [(String, Tensor)], n: &str) -> Option<&'a Tensor> {
        r.iter().find(|(k, _)| k == n).map(|(_, t)| t)
    }
    let output_names = |m: &Model| -> Vec<String> {
        m.graph
            .outputs()
            .iter()
            .map(|o| m.graph.value(o.value).name.clone())
            .collect()
    };
    let mut outputs = Vec::new();
    for name in output_names(a) {
        // An output may be a graph input passed straight through.
        let a_value = find(&ra, &name).or_else(|| find(inputs, &name));
        let pair = a_value.zip(find(&rb, &name).or_else(|| find(inputs, &name)));
        let (difference, within) = match pair.and_then(|(x, y)| difference(x, y, tol)) {
            Some((d, w)) => (Some(d), w),
            None => (None, false),
        };
        outputs.push(OutputComparison {
            name,
            difference,
            within,
        });
    }
    let first_divergence = ra.iter().find_map(|(name, x)| {
        let y = find(&rb, name)?;
        match difference(x, y, tol) {
            Some((d, false)) => Some((name.clone(), d)),
            _ => None,
        }
    });
    Ok(Comparison {
        outputs,
        first_divergence,
    })
}
