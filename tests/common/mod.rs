//! Shared helpers for integration tests. Each test crate uses a part of them, so the rest would
//! read as dead code there.
#![allow(dead_code)]

pub mod gen;

use std::process::{Command, Output};

/// Runs the npuopt binary with `args`.
pub fn npuopt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npuopt"))
        .args(args)
        .output()
        .expect("npuopt runs")
}

/// Runs the npuopt binary with `args`, asserts that it succeeded (showing its stderr if not), and
/// returns its stdout.
pub fn npuopt_ok(args: &[&str]) -> Vec<u8> {
    let out = npuopt(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
