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
//! everything downstream of the cut; its inputs are the values it reads from the main model, its
//! outputs the original outputs. The pair is exact: `post(main(x)) == model(x)` bit for bit.
//!
//! A head is recognised only when a DFL is found (YOLOv8/YOLO11-style anchor-free heads; also
//! their pose and segment variants, whose extra branches are cut the same way). The cut tensors
//! follow a [`HeadLayout`]:
//! - `per-scale` (default): per scale the box-DFL tensor and the class tensor. The cut moves past
//!   a head convolution's QuantizeLinear (so it falls on quantized tensors) and past a Sigmoid the
//!   class convolution feeds alone (the NPU runs it; the cut is marked class scores).
//! - `raw`: exactly the head convolutions' outputs; nothing moves.
//! - `rknn` (Rockchip's rknn_model_zoo exports): per scale the box-DFL logits, the sigmoid class
//!   scores and their clamped sum `ReduceSum(Clip(scores, 0, 1))` over channels — 9 outputs for 3
//!   scales. The post model's Sigmoid moves into the main model once per scale: the ops between
//!   the class convolutions and that Sigmoid must only rearrange elements (Reshape, Transpose,
//!   Concat, …) or requantize them per tensor, so the same per-element function runs on the same
//!   elements and the pair stays exact; anything else is refused with an error naming it.
//!
//! A model without a recognisable head is cut where its target stops: when the pass context names
//! a target, the largest suffix of nodes the target keeps on the CPU (every reader of a suffix
//! node is in the suffix, or the value is a graph output) becomes the post model. A model the
//! target runs entirely, or not at all, is left whole with a note; so is every model when no
//! target is named.
//!
//! Model metadata (`npuopt.postprocess`, JSON, on both models) records the cut: `kind` `yolo`
//! with the layout and, per main-model output, its role, scale, stride, grid, reg_max, nc and
//! quantization; or `kind` `suffix` with the cut tensors. Run after fold-qdq (so the head
//! convolutions are QLinearConv) and before partitioning.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ir::build::Namer;
use crate::ir::consts::{constant, is_constant};
use crate::ir::extract::{declaration, extract};
use crate::ir::quant::{qdq_params, quant_of};
use crate::ir::rewire::bypass;
use crate::ir::{attrs, DType, Graph, NodeId, NodeKind, Op, OpNode, Port, Value, ValueId};
use crate::pass::{Changed, Pass, PassCx, SideModel};
use crate::proto;
use crate::target::Target;

/// The pass; `layout` chooses the tensors the main model ends with.
#[derive(Clone, Copy, Debug, Default)]
pub struct StripPostprocess {
    pub layout: HeadLayout,
}

/// The metadata key both models carry.
pub const METADATA_KEY: &str = "npuopt.postprocess";

/// Which tensors a detection head's cut leaves as the main model's outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeadLayout {
    /// Per scale: box-DFL logits and class tensor (quantized, with an NPU-run sigmoid kept).
    #[default]
    PerScale,
    /// Per scale: box-DFL logits, sigmoid class scores and the clamped class-score sum.
    Rknn,
    /// The head convolutions' outputs, nothing moved.
    Raw,
}

impl HeadLayout {
    pub const ALL: [HeadLayout; 3] = [HeadLayout::PerScale, HeadLayout::Rknn, HeadLayout::Raw];

    /// The name the CLI and the metadata use.
    pub fn name(self) -> &'static str {
        match self {
            HeadLayout::PerScale => "per-scale",
            HeadLayout::Rknn => "rknn",
            HeadLayout::Raw => "raw",
        }
    }
}

impl fmt::Display for HeadLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HeadLayout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        HeadLayout::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| format!("unknown head layout '{s}' (known: per-scale, rknn, raw)"))
    }
}

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
        if let Some(head) = find_head(g)? {
            let cut = cut_head(g, head, self.layout, cx)?;
            return split(g, cx, cut);
        }
        let Some(target) = cx.target.clone() else {
            cx.note(
                None,
                "no detection head with a DFL was recognised and no target is named; the model is left whole",
            );
            return Ok(Changed::No);
        };
        match suffix_cut(g, target.as_ref())? {
            Suffix::Cut(cut) => split(g, cx, cut),
            Suffix::NotWorthIt(why) => {
                cx.note(
                    None,
                    format!("no detection head with a DFL was recognised and {why}; the model is left whole"),
                );
                Ok(Changed::No)
            }
        }
    }
}

/// What the metadata entry holds: which cut was made, and what each main-model output is.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CutMetadata {
    /// A detection head's cut: one record per main-model output, in output order.
    Yolo {
        layout: HeadLayout,
        outputs: Vec<CutRecord>,
    },
    /// The target-driven cut: the tensors crossing into the post model.
    Suffix { outputs: Vec<SuffixRecord> },
}

/// What a CPU decoder needs to know about one cut tensor.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CutRecord {
    pub tensor: String,
    /// `box-dfl`, `class-logits`, `class-scores`, `class-score-sum` (rknn: clamped sum of the
    /// class scores over channels, read by no post model) or `extra` (mask coefficients, …).
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

/// One tensor of a target-driven cut.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SuffixRecord {
    pub tensor: String,
    pub quantization: Option<CutQuantization>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
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

/// A cut ready to be made: which nodes leave, what crosses, what the main model outputs.
struct Cut {
    /// Op nodes that move to the post model.
    post_ops: Vec<NodeId>,
    /// Constants the post part reads (copied; removed from the main model when it no longer reads them).
    consts: Vec<NodeId>,
    /// The values the post model reads from the main model (its inputs).
    inputs: Vec<ValueId>,
    /// The main model's outputs afterwards (the cut, plus what the post model does not compute).
    main_outputs: Vec<ValueId>,
    metadata: CutMetadata,
}

/// Moves `cut.post_ops` into the post model and ends the main model at the cut.
fn split(g: &mut Graph, cx: &mut PassCx, cut: Cut) -> Result<Changed, String> {
    let declarations: Vec<_> = cut
        .main_outputs
        .iter()
        .map(|&v| declaration(g, v))
        .collect();
    if let Some(untyped) = declarations.iter().find(|i| i.r#type.is_none()) {
        cx.note(
            None,
            format!("the type of cut tensor '{}' is unknown, so it cannot become a model output; the model is left whole", untyped.name()),
        );
        return Ok(Changed::No);
    }
    let post_set: HashSet<NodeId> = cut.post_ops.iter().copied().collect();
    let post_outputs: Vec<ValueId> = g
        .outputs()
        .iter()
        .map(|o| o.value)
        .filter(|v| post_set.contains(&v.node))
        .collect();
    let members: Vec<NodeId> = cut.post_ops.iter().chain(&cut.consts).copied().collect();
    let post = extract(g, &members, &cut.inputs, &post_outputs)?;
    let record = serde_json::to_string(&cut.metadata).map_err(|e| e.to_string())?;
    g.outputs_mut().clear();
    for (&v, info) in cut.main_outputs.iter().zip(declarations) {
        g.add_output(v, info);
    }
    for &id in &cut.post_ops {
        g.remove_node(id);
    }
    for &id in &cut.consts {
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

/// A constant: an initializer, or a Constant op (it reads nothing).
fn is_const_node(g: &Graph, id: NodeId) -> bool {
    let node = g.node(id);
    matches!(node.kind, NodeKind::Initializer(_))
        || (node.op() == Some(Op::Constant) && g.incoming(id).is_empty())
}

/// The values `post` reads from outside it, other than constants (those are returned apart, to
/// be copied).
fn crossing(g: &Graph, post: &BTreeSet<NodeId>) -> (Vec<ValueId>, Vec<NodeId>) {
    let mut inputs: Vec<ValueId> = Vec::new();
    let mut consts: BTreeSet<NodeId> = BTreeSet::new();
    for &id in post {
        for (v, _) in g.incoming(id) {
            if post.contains(&v.node) || inputs.contains(&v) {
                continue;
            }
            if is_const_node(g, v.node) {
                consts.insert(v.node);
            } else {
                inputs.push(v);
            }
        }
    }
    (inputs, consts.into_iter().collect())
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

/// A recognised detection head: its convolutions and its DFL.
struct Head {
    convs: BTreeSet<NodeId>,
    dfl: NodeId,
    reg_max: usize,
}

/// Walks back from the outputs to the first non-DFL convolution on every path; a head needs a DFL.
fn find_head(g: &Graph) -> Result<Option<Head>, String> {
    let mut convs: BTreeSet<NodeId> = BTreeSet::new();
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
                convs.insert(id);
                continue;
            }
        }
        if node.op() == Some(Op::Shape) {
            continue; // reads only a shape: its input joins the cut, not the walk
        }
        work.extend(producers(g, id));
    }
    Ok(match dfl {
        Some((dfl, reg_max)) if !convs.is_empty() => Some(Head {
            convs,
            dfl,
            reg_max,
        }),
        _ => None,
    })
}

/// One cut tensor of a head: the value and its record.
struct HeadTensor {
    value: ValueId,
    record: CutRecord,
}

/// The cut of a recognised head in `layout`, with the rknn rewrite applied to `g` when asked.
fn cut_head(g: &mut Graph, head: Head, layout: HeadLayout, cx: &PassCx) -> Result<Cut, String> {
    let mut tensors = describe(g, &head, layout);
    if layout == HeadLayout::Rknn {
        move_class_sigmoid(g, &mut tensors, cx)?;
    }
    // The post part: everything downstream of the cut.
    let mut post: BTreeSet<NodeId> = BTreeSet::new();
    let mut work: Vec<NodeId> = tensors
        .iter()
        .flat_map(|t| g.uses(t.value).into_iter().map(|(u, _)| u))
        .collect();
    while let Some(id) = work.pop() {
        if post.insert(id) {
            work.extend(g.successors(id));
        }
    }
    if post
        .iter()
        .any(|n| head.convs.contains(n) || tensors.iter().any(|t| t.value.node == *n))
    {
        return Err("the head's branches feed each other; no clean cut exists".into());
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
    // Values the post part reads besides the head tensors (rare: a shape source, a graph input).
    let (inputs, consts) = crossing(g, &post);
    let nc = tensors.first().and_then(|t| t.record.nc);
    for &v in &inputs {
        if tensors.iter().all(|t| t.value != v) {
            tensors.push(HeadTensor {
                value: v,
                record: CutRecord {
                    tensor: g.value(v).name.clone(),
                    kind: "extra".to_string(),
                    scale: None,
                    stride: None,
                    grid: None,
                    channels: None,
                    reg_max: head.reg_max,
                    nc,
                    sigmoid_applied: false,
                    quantization: cut_quantization(g, v),
                },
            });
        }
    }
    if layout == HeadLayout::Rknn {
        add_score_sums(g, &mut tensors, cx)?;
    }
    let rank = |kind: &str| match kind {
        "box-dfl" => 0,
        "class-logits" | "class-scores" => 1,
        "class-score-sum" => 2,
        _ => 3,
    };
    tensors.sort_by(|a, b| {
        let key = |t: &HeadTensor| {
            (
                t.record.scale,
                rank(&t.record.kind),
                t.record.tensor.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    let read_by_post = |v: &ValueId| inputs.contains(v);
    Ok(Cut {
        post_ops: post.into_iter().collect(),
        consts,
        inputs: tensors
            .iter()
            .map(|t| t.value)
            .filter(read_by_post)
            .collect(),
        main_outputs: tensors.iter().map(|t| t.value).collect(),
        metadata: CutMetadata::Yolo {
            layout,
            outputs: tensors.into_iter().map(|t| t.record).collect(),
        },
    })
}

/// The cut value of a head convolution in `layout` (see the module doc), and whether a sigmoid
/// is applied to it.
fn head_cut_value(g: &Graph, conv: NodeId, layout: HeadLayout) -> (ValueId, bool) {
    let mut v = ValueId {
        node: conv,
        slot: 0,
    };
    let mut sigmoid = false;
    if layout == HeadLayout::Raw {
        return (v, sigmoid);
    }
    loop {
        let uses = g.uses(v);
        let [(user, Port::Input(0))] = uses.as_slice() else {
            break;
        };
        match g.node(*user).op() {
            Some(Op::QuantizeLinear) if !g.is_output(v) => {}
            Some(Op::Sigmoid | Op::QLinearSigmoid) if !g.is_output(v) && !sigmoid => {
                sigmoid = true;
            }
            _ => break,
        }
        v = ValueId {
            node: *user,
            slot: 0,
        };
    }
    (v, sigmoid)
}

/// The cut tensors of the head convolutions: kinds, scales and strides.
fn describe(g: &Graph, head: &Head, layout: HeadLayout) -> Vec<HeadTensor> {
    let reaches_dfl = |from: NodeId| {
        let mut seen = HashSet::new();
        let mut work = vec![from];
        while let Some(n) = work.pop() {
            if n == head.dfl {
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
    let mut tensors: Vec<HeadTensor> = head
        .convs
        .iter()
        .map(|&h| {
            let (v, sigmoid) = head_cut_value(g, h, layout);
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
            // Box tensors have 4·reg_max channels; reaching the DFL alone is not enough, as
            // exports that concatenate box and class tensors before splitting them route both
            // through the same nodes.
            let box_channels = 4 * head.reg_max as i64;
            let kind = if reaches_dfl(h) && channels.is_none_or(|c| c == box_channels) {
                "box-dfl"
            } else if sigmoid {
                "class-scores"
            } else {
                "class-logits"
            }
            .to_string();
            let record = CutRecord {
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
                reg_max: head.reg_max,
                nc: None,
                sigmoid_applied: sigmoid,
                quantization: cut_quantization(g, v),
            };
            HeadTensor { value: v, record }
        })
        .collect();
    // Class branches: the channel count shared by the non-box heads is nc; others are extras.
    let class_channels: Option<i64> = {
        let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
        for t in tensors.iter().filter(|t| t.record.kind != "box-dfl") {
            if let Some(c) = t.record.channels {
                *counts.entry(c).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|&(c, n)| (n, std::cmp::Reverse(c)))
            .map(|(c, _)| c)
    };
    for r in tensors.iter_mut().map(|t| &mut t.record) {
        if r.kind != "box-dfl" && r.channels != class_channels {
            r.kind = "extra".to_string();
        }
        r.nc = class_channels;
    }
    // Scale index: by grid size, finest first.
    let mut grids: Vec<[i64; 2]> = tensors.iter().filter_map(|t| t.record.grid).collect();
    grids.sort_by(|a, b| b.cmp(a));
    grids.dedup();
    for r in tensors.iter_mut().map(|t| &mut t.record) {
        r.scale = r.grid.and_then(|gr| grids.iter().position(|x| *x == gr));
    }
    tensors.sort_by_key(|t| t.record.scale);
    tensors
}

/// Ops that rearrange elements without selecting, repeating or changing any: an elementwise
/// function commutes with them exactly.
fn rearranges(op: Op) -> bool {
    matches!(
        op,
        Op::Reshape
            | Op::Transpose
            | Op::Flatten
            | Op::Squeeze
            | Op::Unsqueeze
            | Op::Identity
            | Op::Concat
    )
}

/// A per-tensor QuantizeLinear or DequantizeLinear: the same function on every element.
fn requantizes(g: &Graph, id: NodeId) -> bool {
    matches!(
        g.node(id).op(),
        Some(Op::QuantizeLinear | Op::DequantizeLinear)
    ) && qdq_params(g, id).is_some_and(|p| p.is_per_tensor())
}

/// The nodes reading `v`'s elements (a Shape reads only its shape, which no rewrite here changes).
fn element_readers(g: &Graph, v: ValueId) -> Vec<NodeId> {
    g.uses(v)
        .into_iter()
        .map(|(u, _)| u)
        .filter(|&u| g.node(u).op() != Some(Op::Shape))
        .collect()
}

fn refuse_rknn(why: String) -> String {
    format!("head layout rknn: {why}; the sigmoid cannot move into the main model exactly (use --head-layout per-scale)")
}

/// The Sigmoid the class tensor `from` reaches through rearranging and requantizing ops alone.
fn sigmoid_after(g: &Graph, from: ValueId) -> Result<NodeId, String> {
    let mut v = from;
    for _ in 0..g.node_count() {
        let readers = element_readers(g, v);
        let [user] = readers.as_slice() else {
            return Err(refuse_rknn(format!(
                "'{}' is read by {} nodes on the way from class tensor '{}' to its Sigmoid",
                g.value(v).name,
                readers.len(),
                g.value(from).name
            )));
        };
        let node = g.node(*user);
        match node.op() {
            Some(Op::Sigmoid | Op::QLinearSigmoid) if g.input(*user, 0) == Some(v) => {
                return Ok(*user)
            }
            Some(op) if rearranges(op) || requantizes(g, *user) || op == Op::QLinearConcat => {
                v = ValueId {
                    node: *user,
                    slot: 0,
                }
            }
            _ => {
                return Err(refuse_rknn(format!(
                    "class tensor '{}' reaches {} '{}' before any Sigmoid",
                    g.value(from).name,
                    node.as_op().map_or("a graph output", |o| o.op_type()),
                    node.display_name()
                )))
            }
        }
    }
    Err(refuse_rknn(format!(
        "no Sigmoid follows class tensor '{}'",
        g.value(from).name
    )))
}

/// The subgraph between the class tensors and their Sigmoid.
struct ClassCone {
    /// Per class tensor (in the order given), the requantizing steps on its way to the Sigmoid,
    /// in order.
    chains: Vec<Vec<Step>>,
    /// The rearranging nodes.
    movers: Vec<NodeId>,
    /// Every requantizing node.
    requantizers: Vec<NodeId>,
    /// QLinearConcats: they rearrange, and requantize each input to the output's quantization.
    qconcats: Vec<NodeId>,
}

/// One per-element function on a class tensor's way to the Sigmoid.
#[derive(Clone, Copy)]
enum Step {
    /// A per-tensor Q/DQ (or the Sigmoid, or the QuantizeLinear after it).
    Node(NodeId),
    /// The requantization a QLinearConcat applies to its input at `slot`.
    ConcatInput { node: NodeId, slot: u32 },
}

/// The data slots of a QLinearConcat (inputs are `Y_scale, Y_zp, (X, X_scale, X_zp)…`).
fn qconcat_data_slots(g: &Graph, id: NodeId) -> Vec<u32> {
    (2..g.inputs_of(id).len() as u32).step_by(3).collect()
}

/// Checks that the Sigmoid's input is made of exactly the `leaves`' elements, each once, moved by
/// rearranging ops and changed only by per-tensor requantization, and that nothing else reads them.
fn class_cone(g: &Graph, sigmoid: NodeId, leaves: &[ValueId]) -> Result<ClassCone, String> {
    let start = g
        .input(sigmoid, 0)
        .ok_or_else(|| format!("Sigmoid '{}' has no input", g.node(sigmoid).display_name()))?;
    let mut chains: Vec<Option<Vec<Step>>> = vec![None; leaves.len()];
    let mut cone = ClassCone {
        chains: Vec::new(),
        movers: Vec::new(),
        requantizers: Vec::new(),
        qconcats: Vec::new(),
    };
    // (value, requantizing nodes between it and the Sigmoid, nearest the Sigmoid first)
    let mut work = vec![(start, Vec::new())];
    while let Some((v, chain)) = work.pop() {
        let readers = element_readers(g, v);
        if readers.len() != 1 || g.is_output(v) {
            return Err(refuse_rknn(format!(
                "'{}' feeds the Sigmoid '{}' and is read elsewhere too",
                g.value(v).name,
                g.node(sigmoid).display_name()
            )));
        }
        if let Some(i) = leaves.iter().position(|&l| l == v) {
            let mut chain = chain;
            chain.reverse();
            chains[i] = Some(chain);
            continue;
        }
        let node = g.node(v.node);
        let Some(op) = node.op() else {
            return Err(refuse_rknn(format!(
                "the Sigmoid '{}' reads graph input '{}'",
                g.node(sigmoid).display_name(),
                g.value(v).name
            )));
        };
        let data_slots: Vec<u32> = match op {
            Op::Concat => (0..g.inputs_of(v.node).len() as u32).collect(),
            Op::QLinearConcat => qconcat_data_slots(g, v.node),
            _ => vec![0],
        };
        if rearranges(op) || requantizes(g, v.node) || op == Op::QLinearConcat {
            for (slot, input) in g.inputs_of(v.node).into_iter().enumerate() {
                let Some(input) = input else { continue };
                if !data_slots.contains(&(slot as u32)) && !is_constant(g, input) {
                    return Err(refuse_rknn(format!(
                        "{} '{}' takes a computed input '{}' besides its data",
                        node.as_op().map_or("", |o| o.op_type()),
                        node.display_name(),
                        g.value(input).name
                    )));
                }
            }
        }
        if op == Op::QLinearConcat {
            cone.qconcats.push(v.node);
            for slot in data_slots {
                if let Some(input) = g.input(v.node, slot) {
                    let mut chain = chain.clone();
                    chain.push(Step::ConcatInput { node: v.node, slot });
                    work.push((input, chain));
                }
            }
        } else if rearranges(op) {
            cone.movers.push(v.node);
            for slot in data_slots {
                if let Some(input) = g.input(v.node, slot) {
                    work.push((input, chain.clone()));
                }
            }
        } else if requantizes(g, v.node) {
            cone.requantizers.push(v.node);
            let mut chain = chain;
            chain.push(Step::Node(v.node));
            if let Some(input) = g.input(v.node, 0) {
                work.push((input, chain));
            }
        } else {
            return Err(refuse_rknn(format!(
                "the Sigmoid '{}' reads '{}' from {} '{}', which neither only rearranges elements nor requantizes them per tensor (a class tensor mixed with other data, or a requantizing {})",
                g.node(sigmoid).display_name(),
                g.value(v).name,
                node.as_op().map_or("", |o| o.op_type()),
                node.display_name(),
                node.as_op().map_or("", |o| o.op_type()),
            )));
        }
    }
    for (i, chain) in chains.into_iter().enumerate() {
        let chain = chain.ok_or_else(|| {
            refuse_rknn(format!(
                "class tensor '{}' does not reach the Sigmoid '{}'",
                g.value(leaves[i]).name,
                g.node(sigmoid).display_name()
            ))
        })?;
        cone.chains.push(chain);
    }
    Ok(cone)
}

/// A copy of op node `id` reading `input0` in slot 0 (its other inputs shared); returns its output.
fn clone_op(
    g: &mut Graph,
    names: &mut Namer,
    id: NodeId,
    input0: ValueId,
    tag: &str,
) -> Result<ValueId, String> {
    let mut proto = g
        .node(id)
        .as_op()
        .map(|op| op.proto().clone())
        .ok_or_else(|| format!("'{}' is not an op", g.node(id).display_name()))?;
    let out_name = g.value(ValueId { node: id, slot: 0 }).name.clone();
    proto.name = Some(names.fresh(&format!("{}_{tag}", proto.name())));
    let mut inputs = g.inputs_of(id);
    inputs[0] = Some(input0);
    let out = Value::new(names.fresh(&format!("{out_name}_{tag}")));
    let new = g.add_op(OpNode::new(proto, 0), &inputs, vec![out]);
    Ok(ValueId { node: new, slot: 0 })
}

/// A copy of `step` applied to `input` alone; returns its output.
fn clone_step(
    g: &mut Graph,
    names: &mut Namer,
    step: Step,
    input: ValueId,
    tag: &str,
) -> Result<ValueId, String> {
    let (node, slot) = match step {
        Step::Node(id) => return clone_op(g, names, id, input, tag),
        Step::ConcatInput { node, slot } => (node, slot),
    };
    let mut proto = g
        .node(node)
        .as_op()
        .map(|op| op.proto().clone())
        .ok_or_else(|| format!("'{}' is not an op", g.node(node).display_name()))?;
    proto.name = Some(names.fresh(&format!("{}_{tag}", proto.name())));
    // A QLinearConcat of one input: the same table on the same bytes.
    let inputs = [
        g.input(node, 0),
        g.input(node, 1),
        Some(input),
        g.input(node, slot + 1),
        g.input(node, slot + 2),
    ];
    let out_name = g.value(ValueId { node, slot: 0 }).name.clone();
    let out = Value::new(names.fresh(&format!("{out_name}_{tag}")));
    let new = g.add_op(OpNode::new(proto, 0), &inputs, vec![out]);
    Ok(ValueId { node: new, slot: 0 })
}

/// Replaces QLinearConcat `id` by a plain Concat of the same inputs and axis (the requantization
/// has moved); returns the new node.
fn plain_concat(g: &mut Graph, id: NodeId) -> Result<NodeId, String> {
    let old = g
        .node(id)
        .as_op()
        .map(|op| op.proto().clone())
        .ok_or_else(|| format!("'{}' is not an op", g.node(id).display_name()))?;
    let proto = proto::NodeProto {
        name: old.name.clone(),
        op_type: Some("Concat".into()),
        attribute: old.attribute.clone(),
        metadata_props: old.metadata_props.clone(),
        ..Default::default()
    };
    let inputs: Vec<Option<ValueId>> = qconcat_data_slots(g, id)
        .into_iter()
        .map(|s| g.input(id, s))
        .collect();
    let out = ValueId { node: id, slot: 0 };
    let name = g.value(out).name.clone();
    let new = g.add_op(OpNode::new(proto, 0), &inputs, vec![Value::new("")]);
    let new_out = ValueId { node: new, slot: 0 };
    if !g.replace_uses(out, new_out) {
        return Err(refuse_rknn(format!("a subgraph reads '{name}' by name")));
    }
    g.remove_node(id);
    g.value_mut(new_out).name = name;
    Ok(new)
}

/// rknn: the post model's class Sigmoid (with the requantization on the way to it, and a
/// QuantizeLinear right after it) moves into the main model once per class tensor; the post
/// model rearranges the per-scale scores as it rearranged the logits.
fn move_class_sigmoid(
    g: &mut Graph,
    tensors: &mut [HeadTensor],
    cx: &PassCx,
) -> Result<(), String> {
    let class: Vec<usize> = (0..tensors.len())
        .filter(|&i| tensors[i].record.kind == "class-logits")
        .collect();
    let Some(&first) = class.first() else {
        return if tensors.iter().any(|t| t.record.kind == "class-scores") {
            Ok(())
        } else {
            Err(refuse_rknn("the head has no class tensors".into()))
        };
    };
    let leaves: Vec<ValueId> = class.iter().map(|&i| tensors[i].value).collect();
    let sigmoid = sigmoid_after(g, tensors[first].value)?;
    let cone = class_cone(g, sigmoid, &leaves)?;
    let sig_out = ValueId {
        node: sigmoid,
        slot: 0,
    };
    let tail_q = match element_readers(g, sig_out).as_slice() {
        [q] if !g.is_output(sig_out)
            && g.uses(sig_out).len() == 1
            && g.node(*q).op() == Some(Op::QuantizeLinear)
            && requantizes(g, *q) =>
        {
            Some(*q)
        }
        _ => None,
    };
    let root = tail_q.map_or(sig_out, |q| ValueId { node: q, slot: 0 });

    let mut names = Namer::for_graph(g);
    let mut scores: HashMap<ValueId, ValueId> = HashMap::new();
    for ((&leaf, chain), &i) in leaves.iter().zip(&cone.chains).zip(&class) {
        let tag = format!("scale{}", tensors[i].record.scale.unwrap_or(i));
        let mut x = leaf;
        let tail = [Step::Node(sigmoid)]
            .into_iter()
            .chain(tail_q.map(Step::Node));
        for step in chain.iter().copied().chain(tail) {
            x = clone_step(g, &mut names, step, x, &tag)?;
        }
        scores.insert(leaf, x);
    }
    let mut movers = cone.movers.clone();
    for &q in &cone.qconcats {
        movers.push(plain_concat(g, q)?);
    }
    // What a value of the cone holds once the requantization has moved: its source, past the
    // requantizing nodes; a class tensor's place is taken by its scores.
    let requantizers: HashSet<NodeId> = cone.requantizers.iter().copied().collect();
    let moved = |g: &Graph, mut v: ValueId| {
        while requantizers.contains(&v.node) {
            match g.input(v.node, 0) {
                Some(src) => v = src,
                None => break,
            }
        }
        scores.get(&v).copied().unwrap_or(v)
    };
    let top = moved(g, g.input(sigmoid, 0).unwrap_or(sig_out));
    let mut rewires = Vec::new();
    for &m in &movers {
        let concat = g.node(m).op() == Some(Op::Concat);
        for (slot, input) in g.inputs_of(m).into_iter().enumerate() {
            let Some(input) = input else { continue };
            if (concat || slot == 0) && moved(g, input) != input {
                rewires.push((m, slot as u32, moved(g, input)));
            }
        }
    }
    let shape_reads: Vec<(ValueId, ValueId)> = cone
        .requantizers
        .iter()
        .map(|&r| {
            let out = ValueId { node: r, slot: 0 };
            (out, moved(g, out))
        })
        .collect();
    for (m, slot, v) in rewires {
        g.set_input(m, slot, Some(v));
    }
    bypass(g, top, root).map_err(|why| {
        refuse_rknn(format!(
            "the Sigmoid's result '{}' cannot be bypassed: {why}",
            g.value(root).name
        ))
    })?;
    for (out, src) in shape_reads {
        if !g.replace_uses(out, src) {
            return Err(refuse_rknn(format!(
                "a subgraph reads '{}' by name",
                g.value(out).name
            )));
        }
    }
    for id in tail_q.into_iter().chain([sigmoid]).chain(cone.requantizers) {
        g.remove_node(id);
    }
    // The rearranged values now hold scores of another type: infer it again.
    for &m in &movers {
        let out = g.value_mut(ValueId { node: m, slot: 0 });
        out.ty = None;
        out.info = None;
    }
    let _ = crate::ir::infer::infer_types(g, &cx.opsets);
    for (&i, leaf) in class.iter().zip(&leaves) {
        let v = scores[leaf];
        let t = &mut tensors[i];
        t.value = v;
        t.record.tensor = g.value(v).name.clone();
        t.record.kind = "class-scores".into();
        t.record.sigmoid_applied = true;
        t.record.quantization = cut_quantization(g, v);
    }
    Ok(())
}

/// A new initializer.
fn add_const(
    g: &mut Graph,
    names: &mut Namer,
    base: &str,
    dtype: DType,
    dims: &[i64],
    bytes: Vec<u8>,
) -> ValueId {
    let name = names.fresh(base);
    crate::ir::build::add_const(g, name, dtype, dims, bytes)
}

/// A new op node of the default domain; returns its output.
fn add_op(
    g: &mut Graph,
    names: &mut Namer,
    op_type: &str,
    inputs: &[ValueId],
    attributes: Vec<proto::AttributeProto>,
    base: &str,
) -> ValueId {
    let proto = proto::NodeProto {
        name: Some(names.fresh(&format!("{base}/{op_type}"))),
        op_type: Some(op_type.to_string()),
        attribute: attributes,
        ..Default::default()
    };
    let inputs: Vec<Option<ValueId>> = inputs.iter().copied().map(Some).collect();
    let out = Value::new(names.fresh(&format!("{base}_{}", op_type.to_lowercase())));
    let id = g.add_op(OpNode::new(proto, 0), &inputs, vec![out]);
    ValueId { node: id, slot: 0 }
}

/// rknn: per scale, the class scores clamped to [0, 1] and summed over channels (`[N,1,H,W]`,
/// float; quantized scores are dequantized first), as a main-model output beside the scores.
fn add_score_sums(g: &mut Graph, tensors: &mut Vec<HeadTensor>, cx: &PassCx) -> Result<(), String> {
    if cx.opsets.get("").copied().unwrap_or(0) < 13 {
        return Err("head layout rknn: the class-score sum needs ReduceSum with axes as an input (opset 13 or later)".into());
    }
    let mut names = Namer::for_graph(g);
    let zero = add_const(
        g,
        &mut names,
        "rknn_clip_min",
        DType::F32,
        &[],
        0f32.to_le_bytes().to_vec(),
    );
    let one = add_const(
        g,
        &mut names,
        "rknn_clip_max",
        DType::F32,
        &[],
        1f32.to_le_bytes().to_vec(),
    );
    let axes = add_const(
        g,
        &mut names,
        "rknn_sum_axes",
        DType::I64,
        &[1],
        1i64.to_le_bytes().to_vec(),
    );
    let mut sums = Vec::new();
    for t in tensors.iter().filter(|t| t.record.kind == "class-scores") {
        let base = t.record.tensor.clone();
        let scores = match &t.record.quantization {
            None => t.value,
            Some(q) => {
                let dtype = g
                    .value(t.value)
                    .ty
                    .as_ref()
                    .map(|ty| ty.dtype)
                    .ok_or_else(|| {
                        format!("head layout rknn: the type of class scores '{base}' is unknown")
                    })?;
                let zp_bytes = match dtype {
                    DType::U8 | DType::I8 => vec![q.zero_point as u8],
                    DType::U16 | DType::I16 => (q.zero_point as u16).to_le_bytes().to_vec(),
                    other => {
                        return Err(format!(
                            "head layout rknn: class scores '{base}' are {other}, which no DequantizeLinear reads"
                        ))
                    }
                };
                let scale = add_const(
                    g,
                    &mut names,
                    &format!("{base}_scale"),
                    DType::F32,
                    &[],
                    q.scale.to_le_bytes().to_vec(),
                );
                let zp = add_const(
                    g,
                    &mut names,
                    &format!("{base}_zero_point"),
                    dtype,
                    &[],
                    zp_bytes,
                );
                add_op(
                    g,
                    &mut names,
                    "DequantizeLinear",
                    &[t.value, scale, zp],
                    vec![],
                    &base,
                )
            }
        };
        let clipped = add_op(g, &mut names, "Clip", &[scores, zero, one], vec![], &base);
        let sum = add_op(
            g,
            &mut names,
            "ReduceSum",
            &[clipped, axes],
            vec![attrs::int("keepdims", 1)],
            &base,
        );
        sums.push((sum, t.record.clone()));
    }
    let _ = crate::ir::infer::infer_types(g, &cx.opsets);
    for (sum, record) in sums {
        tensors.push(HeadTensor {
            value: sum,
            record: CutRecord {
                tensor: g.value(sum).name.clone(),
                kind: "class-score-sum".into(),
                channels: Some(1),
                quantization: None,
                ..record
            },
        });
    }
    Ok(())
}

/// What the target-driven cut found.
enum Suffix {
    Cut(Cut),
    /// Why no cut is worth making.
    NotWorthIt(String),
}

/// The target-driven cut: the largest suffix of op nodes `target` keeps on the CPU, such that
/// every reader of a suffix node's value is in the suffix (or the value is a graph output).
fn suffix_cut(g: &Graph, target: &dyn Target) -> Result<Suffix, String> {
    let order = g
        .op_order()
        .map_err(|c| format!("the graph has a cycle through '{}'", c.node))?;
    let computing: Vec<NodeId> = order
        .into_iter()
        .filter(|&id| !is_const_node(g, id))
        .collect();
    let mut suffix: BTreeSet<NodeId> = BTreeSet::new();
    for &id in computing.iter().rev() {
        let values: Vec<ValueId> = g.values_of(id).collect();
        let live = values.iter().any(|&v| g.is_used(v) || g.is_output(v));
        let readers_inside = values
            .iter()
            .all(|&v| g.uses(v).iter().all(|(u, _)| suffix.contains(u)));
        if live && readers_inside && !target.judge(g, id).verdict.runs_on_npu() {
            suffix.insert(id);
        }
    }
    if suffix.is_empty() {
        return Ok(Suffix::NotWorthIt(format!(
            "{} runs the nodes that compute the outputs",
            target.name()
        )));
    }
    if suffix.len() == computing.len() {
        return Ok(Suffix::NotWorthIt(format!(
            "{} runs none of its nodes, so a cut gains nothing",
            target.name()
        )));
    }
    let (inputs, consts) = crossing(g, &suffix);
    let mut main_outputs = inputs.clone();
    for o in g.outputs() {
        if !suffix.contains(&o.value.node) && !main_outputs.contains(&o.value) {
            main_outputs.push(o.value);
        }
    }
    let outputs = inputs
        .iter()
        .map(|&v| SuffixRecord {
            tensor: g.value(v).name.clone(),
            quantization: cut_quantization(g, v),
        })
        .collect();
    Ok(Suffix::Cut(Cut {
        post_ops: suffix.into_iter().collect(),
        consts,
        inputs,
        main_outputs,
        metadata: CutMetadata::Suffix { outputs },
    }))
}
