//! strip-postprocess on every fixture: the cut is found by structure (renaming every node and value
//! gives the same cut), the main model keeps no DFL softmax, decode arithmetic or cross-scale
//! concatenation, both models record the cut, and a model without a detection head is left alone.

use npuopt::ir::{Model, Op};
use npuopt::pass::{PassCx, PassManager, SideModel};
use npuopt::passes::{self, strip_postprocess::METADATA_KEY};
use npuopt::proto;
use prost::Message;

fn fixtures() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir("tests/fixtures")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    v.sort();
    v
}

/// Runs the default pipeline; returns the main model, the side models and the notes.
fn run_default(mut model: Model) -> (Model, Vec<SideModel>, Vec<String>) {
    let mut cx = PassCx::for_model(&model);
    let _ = npuopt::ir::infer::infer_types(&mut model.graph, &cx.opsets);
    PassManager::new(passes::pipeline("default").unwrap())
        .verify_each(true)
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    let notes = cx.diagnostics().iter().map(|d| d.to_string()).collect();
    let sides = cx.take_side_models();
    (model, sides, notes)
}

fn metadata(m: &Model) -> serde_json::Value {
    let raw = m
        .shell
        .metadata_props
        .iter()
        .find(|e| e.key() == METADATA_KEY)
        .unwrap()
        .value();
    serde_json::from_str(raw).unwrap()
}

/// Each cut record without its tensor name (names are the exporter's; the cut is structural).
fn shape_of_cut(m: &Model) -> Vec<String> {
    metadata(m)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("tensor");
            r.to_string()
        })
        .collect()
}

#[test]
fn every_fixture_is_cut_at_its_head_convolutions() {
    for path in fixtures() {
        let (main, sides, _) = run_default(npuopt::onnx::load(&path).unwrap());
        let g = &main.graph;
        assert_eq!(sides.len(), 1, "{}: one post model", path.display());
        let records = metadata(&main);
        let records = records.as_array().unwrap();
        assert_eq!(
            records.len(),
            6,
            "{}: box and class tensors for 3 scales",
            path.display()
        );
        assert_eq!(g.outputs().len(), 6);
        for (scale, pair) in records.chunks(2).enumerate() {
            assert_eq!(pair[0]["kind"], "box-dfl", "{}", path.display());
            assert_eq!(pair[1]["kind"], "class-logits");
            for r in pair {
                assert_eq!(r["scale"], scale);
                assert_eq!(r["stride"], 8 << scale);
                assert_eq!(r["reg_max"], 4);
                assert_eq!(r["nc"], 4);
            }
            assert_eq!(pair[0]["channels"], 16);
            assert_eq!(pair[1]["channels"], 4);
        }
        // Every output of the main model is a head convolution's output (or its quantized form).
        for o in g.outputs() {
            let op = g.node(o.value.node).op();
            assert!(
                matches!(op, Some(Op::Conv | Op::QLinearConv | Op::QuantizeLinear)),
                "{op:?}"
            );
        }
        // No post-processing remains: no DFL Softmax (attention Softmax in C2PSA has MatMul
        // neighbours and is not post-processing), no decode Sub/Div, no Sigmoid on class scores.
        for n in g.op_order().unwrap() {
            let op = g.node(n).op();
            assert!(
                !matches!(op, Some(Op::Sub | Op::Div)),
                "{}: {op:?} left in main",
                path.display()
            );
            if matches!(op, Some(Op::Softmax | Op::QLinearSoftmax)) {
                // Its operand comes from a (dequantized) product: attention scores, not DFL bins.
                let through_dq = |v: npuopt::ir::ValueId| match g.node(v.node).op() {
                    Some(Op::DequantizeLinear) => {
                        g.input(v.node, 0).and_then(|x| g.node(x.node).op())
                    }
                    op => op,
                };
                let preds = g
                    .inputs_of(n)
                    .into_iter()
                    .flatten()
                    .map(through_dq)
                    .collect::<Vec<_>>();
                assert!(
                    preds.iter().any(|p| matches!(
                        p,
                        Some(Op::MatMul | Op::QLinearMatMul | Op::Mul | Op::QLinearMul)
                    )),
                    "{}: a Softmax that is not attention is left in main",
                    path.display()
                );
            }
        }
        let post = &sides[0];
        assert_eq!(post.suffix, "post");
        assert_eq!(post.graph.inputs().len(), 6);
        assert_eq!(post.metadata[0].0, METADATA_KEY);
    }
}

#[test]
fn renamed_nodes_and_values_give_the_same_cut() {
    for path in fixtures()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("yolov8-femto-silu"))
    {
        let bytes = std::fs::read(&path).unwrap();
        let mut mp = proto::ModelProto::decode(bytes.as_slice()).unwrap();
        let g = mp.graph.as_mut().unwrap();
        // Every name becomes an opaque id, in an order unrelated to the original names.
        let mut map = std::collections::HashMap::new();
        let mut fresh = |s: &str| -> String {
            if s.is_empty() {
                return String::new();
            }
            let n = map.len();
            map.entry(s.to_string())
                .or_insert_with(|| format!("v{}", 7919 * n % 100_003))
                .clone()
        };
        for (i, n) in g.node.iter_mut().enumerate() {
            n.name = Some(format!("node{}", 1000 - i));
            n.input = n.input.iter().map(|s| fresh(s)).collect();
            n.output = n.output.iter().map(|s| fresh(s)).collect();
        }
        for t in &mut g.initializer {
            t.name = Some(fresh(t.name()));
        }
        for v in g
            .value_info
            .iter_mut()
            .chain(&mut g.output)
            .chain(&mut g.input)
        {
            v.name = Some(fresh(v.name()));
        }
        let scrambled = npuopt::onnx::decode_bytes(mp.encode_to_vec().into()).unwrap();
        let (a, _, _) = run_default(npuopt::onnx::load(&path).unwrap());
        let (b, _, _) = run_default(scrambled);
        assert_eq!(shape_of_cut(&a), shape_of_cut(&b), "{}", path.display());
    }
}

#[test]
fn a_classifier_is_left_whole_with_a_note() {
    // Conv → GlobalAveragePool → Flatten → Gemm → Softmax: no DFL, no detection head.
    let text = npuopt_classifier();
    let model = npuopt::onnx::decode_bytes(text.into()).unwrap();
    let before = npuopt::onnx::encode_bytes(&model).unwrap();
    let mut model = model;
    let mut cx = PassCx::for_model(&model);
    let _ = npuopt::ir::infer::infer_types(&mut model.graph, &cx.opsets);
    let records = PassManager::new(vec![passes::find("strip-postprocess").unwrap()])
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    assert!(!records[0].changed);
    assert!(cx.take_side_models().is_empty());
    assert!(cx
        .diagnostics()
        .iter()
        .any(|d| d.message.contains("no detection head")));
    assert_eq!(npuopt::onnx::encode_bytes(&model).unwrap(), before);
}

fn npuopt_classifier() -> Vec<u8> {
    use proto::{tensor_proto::DataType, AttributeProto, NodeProto, TensorProto, ValueInfoProto};
    let tensor = |name: &str, dims: Vec<i64>| TensorProto {
        name: Some(name.into()),
        dims: dims.clone(),
        data_type: Some(DataType::Float as i32),
        float_data: vec![0.5; dims.iter().product::<i64>() as usize],
        ..Default::default()
    };
    let node = |op: &str, ins: &[&str], out: &str, attrs: Vec<AttributeProto>| NodeProto {
        op_type: Some(op.into()),
        name: Some(op.into()),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: vec![out.into()],
        attribute: attrs,
        ..Default::default()
    };
    let input = ValueInfoProto {
        name: Some("x".into()),
        r#type: Some(
            npuopt::ir::TensorType::new(
                npuopt::ir::DType::F32,
                npuopt::ir::types::static_shape(&[1, 3, 8, 8]),
            )
            .to_proto(),
        ),
        ..Default::default()
    };
    proto::ModelProto {
        ir_version: Some(8),
        opset_import: vec![proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(proto::GraphProto {
            name: Some("classifier".into()),
            node: vec![
                node("Conv", &["x", "w"], "c", vec![]),
                node("GlobalAveragePool", &["c"], "p", vec![]),
                node("Flatten", &["p"], "f", vec![]),
                node("Gemm", &["f", "fc"], "logits", vec![]),
                node("Softmax", &["logits"], "y", vec![]),
            ],
            initializer: vec![tensor("w", vec![4, 3, 1, 1]), tensor("fc", vec![4, 10])],
            input: vec![input],
            output: vec![ValueInfoProto {
                name: Some("y".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// The reference decoder, fed the main model's outputs, reproduces the original model's output.
/// Float models only: a QDQ post model requantizes every decode step (distances, corners, sums)
/// to uint8 with its own scale, while the decoder computes in float — more precise, so not equal.
#[test]
fn reference_decoder_matches_the_post_model() {
    use npuopt::compare::random_inputs;
    use npuopt::eval;
    use npuopt::passes::strip_postprocess::CutRecord;
    use npuopt::postprocess::{decode, CutTensor};
    for path in fixtures()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".fp32"))
    {
        let (original, _) = npuopt::load(&path).unwrap();
        let (main, _, _) = run_default(npuopt::onnx::load(&path).unwrap());
        let inputs = random_inputs(&original.graph, 5).unwrap();
        let want = eval::run_with(
            &original.graph,
            &inputs,
            &eval::Options::for_model(&original),
        )
        .unwrap();
        let cuts = eval::run_with(&main.graph, &inputs, &eval::Options::for_model(&main)).unwrap();
        let records: Vec<CutRecord> = serde_json::from_value(metadata(&main)).unwrap();
        let dequantized: Vec<(usize, Vec<f32>)> = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let t = &cuts.iter().find(|(n, _)| *n == r.tensor).unwrap().1;
                let values = match &r.quantization {
                    Some(q) => t
                        .to_i64s("cut")
                        .unwrap()
                        .iter()
                        .map(|&v| (v - q.zero_point) as f32 * q.scale)
                        .collect(),
                    None => t
                        .to_f64s("cut")
                        .unwrap()
                        .iter()
                        .map(|&v| v as f32)
                        .collect(),
                };
                (i, values)
            })
            .collect();
        let tensors: Vec<CutTensor> = dequantized
            .iter()
            .map(|(i, d)| CutTensor {
                record: &records[*i],
                data: d,
            })
            .collect();
        let (rows, anchors, got) = decode(&tensors).unwrap();
        let expected = want[0].1.to_f64s("output").unwrap();
        assert_eq!(rows * anchors, expected.len(), "{}", path.display());
        // The same arithmetic in another order (boxes are up to 160 pixels: 1e-3 is ~1e-5 relative).
        let tol = 1e-3;
        let worst = got
            .iter()
            .zip(&expected)
            .map(|(g, e)| (*g as f64 - e).abs())
            .fold(0.0, f64::max);
        assert!(worst <= tol, "{}: max |Δ| {worst}", path.display());
    }
}
