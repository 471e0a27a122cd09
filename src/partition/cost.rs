//! What work costs: multiply-accumulates per node and bytes per value, from inferred types.

use crate::ir::{Graph, NodeId, Op, ValueId};

fn dims(g: &Graph, v: Option<ValueId>) -> Option<Vec<i64>> {
    g.value(v?).ty.as_ref()?.static_dims()
}

/// Multiply-accumulates of one node (0 for ops that do none, or whose shapes are unknown).
pub fn macs(g: &Graph, id: NodeId) -> u64 {
    let Some(op) = g.node(id).op() else { return 0 };
    let out = dims(g, Some(ValueId { node: id, slot: 0 }));
    let elements = |d: &[i64]| d.iter().product::<i64>().max(0) as u64;
    match op {
        // Each output element sums (input channels / group) × kernel area products.
        Op::Conv | Op::QLinearConv | Op::ConvTranspose => {
            let w_slot = if op == Op::QLinearConv { 3 } else { 1 };
            let (Some(out), Some(w)) = (out, dims(g, g.input(id, w_slot))) else {
                return 0;
            };
            if op == Op::ConvTranspose {
                let x = dims(g, g.input(id, 0)).unwrap_or_default();
                return elements(&x) * elements(&w[1..]);
            }
            elements(&out) * elements(&w[1..])
        }
        // [.., M, K] × [.., K, N]: every output element sums K products.
        Op::MatMul | Op::QLinearMatMul | Op::Gemm => {
            let a_slot = 0;
            let Some(out) = out else { return 0 };
            let Some(a) = dims(g, g.input(id, a_slot)) else {
                return 0;
            };
            let transposed = op == Op::Gemm
                && g.node(id)
                    .as_op()
                    .and_then(|o| o.attr_int("transA").ok().flatten())
                    == Some(1);
            let k = if transposed { a.first() } else { a.last() };
            elements(&out) * k.copied().unwrap_or(0).max(0) as u64
        }
        _ => 0,
    }
}

/// Bytes of a value's tensor (0 when its type is unknown).
pub fn bytes(g: &Graph, v: ValueId) -> u64 {
    let Some(ty) = g.value(v).ty.as_ref() else {
        return 0;
    };
    let Some(d) = ty.static_dims() else { return 0 };
    let bits = ty.dtype.bits().unwrap_or(0) as u64;
    (d.iter().product::<i64>().max(0) as u64 * bits).div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::parse_graph;

    fn typed(text: &str) -> Graph {
        let mut g = parse_graph(text).unwrap();
        let _ = crate::ir::infer::infer_types(&mut g, &[(String::new(), 17)].into_iter().collect());
        g
    }

    #[test]
    fn conv_and_matmul_macs() {
        let g = typed(
            "input %x \"x\": f32[1,2,4,4]\nconst %w: f32[3,2,3,3] = zeros\n\
             %y = Conv(%x, %w) {pads=[1,1,1,1]}  # conv\n\
             const %m: f32[4,5] = zeros\n%z = MatMul(%y, %m)  # mm\n%r = Relu(%z)  # relu\noutput %r \"r\"\n",
        );
        let by_name = |n: &str| {
            g.nodes()
                .into_iter()
                .find(|&id| g.node(id).display_name() == n)
                .unwrap()
        };
        // 48 output elements (1x3x4x4), each summing 2x3x3 products.
        assert_eq!(macs(&g, by_name("conv")), 48 * 18);
        // [1,3,4,4] x [4,5]: 60 output elements, each summing 4 products.
        assert_eq!(macs(&g, by_name("mm")), 60 * 4);
        assert_eq!(macs(&g, by_name("relu")), 0);
        assert_eq!(
            bytes(
                &g,
                ValueId {
                    node: by_name("relu"),
                    slot: 0
                }
            ),
            60 * 4
        );
    }
}
