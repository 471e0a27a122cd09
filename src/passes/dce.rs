//! `dce`: removes op nodes whose values nobody uses, and initializers nobody reads.
//!
//! ```text
//! before:  %1 = Relu(%0)        # used by nothing, not an output
//!          %2 = Sigmoid(%0)     # graph output
//! after:   %2 = Sigmoid(%0)
//! ```
//! One sweep in reverse topological order: a node's users are all visited before it, so the
//! removal of a dead user is seen when its producer's turn comes. Graph inputs are the model's
//! signature and are never removed. Preconditions: none.

use crate::ir::{Graph, NodeKind};
use crate::pass::{Changed, Pass, PassCx};

pub struct Dce;

impl Pass for Dce {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn summary(&self) -> &'static str {
        "remove nodes whose outputs nobody uses, and unused initializers"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, _cx: &mut PassCx) -> Result<Changed, String> {
        let order = g
            .topo_order()
            .map_err(|c| format!("cycle through '{}'", c.node))?;
        let mut changed = false;
        for id in order.into_iter().rev() {
            let removable = match &g.node(id).kind {
                NodeKind::Input(_) => false,
                NodeKind::Op(_) | NodeKind::Initializer(_) | NodeKind::SparseInitializer(_) => true,
            };
            if removable && !g.values_of(id).any(|v| g.is_used(v)) {
                g.remove_node(id);
                changed = true;
            }
        }
        Ok(Changed::from(changed))
    }
}
