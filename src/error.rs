//! The errors a user sees. Each names the file, and the node or tensor when there is one.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input cannot be read as a valid model.
    #[error("{}: {reason}", path.display())]
    BadInput { path: PathBuf, reason: String },
    /// The output cannot be written.
    #[error("{}: {reason}", path.display())]
    Output { path: PathBuf, reason: String },
    /// A pass failed or left the graph invalid.
    #[error("pass '{pass}': {reason}")]
    Pass { pass: String, reason: String },
    /// The request itself is wrong (unknown pass or pipeline, …).
    #[error("{0}")]
    Usage(String),
    /// A check the user asked for failed (verify found a difference, a coverage gate was missed).
    #[error("{0}")]
    Gate(String),
}
