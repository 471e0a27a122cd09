//! Reading constant values: initializers and `Constant` nodes, as numbers.
//!
//! Passes ask "is this input a constant, and what is it?" (a scale, a zero point, an axis list)
//! without caring whether the model stored it as an initializer, a `Constant` node, raw bytes or
//! typed fields.

use bytes::Bytes;

use super::graph::{Graph, NodeKind, ValueId};
use super::op::Op;
use super::tensors::typed_fields_to_le;
use super::types::DType;

/// A constant's element type, shape and little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstData {
    pub dtype: DType,
    pub dims: Vec<i64>,
    pub bytes: Bytes,
}

impl ConstData {
    pub fn len(&self) -> usize {
        self.dims.iter().product::<i64>().max(0) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as f32, for float types.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match self.dtype {
            DType::F32 => Some(
                self.bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            DType::F64 => Some(
                self.bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The elements as i64, for integer and bool types.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        let b = &self.bytes;
        Some(match self.dtype {
            DType::I8 => b.iter().map(|&x| x as i8 as i64).collect(),
            DType::U8 | DType::Bool => b.iter().map(|&x| x as i64).collect(),
            DType::I16 => b
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            DType::U16 => b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            DType::I32 => b
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
            DType::U32 => b
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
            DType::I64 => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
            _ => return None,
        })
    }
}

/// The value of `v` when it is a constant (an initializer or the output of a `Constant` node with
/// a tensor or scalar/list value). Inputs with defaults are not constants: callers may feed them.
pub fn constant(g: &Graph, v: ValueId) -> Option<ConstData> {
    let node = g.node(v.node);
    match &node.kind {
        NodeKind::Initializer(init) => Some(ConstData {
            dtype: init.dtype(),
            dims: init.dims().to_vec(),
            bytes: init.le_bytes(&g.pool).ok()?,
        }),
        NodeKind::Op(op) if op.op() == Op::Constant => {
            let attr = op.proto().attribute.first()?;
            if let Some(t) = &attr.t {
                let bytes = match &t.raw_data {
                    Some(raw) => raw.clone(),
                    None => typed_fields_to_le(t).ok()?,
                };
                return Some(ConstData {
                    dtype: DType::from_onnx(t.data_type()),
                    dims: t.dims.clone(),
                    bytes,
                });
            }
            let (dtype, dims, bytes): (DType, Vec<i64>, Vec<u8>) = match attr.name() {
                "value_float" => (DType::F32, vec![], attr.f().to_le_bytes().to_vec()),
                "value_int" => (DType::I64, vec![], attr.i().to_le_bytes().to_vec()),
                "value_floats" => (
                    DType::F32,
                    vec![attr.floats.len() as i64],
                    attr.floats.iter().flat_map(|f| f.to_le_bytes()).collect(),
                ),
                "value_ints" => (
                    DType::I64,
                    vec![attr.ints.len() as i64],
                    attr.ints.iter().flat_map(|i| i.to_le_bytes()).collect(),
                ),
                _ => return None,
            };
            Some(ConstData {
                dtype,
                dims,
                bytes: Bytes::from(bytes),
            })
        }
        _ => None,
    }
}

/// Is `v` a constant?
pub fn is_constant(g: &Graph, v: ValueId) -> bool {
    constant(g, v).is_some()
}
