//! Diagnostics: what passes tell the user (refusals with their reason, warnings, notes).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Why a rewrite did not apply, and other facts worth listing.
    Note,
    /// The model's function changed, or something looks wrong.
    Warning,
}

/// One message from a pass, about a node when there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pass: &'static str,
    pub node: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
        };
        write!(f, "{level}[{}]", self.pass)?;
        if let Some(node) = &self.node {
            write!(f, " node '{node}'")?;
        }
        write!(f, ": {}", self.message)
    }
}
