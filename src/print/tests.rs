//! Printer and parser together: the format on a model built from protobuf (so the real decoder's
//! captures, defaults and sparse tensors are what gets printed), round trips over every fixture,
//! the conveniences of hand-written text, and error positions.

use std::path::Path;

use bytes::Bytes;

use super::*;
use crate::ir::attrs::{self, attr_type};
use crate::ir::tensors::content_hash;
use crate::ir::{verify::verify, DType, NodeKind, ValueId};
use crate::proto::{self, attribute_proto::AttributeType};

fn vi(name: &str, dtype: DType, dims: &[i64]) -> proto::ValueInfoProto {
    let ty = crate::ir::TensorType::new(dtype, crate::ir::types::static_shape(dims));
    proto::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(ty.to_proto()),
        ..Default::default()
    }
}

fn node(
    op: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<proto::AttributeProto>,
) -> proto::NodeProto {
    proto::NodeProto {
        op_type: Some(op.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn f32_tensor(name: &str, dims: &[i64], values: &[f32]) -> proto::TensorProto {
    proto::TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(DType::F32.onnx_code()),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

/// A model with every rare part the text has a notation for.
fn odd_model() -> crate::ir::Model {
    let body = proto::GraphProto {
        name: Some("then_body".into()),
        node: vec![node("Add", &["a", "k"], &["t"], vec![])],
        output: vec![vi("t", DType::F32, &[1, 4])],
        ..Default::default()
    };
    let else_body = proto::GraphProto {
        name: Some("else_body".into()),
        node: vec![node("Identity", &["a"], &["e"], vec![])],
        output: vec![vi("e", DType::F32, &[1, 4])],
        ..Default::default()
    };
    let mut named_add = node("Add", &["x", "c"], &["a"], vec![]);
    named_add.name = Some("/model.0/Add".into());
    let mut gelu = node("FastGelu", &["a"], &["g"], vec![]);
    gelu.domain = Some("com.microsoft".into());
    gelu.name = Some(" padded name ".into());
    let custom = proto::NodeProto {
        domain: Some("my.domain".into()),
        ..node(
            "Custom",
            &["s0", "", "w_in", ""],
            &["u"],
            vec![
                attrs::string("text", "say \"hi\"\n"),
                attrs::strings("names", &[&b"a"[..], &b"\xff"[..]]),
                attrs::floats("empty", &[]),
                attrs::float("alpha", 1e-3),
                attrs::ints("perm", &[0, -1]),
            ],
        )
    };
    let graph = proto::GraphProto {
        name: Some("odd".into()),
        input: vec![
            vi("x", DType::F32, &[1, 4]),
            vi("w_in", DType::F32, &[2]),
            vi("flag", DType::Bool, &[]),
        ],
        initializer: vec![
            f32_tensor("w_in", &[2], &[0.5, -2.0]),
            f32_tensor("c", &[4], &[0.5, 1.0, 2.0, 3.0]),
            f32_tensor("big", &[3, 3], &[0.25; 9]),
        ],
        sparse_initializer: vec![proto::SparseTensorProto {
            values: Some(f32_tensor("sp", &[2], &[1.0, 2.0])),
            indices: Some(proto::TensorProto {
                dims: vec![2],
                data_type: Some(DType::I64.onnx_code()),
                int64_data: vec![0, 4],
                ..Default::default()
            }),
            dims: vec![3, 3],
        }],
        node: vec![
            named_add,
            gelu,
            node(
                "Constant",
                &[],
                &["k"],
                vec![attrs::tensor("value", f32_tensor("", &[1], &[0.0]))],
            ),
            node("Split", &["g"], &["s0", ""], vec![attrs::int("axis", 1)]),
            custom,
            node(
                "If",
                &["flag"],
                &["y"],
                vec![
                    proto::AttributeProto {
                        g: Some(body),
                        ..attrs::base("then_branch", AttributeType::Graph)
                    },
                    proto::AttributeProto {
                        g: Some(else_body),
                        ..attrs::base("else_branch", AttributeType::Graph)
                    },
                ],
            ),
        ],
        output: vec![vi("y", DType::F32, &[1, 4]), vi("u", DType::F32, &[1, 4])],
        ..Default::default()
    };
    let model = proto::ModelProto {
        ir_version: Some(3),
        graph: Some(graph),
        ..Default::default()
    };
    use prost::Message;
    crate::onnx::decode_bytes(Bytes::from(model.encode_to_vec())).unwrap()
}

#[test]
fn prints_every_notation() {
    let m = odd_model();
    let text = print_graph(&m.graph);
    // Hashes are the low 32 bits of xxh3 over the little-endian bytes (sparse: values, indices).
    let le = |xs: &[f32]| xs.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let big = content_hash(&le(&[0.25; 9])) as u32;
    let sparse = [
        le(&[1.0, 2.0]),
        [0i64, 4].iter().flat_map(|v| v.to_le_bytes()).collect(),
    ]
    .concat();
    let sparse = content_hash(&sparse) as u32;
    assert_eq!(
        text,
        r#"input %0 "x": f32[1,4]
input %1 "w_in": f32[2] default <f32[2] = [0.5, -2.0]>
input %2 "flag": bool[]
const %3: f32[4] = [0.5, 1.0, 2.0, 3.0]
const %4: f32[3,3] #BIG
sparse %5: f32[3,3] nnz=2 #SPARSE
%6 = Add(%0, %3)  # /model.0/Add
%7 = com.microsoft.FastGelu(%6)  # " padded name "
%8 = Constant() {value=<f32[1] = [0.0]>}
%9, _ = Split(%7) {axis=1}
%10: f32[1,4] = my.domain.Custom(%9, _, %1, _) {alpha=0.001, empty=floats[], names=["a","\xff"], perm=[0,-1], text="say \"hi\"\n"}
%11: f32[1,4] = If(%2) {else_branch=<graph "else_body": 1 node>, then_branch=<graph "then_body": 1 node>} captures(%6, %8)
output %11 "y"
output %10 "u"
"#
        .replace("BIG", &format!("{big:08x}"))
        .replace("SPARSE", &format!("{sparse:08x}"))
    );
}

/// `print(parse(print(g))) == print(g)`, and the parsed graph is valid.
fn assert_round_trip(g: &crate::ir::Graph) -> String {
    let text = print_graph(g);
    let parsed = parse_graph(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(verify(&parsed), Vec::<String>::new());
    assert_eq!(print_graph(&parsed), text);
    text
}

#[test]
fn odd_model_round_trips() {
    let text = assert_round_trip(&odd_model().graph);
    let g = parse_graph(&text).unwrap();
    // Signature names survive; the stand-in subgraph keeps name and size.
    let names: Vec<&str> = g
        .inputs()
        .iter()
        .map(|&n| g.node(n).outputs[0].name.as_str())
        .collect();
    assert_eq!(names, ["x", "w_in", "flag"]);
    let if_node = g.op_order().unwrap()[5];
    let then = g
        .node(if_node)
        .as_op()
        .unwrap()
        .attr("then_branch")
        .unwrap();
    assert_eq!(then.g.as_ref().unwrap().node.len(), 1);
    assert_eq!(then.g.as_ref().unwrap().node[0].op_type(), STAND_IN_OP);
    assert_eq!(g.captures_of(if_node).len(), 2);
}

#[test]
fn every_fixture_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let m = crate::onnx::load(&f).unwrap();
        let text = assert_round_trip(&m.graph);
        assert!(
            text.contains(" #"),
            "{}: a large constant is hashed",
            f.display()
        );
    }
}

#[test]
fn fixture_excerpt() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yolov8-femto-relu.qdq.onnx");
    let text = print_graph(&crate::onnx::load(&path).unwrap().graph);
    let lines: Vec<&str> = text.lines().collect();
    let conv = lines.iter().position(|l| l.contains("= Conv(")).unwrap();
    let split = lines.iter().position(|l| l.contains("= Split(")).unwrap();
    let excerpt = [
        &lines[..4],
        &["..."],
        &lines[conv - 4..conv + 3],
        &["..."],
        &lines[split - 1..split + 2],
        &["..."],
        &lines[lines.len() - 3..],
    ]
    .concat()
    .join("\n");
    crate::assert_snapshot_file!("yolov8_relu_qdq_excerpt", excerpt);
}

const HAND_WRITTEN: &str = r#"# run: anything (comment lines are ignored)
input %images "images": f32[1,3,8,8]
const %w: f32[4,3,3,3] = random(7)
const %b: f32[4] = zeros
const %s: i8[2,2] = ones

%conv = Conv(%images, %w, %b) {kernel_shape=[3,3], pads=[1,1,1,1]}  # conv1
%act: f32 = LeakyRelu(%conv) {alpha=0.1}
output %act "out"
"#;

#[test]
fn hand_written_text_parses() {
    let g = parse_graph(HAND_WRITTEN).unwrap();
    assert!(verify(&g).is_empty());
    assert_eq!(
        print_graph(&g),
        r#"input %0 "images": f32[1,3,8,8]
const %1: f32[4,3,3,3] #b8faef35
const %2: f32[4] = [0.0, 0.0, 0.0, 0.0]
const %3: i8[2,2] = [1, 1, 1, 1]
%4 = Conv(%0, %1, %2) {kernel_shape=[3,3], pads=[1,1,1,1]}  # conv1
%5: f32 = LeakyRelu(%4) {alpha=0.1}
output %5 "out"
"#
    );
    // Intermediate values are named after their `%name`; outputs after their quoted name.
    let order = g.op_order().unwrap();
    assert_eq!(g.node(order[0]).outputs[0].name, "conv");
    assert_eq!(g.node(order[0]).as_op().unwrap().name(), "conv1");
    assert_eq!(g.node(order[1]).outputs[0].name, "out");
    let w = g.initializers()[0];
    match &g.node(w).kind {
        NodeKind::Initializer(init) => assert_eq!(init.shell.name(), "w"),
        _ => panic!("not an initializer"),
    }
}

#[test]
fn random_constants_are_deterministic() {
    let a = print_graph(&parse_graph(HAND_WRITTEN).unwrap());
    let b = print_graph(&parse_graph(HAND_WRITTEN).unwrap());
    assert_eq!(a, b);
    let other = print_graph(&parse_graph(&HAND_WRITTEN.replace("random(7)", "random(8)")).unwrap());
    assert_ne!(a, other);
}

#[test]
fn attribute_literals_pick_the_attribute_type() {
    let g = parse_graph(
        r#"%y = Op() {i=1, f=1.0, e=1e-3, n=-inf, s="s", is=[1,2], fs=[1.0,2], ss=["a"], t=<f32[1] = [0.0]>, none=[], ef=floats[], u=<undefined>, ty=<type f32[1,?]>, gs=[<graph "g": 0 nodes>]}"#,
    )
    .unwrap();
    let op = g.node(g.op_order().unwrap()[0]).as_op().unwrap();
    let kind = |n: &str| attr_type(op.attr(n).unwrap());
    assert_eq!(kind("i"), AttributeType::Int);
    assert_eq!(kind("f"), AttributeType::Float);
    assert_eq!(op.attr_float("e"), Ok(Some(1e-3)));
    assert_eq!(op.attr_float("n"), Ok(Some(f32::NEG_INFINITY)));
    assert_eq!(op.attr_str("s"), Ok(Some("s")));
    assert_eq!(op.attr_ints("is"), Ok(Some(&[1, 2][..])));
    assert_eq!(op.attr_floats("fs"), Ok(Some(&[1.0, 2.0][..])));
    assert_eq!(kind("ss"), AttributeType::Strings);
    assert_eq!(op.attr_tensor("t").unwrap().unwrap().dims, vec![1]);
    assert_eq!(kind("none"), AttributeType::Ints);
    assert_eq!(kind("ef"), AttributeType::Floats);
    assert_eq!(kind("u"), AttributeType::Undefined);
    assert_eq!(kind("ty"), AttributeType::TypeProto);
    assert_eq!(kind("gs"), AttributeType::Graphs);
    assert_round_trip(&g);
}

#[test]
fn a_hashed_constant_keeps_its_hash_and_equal_hashes_give_equal_data() {
    let g = parse_graph(
        "const %a: i8[16,3,3,3] #3f9a1c2e\nconst %b: i8[16,3,3,3] #3f9a1c2e\n%y = Add(%a, %b)\noutput %y \"y\"\n",
    )
    .unwrap();
    let text = print_graph(&g);
    assert!(text.contains("const %0: i8[16,3,3,3] #3f9a1c2e\nconst %1: i8[16,3,3,3] #3f9a1c2e\n"));
    let bytes = |i: usize| match &g.node(g.initializers()[i]).kind {
        NodeKind::Initializer(init) => init.le_bytes(&g.pool).unwrap(),
        _ => panic!(),
    };
    assert_eq!(bytes(0), bytes(1));
    assert_eq!(bytes(0).len(), 16 * 27);
}

#[test]
fn missing_optional_inputs_and_unnamed_outputs() {
    let text =
        "input %x \"x\": f32[4]\n%a, _, %c = Op(%x, _, _)\n() = Sink(%a, %c)\noutput %a \"a\"\n";
    let g = parse_graph(text).unwrap();
    let op = g.op_order().unwrap()[0];
    assert_eq!(g.node(op).as_op().unwrap().arity, 3);
    assert_eq!(
        g.inputs_of(op),
        vec![
            Some(ValueId {
                node: g.inputs()[0],
                slot: 0
            }),
            None,
            None
        ]
    );
    assert_eq!(g.node(op).outputs[1].name, "");
    assert_eq!(
        print_graph(&g),
        "input %0 \"x\": f32[4]\n%1, _, %2 = Op(%0, _, _)\n() = Sink(%1, %2)\noutput %1 \"a\"\n"
    );
}

#[test]
fn names_that_are_not_words_are_quoted() {
    let text = "input %0 \"in put\": f32[\"batch size\",N]\n%1 = \"my dom\".\"Odd Op\"(%0) {\"attr name\"=1}  # \"#tricky\"\noutput %1 \"out\"\n";
    let g = parse_graph(text).unwrap();
    let op = g.node(g.op_order().unwrap()[0]).as_op().unwrap();
    assert_eq!(
        (op.domain(), op.op_type(), op.name()),
        ("my dom", "Odd Op", "#tricky")
    );
    assert_eq!(print_graph(&g), text.replace("\"#tricky\"", "#tricky"));
}

#[test]
fn intermediate_names_never_collide_with_the_signature() {
    let g = parse_graph("input %0 \"1\": f32[1]\n%1 = Relu(%0)\n%2 = Relu(%1)\noutput %2 \"2\"\n")
        .unwrap();
    let order = g.op_order().unwrap();
    assert_eq!(g.node(order[0]).outputs[0].name, "1_1");
    assert_eq!(g.node(order[1]).outputs[0].name, "2");
    assert!(verify(&g).is_empty());
}

fn error(text: &str) -> String {
    parse_graph(text).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn errors_say_where_and_what_was_expected() {
    assert_eq!(
        error("input %0 images"),
        "1:10: expected a quoted string, found 'images'"
    );
    assert_eq!(
        error("\n%1 = Relu(%0)"),
        "2:11: %0 is not defined (values must be defined before use)"
    );
    assert_eq!(
        error("%1 = Relu(\n"),
        "1:11: expected an input value or '_', found end of line"
    );
    assert_eq!(
        error("const %1: f32[2] = [1.0]"),
        "1:18: f32[2] has 2 elements, the list has 1"
    );
    assert_eq!(
        error("const %1: u8[2] = [1, 256]"),
        "1:23: 256 is out of range for u8"
    );
    assert_eq!(
        error("const %1: f32[N] = zeros"),
        "1:11: a constant's shape must be given, with known sizes"
    );
    assert_eq!(
        error("const %1: f33[1] = zeros"),
        "1:11: expected a type such as f32[1,3], found 'f33'"
    );
    assert_eq!(
        error("const %1: f32[1] #12"),
        "1:18: expected a hash of 8 hex digits such as #3f9a1c2e, found '#12'"
    );
    assert_eq!(
        error("input %a \"a\"\ninput %a \"b\""),
        "2:7: %a is already defined on line 1"
    );
    assert_eq!(
        error("%y = Op() {a=1, a=2}"),
        "1:17: attribute 'a' is given twice"
    );
    assert_eq!(
        error("%y = Op() {a=[1, \"s\"]}"),
        "1:18: this list is INTS: every element must be one"
    );
    assert_eq!(
        error("%y = Op() extra"),
        "1:11: expected the end of the line, found 'extra'"
    );
    assert_eq!(
        error("%y = Op() {s=\"\\q\"}"),
        "1:15: unknown escape: expected \\\" \\\\ \\n \\r \\t or \\xNN"
    );
    assert_eq!(
        error("input %x \"x\"\noutput %x \"y\""),
        "2:11: this value is graph input \"x\"; as a graph output it must keep that name"
    );
}

#[test]
fn numbered_print_keeps_survivors_numbers_and_never_reuses_a_removed_nodes() {
    let mut g = parse_graph(
        "input %x \"x\": f32[4]\n%a = Relu(%x)  # a\n%b = Neg(%a)  # b\n%c = Abs(%b)  # c\noutput %c \"y\"\n",
    )
    .unwrap();
    let numbering = Numbering::of(&g);
    let ops = g.op_order().unwrap();
    let (a, b, c) = (ops[0], ops[1], ops[2]);
    let value = |node| ValueId { node, slot: 0 };
    g.set_input(c, 0, Some(value(a)));
    g.remove_node(b);
    assert_eq!(
        print_graph_numbered(&g, &numbering),
        "input %0 \"x\": f32[4]\n%1 = Relu(%0)  # a\n%3 = Abs(%1)  # c\noutput %3 \"y\"\n"
    );
    // A new node may get the removed node's id; it still gets a new number.
    let new = g.add_op(
        crate::ir::OpNode::new(
            proto::NodeProto {
                op_type: Some("Sigmoid".into()),
                ..Default::default()
            },
            1,
        ),
        &[Some(value(a))],
        vec![crate::ir::Value::new("s")],
    );
    assert_eq!(
        new, b,
        "the case this test is about: the freed id is reused"
    );
    g.set_input(c, 0, Some(value(new)));
    assert_eq!(
        print_graph_numbered(&g, &numbering),
        "input %0 \"x\": f32[4]\n%1 = Relu(%0)  # a\n%4 = Sigmoid(%1)\n%3 = Abs(%4)  # c\noutput %3 \"y\"\n"
    );
}

#[test]
fn a_cyclic_graph_still_prints_and_says_so() {
    let mut g =
        parse_graph("input %x \"x\"\n%a = Add(%x, _)  # a\n%b = Relu(%a)  # b\noutput %b \"y\"\n")
            .unwrap();
    let ops = g.op_order().unwrap();
    g.set_input(
        ops[0],
        1,
        Some(ValueId {
            node: ops[1],
            slot: 0,
        }),
    );
    assert_eq!(
        print_graph(&g),
        "# error: the graph has a cycle through node 'a'; ops in creation order\n\
         input %0 \"x\"\n%1 = Add(%0, %2)  # a\n%2 = Relu(%1)  # b\noutput %2 \"y\"\n"
    );
}
