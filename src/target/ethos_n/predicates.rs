//! The building blocks the rule table's checks are made of: the Support Library's shared checks
//! (batch, tensor depth, data type, format, quantization dimension, zero-point range, provided
//! output, scale rules, padding), each returning the values that made it fail.

use super::npu::{DataFormat, DataType, Padding, QuantInfo, Stride, TensorInfo};
use super::profiles::Profile;
use super::sram;

/// A failed check: the values for the message template's `{}` slots, and the details (the got
/// and must values) shown beside the message.
///
/// TVM's front end reports every failed conversion, operand by operand; a TVM check over several
/// operands (the inputs of a concatenation) fails once per operand: `position` orders the
/// operands and `more` holds the further failures.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub args: Vec<String>,
    pub details: String,
    pub position: usize,
    pub more: Vec<Failure>,
}

impl Failure {
    /// For messages without slots.
    pub fn new(details: impl Into<String>) -> Self {
        Failure::with([], details)
    }

    /// For messages with slots, filled in order.
    pub fn with<I: IntoIterator<Item = String>>(args: I, details: impl Into<String>) -> Self {
        Failure {
            args: args.into_iter().collect(),
            details: details.into(),
            position: 0,
            more: Vec::new(),
        }
    }

    /// The failure concerns operand `position` in TVM's conversion order.
    pub fn at(mut self, position: usize) -> Self {
        self.position = position;
        self
    }

    /// Prefixes the details with the operand the failure is about (`input 1: …`).
    pub fn about(mut self, operand: impl std::fmt::Display) -> Self {
        self.details = format!("{operand}: {}", self.details);
        self
    }

    /// This failure and the further ones, in order.
    pub fn instances(&self) -> impl Iterator<Item = &Failure> {
        std::iter::once(self).chain(&self.more)
    }
}

/// Combines the outcomes of one check over several operands into one outcome.
pub fn each(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
    let mut failures = outcomes.into_iter().filter_map(Result::err);
    match failures.next() {
        None => Ok(()),
        Some(mut first) => {
            first.more.extend(failures);
            Err(first)
        }
    }
}

/// What a check returns.
pub type Outcome = Result<(), Failure>;

/// Fails with `details` unless `holds`.
pub fn require(holds: bool, details: impl FnOnce() -> String) -> Outcome {
    if holds {
        Ok(())
    } else {
        Err(Failure::new(details()))
    }
}

/// `Batch size must be 1`.
pub fn batch(tensor: &TensorInfo) -> Outcome {
    let n = tensor.batch();
    require(n == 1, || format!("N={n}, must be 1"))
}

/// `IsTensorDepthSupported`: `<what>: Tensor max depth cannot fit in SRAM (<8·8·C> / <sram>)`.
pub fn depth(profile: &Profile, tensor: &TensorInfo) -> Outcome {
    let caps = profile.capabilities();
    match sram::depth_overflow(&caps, tensor) {
        None => Ok(()),
        Some((chunk, total)) => Err(Failure::with(
            [chunk.to_string(), total.to_string()],
            format!(
                "C={} with W={}, must be <= {} on {} (or W=1)",
                tensor.channels(),
                tensor.width(),
                sram::max_depth(&caps),
                profile.variant()
            ),
        )),
    }
}

/// `<what> must be UINT8_QUANTIZED or INT8_QUANTIZED`.
pub fn dtype_8bit(tensor: &TensorInfo) -> Outcome {
    require(tensor.dtype.is_8bit_quantized(), || {
        format!(
            "dtype {}, must be UINT8_QUANTIZED or INT8_QUANTIZED",
            tensor.dtype.sl_name()
        )
    })
}

/// `<what> must be INT32_QUANTIZED` (bias).
pub fn dtype_int32(tensor: &TensorInfo) -> Outcome {
    require(tensor.dtype == DataType::I32, || {
        format!("dtype {}, must be INT32_QUANTIZED", tensor.dtype.sl_name())
    })
}

/// `<what> must be NHWC or NHWCB`.
pub fn activation_format(tensor: &TensorInfo) -> Outcome {
    require(tensor.format.is_activation(), || {
        format!("format {}, must be NHWC or NHWCB", tensor.format)
    })
}

/// The tensor must be in `format`.
pub fn format_is(tensor: &TensorInfo, format: DataFormat) -> Outcome {
    require(tensor.format == format, || {
        format!("format {}, must be {format}", tensor.format)
    })
}

/// `IsQuantizationZeroPointInRange`: the zero point fits `dtype` (an unquantized type has no
/// range: the library cannot hold one, so the check fails).
pub fn zero_point(dtype: &DataType, quant: &QuantInfo) -> Outcome {
    let zp = quant.zero_point;
    match dtype.zero_point_range() {
        Some(range) if range.contains(&zp) => Ok(()),
        Some(range) => Err(Failure::new(format!(
            "zero point {zp}, must be in [{}, {}] for {}",
            range.start(),
            range.end(),
            dtype.sl_name()
        ))),
        None => Err(Failure::new(format!(
            "zero point {zp}: {} has no quantized range",
            dtype.tvm_name()
        ))),
    }
}

/// A tensor's own zero point in its own type's range.
pub fn own_zero_point(tensor: &TensorInfo) -> Outcome {
    zero_point(&tensor.dtype, &tensor.quant)
}

/// `<what>: Per channel quantization axis must be <expected> for <name>` (only per-channel
/// tensors are checked).
pub fn quant_axis(tensor: &TensorInfo, expected: u32) -> Outcome {
    match tensor.quant.axis {
        Some(axis) if axis != expected => Err(Failure::new(format!(
            "quantization axis {axis}, must be {expected}"
        ))),
        _ => Ok(()),
    }
}

/// `<what>: <name> must have quantization scales with same number of elements as the
/// quantization dim. Expected: X, got: Y.` (per-channel tensors only).
pub fn quant_axis_scales(tensor: &TensorInfo) -> Outcome {
    let Some(axis) = tensor.quant.axis else {
        return Ok(());
    };
    let dim = usize::try_from(axis)
        .ok()
        .and_then(|a| tensor.shape.get(a))
        .copied()
        .unwrap_or(0);
    let got = tensor.quant.scales.len();
    if u64::from(dim) == got as u64 {
        return Ok(());
    }
    Err(Failure::with(
        [dim.to_string(), got.to_string()],
        format!("{got} scales along axis {axis} of size {dim}"),
    ))
}

/// `<what>: Quantization Dim should not be used on Input|Output`.
pub fn no_quant_axis(quant: &QuantInfo) -> Outcome {
    match quant.axis {
        None => Ok(()),
        Some(axis) => Err(Failure::new(format!(
            "per-channel along axis {axis}, must be per-tensor"
        ))),
    }
}

/// `<what>: Input|Output quantization scales must have a size of 1`.
pub fn single_scale(quant: &QuantInfo) -> Outcome {
    let n = quant.scales.len();
    require(n == 1, || format!("{n} scales, must be 1"))
}

/// `Provided outputInfo is incorrect`: a provided output (one with a non-zero byte size) must
/// equal the output the library computes.
pub fn output_info(provided: Option<&TensorInfo>, expected: &TensorInfo) -> Outcome {
    match provided {
        Some(given) if given.size_bytes() != 0 => output_equals(given, expected),
        _ => Ok(()),
    }
}

/// As [`output_info`] but compared even when empty (SpaceToDepth does that).
pub fn output_info_always(provided: Option<&TensorInfo>, expected: &TensorInfo) -> Outcome {
    provided.map_or(Ok(()), |given| output_equals(given, expected))
}

fn output_equals(given: &TensorInfo, expected: &TensorInfo) -> Outcome {
    require(given.same_as(expected), || {
        format!(
            "output {}, must be {}",
            given.describe(),
            expected.describe()
        )
    })
}

/// `QuantizationScales` arithmetic: element-wise, a single scale broadcasts. (Two vectors of
/// different lengths are undefined in the library; the shorter one decides here.)
fn broadcast(a: &[f32], b: &[f32], op: fn(f32, f32) -> f32) -> Vec<f32> {
    match (a, b) {
        ([x], _) => b.iter().map(|&y| op(*x, y)).collect(),
        (_, [y]) => a.iter().map(|&x| op(x, *y)).collect(),
        _ => a.iter().zip(b).map(|(&x, &y)| op(x, y)).collect(),
    }
}

/// Input scale × weight scale(s), as float32 like the library.
pub fn intermediate_scales(input: &QuantInfo, weights: &QuantInfo) -> Vec<f32> {
    broadcast(&input.scales, &weights.scales, |x, y| x * y)
}

/// Bias scales must equal input scale × weight scales exactly (float32 equality).
pub fn bias_scales(input: &TensorInfo, weights: &TensorInfo, bias: &TensorInfo) -> Outcome {
    let expected = intermediate_scales(&input.quant, &weights.quant);
    require(bias.quant.scales == expected, || {
        format!(
            "bias scales {:?}, must be input × weight scales {:?}",
            bias.quant.scales, expected
        )
    })
}

/// Bias zero point must be 0.
pub fn bias_zero_point(bias: &TensorInfo) -> Outcome {
    let zp = bias.quant.zero_point;
    require(zp == 0, || format!("bias zero point {zp}, must be 0"))
}

/// Bias zero point 0 and scales = input × weight scales (one rule in some queries).
pub fn bias_quant(input: &TensorInfo, weights: &TensorInfo, bias: &TensorInfo) -> Outcome {
    bias_zero_point(bias).and_then(|()| bias_scales(input, weights, bias))
}

/// The MCE overall-scale rule: every input × weight / output scale must be in [0, 65536)
/// (the message still says "(2^-32, 65536)").
pub fn overall_scale(input: &QuantInfo, weights: &QuantInfo, output: &QuantInfo) -> Outcome {
    let overall = broadcast(
        &intermediate_scales(input, weights),
        &output.scales,
        |x, y| x / y,
    );
    // Written as the library compares, so that a NaN passes as it does there.
    #[allow(clippy::manual_range_contains)]
    let bad = overall.iter().find(|&&m| m < 0.0 || m >= 65536.0);
    match bad {
        None => Ok(()),
        Some(m) => Err(Failure::new(format!(
            "overall scale {m:e} (input × weight / output), must be in [0, 65536)"
        ))),
    }
}

/// Requantize is an identity convolution with weight scale 1/128: input / (128 · output) must be
/// in [0, 1), i.e. the output scale must be bigger than input scale / 128.
pub fn identity_requantize_scale(input: f32, output: f32) -> bool {
    let multiplier = input * (1.0 / 128.0) / output;
    (0.0..1.0).contains(&multiplier)
}

/// Details for a failed identity-requantize scale rule.
pub fn identity_requantize_details(input: f32, output: f32) -> String {
    format!(
        "output scale {output:e}, must be > input scale / 128 = {:e}",
        input / 128.0
    )
}

/// 22.11–23.05 `IsPaddingSupported`: VALID (all zero) or one of the three SAME placements.
pub fn padding_valid_or_same(
    padding: &Padding,
    input: [u32; 4],
    kernel: (u32, u32),
    stride: Stride,
) -> Outcome {
    let ok = *padding == Padding::ZERO || padding.is_same(input, kernel, stride);
    require(ok, || {
        padding_details(padding, input, kernel, stride, false)
    })
}

/// 23.08+ `IsPaddingSupported`: every side ≤ 7, or one of the three SAME placements.
pub fn padding_up_to_7_or_same(
    padding: &Padding,
    input: [u32; 4],
    kernel: (u32, u32),
    stride: Stride,
) -> Outcome {
    let ok = padding.max_side() <= 7 || padding.is_same(input, kernel, stride);
    require(ok, || padding_details(padding, input, kernel, stride, true))
}

fn padding_details(
    padding: &Padding,
    input: [u32; 4],
    kernel: (u32, u32),
    stride: Stride,
    up_to_7: bool,
) -> String {
    use super::npu::PadMode;
    let same = Padding::same(input, kernel, stride, PadMode::PreferAfter);
    let before = Padding::same(input, kernel, stride, PadMode::PreferBefore);
    let allowed = if up_to_7 {
        "every side <= 7 or SAME"
    } else {
        "VALID or SAME"
    };
    format!("padding {padding}, must be {allowed}; SAME here is {same} or {before} or symmetric")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_requantize_scale_is_strict_at_one() {
        assert!(identity_requantize_scale(1.0, 1.0 / 127.0));
        assert!(!identity_requantize_scale(1.0, 1.0 / 128.0));
        assert!(!identity_requantize_scale(1.0, 0.0));
        assert!(!identity_requantize_scale(-1.0, 1.0));
    }

    #[test]
    fn overall_scale_bounds() {
        let q = |s: f32| QuantInfo::new(0, s);
        assert!(overall_scale(&q(1.0), &q(1.0), &q(1.0 / 65535.0)).is_ok());
        assert!(overall_scale(&q(1.0), &q(1.0), &q(1.0 / 65536.0)).is_err());
        assert!(overall_scale(&q(1e-30), &q(1e-10), &q(1.0)).is_ok());
        assert!(overall_scale(&q(-1.0), &q(1.0), &q(1.0)).is_err());
        let per_channel = QuantInfo::per_channel(0, vec![1.0, 70000.0], 3);
        assert!(overall_scale(&q(1.0), &per_channel, &q(1.0)).is_err());
    }

    #[test]
    fn scales_broadcast_like_the_library() {
        let per_channel = QuantInfo::per_channel(0, vec![0.5, 0.25], 3);
        assert_eq!(
            intermediate_scales(&QuantInfo::new(0, 0.5), &per_channel),
            vec![0.25, 0.125]
        );
    }
}
