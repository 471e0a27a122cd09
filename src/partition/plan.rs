//! Placement → regions → what it costs: the partition of one graph for one target.
//!
//! 1. Every op node is judged by the target (NPU operation and verdict); only `Supported` runs on
//!    the NPU.
//! 2. NPU nodes are grouped into maximal convex regions (`regions`).
//! 3. Regions that do not pay for their NPU call are moved back to the CPU, as [`Demotion`] says.
//!    By default the cost model decides (ethos-n-rules.md f.5, step 4): a region whose launch,
//!    boundary transfers and NPU time exceed what its nodes cost on the CPU is demoted (a lone
//!    Concat between two CPU ops, a small convolution in a CPU tail); this generalises TVM's
//!    "inline non-compute-intensive partitions", which `Demotion::NoCompute` reproduces. Each
//!    demotion changes its neighbours' boundaries, so regions are formed again after each, until
//!    none loses: the one region that loses most goes first (ties: the first in topological
//!    order). Placement only ever moves to the CPU, so this ends.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::cost::{bytes, macs, CostModel, Estimate, RegionCost};
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
    /// The cost model's time per inference for this placement (see `partition::cost`).
    pub estimated_us: Estimate,
}

/// A partition.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub summary: Summary,
    /// Region k's figures at index k: what it costs on the NPU and what its nodes would cost on
    /// the CPU.
    pub regions: Vec<RegionCost>,
    pub nodes: Vec<NodePlacement>,
}

/// Partitions `g` for `target`, moving the regions `demotion` names back to the CPU.
pub fn plan(g: &Graph, target: &dyn Target, demotion: Demotion) -> Result<Plan, String> {
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
    let model = CostModel::for_target(target);
    let regions = loop {
        let npu = on_npu(&nodes);
        let regions = convex_regions(g, |id| npu.contains(&id))?;
        let demoted: Vec<(usize, &'static str, &'static str, String)> = match demotion {
            Demotion::None => Vec::new(),
            Demotion::NoCompute => regions
                .regions
                .iter()
                .enumerate()
                .filter(|(_, r)| r.iter().all(|id| nodes[index[id]].macs == 0))
                .map(|(k, _)| (k, "partition.no-compute", NO_COMPUTE, String::new()))
                .collect(),
            // The region losing most; `max_by` keeps the last of equals, so the regions are
            // walked from the last to keep the first.
            Demotion::Cost => regions
                .regions
                .iter()
                .map(|r| model.region(g, r))
                .enumerate()
                .rev()
                .filter(|(_, c)| c.loss_us() > 0.0)
                .max_by(|(_, a), (_, b)| a.loss_us().total_cmp(&b.loss_us()))
                .map(|(k, c)| (k, "partition.not-worth-it", NOT_WORTH_IT, figures(&c)))
                .into_iter()
                .collect(),
        };
        if demoted.is_empty() {
            break regions;
        }
        for (k, rule, reason, details) in demoted {
            for id in &regions.regions[k] {
                let n = &mut nodes[index[id]];
                n.placement = "cpu";
                n.rule = rule;
                n.reason = reason.to_string();
                n.details = details.clone();
            }
        }
    };
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
    let cpu_ids: Vec<NodeId> = nodes
        .iter()
        .filter(|n| n.placement == "cpu")
        .map(|n| n.node)
        .collect();
    let region_costs: Vec<RegionCost> =
        regions.regions.iter().map(|r| model.region(g, r)).collect();
    let estimated_us = model.estimate(g, &region_costs, &cpu_ids);
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
            estimated_us,
        },
        regions: region_costs,
        nodes,
    })
}

/// The reason of a region TVM's rule demotes.
const NO_COMPUTE: &str =
    "its NPU region would do no multiply-accumulates: one NPU call and two copies for nothing";

/// The reason of a region the cost model demotes; its figures go in the details.
const NOT_WORTH_IT: &str =
    "its NPU region would take longer, with its call and copies, than its nodes on the CPU (cost model)";

/// A demoted region's figures (µs to 0.1: stable text).
fn figures(c: &RegionCost) -> String {
    format!(
        "{} MACs, {} bytes in and out: ~{:.1} µs on the NPU with its call vs ~{:.1} µs on the CPU",
        c.macs, c.boundary_bytes, c.npu_us, c.cpu_us
    )
}

/// Which NPU regions the partitioner moves back to the CPU once it has formed them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Demotion {
    /// Those that lose under the cost model: launch, boundary transfers and NPU time exceed what
    /// their nodes cost on the CPU.
    #[default]
    Cost,
    /// Those without multiply-accumulates, whatever they cost: TVM's
    /// `InlineNonComputeIntensivePartitions` (decided by MACs rather than by op name).
    NoCompute,
    /// None: every node the target's rules accept runs on the NPU.
    None,
}

impl Demotion {
    /// The names `--demote` takes, in the order of the variants.
    pub const NAMES: [&'static str; 3] = ["cost", "no-compute", "none"];
}

impl std::str::FromStr for Demotion {
    type Err = String;

    fn from_str(s: &str) -> Result<Demotion, String> {
        match s {
            "cost" => Ok(Demotion::Cost),
            "no-compute" => Ok(Demotion::NoCompute),
            "none" => Ok(Demotion::None),
            _ => Err(format!(
                "unknown demotion '{s}' (one of: {})",
                Demotion::NAMES.join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::parse_graph;
    use crate::target::ethos_n::EthosN;

    /// `x → Softmax (CPU) → {middle} → Softmax (CPU) → y` on u8 `[1,C,H,W]`: `middle` is the only
    /// NPU work and becomes one region, or is demoted.
    fn between_cpu_ops(shape: &str, middle: &str) -> Graph {
        let text = format!(
            "input %x \"x\": u8[{shape}]\n\
             const %s: f32[] = [0.05]\nconst %z: u8[] = [128]\n\
             const %ss: f32[] = [0.00390625]\nconst %zs: u8[] = [0]\n\
             const %ws: f32[] = [0.01]\nconst %wz: i8[] = [0]\n\
             %a = com.microsoft.QLinearSoftmax(%x, %s, %z, %ss, %zs) {{axis=1, opset=13}}  # first\n\
             {middle}\n\
             %c = com.microsoft.QLinearSoftmax(%b, %s, %z, %ss, %zs) {{axis=1, opset=13}}  # last\n\
             output %c \"y\"\n"
        );
        let mut g = parse_graph(&text).unwrap();
        let opsets = [(String::new(), 21), ("com.microsoft".to_string(), 1)];
        let _ = crate::ir::infer::infer_types(&mut g, &opsets.into_iter().collect());
        g
    }

    const SMALL_CONV: &str = "const %w: i8[8,8,1,1] = random(1)\n\
         %b = QLinearConv(%a, %ss, %zs, %w, %ws, %wz, %s, %z)  # middle";
    const LARGE_CONV: &str = "const %w: i8[64,64,3,3] = random(1)\n\
         %b = QLinearConv(%a, %ss, %zs, %w, %ws, %wz, %s, %z) {pads=[1,1,1,1]}  # middle";
    const MAX_POOL: &str = "%b = MaxPool(%a) {kernel_shape=[2,2], strides=[2,2]}  # middle";

    fn plan_at_25_03(g: &Graph, demotion: Demotion) -> Plan {
        let target = EthosN::from_spec("ethos-n78@25.03", None).unwrap();
        plan(g, &target, demotion).unwrap()
    }

    /// The middle node's placement and rule under `demotion`, and the number of regions.
    fn middle(g: &Graph, demotion: Demotion) -> (&'static str, &'static str, usize) {
        let p = plan_at_25_03(g, demotion);
        let n = p.nodes.iter().find(|n| n.name == "middle").unwrap();
        (n.placement, n.rule, p.summary.npu_regions)
    }

    #[test]
    fn a_small_convolution_between_cpu_ops_is_demoted_only_by_the_cost_model() {
        let g = between_cpu_ops("1,8,8,8", SMALL_CONV);
        assert_eq!(
            middle(&g, Demotion::Cost),
            ("cpu", "partition.not-worth-it", 0)
        );
        assert_eq!(middle(&g, Demotion::NoCompute).0, "npu");
        assert_eq!(middle(&g, Demotion::None).0, "npu");
    }

    #[test]
    fn a_large_convolution_pays_for_its_call() {
        let g = between_cpu_ops("1,64,40,40", LARGE_CONV);
        assert_eq!(middle(&g, Demotion::Cost).0, "npu");
        let p = plan_at_25_03(&g, Demotion::Cost);
        let r = &p.regions[0];
        assert!(r.npu_us < r.cpu_us, "{r:?}");
    }

    #[test]
    fn a_mac_free_region_is_demoted_by_both_rules_and_kept_by_none() {
        let g = between_cpu_ops("1,16,8,8", MAX_POOL);
        assert_eq!(
            middle(&g, Demotion::NoCompute),
            ("cpu", "partition.no-compute", 0)
        );
        assert_eq!(middle(&g, Demotion::Cost).1, "partition.not-worth-it");
        assert_eq!(middle(&g, Demotion::None), ("npu", "", 1));
    }

    /// The estimate adds up, and demoting a losing region lowers it (what the cost model is for).
    #[test]
    fn demotion_lowers_the_estimate() {
        let g = between_cpu_ops("1,8,8,8", SMALL_CONV);
        let kept = plan_at_25_03(&g, Demotion::None).summary.estimated_us;
        let moved = plan_at_25_03(&g, Demotion::Cost).summary.estimated_us;
        assert!(moved.total < kept.total, "{moved:?} vs {kept:?}");
        assert_eq!(kept.launches, 50.0);
        assert_eq!(moved.launches, 0.0);
        let sum = kept.npu + kept.cpu + kept.transfers + kept.launches;
        assert!((kept.total - sum).abs() < 1e-9);
    }

    #[test]
    fn demotion_names_parse() {
        for (name, d) in
            Demotion::NAMES
                .iter()
                .zip([Demotion::Cost, Demotion::NoCompute, Demotion::None])
        {
            assert_eq!(name.parse::<Demotion>(), Ok(d));
        }
        assert!("fast"
            .parse::<Demotion>()
            .unwrap_err()
            .contains("cost, no-compute, none"));
    }
}
