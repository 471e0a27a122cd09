//! The default pipeline and the Ethos-N78 partition on the quantized fixtures: what the issue's
//! "done" asks of real YOLO exports.

use std::rc::Rc;

mod common;

use npuopt::partition::plan::{plan, Demotion, Plan};
use npuopt::pass::{PassCx, PassManager};
use npuopt::passes;
use npuopt::target::ethos_n::EthosN;

/// The model at `path` after the default pipeline for `target`.
fn prepared(path: &str, target: &EthosN) -> npuopt::ir::Model {
    let (mut model, _) = npuopt::load(std::path::Path::new(path)).unwrap();
    let mut cx = PassCx::for_model(&model).with_target(Rc::new(target.clone()));
    PassManager::new(passes::pipeline("default").unwrap())
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    model
}

/// `npuopt inspect ARGS --json`, parsed.
fn inspect_json(args: &[&str]) -> serde_json::Value {
    let stdout = common::npuopt_ok(&[&["inspect"], args, &["--json"]].concat());
    serde_json::from_slice(&stdout).unwrap()
}

fn partitioned(path: &str, target: &str) -> Plan {
    let target = EthosN::from_spec(target, None).unwrap();
    plan(&prepared(path, &target).graph, &target, Demotion::Cost).unwrap()
}

/// The cost model demotes exactly the regions that lose (a region's figures do not depend on
/// where the others run), so its placement is estimated no slower than keeping every region
/// (`none`) or TVM's rule (`no-compute`): every quantized fixture at every release.
#[test]
fn the_cost_model_placement_is_estimated_fastest() {
    let mut fixtures: Vec<String> = std::fs::read_dir("tests/fixtures")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".qdq.onnx"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 6);
    for path in &fixtures {
        for release in ["23.02", "23.08", "25.03"] {
            let target = EthosN::from_spec(&format!("ethos-n78@{release}"), None).unwrap();
            let model = prepared(path, &target);
            let total = |d| {
                plan(&model.graph, &target, d)
                    .unwrap()
                    .summary
                    .estimated_us
                    .total
            };
            let cost = total(Demotion::Cost);
            for other in [Demotion::None, Demotion::NoCompute] {
                let t = total(other);
                assert!(
                    cost <= t + 1e-6,
                    "{path}@{release}: cost {cost} > {other:?} {t}"
                );
            }
        }
    }
}

/// Without the post-processing cut, the DFL's 1x1 convolution (a few thousand MACs between CPU
/// ops) is not worth an NPU call: the cost model moves it to the CPU and says why with figures;
/// TVM's rule keeps it as a second region.
#[test]
fn the_cost_model_moves_the_uncut_dfl_to_the_cpu() {
    let inspect = |demote: &str| {
        inspect_json(&[
            "tests/fixtures/yolov8-femto-relu.qdq.onnx",
            "--pipeline",
            "none",
            "--demote",
            demote,
        ])
    };
    let dfl = |v: &serde_json::Value| {
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["op_type"] == "Conv" && n["name"].as_str().unwrap().contains("dfl"))
            .unwrap()
            .clone()
    };
    let cost = inspect("cost");
    assert_eq!(cost["summary"]["npu_regions"], 1);
    let conv = dfl(&cost);
    assert_eq!(conv["placement"], "cpu");
    assert_eq!(conv["rule"], "partition.not-worth-it");
    assert!(
        conv["details"].as_str().unwrap().contains("µs on the CPU"),
        "{conv}"
    );
    let tvm = inspect("no-compute");
    assert_eq!(tvm["summary"]["npu_regions"], 2);
    assert_eq!(dfl(&tvm)["placement"], "npu");
    let us = |v: &serde_json::Value| v["summary"]["estimated_us"]["total"].as_f64().unwrap();
    assert!(us(&cost) < us(&tvm));
}

/// YOLOv8 in every activation: at 25.03 every convolution runs on the NPU and the whole model
/// before the post-processing cut is one region (SiLU's Sigmoid legalised by requantization).
#[test]
fn yolov8_is_one_npu_region_at_25_03() {
    for act in ["relu", "lrelu", "silu"] {
        let path = format!("tests/fixtures/yolov8-femto-{act}.qdq.onnx");
        let p = partitioned(&path, "ethos-n78@25.03");
        assert_eq!(p.summary.npu_regions, 1, "{path}");
        for n in &p.nodes {
            if n.op_type == "QLinearConv" || n.op_type == "QLinearSigmoid" {
                assert_eq!(n.placement, "npu", "{path}: {} {}", n.name, n.reason);
            }
            if n.placement == "cpu" {
                assert!(!n.reason.is_empty(), "{path}: {} has no reason", n.name);
            }
        }
    }
}

/// Before 23.11 the NPU has no tensor × tensor multiply: SiLU's Mul stays on the CPU and says so.
#[test]
fn silu_multiply_needs_23_11() {
    let p = partitioned(
        "tests/fixtures/yolov8-femto-silu.qdq.onnx",
        "ethos-n78@23.08",
    );
    let muls: Vec<_> = p
        .nodes
        .iter()
        .filter(|n| n.op_type == "QLinearMul")
        .collect();
    assert!(!muls.is_empty());
    for n in muls {
        assert_eq!(n.placement, "cpu", "{}", n.name);
        assert_eq!(
            n.remedy.as_deref(),
            Some("supported from release 23.11"),
            "{}",
            n.name
        );
    }
}

/// YOLO11: the only boundary left at 25.03 is C2PSA's attention (activation × activation MatMul,
/// Softmax), which no release runs.
#[test]
fn yolo11_keeps_only_the_attention_on_the_cpu() {
    for act in ["relu", "lrelu", "silu"] {
        let path = format!("tests/fixtures/yolo11-femto-{act}.qdq.onnx");
        let p = partitioned(&path, "ethos-n78@25.03");
        assert_eq!(p.summary.npu_regions, 2, "{path}");
        for n in p.nodes.iter().filter(|n| n.placement == "cpu") {
            // The input's Q, and the attention: its MatMuls, Softmax (in float between Q/DQ),
            // the scalar scaling Mul and the Transposes stranded between them.
            let boundary = matches!(
                n.op_type.as_str(),
                "QuantizeLinear"
                    | "DequantizeLinear"
                    | "QLinearMatMul"
                    | "Softmax"
                    | "QLinearMul"
                    | "Transpose"
            );
            assert!(
                boundary,
                "{path}: {} ({}) on the CPU: {}",
                n.name, n.op_type, n.reason
            );
        }
    }
}

/// The report says what would move each CPU node: a newer release, an opt-in pass, or both.
#[test]
fn remedies_name_releases_and_opt_in_passes() {
    let v = inspect_json(&[
        "tests/fixtures/yolo11-femto-silu.qdq.onnx",
        "--target",
        "ethos-n78@23.02",
    ]);
    let nodes = v["nodes"].as_array().unwrap();
    let remedy = |n: &serde_json::Value| n["remedy"].as_str().unwrap_or("").to_string();
    let muls: Vec<_> = nodes
        .iter()
        .filter(|n| n["op_type"] == "QLinearMul" && n["placement"] == "cpu")
        .collect();
    assert!(!muls.is_empty());
    let silu_muls = muls
        .iter()
        .filter(|n| {
            let r = remedy(n);
            r.contains("supported from release 23.11") && r.contains("--activation relu")
        })
        .count();
    assert!(silu_muls > 40, "{silu_muls} of {} muls", muls.len());
    let attention = nodes
        .iter()
        .filter(|n| n["op_type"] == "QLinearMatMul" && n["placement"] == "cpu")
        .collect::<Vec<_>>();
    assert_eq!(attention.len(), 2);
    for n in attention {
        assert!(remedy(n).contains("--c2f"), "{n}");
    }
}

/// `inspect --pipeline none` reports the QDQ model as given: its node units (DequantizeLinear →
/// op → QuantizeLinear) are judged as the integer ops they fold to, so every Conv unit runs on the
/// NPU although no pass ran.
#[test]
fn qdq_units_are_judged_as_units_without_passes() {
    let v = inspect_json(&[
        "tests/fixtures/yolov8-femto-relu.qdq.onnx",
        "--pipeline",
        "none",
        "--demote",
        "none",
    ]);
    let convs: Vec<_> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["op_type"] == "Conv")
        .collect();
    assert!(convs.len() > 50);
    for n in convs {
        assert_eq!(n["placement"], "npu", "{n}");
    }
    assert_eq!(v["summary"]["npu_mac_fraction"], 1.0);
}

/// legalise's rewrites compute what the model computed: the Pad folded into a convolution and
/// the synthesised zero bias bit for bit; the requantized Sigmoid and the constant Mul/Add as
/// depthwise convolutions within 1 LSB (evaluator, random inputs).
#[test]
fn legalised_cases_compute_the_same() {
    use npuopt::ir::Model;
    for (case, lsb) in [
        ("passes/legalise/pad_into_conv.npuir", 0),
        ("passes/legalise/conv_bias_tvm.npuir", 0),
        ("passes/legalise/sigmoid_requantized.npuir", 1),
        ("passes/legalise/sigmoid_int8_tvm.npuir", 1),
        ("passes/legalise/channels_c2f_block.npuir", 0),
        ("passes/legalise/channels_through_depthwise.npuir", 0),
        ("passes/legalise/mul_scalar_depthwise.npuir", 1),
        ("passes/legalise/mul_per_channel.npuir", 0),
        ("passes/legalise/add_per_channel.npuir", 1),
        ("passes/legalise/tanh_requantized.npuir", 1),
        ("passes/legalise/mean_requantized.npuir", 1),
        ("passes/legalise/mean_reducemean_requantized.npuir", 1),
    ] {
        let text = std::fs::read_to_string(case).unwrap();
        let graph = npuopt::print::parse_graph(&text).unwrap();
        let target = npuopt::testing::target_spec(&text).unwrap();
        let mut model = Model {
            graph,
            shell: npuopt::proto::ModelProto {
                opset_import: vec![npuopt::proto::OperatorSetIdProto {
                    domain: Some(String::new()),
                    version: Some(npuopt::testing::CASE_OPSET),
                }],
                ..Default::default()
            },
        };
        let opsets = PassCx::for_model(&model).opsets;
        let _ = npuopt::ir::infer::infer_types(&mut model.graph, &opsets);
        let inputs = npuopt::compare::random_inputs(&model.graph, 7).unwrap();
        let before = npuopt::eval::run(&model.graph, &inputs).unwrap();
        let target = Rc::new(EthosN::from_spec(target, None).unwrap());
        let mut cx = PassCx::for_model(&model).with_target(target);
        let records = PassManager::new(vec![passes::find("legalise").unwrap()])
            .run(&mut model, &mut cx, |_, _| {})
            .unwrap();
        assert!(records[0].changed, "{case}");
        let after = npuopt::eval::run(&model.graph, &inputs).unwrap();
        for ((_, b), (_, a)) in before.iter().zip(&after) {
            let (b, a) = (b.to_i64s("b").unwrap(), a.to_i64s("a").unwrap());
            let worst = b.iter().zip(&a).map(|(x, y)| (x - y).abs()).max().unwrap();
            assert!(worst <= lsb, "{case}: {worst} LSB");
        }
    }
}

/// At 23.02 (legacy compiler: channel concat/split only in multiples of 16) legalise aligns every
/// C2f Split and Concat to 16-channel windows: none stays on the CPU for that rule, YOLOv8 drops
/// to the SPPF's stride-1 max-pools as its only boundary, and the model computes bit for bit what
/// it computed (evaluator, whole model kept).
#[test]
fn channel_alignment_at_23_02_is_exact_and_removes_the_16_channel_boundaries() {
    for act in ["relu", "lrelu"] {
        let path = format!("tests/fixtures/yolov8-femto-{act}.qdq.onnx");
        let p = partitioned(&path, "ethos-n78@23.02");
        for n in &p.nodes {
            assert!(
                !n.rule.ends_with("channels-16"),
                "{path}: {} {}",
                n.name,
                n.reason
            );
        }
        assert_eq!(p.summary.npu_regions, 2, "{path}");

        let (original, _) = npuopt::load(std::path::Path::new(&path)).unwrap();
        let (mut model, _) = npuopt::load(std::path::Path::new(&path)).unwrap();
        let target = Rc::new(EthosN::from_spec("ethos-n78@23.02", None).unwrap());
        let options = passes::Options {
            keep_postprocess: true,
            ..passes::Options::default()
        };
        let chosen = passes::configure(passes::pipeline("default").unwrap(), &options);
        let mut cx = PassCx::for_model(&model).with_target(target);
        PassManager::new(chosen)
            .run(&mut model, &mut cx, |_, _| {})
            .unwrap();
        assert!(cx
            .diagnostics()
            .iter()
            .any(|d| d.message.contains("16-channel windows (bit-exact)")));
        let inputs = npuopt::compare::random_inputs(&original.graph, 3).unwrap();
        let before = npuopt::eval::run(&original.graph, &inputs).unwrap();
        let after = npuopt::eval::run(&model.graph, &inputs).unwrap();
        assert_eq!(before, after, "{path}");
    }
}
