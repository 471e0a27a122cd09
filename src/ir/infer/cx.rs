//! The view an op's rule has of its node: input types, known input contents, typed attributes
//! whose errors are issue messages, and the outputs it fills in.

use super::data::{self, DataMap};
use crate::ir::attrs::AttrError;
use crate::ir::graph::{Graph, NodeId, OpNode, ValueId};
use crate::ir::op::Op;
use crate::ir::types::{DType, Dim, TensorType};

/// What a rule found out about one output.
#[derive(Default)]
pub struct Out {
    pub ty: Option<TensorType>,
    /// The contents, for small integer tensors (see `data`).
    pub data: Option<Vec<Dim>>,
}

/// An integer list an op takes as an attribute (older opsets) or as an input.
pub enum Ints {
    Known(Vec<i64>),
    /// Given by an input whose contents are unknown.
    Unknown,
    Absent,
}

/// One node being inferred. Input accessors return `None` when nothing is known, which is not
/// an error: the rule then infers what it can.
pub struct Cx<'a> {
    g: &'a Graph,
    node: &'a OpNode,
    inputs: Vec<Option<ValueId>>,
    data: &'a DataMap,
    /// The model's default-domain opset.
    pub opset: i64,
    outs: Vec<Out>,
}

/// Attribute errors as issue text (the walker prefixes the node).
fn attr_msg(e: AttrError) -> String {
    format!("attribute '{}': {}", e.attr, e.reason)
}

impl<'a> Cx<'a> {
    /// A context for op node `id`, whose op is `node`.
    pub fn new(
        g: &'a Graph,
        id: NodeId,
        node: &'a OpNode,
        data: &'a DataMap,
        opset: i64,
    ) -> Cx<'a> {
        let n_out = g.node(id).outputs.len();
        Cx {
            g,
            node,
            inputs: g.inputs_of(id),
            data,
            opset,
            outs: (0..n_out).map(|_| Out::default()).collect(),
        }
    }

    pub fn into_outputs(self) -> Vec<Out> {
        self.outs
    }

    pub fn op(&self) -> Op {
        self.node.op()
    }

    // ----- inputs ---------------------------------------------------------------------------

    /// Number of input slots (missing optional ones included).
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Is input `i` connected?
    pub fn has_input(&self, i: usize) -> bool {
        self.input(i).is_some()
    }

    fn input(&self, i: usize) -> Option<ValueId> {
        self.inputs.get(i).copied().flatten()
    }

    /// What is known of input `i`'s type.
    pub fn ty(&self, i: usize) -> Option<&'a TensorType> {
        self.g.value(self.input(i)?).ty.as_ref()
    }

    pub fn dtype(&self, i: usize) -> Option<DType> {
        self.ty(i).map(|t| t.dtype)
    }

    /// Input `i`'s shape, when its rank is known.
    pub fn shape(&self, i: usize) -> Option<&'a [Dim]> {
        self.ty(i)?.shape.as_deref()
    }

    /// The known contents of a small integer input (elements may be symbolic or unknown).
    pub fn data(&self, i: usize) -> Option<&'a [Dim]> {
        self.data.get(&self.input(i)?).map(Vec::as_slice)
    }

    /// The contents of a small integer input, when every element is known.
    pub fn ints(&self, i: usize) -> Option<Vec<i64>> {
        self.data(i)?.iter().map(Dim::known).collect()
    }

    /// The contents of integer input `slot` (an empty tensor's are known from its shape).
    pub fn input_ints(&self, slot: usize) -> Ints {
        if !self.has_input(slot) {
            return Ints::Absent;
        }
        match self.ints(slot) {
            Some(v) => Ints::Known(v),
            None if self.shape(slot) == Some(&[Dim::Known(0)]) => Ints::Known(vec![]),
            None => Ints::Unknown,
        }
    }

    /// The attribute `name` if present (older opsets), else the contents of input `slot`.
    pub fn attr_or_input(&self, name: &str, slot: usize) -> Result<Ints, String> {
        Ok(match self.attr_ints(name)? {
            Some(v) => Ints::Known(v.to_vec()),
            None => self.input_ints(slot),
        })
    }

    /// The contents of a small constant float input (an initializer or a `Constant`).
    pub fn floats(&self, i: usize) -> Option<Vec<f64>> {
        data::constant_floats(self.g, self.input(i)?)
    }

    // ----- attributes -----------------------------------------------------------------------

    pub fn attr_int(&self, name: &str) -> Result<Option<i64>, String> {
        self.node.attr_int(name).map_err(attr_msg)
    }

    pub fn int_or(&self, name: &str, default: i64) -> Result<i64, String> {
        Ok(self.attr_int(name)?.unwrap_or(default))
    }

    pub fn attr_ints(&self, name: &str) -> Result<Option<&'a [i64]>, String> {
        self.node.attr_ints(name).map_err(attr_msg)
    }

    pub fn str_or(&self, name: &str, default: &'a str) -> Result<&'a str, String> {
        Ok(self
            .node
            .attr_str(name)
            .map_err(attr_msg)?
            .unwrap_or(default))
    }

    pub fn attr_tensor(&self, name: &str) -> Result<Option<&'a crate::proto::TensorProto>, String> {
        self.node.attr_tensor(name).map_err(attr_msg)
    }

    /// The node itself, for rules reading less common attribute kinds.
    pub fn node(&self) -> &'a OpNode {
        self.node
    }

    // ----- outputs --------------------------------------------------------------------------

    pub fn n_outputs(&self) -> usize {
        self.outs.len()
    }

    /// Sets output `slot`'s type (ignored for a slot the node does not have).
    pub fn set(&mut self, slot: usize, ty: TensorType) {
        if let Some(o) = self.outs.get_mut(slot) {
            o.ty = Some(ty);
        }
    }

    /// Sets output `slot`'s type from an element type and a shape that may be unknown.
    pub fn set_shape(&mut self, slot: usize, dtype: DType, shape: Option<Vec<Dim>>) {
        self.set(slot, TensorType { dtype, shape });
    }

    /// Records output `slot`'s contents (kept only when they fit the final type).
    pub fn set_data(&mut self, slot: usize, contents: Vec<Dim>) {
        if contents.len() > data::MAX_ELEMENTS {
            return;
        }
        if let Some(o) = self.outs.get_mut(slot) {
            o.data = Some(contents);
        }
    }
}
