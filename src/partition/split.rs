//! `--emit split`: one ONNX model per part — each NPU region as `<stem>.npu<k>.onnx`, the CPU work
//! as `<stem>.cpu<j>.onnx` (see `parts`: every op node lands in exactly one part, and every part
//! runs on its own) — and a manifest naming the parts in a valid run order and every tensor that
//! crosses between them.
//!
//! Each part carries the initializers it reads (a weight read by two parts is stored in both:
//! each file must run alone). Values keep their names, so a runner feeds each part from the
//! tensors of the parts before it by name; graph inputs and outputs keep theirs too.

use serde::Serialize;

use super::parts::{parts, Part, PartKind};
use super::plan::Plan;
use crate::ir::extract::extract;
use crate::ir::quant::quant_of;
use crate::ir::{Dim, Graph, Model, NodeKind, ValueId};
use crate::pass::apply_metadata;

/// The model metadata key naming the part a file holds.
pub const PART_KEY: &str = "npuopt.part";
/// The manifest's `format` field.
pub const MANIFEST_FORMAT: &str = "npuopt-split/1";

/// One part, ready to be written as `file` beside the main output.
pub struct SplitPart {
    pub file: String,
    pub model: Model,
}

/// The parts and the manifest describing them.
pub struct Split {
    pub parts: Vec<SplitPart>,
    pub manifest: Manifest,
}

/// `<stem>.manifest.json`: what runs where, in which order, on which tensors.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub format: &'static str,
    pub target: String,
    /// The graph's inputs and outputs, by name.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// In a valid run order.
    pub parts: Vec<ManifestPart>,
    /// Every tensor a part reads from outside it or provides to another part or the graph's
    /// outputs, in order of first appearance along the run order.
    pub tensors: Vec<BoundaryTensor>,
}

impl Manifest {
    /// The manifest as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Plain structs of strings and numbers: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

#[derive(Debug, Serialize)]
pub struct ManifestPart {
    /// `npu<k>` or `cpu<j>`.
    pub name: String,
    pub file: String,
    /// `npu` or `cpu`.
    pub kind: &'static str,
    /// The plan's region number, for an NPU part.
    pub region: Option<usize>,
    pub nodes: usize,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BoundaryTensor {
    pub name: String,
    /// npuopt's short type name (`i8`, `u8`, `f32`, …) and the ONNX element type code.
    pub dtype: Option<String>,
    pub elem_type: Option<i32>,
    /// Sizes; a symbolic dimension is its name, an unknown one `null`.
    pub shape: Option<Vec<serde_json::Value>>,
    /// For an integer tensor with known quantization: `real = (q - zero_point) * scale`.
    pub quantization: Option<Quantization>,
    /// The part computing it; `null` for a graph input.
    pub producer: Option<String>,
    /// The parts reading it.
    pub consumers: Vec<String>,
    pub graph_input: bool,
    pub graph_output: bool,
}

#[derive(Debug, Serialize)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// The channel axis of a per-axis quantization.
    pub axis: Option<i64>,
}

/// Splits `model` (whose graph `plan` was computed on) into parts named after `stem`.
pub fn split(model: &Model, plan: &Plan, stem: &str) -> Result<Split, String> {
    let g = &model.graph;
    let parts = parts(g, plan)?;
    let file = |p: &Part| format!("{stem}.{}.onnx", p.name);
    let mut out = Vec::with_capacity(parts.len());
    for p in &parts {
        let mut members = p.nodes.clone();
        members.extend(&p.constants);
        let mut graph = extract(g, &members, &p.inputs, &p.outputs)
            .map_err(|e| format!("part {}: {e}", p.name))?;
        graph.shell.name = Some(format!("{}.{}", g.shell.name(), p.name));
        let mut shell = model.shell.clone();
        apply_metadata(&mut shell, vec![(PART_KEY.to_string(), p.name.clone())]);
        out.push(SplitPart {
            file: file(p),
            model: Model { graph, shell },
        });
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        target: plan.summary.target.clone(),
        inputs: g
            .inputs()
            .iter()
            .map(|&n| g.node(n).outputs[0].name.clone())
            .collect(),
        outputs: g
            .outputs()
            .iter()
            .map(|o| g.value(o.value).name.clone())
            .collect(),
        tensors: boundary_tensors(g, &parts),
        parts: parts
            .iter()
            .map(|p| ManifestPart {
                name: p.name.clone(),
                file: file(p),
                kind: match p.kind {
                    PartKind::Npu { .. } => "npu",
                    PartKind::Cpu => "cpu",
                },
                region: match p.kind {
                    PartKind::Npu { region } => Some(region),
                    PartKind::Cpu => None,
                },
                nodes: p.nodes.len(),
                inputs: names(g, &p.inputs),
                outputs: names(g, &p.outputs),
            })
            .collect(),
    };
    Ok(Split {
        parts: out,
        manifest,
    })
}

fn names(g: &Graph, values: &[ValueId]) -> Vec<String> {
    values.iter().map(|&v| g.value(v).name.clone()).collect()
}

/// The tensors crossing part boundaries, graph inputs and graph outputs among them.
fn boundary_tensors(g: &Graph, parts: &[Part]) -> Vec<BoundaryTensor> {
    let mut listed: Vec<ValueId> = Vec::new();
    for p in parts {
        for &v in p.inputs.iter().chain(&p.outputs) {
            if !listed.contains(&v) {
                listed.push(v);
            }
        }
    }
    // A graph output no part computes (an input or initializer passed straight through).
    for o in g.outputs() {
        if !listed.contains(&o.value) {
            listed.push(o.value);
        }
    }
    listed
        .into_iter()
        .map(|v| {
            let value = g.value(v);
            let ty = value.ty.as_ref();
            let integer = ty.is_some_and(|t| !t.dtype.is_float());
            BoundaryTensor {
                name: value.name.clone(),
                dtype: ty.map(|t| t.dtype.name()),
                elem_type: ty.map(|t| t.dtype.onnx_code()),
                shape: ty.and_then(|t| t.shape.as_ref()).map(|s| {
                    s.iter()
                        .map(|d| match d {
                            Dim::Known(n) => serde_json::Value::from(*n),
                            Dim::Param(p) => serde_json::Value::from(p.as_str()),
                            Dim::Unknown => serde_json::Value::Null,
                        })
                        .collect()
                }),
                quantization: integer
                    .then(|| quant_of(g, v))
                    .flatten()
                    .map(|q| Quantization {
                        zero_point: if q.zero_point.is_empty() {
                            vec![0; q.scale.len()]
                        } else {
                            q.zero_point
                        },
                        scale: q.scale,
                        axis: q.axis,
                    }),
                producer: parts
                    .iter()
                    .find(|p| p.outputs.contains(&v))
                    .map(|p| p.name.clone()),
                consumers: parts
                    .iter()
                    .filter(|p| p.inputs.contains(&v))
                    .map(|p| p.name.clone())
                    .collect(),
                graph_input: matches!(g.node(v.node).kind, NodeKind::Input(_)),
                graph_output: g.is_output(v),
            }
        })
        .collect()
}
