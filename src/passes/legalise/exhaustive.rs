//! Proving a rewrite of one node within 1 LSB: the node and its rewrite, each extracted alone, are
//! run in the evaluator on every code of their 8-bit input, at every channel.

use crate::eval::{self, Tensor};
use crate::ir::consts::constant;
use crate::ir::extract::extract;
use crate::ir::quant::int_range;
use crate::ir::{DType, Graph, NodeId, ValueId};

/// Node `id` of `g` as a graph of its own: the node, the constants it reads, and its other
/// inputs as graph inputs. Returns the graph and the node's id in it.
pub(super) fn node_alone(g: &Graph, id: NodeId) -> Result<(Graph, NodeId), String> {
    let mut members = vec![id];
    let mut inputs: Vec<ValueId> = Vec::new();
    for v in g.inputs_of(id).into_iter().flatten() {
        if constant(g, v).is_some() {
            members.push(v.node);
        } else if !inputs.contains(&v) {
            inputs.push(v);
        }
    }
    let outputs: Vec<ValueId> = g.values_of(id).collect();
    let alone = extract(g, &members, &inputs, &outputs)?;
    // The constants are initializers or Constant nodes: the one node of the op's kind is the copy.
    let op = g.node(id).op().ok_or("not an operator")?;
    let copy = alone
        .nodes()
        .into_iter()
        .find(|&n| alone.node(n).op() == Some(op))
        .ok_or("the extracted node is missing")?;
    Ok((alone, copy))
}

/// Runs `a` and `b` — graphs with one 8-bit input — on every code of that input at every channel
/// (axis 1; each channel plane cycles through the codes) and returns the largest difference of
/// their outputs.
pub(super) fn largest_difference(a: &Graph, b: &Graph) -> Result<i64, String> {
    let [input] = a.inputs() else {
        return Err(format!(
            "{} inputs where one was expected",
            a.inputs().len()
        ));
    };
    let x = a.value(ValueId {
        node: *input,
        slot: 0,
    });
    let ty = x.ty.clone().ok_or("the input's type is not known")?;
    let dims: Vec<usize> = ty
        .static_dims()
        .ok_or("the input's shape is not static")?
        .iter()
        .map(|&d| d as usize)
        .collect();
    let (lo, hi) = int_range(ty.dtype);
    let mut worst = 0;
    for values in runs(&dims, lo, hi) {
        let tensor = match ty.dtype {
            DType::U8 => Tensor::from_vec(dims.clone(), values.iter().map(|&v| v as u8).collect()),
            DType::I8 => Tensor::from_vec(dims.clone(), values.iter().map(|&v| v as i8).collect()),
            other => return Err(format!("{other} input is not an 8-bit code")),
        }
        .map_err(|e| e.reason)?;
        let inputs = [(x.name.clone(), tensor)];
        let ya = eval::run(a, &inputs).map_err(|e| e.to_string())?;
        let yb = eval::run(b, &inputs).map_err(|e| e.to_string())?;
        for ((_, ta), (_, tb)) in ya.iter().zip(&yb) {
            let (va, vb) = (
                ta.to_i64s("output").map_err(|e| e.reason)?,
                tb.to_i64s("output").map_err(|e| e.reason)?,
            );
            let d = va.iter().zip(&vb).map(|(p, q)| (p - q).abs()).max();
            worst = worst.max(d.unwrap_or(0));
        }
    }
    Ok(worst)
}

/// The inputs that show every code in `lo..=hi` to every channel: each channel plane (the
/// elements of one batch and channel) counts up through the codes, in as few runs as that takes.
fn runs(dims: &[usize], lo: i64, hi: i64) -> impl Iterator<Item = Vec<i64>> + '_ {
    let n: usize = dims.iter().product::<usize>().max(1);
    let plane: usize = dims.iter().skip(2).product::<usize>().max(1);
    let codes = (hi - lo + 1) as usize;
    (0..codes).step_by(plane).map(move |start| {
        (0..n)
            .map(|i| lo + ((start + i % plane) % codes) as i64)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::runs;

    /// Every channel of every batch sees every code, whatever the plane's size.
    #[test]
    fn every_channel_sees_every_code() {
        for dims in [[2, 3, 2, 2], [1, 4, 16, 25], [1, 8, 1, 1]] {
            let plane = dims[2] * dims[3];
            let all: Vec<Vec<i64>> = runs(&dims, -128, 127).collect();
            assert_eq!(all.len(), 256_usize.div_ceil(plane), "{dims:?}");
            for channel in 0..dims[0] * dims[1] {
                let mut seen: Vec<i64> = all
                    .iter()
                    .flat_map(|r| r[channel * plane..(channel + 1) * plane].to_vec())
                    .collect();
                seen.sort_unstable();
                seen.dedup();
                assert_eq!(
                    seen,
                    (-128..=127).collect::<Vec<_>>(),
                    "{dims:?} channel {channel}"
                );
            }
        }
    }
}
