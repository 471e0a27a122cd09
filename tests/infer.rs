//! Shape inference over every fixture: it reports no issue, gives every value a modelled op
//! produces a fully static type (also with every declaration erased, so the result is inference,
//! not the model's value_info), and agrees with ONNX's own shape inference
//! (`tests/fixtures/<model>.shapes.json`, written by `tests/conformance/gen_shapes.py`). Where
//! ONNX's inference leaves dims unknown (the fp32 YOLO decode, whose Slice bounds are computed
//! from `Shape`), the file holds the shapes ONNX Runtime produces when running the model, so
//! every value is compared with ground truth.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use npuopt::ir::infer::infer_types;
use npuopt::ir::{DType, Dim, Graph, Model, Op, ValueId};
use npuopt::pass::PassCx;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut models: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    models.sort();
    assert!(!models.is_empty());
    models
}

fn opsets(model: &Model) -> BTreeMap<String, i64> {
    PassCx::for_model(model).opsets
}

/// Values produced by op nodes, with their op kind.
fn op_values(g: &Graph) -> Vec<(ValueId, Op)> {
    g.op_order()
        .unwrap()
        .into_iter()
        .flat_map(|n| {
            let op = g.node(n).op().unwrap();
            g.values_of(n)
                .filter(|v| !g.value(*v).name.is_empty())
                .map(move |v| (v, op))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The expected types: value name → (element type, dims; `None` = unknown rank, `None` dim =
/// unknown or symbolic, where inference may be more precise).
type Expected = BTreeMap<String, (DType, Option<Vec<Option<i64>>>)>;

fn expected(model: &Path) -> Expected {
    let path = model.with_extension("shapes.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run tests/conformance/gen_shapes.py",
            path.display()
        )
    });
    let json: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    json.into_iter()
        .map(|(name, v)| {
            let dtype = DType::from_onnx(v[0].as_i64().unwrap() as i32);
            let dims = v[1]
                .as_array()
                .map(|dims| dims.iter().map(serde_json::Value::as_i64).collect());
            (name, (dtype, dims))
        })
        .collect()
}

fn load(path: &Path) -> Model {
    npuopt::onnx::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn declared_fixtures_infer_without_issues() {
    for path in fixtures() {
        let mut model = load(&path);
        let opsets = opsets(&model);
        let issues = infer_types(&mut model.graph, &opsets);
        assert!(issues.is_empty(), "{}: {issues:#?}", path.display());
    }
}

#[test]
fn erased_fixtures_infer_static_types_that_agree_with_onnx() {
    for path in fixtures() {
        let mut model = load(&path);
        let g = &mut model.graph;
        for (v, _) in op_values(g) {
            g.value_mut(v).ty = None;
        }
        let opsets = opsets(&model);
        let issues = infer_types(&mut model.graph, &opsets);
        assert!(issues.is_empty(), "{}: {issues:#?}", path.display());

        let g = &model.graph;
        let expected = expected(&path);
        for (v, op) in op_values(g) {
            let value = g.value(v);
            let ty = value.ty.as_ref();
            let dims = ty.and_then(|t| t.static_dims());
            assert!(
                dims.is_some(),
                "{}: {op:?} value '{}' is not fully typed: {ty:?}",
                path.display(),
                value.name
            );
            let (ty, dims) = (ty.unwrap(), dims.unwrap());
            let Some((want_dtype, want_dims)) = expected.get(&value.name) else {
                continue;
            };
            assert_eq!(
                ty.dtype,
                *want_dtype,
                "{}: '{}'",
                path.display(),
                value.name
            );
            let Some(want_dims) = want_dims else { continue };
            assert_eq!(
                dims.len(),
                want_dims.len(),
                "{}: '{}'",
                path.display(),
                value.name
            );
            for (got, want) in dims.iter().zip(want_dims) {
                if let Some(want) = want {
                    assert_eq!(
                        got,
                        want,
                        "{}: '{}' is {ty}, expected {want_dims:?}",
                        path.display(),
                        value.name
                    );
                }
            }
        }
    }
}

#[test]
fn graph_outputs_keep_their_declared_shapes() {
    for path in fixtures() {
        let mut model = load(&path);
        let before: Vec<_> = model
            .graph
            .outputs()
            .iter()
            .map(|o| model.graph.value(o.value).ty.clone())
            .collect();
        let opsets = opsets(&model);
        infer_types(&mut model.graph, &opsets);
        for (o, before) in model.graph.outputs().iter().zip(before) {
            let after = model.graph.value(o.value).ty.clone();
            assert_eq!(after, before, "{}", path.display());
            assert!(after
                .and_then(|t| t.shape)
                .is_some_and(|s| s.iter().all(|d| matches!(d, Dim::Known(_)))));
        }
    }
}
