//! Typed access to node attributes, and constructors for the attributes passes create.
//!
//! Attributes stay in the node exactly as the model wrote them (see `ir::op`); these accessors read
//! them with the type the op's schema requires, and their errors name the node and the attribute.

use std::fmt;

use bytes::Bytes;

use super::graph::OpNode;
use crate::proto::{self, attribute_proto::AttributeType};

/// An attribute that exists but cannot be read as required.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrError {
    pub node: String,
    pub attr: String,
    pub reason: String,
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node '{}': attribute '{}': {}",
            self.node, self.attr, self.reason
        )
    }
}

impl std::error::Error for AttrError {}

/// The declared type of an attribute, inferring it from the filled field for pre-IR-0.0.2 models
/// that left `type` unset.
pub fn attr_type(a: &proto::AttributeProto) -> AttributeType {
    if a.r#type.is_some() {
        return a.r#type();
    }
    if a.f.is_some() {
        AttributeType::Float
    } else if a.i.is_some() {
        AttributeType::Int
    } else if a.s.is_some() {
        AttributeType::String
    } else if a.t.is_some() {
        AttributeType::Tensor
    } else if a.g.is_some() {
        AttributeType::Graph
    } else if !a.floats.is_empty() {
        AttributeType::Floats
    } else if !a.ints.is_empty() {
        AttributeType::Ints
    } else if !a.strings.is_empty() {
        AttributeType::Strings
    } else if !a.tensors.is_empty() {
        AttributeType::Tensors
    } else if !a.graphs.is_empty() {
        AttributeType::Graphs
    } else {
        AttributeType::Undefined
    }
}

impl OpNode {
    fn typed_attr(
        &self,
        name: &str,
        want: AttributeType,
    ) -> Result<Option<&proto::AttributeProto>, AttrError> {
        let Some(a) = self.attr(name) else {
            return Ok(None);
        };
        let got = attr_type(a);
        if got != want {
            return Err(AttrError {
                node: self.name().to_string(),
                attr: name.to_string(),
                reason: format!("is {}, must be {}", got.as_str_name(), want.as_str_name()),
            });
        }
        Ok(Some(a))
    }

    pub fn attr_int(&self, name: &str) -> Result<Option<i64>, AttrError> {
        Ok(self.typed_attr(name, AttributeType::Int)?.map(|a| a.i()))
    }

    pub fn attr_float(&self, name: &str) -> Result<Option<f32>, AttrError> {
        Ok(self.typed_attr(name, AttributeType::Float)?.map(|a| a.f()))
    }

    pub fn attr_ints(&self, name: &str) -> Result<Option<&[i64]>, AttrError> {
        Ok(self
            .typed_attr(name, AttributeType::Ints)?
            .map(|a| a.ints.as_slice()))
    }

    pub fn attr_floats(&self, name: &str) -> Result<Option<&[f32]>, AttrError> {
        Ok(self
            .typed_attr(name, AttributeType::Floats)?
            .map(|a| a.floats.as_slice()))
    }

    /// A string attribute as UTF-8.
    pub fn attr_str(&self, name: &str) -> Result<Option<&str>, AttrError> {
        let Some(a) = self.typed_attr(name, AttributeType::String)? else {
            return Ok(None);
        };
        std::str::from_utf8(a.s.as_deref().unwrap_or_default())
            .map(Some)
            .map_err(|_| AttrError {
                node: self.name().to_string(),
                attr: name.to_string(),
                reason: "is not valid UTF-8".to_string(),
            })
    }

    pub fn attr_tensor(&self, name: &str) -> Result<Option<&proto::TensorProto>, AttrError> {
        Ok(self
            .typed_attr(name, AttributeType::Tensor)?
            .and_then(|a| a.t.as_ref()))
    }

    /// An error about this node's attribute, for checks beyond the type (ranges, lengths).
    pub fn attr_error(&self, attr: &str, reason: impl Into<String>) -> AttrError {
        AttrError {
            node: self.name().to_string(),
            attr: attr.to_string(),
            reason: reason.into(),
        }
    }
}

/// An attribute of type `ty` with no value yet; for the kinds without a constructor below
/// (graphs, tensor lists, type protos), which only the text IR parser builds.
pub fn base(name: &str, ty: AttributeType) -> proto::AttributeProto {
    proto::AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(ty as i32),
        ..Default::default()
    }
}

/// An INT attribute.
pub fn int(name: &str, v: i64) -> proto::AttributeProto {
    proto::AttributeProto {
        i: Some(v),
        ..base(name, AttributeType::Int)
    }
}

/// A FLOAT attribute.
pub fn float(name: &str, v: f32) -> proto::AttributeProto {
    proto::AttributeProto {
        f: Some(v),
        ..base(name, AttributeType::Float)
    }
}

/// An INTS attribute.
pub fn ints(name: &str, v: &[i64]) -> proto::AttributeProto {
    proto::AttributeProto {
        ints: v.to_vec(),
        ..base(name, AttributeType::Ints)
    }
}

/// A FLOATS attribute.
pub fn floats(name: &str, v: &[f32]) -> proto::AttributeProto {
    proto::AttributeProto {
        floats: v.to_vec(),
        ..base(name, AttributeType::Floats)
    }
}

/// A STRING attribute.
pub fn string(name: &str, v: &str) -> proto::AttributeProto {
    proto::AttributeProto {
        s: Some(Bytes::copy_from_slice(v.as_bytes())),
        ..base(name, AttributeType::String)
    }
}

/// A STRINGS attribute.
pub fn strings(name: &str, v: &[&[u8]]) -> proto::AttributeProto {
    proto::AttributeProto {
        strings: v.iter().map(|s| Bytes::copy_from_slice(s)).collect(),
        ..base(name, AttributeType::Strings)
    }
}

/// A TENSOR attribute.
pub fn tensor(name: &str, t: proto::TensorProto) -> proto::AttributeProto {
    proto::AttributeProto {
        t: Some(t),
        ..base(name, AttributeType::Tensor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(attrs: Vec<proto::AttributeProto>) -> OpNode {
        OpNode::new(
            proto::NodeProto {
                name: Some("n1".into()),
                op_type: Some("Conv".into()),
                attribute: attrs,
                ..Default::default()
            },
            0,
        )
    }

    #[test]
    fn reads_typed_values() {
        let n = node(vec![
            int("group", 2),
            ints("pads", &[1, 1, 1, 1]),
            string("auto_pad", "NOTSET"),
        ]);
        assert_eq!(n.attr_int("group"), Ok(Some(2)));
        assert_eq!(n.attr_ints("pads"), Ok(Some(&[1, 1, 1, 1][..])));
        assert_eq!(n.attr_str("auto_pad"), Ok(Some("NOTSET")));
        assert_eq!(n.attr_int("missing"), Ok(None));
    }

    #[test]
    fn wrong_type_names_node_and_attribute() {
        let n = node(vec![float("group", 2.0)]);
        let err = n.attr_int("group").unwrap_err();
        assert_eq!(
            err.to_string(),
            "node 'n1': attribute 'group': is FLOAT, must be INT"
        );
    }

    #[test]
    fn untyped_legacy_attribute_is_recognised() {
        let legacy = proto::AttributeProto {
            name: Some("axis".into()),
            i: Some(1),
            ..Default::default()
        };
        assert_eq!(node(vec![legacy]).attr_int("axis"), Ok(Some(1)));
    }
}
