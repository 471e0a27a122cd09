//! Model-local functions, inlined so the evaluator can run a model that calls them (such as the
//! `--emit functions` output): every call is replaced by its function's body, wired to the call's
//! inputs, and the body's results take over the call's output values and names.
//!
//! Body values get the call node's name as a prefix (`<call>/<name>`), so two calls of one
//! function never clash. Calls inside bodies are inlined in turn. Not supported, and refused
//! with a message: attribute parameters (`ref_attr_name`), and bodies whose nodes hold subgraphs.

use std::collections::{HashMap, HashSet};

use crate::ir::{Graph, Model, NodeId, OpNode, Value, ValueId};
use crate::proto;

/// Functions nested deeper than this are refused (ONNX forbids recursion; this stops a model
/// that tries).
const MAX_DEPTH: usize = 64;

/// Inlines every call of a model-local function in `model.graph`; returns the number of calls
/// inlined. The model's `functions` list is left as it is.
pub fn inline_functions(model: &mut Model) -> Result<usize, String> {
    let functions: HashMap<(&str, &str, &str), &proto::FunctionProto> = model
        .shell
        .functions
        .iter()
        .map(|f| ((f.domain(), f.name(), f.overload()), f))
        .collect();
    let g = &mut model.graph;
    let mut inlined = 0;
    for _ in 0..MAX_DEPTH {
        let calls: Vec<(NodeId, &proto::FunctionProto)> = g
            .nodes()
            .into_iter()
            .filter_map(|id| {
                let op = g.node(id).as_op()?;
                let p = op.proto();
                let f = functions.get(&(op.domain(), op.op_type(), p.overload()))?;
                Some((id, *f))
            })
            .collect();
        if calls.is_empty() {
            return Ok(inlined);
        }
        for (call, f) in calls {
            inline_call(g, call, f)?;
            inlined += 1;
        }
    }
    Err(format!(
        "model-local functions call each other more than {MAX_DEPTH} levels deep"
    ))
}

fn inline_call(g: &mut Graph, call: NodeId, f: &proto::FunctionProto) -> Result<(), String> {
    let call_name = g.node(call).display_name();
    let fname = format!("{}.{}", f.domain(), f.name());
    let mut scope: HashMap<&str, Option<ValueId>> = HashMap::new();
    let actual = g.inputs_of(call);
    for (i, formal) in f.input.iter().enumerate() {
        scope.insert(formal, actual.get(i).copied().flatten());
    }
    let mut created: HashSet<ValueId> = HashSet::new();
    for np in &f.node {
        let who = || format!("function {fname}, node '{}'", np.name());
        if let Some(a) = np.attribute.iter().find(|a| !a.ref_attr_name().is_empty()) {
            return Err(format!(
                "{}: attribute '{}' refers to a function attribute, which is not supported",
                who(),
                a.name()
            ));
        }
        if np
            .attribute
            .iter()
            .any(|a| a.g.is_some() || !a.graphs.is_empty())
        {
            return Err(format!(
                "{}: subgraphs in function bodies are not supported",
                who()
            ));
        }
        let inputs = np
            .input
            .iter()
            .map(|name| {
                if name.is_empty() {
                    return Ok(None);
                }
                scope.get(name.as_str()).copied().ok_or_else(|| {
                    format!(
                        "{}: input '{name}' is neither a function input nor computed before it",
                        who()
                    )
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let outputs = np
            .output
            .iter()
            .map(|o| {
                Value::new(if o.is_empty() {
                    String::new()
                } else {
                    format!("{call_name}/{o}")
                })
            })
            .collect();
        let id = g.add_op(OpNode::new(np.clone(), 0), &inputs, outputs);
        for (slot, o) in np.output.iter().enumerate() {
            let v = ValueId {
                node: id,
                slot: slot as u32,
            };
            created.insert(v);
            if !o.is_empty() {
                scope.insert(o, Some(v));
            }
        }
    }
    for (slot, formal) in f.output.iter().enumerate() {
        let old = ValueId {
            node: call,
            slot: slot as u32,
        };
        let Some(Some(new)) = scope.get(formal.as_str()).copied() else {
            return Err(format!(
                "function {fname}: output '{formal}' is computed by no node"
            ));
        };
        if !g.replace_uses(old, new) {
            return Err(format!(
                "call '{call_name}': a subgraph reads its output '{}' by name",
                g.value(old).name
            ));
        }
        // The body's result takes the call output's name, unless it is a value from outside.
        if created.contains(&new) {
            *g.value_mut(new) = g.value(old).clone();
        }
    }
    g.remove_node(call);
    Ok(())
}
