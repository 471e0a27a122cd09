//! Quantization ops: `QuantizeLinear`, `DequantizeLinear`, the ONNX QOperator ops
//! (`QLinearConv`, `QLinearMatMul`) and ONNX Runtime's `com.microsoft` `QLinear*` contrib ops.
//! Shapes come from the float op each one stands for; element types from the zero points.

use super::conv::{self, Layout};
use super::cx::Cx;
use super::elementwise;
use super::matmul;
use crate::ir::types::DType;

/// An `output_dtype` attribute (opset 21+ Q, 23+ DQ); 0 or absent means "not given".
fn output_dtype(cx: &Cx) -> Result<Option<DType>, String> {
    match cx.int_or("output_dtype", 0)? {
        0 => Ok(None),
        code => i32::try_from(code)
            .ok()
            .map(DType::from_onnx)
            .filter(|t| !matches!(t, DType::Other(_)))
            .map(Some)
            .ok_or_else(|| format!("attribute 'output_dtype': {code} is not an element type")),
    }
}

/// `QuantizeLinear(x, scale, zero_point?)`: `x`'s shape; the zero point's type, else
/// `output_dtype`, else u8.
pub fn quantize(cx: &mut Cx) -> Result<(), String> {
    let attr = output_dtype(cx)?;
    let zp = cx.dtype(2);
    if let (Some(a), Some(z)) = (attr, zp) {
        if a != z {
            return Err(format!(
                "attribute 'output_dtype' says {a}, the zero point is {z}"
            ));
        }
    }
    let dtype = zp.or(attr).unwrap_or(DType::U8);
    cx.set_shape(0, dtype, cx.shape(0).map(<[_]>::to_vec));
    Ok(())
}

/// `DequantizeLinear(x, scale, zero_point?)`: `x`'s shape; `output_dtype`, else the scale's type,
/// else f32.
pub fn dequantize(cx: &mut Cx) -> Result<(), String> {
    let dtype = output_dtype(cx)?.or(cx.dtype(1)).unwrap_or(DType::F32);
    cx.set_shape(0, dtype, cx.shape(0).map(<[_]>::to_vec));
    Ok(())
}

/// The output element type: the output zero point's (input `zp`), else input 0's.
fn quantized_dtype(cx: &Cx, zp: usize) -> Option<DType> {
    cx.dtype(zp).or(cx.dtype(0))
}

/// `QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?)`.
pub fn qlinear_conv(cx: &mut Cx) -> Result<(), String> {
    let shape = conv::conv_shape(cx, 0, 3)?;
    if let Some(t) = quantized_dtype(cx, 7) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// `QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)`.
pub fn qlinear_matmul(cx: &mut Cx) -> Result<(), String> {
    let shape = match (cx.shape(0), cx.shape(3)) {
        (Some(a), Some(b)) => Some(matmul::matmul_shape(a, b)?),
        _ => None,
    };
    if let Some(t) = quantized_dtype(cx, 7) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// `QLinearAdd`/`QLinearMul(A, A_scale, A_zp?, B, B_scale, B_zp?, C_scale, C_zp?)`: broadcast,
/// `A`'s type.
pub fn qlinear_binary(cx: &mut Cx) -> Result<(), String> {
    let shape = match (cx.shape(0), cx.shape(3)) {
        (Some(a), Some(b)) => Some(super::dims::broadcast(a, b)?),
        _ => None,
    };
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// `QLinearLeakyRelu`, `QLinearSigmoid`, `QLinearSoftmax(X, X_scale, X_zp?, Y_scale, Y_zp?)`:
/// `X`'s type.
pub fn qlinear_unary(cx: &mut Cx) -> Result<(), String> {
    elementwise::same_as_input(cx)
}

/// `QLinearConcat(Y_scale, Y_zp, (X, X_scale, X_zp)…)` along `axis`; `Y_zp`'s type.
pub fn qlinear_concat(cx: &mut Cx) -> Result<(), String> {
    let n = cx.n_inputs();
    if n < 5 || (n - 2) % 3 != 0 {
        return Err(format!(
            "{n} inputs: expected Y_scale, Y_zero_point and (tensor, scale, zero point) triples"
        ));
    }
    let tensors: Vec<usize> = (2..n).step_by(3).collect();
    let shape = super::slicing::concat_shape(cx, &tensors)?;
    if let Some(t) = cx.dtype(1).or(cx.dtype(2)) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// The `channels_last` attribute of ONNX Runtime's QLinear pools.
fn layout(cx: &Cx) -> Result<Layout, String> {
    Ok(if cx.int_or("channels_last", 0)? != 0 {
        Layout::ChannelsLast
    } else {
        Layout::ChannelsFirst
    })
}

/// `QLinearAveragePool(X, x_scale, x_zp?, y_scale, y_zp?)` with AveragePool's attributes.
pub fn qlinear_pool(cx: &mut Cx) -> Result<(), String> {
    let shape = conv::pool_shape(cx, layout(cx)?)?;
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}

/// `QLinearGlobalAveragePool(X, x_scale, x_zp, y_scale, y_zp)`.
pub fn qlinear_global_pool(cx: &mut Cx) -> Result<(), String> {
    let shape = conv::global_pool_shape(cx, layout(cx)?)?;
    if let Some(t) = cx.dtype(0) {
        cx.set_shape(0, t, shape);
    }
    Ok(())
}
