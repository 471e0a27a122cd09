//! What work costs: multiply-accumulates per node, bytes per value, and a time model that says
//! whether an NPU region pays for its call.
//!
//! The time model ([`CostModel`]) follows the partitioner spec's objective (ethos-n-rules.md f.5
//! step 4): NPU time from the variant's TOPS, CPU time for the same nodes, bytes crossing each
//! region boundary, and a fixed overhead per NPU call. Its constants are estimates of the right
//! order of magnitude, not measurements; each says where it comes from. They decide only small
//! regions: a region worth hundreds of microseconds on either side is far from the line.

use std::collections::HashSet;

use serde::Serialize;

use crate::ir::{Graph, NodeId, NodeKind, Op, ValueId};
use crate::target::Target;

fn dims(g: &Graph, v: Option<ValueId>) -> Option<Vec<i64>> {
    g.value(v?).ty.as_ref()?.static_dims()
}

/// Multiply-accumulates of one node (0 for ops that do none, or whose shapes are unknown).
pub fn macs(g: &Graph, id: NodeId) -> u64 {
    let Some(op) = g.node(id).op() else { return 0 };
    let out = dims(g, Some(ValueId { node: id, slot: 0 }));
    let elements = |d: &[i64]| d.iter().product::<i64>().max(0) as u64;
    match op {
        // Each output element sums (input channels / group) × kernel area products.
        Op::Conv | Op::QLinearConv | Op::ConvTranspose => {
            let w_slot = if op == Op::QLinearConv { 3 } else { 1 };
            let (Some(out), Some(w)) = (out, dims(g, g.input(id, w_slot))) else {
                return 0;
            };
            if op == Op::ConvTranspose {
                let x = dims(g, g.input(id, 0)).unwrap_or_default();
                return elements(&x) * elements(&w[1..]);
            }
            elements(&out) * elements(&w[1..])
        }
        // [.., M, K] × [.., K, N]: every output element sums K products.
        Op::MatMul | Op::QLinearMatMul | Op::Gemm => {
            let a_slot = 0;
            let Some(out) = out else { return 0 };
            let Some(a) = dims(g, g.input(id, a_slot)) else {
                return 0;
            };
            let transposed = op == Op::Gemm
                && g.node(id)
                    .as_op()
                    .and_then(|o| o.attr_int("transA").ok().flatten())
                    == Some(1);
            let k = if transposed { a.first() } else { a.last() };
            elements(&out) * k.copied().unwrap_or(0).max(0) as u64
        }
        _ => 0,
    }
}

/// Bytes of a value's tensor (0 when its type is unknown).
pub fn bytes(g: &Graph, v: ValueId) -> u64 {
    let Some(ty) = g.value(v).ty.as_ref() else {
        return 0;
    };
    let Some(d) = ty.static_dims() else { return 0 };
    let bits = ty.dtype.bits().unwrap_or(0) as u64;
    (d.iter().product::<i64>().max(0) as u64 * bits).div_ceil(8)
}

/// Seconds → microseconds.
const US_PER_S: f64 = 1e6;

/// Share of the NPU's peak MAC rate a region reaches. Assumption: the Ethos-N78 keeps its MAC
/// array busy on large convolutions, but the narrow layers (8–64 channels) and small feature maps
/// of edge detectors leave many of its engines idle; half of peak is a middle estimate.
const NPU_UTILISATION: f64 = 0.5;

/// One NPU call, whatever it computes. Assumption: an inference on the Ethos-N Linux driver is
/// an ioctl that schedules it, the firmware's command stream start and an interrupt back to the
/// waiting process — tens of microseconds on an application core; 50 µs is taken.
const LAUNCH_US: f64 = 50.0;

/// Each byte of a tensor crossing a region boundary. Assumption: one side writes it to DRAM, the
/// other reads it back, and the shared buffer's cache lines are cleaned or invalidated by the
/// driver — about 4 GB/s on an edge SoC, 0.25 ns per byte; the NHWC↔NHWCB conversion is the
/// NPU's DMA's and costs no CPU time.
const TRANSFER_US_PER_BYTE: f64 = 0.25e-3;

/// int8 multiply-accumulates per second on the CPU. Assumption: one Cortex-A78-class core at
/// 2 GHz (the class Arm pairs the Ethos-N78 with) with the int8 dot-product instructions: two
/// 128-bit SDOT pipes give 32 MACs per cycle, 64 G/s peak; int8 convolution kernels reach about a
/// quarter of that on narrow layers, 16 G/s. The fallback runs op by op on one thread.
const CPU_MACS_PER_S: f64 = 16e9;

/// Each byte a node reads or writes on the CPU, beyond its MACs. Assumption: element-wise and
/// data-movement int8 ops (Add, Concat, Resize, requantization) stream at ~4 GB/s on one core.
const CPU_US_PER_BYTE: f64 = 0.25e-3;

/// The time figures that decide where a region runs (microseconds per inference).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Effective NPU multiply-accumulates per microsecond: peak × [`NPU_UTILISATION`].
    npu_macs_per_us: f64,
    launch_us: f64,
    transfer_us_per_byte: f64,
    cpu_macs_per_us: f64,
    cpu_us_per_byte: f64,
}

impl CostModel {
    /// The model for `target`'s NPU (a MAC is two operations: 4 TOPS = 2·10¹² MAC/s peak).
    pub fn for_target(target: &dyn Target) -> CostModel {
        CostModel {
            npu_macs_per_us: target.peak_tops() * 1e12 / 2.0 * NPU_UTILISATION / US_PER_S,
            launch_us: LAUNCH_US,
            transfer_us_per_byte: TRANSFER_US_PER_BYTE,
            cpu_macs_per_us: CPU_MACS_PER_S / US_PER_S,
            cpu_us_per_byte: CPU_US_PER_BYTE,
        }
    }

    /// NPU time of `macs` multiply-accumulates.
    fn npu_us(&self, macs: u64) -> f64 {
        macs as f64 / self.npu_macs_per_us
    }

    /// CPU time of one node: its MACs and every byte it reads and writes.
    fn cpu_us(&self, g: &Graph, id: NodeId) -> f64 {
        let touched: u64 = g
            .inputs_of(id)
            .into_iter()
            .flatten()
            .chain(g.values_of(id))
            .map(|v| bytes(g, v))
            .sum();
        macs(g, id) as f64 / self.cpu_macs_per_us + touched as f64 * self.cpu_us_per_byte
    }

    /// What the nodes of one region cost on either side.
    pub fn region(&self, g: &Graph, members: &[NodeId]) -> RegionCost {
        let macs: u64 = members.iter().map(|&id| macs(g, id)).sum();
        let boundary_bytes = boundary_bytes(g, members);
        RegionCost {
            nodes: members.len(),
            macs,
            boundary_bytes,
            npu_us: self.launch_us
                + boundary_bytes as f64 * self.transfer_us_per_byte
                + self.npu_us(macs),
            cpu_us: members.iter().map(|&id| self.cpu_us(g, id)).sum(),
        }
    }

    /// The estimate for the regions of `regions` on the NPU and `cpu_nodes` on the CPU.
    pub fn estimate(&self, g: &Graph, regions: &[RegionCost], cpu_nodes: &[NodeId]) -> Estimate {
        let npu = self.npu_us(regions.iter().map(|r| r.macs).sum());
        let cpu: f64 = cpu_nodes.iter().map(|&id| self.cpu_us(g, id)).sum();
        let moved: u64 = regions.iter().map(|r| r.boundary_bytes).sum();
        let transfers = moved as f64 * self.transfer_us_per_byte;
        let launches = regions.len() as f64 * self.launch_us;
        Estimate {
            npu,
            cpu,
            transfers,
            launches,
            total: npu + cpu + transfers + launches,
        }
    }
}

/// One region's figures.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RegionCost {
    pub nodes: usize,
    pub macs: u64,
    /// Bytes of the activations it reads from outside and of the values it hands outside.
    pub boundary_bytes: u64,
    /// On the NPU: one launch, the boundary transfers and the MACs.
    #[serde(serialize_with = "tenth")]
    pub npu_us: f64,
    /// Its nodes on the CPU instead.
    #[serde(serialize_with = "tenth")]
    pub cpu_us: f64,
}

impl RegionCost {
    /// By how much the NPU call costs more than the CPU would (positive: the region loses).
    pub fn loss_us(&self) -> f64 {
        self.npu_us - self.cpu_us
    }
}

/// Bytes entering `members` (values produced by an op or a graph input outside it; weights and
/// other constants are compiled into the NPU's network) and leaving it (values read outside or
/// graph outputs), each value counted once.
pub fn boundary_bytes(g: &Graph, members: &[NodeId]) -> u64 {
    let inside: HashSet<NodeId> = members.iter().copied().collect();
    let mut entering: HashSet<ValueId> = HashSet::new();
    let mut total = 0;
    for &id in members {
        for v in g.inputs_of(id).into_iter().flatten() {
            let activation = matches!(g.node(v.node).kind, NodeKind::Op(_) | NodeKind::Input(_));
            if activation && !inside.contains(&v.node) && entering.insert(v) {
                total += bytes(g, v);
            }
        }
        for v in g.values_of(id) {
            if g.is_output(v) || g.uses(v).iter().any(|(u, _)| !inside.contains(u)) {
                total += bytes(g, v);
            }
        }
    }
    total
}

/// The estimated time of one inference under a placement, in microseconds (written to 0.1 µs,
/// so that reports are stable text).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// MACs of the NPU nodes at the NPU's effective rate.
    #[serde(serialize_with = "tenth")]
    pub npu: f64,
    /// The CPU nodes: their MACs and the bytes they read and write.
    #[serde(serialize_with = "tenth")]
    pub cpu: f64,
    /// Every region's boundary bytes.
    #[serde(serialize_with = "tenth")]
    pub transfers: f64,
    /// One launch per region.
    #[serde(serialize_with = "tenth")]
    pub launches: f64,
    #[serde(serialize_with = "tenth")]
    pub total: f64,
}

/// Writes microseconds to 0.1 µs.
fn tenth<S: serde::Serializer>(us: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((us * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::parse_graph;

    fn typed(text: &str) -> Graph {
        let mut g = parse_graph(text).unwrap();
        let _ = crate::ir::infer::infer_types(&mut g, &[(String::new(), 17)].into_iter().collect());
        g
    }

    const CONV_MATMUL_RELU: &str = "input %x \"x\": f32[1,2,4,4]\nconst %w: f32[3,2,3,3] = zeros\n\
         %y = Conv(%x, %w) {pads=[1,1,1,1]}  # conv\n\
         const %m: f32[4,5] = zeros\n%z = MatMul(%y, %m)  # mm\n%r = Relu(%z)  # relu\n\
         output %r \"r\"\n";

    fn by_name(g: &Graph, name: &str) -> NodeId {
        g.nodes()
            .into_iter()
            .find(|&id| g.node(id).display_name() == name)
            .unwrap()
    }

    #[test]
    fn conv_and_matmul_macs() {
        let g = typed(CONV_MATMUL_RELU);
        let by_name = |n: &str| by_name(&g, n);
        // 48 output elements (1x3x4x4), each summing 2x3x3 products.
        assert_eq!(macs(&g, by_name("conv")), 48 * 18);
        // [1,3,4,4] x [4,5]: 60 output elements, each summing 4 products.
        assert_eq!(macs(&g, by_name("mm")), 60 * 4);
        assert_eq!(macs(&g, by_name("relu")), 0);
        assert_eq!(
            bytes(
                &g,
                ValueId {
                    node: by_name("relu"),
                    slot: 0
                }
            ),
            60 * 4
        );
    }

    /// Activations entering (the graph input) and leaving (what the rest reads) count, weights do
    /// not; a value read by two members enters once.
    #[test]
    fn boundary_bytes_count_activations_once() {
        let g = typed(CONV_MATMUL_RELU);
        let (conv, mm, relu) = (by_name(&g, "conv"), by_name(&g, "mm"), by_name(&g, "relu"));
        // x: 32 floats in; y: 48 floats out to the MatMul.
        assert_eq!(boundary_bytes(&g, &[conv]), (32 + 48) * 4);
        // x in, r out (a graph output); y and z stay inside.
        assert_eq!(boundary_bytes(&g, &[conv, mm, relu]), (32 + 60) * 4);
    }

    /// The NPU's MAC time scales with the variant's TOPS; the call and transfers do not.
    #[test]
    fn npu_time_follows_the_variant() {
        use crate::target::ethos_n::EthosN;
        let g = typed(CONV_MATMUL_RELU);
        let members = [by_name(&g, "conv")];
        let at = |variant: &str| {
            let target = EthosN::from_spec("ethos-n78", Some(variant)).unwrap();
            CostModel::for_target(&target).region(&g, &members)
        };
        let (four, eight) = (at("N78_4TOPS_4PLE_RATIO"), at("N78_8TOPS_2PLE_RATIO"));
        let fixed = LAUNCH_US + (32 + 48) as f64 * 4.0 * TRANSFER_US_PER_BYTE;
        let mac_us = |c: RegionCost| c.npu_us - fixed;
        assert!((mac_us(four) - 2.0 * mac_us(eight)).abs() < 1e-12);
        // 864 MACs at 4 TOPS × 50 %: 10⁶ MACs per µs.
        assert!((mac_us(four) - 864e-6).abs() < 1e-12);
        assert_eq!(four.cpu_us, eight.cpu_us);
    }
}
