//! The support queries' SRAM-fit formulas, per hardware variant (`SupportQueries.cpp`,
//! `Utils.cpp`). Sizes are computed in u64 so that no input can overflow; the library's u32
//! arithmetic agrees for every tensor that fits in a u32 byte count.

use super::npu::TensorInfo;
use super::profiles::{Capabilities, Release};

/// Brick group: 8×8 (H×W) by 16 channels.
const BRICK_HW: u64 = 8;
const BRICK_C: u64 = 16;

fn round_up(value: u64, multiple: u64) -> u64 {
    value.div_ceil(multiple) * multiple
}

/// `IsTensorDepthSupported`: a tensor with W == 1 always fits (the DMA can split channels);
/// otherwise an 8×8×C chunk must fit in the whole SRAM. Returns (chunk bytes, SRAM bytes) when
/// it does not.
pub fn depth_overflow(caps: &Capabilities, tensor: &TensorInfo) -> Option<(u64, u64)> {
    if tensor.width() == 1 {
        return None;
    }
    let chunk = BRICK_HW * BRICK_HW * u64::from(tensor.channels());
    let sram = u64::from(caps.total_sram);
    (chunk > sram).then_some((chunk, sram))
}

/// The largest channel count a tensor with W > 1 may have.
pub fn max_depth(caps: &Capabilities) -> u64 {
    u64::from(caps.total_sram) / (BRICK_HW * BRICK_HW)
}

/// `IsAvgPool_3x3_1_1_FitSram`: input and output planes (rounded up to 8×8) fit in one EMC's
/// SRAM next to the PLE kernel; twice over when the depth is split across SRAMs.
pub fn avg_pool_3x3_fits(caps: &Capabilities, height: u32, width: u32, depth: u32) -> bool {
    avg_pool_3x3_need(caps, height, width, depth) <= u64::from(caps.sram_per_emc())
}

/// Bytes per EMC the 3×3 average pooling needs.
pub fn avg_pool_3x3_need(caps: &Capabilities, height: u32, width: u32, depth: u32) -> u64 {
    let plane = round_up(u64::from(height), BRICK_HW) * round_up(u64::from(width), BRICK_HW);
    let stripes = if depth > caps.num_srams() { 2 } else { 1 };
    stripes * (plane + plane) + u64::from(caps.max_ple_size)
}

/// Stride-1 max pooling cannot split the pooled dimensions: their size is limited to what half
/// the SRAM (input and output both live there) holds as one brick row, rounded down to 8.
pub fn max_pool_stride1_limit(caps: &Capabilities) -> u32 {
    let per_tensor = (caps.total_sram - caps.max_ple_size) / 2;
    let rows = per_tensor / (8 * 16);
    rows / 8 * 8
}

/// `TotalSizeBytesNHWCB` of an 8-bit tensor.
fn nhwcb_bytes(shape: [u32; 4]) -> u64 {
    let [n, h, w, c] = shape.map(u64::from);
    n * round_up(h, BRICK_HW) * round_up(w, BRICK_HW) * round_up(c, BRICK_C)
}

/// `EstimateWeightSizeBytes` of a 1×1 depthwise (HWIM) weight stripe over `channels` channels.
fn depthwise_1x1_weight_bytes(caps: &Capabilities, channels: u32) -> u64 {
    let srams = u64::from(caps.num_srams());
    let ifms_per_ce = 1 + srams / 8;
    let mut bytes_per_ofm = (ifms_per_ce * 9).div_ceil(8);
    bytes_per_ofm += (17 + 1 + 3 + 3 + 1 + 1 + 5 + 5 + 3 + 32 * 9_u64).div_ceil(8);
    bytes_per_ofm += 14;
    let ofms_per_iteration = u64::from(channels).div_ceil(srams);
    round_up(bytes_per_ofm * ofms_per_iteration, 16) * srams
}

/// `DepthwiseConvSramEstimate`: input + output (NHWCB) + weights + one PLE kernel per SRAM.
fn depthwise_estimate(caps: &Capabilities, shape: [u32; 4]) -> u64 {
    let tensor = nhwcb_bytes(shape);
    let weights = depthwise_1x1_weight_bytes(caps, shape[3]);
    let ple = u64::from(caps.max_ple_size) * u64::from(caps.num_srams());
    tensor + tensor + weights + ple
}

/// `IsTransposeTensorSupported`: the estimated SRAM use of the transpose (call with a valid
/// permutation). Identity always fits; (0,2,3,1) — and from 25.03 also (0,3,1,2) — needs the
/// input in NHWCB; the others need an identity 1×1 depthwise over the (possibly permuted) input.
pub fn transpose_need(
    caps: &Capabilities,
    release: Release,
    input: &TensorInfo,
    permutation: [u32; 4],
) -> u64 {
    let [n, h, w, c] = input.shape;
    match [permutation[1], permutation[2], permutation[3]] {
        [1, 2, 3] => u64::from(caps.total_sram),
        [2, 3, 1] => nhwcb_bytes(input.shape),
        [3, 1, 2] if release >= Release::R25_03 => nhwcb_bytes(input.shape),
        [1, 3, 2] | [3, 2, 1] => depthwise_estimate(caps, [1, w, c, h]),
        [2, 1, 3] | [3, 1, 2] => depthwise_estimate(caps, [n, h, w, c]),
        _ => depthwise_estimate(caps, [1, 1, 1, 1]),
    }
}

/// `IsSpaceToDepthFitInSram`: the smallest stripe (split in H only) must fit (call with a block
/// size > 1 that divides H and W).
pub fn space_to_depth_need(caps: &Capabilities, input: &TensorInfo, block: u32) -> u64 {
    let srams = u64::from(caps.num_srams());
    let block = u64::from(block);
    let [_, height, width, channels] = input.shape.map(u64::from);
    // The EMCs used must evenly divide block · C.
    let mut used = srams.min(block * channels);
    while used > 1 && (block * channels) % used != 0 {
        used -= 1;
    }
    let used = used.max(1);
    // The smallest stripe height that divides H and is a multiple of the block: the block itself
    // (the library searches for it from the top; the query has checked that the block divides H).
    let stripe = if height > 0 && height % block == 0 {
        block
    } else {
        height
    };
    let s1 = (width * channels).div_ceil(used * 8) * stripe.div_ceil(block * 8) * 64;
    let s2 =
        (block * channels).div_ceil(used * 8) * (width * stripe).div_ceil(block * block * 8) * 64;
    (s1 + s1.max(s2) * (block - 1) + s2) * srams
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::ethos_n::npu::{DataType, QuantInfo};
    use crate::target::ethos_n::profiles::Variant;

    fn caps(tops: u32, ple: u32) -> Capabilities {
        Variant::new(tops, ple, None).unwrap().capabilities()
    }

    fn tensor(shape: [u32; 4]) -> TensorInfo {
        TensorInfo::new(shape, DataType::U8, QuantInfo::default())
    }

    #[test]
    fn max_depth_per_variant() {
        assert_eq!(max_depth(&caps(1, 2)), 7168);
        assert_eq!(max_depth(&caps(2, 4)), 12288);
        assert_eq!(max_depth(&caps(4, 4)), 16384);
        assert_eq!(max_depth(&caps(8, 2)), 32768);
        assert_eq!(depth_overflow(&caps(4, 4), &tensor([1, 2, 2, 16384])), None);
        assert_eq!(
            depth_overflow(&caps(4, 4), &tensor([1, 2, 2, 16385])),
            Some((64 * 16385, 1024 * 1024))
        );
        assert_eq!(
            depth_overflow(&caps(1, 2), &tensor([1, 2, 1, 100_000])),
            None
        );
    }

    #[test]
    fn max_pool_stride1_limits_per_variant() {
        assert_eq!(max_pool_stride1_limit(&caps(1, 2)), 1776);
        assert_eq!(max_pool_stride1_limit(&caps(2, 2)), 3056);
        assert_eq!(max_pool_stride1_limit(&caps(4, 4)), 4080);
        assert_eq!(max_pool_stride1_limit(&caps(8, 2)), 8176);
    }

    #[test]
    fn avg_pool_area_limits_per_variant() {
        // 1 TOPS: 56 KiB per EMC; 112×112 = 12544 ≤ 13312 with C > 8.
        assert!(avg_pool_3x3_fits(&caps(1, 2), 112, 112, 64));
        assert!(!avg_pool_3x3_fits(&caps(1, 2), 120, 112, 64));
        assert_eq!(avg_pool_3x3_need(&caps(1, 2), 8, 13312 / 8, 9), 57344);
        assert_eq!(avg_pool_3x3_need(&caps(1, 2), 8, 26624 / 8, 8), 57344);
        // 4 TOPS: 64 KiB per EMC, 16 SRAMs: 15360 (C > 16) / 30720 (C ≤ 16).
        assert!(avg_pool_3x3_fits(&caps(4, 4), 8, 15360 / 8, 17));
        assert!(!avg_pool_3x3_fits(&caps(4, 4), 8, 15360 / 8 + 1, 17));
        assert!(avg_pool_3x3_fits(&caps(4, 4), 8, 30720 / 8, 16));
        assert!(!avg_pool_3x3_fits(&caps(4, 4), 8, 30720 / 8 + 1, 16));
    }

    #[test]
    fn transpose_estimates() {
        let c = caps(4, 4);
        let t = tensor([1, 16, 16, 16]);
        assert_eq!(
            transpose_need(&c, Release::R25_03, &t, [0, 1, 2, 3]),
            1024 * 1024
        );
        assert_eq!(
            transpose_need(&c, Release::R25_03, &t, [0, 2, 3, 1]),
            16 * 16 * 16
        );
        assert_eq!(
            transpose_need(&c, Release::R25_03, &t, [0, 3, 1, 2]),
            16 * 16 * 16
        );
        // Before 25.03 (0,3,1,2) is a 1×1 depthwise: 2 × 4096 + weights + 16 × 4096.
        let weights = round_up((2 * 9_u64).div_ceil(8) + 41 + 14, 16) * 16;
        assert_eq!(
            transpose_need(&c, Release::R24_10, &t, [0, 3, 1, 2]),
            2 * 4096 + weights + 16 * 4096
        );
    }

    #[test]
    fn space_to_depth_estimate_is_finite_and_grows() {
        let c = caps(4, 4);
        let small = space_to_depth_need(&c, &tensor([1, 16, 16, 16]), 2);
        let large = space_to_depth_need(&c, &tensor([1, 4096, 4096, 64]), 2);
        assert!(small <= u64::from(c.total_sram));
        assert!(large > u64::from(c.total_sram));
    }
}
