//! The command line as a user meets it: exit codes, one clear error per bad input, no panics, and
//! never a partial or clobbered output file.

use std::fs;
use std::path::PathBuf;
use std::process::Output;

use bytes::Bytes;
use npuopt::proto;
use prost::Message;

mod common;

use common::npuopt;

const FIXTURE: &str = "tests/fixtures/yolov8-femto-relu.qdq.onnx";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `npuopt IN -o OUT` on bytes written to a fresh folder; returns the output and the folder.
fn run_on(bytes: &[u8]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.onnx");
    fs::write(&input, bytes).unwrap();
    let out = npuopt(&[
        input.to_str().unwrap(),
        "-o",
        dir.path().join("out.onnx").to_str().unwrap(),
    ]);
    (out, dir)
}

/// Asserts a clean failure: exit 1, one `error:` line that names the file and contains `reason`,
/// no panic, and no output file.
fn assert_rejected(bytes: &[u8], reason: &str) {
    let (out, dir) = run_on(bytes);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(err.lines().count(), 1, "one message expected: {err}");
    assert!(
        err.starts_with("error: ") && err.contains("in.onnx: "),
        "names the file: {err}"
    );
    assert!(err.contains(reason), "expected '{reason}' in: {err}");
    assert!(
        !dir.path().join("out.onnx").exists(),
        "no output may be written"
    );
    let leftovers: Vec<PathBuf> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary files left behind: {leftovers:?}"
    );
}

fn value(name: &str) -> proto::ValueInfoProto {
    proto::ValueInfoProto {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> proto::NodeProto {
    proto::NodeProto {
        op_type: Some(op.into()),
        name: Some(format!("{op}_{}", outputs.join("_"))),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn model(graph: proto::GraphProto) -> Vec<u8> {
    proto::ModelProto {
        ir_version: Some(8),
        opset_import: vec![proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

fn graph(nodes: Vec<proto::NodeProto>, inits: Vec<proto::TensorProto>) -> proto::GraphProto {
    proto::GraphProto {
        name: Some("g".into()),
        node: nodes,
        initializer: inits,
        input: vec![value("x")],
        output: vec![value("y")],
        ..Default::default()
    }
}

fn external_tensor(location: &str) -> proto::TensorProto {
    proto::TensorProto {
        name: Some("w".into()),
        dims: vec![1],
        data_type: Some(1),
        data_location: Some(proto::tensor_proto::DataLocation::External as i32),
        external_data: vec![proto::StringStringEntryProto {
            key: Some("location".into()),
            value: Some(location.into()),
        }],
        ..Default::default()
    }
}

#[test]
fn empty_file() {
    assert_rejected(b"", "not an ONNX model: the file is empty");
}

#[test]
fn truncated_model() {
    let bytes = fs::read(FIXTURE).unwrap();
    assert_rejected(&bytes[..bytes.len() / 2], "protobuf decode failed");
}

#[test]
fn corrupt_bytes() {
    assert_rejected(&[0xff; 64], "not an ONNX model");
}

#[test]
fn text_and_image_files_are_not_models() {
    assert_rejected(b"hello, this is not a model\n", "not an ONNX model");
    assert_rejected(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "not an ONNX model");
}

#[test]
fn protobuf_without_a_graph() {
    let bytes = proto::ModelProto {
        ir_version: Some(8),
        ..Default::default()
    }
    .encode_to_vec();
    assert_rejected(&bytes, "it has no graph");
}

#[test]
fn cycle() {
    let g = graph(
        vec![
            node("Add", &["x", "b"], &["a"]),
            node("Relu", &["a"], &["b"]),
            node("Identity", &["a"], &["y"]),
        ],
        vec![],
    );
    assert_rejected(&model(g), "the graph has a cycle through node");
}

#[test]
fn missing_initializer() {
    let g = graph(vec![node("Add", &["x", "w"], &["y"])], vec![]);
    assert_rejected(
        &model(g),
        "node 'Add_y': input 'w' is not a graph input, an initializer or any node's output",
    );
}

#[test]
fn value_defined_twice() {
    let g = graph(
        vec![node("Relu", &["x"], &["y"]), node("Neg", &["x"], &["y"])],
        vec![],
    );
    assert_rejected(&model(g), "value 'y' is defined twice");
}

#[test]
fn data_that_does_not_fit_the_shape() {
    let w = proto::TensorProto {
        name: Some("w".into()),
        dims: vec![1 << 40, 1 << 30],
        data_type: Some(1),
        raw_data: Some(Bytes::from_static(&[0; 4])),
        ..Default::default()
    };
    let g = graph(vec![node("Add", &["x", "w"], &["y"])], vec![w]);
    assert_rejected(
        &model(g),
        "tensor 'w': shape [1099511627776, 1073741824] of f32 is too large",
    );
    let w = proto::TensorProto {
        name: Some("w".into()),
        dims: vec![3],
        data_type: Some(1),
        raw_data: Some(Bytes::from_static(&[0; 4])),
        ..Default::default()
    };
    let g = graph(vec![node("Add", &["x", "w"], &["y"])], vec![w]);
    assert_rejected(
        &model(g),
        "tensor 'w': its data has 4 bytes, but f32[3] needs 12",
    );
}

#[test]
fn external_data_may_not_leave_the_models_folder() {
    for (location, reason) in [
        ("../secret.bin", "climbs out with '..'"),
        ("/etc/passwd", "absolute locations are refused"),
        ("missing.bin", "cannot open"),
    ] {
        let g = graph(
            vec![node("Add", &["x", "w"], &["y"])],
            vec![external_tensor(location)],
        );
        assert_rejected(&model(g), reason);
    }
}

#[cfg(unix)]
#[test]
fn external_data_symlink_out_of_the_folder_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.bin"), [0u8; 4]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.bin"), dir.path().join("w.bin"))
        .unwrap();
    let g = graph(
        vec![node("Add", &["x", "w"], &["y"])],
        vec![external_tensor("w.bin")],
    );
    let input = dir.path().join("in.onnx");
    fs::write(&input, model(g)).unwrap();
    let out = npuopt(&[
        input.to_str().unwrap(),
        "-o",
        dir.path().join("out.onnx").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("leads outside the model's folder"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("out.onnx").exists());
}

#[test]
fn unknown_ops_pass_through() {
    let mut custom = node("FancyOp", &["x"], &["y"]);
    custom.domain = Some("example.custom".into());
    let bytes = model(graph(vec![custom], vec![]));
    // The default pipeline runs, and places the op on the CPU with its reason.
    let (out, dir) = run_on(&bytes);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written =
        npuopt::onnx::decode_bytes(fs::read(dir.path().join("out.onnx")).unwrap().into()).unwrap();
    let g = &written.graph;
    let op = g.op_order().unwrap()[0];
    assert_eq!(g.node(op).as_op().unwrap().op_type(), "FancyOp");
    let placement = g
        .node(op)
        .as_op()
        .unwrap()
        .proto()
        .metadata_props
        .iter()
        .find(|e| e.key() == "npuopt.placement");
    assert_eq!(placement.map(|e| e.value()), Some("cpu"));
    // With no passes it comes out unchanged.
    let input = dir.path().join("in.onnx");
    let same = dir.path().join("same.onnx");
    let out = npuopt(&[
        input.to_str().unwrap(),
        "-o",
        same.to_str().unwrap(),
        "--pipeline",
        "none",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read(same).unwrap(), bytes);
}

#[test]
fn inspect_reports_placement_and_gates_exit_3() {
    let out = npuopt(&["inspect", FIXTURE, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &report["summary"];
    for key in [
        "npu_nodes",
        "cpu_nodes",
        "npu_macs",
        "total_macs",
        "npu_mac_fraction",
        "npu_regions",
        "transitions",
        "boundary_bytes",
        "estimated_us",
    ] {
        assert!(s.get(key).is_some(), "summary.{key} missing");
    }
    // One entry of figures per region.
    let regions = report["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 1);
    assert!(regions[0]["npu_us"].as_f64().unwrap() < regions[0]["cpu_us"].as_f64().unwrap());
    assert_eq!(s["target"], "ethos-n78@25.03");
    // The passes' refusals are listed with their reasons.
    let notes = report["diagnostics"].as_array().unwrap();
    assert!(notes
        .iter()
        .any(|d| d["pass"] == "fold-qdq"
            && d["message"].as_str().unwrap().contains("no integer form")));
    assert_eq!(s["npu_regions"], 1, "{s}");
    for n in report["nodes"].as_array().unwrap() {
        for key in [
            "name",
            "op_type",
            "placement",
            "region",
            "level",
            "rule",
            "reason",
        ] {
            assert!(n.get(key).is_some(), "node.{key} missing: {n}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("o.onnx");
    let rep = dir.path().join("r.md");
    let gate = npuopt(&[
        FIXTURE,
        "-o",
        o.to_str().unwrap(),
        "--target",
        "ethos-n78@23.02",
        "--max-npu-regions",
        "1",
        "--report",
        rep.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(gate.status.code(), Some(3), "{}", stderr(&gate));
    assert!(
        stderr(&gate).contains("NPU regions, --max-npu-regions allows 1"),
        "{}",
        stderr(&gate)
    );
    let markdown = fs::read_to_string(&rep).unwrap();
    assert!(markdown.starts_with("# Placement on ethos-n78@23.02"));
    assert!(markdown.contains("## Regions"), "{markdown}");
    assert!(markdown.contains("per inference (cost model"), "{markdown}");
    let ok = npuopt(&[
        FIXTURE,
        "-o",
        o.to_str().unwrap(),
        "--min-npu-macs",
        "0.9",
        "-q",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    // Under 23.02 the SPPF max-pool (stride 1) stays on the CPU; the report says which release runs it.
    let old = npuopt(&["inspect", FIXTURE, "--target", "ethos-n78@23.02", "--json"]);
    let old: serde_json::Value = serde_json::from_slice(&old.stdout).unwrap();
    let pool = old["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["op_type"] == "MaxPool")
        .unwrap();
    assert_eq!(pool["placement"], "cpu");
    assert_eq!(pool["remedy"], "supported from release 23.08");
    let bad = npuopt(&[FIXTURE, "-o", o.to_str().unwrap(), "--target", "ethos-n99"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = npuopt(&["inspect", FIXTURE, "--demote", "fast"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_failed_run_does_not_clobber_an_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.onnx");
    fs::write(&input, b"").unwrap();
    let output = dir.path().join("out.onnx");
    fs::write(&output, b"precious").unwrap();
    let out = npuopt(&[input.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read(&output).unwrap(), b"precious");
}

#[test]
fn an_unwritable_output_is_a_clear_error() {
    let out = npuopt(&[FIXTURE, "-o", "/nonexistent-dir/out.onnx"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err,
        "error: /nonexistent-dir/out.onnx: the output folder '/nonexistent-dir' does not exist\n"
    );
}

#[test]
fn output_may_be_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    fs::copy(FIXTURE, &path).unwrap();
    let p = path.to_str().unwrap();
    let out = npuopt(&[p, "-o", p, "--pipeline", "none", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read(&path).unwrap(), fs::read(FIXTURE).unwrap());
}

#[test]
fn pipeline_none_is_byte_identical_and_runs_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, args: &[&str]| -> Vec<u8> {
        let out_path = dir.path().join(name);
        let out = npuopt(&[&["-o", out_path.to_str().unwrap(), "-q"], args].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        fs::read(out_path).unwrap()
    };
    assert_eq!(
        run("a.onnx", &[FIXTURE, "--pipeline", "none"]),
        fs::read(FIXTURE).unwrap()
    );
    let default = [FIXTURE, "--pipeline", "default"];
    assert_eq!(run("b.onnx", &default), run("c.onnx", &default));
    // Where legalise undoes alignments and the cost model demotes regions one by one.
    let demoting = [
        "tests/fixtures/yolov8-femto-silu.qdq.onnx",
        "--target",
        "ethos-n78@23.02",
    ];
    assert_eq!(run("d.onnx", &demoting), run("e.onnx", &demoting));
}

#[test]
fn usage_errors_exit_2() {
    let out = npuopt(&[FIXTURE, "-o", "/tmp/x.onnx", "--passes", "no-such-pass"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown pass 'no-such-pass'"));
    assert_eq!(npuopt(&[FIXTURE]).status.code(), Some(2));
    assert_eq!(
        npuopt(&[FIXTURE, "-o", "/tmp/x.onnx", "--pipeline", "bogus"])
            .status
            .code(),
        Some(2)
    );
    let out = npuopt(&[
        FIXTURE,
        "-o",
        "/tmp/x.onnx",
        "--passes",
        "dce",
        "--dump-after",
        "identity-elim",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn passes_lists_every_pass_with_its_exactness() {
    let out = npuopt(&["passes"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for p in npuopt::passes::registry() {
        let line = text
            .lines()
            .find(|l| l.starts_with(p.name()))
            .unwrap_or_else(|| panic!("{} missing", p.name()));
        assert!(
            line.contains(if p.exact() { "exact" } else { "opt-in" }),
            "{line}"
        );
    }
}

#[test]
fn missing_input_file() {
    let out = npuopt(&["/no/such/model.onnx", "-o", "/tmp/x.onnx"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: /no/such/model.onnx: cannot read:"));
}

#[test]
fn verify_finds_a_changed_weight_and_names_where_it_diverges() {
    let same = npuopt(&["verify", FIXTURE, FIXTURE]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    // Change one weight of the last convolution (with random weights, an early change can vanish
    // behind a saturated activation).
    let bytes = fs::read(FIXTURE).unwrap();
    let mut m = proto::ModelProto::decode(bytes.as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    let conv = g
        .node
        .iter()
        .rev()
        .find(|n| n.op_type() == "Conv")
        .unwrap()
        .clone();
    let dq = g
        .node
        .iter()
        .find(|n| n.output.contains(&conv.input[1]))
        .unwrap()
        .clone();
    let w = g
        .initializer
        .iter_mut()
        .find(|t| t.name() == dq.input[0])
        .unwrap();
    let mut raw = w.raw_data.clone().unwrap().to_vec();
    raw[0] = raw[0].wrapping_add(100);
    w.raw_data = Some(raw.into());
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("changed.onnx");
    fs::write(&changed, m.encode_to_vec()).unwrap();
    let out = npuopt(&["verify", FIXTURE, changed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DIFFERS"), "{text}");
    // The first tensor computed differently is the changed weight, dequantized.
    assert!(
        text.contains(&format!(
            "first diverging tensor both models compute: {} ",
            dq.output[0]
        )),
        "{text}"
    );
}

#[test]
fn run_writes_one_npy_per_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = npuopt(&[
        "run",
        FIXTURE,
        "--seed",
        "3",
        "--save-outputs",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let npy = fs::read(dir.path().join("output0.npy")).unwrap();
    assert!(npy.starts_with(b"\x93NUMPY"));
    let t = npuopt::eval::npy::read(&npy).unwrap();
    assert_eq!(t.shape(), &[1, 8, 525]);
}

/// With externalized data, the post-processing model gets a data file of its own: saved under the
/// main model's data file name, one save would overwrite the other's weights.
#[test]
fn externalized_side_models_keep_their_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.onnx");
    let o = npuopt(&[
        FIXTURE,
        "-o",
        out.to_str().unwrap(),
        "--external-data",
        "externalize",
        "--external-threshold",
        "16",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let post = dir.path().join("out.post.onnx");
    for model in [&out, &post] {
        let v = npuopt(&["verify", model.to_str().unwrap(), model.to_str().unwrap()]);
        assert!(v.status.success(), "{}: {}", model.display(), stderr(&v));
    }
    assert!(dir.path().join("out.onnx.data").exists());
    assert!(dir.path().join("out.post.onnx.data").exists());
}

/// `verify` runs a model whose NPU regions are model-local functions (`--emit functions`).
#[test]
fn verify_runs_emitted_functions() {
    let dir = tempfile::tempdir().unwrap();
    let annotated = dir.path().join("a.onnx");
    let functions = dir.path().join("f.onnx");
    for (out, emit) in [(&annotated, "annotated"), (&functions, "functions")] {
        let o = npuopt(&[FIXTURE, "-o", out.to_str().unwrap(), "--emit", emit]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let v = npuopt(&[
        "verify",
        annotated.to_str().unwrap(),
        functions.to_str().unwrap(),
        "--lsb",
        "0",
    ]);
    assert!(v.status.success(), "{}", stderr(&v));
}
