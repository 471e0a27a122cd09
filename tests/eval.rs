//! The evaluator on every fixture model, against ONNX Runtime.
//!
//! `tests/fixtures/expected/` holds a seeded input (uniform in [0, 1)) and each fixture's output
//! as computed by ONNX Runtime's CPU provider with graph optimizations off (so QDQ models run as
//! DequantizeLinear/QuantizeLinear in float, as the ONNX graph says); `generate.py` there makes
//! them. Float outputs must agree within 1e-4 relative (plus 1e-5 absolute for values near 0).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use npuopt::eval::{self, npy, Options, Tensor};

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-5;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    v.sort();
    v
}

fn expected(name: &str) -> Tensor {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/expected")
        .join(name);
    npy::read(&fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The largest deviation relative to the tolerance, and where: (ratio to the allowed error,
/// flat index, got, want). A ratio above 1 fails.
fn worst(got: &Tensor, want: &Tensor) -> (f64, usize, f64, f64) {
    assert_eq!(got.dtype(), want.dtype());
    assert_eq!(got.shape(), want.shape());
    let (a, b) = (got.to_f64s("got").unwrap(), want.to_f64s("want").unwrap());
    a.iter()
        .zip(&b)
        .enumerate()
        .map(|(i, (&x, &y))| ((x - y).abs() / (ATOL + RTOL * y.abs()), i, x, y))
        .fold((0.0, 0, 0.0, 0.0), |w, c| if c.0 > w.0 { c } else { w })
}

/// The largest relative deviation over the elements whose expected magnitude is at least `floor`.
fn largest_relative(got: &Tensor, want: &Tensor, floor: f64) -> f64 {
    let (a, b) = (got.to_f64s("got").unwrap(), want.to_f64s("want").unwrap());
    a.iter()
        .zip(&b)
        .filter(|(_, y)| y.abs() >= floor)
        .map(|(x, y)| (x - y).abs() / y.abs())
        .fold(0.0, f64::max)
}

#[test]
fn every_fixture_matches_onnx_runtime() {
    let input = expected("input.npy");
    let mut failures = Vec::new();
    for path in fixtures() {
        let model = npuopt::onnx::load(&path).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let started = Instant::now();
        let outputs = eval::run_with(
            &model.graph,
            &[("images".to_string(), input.clone())],
            &Options::for_model(&model),
        )
        .unwrap_or_else(|e| panic!("{stem}: {e}"));
        let elapsed = started.elapsed();
        let (name, got) = &outputs[0];
        let want = expected(&format!("{stem}.npy"));
        let (ratio, at, x, y) = worst(got, &want);
        println!(
            "{stem}: {name} worst at [{at}]: {x} vs ONNX Runtime {y} ({ratio:.2} of the tolerance); \
             largest relative deviation where |value| ≥ 1e-2: {:.2e}; evaluated in {elapsed:.2?}",
            largest_relative(got, &want, 1e-2)
        );
        if ratio > 1.0 {
            failures.push(stem);
        }
    }
    assert!(failures.is_empty(), "outside the tolerance: {failures:?}");
}

#[test]
fn intermediate_values_are_all_reported_and_outputs_agree_with_run() {
    let path = &fixtures()[0];
    let model = npuopt::onnx::load(path).unwrap();
    let inputs = [("images".to_string(), expected("input.npy"))];
    let options = Options::for_model(&model);
    let all = eval::run_all_with(&model.graph, &inputs, &options).unwrap();
    let outputs = eval::run_with(&model.graph, &inputs, &options).unwrap();
    let ops = model.graph.op_order().unwrap().len();
    assert!(all.len() >= ops, "{} values for {ops} nodes", all.len());
    for (name, t) in &outputs {
        let same = all.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        assert_eq!(
            same,
            Some(t),
            "output '{name}' differs between run and run_all"
        );
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let model = npuopt::onnx::load(&fixtures()[0]).unwrap();
    let g = &model.graph;
    let err = eval::run(g, &[]).unwrap_err();
    assert_eq!(err.to_string(), "graph input 'images' was not given");
    let wrong_shape = Tensor::zeros(npuopt::ir::DType::F32, vec![1, 3, 7, 7]).unwrap();
    let err = eval::run(g, &[("images".into(), wrong_shape)]).unwrap_err();
    assert!(err.to_string().contains("expected shape"), "{err}");
    let err = eval::run(g, &[("imagez".into(), Tensor::scalar(0f32))]).unwrap_err();
    assert!(
        err.to_string()
            .contains("'imagez' is not an input of the graph"),
        "{err}"
    );
}

/// Times (and optionally checks) any model: `NPUOPT_EVAL_MODEL=m.onnx NPUOPT_EVAL_INPUT=x.npy
/// [NPUOPT_EVAL_EXPECTED=out0.npy,out1.npy] cargo test --release --test eval -- --ignored`.
/// The model's first input gets the tensor.
#[test]
#[ignore = "needs NPUOPT_EVAL_MODEL and NPUOPT_EVAL_INPUT"]
fn time_model_from_env() {
    let (Some(model), Some(input)) = (
        std::env::var_os("NPUOPT_EVAL_MODEL"),
        std::env::var_os("NPUOPT_EVAL_INPUT"),
    ) else {
        println!("skipped: set NPUOPT_EVAL_MODEL and NPUOPT_EVAL_INPUT");
        return;
    };
    let model = npuopt::onnx::load(Path::new(&model)).unwrap();
    let x = npy::read(&fs::read(&input).unwrap()).unwrap();
    let name = model
        .graph
        .inputs()
        .iter()
        .find_map(|&n| match &model.graph.node(n).kind {
            npuopt::ir::NodeKind::Input(i) if i.default.is_none() => {
                Some(i.info.name().to_string())
            }
            _ => None,
        })
        .unwrap();
    let started = Instant::now();
    let outputs = eval::run_with(&model.graph, &[(name, x)], &Options::for_model(&model)).unwrap();
    println!("evaluated in {:.3?}", started.elapsed());
    let expected = std::env::var("NPUOPT_EVAL_EXPECTED").unwrap_or_default();
    for ((name, got), path) in outputs
        .iter()
        .zip(expected.split(',').filter(|p| !p.is_empty()))
    {
        let want = npy::read(&fs::read(path).unwrap()).unwrap();
        let (ratio, at, x, y) = worst(got, &want);
        println!("{name}: worst at [{at}]: {x} vs {y} ({ratio:.2} of the tolerance)");
        assert!(ratio <= 1.0, "{name} is outside the tolerance");
    }
}
