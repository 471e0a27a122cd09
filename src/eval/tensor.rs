//! The evaluator's value: an element type, a shape and typed storage, in row-major (C) order.
//!
//! Storage is one `Vec` per element type ([`Data`]), so kernels work on plain slices and the
//! compiler checks that an `i8` tensor is never read as `u8`. Conversions in: graph initializers
//! ([`Tensor::from_initializer`]) and `TensorProto`s ([`Tensor::from_proto`], for `Constant`
//! attributes and the ONNX test data files). Conversions out: [`Tensor::to_proto`].

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use half::{bf16, f16};

use super::error::Fail;
use crate::ir::tensors::typed_fields_to_le;
use crate::ir::{DType, Initializer, TensorPool};
use crate::proto;

/// The largest tensor the evaluator allocates, in bytes. A graph that asks for more (a
/// `ConstantOfShape` of `[1e12]`, an `Expand` to an absurd shape) gets an error, not an abort.
pub const MAX_TENSOR_BYTES: usize = 1 << 33;

/// Typed element storage.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
}

/// Evaluates `$body` with `$v` bound to the typed vector inside a [`Data`], whatever its type.
macro_rules! with_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::eval::tensor::Data::F32($v) => $body,
            $crate::eval::tensor::Data::F64($v) => $body,
            $crate::eval::tensor::Data::F16($v) => $body,
            $crate::eval::tensor::Data::BF16($v) => $body,
            $crate::eval::tensor::Data::I8($v) => $body,
            $crate::eval::tensor::Data::I16($v) => $body,
            $crate::eval::tensor::Data::I32($v) => $body,
            $crate::eval::tensor::Data::I64($v) => $body,
            $crate::eval::tensor::Data::U8($v) => $body,
            $crate::eval::tensor::Data::U16($v) => $body,
            $crate::eval::tensor::Data::U32($v) => $body,
            $crate::eval::tensor::Data::U64($v) => $body,
            $crate::eval::tensor::Data::Bool($v) => $body,
            $crate::eval::tensor::Data::Str($v) => $body,
        }
    };
}

/// Like `with_data!`, but `$body` yields a `Vec` of the same element type, wrapped back into
/// [`Data`]: for kernels that only move elements (transpose, slice, gather, …).
macro_rules! map_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::eval::tensor::Data::F32($v) => $crate::eval::tensor::Data::F32($body),
            $crate::eval::tensor::Data::F64($v) => $crate::eval::tensor::Data::F64($body),
            $crate::eval::tensor::Data::F16($v) => $crate::eval::tensor::Data::F16($body),
            $crate::eval::tensor::Data::BF16($v) => $crate::eval::tensor::Data::BF16($body),
            $crate::eval::tensor::Data::I8($v) => $crate::eval::tensor::Data::I8($body),
            $crate::eval::tensor::Data::I16($v) => $crate::eval::tensor::Data::I16($body),
            $crate::eval::tensor::Data::I32($v) => $crate::eval::tensor::Data::I32($body),
            $crate::eval::tensor::Data::I64($v) => $crate::eval::tensor::Data::I64($body),
            $crate::eval::tensor::Data::U8($v) => $crate::eval::tensor::Data::U8($body),
            $crate::eval::tensor::Data::U16($v) => $crate::eval::tensor::Data::U16($body),
            $crate::eval::tensor::Data::U32($v) => $crate::eval::tensor::Data::U32($body),
            $crate::eval::tensor::Data::U64($v) => $crate::eval::tensor::Data::U64($body),
            $crate::eval::tensor::Data::Bool($v) => $crate::eval::tensor::Data::Bool($body),
            $crate::eval::tensor::Data::Str($v) => $crate::eval::tensor::Data::Str($body),
        }
    };
}

/// Like `with_data!` for the numeric variants only; `$other` handles bool and string tensors.
macro_rules! with_numeric {
    ($data:expr, $v:ident => $body:expr, _ => $other:expr) => {
        match $data {
            $crate::eval::tensor::Data::F32($v) => $body,
            $crate::eval::tensor::Data::F64($v) => $body,
            $crate::eval::tensor::Data::F16($v) => $body,
            $crate::eval::tensor::Data::BF16($v) => $body,
            $crate::eval::tensor::Data::I8($v) => $body,
            $crate::eval::tensor::Data::I16($v) => $body,
            $crate::eval::tensor::Data::I32($v) => $body,
            $crate::eval::tensor::Data::I64($v) => $body,
            $crate::eval::tensor::Data::U8($v) => $body,
            $crate::eval::tensor::Data::U16($v) => $body,
            $crate::eval::tensor::Data::U32($v) => $body,
            $crate::eval::tensor::Data::U64($v) => $body,
            _ => $other,
        }
    };
}

pub(crate) use {map_data, with_data, with_numeric};

/// The elements of `other` as the element type of `like` (used inside `with_data!` to read a
/// second operand of the same type), or a type-mismatch error.
pub fn same_as<'b, T: Elem>(_like: &[T], other: &'b Tensor, what: &str) -> Result<&'b [T], Fail> {
    other.as_slice().ok_or_else(|| {
        Fail::invalid(format!(
            "{what} must be {} like the first input, got {}",
            T::DTYPE,
            other.dtype()
        ))
    })
}

/// An element type the evaluator stores.
pub trait Elem: Clone + Default + PartialEq + fmt::Debug + 'static {
    const DTYPE: DType;
    fn wrap(v: Vec<Self>) -> Data;
    fn view(d: &Data) -> Option<&[Self]>;
    fn unwrap(d: Data) -> Option<Vec<Self>>;
}

macro_rules! impl_elem {
    ($($t:ty => $variant:ident, $dtype:ident;)*) => {$(
        impl Elem for $t {
            const DTYPE: DType = DType::$dtype;
            fn wrap(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }
            fn view(d: &Data) -> Option<&[Self]> {
                match d {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn unwrap(d: Data) -> Option<Vec<Self>> {
                match d {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    )*};
}

impl_elem! {
    f32 => F32, F32;
    f64 => F64, F64;
    f16 => F16, F16;
    bf16 => BF16, BF16;
    i8 => I8, I8;
    i16 => I16, I16;
    i32 => I32, I32;
    i64 => I64, I64;
    u8 => U8, U8;
    u16 => U16, U16;
    u32 => U32, U32;
    u64 => U64, U64;
    bool => Bool, Bool;
    String => Str, Str;
}

impl Data {
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
            Data::F16(_) => DType::F16,
            Data::BF16(_) => DType::BF16,
            Data::I8(_) => DType::I8,
            Data::I16(_) => DType::I16,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::U8(_) => DType::U8,
            Data::U16(_) => DType::U16,
            Data::U32(_) => DType::U32,
            Data::U64(_) => DType::U64,
            Data::Bool(_) => DType::Bool,
            Data::Str(_) => DType::Str,
        }
    }

    pub fn len(&self) -> usize {
        with_data!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` default elements (zeros, `false`, empty strings) of `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> Result<Data, Fail> {
        Ok(match dtype {
            DType::F32 => Data::F32(vec![0.0; n]),
            DType::F64 => Data::F64(vec![0.0; n]),
            DType::F16 => Data::F16(vec![f16::ZERO; n]),
            DType::BF16 => Data::BF16(vec![bf16::ZERO; n]),
            DType::I8 => Data::I8(vec![0; n]),
            DType::I16 => Data::I16(vec![0; n]),
            DType::I32 => Data::I32(vec![0; n]),
            DType::I64 => Data::I64(vec![0; n]),
            DType::U8 => Data::U8(vec![0; n]),
            DType::U16 => Data::U16(vec![0; n]),
            DType::U32 => Data::U32(vec![0; n]),
            DType::U64 => Data::U64(vec![0; n]),
            DType::Bool => Data::Bool(vec![false; n]),
            DType::Str => Data::Str(vec![String::new(); n]),
            other => return Err(unsupported_dtype(other)),
        })
    }
}

/// The error for element types the evaluator does not store (float8, 4-bit, complex, …).
pub fn unsupported_dtype(dtype: DType) -> Fail {
    Fail::unsupported(format!(
        "element type {dtype} is not supported by the evaluator"
    ))
}

/// A tensor value.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Data,
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}{:?}>", self.dtype(), self.shape)?;
        with_data!(&self.data, v => {
            let shown = v.len().min(8);
            write!(f, "{:?}", &v[..shown])?;
            if v.len() > shown {
                write!(f, "…")?;
            }
            Ok(())
        })
    }
}

/// Number of elements of `shape`, refusing sizes past [`MAX_TENSOR_BYTES`] (at one byte each; the
/// callers that know the element size check bytes through [`Tensor::new`]).
pub fn numel(shape: &[usize]) -> Result<usize, Fail> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_TENSOR_BYTES)
        .ok_or_else(|| {
            Fail::invalid(format!(
                "a tensor of shape {shape:?} is too large to evaluate"
            ))
        })
}

impl Tensor {
    /// A tensor from its shape and data; the element count must match the shape.
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Tensor, Fail> {
        let n = numel(&shape)?;
        if data.len() != n {
            return Err(Fail::invalid(format!(
                "{} elements do not fill shape {shape:?} ({n} elements)",
                data.len()
            )));
        }
        let bytes = data.dtype().byte_size().unwrap_or(1).saturating_mul(n);
        if bytes > MAX_TENSOR_BYTES {
            return Err(Fail::invalid(format!(
                "a tensor of shape {shape:?} is too large to evaluate"
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor from a typed vector.
    pub fn from_vec<T: Elem>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor, Fail> {
        Tensor::new(shape, T::wrap(v))
    }

    /// A rank-0 tensor.
    pub fn scalar<T: Elem>(v: T) -> Tensor {
        Tensor {
            shape: Vec::new(),
            data: T::wrap(vec![v]),
        }
    }

    /// A tensor of `n` default elements.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Result<Tensor, Fail> {
        let n = numel(&shape)?;
        Tensor::new(shape, Data::zeros(dtype, n)?)
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    pub fn into_data(self) -> Data {
        self.data
    }

    /// The same elements under another shape with as many elements.
    pub fn reshaped(self, shape: Vec<usize>) -> Result<Tensor, Fail> {
        Tensor::new(shape, self.data)
    }

    /// The elements as a slice of `T`, `None` if the tensor holds another type.
    pub fn as_slice<T: Elem>(&self) -> Option<&[T]> {
        T::view(&self.data)
    }

    /// The elements as a slice of `T`, or an error naming `what` and the actual type.
    pub fn typed<T: Elem>(&self, what: &str) -> Result<&[T], Fail> {
        self.as_slice().ok_or_else(|| {
            Fail::invalid(format!("{what} must be {}, got {}", T::DTYPE, self.dtype()))
        })
    }

    /// Integer elements widened to i64 (for shapes, axes, indices).
    pub fn to_i64s(&self, what: &str) -> Result<Vec<i64>, Fail> {
        let bad = || Fail::invalid(format!("{what} must hold integers, got {}", self.dtype()));
        Ok(match &self.data {
            Data::I64(v) => v.clone(),
            Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I16(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U16(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U64(v) => v
                .iter()
                .map(|&x| i64::try_from(x).map_err(|_| bad()))
                .collect::<Result<_, _>>()?,
            _ => return Err(bad()),
        })
    }

    /// Numeric elements as f64 (exact for every type but the widest integers); strings are refused.
    pub fn to_f64s(&self, what: &str) -> Result<Vec<f64>, Fail> {
        Ok(match &self.data {
            Data::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::F64(v) => v.clone(),
            Data::F16(v) => v.iter().map(|x| x.to_f64()).collect(),
            Data::BF16(v) => v.iter().map(|x| x.to_f64()).collect(),
            Data::I8(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I16(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U16(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
            Data::Str(_) => return Err(Fail::invalid(format!("{what} must be numeric, got str"))),
        })
    }

    /// Float elements in the compute type `T`: a borrow when the tensor already holds `T`,
    /// a widened copy for f16/bf16 (and f32 → f64). Non-float tensors are refused.
    pub fn floats<T: Float>(&self, what: &str) -> Result<Cow<'_, [T]>, Fail> {
        if let Some(v) = self.as_slice::<T>() {
            return Ok(Cow::Borrowed(v));
        }
        let v: Vec<T> = match &self.data {
            Data::F32(v) => v.iter().map(|&x| T::from_f64(x as f64)).collect(),
            Data::F64(v) => v.iter().map(|&x| T::from_f64(x)).collect(),
            Data::F16(v) => v.iter().map(|x| T::from_f64(x.to_f64())).collect(),
            Data::BF16(v) => v.iter().map(|x| T::from_f64(x.to_f64())).collect(),
            _ => {
                return Err(Fail::invalid(format!(
                    "{what} must be a float tensor, got {}",
                    self.dtype()
                )))
            }
        };
        Ok(Cow::Owned(v))
    }

    /// A float tensor of element type `dtype` from values computed in `T` (rounded once when
    /// `dtype` is narrower than `T`).
    pub fn from_floats<T: Float>(
        shape: Vec<usize>,
        v: Vec<T>,
        dtype: DType,
    ) -> Result<Tensor, Fail> {
        if dtype == T::DTYPE {
            return Tensor::from_vec(shape, v);
        }
        let data = match dtype {
            DType::F32 => Data::F32(v.iter().map(|x| x.to_f64() as f32).collect()),
            DType::F64 => Data::F64(v.iter().map(|x| x.to_f64()).collect()),
            DType::F16 => Data::F16(v.iter().map(|x| f16::from_f64(x.to_f64())).collect()),
            DType::BF16 => Data::BF16(v.iter().map(|x| bf16::from_f64(x.to_f64())).collect()),
            other => {
                return Err(Fail::invalid(format!(
                    "cannot store float results as {other}"
                )))
            }
        };
        Tensor::new(shape, data)
    }

    /// Reads an initializer of the graph.
    pub fn from_initializer(init: &Initializer, pool: &TensorPool) -> Result<Tensor, Fail> {
        let shell = &init.shell;
        if init.dtype() == DType::Str {
            return Tensor::from_proto(shell);
        }
        let bytes = init
            .le_bytes(pool)
            .map_err(|e| Fail::invalid(format!("tensor '{}': {e}", shell.name())))?;
        from_le_bytes(shell.name(), init.dtype(), &shell.dims, &bytes)
    }

    /// Reads a `TensorProto` (a `Constant` attribute, an ONNX test data file).
    pub fn from_proto(t: &proto::TensorProto) -> Result<Tensor, Fail> {
        let dtype = DType::from_onnx(t.data_type());
        if t.data_location() == proto::tensor_proto::DataLocation::External {
            return Err(Fail::unsupported(format!(
                "tensor '{}' keeps its data in an external file",
                t.name()
            )));
        }
        if dtype == DType::Str {
            let shape = dims_to_shape(t.name(), &t.dims)?;
            let strings = t
                .string_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            return Tensor::new(shape, Data::Str(strings))
                .map_err(|e| e.context(&format!("tensor '{}'", t.name())));
        }
        let bytes = match &t.raw_data {
            Some(raw) => raw.clone(),
            None => typed_fields_to_le(t).map_err(|e| Fail::unsupported(e.to_string()))?,
        };
        from_le_bytes(t.name(), dtype, &t.dims, &bytes)
    }

    /// Writes the tensor as a `TensorProto` with `raw_data` (strings in `string_data`).
    pub fn to_proto(&self, name: &str) -> proto::TensorProto {
        let mut t = proto::TensorProto {
            name: Some(name.to_string()),
            dims: self.shape.iter().map(|&d| d as i64).collect(),
            data_type: Some(self.dtype().onnx_code()),
            ..Default::default()
        };
        match &self.data {
            Data::Str(v) => {
                t.string_data = v
                    .iter()
                    .map(|s| Bytes::from(s.clone().into_bytes()))
                    .collect()
            }
            data => t.raw_data = Some(Bytes::from(to_le_bytes(data))),
        }
        t
    }
}

fn dims_to_shape(name: &str, dims: &[i64]) -> Result<Vec<usize>, Fail> {
    dims.iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                Fail::invalid(format!(
                    "tensor '{name}' has a negative dimension in {dims:?}"
                ))
            })
        })
        .collect()
}

/// Decodes little-endian element bytes.
pub fn from_le_bytes(name: &str, dtype: DType, dims: &[i64], bytes: &[u8]) -> Result<Tensor, Fail> {
    let shape = dims_to_shape(name, dims)?;
    let n = numel(&shape)?;
    let size = dtype.byte_size().filter(|_| dtype != DType::Str);
    let Some(size) = size else {
        return Err(unsupported_dtype(dtype));
    };
    if bytes.len() != n * size {
        return Err(Fail::invalid(format!(
            "tensor '{name}' of {dtype}{shape:?} needs {} bytes of data, has {}",
            n * size,
            bytes.len()
        )));
    }
    fn chunks<const N: usize, T>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        b.chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)
            })
            .collect()
    }
    let data = match dtype {
        DType::F32 => Data::F32(chunks(bytes, f32::from_le_bytes)),
        DType::F64 => Data::F64(chunks(bytes, f64::from_le_bytes)),
        DType::F16 => Data::F16(chunks(bytes, f16::from_le_bytes)),
        DType::BF16 => Data::BF16(chunks(bytes, bf16::from_le_bytes)),
        DType::I8 => Data::I8(chunks(bytes, i8::from_le_bytes)),
        DType::I16 => Data::I16(chunks(bytes, i16::from_le_bytes)),
        DType::I32 => Data::I32(chunks(bytes, i32::from_le_bytes)),
        DType::I64 => Data::I64(chunks(bytes, i64::from_le_bytes)),
        DType::U8 => Data::U8(bytes.to_vec()),
        DType::U16 => Data::U16(chunks(bytes, u16::from_le_bytes)),
        DType::U32 => Data::U32(chunks(bytes, u32::from_le_bytes)),
        DType::U64 => Data::U64(chunks(bytes, u64::from_le_bytes)),
        DType::Bool => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
        other => return Err(unsupported_dtype(other)),
    };
    Tensor::new(shape, data)
}

/// Encodes elements as little-endian bytes (strings have no fixed-size encoding: empty).
pub fn to_le_bytes(data: &Data) -> Vec<u8> {
    fn flat<T, const N: usize>(v: &[T], f: impl Fn(&T) -> [u8; N]) -> Vec<u8> {
        v.iter().flat_map(f).collect()
    }
    match data {
        Data::F32(v) => flat(v, |x| x.to_le_bytes()),
        Data::F64(v) => flat(v, |x| x.to_le_bytes()),
        Data::F16(v) => flat(v, |x| x.to_le_bytes()),
        Data::BF16(v) => flat(v, |x| x.to_le_bytes()),
        Data::I8(v) => flat(v, |x| x.to_le_bytes()),
        Data::I16(v) => flat(v, |x| x.to_le_bytes()),
        Data::I32(v) => flat(v, |x| x.to_le_bytes()),
        Data::I64(v) => flat(v, |x| x.to_le_bytes()),
        Data::U8(v) => v.clone(),
        Data::U16(v) => flat(v, |x| x.to_le_bytes()),
        Data::U32(v) => flat(v, |x| x.to_le_bytes()),
        Data::U64(v) => flat(v, |x| x.to_le_bytes()),
        Data::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
        Data::Str(_) => Vec::new(),
    }
}

/// The float types the GEMM-based kernels (Conv, MatMul, Gemm) compute in: f32 (also for f16
/// and bf16 tensors) and f64 (also for integer accumulation, exact below 2^53).
pub trait Float:
    Elem + Copy + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> + std::ops::AddAssign
{
    const ZERO: Self;
    const ONE: Self;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    /// `C = alpha·A·B + beta·C` on row-major strided matrices: `m×k` times `k×n`, the strides
    /// given as (row, column) in elements; `C` is `m×n` with unit column stride.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        a_strides: (isize, isize),
        b: &[Self],
        b_strides: (isize, isize),
        beta: Self,
        c: &mut [Self],
        c_row_stride: isize,
    );
}

macro_rules! impl_float {
    ($t:ty, $gemm:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                (rsa, csa): (isize, isize),
                b: &[Self],
                (rsb, csb): (isize, isize),
                beta: Self,
                c: &mut [Self],
                rsc: isize,
            ) {
                if m == 0 || n == 0 {
                    return;
                }
                assert!(max_offset(m, k, rsa, csa) < a.len().max(1) || k == 0);
                assert!(max_offset(k, n, rsb, csb) < b.len().max(1) || k == 0);
                assert!(max_offset(m, n, rsc, 1) < c.len());
                // SAFETY: the asserts above keep every offset the strides reach inside the
                // slices (strides are never negative here), and `c` does not alias `a` or `b`.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        alpha,
                        a.as_ptr(),
                        rsa,
                        csa,
                        b.as_ptr(),
                        rsb,
                        csb,
                        beta,
                        c.as_mut_ptr(),
                        rsc,
                        1,
                    )
                }
            }
        }
    };
}

/// The largest offset a `rows × cols` matrix with these (non-negative) strides reaches.
fn max_offset(rows: usize, cols: usize, rs: isize, cs: isize) -> usize {
    if rows == 0 || cols == 0 {
        return 0;
    }
    (rows - 1) * rs.unsigned_abs() + (cols - 1) * cs.unsigned_abs()
}

impl_float!(f32, matrixmultiply::sgemm);
impl_float!(f64, matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::TensorData;

    #[test]
    fn proto_round_trip_keeps_type_shape_and_values() {
        let t = Tensor::from_vec(vec![2, 2], vec![1i16, -2, 3, -4]).unwrap();
        let back = Tensor::from_proto(&t.to_proto("x")).unwrap();
        assert_eq!(back, t);
        let s = Tensor::from_vec(vec![2], vec!["a".to_string(), "bc".to_string()]).unwrap();
        assert_eq!(Tensor::from_proto(&s.to_proto("s")).unwrap(), s);
    }

    #[test]
    fn typed_fields_are_read() {
        let t = proto::TensorProto {
            dims: vec![3],
            data_type: Some(DType::F16.onnx_code()),
            int32_data: vec![0x3c00, 0x4000, 0xbc00],
            ..Default::default()
        };
        let t = Tensor::from_proto(&t).unwrap();
        let v: Vec<f32> = t
            .as_slice::<f16>()
            .unwrap()
            .iter()
            .map(|x| x.to_f32())
            .collect();
        assert_eq!(v, [1.0, 2.0, -1.0]);
    }

    #[test]
    fn initializer_bytes_are_decoded() {
        let mut pool = TensorPool::default();
        let id = pool.intern(Bytes::from(vec![1u8, 0xff, 7]));
        let init = Initializer::raw("w", DType::I8, &[3], id);
        assert!(matches!(init.data, TensorData::Raw(_)));
        let t = Tensor::from_initializer(&init, &pool).unwrap();
        assert_eq!(t.as_slice::<i8>().unwrap(), &[1, -1, 7]);
    }

    #[test]
    fn wrong_byte_count_and_absurd_shapes_are_errors() {
        let err = from_le_bytes("w", DType::F32, &[2], &[0; 7]).unwrap_err();
        assert!(err.reason.contains("needs 8 bytes"), "{}", err.reason);
        assert!(Tensor::zeros(DType::F32, vec![1 << 40, 1 << 40]).is_err());
        assert!(from_le_bytes("w", DType::F32, &[-1], &[]).is_err());
    }

    #[test]
    fn floats_widen_and_narrow() {
        let t = Tensor::from_vec(vec![2], vec![f16::from_f32(0.5), f16::from_f32(-2.0)]).unwrap();
        let v = t.floats::<f32>("x").unwrap();
        assert_eq!(&v[..], &[0.5, -2.0]);
        let back = Tensor::from_floats(vec![2], v.into_owned(), DType::F16).unwrap();
        assert_eq!(back, t);
        assert!(Tensor::scalar(1i32).floats::<f32>("x").is_err());
    }
}
