//! A reference CPU decoder for the tensors `strip-postprocess` cuts off a YOLOv8/YOLO11 head.
//!
//! It is what the post model computes, written out plainly for users who replace that model
//! with their own code: per scale, the DFL expectation of each box side over `reg_max` bins,
//! boxes around the anchor points `(x + 0.5, y + 0.5)` scaled by the stride, and class scores
//! (sigmoid unless already applied). The result has Ultralytics' `output0` layout:
//! `[4 + nc, anchors]`, rows `cx, cy, w, h, score_0 … score_{nc-1}`, anchors ordered by scale,
//! then row-major over the grid.

use crate::passes::strip_postprocess::CutRecord;

/// One cut tensor: its record (from the model's `npuopt.postprocess` metadata) and its values,
/// dequantized, in NCHW order `[1, channels, grid_h, grid_w]`.
pub struct CutTensor<'a> {
    pub record: &'a CutRecord,
    pub data: &'a [f32],
}

/// Decodes box and class tensors into `[4 + nc, anchors]` (row-major).
pub fn decode(cuts: &[CutTensor]) -> Result<(usize, usize, Vec<f32>), String> {
    let mut scales: Vec<usize> = cuts.iter().filter_map(|c| c.record.scale).collect();
    scales.sort_unstable();
    scales.dedup();
    let find = |scale: usize, box_kind: bool| {
        cuts.iter().find(|c| {
            c.record.scale == Some(scale)
                && (c.record.kind == "box-dfl") == box_kind
                && c.record.kind != "extra"
        })
    };
    let nc = cuts
        .iter()
        .find_map(|c| c.record.nc)
        .ok_or("no class count in the records")? as usize;
    let mut columns: Vec<[f32; 4]> = Vec::new();
    let mut scores: Vec<Vec<f32>> = Vec::new();
    for &s in &scales {
        let (Some(bx), Some(cls)) = (find(s, true), find(s, false)) else {
            return Err(format!("scale {s} lacks its box or class tensor"));
        };
        let r = bx.record;
        let [h, w] = r
            .grid
            .ok_or_else(|| format!("'{}' has no grid", r.tensor))?;
        let (h, w) = (h as usize, w as usize);
        let stride = r
            .stride
            .ok_or_else(|| format!("'{}' has no stride", r.tensor))? as f32;
        let bins = r.reg_max;
        let cells = h * w;
        if bx.data.len() != 4 * bins * cells || cls.data.len() != nc * cells {
            return Err(format!(
                "scale {s}: tensor sizes do not match grid {h}x{w}, reg_max {bins}, nc {nc}"
            ));
        }
        for cell in 0..cells {
            let mut dist = [0f32; 4];
            for (side, d) in dist.iter_mut().enumerate() {
                let logits: Vec<f32> = (0..bins)
                    .map(|b| bx.data[(side * bins + b) * cells + cell])
                    .collect();
                let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
                let sum: f32 = exps.iter().sum();
                *d = exps
                    .iter()
                    .enumerate()
                    .map(|(b, e)| e / sum * b as f32)
                    .sum();
            }
            let ax = (cell % w) as f32 + 0.5;
            let ay = (cell / w) as f32 + 0.5;
            let (x1, y1, x2, y2) = (ax - dist[0], ay - dist[1], ax + dist[2], ay + dist[3]);
            columns.push([
                (x1 + x2) / 2.0 * stride,
                (y1 + y2) / 2.0 * stride,
                (x2 - x1) * stride,
                (y2 - y1) * stride,
            ]);
            scores.push(
                (0..nc)
                    .map(|c| {
                        let v = cls.data[c * cells + cell];
                        if cls.record.sigmoid_applied {
                            v
                        } else {
                            1.0 / (1.0 + (-v).exp())
                        }
                    })
                    .collect(),
            );
        }
    }
    let anchors = columns.len();
    let rows = 4 + nc;
    let mut out = vec![0f32; rows * anchors];
    for (a, (b, sc)) in columns.iter().zip(&scores).enumerate() {
        for k in 0..4 {
            out[k * anchors + a] = b[k];
        }
        for (c, v) in sc.iter().enumerate() {
            out[(4 + c) * anchors + a] = *v;
        }
    }
    Ok((rows, anchors, out))
}
