//! Bypassing a value: the one way every pass removes a node that forwards a value unchanged.

use super::graph::{Graph, NodeKind, Port, ValueId};

/// Makes everything that reads `out` read `src` instead, so the node producing `out` can go.
///
/// A graph output's name is part of the model's signature: when `out` is a graph output, `src`
/// takes its name (and type, when `src` has none) — possible only when `src` is neither a graph
/// input nor a graph output itself. Values read by name from a subgraph cannot be renamed or
/// replaced. `Err` says which of these blocked the bypass; nothing changes then.
pub fn bypass(g: &mut Graph, src: ValueId, out: ValueId) -> Result<(), &'static str> {
    if g.uses(out).iter().any(|(_, p)| *p == Port::Capture) {
        return Err("a subgraph reads the value by name");
    }
    if !g.is_output(out) {
        return if g.replace_uses(out, src) {
            Ok(())
        } else {
            Err("a subgraph reads the value by name")
        };
    }
    if matches!(g.node(src.node).kind, NodeKind::Input(_)) {
        return Err("it would forward a graph input to a graph output; both names are the model's signature");
    }
    if g.is_output(src) {
        return Err("its input is a graph output too; both names are the model's signature");
    }
    if g.uses(src).iter().any(|(_, p)| *p == Port::Capture) {
        return Err("a subgraph reads the input by name, so it cannot take the output's name");
    }
    let taken = g.value(out).clone();
    if !g.replace_uses(out, src) {
        return Err("a subgraph reads the value by name");
    }
    g.value_mut(out).name.clear();
    let value = g.value_mut(src);
    value.name = taken.name;
    value.info = None;
    if value.ty.is_none() {
        value.ty = taken.ty;
    }
    Ok(())
}
