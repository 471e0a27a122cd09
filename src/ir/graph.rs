//! The graph: nodes and the values they produce, wired by edges that carry slot numbers.
//!
//! petgraph's `StableDiGraph` stays private to this module; the rest of the crate speaks
//! [`NodeId`] and [`ValueId`]. Every value is an output slot of a node: graph inputs and
//! initializers are nodes too ([`NodeKind::Input`], [`NodeKind::Initializer`]), so a pass never
//! needs a special case for "this operand is a weight". An edge runs from the producing node to
//! the consuming node and says which output slot feeds which [`Port`]; a missing optional input is
//! simply a slot without an edge.
//!
//! Subgraphs (If/Loop/Scan bodies and any other graph-valued attribute) stay inside their
//! attribute, untouched. What they read from this graph by name is wired as [`Port::Capture`]
//! edges, so dead-code elimination and topological order see those uses, and renaming a captured
//! value is refused (the body names it).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::op::Op;
use super::tensors::{Initializer, TensorPool};
use super::types::TensorType;
use crate::proto;

/// A node of a [`Graph`]. Stable while the node lives; never printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(NodeIndex);

/// A value: output `slot` of `node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId {
    pub node: NodeId,
    pub slot: u32,
}

/// Where a value enters its consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Port {
    /// Input slot `n` of an op.
    Input(u32),
    /// Read by name from inside one of the consumer's subgraphs.
    Capture,
}

#[derive(Clone, Copy, Debug)]
struct Edge {
    src_slot: u32,
    port: Port,
}

/// A value produced by a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// The ONNX name. Unique within the graph, except `""` (an unused optional output).
    pub name: String,
    /// What is known of its type: declared by the model or inferred.
    pub ty: Option<TensorType>,
    /// The model's `value_info` entry for this value, if it had one.
    pub info: Option<DeclaredInfo>,
}

impl Value {
    pub fn new(name: impl Into<String>) -> Value {
        Value {
            name: name.into(),
            ty: None,
            info: None,
        }
    }

    pub fn typed(name: impl Into<String>, ty: TensorType) -> Value {
        Value {
            ty: Some(ty),
            ..Value::new(name)
        }
    }
}

/// A `value_info` entry as the model declared it, with its position in the model's list so the
/// list is written back in the same order.
#[derive(Clone, Debug, PartialEq)]
pub struct DeclaredInfo {
    pub seq: u32,
    pub proto: proto::ValueInfoProto,
}

/// A graph input: its declaration, and the initializer that gives it a default value (IR < 4
/// models list weights as inputs too; such an input is *not* a constant: the caller may feed it).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GraphInput {
    pub info: proto::ValueInfoProto,
    pub default: Option<Initializer>,
}

/// An operator node. `proto` is the model's `NodeProto` without its input and output names (the
/// edges and [`Value`]s own those): name, op type, domain, attributes, doc string, metadata and
/// device configurations stay exactly as written.
#[derive(Clone, Debug, PartialEq)]
pub struct OpNode {
    op: Op,
    proto: proto::NodeProto,
    /// Number of input slots, trailing missing optional inputs included.
    pub arity: u32,
}

impl OpNode {
    /// An op node from its `NodeProto` (input and output lists are ignored).
    pub fn new(mut proto: proto::NodeProto, arity: u32) -> OpNode {
        proto.input.clear();
        proto.output.clear();
        let op = Op::from_onnx(proto.domain(), proto.op_type());
        OpNode { op, proto, arity }
    }

    pub fn op(&self) -> Op {
        self.op
    }

    pub fn proto(&self) -> &proto::NodeProto {
        &self.proto
    }

    /// Mutable access to attributes and metadata; the op type and domain are fixed for the node's life.
    pub fn attrs_mut(&mut self) -> &mut Vec<proto::AttributeProto> {
        &mut self.proto.attribute
    }

    pub fn op_type(&self) -> &str {
        self.proto.op_type()
    }

    /// The node's metadata entries (where placement annotations go).
    pub fn metadata_mut(&mut self) -> &mut Vec<proto::StringStringEntryProto> {
        &mut self.proto.metadata_props
    }

    pub fn domain(&self) -> &str {
        self.proto.domain()
    }

    /// The node's name, `""` when it has none.
    pub fn name(&self) -> &str {
        self.proto.name()
    }

    pub fn attr(&self, name: &str) -> Option<&proto::AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name() == name)
    }
}

/// What a node is.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Input(Box<GraphInput>),
    Initializer(Initializer),
    /// A sparse initializer, kept exactly as written.
    SparseInitializer(Box<proto::SparseTensorProto>),
    Op(OpNode),
}

/// A node and the values it produces.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub outputs: Vec<Value>,
    /// Creation order; breaks ties in [`Graph::topo_order`] so that a model's own order survives.
    seq: u64,
}

impl Node {
    pub fn as_op(&self) -> Option<&OpNode> {
        match &self.kind {
            NodeKind::Op(op) => Some(op),
            _ => None,
        }
    }

    pub fn as_op_mut(&mut self) -> Option<&mut OpNode> {
        match &mut self.kind {
            NodeKind::Op(op) => Some(op),
            _ => None,
        }
    }

    /// The op kind, `None` for inputs and initializers.
    pub fn op(&self) -> Option<Op> {
        self.as_op().map(OpNode::op)
    }

    /// A name for messages: the node name, else its first output's name.
    pub fn display_name(&self) -> String {
        match &self.kind {
            NodeKind::Op(op) if !op.name().is_empty() => op.name().to_string(),
            _ => self
                .outputs
                .iter()
                .map(|v| v.name.as_str())
                .find(|n| !n.is_empty())
                .unwrap_or("<unnamed>")
                .to_string(),
        }
    }
}

/// A graph output: the value and its declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphOutput {
    pub value: ValueId,
    pub info: proto::ValueInfoProto,
}

/// A cycle was found; the node named is on it.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleError {
    pub node: String,
}

/// A dataflow graph. See the module documentation for the model. Cloning is cheap enough for a
/// trial rewrite (tensor data is shared, not copied).
#[derive(Clone, Default)]
pub struct Graph {
    g: StableDiGraph<Node, Edge>,
    inputs: Vec<NodeId>,
    initializers: Vec<NodeId>,
    outputs: Vec<GraphOutput>,
    /// `value_info` entries naming no value of the graph; kept so that nothing is lost.
    pub dangling_info: Vec<DeclaredInfo>,
    /// The model's `GraphProto` without nodes, inputs, outputs, initializers and value_info:
    /// name, doc string, quantization annotations and metadata stay as written.
    pub shell: proto::GraphProto,
    pub pool: TensorPool,
    next_seq: u64,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    // ----- building -------------------------------------------------------------------------

    /// Adds a node; inputs and initializers are also registered in the graph's signature lists.
    pub fn add_node(&mut self, kind: NodeKind, outputs: Vec<Value>) -> NodeId {
        let is_input = matches!(kind, NodeKind::Input(_));
        let is_init = matches!(
            kind,
            NodeKind::Initializer(_) | NodeKind::SparseInitializer(_)
        ) || matches!(&kind, NodeKind::Input(i) if i.default.is_some());
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = NodeId(self.g.add_node(Node { kind, outputs, seq }));
        if is_input {
            self.inputs.push(id);
        }
        if is_init {
            self.initializers.push(id);
        }
        id
    }

    /// Adds an op node wired to `inputs` (one entry per slot; `None` = missing optional input).
    pub fn add_op(
        &mut self,
        op: OpNode,
        inputs: &[Option<ValueId>],
        outputs: Vec<Value>,
    ) -> NodeId {
        let arity = inputs.len() as u32;
        let op = OpNode { arity, ..op };
        let id = self.add_node(NodeKind::Op(op), outputs);
        for (slot, v) in inputs.iter().enumerate() {
            if let Some(v) = v {
                self.connect(*v, id, Port::Input(slot as u32));
            }
        }
        id
    }

    /// Adds an edge. For `Port::Input` the caller guarantees the slot had no edge.
    pub fn connect(&mut self, src: ValueId, dst: NodeId, port: Port) {
        self.g.add_edge(
            src.node.0,
            dst.0,
            Edge {
                src_slot: src.slot,
                port,
            },
        );
    }

    /// Sets (or clears) input `slot` of `node`.
    pub fn set_input(&mut self, node: NodeId, slot: u32, src: Option<ValueId>) {
        let old: Vec<_> = self
            .g
            .edges_directed(node.0, Direction::Incoming)
            .filter(|e| e.weight().port == Port::Input(slot))
            .map(|e| e.id())
            .collect();
        for e in old {
            self.g.remove_edge(e);
        }
        if let Some(src) = src {
            self.connect(src, node, Port::Input(slot));
        }
        if let Some(op) = self.node_mut(node).as_op_mut() {
            op.arity = op.arity.max(slot + 1);
        }
    }

    /// Sets the order in which initializers are written (the decoder restores the model's own).
    /// `order` must hold exactly the graph's initializer nodes.
    pub fn set_initializer_order(&mut self, order: Vec<NodeId>) {
        debug_assert_eq!(
            order.iter().collect::<std::collections::HashSet<_>>(),
            self.initializers
                .iter()
                .collect::<std::collections::HashSet<_>>()
        );
        self.initializers = order;
    }

    /// Appends a graph output.
    pub fn add_output(&mut self, value: ValueId, info: proto::ValueInfoProto) {
        self.outputs.push(GraphOutput { value, info });
    }

    /// Removes a node and all its edges. Its values must have no users left (the verifier checks
    /// graph outputs).
    pub fn remove_node(&mut self, node: NodeId) {
        self.inputs.retain(|&n| n != node);
        self.initializers.retain(|&n| n != node);
        self.g.remove_node(node.0);
    }

    // ----- reading --------------------------------------------------------------------------

    pub fn node(&self, id: NodeId) -> &Node {
        &self.g[id.0]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.g[id.0]
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.g.contains_node(id.0)
    }

    pub fn value(&self, v: ValueId) -> &Value {
        &self.g[v.node.0].outputs[v.slot as usize]
    }

    pub fn value_mut(&mut self, v: ValueId) -> &mut Value {
        &mut self.g[v.node.0].outputs[v.slot as usize]
    }

    /// Number of nodes, inputs and initializers included.
    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// All nodes in creation order (deterministic; not topological).
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.g.node_indices().map(NodeId).collect();
        ids.sort_by_key(|&n| self.g[n.0].seq);
        ids
    }

    /// Values of a node, as ids.
    pub fn values_of(&self, node: NodeId) -> impl Iterator<Item = ValueId> + '_ {
        (0..self.node(node).outputs.len() as u32).map(move |slot| ValueId { node, slot })
    }

    /// Graph inputs in declaration order.
    pub fn inputs(&self) -> &[NodeId] {
        &self.inputs
    }

    /// Initializers (dense, sparse, and defaults of inputs) in declaration order.
    pub fn initializers(&self) -> &[NodeId] {
        &self.initializers
    }

    pub fn outputs(&self) -> &[GraphOutput] {
        &self.outputs
    }

    pub fn outputs_mut(&mut self) -> &mut Vec<GraphOutput> {
        &mut self.outputs
    }

    /// The inputs of a node, one entry per slot.
    pub fn inputs_of(&self, node: NodeId) -> Vec<Option<ValueId>> {
        let arity = self.node(node).as_op().map_or(0, |op| op.arity) as usize;
        let mut slots = vec![None; arity];
        for e in self.g.edges_directed(node.0, Direction::Incoming) {
            if let Port::Input(s) = e.weight().port {
                if let Some(slot) = slots.get_mut(s as usize) {
                    *slot = Some(ValueId {
                        node: NodeId(e.source()),
                        slot: e.weight().src_slot,
                    });
                }
            }
        }
        slots
    }

    /// Every incoming edge of a node as (source value, port), for the verifier.
    pub fn incoming(&self, node: NodeId) -> Vec<(ValueId, Port)> {
        self.g
            .edges_directed(node.0, Direction::Incoming)
            .map(|e| {
                let v = ValueId {
                    node: NodeId(e.source()),
                    slot: e.weight().src_slot,
                };
                (v, e.weight().port)
            })
            .collect()
    }

    /// Input `slot` of `node`, if connected.
    pub fn input(&self, node: NodeId, slot: u32) -> Option<ValueId> {
        self.g
            .edges_directed(node.0, Direction::Incoming)
            .find(|e| e.weight().port == Port::Input(slot))
            .map(|e| ValueId {
                node: NodeId(e.source()),
                slot: e.weight().src_slot,
            })
    }

    /// Values read by name from inside the node's subgraphs.
    pub fn captures_of(&self, node: NodeId) -> Vec<ValueId> {
        let mut caps: Vec<ValueId> = self
            .g
            .edges_directed(node.0, Direction::Incoming)
            .filter(|e| e.weight().port == Port::Capture)
            .map(|e| ValueId {
                node: NodeId(e.source()),
                slot: e.weight().src_slot,
            })
            .collect();
        caps.sort_by_key(|v| (self.g[v.node.0].seq, v.slot));
        caps
    }

    /// Every use of `v` by a node, in a deterministic order (consumer creation order, then port).
    pub fn uses(&self, v: ValueId) -> Vec<(NodeId, Port)> {
        let mut uses: Vec<(NodeId, Port)> = self
            .g
            .edges_directed(v.node.0, Direction::Outgoing)
            .filter(|e| e.weight().src_slot == v.slot)
            .map(|e| (NodeId(e.target()), e.weight().port))
            .collect();
        uses.sort_by_key(|&(n, p)| (self.g[n.0].seq, p));
        uses
    }

    /// Is `v` a graph output?
    pub fn is_output(&self, v: ValueId) -> bool {
        self.outputs.iter().any(|o| o.value == v)
    }

    /// Is `v` used at all (by a node or as a graph output)?
    pub fn is_used(&self, v: ValueId) -> bool {
        self.is_output(v)
            || self
                .g
                .edges_directed(v.node.0, Direction::Outgoing)
                .any(|e| e.weight().src_slot == v.slot)
    }

    /// Nodes that consume any value of `node`, deduplicated, in creation order.
    pub fn successors(&self, node: NodeId) -> Vec<NodeId> {
        let mut succ: Vec<NodeId> = self
            .g
            .neighbors_directed(node.0, Direction::Outgoing)
            .map(NodeId)
            .collect();
        succ.sort_by_key(|n| self.g[n.0].seq);
        succ.dedup();
        succ
    }

    // ----- rewiring -------------------------------------------------------------------------

    /// Makes every op input and graph output that reads `old` read `new` instead.
    ///
    /// Refuses (returns `false`, changes nothing) when a subgraph captures `old` by name: the body
    /// would still say the old name.
    #[must_use]
    pub fn replace_uses(&mut self, old: ValueId, new: ValueId) -> bool {
        if old == new {
            return true;
        }
        let uses = self.uses(old);
        if uses.iter().any(|(_, p)| *p == Port::Capture) {
            return false;
        }
        for (node, port) in uses {
            if let Port::Input(slot) = port {
                self.set_input(node, slot, Some(new));
            }
        }
        for o in &mut self.outputs {
            if o.value == old {
                o.value = new;
            }
        }
        true
    }

    /// Kahn's algorithm, ties broken by creation order: for a model whose nodes were already in
    /// topological order this returns them in exactly that order.
    pub fn topo_order(&self) -> Result<Vec<NodeId>, CycleError> {
        let mut indegree: HashMap<NodeIndex, usize> = HashMap::with_capacity(self.g.node_count());
        let mut ready = BinaryHeap::new();
        for n in self.g.node_indices() {
            let preds = self
                .g
                .neighbors_directed(n, Direction::Incoming)
                .collect::<std::collections::HashSet<_>>()
                .len();
            indegree.insert(n, preds);
            if preds == 0 {
                ready.push(Reverse((self.g[n].seq, n)));
            }
        }
        let mut order = Vec::with_capacity(self.g.node_count());
        while let Some(Reverse((_, n))) = ready.pop() {
            order.push(NodeId(n));
            let mut succ: Vec<NodeIndex> =
                self.g.neighbors_directed(n, Direction::Outgoing).collect();
            succ.sort();
            succ.dedup();
            for s in succ {
                let d = indegree.entry(s).or_insert(0);
                *d -= 1;
                if *d == 0 {
                    ready.push(Reverse((self.g[s].seq, s)));
                }
            }
        }
        if order.len() == self.g.node_count() {
            return Ok(order);
        }
        let stuck = self
            .nodes()
            .into_iter()
            .find(|n| indegree.get(&n.0).is_some_and(|&d| d > 0));
        Err(CycleError {
            node: stuck.map_or_else(String::new, |n| self.node(n).display_name()),
        })
    }

    /// Op nodes in topological order.
    pub fn op_order(&self) -> Result<Vec<NodeId>, CycleError> {
        Ok(self
            .topo_order()?
            .into_iter()
            .filter(|&n| self.node(n).as_op().is_some())
            .collect())
    }
}
