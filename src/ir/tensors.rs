//! The tensor pool: weight bytes, content-addressed and shared, never copied.
//!
//! Initializers refer to their data by [`TensorId`]. Loading puts slices of the model file's buffer
//! here (`Bytes` clones are reference-counted views, not copies); identical contents share one entry,
//! so `dedup-initializers` and the text IR's content hashes are lookups, not scans.

use std::collections::HashMap;

use bytes::Bytes;

use super::types::{static_shape, DType, TensorType};
use crate::proto;

/// A dense constant tensor of the graph.
///
/// `shell` is the model's `TensorProto` with its data moved out: name, dims, data type, doc string,
/// metadata and external-data entries stay as written. `data` says where the bytes are now.
#[derive(Clone, Debug, PartialEq)]
pub struct Initializer {
    pub shell: proto::TensorProto,
    pub data: TensorData,
}

/// Where an initializer's elements live.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// Little-endian bytes in the pool (from `raw_data`, or computed by a pass).
    Raw(TensorId),
    /// In an external file; the bytes were read into the pool and the location is in `shell`.
    External(TensorId),
    /// In the typed fields of `shell` (`float_data`, `int64_data`, …), left exactly as written.
    Inline,
}

impl Initializer {
    /// An initializer whose bytes are in the pool.
    pub fn raw(name: &str, dtype: DType, dims: &[i64], data: TensorId) -> Initializer {
        Initializer {
            shell: proto::TensorProto {
                name: Some(name.to_string()),
                dims: dims.to_vec(),
                data_type: Some(dtype.onnx_code()),
                ..Default::default()
            },
            data: TensorData::Raw(data),
        }
    }

    pub fn dtype(&self) -> DType {
        DType::from_onnx(self.shell.data_type())
    }

    pub fn dims(&self) -> &[i64] {
        &self.shell.dims
    }

    pub fn ty(&self) -> TensorType {
        TensorType::new(self.dtype(), static_shape(self.dims()))
    }

    /// The elements as little-endian bytes: a view for pooled data, converted for typed fields.
    pub fn le_bytes(&self, pool: &TensorPool) -> Result<Bytes, String> {
        match self.data {
            TensorData::Raw(id) | TensorData::External(id) => Ok(pool.get(id).clone()),
            TensorData::Inline => typed_fields_to_le(&self.shell),
        }
    }
}

/// The byte size of a dense tensor's data, `None` where it is not fixed (strings, unknown types).
/// Shapes whose size does not fit in memory are an error, not an overflow.
pub fn expected_bytes(dtype: DType, dims: &[i64]) -> Result<Option<usize>, String> {
    let Some(bits) = dtype.bits() else {
        return Ok(None);
    };
    let too_big = || format!("shape {dims:?} of {dtype} is too large to hold in memory");
    let mut elements: u64 = 1;
    for &d in dims {
        let d = u64::try_from(d).map_err(|_| format!("negative dimension {d} in {dims:?}"))?;
        elements = elements.checked_mul(d).ok_or_else(too_big)?;
    }
    let bytes = elements
        .checked_mul(bits as u64)
        .ok_or_else(too_big)?
        .div_ceil(8);
    if bytes > (1 << 47) {
        return Err(too_big());
    }
    Ok(Some(bytes as usize))
}

/// Converts a tensor's typed data fields to the little-endian layout of `raw_data`.
pub fn typed_fields_to_le(t: &proto::TensorProto) -> Result<Bytes, String> {
    use DType::*;
    let dtype = DType::from_onnx(t.data_type());
    let mut out = Vec::new();
    match dtype {
        F32 | C64 => t
            .float_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        F64 | C128 => t
            .double_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        I64 => t
            .int64_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        U64 => t
            .uint64_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        U32 => t
            .uint64_data
            .iter()
            .for_each(|&v| out.extend((v as u32).to_le_bytes())),
        I32 => t
            .int32_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        I16 | U16 | F16 | BF16 => t
            .int32_data
            .iter()
            .for_each(|&v| out.extend((v as u16).to_le_bytes())),
        I8 | U8 | Bool | F8E4M3FN | F8E4M3FNUZ | F8E5M2 | F8E5M2FNUZ | F8E8M0 => {
            t.int32_data.iter().for_each(|&v| out.push(v as u8))
        }
        other => {
            return Err(format!(
                "tensor '{}': typed-field data of type {other} is not supported",
                t.name()
            ))
        }
    }
    Ok(Bytes::from(out))
}

/// A handle to bytes in a [`TensorPool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u32);

#[derive(Clone)]
struct Entry {
    bytes: Bytes,
    hash: u64,
}

/// Content-addressed storage for tensor data.
#[derive(Clone, Default)]
pub struct TensorPool {
    entries: Vec<Entry>,
    by_hash: HashMap<u64, Vec<TensorId>>,
}

/// The stable 64-bit content hash the pool and the text IR use (xxh3: fast, fixed across platforms).
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

impl TensorPool {
    /// Stores `bytes`, returning the id of an identical entry when there is one.
    pub fn intern(&mut self, bytes: Bytes) -> TensorId {
        let hash = content_hash(&bytes);
        if let Some(ids) = self.by_hash.get(&hash) {
            if let Some(&id) = ids.iter().find(|&&id| self.get(id) == &bytes[..]) {
                return id;
            }
        }
        let id = TensorId(self.entries.len() as u32);
        self.entries.push(Entry { bytes, hash });
        self.by_hash.entry(hash).or_default().push(id);
        id
    }

    /// The bytes of an entry (a cheap view; clone the `Bytes` to keep them).
    pub fn get(&self, id: TensorId) -> &Bytes {
        &self.entries[id.0 as usize].bytes
    }

    /// The content hash of an entry.
    pub fn hash(&self, id: TensorId) -> u64 {
        self.entries[id.0 as usize].hash
    }

    /// Total bytes held (entries that no initializer uses any more included).
    pub fn total_bytes(&self) -> usize {
        self.entries.iter().map(|e| e.bytes.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_contents_share_one_entry() {
        let mut pool = TensorPool::default();
        let a = pool.intern(Bytes::from_static(&[1, 2, 3]));
        let b = pool.intern(Bytes::from(vec![1u8, 2, 3]));
        let c = pool.intern(Bytes::from_static(&[1, 2, 4]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(pool.get(c).as_ref(), &[1, 2, 4]);
    }

    #[test]
    fn interning_a_slice_does_not_copy() {
        let file = Bytes::from(vec![7u8; 64]);
        let mut pool = TensorPool::default();
        let id = pool.intern(file.slice(8..40));
        assert_eq!(pool.get(id).as_ptr(), file[8..].as_ptr());
    }
}
