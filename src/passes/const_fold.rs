//! `const-fold`: replaces every node whose inputs are all constants by the constants it computes.
//!
//! ```text
//! before:  const %0: i64[2] = [1, 8]
//!          const %1: i64[2] = [4, 2]
//!          %2 = Mul(%0, %1)
//!          %3 = Reshape(%x, %2)
//! after:   const %2: i64[2] = [4, 16]
//!          %3 = Reshape(%x, %2)
//! ```
//! The values are computed by the reference evaluator, so folding means what running means.
//! `Shape` of a value whose shape is static folds too, which lets shape-only chains
//! (Shape → Gather → Concat → Reshape) collapse once shapes are known.
//!
//! Not folded: QuantizeLinear and DequantizeLinear (quantized weights must stay quantized — the
//! NPU wants the integers, and a float copy would quadruple the weights), ops the evaluator does
//! not implement, and results that would grow the model: any output over 1 MiB, and outputs of
//! Tile, Expand, ConstantOfShape and Range larger than their inputs. Run `dce` afterwards for the
//! constants nothing reads any more. Preconditions: types inferred (for `Shape`).

use std::collections::HashSet;

use crate::eval::{self, Tensor};
use crate::ir::consts::constant;
use crate::ir::extract::extract;
use crate::ir::{Graph, Initializer, NodeId, NodeKind, Op, Port, TensorData, Value, ValueId};
use crate::pass::{Changed, Pass, PassCx};

pub struct ConstFold;

/// The largest tensor a fold may create.
const MAX_BYTES: usize = 1 << 20;

impl Pass for ConstFold {
    fn name(&self) -> &'static str {
        "const-fold"
    }

    fn summary(&self) -> &'static str {
        "replace nodes whose inputs are all constant by their results (never Q/DQ of weights)"
    }

    fn exact(&self) -> bool {
        true
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String> {
        let order = g
            .op_order()
            .map_err(|c| format!("cycle through '{}'", c.node))?;
        let options = eval::Options {
            onnx_opset: cx
                .opsets
                .get("")
                .copied()
                .unwrap_or(eval::Options::default().onnx_opset),
        };
        let mut changed = false;
        for id in order {
            let Some(op) = g.node(id).as_op() else {
                continue;
            };
            if matches!(
                op.op(),
                Op::QuantizeLinear | Op::DequantizeLinear | Op::Constant
            ) || !eval::supports(op.domain(), op.op_type())
                || op
                    .proto()
                    .attribute
                    .iter()
                    .any(|a| a.g.is_some() || !a.graphs.is_empty())
            {
                continue;
            }
            let results = match op.op() {
                Op::Shape => shape_of(g, id),
                _ => evaluate(g, id, &options),
            };
            let Some(results) = results else { continue };
            let who = g.node(id).display_name();
            match replace(g, id, results) {
                Ok(()) => changed = true,
                Err(reason) => cx.reject(&who, reason),
            }
        }
        Ok(Changed::from(changed))
    }
}

/// `Shape` of a statically shaped value (with `start`/`end`).
fn shape_of(g: &Graph, id: NodeId) -> Option<Vec<Tensor>> {
    let dims = g.value(g.input(id, 0)?).ty.as_ref()?.static_dims()?;
    let op = g.node(id).as_op()?;
    let rank = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let start = clamp(op.attr_int("start").ok()?.unwrap_or(0));
    let end = clamp(op.attr_int("end").ok()?.unwrap_or(rank));
    let part: Vec<i64> = dims.get(start..end.max(start))?.to_vec();
    Some(vec![Tensor::from_vec(vec![part.len()], part).ok()?])
}

/// Runs one node whose inputs are all constants; `None` when it should not be folded.
fn evaluate(g: &Graph, id: NodeId, options: &eval::Options) -> Option<Vec<Tensor>> {
    let inputs: Vec<ValueId> = g.inputs_of(id).into_iter().flatten().collect();
    if inputs.is_empty() || g.incoming(id).iter().any(|(_, p)| *p == Port::Capture) {
        return None;
    }
    let mut input_bytes = 0;
    let mut members: HashSet<NodeId> = HashSet::from([id]);
    for &v in &inputs {
        input_bytes += constant(g, v)?.bytes.len();
        members.insert(v.node);
    }
    let used: Vec<ValueId> = g.values_of(id).filter(|&v| g.is_used(v)).collect();
    let members: Vec<NodeId> = members.into_iter().collect();
    let sub = extract(g, &members, &[], &used).ok()?;
    let out = eval::run_with(&sub, &[], options).ok()?;
    let growing = matches!(
        g.node(id).op(),
        Some(Op::Tile | Op::Expand | Op::ConstantOfShape | Op::Range)
    );
    let mut results = Vec::new();
    for (_, t) in out {
        let size = t.len() * t.dtype().byte_size().unwrap_or(8);
        if size > MAX_BYTES || (growing && size > input_bytes) {
            return None;
        }
        results.push(t);
    }
    Some(results)
}

/// Replaces the used outputs of `id` by initializers holding `results` (in the order of the used
/// outputs), keeping their names and declarations.
fn replace(g: &mut Graph, id: NodeId, results: Vec<Tensor>) -> Result<(), String> {
    let used: Vec<ValueId> = g.values_of(id).filter(|&v| g.is_used(v)).collect();
    if used
        .iter()
        .any(|&v| g.uses(v).iter().any(|(_, p)| *p == Port::Capture))
    {
        return Err("a subgraph reads the result by name".into());
    }
    let mut replacements = Vec::new();
    for (&v, t) in used.iter().zip(results) {
        let value: Value = g.value(v).clone();
        let mut shell = t.to_proto(&value.name);
        let data = match shell.raw_data.take() {
            Some(raw) => TensorData::Raw(g.pool.intern(raw)),
            None => TensorData::Inline,
        };
        let init = Initializer { shell, data };
        let ty = init.ty();
        let node = g.add_node(
            NodeKind::Initializer(init),
            vec![Value {
                name: String::new(),
                ty: Some(ty),
                ..value
            }],
        );
        replacements.push((v, ValueId { node, slot: 0 }));
    }
    for &(old, new) in &replacements {
        if !g.replace_uses(old, new) {
            return Err("a subgraph reads the result by name".into());
        }
    }
    let names: Vec<String> = replacements
        .iter()
        .map(|(old, _)| g.value(*old).name.clone())
        .collect();
    g.remove_node(id);
    for ((_, new), name) in replacements.into_iter().zip(names) {
        if let NodeKind::Initializer(init) = &mut g.node_mut(new.node).kind {
            init.shell.name = Some(name.clone());
        }
        g.value_mut(new).name = name;
    }
    Ok(())
}
