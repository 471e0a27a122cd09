//! Graph → text IR. The format is described in the module documentation of `print`.

use std::collections::HashMap;
use std::fmt::Write;

use super::lexer::{is_plain_word, quote};
use super::tensor_text::{element_count, format_body, format_hash, Content};
use crate::ir::attrs::attr_type;
use crate::ir::types::static_shape;
use crate::ir::{
    DType, Dim, Graph, Initializer, NodeId, NodeKind, TensorData, TensorType, ValueId,
};
use crate::proto::{self, attribute_proto::AttributeType};

/// Prints a graph as text IR: canonical (values renumbered in print order, attributes sorted,
/// intermediate names left out) and deterministic.
pub fn print_graph(g: &Graph) -> String {
    let layout = Layout::of(g);
    let numbers = layout
        .values(g)
        .into_iter()
        .enumerate()
        .map(|(n, v)| (v, n))
        .collect();
    Printer { g, numbers }.print(&layout)
}

/// The value numbers [`print_graph`] gave a graph, so that a later state of the same graph can be
/// printed with the same numbers ([`print_graph_numbered`]).
pub struct Numbering {
    numbers: HashMap<ValueId, (usize, NodeKey)>,
    next: usize,
}

/// What must still match for a value to keep its number: node ids are reused after removal, so
/// the id alone could hand a removed value's number to a new node.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NodeKey {
    /// Graph input or constant: its value's name.
    Signature(String),
    /// Op: domain, op type and node name.
    Op(String, String, String),
}

fn node_key(g: &Graph, node: NodeId) -> NodeKey {
    match g.node(node).as_op() {
        Some(op) => NodeKey::Op(op.domain().into(), op.op_type().into(), op.name().into()),
        None => NodeKey::Signature(g.node(node).outputs[0].name.clone()),
    }
}

impl Numbering {
    pub fn of(g: &Graph) -> Numbering {
        let values = Layout::of(g).values(g);
        let next = values.len();
        let numbers = values
            .into_iter()
            .enumerate()
            .map(|(n, v)| (v, (n, node_key(g, v.node))))
            .collect();
        Numbering { numbers, next }
    }
}

/// Prints `g` like [`print_graph`], except that values `earlier` numbered keep their numbers
/// (when their node is still the same kind of node) and new values are numbered after them. Not
/// canonical; for diffs of one graph before and after a rewrite, where renumbering every value
/// behind a removed one would hide the change.
pub fn print_graph_numbered(g: &Graph, earlier: &Numbering) -> String {
    let layout = Layout::of(g);
    let mut next = earlier.next;
    let numbers = layout
        .values(g)
        .into_iter()
        .map(|v| match earlier.numbers.get(&v) {
            Some((n, key)) if *key == node_key(g, v.node) => (v, *n),
            _ => {
                next += 1;
                (v, next - 1)
            }
        })
        .collect();
    Printer { g, numbers }.print(&layout)
}

/// Which nodes are printed, in which order.
struct Layout {
    constants: Vec<NodeId>,
    ops: Vec<NodeId>,
    /// A node on a cycle, when the graph has one (then ops are in creation order).
    cycle: Option<String>,
}

impl Layout {
    fn of(g: &Graph) -> Layout {
        let (ops, cycle) = match g.op_order() {
            Ok(ops) => (ops, None),
            Err(cycle) => {
                let ops = g
                    .nodes()
                    .into_iter()
                    .filter(|&n| g.node(n).as_op().is_some())
                    .collect();
                (ops, Some(cycle.node))
            }
        };
        let constants = g
            .initializers()
            .iter()
            .copied()
            .filter(|&n| !matches!(g.node(n).kind, NodeKind::Input(_)))
            .collect();
        Layout {
            constants,
            ops,
            cycle,
        }
    }

    /// The numbered values in print order.
    fn values(&self, g: &Graph) -> Vec<ValueId> {
        g.inputs()
            .iter()
            .chain(&self.constants)
            .chain(&self.ops)
            .flat_map(|&node| g.values_of(node))
            .filter(|&v| !is_unnamed_unused(g, v))
            .collect()
    }
}

/// An optional output the model left unnamed (`""`) and nothing reads: printed as `_`.
fn is_unnamed_unused(g: &Graph, v: ValueId) -> bool {
    g.value(v).name.is_empty() && !g.is_used(v)
}

struct Printer<'g> {
    g: &'g Graph,
    numbers: HashMap<ValueId, usize>,
}

impl Printer<'_> {
    fn print(&self, layout: &Layout) -> String {
        let g = self.g;
        let mut out = String::new();
        if let Some(node) = &layout.cycle {
            let _ = writeln!(
                out,
                "# error: the graph has a cycle through node '{node}'; ops in creation order"
            );
        }
        for &node in g.inputs() {
            self.input(&mut out, node);
        }
        for &node in &layout.constants {
            self.constant(&mut out, node);
        }
        for &node in &layout.ops {
            self.op(&mut out, node);
        }
        for o in g.outputs() {
            let _ = writeln!(
                out,
                "output {} {}",
                self.value(o.value),
                quote(g.value(o.value).name.as_bytes())
            );
        }
        out
    }

    fn value(&self, v: ValueId) -> String {
        self.numbers
            .get(&v)
            .map_or_else(|| "%?".into(), |n| format!("%{n}"))
    }

    /// `%3` or `%3: f32[1,4]`.
    fn typed_value(&self, v: ValueId) -> String {
        match &self.g.value(v).ty {
            Some(ty) => format!("{}: {}", self.value(v), format_type(ty)),
            None => self.value(v),
        }
    }

    fn input(&self, out: &mut String, node: NodeId) {
        let NodeKind::Input(input) = &self.g.node(node).kind else {
            return;
        };
        let v = ValueId { node, slot: 0 };
        let _ = write!(
            out,
            "input {} {}",
            self.value(v),
            quote(self.g.value(v).name.as_bytes())
        );
        if let Some(ty) = &self.g.value(v).ty {
            let _ = write!(out, ": {}", format_type(ty));
        }
        if let Some(default) = &input.default {
            let _ = write!(out, " default <{}>", self.initializer(default));
        }
        out.push('\n');
    }

    fn constant(&self, out: &mut String, node: NodeId) {
        let v = self.value(ValueId { node, slot: 0 });
        let _ = match &self.g.node(node).kind {
            NodeKind::Initializer(init) => writeln!(out, "const {v}: {}", self.initializer(init)),
            NodeKind::SparseInitializer(s) => writeln!(out, "sparse {v}: {}", format_sparse(s)),
            _ => Ok(()),
        };
    }

    /// `f32[4] = [..]` or `i8[16,3,3,3] #3f9a1c2e`.
    fn initializer(&self, init: &Initializer) -> String {
        let (content, hash) = match init.data {
            TensorData::Raw(id) | TensorData::External(id) => (
                Content::Bytes(self.g.pool.get(id).clone()),
                Some(self.g.pool.hash(id)),
            ),
            TensorData::Inline => (Content::of_proto(&init.shell), None),
        };
        format!(
            "{}{}",
            format_static_type(init.dtype(), init.dims()),
            format_body(
                init.dtype(),
                init.dims(),
                &content,
                hash,
                &init.shell.metadata_props
            )
        )
    }

    fn op(&self, out: &mut String, node: NodeId) {
        let n = self.g.node(node);
        let Some(op) = n.as_op() else { return };
        let outputs: Vec<String> = self
            .g
            .values_of(node)
            .map(|v| {
                if self.numbers.contains_key(&v) {
                    self.typed_value(v)
                } else {
                    "_".into()
                }
            })
            .collect();
        let outputs = if outputs.is_empty() {
            "()".into()
        } else {
            outputs.join(", ")
        };
        let args: Vec<String> = self
            .g
            .inputs_of(node)
            .into_iter()
            .map(|v| v.map_or_else(|| "_".into(), |v| self.value(v)))
            .collect();
        let _ = write!(
            out,
            "{outputs} = {}({})",
            format_op_name(op.domain(), op.op_type()),
            args.join(", ")
        );
        let mut attrs: Vec<&proto::AttributeProto> = op.proto().attribute.iter().collect();
        attrs.sort_by(|a, b| a.name().cmp(b.name()));
        if !attrs.is_empty() {
            let attrs: Vec<String> = attrs
                .iter()
                .map(|a| format!("{}={}", format_word(a.name()), format_attr(a)))
                .collect();
            let _ = write!(out, " {{{}}}", attrs.join(", "));
        }
        let mut captures: Vec<(usize, String)> = self
            .g
            .captures_of(node)
            .into_iter()
            .map(|v| {
                (
                    self.numbers.get(&v).copied().unwrap_or(usize::MAX),
                    self.value(v),
                )
            })
            .collect();
        if !captures.is_empty() {
            captures.sort();
            let captures: Vec<String> = captures.into_iter().map(|(_, v)| v).collect();
            let _ = write!(out, " captures({})", captures.join(", "));
        }
        if !op.name().is_empty() {
            let _ = write!(out, "  # {}", format_comment(op.name()));
        }
        out.push('\n');
    }
}

/// `f32[1,3,?,N]`; `f32` alone when even the rank is unknown.
fn format_type(ty: &TensorType) -> String {
    let mut s = ty.dtype.name();
    if let Some(shape) = &ty.shape {
        let dims: Vec<String> = shape
            .iter()
            .map(|d| match d {
                Dim::Known(n) => n.to_string(),
                Dim::Param(p) => format_word(p),
                Dim::Unknown => "?".into(),
            })
            .collect();
        let _ = write!(s, "[{}]", dims.join(","));
    }
    s
}

fn format_static_type(dtype: DType, dims: &[i64]) -> String {
    format_type(&TensorType::new(dtype, static_shape(dims)))
}

/// A name as a bare word when it is one, else quoted.
fn format_word(s: &str) -> String {
    if is_plain_word(s) {
        s.into()
    } else {
        quote(s.as_bytes())
    }
}

/// `Conv`, `com.microsoft.QLinearAdd`, or `"domain"."op"` for names that are not plain words.
fn format_op_name(domain: &str, op_type: &str) -> String {
    let plain_domain = domain.is_empty() || domain.split('.').all(is_plain_word);
    match (plain_domain && is_plain_word(op_type), domain.is_empty()) {
        (true, true) => op_type.into(),
        (true, false) => format!("{domain}.{op_type}"),
        (false, _) => format!("{}.{}", quote(domain.as_bytes()), quote(op_type.as_bytes())),
    }
}

/// A node name as the trailing comment: as is, unless it would not read back the same.
fn format_comment(name: &str) -> String {
    let as_is =
        name.trim() == name && !name.starts_with('"') && !name.chars().any(char::is_control);
    if as_is {
        name.into()
    } else {
        quote(name.as_bytes())
    }
}

fn format_f32(f: f32) -> String {
    format!("{f:?}")
}

fn format_attr(a: &proto::AttributeProto) -> String {
    let list = |items: Vec<String>, empty: &str| {
        if items.is_empty() {
            empty.to_string()
        } else {
            format!("[{}]", items.join(","))
        }
    };
    match attr_type(a) {
        AttributeType::Float => format_f32(a.f()),
        AttributeType::Int => a.i().to_string(),
        AttributeType::String => quote(a.s()),
        AttributeType::Tensor => {
            a.t.as_ref()
                .map_or_else(|| "<undefined>".into(), format_tensor)
        }
        AttributeType::Graph => {
            a.g.as_ref()
                .map_or_else(|| "<undefined>".into(), format_graph)
        }
        AttributeType::SparseTensor => a.sparse_tensor.as_ref().map_or_else(
            || "<undefined>".into(),
            |s| format!("<sparse {}>", format_sparse(s)),
        ),
        AttributeType::TypeProto => {
            a.tp.as_ref()
                .map_or_else(|| "<undefined>".into(), format_type_proto)
        }
        AttributeType::Floats => list(
            a.floats.iter().map(|&f| format_f32(f)).collect(),
            "floats[]",
        ),
        AttributeType::Ints => list(a.ints.iter().map(i64::to_string).collect(), "[]"),
        AttributeType::Strings => list(a.strings.iter().map(|s| quote(s)).collect(), "strings[]"),
        AttributeType::Tensors => list(a.tensors.iter().map(format_tensor).collect(), "tensors[]"),
        AttributeType::Graphs => list(a.graphs.iter().map(format_graph).collect(), "graphs[]"),
        AttributeType::SparseTensors => list(
            a.sparse_tensors
                .iter()
                .map(|s| format!("<sparse {}>", format_sparse(s)))
                .collect(),
            "sparse_tensors[]",
        ),
        AttributeType::TypeProtos => list(
            a.type_protos.iter().map(format_type_proto).collect(),
            "type_protos[]",
        ),
        AttributeType::Undefined => "<undefined>".into(),
    }
}

/// `<f32[1] = [0.0]>` or `<f32[16] #3f9a1c2e>`.
fn format_tensor(t: &proto::TensorProto) -> String {
    let dtype = DType::from_onnx(t.data_type());
    let body = format_body(
        dtype,
        &t.dims,
        &Content::of_proto(t),
        None,
        &t.metadata_props,
    );
    format!("<{}{body}>", format_static_type(dtype, &t.dims))
}

/// `<graph "loop_body": 4 nodes>`: subgraphs are shown, not printed.
fn format_graph(g: &proto::GraphProto) -> String {
    let n = g.node.len();
    let noun = if n == 1 { "node" } else { "nodes" };
    format!("<graph {}: {n} {noun}>", quote(g.name().as_bytes()))
}

/// `f32[100,100] nnz=12 #1a2b3c4d`: type, number of stored values, hash of values and indices.
fn format_sparse(s: &proto::SparseTensorProto) -> String {
    let empty = proto::TensorProto::default();
    let values = s.values.as_ref().unwrap_or(&empty);
    let indices = s.indices.as_ref().unwrap_or(&empty);
    let dtype = DType::from_onnx(values.data_type());
    let nnz = element_count(&values.dims).unwrap_or(0);
    let content = Content::of_proto(values).concat(Content::of_proto(indices));
    format!(
        "{} nnz={nnz}{}",
        format_static_type(dtype, &s.dims),
        format_hash(content.hash(), &values.metadata_props)
    )
}

/// `<type f32[1,2]>`, or `<type ?>` for types that are not tensors.
fn format_type_proto(tp: &proto::TypeProto) -> String {
    match TensorType::from_proto(tp) {
        Some(ty) => format!("<type {}>", format_type(&ty)),
        None => "<type ?>".into(),
    }
}
