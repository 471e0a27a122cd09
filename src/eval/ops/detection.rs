//! NonMaxSuppression, as the ONNX reference runs it: per batch and class, candidates above the
//! score threshold in descending score order (ties: lower box index first), each kept unless
//! its IoU with an already kept box exceeds the threshold.

use super::Ctx;
use crate::eval::error::Fail;
use crate::eval::tensor::Tensor;

type Out = Result<Vec<Tensor>, Fail>;

/// A box as (x_min, y_min, x_max, y_max).
type Corners = [f64; 4];

fn corners(b: &[f64], center_point: bool) -> Corners {
    if center_point {
        let (w, h) = (b[2] / 2.0, b[3] / 2.0);
        [b[0] - w, b[1] - h, b[0] + w, b[1] + h]
    } else {
        // [y1, x1, y2, x2], corners in either order.
        [
            b[1].min(b[3]),
            b[0].min(b[2]),
            b[1].max(b[3]),
            b[0].max(b[2]),
        ]
    }
}

/// Does `a` overlap `b` by more than `threshold` (intersection over union)?
fn overlaps(a: &Corners, b: &Corners, threshold: f64) -> bool {
    let (w, h) = (
        a[2].min(b[2]) - a[0].max(b[0]),
        a[3].min(b[3]) - a[1].max(b[1]),
    );
    if w <= 0.0 || h <= 0.0 {
        return false;
    }
    let inter = w * h;
    let (area_a, area_b) = ((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]));
    let union = area_a + area_b - inter;
    if area_a <= 0.0 || area_b <= 0.0 || union <= 0.0 {
        return false;
    }
    inter / union > threshold
}

pub(super) fn non_max_suppression(ctx: &Ctx) -> Out {
    let (boxes, scores) = (ctx.input(0)?, ctx.input(1)?);
    let (&[n, b, 4], &[ns, c, bs]) = (boxes.shape(), scores.shape()) else {
        return Err(Fail::invalid(format!(
            "boxes must be [N, B, 4] and scores [N, C, B], got {:?} and {:?}",
            boxes.shape(),
            scores.shape()
        )));
    };
    if ns != n || bs != b {
        return Err(Fail::invalid(
            "boxes and scores disagree on batches or boxes",
        ));
    }
    let scalar = |i: usize, what: &str| -> Result<Option<f64>, Fail> {
        match ctx.opt(i) {
            Some(t) if !t.is_empty() => Ok(t.to_f64s(what)?.first().copied()),
            _ => Ok(None),
        }
    };
    let max_out = scalar(2, "max_output_boxes_per_class")?
        .unwrap_or(0.0)
        .max(0.0) as usize;
    let iou = scalar(3, "iou_threshold")?.unwrap_or(0.0);
    let score_threshold = scalar(4, "score_threshold")?;
    let center = ctx.choice("center_point_box", 0, &[0, 1])? == 1;
    let bv = boxes.to_f64s("boxes")?;
    let sv = scores.to_f64s("scores")?;
    let mut selected: Vec<i64> = Vec::new();
    for batch in 0..n {
        let all: Vec<Corners> = (0..b)
            .map(|i| corners(&bv[(batch * b + i) * 4..][..4], center))
            .collect();
        for class in 0..c {
            let s = &sv[(batch * c + class) * b..][..b];
            let mut candidates: Vec<usize> = (0..b)
                .filter(|&i| score_threshold.is_none_or(|t| s[i] > t))
                .collect();
            candidates.sort_by(|&x, &y| s[y].total_cmp(&s[x]).then(x.cmp(&y)));
            let mut kept: Vec<usize> = Vec::new();
            for i in candidates {
                if kept.len() >= max_out {
                    break;
                }
                if kept.iter().all(|&k| !overlaps(&all[i], &all[k], iou)) {
                    kept.push(i);
                    selected.extend([batch as i64, class as i64, i as i64]);
                }
            }
        }
    }
    Ok(vec![Tensor::from_vec(
        vec![selected.len() / 3, 3],
        selected,
    )?])
}

#[cfg(test)]
mod tests {
    use super::super::run_op;
    use crate::eval::Tensor;

    #[test]
    fn keeps_the_best_box_of_each_overlapping_group() {
        // Boxes as [y1, x1, y2, x2]: 0 and 1 overlap heavily, 2 is apart; box 1 scores best.
        let boxes = Tensor::from_vec(
            vec![1, 3, 4],
            vec![
                0f32, 0.0, 1.0, 1.0, 0.0, 0.1, 1.0, 1.1, 0.0, 10.0, 1.0, 11.0,
            ],
        )
        .unwrap();
        let scores = Tensor::from_vec(vec![1, 1, 3], vec![0.9f32, 0.95, 0.3]).unwrap();
        let max = Tensor::from_vec(vec![1], vec![3i64]).unwrap();
        let iou = Tensor::from_vec(vec![1], vec![0.5f32]).unwrap();
        let inputs = [boxes, scores, max, iou];
        let out = run_op("", "NonMaxSuppression", vec![], &inputs, 21, 1).unwrap();
        assert_eq!(out[0].shape(), &[2, 3]);
        assert_eq!(out[0].as_slice::<i64>().unwrap(), &[0, 0, 1, 0, 0, 2]);
    }
}
