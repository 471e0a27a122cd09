//! [`Model`] → ModelProto: the decoder's inverse.
//!
//! Nodes are written in [`Graph::topo_order`], which keeps a model's own order when it was already
//! topological; lists the IR does not reorder (inputs, initializers, outputs, value_info) are
//! written in the order the model had. A model that went through no pass therefore comes out as it
//! went in.

use super::external::ExternalWriter;
use crate::ir::{Graph, Model, NodeKind, TensorData, TensorType, Value};
use crate::proto;

/// Encodes a model; tensor data is placed by `external`.
pub fn encode_model(m: &Model, external: &mut ExternalWriter) -> Result<proto::ModelProto, String> {
    let mut mp = m.shell.clone();
    mp.graph = Some(encode_graph(&m.graph, external)?);
    Ok(mp)
}

/// The declaration to write for `value`: the model's own, unless a pass changed the value's type
/// so that the declared one is no longer true.
fn declaration(value: &Value, declared: &proto::ValueInfoProto) -> proto::ValueInfoProto {
    let mut info = declared.clone();
    info.name = Some(value.name.clone());
    if let (Some(ty), Some(declared_ty)) = (
        &value.ty,
        declared.r#type.as_ref().and_then(TensorType::from_proto),
    ) {
        if !declared_ty.compatible(ty) {
            info.r#type = Some(ty.to_proto());
        }
    }
    info
}

/// Encodes one graph.
pub fn encode_graph(g: &Graph, external: &mut ExternalWriter) -> Result<proto::GraphProto, String> {
    let mut gp = g.shell.clone();
    let order = g.topo_order().map_err(|c| {
        format!(
            "internal error: the graph has a cycle through node '{}'",
            c.node
        )
    })?;
    let name_of = |v: crate::ir::ValueId| g.value(v).name.clone();

    for &id in &order {
        if let NodeKind::Op(op) = &g.node(id).kind {
            let mut np = op.proto().clone();
            np.input = g
                .inputs_of(id)
                .into_iter()
                .map(|v| v.map(name_of).unwrap_or_default())
                .collect();
            np.output = g.node(id).outputs.iter().map(|v| v.name.clone()).collect();
            gp.node.push(np);
        }
    }
    for &id in g.inputs() {
        if let NodeKind::Input(input) = &g.node(id).kind {
            gp.input
                .push(declaration(&g.node(id).outputs[0], &input.info));
        }
    }
    for &id in g.initializers() {
        let node = g.node(id);
        let name = &node.outputs[0].name;
        let init = match &node.kind {
            NodeKind::Initializer(init) => init,
            NodeKind::Input(input) => match &input.default {
                Some(init) => init,
                None => continue,
            },
            NodeKind::SparseInitializer(s) => {
                let mut s = (**s).clone();
                if let Some(values) = &mut s.values {
                    values.name = Some(name.clone());
                }
                gp.sparse_initializer.push(s);
                continue;
            }
            NodeKind::Op(_) => continue,
        };
        let mut t = init.shell.clone();
        t.name = Some(name.clone());
        match init.data {
            TensorData::Raw(data) => external.place(&mut t, g.pool.get(data), false)?,
            TensorData::External(data) => external.place(&mut t, g.pool.get(data), true)?,
            TensorData::Inline => {}
        }
        gp.initializer.push(t);
    }
    for o in g.outputs() {
        gp.output.push(declaration(g.value(o.value), &o.info));
    }
    let mut infos: Vec<(u32, proto::ValueInfoProto)> = g
        .dangling_info
        .iter()
        .map(|d| (d.seq, d.proto.clone()))
        .collect();
    for &id in &order {
        for v in &g.node(id).outputs {
            if let Some(d) = &v.info {
                infos.push((d.seq, declaration(v, &d.proto)));
            }
        }
    }
    infos.sort_by_key(|(seq, _)| *seq);
    gp.value_info = infos.into_iter().map(|(_, i)| i).collect();
    Ok(gp)
}
