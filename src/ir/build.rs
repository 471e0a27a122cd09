//! What passes need to add nodes: value names no other value has, and constant initializers.

use std::collections::HashSet;

use bytes::Bytes;

use super::graph::{Graph, NodeKind, Value, ValueId};
use super::tensors::Initializer;
use super::types::DType;

/// Hands out names not yet used in a graph, for values (ONNX names are graph-global) and for
/// new nodes (kept distinct from both, so a node named after a value never looks like a twin).
pub struct Namer {
    used: HashSet<String>,
}

impl Namer {
    /// A namer that knows every value name and node name of `g`.
    pub fn for_graph(g: &Graph) -> Namer {
        let mut used = HashSet::new();
        for n in g.nodes() {
            let node = g.node(n);
            used.extend(node.outputs.iter().map(|v| v.name.clone()));
            if let Some(op) = node.as_op() {
                used.insert(op.name().to_string());
            }
        }
        Namer { used }
    }

    /// `base`, or `base_1`, `base_2`, … — the first one no value has; it is taken from now on.
    pub fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.used.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.used.insert(name.clone());
        name
    }
}

/// Adds a constant initializer named `name` holding `bytes` (little-endian) and returns its value.
pub fn add_const(
    g: &mut Graph,
    name: String,
    dtype: DType,
    dims: &[i64],
    bytes: Vec<u8>,
) -> ValueId {
    let data = g.pool.intern(Bytes::from(bytes));
    let init = Initializer::raw(&name, dtype, dims, data);
    let ty = init.ty();
    let node = g.add_node(NodeKind::Initializer(init), vec![Value::typed(name, ty)]);
    ValueId { node, slot: 0 }
}
