//! The text IR: one op per line, the snapshot medium and the language of pass cases.

/// Prints a graph as text IR.
pub fn print_graph(g: &crate::ir::Graph) -> String {
    let mut out = String::new();
    if let Ok(order) = g.topo_order() {
        for id in order {
            let n = g.node(id);
            out.push_str(&format!("{} = {:?}\n", n.display_name(), n.op()));
        }
    }
    out
}
