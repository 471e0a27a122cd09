//! TVM's own front-end checks (`src/relay/backend/contrib/ethosn/ethosn_api.cc`, apache/tvm at
//! 513c2be0 = v0.18.0, the last release with Ethos-N). TVM converts each Relay tensor to a
//! Support Library `TensorInfo` and collects every conversion error before it asks the library;
//! if there is any, the library is not asked. These are the predicates of those conversions.

use super::npu::{DataFormat, DataType, DepthToSpaceMode, Padding, QuantInfo, TensorInfo};
use super::predicates::{Failure, Outcome};

/// `Tvm2Npu(shape)` → `AsArray`: at most 4 dimensions (`dimensions=N, dimensions must be <= 4`).
pub fn rank(tensor: &TensorInfo) -> Outcome {
    if tensor.rank <= 4 {
        return Ok(());
    }
    Err(Failure::with(
        [tensor.rank.to_string()],
        format!("rank {}, must be <= 4", tensor.rank),
    ))
}

/// `Tvm2Npu(shape)`: the first dimension must be 1 (`batch size=N, batch size must = 1`). A rank
/// above 4 aborts the conversion first, so the batch is not read then.
pub fn batch(tensor: &TensorInfo) -> Outcome {
    batch_of(tensor.batch(), tensor.rank)
}

/// As [`batch`], for a shape that is not a tensor (a reshape's new shape).
pub fn batch_of(batch: u32, rank: usize) -> Outcome {
    if batch == 1 || rank > 4 {
        return Ok(());
    }
    Err(Failure::with(
        [batch.to_string()],
        format!("N={batch}, must be 1"),
    ))
}

/// `Tvm2Npu(dtype)`: uint8, int8 or int32.
pub fn dtype(tensor: &TensorInfo) -> Outcome {
    if matches!(tensor.dtype, DataType::U8 | DataType::I8 | DataType::I32) {
        return Ok(());
    }
    let name = tensor.dtype.tvm_name();
    Err(Failure::with(
        [name.to_string()],
        format!("dtype {name}, must be uint8, int8 or int32"),
    ))
}

/// Convolutions: `dilation=[a, b], dilation must = [1, 1]`.
pub fn dilation(dilation: [u32; 2]) -> Outcome {
    if dilation == [1, 1] {
        return Ok(());
    }
    let [h, w] = dilation;
    Err(Failure::with(
        [format!("[{h}, {w}]")],
        format!("dilation [{h}, {w}], must be [1, 1]"),
    ))
}

/// Convolution after a separate Pad operation: the convolution's own padding must be zero
/// (`both op and attr padding exist, must be either op/attr only or no padding`).
pub fn fused_pad_attribute(attribute: Option<Padding>) -> Outcome {
    match attribute {
        Some(padding) if padding != Padding::ZERO => Err(Failure::new(format!(
            "Pad operation and padding attribute {padding}, attribute must be zero"
        ))),
        _ => Ok(()),
    }
}

/// Convolutions: the `ethos-n.qnn_conv2d` pattern is `qnn.conv2d → nn.bias_add →
/// qnn.requantize`, the `bias_add` mandatory. A convolution without a bias does not match, and
/// TVM says nothing about a pattern that does not match: the text is npuopt's, in TVM's terms.
pub fn bias_add(bias_missing: bool) -> Outcome {
    if !bias_missing {
        return Ok(());
    }
    Err(Failure::new(
        "no bias input, must have one (TVM's pattern qnn.conv2d → nn.bias_add → qnn.requantize)",
    ))
}

/// Depth-to-space: `mode=X, mode must = DCR` (TVM returns this error alone).
pub fn depth_to_space_mode(mode: DepthToSpaceMode) -> Outcome {
    if mode == DepthToSpaceMode::Dcr {
        return Ok(());
    }
    Err(Failure::with(
        [mode.name().to_string()],
        format!("mode {}, must be DCR", mode.name()),
    ))
}

/// Pooling: `data format=X, data format must = NHWC` (TVM returns this error alone).
pub fn pool_layout(tensor: &TensorInfo) -> Outcome {
    if tensor.format == DataFormat::Nhwc {
        return Ok(());
    }
    let name = tensor.format.name();
    Err(Failure::with(
        [name.to_string()],
        format!("layout {name}, must be NHWC"),
    ))
}

/// Sigmoid and tanh: the output quantization must be exactly (zero point, scale), compared as
/// float32 (`output quantization params=(zp, sc), must = (Z, 1/256)`; TVM's tanh message says
/// 1/256 although it checks 1/128).
pub fn fixed_output_quant(output: &QuantInfo, zero_point: i32, scale: f32) -> Outcome {
    let got = output.scale();
    if output.zero_point == zero_point && got == scale {
        return Ok(());
    }
    Err(Failure::with(
        [
            output.zero_point.to_string(),
            cpp_float(f64::from(got)),
            zero_point.to_string(),
        ],
        format!(
            "output q(zp={}, s={got:e}), must be q(zp={zero_point}, s={scale:e})",
            output.zero_point
        ),
    ))
}

/// Leaky ReLU: 0 < α < 1, checked by TVM before the library (`… but was A`). Like TVM (and the
/// library), only α ≥ 1 or α ≤ 0 fails; a NaN passes.
pub fn leaky_alpha(alpha: f32) -> Outcome {
    if !(alpha >= 1.0 || alpha <= 0.0) {
        return Ok(());
    }
    let shown = cpp_float(f64::from(alpha));
    Err(Failure::with(
        [shown.clone()],
        format!("alpha {shown}, must be in (0, 1)"),
    ))
}

/// A number as C++ `std::ostream << x` prints it by default (`%g`, 6 significant digits).
pub fn cpp_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    const PRECISION: i32 = 6;
    // Round to 6 significant digits first: the exponent is that of the rounded value.
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, x);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exponent) {
        let decimals = usize::try_from(PRECISION - 1 - exponent).unwrap_or(0);
        trim_zeros(format!("{x:.decimals$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            trim_zeros(mantissa.to_string()),
            exponent.abs()
        )
    }
}

/// Drops trailing zeros after a decimal point, and the point itself when nothing follows.
fn trim_zeros(text: String) -> String {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpp_float_prints_like_ostream() {
        assert_eq!(cpp_float(1.0 / 256.0), "0.00390625");
        assert_eq!(cpp_float(f64::from(1.0f32 / 255.0)), "0.00392157");
        assert_eq!(cpp_float(0.0078125), "0.0078125");
        assert_eq!(cpp_float(f64::from(0.1f32)), "0.1");
        assert_eq!(cpp_float(1.5), "1.5");
        assert_eq!(cpp_float(1.0), "1");
        assert_eq!(cpp_float(-0.2), "-0.2");
        assert_eq!(cpp_float(0.0), "0");
        assert_eq!(cpp_float(100000.0), "100000");
        assert_eq!(cpp_float(1234567.0), "1.23457e+06");
        assert_eq!(cpp_float(0.0001), "0.0001");
        assert_eq!(cpp_float(0.00001234), "1.234e-05");
        assert_eq!(cpp_float(999999.5), "1e+06");
        assert_eq!(cpp_float(f64::NAN), "nan");
    }
}
