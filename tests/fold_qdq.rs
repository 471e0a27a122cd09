//! fold-qdq on the quantized fixtures: every foldable `DequantizeLinear → op → QuantizeLinear`
//! unit is folded, refusals carry a reason, and the Q/DQ left stand only at graph boundaries or
//! around ops that have no integer form.

use std::collections::HashSet;

use npuopt::ir::{quant, Graph, NodeId, Op, Port};
use npuopt::pass::{PassCx, PassManager};
use npuopt::passes;

/// Ops the issue requires to be folded whenever they sit in a Q/DQ unit.
const FOLDABLE: &[Op] = &[
    Op::LeakyRelu,
    Op::Relu,
    Op::Clip,
    Op::Sigmoid,
    Op::Conv,
    Op::Add,
    Op::Mul,
    Op::Concat,
    Op::MaxPool,
    Op::Resize,
    Op::AveragePool,
];

fn quantized_fixtures() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir("tests/fixtures")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "onnx") && p.to_string_lossy().contains(".qdq")
        })
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

fn reads_dq(g: &Graph, n: NodeId) -> bool {
    g.inputs_of(n)
        .into_iter()
        .flatten()
        .any(|v| g.node(v.node).op() == Some(Op::DequantizeLinear))
}

fn feeds_q(g: &Graph, n: NodeId) -> bool {
    g.values_of(n).any(|v| {
        g.uses(v)
            .iter()
            .any(|(u, _)| g.node(*u).op() == Some(Op::QuantizeLinear))
    })
}

#[test]
fn every_foldable_unit_is_folded_or_refused_with_a_reason() {
    for path in quantized_fixtures() {
        let mut model = npuopt::onnx::load(&path).unwrap();
        let count = |g: &Graph, op: Op| {
            g.nodes()
                .into_iter()
                .filter(|&n| g.node(n).op() == Some(op))
                .count()
        };
        let (q0, dq0) = (
            count(&model.graph, Op::QuantizeLinear),
            count(&model.graph, Op::DequantizeLinear),
        );
        let mut cx = PassCx::for_model(&model);
        PassManager::new(vec![passes::find("fold-qdq").unwrap()])
            .verify_each(true)
            .run(&mut model, &mut cx, |_, _| {})
            .unwrap();
        let refused: HashSet<String> = cx
            .diagnostics()
            .iter()
            .filter_map(|d| d.node.clone())
            .collect();
        let g = &model.graph;
        for n in g.op_order().unwrap() {
            let node = g.node(n);
            let op = node.op().unwrap();
            if FOLDABLE.contains(&op) && reads_dq(g, n) && feeds_q(g, n) {
                assert!(
                    refused.contains(&node.display_name()),
                    "{}: unit around {op:?} '{}' neither folded nor refused",
                    path.display(),
                    node.display_name()
                );
            }
            // What stays quantized in float stands at a boundary or next to an op with no integer form.
            if op == Op::DequantizeLinear {
                let v = g.values_of(n).next().unwrap();
                for (user, port) in g.uses(v) {
                    let u = g.node(user);
                    assert!(
                        matches!(port, Port::Input(_)) && refused.contains(&u.display_name()),
                        "{}: DequantizeLinear '{}' feeds '{}', which was neither folded nor refused",
                        path.display(),
                        node.display_name(),
                        u.display_name()
                    );
                }
            }
        }
        let (q1, dq1) = (count(g, Op::QuantizeLinear), count(g, Op::DequantizeLinear));
        assert!(
            q1 * 10 < q0 && dq1 * 10 < dq0,
            "{}: Q {q0}->{q1}, DQ {dq0}->{dq1}",
            path.display()
        );
        assert!(cx.diagnostics().iter().all(|d| !d.message.is_empty()));
    }
}

/// With exact integer arithmetic (npuopt's evaluator) the folded models compute the original's
/// outputs (within 1e-5). Intermediate tensors may differ by a rounding: an integer op rounds the
/// exact result once where the QDQ model rounded a float one, so a value near a tie can land one
/// LSB apart, and the next op may scale that LSB up (a LeakyRelu whose output scale is half its
/// input's turns it into 2); each op on its own stays within 1 LSB (the property tests).
#[test]
fn folded_models_compute_the_same_function() {
    use npuopt::compare::{compare, random_inputs, Tolerance};
    for path in quantized_fixtures() {
        let (original, _) = npuopt::load(&path).unwrap();
        let (mut folded, _) = npuopt::load(&path).unwrap();
        let mut cx = PassCx::for_model(&folded);
        PassManager::new(vec![passes::find("fold-qdq").unwrap()])
            .run(&mut folded, &mut cx, |_, _| {})
            .unwrap();
        let inputs = random_inputs(&original.graph, 7).unwrap();
        let c = compare(&original, &folded, &inputs, &Tolerance::default()).unwrap();
        assert!(c.within(), "{}: {:?}", path.display(), c.outputs);
    }
}

/// `--quant-format qdq`: canonical node units — every DequantizeLinear has one reader, no
/// identical DQ→Q pair is left — and the model computes exactly what it did.
#[test]
fn canonical_qdq_keeps_units_and_the_function_exactly() {
    use npuopt::compare::{compare, random_inputs, Tolerance};
    for path in quantized_fixtures() {
        let (original, _) = npuopt::load(&path).unwrap();
        let (mut m, _) = npuopt::load(&path).unwrap();
        let mut cx = PassCx::for_model(&m);
        PassManager::new(vec![passes::find("qdq-canonicalize").unwrap()])
            .verify_each(true)
            .run(&mut m, &mut cx, |_, _| {})
            .unwrap();
        let g = &m.graph;
        for n in g.op_order().unwrap() {
            if g.node(n).op() == Some(Op::DequantizeLinear) {
                let v = g.values_of(n).next().unwrap();
                assert!(
                    g.uses(v).len() <= 1,
                    "{}: '{}' shared",
                    path.display(),
                    g.node(n).display_name()
                );
            }
            if g.node(n).op() == Some(Op::QuantizeLinear) {
                let src = g.input(n, 0).unwrap();
                if g.node(src.node).op() == Some(Op::DequantizeLinear) {
                    let (a, b) = (
                        quant::qdq_params(g, src.node).unwrap(),
                        quant::qdq_params(g, n).unwrap(),
                    );
                    assert!(
                        !a.same_as(&b),
                        "{}: identical DQ→Q pair left",
                        path.display()
                    );
                }
            }
        }
        let exact = Tolerance {
            atol: 0.0,
            rtol: 0.0,
            lsb: 0,
        };
        let inputs = random_inputs(&original.graph, 11).unwrap();
        let c = compare(&original, &m, &inputs, &exact).unwrap();
        assert!(c.within(), "{}: {:?}", path.display(), c.outputs);
    }
}
