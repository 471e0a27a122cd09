//! Contents of small constant and computed tensors: what data propagation knows, and the readers
//! that turn initializers and `Constant` attributes into numbers.
//!
//! Only integer tensors of rank ≤ 1 with at most [`MAX_ELEMENTS`] elements carry propagated
//! contents (shapes, axes, indices, counts); their elements are [`Dim`]s so that a symbolic size
//! read by `Shape` stays symbolic through `Gather`/`Concat`. Float constants are read on demand
//! (Resize scales, Range bounds), never propagated.

use std::collections::HashMap;

use bytes::Bytes;

use super::dims;
use crate::ir::graph::{Graph, NodeKind, OpNode, ValueId};
use crate::ir::op::Op;
use crate::ir::tensors::{expected_bytes, typed_fields_to_le, Initializer, TensorPool};
use crate::ir::types::{DType, Dim};
use crate::proto;

/// The most elements a propagated tensor may have (ONNX's data propagation has the same spirit:
/// shape-sized tensors only).
pub const MAX_ELEMENTS: usize = 64;

/// Known contents per value.
pub type DataMap = HashMap<ValueId, Vec<Dim>>;

/// Element types whose contents are propagated.
pub fn carries_data(dtype: DType) -> bool {
    matches!(dtype, DType::I64 | DType::I32 | DType::Bool)
}

/// A constant tensor: element type, dims and little-endian bytes.
pub struct Constant {
    pub dtype: DType,
    pub dims: Vec<i64>,
    pub bytes: Bytes,
}

impl Constant {
    /// The contents as propagated data, when the tensor is small, integer and rank ≤ 1.
    pub fn small_ints(&self) -> Option<Vec<Dim>> {
        if !carries_data(self.dtype) || self.dims.len() > 1 {
            return None;
        }
        let ints = self.numbers(decode_int)?;
        Some(ints.into_iter().map(Dim::Known).collect())
    }

    /// The contents as floats, when the tensor is small and of a float type.
    pub fn small_floats(&self) -> Option<Vec<f64>> {
        self.numbers(decode_float)
    }

    fn numbers<T>(&self, decode: fn(DType, &[u8]) -> Option<T>) -> Option<Vec<T>> {
        let n = dims::element_count(&self.dims)?;
        let size = self.dtype.byte_size()?;
        if n > MAX_ELEMENTS || self.bytes.len() != n.checked_mul(size)? {
            return None;
        }
        self.bytes
            .chunks_exact(size)
            .map(|c| decode(self.dtype, c))
            .collect()
    }
}

fn decode_int(dtype: DType, c: &[u8]) -> Option<i64> {
    match dtype {
        DType::I64 => Some(i64::from_le_bytes(c.try_into().ok()?)),
        DType::I32 => Some(i32::from_le_bytes(c.try_into().ok()?).into()),
        DType::Bool => Some(i64::from(*c.first()? != 0)),
        _ => None,
    }
}

fn decode_float(dtype: DType, c: &[u8]) -> Option<f64> {
    match dtype {
        DType::F32 => Some(f32::from_le_bytes(c.try_into().ok()?).into()),
        DType::F64 => Some(f64::from_le_bytes(c.try_into().ok()?)),
        _ => None,
    }
}

/// The propagated contents of an initializer, if it qualifies.
pub fn initializer_data(init: &Initializer, pool: &TensorPool) -> Option<Vec<Dim>> {
    Constant {
        dtype: init.dtype(),
        dims: init.dims().to_vec(),
        bytes: init.le_bytes(pool).ok()?,
    }
    .small_ints()
}

/// The value as a constant: an initializer (not a graph input's default, which callers may
/// override) or a `Constant` node's output.
pub fn constant(g: &Graph, v: ValueId) -> Option<Constant> {
    match &g.node(v.node).kind {
        NodeKind::Initializer(init) => Some(Constant {
            dtype: init.dtype(),
            dims: init.dims().to_vec(),
            bytes: init.le_bytes(&g.pool).ok()?,
        }),
        NodeKind::Op(op) if op.op() == Op::Constant => constant_attr_value(op),
        _ => None,
    }
}

/// The small float contents of a constant value.
pub fn constant_floats(g: &Graph, v: ValueId) -> Option<Vec<f64>> {
    constant(g, v)?.small_floats()
}

/// A `Constant` node's value, from whichever numeric attribute it has.
pub fn constant_attr_value(op: &OpNode) -> Option<Constant> {
    let number = |dtype: DType, dims: Vec<i64>, bytes: Vec<u8>| Constant {
        dtype,
        dims,
        bytes: Bytes::from(bytes),
    };
    if let Ok(Some(t)) = op.attr_tensor("value") {
        return tensor_constant(t);
    }
    if let Ok(Some(i)) = op.attr_int("value_int") {
        return Some(number(DType::I64, vec![], i.to_le_bytes().to_vec()));
    }
    if let Ok(Some(is)) = op.attr_ints("value_ints") {
        let bytes = is.iter().flat_map(|i| i.to_le_bytes()).collect();
        return Some(number(DType::I64, vec![is.len() as i64], bytes));
    }
    if let Ok(Some(f)) = op.attr_float("value_float") {
        return Some(number(DType::F32, vec![], f.to_le_bytes().to_vec()));
    }
    if let Ok(Some(fs)) = op.attr_floats("value_floats") {
        let bytes = fs.iter().flat_map(|f| f.to_le_bytes()).collect();
        return Some(number(DType::F32, vec![fs.len() as i64], bytes));
    }
    None
}

/// A tensor attribute's contents, checked against its dims (external data is not read here).
pub fn tensor_constant(t: &proto::TensorProto) -> Option<Constant> {
    if t.data_location() == proto::tensor_proto::DataLocation::External {
        return None;
    }
    let dtype = DType::from_onnx(t.data_type());
    let bytes = match &t.raw_data {
        Some(raw) => raw.clone(),
        None => typed_fields_to_le(t).ok()?,
    };
    if expected_bytes(dtype, &t.dims) != Ok(Some(bytes.len())) {
        return None;
    }
    Some(Constant {
        dtype,
        dims: t.dims.clone(),
        bytes,
    })
}
