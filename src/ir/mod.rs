//! The intermediate representation every pass works on. See `graph` for the model.

pub mod attrs;
pub mod build;
pub mod consts;
pub mod extract;
pub mod graph;
pub mod infer;
pub mod op;
pub mod quant;
pub mod rewire;
pub mod tensors;
pub mod types;
pub mod verify;

pub use graph::{
    CycleError, DeclaredInfo, Graph, GraphInput, GraphOutput, Node, NodeId, NodeKind, OpNode, Port,
    Value, ValueId,
};
pub use op::Op;
pub use tensors::{Initializer, TensorData, TensorId, TensorPool};
pub use types::{DType, Dim, Shape, TensorType};

use crate::proto;

/// A model: its graph, and the `ModelProto` it came in with the graph taken out (IR version,
/// opsets, producer, metadata, functions, training info, device configurations — kept as written).
pub struct Model {
    pub graph: Graph,
    pub shell: proto::ModelProto,
}

impl Model {
    /// The opset version the model imports for `domain` (`""` = the default ONNX domain).
    pub fn opset(&self, domain: &str) -> Option<i64> {
        self.shell
            .opset_import
            .iter()
            .find(|o| {
                o.domain() == domain
                    || (op::is_onnx_domain(domain) && op::is_onnx_domain(o.domain()))
            })
            .map(|o| o.version())
    }
}
