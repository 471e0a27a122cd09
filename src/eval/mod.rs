//! The reference interpreter: runs an [`ir::Graph`](crate::ir::Graph) on concrete tensors.
//!
//! Used by `npuopt run` / `npuopt verify` (is the optimized model still the same function?), by
//! property tests, and later by constant folding. Kernels are written to be obviously correct
//! rather than fast — one file per op family under `ops/` — with two exceptions that make real
//! models practical: convolution and matrix products go through im2col and a blocked GEMM.
//!
//! Semantics follow the ONNX specification and its reference implementation (`onnx.reference`),
//! checked against the ONNX node test suite (`tests/node_conformance.rs`); the `com.microsoft`
//! QOperator kernels follow ONNX Runtime's CPU kernels, rounding included (see `ops/ms_quant.rs`).
//!
//! ```no_run
//! # fn demo(model: &npuopt::ir::Model, image: npuopt::eval::Tensor) -> Result<(), npuopt::eval::EvalError> {
//! use npuopt::eval::{self, Options};
//! let outputs = eval::run_with(&model.graph, &[("images".into(), image)], &Options::for_model(model))?;
//! # Ok(()) }
//! ```

mod error;
pub mod inline;
mod interp;
pub mod npy;
mod ops;
pub mod tensor;

pub use error::{ErrorKind, EvalError};
pub use ops::supports;
pub use tensor::{Data, Elem, Tensor};

use crate::ir::{op, Graph, Model};

/// How to evaluate: the opset versions whose semantics apply where an op changed meaning
/// between versions (Softmax's axis handling before and after opset 13, default attributes).
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Version of the default ONNX domain.
    pub onnx_opset: i64,
}

impl Default for Options {
    /// The newest semantics of every op.
    fn default() -> Options {
        Options {
            onnx_opset: i64::MAX,
        }
    }
}

impl Options {
    /// The opsets a model imports.
    pub fn for_model(model: &Model) -> Options {
        Options {
            onnx_opset: model
                .opset(op::ONNX_DOMAIN)
                .unwrap_or(Options::default().onnx_opset),
        }
    }
}

/// Runs the graph and returns its outputs, in the graph's output order, by name.
///
/// `inputs` names graph inputs; an input with an initializer as default may be left out. Every
/// tensor is released after its last use.
pub fn run(g: &Graph, inputs: &[(String, Tensor)]) -> Result<Vec<(String, Tensor)>, EvalError> {
    run_with(g, inputs, &Options::default())
}

/// [`run`] with explicit [`Options`].
pub fn run_with(
    g: &Graph,
    inputs: &[(String, Tensor)],
    options: &Options,
) -> Result<Vec<(String, Tensor)>, EvalError> {
    Ok(interp::evaluate(g, inputs, options, false)?.outputs)
}

/// Runs the graph and returns every value a node computed, in execution order (graph outputs
/// included, graph inputs and initializers not): what a comparison needs to find the first
/// intermediate tensor where two models diverge.
pub fn run_all(g: &Graph, inputs: &[(String, Tensor)]) -> Result<Vec<(String, Tensor)>, EvalError> {
    run_all_with(g, inputs, &Options::default())
}

/// [`run_all`] with explicit [`Options`].
pub fn run_all_with(
    g: &Graph,
    inputs: &[(String, Tensor)],
    options: &Options,
) -> Result<Vec<(String, Tensor)>, EvalError> {
    Ok(interp::evaluate(g, inputs, options, true)?.computed)
}
