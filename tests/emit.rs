//! `--emit functions` and `--emit split` on the quantized fixtures (default pipeline, Ethos-N78):
//! every emitted model encodes and decodes again; the functions model (calls inlined for the
//! evaluator) and the split parts chained in manifest order compute exactly what the annotated
//! model computes; every op node lands in exactly one part, and parts only read what earlier parts
//! or the graph's inputs provide.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use npuopt::compare::random_inputs;
use npuopt::eval::{self, inline::inline_functions, Tensor};
use npuopt::ir::Model;
use npuopt::partition::emit::{annotate, NODE_KEY};
use npuopt::partition::functions::{wrap_regions, DOMAIN};
use npuopt::partition::plan::{plan, Demotion, Plan};
use npuopt::partition::split::split;
use npuopt::pass::{PassCx, PassManager};
use npuopt::target::ethos_n::{EthosN, Profile, Release};
use npuopt::{onnx, passes};

fn quantized_fixtures() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir("tests/fixtures")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".qdq.onnx"))
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

/// The fixture after the default pipeline, annotated with its partition.
fn annotated(path: &std::path::Path) -> (Model, Plan) {
    let (mut model, _) = npuopt::load(path).unwrap();
    let target = Rc::new(EthosN {
        profile: Profile::new(Release::LATEST),
    });
    let mut cx = PassCx::for_model(&model).with_target(target.clone());
    PassManager::new(passes::pipeline("default").unwrap())
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    let plan = plan(&model.graph, target.as_ref(), Demotion::Cost).unwrap();
    annotate(&mut model, &plan);
    (model, plan)
}

/// Through the encoder and decoder, as a written file would be read back.
fn reread(model: &Model) -> Model {
    onnx::decode_bytes(onnx::encode_bytes(model).unwrap().into()).unwrap()
}

fn evaluate(model: &Model, inputs: &[(String, Tensor)]) -> HashMap<String, Tensor> {
    eval::run_with(&model.graph, inputs, &eval::Options::for_model(model))
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn the_functions_model_computes_what_the_annotated_model_computes() {
    for path in quantized_fixtures() {
        let (reference, plan) = annotated(&path);
        let inputs = random_inputs(&reference.graph, 7).unwrap();
        let want = evaluate(&reference, &inputs);

        let (mut model, plan_again) = annotated(&path);
        assert_eq!(plan.summary, plan_again.summary);
        let wrapped = wrap_regions(&mut model, &plan).unwrap();
        let mut model = reread(&model);
        assert_eq!(wrapped, plan.summary.npu_regions, "{}", path.display());
        assert_eq!(model.shell.functions.len(), wrapped);
        assert_eq!(model.opset(DOMAIN), Some(1));
        assert!(model.shell.ir_version() >= 8);
        // No NPU node is left in the main graph; every body node carries its region.
        let g = &model.graph;
        for id in g.op_order().unwrap() {
            let op = g.node(id).as_op().unwrap();
            let placement = op
                .proto()
                .metadata_props
                .iter()
                .find(|e| e.key() == NODE_KEY);
            if op.domain() == DOMAIN {
                let region = op.op_type().strip_prefix("region_").unwrap();
                assert_eq!(placement.unwrap().value(), format!("npu:{region}"));
                // Declared with its type: checkers do not infer through local functions.
                for v in g.values_of(id) {
                    let value = g.value(v);
                    let declared = value.info.as_ref().and_then(|i| i.proto.r#type.as_ref());
                    assert!(
                        declared.is_some(),
                        "{}: {} undeclared",
                        op.name(),
                        value.name
                    );
                }
            } else {
                assert_eq!(placement.unwrap().value(), "cpu", "{}", op.name());
            }
        }
        for f in &model.shell.functions {
            let region = f.name().strip_prefix("region_").unwrap();
            for n in &f.node {
                let p = n.metadata_props.iter().find(|e| e.key() == NODE_KEY);
                assert_eq!(p.unwrap().value(), format!("npu:{region}"), "{}", n.name());
            }
        }

        assert_eq!(inline_functions(&mut model).unwrap(), wrapped);
        assert_eq!(evaluate(&model, &inputs), want, "{}", path.display());
    }
}

#[test]
fn the_split_parts_chained_compute_what_the_annotated_model_computes() {
    for path in quantized_fixtures() {
        let (model, plan) = annotated(&path);
        let inputs = random_inputs(&model.graph, 11).unwrap();
        let want = evaluate(&model, &inputs);
        let s = split(&model, &plan, "m").unwrap();
        let m = &s.manifest;
        assert_eq!(m.parts.len(), s.parts.len());
        assert_eq!(
            m.parts.iter().filter(|p| p.kind == "npu").count(),
            plan.summary.npu_regions
        );

        let mut tensors: HashMap<String, Tensor> = inputs.iter().cloned().collect();
        let mut seen_nodes: Vec<String> = Vec::new();
        for (part, entry) in s.parts.iter().zip(&m.parts) {
            assert_eq!(part.file, entry.file);
            assert_eq!(part.file, format!("m.{}.onnx", entry.name));
            let part = reread(&part.model);
            for name in &entry.inputs {
                assert!(
                    tensors.contains_key(name),
                    "{}: {name} read too early",
                    entry.name
                );
            }
            let g = &part.graph;
            for id in g.op_order().unwrap() {
                let op = g.node(id).as_op().unwrap();
                let placement = op
                    .proto()
                    .metadata_props
                    .iter()
                    .find(|e| e.key() == NODE_KEY);
                let expected = entry
                    .region
                    .map_or("cpu".to_string(), |r| format!("npu:{r}"));
                assert_eq!(placement.unwrap().value(), expected);
                seen_nodes.push(g.node(id).display_name());
            }
            let feeds: Vec<(String, Tensor)> = entry
                .inputs
                .iter()
                .map(|n| (n.clone(), tensors[n].clone()))
                .collect();
            tensors.extend(evaluate(&part, &feeds));
        }
        let mut whole: Vec<String> = model
            .graph
            .op_order()
            .unwrap()
            .into_iter()
            .map(|id| model.graph.node(id).display_name())
            .collect();
        whole.sort();
        seen_nodes.sort();
        assert_eq!(seen_nodes, whole, "each node in exactly one part");
        for (name, t) in &want {
            assert_eq!(&tensors[name], t, "{}: output {name}", path.display());
        }

        // Every tensor crossing parts is listed once, with its producer and consumers.
        let listed: HashSet<&str> = m.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(listed.len(), m.tensors.len());
        for p in &m.parts {
            for name in p.inputs.iter().chain(&p.outputs) {
                assert!(listed.contains(name.as_str()), "{name} missing");
            }
        }
        for t in &m.tensors {
            let producer = m.parts.iter().find(|p| p.outputs.contains(&t.name));
            assert_eq!(t.producer.as_deref(), producer.map(|p| p.name.as_str()));
            assert_eq!(t.producer.is_none(), t.graph_input, "{}", t.name);
            // Quantized boundary tensors between NPU and CPU carry their parameters.
            if t.dtype.as_deref() == Some("u8") || t.dtype.as_deref() == Some("i8") {
                let q = t
                    .quantization
                    .as_ref()
                    .unwrap_or_else(|| panic!("{}", t.name));
                assert_eq!(q.scale.len(), q.zero_point.len());
            }
        }
    }
}
