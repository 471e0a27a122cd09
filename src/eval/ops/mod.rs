//! Kernels, one file per op family, and the one table that maps (domain, op type) to them.
//!
//! A kernel is a plain function from a [`Ctx`] (the node's attributes, its input tensors and its
//! opset) to the node's output tensors. Kernels validate what they read and fail with a
//! [`Fail`] naming the input or attribute; the interpreter adds the node's name.

mod broadcast;
mod conv;
mod detection;
mod elementwise;
mod index;
mod matmul;
mod misc;
mod ms_quant;
mod norm;
mod pool;
mod quant;
mod reduce;
mod resize;
mod shape;

use super::error::Fail;
use super::tensor::Tensor;
use crate::ir::{op, OpNode};

/// A kernel: the node's outputs from its context.
pub(super) type Kernel = fn(&Ctx) -> Result<Vec<Tensor>, Fail>;

/// Every op the evaluator runs: (domain, op type, kernel), alphabetical within a domain.
const KERNELS: &[(&str, &str, Kernel)] = &[
    ("", "Abs", elementwise::abs),
    ("", "Acos", elementwise::acos),
    ("", "Acosh", elementwise::acosh),
    ("", "Add", elementwise::add),
    ("", "And", elementwise::and),
    ("", "ArgMax", reduce::arg_max),
    ("", "ArgMin", reduce::arg_min),
    ("", "Asin", elementwise::asin),
    ("", "Asinh", elementwise::asinh),
    ("", "Atan", elementwise::atan),
    ("", "Atanh", elementwise::atanh),
    ("", "AveragePool", pool::average_pool),
    ("", "BatchNormalization", norm::batch_normalization),
    ("", "BitShift", elementwise::bit_shift),
    ("", "BitwiseAnd", elementwise::bitwise_and),
    ("", "BitwiseNot", elementwise::bitwise_not),
    ("", "BitwiseOr", elementwise::bitwise_or),
    ("", "BitwiseXor", elementwise::bitwise_xor),
    ("", "Cast", misc::cast_kernel),
    ("", "CastLike", misc::cast_like),
    ("", "Ceil", elementwise::ceil),
    ("", "Celu", elementwise::celu),
    ("", "Clip", elementwise::clip),
    ("", "Concat", shape::concat),
    ("", "Constant", misc::constant),
    ("", "ConstantOfShape", misc::constant_of_shape),
    ("", "Conv", conv::conv),
    ("", "ConvInteger", quant::conv_integer),
    ("", "ConvTranspose", conv::conv_transpose),
    ("", "Cos", elementwise::cos),
    ("", "Cosh", elementwise::cosh),
    ("", "CumSum", reduce::cum_sum),
    ("", "DepthToSpace", shape::depth_to_space),
    ("", "DequantizeLinear", quant::dequantize_linear),
    ("", "Div", elementwise::div),
    ("", "Dropout", misc::dropout),
    ("", "DynamicQuantizeLinear", quant::dynamic_quantize_linear),
    ("", "Einsum", matmul::einsum),
    ("", "Elu", elementwise::elu),
    ("", "Equal", elementwise::equal),
    ("", "Erf", elementwise::erf),
    ("", "Exp", elementwise::exp),
    ("", "Expand", shape::expand),
    ("", "EyeLike", misc::eye_like),
    ("", "Flatten", shape::flatten),
    ("", "Floor", elementwise::floor),
    ("", "Gather", index::gather),
    ("", "GatherElements", index::gather_elements),
    ("", "GatherND", index::gather_nd),
    ("", "Gelu", elementwise::gelu),
    ("", "Gemm", matmul::gemm),
    ("", "GlobalAveragePool", pool::global_average_pool),
    ("", "GlobalMaxPool", pool::global_max_pool),
    ("", "Greater", elementwise::greater),
    ("", "GreaterOrEqual", elementwise::greater_or_equal),
    ("", "HardSigmoid", elementwise::hard_sigmoid),
    ("", "HardSwish", elementwise::hard_swish),
    ("", "Hardmax", reduce::hardmax),
    ("", "Identity", shape::identity),
    ("", "InstanceNormalization", norm::instance_normalization),
    ("", "IsInf", elementwise::is_inf),
    ("", "IsNaN", elementwise::is_nan),
    ("", "LayerNormalization", norm::layer_normalization),
    ("", "LeakyRelu", elementwise::leaky_relu),
    ("", "Less", elementwise::less),
    ("", "LessOrEqual", elementwise::less_or_equal),
    ("", "Log", elementwise::log),
    ("", "LogSoftmax", reduce::log_softmax),
    ("", "LpNormalization", norm::lp_normalization),
    ("", "MatMul", matmul::matmul),
    ("", "MatMulInteger", quant::matmul_integer),
    ("", "Max", elementwise::max),
    ("", "MaxPool", pool::max_pool),
    ("", "Mean", elementwise::mean),
    ("", "Min", elementwise::min),
    ("", "Mish", elementwise::mish),
    ("", "Mod", elementwise::modulo),
    ("", "Mul", elementwise::mul),
    ("", "Neg", elementwise::neg),
    ("", "NonMaxSuppression", detection::non_max_suppression),
    ("", "Not", elementwise::not),
    ("", "OneHot", index::one_hot),
    ("", "Or", elementwise::or),
    ("", "PRelu", elementwise::prelu),
    ("", "Pad", shape::pad),
    ("", "Pow", elementwise::pow),
    ("", "QLinearConv", quant::qlinear_conv),
    ("", "QLinearMatMul", quant::qlinear_matmul),
    ("", "QuantizeLinear", quant::quantize_linear),
    ("", "Range", misc::range),
    ("", "Reciprocal", elementwise::reciprocal),
    ("", "ReduceL1", reduce::reduce_l1),
    ("", "ReduceL2", reduce::reduce_l2),
    ("", "ReduceLogSum", reduce::reduce_log_sum),
    ("", "ReduceLogSumExp", reduce::reduce_log_sum_exp),
    ("", "ReduceMax", reduce::reduce_max),
    ("", "ReduceMean", reduce::reduce_mean),
    ("", "ReduceMin", reduce::reduce_min),
    ("", "ReduceProd", reduce::reduce_prod),
    ("", "ReduceSum", reduce::reduce_sum),
    ("", "ReduceSumSquare", reduce::reduce_sum_square),
    ("", "Relu", elementwise::relu),
    ("", "Reshape", shape::reshape),
    ("", "Resize", resize::resize),
    ("", "Round", elementwise::round),
    ("", "ScatterElements", index::scatter_elements),
    ("", "ScatterND", index::scatter_nd),
    ("", "Selu", elementwise::selu),
    ("", "Shape", shape::shape),
    ("", "Shrink", elementwise::shrink),
    ("", "Sigmoid", elementwise::sigmoid),
    ("", "Sign", elementwise::sign),
    ("", "Sin", elementwise::sin),
    ("", "Sinh", elementwise::sinh),
    ("", "Size", shape::size),
    ("", "Slice", shape::slice),
    ("", "Softmax", reduce::softmax),
    ("", "Softplus", elementwise::softplus),
    ("", "Softsign", elementwise::softsign),
    ("", "SpaceToDepth", shape::space_to_depth),
    ("", "Split", shape::split),
    ("", "Sqrt", elementwise::sqrt),
    ("", "Squeeze", shape::squeeze),
    ("", "Sub", elementwise::sub),
    ("", "Sum", elementwise::sum),
    ("", "Swish", elementwise::swish),
    ("", "Tan", elementwise::tan),
    ("", "Tanh", elementwise::tanh),
    ("", "ThresholdedRelu", elementwise::thresholded_relu),
    ("", "Tile", shape::tile),
    ("", "TopK", reduce::top_k),
    ("", "Transpose", shape::transpose),
    ("", "Trilu", shape::trilu),
    ("", "Unsqueeze", shape::unsqueeze),
    ("", "Where", elementwise::where_),
    ("", "Xor", elementwise::xor),
    (op::MS_DOMAIN, "QLinearAdd", ms_quant::qlinear_add),
    (
        op::MS_DOMAIN,
        "QLinearAveragePool",
        ms_quant::qlinear_average_pool,
    ),
    (op::MS_DOMAIN, "QLinearConcat", ms_quant::qlinear_concat),
    (
        op::MS_DOMAIN,
        "QLinearGlobalAveragePool",
        ms_quant::qlinear_global_average_pool,
    ),
    (
        op::MS_DOMAIN,
        "QLinearLeakyRelu",
        ms_quant::qlinear_leaky_relu,
    ),
    (op::MS_DOMAIN, "QLinearMul", ms_quant::qlinear_mul),
    (op::MS_DOMAIN, "QLinearSigmoid", ms_quant::qlinear_sigmoid),
    (op::MS_DOMAIN, "QLinearSoftmax", ms_quant::qlinear_softmax),
];

fn kernel(domain: &str, op_type: &str) -> Option<Kernel> {
    let domain = if op::is_onnx_domain(domain) {
        ""
    } else {
        domain
    };
    KERNELS
        .iter()
        .find(|(d, o, _)| *d == domain && *o == op_type)
        .map(|(_, _, k)| *k)
}

/// Does the evaluator implement this op? (Support for every attribute value and element type
/// is not implied: those are refused at run time with [`ErrorKind::Unsupported`](super::ErrorKind).)
pub fn supports(domain: &str, op_type: &str) -> bool {
    kernel(domain, op_type).is_some()
}

/// Runs one node. `outputs` is the number of outputs the node declares.
pub(super) fn run_node(
    node: &OpNode,
    inputs: &[Option<&Tensor>],
    opset: i64,
    outputs: usize,
) -> Result<Vec<Tensor>, Fail> {
    let Some(k) = kernel(node.domain(), node.op_type()) else {
        return Err(Fail::unsupported(format!(
            "op '{}' (domain '{}') is not supported by the evaluator",
            node.op_type(),
            node.domain()
        )));
    };
    k(&Ctx {
        node,
        inputs,
        opset,
        outputs,
    })
}

/// What a kernel sees of its node.
pub(super) struct Ctx<'a> {
    pub node: &'a OpNode,
    inputs: &'a [Option<&'a Tensor>],
    /// The opset version of the node's domain.
    pub opset: i64,
    /// How many outputs the node declares (kernels skip optional outputs nobody asked for).
    pub outputs: usize,
}

impl<'a> Ctx<'a> {
    /// A required input.
    pub fn input(&self, i: usize) -> Result<&'a Tensor, Fail> {
        self.opt(i)
            .ok_or_else(|| Fail::invalid(format!("input {i} is required but missing")))
    }

    /// An optional input (missing, or beyond the node's inputs).
    pub fn opt(&self, i: usize) -> Option<&'a Tensor> {
        self.inputs.get(i).copied().flatten()
    }

    /// Number of input slots, missing optional ones included.
    pub fn arity(&self) -> usize {
        self.inputs.len()
    }

    /// Every input, for variadic ops; all must be present.
    pub fn all_inputs(&self) -> Result<Vec<&'a Tensor>, Fail> {
        (0..self.arity()).map(|i| self.input(i)).collect()
    }

    pub fn int(&self, name: &str, default: i64) -> Result<i64, Fail> {
        Ok(self.node.attr_int(name)?.unwrap_or(default))
    }

    pub fn float(&self, name: &str, default: f32) -> Result<f32, Fail> {
        Ok(self.node.attr_float(name)?.unwrap_or(default))
    }

    pub fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, Fail> {
        Ok(self.node.attr_ints(name)?)
    }

    pub fn string(&self, name: &str, default: &str) -> Result<String, Fail> {
        Ok(self.node.attr_str(name)?.unwrap_or(default).to_string())
    }

    /// An integer attribute that must be one of `allowed` (a flag, a mode).
    pub fn choice(&self, name: &str, default: i64, allowed: &[i64]) -> Result<i64, Fail> {
        let v = self.int(name, default)?;
        if !allowed.contains(&v) {
            return Err(Fail::invalid(format!(
                "attribute '{name}' is {v}, must be one of {allowed:?}"
            )));
        }
        Ok(v)
    }

    /// Integer values from an attribute (older opsets) or else an input (newer ones).
    pub fn ints_from(&self, attr: &str, input: usize) -> Result<Option<Vec<i64>>, Fail> {
        if let Some(v) = self.ints(attr)? {
            return Ok(Some(v.to_vec()));
        }
        self.opt(input)
            .map(|t| t.to_i64s(&format!("input {input} ('{attr}')")))
            .transpose()
    }
}

/// Resolves a possibly negative axis against `rank`.
pub(super) fn axis(a: i64, rank: usize) -> Result<usize, Fail> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(Fail::invalid(format!(
            "axis {a} is out of range for rank {rank}"
        )));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

/// Resolves a list of axes; duplicates are an error.
pub(super) fn axes(list: &[i64], rank: usize) -> Result<Vec<usize>, Fail> {
    let mut out = Vec::with_capacity(list.len());
    for &a in list {
        let a = axis(a, rank)?;
        if out.contains(&a) {
            return Err(Fail::invalid(format!(
                "axis {a} is listed twice in {list:?}"
            )));
        }
        out.push(a);
    }
    Ok(out)
}

/// Row-major strides of a shape.
pub(super) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// A non-negative dimension from an i64 (shape inputs, attributes).
pub(super) fn dim(d: i64, what: &str) -> Result<usize, Fail> {
    usize::try_from(d).map_err(|_| Fail::invalid(format!("{what} has a negative value {d}")))
}

/// Runs one op on tensors, for the kernels' unit tests.
#[cfg(test)]
pub(super) fn run_op(
    domain: &str,
    op_type: &str,
    attrs: Vec<crate::proto::AttributeProto>,
    inputs: &[Tensor],
    opset: i64,
    outputs: usize,
) -> Result<Vec<Tensor>, Fail> {
    let node = OpNode::new(
        crate::proto::NodeProto {
            op_type: Some(op_type.into()),
            domain: Some(domain.into()),
            attribute: attrs,
            ..Default::default()
        },
        inputs.len() as u32,
    );
    let args: Vec<Option<&Tensor>> = inputs.iter().map(Some).collect();
    run_node(&node, &args, opset, outputs)
}
