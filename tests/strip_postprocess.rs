//! strip-postprocess on every fixture: the cut is found by structure (renaming every node and value
//! gives the same cut), the main model keeps no DFL softmax, decode arithmetic or cross-scale
//! concatenation, both models record the cut, and `post(main(x)) == model(x)` bit for bit in the
//! evaluator for every head layout. A model without a detection head is left alone, or cut where
//! a named target stops running it.

use std::rc::Rc;

use npuopt::eval;
use npuopt::ir::{Graph, Model, Op};
use npuopt::pass::{Pass, PassCx, PassManager, SideModel};
use npuopt::passes::strip_postprocess::{HeadLayout, StripPostprocess, METADATA_KEY};
use npuopt::passes::{self};
use npuopt::proto;
use npuopt::target::ethos_n::{EthosN, Profile};
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
fn run_default(model: Model) -> (Model, Vec<SideModel>, Vec<String>) {
    run_layout(model, HeadLayout::default())
}

/// Runs the default pipeline with strip-postprocess in `layout`.
fn run_layout(mut model: Model, layout: HeadLayout) -> (Model, Vec<SideModel>, Vec<String>) {
    let mut cx = PassCx::for_model(&model);
    let _ = npuopt::ir::infer::infer_types(&mut model.graph, &cx.opsets);
    let pipeline: Vec<Box<dyn Pass>> = passes::pipeline("default")
        .unwrap()
        .into_iter()
        .map(|p| match p.name() {
            "strip-postprocess" => Box::new(StripPostprocess { layout }) as Box<dyn Pass>,
            _ => p,
        })
        .collect();
    PassManager::new(pipeline)
        .verify_each(true)
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    let notes = cx.diagnostics().iter().map(|d| d.to_string()).collect();
    let sides = cx.take_side_models();
    (model, sides, notes)
}

/// The metadata entry: `{kind, layout, outputs}`.
fn metadata_entry(m: &Model) -> serde_json::Value {
    let raw = m
        .shell
        .metadata_props
        .iter()
        .find(|e| e.key() == METADATA_KEY)
        .unwrap()
        .value();
    serde_json::from_str(raw).unwrap()
}

/// The records of the main model's outputs.
fn metadata(m: &Model) -> serde_json::Value {
    metadata_entry(m)["outputs"].clone()
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
        assert_no_postprocessing(g, &path);
        let post = &sides[0];
        assert_eq!(post.suffix, "post");
        assert_eq!(post.graph.inputs().len(), 6);
        assert_eq!(post.metadata[0].0, METADATA_KEY);
    }
}

/// No post-processing remains: no DFL Softmax (attention Softmax in C2PSA has MatMul neighbours
/// and is not post-processing), no decode Sub/Div, no output concatenated across scales.
fn assert_no_postprocessing(g: &Graph, path: &std::path::Path) {
    for o in g.outputs() {
        assert!(
            !matches!(
                g.node(o.value.node).op(),
                Some(Op::Concat | Op::QLinearConcat)
            ),
            "{}: output '{}' is a concatenation",
            path.display(),
            g.value(o.value).name
        );
    }
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
                Some(Op::DequantizeLinear) => g.input(v.node, 0).and_then(|x| g.node(x.node).op()),
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

/// Runs `g` (a model with `shell`'s opsets) in the evaluator.
fn evaluate(
    graph: &Graph,
    shell: &npuopt::proto::ModelProto,
    inputs: &[(String, eval::Tensor)],
) -> Vec<(String, eval::Tensor)> {
    // The options depend on the opsets alone.
    let opsets = Model {
        graph: Graph::new(),
        shell: shell.clone(),
    };
    eval::run_with(graph, inputs, &eval::Options::for_model(&opsets)).unwrap()
}

/// The tensor's bytes as a `.npy` file: equal bytes are equal bits, NaN and −0 included.
fn bits(t: &eval::Tensor) -> Vec<u8> {
    eval::npy::write(t).unwrap()
}

/// `post(main(x))` against `model(x)`, bit for bit; returns the main model's outputs.
fn assert_pair_exact(
    original: &Model,
    main: &Model,
    post: &SideModel,
    seed: u64,
    label: &str,
) -> Vec<(String, eval::Tensor)> {
    let inputs = npuopt::compare::random_inputs(&original.graph, seed).unwrap();
    let want = evaluate(&original.graph, &original.shell, &inputs);
    let mid = evaluate(&main.graph, &main.shell, &inputs);
    let post_inputs: Vec<(String, eval::Tensor)> = post
        .graph
        .inputs()
        .iter()
        .map(|&i| {
            let name = &post.graph.node(i).outputs[0].name;
            let t = mid
                .iter()
                .chain(&inputs)
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{label}: post input '{name}' is not computed"));
            t.clone()
        })
        .collect();
    let got = evaluate(&post.graph, &main.shell, &post_inputs);
    let mut all = got.clone();
    all.extend(
        mid.iter()
            .filter(|(n, _)| want.iter().any(|(w, _)| w == n))
            .cloned(),
    );
    for (name, w) in &want {
        let g = &all
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{label}: output '{name}' is computed by neither model"))
            .1;
        assert_eq!(g.shape(), w.shape(), "{label}: {name}");
        assert!(bits(g) == bits(w), "{label}: output '{name}' differs");
    }
    mid
}

#[test]
fn every_layout_keeps_the_pair_exact_in_the_evaluator() {
    for path in fixtures() {
        let (original, _) = npuopt::load(&path).unwrap();
        for layout in HeadLayout::ALL {
            let label = format!("{} --head-layout {layout}", path.display());
            let (main, sides, _) = run_layout(npuopt::onnx::load(&path).unwrap(), layout);
            assert_eq!(sides.len(), 1, "{label}");
            assert_no_postprocessing(&main.graph, &path);
            let entry = metadata_entry(&main);
            assert_eq!(entry["kind"], "yolo", "{label}");
            assert_eq!(entry["layout"], layout.name(), "{label}");
            let names: Vec<&str> = main
                .graph
                .outputs()
                .iter()
                .map(|o| main.graph.value(o.value).name.as_str())
                .collect();
            let recorded: Vec<&str> = entry["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["tensor"].as_str().unwrap())
                .collect();
            assert_eq!(names, recorded, "{label}: outputs in the metadata's order");
            assert_pair_exact(&original, &main, &sides[0], 3, &label);
        }
    }
}

#[test]
fn rknn_layout_gives_box_scores_and_score_sum_per_scale() {
    for path in fixtures() {
        let (original, _) = npuopt::load(&path).unwrap();
        let (main, sides, _) = run_layout(npuopt::onnx::load(&path).unwrap(), HeadLayout::Rknn);
        let label = path.display().to_string();
        let records = metadata(&main);
        let records = records.as_array().unwrap();
        assert_eq!(records.len(), 9, "{label}: 3 outputs for each of 3 scales");
        for (scale, triple) in records.chunks(3).enumerate() {
            let kinds: Vec<&str> = triple.iter().map(|r| r["kind"].as_str().unwrap()).collect();
            assert_eq!(
                kinds,
                ["box-dfl", "class-scores", "class-score-sum"],
                "{label}"
            );
            for r in triple {
                assert_eq!(r["scale"], scale, "{label}");
            }
            assert_eq!(triple[1]["sigmoid_applied"], true);
            assert_eq!(triple[2]["channels"], 1);
        }
        // The post model reads boxes and scores, not the sums.
        assert_eq!(sides[0].graph.inputs().len(), 6, "{label}");
        // The main model computes the sigmoid; the post model no longer does.
        let has_sigmoid = |g: &Graph| {
            g.op_order()
                .unwrap()
                .iter()
                .any(|&n| matches!(g.node(n).op(), Some(Op::Sigmoid | Op::QLinearSigmoid)))
        };
        assert!(has_sigmoid(&main.graph), "{label}");
        assert!(
            !has_sigmoid(&sides[0].graph),
            "{label}: the post model applies a sigmoid"
        );
        // Each sum is the clamped channel sum of its scale's scores (a float sum over the
        // dequantized scores; the evaluator's own ReduceSum order).
        let mid = assert_pair_exact(&original, &main, &sides[0], 11, &label);
        for triple in records.chunks(3) {
            let get = |r: &serde_json::Value| {
                let t = &mid
                    .iter()
                    .find(|(n, _)| n == r["tensor"].as_str().unwrap())
                    .unwrap()
                    .1;
                let q = &r["quantization"];
                let v: Vec<f64> = match q.is_null() {
                    true => t.to_f64s("t").unwrap(),
                    false => t
                        .to_i64s("t")
                        .unwrap()
                        .iter()
                        .map(|&x| {
                            ((x - q["zero_point"].as_i64().unwrap()) as f32
                                * q["scale"].as_f64().unwrap() as f32)
                                as f64
                        })
                        .collect(),
                };
                (t.shape().to_vec(), v)
            };
            let (shape, scores) = get(&triple[1]);
            let (sum_shape, sums) = get(&triple[2]);
            assert_eq!(sum_shape, [shape[0], 1, shape[2], shape[3]], "{label}");
            let cells = shape[2] * shape[3];
            for cell in 0..cells {
                let want: f64 = (0..shape[1])
                    .map(|c| scores[c * cells + cell].clamp(0.0, 1.0))
                    .sum();
                assert!((sums[cell] - want).abs() <= 1e-5, "{label}: cell {cell}");
            }
        }
    }
}

/// Conv → GlobalAveragePool → Flatten → Gemm → Softmax with quantized tensors in between: the
/// Ethos-N runs the integer convolution and pooling, not the float classifier tail.
fn quantized_classifier() -> Model {
    let text = r#"
input %image "x": f32[1,8,8,8]
const %xs: f32[] = [0.0625]
const %xz: u8[] = [128]
%x = QuantizeLinear(%image, %xs, %xz)  # quantize
const %w: i8[8,8,1,1] = random(3)
const %ws: f32[] = [0.125]
const %wz: i8[] = [0]
const %ys: f32[] = [0.05]
const %yz: u8[] = [128]
const %b: i32[8] = zeros
%c = QLinearConv(%x, %xs, %xz, %w, %ws, %wz, %ys, %yz, %b)  # conv
%p = com.microsoft.QLinearGlobalAveragePool(%c, %ys, %yz, %ys, %yz) {channels_last=0}  # pool
%d = DequantizeLinear(%p, %ys, %yz)  # dequantize
%f = Flatten(%d)  # flatten
const %fc: f32[8,10] = random(4)
%logits = Gemm(%f, %fc)  # classifier
%y = Softmax(%logits) {axis=1}  # softmax
%k = ArgMax(%y) {axis=1}  # argmax
output %y "scores"
output %k "label"
"#;
    text_model(text)
}

/// A model of a text graph, typed as the CLI types a model at load.
fn text_model(text: &str) -> Model {
    let graph = npuopt::print::parse_graph(text).unwrap();
    let mut model = Model {
        graph,
        shell: proto::ModelProto {
            ir_version: Some(10),
            opset_import: vec![
                proto::OperatorSetIdProto {
                    domain: Some(String::new()),
                    version: Some(npuopt::testing::CASE_OPSET),
                },
                proto::OperatorSetIdProto {
                    domain: Some("com.microsoft".into()),
                    version: Some(1),
                },
            ],
            ..Default::default()
        },
    };
    let opsets = PassCx::for_model(&model).opsets;
    let _ = npuopt::ir::infer::infer_types(&mut model.graph, &opsets);
    model
}

/// strip-postprocess alone, preparing the model for ethos-n78@25.03.
fn run_with_target(mut model: Model) -> (Model, Vec<SideModel>, Vec<String>) {
    let target = Rc::new(EthosN {
        profile: Profile::new("25.03".parse().unwrap()),
    });
    let mut cx = PassCx::for_model(&model).with_target(target);
    let _ = npuopt::ir::infer::infer_types(&mut model.graph, &cx.opsets);
    PassManager::new(vec![passes::find("strip-postprocess").unwrap()])
        .verify_each(true)
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    let notes = cx.diagnostics().iter().map(|d| d.to_string()).collect();
    let sides = cx.take_side_models();
    (model, sides, notes)
}

#[test]
fn a_classifier_is_cut_where_the_target_stops() {
    let original = quantized_classifier();
    let (main, sides, notes) = run_with_target(quantized_classifier());
    assert_eq!(sides.len(), 1, "{notes:?}");
    let post = &sides[0];
    let ops = |g: &Graph| -> Vec<Op> {
        g.op_order()
            .unwrap()
            .iter()
            .filter_map(|&n| g.node(n).op())
            .collect()
    };
    // The NPU part keeps the integer ops; the CPU tail starts at the DequantizeLinear.
    assert_eq!(
        ops(&main.graph),
        [
            Op::QuantizeLinear,
            Op::QLinearConv,
            Op::QLinearGlobalAveragePool
        ]
    );
    assert_eq!(
        ops(&post.graph),
        [
            Op::DequantizeLinear,
            Op::Flatten,
            Op::Gemm,
            Op::Softmax,
            Op::ArgMax
        ]
    );
    let entry = metadata_entry(&main);
    assert_eq!(entry["kind"], "suffix");
    assert!(entry.get("layout").is_none());
    let cut = entry["outputs"].as_array().unwrap();
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0]["quantization"]["zero_point"], 128);
    assert!(cut[0].get("reg_max").is_none(), "no YOLO fields");
    assert_eq!(post.metadata[0].1, main.shell.metadata_props[0].value());
    let names = |g: &Graph| -> Vec<String> {
        g.outputs()
            .iter()
            .map(|o| g.value(o.value).name.clone())
            .collect()
    };
    assert_eq!(names(&post.graph), ["scores", "label"]);
    assert_eq!(names(&main.graph), [cut[0]["tensor"].as_str().unwrap()]);
    assert_pair_exact(&original, &main, post, 1, "quantized classifier");
}

#[test]
fn a_model_the_target_cannot_run_at_all_is_left_whole() {
    // Float everywhere: the Ethos-N runs none of it, so a cut would move nothing to the NPU.
    let text = r#"
input %x "x": f32[1,3,8,8]
const %w: f32[4,3,1,1] = random(1)
%c = Conv(%x, %w)  # conv
%p = GlobalAveragePool(%c)  # pool
%f = Flatten(%p)  # flatten
%y = Softmax(%f) {axis=1}  # softmax
output %y "y"
"#;
    let model = text_model(text);
    let before = npuopt::print::print_graph(&model.graph);
    let (main, sides, notes) = run_with_target(model);
    assert!(sides.is_empty());
    assert!(
        notes.iter().any(|n| n.contains("runs none of its nodes")),
        "{notes:?}"
    );
    assert_eq!(npuopt::print::print_graph(&main.graph), before);
}

#[test]
fn a_model_the_target_runs_to_the_end_is_left_whole() {
    let text = r#"
input %image "x": f32[1,8,8,8]
const %xs: f32[] = [0.0625]
const %xz: u8[] = [128]
%x = QuantizeLinear(%image, %xs, %xz)  # quantize
const %w: i8[8,8,1,1] = random(3)
const %ws: f32[] = [0.125]
const %wz: i8[] = [0]
const %ys: f32[] = [0.05]
const %yz: u8[] = [128]
const %b: i32[8] = zeros
%c = QLinearConv(%x, %xs, %xz, %w, %ws, %wz, %ys, %yz, %b)  # conv
%p = com.microsoft.QLinearGlobalAveragePool(%c, %ys, %yz, %ys, %yz) {channels_last=0}  # pool
output %p "y"
"#;
    let (_, sides, notes) = run_with_target(text_model(text));
    assert!(sides.is_empty());
    assert!(
        notes
            .iter()
            .any(|n| n.contains("runs the nodes that compute the outputs")),
        "{notes:?}"
    );
}

/// strip-postprocess in `layout` over a `passes/strip-postprocess` case.
fn run_case(case: &str, layout: HeadLayout) -> Result<Model, String> {
    let path = format!("passes/strip-postprocess/{case}.npuir");
    let mut model = text_model(&std::fs::read_to_string(path).unwrap());
    let mut cx = PassCx::for_model(&model);
    PassManager::new(vec![Box::new(StripPostprocess { layout })])
        .verify_each(true)
        .run(&mut model, &mut cx, |_, _| {})
        .map_err(|e| e.to_string())?;
    Ok(model)
}

#[test]
fn pass_cases_record_the_same_cut_whatever_the_names() {
    // The snapshots show the graphs; the records (kinds, scales, strides) are checked here.
    let shape = |case: &str| shape_of_cut(&run_case(case, HeadLayout::PerScale).unwrap());
    let v8 = shape("yolov8_head");
    assert_eq!(v8.len(), 6);
    for (i, r) in v8.iter().enumerate() {
        let r: serde_json::Value = serde_json::from_str(r).unwrap();
        let kind = if i % 2 == 0 {
            "box-dfl"
        } else {
            "class-logits"
        };
        assert_eq!(r["kind"], kind, "{r}");
        assert_eq!(r["scale"], i / 2);
        assert_eq!(r["stride"], 8 << (i / 2));
        assert_eq!(r["reg_max"], 16);
        assert_eq!(r["nc"], 2);
    }
    assert_eq!(shape("scrambled_names"), v8);
    assert_eq!(shape("yolo11_head"), v8);
}

#[test]
fn rknn_refuses_a_head_that_mixes_box_and_class_before_the_sigmoid() {
    // Ultralytics' export concatenates box and class tensors per scale and splits them after the
    // cross-scale concatenation: the Sigmoid reads a Split, which selects elements.
    let Err(err) = run_case("yolov8_head", HeadLayout::Rknn) else {
        panic!("the rknn layout was accepted")
    };
    assert!(err.contains("head layout rknn"), "{err}");
    assert!(err.contains("Split"), "{err}");
    // The other layouts cut it.
    for layout in [HeadLayout::PerScale, HeadLayout::Raw] {
        assert!(run_case("yolov8_head", layout).is_ok());
    }
}

#[test]
fn the_cli_takes_a_head_layout() {
    let dir = std::env::temp_dir().join(format!("npuopt-head-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("m.onnx");
    let npuopt = env!("CARGO_BIN_EXE_npuopt");
    let fixture = "tests/fixtures/yolov8-femto-relu.qdq.onnx";
    let run = |layout: &str| {
        std::process::Command::new(npuopt)
            .args([
                fixture,
                "-o",
                out.to_str().unwrap(),
                "-q",
                "--head-layout",
                layout,
            ])
            .output()
            .unwrap()
    };
    let ok = run("rknn");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let main = npuopt::onnx::load(&out).unwrap();
    assert_eq!(main.graph.outputs().len(), 9);
    assert_eq!(metadata_entry(&main)["layout"], "rknn");
    let post = npuopt::onnx::load(&dir.join("m.post.onnx")).unwrap();
    assert_eq!(post.graph.inputs().len(), 6);
    let bad = run("sideways");
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown layout is a usage error"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
