//! Placement → regions → what it costs: the partition of one graph for one target.
//!
//! 1. Every op node is judged by the target (NPU operation and verdict); only `Supported` runs on
//!    the NPU.
//! 2. NPU nodes are grouped into maximal convex regions (`regions`).
//! 3. A region that does no multiply-accumulates (a lone Reshape, a Concat between two CPU ops)
//!    costs an NPU call and two copies and saves nothing: it is demoted to the CPU — TVM's
//!    "inline non-compute-intensive partitions", decided by MACs rather than by op name — and the
//!    regions are formed again.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::cost::{bytes, macs};
use super::regions::convex_regions;
use crate::ir::{Graph, NodeId};
use crate::target::Target;

/// Where one node runs and why.
#[derive(Clone, Debug, Serialize)]
pub struct NodePlacement {
    #[serde(skip)]
    pub node: NodeId,
    pub name: String,
    pub op_type: String,
    /// `npu` or `cpu`.
    pub placement: &'static str,
    pub region: Option<usize>,
    /// The target operation the node maps to, if any.
    pub npu_op: Option<&'static str>,
    pub level: &'static str,
    pub rule: &'static str,
    pub reason: String,
    pub details: String,
    pub macs: u64,
    /// For a CPU node: what would move it to the NPU, when the target knows.
    pub remedy: Option<String>,
}

/// The figures a Makefile gate and a design review want.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub target: String,
    pub npu_nodes: usize,
    pub cpu_nodes: usize,
    pub npu_macs: u64,
    pub total_macs: u64,
    pub npu_mac_fraction: f64,
    pub npu_regions: usize,
    /// Tensors crossing between an NPU region and the CPU (or another region), counted once per
    /// (tensor, consumer side).
    pub transitions: usize,
    pub boundary_bytes: u64,
    /// Why nodes stay on the CPU, most frequent first: `[reason, count]`.
    pub top_reasons: Vec<(String, usize)>,
}

/// A partition.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub summary: Summary,
    pub nodes: Vec<NodePlacement>,
}

/// Partitions `g` for `target`.
pub fn plan(g: &Graph, target: &dyn Target) -> Result<Plan, String> {
    let order = g
        .op_order()
        .map_err(|c| format!("cycle through '{}'", c.node))?;
    let mut nodes: Vec<NodePlacement> = order
        .iter()
        .map(|&id| {
            let j = target.judge(g, id);
            let remedy = if j.verdict.runs_on_npu() {
                None
            } else {
                target.remedy(g, id)
            };
            let op = g.node(id).as_op();
            NodePlacement {
                node: id,
                name: g.node(id).display_name(),
                op_type: op.map_or_else(String::new, |o| o.op_type().to_string()),
                placement: if j.verdict.runs_on_npu() {
                    "npu"
                } else {
                    "cpu"
                },
                region: None,
                npu_op: j.npu_op,
                level: j.verdict.level.name(),
                rule: j.verdict.rule,
                reason: j.verdict.reason,
                details: j.verdict.details,
                macs: macs(g, id),
                remedy,
            }
        })
        .collect();
    let index: HashMap<NodeId, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.node, i)).collect();
    let on_npu = |nodes: &[NodePlacement]| -> HashSet<NodeId> {
        nodes
            .iter()
            .filter(|n| n.placement == "npu")
            .map(|n| n.node)
            .collect()
    };
    let mut npu = on_npu(&nodes);
    let mut regions = convex_regions(g, |id| npu.contains(&id))?;
    let idle: Vec<NodeId> = regions
        .regions
        .iter()
        .filter(|r| r.iter().all(|id| nodes[index[id]].macs == 0))
        .flatten()
        .copied()
        .collect();
    if !idle.is_empty() {
        for id in idle {
            let n = &mut nodes[index[&id]];
            n.placement = "cpu";
            n.rule = "partition.no-compute";
            n.reason = "its NPU region would do no multiply-accumulates: one NPU call and two copies for nothing".into();
        }
        npu = on_npu(&nodes);
        regions = convex_regions(g, |id| npu.contains(&id))?;
    }
    for (id, r) in &regions.region_of {
        nodes[index[id]].region = Some(*r);
    }

    // Transitions: for each value, the distinct sides (CPU, or region k) of its consumers that
    // differ from its producer's side.
    let side = |id: NodeId| index.get(&id).and_then(|&i| nodes[i].region);
    let mut transitions = 0;
    let mut boundary_bytes = 0;
    for &id in &order {
        for v in g.values_of(id) {
            let mine = side(id);
            let others: HashSet<Option<usize>> = g
                .uses(v)
                .into_iter()
                .filter(|(u, _)| index.contains_key(u))
                .map(|(u, _)| side(u))
                .filter(|s| *s != mine && (s.is_some() || mine.is_some()))
                .collect();
            transitions += others.len();
            boundary_bytes += bytes(g, v) * others.len() as u64;
        }
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for n in nodes.iter().filter(|n| n.placement == "cpu") {
        let key = if n.reason.is_empty() {
            format!("{} ({})", n.rule, n.level)
        } else {
            n.reason.clone()
        };
        *reasons.entry(key).or_default() += 1;
    }
    let mut top_reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    top_reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total_macs: u64 = nodes.iter().map(|n| n.macs).sum();
    let npu_macs: u64 = nodes
        .iter()
        .filter(|n| n.placement == "npu")
        .map(|n| n.macs)
        .sum();
    let npu_nodes = nodes.iter().filter(|n| n.placement == "npu").count();
    Ok(Plan {
        summary: Summary {
            target: target.name(),
            npu_nodes,
            cpu_nodes: nodes.len() - npu_nodes,
            npu_macs,
            total_macs,
            npu_mac_fraction: if total_macs == 0 {
                0.0
            } else {
                npu_macs as f64 / total_macs as f64
            },
            npu_regions: regions.regions.len(),
            transitions,
            boundary_bytes,
            top_reasons,
        },
        nodes,
    })
}
