//! `dedup-initializers`: initializers with equal type, shape and bytes become one.
//!
//! ```text
//! before:  %w1 = const f32[4] #3f9a1c2e
//!          %w2 = const f32[4] #3f9a1c2e
//!          %1 = Add(%0, %w1)
//!          %2 = Mul(%1, %w2)
//! after:   %w1 = const f32[4] #3f9a1c2e
//!          %1 = Add(%0, %w1)
//!          %2 = Mul(%1, %w1)
//! ```
//! The first in declaration order is kept. A duplicate that is a graph output or is read by name
//! from a subgraph keeps its identity. Inputs with default values are not constants and are never
//! merged. The removed duplicates are left for `dce`. Preconditions: none.

use std::collections::HashMap;

use crate::ir::{DType, Graph, NodeKind, Port, ValueId};
use crate::pass::{Changed, Pass, PassCx};

pub struct DedupInitializers;

impl Pass for DedupInitializers {
    fn name(&self) -> &'static str {
        "dedup-initializers"
    }

    fn summary(&self) -> &'static str {
        "merge initializers with identical type, shape and bytes"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, _cx: &mut PassCx) -> Result<Changed, String> {
        let mut first: HashMap<(DType, Vec<i64>, bytes::Bytes), ValueId> = HashMap::new();
        let mut changed = false;
        for id in g.initializers().to_vec() {
            let NodeKind::Initializer(init) = &g.node(id).kind else {
                continue;
            };
            let Ok(data) = init.le_bytes(&g.pool) else {
                continue;
            };
            let key = (init.dtype(), init.dims().to_vec(), data);
            let value = ValueId { node: id, slot: 0 };
            match first.get(&key) {
                None => {
                    first.insert(key, value);
                }
                Some(&kept) => {
                    let pinned = g.is_output(value)
                        || g.uses(value).iter().any(|(_, p)| *p == Port::Capture);
                    if !pinned && g.is_used(value) {
                        changed |= g.replace_uses(value, kept);
                    }
                }
            }
        }
        Ok(Changed::from(changed))
    }
}
