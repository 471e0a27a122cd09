//! ModelProto → [`Model`], in named phases: signature (inputs, initializers), nodes, wiring by
//! name (inputs and subgraph captures), declarations (value_info, outputs), order check.
//!
//! Names are resolved exactly once, here; after this the IR speaks ids. Every error names what it
//! is about (node, value, tensor) and why.

use std::collections::{BTreeSet, HashMap, HashSet};

use bytes::Bytes;
use prost::Message;

use super::external::ExternalReader;
use crate::ir::tensors::expected_bytes;
use crate::ir::{
    DeclaredInfo, Graph, GraphInput, Initializer, Model, NodeId, NodeKind, OpNode, Port,
    TensorData, TensorType, Value, ValueId,
};
use crate::proto;

/// Decodes a model from the bytes of a `.onnx` file. `external` reads tensors stored beside it.
pub fn decode_model(buf: Bytes, external: &mut ExternalReader) -> Result<Model, String> {
    if buf.is_empty() {
        return Err("not an ONNX model: the file is empty".into());
    }
    let len = buf.len();
    let mut shell = proto::ModelProto::decode(buf)
        .map_err(|e| format!("not an ONNX model: protobuf decode failed ({len} bytes): {e}"))?;
    if shell.ir_version.is_none() {
        return Err("not an ONNX model: it declares no ir_version".into());
    }
    let gp = shell
        .graph
        .take()
        .ok_or("not an ONNX model: it has no graph")?;
    let graph = decode_graph(gp, external)?;
    Ok(Model { graph, shell })
}

/// Maps value names to values while the graph is being built.
#[derive(Default)]
struct Names(HashMap<String, ValueId>);

impl Names {
    fn define(&mut self, g: &Graph, node: NodeId) -> Result<(), String> {
        for v in g.values_of(node) {
            let name = &g.value(v).name;
            if name.is_empty() {
                continue;
            }
            if self.0.insert(name.clone(), v).is_some() {
                return Err(format!("value '{name}' is defined twice"));
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<ValueId> {
        self.0.get(name).copied()
    }
}

/// Decodes one graph (the main graph; subgraphs stay inside their attributes).
pub fn decode_graph(
    mut gp: proto::GraphProto,
    external: &mut ExternalReader,
) -> Result<Graph, String> {
    let mut g = Graph::new();
    let mut names = Names::default();

    // Signature: initializers first (an input may take one as its default), then inputs.
    let input_names: HashSet<String> = gp.input.iter().map(|i| i.name().to_string()).collect();
    let mut defaults: HashMap<String, Initializer> = HashMap::new();
    let mut init_order: Vec<String> = Vec::new();
    let mut init_nodes: HashMap<String, NodeId> = HashMap::new();
    for t in std::mem::take(&mut gp.initializer) {
        let name = t.name().to_string();
        if name.is_empty() {
            return Err("an initializer has no name".into());
        }
        let init = decode_tensor(t, &mut g, external)?;
        init_order.push(name.clone());
        if input_names.contains(&name) {
            if defaults.insert(name.clone(), init).is_some() {
                return Err(format!("initializer '{name}' is defined twice"));
            }
        } else {
            let ty = init.ty();
            let id = g.add_node(NodeKind::Initializer(init), vec![Value::typed(&name, ty)]);
            names.define(&g, id)?;
            init_nodes.insert(name, id);
        }
    }
    for s in std::mem::take(&mut gp.sparse_initializer) {
        let name = s
            .values
            .as_ref()
            .map(|v| v.name().to_string())
            .unwrap_or_default();
        if name.is_empty() {
            return Err("a sparse initializer has no name".into());
        }
        init_order.push(name.clone());
        let id = g.add_node(
            NodeKind::SparseInitializer(Box::new(s)),
            vec![Value::new(&name)],
        );
        names.define(&g, id)?;
        init_nodes.insert(name, id);
    }
    for info in std::mem::take(&mut gp.input) {
        let name = info.name().to_string();
        if name.is_empty() {
            return Err("a graph input has no name".into());
        }
        let default = defaults.remove(&name);
        let value = Value {
            ty: info.r#type.as_ref().and_then(TensorType::from_proto),
            ..Value::new(&name)
        };
        let id = g.add_node(
            NodeKind::Input(Box::new(GraphInput { info, default })),
            vec![value],
        );
        names.define(&g, id)?;
        init_nodes.entry(name).or_insert(id);
    }
    let order: Vec<NodeId> = init_order.iter().map(|n| init_nodes[n]).collect();
    g.set_initializer_order(order);

    // Nodes, then their wiring (a model may list nodes out of order; the order check comes last).
    let mut pending = Vec::new();
    for (index, mut np) in std::mem::take(&mut gp.node).into_iter().enumerate() {
        if np.op_type().is_empty() {
            return Err(format!("node #{index} ('{}') has no op_type", np.name()));
        }
        let inputs = std::mem::take(&mut np.input);
        let outputs = std::mem::take(&mut np.output)
            .into_iter()
            .map(Value::new)
            .collect();
        let captures = subgraph_captures(&np);
        let id = g.add_node(NodeKind::Op(OpNode::new(np, inputs.len() as u32)), outputs);
        names.define(&g, id)?;
        pending.push((id, inputs, captures));
    }
    for (id, inputs, captures) in pending {
        let who = g.node(id).display_name();
        for (slot, name) in inputs.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            let v = names.get(name).ok_or_else(|| {
                format!("node '{who}': input '{name}' is not a graph input, an initializer or any node's output")
            })?;
            g.connect(v, id, Port::Input(slot as u32));
        }
        for name in captures {
            let v = names.get(&name).ok_or_else(|| {
                format!("node '{who}': a subgraph reads '{name}', which is defined nowhere in the model")
            })?;
            g.connect(v, id, Port::Capture);
        }
    }

    // Declarations.
    for (seq, info) in std::mem::take(&mut gp.value_info).into_iter().enumerate() {
        let declared = DeclaredInfo {
            seq: seq as u32,
            proto: info,
        };
        match names.get(declared.proto.name()) {
            Some(v) if g.value(v).info.is_none() => {
                let value = g.value_mut(v);
                if value.ty.is_none() {
                    value.ty = declared
                        .proto
                        .r#type
                        .as_ref()
                        .and_then(TensorType::from_proto);
                }
                value.info = Some(declared);
            }
            _ => g.dangling_info.push(declared),
        }
    }
    for info in std::mem::take(&mut gp.output) {
        let name = info.name();
        let v = names.get(name).ok_or_else(|| {
            format!("graph output '{name}' is not produced by any node, input or initializer")
        })?;
        let value = g.value_mut(v);
        if value.ty.is_none() {
            value.ty = info.r#type.as_ref().and_then(TensorType::from_proto);
        }
        g.add_output(v, info);
    }
    g.shell = gp;

    g.topo_order()
        .map_err(|c| format!("the graph has a cycle through node '{}'", c.node))?;
    Ok(g)
}

/// Moves a tensor's data into the pool (raw or external) or leaves it in its typed fields,
/// checking that the data fits the declared shape.
pub fn decode_tensor(
    mut t: proto::TensorProto,
    g: &mut Graph,
    external: &mut ExternalReader,
) -> Result<Initializer, String> {
    if let Some(d) = t.dims.iter().find(|&&d| d < 0) {
        return Err(format!(
            "tensor '{}': negative dimension {d} in {:?}",
            t.name(),
            t.dims
        ));
    }
    let data = if t.data_location() == proto::tensor_proto::DataLocation::External {
        let bytes = external.read(&t)?;
        check_len(&t, bytes.len())?;
        TensorData::External(g.pool.intern(bytes))
    } else if let Some(raw) = t.raw_data.take() {
        check_len(&t, raw.len())?;
        TensorData::Raw(g.pool.intern(raw))
    } else {
        TensorData::Inline
    };
    Ok(Initializer { shell: t, data })
}

fn check_len(t: &proto::TensorProto, got: usize) -> Result<(), String> {
    let dtype = crate::ir::DType::from_onnx(t.data_type());
    match expected_bytes(dtype, &t.dims) {
        Err(e) => Err(format!("tensor '{}': {e}", t.name())),
        Ok(Some(want)) if want != got => Err(format!(
            "tensor '{}': its data has {got} bytes, but {dtype}{:?} needs {want}",
            t.name(),
            t.dims
        )),
        Ok(_) => Ok(()),
    }
}

/// Names that the node's graph-valued attributes read from enclosing scopes.
fn subgraph_captures(np: &proto::NodeProto) -> BTreeSet<String> {
    let mut free = BTreeSet::new();
    for a in &np.attribute {
        for sub in a.g.iter().chain(&a.graphs) {
            free_names(sub, &mut free);
        }
    }
    free
}

/// Adds to `out` every name `gp` uses but does not define (nested subgraphs included).
fn free_names(gp: &proto::GraphProto, out: &mut BTreeSet<String>) {
    let mut defined: HashSet<&str> = HashSet::new();
    defined.extend(gp.input.iter().map(|i| i.name()));
    defined.extend(gp.initializer.iter().map(|t| t.name()));
    defined.extend(
        gp.sparse_initializer
            .iter()
            .filter_map(|s| s.values.as_ref())
            .map(|v| v.name()),
    );
    defined.extend(
        gp.node
            .iter()
            .flat_map(|n| n.output.iter().map(String::as_str)),
    );
    let mut used = BTreeSet::new();
    for n in &gp.node {
        used.extend(n.input.iter().filter(|i| !i.is_empty()).cloned());
        for a in &n.attribute {
            for sub in a.g.iter().chain(&a.graphs) {
                free_names(sub, &mut used);
            }
        }
    }
    used.extend(gp.output.iter().map(|o| o.name().to_string()));
    out.extend(used.into_iter().filter(|n| !defined.contains(n.as_str())));
}
