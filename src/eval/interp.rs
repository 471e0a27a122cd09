//! The graph walker: topological order, input checks, kernel calls, and releasing each tensor
//! after its last consumer ran.

use std::collections::{HashMap, HashSet};

use super::error::{EvalError, Fail};
use super::ops;
use super::tensor::Tensor;
use super::Options;
use crate::ir::{op, Graph, NodeId, NodeKind, TensorType, ValueId};

/// What an evaluation produced.
pub(super) struct Evaluated {
    /// The graph outputs, in order.
    pub outputs: Vec<(String, Tensor)>,
    /// Every named value a node computed, in execution order (only when asked for).
    pub computed: Vec<(String, Tensor)>,
}

pub(super) fn evaluate(
    g: &Graph,
    inputs: &[(String, Tensor)],
    options: &Options,
    keep_all: bool,
) -> Result<Evaluated, EvalError> {
    let order = g
        .topo_order()
        .map_err(|c| Fail::invalid("the graph has a cycle").at(c.node))?;
    let given = given_inputs(g, inputs)?;

    // Remaining uses of each value; graph outputs are pinned until the end.
    let mut uses: HashMap<ValueId, usize> = HashMap::new();
    for &n in &order {
        for v in g.inputs_of(n).into_iter().flatten() {
            *uses.entry(v).or_default() += 1;
        }
    }
    let pinned: HashSet<ValueId> = g.outputs().iter().map(|o| o.value).collect();

    let mut values: HashMap<ValueId, Tensor> = HashMap::new();
    let mut computed = Vec::new();
    for n in order {
        let node = g.node(n);
        let value = ValueId { node: n, slot: 0 };
        let needed = pinned.contains(&value) || uses.get(&value).is_some_and(|&n| n > 0);
        match &node.kind {
            NodeKind::Input(input) => {
                let name = input.info.name();
                let t = match (given.get(name), &input.default) {
                    (Some(t), _) => (*t).clone(),
                    (None, Some(init)) => Tensor::from_initializer(init, &g.pool).map_err(|e| {
                        e.context(&format!("default of graph input '{name}'"))
                            .at("")
                    })?,
                    (None, None) => {
                        return Err(
                            Fail::invalid(format!("graph input '{name}' was not given")).at("")
                        )
                    }
                };
                if let Some(ty) = &g.value(value).ty {
                    check_declared(name, ty, &t)?;
                }
                values.insert(value, t);
            }
            NodeKind::Initializer(init) if needed => {
                let t = Tensor::from_initializer(init, &g.pool)
                    .map_err(|e| e.at(node.display_name()))?;
                values.insert(value, t);
            }
            NodeKind::SparseInitializer(_) if needed => {
                return Err(Fail::unsupported(
                    "sparse initializers are not supported by the evaluator",
                )
                .at(node.display_name()))
            }
            NodeKind::Initializer(_) | NodeKind::SparseInitializer(_) => {}
            NodeKind::Op(op_node) => {
                let slots = g.inputs_of(n);
                let args: Vec<Option<&Tensor>> = slots
                    .iter()
                    .map(|v| v.and_then(|v| values.get(&v)))
                    .collect();
                let opset = if op::is_onnx_domain(op_node.domain()) {
                    options.onnx_opset
                } else {
                    1
                };
                let results = ops::run_node(op_node, &args, opset, node.outputs.len())
                    .map_err(|e| e.at(node.display_name()))?;
                release_inputs(&slots, &mut uses, &pinned, &mut values, keep_all);
                store_outputs(g, n, results, &mut values, &mut computed, keep_all)?;
            }
        }
    }

    let outputs = g
        .outputs()
        .iter()
        .map(|o| {
            let t = values.get(&o.value).cloned().ok_or_else(|| {
                Fail::invalid(format!("graph output '{}' was not computed", o.info.name())).at("")
            })?;
            Ok((o.info.name().to_string(), t))
        })
        .collect::<Result<_, EvalError>>()?;
    Ok(Evaluated { outputs, computed })
}

/// The given inputs by name; names that are no graph input are an error (a typo must not
/// silently run the graph on its defaults).
fn given_inputs<'a>(
    g: &Graph,
    inputs: &'a [(String, Tensor)],
) -> Result<HashMap<&'a str, &'a Tensor>, EvalError> {
    let names: Vec<&str> = g
        .inputs()
        .iter()
        .filter_map(|&n| match &g.node(n).kind {
            NodeKind::Input(i) => Some(i.info.name()),
            _ => None,
        })
        .collect();
    let mut given = HashMap::new();
    for (name, t) in inputs {
        if !names.contains(&name.as_str()) {
            return Err(Fail::invalid(format!(
                "'{name}' is not an input of the graph (its inputs: {})",
                names.join(", ")
            ))
            .at(""));
        }
        if given.insert(name.as_str(), t).is_some() {
            return Err(Fail::invalid(format!("graph input '{name}' was given twice")).at(""));
        }
    }
    Ok(given)
}

/// A given input must have the declared element type and every declared static dimension.
fn check_declared(name: &str, ty: &TensorType, t: &Tensor) -> Result<(), EvalError> {
    let fail = |what: String| Err(Fail::invalid(format!("graph input '{name}': {what}")).at(""));
    if ty.dtype != t.dtype() {
        return fail(format!("expected {}, got {}", ty.dtype, t.dtype()));
    }
    if let Some(shape) = &ty.shape {
        let fits = shape.len() == t.rank()
            && shape
                .iter()
                .zip(t.shape())
                .all(|(d, &n)| d.known().is_none_or(|k| k == n as i64));
        if !fits {
            return fail(format!("expected shape {ty}, got {:?}", t.shape()));
        }
    }
    Ok(())
}

fn release_inputs(
    slots: &[Option<ValueId>],
    uses: &mut HashMap<ValueId, usize>,
    pinned: &HashSet<ValueId>,
    values: &mut HashMap<ValueId, Tensor>,
    keep_all: bool,
) {
    for v in slots.iter().flatten() {
        if let Some(n) = uses.get_mut(v) {
            *n -= 1;
            if *n == 0 && !pinned.contains(v) && !keep_all {
                values.remove(v);
            }
        }
    }
}

fn store_outputs(
    g: &Graph,
    n: NodeId,
    results: Vec<Tensor>,
    values: &mut HashMap<ValueId, Tensor>,
    computed: &mut Vec<(String, Tensor)>,
    keep_all: bool,
) -> Result<(), EvalError> {
    let node = g.node(n);
    let produced = results.len();
    let mut results = results.into_iter();
    for (slot, value) in node.outputs.iter().enumerate() {
        let id = ValueId {
            node: n,
            slot: slot as u32,
        };
        match results.next() {
            Some(t) if !value.name.is_empty() => {
                if keep_all {
                    computed.push((value.name.clone(), t.clone()));
                }
                values.insert(id, t);
            }
            Some(_) => {}
            None if value.name.is_empty() => {}
            None => {
                return Err(Fail::unsupported(format!(
                    "output '{}' is not computed by the evaluator (it computes {produced})",
                    value.name
                ))
                .at(node.display_name()))
            }
        }
    }
    Ok(())
}
