//! Grouping NPU-placed nodes into as few convex regions as the graph allows.
//!
//! A region is convex when no path leaves it and comes back: then it can run as one NPU call whose
//! inputs are all ready before it starts. TVM merged regions only along producer→consumer edges,
//! so parallel branches and siblings stayed separate calls; here any two clusters merge — adjacent
//! or not — whenever their union stays convex.
//!
//! With `desc(C)` the nodes reachable from C and `anc(C)` those reaching C, a union U = A ∪ B is
//! convex iff `(desc(U) ∩ anc(U)) ⊆ U`. Convex regions can still need each other in a circle
//! (A feeds a CPU node feeding B, B feeds a CPU node feeding A), and then no order runs them as
//! separate calls; so a merge is also refused when another cluster V meets both `desc(U)` and
//! `anc(U)`. Every cycle of clusters through U passes such a V, so the clusters stay acyclic. Reachability is kept as bitsets over the topological
//! order (n²/8 bytes: 1 MB for 2,900 nodes), so each check is a few word operations per node.
//! Merging is greedy and deterministic: first along data edges in topological order, then
//! siblings and independent clusters in order of their first node, until nothing merges.

use std::collections::HashMap;

use crate::ir::{Graph, NodeId};

/// A fixed-size set of node positions.
#[derive(Clone, PartialEq, Eq)]
struct BitSet(Vec<u64>);

impl BitSet {
    fn new(n: usize) -> BitSet {
        BitSet(vec![0; n.div_ceil(64)])
    }
    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn union_with(&mut self, other: &BitSet) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
    fn intersects(&self, other: &BitSet) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }
    /// Is `(self ∩ other) ⊆ within`?
    fn meet_within(&self, other: &BitSet, within: &BitSet) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .zip(&within.0)
            .all(|((a, b), w)| a & b & !w == 0)
    }
}

struct Cluster {
    members: BitSet,
    desc: BitSet,
    anc: BitSet,
    first: usize,
}

/// NPU regions: each a list of op nodes in topological order, regions ordered by their first node.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Regions {
    pub regions: Vec<Vec<NodeId>>,
    pub region_of: HashMap<NodeId, usize>,
}

/// Groups the op nodes for which `on_npu` holds into maximal convex regions.
pub fn convex_regions(g: &Graph, on_npu: impl Fn(NodeId) -> bool) -> Result<Regions, String> {
    let order = g
        .op_order()
        .map_err(|c| format!("cycle through '{}'", c.node))?;
    let n = order.len();
    let pos: HashMap<NodeId, usize> = order.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let succs: Vec<Vec<usize>> = order
        .iter()
        .map(|&id| {
            g.successors(id)
                .into_iter()
                .filter_map(|s| pos.get(&s).copied())
                .collect()
        })
        .collect();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ss) in succs.iter().enumerate() {
        for &s in ss {
            preds[s].push(i);
        }
    }
    // Strict reachability per node.
    let mut desc = vec![BitSet::new(n); n];
    for i in (0..n).rev() {
        for &s in &succs[i] {
            let (lo, hi) = desc.split_at_mut(s);
            lo[i].insert(s);
            lo[i].union_with(&hi[0]);
        }
    }
    let mut anc = vec![BitSet::new(n); n];
    for (i, ps) in preds.iter().enumerate() {
        for &p in ps {
            let (lo, hi) = anc.split_at_mut(i);
            hi[0].insert(p);
            hi[0].union_with(&lo[p]);
        }
    }

    let npu: Vec<bool> = order.iter().map(|&id| on_npu(id)).collect();
    let mut clusters: Vec<Option<Cluster>> = Vec::new();
    let mut cluster_of: Vec<Option<usize>> = vec![None; n];
    for i in (0..n).filter(|&i| npu[i]) {
        let mut members = BitSet::new(n);
        members.insert(i);
        cluster_of[i] = Some(clusters.len());
        clusters.push(Some(Cluster {
            members,
            desc: desc[i].clone(),
            anc: anc[i].clone(),
            first: i,
        }));
    }

    let try_merge = |clusters: &mut Vec<Option<Cluster>>,
                     cluster_of: &mut Vec<Option<usize>>,
                     a: usize,
                     b: usize|
     -> bool {
        if a == b {
            return false;
        }
        let (Some(ca), Some(cb)) = (&clusters[a], &clusters[b]) else {
            return false;
        };
        let mut members = ca.members.clone();
        members.union_with(&cb.members);
        let mut d = ca.desc.clone();
        d.union_with(&cb.desc);
        let mut an = ca.anc.clone();
        an.union_with(&cb.anc);
        if !d.meet_within(&an, &members) {
            return false;
        }
        let circular = clusters.iter().enumerate().any(|(k, c)| {
            k != a
                && k != b
                && c.as_ref()
                    .is_some_and(|c| c.members.intersects(&d) && c.members.intersects(&an))
        });
        if circular {
            return false;
        }
        let (keep, gone) = if ca.first <= cb.first { (a, b) } else { (b, a) };
        let first = ca.first.min(cb.first);
        for c in cluster_of.iter_mut().filter(|c| **c == Some(gone)) {
            *c = Some(keep);
        }
        clusters[keep] = Some(Cluster {
            members,
            desc: d,
            anc: an,
            first,
        });
        clusters[gone] = None;
        true
    };

    // Along data edges first, in topological order.
    for i in 0..n {
        for &s in &succs[i] {
            if let (Some(a), Some(b)) = (cluster_of[i], cluster_of[s]) {
                try_merge(&mut clusters, &mut cluster_of, a, b);
            }
        }
    }
    // Then any pair, in order of first node, until a fixpoint.
    loop {
        let live: Vec<usize> = {
            let mut l: Vec<usize> = (0..clusters.len())
                .filter(|&c| clusters[c].is_some())
                .collect();
            l.sort_by_key(|&c| clusters[c].as_ref().map_or(usize::MAX, |c| c.first));
            l
        };
        let mut merged = false;
        'outer: for (k, &a) in live.iter().enumerate() {
            for &b in &live[k + 1..] {
                if try_merge(&mut clusters, &mut cluster_of, a, b) {
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            break;
        }
    }

    let mut live: Vec<&Cluster> = clusters.iter().flatten().collect();
    live.sort_by_key(|c| c.first);
    let mut out = Regions::default();
    for (r, c) in live.into_iter().enumerate() {
        let nodes: Vec<NodeId> = (0..n)
            .filter(|&i| c.members.contains(i))
            .map(|i| order[i])
            .collect();
        for &id in &nodes {
            out.region_of.insert(id, r);
        }
        out.regions.push(nodes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{NodeKind, OpNode, Value, ValueId};
    use crate::proto;

    /// Builds a graph of single-output ops named by their op type; `edges[k]` lists the inputs of
    /// node k (indices into the node list; `None` = the graph input).
    fn graph(ops: &[(&str, &[Option<usize>])]) -> (Graph, Vec<NodeId>) {
        let mut g = Graph::new();
        let x = g.add_node(NodeKind::Input(Box::default()), vec![Value::new("x")]);
        let mut ids: Vec<NodeId> = Vec::new();
        for (k, (op, inputs)) in ops.iter().enumerate() {
            let proto = proto::NodeProto {
                op_type: Some(op.to_string()),
                name: Some(format!("n{k}")),
                ..Default::default()
            };
            let ins: Vec<Option<ValueId>> = inputs
                .iter()
                .map(|i| {
                    Some(ValueId {
                        node: i.map_or(x, |i| ids[i]),
                        slot: 0,
                    })
                })
                .collect();
            ids.push(g.add_op(
                OpNode::new(proto, 0),
                &ins,
                vec![Value::new(format!("v{k}"))],
            ));
        }
        (g, ids)
    }

    fn regions(ops: &[(&str, &[Option<usize>])], cpu: &[usize]) -> Vec<Vec<usize>> {
        let (g, ids) = graph(ops);
        let r = convex_regions(&g, |id| !cpu.iter().any(|&c| ids[c] == id)).unwrap();
        r.regions
            .iter()
            .map(|nodes| {
                nodes
                    .iter()
                    .map(|n| ids.iter().position(|i| i == n).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_cpu_op_between_two_npu_ops_splits_the_chain() {
        let ops: &[(&str, &[Option<usize>])] =
            &[("Conv", &[None]), ("Exp", &[Some(0)]), ("Conv", &[Some(1)])];
        assert_eq!(regions(ops, &[1]), vec![vec![0], vec![2]]);
    }

    #[test]
    fn parallel_branches_merge_into_one_region() {
        // x -> a, x -> b (independent), both NPU: one region although no edge joins them.
        let ops: &[(&str, &[Option<usize>])] = &[
            ("Conv", &[None]),
            ("Conv", &[None]),
            ("Add", &[Some(0), Some(1)]),
        ];
        assert_eq!(regions(ops, &[2]), vec![vec![0, 1]]);
    }

    #[test]
    fn a_diamond_through_the_cpu_is_not_merged() {
        // 0 -> 1(cpu) -> 3, 0 -> 2 -> 3: {0, 2, 3} would contain a path leaving through 1.
        let ops: &[(&str, &[Option<usize>])] = &[
            ("Conv", &[None]),
            ("Exp", &[Some(0)]),
            ("Conv", &[Some(0)]),
            ("Add", &[Some(1), Some(2)]),
        ];
        let r = regions(ops, &[1]);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(
            r.iter().all(|reg| !(reg.contains(&0) && reg.contains(&3))),
            "{r:?}"
        );
    }

    #[test]
    fn regions_never_need_each_other_in_a_circle() {
        // a -> e and b -> f are NPU edges; a -> c -> f and b -> d -> e go through the CPU. The
        // regions {a, e} and {b, f} are each convex, but each would wait for the other.
        let ops: &[(&str, &[Option<usize>])] = &[
            ("Conv", &[None]),
            ("Conv", &[None]),
            ("Exp", &[Some(0)]),
            ("Exp", &[Some(1)]),
            ("Add", &[Some(0), Some(3)]),
            ("Add", &[Some(1), Some(2)]),
        ];
        assert_eq!(regions(ops, &[2, 3]), vec![vec![0, 4], vec![1], vec![5]]);
    }

    #[test]
    fn everything_on_the_npu_is_one_region() {
        let ops: &[(&str, &[Option<usize>])] = &[
            ("Conv", &[None]),
            ("Relu", &[Some(0)]),
            ("Conv", &[Some(1)]),
        ];
        assert_eq!(regions(ops, &[]), vec![vec![0, 1, 2]]);
    }
}
