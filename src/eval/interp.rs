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

#[cfg(test)]
mod tests {
    use crate::eval::{self, Options, Tensor};
    use crate::ir::attrs::{int, ints};
    use crate::ir::{DType, Graph, GraphInput, NodeKind, OpNode, TensorType, Value, ValueId};
    use crate::proto;

    /// A graph of one node named `name` reading graph inputs `x0, x1, …` (typed like the given
    /// tensors) and producing `y`.
    fn one_node(
        op_type: &str,
        domain: &str,
        name: &str,
        attrs: Vec<proto::AttributeProto>,
        inputs: &[&Tensor],
    ) -> Graph {
        let mut g = Graph::new();
        let mut args = Vec::new();
        for (i, t) in inputs.iter().enumerate() {
            let ty = TensorType::new(
                t.dtype(),
                crate::ir::types::static_shape(
                    &t.shape().iter().map(|&d| d as i64).collect::<Vec<_>>(),
                ),
            );
            let info = proto::ValueInfoProto {
                name: Some(format!("x{i}")),
                r#type: Some(ty.to_proto()),
                ..Default::default()
            };
            let n = g.add_node(
                NodeKind::Input(Box::new(GraphInput {
                    info,
                    default: None,
                })),
                vec![Value::typed(format!("x{i}"), ty)],
            );
            args.push(Some(ValueId { node: n, slot: 0 }));
        }
        let node = proto::NodeProto {
            name: Some(name.into()),
            op_type: Some(op_type.into()),
            domain: Some(domain.into()),
            attribute: attrs,
            ..Default::default()
        };
        let op = g.add_op(OpNode::new(node, 0), &args, vec![Value::new("y")]);
        let out = proto::ValueInfoProto {
            name: Some("y".into()),
            ..Default::default()
        };
        g.add_output(ValueId { node: op, slot: 0 }, out);
        g
    }

    fn run(g: &Graph, inputs: &[&Tensor], opset: i64) -> Result<Tensor, eval::EvalError> {
        let named: Vec<(String, Tensor)> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("x{i}"), (*t).clone()))
            .collect();
        let mut out = eval::run_with(g, &named, &Options { onnx_opset: opset })?;
        Ok(out.remove(0).1)
    }

    #[test]
    fn errors_name_the_node_and_the_reason() {
        let x = Tensor::zeros(DType::F32, vec![1, 4, 3, 3]).unwrap();
        let g = one_node("Foo", "bar", "y", vec![], &[&x]);
        let err = run(&g, &[&x], 17).unwrap_err();
        assert_eq!(
            err.to_string(),
            "node 'y': op 'Foo' (domain 'bar') is not supported by the evaluator"
        );
        assert_eq!(err.kind, eval::ErrorKind::Unsupported);

        let w = Tensor::zeros(DType::F32, vec![4, 1, 1, 1]).unwrap();
        let g = one_node("Conv", "", "x", vec![int("group", 3)], &[&x, &w]);
        let err = run(&g, &[&x, &w], 17).unwrap_err();
        assert_eq!(
            err.to_string(),
            "node 'x': Conv with group=3 and 4 input channels, 4 output channels"
        );
        assert_eq!(err.kind, eval::ErrorKind::Invalid);

        let data = Tensor::from_vec(vec![3], vec![1f32, 2.0, 3.0]).unwrap();
        let idx = Tensor::from_vec(vec![1], vec![5i64]).unwrap();
        let g = one_node("Gather", "", "", vec![], &[&data, &idx]);
        let err = run(&g, &[&data, &idx], 17).unwrap_err();
        // A node without a name is named by its first output.
        assert_eq!(
            err.to_string(),
            "node 'y': index 5 is out of range for a dimension of size 3"
        );
    }

    #[test]
    fn absurd_sizes_are_errors() {
        let shape = Tensor::from_vec(vec![3], vec![1i64 << 20, 1 << 20, 1 << 20]).unwrap();
        let g = one_node("ConstantOfShape", "", "c", vec![], &[&shape]);
        let err = run(&g, &[&shape], 17).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        let x = Tensor::scalar(1f32);
        let big = Tensor::from_vec(vec![2], vec![1i64 << 40, 1 << 40]).unwrap();
        let g = one_node("Expand", "", "e", vec![], &[&x, &big]);
        assert!(run(&g, &[&x, &big], 17).is_err());
    }

    #[test]
    fn softmax_before_opset_13_normalises_the_flattened_tail() {
        let x = Tensor::from_vec(vec![1, 2, 2], vec![0f32, 0.0, 0.0, 0.0]).unwrap();
        let g = one_node("Softmax", "", "s", vec![int("axis", 1)], &[&x]);
        let legacy = run(&g, &[&x], 11).unwrap();
        assert_eq!(legacy.as_slice::<f32>().unwrap(), &[0.25; 4]);
        let modern = run(&g, &[&x], 13).unwrap();
        assert_eq!(modern.as_slice::<f32>().unwrap(), &[0.5; 4]);
    }

    #[test]
    fn run_all_reports_intermediate_values_in_order() {
        let x = Tensor::from_vec(vec![2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
        let mut g = one_node("Transpose", "", "t", vec![ints("perm", &[1, 0])], &[&x]);
        // y → Neg → z, and z becomes the only output.
        let y = g.outputs()[0].value;
        let neg = proto::NodeProto {
            op_type: Some("Neg".into()),
            ..Default::default()
        };
        let n = g.add_op(OpNode::new(neg, 0), &[Some(y)], vec![Value::new("z")]);
        g.outputs_mut()[0] = crate::ir::GraphOutput {
            value: ValueId { node: n, slot: 0 },
            info: proto::ValueInfoProto {
                name: Some("z".into()),
                ..Default::default()
            },
        };
        let inputs = [("x0".to_string(), x)];
        let all = eval::run_all(&g, &inputs).unwrap();
        let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["y", "z"]);
        assert_eq!(
            all[1].1.as_slice::<i32>().unwrap(),
            &[-1, -4, -2, -5, -3, -6]
        );
        let out = eval::run(&g, &inputs).unwrap();
        assert_eq!(out, vec![all[1].clone()]);
    }
}
