//! legalise on a real export: C2PSA's attention scales `q·kᵀ` by a scalar Mul, which the NPU
//! cannot broadcast; the default pipeline turns it into a depthwise convolution the NPU runs, and
//! the model computes what it computed.

use std::path::Path;
use std::rc::Rc;

use npuopt::compare::{compare, difference, random_inputs, Tolerance};
use npuopt::eval;
use npuopt::ir::{Graph, Model, NodeId};
use npuopt::partition::plan::{plan, Demotion};
use npuopt::pass::{PassCx, PassManager};
use npuopt::passes;
use npuopt::target::ethos_n::EthosN;
use npuopt::target::{Judgement, Target};

const PICO: &str = "tests/fixtures/pico/yolo11-pico-silu.qdq.onnx";
const ATTENTION_MUL: &str = "/model.10/m/m.0/attn/Mul";

/// The Ethos-N78 at 25.03 without its fixed Sigmoid quantization, so that legalise's only
/// rewrites on the fixture are the constant operations (requantized Sigmoids would move the
/// outputs by their own LSB).
struct WithoutFixedQuantization(EthosN);

impl Target for WithoutFixedQuantization {
    fn name(&self) -> String {
        self.0.name()
    }

    fn judge(&self, g: &Graph, node: NodeId) -> Judgement {
        self.0.judge(g, node)
    }

    fn peak_tops(&self) -> f64 {
        self.0.peak_tops()
    }
}

fn ethos_n78() -> EthosN {
    EthosN::from_spec("ethos-n78@25.03", None).unwrap()
}

/// The fixture after the default pipeline (optionally without legalise), and the notes.
fn optimised(target: Rc<dyn Target>, with_legalise: bool) -> (Model, Vec<String>) {
    let (mut model, _) = npuopt::load(Path::new(PICO)).unwrap();
    let mut cx = PassCx::for_model(&model).with_target(target);
    let pipeline = passes::pipeline("default")
        .unwrap()
        .into_iter()
        .filter(|p| with_legalise || p.name() != "legalise")
        .collect();
    PassManager::new(pipeline)
        .run(&mut model, &mut cx, |_, _| {})
        .unwrap();
    let notes = cx
        .diagnostics()
        .iter()
        .filter(|d| d.pass == "legalise")
        .map(|d| format!("{}: {}", d.node.as_deref().unwrap_or(""), d.message))
        .collect();
    (model, notes)
}

#[test]
fn attention_mul_runs_on_the_npu_as_a_depthwise_convolution() {
    let target = Rc::new(ethos_n78());
    let (model, notes) = optimised(target.clone(), true);
    let p = plan(&model.graph, target.as_ref(), Demotion::Cost).unwrap();
    let mul = p.nodes.iter().find(|n| n.name == ATTENTION_MUL).unwrap();
    assert_eq!(
        (mul.op_type.as_str(), mul.placement),
        ("QLinearConv", "npu"),
        "{}",
        mul.reason
    );
    // One channel (one attention head): group 1 is both a depthwise and a normal convolution.
    let conv = model.graph.node(mul.node).as_op().unwrap();
    let input = model.graph.input(mul.node, 0).unwrap();
    let channels = model
        .graph
        .value(input)
        .ty
        .as_ref()
        .unwrap()
        .static_dims()
        .unwrap()[1];
    assert_eq!(conv.attr_int("group").unwrap(), Some(channels));
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with(ATTENTION_MUL) && n.contains("1×1 depthwise QLinearConv")),
        "{notes:?}"
    );
    // The only CPU nodes left are the input's quantization and the attention's two MatMuls and
    // Softmax (with the Q/DQ around it and the Transposes stranded between them).
    for n in p.nodes.iter().filter(|n| n.placement == "cpu") {
        assert!(
            matches!(
                n.op_type.as_str(),
                "QuantizeLinear" | "DequantizeLinear" | "QLinearMatMul" | "Softmax" | "Transpose"
            ),
            "{} ({}) on the CPU: {}",
            n.name,
            n.op_type,
            n.reason
        );
    }
}

#[test]
fn attention_mul_as_a_convolution_computes_the_same() {
    let target = || Rc::new(WithoutFixedQuantization(ethos_n78())) as Rc<dyn Target>;
    let (before, _) = optimised(target(), false);
    let (after, notes) = optimised(target(), true);
    assert!(
        !notes.is_empty()
            && notes
                .iter()
                .all(|n| n.contains("1×1 depthwise QLinearConv")),
        "{notes:?}"
    );
    let lsb = Tolerance {
        lsb: 1,
        ..Tolerance::default()
    };
    for seed in 0..3 {
        let inputs = random_inputs(&before.graph, seed).unwrap();
        let outputs = compare(&before, &after, &inputs, &lsb).unwrap();
        assert!(outputs.within(), "seed {seed}: {outputs:?}");
        // The Mul's own output, which keeps its tensor name on the convolution.
        let run = |m: &Model| {
            eval::run_all_with(&m.graph, &inputs, &eval::Options::for_model(m)).unwrap()
        };
        let (b, a) = (run(&before), run(&after));
        let mul_output = {
            let node = before
                .graph
                .nodes()
                .into_iter()
                .find(|&n| before.graph.node(n).display_name() == ATTENTION_MUL)
                .unwrap();
            before.graph.node(node).outputs[0].name.clone()
        };
        let find = |r: &[(String, eval::Tensor)]| {
            r.iter().find(|(n, _)| *n == mul_output).unwrap().1.clone()
        };
        let (d, within) = difference(&find(&b), &find(&a), &lsb).unwrap();
        assert!(within, "seed {seed}: {d:?}");
    }
}
