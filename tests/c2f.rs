//! c2f on the yolo11 fixtures: no MatMul of two activations and no Softmax before the head, a
//! valid graph that the evaluator runs with the original output shapes, a second run changes
//! nothing, every changed block is reported with its Ultralytics hint, and the QDQ fixtures with
//! NPU-native activations are one Ethos-N region at 25.03.

use std::rc::Rc;

use npuopt::compare::random_inputs;
use npuopt::ir::consts::is_constant;
use npuopt::ir::{verify, Graph, Model, Op};
use npuopt::partition::plan::{plan, Demotion};
use npuopt::pass::{Changed, Pass, PassCx, PassManager};
use npuopt::passes::{self, c2f::C2f};
use npuopt::target::ethos_n::{EthosN, Profile};

fn yolo11_fixtures() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir("tests/fixtures")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("yolo11") && name.ends_with(".onnx")
        })
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

/// Runs `c2f` alone; returns the model and the diagnostics.
fn run_c2f(path: &std::path::Path) -> (Model, Vec<String>) {
    let (mut model, _) = npuopt::load(path).unwrap();
    let mut cx = PassCx::for_model(&model);
    PassManager::new(vec![Box::new(C2f)])
        .verify_each(true)
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    let notes = cx.diagnostics().iter().map(|d| d.to_string()).collect();
    (model, notes)
}

/// (MatMuls of two activations, Softmaxes). The fixtures keep their head, so the DFL's Softmax
/// counts too: one is expected after the rewrite.
fn attention_ops(g: &Graph) -> (usize, usize) {
    let mut matmuls = 0;
    let mut softmaxes = 0;
    for id in g.op_order().unwrap() {
        match g.node(id).op() {
            Some(Op::MatMul) => {
                let ins = g.inputs_of(id);
                if ins.iter().flatten().all(|&v| !is_constant(g, v)) {
                    matmuls += 1;
                }
            }
            Some(Op::Softmax) => softmaxes += 1,
            _ => {}
        }
    }
    (matmuls, softmaxes)
}

fn output_shapes(model: &Model) -> Vec<(String, Vec<usize>)> {
    let inputs = random_inputs(&model.graph, 0).unwrap();
    let opts = npuopt::eval::Options::for_model(model);
    npuopt::eval::run_with(&model.graph, &inputs, &opts)
        .unwrap()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec()))
        .collect()
}

#[test]
fn attention_is_gone_and_the_model_still_runs() {
    for path in yolo11_fixtures() {
        let (before, _) = npuopt::load(&path).unwrap();
        assert_eq!(attention_ops(&before.graph), (2, 2), "{}", path.display());
        let (after, notes) = run_c2f(&path);
        // One Softmax is left: the DFL's, in the head (after the head convolutions).
        assert_eq!(attention_ops(&after.graph), (0, 1), "{}", path.display());
        assert!(verify::verify(&after.graph).is_empty());
        assert_eq!(
            output_shapes(&before),
            output_shapes(&after),
            "{}",
            path.display()
        );
        let joined = notes.join("\n");
        assert!(
            joined.contains("model.10 (C2PSA): removed 1 attention branch(es)")
                && joined.contains("use `C2f` in place of `C2PSA` at layer 10"),
            "{}: {joined}",
            path.display()
        );
        for layer in [6, 8, 22] {
            assert!(
                joined.contains(&format!("model.{layer} (C3k2): 1 C3k inner block(s)"))
                    && joined.contains(&format!("`C3k2` at layer {layer}")),
                "{}: layer {layer}: {joined}",
                path.display()
            );
        }
        // The C3k2 blocks with Bottleneck inner blocks (layers 2, 4, 13, 16, 19) are not listed.
        assert_eq!(joined.matches("warning[c2f]").count(), 4, "{joined}");
    }
}

#[test]
fn a_second_run_changes_nothing() {
    for path in yolo11_fixtures() {
        let (mut model, _) = run_c2f(&path);
        let mut cx = PassCx::for_model(&model);
        assert_eq!(C2f.run(&mut model.graph, &mut cx).unwrap(), Changed::No);
    }
}

#[test]
fn quantized_fixtures_are_one_npu_region_at_25_03() {
    for path in yolo11_fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains(".qdq") {
            continue;
        }
        let target = Rc::new(EthosN {
            profile: Profile::new("25.03".parse().unwrap()),
        });
        let (mut model, _) = npuopt::load(&path).unwrap();
        let mut chosen = passes::pipeline("default").unwrap();
        passes::insert_opt_in(&mut chosen, Box::new(C2f));
        let mut cx = PassCx::for_model(&model).with_target(target.clone());
        PassManager::new(chosen)
            .verify_each(true)
            .run(&mut model, &mut cx, |_, _| {})
            .unwrap();
        let s = plan(&model.graph, target.as_ref(), Demotion::Cost)
            .unwrap()
            .summary;
        // SiLU too: legalise requantizes its Sigmoid, and 25.03 multiplies tensors.
        assert_eq!(s.npu_regions, 1, "{name}: {s:?}");
        assert!(s.npu_mac_fraction > 0.999, "{name}: {s:?}");
    }
}
