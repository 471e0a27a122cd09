//! npuopt: ONNX → IR → rewrite passes → NPU partition → ONNX.
//!
//! The stages, one direction: [`onnx`] decodes a model into the [`ir`], [`pass`] runs rewrite
//! passes from [`passes`] over it, and [`onnx`] encodes it again. See DESIGN.md beside the repo.

pub mod compare;
pub mod deviation;
pub mod diag;
pub mod error;
pub mod eval;
pub mod ir;
pub mod onnx;
pub mod partition;
pub mod pass;
pub mod passes;
pub mod postprocess;
pub mod print;
pub mod proto;
pub mod report;
pub mod target;
pub mod testing;
pub mod whatif;

pub use error::Error;

use std::path::Path;

/// Loads a model and infers the type of every value; returns the inference issues (values whose
/// declared type contradicts what their op computes, malformed nodes), which are not fatal.
pub fn load(path: &Path) -> Result<(ir::Model, Vec<String>), Error> {
    let mut model = onnx::load(path)?;
    let cx = pass::PassCx::for_model(&model);
    let issues = ir::infer::infer_types(&mut model.graph, &cx.opsets);
    Ok((model, issues))
}
