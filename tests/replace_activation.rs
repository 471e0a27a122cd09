//! replace-activation on the fixtures, and the deviation measurement of non-exact passes: what the
//! CLI prints must be what `npuopt verify IN OUT` computes on the same inputs.

use std::path::Path;

use npuopt::ir::{verify, Graph, NodeId, Op, ValueId};
use npuopt::pass::{PassCx, PassManager, PassRecord};
use npuopt::passes::{self, replace_activation::Activation};
use npuopt::{compare, eval};

mod common;

use common::npuopt;

/// The fixtures with activations to replace (float and QDQ).
const MODELS: &[&str] = &[
    "yolov8-femto-silu.fp32",
    "yolov8-femto-silu.qdq",
    "yolov8-femto-lrelu.fp32",
    "yolov8-femto-lrelu.qdq",
    "yolo11-femto-silu.fp32",
    "yolo11-femto-silu.qdq",
    "yolo11-femto-lrelu.fp32",
    "yolo11-femto-lrelu.qdq",
];

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}.onnx", env!("CARGO_MANIFEST_DIR"))
}

/// The op producing `v`, seen through `QuantizeLinear → DequantizeLinear`.
fn producer_op(g: &Graph, v: ValueId) -> Option<Op> {
    let op = g.node(v.node).op()?;
    if op == Op::DequantizeLinear {
        let q = g.input(v.node, 0)?;
        if g.node(q.node).op() == Some(Op::QuantizeLinear) {
            return g.node(g.input(q.node, 0)?.node).op();
        }
    }
    Some(op)
}

/// Nodes that are still one of the replaced activations.
fn remaining_activations(g: &Graph) -> Vec<String> {
    let ops: Vec<NodeId> = g.op_order().unwrap();
    ops.into_iter()
        .filter(|&n| match g.node(n).op() {
            Some(Op::LeakyRelu | Op::HardSwish | Op::QLinearLeakyRelu) => true,
            Some(Op::Mul) => g
                .inputs_of(n)
                .into_iter()
                .flatten()
                .any(|v| producer_op(g, v) == Some(Op::Sigmoid)),
            Some(Op::QLinearMul) => g
                .inputs_of(n)
                .into_iter()
                .flatten()
                .any(|v| g.node(v.node).op() == Some(Op::QLinearSigmoid)),
            _ => false,
        })
        .map(|n| g.node(n).display_name())
        .collect()
}

/// The default pipeline without strip-postprocess (the whole model stays), with `activation`.
fn run(name: &str, activation: Activation) -> (npuopt::ir::Model, Vec<PassRecord>) {
    let (mut model, _) = npuopt::load(Path::new(&fixture(name))).unwrap();
    let options = passes::Options {
        keep_postprocess: true,
        activation: Some(activation),
        ..passes::Options::default()
    };
    let chosen = passes::configure(passes::pipeline("default").unwrap(), &options);
    let mut cx = PassCx::for_model(&model);
    let records = PassManager::new(chosen)
        .verify_each(true)
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    (model, records)
}

#[test]
fn fixtures_lose_every_replaced_activation_and_still_evaluate() {
    for name in MODELS {
        let (model, records) = run(name, Activation::Relu);
        let g = &model.graph;
        assert_eq!(remaining_activations(g), Vec::<String>::new(), "{name}");
        assert_eq!(verify::verify(g), Vec::<String>::new(), "{name}");
        let record = records
            .iter()
            .find(|r| r.pass == "replace-activation")
            .unwrap();
        assert!(record.changed, "{name}: nothing replaced");
        let deviation = record.deviation.as_ref().expect("measured");
        assert_eq!(deviation.failure, None, "{name}");
        assert!(
            deviation
                .outputs
                .iter()
                .all(|o| o.difference.as_ref().is_some_and(|d| d.max_abs > 0.0)),
            "{name}: a replaced activation must move the outputs: {deviation:?}"
        );
        let inputs = compare::random_inputs(g, 1).unwrap();
        let outputs = eval::run_with(g, &inputs, &eval::Options::for_model(&model)).unwrap();
        assert_eq!(outputs.len(), g.outputs().len(), "{name}");
    }
}

#[test]
fn relu6_and_leaky_relu_targets_replace_too() {
    let (model, _) = run("yolov8-femto-silu.qdq", Activation::Relu6);
    assert_eq!(remaining_activations(&model.graph), Vec::<String>::new());
    let (model, _) = run(
        "yolov8-femto-silu.qdq",
        Activation::LeakyRelu { alpha: 0.2 },
    );
    let g = &model.graph;
    let leaky: Vec<NodeId> = g
        .op_order()
        .unwrap()
        .into_iter()
        .filter(|&n| matches!(g.node(n).op(), Some(Op::LeakyRelu | Op::QLinearLeakyRelu)))
        .collect();
    assert_eq!(
        remaining_activations(g).len(),
        leaky.len(),
        "only the new LeakyReLUs"
    );
    assert!(!leaky.is_empty());
    for n in leaky {
        assert_eq!(
            g.node(n).as_op().unwrap().attr_float("alpha"),
            Ok(Some(0.2))
        );
    }
}

#[test]
fn exact_passes_and_no_measure_record_no_deviation() {
    let (_, records) = run("yolov8-femto-relu.qdq", Activation::Relu);
    assert!(
        records.iter().all(|r| r.deviation.is_none()),
        "nothing to replace, nothing measured"
    );
    let (mut model, _) = npuopt::load(Path::new(&fixture("yolov8-femto-silu.fp32"))).unwrap();
    let mut cx = PassCx::for_model(&model);
    let records = PassManager::new(vec![passes::find("replace-activation").unwrap()])
        .measure(None)
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    assert!(records[0].changed);
    assert_eq!(records[0].deviation, None);
}

/// `(output, "max abs A  max rel R")` from lines `  NAME  max abs A  max rel R[ ok|DIFFERS]`.
fn figures(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("  ")?.split_once(' ')?;
            let rest = rest.trim_start();
            rest.starts_with("max ").then(|| {
                let fig = rest.trim_end_matches(" DIFFERS").trim_end_matches(" ok");
                (name.to_string(), fig.to_string())
            })
        })
        .collect()
}

#[test]
fn printed_deviation_matches_verify_and_the_json_report() {
    for name in ["yolov8-femto-silu.qdq", "yolo11-femto-lrelu.fp32"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.onnx");
        let report = dir.path().join("report.json");
        let input = fixture(name);
        let run = npuopt(&[
            &input,
            "-o",
            out.to_str().unwrap(),
            "--activation",
            "relu",
            "--keep-postprocess",
            "--report",
            report.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{err}");
        assert!(
            err.contains("warning[replace-activation]: the model's function changed; fine-tune or retrain it"),
            "{err}"
        );
        assert!(err.contains("`activation: nn.ReLU()`"), "{err}");
        let printed = figures(&err);
        assert!(!printed.is_empty(), "{err}");

        let verify = npuopt(&["verify", &input, out.to_str().unwrap(), "--seed", "0"]);
        assert_eq!(verify.status.code(), Some(3), "the function changed");
        let verified = figures(&String::from_utf8_lossy(&verify.stdout));
        assert_eq!(printed, verified, "{name}");

        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let deviations = json["deviations"].as_array().unwrap();
        assert_eq!(deviations.len(), 1);
        assert_eq!(deviations[0]["pass"], "replace-activation");
        assert_eq!(deviations[0]["seed"], 0);
        let outputs = deviations[0]["outputs"].as_array().unwrap();
        let from_json: Vec<(String, String)> = outputs
            .iter()
            .map(|o| {
                let abs = o["max_abs"].as_f64().unwrap();
                let rel = o["max_rel"].as_f64().unwrap();
                let name = o["name"].as_str().unwrap().to_string();
                (name, format!("max abs {abs:.3e}  max rel {rel:.3e}"))
            })
            .collect();
        assert_eq!(from_json, printed, "{name}");

        let quiet = npuopt(&[
            &input,
            "-o",
            out.to_str().unwrap(),
            "--activation",
            "relu",
            "--no-measure",
        ]);
        let err = String::from_utf8_lossy(&quiet.stderr);
        assert!(quiet.status.success(), "{err}");
        assert!(!err.contains("Output deviation"), "{err}");
    }
}

#[test]
fn bad_activation_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.onnx");
    let run = npuopt(&[
        &fixture("yolov8-femto-silu.fp32"),
        "-o",
        out.to_str().unwrap(),
        "--activation",
        "swish",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("relu, relu6 or leaky-relu:ALPHA"));
}
