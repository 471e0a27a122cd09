//! Operator kinds.
//!
//! [`Op`] is the typed *kind* of a node, derived from its domain and op type, so that passes match
//! with `Op::Conv` instead of comparing strings. It deliberately carries no attributes: those stay
//! in the node's ordered attribute list exactly as the model wrote them (see `ir::attrs` for typed
//! access). DESIGN.md sketches typed attribute structs per op; we keep attributes generic because a
//! typed struct forgets which defaults were spelled out and in what order, and the first principle
//! is that a model round-trips unchanged. Everything not listed here is `Op::Other` and passes
//! through untouched.

/// The ONNX default domain, as stored (`""`); `"ai.onnx"` means the same.
pub const ONNX_DOMAIN: &str = "";
/// ONNX Runtime's contrib domain (the QOperator `QLinear*` ops).
pub const MS_DOMAIN: &str = "com.microsoft";

/// True for both spellings of the default ONNX domain.
pub fn is_onnx_domain(domain: &str) -> bool {
    domain.is_empty() || domain == "ai.onnx"
}

macro_rules! op_kinds {
    ($($variant:ident => $domain:expr, $name:literal;)*) => {
        /// A modelled operator kind; `Other` for everything else.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Op {
            $($variant,)*
            Other,
        }

        const OP_TABLE: &[(Op, &str, &str)] = &[$((Op::$variant, $domain, $name),)*];
    };
}

op_kinds! {
    Abs => ONNX_DOMAIN, "Abs";
    Add => ONNX_DOMAIN, "Add";
    ArgMax => ONNX_DOMAIN, "ArgMax";
    AveragePool => ONNX_DOMAIN, "AveragePool";
    BatchNormalization => ONNX_DOMAIN, "BatchNormalization";
    Cast => ONNX_DOMAIN, "Cast";
    Clip => ONNX_DOMAIN, "Clip";
    Concat => ONNX_DOMAIN, "Concat";
    Constant => ONNX_DOMAIN, "Constant";
    ConstantOfShape => ONNX_DOMAIN, "ConstantOfShape";
    Conv => ONNX_DOMAIN, "Conv";
    ConvTranspose => ONNX_DOMAIN, "ConvTranspose";
    DepthToSpace => ONNX_DOMAIN, "DepthToSpace";
    DequantizeLinear => ONNX_DOMAIN, "DequantizeLinear";
    Div => ONNX_DOMAIN, "Div";
    Einsum => ONNX_DOMAIN, "Einsum";
    Equal => ONNX_DOMAIN, "Equal";
    Exp => ONNX_DOMAIN, "Exp";
    Expand => ONNX_DOMAIN, "Expand";
    Flatten => ONNX_DOMAIN, "Flatten";
    Gather => ONNX_DOMAIN, "Gather";
    Gelu => ONNX_DOMAIN, "Gelu";
    Gemm => ONNX_DOMAIN, "Gemm";
    GlobalAveragePool => ONNX_DOMAIN, "GlobalAveragePool";
    Greater => ONNX_DOMAIN, "Greater";
    HardSigmoid => ONNX_DOMAIN, "HardSigmoid";
    HardSwish => ONNX_DOMAIN, "HardSwish";
    Identity => ONNX_DOMAIN, "Identity";
    If => ONNX_DOMAIN, "If";
    LeakyRelu => ONNX_DOMAIN, "LeakyRelu";
    Less => ONNX_DOMAIN, "Less";
    Log => ONNX_DOMAIN, "Log";
    Loop => ONNX_DOMAIN, "Loop";
    MatMul => ONNX_DOMAIN, "MatMul";
    Max => ONNX_DOMAIN, "Max";
    MaxPool => ONNX_DOMAIN, "MaxPool";
    Min => ONNX_DOMAIN, "Min";
    Mish => ONNX_DOMAIN, "Mish";
    Mul => ONNX_DOMAIN, "Mul";
    Neg => ONNX_DOMAIN, "Neg";
    NonMaxSuppression => ONNX_DOMAIN, "NonMaxSuppression";
    Pad => ONNX_DOMAIN, "Pad";
    Pow => ONNX_DOMAIN, "Pow";
    QLinearConv => ONNX_DOMAIN, "QLinearConv";
    QLinearMatMul => ONNX_DOMAIN, "QLinearMatMul";
    QuantizeLinear => ONNX_DOMAIN, "QuantizeLinear";
    Range => ONNX_DOMAIN, "Range";
    Reciprocal => ONNX_DOMAIN, "Reciprocal";
    ReduceMax => ONNX_DOMAIN, "ReduceMax";
    ReduceMean => ONNX_DOMAIN, "ReduceMean";
    ReduceSum => ONNX_DOMAIN, "ReduceSum";
    Relu => ONNX_DOMAIN, "Relu";
    Reshape => ONNX_DOMAIN, "Reshape";
    Resize => ONNX_DOMAIN, "Resize";
    Scan => ONNX_DOMAIN, "Scan";
    Shape => ONNX_DOMAIN, "Shape";
    Sigmoid => ONNX_DOMAIN, "Sigmoid";
    Slice => ONNX_DOMAIN, "Slice";
    Softmax => ONNX_DOMAIN, "Softmax";
    SpaceToDepth => ONNX_DOMAIN, "SpaceToDepth";
    Split => ONNX_DOMAIN, "Split";
    Sqrt => ONNX_DOMAIN, "Sqrt";
    Squeeze => ONNX_DOMAIN, "Squeeze";
    Sub => ONNX_DOMAIN, "Sub";
    Tanh => ONNX_DOMAIN, "Tanh";
    Tile => ONNX_DOMAIN, "Tile";
    TopK => ONNX_DOMAIN, "TopK";
    Transpose => ONNX_DOMAIN, "Transpose";
    Unsqueeze => ONNX_DOMAIN, "Unsqueeze";
    Where => ONNX_DOMAIN, "Where";
    QLinearAdd => MS_DOMAIN, "QLinearAdd";
    QLinearAveragePool => MS_DOMAIN, "QLinearAveragePool";
    QLinearConcat => MS_DOMAIN, "QLinearConcat";
    QLinearGlobalAveragePool => MS_DOMAIN, "QLinearGlobalAveragePool";
    QLinearLeakyRelu => MS_DOMAIN, "QLinearLeakyRelu";
    QLinearMul => MS_DOMAIN, "QLinearMul";
    QLinearSigmoid => MS_DOMAIN, "QLinearSigmoid";
    QLinearSoftmax => MS_DOMAIN, "QLinearSoftmax";
}

impl Op {
    /// The kind of a node with this domain and op type.
    pub fn from_onnx(domain: &str, op_type: &str) -> Op {
        let domain = if is_onnx_domain(domain) {
            ONNX_DOMAIN
        } else {
            domain
        };
        OP_TABLE
            .iter()
            .find(|(_, d, n)| *d == domain && *n == op_type)
            .map_or(Op::Other, |(op, _, _)| *op)
    }

    /// Domain and op type of a modelled kind (`None` for `Other`).
    pub fn onnx_name(self) -> Option<(&'static str, &'static str)> {
        OP_TABLE
            .iter()
            .find(|(op, _, _)| *op == self)
            .map(|(_, d, n)| (*d, *n))
    }

    /// Ops whose attributes hold subgraphs that may read outer values by name.
    pub fn has_subgraphs(self) -> bool {
        matches!(self, Op::If | Op::Loop | Op::Scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips_and_domains_alias() {
        for &(op, d, n) in OP_TABLE {
            assert_eq!(Op::from_onnx(d, n), op);
            assert_eq!(op.onnx_name(), Some((d, n)));
        }
        assert_eq!(Op::from_onnx("ai.onnx", "Conv"), Op::Conv);
        assert_eq!(Op::from_onnx("com.microsoft", "Conv"), Op::Other);
        assert_eq!(Op::from_onnx("", "QLinearAdd"), Op::Other);
    }
}
