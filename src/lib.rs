//! npuopt: ONNX → IR → rewrite passes → NPU partition → ONNX.
//!
//! The stages, one direction: [`onnx`] decodes a model into the [`ir`], [`pass`] runs rewrite
//! passes from [`passes`] over it, and [`onnx`] encodes it again. See DESIGN.md beside the repo.

pub mod diag;
pub mod error;
pub mod ir;
pub mod onnx;
pub mod pass;
pub mod passes;
pub mod print;
pub mod proto;
pub mod target;

pub use error::Error;
