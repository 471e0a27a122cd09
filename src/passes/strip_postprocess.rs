//! `strip-postprocess`: cuts a detector's post-processing off into a second (CPU) model, found by
//! structure, never by node name.
//!
//! ```text
//! before:  … → Conv(box, 4·reg_max ch) → Reshape → Concat → DFL(Softmax → Conv[0..R-1]) → decode → output0
//!          … → Conv(cls, nc ch)        → Reshape → Concat → Sigmoid ───────────────────────↗
//! after:   main: … → Conv(box) → [cut]      … → Conv(cls) → [cut]
//!          post: [cut] → Reshape → Concat → DFL → decode → output0   (original output names)
//! ```
//! The head convolutions are the convolutions nearest to the graph outputs: walking back from the
//! outputs, the first convolution on every path (a DFL convolution — one output channel, weights
//! 0, 1, …, R−1 after a Softmax — does not count, it is part of the decoding). The post model is
//! everything downstream of their outputs; its inputs are the values it reads from the main model
//! (the cut), its outputs the original outputs. The pair is exact: `post(main(x)) == model(x)` bit
//! for bit, because every node is kept, only split.
//!
//! A head is recognised only when a DFL is found (YOLOv8/YOLO11-style anchor-free heads; also
//! their pose and segment variants, whose extra branches are cut the same way). Other models are
//! left alone, with a note. In quantized graphs the cut moves past a head convolution's
//! QuantizeLinear, so it falls on quantized tensors; a Sigmoid that a head convolution feeds
//! alone stays in the main model (the NPU runs it) and the cut is marked as class scores.
//!
//! Model metadata (`npuopt.postprocess`, JSON) records per cut tensor what a CPU decoder needs:
//! kind, scale index, stride, grid, reg_max, nc, whether the sigmoid is applied. Run after
//! fold-qdq (so the head convolutions are QLinearConv) and before partitioning.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::ir::consts::constant;
use crate::ir::extract::{declaration, extract};
use crate::ir::quant::{qdq_params, quant_of};
use crate::ir::{Graph, NodeId, NodeKind, Op, Port, ValueId};
use crate::pass::{Changed, Pass, PassCx, SideModel};

pub struct StripPostprocess;

/// The metadata key both models carry.
pub const METADATA_KEY: &str = "npuopt.postprocess";

impl Pass for StripPostprocess {
    fn name(&self) -> &'static str {
        "strip-postprocess"
    }

    fn summary(&self) -> &'static str {
        "cut detection post-processing (DFL, decode, concat) off into a separate CPU model"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        let Some(head) = find_head(g)? else {
            cx.note(
                None,
                "no detection head with a DFL was recognised; the model is left whole",
            );
            return Ok(Changed::No);
        };
        let cut_outputs: Vec<_> = head.cut.iter().map(|&v| declaration(g, v)).collect();
        if let Some(untyped) = cut_outputs.iter().find(|i| i.r#type.is_none()) {
            cx.note(
                None,
                format!("the type of cut tensor '{}' is unknown, so it cannot become a model output; the model is left whole", untyped.name()),
            );
            return Ok(Changed::No);
        }
        let members: Vec<NodeId> = head.post_ops.iter().chain(&head.consts).copied().collect();
        let outputs: Vec<ValueId> = g.outputs().iter().map(|o| o.value).collect();
        let post = extract(g, &members, &head.cut, &outputs)?;
        let record = serde_json::to_string(&head.records).map_err(|e| e.to_string())?;
        // The main model now ends at the cut.
        g.outputs_mut().clear();
        for (v, info) in head.cut.iter().zip(cut_outputs) {
            g.add_output(*v, info);
        }
        for &id in &head.post_ops {
            g.remove_node(id);
        }
        for &id in &head.consts {
            if !g.values_of(id).any(|v| g.is_used(v)) {
                g.remove_node(id);
            }
        }
        cx.add_metadata(METADATA_KEY, record.clone());
        cx.add_side_model(SideModel {
            suffix: "post",
            graph: post,
            metadata: vec![(METADATA_KEY.to_string(), record)],
        });
        Ok(Changed::Yes)
    }
}

/// What a CPU decoder needs to know about one cut tensor.
#[derive(Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct CutRecord {
    pub tensor: String,
    /// `box-dfl`, `class-logits`, `class-scores` or `extra` (mask coefficients, keypoints, …).
    pub kind: String,
    /// 0 for the finest grid (smallest stride).
    pub scale: Option<usize>,
    pub stride: Option<i64>,
    /// `[height, width]` of the anchor grid.
    pub grid: Option<[i64; 2]>,
    pub channels: Option<i64>,
    pub reg_max: usize,
    pub nc: Option<i64>,
    pub sigmoid_applied: bool,
    /// How to dequantize the tensor, when it is quantized: `real = (q - zero_point) * scale`.
    pub quantization: Option<CutQuantization>,
}

#[derive(Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct CutQuantization {
    pub scale: f32,
    pub zero_point: i64,
}

fn cut_quantization(g: &Graph, v: ValueId) -> Option<CutQuantization> {
    let p = quant_of(g, v).filter(|p| p.is_per_tensor())?;
    Some(CutQuantization {
        scale: p.scale[0],
        zero_point: p.zp(),
    })
}

struct Head {
    /// The values the post model reads, in the order of `records` (the main model's outputs).
    cut: Vec<ValueId>,
    post_ops: Vec<NodeId>,
    /// Constants the post part reads (copied; removed from the main model when it no longer reads them).
    consts: Vec<NodeId>,
    records: Vec<CutRecord>,
}

fn is_conv(op: Option<Op>) -> bool {
    matches!(op, Some(Op::Conv | Op::QLinearConv))
}

/// The real-valued weights of a convolution with constant (possibly quantized) weights.
fn conv_weights(g: &Graph, id: NodeId) -> Option<(Vec<i64>, Vec<f32>)> {
    let node = g.node(id);
    let (w, scale_zp) = match node.op()? {
        Op::QLinearConv => (g.input(id, 3)?, Some((g.input(id, 4)?, g.input(id, 5)))),
        Op::Conv => {
            let w = g.input(id, 1)?;
            if g.node(w.node).op() == Some(Op::DequantizeLinear) {
                let p = qdq_params(g, w.node)?;
                let q = constant(g, g.input(w.node, 0)?)?;
                let values = q.to_i64()?;
                let real = values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let c = if p.is_per_tensor() {
                            0
                        } else {
                            i * p.scale.len() / values.len().max(1)
                        };
                        (v - p.zero_point.get(c).copied().unwrap_or(0)) as f32 * p.scale[c]
                    })
                    .collect();
                return Some((q.dims, real));
            }
            (w, None)
        }
        _ => return None,
    };
    let data = constant(g, w)?;
    let real = match scale_zp {
        None => data.to_f32()?,
        Some((s, z)) => {
            let s = constant(g, s)?.to_f32()?;
            let z = z
                .and_then(|z| constant(g, z))
                .and_then(|c| c.to_i64())
                .unwrap_or_else(|| vec![0]);
            data.to_i64()?
                .iter()
                .map(|&v| (v - z[0]) as f32 * s[0])
                .collect()
        }
    };
    Some((data.dims, real))
}

/// A DFL convolution's bin count: one output channel, weights 0, 1, …, R−1.
fn dfl_bins(g: &Graph, id: NodeId) -> Option<usize> {
    let (dims, w) = conv_weights(g, id)?;
    if dims.len() != 4 || dims[0] != 1 || dims[2] != 1 || dims[3] != 1 || dims[1] < 2 {
        return None;
    }
    let tol = 1e-2 * dims[1] as f32;
    w.iter()
        .enumerate()
        .all(|(i, &x)| (x - i as f32).abs() <= tol)
        .then_some(dims[1] as usize)
}

fn producers(g: &Graph, id: NodeId) -> Vec<NodeId> {
    g.incoming(id).into_iter().map(|(v, _)| v.node).collect()
}

fn find_head(g: &Graph) -> Result<Option<Head>, String> {
    // Walk back from the outputs to the first non-DFL convolution on every path.
    let mut heads: BTreeSet<NodeId> = BTreeSet::new();
    let mut dfl: Option<(NodeId, usize)> = None;
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut work: Vec<NodeId> = g.outputs().iter().map(|o| o.value.node).collect();
    while let Some(id) = work.pop() {
        if !seen.insert(id) {
            continue;
        }
        let node = g.node(id);
        if node.as_op().is_none() {
            continue;
        }
        if is_conv(node.op()) {
            if let Some(bins) = dfl_bins(g, id) {
                dfl = Some((id, bins));
            } else {
                heads.insert(id);
                continue;
            }
        }
        if node.op() == Some(Op::Shape) {
            continue; // reads only a shape: its input joins the cut, not the walk
        }
        work.extend(producers(g, id));
    }
    let Some((dfl_node, reg_max)) = dfl else {
        return Ok(None);
    };
    if heads.is_empty() {
        return Ok(None);
    }

    // The cut: each head convolution's output, moved past a QuantizeLinear (quantized tensor) or a
    // Sigmoid (class scores) that is its only user.
    let mut cut_of_head = Vec::new();
    for &h in &heads {
        let mut v = ValueId { node: h, slot: 0 };
        let mut sigmoid = false;
        loop {
            let uses = g.uses(v);
            let [(user, Port::Input(0))] = uses.as_slice() else {
                break;
            };
            match g.node(*user).op() {
                Some(Op::QuantizeLinear) if !g.is_output(v) => {
                    v = ValueId {
                        node: *user,
                        slot: 0,
                    }
                }
                Some(Op::Sigmoid | Op::QLinearSigmoid) if !g.is_output(v) && !sigmoid => {
                    sigmoid = true;
                    v = ValueId {
                        node: *user,
                        slot: 0,
                    };
                }
                _ => break,
            }
        }
        cut_of_head.push((h, v, sigmoid));
    }
    let main_tail: HashSet<NodeId> = cut_of_head.iter().map(|(_, v, _)| v.node).collect();

    // The post part: everything downstream of the cut.
    let mut post: BTreeSet<NodeId> = BTreeSet::new();
    let mut work: Vec<NodeId> = cut_of_head
        .iter()
        .flat_map(|(_, v, _)| g.uses(*v).into_iter().map(|(u, _)| u))
        .collect();
    while let Some(id) = work.pop() {
        if post.insert(id) {
            work.extend(g.successors(id));
        }
    }
    if post
        .iter()
        .any(|n| main_tail.contains(n) || heads.contains(n))
    {
        return Err("the head's branches feed each other; no clean cut exists".into());
    }
    // Constants the post part reads come along; other values it reads from the main part are cut.
    let mut cut: Vec<ValueId> = cut_of_head.iter().map(|(_, v, _)| *v).collect();
    let mut consts: BTreeSet<NodeId> = BTreeSet::new();
    for &id in &post {
        for (v, _) in g.incoming(id) {
            if post.contains(&v.node) || cut.contains(&v) {
                continue;
            }
            let producer = g.node(v.node);
            let is_const = matches!(producer.kind, NodeKind::Initializer(_))
                || (producer.op() == Some(Op::Constant) && g.incoming(v.node).is_empty());
            if is_const {
                consts.insert(v.node);
            } else {
                cut.push(v);
            }
        }
    }
    let unreachable: Vec<String> = g
        .outputs()
        .iter()
        .filter(|o| !post.contains(&o.value.node))
        .map(|o| g.value(o.value).name.clone())
        .collect();
    if !unreachable.is_empty() {
        return Err(format!(
            "outputs {unreachable:?} do not depend on the detection head; no clean cut"
        ));
    }

    let records = describe(g, &cut_of_head, dfl_node, reg_max, &cut);
    cut.sort_by_key(|&v| records.iter().position(|r| r.tensor == g.value(v).name));
    Ok(Some(Head {
        cut,
        post_ops: post.into_iter().collect(),
        consts: consts.into_iter().collect(),
        records,
    }))
}

/// Kinds, scales and strides of the cut tensors.
fn describe(
    g: &Graph,
    heads: &[(NodeId, ValueId, bool)],
    dfl: NodeId,
    reg_max: usize,
    cut: &[ValueId],
) -> Vec<CutRecord> {
    let reaches_dfl = |from: NodeId| {
        let mut seen = HashSet::new();
        let mut work = vec![from];
        while let Some(n) = work.pop() {
            if n == dfl {
                return true;
            }
            if seen.insert(n) {
                work.extend(g.successors(n));
            }
        }
        false
    };
    let image_hw = g.inputs().iter().find_map(|&i| {
        let d = g.node(i).outputs[0].ty.as_ref()?.static_dims()?;
        (d.len() == 4).then(|| [d[2], d[3]])
    });
    let mut records: Vec<CutRecord> = heads
        .iter()
        .map(|&(h, v, sigmoid)| {
            let dims = g
                .value(ValueId { node: h, slot: 0 })
                .ty
                .as_ref()
                .and_then(|t| t.static_dims());
            let channels = dims
                .as_ref()
                .and_then(|d| d.get(1).copied())
                .or_else(|| conv_weights(g, h).map(|(d, _)| d[0]));
            let grid = dims.as_ref().filter(|d| d.len() == 4).map(|d| [d[2], d[3]]);
            let kind = if reaches_dfl(h) {
                "box-dfl"
            } else if sigmoid {
                "class-scores"
            } else {
                "class-logits"
            }
            .to_string();
            CutRecord {
                tensor: g.value(v).name.clone(),
                kind,
                scale: None,
                stride: match (image_hw, grid) {
                    (Some(img), Some(gr)) if gr[0] > 0 && img[0] % gr[0] == 0 => {
                        Some(img[0] / gr[0])
                    }
                    _ => None,
                },
                grid,
                channels,
                reg_max,
                nc: None,
                sigmoid_applied: sigmoid,
                quantization: cut_quantization(g, v),
            }
        })
        .collect();
    // Class branches: the channel count shared by the non-box heads is nc; others are extras.
    let class_channels: Option<i64> = {
        let mut counts: std::collections::BTreeMap<i64, usize> = Default::default();
        for r in records.iter().filter(|r| r.kind != "box-dfl") {
            if let Some(c) = r.channels {
                *counts.entry(c).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|&(c, n)| (n, std::cmp::Reverse(c)))
            .map(|(c, _)| c)
    };
    for r in &mut records {
        if r.kind != "box-dfl" && r.channels != class_channels {
            r.kind = "extra".to_string();
        }
        r.nc = class_channels;
    }
    // Scale index: by grid size, finest first.
    let mut grids: Vec<[i64; 2]> = records.iter().filter_map(|r| r.grid).collect();
    grids.sort_by(|a, b| b.cmp(a));
    grids.dedup();
    for r in &mut records {
        r.scale = r.grid.and_then(|gr| grids.iter().position(|x| *x == gr));
    }
    // Values the post part reads besides the head outputs (rare: a shape source, a graph input).
    for &v in cut.iter().skip(heads.len()) {
        records.push(CutRecord {
            tensor: g.value(v).name.clone(),
            kind: "extra".to_string(),
            scale: None,
            stride: None,
            grid: None,
            channels: None,
            reg_max,
            nc: class_channels,
            sigmoid_applied: false,
            quantization: cut_quantization(g, v),
        });
    }
    records.sort_by(|a, b| (a.scale, &a.kind, &a.tensor).cmp(&(b.scale, &b.kind, &b.tensor)));
    records
}
