//! The operations the Ethos-N rules judge, shaped like the Support Library's API.
//!
//! Every tensor is 4-D NHWC (`[N, H, W, C]`); lower ranks are right-padded with 1s the way TVM
//! does (`[1, C]` → `[1, C, 1, 1]`). Weights are HWIO (`[kH, kW, I, O]`) for convolution,
//! transpose convolution and fully connected, HWIM (`[kH, kW, C, M]`) for depthwise; the kernel
//! size is read from the weights' shape, as the Support Library does. Bias is NHWC `[1, 1, 1, O]`.
//!
//! An operation carries the tensors and parameters of its `Is<Op>Supported` query; `output` is
//! the output `TensorInfo` the caller expects (the Support Library rejects it with `Provided
//! outputInfo is incorrect` when it differs from what it computes; `None` skips that check).
//! Operations whose queries take the same arguments share one struct (e.g. [`Convolution`] for
//! normal, depthwise and transpose convolution), as the Support Library's parameter types do.
//!
//! Output shapes are computed with the Support Library's unsigned 32-bit arithmetic, wrap-around
//! included, so that odd inputs give the same answers as the library.

use std::fmt;
use std::ops::RangeInclusive;

/// Element type of a tensor.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    U8,
    I8,
    I32,
    /// A type the NPU has no quantized form of, named as TVM/numpy spell it (`float32`, `int16`).
    /// The Support Library cannot hold it; it exists so that the dtype checks can reject it.
    NotQuantized(String),
}

impl DataType {
    /// TVM's spelling, as in `dtype='float32', dtype must be either uint8, int8 or int32`.
    pub fn tvm_name(&self) -> &str {
        match self {
            DataType::U8 => "uint8",
            DataType::I8 => "int8",
            DataType::I32 => "int32",
            DataType::NotQuantized(name) => name,
        }
    }

    /// The Support Library's spelling (`UINT8_QUANTIZED`, …), for details.
    pub fn sl_name(&self) -> &str {
        match self {
            DataType::U8 => "UINT8_QUANTIZED",
            DataType::I8 => "INT8_QUANTIZED",
            DataType::I32 => "INT32_QUANTIZED",
            DataType::NotQuantized(name) => name,
        }
    }

    /// The values a zero point may take (`GetRangeOfDataType`); none for unquantized types.
    pub fn zero_point_range(&self) -> Option<RangeInclusive<i32>> {
        match self {
            DataType::U8 => Some(0..=255),
            DataType::I8 => Some(-128..=127),
            DataType::I32 => Some(i32::MIN..=i32::MAX),
            DataType::NotQuantized(_) => None,
        }
    }

    /// Bytes per element; none for unquantized types.
    pub fn size_bytes(&self) -> Option<u32> {
        match self {
            DataType::U8 | DataType::I8 => Some(1),
            DataType::I32 => Some(4),
            DataType::NotQuantized(_) => None,
        }
    }

    /// Activations and weights must be 8-bit quantized.
    pub fn is_8bit_quantized(&self) -> bool {
        matches!(self, DataType::U8 | DataType::I8)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tvm_name())
    }
}

/// Memory layout of a tensor. NHWCB is the NPU's internal 8×8×16 brick format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataFormat {
    Nhwc,
    Nhwcb,
    Nchw,
    Hwio,
    Hwim,
}

impl DataFormat {
    pub fn name(self) -> &'static str {
        match self {
            DataFormat::Nhwc => "NHWC",
            DataFormat::Nhwcb => "NHWCB",
            DataFormat::Nchw => "NCHW",
            DataFormat::Hwio => "HWIO",
            DataFormat::Hwim => "HWIM",
        }
    }

    /// Activation layouts the NPU reads and writes.
    pub fn is_activation(self) -> bool {
        matches!(self, DataFormat::Nhwc | DataFormat::Nhwcb)
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Quantization: real = scale · (q − zero_point). Several scales with an `axis` is per-channel.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantInfo {
    pub zero_point: i32,
    pub scales: Vec<f32>,
    /// The per-channel quantization dimension; `None` for per-tensor.
    pub axis: Option<u32>,
}

impl QuantInfo {
    /// Per-tensor quantization.
    pub fn new(zero_point: i32, scale: f32) -> Self {
        QuantInfo {
            zero_point,
            scales: vec![scale],
            axis: None,
        }
    }

    /// Per-channel quantization along `axis`.
    pub fn per_channel(zero_point: i32, scales: Vec<f32>, axis: u32) -> Self {
        QuantInfo {
            zero_point,
            scales,
            axis: Some(axis),
        }
    }

    /// The single scale the Support Library reads with `GetScale()`; NaN when there is none (a
    /// NaN fails every scale rule, as a missing scale should).
    pub fn scale(&self) -> f32 {
        self.scales.first().copied().unwrap_or(f32::NAN)
    }
}

impl Default for QuantInfo {
    /// The Support Library's default: zero point 0, scale 1.
    fn default() -> Self {
        QuantInfo::new(0, 1.0)
    }
}

/// A tensor as the Support Library describes it.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    /// `[N, H, W, C]` for activations; `[kH, kW, I, O|M]` for weights.
    pub shape: [u32; 4],
    pub dtype: DataType,
    pub format: DataFormat,
    pub quant: QuantInfo,
    /// Rank of the source tensor before it was padded to 4-D. Only TVM's front-end check reads it
    /// (`dimensions=5, dimensions must be <= 4`): the Support Library cannot express rank > 4, so
    /// in other profiles the importer must not hand such a tensor over.
    pub rank: usize,
}

impl TensorInfo {
    /// A 4-D NHWC tensor.
    pub fn new(shape: [u32; 4], dtype: DataType, quant: QuantInfo) -> Self {
        TensorInfo {
            shape,
            dtype,
            format: DataFormat::Nhwc,
            quant,
            rank: 4,
        }
    }

    /// A tensor of any rank, right-padded with 1s to 4-D as TVM does. Beyond rank 4 only the
    /// first four dimensions are kept (and TVM's rank check rejects the tensor).
    pub fn from_dims(dims: &[u32], dtype: DataType, quant: QuantInfo) -> Self {
        let mut shape = [1; 4];
        for (slot, &dim) in shape.iter_mut().zip(dims) {
            *slot = dim;
        }
        TensorInfo {
            rank: dims.len(),
            ..TensorInfo::new(shape, dtype, quant)
        }
    }

    pub fn with_format(mut self, format: DataFormat) -> Self {
        self.format = format;
        self
    }

    pub fn with_quant(mut self, quant: QuantInfo) -> Self {
        self.quant = quant;
        self
    }

    pub fn batch(&self) -> u32 {
        self.shape[0]
    }

    pub fn height(&self) -> u32 {
        self.shape[1]
    }

    pub fn width(&self) -> u32 {
        self.shape[2]
    }

    pub fn channels(&self) -> u32 {
        self.shape[3]
    }

    /// The Support Library's `GetNumElements`, in its wrapping u32 arithmetic.
    pub fn num_elements(&self) -> u32 {
        self.shape.iter().fold(1, |n: u32, &d| n.wrapping_mul(d))
    }

    /// The Support Library's `TotalSizeBytes`, in its wrapping u32 arithmetic (so a huge tensor
    /// can count as empty, as it does there); an unquantized type counts one byte per element.
    pub fn size_bytes(&self) -> u32 {
        self.dtype
            .size_bytes()
            .unwrap_or(1)
            .wrapping_mul(self.num_elements())
    }

    /// The Support Library's `TensorInfo ==`: shape, dtype, format and quantization (exact floats).
    /// The source rank is not part of it.
    pub fn same_as(&self, other: &TensorInfo) -> bool {
        self.shape == other.shape
            && self.dtype == other.dtype
            && self.format == other.format
            && self.quant == other.quant
    }

    /// `[1,2,3,4] u8 NHWC q(zp=0, s=[0.5])`, for details.
    pub fn describe(&self) -> String {
        let [n, h, w, c] = self.shape;
        let axis = self
            .quant
            .axis
            .map(|a| format!(", axis={a}"))
            .unwrap_or_default();
        format!(
            "[{n},{h},{w},{c}] {} {} q(zp={}, s={:?}{axis})",
            self.dtype, self.format, self.quant.zero_point, self.quant.scales
        )
    }
}

/// Padding in the Support Library's order: top, bottom, left, right.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding {
    pub top: u32,
    pub bottom: u32,
    pub left: u32,
    pub right: u32,
}

/// The three placements of an odd SAME padding the Support Library accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// Both sides get the larger half.
    Symmetric,
    /// The larger half goes before (top/left).
    PreferBefore,
    /// The larger half goes after (bottom/right): TensorFlow's and TVM's SAME.
    PreferAfter,
}

impl Padding {
    pub const ZERO: Padding = Padding::new(0, 0, 0, 0);

    pub const fn new(top: u32, bottom: u32, left: u32, right: u32) -> Self {
        Padding {
            top,
            bottom,
            left,
            right,
        }
    }

    /// SAME padding as the Support Library computes it (`CalcSamePadding`): for input size I,
    /// kernel K, stride s, P = max(0, (⌈I/s⌉ − 1)·s + K − I), p0 = ⌈P/2⌉, p1 = P − p0.
    /// `input` is `[N, H, W, C]`, `kernel` is `(kH, kW)`.
    pub fn same(input: [u32; 4], kernel: (u32, u32), stride: Stride, mode: PadMode) -> Padding {
        let (top, bottom) = same_1d(input[1], kernel.0, stride.y, mode);
        let (left, right) = same_1d(input[2], kernel.1, stride.x, mode);
        Padding::new(top, bottom, left, right)
    }

    /// Whether this padding is one of the three SAME placements.
    pub fn is_same(&self, input: [u32; 4], kernel: (u32, u32), stride: Stride) -> bool {
        [
            PadMode::Symmetric,
            PadMode::PreferBefore,
            PadMode::PreferAfter,
        ]
        .into_iter()
        .any(|mode| *self == Padding::same(input, kernel, stride, mode))
    }

    /// The largest side.
    pub fn max_side(&self) -> u32 {
        self.top.max(self.bottom).max(self.left).max(self.right)
    }
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(top {}, bottom {}, left {}, right {})",
            self.top, self.bottom, self.left, self.right
        )
    }
}

/// `CalcSamePadding` for one dimension, in the library's wrapping u32 arithmetic.
fn same_1d(input: u32, kernel: u32, stride: u32, mode: PadMode) -> (u32, u32) {
    let padded = div_round_up(input, stride)
        .wrapping_sub(1)
        .wrapping_mul(stride)
        .wrapping_add(kernel);
    let total = padded.saturating_sub(input);
    let p0 = div_round_up(total, 2);
    let p1 = total.wrapping_sub(p0);
    match mode {
        PadMode::Symmetric => (p0, p0),
        PadMode::PreferBefore => (p0, p1),
        PadMode::PreferAfter => (p1, p0),
    }
}

/// The library's `DivRoundUp` (wrapping); a zero divisor gives 0 instead of a crash.
pub(crate) fn div_round_up(numerator: u32, denominator: u32) -> u32 {
    numerator
        .wrapping_add(denominator)
        .wrapping_sub(1)
        .checked_div(denominator)
        .unwrap_or(0)
}

/// Step of a convolution or pooling window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stride {
    pub x: u32,
    pub y: u32,
}

impl Stride {
    pub const fn new(x: u32, y: u32) -> Self {
        Stride { x, y }
    }
}

impl Default for Stride {
    fn default() -> Self {
        Stride::new(1, 1)
    }
}

/// Convolution, depthwise convolution and transpose convolution (the Support Library's
/// `ConvolutionInfo` plus its tensors). Depthwise weights are HWIM, the others HWIO.
#[derive(Clone, Debug)]
pub struct Convolution {
    pub input: TensorInfo,
    pub weights: TensorInfo,
    pub bias: TensorInfo,
    pub padding: Padding,
    pub stride: Stride,
    pub output_quant: QuantInfo,
    pub output: Option<TensorInfo>,
    /// `[dH, dW]`. The Support Library has no dilation; only TVM's front end checks it.
    pub dilation: [u32; 2],
    /// TVM only: when `padding` comes from a separate Pad operation in front of the convolution
    /// (TVM's `nn.pad → qnn.conv2d` pattern), the convolution's own padding attribute, which
    /// TVM requires to be zero. `None` when there is no Pad operation.
    pub fused_pad_attribute: Option<Padding>,
    /// The model gives no bias; `bias` describes the zero bias the library's compiler
    /// synthesises. TVM's convolution pattern requires an `nn.bias_add`, so only its front end
    /// cares.
    pub bias_missing: bool,
}

pub type DepthwiseConvolution = Convolution;
pub type TransposeConvolution = Convolution;

impl Convolution {
    /// `(kH, kW)` from the weights' shape.
    pub fn kernel(&self) -> (u32, u32) {
        (self.weights.shape[0], self.weights.shape[1])
    }

    /// The output the library computes for a normal or depthwise convolution
    /// (`CalcOutputTensorInfo<false>`): ⌊(I + pads − K)/s⌋ + 1, clamped at 0.
    pub fn expected_output(&self) -> TensorInfo {
        self.output_with(|size, kernel, stride, pad| {
            let positive = size.wrapping_add(stride).wrapping_add(pad);
            positive
                .max(kernel)
                .wrapping_sub(kernel)
                .checked_div(stride)
                .unwrap_or(0)
        })
    }

    /// The output of a transpose convolution (`CalcOutputTensorInfo<true>`):
    /// (I − 1)·s + K − pads, clamped at 0.
    pub fn expected_transpose_output(&self) -> TensorInfo {
        self.output_with(|size, kernel, stride, pad| {
            let positive = size.wrapping_mul(stride).wrapping_add(kernel);
            let negative = stride.wrapping_add(pad);
            positive.max(negative).wrapping_sub(negative)
        })
    }

    fn output_with(&self, size_of: impl Fn(u32, u32, u32, u32) -> u32) -> TensorInfo {
        let (kernel_h, kernel_w) = self.kernel();
        let pad_y = self.padding.top.wrapping_add(self.padding.bottom);
        let pad_x = self.padding.left.wrapping_add(self.padding.right);
        let mut channels = self.weights.shape[3];
        if self.weights.format == DataFormat::Hwim {
            channels = channels.wrapping_mul(self.input.channels());
        }
        let shape = [
            self.input.batch(),
            size_of(self.input.height(), kernel_h, self.stride.y, pad_y),
            size_of(self.input.width(), kernel_w, self.stride.x, pad_x),
            channels,
        ];
        TensorInfo::new(shape, self.input.dtype.clone(), self.output_quant.clone())
            .with_format(self.input.format)
    }
}

/// Fully connected: input `[1, 1, 1, K]`, weights HWIO `[1, 1, K, O]`, output `[1, 1, 1, O]`.
#[derive(Clone, Debug)]
pub struct FullyConnected {
    pub input: TensorInfo,
    pub weights: TensorInfo,
    pub bias: TensorInfo,
    pub output_quant: QuantInfo,
    pub output: Option<TensorInfo>,
}

impl FullyConnected {
    pub fn expected_output(&self) -> TensorInfo {
        let shape = [self.input.batch(), 1, 1, self.weights.shape[3]];
        TensorInfo::new(shape, self.input.dtype.clone(), self.output_quant.clone())
            .with_format(self.input.format)
    }
}

/// ReLU / bounded ReLU / clip, with bounds in the input's quantized domain.
#[derive(Clone, Debug)]
pub struct Relu {
    pub input: TensorInfo,
    pub lower_bound: i16,
    pub upper_bound: i16,
    pub output: Option<TensorInfo>,
}

#[derive(Clone, Debug)]
pub struct LeakyRelu {
    pub input: TensorInfo,
    pub alpha: f32,
    pub output_quant: QuantInfo,
    pub output: Option<TensorInfo>,
}

impl LeakyRelu {
    pub fn expected_output(&self) -> TensorInfo {
        self.input.clone().with_quant(self.output_quant.clone())
    }
}

/// Requantize, optionally converting u8 ↔ i8 (`output_dtype`).
#[derive(Clone, Debug)]
pub struct Requantize {
    pub input: TensorInfo,
    pub output_quant: QuantInfo,
    pub output_dtype: Option<DataType>,
    pub output: Option<TensorInfo>,
}

impl Requantize {
    pub fn expected_output(&self) -> TensorInfo {
        let mut info = self.input.clone().with_quant(self.output_quant.clone());
        if let Some(dtype) = &self.output_dtype {
            info.dtype = dtype.clone();
        }
        info
    }
}

/// Relabels the quantization without touching the data.
#[derive(Clone, Debug)]
pub struct ReinterpretQuantization {
    pub input: TensorInfo,
    pub output_quant: QuantInfo,
    pub output: Option<TensorInfo>,
}

impl ReinterpretQuantization {
    pub fn expected_output(&self) -> TensorInfo {
        self.input.clone().with_quant(self.output_quant.clone())
    }
}

/// An operation whose query takes only the input (and the expected output): Sigmoid, Tanh,
/// MeanXy, Softmax, Input.
#[derive(Clone, Debug)]
pub struct Unary {
    pub input: TensorInfo,
    pub output: Option<TensorInfo>,
}

pub type Sigmoid = Unary;
pub type Tanh = Unary;
pub type MeanXy = Unary;
pub type Softmax = Unary;
pub type Input = Unary;

impl Unary {
    /// Sigmoid's fixed output quantization: scale 1/256, zero point 0 (u8) or −128 (i8).
    pub fn expected_sigmoid_output(&self) -> TensorInfo {
        let zero_point = if self.input.dtype == DataType::I8 {
            -128
        } else {
            0
        };
        self.input
            .clone()
            .with_quant(QuantInfo::new(zero_point, 1.0 / 256.0))
    }

    /// Tanh's fixed output quantization: scale 1/128, zero point 0 (i8) or 128 (u8).
    pub fn expected_tanh_output(&self) -> TensorInfo {
        let zero_point = if self.input.dtype == DataType::I8 {
            0
        } else {
            128
        };
        self.input
            .clone()
            .with_quant(QuantInfo::new(zero_point, 1.0 / 128.0))
    }

    /// MeanXy's output: `[N, 1, 1, C]` with the input's quantization.
    pub fn expected_mean_output(&self) -> TensorInfo {
        let mut info = self.input.clone();
        info.shape = [self.input.batch(), 1, 1, self.input.channels()];
        info
    }
}

/// The Support Library's `IsOutputSupported(inputInfo, format)`.
#[derive(Clone, Debug)]
pub struct Output {
    pub input: TensorInfo,
    pub format: DataFormat,
}

/// The Support Library's `IsConstantSupported(constantInfo)`.
#[derive(Clone, Debug)]
pub struct Constant {
    pub info: TensorInfo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolingKind {
    Max,
    Avg,
}

/// Max or average pooling (`PoolingInfo`).
#[derive(Clone, Debug)]
pub struct Pooling {
    pub input: TensorInfo,
    pub kind: PoolingKind,
    pub size_x: u32,
    pub size_y: u32,
    pub stride: Stride,
    pub padding: Padding,
    pub output: Option<TensorInfo>,
}

impl Pooling {
    /// The library's floor formula, ⌊(I + pads − K)/s⌋ + 1, wrapping like its u32 arithmetic;
    /// the quantization is the input's.
    pub fn expected_output(&self) -> TensorInfo {
        let size = |input: u32, before: u32, after: u32, kernel: u32, stride: u32| {
            input
                .wrapping_add(before)
                .wrapping_add(after)
                .wrapping_sub(kernel)
                .checked_div(stride)
                .unwrap_or(0)
                .wrapping_add(1)
        };
        let p = &self.padding;
        let mut info = self.input.clone();
        info.shape[1] = size(
            self.input.height(),
            p.top,
            p.bottom,
            self.size_y,
            self.stride.y,
        );
        info.shape[2] = size(
            self.input.width(),
            p.left,
            p.right,
            self.size_x,
            self.stride.x,
        );
        info
    }
}

#[derive(Clone, Debug)]
pub struct Reshape {
    pub input: TensorInfo,
    pub new_shape: [u32; 4],
    pub output: Option<TensorInfo>,
}

impl Reshape {
    pub fn expected_output(&self) -> TensorInfo {
        let mut info = self.input.clone();
        info.shape = self.new_shape;
        info.rank = 4;
        info
    }
}

#[derive(Clone, Debug)]
pub struct Concatenation {
    pub inputs: Vec<TensorInfo>,
    pub axis: u32,
    pub output_quant: QuantInfo,
    pub output: Option<TensorInfo>,
}

impl Concatenation {
    /// The first input with the concatenation axis summed (call only with inputs and axis < 4).
    pub fn expected_output(&self) -> Option<TensorInfo> {
        let axis = usize::try_from(self.axis).ok().filter(|&a| a < 4)?;
        let mut info = self.inputs.first()?.clone();
        info.shape[axis] = self
            .inputs
            .iter()
            .fold(0u32, |sum, input| sum.wrapping_add(input.shape[axis]));
        info.quant = self.output_quant.clone();
        info.rank = 4;
        Some(info)
    }
}

#[derive(Clone, Debug)]
pub struct Split {
    pub input: TensorInfo,
    pub axis: u32,
    pub sizes: Vec<u32>,
    pub outputs: Option<Vec<TensorInfo>>,
}

impl Split {
    /// The input with the axis replaced by each size (call only with axis < 4).
    pub fn expected_outputs(&self) -> Vec<TensorInfo> {
        let Some(axis) = usize::try_from(self.axis).ok().filter(|&a| a < 4) else {
            return Vec::new();
        };
        self.sizes
            .iter()
            .map(|&size| {
                let mut info = self.input.clone();
                info.shape[axis] = size;
                info
            })
            .collect()
    }
}

/// Element-wise addition and multiplication; the output quantization is free.
#[derive(Clone, Debug)]
pub struct Elementwise {
    pub input0: TensorInfo,
    pub input1: TensorInfo,
    pub output_quant: QuantInfo,
    pub output: Option<TensorInfo>,
}

pub type Addition = Elementwise;
pub type Multiplication = Elementwise;

impl Elementwise {
    /// Per-dimension maximum of the input shapes, input0's dtype, NHWC.
    pub fn expected_output(&self) -> TensorInfo {
        let mut shape = [0; 4];
        for (i, dim) in shape.iter_mut().enumerate() {
            *dim = self.input0.shape[i].max(self.input1.shape[i]);
        }
        TensorInfo::new(shape, self.input0.dtype.clone(), self.output_quant.clone())
    }
}

/// How depth-to-space orders the channels it spreads out. The Support Library has no such field
/// (it implements DCR); only TVM's front end checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DepthToSpaceMode {
    /// Depth-column-row (TensorFlow's and ONNX's default).
    Dcr,
    /// Column-row-depth.
    Crd,
}

impl DepthToSpaceMode {
    pub fn name(self) -> &'static str {
        match self {
            DepthToSpaceMode::Dcr => "DCR",
            DepthToSpaceMode::Crd => "CRD",
        }
    }
}

/// Moves `block_size`² channel groups into `block_size`×`block_size` spatial blocks.
#[derive(Clone, Debug)]
pub struct DepthToSpace {
    pub input: TensorInfo,
    pub block_size: u32,
    pub mode: DepthToSpaceMode,
    pub output: Option<TensorInfo>,
}

impl DepthToSpace {
    pub fn expected_output(&self) -> TensorInfo {
        let b = self.block_size;
        let mut info = self.input.clone();
        info.shape[1] = info.shape[1].wrapping_mul(b);
        info.shape[2] = info.shape[2].wrapping_mul(b);
        info.shape[3] = info.shape[3].checked_div(b.wrapping_mul(b)).unwrap_or(0);
        info
    }
}

/// The inverse of [`DepthToSpace`]; the Support Library only estimates it.
#[derive(Clone, Debug)]
pub struct SpaceToDepth {
    pub input: TensorInfo,
    pub block_size: u32,
    pub output: Option<TensorInfo>,
}

impl SpaceToDepth {
    pub fn expected_output(&self) -> TensorInfo {
        let b = self.block_size;
        let mut info = self.input.clone();
        info.shape[1] = info.shape[1].checked_div(b).unwrap_or(0);
        info.shape[2] = info.shape[2].checked_div(b).unwrap_or(0);
        info.shape[3] = info.shape[3].wrapping_mul(b).wrapping_mul(b);
        info
    }
}

#[derive(Clone, Debug)]
pub struct Transpose {
    pub input: TensorInfo,
    /// Output dimension i takes input dimension `permutation[i]`.
    pub permutation: [u32; 4],
    pub output: Option<TensorInfo>,
}

impl Transpose {
    /// Call only with a valid permutation (entries 1..=3 after a leading 0).
    pub fn expected_output(&self) -> TensorInfo {
        let mut info = self.input.clone();
        for i in 1..4 {
            let from = usize::try_from(self.permutation[i]).unwrap_or(usize::MAX);
            info.shape[i] = self.input.shape.get(from).copied().unwrap_or(0);
        }
        info
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResizeAlgorithm {
    NearestNeighbour,
    Bilinear,
}

#[derive(Clone, Debug)]
pub struct Resize {
    pub input: TensorInfo,
    pub algorithm: ResizeAlgorithm,
    pub new_height: u32,
    pub new_width: u32,
    pub output_quant: QuantInfo,
    pub output: Option<TensorInfo>,
}

impl Resize {
    pub fn expected_output(&self) -> TensorInfo {
        let mut info = self.input.clone().with_quant(self.output_quant.clone());
        info.shape[1] = self.new_height;
        info.shape[2] = self.new_width;
        info
    }
}

/// Padding of H and W only, with the input's zero point (release 23.08 on).
#[derive(Clone, Debug)]
pub struct StandalonePadding {
    pub input: TensorInfo,
    pub padding: Padding,
    pub output: Option<TensorInfo>,
}

impl StandalonePadding {
    /// The library computes it as a 1×1 depthwise convolution with this padding.
    pub fn expected_output(&self) -> TensorInfo {
        let p = &self.padding;
        let mut info = self.input.clone();
        info.shape[1] = info.shape[1].wrapping_add(p.top).wrapping_add(p.bottom);
        info.shape[2] = info.shape[2].wrapping_add(p.left).wrapping_add(p.right);
        info
    }
}

/// An operation the NPU cannot run but whose performance the Support Library can estimate
/// (`IsEstimateOnlySupported`): the caller states its outputs.
#[derive(Clone, Debug)]
pub struct EstimateOnly {
    pub inputs: Vec<TensorInfo>,
    /// The outputs the caller declares (`EstimateOnlyInfo::m_OutputInfos`).
    pub declared_outputs: Vec<TensorInfo>,
    /// The outputs expected by the caller, compared with the declared ones.
    pub outputs: Option<Vec<TensorInfo>>,
}

macro_rules! operations {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// One operation to judge, tagged with its Support Library query.
        #[derive(Clone, Debug)]
        pub enum Operation {
            $($variant($ty)),*
        }

        /// The operations the Support Library has queries for (in some release).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OpKind {
            $($variant),*
        }

        impl OpKind {
            /// Every kind, alphabetically.
            pub const ALL: &'static [OpKind] = &[$(OpKind::$variant),*];

            /// The Support Library's name (`Is<name>Supported`).
            pub fn name(self) -> &'static str {
                match self {
                    $(OpKind::$variant => stringify!($variant)),*
                }
            }
        }

        impl Operation {
            pub fn kind(&self) -> OpKind {
                match self {
                    $(Operation::$variant(_) => OpKind::$variant),*
                }
            }
        }
    };
}

impl Operation {
    /// Every tensor the operation hands to the Support Library: inputs, weights, bias and the
    /// provided outputs.
    pub fn tensors(&self) -> Vec<&TensorInfo> {
        match self {
            Operation::Addition(op) | Operation::Multiplication(op) => [&op.input0, &op.input1]
                .into_iter()
                .chain(&op.output)
                .collect(),
            Operation::Concatenation(op) => op.inputs.iter().chain(&op.output).collect(),
            Operation::Constant(op) => vec![&op.info],
            Operation::Convolution(op)
            | Operation::DepthwiseConvolution(op)
            | Operation::TransposeConvolution(op) => [&op.input, &op.weights, &op.bias]
                .into_iter()
                .chain(&op.output)
                .collect(),
            Operation::DepthToSpace(op) => with_output(&op.input, &op.output),
            Operation::EstimateOnly(op) => op
                .inputs
                .iter()
                .chain(&op.declared_outputs)
                .chain(op.outputs.iter().flatten())
                .collect(),
            Operation::FullyConnected(op) => [&op.input, &op.weights, &op.bias]
                .into_iter()
                .chain(&op.output)
                .collect(),
            Operation::Input(op)
            | Operation::MeanXy(op)
            | Operation::Sigmoid(op)
            | Operation::Softmax(op)
            | Operation::Tanh(op) => with_output(&op.input, &op.output),
            Operation::LeakyRelu(op) => with_output(&op.input, &op.output),
            Operation::Output(op) => vec![&op.input],
            Operation::Pooling(op) => with_output(&op.input, &op.output),
            Operation::ReinterpretQuantization(op) => with_output(&op.input, &op.output),
            Operation::Relu(op) => with_output(&op.input, &op.output),
            Operation::Requantize(op) => with_output(&op.input, &op.output),
            Operation::Reshape(op) => with_output(&op.input, &op.output),
            Operation::Resize(op) => with_output(&op.input, &op.output),
            Operation::SpaceToDepth(op) => with_output(&op.input, &op.output),
            Operation::Split(op) => std::iter::once(&op.input)
                .chain(op.outputs.iter().flatten())
                .collect(),
            Operation::StandalonePadding(op) => with_output(&op.input, &op.output),
            Operation::Transpose(op) => with_output(&op.input, &op.output),
        }
    }
}

/// A one-input operation's tensors.
fn with_output<'a>(input: &'a TensorInfo, output: &'a Option<TensorInfo>) -> Vec<&'a TensorInfo> {
    std::iter::once(input).chain(output).collect()
}

operations! {
    Addition(Elementwise),
    Concatenation(Concatenation),
    Constant(Constant),
    Convolution(Convolution),
    DepthToSpace(DepthToSpace),
    DepthwiseConvolution(Convolution),
    EstimateOnly(EstimateOnly),
    FullyConnected(FullyConnected),
    Input(Unary),
    LeakyRelu(LeakyRelu),
    MeanXy(Unary),
    Multiplication(Elementwise),
    Output(Output),
    Pooling(Pooling),
    ReinterpretQuantization(ReinterpretQuantization),
    Relu(Relu),
    Requantize(Requantize),
    Reshape(Reshape),
    Resize(Resize),
    Sigmoid(Unary),
    Softmax(Unary),
    SpaceToDepth(SpaceToDepth),
    Split(Split),
    StandalonePadding(StandalonePadding),
    Tanh(Unary),
    Transpose(Transpose),
    TransposeConvolution(Convolution),
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u8_tensor(shape: [u32; 4]) -> TensorInfo {
        TensorInfo::new(shape, DataType::U8, QuantInfo::default())
    }

    #[test]
    fn same_padding_matches_the_library_formula() {
        // 5-wide input, 3 kernel, stride 2: P = (3-1)*2 + 3 - 5 = 2 → (1, 1) in every mode.
        let p = Padding::same(
            [1, 5, 5, 1],
            (3, 3),
            Stride::new(2, 2),
            PadMode::PreferAfter,
        );
        assert_eq!(p, Padding::new(1, 1, 1, 1));
        // 4-wide, kernel 2, stride 1: P = 1 → p0 = 1, p1 = 0.
        let input = [1, 4, 4, 1];
        let s1 = Stride::new(1, 1);
        assert_eq!(
            Padding::same(input, (2, 2), s1, PadMode::Symmetric),
            Padding::new(1, 1, 1, 1)
        );
        assert_eq!(
            Padding::same(input, (2, 2), s1, PadMode::PreferBefore),
            Padding::new(1, 0, 1, 0)
        );
        assert_eq!(
            Padding::same(input, (2, 2), s1, PadMode::PreferAfter),
            Padding::new(0, 1, 0, 1)
        );
        // Kernel 1 with stride 2 on an even input needs no padding.
        assert_eq!(
            Padding::same([1, 4, 4, 1], (1, 1), Stride::new(2, 2), PadMode::Symmetric),
            Padding::ZERO
        );
        assert!(Padding::new(0, 1, 0, 1).is_same(input, (2, 2), s1));
        assert!(!Padding::new(0, 1, 1, 0).is_same(input, (2, 2), s1));
    }

    #[test]
    fn from_dims_right_pads_like_tvm() {
        let t = TensorInfo::from_dims(&[1, 8, 8], DataType::I8, QuantInfo::default());
        assert_eq!((t.shape, t.rank), ([1, 8, 8, 1], 3));
        let t = TensorInfo::from_dims(&[1, 3, 85, 20, 20], DataType::I8, QuantInfo::default());
        assert_eq!((t.shape, t.rank), ([1, 3, 85, 20], 5));
    }

    #[test]
    fn convolution_outputs_follow_the_library() {
        let conv = Convolution {
            input: u8_tensor([1, 16, 16, 8]),
            weights: u8_tensor([3, 3, 8, 4]).with_format(DataFormat::Hwio),
            bias: TensorInfo::new([1, 1, 1, 4], DataType::I32, QuantInfo::default()),
            padding: Padding::new(1, 1, 1, 1),
            stride: Stride::new(2, 2),
            output_quant: QuantInfo::new(3, 0.5),
            output: None,
            dilation: [1, 1],
            fused_pad_attribute: None,
            bias_missing: false,
        };
        let out = conv.expected_output();
        assert_eq!(out.shape, [1, 8, 8, 4]);
        assert_eq!(out.quant, QuantInfo::new(3, 0.5));
        // Transpose: (16 - 1)*2 + 3 - 2 = 31.
        assert_eq!(conv.expected_transpose_output().shape, [1, 31, 31, 4]);
        // A kernel larger than the padded input gives an empty output instead of wrapping.
        let big = Convolution {
            weights: u8_tensor([40, 40, 8, 4]).with_format(DataFormat::Hwio),
            ..conv.clone()
        };
        assert_eq!(big.expected_output().shape, [1, 0, 0, 4]);
        // Depthwise: output channels = C · M.
        let dw = Convolution {
            weights: u8_tensor([3, 3, 8, 2]).with_format(DataFormat::Hwim),
            ..conv
        };
        assert_eq!(dw.expected_output().shape[3], 16);
    }

    #[test]
    fn pooling_output_uses_floor_and_wraps_like_u32() {
        let pool = Pooling {
            input: u8_tensor([1, 17, 17, 16]),
            kind: PoolingKind::Max,
            size_x: 3,
            size_y: 3,
            stride: Stride::new(2, 2),
            padding: Padding::ZERO,
            output: None,
        };
        assert_eq!(pool.expected_output().shape, [1, 8, 8, 16]);
        let too_big = Pooling {
            size_x: 20,
            size_y: 20,
            stride: Stride::new(1, 1),
            ..pool
        };
        // (17 - 20) wraps to 2^32 - 3; + 1 = 2^32 - 2.
        assert_eq!(too_big.expected_output().shape[1], u32::MAX - 1);
    }
}
