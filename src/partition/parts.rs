//! The parts of a partitioned graph: each NPU region, and the CPU work around them grouped into
//! as few parts as the graph allows, listed in an order they can run in. The `functions` and
//! `split` emissions are both built from these.
//!
//! Every region is convex on its own (`regions`), but convex parts can still need each other in
//! a circle: region A feeds a CPU node that feeds region B, while B feeds a CPU node that feeds A.
//! What lets parts run one after another is that the graph of parts is acyclic, and that also
//! makes every part convex (a path leaving a part and coming back would be a cycle of parts). So
//! the CPU work is first cut into runs of one topological order of the graph with each region
//! contracted to a single node — a ready CPU node is always taken before a ready region, so runs
//! are long — and then any two CPU parts are merged whenever the graph of parts stays acyclic.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

use super::plan::Plan;
use crate::ir::{Graph, NodeId, NodeKind, ValueId};

/// Where a part runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// NPU region `region` of the plan.
    Npu {
        region: usize,
    },
    Cpu,
}

/// A set of op nodes that runs as one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub kind: PartKind,
    /// `npu<k>` for region k; `cpu<j>` for the j-th CPU part in run order.
    pub name: String,
    /// Op nodes, in topological order.
    pub nodes: Vec<NodeId>,
    /// Values read from other parts or from the graph's inputs, in order of first use.
    pub inputs: Vec<ValueId>,
    /// Initializers (dense or sparse) the part reads, in order of first use.
    pub constants: Vec<NodeId>,
    /// Values another part or the graph's outputs read, in topological order.
    pub outputs: Vec<ValueId>,
}

/// One node of the contracted graph: an NPU region, or a CPU op at a topological position.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Unit {
    Region(usize),
    Cpu(usize),
}

/// The parts of `g` under `plan` (computed on this graph), in run order.
pub fn parts(g: &Graph, plan: &Plan) -> Result<Vec<Part>, String> {
    let order = g
        .op_order()
        .map_err(|c| format!("cycle through '{}'", c.node))?;
    let pos: HashMap<NodeId, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let region_of: HashMap<NodeId, usize> = plan
        .nodes
        .iter()
        .filter_map(|n| Some((n.node, n.region?)))
        .collect();
    let unit_of = |id: NodeId| match region_of.get(&id) {
        Some(&r) => Unit::Region(r),
        None => Unit::Cpu(pos[&id]),
    };
    let mut region_nodes: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, &id) in order.iter().enumerate() {
        if let Some(&r) = region_of.get(&id) {
            region_nodes.entry(r).or_default().push(i);
        }
    }
    let edges: BTreeSet<(Unit, Unit)> = order
        .iter()
        .flat_map(|&id| {
            g.incoming(id)
                .into_iter()
                .filter(|(src, _)| pos.contains_key(&src.node))
                .map(move |(src, _)| (unit_of(src.node), unit_of(id)))
        })
        .filter(|(a, b)| a != b)
        .collect();

    let groups = contracted_runs(&order, &region_nodes, &region_of, &edges)?;
    let groups = merge_cpu_groups(groups, &order, unit_of, &edges);
    Ok(finish(g, &order, groups))
}

/// A group of topological positions: a region, or a run of CPU nodes.
#[derive(Debug)]
struct Group {
    region: Option<usize>,
    members: Vec<usize>,
}

/// Kahn's algorithm over the contracted graph, CPU nodes before regions; consecutive CPU nodes
/// form one group.
fn contracted_runs(
    order: &[NodeId],
    region_nodes: &HashMap<usize, Vec<usize>>,
    region_of: &HashMap<NodeId, usize>,
    edges: &BTreeSet<(Unit, Unit)>,
) -> Result<Vec<Group>, String> {
    let mut units: Vec<Unit> = region_nodes.keys().map(|&r| Unit::Region(r)).collect();
    units.extend(
        order
            .iter()
            .enumerate()
            .filter(|(_, id)| !region_of.contains_key(id))
            .map(|(i, _)| Unit::Cpu(i)),
    );
    let mut indegree: HashMap<Unit, usize> = units.iter().map(|&u| (u, 0)).collect();
    let mut succs: HashMap<Unit, Vec<Unit>> = HashMap::new();
    for &(a, b) in edges {
        *indegree.entry(b).or_default() += 1;
        succs.entry(a).or_default().push(b);
    }
    let mut ready_cpu = BinaryHeap::new();
    let mut ready_npu = BinaryHeap::new();
    let push = |u: Unit, cpu: &mut BinaryHeap<_>, npu: &mut BinaryHeap<_>| match u {
        Unit::Cpu(i) => cpu.push(Reverse(i)),
        Unit::Region(r) => npu.push(Reverse(r)),
    };
    for &u in units.iter().filter(|u| indegree[u] == 0) {
        push(u, &mut ready_cpu, &mut ready_npu);
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut done = 0;
    loop {
        let unit = if let Some(Reverse(i)) = ready_cpu.pop() {
            match groups.last_mut() {
                Some(g) if g.region.is_none() => g.members.push(i),
                _ => groups.push(Group {
                    region: None,
                    members: vec![i],
                }),
            }
            Unit::Cpu(i)
        } else if let Some(Reverse(r)) = ready_npu.pop() {
            groups.push(Group {
                region: Some(r),
                members: region_nodes[&r].clone(),
            });
            Unit::Region(r)
        } else {
            break;
        };
        done += 1;
        for &s in succs.get(&unit).map_or(&[][..], Vec::as_slice) {
            let d = indegree.entry(s).or_default();
            *d -= 1;
            if *d == 0 {
                push(s, &mut ready_cpu, &mut ready_npu);
            }
        }
    }
    if done < units.len() {
        let stuck: BTreeSet<usize> = units
            .iter()
            .filter_map(|u| match u {
                Unit::Region(r) if indegree[u] > 0 => Some(*r),
                _ => None,
            })
            .collect();
        return Err(format!(
            "NPU regions {stuck:?} depend on each other through CPU nodes, so they cannot run as separate calls"
        ));
    }
    Ok(groups)
}

/// Merges CPU groups pairwise, first ones first, while the graph of groups stays acyclic.
fn merge_cpu_groups(
    mut groups: Vec<Group>,
    order: &[NodeId],
    unit_of: impl Fn(NodeId) -> Unit,
    edges: &BTreeSet<(Unit, Unit)>,
) -> Vec<Group> {
    let mut group_of: HashMap<Unit, usize> = HashMap::new();
    for (k, gr) in groups.iter().enumerate() {
        for &i in &gr.members {
            group_of.insert(unit_of(order[i]), k);
        }
    }
    let mut links: HashSet<(usize, usize)> = edges
        .iter()
        .map(|(a, b)| (group_of[a], group_of[b]))
        .filter(|(a, b)| a != b)
        .collect();
    'again: loop {
        let cpu: Vec<usize> = (0..groups.len())
            .filter(|&k| groups[k].region.is_none() && !groups[k].members.is_empty())
            .collect();
        for (n, &a) in cpu.iter().enumerate() {
            for &b in &cpu[n + 1..] {
                let merged: HashSet<(usize, usize)> = links
                    .iter()
                    .map(|&(x, y)| (if x == b { a } else { x }, if y == b { a } else { y }))
                    .filter(|(x, y)| x != y)
                    .collect();
                if is_acyclic(groups.len(), &merged) {
                    let moved = std::mem::take(&mut groups[b].members);
                    groups[a].members.extend(moved);
                    groups[a].members.sort_unstable();
                    links = merged;
                    continue 'again;
                }
            }
        }
        break;
    }
    // Run order: Kahn over the groups, ties broken by the first node.
    let live: Vec<usize> = (0..groups.len())
        .filter(|&k| !groups[k].members.is_empty())
        .collect();
    let mut indegree: HashMap<usize, usize> = live.iter().map(|&k| (k, 0)).collect();
    for &(_, b) in &links {
        *indegree.entry(b).or_default() += 1;
    }
    let first = |k: usize| groups[k].members.first().copied().unwrap_or(usize::MAX);
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> = live
        .iter()
        .filter(|k| indegree[k] == 0)
        .map(|&k| Reverse((first(k), k)))
        .collect();
    let mut run = Vec::with_capacity(live.len());
    while let Some(Reverse((_, k))) = ready.pop() {
        run.push(k);
        for &(a, b) in &links {
            if a == k {
                let d = indegree.entry(b).or_default();
                *d -= 1;
                if *d == 0 {
                    ready.push(Reverse((first(b), b)));
                }
            }
        }
    }
    let mut slots: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
    run.into_iter().filter_map(|k| slots[k].take()).collect()
}

/// Is the graph on nodes `0..n` with these edges free of cycles?
fn is_acyclic(n: usize, edges: &HashSet<(usize, usize)>) -> bool {
    let mut indegree = vec![0usize; n];
    let mut succs = vec![Vec::new(); n];
    for &(a, b) in edges {
        indegree[b] += 1;
        succs[a].push(b);
    }
    let mut stack: Vec<usize> = (0..n).filter(|&k| indegree[k] == 0).collect();
    let mut seen = 0;
    while let Some(k) = stack.pop() {
        seen += 1;
        for &s in &succs[k] {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                stack.push(s);
            }
        }
    }
    seen == n
}

/// Names the groups and finds what each reads and provides.
fn finish(g: &Graph, order: &[NodeId], groups: Vec<Group>) -> Vec<Part> {
    let mut part_of: HashMap<NodeId, usize> = HashMap::new();
    for (p, gr) in groups.iter().enumerate() {
        for &i in &gr.members {
            part_of.insert(order[i], p);
        }
    }
    let mut cpu_count = 0;
    let mut parts = Vec::with_capacity(groups.len());
    for (p, gr) in groups.into_iter().enumerate() {
        let (kind, name) = match gr.region {
            Some(region) => (PartKind::Npu { region }, format!("npu{region}")),
            None => {
                cpu_count += 1;
                (PartKind::Cpu, format!("cpu{}", cpu_count - 1))
            }
        };
        let nodes: Vec<NodeId> = gr.members.iter().map(|&i| order[i]).collect();
        let mut inputs = Vec::new();
        let mut constants = Vec::new();
        let mut seen: HashSet<ValueId> = HashSet::new();
        for &id in &nodes {
            let read = g
                .inputs_of(id)
                .into_iter()
                .flatten()
                .chain(g.captures_of(id));
            for v in read {
                if !seen.insert(v) {
                    continue;
                }
                match g.node(v.node).kind {
                    NodeKind::Initializer(_) | NodeKind::SparseInitializer(_) => {
                        constants.push(v.node)
                    }
                    NodeKind::Input(_) => inputs.push(v),
                    NodeKind::Op(_) if part_of.get(&v.node) != Some(&p) => inputs.push(v),
                    NodeKind::Op(_) => {}
                }
            }
        }
        let outputs = nodes
            .iter()
            .flat_map(|&id| g.values_of(id))
            .filter(|&v| {
                g.is_output(v)
                    || g.uses(v)
                        .iter()
                        .any(|(user, _)| part_of.get(user) != Some(&p))
            })
            .collect();
        parts.push(Part {
            kind,
            name,
            nodes,
            inputs,
            constants,
            outputs,
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::cost::Estimate;
    use crate::partition::plan::{NodePlacement, Summary};
    use crate::print::parse_graph;

    /// A plan placing each named node in the region given (nodes not listed run on the CPU).
    fn plan_of(g: &Graph, regions: &[(&str, usize)]) -> Plan {
        let nodes: Vec<NodePlacement> = g
            .op_order()
            .unwrap()
            .into_iter()
            .map(|id| {
                let name = g.node(id).display_name();
                let region = regions.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
                NodePlacement {
                    node: id,
                    op_type: String::new(),
                    placement: if region.is_some() { "npu" } else { "cpu" },
                    region,
                    npu_op: None,
                    level: "",
                    rule: "",
                    reason: String::new(),
                    details: String::new(),
                    macs: 0,
                    remedy: None,
                    name,
                }
            })
            .collect();
        let npu_regions = regions.iter().map(|(_, r)| r + 1).max().unwrap_or(0);
        Plan {
            summary: Summary {
                target: "test".into(),
                npu_nodes: regions.len(),
                cpu_nodes: nodes.len() - regions.len(),
                npu_macs: 0,
                total_macs: 0,
                npu_mac_fraction: 0.0,
                npu_regions,
                transitions: 0,
                boundary_bytes: 0,
                top_reasons: Vec::new(),
                estimated_us: Estimate {
                    npu: 0.0,
                    cpu: 0.0,
                    transfers: 0.0,
                    launches: 0.0,
                    total: 0.0,
                },
            },
            regions: Vec::new(),
            nodes,
        }
    }

    fn layout(g: &Graph, parts: &[Part]) -> Vec<(String, Vec<String>)> {
        parts
            .iter()
            .map(|p| {
                let names = p.nodes.iter().map(|&n| g.node(n).display_name()).collect();
                (p.name.clone(), names)
            })
            .collect()
    }

    #[test]
    fn cpu_work_on_both_sides_of_an_independent_region_is_one_part() {
        // c0 is ready before the region, c1 only after it; nothing stops them sharing a part
        // that runs after the region.
        let g = parse_graph(
            "input %x \"x\": f32[4]\n%a = Relu(%x)  # a\n%c0 = Exp(%x)  # c0\n\
             %c1 = Exp(%a)  # c1\noutput %c0 \"c0\"\noutput %c1 \"c1\"\n",
        )
        .unwrap();
        let parts = parts(&g, &plan_of(&g, &[("a", 0)])).unwrap();
        assert_eq!(
            layout(&g, &parts),
            vec![
                ("npu0".to_string(), vec!["a".to_string()]),
                ("cpu0".to_string(), vec!["c0".to_string(), "c1".to_string()]),
            ]
        );
        let names = |vs: &[ValueId]| {
            vs.iter()
                .map(|&v| g.value(v).name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&parts[0].outputs), vec!["a"]);
        assert_eq!(names(&parts[1].inputs), vec!["x", "a"]);
        assert_eq!(names(&parts[1].outputs), vec!["c0", "c1"]);
    }

    #[test]
    fn cpu_parts_are_not_merged_into_a_cycle() {
        // c0 feeds the region, c1 reads it: one CPU part would both precede and follow it.
        let g = parse_graph(
            "input %x \"x\": f32[4]\n%c0 = Exp(%x)  # c0\n%a = Relu(%c0)  # a\n\
             %c1 = Exp(%a)  # c1\noutput %c1 \"c1\"\n",
        )
        .unwrap();
        let parts = parts(&g, &plan_of(&g, &[("a", 0)])).unwrap();
        let names: Vec<String> = parts.iter().map(|p| p.name.clone()).collect();
        assert_eq!(names, vec!["cpu0", "npu0", "cpu1"]);
    }

    #[test]
    fn regions_that_need_each_other_through_the_cpu_are_refused() {
        // Region 0 = {a, e}, region 1 = {b, f}: a -> c -> f and b -> d -> e.
        let g = parse_graph(
            "input %x \"x\": f32[4]\n%a = Relu(%x)  # a\n%b = Relu(%x)  # b\n\
             %c = Exp(%a)  # c\n%d = Exp(%b)  # d\n%e = Relu(%d)  # e\n%f = Relu(%c)  # f\n\
             output %e \"e\"\noutput %f \"f\"\n",
        )
        .unwrap();
        let plan = plan_of(&g, &[("a", 0), ("e", 0), ("b", 1), ("f", 1)]);
        let err = parts(&g, &plan).unwrap_err();
        assert!(err.contains("{0, 1}"), "{err}");
    }
}
