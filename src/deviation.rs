//! Deviation of a function-changing pass: how far the graph's outputs move across it.
//!
//! A pass whose `exact()` is false (an activation replacement, a block rewrite) changes what the
//! model computes; the user must fine-tune or retrain it, and needs the size of the change to
//! judge the cost. The [`crate::pass::PassManager`] takes a [`Probe`] before such a pass (random
//! inputs from a seed and the outputs the evaluator computes for them) and compares the outputs
//! after it with [`crate::compare::difference`] — the same inputs (`compare::random_inputs`), the
//! same evaluator and the same comparison as `npuopt verify IN OUT --seed SEED`, so both print the
//! same figures when the other passes of the run are exact.

use serde::Serialize;

use crate::compare::{self, Difference, Tolerance};
use crate::eval::{self, Tensor};
use crate::ir::Model;

/// How far one pass moved the model's outputs on the inputs of `seed` (the JSON report's
/// `deviations` entries).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deviation {
    pub pass: &'static str,
    pub seed: u64,
    /// Per graph output (in the order of the graph before the pass); empty when `failure` says
    /// why nothing could be measured.
    pub outputs: Vec<OutputDeviation>,
    /// Why the measurement failed (an input of unknown type, an op the evaluator lacks).
    pub failure: Option<String>,
}

/// One output's difference; `None` when the output vanished or changed shape.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputDeviation {
    pub name: String,
    pub difference: Option<Difference>,
}

/// `{name, max_abs, max_rel, lsb}`: the figures are null when the output vanished or changed
/// shape; `lsb` is null for float outputs.
impl Serialize for OutputDeviation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            name: &'a str,
            max_abs: Option<f64>,
            max_rel: Option<f64>,
            lsb: Option<i64>,
        }
        let d = self.difference.as_ref();
        Json {
            name: &self.name,
            max_abs: d.map(|x| x.max_abs),
            max_rel: d.map(|x| x.max_rel),
            lsb: d.and_then(|x| x.lsb),
        }
        .serialize(s)
    }
}

/// Named tensors: a model's inputs or outputs.
type Named = Vec<(String, Tensor)>;

/// The model's outputs before a pass, on inputs drawn from a seed.
pub struct Probe {
    seed: u64,
    /// The inputs and the outputs before the pass, or why they could not be computed.
    state: Result<(Named, Named), String>,
}

impl Probe {
    /// Draws the inputs and evaluates the model as it is now.
    pub fn before(model: &Model, seed: u64) -> Probe {
        let state = compare::random_inputs(&model.graph, seed).and_then(|inputs| {
            let outputs = evaluate(model, &inputs)?;
            Ok((inputs, outputs))
        });
        Probe { seed, state }
    }

    /// Evaluates the model after the pass on the same inputs and compares the outputs by name.
    pub fn after(&self, pass: &'static str, model: &Model) -> Deviation {
        let measured = self.state.clone().and_then(|(inputs, before)| {
            let after = evaluate(model, &inputs)?;
            Ok(before
                .iter()
                .map(|(name, b)| OutputDeviation {
                    name: name.clone(),
                    difference: after
                        .iter()
                        .find(|(n, _)| n == name)
                        .and_then(|(_, a)| compare::difference(b, a, &Tolerance::default()))
                        .map(|(d, _)| d),
                })
                .collect())
        });
        let (outputs, failure) = match measured {
            Ok(outputs) => (outputs, None),
            Err(reason) => (Vec::new(), Some(reason)),
        };
        Deviation {
            pass,
            seed: self.seed,
            outputs,
            failure,
        }
    }
}

/// The graph outputs, by name (an output that is a graph input passes the input through).
fn evaluate(model: &Model, inputs: &[(String, Tensor)]) -> Result<Named, String> {
    let computed = eval::run_with(&model.graph, inputs, &eval::Options::for_model(model))
        .map_err(|e| format!("evaluation failed: {e}"))?;
    let g = &model.graph;
    Ok(g.outputs()
        .iter()
        .filter_map(|o| {
            let name = &g.value(o.value).name;
            computed
                .iter()
                .chain(inputs)
                .find(|(n, _)| n == name)
                .cloned()
        })
        .collect())
}

/// One output's figures as `npuopt verify` prints them: `max abs A  max rel R` for floats,
/// `max N LSB` for integers.
pub fn describe(d: &OutputDeviation) -> String {
    match &d.difference {
        Some(Difference { lsb: Some(lsb), .. }) => format!("max {lsb} LSB"),
        Some(d) => format!("max abs {:.3e}  max rel {:.3e}", d.max_abs, d.max_rel),
        None => "missing or of another shape after the pass".into(),
    }
}
