//! A proptest strategy for random well-formed graphs: chains, diamonds (values used twice),
//! multi-output Split, Concat, Identity chains, dead branches, duplicate weights, float convs and
//! QDQ-quantized convs with valid quantization parameters, on small random shapes.
//!
//! Graphs are built as ONNX `ModelProto`s (what a real exporter would hand us) and decoded with the
//! crate's own decoder, so the generator exercises the import path too.

use bytes::Bytes;
use npuopt::proto;
use proptest::prelude::*;
use prost::Message;

/// One construction step; each reads earlier values by (wrapped) index.
#[derive(Clone, Debug)]
pub enum Step {
    Relu(usize),
    Sigmoid(usize),
    Add(usize, usize),
    Identity(usize),
    /// Split along channels into two halves (needs an even channel count, else it is a Relu).
    Split(usize),
    Concat(usize, usize),
    /// Conv 1x1 or 3x3 (pad 1) to `out` channels, with weights drawn from `seed`.
    Conv {
        src: usize,
        out: u8,
        k3: bool,
        seed: u8,
    },
    /// Quantize → Dequantize → Conv → Quantize → Dequantize, uint8 activations, int8 per-channel weights.
    QdqConv {
        src: usize,
        out: u8,
        seed: u8,
    },
    /// An Add with a constant whose bytes duplicate an earlier constant.
    AddDuplicateConst(usize),
    /// A branch nobody uses.
    Dead(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let i = 0usize..64;
    prop_oneof![
        i.clone().prop_map(Step::Relu),
        i.clone().prop_map(Step::Sigmoid),
        (i.clone(), i.clone()).prop_map(|(a, b)| Step::Add(a, b)),
        i.clone().prop_map(Step::Identity),
        i.clone().prop_map(Step::Split),
        (i.clone(), i.clone()).prop_map(|(a, b)| Step::Concat(a, b)),
        (i.clone(), 1u8..5, any::<bool>(), any::<u8>())
            .prop_map(|(src, out, k3, seed)| Step::Conv { src, out, k3, seed }),
        (i.clone(), 1u8..5, any::<u8>()).prop_map(|(src, out, seed)| Step::QdqConv {
            src,
            out,
            seed
        }),
        i.clone().prop_map(Step::AddDuplicateConst),
        i.prop_map(Step::Dead),
    ]
}

/// A random model: input channels, spatial size, steps, how many values become outputs.
pub fn model() -> impl Strategy<Value = Vec<u8>> {
    (
        1u8..4,
        2u8..6,
        prop::collection::vec(step(), 1..24),
        1usize..3,
    )
        .prop_map(|(c, hw, steps, outputs)| build(c as i64, hw as i64, &steps, outputs))
}

struct Builder {
    nodes: Vec<proto::NodeProto>,
    inits: Vec<proto::TensorProto>,
    /// Live values: name and channel count (all are f32[1, C, H, W]).
    values: Vec<(String, i64)>,
    counter: usize,
}

impl Builder {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn pick(&self, i: usize) -> (String, i64) {
        self.values[i % self.values.len()].clone()
    }

    fn node(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        outputs: Vec<String>,
        attrs: Vec<proto::AttributeProto>,
    ) {
        let name = self.fresh(&format!("{op}_"));
        self.nodes.push(proto::NodeProto {
            op_type: Some(op.into()),
            name: Some(name),
            input: inputs,
            output: outputs,
            attribute: attrs,
            ..Default::default()
        });
    }

    fn init(&mut self, dtype: i32, dims: Vec<i64>, raw: Vec<u8>) -> String {
        let name = self.fresh("w");
        self.inits.push(proto::TensorProto {
            name: Some(name.clone()),
            dims,
            data_type: Some(dtype),
            raw_data: Some(Bytes::from(raw)),
            ..Default::default()
        });
        name
    }

    fn unary(&mut self, op: &str, src: usize) -> String {
        let (x, c) = self.pick(src);
        let y = self.fresh("v");
        self.node(op, vec![x], vec![y.clone()], vec![]);
        self.values.push((y.clone(), c));
        y
    }
}

fn attr_ints(name: &str, v: &[i64]) -> proto::AttributeProto {
    proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn attr_int(name: &str, v: i64) -> proto::AttributeProto {
    proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

/// Deterministic small weights from a seed.
fn weights(seed: u8, n: usize) -> Vec<f32> {
    let mut s = (seed as u32).wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1103515245).wrapping_add(12345);
            ((s >> 16) % 200) as f32 / 100.0 - 1.0
        })
        .collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn conv_attrs(k3: bool) -> Vec<proto::AttributeProto> {
    let k = if k3 { 3 } else { 1 };
    let p = if k3 { 1 } else { 0 };
    vec![
        attr_ints("kernel_shape", &[k, k]),
        attr_ints("pads", &[p, p, p, p]),
        attr_ints("strides", &[1, 1]),
    ]
}

/// Builds the model for a list of steps.
pub fn build(c: i64, hw: i64, steps: &[Step], outputs: usize) -> Vec<u8> {
    let mut b = Builder {
        nodes: vec![],
        inits: vec![],
        values: vec![("x".into(), c)],
        counter: 0,
    };
    let mut dup_src: Option<(i64, Vec<u8>)> = None;
    for s in steps {
        match s {
            Step::Relu(i) => {
                b.unary("Relu", *i);
            }
            Step::Sigmoid(i) => {
                b.unary("Sigmoid", *i);
            }
            Step::Identity(i) => {
                b.unary("Identity", *i);
            }
            Step::Dead(i) => {
                let (x, _) = b.pick(*i);
                let y = b.fresh("dead");
                b.node("Neg", vec![x], vec![y], vec![]);
            }
            Step::Add(i, j) => {
                let (x, cx) = b.pick(*i);
                let (y, cy) = b.pick(*j);
                let y = if cx == cy { y } else { x.clone() };
                let out = b.fresh("v");
                b.node("Add", vec![x, y], vec![out.clone()], vec![]);
                b.values.push((out, cx));
            }
            Step::Split(i) => {
                let (x, c) = b.pick(*i);
                if c % 2 != 0 {
                    b.unary("Relu", *i);
                    continue;
                }
                let (o1, o2) = (b.fresh("v"), b.fresh("v"));
                b.node(
                    "Split",
                    vec![x],
                    vec![o1.clone(), o2.clone()],
                    vec![attr_int("axis", 1)],
                );
                b.values.push((o1, c / 2));
                b.values.push((o2, c / 2));
            }
            Step::Concat(i, j) => {
                let (x, cx) = b.pick(*i);
                let (y, cy) = b.pick(*j);
                let out = b.fresh("v");
                b.node(
                    "Concat",
                    vec![x, y],
                    vec![out.clone()],
                    vec![attr_int("axis", 1)],
                );
                b.values.push((out, cx + cy));
            }
            Step::Conv { src, out, k3, seed } => {
                let (x, c) = b.pick(*src);
                let o = *out as i64;
                let k = if *k3 { 3 } else { 1 };
                let w = b.init(
                    1,
                    vec![o, c, k, k],
                    f32_bytes(&weights(*seed, (o * c * k * k) as usize)),
                );
                let bias = b.init(
                    1,
                    vec![o],
                    f32_bytes(&weights(seed.wrapping_add(1), o as usize)),
                );
                let y = b.fresh("v");
                b.node("Conv", vec![x, w, bias], vec![y.clone()], conv_attrs(*k3));
                b.values.push((y, o));
            }
            Step::QdqConv { src, out, seed } => {
                let (x, c) = b.pick(*src);
                let o = *out as i64;
                let s_act = b.init(1, vec![], f32_bytes(&[0.02]));
                let zp_act = b.init(2, vec![], vec![128]);
                let q = b.fresh("v");
                b.node(
                    "QuantizeLinear",
                    vec![x, s_act.clone(), zp_act.clone()],
                    vec![q.clone()],
                    vec![],
                );
                let dq = b.fresh("v");
                b.node(
                    "DequantizeLinear",
                    vec![q, s_act.clone(), zp_act.clone()],
                    vec![dq.clone()],
                    vec![],
                );
                let wq: Vec<u8> = weights(*seed, (o * c) as usize)
                    .iter()
                    .map(|w| (w * 100.0) as i8 as u8)
                    .collect();
                let w = b.init(3, vec![o, c, 1, 1], wq);
                let ws = b.init(1, vec![o], f32_bytes(&vec![0.01; o as usize]));
                let wzp = b.init(3, vec![o], vec![0; o as usize]);
                let wdq = b.fresh("v");
                b.node(
                    "DequantizeLinear",
                    vec![w, ws, wzp],
                    vec![wdq.clone()],
                    vec![attr_int("axis", 0)],
                );
                let y = b.fresh("v");
                b.node("Conv", vec![dq, wdq], vec![y.clone()], conv_attrs(false));
                let yq = b.fresh("v");
                b.node(
                    "QuantizeLinear",
                    vec![y, s_act.clone(), zp_act.clone()],
                    vec![yq.clone()],
                    vec![],
                );
                let ydq = b.fresh("v");
                b.node(
                    "DequantizeLinear",
                    vec![yq, s_act, zp_act],
                    vec![ydq.clone()],
                    vec![],
                );
                b.values.push((ydq, o));
            }
            Step::AddDuplicateConst(i) => {
                let (x, c) = b.pick(*i);
                let raw = match &dup_src {
                    Some((dc, raw)) if *dc == c => raw.clone(),
                    _ => {
                        let raw = f32_bytes(&weights(c as u8, c as usize));
                        dup_src = Some((c, raw.clone()));
                        raw
                    }
                };
                let k = b.init(1, vec![1, c, 1, 1], raw);
                let y = b.fresh("v");
                b.node("Add", vec![x, k], vec![y.clone()], vec![]);
                b.values.push((y, c));
            }
        }
    }
    let n = b.values.len();
    let outs: Vec<String> = (0..outputs.min(n))
        .map(|k| b.values[n - 1 - k].0.clone())
        .collect();
    let info = |name: &str| proto::ValueInfoProto {
        name: Some(name.into()),
        ..Default::default()
    };
    let input = proto::ValueInfoProto {
        name: Some("x".into()),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(
                proto::type_proto::Tensor {
                    elem_type: Some(1),
                    shape: Some(proto::TensorShapeProto {
                        dim: [1, c, hw, hw]
                            .iter()
                            .map(|&d| proto::tensor_shape_proto::Dimension {
                                value: Some(proto::tensor_shape_proto::dimension::Value::DimValue(
                                    d,
                                )),
                                denotation: None,
                            })
                            .collect(),
                    }),
                },
            )),
            denotation: None,
        }),
        ..Default::default()
    };
    let mut outputs: Vec<proto::ValueInfoProto> = outs.iter().map(|o| info(o)).collect();
    outputs.dedup_by(|a, b| a.name == b.name);
    proto::ModelProto {
        ir_version: Some(8),
        opset_import: vec![proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(proto::GraphProto {
            name: Some("generated".into()),
            node: b.nodes,
            initializer: b.inits,
            input: vec![input],
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}
