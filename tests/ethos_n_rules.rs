//! Conformance of the Ethos-N rule table (`npuopt::target::ethos_n`).
//!
//! For every check of every operation, in every release where the check exists, one case that
//! passes it (at the edge of what it accepts, where it has one) and one that fails it, asserting
//! the level, the deciding rule id and the exact reason text. TVM's front-end checks are run in
//! the 23.02 profile (where they are on); the Support Library's with them off, so that a case
//! isolates one library check. A coverage test proves that every record of the table has a case.
//!
//! Then: release differences, hardware-variant differences, TVM's joined messages, and the
//! generated document (`docs/ethos-n-supported-ops.md`, rewritten with `NPUOPT_WRITE_DOCS=1`).

use std::collections::BTreeSet;

use npuopt::target::ethos_n::npu::{
    Concatenation, Constant, Convolution, DataFormat, DataType, DepthToSpace, DepthToSpaceMode,
    Elementwise, EstimateOnly, FullyConnected, LeakyRelu, Operation, PadMode, Padding, Pooling,
    PoolingKind, QuantInfo, ReinterpretQuantization, Relu, Requantize, Reshape, Resize,
    ResizeAlgorithm, SpaceToDepth, Split, StandalonePadding, Stride, TensorInfo, Transpose, Unary,
};
use npuopt::target::ethos_n::rules::{checks, Stage};
use npuopt::target::ethos_n::{check, Profile, Release, Variant};
use npuopt::target::{Level, Verdict};

use Level::{EstimateOnly as E, Supported as S, Unsupported as U};

// ---------------------------------------------------------------------------------------------
// Building blocks

fn q(zero_point: i32, scale: f32) -> QuantInfo {
    QuantInfo::new(zero_point, scale)
}

/// A u8 NHWC activation with quantization (10, 0.5).
fn act(shape: [u32; 4]) -> TensorInfo {
    TensorInfo::new(shape, DataType::U8, q(10, 0.5))
}

fn float32() -> DataType {
    DataType::NotQuantized("float32".to_string())
}

/// One channel more than the default variant (N78_4TOPS_4PLE_RATIO, 1 MiB) holds at W > 1.
const DEEP: u32 = 16385;
const DEEP_REASON: &str = "(1048640 / 1048576)";

fn deep(what: &str) -> String {
    format!("{what}: Tensor max depth cannot fit in SRAM {DEEP_REASON}")
}

/// Only the Support Library's checks.
fn sl(release: Release) -> Profile {
    Profile::new(release).with_tvm_frontend(false)
}

/// TVM parity: release 23.02 with TVM's front-end checks first.
fn tvm() -> Profile {
    Profile::new(Release::R23_02)
}

/// A check exercised by a case: the table record, the verdict it produces, and two edits of the
/// operation's baseline, one passing the check (and every other one), one failing it.
struct Case<T> {
    /// The table record under test.
    check: &'static str,
    /// The rule that decides the verdict: the record itself unless an earlier record reads the
    /// same value (TVM converts some tensors twice; then both messages are joined).
    rule: &'static str,
    level: Level,
    reason: String,
    pass: fn(&mut T),
    fail: fn(&mut T),
}

fn case<T>(
    check: &'static str,
    level: Level,
    reason: impl Into<String>,
    pass: fn(&mut T),
    fail: fn(&mut T),
) -> Case<T> {
    Case {
        check,
        rule: check,
        level,
        reason: reason.into(),
        pass,
        fail,
    }
}

/// A case whose verdict is decided by another record, `rule`.
fn decided_by<T>(rule: &'static str, case: Case<T>) -> Case<T> {
    Case { rule, ..case }
}

/// No edit: the baseline itself passes the check.
fn keep<T>(_: &mut T) {}

fn stage_of(id: &str) -> Stage {
    checks()
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no record {id}"))
        .stage
}

/// The profiles a case runs in: TVM checks in the TVM profile; library checks in every release
/// that has the record.
fn profiles_for(id: &str) -> Vec<Profile> {
    if stage_of(id) != Stage::SupportLibrary {
        return vec![tvm()];
    }
    Release::ALL
        .into_iter()
        .filter(|&r| {
            checks()
                .iter()
                .any(|c| c.id == id && c.releases.contains(r))
        })
        .map(sl)
        .collect()
}

fn summary(v: &Verdict) -> (Level, &'static str, &str) {
    (v.level, v.rule, v.reason.as_str())
}

fn run<T>(base: fn() -> T, wrap: fn(T) -> Operation, cases: &[Case<T>]) {
    for case in cases {
        for profile in profiles_for(case.check) {
            let expected_pass = check(&wrap(base()), &profile);
            let mut op = base();
            (case.pass)(&mut op);
            let passed = check(&wrap(op), &profile);
            assert_eq!(
                passed, expected_pass,
                "{}: the passing case must judge like the baseline in {profile}",
                case.check
            );
            let mut op = base();
            (case.fail)(&mut op);
            let failed = check(&wrap(op), &profile);
            assert_eq!(
                summary(&failed),
                (case.level, case.rule, case.reason.as_str()),
                "{}: the failing case in {profile} ({})",
                case.check,
                failed.details
            );
            assert!(
                !failed.details.is_empty(),
                "{}: no details in {profile}",
                case.check
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Baselines: operations every release (that has the query) supports.

fn conv() -> Convolution {
    let mut c = Convolution {
        input: act([1, 16, 16, 16]),
        weights: TensorInfo::new([3, 3, 16, 32], DataType::U8, q(128, 0.25))
            .with_format(DataFormat::Hwio),
        bias: TensorInfo::new([1, 1, 1, 32], DataType::I32, q(0, 0.125)),
        padding: Padding::new(1, 1, 1, 1),
        stride: Stride::new(1, 1),
        output_quant: q(20, 1.0),
        output: None,
        dilation: [1, 1],
        fused_pad_attribute: None,
        bias_missing: false,
    };
    refresh_conv(&mut c);
    c
}

fn refresh_conv(c: &mut Convolution) {
    c.output = Some(c.expected_output());
}

fn dwconv() -> Convolution {
    let mut c = Convolution {
        weights: TensorInfo::new([3, 3, 16, 1], DataType::U8, q(128, 0.25))
            .with_format(DataFormat::Hwim),
        bias: TensorInfo::new([1, 1, 1, 16], DataType::I32, q(0, 0.125)),
        ..conv()
    };
    refresh_conv(&mut c);
    c
}

fn tconv() -> Convolution {
    let mut c = Convolution {
        input: act([1, 8, 8, 16]),
        stride: Stride::new(2, 2),
        ..conv()
    };
    refresh_tconv(&mut c);
    c
}

fn refresh_tconv(c: &mut Convolution) {
    c.output = Some(c.expected_transpose_output());
}

/// SAME padding of `c` in the given placement, as the library computes it.
fn same(c: &Convolution, mode: PadMode) -> Padding {
    Padding::same(c.input.shape, c.kernel(), c.stride, mode)
}

fn set_kernel(c: &mut Convolution, h: u32, w: u32) {
    c.weights.shape[0] = h;
    c.weights.shape[1] = w;
}

fn per_channel(zero_point: i32, scale: f32, n: usize, axis: u32) -> QuantInfo {
    QuantInfo::per_channel(zero_point, vec![scale; n], axis)
}

fn fc() -> FullyConnected {
    let mut f = FullyConnected {
        input: act([1, 1, 1, 64]),
        weights: TensorInfo::new([1, 1, 64, 10], DataType::U8, q(128, 0.25))
            .with_format(DataFormat::Hwio),
        bias: TensorInfo::new([1, 1, 1, 10], DataType::I32, q(0, 0.125)),
        output_quant: q(20, 1.0),
        output: None,
    };
    f.output = Some(f.expected_output());
    f
}

fn refresh_fc(f: &mut FullyConnected) {
    f.output = Some(f.expected_output());
}

fn relu() -> Relu {
    Relu {
        input: act([1, 8, 8, 16]),
        lower_bound: 10,
        upper_bound: 255,
        output: Some(act([1, 8, 8, 16])),
    }
}

fn leaky_relu() -> LeakyRelu {
    let mut l = LeakyRelu {
        input: act([1, 8, 8, 16]),
        alpha: 0.1,
        output_quant: q(20, 0.25),
        output: None,
    };
    l.output = Some(l.expected_output());
    l
}

fn requantize() -> Requantize {
    let mut r = Requantize {
        input: act([1, 8, 8, 16]),
        output_quant: q(20, 0.25),
        output_dtype: None,
        output: None,
    };
    refresh_requantize(&mut r);
    r
}

fn refresh_requantize(r: &mut Requantize) {
    r.output = Some(r.expected_output());
}

fn reinterpret() -> ReinterpretQuantization {
    let mut r = ReinterpretQuantization {
        input: act([1, 8, 8, 16]),
        output_quant: q(20, 0.25),
        output: None,
    };
    r.output = Some(r.expected_output());
    r
}

fn sigmoid() -> Unary {
    let mut u = Unary {
        input: act([1, 8, 8, 16]),
        output: None,
    };
    u.output = Some(u.expected_sigmoid_output());
    u
}

fn tanh() -> Unary {
    let mut u = Unary {
        input: act([1, 8, 8, 16]),
        output: None,
    };
    u.output = Some(u.expected_tanh_output());
    u
}

fn mean() -> Unary {
    let mut u = Unary {
        input: act([1, 7, 7, 16]),
        output: None,
    };
    u.output = Some(u.expected_mean_output());
    u
}

fn softmax() -> Unary {
    Unary {
        input: act([1, 1, 1, 10]),
        output: None,
    }
}

fn input() -> Unary {
    Unary {
        input: act([1, 8, 8, 16]),
        output: Some(act([1, 8, 8, 16])),
    }
}

/// Max pooling 2×2, stride 2, no padding: one of the five configurations of every release.
fn pool() -> Pooling {
    let mut p = Pooling {
        input: act([1, 16, 16, 16]),
        kind: PoolingKind::Max,
        size_x: 2,
        size_y: 2,
        stride: Stride::new(2, 2),
        padding: Padding::ZERO,
        output: None,
    };
    refresh_pool(&mut p);
    p
}

fn refresh_pool(p: &mut Pooling) {
    p.output = Some(p.expected_output());
}

/// Reconfigures the baseline pooling and its input size, keeping the output consistent.
fn set_pool(p: &mut Pooling, size: u32, stride: u32, padding: Padding, hw: (u32, u32)) {
    p.size_x = size;
    p.size_y = size;
    p.stride = Stride::new(stride, stride);
    p.padding = padding;
    p.input.shape[1] = hw.0;
    p.input.shape[2] = hw.1;
    refresh_pool(p);
}

const PAD_AFTER: Padding = Padding::new(0, 1, 0, 1);
const PAD_1: Padding = Padding::new(1, 1, 1, 1);

fn avg_3x3(p: &mut Pooling, hw: (u32, u32)) {
    p.kind = PoolingKind::Avg;
    set_pool(p, 3, 1, PAD_1, hw);
}

fn reshape() -> Reshape {
    let mut r = Reshape {
        input: act([1, 8, 8, 16]),
        new_shape: [1, 16, 8, 8],
        output: None,
    };
    refresh_reshape(&mut r);
    r
}

fn refresh_reshape(r: &mut Reshape) {
    r.output = Some(r.expected_output());
}

fn concat() -> Concatenation {
    let mut c = Concatenation {
        inputs: vec![
            act([1, 8, 8, 16]),
            TensorInfo::new([1, 8, 8, 32], DataType::U8, q(5, 0.25)),
        ],
        axis: 3,
        output_quant: q(20, 0.5),
        output: None,
    };
    refresh_concat(&mut c);
    c
}

fn refresh_concat(c: &mut Concatenation) {
    c.output = c.expected_output();
}

fn split() -> Split {
    let mut s = Split {
        input: act([1, 8, 8, 48]),
        axis: 3,
        sizes: vec![16, 32],
        outputs: None,
    };
    refresh_split(&mut s);
    s
}

fn refresh_split(s: &mut Split) {
    s.outputs = Some(s.expected_outputs());
}

fn addition() -> Elementwise {
    let mut a = Elementwise {
        input0: act([1, 8, 8, 16]),
        input1: TensorInfo::new([1, 8, 8, 16], DataType::U8, q(5, 0.25)),
        output_quant: q(20, 1.0),
        output: None,
    };
    refresh_elementwise(&mut a);
    a
}

fn refresh_elementwise(a: &mut Elementwise) {
    a.output = Some(a.expected_output());
}

fn depth_to_space() -> DepthToSpace {
    let mut d = DepthToSpace {
        input: act([1, 8, 8, 16]),
        block_size: 2,
        mode: DepthToSpaceMode::Dcr,
        output: None,
    };
    d.output = Some(d.expected_output());
    d
}

fn space_to_depth() -> SpaceToDepth {
    let mut s = SpaceToDepth {
        input: act([1, 8, 8, 4]),
        block_size: 2,
        output: None,
    };
    s.output = Some(s.expected_output());
    s
}

fn transpose() -> Transpose {
    let mut t = Transpose {
        input: act([1, 8, 8, 16]),
        permutation: [0, 2, 3, 1],
        output: None,
    };
    refresh_transpose(&mut t);
    t
}

fn refresh_transpose(t: &mut Transpose) {
    t.output = Some(t.expected_output());
}

fn resize() -> Resize {
    let mut r = Resize {
        input: act([1, 8, 8, 16]),
        algorithm: ResizeAlgorithm::NearestNeighbour,
        new_height: 16,
        new_width: 16,
        output_quant: q(10, 0.5),
        output: None,
    };
    refresh_resize(&mut r);
    r
}

fn refresh_resize(r: &mut Resize) {
    r.output = Some(r.expected_output());
}

fn standalone_padding() -> StandalonePadding {
    let mut p = StandalonePadding {
        input: act([1, 8, 8, 16]),
        padding: PAD_1,
        output: None,
    };
    refresh_standalone_padding(&mut p);
    p
}

fn refresh_standalone_padding(p: &mut StandalonePadding) {
    p.output = Some(p.expected_output());
}

fn output() -> npuopt::target::ethos_n::npu::Output {
    npuopt::target::ethos_n::npu::Output {
        input: act([1, 8, 8, 16]),
        format: DataFormat::Nhwc,
    }
}

fn constant() -> Constant {
    Constant {
        info: TensorInfo::new([1, 8, 8, 16], DataType::U8, q(0, 1.0)),
    }
}

fn estimate_only() -> EstimateOnly {
    EstimateOnly {
        inputs: vec![act([1, 8, 8, 16])],
        declared_outputs: vec![act([1, 4, 4, 16])],
        outputs: Some(vec![act([1, 4, 4, 16])]),
    }
}

// ---------------------------------------------------------------------------------------------
// TVM's shared conversion messages

const TVM_RANK: &str = "dimensions=5, dimensions must be <= 4";
const TVM_BATCH: &str = "batch size=2, batch size must = 1";
const TVM_DTYPE: &str = "dtype='float32', dtype must be either uint8, int8 or int32";

fn twice(message: &str) -> String {
    format!("{message}; {message}")
}

/// An int8 copy of a tensor (zero point moved into range).
fn to_i8(t: &mut TensorInfo) {
    t.dtype = DataType::I8;
    t.quant.zero_point = 0;
}

// ---------------------------------------------------------------------------------------------
// Convolution, depthwise and transpose convolution

/// TVM's convolution pattern without `bias_add` does not match; npuopt's text.
const TVM_BIAS_ADD: &str =
    "qnn.conv2d without nn.bias_add does not match the ethos-n.qnn_conv2d pattern (bias_add is mandatory)";

fn conv_cases() -> Vec<Case<Convolution>> {
    vec![
        // A pattern that does not match is the only reason (the batch error is dropped).
        case("conv.tvm-bias-add", U, TVM_BIAS_ADD, keep, |c| {
            c.bias_missing = true;
            c.input.shape[0] = 2
        }),
        case("conv.tvm-pad-op", U, "both op and attr padding exist, must be either op/attr only or no padding",
            |c| c.fused_pad_attribute = Some(Padding::ZERO),
            |c| c.fused_pad_attribute = Some(Padding::new(1, 0, 0, 0))),
        case("conv.tvm-dilation", U, "dilation=[2, 1], dilation must = [1, 1]", keep, |c| c.dilation = [2, 1]),
        case("conv.tvm-input-rank", U, TVM_RANK, |c| c.input.rank = 3, |c| c.input.rank = 5),
        case("conv.tvm-input-batch", U, TVM_BATCH, keep, |c| c.input.shape[0] = 2),
        case("conv.tvm-input-dtype", U, TVM_DTYPE,
            |c| { to_i8(&mut c.input); refresh_conv(c) },
            |c| c.input.dtype = float32()),
        case("conv.tvm-weights-dtype", U, TVM_DTYPE, |c| to_i8(&mut c.weights), |c| c.weights.dtype = float32()),
        case("conv.tvm-output-rank", U, TVM_RANK, keep, |c| c.output.as_mut().unwrap().rank = 5),
        case("conv.tvm-output-batch", U, TVM_BATCH, keep, |c| c.output.as_mut().unwrap().shape[0] = 2),
        case("conv.tvm-output-dtype", U, TVM_DTYPE, keep, |c| c.output.as_mut().unwrap().dtype = float32()),
        case("conv.batch", U, "Batch size must be 1", keep, |c| c.input.shape[0] = 2),
        case("conv.input-depth", U, deep("Input to conv"),
            |c| { c.input.shape[3] = DEEP - 1; c.weights.shape[2] = DEEP - 1 },
            |c| c.input.shape[3] = DEEP),
        case("conv.input-dtype", U, "Input to conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |c| { to_i8(&mut c.input); refresh_conv(c) },
            |c| c.input.dtype = DataType::I32),
        case("conv.input-format", U, "Input to conv must be NHWC or NHWCB",
            |c| { c.input.format = DataFormat::Nhwcb; refresh_conv(c) },
            |c| c.input.format = DataFormat::Nchw),
        case("conv.weights-dtype", U, "Weight for conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |c| to_i8(&mut c.weights), |c| c.weights.dtype = DataType::I32),
        case("conv.weights-format", U, "Weights for conv must be HWIO", keep, |c| c.weights.format = DataFormat::Hwim),
        case("conv.bias-dtype", U, "Bias for conv must be INT32_QUANTIZED", keep, |c| c.bias.dtype = DataType::U8),
        case("conv.bias-format", U, "Bias for conv must be NHWC", keep, |c| c.bias.format = DataFormat::Nchw),
        case("conv.bias-shape", U, "Invalid bias tensor dimensions", keep, |c| c.bias.shape = [1, 2, 1, 32]),
        case("conv.weights-input-channels", U, "Weights input channels dimension (I) must match Input channels dimension (C)",
            keep, |c| c.weights.shape[2] = 8),
        case("conv.kernel-stride-zero", U, "Invalid kernel/stride parameters", keep, |c| c.stride = Stride::new(0, 1)),
        case("conv.output-empty", U, "Output tensor would be empty",
            |c| { c.input.shape[1] = 3; c.input.shape[2] = 3; c.padding = Padding::ZERO; refresh_conv(c) },
            |c| { c.input.shape[1] = 2; c.padding = Padding::ZERO }),
        case("conv.output-depth", U, deep("Output of conv"),
            |c| { c.weights.shape[3] = DEEP - 1; c.bias.shape[3] = DEEP - 1; refresh_conv(c) },
            |c| { c.weights.shape[3] = DEEP; c.bias.shape[3] = DEEP }),
        case("conv.bias-quant-axis", U, "Convolution: Per channel quantization axis must be 3 for Biases",
            |c| { c.weights.quant = per_channel(128, 0.25, 32, 3); c.bias.quant = per_channel(0, 0.125, 32, 3) },
            |c| c.bias.quant = per_channel(0, 0.125, 32, 2)),
        case("conv.bias-quant-scales", U, "Convolution: Biases must have quantization scales with same number of elements as the quantization dim. Expected: 32, got: 31.",
            keep, |c| c.bias.quant = per_channel(0, 0.125, 31, 3)),
        case("conv.weights-quant-axis", U, "Convolution: Per channel quantization axis must be 3 for Weights",
            keep, |c| c.weights.quant = per_channel(128, 0.25, 16, 2)),
        case("conv.weights-quant-scales", U, "Convolution: Weights must have quantization scales with same number of elements as the quantization dim. Expected: 32, got: 2.",
            keep, |c| c.weights.quant = per_channel(128, 0.25, 2, 3)),
        case("conv.input-quant-dim", U, "Convolution: Quantization Dim should not be used on Input",
            keep, |c| c.input.quant = per_channel(10, 0.5, 16, 3)),
        case("conv.input-quant-scales", U, "Convolution: Input quantization scales must have a size of 1",
            keep, |c| c.input.quant.scales = vec![0.5, 0.5]),
        case("conv.output-quant-dim", U, "Convolution: Quantization Dim should not be used on Output",
            keep, |c| { c.output_quant = per_channel(20, 1.0, 32, 3); refresh_conv(c) }),
        case("conv.output-quant-scales", U, "Convolution: Output quantization scales must have a size of 1",
            keep, |c| { c.output_quant.scales = vec![1.0, 1.0]; refresh_conv(c) }),
        case("conv.output-info", U, "Provided outputInfo is incorrect",
            |c| c.output = Some(act([0, 0, 0, 0])),
            |c| c.output.as_mut().unwrap().quant.zero_point = 21),
        case("conv.weights-zero-point", U, "Zero point out of range for weights info",
            |c| c.weights.quant.zero_point = 255, |c| c.weights.quant.zero_point = 256),
        case("conv.input-zero-point", U, "Zero point out of range for input info",
            |c| c.input.quant.zero_point = 0, |c| c.input.quant.zero_point = -1),
        case("conv.output-zero-point", U, "Zero point out of range for convInfo",
            |c| { c.output_quant.zero_point = 255; refresh_conv(c) },
            |c| { c.output_quant.zero_point = 256; refresh_conv(c) }),
        case("conv.bias-zero-point", E, "Bias for conv must have quantization parameters with zero point of 0",
            keep, |c| c.bias.quant.zero_point = 1),
        case("conv.bias-scale", E, "Bias for conv must have quantization parameters with scale of input scale x weight scale",
            keep, |c| c.bias.quant.scales = vec![0.12]),
        case("conv.kernel-size", E, "Unsupported kernel size. Width(4)/height(3) must be in { 1, 2, 3, 5, 7, 9 }",
            |c| { set_kernel(c, 9, 1); c.padding = same(c, PadMode::PreferAfter); refresh_conv(c) },
            |c| { set_kernel(c, 3, 4); refresh_conv(c) }),
        case("conv.stride", E, "Unsupported stride. Stride X and Y must be equal and in { 1, 2 }",
            |c| { c.stride = Stride::new(2, 2); refresh_conv(c) },
            |c| { c.stride = Stride::new(2, 1); refresh_conv(c) }),
        case("conv.stride-large-kernel", E, "Unsupported stride for kernel width/height > 7. Stride X and Y must be 1",
            |c| { set_kernel(c, 7, 7); c.stride = Stride::new(2, 2); c.padding = same(c, PadMode::Symmetric); refresh_conv(c) },
            |c| { set_kernel(c, 9, 3); c.stride = Stride::new(2, 2); refresh_conv(c) }),
        case("conv.padding", E, "Unsupported padding.",
            |c| { c.stride = Stride::new(2, 2); c.padding = same(c, PadMode::PreferAfter); refresh_conv(c) },
            |c| { c.padding = Padding::new(8, 0, 0, 0); refresh_conv(c) }),
        case("conv.overall-scale", E, "Convolution: Overall scale (of the input * weights / output) should be in the range (2^-32, 65536)",
            |c| { c.output_quant.scales = vec![0.125 / 65535.0]; refresh_conv(c) },
            |c| { c.output_quant.scales = vec![0.125 / 65536.0]; refresh_conv(c) }),
    ]
}

fn dwconv_cases() -> Vec<Case<Convolution>> {
    vec![
        case("dwconv.tvm-bias-add", U, TVM_BIAS_ADD, keep, |c| c.bias_missing = true),
        case("dwconv.tvm-pad-op", U, "both op and attr padding exist, must be either op/attr only or no padding",
            |c| c.fused_pad_attribute = Some(Padding::ZERO),
            |c| c.fused_pad_attribute = Some(Padding::new(0, 0, 0, 2))),
        case("dwconv.tvm-dilation", U, "dilation=[1, 3], dilation must = [1, 1]", keep, |c| c.dilation = [1, 3]),
        case("dwconv.tvm-input-rank", U, TVM_RANK, keep, |c| c.input.rank = 5),
        case("dwconv.tvm-input-batch", U, TVM_BATCH, keep, |c| c.input.shape[0] = 2),
        case("dwconv.tvm-input-dtype", U, TVM_DTYPE, keep, |c| c.input.dtype = float32()),
        case("dwconv.tvm-weights-dtype", U, TVM_DTYPE, |c| to_i8(&mut c.weights), |c| c.weights.dtype = float32()),
        case("dwconv.tvm-output-rank", U, TVM_RANK, keep, |c| c.output.as_mut().unwrap().rank = 5),
        case("dwconv.tvm-output-batch", U, TVM_BATCH, keep, |c| c.output.as_mut().unwrap().shape[0] = 2),
        case("dwconv.tvm-output-dtype", U, TVM_DTYPE, keep, |c| c.output.as_mut().unwrap().dtype = float32()),
        case("dwconv.batch", U, "Batch size must be 1", keep, |c| c.input.shape[0] = 2),
        case("dwconv.input-depth", U, deep("Input to depthwise conv"),
            |c| { c.input.shape[3] = DEEP - 1; c.weights.shape[2] = DEEP - 1; c.bias.shape[3] = DEEP - 1; refresh_conv(c) },
            |c| c.input.shape[3] = DEEP),
        case("dwconv.input-dtype", U, "Input to depthwise conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |c| { to_i8(&mut c.input); refresh_conv(c) }, |c| c.input.dtype = float32()),
        case("dwconv.input-format", U, "Input to depthwise conv must be NHWC OR NHWCB",
            |c| { c.input.format = DataFormat::Nhwcb; refresh_conv(c) }, |c| c.input.format = DataFormat::Nchw),
        case("dwconv.weights-dtype", U, "Weight for conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |c| to_i8(&mut c.weights), |c| c.weights.dtype = DataType::I32),
        case("dwconv.weights-format", U, "Weights for depthwise conv must be HWIM", keep, |c| c.weights.format = DataFormat::Hwio),
        case("dwconv.bias-dtype", U, "Bias for depthwise conv must be INT32_QUANTIZED", keep, |c| c.bias.dtype = DataType::I8),
        case("dwconv.bias-format", U, "Bias for depthwise conv must be NHWC", keep, |c| c.bias.format = DataFormat::Nhwcb),
        case("dwconv.bias-shape", U, "Invalid bias tensor dimensions", keep, |c| c.bias.shape = [1, 1, 1, 32]),
        case("dwconv.weights-input-channels", U, "Weights input channels dimension (I) must match Input channels dimension (C)",
            keep, |c| { c.weights.shape[2] = 8; c.bias.shape[3] = 8 }),
        case("dwconv.kernel-stride-zero", U, "Invalid kernel/stride parameters", keep, |c| set_kernel(c, 0, 3)),
        case("dwconv.output-empty", U, "Output tensor would be empty",
            |c| { c.input.shape[2] = 3; c.padding = Padding::ZERO; refresh_conv(c) },
            |c| { c.input.shape[2] = 2; c.padding = Padding::ZERO }),
        case("dwconv.output-depth", U, deep("Output of depthwise conv"),
            |c| { c.input.shape[3] = 1; c.weights.shape[2] = 1; c.weights.shape[3] = DEEP - 1; c.bias.shape[3] = DEEP - 1; refresh_conv(c) },
            |c| { c.input.shape[3] = 1; c.weights.shape[2] = 1; c.weights.shape[3] = DEEP; c.bias.shape[3] = DEEP }),
        case("dwconv.bias-quant-axis", U, "Depthwise Convolution: Per channel quantization axis must be 3 for Biases",
            |c| { c.weights.quant = per_channel(128, 0.25, 16, 2); c.bias.quant = per_channel(0, 0.125, 16, 3) },
            |c| c.bias.quant = per_channel(0, 0.125, 16, 2)),
        case("dwconv.bias-quant-scales", U, "Depthwise Convolution: Biases must have quantization scales with same number of elements as the quantization dim. Expected: 16, got: 3.",
            keep, |c| c.bias.quant = per_channel(0, 0.125, 3, 3)),
        case("dwconv.weights-quant-axis", U, "Depthwise Convolution: Per channel quantization axis must be 2 for Weights",
            keep, |c| c.weights.quant = per_channel(128, 0.25, 1, 3)),
        case("dwconv.weights-quant-scales", U, "Depthwise Convolution: Weights must have quantization scales with same number of elements as the quantization dim. Expected: 16, got: 3.",
            keep, |c| c.weights.quant = per_channel(128, 0.25, 3, 2)),
        case("dwconv.input-quant-dim", U, "Depthwise Convolution: Quantization Dim should not be used on Input",
            keep, |c| c.input.quant = per_channel(10, 0.5, 16, 3)),
        case("dwconv.input-quant-scales", U, "Depthwise Convolution: Input quantization scales must have a size of 1",
            keep, |c| c.input.quant.scales = vec![]),
        case("dwconv.output-quant-dim", U, "Depthwise Convolution: Quantization Dim should not be used on Output",
            keep, |c| { c.output_quant = per_channel(20, 1.0, 16, 3); refresh_conv(c) }),
        case("dwconv.output-quant-scales", U, "Depthwise Convolution: Output quantization scales must have a size of 1",
            keep, |c| { c.output_quant.scales = vec![1.0, 2.0]; refresh_conv(c) }),
        case("dwconv.output-info", U, "Provided outputInfo is incorrect",
            |c| c.output = None, |c| c.output.as_mut().unwrap().shape[3] = 32),
        case("dwconv.channel-multiplier", E, "If channel multiplier > 1 the weights input channels dimension must be 1",
            |c| { c.input.shape[3] = 1; c.weights.shape[2] = 1; c.weights.shape[3] = 4; c.bias.shape[3] = 4; refresh_conv(c) },
            |c| { c.weights.shape[3] = 2; c.bias.shape[3] = 32; refresh_conv(c) }),
        case("dwconv.weights-zero-point", U, "Zero point out of range for weights info",
            |c| c.weights.quant.zero_point = 0, |c| c.weights.quant.zero_point = -1),
        case("dwconv.input-zero-point", U, "Zero point out of range for input info",
            |c| c.input.quant.zero_point = 255, |c| c.input.quant.zero_point = 256),
        case("dwconv.output-zero-point", U, "Zero point out of range for convInfo",
            |c| { c.output_quant.zero_point = 0; refresh_conv(c) },
            |c| { c.output_quant.zero_point = -1; refresh_conv(c) }),
        // The library only compares the scales here: a non-zero bias zero point passes.
        case("dwconv.bias-scale", E, "Bias for depthwise conv must have quantization parameters with zero point of 0 and scale of input scale x weight scale",
            |c| c.bias.quant.zero_point = 5, |c| c.bias.quant.scales = vec![0.1]),
        case("dwconv.kernel-size", E, "Unsupported kernel size. Width(5)/height(3) must be in { 1, 2, 3, 5, 7, 9 }",
            |c| { set_kernel(c, 9, 9); c.padding = same(c, PadMode::Symmetric); refresh_conv(c) },
            |c| { set_kernel(c, 3, 5); refresh_conv(c) }),
        case("dwconv.stride", E, "Unsupported stride. Stride X and Y must be equal and in { 1, 2 }",
            |c| { c.stride = Stride::new(2, 2); refresh_conv(c) },
            |c| { c.stride = Stride::new(3, 3); refresh_conv(c) }),
        case("dwconv.stride-1x1-kernel", E, "Unsupported stride >1 with kernel size 1x1.",
            |c| { set_kernel(c, 1, 1); c.padding = Padding::ZERO; refresh_conv(c) },
            |c| { set_kernel(c, 1, 1); c.padding = Padding::ZERO; c.stride = Stride::new(2, 2); refresh_conv(c) }),
        case("dwconv.padding", E, "Unsupported padding.",
            |c| { c.padding = Padding::ZERO; refresh_conv(c) },
            |c| { c.padding = Padding::new(0, 0, 9, 0); refresh_conv(c) }),
        case("dwconv.overall-scale", E, "Depthwise Convolution: Overall scale (of the input * weights / output) should be in the range (2^-32, 65536)",
            // 3.2.0 dropped the lower bound of 2^-32 the message still names.
            |c| { c.output_quant.scales = vec![1e30]; refresh_conv(c) },
            |c| { c.output_quant.scales = vec![1e-6]; refresh_conv(c) }),
    ]
}

fn tconv_cases() -> Vec<Case<Convolution>> {
    vec![
        case("tconv.tvm-dilation", U, "dilation=[2, 2], dilation must = [1, 1]", keep, |c| c.dilation = [2, 2]),
        case("tconv.tvm-input-rank", U, TVM_RANK, keep, |c| c.input.rank = 5),
        case("tconv.tvm-input-batch", U, TVM_BATCH, keep, |c| c.input.shape[0] = 2),
        case("tconv.tvm-input-dtype", U, TVM_DTYPE, keep, |c| c.input.dtype = float32()),
        case("tconv.tvm-weights-dtype", U, TVM_DTYPE, keep, |c| c.weights.dtype = float32()),
        case("tconv.tvm-output-rank", U, TVM_RANK, keep, |c| c.output.as_mut().unwrap().rank = 5),
        case("tconv.tvm-output-batch", U, TVM_BATCH, keep, |c| c.output.as_mut().unwrap().shape[0] = 2),
        case("tconv.tvm-output-dtype", U, TVM_DTYPE, keep, |c| c.output.as_mut().unwrap().dtype = float32()),
        case("tconv.batch", U, "Batch size must be 1", keep, |c| c.input.shape[0] = 0),
        case("tconv.input-depth", U, deep("Input to transpose conv"),
            |c| { c.input.shape[3] = DEEP - 1; c.weights.shape[2] = DEEP - 1 },
            |c| c.input.shape[3] = DEEP),
        case("tconv.input-dtype", U, "Input to transpose conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |c| { to_i8(&mut c.input); refresh_tconv(c) }, |c| c.input.dtype = DataType::I32),
        case("tconv.input-format", U, "Input to transpose conv must be NHWC or NHWCB",
            |c| { c.input.format = DataFormat::Nhwcb; refresh_tconv(c) }, |c| c.input.format = DataFormat::Hwio),
        case("tconv.weights-dtype", U, "Weights for transpose conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |c| to_i8(&mut c.weights), |c| c.weights.dtype = DataType::I32),
        case("tconv.weights-format", U, "Weights for transpose conv must be HWIO", keep, |c| c.weights.format = DataFormat::Hwim),
        case("tconv.bias-dtype", U, "Bias for transpose conv must be INT32_QUANTIZED", keep, |c| c.bias.dtype = DataType::U8),
        case("tconv.bias-format", U, "Bias for transpose conv must be NHWC", keep, |c| c.bias.format = DataFormat::Hwio),
        case("tconv.bias-shape", U, "Invalid bias tensor dimensions", keep, |c| c.bias.shape = [1, 1, 1, 16]),
        case("tconv.weights-input-channels", U, "Weights input channels dimension (I) must match Input channels dimension (C)",
            keep, |c| c.weights.shape[2] = 32),
        case("tconv.kernel-stride-zero", U, "Invalid kernel/stride parameters", keep, |c| c.stride = Stride::new(2, 0)),
        case("tconv.output-empty", U, "Output tensor would be empty",
            |c| { c.input.shape[1] = 1; set_kernel(c, 1, 1); c.padding = Padding::ZERO; refresh_tconv(c) },
            |c| { c.input.shape[1] = 1; set_kernel(c, 1, 1); c.padding = Padding::new(1, 0, 0, 0) }),
        case("tconv.output-depth", U, deep("Output of transpose conv"),
            |c| { c.weights.shape[3] = DEEP - 1; c.bias.shape[3] = DEEP - 1; refresh_tconv(c) },
            |c| { c.weights.shape[3] = DEEP; c.bias.shape[3] = DEEP }),
        case("tconv.bias-quant-axis", U, "Transpose Convolution: Per channel quantization axis must be 3 for Biases",
            |c| { c.weights.quant = per_channel(128, 0.25, 32, 3); c.bias.quant = per_channel(0, 0.125, 32, 3) },
            |c| c.bias.quant = per_channel(0, 0.125, 32, 0)),
        case("tconv.bias-quant-scales", U, "Transpose Convolution: Biases must have quantization scales with same number of elements as the quantization dim. Expected: 32, got: 1.",
            keep, |c| c.bias.quant = per_channel(0, 0.125, 1, 3)),
        case("tconv.weights-quant-axis", U, "Transpose Convolution: Per channel quantization axis must be 3 for Weights",
            keep, |c| c.weights.quant = per_channel(128, 0.25, 3, 0)),
        case("tconv.weights-quant-scales", U, "Transpose Convolution: Weights must have quantization scales with same number of elements as the quantization dim. Expected: 32, got: 33.",
            keep, |c| c.weights.quant = per_channel(128, 0.25, 33, 3)),
        case("tconv.input-quant-dim", U, "Transpose Convolution: Quantization Dim should not be used on Input",
            keep, |c| c.input.quant.axis = Some(3)),
        case("tconv.input-quant-scales", U, "Transpose Convolution: Input quantization scales must have a size of 1",
            keep, |c| c.input.quant.scales = vec![0.5, 0.25]),
        case("tconv.output-quant-dim", U, "Transpose Convolution: Quantization Dim should not be used on Output",
            keep, |c| { c.output_quant.axis = Some(3); refresh_tconv(c) }),
        case("tconv.output-quant-scales", U, "Transpose Convolution: Output quantization scales must have a size of 1",
            keep, |c| { c.output_quant.scales = vec![]; refresh_tconv(c) }),
        case("tconv.output-info", U, "Provided outputInfo is incorrect",
            |c| c.output = None, |c| c.output.as_mut().unwrap().shape[1] = 16),
        // Unlike convolution, an out-of-range weight zero point only makes it EstimateOnly.
        case("tconv.weights-zero-point", E, "Zero point out of range for weights info",
            |c| c.weights.quant.zero_point = 0, |c| c.weights.quant.zero_point = 300),
        case("tconv.input-zero-point", U, "Zero point out of range for input info",
            keep, |c| c.input.quant.zero_point = 256),
        case("tconv.output-zero-point", U, "Zero point out of range for convInfo",
            keep, |c| { c.output_quant.zero_point = 256; refresh_tconv(c) }),
        case("tconv.bias-quant", E, "Bias for transpose conv must have quantization parameters with zero point of 0 and scale of input scale x weight scale",
            keep, |c| c.bias.quant.zero_point = -1),
        case("tconv.kernel-size", E, "Unsupported kernel size. Width(3)/height(8) must be in { 1, 2, 3, 5, 7, 9 }",
            |c| { set_kernel(c, 5, 3); c.padding = Padding::new(2, 2, 1, 1); refresh_tconv(c) },
            |c| { set_kernel(c, 8, 3); refresh_tconv(c) }),
        case("tconv.stride", E, "Unsupported stride. Stride X and Y must be equal to 2",
            keep, |c| { c.stride = Stride::new(1, 1); refresh_tconv(c) }),
        case("tconv.padding", E, "Unsupported padding.",
            |c| { c.padding = PAD_AFTER; refresh_tconv(c) },
            |c| { c.padding = Padding::new(8, 0, 0, 0); refresh_tconv(c) }),
        case("tconv.valid-large-kernel", E, "Padding must be SAME for kernel > 7x7.",
            |c| { set_kernel(c, 9, 9); c.padding = Padding::new(4, 4, 4, 4); refresh_tconv(c) },
            |c| { set_kernel(c, 9, 9); c.padding = Padding::ZERO; refresh_tconv(c) }),
        case("tconv.overall-scale", E, "Tranpose Convolution: Overall scale (of the input * weights / output) should be in the range (2^-32, 65536)",
            keep, |c| { c.output_quant.scales = vec![-1.0]; refresh_tconv(c) }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Fully connected and the element-wise / activation family

fn fc_cases() -> Vec<Case<FullyConnected>> {
    vec![
        case("fc.tvm-input-rank", U, TVM_RANK, |f| f.input.rank = 2, |f| f.input.rank = 5),
        case("fc.tvm-input-batch", U, TVM_BATCH, keep, |f| f.input.shape[0] = 2),
        case("fc.tvm-input-dtype", U, TVM_DTYPE, keep, |f| f.input.dtype = float32()),
        case("fc.tvm-weights-dtype", U, TVM_DTYPE, keep, |f| f.weights.dtype = float32()),
        case("fc.tvm-output-rank", U, TVM_RANK, keep, |f| f.output.as_mut().unwrap().rank = 5),
        case("fc.tvm-output-batch", U, TVM_BATCH, keep, |f| f.output.as_mut().unwrap().shape[0] = 2),
        case("fc.tvm-output-dtype", U, TVM_DTYPE, keep, |f| f.output.as_mut().unwrap().dtype = float32()),
        case("fc.batch", U, "Batch size must be 1", keep, |f| f.input.shape[0] = 2),
        // W = 1 always fits: the DMA splits the channels.
        case("fc.input-depth", U, deep("Input to fully connected"),
            |f| { f.input.shape[3] = 100_000; f.weights.shape[2] = 100_000 },
            |f| f.input.shape = [1, 1, 2, DEEP]),
        case("fc.input-dtype", U, "Input to fully connected must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |f| { to_i8(&mut f.input); refresh_fc(f) }, |f| f.input.dtype = DataType::I32),
        case("fc.input-format", U, "Invalid data format. Only NHWC and NHWCB are supported for fully connected",
            |f| { f.input.format = DataFormat::Nhwcb; refresh_fc(f) }, |f| f.input.format = DataFormat::Nchw),
        case("fc.weights-dtype", U, "Weights for fully connected must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |f| to_i8(&mut f.weights), |f| f.weights.dtype = float32()),
        case("fc.weights-format", U, "Weights for fully connected must be HWIO", keep, |f| f.weights.format = DataFormat::Hwim),
        case("fc.weights-hw", U, "Weights tensor must have H and W set to 1 as these dimensions are not needed.",
            keep, |f| f.weights.shape = [1, 3, 64, 10]),
        case("fc.weights-input-channels", U, "Weights tensor must have I dimension equal to the number of channels of the input tensor.",
            keep, |f| f.weights.shape[2] = 63),
        case("fc.bias-dtype", U, "Bias for fully connected must be INT32_QUANTIZED", keep, |f| f.bias.dtype = DataType::U8),
        case("fc.bias-format", U, "Bias for fully connected must be NHWC", keep, |f| f.bias.format = DataFormat::Nchw),
        case("fc.bias-shape", U, "Invalid bias tensor dimensions", keep, |f| f.bias.shape = [1, 1, 1, 11]),
        case("fc.multiple-scales", U, "Multiple quantization scales is not supported for FullyConnected operation",
            keep, |f| f.weights.quant = per_channel(128, 0.25, 10, 3)),
        case("fc.input-quant-dim", U, "Fully Connected: Quantization Dim should not be used on Input",
            keep, |f| f.input.quant.axis = Some(3)),
        case("fc.input-quant-scales", U, "Fully Connected: Input quantization scales must have a size of 1",
            keep, |f| f.input.quant.scales = vec![0.5, 0.5]),
        case("fc.weights-zero-point", E, "Zero point out of range for weights info",
            |f| f.weights.quant.zero_point = 0, |f| f.weights.quant.zero_point = 256),
        case("fc.input-zero-point", U, "Zero point out of range for input info",
            |f| f.input.quant.zero_point = 255, |f| f.input.quant.zero_point = -1),
        case("fc.output-zero-point", U, "Zero point out of range for fullyConnectedInfo",
            keep, |f| { f.output_quant.zero_point = -5; refresh_fc(f) }),
        case("fc.output-info", U, "Provided outputInfo is incorrect",
            |f| f.output = None, |f| f.output.as_mut().unwrap().shape[3] = 11),
        case("fc.input-shape", E, "Input to fully connected is expected to be one dimensional using the channels dimension.",
            keep, |f| f.input.shape = [1, 2, 2, 16]),
        case("fc.bias-quant", E, "Bias for fully connected must have quantization parameters with zero point of 0 and scale of input scale x weight scale",
            keep, |f| f.bias.quant.scales = vec![0.1]),
        case("fc.overall-scale", E, "Fully Connected: Overall scale (of the input * weights / output) should be in the range (2^-32, 65536)",
            |f| { f.output_quant.scales = vec![0.125 / 65535.0]; refresh_fc(f) },
            |f| { f.output_quant.scales = vec![0.125 / 65536.0]; refresh_fc(f) }),
    ]
}

fn relu_cases() -> Vec<Case<Relu>> {
    vec![
        case("relu.tvm-input-rank", U, TVM_RANK, keep, |r| {
            r.input.rank = 5
        }),
        case("relu.tvm-input-batch", U, TVM_BATCH, keep, |r| {
            r.input.shape[0] = 2
        }),
        case("relu.tvm-input-dtype", U, TVM_DTYPE, keep, |r| {
            r.input.dtype = float32()
        }),
        case("relu.tvm-output-rank", U, TVM_RANK, keep, |r| {
            r.output.as_mut().unwrap().rank = 5
        }),
        case("relu.tvm-output-batch", U, TVM_BATCH, keep, |r| {
            r.output.as_mut().unwrap().shape[0] = 2
        }),
        case("relu.tvm-output-dtype", U, TVM_DTYPE, keep, |r| {
            r.output.as_mut().unwrap().dtype = float32()
        }),
        case("relu.batch", U, "Batch size must be 1", keep, |r| {
            r.input.shape[0] = 2
        }),
        case(
            "relu.input-depth",
            U,
            deep("Input to relu"),
            |r| {
                r.input.shape[3] = DEEP - 1;
                r.output = Some(r.input.clone())
            },
            |r| r.input.shape[3] = DEEP,
        ),
        case(
            "relu.bounds",
            U,
            "Relu has lower bound > upper bound",
            |r| r.upper_bound = r.lower_bound,
            |r| r.lower_bound = 256,
        ),
        case(
            "relu.input-dtype",
            U,
            "Input to relu must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |r| {
                to_i8(&mut r.input);
                r.output = Some(r.input.clone())
            },
            |r| r.input.dtype = DataType::I32,
        ),
        case(
            "relu.input-format",
            U,
            "Input to relu must be NHWC or NHWCB",
            |r| {
                r.input.format = DataFormat::Nhwcb;
                r.output = Some(r.input.clone())
            },
            |r| r.input.format = DataFormat::Nchw,
        ),
        case(
            "relu.input-quant-dim",
            U,
            "Relu: Quantization Dim should not be used on Input",
            keep,
            |r| r.input.quant.axis = Some(3),
        ),
        case(
            "relu.input-quant-scales",
            U,
            "Relu: Input quantization scales must have a size of 1",
            keep,
            |r| r.input.quant.scales = vec![0.5, 0.5],
        ),
        case(
            "relu.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |r| r.input.quant.zero_point = 256,
        ),
        // The output must be the input, quantization included.
        case(
            "relu.output-info",
            U,
            "Provided outputInfo is incorrect",
            |r| r.output = None,
            |r| r.output.as_mut().unwrap().quant = q(10, 0.25),
        ),
    ]
}

fn leaky_relu_cases() -> Vec<Case<LeakyRelu>> {
    vec![
        // TVM reads the quantize's type twice, as the input and as the output.
        case(
            "leaky-relu.tvm-quantize-rank",
            U,
            twice(TVM_RANK),
            keep,
            |l| l.output.as_mut().unwrap().rank = 5,
        ),
        case(
            "leaky-relu.tvm-quantize-batch",
            U,
            twice(TVM_BATCH),
            keep,
            |l| l.output.as_mut().unwrap().shape[0] = 2,
        ),
        case(
            "leaky-relu.tvm-quantize-dtype",
            U,
            twice(TVM_DTYPE),
            keep,
            |l| l.output.as_mut().unwrap().dtype = float32(),
        ),
        case(
            "leaky-relu.tvm-alpha",
            U,
            "leaky relu alpha must be less than 1 and greater than 0, but was 1.5",
            |l| l.alpha = 0.999,
            |l| l.alpha = 1.5,
        ),
        decided_by(
            "leaky-relu.tvm-quantize-rank",
            case(
                "leaky-relu.tvm-output-rank",
                U,
                twice("dimensions=6, dimensions must be <= 4"),
                keep,
                |l| l.output.as_mut().unwrap().rank = 6,
            ),
        ),
        decided_by(
            "leaky-relu.tvm-quantize-batch",
            case(
                "leaky-relu.tvm-output-batch",
                U,
                twice("batch size=3, batch size must = 1"),
                keep,
                |l| l.output.as_mut().unwrap().shape[0] = 3,
            ),
        ),
        decided_by(
            "leaky-relu.tvm-quantize-dtype",
            case(
                "leaky-relu.tvm-output-dtype",
                U,
                twice("dtype='int16', dtype must be either uint8, int8 or int32"),
                keep,
                |l| l.output.as_mut().unwrap().dtype = DataType::NotQuantized("int16".to_string()),
            ),
        ),
        case("leaky-relu.batch", U, "Batch size must be 1", keep, |l| {
            l.input.shape[0] = 2
        }),
        case(
            "leaky-relu.input-depth",
            U,
            deep("Input to leaky relu"),
            |l| {
                l.input.shape[3] = DEEP - 1;
                l.output = Some(l.expected_output())
            },
            |l| l.input.shape[3] = DEEP,
        ),
        case(
            "leaky-relu.input-dtype",
            U,
            "Input to leaky relu must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |l| l.input.dtype = DataType::I32,
        ),
        case(
            "leaky-relu.input-format",
            U,
            "Input to leaky relu must be NHWC or NHWCB",
            keep,
            |l| l.input.format = DataFormat::Hwim,
        ),
        case(
            "leaky-relu.input-quant-dim",
            U,
            "Leaky Relu: Quantization Dim should not be used on Input",
            keep,
            |l| l.input.quant.axis = Some(0),
        ),
        case(
            "leaky-relu.input-quant-scales",
            U,
            "Leaky Relu: Input quantization scales must have a size of 1",
            keep,
            |l| l.input.quant.scales = vec![],
        ),
        case(
            "leaky-relu.output-quant-dim",
            U,
            "Leaky Relu: Quantization Dim should not be used on Output",
            keep,
            |l| {
                l.output_quant.axis = Some(3);
                l.output = Some(l.expected_output())
            },
        ),
        case(
            "leaky-relu.output-quant-scales",
            U,
            "Leaky Relu: Output quantization scales must have a size of 1",
            keep,
            |l| {
                l.output_quant.scales = vec![0.25, 0.5];
                l.output = Some(l.expected_output())
            },
        ),
        case(
            "leaky-relu.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |l| l.input.quant.zero_point = -1,
        ),
        case(
            "leaky-relu.output-zero-point",
            U,
            "Zero point out of range for leakyReluInfo",
            |l| {
                l.output_quant.zero_point = 255;
                l.output = Some(l.expected_output())
            },
            |l| {
                l.output_quant.zero_point = 256;
                l.output = Some(l.expected_output())
            },
        ),
        // The output quantization is free, but must be the one given in the info.
        case(
            "leaky-relu.output-info",
            U,
            "Provided outputInfo is incorrect",
            |l| l.output = None,
            |l| l.output.as_mut().unwrap().quant = q(10, 0.5),
        ),
        case(
            "leaky-relu.alpha",
            E,
            "Leaky relu alpha must be less than 1 and greater than 0",
            |l| l.alpha = 1e-6,
            |l| l.alpha = 0.0,
        ),
    ]
}

fn requantize_cases() -> Vec<Case<Requantize>> {
    vec![
        case("requantize.tvm-input-rank", U, TVM_RANK, keep, |r| {
            r.input.rank = 5
        }),
        case("requantize.tvm-input-batch", U, TVM_BATCH, keep, |r| {
            r.input.shape[0] = 2
        }),
        case("requantize.tvm-input-dtype", U, TVM_DTYPE, keep, |r| {
            r.input.dtype = float32()
        }),
        case("requantize.tvm-output-rank", U, TVM_RANK, keep, |r| {
            r.output.as_mut().unwrap().rank = 5
        }),
        case("requantize.tvm-output-batch", U, TVM_BATCH, keep, |r| {
            r.output.as_mut().unwrap().shape[0] = 2
        }),
        case("requantize.tvm-output-dtype", U, TVM_DTYPE, keep, |r| {
            r.output.as_mut().unwrap().dtype = float32()
        }),
        case("requantize.batch", U, "Batch size must be 1", keep, |r| {
            r.input.shape[0] = 2
        }),
        case(
            "requantize.input-depth",
            U,
            deep("Input to requantize"),
            |r| {
                r.input.shape[3] = DEEP - 1;
                refresh_requantize(r)
            },
            |r| r.input.shape[3] = DEEP,
        ),
        case(
            "requantize.input-dtype",
            U,
            "Input to requantize must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |r| {
                to_i8(&mut r.input);
                r.output_quant.zero_point = -20;
                refresh_requantize(r)
            },
            |r| r.input.dtype = DataType::I32,
        ),
        case(
            "requantize.input-format",
            U,
            "Input to requantize must be NHWC or NHWCB",
            keep,
            |r| r.input.format = DataFormat::Nchw,
        ),
        case(
            "requantize.input-quant-dim",
            U,
            "Requantize: Quantization Dim should not be used on Input",
            keep,
            |r| r.input.quant.axis = Some(3),
        ),
        case(
            "requantize.input-quant-scales",
            U,
            "Requantize: Input quantization scales must have a size of 1",
            keep,
            |r| r.input.quant.scales = vec![0.5, 0.5],
        ),
        case(
            "requantize.output-quant-dim",
            U,
            "Requantize: Quantization Dim should not be used on Output",
            keep,
            |r| {
                r.output_quant.axis = Some(3);
                refresh_requantize(r)
            },
        ),
        case(
            "requantize.output-quant-scales",
            U,
            "Requantize: Output quantization scales must have a size of 1",
            keep,
            |r| {
                r.output_quant.scales = vec![0.25, 0.25];
                refresh_requantize(r)
            },
        ),
        // An identity convolution with weight scale 1/128: output scale > input scale / 128.
        case(
            "requantize.scale",
            E,
            "Output scale must be bigger than input scale / 128",
            |r| {
                r.output_quant.scales = vec![0.5 / 127.0];
                refresh_requantize(r)
            },
            |r| {
                r.output_quant.scales = vec![0.5 / 128.0];
                refresh_requantize(r)
            },
        ),
        case(
            "requantize.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |r| r.input.quant.zero_point = 256,
        ),
        // u8 → i8: the output zero point is checked against the output type.
        case(
            "requantize.output-zero-point",
            U,
            "Zero point out of range for requantizeInfo",
            |r| {
                r.output_dtype = Some(DataType::I8);
                r.output_quant.zero_point = -128;
                refresh_requantize(r)
            },
            |r| {
                r.output_dtype = Some(DataType::I8);
                r.output_quant.zero_point = 128;
                refresh_requantize(r)
            },
        ),
        case(
            "requantize.output-dtype",
            U,
            "Expected quantization output must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |r| {
                r.output_dtype = Some(DataType::U8);
                refresh_requantize(r)
            },
            |r| {
                r.output_dtype = Some(DataType::I32);
                refresh_requantize(r)
            },
        ),
        case(
            "requantize.output-info",
            U,
            "Provided outputInfo is incorrect",
            |r| r.output = None,
            |r| r.output.as_mut().unwrap().dtype = DataType::I8,
        ),
    ]
}

fn reinterpret_cases() -> Vec<Case<ReinterpretQuantization>> {
    vec![
        case("reinterpret.tvm-input-rank", U, TVM_RANK, keep, |r| {
            r.input.rank = 5
        }),
        case("reinterpret.tvm-input-batch", U, TVM_BATCH, keep, |r| {
            r.input.shape[0] = 2
        }),
        case("reinterpret.tvm-input-dtype", U, TVM_DTYPE, keep, |r| {
            r.input.dtype = float32()
        }),
        case("reinterpret.tvm-output-rank", U, TVM_RANK, keep, |r| {
            r.output.as_mut().unwrap().rank = 5
        }),
        case("reinterpret.tvm-output-batch", U, TVM_BATCH, keep, |r| {
            r.output.as_mut().unwrap().shape[0] = 2
        }),
        case("reinterpret.tvm-output-dtype", U, TVM_DTYPE, keep, |r| {
            r.output.as_mut().unwrap().dtype = float32()
        }),
        case("reinterpret.batch", U, "Batch size must be 1", keep, |r| {
            r.input.shape[0] = 2
        }),
        case(
            "reinterpret.input-depth",
            U,
            deep("Input to reinterpret quantization"),
            |r| {
                r.input.shape[3] = DEEP - 1;
                r.output = Some(r.expected_output())
            },
            |r| r.input.shape[3] = DEEP,
        ),
        case(
            "reinterpret.input-dtype",
            U,
            "Input to reinterpret quantization must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |r| r.input.dtype = float32(),
        ),
        case(
            "reinterpret.input-format",
            U,
            "Input to reinterpret quantization must be NHWC or NHWCB",
            keep,
            |r| r.input.format = DataFormat::Nchw,
        ),
        case(
            "reinterpret.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |r| r.input.quant.zero_point = 256,
        ),
        case(
            "reinterpret.output-zero-point",
            U,
            "Zero point out of range for reinterpretQuantizationInfo",
            keep,
            |r| {
                r.output_quant.zero_point = -1;
                r.output = Some(r.expected_output())
            },
        ),
        case(
            "reinterpret.output-info",
            U,
            "Provided outputInfo is incorrect",
            |r| r.output = None,
            |r| r.output.as_mut().unwrap().quant = q(10, 0.5),
        ),
    ]
}

fn sigmoid_cases() -> Vec<Case<Unary>> {
    vec![
        case("sigmoid.tvm-input-rank", U, TVM_RANK, keep, |u| {
            u.input.rank = 5
        }),
        case("sigmoid.tvm-input-batch", U, TVM_BATCH, keep, |u| {
            u.input.shape[0] = 2
        }),
        case("sigmoid.tvm-input-dtype", U, TVM_DTYPE, keep, |u| {
            u.input.dtype = float32()
        }),
        // TVM compares the output quantization exactly, before the library sees it.
        case(
            "sigmoid.tvm-output-quant",
            U,
            "output quantization params=(3, 1), must = (0, 1/256)",
            |u| {
                to_i8(&mut u.input);
                u.output = Some(u.expected_sigmoid_output())
            },
            |u| u.output.as_mut().unwrap().quant = q(3, 1.0),
        ),
        case("sigmoid.tvm-output-rank", U, TVM_RANK, keep, |u| {
            u.output.as_mut().unwrap().rank = 5
        }),
        case("sigmoid.tvm-output-batch", U, TVM_BATCH, keep, |u| {
            u.output.as_mut().unwrap().shape[0] = 2
        }),
        case("sigmoid.tvm-output-dtype", U, TVM_DTYPE, keep, |u| {
            u.output.as_mut().unwrap().dtype = float32()
        }),
        case("sigmoid.batch", U, "Batch size must be 1", keep, |u| {
            u.input.shape[0] = 2
        }),
        case(
            "sigmoid.input-depth",
            U,
            deep("Input to sigmoid layer"),
            |u| {
                u.input.shape[3] = DEEP - 1;
                u.output = Some(u.expected_sigmoid_output())
            },
            |u| u.input.shape[3] = DEEP,
        ),
        case(
            "sigmoid.input-dtype",
            U,
            "Input to sigmoid layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |u| u.input.dtype = DataType::I32,
        ),
        case(
            "sigmoid.input-quant-dim",
            U,
            "Sigmoid: Quantization Dim should not be used on Input",
            keep,
            |u| u.input.quant.axis = Some(3),
        ),
        case(
            "sigmoid.input-quant-scales",
            U,
            "Sigmoid: Input quantization scales must have a size of 1",
            keep,
            |u| u.input.quant.scales = vec![0.5, 0.5],
        ),
        case(
            "sigmoid.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |u| u.input.quant.zero_point = 256,
        ),
        // The output quantization is fixed: 1/256 with zero point 0 (u8) or -128 (i8).
        case(
            "sigmoid.output-info",
            U,
            "Provided outputInfo is incorrect",
            |u| u.output = None,
            |u| u.output.as_mut().unwrap().quant = q(0, 1.0 / 255.0),
        ),
    ]
}

fn tanh_cases() -> Vec<Case<Unary>> {
    let quant_dtype = format!(
        "{TVM_DTYPE}; output quantization params=(128, 0.0078125), must = (0, 1/256); {TVM_DTYPE}"
    );
    vec![
        // TVM reads the quantize's type twice, as the input and as the output.
        case("tanh.tvm-quantize-rank", U, twice(TVM_RANK), keep, |u| {
            u.output.as_mut().unwrap().rank = 5
        }),
        case("tanh.tvm-quantize-batch", U, twice(TVM_BATCH), keep, |u| {
            u.output.as_mut().unwrap().shape[0] = 2
        }),
        // A float result is not unsigned, so TVM also expects zero point 0.
        case(
            "tanh.tvm-quantize-dtype",
            U,
            quant_dtype.clone(),
            keep,
            |u| u.output.as_mut().unwrap().dtype = float32(),
        ),
        // The check is 1/128; TVM's message says 1/256.
        case(
            "tanh.tvm-output-quant",
            U,
            "output quantization params=(64, 0.0078125), must = (128, 1/256)",
            |u| {
                to_i8(&mut u.input);
                u.output = Some(u.expected_tanh_output())
            },
            |u| u.output.as_mut().unwrap().quant = q(64, 0.0078125),
        ),
        decided_by(
            "tanh.tvm-quantize-rank",
            case("tanh.tvm-output-rank", U, twice(TVM_RANK), keep, |u| {
                u.output.as_mut().unwrap().rank = 5
            }),
        ),
        decided_by(
            "tanh.tvm-quantize-batch",
            case("tanh.tvm-output-batch", U, twice(TVM_BATCH), keep, |u| {
                u.output.as_mut().unwrap().shape[0] = 2
            }),
        ),
        decided_by(
            "tanh.tvm-quantize-dtype",
            case("tanh.tvm-output-dtype", U, quant_dtype, keep, |u| {
                u.output.as_mut().unwrap().dtype = float32()
            }),
        ),
        case("tanh.batch", U, "Batch size must be 1", keep, |u| {
            u.input.shape[0] = 2
        }),
        case(
            "tanh.input-depth",
            U,
            deep("Input to tanh layer"),
            |u| {
                u.input.shape[3] = DEEP - 1;
                u.output = Some(u.expected_tanh_output())
            },
            |u| u.input.shape[3] = DEEP,
        ),
        case(
            "tanh.input-dtype",
            U,
            "Input to tanh layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |u| u.input.dtype = DataType::I32,
        ),
        case(
            "tanh.input-quant-dim",
            U,
            "tanh: Quantization Dim should not be used on Input",
            keep,
            |u| u.input.quant.axis = Some(3),
        ),
        case(
            "tanh.input-quant-scales",
            U,
            "tanh: Input quantization scales must have a size of 1",
            keep,
            |u| u.input.quant.scales = vec![0.5, 0.5],
        ),
        case(
            "tanh.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |u| u.input.quant.zero_point = -1,
        ),
        case(
            "tanh.output-info",
            U,
            "Provided outputInfo is incorrect",
            |u| u.output = None,
            |u| u.output.as_mut().unwrap().quant = q(128, 1.0 / 256.0),
        ),
    ]
}

fn mean_cases() -> Vec<Case<Unary>> {
    vec![
        case("mean.tvm-input-rank", U, TVM_RANK, keep, |u| {
            u.input.rank = 5
        }),
        case("mean.tvm-input-batch", U, TVM_BATCH, keep, |u| {
            u.input.shape[0] = 2
        }),
        case("mean.tvm-input-dtype", U, TVM_DTYPE, keep, |u| {
            u.input.dtype = float32()
        }),
        // TVM converts the output type twice.
        case("mean.tvm-output-rank", U, twice(TVM_RANK), keep, |u| {
            u.output.as_mut().unwrap().rank = 5
        }),
        case("mean.tvm-output-batch", U, twice(TVM_BATCH), keep, |u| {
            u.output.as_mut().unwrap().shape[0] = 2
        }),
        case("mean.tvm-output-dtype", U, twice(TVM_DTYPE), keep, |u| {
            u.output.as_mut().unwrap().dtype = float32()
        }),
        decided_by(
            "mean.tvm-output-rank",
            case("mean.tvm-output-info-rank", U, twice(TVM_RANK), keep, |u| {
                u.output.as_mut().unwrap().rank = 5
            }),
        ),
        decided_by(
            "mean.tvm-output-batch",
            case(
                "mean.tvm-output-info-batch",
                U,
                twice(TVM_BATCH),
                keep,
                |u| u.output.as_mut().unwrap().shape[0] = 2,
            ),
        ),
        decided_by(
            "mean.tvm-output-dtype",
            case(
                "mean.tvm-output-info-dtype",
                U,
                twice(TVM_DTYPE),
                keep,
                |u| u.output.as_mut().unwrap().dtype = float32(),
            ),
        ),
        case("mean.batch", U, "Batch size must be 1", keep, |u| {
            u.input.shape[0] = 2
        }),
        case(
            "mean.input-depth",
            U,
            deep("Input to MeanXy layer"),
            keep,
            |u| u.input.shape[3] = DEEP,
        ),
        case(
            "mean.input-dtype",
            U,
            "Input to MeanXy layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |u| {
                to_i8(&mut u.input);
                u.output = Some(u.expected_mean_output())
            },
            |u| u.input.dtype = DataType::I32,
        ),
        case(
            "mean.input-quant-dim",
            U,
            "Mean: Quantization Dim should not be used on Input",
            keep,
            |u| u.input.quant.axis = Some(3),
        ),
        case(
            "mean.input-quant-scales",
            U,
            "Mean: Input quantization scales must have a size of 1",
            keep,
            |u| u.input.quant.scales = vec![0.5, 0.5],
        ),
        case(
            "mean.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |u| u.input.quant.zero_point = 256,
        ),
        case(
            "mean.size",
            U,
            "MeanXy is supported for 7x7 and 8x8 as HeightxWidth only",
            |u| {
                u.input.shape = [1, 8, 8, 16];
                u.output = Some(u.expected_mean_output())
            },
            |u| u.input.shape = [1, 8, 7, 16],
        ),
        // The output keeps the input's quantization: a mean that requantizes is refused.
        case(
            "mean.output-info",
            U,
            "Provided outputInfo is incorrect",
            |u| u.output = None,
            |u| u.output.as_mut().unwrap().quant = q(20, 0.5),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Pooling

fn pool_cases() -> Vec<Case<Pooling>> {
    vec![
        case("pool.tvm-input-rank", U, TVM_RANK, keep, |p| p.input.rank = 5),
        case("pool.tvm-input-batch", U, TVM_BATCH, keep, |p| p.input.shape[0] = 2),
        case("pool.tvm-input-dtype", U, TVM_DTYPE, keep, |p| p.input.dtype = float32()),
        // TVM returns the layout error alone, dropping the ones found before it.
        case("pool.tvm-layout", U, "data format=NCHW, data format must = NHWC",
            keep, |p| { p.input.format = DataFormat::Nchw; p.input.shape[0] = 2 }),
        case("pool.tvm-output-rank", U, TVM_RANK, keep, |p| p.output.as_mut().unwrap().rank = 5),
        case("pool.tvm-output-batch", U, TVM_BATCH, keep, |p| p.output.as_mut().unwrap().shape[0] = 2),
        case("pool.tvm-output-dtype", U, TVM_DTYPE, keep, |p| p.output.as_mut().unwrap().dtype = float32()),
        case("pool.batch", U, "Batch size must be 1", keep, |p| p.input.shape[0] = 2),
        case("pool.input-depth", U, deep("Input to pooling layer"),
            |p| { p.input.shape[3] = DEEP - 1; refresh_pool(p) }, |p| p.input.shape[3] = DEEP),
        case("pool.input-dtype", U, "Input to pooling layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |p| { to_i8(&mut p.input); refresh_pool(p) }, |p| p.input.dtype = DataType::I32),
        case("pool.size-stride-zero", U, "Invalid pooling size/stride", keep, |p| p.stride = Stride::new(2, 0)),
        case("pool.input-quant-dim", U, "Pooling: Quantization Dim should not be used on Input",
            keep, |p| p.input.quant.axis = Some(3)),
        case("pool.input-quant-scales", U, "Pooling: Input quantization scales must have a size of 1",
            keep, |p| p.input.quant.scales = vec![0.5, 0.5]),
        case("pool.input-zero-point", U, "Zero point out of range for input info",
            keep, |p| p.input.quant.zero_point = 256),
        // The library's output size uses floor; a ceil-mode output is refused.
        case("pool.output-info", U, "Provided outputInfo is incorrect",
            |p| p.output = None,
            |p| { set_pool(p, 3, 2, Padding::ZERO, (17, 17)); p.output.as_mut().unwrap().shape[1] = 9 }),
        case("pool.avg-config", E, "Unsupported configuration in AVG pooling",
            |p| avg_3x3(p, (16, 16)),
            |p| { p.kind = PoolingKind::Avg; refresh_pool(p) }),
        // N78_4TOPS_4PLE_RATIO: 64 KiB per EMC, 16 SRAMs; C > 16 → at most 15360 = 120 × 128.
        case("pool.avg-3x3-sram", E, "AVG pooling 3x3_1_1: maximum input width x height cannot fit into SRAM",
            |p| { p.input.shape[3] = 17; avg_3x3(p, (120, 128)) },
            |p| { p.input.shape[3] = 17; avg_3x3(p, (121, 128)) }),
        case("pool.max-config", E, "Unsupported configuration in Max pooling",
            |p| set_pool(p, 3, 2, Padding::ZERO, (17, 17)),
            |p| set_pool(p, 3, 1, PAD_1, (16, 16))),
        case("pool.max-stride", E, "Unsupported stride for max pooling - must be 1,1 or 2,2",
            |p| set_pool(p, 3, 1, PAD_1, (16, 16)),
            |p| set_pool(p, 3, 3, Padding::ZERO, (16, 16))),
        case("pool.max-stride2-config", E, "Unsupported configuration in Max pooling with stride 2",
            |p| set_pool(p, 1, 2, Padding::ZERO, (16, 16)),
            |p| set_pool(p, 4, 2, Padding::ZERO, (16, 16))),
        case("pool.max-2x2-even", E, "Max pooling 2x2_2_2 with no padding: input sizes must be even",
            keep, |p| set_pool(p, 2, 2, Padding::ZERO, (16, 15))),
        case("pool.max-2x2-odd", E, "Max pooling 2x2_2_2 with padding: input sizes must be odd",
            |p| set_pool(p, 2, 2, PAD_AFTER, (15, 15)),
            |p| set_pool(p, 2, 2, PAD_AFTER, (15, 16))),
        case("pool.max-3x3-width", E, "Max pooling 3x3_2_2: maximum input width (417) exceeded",
            |p| set_pool(p, 3, 2, Padding::ZERO, (17, 417)),
            |p| set_pool(p, 3, 2, Padding::ZERO, (17, 419))),
        case("pool.max-3x3-odd", E, "Max pooling 3x3_2_2 with no padding: input sizes must be odd",
            |p| set_pool(p, 3, 2, Padding::ZERO, (17, 17)),
            |p| set_pool(p, 3, 2, Padding::ZERO, (16, 17))),
        case("pool.max-3x3-even", E, "Max pooling 3x3_2_2 with padding: input sizes must be even",
            |p| set_pool(p, 3, 2, PAD_AFTER, (16, 16)),
            |p| set_pool(p, 3, 2, PAD_AFTER, (16, 17))),
        case("pool.max-stride1-config", E, "Unsupported pooling size and padding for max pooling with stride 1 - must be VALID with size <= 9 or SAME with size <= 17",
            |p| set_pool(p, 17, 1, Padding::new(8, 8, 8, 8), (32, 32)),
            |p| set_pool(p, 10, 1, Padding::ZERO, (32, 32))),
        case("pool.max-stride1-size", E, "Input tensor for max pooling with stride 1 is too large - width and height are limited to 4080",
            |p| set_pool(p, 3, 1, PAD_1, (8, 4080)),
            |p| set_pool(p, 3, 1, PAD_1, (8, 4081))),
        case("pool.max-input-size", E, "Input size must not be smaller than the pooling size",
            |p| set_pool(p, 3, 2, Padding::ZERO, (3, 3)),
            |p| set_pool(p, 3, 2, Padding::ZERO, (1, 1))),
    ]
}

// ---------------------------------------------------------------------------------------------
// Shape operations

fn reshape_cases() -> Vec<Case<Reshape>> {
    vec![
        case("reshape.tvm-input-rank", U, TVM_RANK, keep, |r| {
            r.input.rank = 5
        }),
        case("reshape.tvm-input-batch", U, TVM_BATCH, keep, |r| {
            r.input.shape[0] = 2
        }),
        case("reshape.tvm-input-dtype", U, TVM_DTYPE, keep, |r| {
            r.input.dtype = float32()
        }),
        // The new shape is the output's: TVM converts it as a shape and then as a type.
        case(
            "reshape.tvm-new-shape-rank",
            U,
            twice(TVM_RANK),
            keep,
            |r| r.output.as_mut().unwrap().rank = 5,
        ),
        case(
            "reshape.tvm-new-shape-batch",
            U,
            twice(TVM_BATCH),
            keep,
            |r| {
                r.new_shape[0] = 2;
                refresh_reshape(r)
            },
        ),
        decided_by(
            "reshape.tvm-new-shape-rank",
            case(
                "reshape.tvm-output-rank",
                U,
                twice("dimensions=7, dimensions must be <= 4"),
                keep,
                |r| r.output.as_mut().unwrap().rank = 7,
            ),
        ),
        case("reshape.tvm-output-batch", U, TVM_BATCH, keep, |r| {
            r.output.as_mut().unwrap().shape[0] = 2
        }),
        case("reshape.tvm-output-dtype", U, TVM_DTYPE, keep, |r| {
            r.output.as_mut().unwrap().dtype = float32()
        }),
        case("reshape.batch", U, "Batch size must be 1", keep, |r| {
            r.new_shape = [2, 8, 8, 8];
            refresh_reshape(r)
        }),
        case(
            "reshape.input-depth",
            U,
            deep("Input to reshape"),
            |r| {
                r.input.shape = [1, 1, 2, DEEP - 1];
                r.new_shape = [1, 2, 1, DEEP - 1];
                refresh_reshape(r)
            },
            |r| {
                r.input.shape = [1, 1, 2, DEEP];
                r.new_shape = [1, 2, 1, DEEP];
                refresh_reshape(r)
            },
        ),
        case(
            "reshape.elements",
            U,
            "Total elements in the input doesn't match new dimensions",
            |r| {
                r.new_shape = [1, 1, 1, 1024];
                refresh_reshape(r)
            },
            |r| {
                r.new_shape = [1, 1, 1, 1025];
                refresh_reshape(r)
            },
        ),
        case(
            "reshape.input-quant-dim",
            U,
            "Reshape: Quantization Dim should not be used on Input",
            keep,
            |r| r.input.quant.axis = Some(3),
        ),
        case(
            "reshape.input-quant-scales",
            U,
            "Reshape: Input quantization scales must have a size of 1",
            keep,
            |r| r.input.quant.scales = vec![],
        ),
        case(
            "reshape.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |r| r.input.quant.zero_point = 256,
        ),
        case(
            "reshape.output-depth",
            U,
            deep("Output of reshape"),
            |r| {
                r.input.shape = [1, 2 * (DEEP - 1), 1, 1];
                r.new_shape = [1, 1, 2, DEEP - 1];
                refresh_reshape(r)
            },
            |r| {
                r.input.shape = [1, 2 * DEEP, 1, 1];
                r.new_shape = [1, 1, 2, DEEP];
                refresh_reshape(r)
            },
        ),
        case(
            "reshape.output-info",
            U,
            "Provided outputInfo is incorrect",
            |r| r.output = None,
            |r| r.output.as_mut().unwrap().shape = [1, 8, 16, 8],
        ),
    ]
}

fn concat_cases() -> Vec<Case<Concatenation>> {
    vec![
        case("concat.tvm-input-rank", U, TVM_RANK, keep, |c| c.inputs[1].rank = 5),
        case("concat.tvm-input-batch", U, TVM_BATCH, keep, |c| c.inputs[0].shape[0] = 2),
        case("concat.tvm-input-dtype", U, TVM_DTYPE, keep, |c| c.inputs[1].dtype = float32()),
        case("concat.tvm-output-rank", U, TVM_RANK, keep, |c| c.output.as_mut().unwrap().rank = 5),
        case("concat.tvm-output-batch", U, TVM_BATCH, keep, |c| c.output.as_mut().unwrap().shape[0] = 2),
        case("concat.tvm-output-dtype", U, TVM_DTYPE, keep, |c| c.output.as_mut().unwrap().dtype = float32()),
        case("concat.inputs", U, "Must have at least one input",
            |c| { c.inputs.truncate(1); refresh_concat(c) }, |c| c.inputs.clear()),
        case("concat.batch", U, "Batch size must be 1", keep, |c| c.inputs[1].shape[0] = 2),
        case("concat.input-depth", U, deep("Input tensors"), keep, |c| c.inputs[1].shape[3] = DEEP),
        case("concat.input-dtype", U, "Input tensors must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep, |c| c.inputs[1].dtype = DataType::I32),
        case("concat.input-format", U, "Input to concatenation must be NHWC or NHWCB",
            |c| { c.inputs[1].format = DataFormat::Nhwcb; refresh_concat(c) },
            |c| c.inputs[1].format = DataFormat::Nchw),
        case("concat.axis", U, "Concatenation axis must refer to a valid dimension (0-3)", keep, |c| c.axis = 4),
        case("concat.shapes", U, "Input tensors must have the same size along all dimensions except the concatenation dimension",
            keep, |c| c.inputs[1].shape[2] = 7),
        case("concat.input-quant-dim", U, "Quantization Dim should not be used on any Inputs of Concat",
            keep, |c| c.inputs[1].quant.axis = Some(3)),
        case("concat.output-quant-dim", U, "Concatenation: Quantization Dim should not be used on Output",
            keep, |c| { c.output_quant.axis = Some(3); refresh_concat(c) }),
        case("concat.output-quant-scales", U, "Concatenation: Output quantization scales must have a size of 1",
            keep, |c| { c.output_quant.scales = vec![0.5, 0.5]; refresh_concat(c) }),
        case("concat.input-zero-point", U, "Zero point out of range for at least one input info",
            keep, |c| c.inputs[1].quant.zero_point = -1),
        // Checked against each input's type: 200 fits u8 but not the i8 input.
        case("concat.output-zero-point", U, "Zero point out of range for concatInfo",
            |c| { c.output_quant.zero_point = 127; c.inputs[1].dtype = DataType::I8; refresh_concat(c) },
            |c| { c.output_quant.zero_point = 200; c.inputs[1].dtype = DataType::I8; refresh_concat(c) }),
        // Every input is requantized: the output scale must exceed each input scale / 128.
        case("concat.scale", E, "Output scales must be bigger than input scale / 128",
            |c| { c.output_quant.scales = vec![0.5 / 127.0]; refresh_concat(c) },
            |c| { c.output_quant.scales = vec![0.5 / 128.0]; refresh_concat(c) }),
        case("concat.output-depth", U, deep("Output of concatenation"),
            |c| { c.inputs[0].shape[3] = 16000; c.inputs[1].shape[3] = 384; refresh_concat(c) },
            |c| { c.inputs[0].shape[3] = 16000; c.inputs[1].shape[3] = 385; refresh_concat(c) }),
        case("concat.output-info", U, "Provided outputInfo is incorrect",
            |c| c.output = None, |c| c.output.as_mut().unwrap().quant = q(5, 0.25)),
        case("concat.batch-axis", E, "Concatenation cannot be performed along batch axis (axis 0)",
            |c| { c.axis = 1; c.inputs[1].shape[3] = 16; refresh_concat(c) },
            |c| { c.axis = 0; c.inputs[1].shape[3] = 16; refresh_concat(c) }),
        case("concat.channels-16", E, "Concatenation along the channels dimension (axis 3) requires input tensors with a multiple of 16 channels",
            |c| { c.axis = 2; c.inputs[1].shape = [1, 8, 3, 16]; refresh_concat(c) },
            |c| { c.inputs[1].shape[3] = 24; refresh_concat(c) }),
    ]
}

fn split_cases() -> Vec<Case<Split>> {
    vec![
        case("split.tvm-input-rank", U, TVM_RANK, keep, |s| s.input.rank = 5),
        case("split.tvm-input-batch", U, TVM_BATCH, keep, |s| s.input.shape[0] = 2),
        case("split.tvm-input-dtype", U, TVM_DTYPE, keep, |s| s.input.dtype = float32()),
        case("split.tvm-output-rank", U, TVM_RANK, keep, |s| s.outputs.as_mut().unwrap()[1].rank = 5),
        case("split.tvm-output-batch", U, TVM_BATCH, keep, |s| s.outputs.as_mut().unwrap()[0].shape[0] = 2),
        case("split.tvm-output-dtype", U, TVM_DTYPE, keep, |s| s.outputs.as_mut().unwrap()[1].dtype = float32()),
        case("split.batch", U, "Batch size must be 1", keep, |s| s.input.shape[0] = 2),
        case("split.input-depth", U, deep("Input tensor"), keep, |s| s.input.shape[3] = DEEP),
        case("split.outputs", U, "Must have at least 1 output",
            |s| { s.sizes = vec![48]; refresh_split(s) }, |s| s.sizes.clear()),
        case("split.input-dtype", U, "Input tensor must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep, |s| s.input.dtype = DataType::I32),
        case("split.input-format", U, "Input tensor must be NHWC or NHWCB",
            |s| { s.input.format = DataFormat::Nhwcb; refresh_split(s) }, |s| s.input.format = DataFormat::Nchw),
        case("split.axis", U, "Axis must refer to a valid dimension (0-3)", keep, |s| s.axis = 4),
        case("split.sizes", U, "Sizes must sum to the total size of the input tensor along the split axis",
            keep, |s| s.sizes = vec![16, 16]),
        case("split.input-quant-dim", U, "Split: Quantization Dim should not be used on Input",
            keep, |s| s.input.quant.axis = Some(3)),
        case("split.input-quant-scales", U, "Split: Input quantization scales must have a size of 1",
            keep, |s| s.input.quant.scales = vec![0.5, 0.5]),
        case("split.input-zero-point", U, "Zero point out of range for input info",
            keep, |s| s.input.quant.zero_point = 256),
        case("split.output-count", U, "Provided outputInfos array has incorrect size",
            |s| s.outputs = None, |s| { s.outputs.as_mut().unwrap().pop(); }),
        // Sizes that wrap around u32 still sum to the axis length, so an output can be deeper than
        // the input.
        case("split.output-depth", U, deep("Output of split"),
            |s| { s.input.shape = [1, 8, 2, 32]; s.sizes = vec![16, 16]; refresh_split(s) },
            |s| { s.input.shape = [1, 8, 2, 32]; s.sizes = vec![DEEP, 32u32.wrapping_sub(DEEP)]; s.outputs = None }),
        case("split.output-info", U, "Provided outputInfo at index 1 is incorrect",
            keep, |s| s.outputs.as_mut().unwrap()[1].quant = q(0, 0.5)),
        case("split.batch-axis", U, "Split cannot be performed along batch axis (axis 0)",
            |s| { s.axis = 1; s.sizes = vec![2, 6]; refresh_split(s) },
            |s| { s.axis = 0; s.sizes = vec![1]; refresh_split(s) }),
        case("split.channels-16", E, "Split along the channels dimension (axis 3) requires all output sizes (specified in splitInfo.m_Sizes) to be multiples of 16",
            |s| { s.axis = 2; s.sizes = vec![3, 5]; refresh_split(s) },
            |s| { s.sizes = vec![8, 40]; refresh_split(s) }),
    ]
}

fn resize_cases() -> Vec<Case<Resize>> {
    vec![
        case("resize.tvm-input-rank", U, TVM_RANK, keep, |r| {
            r.input.rank = 5
        }),
        case("resize.tvm-input-batch", U, TVM_BATCH, keep, |r| {
            r.input.shape[0] = 2
        }),
        case("resize.tvm-input-dtype", U, TVM_DTYPE, keep, |r| {
            r.input.dtype = float32()
        }),
        case("resize.tvm-output-rank", U, TVM_RANK, keep, |r| {
            r.output.as_mut().unwrap().rank = 5
        }),
        case("resize.tvm-output-batch", U, TVM_BATCH, keep, |r| {
            r.output.as_mut().unwrap().shape[0] = 2
        }),
        case("resize.tvm-output-dtype", U, TVM_DTYPE, keep, |r| {
            r.output.as_mut().unwrap().dtype = float32()
        }),
        case("resize.batch", U, "Batch size must be 1", keep, |r| {
            r.input.shape[0] = 2
        }),
        case(
            "resize.input-depth",
            U,
            deep("Input to resize"),
            |r| {
                r.input.shape[3] = DEEP - 1;
                refresh_resize(r)
            },
            |r| r.input.shape[3] = DEEP,
        ),
        case(
            "resize.input-dtype",
            U,
            "Input to resize must be UINT8_QUANTIZED or INT8_QUANTIZED",
            |r| {
                to_i8(&mut r.input);
                r.output_quant.zero_point = 0;
                refresh_resize(r)
            },
            |r| r.input.dtype = DataType::I32,
        ),
        case(
            "resize.input-format",
            U,
            "Input must be NHWC or NHWCB",
            |r| {
                r.input.format = DataFormat::Nhwcb;
                refresh_resize(r)
            },
            |r| r.input.format = DataFormat::Nchw,
        ),
        // 2H or 2H - 1 only.
        case(
            "resize.height",
            U,
            "Requested height isn't supported",
            |r| {
                r.new_height = 15;
                r.new_width = 15;
                refresh_resize(r)
            },
            |r| {
                r.new_height = 17;
                refresh_resize(r)
            },
        ),
        case(
            "resize.width",
            U,
            "Requested width isn't supported",
            |r| {
                r.new_height = 15;
                r.new_width = 15;
                refresh_resize(r)
            },
            |r| {
                r.new_width = 14;
                refresh_resize(r)
            },
        ),
        // A warning: the reason is set and the operation stays Supported.
        case(
            "resize.parity",
            S,
            "Requested width and height have different parity, result might be inaccurate",
            |r| {
                r.algorithm = ResizeAlgorithm::Bilinear;
                r.new_height = 15;
                r.new_width = 15;
                refresh_resize(r)
            },
            |r| {
                r.new_width = 15;
                refresh_resize(r)
            },
        ),
        case(
            "resize.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |r| r.input.quant.zero_point = 256,
        ),
        case(
            "resize.output-zero-point",
            U,
            "Zero point out of range for resizeInfo",
            keep,
            |r| {
                r.output_quant.zero_point = 300;
                refresh_resize(r)
            },
        ),
        case(
            "resize.output-info",
            U,
            "Provided outputInfo is incorrect",
            |r| r.output = None,
            |r| r.output.as_mut().unwrap().shape[2] = 15,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Element-wise operations

fn addition_cases() -> Vec<Case<Elementwise>> {
    let tvm: Vec<Case<Elementwise>> = vec![
        case("add.tvm-input0-rank", U, TVM_RANK, keep, |a| {
            a.input0.rank = 5
        }),
        case("add.tvm-input0-batch", U, TVM_BATCH, keep, |a| {
            a.input0.shape[0] = 2
        }),
        case("add.tvm-input0-dtype", U, TVM_DTYPE, keep, |a| {
            a.input0.dtype = float32()
        }),
        case("add.tvm-input1-rank", U, TVM_RANK, keep, |a| {
            a.input1.rank = 5
        }),
        case("add.tvm-input1-batch", U, TVM_BATCH, keep, |a| {
            a.input1.shape[0] = 2
        }),
        case("add.tvm-input1-dtype", U, TVM_DTYPE, keep, |a| {
            a.input1.dtype = float32()
        }),
        case("add.tvm-output-rank", U, TVM_RANK, keep, |a| {
            a.output.as_mut().unwrap().rank = 5
        }),
        case("add.tvm-output-batch", U, TVM_BATCH, keep, |a| {
            a.output.as_mut().unwrap().shape[0] = 2
        }),
        case("add.tvm-output-dtype", U, TVM_DTYPE, keep, |a| {
            a.output.as_mut().unwrap().dtype = float32()
        }),
    ];
    tvm.into_iter()
        .chain(elementwise_cases(ElementwiseIds::ADDITION))
        .collect()
}

/// Addition and multiplication share their checks; only ids and some texts differ.
struct ElementwiseIds {
    prefix: &'static str,
    ids: [&'static str; 15],
    name: &'static str,
}

impl ElementwiseIds {
    const ADDITION: ElementwiseIds = ElementwiseIds {
        prefix: "add",
        ids: [
            "add.batch",
            "add.input0-depth",
            "add.input1-depth",
            "add.input0-zero-point",
            "add.input1-zero-point",
            "add.height",
            "add.width",
            "add.channels",
            "add.dtype",
            "add.same-dtype",
            "add.output-zero-point",
            "add.format",
            "add.quant-dim",
            "add.output-info",
            "add.broadcast",
        ],
        name: "addition",
    };
    const MULTIPLICATION: ElementwiseIds = ElementwiseIds {
        prefix: "mul",
        ids: [
            "mul.batch",
            "mul.input0-depth",
            "mul.input1-depth",
            "mul.input0-zero-point",
            "mul.input1-zero-point",
            "mul.height",
            "mul.width",
            "mul.channels",
            "mul.dtype",
            "mul.same-dtype",
            "mul.output-zero-point",
            "mul.format",
            "mul.quant-dim",
            "mul.output-info",
            "mul.broadcast",
        ],
        name: "Multiplication",
    };
}

fn elementwise_cases(k: ElementwiseIds) -> Vec<Case<Elementwise>> {
    let [batch, depth0, depth1, zp0, zp1, height, width, channels, dtype, same_dtype, out_zp, format, quant_dim, output_info, broadcast] =
        k.ids;
    let name = k.name;
    let quant_dim_name = if k.prefix == "add" {
        "Addition"
    } else {
        "Multiplication"
    };
    vec![
        case(batch, U, "Batch size must be 1", keep, |a| {
            a.input1.shape[0] = 2
        }),
        case(
            depth0,
            U,
            deep(&format!("Input0 to {name}")),
            |a| {
                a.input0.shape[3] = DEEP - 1;
                a.input1.shape[3] = DEEP - 1;
                refresh_elementwise(a)
            },
            |a| a.input0.shape[3] = DEEP,
        ),
        case(depth1, U, deep(&format!("Input1 to {name}")), keep, |a| {
            a.input1.shape[3] = DEEP
        }),
        case(
            zp0,
            U,
            "Zero point out of range for input0 info",
            keep,
            |a| a.input0.quant.zero_point = 256,
        ),
        case(
            zp1,
            U,
            "Zero point out of range for input1 info",
            keep,
            |a| a.input1.quant.zero_point = -1,
        ),
        case(
            height,
            U,
            "Height must be either equal or one of the tensor's height must be 1",
            keep,
            |a| a.input1.shape[1] = 4,
        ),
        case(
            width,
            U,
            "Width must be either equal or one of the tensor's height must be 1",
            keep,
            |a| a.input0.shape[2] = 4,
        ),
        case(
            channels,
            U,
            "Channels must be either equal or one of the tensor's height must be 1",
            keep,
            |a| a.input1.shape[3] = 8,
        ),
        case(
            dtype,
            U,
            format!("Input to {name} must be UINT8_QUANTIZED or INT8_QUANTIZED"),
            |a| {
                to_i8(&mut a.input0);
                to_i8(&mut a.input1);
                refresh_elementwise(a)
            },
            |a| {
                a.input0.dtype = DataType::I32;
                a.input1.dtype = DataType::I32
            },
        ),
        case(
            same_dtype,
            U,
            format!("Inputs to {name} must have the same data type"),
            keep,
            |a| to_i8(&mut a.input1),
        ),
        case(
            out_zp,
            U,
            "Zero point out of range for outputQuantizationInfo",
            |a| {
                a.output_quant.zero_point = 255;
                refresh_elementwise(a)
            },
            |a| {
                a.output_quant.zero_point = 256;
                refresh_elementwise(a)
            },
        ),
        // Multiplication reuses addition's text.
        case(
            format,
            U,
            "Input to addition must be NHWC or NHWCB",
            |a| {
                a.input1.format = DataFormat::Nhwcb;
                refresh_elementwise(a)
            },
            |a| a.input1.format = DataFormat::Nchw,
        ),
        case(
            quant_dim,
            U,
            format!("Quantization Dim should not be used on any Inputs of {quant_dim_name}"),
            keep,
            |a| a.input1.quant.axis = Some(3),
        ),
        case(
            output_info,
            U,
            "Provided outputInfo is incorrect",
            |a| a.output = None,
            |a| a.output.as_mut().unwrap().quant = q(10, 0.5),
        ),
        case(
            broadcast,
            E,
            "Cannot stretch along the requested dimensions.",
            keep,
            |a| {
                a.input1.shape = [1, 1, 1, 16];
                refresh_elementwise(a)
            },
        ),
    ]
}

fn multiplication_cases() -> Vec<Case<Elementwise>> {
    let mut cases = elementwise_cases(ElementwiseIds::MULTIPLICATION);
    cases.push(case(
        "mul.no-query",
        U,
        "IsMultiplicationSupported does not exist before release 23.11",
        keep,
        keep,
    ));
    cases
}

// ---------------------------------------------------------------------------------------------
// Layout operations

fn depth_to_space_cases() -> Vec<Case<DepthToSpace>> {
    vec![
        // TVM returns the mode error alone.
        case(
            "depth-to-space.tvm-mode",
            U,
            "mode=CRD, mode must = DCR",
            keep,
            |d| {
                d.mode = DepthToSpaceMode::Crd;
                d.input.shape[0] = 2
            },
        ),
        case("depth-to-space.tvm-input-rank", U, TVM_RANK, keep, |d| {
            d.input.rank = 5
        }),
        case("depth-to-space.tvm-input-batch", U, TVM_BATCH, keep, |d| {
            d.input.shape[0] = 2
        }),
        case("depth-to-space.tvm-input-dtype", U, TVM_DTYPE, keep, |d| {
            d.input.dtype = float32()
        }),
        case("depth-to-space.tvm-output-rank", U, TVM_RANK, keep, |d| {
            d.output.as_mut().unwrap().rank = 5
        }),
        case("depth-to-space.tvm-output-batch", U, TVM_BATCH, keep, |d| {
            d.output.as_mut().unwrap().shape[0] = 2
        }),
        case("depth-to-space.tvm-output-dtype", U, TVM_DTYPE, keep, |d| {
            d.output.as_mut().unwrap().dtype = float32()
        }),
        case(
            "depth-to-space.batch",
            U,
            "Batch size must be 1",
            keep,
            |d| d.input.shape[0] = 2,
        ),
        case(
            "depth-to-space.input-depth",
            U,
            deep("Input to depth to space"),
            keep,
            |d| d.input.shape[3] = DEEP,
        ),
        case(
            "depth-to-space.input-dtype",
            U,
            "Input to depth to space must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |d| d.input.dtype = DataType::I32,
        ),
        case(
            "depth-to-space.input-format",
            U,
            "Input must be NHWC or NHWCB",
            keep,
            |d| d.input.format = DataFormat::Nchw,
        ),
        case(
            "depth-to-space.channels",
            U,
            "Number of channels of input must be an exact multiple of the square of the block size",
            |d| {
                d.input.shape[3] = 4;
                d.output = Some(d.expected_output())
            },
            |d| d.input.shape[3] = 18,
        ),
        case(
            "depth-to-space.input-quant-dim",
            U,
            "Depth to Space: Quantization Dim should not be used on Input",
            keep,
            |d| d.input.quant.axis = Some(3),
        ),
        case(
            "depth-to-space.input-quant-scales",
            U,
            "Depth to Space: Input quantization scales must have a size of 1",
            keep,
            |d| d.input.quant.scales = vec![],
        ),
        case(
            "depth-to-space.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |d| d.input.quant.zero_point = 256,
        ),
        case(
            "depth-to-space.output-info",
            U,
            "Provided outputInfo is incorrect",
            |d| d.output = None,
            |d| d.output.as_mut().unwrap().shape[3] = 16,
        ),
        case(
            "depth-to-space.block-size",
            E,
            "Only block size of 2 is supported",
            keep,
            |d| {
                d.block_size = 4;
                d.output = Some(d.expected_output())
            },
        ),
    ]
}

fn space_to_depth_cases() -> Vec<Case<SpaceToDepth>> {
    vec![
        case(
            "space-to-depth.input-depth",
            U,
            deep("Input to space to depth"),
            |s| {
                s.input.shape[0] = 2;
                s.output = Some(s.expected_output())
            },
            |s| s.input.shape[3] = DEEP,
        ),
        case(
            "space-to-depth.input-dtype",
            U,
            "Input to space to depth must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |s| s.input.dtype = DataType::I32,
        ),
        case(
            "space-to-depth.block-size",
            U,
            "Block size must be larger than 1",
            keep,
            |s| {
                s.block_size = 1;
                s.output = None
            },
        ),
        case(
            "space-to-depth.divisible",
            U,
            "Input width and height must be a multiple of the block size",
            keep,
            |s| {
                s.input.shape[1] = 9;
                s.output = None
            },
        ),
        case(
            "space-to-depth.input-quant-dim",
            E,
            "Space to Depth: Quantization Dim should not be used on Input",
            keep,
            |s| s.input.quant.axis = Some(3),
        ),
        case(
            "space-to-depth.input-quant-scales",
            E,
            "Space to Depth: Input quantization scales must have a size of 1",
            keep,
            |s| s.input.quant.scales = vec![0.5, 0.5],
        ),
        case(
            "space-to-depth.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |s| s.input.quant.zero_point = 256,
        ),
        // 4097 · 2² channels at W = 4.
        case(
            "space-to-depth.output-depth",
            U,
            "Output of space to depth: Tensor max depth cannot fit in SRAM (1048832 / 1048576)",
            keep,
            |s| {
                s.input.shape[3] = 4097;
                s.output = None
            },
        ),
        // Unlike the other queries, an empty provided output is compared too.
        case(
            "space-to-depth.output-info",
            U,
            "Provided outputInfo is incorrect",
            |s| s.output = None,
            |s| s.output = Some(act([0, 0, 0, 0])),
        ),
        case(
            "space-to-depth.sram",
            U,
            "The tensor is too large",
            keep,
            |s| {
                s.input.shape = [1, 4096, 4096, 64];
                s.output = None
            },
        ),
        case("space-to-depth.estimate-only", E, "", keep, keep),
    ]
}

fn transpose_cases() -> Vec<Case<Transpose>> {
    vec![
        case(
            "transpose.input-depth",
            U,
            deep("Input to transpose"),
            |t| {
                t.input.shape[0] = 2;
                refresh_transpose(t)
            },
            |t| t.input.shape[3] = DEEP,
        ),
        case(
            "transpose.input-dtype",
            U,
            "Input to transpose must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |t| t.input.dtype = float32(),
        ),
        case(
            "transpose.input-format",
            U,
            "Input must be NHWC or NHWCB",
            keep,
            |t| t.input.format = DataFormat::Nchw,
        ),
        case(
            "transpose.batch-axis",
            U,
            "Transpose of batch(0) axis is not allowed",
            keep,
            |t| t.permutation = [1, 0, 2, 3],
        ),
        case(
            "transpose.axes-range",
            U,
            "Transpose of dimensions > 3 are not allowed",
            keep,
            |t| t.permutation = [0, 1, 2, 4],
        ),
        case(
            "transpose.axes-unique",
            U,
            "Transpose axes must be unique",
            keep,
            |t| t.permutation = [0, 1, 1, 2],
        ),
        case(
            "transpose.input-quant-dim",
            E,
            "Transpose: Quantization Dim should not be used on Input",
            keep,
            |t| t.input.quant.axis = Some(3),
        ),
        case(
            "transpose.input-quant-scales",
            E,
            "Transpose: Input quantization scales must have a size of 1",
            keep,
            |t| t.input.quant.scales = vec![0.5, 0.5],
        ),
        case(
            "transpose.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |t| t.input.quant.zero_point = 256,
        ),
        case(
            "transpose.output-depth",
            U,
            deep("Output of transpose"),
            keep,
            |t| {
                t.input.shape = [1, DEEP, 2, 2];
                refresh_transpose(t)
            },
        ),
        case(
            "transpose.output-info",
            U,
            "Provided outputInfo is incorrect",
            |t| t.output = None,
            |t| t.output.as_mut().unwrap().shape = [1, 8, 8, 16],
        ),
        // (0, 2, 3, 1) needs the whole input in NHWCB: 128 × 128 × 64 bytes is exactly 1 MiB.
        case(
            "transpose.sram",
            U,
            "The tensors are too large",
            |t| {
                t.input.shape = [1, 128, 128, 64];
                refresh_transpose(t)
            },
            |t| {
                t.input.shape = [1, 128, 136, 64];
                refresh_transpose(t)
            },
        ),
        case("transpose.estimate-only", E, "", keep, keep),
    ]
}

fn standalone_padding_cases() -> Vec<Case<StandalonePadding>> {
    vec![
        case(
            "pad.no-query",
            U,
            "IsStandalonePaddingSupported does not exist before release 23.08",
            keep,
            keep,
        ),
        case("pad.batch", U, "Batch size must be 1", keep, |p| {
            p.input.shape[0] = 2
        }),
        case(
            "pad.input-depth",
            U,
            deep("Input to standalone padding"),
            |p| {
                p.input.shape[3] = DEEP - 1;
                refresh_standalone_padding(p)
            },
            |p| p.input.shape[3] = DEEP,
        ),
        case(
            "pad.input-dtype",
            U,
            "Input to standalone padding must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |p| p.input.dtype = DataType::I32,
        ),
        case(
            "pad.input-format",
            U,
            "Input to standalone padding must be NHWC OR NHWCB",
            keep,
            |p| p.input.format = DataFormat::Nchw,
        ),
        case(
            "pad.input-zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |p| p.input.quant.zero_point = 256,
        ),
        case(
            "pad.output-empty",
            U,
            "Output tensor would be empty",
            keep,
            |p| {
                p.input.shape[1] = 0;
                refresh_standalone_padding(p)
            },
        ),
        case(
            "pad.output-info",
            U,
            "Provided outputInfo is incorrect",
            |p| p.output = None,
            |p| p.output.as_mut().unwrap().shape[1] = 8,
        ),
        case(
            "pad.padding",
            U,
            "Padding not supported",
            |p| {
                p.padding = Padding::new(7, 7, 7, 7);
                refresh_standalone_padding(p)
            },
            |p| {
                p.padding = Padding::new(0, 0, 0, 8);
                refresh_standalone_padding(p)
            },
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Network boundaries and the never-supported queries

fn softmax_cases() -> Vec<Case<Unary>> {
    vec![
        case(
            "softmax.estimate-only",
            E,
            "Softmax operation is not supported",
            keep,
            keep,
        ),
        case(
            "softmax.no-query",
            U,
            "IsSoftmaxSupported does not exist after release 23.02",
            keep,
            keep,
        ),
    ]
}

fn input_cases() -> Vec<Case<Unary>> {
    vec![
        case("input.batch", U, "Batch size must be 1", keep, |u| {
            u.input.shape[0] = 2
        }),
        case(
            "input.depth",
            U,
            deep("Input layer"),
            |u| {
                u.input.shape[3] = DEEP - 1;
                u.output = Some(u.input.clone())
            },
            |u| u.input.shape[3] = DEEP,
        ),
        case(
            "input.dtype",
            U,
            "Input layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |u| u.input.dtype = DataType::I32,
        ),
        case(
            "input.format",
            U,
            "Input layer must be NHWC or NHWCB",
            |u| {
                u.input.format = DataFormat::Nhwcb;
                u.output = Some(u.input.clone())
            },
            |u| u.input.format = DataFormat::Nchw,
        ),
        case(
            "input.quant-dim",
            U,
            "Input layer: Quantization Dim should not be used on Input",
            keep,
            |u| u.input.quant.axis = Some(3),
        ),
        case(
            "input.quant-scales",
            U,
            "Input layer: Input quantization scales must have a size of 1",
            keep,
            |u| u.input.quant.scales = vec![0.5, 0.5],
        ),
        case(
            "input.output-info",
            U,
            "Provided outputInfo is incorrect",
            |u| u.output = None,
            |u| u.output.as_mut().unwrap().quant.zero_point = 0,
        ),
        // Checked after the output: a matching output with a bad zero point reaches it.
        case(
            "input.zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |u| {
                u.input.quant.zero_point = 256;
                u.output = Some(u.input.clone())
            },
        ),
    ]
}

fn output_cases() -> Vec<Case<npuopt::target::ethos_n::npu::Output>> {
    vec![
        case("output.batch", U, "Batch size must be 1", keep, |o| {
            o.input.shape[0] = 2
        }),
        // The library names the output's input "Input layer" here.
        case("output.depth", U, deep("Input layer"), keep, |o| {
            o.input.shape[3] = DEEP
        }),
        case(
            "output.dtype",
            U,
            "Output layer's input must be UINT8_QUANTIZED or INT8_QUANTIZED",
            keep,
            |o| o.input.dtype = DataType::I32,
        ),
        case(
            "output.input-format",
            U,
            "An Output layer's input must be NHWC or NHWCB",
            |o| o.input.format = DataFormat::Nhwcb,
            |o| o.input.format = DataFormat::Nchw,
        ),
        case(
            "output.format",
            U,
            "An Output layer's format must be NHWC or NHWCB",
            |o| o.format = DataFormat::Nhwcb,
            |o| o.format = DataFormat::Nchw,
        ),
        case(
            "output.quant-dim",
            U,
            "Output layer: Quantization Dim should not be used on Input",
            keep,
            |o| o.input.quant.axis = Some(3),
        ),
        case(
            "output.quant-scales",
            U,
            "Output layer: Input quantization scales must have a size of 1",
            keep,
            |o| o.input.quant.scales = vec![],
        ),
        case(
            "output.zero-point",
            U,
            "Zero point out of range for input info",
            keep,
            |o| o.input.quant.zero_point = 256,
        ),
    ]
}

fn constant_cases() -> Vec<Case<Constant>> {
    vec![
        // No batch check: constants may have any N.
        case(
            "constant.depth",
            U,
            deep("Constant layer"),
            |c| c.info.shape[0] = 2,
            |c| c.info.shape[3] = DEEP,
        ),
        case(
            "constant.zero-point",
            U,
            "Zero point out of range for constant info",
            |c| c.info.dtype = DataType::I32,
            |c| c.info.quant.zero_point = 256,
        ),
    ]
}

fn estimate_only_cases() -> Vec<Case<EstimateOnly>> {
    vec![
        case(
            "estimate-only.zero-point",
            U,
            "Zero point out of range for at least one output info in EstimateOnlyInfo",
            |e| {
                e.declared_outputs[0].quant.zero_point = 0;
                e.outputs = None
            },
            |e| e.declared_outputs[0].quant.zero_point = 256,
        ),
        case(
            "estimate-only.output-info",
            U,
            "Provided outputInfo is incorrect",
            |e| e.outputs = Some(vec![act([0, 0, 0, 0])]),
            |e| e.outputs = Some(vec![act([1, 4, 4, 8])]),
        ),
        case("estimate-only.estimate-only", E, "", keep, keep),
    ]
}

// ---------------------------------------------------------------------------------------------
// The suites, and the proof that they cover the table

/// Every record no case can fail, with the reason.
const UNFAILABLE: &[(&str, &str)] = &[(
    "fc.output-depth",
    "the output [N, 1, 1, O] has W = 1, which always fits",
)];

macro_rules! suites {
    ($($name:ident: $base:ident, $variant:ident, $cases:ident;)*) => {
        $(
            #[test]
            fn $name() {
                run($base, Operation::$variant, &$cases());
            }
        )*

        /// The records the cases exercise.
        fn covered() -> BTreeSet<&'static str> {
            let mut ids = BTreeSet::new();
            $(ids.extend($cases().iter().map(|c| c.check));)*
            ids
        }
    };
}

suites! {
    addition_checks: addition, Addition, addition_cases;
    concatenation_checks: concat, Concatenation, concat_cases;
    constant_checks: constant, Constant, constant_cases;
    convolution_checks: conv, Convolution, conv_cases;
    depth_to_space_checks: depth_to_space, DepthToSpace, depth_to_space_cases;
    depthwise_convolution_checks: dwconv, DepthwiseConvolution, dwconv_cases;
    estimate_only_checks: estimate_only, EstimateOnly, estimate_only_cases;
    fully_connected_checks: fc, FullyConnected, fc_cases;
    input_checks: input, Input, input_cases;
    leaky_relu_checks: leaky_relu, LeakyRelu, leaky_relu_cases;
    mean_xy_checks: mean, MeanXy, mean_cases;
    multiplication_checks: addition, Multiplication, multiplication_cases;
    output_checks: output, Output, output_cases;
    pooling_checks: pool, Pooling, pool_cases;
    reinterpret_quantization_checks: reinterpret, ReinterpretQuantization, reinterpret_cases;
    relu_checks: relu, Relu, relu_cases;
    requantize_checks: requantize, Requantize, requantize_cases;
    reshape_checks: reshape, Reshape, reshape_cases;
    resize_checks: resize, Resize, resize_cases;
    sigmoid_checks: sigmoid, Sigmoid, sigmoid_cases;
    softmax_checks: softmax, Softmax, softmax_cases;
    space_to_depth_checks: space_to_depth, SpaceToDepth, space_to_depth_cases;
    split_checks: split, Split, split_cases;
    standalone_padding_checks: standalone_padding, StandalonePadding, standalone_padding_cases;
    tanh_checks: tanh, Tanh, tanh_cases;
    transpose_checks: transpose, Transpose, transpose_cases;
    transpose_convolution_checks: tconv, TransposeConvolution, tconv_cases;
}

#[test]
fn every_record_of_the_table_has_a_case() {
    let covered = covered();
    let unfailable: BTreeSet<&str> = UNFAILABLE.iter().map(|(id, _)| *id).collect();
    let missing: Vec<&str> = checks()
        .iter()
        .map(|c| c.id)
        .filter(|id| !covered.contains(id) && !unfailable.contains(id))
        .collect();
    assert_eq!(missing, Vec::<&str>::new(), "records without a case");
    let unknown: Vec<&str> = covered
        .iter()
        .copied()
        .filter(|id| !checks().iter().any(|c| c.id == *id))
        .collect();
    assert_eq!(unknown, Vec::<&str>::new(), "cases of no record");
}

#[test]
fn unfailable_records_pass_at_their_extreme() {
    // fc.output-depth: even a million outputs fit, as W = 1.
    let mut f = fc();
    f.weights.shape[3] = 1_000_000;
    f.bias.shape[3] = 1_000_000;
    refresh_fc(&mut f);
    for release in Release::ALL {
        let verdict = check(&Operation::FullyConnected(f.clone()), &sl(release));
        assert_eq!(verdict, Verdict::supported(), "{release}");
    }
}

#[test]
fn baselines_are_supported_wherever_the_query_can_say_so() {
    let ops: Vec<(Operation, Option<Release>)> = vec![
        (Operation::Addition(addition()), None),
        (Operation::Concatenation(concat()), None),
        (Operation::Constant(constant()), None),
        (Operation::Convolution(conv()), None),
        (Operation::DepthToSpace(depth_to_space()), None),
        (Operation::DepthwiseConvolution(dwconv()), None),
        (Operation::FullyConnected(fc()), None),
        (Operation::Input(input()), None),
        (Operation::LeakyRelu(leaky_relu()), None),
        (Operation::MeanXy(mean()), None),
        (Operation::Multiplication(addition()), Some(Release::R23_11)),
        (Operation::Output(output()), None),
        (Operation::Pooling(pool()), None),
        (Operation::ReinterpretQuantization(reinterpret()), None),
        (Operation::Relu(relu()), None),
        (Operation::Requantize(requantize()), None),
        (Operation::Reshape(reshape()), None),
        (Operation::Resize(resize()), None),
        (Operation::Sigmoid(sigmoid()), None),
        (Operation::Split(split()), None),
        (
            Operation::StandalonePadding(standalone_padding()),
            Some(Release::R23_08),
        ),
        (Operation::Tanh(tanh()), None),
        (Operation::Transpose(transpose()), Some(Release::R25_03)),
        (Operation::TransposeConvolution(tconv()), None),
    ];
    for (op, since) in &ops {
        for release in Release::ALL {
            let mut profiles = vec![sl(release), Profile::new(release)];
            if release == Release::R23_02 {
                profiles.push("sl-3.2.0-cascading".parse().unwrap());
            }
            for profile in profiles {
                let verdict = check(op, &profile);
                let expected = since.is_none_or(|first| release >= first);
                assert_eq!(
                    verdict.runs_on_npu(),
                    expected,
                    "{:?} in {profile}: {verdict:?}",
                    op.kind()
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Release differences

fn verdict_in(op: &Operation, release: Release) -> (Level, &'static str, String) {
    let v = check(op, &sl(release));
    (v.level, v.rule, v.reason)
}

fn supported() -> (Level, &'static str, String) {
    (S, "", String::new())
}

#[test]
fn max_pooling_stride_1_arrives_in_23_08() {
    let mut p = pool();
    set_pool(&mut p, 3, 1, PAD_1, (16, 16));
    let op = Operation::Pooling(p);
    let refused = (
        E,
        "pool.max-config",
        "Unsupported configuration in Max pooling".to_string(),
    );
    for release in [Release::R22_11, Release::R23_02, Release::R23_05] {
        assert_eq!(verdict_in(&op, release), refused, "{release}");
    }
    for release in [Release::R23_08, Release::R23_11, Release::R25_03] {
        assert_eq!(verdict_in(&op, release), supported(), "{release}");
    }
    // Under TVM parity too (TVM's own checks pass).
    assert_eq!(
        summary(&check(&op, &tvm())),
        (E, "pool.max-config", refused.2.as_str())
    );
    // SPPF's 5×5 stride-1 SAME max pooling.
    let mut sppf = pool();
    set_pool(&mut sppf, 5, 1, Padding::new(2, 2, 2, 2), (20, 20));
    let sppf = Operation::Pooling(sppf);
    assert_eq!(verdict_in(&sppf, Release::R23_02).0, E);
    assert_eq!(verdict_in(&sppf, Release::R23_08), supported());
}

#[test]
fn stride_2_max_pooling_fallback_text_changes_in_23_08() {
    let mut p = pool();
    set_pool(&mut p, 4, 2, Padding::ZERO, (16, 16));
    let op = Operation::Pooling(p);
    assert_eq!(
        verdict_in(&op, Release::R23_05),
        (
            E,
            "pool.max-config",
            "Unsupported configuration in Max pooling".to_string()
        )
    );
    assert_eq!(
        verdict_in(&op, Release::R23_08),
        (
            E,
            "pool.max-stride2-config",
            "Unsupported configuration in Max pooling with stride 2".to_string()
        )
    );
}

#[test]
fn multiplication_exists_from_23_11() {
    let op = Operation::Multiplication(addition());
    for release in Release::ALL {
        let verdict = verdict_in(&op, release);
        if release < Release::R23_11 {
            assert_eq!(
                verdict,
                (
                    U,
                    "mul.no-query",
                    "IsMultiplicationSupported does not exist before release 23.11".to_string()
                ),
                "{release}"
            );
        } else {
            assert_eq!(verdict, supported(), "{release}");
        }
    }
    // x · sigmoid(x) has identical shapes: one NPU operation from 23.11 on.
    assert!(!check(&op, &tvm()).runs_on_npu());
}

#[test]
fn transpose_is_supported_from_25_03() {
    let op = Operation::Transpose(transpose());
    for release in Release::ALL {
        let expected = if release < Release::R25_03 {
            (E, "transpose.estimate-only", String::new())
        } else {
            supported()
        };
        assert_eq!(verdict_in(&op, release), expected, "{release}");
    }
}

#[test]
fn transpose_0312_needs_less_sram_in_25_03() {
    // (0, 3, 1, 2): in 25.03 only the input in NHWCB (512 KiB); before, an identity depthwise
    // with input and output in SRAM (> 1 MiB).
    let mut t = transpose();
    t.input.shape = [1, 128, 128, 32];
    t.permutation = [0, 3, 1, 2];
    refresh_transpose(&mut t);
    let op = Operation::Transpose(t);
    assert_eq!(
        verdict_in(&op, Release::R24_10),
        (U, "transpose.sram", "The tensors are too large".to_string())
    );
    assert_eq!(verdict_in(&op, Release::R25_03), supported());
}

#[test]
fn channel_concatenation_needs_16_channels_only_with_the_legacy_compiler() {
    let mut c = concat();
    c.inputs[1].shape[3] = 24;
    refresh_concat(&mut c);
    let op = Operation::Concatenation(c);
    let legacy = (
        E,
        "concat.channels-16",
        "Concatenation along the channels dimension (axis 3) requires input tensors with a multiple of 16 channels"
            .to_string(),
    );
    assert_eq!(verdict_in(&op, Release::R22_11), legacy);
    assert_eq!(verdict_in(&op, Release::R23_02), legacy);
    assert_eq!(
        summary(&check(&op, &tvm())),
        (legacy.0, legacy.1, legacy.2.as_str())
    );
    assert_eq!(verdict_in(&op, Release::R23_05), supported());
    let cascading: Profile = "sl-3.2.0-cascading".parse().unwrap();
    assert_eq!(check(&op, &cascading), Verdict::supported());
}

#[test]
fn channel_split_needs_16_channels_only_with_the_legacy_compiler() {
    let mut s = split();
    s.sizes = vec![8, 40];
    refresh_split(&mut s);
    let op = Operation::Split(s);
    assert_eq!(verdict_in(&op, Release::R23_02).1, "split.channels-16");
    assert_eq!(verdict_in(&op, Release::R23_05), supported());
}

#[test]
fn padding_up_to_7_arrives_in_23_08() {
    let mut c = conv();
    c.padding = Padding::new(2, 2, 2, 2);
    refresh_conv(&mut c);
    let op = Operation::Convolution(c);
    for release in [Release::R23_02, Release::R23_05] {
        assert_eq!(
            verdict_in(&op, release),
            (E, "conv.padding", "Unsupported padding.".to_string()),
            "{release}"
        );
    }
    assert_eq!(verdict_in(&op, Release::R23_08), supported());
    // Above 7 only SAME passes: 9×9 SAME pads 4, a 9×9 kernel padded 8 before is refused.
    let mut c = conv();
    set_kernel(&mut c, 9, 9);
    c.padding = Padding::new(8, 0, 4, 4);
    refresh_conv(&mut c);
    let op = Operation::Convolution(c);
    assert_eq!(verdict_in(&op, Release::R25_03).1, "conv.padding");
}

#[test]
fn standalone_padding_exists_from_23_08() {
    let op = Operation::StandalonePadding(standalone_padding());
    assert_eq!(verdict_in(&op, Release::R23_05).1, "pad.no-query");
    assert_eq!(verdict_in(&op, Release::R23_08), supported());
}

#[test]
fn softmax_query_exists_only_up_to_23_02() {
    let op = Operation::Softmax(softmax());
    assert_eq!(
        verdict_in(&op, Release::R23_02),
        (
            E,
            "softmax.estimate-only",
            "Softmax operation is not supported".to_string()
        )
    );
    assert_eq!(verdict_in(&op, Release::R23_05).0, U);
}

#[test]
fn resize_with_mixed_parity_is_supported_with_a_reason_in_every_release() {
    let mut r = resize();
    r.new_height = 15;
    refresh_resize(&mut r);
    let op = Operation::Resize(r.clone());
    for release in Release::ALL {
        let verdict = check(&op, &sl(release));
        assert!(verdict.runs_on_npu(), "{release}");
        assert_eq!(verdict.rule, "resize.parity");
    }
    // A later failure still decides.
    r.output_quant.zero_point = 256;
    refresh_resize(&mut r);
    let verdict = check(&Operation::Resize(r), &sl(Release::R25_03));
    assert_eq!(
        summary(&verdict),
        (
            U,
            "resize.output-zero-point",
            "Zero point out of range for resizeInfo"
        )
    );
}

#[test]
fn tensors_above_rank_4_are_refused_without_tvm_too() {
    let mut r = reshape();
    r.output.as_mut().unwrap().rank = 5;
    let op = Operation::Reshape(r);
    for release in Release::ALL {
        assert_eq!(
            summary(&check(&op, &sl(release))),
            (
                U,
                "tensor.rank",
                "Tensor of rank 5 cannot be expressed: Support Library tensors are 4-D"
            ),
            "{release}"
        );
    }
    // TVM says it first, in its own words.
    assert_eq!(check(&op, &tvm()).rule, "reshape.tvm-new-shape-rank");
    // Lower ranks are right-padded with 1s like TVM, and fine.
    let mut r = reshape();
    r.input = TensorInfo::from_dims(&[1, 1024], DataType::U8, q(10, 0.5));
    r.new_shape = [1, 1, 1, 1024];
    refresh_reshape(&mut r);
    assert_eq!(check(&Operation::Reshape(r), &tvm()), Verdict::supported());
}

// ---------------------------------------------------------------------------------------------
// Hardware-variant differences

fn on(variant: &str, release: Release) -> Profile {
    sl(release).with_variant(variant.parse().unwrap())
}

#[test]
fn tensor_depth_limit_follows_the_sram() {
    let limits = [
        ("N78_1TOPS_2PLE_RATIO", 7168, 458_752),
        ("N78_1TOPS_4PLE_RATIO", 7168, 458_752),
        ("N78_2TOPS_2PLE_RATIO", 12288, 786_432),
        ("N78_2TOPS_4PLE_RATIO", 12288, 786_432),
        ("N78_4TOPS_2PLE_RATIO", 16384, 1_048_576),
        ("N78_4TOPS_4PLE_RATIO", 16384, 1_048_576),
        ("N78_8TOPS_2PLE_RATIO", 32768, 2_097_152),
        ("tops=4,ple=4,sram=512KiB", 8192, 524_288),
    ];
    for (variant, max_channels, sram) in limits {
        let relu_of = |channels: u32| {
            let mut r = relu();
            r.input.shape[3] = channels;
            r.output = Some(r.input.clone());
            Operation::Relu(r)
        };
        let profile = on(variant, Release::R25_03);
        assert_eq!(
            check(&relu_of(max_channels), &profile),
            Verdict::supported(),
            "{variant}"
        );
        let too_deep = check(&relu_of(max_channels + 1), &profile);
        let reason = format!(
            "Input to relu: Tensor max depth cannot fit in SRAM ({} / {sram})",
            64 * (max_channels + 1)
        );
        assert_eq!(
            summary(&too_deep),
            (U, "relu.input-depth", reason.as_str()),
            "{variant}"
        );
    }
}

#[test]
fn width_1_tensors_have_no_depth_limit() {
    let mut r = relu();
    r.input.shape = [1, 4, 1, 100_000];
    r.output = Some(r.input.clone());
    let profile = on("N78_1TOPS_2PLE_RATIO", Release::R23_02);
    assert_eq!(check(&Operation::Relu(r), &profile), Verdict::supported());
}

#[test]
fn max_pooling_stride_1_size_limit_follows_the_sram() {
    for (variant, limit) in [
        ("N78_1TOPS_2PLE_RATIO", 1776),
        ("N78_2TOPS_4PLE_RATIO", 3056),
        ("N78_4TOPS_4PLE_RATIO", 4080),
        ("N78_8TOPS_2PLE_RATIO", 8176),
    ] {
        let pool_of = |width: u32| {
            let mut p = pool();
            set_pool(&mut p, 3, 1, PAD_1, (8, width));
            Operation::Pooling(p)
        };
        let profile = on(variant, Release::R23_08);
        assert_eq!(
            check(&pool_of(limit), &profile),
            Verdict::supported(),
            "{variant}"
        );
        let reason = format!(
            "Input tensor for max pooling with stride 1 is too large - width and height are limited to {limit}"
        );
        assert_eq!(
            summary(&check(&pool_of(limit + 1), &profile)),
            (E, "pool.max-stride1-size", reason.as_str()),
            "{variant}"
        );
    }
    // Only pooled dimensions count: a 3×1 pool leaves the width free.
    let mut p = pool();
    p.size_x = 1;
    p.size_y = 3;
    p.stride = Stride::new(1, 1);
    p.padding = Padding::new(1, 1, 0, 0);
    p.input.shape = [1, 8, 1777, 16];
    refresh_pool(&mut p);
    let profile = on("N78_1TOPS_2PLE_RATIO", Release::R23_08);
    assert_eq!(
        check(&Operation::Pooling(p), &profile),
        Verdict::supported()
    );
}

#[test]
fn average_pooling_3x3_area_limit_follows_the_sram_per_emc() {
    // 1 TOPS: 56 KiB per EMC, 8 SRAMs: with C > 8, 112 × 112 fits and 120 × 112 does not.
    let avg = |h: u32, w: u32, c: u32| {
        let mut p = pool();
        p.input.shape[3] = c;
        avg_3x3(&mut p, (h, w));
        Operation::Pooling(p)
    };
    let one = on("N78_1TOPS_2PLE_RATIO", Release::R25_03);
    assert!(check(&avg(112, 112, 9), &one).runs_on_npu());
    assert_eq!(check(&avg(120, 112, 9), &one).rule, "pool.avg-3x3-sram");
    // With C ≤ 8 the depth is not split, so twice the area fits.
    assert!(check(&avg(224, 112, 8), &one).runs_on_npu());
    let four = on("N78_4TOPS_4PLE_RATIO", Release::R25_03);
    assert!(check(&avg(120, 112, 9), &four).runs_on_npu());
}

#[test]
fn variants_parse_validate_and_default() {
    let default = Variant::default();
    assert_eq!(default.to_string(), "N78_4TOPS_4PLE_RATIO");
    assert_eq!("N78_4TOPS_4PLE_RATIO".parse::<Variant>().unwrap(), default);
    assert_eq!("tops=4,ple=4".parse::<Variant>().unwrap(), default);
    assert_eq!(Profile::default().variant(), default);
    assert_eq!(Profile::default().release(), Release::R25_03);
    assert_eq!(
        "tops=8,ple=4".parse::<Variant>().unwrap_err().to_string(),
        "Unknown NPU type: N78 with 8 TOPS and PLE ratio 4"
    );
    assert!("tops=4,ple=4,sram=100K".parse::<Variant>().is_err());
}

// ---------------------------------------------------------------------------------------------
// TVM's front end (23.02)

#[test]
fn tvm_joins_its_messages_in_operand_order() {
    let mut a = addition();
    a.input0.shape[0] = 2;
    a.input1.shape[0] = 2;
    refresh_elementwise(&mut a);
    let verdict = check(&Operation::Addition(a), &tvm());
    assert_eq!(
        summary(&verdict),
        (
            U,
            "add.tvm-input0-batch",
            [TVM_BATCH; 3].join("; ").as_str()
        )
    );
    let mut c = concat();
    for input in &mut c.inputs {
        input.rank = 5;
    }
    c.inputs[1].dtype = float32();
    let verdict = check(&Operation::Concatenation(c), &tvm());
    assert_eq!(
        verdict.reason,
        format!("{TVM_RANK}; {TVM_RANK}; {TVM_DTYPE}"),
        "input 0, then input 1 (rank, dtype)"
    );
    let mut c = conv();
    c.dilation = [2, 1];
    c.input.shape[0] = 2;
    refresh_conv(&mut c);
    let verdict = check(&Operation::Convolution(c.clone()), &tvm());
    assert_eq!(
        verdict.reason,
        format!("dilation=[2, 1], dilation must = [1, 1]; {TVM_BATCH}; {TVM_BATCH}")
    );
    // The library has no dilation and takes batch 2 as its first failure.
    assert_eq!(
        summary(&check(&Operation::Convolution(c), &sl(Release::R23_02))),
        (U, "conv.batch", "Batch size must be 1")
    );
}

#[test]
fn tvm_stops_after_the_leaky_relu_alpha() {
    let mut l = leaky_relu();
    l.alpha = 1.5;
    l.output.as_mut().unwrap().shape[0] = 2;
    let verdict = check(&Operation::LeakyRelu(l), &tvm());
    assert_eq!(
        verdict.reason,
        format!(
            "{TVM_BATCH}; leaky relu alpha must be less than 1 and greater than 0, but was 1.5"
        )
    );
}

#[test]
fn tvm_demands_the_canonical_sigmoid_and_tanh_quantization() {
    let mut s = sigmoid();
    s.output.as_mut().unwrap().quant = q(0, 1.0 / 255.0);
    let op = Operation::Sigmoid(s);
    assert_eq!(
        summary(&check(&op, &tvm())),
        (
            U,
            "sigmoid.tvm-output-quant",
            "output quantization params=(0, 0.00392157), must = (0, 1/256)"
        )
    );
    // Without TVM the library refuses it too, in its own words.
    assert_eq!(
        summary(&check(&op, &sl(Release::R23_02))),
        (U, "sigmoid.output-info", "Provided outputInfo is incorrect")
    );
    // int8: zero point -128.
    let mut s = sigmoid();
    to_i8(&mut s.input);
    s.output = Some(s.expected_sigmoid_output());
    s.output.as_mut().unwrap().quant.zero_point = 0;
    assert_eq!(
        check(&Operation::Sigmoid(s), &tvm()).reason,
        "output quantization params=(0, 0.00390625), must = (-128, 1/256)"
    );
    // Tanh: the check is 1/128 although the message says 1/256.
    let op = Operation::Tanh(tanh());
    assert_eq!(check(&op, &tvm()), Verdict::supported());
    let mut t = tanh();
    t.output.as_mut().unwrap().quant = q(128, 1.0 / 256.0);
    assert_eq!(
        check(&Operation::Tanh(t), &tvm()).reason,
        "output quantization params=(128, 0.00390625), must = (128, 1/256)"
    );
}

#[test]
fn tvm_checks_run_only_in_the_tvm_profile() {
    let mut c = conv();
    c.dilation = [2, 2];
    c.fused_pad_attribute = Some(PAD_1);
    let op = Operation::Convolution(c);
    assert_eq!(check(&op, &tvm()).rule, "conv.tvm-pad-op");
    assert_eq!(
        check(&op, &tvm()).reason,
        "both op and attr padding exist, must be either op/attr only or no padding; \
         dilation=[2, 2], dilation must = [1, 1]"
    );
    for release in Release::ALL {
        assert_eq!(
            check(&op, &Profile::new(release).with_tvm_frontend(false)),
            Verdict::supported()
        );
        if release != Release::R23_02 {
            assert_eq!(
                check(&op, &Profile::new(release)),
                Verdict::supported(),
                "{release}"
            );
        }
    }
    let parsed: Profile = "tvm-3.2.0".parse().unwrap();
    assert_eq!(check(&op, &parsed).rule, "conv.tvm-pad-op");
}

/// A convolution without a bias: TVM's pattern does not match it (23.02); the library, which
/// is described the zero bias its compiler synthesises, runs it in every release without TVM.
#[test]
fn a_missing_bias_matters_only_to_tvm() {
    for (op, rule) in [
        (Operation::Convolution(conv()), "conv.tvm-bias-add"),
        (
            Operation::DepthwiseConvolution(dwconv()),
            "dwconv.tvm-bias-add",
        ),
    ] {
        let mut op = op;
        if let Operation::Convolution(c) | Operation::DepthwiseConvolution(c) = &mut op {
            c.bias_missing = true;
        }
        assert_eq!(summary(&check(&op, &tvm())), (U, rule, TVM_BIAS_ADD));
        for release in Release::ALL {
            assert_eq!(check(&op, &sl(release)), Verdict::supported(), "{release}");
        }
        assert_eq!(
            check(&op, &Profile::new(Release::R25_03)),
            Verdict::supported()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The generated document

#[test]
fn supported_ops_document_is_up_to_date() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ethos-n-supported-ops.md");
    let generated = npuopt::target::ethos_n::docs::supported_ops_markdown();
    if std::env::var_os("NPUOPT_WRITE_DOCS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: regenerate it with NPUOPT_WRITE_DOCS=1 cargo test --test ethos_n_rules",
        path.display()
    );
}
