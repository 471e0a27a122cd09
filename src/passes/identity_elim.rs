//! `identity-elim`: removes `Identity` nodes by wiring their users to the input.
//!
//! ```text
//! before:  %1 = Identity(%0)
//!          %2 = Relu(%1)
//! after:   %2 = Relu(%0)
//! ```
//! When the Identity's value is a graph output, the output's name is part of the model's signature:
//! the input value takes that name instead, which is only possible when the input is not itself a
//! graph input or output and no subgraph reads it by name. Otherwise the node stays, with the reason
//! recorded. Preconditions: none.

use crate::ir::{Graph, NodeKind, Op, Port, ValueId};
use crate::pass::{Changed, Pass, PassCx};

pub struct IdentityElim;

impl Pass for IdentityElim {
    fn name(&self) -> &'static str {
        "identity-elim"
    }

    fn summary(&self) -> &'static str {
        "remove Identity nodes, rewiring their users (graph output names are kept)"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        let order = g
            .op_order()
            .map_err(|c| format!("cycle through '{}'", c.node))?;
        let mut changed = false;
        for id in order {
            if g.node(id).op() != Some(Op::Identity) {
                continue;
            }
            let out = ValueId { node: id, slot: 0 };
            let Some(src) = g.input(id, 0) else { continue };
            let who = g.node(id).display_name();
            match eliminate(g, src, out) {
                Ok(()) => {
                    g.remove_node(id);
                    changed = true;
                }
                Err(reason) => cx.reject(&who, reason),
            }
        }
        Ok(Changed::from(changed))
    }
}

/// Makes the users of `out` read `src`; `Err` says why that is not possible.
fn eliminate(g: &mut Graph, src: ValueId, out: ValueId) -> Result<(), &'static str> {
    if g.uses(out).iter().any(|(_, p)| *p == Port::Capture) {
        return Err("a subgraph reads the Identity's output by name");
    }
    if !g.is_output(out) {
        return if g.replace_uses(out, src) {
            Ok(())
        } else {
            Err("a subgraph reads the Identity's output by name")
        };
    }
    if matches!(g.node(src.node).kind, NodeKind::Input(_)) {
        return Err(
            "it forwards a graph input to a graph output, both names are the model's signature",
        );
    }
    if g.is_output(src) {
        return Err("its input is a graph output too, both names are the model's signature");
    }
    if g.uses(src).iter().any(|(_, p)| *p == Port::Capture) {
        return Err(
            "a subgraph reads the Identity's input by name, so it cannot take the output's name",
        );
    }
    let name = g.value(out).name.clone();
    let ty = g.value(out).ty.clone();
    if !g.replace_uses(out, src) {
        return Err("a subgraph reads the Identity's output by name");
    }
    let value = g.value_mut(src);
    value.name = name;
    value.info = None;
    if value.ty.is_none() {
        value.ty = ty;
    }
    Ok(())
}
