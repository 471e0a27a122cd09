//! Unit tests per op family, on small graphs built with the `Graph` API.

use bytes::Bytes;

use super::*;
use crate::ir::attrs::{float, int, ints, string, tensor};
use crate::ir::graph::{GraphInput, OpNode, Value};
use crate::ir::op::MS_DOMAIN;
use crate::ir::tensors::Initializer;
use crate::ir::types::DType;
use crate::proto;

/// Parses `f32[1,N,?]` (`f32` alone: unknown rank).
fn ty(s: &str) -> TensorType {
    let (dtype, dims) = match s.split_once('[') {
        Some((d, rest)) => (d, Some(rest.trim_end_matches(']'))),
        None => (s, None),
    };
    let shape = dims.map(|d| {
        d.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| match x.parse() {
                Ok(n) => Dim::Known(n),
                Err(_) if x == "?" => Dim::Unknown,
                Err(_) => Dim::Param(x.to_string()),
            })
            .collect()
    });
    TensorType {
        dtype: DType::from_name(dtype).unwrap(),
        shape,
    }
}

/// A small graph under construction.
struct B {
    g: Graph,
    opset: i64,
}

impl B {
    fn new() -> B {
        B {
            g: Graph::new(),
            opset: 17,
        }
    }

    fn input(&mut self, t: &str) -> ValueId {
        let name = format!("in{}", self.g.node_count());
        let info = proto::ValueInfoProto {
            name: Some(name.clone()),
            ..Default::default()
        };
        let node = self.g.add_node(
            NodeKind::Input(Box::new(GraphInput {
                info,
                default: None,
            })),
            vec![Value::typed(name, ty(t))],
        );
        ValueId { node, slot: 0 }
    }

    fn init(&mut self, dtype: DType, dims: &[i64], bytes: Vec<u8>) -> ValueId {
        let name = format!("c{}", self.g.node_count());
        let id = self.g.pool.intern(Bytes::from(bytes));
        let init = Initializer::raw(&name, dtype, dims, id);
        let t = init.ty();
        let node = self
            .g
            .add_node(NodeKind::Initializer(init), vec![Value::typed(name, t)]);
        ValueId { node, slot: 0 }
    }

    fn i64s(&mut self, v: &[i64]) -> ValueId {
        let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.init(DType::I64, &[v.len() as i64], bytes)
    }

    fn scalar(&mut self, v: i64) -> ValueId {
        self.init(DType::I64, &[], v.to_le_bytes().to_vec())
    }

    fn f32s(&mut self, v: &[f32]) -> ValueId {
        let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.init(DType::F32, &[v.len() as i64], bytes)
    }

    fn op_in(
        &mut self,
        domain: &str,
        op_type: &str,
        inputs: &[Option<ValueId>],
        attrs: Vec<proto::AttributeProto>,
        outputs: usize,
    ) -> Vec<ValueId> {
        let n = self.g.node_count();
        let np = proto::NodeProto {
            name: Some(format!("{op_type}{n}")),
            op_type: Some(op_type.to_string()),
            domain: Some(domain.to_string()),
            attribute: attrs,
            ..Default::default()
        };
        let values = (0..outputs)
            .map(|i| Value::new(format!("{op_type}{n}_{i}")))
            .collect();
        let node = self.g.add_op(OpNode::new(np, 0), inputs, values);
        self.g.values_of(node).collect()
    }

    fn op(
        &mut self,
        op_type: &str,
        inputs: &[ValueId],
        attrs: Vec<proto::AttributeProto>,
    ) -> ValueId {
        let inputs: Vec<_> = inputs.iter().copied().map(Some).collect();
        self.op_in("", op_type, &inputs, attrs, 1)[0]
    }

    fn run(&mut self) -> Vec<String> {
        let opsets = BTreeMap::from([("".to_string(), self.opset), (MS_DOMAIN.to_string(), 1)]);
        infer_types(&mut self.g, &opsets)
    }

    /// The printed type of `v`, `-` when nothing is known.
    fn t(&self, v: ValueId) -> String {
        self.g
            .value(v)
            .ty
            .as_ref()
            .map_or("-".into(), ToString::to_string)
    }
}

/// Runs one op over inputs of the given types; returns its output types and the issues.
fn infer1(op: &str, inputs: &[&str], attrs: Vec<proto::AttributeProto>) -> (String, Vec<String>) {
    let mut b = B::new();
    let ins: Vec<ValueId> = inputs.iter().map(|t| b.input(t)).collect();
    let out = b.op(op, &ins, attrs);
    let issues = b.run();
    (b.t(out), issues)
}

/// The single output type, asserting no issue.
fn ok1(op: &str, inputs: &[&str], attrs: Vec<proto::AttributeProto>) -> String {
    let (t, issues) = infer1(op, inputs, attrs);
    assert!(issues.is_empty(), "{issues:?}");
    t
}

/// The single issue.
fn issue1(op: &str, inputs: &[&str], attrs: Vec<proto::AttributeProto>) -> String {
    let (_, issues) = infer1(op, inputs, attrs);
    assert_eq!(issues.len(), 1, "{issues:?}");
    issues[0].clone()
}

// ----- declared types -----------------------------------------------------------------------

#[test]
fn declared_type_wins_a_conflict_and_is_reported() {
    let mut b = B::new();
    let x = b.input("f32[1,2]");
    let y = b.op("Relu", &[x], vec![]);
    b.g.value_mut(y).ty = Some(ty("f32[1,3]"));
    let issues = b.run();
    assert_eq!(
        issues,
        ["node 'Relu1': value 'Relu1_0': inferred f32[1,2], declared f32[1,3]"]
    );
    assert_eq!(b.t(y), "f32[1,3]");
}

#[test]
fn declared_dtype_is_never_changed() {
    let mut b = B::new();
    let x = b.input("f32[4]");
    let y = b.op("Relu", &[x], vec![]);
    b.g.value_mut(y).ty = Some(ty("f16"));
    assert_eq!(b.run().len(), 1);
    assert_eq!(b.t(y), "f16");
}

#[test]
fn less_precise_declarations_are_refined() {
    let mut b = B::new();
    let x = b.input("f32[N,3,P]");
    let y = b.op("Relu", &[x], vec![]);
    let z = b.op("Relu", &[y], vec![]);
    b.g.value_mut(y).ty = Some(ty("f32"));
    b.g.value_mut(z).ty = Some(ty("f32[?,M,Q]"));
    assert!(b.run().is_empty());
    assert_eq!(b.t(y), "f32[N,3,P]");
    // Known refines unknown and symbolic, a symbol refines unknown; a declared symbol stays
    // against another symbol.
    assert_eq!(b.t(z), "f32[N,3,Q]");
}

#[test]
fn unknown_custom_op_keeps_declared_outputs_and_feeds_downstream() {
    let mut b = B::new();
    let x = b.input("f32[1,3,8,8]");
    let outs = b.op_in("com.example", "Mystery", &[Some(x)], vec![], 2);
    b.g.value_mut(outs[0]).ty = Some(ty("u8[1,5]"));
    let after = b.op("Relu", &[outs[0]], vec![]);
    assert!(b.run().is_empty());
    assert_eq!(b.t(outs[0]), "u8[1,5]");
    assert_eq!(b.t(outs[1]), "-");
    assert_eq!(b.t(after), "u8[1,5]");
}

#[test]
fn a_cycle_is_one_issue_and_nothing_else() {
    let mut b = B::new();
    let x = b.input("f32[2]");
    let a = b.op("Add", &[x, x], vec![]);
    let r = b.op("Relu", &[a], vec![]);
    b.g.set_input(a.node, 1, Some(r));
    let issues = b.run();
    assert_eq!(issues.len(), 1);
    assert!(issues[0].contains("cycle"), "{issues:?}");
    assert_eq!(b.t(r), "-");
}

#[test]
fn wrong_attribute_type_names_node_and_attribute() {
    let msg = issue1("Softmax", &["f32[2,3]"], vec![float("axis", 1.0)]);
    assert_eq!(
        msg,
        "node 'Softmax1': attribute 'axis': is FLOAT, must be INT"
    );
}

// ----- element-wise -------------------------------------------------------------------------

#[test]
fn unary_ops_keep_the_input_type() {
    for op in [
        "Relu",
        "Sigmoid",
        "Tanh",
        "Exp",
        "Sqrt",
        "Abs",
        "Neg",
        "HardSwish",
        "Gelu",
    ] {
        assert_eq!(ok1(op, &["f16[N,4]"], vec![]), "f16[N,4]", "{op}");
    }
    assert_eq!(
        ok1("LeakyRelu", &["f32[2]"], vec![float("alpha", 0.1)]),
        "f32[2]"
    );
    assert_eq!(
        ok1("Clip", &["f32[2,2]", "f32[]", "f32[]"], vec![]),
        "f32[2,2]"
    );
    assert_eq!(
        ok1("Softmax", &["f32[2,7]"], vec![int("axis", -1)]),
        "f32[2,7]"
    );
    assert!(issue1("Softmax", &["f32[2,7]"], vec![int("axis", 2)]).contains("axis 2"));
}

#[test]
fn broadcasting_keeps_symbols_and_rejects_mismatches() {
    assert_eq!(ok1("Add", &["f32[N,3,1]", "f32[4]"], vec![]), "f32[N,3,4]");
    assert_eq!(ok1("Mul", &["f32[N,1]", "f32[N,5]"], vec![]), "f32[N,5]");
    assert_eq!(ok1("Sub", &["f32[N]", "f32[M]"], vec![]), "f32[?]");
    assert_eq!(ok1("Div", &["f32[?,2]", "f32[7,1]"], vec![]), "f32[7,2]");
    assert_eq!(
        ok1("Max", &["f32[2,1]", "f32[3]", "f32[]"], vec![]),
        "f32[2,3]"
    );
    assert_eq!(ok1("Pow", &["f32[3]", "i64[]"], vec![]), "f32[3]");
    assert_eq!(ok1("Add", &["f32", "f32[3]"], vec![]), "f32");
    assert!(issue1("Add", &["f32[2,3]", "f32[4]"], vec![]).contains("do not broadcast"));
    assert!(issue1("Add", &["f32[3]", "i64[3]"], vec![]).contains("element types"));
}

#[test]
fn comparisons_and_where() {
    assert_eq!(ok1("Equal", &["i64[3]", "i64[1]"], vec![]), "bool[3]");
    assert_eq!(ok1("Less", &["f32[2,1]", "f32[4]"], vec![]), "bool[2,4]");
    assert_eq!(
        ok1("Where", &["bool[2,1]", "f32[4]", "f32[]"], vec![]),
        "f32[2,4]"
    );
    assert!(issue1("Where", &["f32[2]", "f32[2]", "f32[2]"], vec![]).contains("bool"));
}

#[test]
fn cast_changes_the_element_type_only() {
    let to = |t: DType| int("to", t.onnx_code().into());
    assert_eq!(ok1("Cast", &["f32[N,2]"], vec![to(DType::F16)]), "f16[N,2]");
    assert_eq!(ok1("Cast", &["f32"], vec![to(DType::I8)]), "i8");
    assert!(issue1("Cast", &["f32[2]"], vec![]).contains("'to' is missing"));
    assert!(issue1("Cast", &["f32[2]"], vec![int("to", 999)]).contains("not an element type"));
}

#[test]
fn batch_norm_statistics_are_per_channel() {
    let mut b = B::new();
    let x = b.input("f32[N,6,4,4]");
    let p: Vec<_> = (0..4).map(|_| b.input("f32[6]")).collect();
    let inputs: Vec<_> = std::iter::once(x).chain(p).map(Some).collect();
    let outs = b.op_in("", "BatchNormalization", &inputs, vec![], 3);
    assert!(b.run().is_empty());
    assert_eq!(b.t(outs[0]), "f32[N,6,4,4]");
    assert_eq!(b.t(outs[1]), "f32[6]");
    assert_eq!(b.t(outs[2]), "f32[6]");
}

// ----- windows ------------------------------------------------------------------------------

#[test]
fn conv_output_sizes() {
    let attrs = || {
        vec![
            ints("pads", &[1, 1, 1, 1]),
            ints("strides", &[2, 2]),
            ints("kernel_shape", &[3, 3]),
        ]
    };
    assert_eq!(
        ok1(
            "Conv",
            &["f32[N,3,160,160]", "f32[16,3,3,3]", "f32[16]"],
            attrs()
        ),
        "f32[N,16,80,80]"
    );
    // Kernel from the weight, dilation 2: extent 5.
    assert_eq!(
        ok1(
            "Conv",
            &["f32[1,4,10,9]", "f32[8,4,3,3]"],
            vec![ints("dilations", &[2, 2])]
        ),
        "f32[1,8,6,5]"
    );
    // Depthwise.
    assert_eq!(
        ok1(
            "Conv",
            &["f32[1,8,5,5]", "f32[8,1,3,3]"],
            vec![int("group", 8), ints("pads", &[1, 1, 1, 1])]
        ),
        "f32[1,8,5,5]"
    );
    // SAME_UPPER with stride 2 on an odd size: ceil(7 / 2).
    assert_eq!(
        ok1(
            "Conv",
            &["f32[1,1,7,7]", "f32[1,1,3,3]"],
            vec![string("auto_pad", "SAME_UPPER"), ints("strides", &[2, 2])]
        ),
        "f32[1,1,4,4]"
    );
    // A 1x1 stride-1 conv keeps symbolic spatial sizes, a 3x3 does not.
    assert_eq!(
        ok1("Conv", &["f32[N,4,H,W]", "f32[2,4,1,1]"], vec![]),
        "f32[N,2,H,W]"
    );
    assert_eq!(
        ok1("Conv", &["f32[N,4,H,W]", "f32[2,4,3,3]"], vec![]),
        "f32[N,2,?,?]"
    );
    // Unknown weight shape: channels unknown, spatial known from the kernel attribute.
    assert_eq!(
        ok1(
            "Conv",
            &["f32[1,4,8,8]", "f32"],
            vec![ints("kernel_shape", &[3, 3])]
        ),
        "f32[1,?,6,6]"
    );
}

#[test]
fn malformed_convs_are_issues() {
    let x = "f32[1,4,8,8]";
    assert!(issue1("Conv", &[x, "f32[8,3,3,3]"], vec![]).contains("channels"));
    assert!(issue1("Conv", &[x, "f32[8,4,3]"], vec![]).contains("rank"));
    assert!(
        issue1("Conv", &[x, "f32[8,4,3,3]"], vec![ints("strides", &[0, 1])]).contains("strides")
    );
    assert!(issue1("Conv", &[x, "f32[8,4,3,3]"], vec![ints("pads", &[1, 1])]).contains("'pads'"));
    assert!(issue1("Conv", &[x, "f32[8,4,9,9]"], vec![]).contains("kernel extent"));
    assert!(issue1(
        "Conv",
        &[x, "f32[8,4,3,3]"],
        vec![ints("kernel_shape", &[5, 5])]
    )
    .contains("contradicts"));
    assert!(issue1("Conv", &[x, "f32[8,2,3,3]"], vec![int("group", 0)]).contains("group"));
    assert!(issue1(
        "Conv",
        &[x, "f32[8,4,3,3]"],
        vec![string("auto_pad", "WHAT")]
    )
    .contains("auto_pad"));
    assert!(issue1(
        "Conv",
        &["f32[1,4,8,8]", "f32[8,4,3,3]"],
        vec![ints("dilations", &[i64::MAX, 1])]
    )
    .contains("overflows"));
}

#[test]
fn conv_transpose_output_sizes() {
    let (x, w) = ("f32[1,8,10,10]", "f32[8,2,3,3]");
    // s * (D - 1) + output_padding + k - pads, channels W[1] * group.
    assert_eq!(
        ok1(
            "ConvTranspose",
            &[x, w],
            vec![
                ints("strides", &[2, 2]),
                ints("pads", &[1, 1, 1, 1]),
                ints("output_padding", &[1, 1])
            ]
        ),
        "f32[1,2,20,20]"
    );
    assert_eq!(
        ok1("ConvTranspose", &[x, w], vec![int("group", 2)]),
        "f32[1,4,12,12]"
    );
    assert_eq!(
        ok1(
            "ConvTranspose",
            &[x, w],
            vec![ints("strides", &[2, 2]), string("auto_pad", "SAME_UPPER")]
        ),
        "f32[1,2,20,20]"
    );
    assert_eq!(
        ok1(
            "ConvTranspose",
            &[x, w],
            vec![ints("output_shape", &[21, 19])]
        ),
        "f32[1,2,21,19]"
    );
    assert!(issue1("ConvTranspose", &[x, "f32[4,2,3,3]"], vec![]).contains("channels"));
}

#[test]
fn pooling_output_sizes() {
    let k2s2 = || vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
    assert_eq!(ok1("MaxPool", &["f32[N,8,9,9]"], k2s2()), "f32[N,8,4,4]");
    let mut ceil = k2s2();
    ceil.push(int("ceil_mode", 1));
    assert_eq!(
        ok1("MaxPool", &["f32[N,8,9,9]"], ceil.clone()),
        "f32[N,8,5,5]"
    );
    // With padding 1 the fifth window would start in the end padding: ONNX Runtime and the
    // spec (onnx PR 5741) drop it; onnx's C++ shape inference still says 4.
    ceil.push(ints("pads", &[1, 1, 1, 1]));
    assert_eq!(ok1("MaxPool", &["f32[1,1,5,5]"], ceil), "f32[1,1,3,3]");
    // The SPPF MaxPool: 5x5, stride 1, pads 2.
    assert_eq!(
        ok1(
            "MaxPool",
            &["f32[1,32,5,5]"],
            vec![ints("kernel_shape", &[5, 5]), ints("pads", &[2, 2, 2, 2])]
        ),
        "f32[1,32,5,5]"
    );
    assert_eq!(
        ok1("AveragePool", &["f32[1,2,6,6]"], k2s2()),
        "f32[1,2,3,3]"
    );
    assert_eq!(
        ok1("GlobalAveragePool", &["f32[N,16,H,W]"], vec![]),
        "f32[N,16,1,1]"
    );
    assert!(issue1("MaxPool", &["f32[1,1,4,4]"], vec![]).contains("kernel_shape"));
}

#[test]
fn max_pool_indices_are_i64() {
    let mut b = B::new();
    let x = b.input("f16[1,2,4,4]");
    let outs = b.op_in(
        "",
        "MaxPool",
        &[Some(x)],
        vec![ints("kernel_shape", &[2, 2])],
        2,
    );
    assert!(b.run().is_empty());
    assert_eq!(b.t(outs[0]), "f16[1,2,3,3]");
    assert_eq!(b.t(outs[1]), "i64[1,2,3,3]");
}

// ----- contractions -------------------------------------------------------------------------

#[test]
fn matmul_shapes() {
    assert_eq!(
        ok1("MatMul", &["f32[2,1,3,4]", "f32[5,4,6]"], vec![]),
        "f32[2,5,3,6]"
    );
    assert_eq!(ok1("MatMul", &["f32[4]", "f32[4,6]"], vec![]), "f32[6]");
    assert_eq!(ok1("MatMul", &["f32[N,3,4]", "f32[4]"], vec![]), "f32[N,3]");
    assert_eq!(ok1("MatMul", &["f32[4]", "f32[4]"], vec![]), "f32[]");
    assert!(issue1("MatMul", &["f32[3,4]", "f32[5,6]"], vec![]).contains("inner"));
    assert!(issue1("MatMul", &["f32[]", "f32[5,6]"], vec![]).contains("scalar"));
}

#[test]
fn gemm_shapes() {
    assert_eq!(
        ok1("Gemm", &["f32[3,4]", "f32[4,5]", "f32[5]"], vec![]),
        "f32[3,5]"
    );
    assert_eq!(
        ok1(
            "Gemm",
            &["f32[4,3]", "f32[5,4]"],
            vec![int("transA", 1), int("transB", 1)]
        ),
        "f32[3,5]"
    );
    assert!(issue1("Gemm", &["f32[3,4]", "f32[5,4]"], vec![]).contains("inner"));
    assert!(issue1("Gemm", &["f32[3]", "f32[3,4]"], vec![]).contains("2-D"));
}

#[test]
fn einsum_shapes() {
    let eq = |e: &str| vec![string("equation", e)];
    assert_eq!(
        ok1("Einsum", &["f32[B,3,4]", "f32[B,4,5]"], eq("bij,bjk->bik")),
        "f32[B,3,5]"
    );
    assert_eq!(
        ok1("Einsum", &["f32[3,4]", "f32[4,5]"], eq("ij,jk")),
        "f32[3,5]"
    );
    assert_eq!(ok1("Einsum", &["f32[2,3]"], eq("ij->ji")), "f32[3,2]");
    assert_eq!(ok1("Einsum", &["f32[3,3]"], eq("ii")), "f32[]");
    assert_eq!(
        ok1(
            "Einsum",
            &["f32[7,1,3,4]", "f32[7,2,4,5]"],
            eq("...ij, ...jk -> ...ik")
        ),
        "f32[7,2,3,5]"
    );
    assert!(issue1(
        "Einsum",
        &["f32[7,1,3,4]", "f32[2,4,5]"],
        eq("...ij,...jk->...ik")
    )
    .contains("ellipsis covers 2 dims in one operand, 1 in another"));
    assert!(issue1("Einsum", &["f32[3,4]", "f32[5,6]"], eq("ij,jk->ik")).contains("label 'j'"));
    assert!(issue1("Einsum", &["f32[3,4]"], eq("ijk->i")).contains("does not fit"));
    assert!(issue1("Einsum", &["f32[3,4]"], eq("ij->z")).contains("no input"));
    assert!(issue1("Einsum", &["f32[3,4]"], eq("i$->i")).contains("invalid"));
}

// ----- quantization -------------------------------------------------------------------------

#[test]
fn quantize_dequantize_types() {
    assert_eq!(
        ok1("QuantizeLinear", &["f32[1,8]", "f32[]", "i8[]"], vec![]),
        "i8[1,8]"
    );
    assert_eq!(
        ok1("QuantizeLinear", &["f32[1,8]", "f32[]"], vec![]),
        "u8[1,8]"
    );
    assert_eq!(
        ok1(
            "QuantizeLinear",
            &["f32[2]", "f32[]"],
            vec![int("output_dtype", 3)]
        ),
        "i8[2]"
    );
    assert!(issue1(
        "QuantizeLinear",
        &["f32[2]", "f32[]", "u8[]"],
        vec![int("output_dtype", 3)]
    )
    .contains("output_dtype"));
    assert_eq!(
        ok1("DequantizeLinear", &["i8[N,8]", "f32[8]", "i8[8]"], vec![]),
        "f32[N,8]"
    );
    assert_eq!(
        ok1("DequantizeLinear", &["u8[4]", "f16[]"], vec![]),
        "f16[4]"
    );
    assert_eq!(
        ok1(
            "DequantizeLinear",
            &["u8[4]", "f32[]"],
            vec![int("output_dtype", 16)]
        ),
        "bf16[4]"
    );
}

#[test]
fn onnx_qlinear_ops() {
    let (s, z) = ("f32[]", "u8[]");
    let conv = [
        "u8[1,4,8,8]",
        s,
        z,
        "i8[8,4,3,3]",
        s,
        "i8[]",
        s,
        z,
        "i32[8]",
    ];
    assert_eq!(
        ok1("QLinearConv", &conv, vec![ints("pads", &[1, 1, 1, 1])]),
        "u8[1,8,8,8]"
    );
    let mm = ["i8[N,3,4]", s, "i8[]", "i8[4,5]", s, "i8[]", s, "u8[]"];
    assert_eq!(ok1("QLinearMatMul", &mm, vec![]), "u8[N,3,5]");
}

/// Runs one `com.microsoft` op.
fn ms1(op: &str, inputs: &[&str], attrs: Vec<proto::AttributeProto>) -> String {
    let mut b = B::new();
    let ins: Vec<_> = inputs.iter().map(|t| Some(b.input(t))).collect();
    let out = b.op_in(MS_DOMAIN, op, &ins, attrs, 1)[0];
    let issues = b.run();
    assert!(issues.is_empty(), "{issues:?}");
    b.t(out)
}

#[test]
fn microsoft_qlinear_ops() {
    let (s, z) = ("f32[]", "i8[]");
    assert_eq!(
        ms1(
            "QLinearAdd",
            &["i8[1,8,4,4]", s, z, "i8[1,8,1,1]", s, z, s, z],
            vec![]
        ),
        "i8[1,8,4,4]"
    );
    assert_eq!(
        ms1(
            "QLinearMul",
            &["u8[3]", s, z, "u8[2,1]", s, z, s, z],
            vec![]
        ),
        "u8[2,3]"
    );
    assert_eq!(
        ms1("QLinearLeakyRelu", &["i8[N,4]", s, z, s, z], vec![]),
        "i8[N,4]"
    );
    assert_eq!(
        ms1("QLinearSigmoid", &["u8[5]", s, z, s, z], vec![]),
        "u8[5]"
    );
    assert_eq!(
        ms1(
            "QLinearSoftmax",
            &["u8[2,5]", s, z, s, z],
            vec![int("opset", 13)]
        ),
        "u8[2,5]"
    );
    assert_eq!(
        ms1(
            "QLinearConcat",
            &[s, z, "i8[1,2,4]", s, z, "i8[1,3,4]", s, z],
            vec![int("axis", 1)]
        ),
        "i8[1,5,4]"
    );
    let pool = vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
    assert_eq!(
        ms1(
            "QLinearAveragePool",
            &["u8[1,3,8,8]", s, z, s, z],
            pool.clone()
        ),
        "u8[1,3,4,4]"
    );
    let mut nhwc = pool;
    nhwc.push(int("channels_last", 1));
    assert_eq!(
        ms1("QLinearAveragePool", &["u8[1,8,8,3]", s, z, s, z], nhwc),
        "u8[1,4,4,3]"
    );
    assert_eq!(
        ms1(
            "QLinearGlobalAveragePool",
            &["u8[1,6,6,3]", s, z, s, z],
            vec![int("channels_last", 1)]
        ),
        "u8[1,1,1,3]"
    );
}

// ----- reductions ---------------------------------------------------------------------------

#[test]
fn reductions() {
    assert_eq!(
        ok1("ReduceMean", &["f32[2,3,4]"], vec![ints("axes", &[-1])]),
        "f32[2,3,1]"
    );
    assert_eq!(
        ok1(
            "ReduceMax",
            &["f32[2,3,4]"],
            vec![ints("axes", &[0, 2]), int("keepdims", 0)]
        ),
        "f32[3]"
    );
    assert_eq!(ok1("ReduceSum", &["f32[2,3]"], vec![]), "f32[1,1]");
    assert_eq!(
        ok1(
            "ReduceSum",
            &["f32[2,3]"],
            vec![int("noop_with_empty_axes", 1)]
        ),
        "f32[2,3]"
    );
    assert!(issue1("ReduceMax", &["f32[2,3]"], vec![ints("axes", &[1, -1])]).contains("repeated"));

    // ReduceSum since opset 13 takes its axes as an input.
    let mut b = B::new();
    b.opset = 13;
    let x = b.input("f32[N,3,4]");
    let axes = b.i64s(&[1]);
    let y = b.op("ReduceSum", &[x, axes], vec![int("keepdims", 0)]);
    let unknown_axes = b.input("i64[1]");
    let z = b.op("ReduceSum", &[x, unknown_axes], vec![]);
    assert!(b.run().is_empty());
    assert_eq!(b.t(y), "f32[N,4]");
    assert_eq!(b.t(z), "f32[?,?,?]");
}

#[test]
fn arg_max_and_top_k() {
    assert_eq!(
        ok1("ArgMax", &["f32[2,3,4]"], vec![int("axis", 1)]),
        "i64[2,1,4]"
    );
    assert_eq!(
        ok1("ArgMax", &["f32[2,3]"], vec![int("keepdims", 0)]),
        "i64[3]"
    );

    let mut b = B::new();
    let x = b.input("f32[N,10]");
    let k = b.i64s(&[3]);
    let outs = b.op_in("", "TopK", &[Some(x), Some(k)], vec![], 2);
    let k_big = b.i64s(&[11]);
    b.op_in("", "TopK", &[Some(x), Some(k_big)], vec![], 2);
    let issues = b.run();
    assert_eq!(b.t(outs[0]), "f32[N,3]");
    assert_eq!(b.t(outs[1]), "i64[N,3]");
    assert_eq!(issues.len(), 1);
    assert!(issues[0].contains("K is 11"), "{issues:?}");
}

#[test]
fn non_max_suppression_count_is_dynamic() {
    assert_eq!(
        ok1(
            "NonMaxSuppression",
            &["f32[1,100,4]", "f32[1,1,100]"],
            vec![]
        ),
        "i64[?,3]"
    );
}

// ----- rearrangements -----------------------------------------------------------------------

/// Reshape of `input` to a constant `shape`.
fn reshape(input: &str, shape: &[i64], allowzero: i64) -> (String, Vec<String>) {
    let mut b = B::new();
    let x = b.input(input);
    let s = b.i64s(shape);
    let y = b.op("Reshape", &[x, s], vec![int("allowzero", allowzero)]);
    let issues = b.run();
    (b.t(y), issues)
}

#[test]
fn reshape_zero_and_minus_one() {
    let ok = |i, s: &[i64], z| {
        let (t, issues) = reshape(i, s, z);
        assert!(issues.is_empty(), "{issues:?}");
        t
    };
    assert_eq!(ok("f32[1,64,20,20]", &[1, 4, 16, -1], 0), "f32[1,4,16,400]");
    assert_eq!(ok("f32[N,3,4]", &[0, -1], 0), "f32[N,12]");
    assert_eq!(ok("f32[N,3,4]", &[-1, 4], 0), "f32[?,4]");
    assert_eq!(ok("f32[2,3,0]", &[0, 0, 5], 1), "f32[0,0,5]");
    assert_eq!(ok("f32", &[2, -1], 0), "f32[2,?]");
    let bad = |i, s: &[i64], z| reshape(i, s, z).1.join("\n");
    assert!(bad("f32[2,3]", &[-1, -1], 0).contains("more than one -1"));
    assert!(bad("f32[2,3]", &[4, 2], 0).contains("6 elements"));
    assert!(bad("f32[2,3]", &[4, -1], 0).contains("do not divide"));
    assert!(bad("f32[2,3]", &[0, 0, 0], 0).contains("does not have"));
    assert!(bad("f32[2,3]", &[-2, 3], 0).contains("negative"));
    assert!(bad("f32[0,3]", &[0, -1], 1).contains("allowzero"));
}

#[test]
fn flatten_transpose_depth_space() {
    assert_eq!(ok1("Flatten", &["f32[N,3,4,5]"], vec![]), "f32[N,60]");
    assert_eq!(
        ok1("Flatten", &["f32[2,3,4]"], vec![int("axis", -1)]),
        "f32[6,4]"
    );
    assert_eq!(
        ok1("Flatten", &["f32[2,3]"], vec![int("axis", 0)]),
        "f32[1,6]"
    );
    assert!(issue1("Flatten", &["f32[2,3]"], vec![int("axis", 3)]).contains("out of range"));
    assert_eq!(ok1("Transpose", &["f32[N,2,3]"], vec![]), "f32[3,2,N]");
    assert_eq!(
        ok1(
            "Transpose",
            &["f32[1,4,4,525]"],
            vec![ints("perm", &[0, 2, 1, 3])]
        ),
        "f32[1,4,4,525]"
    );
    assert!(issue1("Transpose", &["f32[1,2,3]"], vec![ints("perm", &[0, 0, 1])]).contains("perm"));
    assert!(issue1("Transpose", &["f32[1,2,3]"], vec![ints("perm", &[0, 1])]).contains("perm"));
    assert_eq!(
        ok1("DepthToSpace", &["f32[1,8,3,3]"], vec![int("blocksize", 2)]),
        "f32[1,2,6,6]"
    );
    assert_eq!(
        ok1("SpaceToDepth", &["f32[N,2,6,6]"], vec![int("blocksize", 3)]),
        "f32[N,18,2,2]"
    );
    assert!(
        issue1("DepthToSpace", &["f32[1,6,3,3]"], vec![int("blocksize", 2)]).contains("divisible")
    );
    assert!(issue1("SpaceToDepth", &["f32[1,6,3,3]"], vec![]).contains("blocksize"));
}

#[test]
fn squeeze_and_unsqueeze_with_attribute_and_input_axes() {
    assert_eq!(ok1("Squeeze", &["f32[1,3,1,5]"], vec![]), "f32[3,5]");
    assert_eq!(
        ok1("Squeeze", &["f32[N,1,5]"], vec![ints("axes", &[1])]),
        "f32[N,5]"
    );
    assert_eq!(ok1("Squeeze", &["f32[N,1,5]"], vec![]), "f32");
    assert!(issue1("Squeeze", &["f32[2,3]"], vec![ints("axes", &[0])]).contains("squeeze"));
    assert_eq!(
        ok1("Unsqueeze", &["f32[3,4]"], vec![ints("axes", &[0, -1])]),
        "f32[1,3,4,1]"
    );
    assert!(issue1("Unsqueeze", &["f32[3]"], vec![]).contains("no axes"));

    let mut b = B::new();
    b.opset = 13;
    let x = b.input("f32[N,3]");
    let axes = b.i64s(&[1]);
    let u = b.op("Unsqueeze", &[x, axes], vec![]);
    let s = b.op("Squeeze", &[u, axes], vec![]);
    assert!(b.run().is_empty());
    assert_eq!(b.t(u), "f32[N,1,3]");
    assert_eq!(b.t(s), "f32[N,3]");
}

#[test]
fn expand_and_tile() {
    let mut b = B::new();
    let x = b.input("f32[3,1]");
    let shape = b.i64s(&[2, 1, 4]);
    let e = b.op("Expand", &[x, shape], vec![]);
    let reps = b.i64s(&[2, 3]);
    let t = b.op("Tile", &[x, reps], vec![]);
    let huge = b.i64s(&[i64::MAX, 2]);
    b.op("Tile", &[x, huge], vec![]);
    let issues = b.run();
    assert_eq!(b.t(e), "f32[2,3,4]");
    assert_eq!(b.t(t), "f32[6,3]");
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].contains("overflows"));
}

// ----- slicing and joining ------------------------------------------------------------------

#[test]
fn concat_shapes() {
    let axis = |a| vec![int("axis", a)];
    assert_eq!(
        ok1("Concat", &["f32[N,2,5]", "f32[N,3,5]"], axis(1)),
        "f32[N,5,5]"
    );
    assert_eq!(
        ok1("Concat", &["f32[1,2]", "f32[?,3]"], axis(-1)),
        "f32[1,5]"
    );
    assert_eq!(
        ok1("Concat", &["f32[N,2]", "f32[M,2]"], axis(0)),
        "f32[?,2]"
    );
    assert!(issue1("Concat", &["f32[1,2]", "f32[2,2]"], axis(1)).contains("differ on axis 0"));
    assert!(issue1("Concat", &["f32[1,2]", "f32[2]"], axis(0)).contains("rank"));
    assert!(issue1("Concat", &["f32[1,2]"], vec![]).contains("'axis' is missing"));
}

/// Runs a `Split` of `input` with `n` outputs.
fn split(
    b: &mut B,
    inputs: &[Option<ValueId>],
    attrs: Vec<proto::AttributeProto>,
    n: usize,
) -> Vec<String> {
    let outs = b.op_in("", "Split", inputs, attrs, n);
    let issues = b.run();
    assert!(issues.is_empty(), "{issues:?}");
    outs.iter().map(|&v| b.t(v)).collect()
}

#[test]
fn split_sizes() {
    let mut b = B::new();
    let x = b.input("f32[N,6,4]");
    assert_eq!(
        split(&mut b, &[Some(x)], vec![int("axis", 1)], 3),
        ["f32[N,2,4]"; 3]
    );

    let mut b = B::new();
    b.opset = 11;
    let x = b.input("f32[7]");
    assert_eq!(
        split(&mut b, &[Some(x)], vec![ints("split", &[3, 4])], 2),
        ["f32[3]", "f32[4]"]
    );

    let mut b = B::new();
    let x = b.input("f32[2,10]");
    let sizes = b.i64s(&[4, 6]);
    assert_eq!(
        split(&mut b, &[Some(x), Some(sizes)], vec![int("axis", -1)], 2),
        ["f32[2,4]", "f32[2,6]"]
    );

    let mut b = B::new();
    b.opset = 18;
    let x = b.input("f32[7]");
    assert_eq!(
        split(&mut b, &[Some(x)], vec![int("num_outputs", 3)], 3),
        ["f32[3]", "f32[3]", "f32[1]"]
    );

    let mut b = B::new();
    let x = b.input("f32[7]");
    b.op_in("", "Split", &[Some(x)], vec![], 2);
    let x = b.input("f32[7]");
    b.op_in("", "Split", &[Some(x)], vec![ints("split", &[3, 3])], 2);
    let issues = b.run();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(issues[0].contains("evenly"));
    assert!(issues[1].contains("add up"));
}

/// A `Slice` of `input` with constant starts/ends/axes/steps.
fn slice(
    input: &str,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> (String, Vec<String>) {
    let mut b = B::new();
    let x = b.input(input);
    let mut ins = vec![Some(x), Some(b.i64s(starts)), Some(b.i64s(ends))];
    ins.push(axes.map(|a| b.i64s(a)));
    ins.push(steps.map(|s| b.i64s(s)));
    let y = b.op_in("", "Slice", &ins, vec![], 1)[0];
    let issues = b.run();
    (b.t(y), issues)
}

#[test]
fn slice_bounds_clamp_and_step() {
    let ok = |i, s: &[i64], e: &[i64], a, st| {
        let (t, issues) = slice(i, s, e, a, st);
        assert!(issues.is_empty(), "{issues:?}");
        t
    };
    assert_eq!(
        ok("f32[1,4,525]", &[0], &[2], Some(&[1]), Some(&[1])),
        "f32[1,2,525]"
    );
    assert_eq!(ok("f32[10]", &[-3], &[i64::MAX], None, None), "f32[3]");
    assert_eq!(ok("f32[10]", &[-100], &[100], None, None), "f32[10]");
    assert_eq!(ok("f32[10]", &[8], &[2], None, None), "f32[0]");
    assert_eq!(
        ok("f32[10]", &[i64::MAX], &[i64::MIN], None, Some(&[-1])),
        "f32[10]"
    );
    assert_eq!(ok("f32[10]", &[9], &[0], None, Some(&[-3])), "f32[3]");
    assert_eq!(
        ok("f32[10,N]", &[1, 0], &[8, i64::MAX], None, Some(&[2, 1])),
        "f32[4,N]"
    );
    assert_eq!(ok("f32[0]", &[0], &[-1], None, Some(&[-1])), "f32[0]");
    let bad = |i, s: &[i64], e: &[i64], a, st| slice(i, s, e, a, st).1.join("\n");
    assert!(bad("f32[10]", &[0], &[5], None, Some(&[0])).contains("step"));
    assert!(bad("f32[10]", &[0, 1], &[5], None, None).contains("ends"));
    assert!(bad("f32[10,2]", &[0, 0], &[5, 1], Some(&[1, -1]), None).contains("repeated"));
}

#[test]
fn old_slice_reads_attributes() {
    let mut b = B::new();
    b.opset = 9;
    let x = b.input("f32[4,6]");
    let y = b.op(
        "Slice",
        &[x],
        vec![
            ints("starts", &[1]),
            ints("ends", &[-1]),
            ints("axes", &[1]),
        ],
    );
    assert!(b.run().is_empty());
    assert_eq!(b.t(y), "f32[4,4]");
}

#[test]
fn gather_shapes() {
    let mut b = B::new();
    let x = b.input("f32[5,N,3]");
    let idx = b.i64s(&[0, -1]);
    let y = b.op("Gather", &[x, idx], vec![int("axis", 0)]);
    let scalar = b.scalar(1);
    let z = b.op("Gather", &[x, scalar], vec![int("axis", -1)]);
    let bad = b.i64s(&[3]);
    b.op("Gather", &[x, bad], vec![int("axis", 2)]);
    let issues = b.run();
    assert_eq!(b.t(y), "f32[2,N,3]");
    assert_eq!(b.t(z), "f32[5,N]");
    assert_eq!(issues.len(), 1);
    assert!(issues[0].contains("index 3"), "{issues:?}");
}

#[test]
fn pad_with_attribute_and_input() {
    let mut b = B::new();
    b.opset = 2;
    let x = b.input("f32[1,3,4,4]");
    let y = b.op("Pad", &[x], vec![ints("pads", &[0, 0, 1, 2, 0, 0, 1, 2])]);
    assert!(b.run().is_empty());
    assert_eq!(b.t(y), "f32[1,3,6,8]");

    let mut b = B::new();
    b.opset = 18;
    let x = b.input("f32[N,3,4,4]");
    let pads = b.i64s(&[1, -1, 1, 0]);
    let axes = b.i64s(&[2, 3]);
    let y = b.op_in(
        "",
        "Pad",
        &[Some(x), Some(pads), None, Some(axes)],
        vec![],
        1,
    )[0];
    let crop = b.i64s(&[0, 0, -3, 0, 0, 0, -3, 0]);
    b.op("Pad", &[x, crop], vec![]);
    let issues = b.run();
    assert_eq!(b.t(y), "f32[N,3,6,3]");
    assert_eq!(issues.len(), 1);
    assert!(issues[0].contains("leave size -2"), "{issues:?}");
}

// ----- resize -------------------------------------------------------------------------------

#[test]
fn resize_by_scales_and_sizes() {
    let mut b = B::new();
    let x = b.input("f32[N,8,20,20]");
    let scales = b.f32s(&[1.0, 1.0, 2.0, 2.0]);
    let up = b.op_in("", "Resize", &[Some(x), None, Some(scales)], vec![], 1)[0];
    let odd = b.f32s(&[1.0, 1.0, 0.33, 1.5]);
    let down = b.op_in("", "Resize", &[Some(x), None, Some(odd)], vec![], 1)[0];
    let empty = b.f32s(&[]);
    let sizes = b.i64s(&[1, 8, 7, 9]);
    let sized = b.op_in(
        "",
        "Resize",
        &[Some(x), None, Some(empty), Some(sizes)],
        vec![],
        1,
    )[0];
    assert!(b.run().is_empty());
    assert_eq!(b.t(up), "f32[N,8,40,40]");
    assert_eq!(b.t(down), "f32[N,8,6,30]");
    assert_eq!(b.t(sized), "f32[1,8,7,9]");
}

#[test]
fn resize_with_axes_policy_and_old_opsets() {
    let mut b = B::new();
    b.opset = 19;
    let x = b.input("f32[1,3,20,40]");
    let sizes = b.i64s(&[10, 10]);
    let attrs = vec![
        ints("axes", &[2, 3]),
        string("keep_aspect_ratio_policy", "not_larger"),
    ];
    let y = b.op_in("", "Resize", &[Some(x), None, None, Some(sizes)], attrs, 1)[0];
    assert!(b.run().is_empty());
    assert_eq!(b.t(y), "f32[1,3,5,10]");

    let mut b = B::new();
    b.opset = 10;
    let x = b.input("f32[1,3,4,4]");
    let scales = b.f32s(&[1.0, 1.0, 2.0, 2.0]);
    let y = b.op("Resize", &[x, scales], vec![]);
    assert!(b.run().is_empty());
    assert_eq!(b.t(y), "f32[1,3,8,8]");

    let mut b = B::new();
    let x = b.input("f32[1,3,4,4]");
    b.op("Resize", &[x], vec![]);
    let three = b.f32s(&[1.0, 2.0, 2.0]);
    b.op_in("", "Resize", &[Some(x), None, Some(three)], vec![], 1);
    let issues = b.run();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(issues[0].contains("neither"));
    assert!(issues[1].contains("3 scales for 4 axes"));
}

// ----- constants and data propagation -------------------------------------------------------

/// The contents inference gives `v` (running it again over the graph).
fn contents(b: &mut B, v: ValueId) -> Option<String> {
    let (_, data) = walk(&mut b.g, b.opset);
    data.get(&v).map(|d| dims::show(d))
}

#[test]
fn constants_in_every_form() {
    let mut b = B::new();
    let t = proto::TensorProto {
        dims: vec![2],
        data_type: Some(DType::I64.onnx_code()),
        int64_data: vec![4, -1],
        ..Default::default()
    };
    let c1 = b.op("Constant", &[], vec![tensor("value", t)]);
    let c2 = b.op("Constant", &[], vec![ints("value_ints", &[1, 2, 3])]);
    let c3 = b.op("Constant", &[], vec![float("value_float", 0.5)]);
    let c4 = b.op("Constant", &[], vec![int("value_int", 7)]);
    b.op("Constant", &[], vec![]);
    let issues = b.run();
    assert_eq!(issues.len(), 1);
    assert!(issues[0].contains("no value"));
    assert_eq!(b.t(c1), "i64[2]");
    assert_eq!(b.t(c2), "i64[3]");
    assert_eq!(b.t(c3), "f32[]");
    assert_eq!(b.t(c4), "i64[]");
    assert_eq!(contents(&mut b, c1).as_deref(), Some("[4,-1]"));
    assert_eq!(contents(&mut b, c4).as_deref(), Some("[7]"));
}

#[test]
fn shape_arithmetic_feeds_reshape() {
    // The YOLO decode pattern: Shape -> Gather -> Add -> Div -> Mul -> Slice bounds.
    let mut b = B::new();
    let x = b.input("f32[N,4,525]");
    let shape = b.op("Shape", &[x], vec![]);
    let one = b.i64s(&[1]);
    let c = b.op("Gather", &[shape, one], vec![int("axis", 0)]);
    let half = {
        let plus = b.op("Add", &[c, one], vec![]);
        let two = b.i64s(&[2]);
        b.op("Div", &[plus, two], vec![])
    };
    let zero = b.i64s(&[0]);
    let sliced = b.op_in(
        "",
        "Slice",
        &[Some(x), Some(zero), Some(half), Some(one)],
        vec![],
        1,
    )[0];
    // Shape -> Gather(0) -> Concat with -1 -> Reshape keeps the batch symbol.
    let batch = b.op("Gather", &[shape, zero], vec![]);
    let minus_one = b.i64s(&[-1]);
    let target = b.op("Concat", &[batch, minus_one], vec![int("axis", 0)]);
    let flat = b.op("Reshape", &[x, target], vec![]);
    assert!(b.run().is_empty());
    assert_eq!(b.t(shape), "i64[3]");
    assert_eq!(b.t(sliced), "f32[N,2,525]");
    assert_eq!(b.t(flat), "f32[N,2100]");
    assert_eq!(contents(&mut b, shape).as_deref(), Some("[N,4,525]"));
    assert_eq!(contents(&mut b, half).as_deref(), Some("[2]"));
    assert_eq!(contents(&mut b, target).as_deref(), Some("[N,-1]"));
}

#[test]
fn shape_start_end_and_unknown_rank() {
    assert_eq!(
        ok1(
            "Shape",
            &["f32[1,2,3,4]"],
            vec![int("start", 1), int("end", -1)]
        ),
        "i64[2]"
    );
    assert_eq!(ok1("Shape", &["f32[1,2]"], vec![int("start", 5)]), "i64[0]");
    assert_eq!(ok1("Shape", &["f32"], vec![]), "i64[?]");
}

#[test]
fn equal_where_cast_unsqueeze_propagate_contents() {
    // Where(Equal(s, -1), 1, s): the "replace -1 by 1" idiom of exported Expand shapes.
    let mut b = B::new();
    let s = b.i64s(&[2, -1, 3]);
    let minus_one = b.scalar(-1);
    let ones = b.i64s(&[1, 1, 1]);
    let eq = b.op("Equal", &[s, minus_one], vec![]);
    let fixed = b.op("Where", &[eq, ones, s], vec![]);
    let cast = b.op(
        "Cast",
        &[fixed],
        vec![int("to", DType::I32.onnx_code().into())],
    );
    let n = b.scalar(5);
    let axes = b.i64s(&[0]);
    let u = b.op("Unsqueeze", &[n, axes], vec![]);
    let x = b.input("f32[1,3]");
    let e = b.op("Expand", &[x, fixed], vec![]);
    assert!(b.run().is_empty());
    assert_eq!(b.t(e), "f32[2,1,3]");
    assert_eq!(b.t(u), "i64[1]");
    assert_eq!(contents(&mut b, eq).as_deref(), Some("[0,1,0]"));
    assert_eq!(contents(&mut b, cast).as_deref(), Some("[2,1,3]"));
    assert_eq!(contents(&mut b, u).as_deref(), Some("[5]"));
}

#[test]
fn constant_of_shape_and_range() {
    let mut b = B::new();
    let x = b.input("f32[N,7]");
    let shape = b.op("Shape", &[x], vec![]);
    let zeros = b.op("ConstantOfShape", &[shape], vec![]);
    let value = proto::TensorProto {
        dims: vec![1],
        data_type: Some(DType::I64.onnx_code()),
        int64_data: vec![3],
        ..Default::default()
    };
    let three = b.i64s(&[3]);
    let filled = b.op("ConstantOfShape", &[three], vec![tensor("value", value)]);
    let (start, limit, delta) = (b.scalar(10), b.scalar(1), b.scalar(-4));
    let r = b.op("Range", &[start, limit, delta], vec![]);
    let fstart = b.init(DType::F32, &[], 0.5f32.to_le_bytes().to_vec());
    let flimit = b.init(DType::F32, &[], 2.0f32.to_le_bytes().to_vec());
    let fdelta = b.init(DType::F32, &[], 0.5f32.to_le_bytes().to_vec());
    let fr = b.op("Range", &[fstart, flimit, fdelta], vec![]);
    let dynamic = b.input("i64[]");
    let dr = b.op("Range", &[start, dynamic, delta], vec![]);
    let zero = b.i64s(&[0]);
    b.op("Range", &[start, limit, zero], vec![]);
    let issues = b.run();
    assert_eq!(b.t(zeros), "f32[N,7]");
    assert_eq!(b.t(filled), "i64[3]");
    assert_eq!(b.t(r), "i64[3]");
    assert_eq!(b.t(fr), "f32[3]");
    assert_eq!(b.t(dr), "i64[?]");
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].contains("scalar"));
    assert_eq!(contents(&mut b, filled).as_deref(), Some("[3,3,3]"));
    assert_eq!(contents(&mut b, r).as_deref(), Some("[10,6,2]"));
}

// ----- robustness ---------------------------------------------------------------------------

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    const OPS: &[&str] = &[
        "Conv",
        "ConvTranspose",
        "MaxPool",
        "AveragePool",
        "GlobalAveragePool",
        "MatMul",
        "Gemm",
        "Einsum",
        "Add",
        "Where",
        "Cast",
        "Softmax",
        "BatchNormalization",
        "Concat",
        "Split",
        "Slice",
        "Reshape",
        "Transpose",
        "Flatten",
        "Squeeze",
        "Unsqueeze",
        "Resize",
        "Pad",
        "Shape",
        "Gather",
        "ConstantOfShape",
        "Expand",
        "Range",
        "ReduceSum",
        "ArgMax",
        "TopK",
        "Tile",
        "DepthToSpace",
        "SpaceToDepth",
        "QuantizeLinear",
        "DequantizeLinear",
        "QLinearConv",
        "QLinearMatMul",
        "Constant",
    ];
    const NAMES: &[&str] = &[
        "axis",
        "axes",
        "perm",
        "strides",
        "pads",
        "dilations",
        "kernel_shape",
        "group",
        "blocksize",
        "split",
        "num_outputs",
        "keepdims",
        "to",
        "start",
        "end",
        "output_shape",
        "output_padding",
        "auto_pad",
        "ceil_mode",
        "allowzero",
        "equation",
        "value_ints",
        "k",
    ];

    fn value() -> impl Strategy<Value = i64> {
        prop_oneof![
            -3i64..70,
            Just(i64::MAX),
            Just(i64::MIN),
            Just(i64::MAX / 2 + 1)
        ]
    }

    fn attr() -> impl Strategy<Value = proto::AttributeProto> {
        let name = prop::sample::select(NAMES);
        (name, prop::collection::vec(value(), 0..6), 0u8..4).prop_map(
            |(name, v, kind)| match kind {
                0 => int(name, v.first().copied().unwrap_or(0)),
                1 => ints(name, &v),
                2 => float(name, v.first().copied().unwrap_or(0) as f32),
                _ => string(
                    name,
                    ["SAME_UPPER", "VALID", "ij,jk", "...i->", ""][v.len() % 5],
                ),
            },
        )
    }

    fn shape() -> impl Strategy<Value = Option<Vec<Dim>>> {
        let dim = prop_oneof![
            value().prop_map(Dim::Known),
            Just(Dim::Param("N".into())),
            Just(Dim::Unknown),
        ];
        prop::option::of(prop::collection::vec(dim, 0..6))
    }

    proptest! {
        #[test]
        fn on_arbitrary_attributes_shapes_and_contents(
            op in prop::sample::select(OPS),
            attrs in prop::collection::vec(attr(), 0..5),
            shapes in prop::collection::vec((shape(), 0u8..3), 1..5),
            contents in prop::collection::vec(value(), 0..6),
            opset in 9i64..24,
        ) {
            let mut b = B::new();
            b.opset = opset;
            let mut inputs = Vec::new();
            for (shape, kind) in shapes {
                let v = match kind {
                    0 => b.i64s(&contents),
                    _ => {
                        let dtype = if kind == 1 { DType::F32 } else { DType::I64 };
                        let v = b.input("f32");
                        b.g.value_mut(v).ty = Some(TensorType { dtype, shape });
                        v
                    }
                };
                inputs.push(Some(v));
            }
            let out = b.op_in("", op, &inputs, attrs, 2)[0];
            b.op("Reshape", &[out, inputs[0].unwrap()], vec![]);
            b.run();
        }
    }
}
