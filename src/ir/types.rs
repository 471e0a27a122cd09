//! Element types, shapes and tensor types of values.

use std::fmt;

use crate::proto;

/// An ONNX element type. `Other` keeps codes this build does not know, so they round-trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F32,
    U8,
    I8,
    U16,
    I16,
    I32,
    I64,
    Str,
    Bool,
    F16,
    F64,
    U32,
    U64,
    C64,
    C128,
    BF16,
    F8E4M3FN,
    F8E4M3FNUZ,
    F8E5M2,
    F8E5M2FNUZ,
    U4,
    I4,
    F4E2M1,
    F8E8M0,
    U2,
    I2,
    F6E2M3,
    F6E3M2,
    Other(i32),
}

/// One table for code ↔ type ↔ printed name, so the three can never drift apart.
const DTYPES: &[(i32, DType, &str)] = &[
    (1, DType::F32, "f32"),
    (2, DType::U8, "u8"),
    (3, DType::I8, "i8"),
    (4, DType::U16, "u16"),
    (5, DType::I16, "i16"),
    (6, DType::I32, "i32"),
    (7, DType::I64, "i64"),
    (8, DType::Str, "str"),
    (9, DType::Bool, "bool"),
    (10, DType::F16, "f16"),
    (11, DType::F64, "f64"),
    (12, DType::U32, "u32"),
    (13, DType::U64, "u64"),
    (14, DType::C64, "c64"),
    (15, DType::C128, "c128"),
    (16, DType::BF16, "bf16"),
    (17, DType::F8E4M3FN, "f8e4m3fn"),
    (18, DType::F8E4M3FNUZ, "f8e4m3fnuz"),
    (19, DType::F8E5M2, "f8e5m2"),
    (20, DType::F8E5M2FNUZ, "f8e5m2fnuz"),
    (21, DType::U4, "u4"),
    (22, DType::I4, "i4"),
    (23, DType::F4E2M1, "f4e2m1"),
    (24, DType::F8E8M0, "f8e8m0"),
    (25, DType::U2, "u2"),
    (26, DType::I2, "i2"),
    (27, DType::F6E2M3, "f6e2m3"),
    (28, DType::F6E3M2, "f6e3m2"),
];

impl DType {
    /// The type of an ONNX `TensorProto.DataType` code.
    pub fn from_onnx(code: i32) -> DType {
        DTYPES
            .iter()
            .find(|(c, _, _)| *c == code)
            .map_or(DType::Other(code), |(_, t, _)| *t)
    }

    /// The ONNX `TensorProto.DataType` code.
    pub fn onnx_code(self) -> i32 {
        match self {
            DType::Other(code) => code,
            t => DTYPES
                .iter()
                .find(|(_, d, _)| *d == t)
                .map_or(0, |(c, _, _)| *c),
        }
    }

    /// The short printed name (`f32`, `u8`, …), also what the text IR parser reads.
    pub fn name(self) -> String {
        match self {
            DType::Other(code) => format!("dtype{code}"),
            t => DTYPES
                .iter()
                .find(|(_, d, _)| *d == t)
                .map_or_else(String::new, |(_, _, n)| (*n).to_string()),
        }
    }

    /// Parses a printed name back.
    pub fn from_name(name: &str) -> Option<DType> {
        if let Some(code) = name.strip_prefix("dtype") {
            return code.parse().ok().map(DType::Other);
        }
        DTYPES
            .iter()
            .find(|(_, _, n)| *n == name)
            .map(|(_, t, _)| *t)
    }

    /// Bits per element, `None` for strings and unknown codes.
    pub fn bits(self) -> Option<usize> {
        use DType::*;
        Some(match self {
            U2 | I2 => 2,
            U4 | I4 | F4E2M1 => 4,
            F6E2M3 | F6E3M2 => 6,
            U8 | I8 | Bool | F8E4M3FN | F8E4M3FNUZ | F8E5M2 | F8E5M2FNUZ | F8E8M0 => 8,
            U16 | I16 | F16 | BF16 => 16,
            F32 | I32 | U32 => 32,
            F64 | I64 | U64 | C64 => 64,
            C128 => 128,
            Str | Other(_) => return None,
        })
    }

    /// Bytes per element for byte-aligned types.
    pub fn byte_size(self) -> Option<usize> {
        self.bits().filter(|b| b % 8 == 0).map(|b| b / 8)
    }

    pub fn is_float(self) -> bool {
        use DType::*;
        matches!(
            self,
            F32 | F16 | F64 | BF16 | F8E4M3FN | F8E4M3FNUZ | F8E5M2 | F8E5M2FNUZ | F8E8M0 | F4E2M1
        )
    }

    /// The 8-bit integer types that quantized activations and weights use.
    pub fn is_quantized_8bit(self) -> bool {
        matches!(self, DType::U8 | DType::I8)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One dimension of a shape: a known size, a named symbolic size, or nothing known.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(i64),
    Param(String),
    Unknown,
}

impl Dim {
    pub fn known(&self) -> Option<i64> {
        match self {
            Dim::Known(n) => Some(*n),
            _ => None,
        }
    }

    /// Two dimensions can describe the same tensor: equal, or at least one not fully known.
    pub fn compatible(&self, other: &Dim) -> bool {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => a == b,
            _ => true,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(n) => write!(f, "{n}"),
            Dim::Param(p) => f.write_str(p),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// A shape; `None` rank means even the rank is unknown.
pub type Shape = Vec<Dim>;

/// Builds a fully static shape.
pub fn static_shape(dims: &[i64]) -> Shape {
    dims.iter().map(|&d| Dim::Known(d)).collect()
}

/// The type of a tensor value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Option<Shape>,
}

impl TensorType {
    pub fn new(dtype: DType, shape: Shape) -> TensorType {
        TensorType {
            dtype,
            shape: Some(shape),
        }
    }

    /// The shape as plain sizes, when every dimension is known.
    pub fn static_dims(&self) -> Option<Vec<i64>> {
        self.shape.as_ref()?.iter().map(Dim::known).collect()
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(Vec::len)
    }

    /// Both types can describe the same tensor (same dtype, unifiable shapes).
    pub fn compatible(&self, other: &TensorType) -> bool {
        if self.dtype != other.dtype {
            return false;
        }
        match (&self.shape, &other.shape) {
            (Some(a), Some(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.compatible(y))
            }
            _ => true,
        }
    }

    /// Reads the tensor part of a declared type; other kinds (sequence, map, …) give `None`.
    pub fn from_proto(tp: &proto::TypeProto) -> Option<TensorType> {
        let proto::type_proto::Value::TensorType(t) = tp.value.as_ref()? else {
            return None;
        };
        let shape = t.shape.as_ref().map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                        Dim::Known(*v)
                    }
                    Some(proto::tensor_shape_proto::dimension::Value::DimParam(p)) => {
                        Dim::Param(p.clone())
                    }
                    None => Dim::Unknown,
                })
                .collect()
        });
        Some(TensorType {
            dtype: DType::from_onnx(t.elem_type.unwrap_or(0)),
            shape,
        })
    }

    /// Writes the type as ONNX declares it.
    pub fn to_proto(&self) -> proto::TypeProto {
        use proto::tensor_shape_proto::{dimension, Dimension};
        let shape = self.shape.as_ref().map(|dims| proto::TensorShapeProto {
            dim: dims
                .iter()
                .map(|d| Dimension {
                    value: match d {
                        Dim::Known(n) => Some(dimension::Value::DimValue(*n)),
                        Dim::Param(p) => Some(dimension::Value::DimParam(p.clone())),
                        Dim::Unknown => None,
                    },
                    denotation: None,
                })
                .collect(),
        });
        proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(
                proto::type_proto::Tensor {
                    elem_type: Some(self.dtype.onnx_code()),
                    shape,
                },
            )),
            denotation: None,
        }
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dtype)?;
        if let Some(shape) = &self.shape {
            f.write_str("[")?;
            for (i, d) in shape.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{d}")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_codes_and_names_round_trip() {
        for code in 0..=30 {
            let t = DType::from_onnx(code);
            assert_eq!(t.onnx_code(), code);
            assert_eq!(DType::from_name(&t.name()), Some(t));
        }
    }

    #[test]
    fn type_proto_round_trip() {
        let t = TensorType::new(
            DType::U8,
            vec![Dim::Known(1), Dim::Param("N".into()), Dim::Unknown],
        );
        assert_eq!(TensorType::from_proto(&t.to_proto()), Some(t.clone()));
        assert_eq!(t.to_string(), "u8[1,N,?]");
    }
}
