//! The file-driven pass cases: every `passes/<pass>/<case>.npuir` runs what its first line says
//! (`# run: dce`, `# run: identity-elim,dce`, `# run: pipeline canonicalize`) with verification
//! after each pass, and its report (diff before → after, then the passes' notes) is the snapshot
//! `snapshots/passes__<pass>__<case>.snap`.
//!
//! A missing or different snapshot fails (under CI=true insta writes nothing); a snapshot whose
//! case is gone fails `no_stale_snapshots`. To accept new results locally:
//! `INSTA_UPDATE=always cargo test --test passes`, then read every changed `.snap`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use npuopt::testing;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every case as (pass folder, case name, path), sorted.
fn cases() -> Vec<(String, String, PathBuf)> {
    let mut cases = Vec::new();
    for dir in std::fs::read_dir(root().join("passes")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let pass = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "npuir") {
                let case = path.file_stem().unwrap().to_string_lossy().into_owned();
                cases.push((pass.clone(), case, path));
            }
        }
    }
    cases.sort();
    cases
}

/// A name that maps to exactly one snapshot file name and back.
fn is_snapshot_safe(name: &str) -> bool {
    !name.is_empty()
        && !name.contains("__")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn report(path: &Path) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let spec = testing::run_spec(&text)?;
    let outcome = testing::run(spec, &text)?;
    Ok((spec.to_string(), outcome.report()))
}

#[test]
fn pass_cases() {
    let cases = cases();
    assert!(!cases.is_empty(), "no cases under passes/");
    let mut failed = Vec::new();
    for (pass, case, path) in cases {
        let relative = path.strip_prefix(root()).unwrap().to_path_buf();
        let result = catch_unwind(AssertUnwindSafe(|| {
            assert!(
                is_snapshot_safe(&pass) && is_snapshot_safe(&case),
                "folder and file names must be lowercase letters, digits, '-' and single '_'"
            );
            let (spec, report) = report(&path).unwrap_or_else(|e| panic!("{e}"));
            insta::with_settings!(
                {
                    input_file => &relative,
                    description => format!("run: {spec}"),
                    omit_expression => true,
                },
                { npuopt::assert_snapshot_file!(format!("{pass}__{case}"), report) }
            );
        }));
        if let Err(panic) = result {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{}: {why}", relative.display()));
        }
    }
    assert!(failed.is_empty(), "failing cases:\n{}", failed.join("\n"));
}

#[test]
fn no_stale_snapshots() {
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(root().join("snapshots")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name
            .strip_prefix("passes__")
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        let case = stem.split_once("__").map(|(pass, case)| {
            root()
                .join("passes")
                .join(pass)
                .join(format!("{case}.npuir"))
        });
        if !case.is_some_and(|c| c.is_file()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "snapshots without a case (delete them): {}",
        stale.join(", ")
    );
}
