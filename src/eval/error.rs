//! Evaluation errors: what failed, where, and whether the evaluator or the model is to blame.

use std::fmt;

use crate::ir::attrs::AttrError;

/// Why evaluation stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The model is valid but uses something the evaluator does not implement (an op, an
    /// element type, an attribute value).
    Unsupported,
    /// The model or the inputs are wrong: shapes that do not fit, indices out of range, missing
    /// inputs, absurd sizes.
    Invalid,
}

/// An evaluation error, naming the node (its display name) when there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalError {
    /// The node's display name; empty for errors about the graph's inputs and outputs.
    pub node: String,
    pub kind: ErrorKind,
    pub reason: String,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.node.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "node '{}': {}", self.node, self.reason)
        }
    }
}

impl std::error::Error for EvalError {}

/// A kernel's failure, before the interpreter names the node.
#[derive(Clone, Debug, PartialEq)]
pub struct Fail {
    pub kind: ErrorKind,
    pub reason: String,
}

impl Fail {
    pub fn invalid(reason: impl Into<String>) -> Fail {
        Fail {
            kind: ErrorKind::Invalid,
            reason: reason.into(),
        }
    }

    pub fn unsupported(reason: impl Into<String>) -> Fail {
        Fail {
            kind: ErrorKind::Unsupported,
            reason: reason.into(),
        }
    }

    /// Prefixes the reason (`"input 2: …"`).
    pub fn context(self, what: &str) -> Fail {
        Fail {
            reason: format!("{what}: {}", self.reason),
            ..self
        }
    }

    /// Names the node.
    pub fn at(self, node: impl Into<String>) -> EvalError {
        EvalError {
            node: node.into(),
            kind: self.kind,
            reason: self.reason,
        }
    }
}

impl From<AttrError> for Fail {
    fn from(e: AttrError) -> Fail {
        Fail::invalid(format!("attribute '{}': {}", e.attr, e.reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_node() {
        let e =
            Fail::unsupported("op 'Foo' (domain 'bar') is not supported by the evaluator").at("y");
        assert_eq!(
            e.to_string(),
            "node 'y': op 'Foo' (domain 'bar') is not supported by the evaluator"
        );
        assert_eq!(
            Fail::invalid("graph input 'x' was not given")
                .at("")
                .to_string(),
            "graph input 'x' was not given"
        );
    }
}
