//! The evaluator against the ONNX node test suite.
//!
//! `NPUOPT_NODE_TESTS` names a directory of ONNX backend test cases in the standard layout
//! (`<case>/model.onnx`, `<case>/test_data_set_N/input_K.pb`, `output_K.pb`, optionally
//! `<case>/data.json` with `rtol`/`atol`); without it the test is skipped. Every case whose ops
//! the evaluator supports must reproduce the expected outputs within the tolerance ONNX's own
//! backend tests use (rtol 1e-3, atol 1e-7 unless the case says otherwise), except the cases
//! listed in [`KNOWN_FAILURES`] with their reason. Cases the evaluator refuses at run time (an
//! element type it does not store, …) are reported as unsupported with the evaluator's reason.
//!
//! With `NPUOPT_WRITE_COVERAGE=1` the test (re)writes `tests/conformance/node_coverage.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use npuopt::eval::{self, Data, ErrorKind, Options, Tensor};
use npuopt::ir::{Model, NodeKind};
use npuopt::proto;
use prost::Message;

/// Cases whose ops are all supported but whose outputs are known not to match, and why.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

/// A case's name, the ops it contains and how it went.
type CaseResult = (String, BTreeSet<(String, String)>, Outcome);

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Passed,
    Failed(String),
    Unsupported(String),
}

fn case_dirs(root: &Path) -> Vec<PathBuf> {
    let list = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.retain(|p| p.join("model.onnx").is_file());
        v.sort();
        v
    };
    let direct = list(root);
    if direct.is_empty() {
        list(&root.join("node"))
    } else {
        direct
    }
}

/// (domain, op type) of every node, domain `""` for the default one.
fn ops_of(model: &Model) -> BTreeSet<(String, String)> {
    let g = &model.graph;
    g.nodes()
        .into_iter()
        .filter_map(|n| g.node(n).as_op())
        .map(|op| {
            let d = if op.domain() == "ai.onnx" {
                ""
            } else {
                op.domain()
            };
            (d.to_string(), op.op_type().to_string())
        })
        .collect()
}

fn op_label((domain, op): &(String, String)) -> String {
    if domain.is_empty() {
        op.clone()
    } else {
        format!("{domain}.{op}")
    }
}

fn tolerance(case: &Path) -> (f64, f64) {
    let text = fs::read_to_string(case.join("data.json")).unwrap_or_default();
    let num = |key: &str| -> Option<f64> {
        let at = text.find(&format!("\"{key}\""))?;
        let rest = text[at..].split_once(':')?.1;
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        rest[..end].trim().parse().ok()
    };
    (num("rtol").unwrap_or(1e-3), num("atol").unwrap_or(1e-7))
}

/// Reads a test data file; errors name it relative to its case.
fn read_tensor(path: &Path) -> Result<Tensor, String> {
    let shown = path
        .iter()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<PathBuf>();
    let path_err = |e: String| format!("{}: {e}", shown.display());
    let bytes = fs::read(path).map_err(|e| path_err(e.to_string()))?;
    let t = proto::TensorProto::decode(bytes.as_slice()).map_err(|e| path_err(e.to_string()))?;
    Tensor::from_proto(&t).map_err(|e| path_err(e.reason))
}

/// Graph input names in declaration order, or why a case cannot be fed (non-tensor inputs).
fn input_names(model: &Model) -> Result<Vec<String>, String> {
    let g = &model.graph;
    g.inputs()
        .iter()
        .filter_map(|&n| match &g.node(n).kind {
            NodeKind::Input(i) => Some(i),
            _ => None,
        })
        .map(|i| {
            let is_tensor = matches!(
                i.info.r#type.as_ref().and_then(|t| t.value.as_ref()),
                Some(proto::type_proto::Value::TensorType(_))
            );
            if is_tensor {
                Ok(i.info.name().to_string())
            } else {
                Err(format!("graph input '{}' is not a tensor", i.info.name()))
            }
        })
        .collect()
}

fn compare(name: &str, got: &Tensor, want: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if got.dtype() != want.dtype() {
        return Err(format!(
            "output '{name}': type {} instead of {}",
            got.dtype(),
            want.dtype()
        ));
    }
    if got.shape() != want.shape() {
        return Err(format!(
            "output '{name}': shape {:?} instead of {:?}",
            got.shape(),
            want.shape()
        ));
    }
    if let (Data::Str(a), Data::Str(b)) = (got.data(), want.data()) {
        return match a.iter().zip(b).position(|(x, y)| x != y) {
            Some(i) => Err(format!(
                "output '{name}'[{i}]: {:?} instead of {:?}",
                a[i], b[i]
            )),
            None => Ok(()),
        };
    }
    let rtol = if got.dtype() == npuopt::ir::DType::BF16 {
        rtol.max(1.0 / 64.0)
    } else {
        rtol
    };
    let (a, b) = (
        got.to_f64s("got").map_err(|e| e.reason)?,
        want.to_f64s("want").map_err(|e| e.reason)?,
    );
    for (i, (&x, &y)) in a.iter().zip(&b).enumerate() {
        let same = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * y.abs();
        if !same {
            return Err(format!(
                "output '{name}'[{i}]: {x} instead of {y} (rtol {rtol}, atol {atol})"
            ));
        }
    }
    Ok(())
}

fn run_case(case: &Path) -> (BTreeSet<(String, String)>, Outcome) {
    let model = match npuopt::onnx::load(&case.join("model.onnx")) {
        Ok(m) => m,
        Err(e) => {
            return (
                BTreeSet::new(),
                Outcome::Unsupported(format!("model does not load: {e}")),
            )
        }
    };
    let ops = ops_of(&model);
    let missing: Vec<String> = ops
        .iter()
        .filter(|(d, o)| !eval::supports(d, o))
        .map(op_label)
        .collect();
    if !missing.is_empty() {
        return (
            ops,
            Outcome::Unsupported(format!("ops not implemented: {}", missing.join(", "))),
        );
    }
    let names = match input_names(&model) {
        Ok(n) => n,
        Err(e) => return (ops, Outcome::Unsupported(e)),
    };
    let (rtol, atol) = tolerance(case);
    let options = Options::for_model(&model);
    let mut sets: Vec<PathBuf> = fs::read_dir(case)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    sets.retain(|p| {
        p.is_dir()
            && p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("test_data_set_"))
    });
    sets.sort();
    for set in sets {
        let mut inputs = Vec::new();
        for (k, name) in names.iter().enumerate() {
            let path = set.join(format!("input_{k}.pb"));
            if !path.exists() {
                continue;
            }
            match read_tensor(&path) {
                Ok(t) => inputs.push((name.clone(), t)),
                Err(e) => return (ops, Outcome::Unsupported(e)),
            }
        }
        let outputs = match eval::run_with(&model.graph, &inputs, &options) {
            Ok(o) => o,
            Err(e) if e.kind == ErrorKind::Unsupported => {
                return (ops, Outcome::Unsupported(e.to_string()))
            }
            Err(e) => return (ops, Outcome::Failed(e.to_string())),
        };
        for (k, (name, got)) in outputs.iter().enumerate() {
            let want = match read_tensor(&set.join(format!("output_{k}.pb"))) {
                Ok(t) => t,
                Err(e) => return (ops, Outcome::Unsupported(e)),
            };
            if let Err(e) = compare(name, got, &want, rtol, atol) {
                return (ops, Outcome::Failed(e));
            }
        }
    }
    (ops, Outcome::Passed)
}

fn coverage_markdown(results: &[CaseResult]) -> String {
    let mut per_op: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for (_, ops, outcome) in results {
        for op in ops {
            let slot = match outcome {
                Outcome::Passed => 0,
                Outcome::Failed(_) => 1,
                Outcome::Unsupported(_) => 2,
            };
            per_op.entry(op_label(op)).or_default()[slot] += 1;
        }
    }
    let count = |f: fn(&Outcome) -> bool| results.iter().filter(|(_, _, o)| f(o)).count();
    let mut md = String::new();
    let _ = writeln!(md, "# ONNX node test coverage of the evaluator\n");
    let _ = writeln!(
        md,
        "Generated by `tests/node_conformance.rs` (`NPUOPT_WRITE_COVERAGE=1`); do not edit by hand.\n\
         A case counts for every op it contains. {} cases: {} passed, {} failed, {} unsupported.\n",
        results.len(),
        count(|o| *o == Outcome::Passed),
        count(|o| matches!(o, Outcome::Failed(_))),
        count(|o| matches!(o, Outcome::Unsupported(_)))
    );
    let _ = writeln!(
        md,
        "| op | passed | failed | unsupported |\n| --- | ---: | ---: | ---: |"
    );
    for (op, [p, f, u]) in &per_op {
        let _ = writeln!(md, "| {op} | {p} | {f} | {u} |");
    }
    let _ = writeln!(
        md,
        "\n## Cases not passing, for ops the evaluator implements\n"
    );
    let _ = writeln!(
        md,
        "Documented exceptions, by kind: element types the evaluator does not store (float8, \
         float4, 4- and 2-bit integers, float8e8m0: their Cast/CastLike, QuantizeLinear and \
         DequantizeLinear cases), sequence and optional inputs (no tensor to feed), and Dropout \
         in training mode (random by definition). Failures, if any, are listed with their \
         reason from `KNOWN_FAILURES` or the comparison.\n"
    );
    let _ = writeln!(md, "| case | outcome | reason |\n| --- | --- | --- |");
    for (case, ops, outcome) in results {
        let all_supported = ops.iter().all(|(d, o)| eval::supports(d, o));
        let (kind, reason) = match outcome {
            Outcome::Passed => continue,
            Outcome::Failed(r) => ("failed", r.as_str()),
            Outcome::Unsupported(r) if all_supported => ("unsupported", r.as_str()),
            Outcome::Unsupported(_) => continue,
        };
        let reason = KNOWN_FAILURES
            .iter()
            .find(|(c, _)| c == case)
            .map_or(reason, |(_, why)| why);
        let _ = writeln!(md, "| {case} | {kind} | {} |", reason.replace('|', "\\|"));
    }
    md
}

#[test]
fn onnx_node_tests() {
    let Some(root) = std::env::var_os("NPUOPT_NODE_TESTS") else {
        println!("skipped: set NPUOPT_NODE_TESTS to a directory of ONNX node test cases");
        return;
    };
    let cases = case_dirs(Path::new(&root));
    assert!(
        !cases.is_empty(),
        "no test cases under {}",
        Path::new(&root).display()
    );
    let results: Vec<CaseResult> = cases
        .iter()
        .map(|c| {
            let name = c
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let (ops, outcome) = run_case(c);
            (name, ops, outcome)
        })
        .collect();
    if std::env::var_os("NPUOPT_WRITE_COVERAGE").is_some_and(|v| v == "1") {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/node_coverage.md");
        fs::write(&path, coverage_markdown(&results)).unwrap();
        println!("wrote {}", path.display());
    }
    let mut problems = Vec::new();
    for (case, _, outcome) in &results {
        let known = KNOWN_FAILURES.iter().any(|(c, _)| c == case);
        match outcome {
            Outcome::Failed(why) if !known => problems.push(format!("{case}: {why}")),
            Outcome::Passed if known => {
                problems.push(format!("{case}: passes but is listed in KNOWN_FAILURES"))
            }
            _ => {}
        }
    }
    let passed = results
        .iter()
        .filter(|(_, _, o)| *o == Outcome::Passed)
        .count();
    println!("{passed} of {} node test cases passed", results.len());
    assert!(
        problems.is_empty(),
        "{} cases fail:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
