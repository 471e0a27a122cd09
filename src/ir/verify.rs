//! The IR's invariants, checked after every pass in tests and debug builds.
//!
//! 1. Every edge comes from an existing output slot of its producer.
//! 2. An op input slot has at most one edge, and its number is below the op's arity.
//! 3. Inputs, initializers and sparse initializers have no incoming edges and exactly one value.
//! 4. The graph's input and initializer lists hold exactly the nodes of those kinds.
//! 5. Every graph output names an existing value.
//! 6. Value names are unique, except `""` (an unused optional output).
//! 7. The graph is acyclic.
//!
//! Each violation is reported with the node's name, so a failure points into the printed IR.

use std::collections::HashSet;

use super::graph::{Graph, NodeKind, Port};

/// Checks every invariant; returns all violations found (empty = valid).
pub fn verify(g: &Graph) -> Vec<String> {
    let mut errors = Vec::new();
    let mut names = HashSet::new();
    for id in g.nodes() {
        let node = g.node(id);
        let who = node.display_name();
        let mut slots_seen = HashSet::new();
        for (src, port) in g.incoming(id) {
            if !g.contains(src.node) || src.slot as usize >= g.node(src.node).outputs.len() {
                errors.push(format!(
                    "node '{who}': an edge comes from a value that does not exist"
                ));
            }
            match (port, node.as_op()) {
                (Port::Input(slot), Some(op)) => {
                    if slot >= op.arity {
                        errors.push(format!(
                            "node '{who}': input slot {slot} beyond arity {}",
                            op.arity
                        ));
                    }
                    if !slots_seen.insert(slot) {
                        errors.push(format!("node '{who}': input slot {slot} has two edges"));
                    }
                }
                (_, None) => errors.push(format!(
                    "node '{who}': a graph input or initializer has an input edge"
                )),
                (Port::Capture, Some(_)) => {}
            }
        }
        let listed_input = g.inputs().contains(&id);
        let listed_init = g.initializers().contains(&id);
        let (is_input, is_init) = match &node.kind {
            NodeKind::Input(i) => (true, i.default.is_some()),
            NodeKind::Initializer(_) | NodeKind::SparseInitializer(_) => (false, true),
            NodeKind::Op(_) => (false, false),
        };
        if is_input != listed_input || is_init != listed_init {
            errors.push(format!(
                "node '{who}': graph input/initializer lists disagree with the node's kind"
            ));
        }
        if node.as_op().is_none() && node.outputs.len() != 1 {
            errors.push(format!(
                "node '{who}': a graph input or initializer must have exactly one value"
            ));
        }
        for v in &node.outputs {
            if !v.name.is_empty() && !names.insert(v.name.clone()) {
                errors.push(format!("value '{}' is defined twice", v.name));
            }
        }
    }
    for o in g.outputs() {
        if !g.contains(o.value.node) || o.value.slot as usize >= g.node(o.value.node).outputs.len()
        {
            errors.push(format!("graph output '{}' names no value", o.info.name()));
        }
    }
    if let Err(cycle) = g.topo_order() {
        errors.push(format!("node '{}' is on a cycle", cycle.node));
    }
    errors
}
