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

use crate::ir::rewire::bypass;
use crate::ir::{Graph, Op, ValueId};
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
            match bypass(g, src, out) {
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
