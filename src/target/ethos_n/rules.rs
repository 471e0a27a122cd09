//! The Ethos-N rule table: every check of every support query, as data, and its evaluator.
//!
//! One record per check: a stable id, the operation, the releases it exists in, the level it
//! gives on failure, the exact message (a template whose `{}` slots are filled with the offending
//! values), and the predicate. For each operation the records appear in the order the query
//! evaluates them; the first failing one decides the verdict, as the reason buffer of the Support
//! Library holds only the first failure. The one exception is Resize's parity warning (level
//! `Supported`): it sets the reason and the query goes on, so the operation stays Supported
//! unless a later check fails.
//!
//! Records of the `Tvm` stage reproduce TVM's front end (profile flag `tvm_frontend`). TVM
//! converts every operand and collects all conversion errors before asking the library; if there
//! are any, the library is not asked and the verdict is Unsupported with the messages joined by
//! `"; "` in TVM's conversion order (operand by operand: inputs, weights, output).
//!
//! Where a release has no query for an operation, one `<op>.no-query` record answers
//! Unsupported with npuopt's own text. A tensor of rank above 4 is refused before the library's
//! checks ([`RANK_RULE`]). `Unsupported pooling algorithm` has no record: only MAX and AVG
//! exist here. `fc.output-depth` is kept although it cannot fail (the output has W = 1), so that
//! the table stays the query.

use super::npu::{
    Concatenation, Convolution, DataFormat, DataType, Elementwise, OpKind, Operation, Padding,
    Pooling, PoolingKind, Stride, TensorInfo,
};
use super::predicates::{
    activation_format, batch, bias_quant, bias_scales, bias_zero_point, depth, dtype_8bit,
    dtype_int32, each, format_is, identity_requantize_details, identity_requantize_scale,
    no_quant_axis, output_info, output_info_always, overall_scale, own_zero_point,
    padding_up_to_7_or_same, padding_valid_or_same, quant_axis, quant_axis_scales, require,
    single_scale, zero_point, Failure, Outcome,
};
use super::profiles::{Profile, Release};
use super::{sram, tvm};
use crate::target::{Level, Verdict};

/// The releases a check exists in (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Releases {
    pub first: Release,
    pub last: Release,
}

impl Releases {
    pub fn contains(self, release: Release) -> bool {
        self.first <= release && release <= self.last
    }

    /// `all`, `23.08+`, `≤ 23.05` or `23.11–24.10`.
    pub fn describe(self) -> String {
        match (self.first == Release::FIRST, self.last == Release::LATEST) {
            (true, true) => "all".to_string(),
            (false, true) => format!("{}+", self.first),
            (true, false) => format!("≤ {}", self.last),
            (false, false) => format!("{}–{}", self.first, self.last),
        }
    }
}

const ALL: Releases = Releases {
    first: Release::FIRST,
    last: Release::LATEST,
};

const fn since(first: Release) -> Releases {
    Releases {
        first,
        last: Release::LATEST,
    }
}

const fn until(last: Release) -> Releases {
    Releases {
        first: Release::FIRST,
        last,
    }
}

/// What TVM does after one of its checks fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TvmFlow {
    /// Keep converting and collecting errors.
    Continue,
    /// Return the errors collected so far, this one included (leaky ReLU's α).
    Stop,
    /// Return this error alone, dropping the others (pooling's data layout).
    Alone,
}

/// Who performs a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// TVM's front end (`ethosn_api.cc`), before the library; only with `tvm_frontend`.
    Tvm(TvmFlow),
    /// The Support Library's query.
    SupportLibrary,
}

/// One check of one support query.
#[derive(Clone, Copy)]
pub struct Check {
    /// Stable id, `<operation>.<what>`; a check whose predicate changed between releases keeps
    /// its id in several records with disjoint releases.
    pub id: &'static str,
    pub op: OpKind,
    pub stage: Stage,
    pub releases: Releases,
    /// The level on failure; `Supported` marks a warning that does not stop the query.
    pub level: Level,
    /// The exact reason text, with `{}` slots for the offending values.
    pub message: &'static str,
    test: fn(&Profile, &Operation) -> Outcome,
}

impl Check {
    /// Whether the check runs under `profile`.
    pub fn applies(&self, profile: &Profile) -> bool {
        self.releases.contains(profile.release())
            && (self.stage == Stage::SupportLibrary || profile.tvm_frontend())
    }

    /// Runs the predicate (an operation of another kind passes).
    pub fn test(&self, profile: &Profile, op: &Operation) -> Result<(), Failure> {
        (self.test)(profile, op)
    }

    /// The message with its slots filled.
    pub fn reason(&self, args: &[String]) -> String {
        let mut pieces = self.message.split("{}");
        let mut text = pieces.next().unwrap_or_default().to_string();
        for (i, piece) in pieces.enumerate() {
            text.push_str(args.get(i).map_or("?", String::as_str));
            text.push_str(piece);
        }
        text
    }
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("op", &self.op)
            .field("stage", &self.stage)
            .field("releases", &self.releases)
            .field("level", &self.level)
            .field("message", &self.message)
            .finish()
    }
}

/// Every check, by operation (alphabetically), each operation's in evaluation order.
pub fn checks() -> &'static [Check] {
    CHECKS
}

/// The checks of one operation that run under `profile`, in evaluation order.
pub fn checks_for(kind: OpKind, profile: &Profile) -> impl Iterator<Item = &'static Check> + '_ {
    CHECKS
        .iter()
        .filter(move |check| check.op == kind && check.applies(profile))
}

/// Judges one operation under `profile`: TVM's front-end checks first (when the profile has
/// them), then whether every tensor is expressible at all ([`RANK_RULE`]), then the Support
/// Library's query, in the order of the table.
pub fn check(op: &Operation, profile: &Profile) -> Verdict {
    let kind = op.kind();
    if let Some(verdict) = tvm_verdict(profile, op) {
        return verdict;
    }
    if let Some(verdict) = rank_verdict(op) {
        return verdict;
    }
    let mut warning = None;
    for check in checks_for(kind, profile).filter(|c| c.stage == Stage::SupportLibrary) {
        let Err(failure) = check.test(profile, op) else {
            continue;
        };
        let verdict = Verdict {
            level: check.level,
            rule: check.id,
            reason: check.reason(&failure.args),
            details: failure.details,
        };
        if check.level != Level::Supported {
            return verdict;
        }
        warning = Some(verdict);
    }
    warning.unwrap_or_else(Verdict::supported)
}

/// The rule refusing a tensor of rank above 4. The Support Library's tensors are 4-D, so it has
/// no query (and no text) for this: the reason is npuopt's. TVM's front end says it first, in its
/// own words, when the profile has it.
pub const RANK_RULE: &str = "tensor.rank";

fn rank_verdict(op: &Operation) -> Option<Verdict> {
    let tensor = op.tensors().into_iter().find(|t| t.rank > 4)?;
    Some(Verdict {
        level: Level::Unsupported,
        rule: RANK_RULE,
        reason: format!(
            "Tensor of rank {} cannot be expressed: Support Library tensors are 4-D",
            tensor.rank
        ),
        details: format!("rank {}, must be <= 4", tensor.rank),
    })
}

/// TVM's front end: all failed conversions, in conversion order, joined by `"; "`.
fn tvm_verdict(profile: &Profile, op: &Operation) -> Option<Verdict> {
    let outcomes: Vec<(usize, &Check, Failure)> = checks_for(op.kind(), profile)
        .enumerate()
        .filter(|(_, check)| matches!(check.stage, Stage::Tvm(_)))
        .filter_map(|(index, check)| check.test(profile, op).err().map(|f| (index, check, f)))
        .collect();
    let mut failures: Vec<(usize, usize, &Check, &Failure)> = Vec::new();
    for (index, check, failure) in &outcomes {
        failures.extend(failure.instances().map(|f| (f.position, *index, *check, f)));
    }
    failures.sort_by_key(|&(position, index, _, _)| (position, index));
    let mut kept: Vec<(&Check, &Failure)> = Vec::new();
    for (_, _, check, failure) in failures {
        match check.stage {
            Stage::Tvm(TvmFlow::Alone) => {
                kept = vec![(check, failure)];
                break;
            }
            Stage::Tvm(TvmFlow::Stop) => {
                kept.push((check, failure));
                break;
            }
            _ => kept.push((check, failure)),
        }
    }
    let (first, _) = kept.first()?;
    let join = |part: fn(&Check, &Failure) -> String| {
        kept.iter()
            .map(|(check, failure)| part(check, failure))
            .collect::<Vec<_>>()
            .join("; ")
    };
    Some(Verdict {
        level: Level::Unsupported,
        rule: first.id,
        reason: join(|check, failure| check.reason(&failure.args)),
        details: join(|_, failure| failure.details.clone()),
    })
}

const U: Level = Level::Unsupported;
const E: Level = Level::EstimateOnly;
/// A warning: the reason is kept, the operation stays Supported.
const WARN: Level = Level::Supported;
const SL: Stage = Stage::SupportLibrary;
const TVM: Stage = Stage::Tvm(TvmFlow::Continue);
const TVM_STOP: Stage = Stage::Tvm(TvmFlow::Stop);
const TVM_ALONE: Stage = Stage::Tvm(TvmFlow::Alone);

const R23_02: Release = Release::R23_02;
const R23_05: Release = Release::R23_05;
const R23_08: Release = Release::R23_08;
const R23_11: Release = Release::R23_11;
const R24_10: Release = Release::R24_10;

/// One record: `check!(Op, "id", stage, releases, level, "message", |profile, op| predicate)`.
macro_rules! check {
    ($op:ident, $id:literal, $stage:expr, $releases:expr, $level:expr, $message:expr,
     |$profile:pat_param, $operation:pat_param| $test:expr) => {
        Check {
            id: $id,
            op: OpKind::$op,
            stage: $stage,
            releases: $releases,
            level: $level,
            message: $message,
            test: |profile, operation| {
                // Records are only run on operations of their own kind.
                if let Operation::$op($operation) = operation {
                    let $profile = profile;
                    $test
                } else {
                    Ok(())
                }
            },
        }
    };
}

// TVM's texts, shared by every operation it converts.
macro_rules! tvm_rank {
    () => {
        "dimensions={}, dimensions must be <= 4"
    };
}
macro_rules! tvm_batch {
    () => {
        "batch size={}, batch size must = 1"
    };
}
macro_rules! tvm_dtype {
    () => {
        "dtype='{}', dtype must be either uint8, int8 or int32"
    };
}

/// Not TVM's text (a pattern that does not match has none): npuopt's, in TVM's terms.
macro_rules! tvm_bias_add {
    () => {
        "qnn.conv2d without nn.bias_add does not match the ethos-n.qnn_conv2d pattern (bias_add is mandatory)"
    };
}

#[rustfmt::skip]
static CHECKS: &[Check] = &[
    // ---- Addition (IsAdditionSupported) ----
    check!(Addition, "add.tvm-input0-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input0)),
    check!(Addition, "add.tvm-input0-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input0)),
    check!(Addition, "add.tvm-input0-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input0)),
    check!(Addition, "add.tvm-input1-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input1)),
    check!(Addition, "add.tvm-input1-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input1)),
    check!(Addition, "add.tvm-input1-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input1)),
    check!(Addition, "add.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Addition, "add.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(Addition, "add.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(Addition, "add.batch", SL, ALL, U, "Batch size must be 1",
        |_, op| batch(&op.input0).and_then(|()| batch(&op.input1))),
    check!(Addition, "add.input0-depth", SL, ALL, U, "Input0 to addition: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input0)),
    check!(Addition, "add.input1-depth", SL, ALL, U, "Input1 to addition: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input1)),
    check!(Addition, "add.input0-zero-point", SL, ALL, U, "Zero point out of range for input0 info",
        |_, op| own_zero_point(&op.input0)),
    check!(Addition, "add.input1-zero-point", SL, ALL, U, "Zero point out of range for input1 info",
        |_, op| own_zero_point(&op.input1)),
    check!(Addition, "add.height", SL, ALL, U, "Height must be either equal or one of the tensor's height must be 1",
        |_, op| dims_compatible(op, 1)),
    check!(Addition, "add.width", SL, ALL, U, "Width must be either equal or one of the tensor's height must be 1",
        |_, op| dims_compatible(op, 2)),
    check!(Addition, "add.channels", SL, ALL, U, "Channels must be either equal or one of the tensor's height must be 1",
        |_, op| dims_compatible(op, 3)),
    check!(Addition, "add.dtype", SL, ALL, U, "Input to addition must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input0).and_then(|()| dtype_8bit(&op.input1))),
    check!(Addition, "add.same-dtype", SL, ALL, U, "Inputs to addition must have the same data type",
        |_, op| same_dtype(op)),
    check!(Addition, "add.output-zero-point", SL, ALL, U, "Zero point out of range for outputQuantizationInfo",
        |_, op| zero_point(&op.input0.dtype, &op.output_quant)),
    check!(Addition, "add.format", SL, ALL, U, "Input to addition must be NHWC or NHWCB",
        |_, op| activation_format(&op.input0).and_then(|()| activation_format(&op.input1))),
    check!(Addition, "add.quant-dim", SL, ALL, U, "Quantization Dim should not be used on any Inputs of Addition",
        |_, op| no_quant_axis(&op.input0.quant).and_then(|()| no_quant_axis(&op.input1.quant))),
    check!(Addition, "add.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(Addition, "add.broadcast", SL, ALL, E, "Cannot stretch along the requested dimensions.",
        |_, op| no_broadcast(op)),

    // ---- Concatenation (IsConcatenationSupported) ----
    check!(Concatenation, "concat.tvm-input-rank", TVM, ALL, U, tvm_rank!(),
        |_, op| each(op.inputs.iter().enumerate().map(|(i, t)| tvm::rank(t).map_err(|f| f.at(i))))),
    check!(Concatenation, "concat.tvm-input-batch", TVM, ALL, U, tvm_batch!(),
        |_, op| each(op.inputs.iter().enumerate().map(|(i, t)| tvm::batch(t).map_err(|f| f.at(i))))),
    check!(Concatenation, "concat.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(),
        |_, op| each(op.inputs.iter().enumerate().map(|(i, t)| tvm::dtype(t).map_err(|f| f.at(i))))),
    check!(Concatenation, "concat.tvm-output-rank", TVM, ALL, U, tvm_rank!(),
        |_, op| on_output(&op.output, tvm::rank).map_err(|f| f.at(op.inputs.len()))),
    check!(Concatenation, "concat.tvm-output-batch", TVM, ALL, U, tvm_batch!(),
        |_, op| on_output(&op.output, tvm::batch).map_err(|f| f.at(op.inputs.len()))),
    check!(Concatenation, "concat.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(),
        |_, op| on_output(&op.output, tvm::dtype).map_err(|f| f.at(op.inputs.len()))),
    check!(Concatenation, "concat.inputs", SL, ALL, U, "Must have at least one input",
        |_, op| require(!op.inputs.is_empty(), || "no inputs".to_string())),
    check!(Concatenation, "concat.batch", SL, ALL, U, "Batch size must be 1",
        |p, op| concat_input(p, op, ConcatInput::Batch)),
    check!(Concatenation, "concat.input-depth", SL, ALL, U, "Input tensors: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| concat_input(p, op, ConcatInput::Depth)),
    check!(Concatenation, "concat.input-dtype", SL, ALL, U, "Input tensors must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |p, op| concat_input(p, op, ConcatInput::Dtype)),
    check!(Concatenation, "concat.input-format", SL, ALL, U, "Input to concatenation must be NHWC or NHWCB",
        |p, op| concat_input(p, op, ConcatInput::Format)),
    check!(Concatenation, "concat.axis", SL, ALL, U, "Concatenation axis must refer to a valid dimension (0-3)",
        |_, op| valid_axis(op.axis)),
    check!(Concatenation, "concat.shapes", SL, ALL, U, "Input tensors must have the same size along all dimensions except the concatenation dimension",
        |_, op| concat_shapes(op)),
    check!(Concatenation, "concat.input-quant-dim", SL, ALL, U, "Quantization Dim should not be used on any Inputs of Concat",
        |_, op| first_failure(op.inputs.iter().map(|t| no_quant_axis(&t.quant)))),
    check!(Concatenation, "concat.output-quant-dim", SL, ALL, U, "Concatenation: Quantization Dim should not be used on Output",
        |_, op| no_quant_axis(&op.output_quant)),
    check!(Concatenation, "concat.output-quant-scales", SL, ALL, U, "Concatenation: Output quantization scales must have a size of 1",
        |_, op| single_scale(&op.output_quant)),
    check!(Concatenation, "concat.input-zero-point", SL, ALL, U, "Zero point out of range for at least one input info",
        |_, op| concat_zero_point(op, ConcatZeroPoint::Input)),
    check!(Concatenation, "concat.output-zero-point", SL, ALL, U, "Zero point out of range for concatInfo",
        |_, op| concat_zero_point(op, ConcatZeroPoint::Output)),
    check!(Concatenation, "concat.scale", SL, ALL, E, "Output scales must be bigger than input scale / 128",
        |_, op| concat_scales(op)),
    check!(Concatenation, "concat.output-depth", SL, ALL, U, "Output of concatenation: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| op.expected_output().map_or(Ok(()), |out| depth(p, &out))),
    check!(Concatenation, "concat.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| op.expected_output().map_or(Ok(()), |out| output_info(op.output.as_ref(), &out))),
    check!(Concatenation, "concat.batch-axis", SL, ALL, E, "Concatenation cannot be performed along batch axis (axis 0)",
        |_, op| require(op.axis != 0, || "axis 0 (N), must be 1, 2 or 3".to_string())),
    check!(Concatenation, "concat.channels-16", SL, until(R23_02), E, "Concatenation along the channels dimension (axis 3) requires input tensors with a multiple of 16 channels",
        |p, op| channels_of_16(p, op.axis, op.inputs.iter().map(TensorInfo::channels), "input")),

    // ---- Constant (IsConstantSupported) ----
    check!(Constant, "constant.depth", SL, ALL, U, "Constant layer: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.info)),
    check!(Constant, "constant.zero-point", SL, ALL, U, "Zero point out of range for constant info",
        |_, op| own_zero_point(&op.info)),

    // ---- Convolution (IsConvolutionSupported) ----
    check!(Convolution, "conv.tvm-bias-add", TVM_ALONE, ALL, U, tvm_bias_add!(), |_, op| tvm::bias_add(op.bias_missing)),
    check!(Convolution, "conv.tvm-pad-op", TVM, ALL, U, "both op and attr padding exist, must be either op/attr only or no padding",
        |_, op| tvm::fused_pad_attribute(op.fused_pad_attribute)),
    check!(Convolution, "conv.tvm-dilation", TVM, ALL, U, "dilation={}, dilation must = [1, 1]", |_, op| tvm::dilation(op.dilation)),
    check!(Convolution, "conv.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(Convolution, "conv.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(Convolution, "conv.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(Convolution, "conv.tvm-weights-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.weights)),
    check!(Convolution, "conv.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Convolution, "conv.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(Convolution, "conv.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(Convolution, "conv.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Convolution, "conv.input-depth", SL, ALL, U, "Input to conv: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Convolution, "conv.input-dtype", SL, ALL, U, "Input to conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Convolution, "conv.input-format", SL, ALL, U, "Input to conv must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(Convolution, "conv.weights-dtype", SL, ALL, U, "Weight for conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.weights)),
    check!(Convolution, "conv.weights-format", SL, ALL, U, "Weights for conv must be HWIO",
        |_, op| format_is(&op.weights, DataFormat::Hwio)),
    check!(Convolution, "conv.bias-dtype", SL, ALL, U, "Bias for conv must be INT32_QUANTIZED",
        |_, op| dtype_int32(&op.bias)),
    check!(Convolution, "conv.bias-format", SL, ALL, U, "Bias for conv must be NHWC",
        |_, op| format_is(&op.bias, DataFormat::Nhwc)),
    check!(Convolution, "conv.bias-shape", SL, ALL, U, "Invalid bias tensor dimensions",
        |_, op| bias_shape(&op.bias, op.weights.shape[3])),
    check!(Convolution, "conv.weights-input-channels", SL, ALL, U, "Weights input channels dimension (I) must match Input channels dimension (C)",
        |_, op| weights_match_input(op)),
    check!(Convolution, "conv.kernel-stride-zero", SL, ALL, U, "Invalid kernel/stride parameters",
        |_, op| kernel_and_stride_nonzero(op)),
    check!(Convolution, "conv.output-empty", SL, ALL, U, "Output tensor would be empty",
        |_, op| not_empty(&op.expected_output())),
    check!(Convolution, "conv.output-depth", SL, ALL, U, "Output of conv: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.expected_output())),
    check!(Convolution, "conv.bias-quant-axis", SL, ALL, U, "Convolution: Per channel quantization axis must be 3 for Biases",
        |_, op| quant_axis(&op.bias, 3)),
    check!(Convolution, "conv.bias-quant-scales", SL, ALL, U, "Convolution: Biases must have quantization scales with same number of elements as the quantization dim. Expected: {}, got: {}.",
        |_, op| quant_axis_scales(&op.bias)),
    check!(Convolution, "conv.weights-quant-axis", SL, ALL, U, "Convolution: Per channel quantization axis must be 3 for Weights",
        |_, op| quant_axis(&op.weights, 3)),
    check!(Convolution, "conv.weights-quant-scales", SL, ALL, U, "Convolution: Weights must have quantization scales with same number of elements as the quantization dim. Expected: {}, got: {}.",
        |_, op| quant_axis_scales(&op.weights)),
    check!(Convolution, "conv.input-quant-dim", SL, ALL, U, "Convolution: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Convolution, "conv.input-quant-scales", SL, ALL, U, "Convolution: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Convolution, "conv.output-quant-dim", SL, ALL, U, "Convolution: Quantization Dim should not be used on Output",
        |_, op| no_quant_axis(&op.output_quant)),
    check!(Convolution, "conv.output-quant-scales", SL, ALL, U, "Convolution: Output quantization scales must have a size of 1",
        |_, op| single_scale(&op.output_quant)),
    check!(Convolution, "conv.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(Convolution, "conv.weights-zero-point", SL, ALL, U, "Zero point out of range for weights info",
        |_, op| own_zero_point(&op.weights)),
    check!(Convolution, "conv.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Convolution, "conv.output-zero-point", SL, ALL, U, "Zero point out of range for convInfo",
        |_, op| zero_point(&op.input.dtype, &op.output_quant)),
    check!(Convolution, "conv.bias-zero-point", SL, ALL, E, "Bias for conv must have quantization parameters with zero point of 0",
        |_, op| bias_zero_point(&op.bias)),
    check!(Convolution, "conv.bias-scale", SL, ALL, E, "Bias for conv must have quantization parameters with scale of input scale x weight scale",
        |_, op| bias_scales(&op.input, &op.weights, &op.bias)),
    check!(Convolution, "conv.kernel-size", SL, ALL, E, "Unsupported kernel size. Width({})/height({}) must be in { 1, 2, 3, 5, 7, 9 }",
        |_, op| kernel_size(op, false)),
    check!(Convolution, "conv.stride", SL, ALL, E, "Unsupported stride. Stride X and Y must be equal and in { 1, 2 }",
        |_, op| stride_in(op.stride, &[1, 2])),
    check!(Convolution, "conv.stride-large-kernel", SL, ALL, E, "Unsupported stride for kernel width/height > 7. Stride X and Y must be 1",
        |_, op| stride_with_large_kernel(op)),
    check!(Convolution, "conv.padding", SL, until(R23_05), E, "Unsupported padding.",
        |_, op| padding_valid_or_same(&op.padding, op.input.shape, op.kernel(), op.stride)),
    check!(Convolution, "conv.padding", SL, since(R23_08), E, "Unsupported padding.",
        |_, op| padding_up_to_7_or_same(&op.padding, op.input.shape, op.kernel(), op.stride)),
    check!(Convolution, "conv.overall-scale", SL, ALL, E, "Convolution: Overall scale (of the input * weights / output) should be in the range (2^-32, 65536)",
        |_, op| overall_scale(&op.input.quant, &op.weights.quant, &op.output_quant)),

    // ---- DepthToSpace (IsDepthToSpaceSupported) ----
    check!(DepthToSpace, "depth-to-space.tvm-mode", TVM_ALONE, ALL, U, "mode={}, mode must = DCR", |_, op| tvm::depth_to_space_mode(op.mode)),
    check!(DepthToSpace, "depth-to-space.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(DepthToSpace, "depth-to-space.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(DepthToSpace, "depth-to-space.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(DepthToSpace, "depth-to-space.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(DepthToSpace, "depth-to-space.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(DepthToSpace, "depth-to-space.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(DepthToSpace, "depth-to-space.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(DepthToSpace, "depth-to-space.input-depth", SL, ALL, U, "Input to depth to space: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(DepthToSpace, "depth-to-space.input-dtype", SL, ALL, U, "Input to depth to space must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(DepthToSpace, "depth-to-space.input-format", SL, ALL, U, "Input must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(DepthToSpace, "depth-to-space.channels", SL, ALL, U, "Number of channels of input must be an exact multiple of the square of the block size",
        |_, op| channels_divisible(&op.input, op.block_size)),
    check!(DepthToSpace, "depth-to-space.input-quant-dim", SL, ALL, U, "Depth to Space: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(DepthToSpace, "depth-to-space.input-quant-scales", SL, ALL, U, "Depth to Space: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(DepthToSpace, "depth-to-space.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(DepthToSpace, "depth-to-space.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(DepthToSpace, "depth-to-space.block-size", SL, ALL, E, "Only block size of 2 is supported",
        |_, op| require(op.block_size == 2, || format!("block size {}, must be 2", op.block_size))),

    // ---- DepthwiseConvolution (IsDepthwiseConvolutionSupported) ----
    check!(DepthwiseConvolution, "dwconv.tvm-bias-add", TVM_ALONE, ALL, U, tvm_bias_add!(), |_, op| tvm::bias_add(op.bias_missing)),
    check!(DepthwiseConvolution, "dwconv.tvm-pad-op", TVM, ALL, U, "both op and attr padding exist, must be either op/attr only or no padding",
        |_, op| tvm::fused_pad_attribute(op.fused_pad_attribute)),
    check!(DepthwiseConvolution, "dwconv.tvm-dilation", TVM, ALL, U, "dilation={}, dilation must = [1, 1]", |_, op| tvm::dilation(op.dilation)),
    check!(DepthwiseConvolution, "dwconv.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(DepthwiseConvolution, "dwconv.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(DepthwiseConvolution, "dwconv.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(DepthwiseConvolution, "dwconv.tvm-weights-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.weights)),
    check!(DepthwiseConvolution, "dwconv.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(DepthwiseConvolution, "dwconv.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(DepthwiseConvolution, "dwconv.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(DepthwiseConvolution, "dwconv.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(DepthwiseConvolution, "dwconv.input-depth", SL, ALL, U, "Input to depthwise conv: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(DepthwiseConvolution, "dwconv.input-dtype", SL, ALL, U, "Input to depthwise conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(DepthwiseConvolution, "dwconv.input-format", SL, ALL, U, "Input to depthwise conv must be NHWC OR NHWCB",
        |_, op| activation_format(&op.input)),
    check!(DepthwiseConvolution, "dwconv.weights-dtype", SL, ALL, U, "Weight for conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.weights)),
    check!(DepthwiseConvolution, "dwconv.weights-format", SL, ALL, U, "Weights for depthwise conv must be HWIM",
        |_, op| format_is(&op.weights, DataFormat::Hwim)),
    check!(DepthwiseConvolution, "dwconv.bias-dtype", SL, ALL, U, "Bias for depthwise conv must be INT32_QUANTIZED",
        |_, op| dtype_int32(&op.bias)),
    check!(DepthwiseConvolution, "dwconv.bias-format", SL, ALL, U, "Bias for depthwise conv must be NHWC",
        |_, op| format_is(&op.bias, DataFormat::Nhwc)),
    check!(DepthwiseConvolution, "dwconv.bias-shape", SL, ALL, U, "Invalid bias tensor dimensions",
        |_, op| bias_shape(&op.bias, op.weights.shape[2].wrapping_mul(op.weights.shape[3]))),
    check!(DepthwiseConvolution, "dwconv.weights-input-channels", SL, ALL, U, "Weights input channels dimension (I) must match Input channels dimension (C)",
        |_, op| weights_match_input(op)),
    check!(DepthwiseConvolution, "dwconv.kernel-stride-zero", SL, ALL, U, "Invalid kernel/stride parameters",
        |_, op| kernel_and_stride_nonzero(op)),
    check!(DepthwiseConvolution, "dwconv.output-empty", SL, ALL, U, "Output tensor would be empty",
        |_, op| not_empty(&op.expected_output())),
    check!(DepthwiseConvolution, "dwconv.output-depth", SL, ALL, U, "Output of depthwise conv: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.expected_output())),
    check!(DepthwiseConvolution, "dwconv.bias-quant-axis", SL, ALL, U, "Depthwise Convolution: Per channel quantization axis must be 3 for Biases",
        |_, op| quant_axis(&op.bias, 3)),
    check!(DepthwiseConvolution, "dwconv.bias-quant-scales", SL, ALL, U, "Depthwise Convolution: Biases must have quantization scales with same number of elements as the quantization dim. Expected: {}, got: {}.",
        |_, op| quant_axis_scales(&op.bias)),
    check!(DepthwiseConvolution, "dwconv.weights-quant-axis", SL, ALL, U, "Depthwise Convolution: Per channel quantization axis must be 2 for Weights",
        |_, op| quant_axis(&op.weights, 2)),
    check!(DepthwiseConvolution, "dwconv.weights-quant-scales", SL, ALL, U, "Depthwise Convolution: Weights must have quantization scales with same number of elements as the quantization dim. Expected: {}, got: {}.",
        |_, op| quant_axis_scales(&op.weights)),
    check!(DepthwiseConvolution, "dwconv.input-quant-dim", SL, ALL, U, "Depthwise Convolution: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(DepthwiseConvolution, "dwconv.input-quant-scales", SL, ALL, U, "Depthwise Convolution: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(DepthwiseConvolution, "dwconv.output-quant-dim", SL, ALL, U, "Depthwise Convolution: Quantization Dim should not be used on Output",
        |_, op| no_quant_axis(&op.output_quant)),
    check!(DepthwiseConvolution, "dwconv.output-quant-scales", SL, ALL, U, "Depthwise Convolution: Output quantization scales must have a size of 1",
        |_, op| single_scale(&op.output_quant)),
    check!(DepthwiseConvolution, "dwconv.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(DepthwiseConvolution, "dwconv.channel-multiplier", SL, ALL, E, "If channel multiplier > 1 the weights input channels dimension must be 1",
        |_, op| channel_multiplier(op)),
    check!(DepthwiseConvolution, "dwconv.weights-zero-point", SL, ALL, U, "Zero point out of range for weights info",
        |_, op| own_zero_point(&op.weights)),
    check!(DepthwiseConvolution, "dwconv.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(DepthwiseConvolution, "dwconv.output-zero-point", SL, ALL, U, "Zero point out of range for convInfo",
        |_, op| zero_point(&op.input.dtype, &op.output_quant)),
    check!(DepthwiseConvolution, "dwconv.bias-scale", SL, ALL, E, "Bias for depthwise conv must have quantization parameters with zero point of 0 and scale of input scale x weight scale",
        |_, op| bias_scales(&op.input, &op.weights, &op.bias)),
    check!(DepthwiseConvolution, "dwconv.kernel-size", SL, ALL, E, "Unsupported kernel size. Width({})/height({}) must be in { 1, 2, 3, 5, 7, 9 }",
        |_, op| kernel_size(op, true)),
    check!(DepthwiseConvolution, "dwconv.stride", SL, ALL, E, "Unsupported stride. Stride X and Y must be equal and in { 1, 2 }",
        |_, op| stride_in(op.stride, &[1, 2])),
    check!(DepthwiseConvolution, "dwconv.stride-1x1-kernel", SL, ALL, E, "Unsupported stride >1 with kernel size 1x1.",
        |_, op| require(op.stride.x == 1 || op.kernel() != (1, 1), || {
            format!("stride {} with a 1x1 kernel, must be 1", op.stride.x)
        })),
    check!(DepthwiseConvolution, "dwconv.padding", SL, until(R23_05), E, "Unsupported padding.",
        |_, op| padding_valid_or_same(&op.padding, op.input.shape, op.kernel(), op.stride)),
    check!(DepthwiseConvolution, "dwconv.padding", SL, since(R23_08), E, "Unsupported padding.",
        |_, op| padding_up_to_7_or_same(&op.padding, op.input.shape, op.kernel(), op.stride)),
    check!(DepthwiseConvolution, "dwconv.overall-scale", SL, ALL, E, "Depthwise Convolution: Overall scale (of the input * weights / output) should be in the range (2^-32, 65536)",
        |_, op| overall_scale(&op.input.quant, &op.weights.quant, &op.output_quant)),

    // ---- EstimateOnly (IsEstimateOnlySupported: never better than EstimateOnly) ----
    check!(EstimateOnly, "estimate-only.zero-point", SL, ALL, U, "Zero point out of range for at least one output info in EstimateOnlyInfo",
        |_, op| first_failure(op.declared_outputs.iter().enumerate().map(|(i, t)| own_zero_point(t).map_err(|f| f.about(format!("output {i}")))))),
    check!(EstimateOnly, "estimate-only.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| first_failure(op.outputs.iter().flatten().zip(&op.declared_outputs).enumerate()
            .map(|(i, (given, want))| output_info(Some(given), want).map_err(|f| f.about(format!("output {i}")))))),
    check!(EstimateOnly, "estimate-only.estimate-only", SL, ALL, E, "",
        |_, _| Err(Failure::new("IsEstimateOnlySupported answers EstimateOnly at best, without a reason"))),

    // ---- FullyConnected (IsFullyConnectedSupported) ----
    check!(FullyConnected, "fc.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(FullyConnected, "fc.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(FullyConnected, "fc.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(FullyConnected, "fc.tvm-weights-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.weights)),
    check!(FullyConnected, "fc.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(FullyConnected, "fc.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(FullyConnected, "fc.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(FullyConnected, "fc.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(FullyConnected, "fc.input-depth", SL, ALL, U, "Input to fully connected: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(FullyConnected, "fc.input-dtype", SL, ALL, U, "Input to fully connected must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(FullyConnected, "fc.input-format", SL, ALL, U, "Invalid data format. Only NHWC and NHWCB are supported for fully connected",
        |_, op| activation_format(&op.input)),
    check!(FullyConnected, "fc.weights-dtype", SL, ALL, U, "Weights for fully connected must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.weights)),
    check!(FullyConnected, "fc.weights-format", SL, ALL, U, "Weights for fully connected must be HWIO",
        |_, op| format_is(&op.weights, DataFormat::Hwio)),
    check!(FullyConnected, "fc.weights-hw", SL, ALL, U, "Weights tensor must have H and W set to 1 as these dimensions are not needed.",
        |_, op| require(op.weights.shape[0] == 1 && op.weights.shape[1] == 1, || {
            format!("weights H×W {}x{}, must be 1x1", op.weights.shape[0], op.weights.shape[1])
        })),
    check!(FullyConnected, "fc.weights-input-channels", SL, ALL, U, "Weights tensor must have I dimension equal to the number of channels of the input tensor.",
        |_, op| fc_input_channels(&op.input, &op.weights)),
    check!(FullyConnected, "fc.bias-dtype", SL, ALL, U, "Bias for fully connected must be INT32_QUANTIZED",
        |_, op| dtype_int32(&op.bias)),
    check!(FullyConnected, "fc.bias-format", SL, ALL, U, "Bias for fully connected must be NHWC",
        |_, op| format_is(&op.bias, DataFormat::Nhwc)),
    check!(FullyConnected, "fc.bias-shape", SL, ALL, U, "Invalid bias tensor dimensions",
        |_, op| bias_shape(&op.bias, op.weights.shape[3])),
    check!(FullyConnected, "fc.multiple-scales", SL, ALL, U, "Multiple quantization scales is not supported for FullyConnected operation",
        |_, op| single_scale(&op.weights.quant).and_then(|()| single_scale(&op.bias.quant))),
    check!(FullyConnected, "fc.input-quant-dim", SL, ALL, U, "Fully Connected: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(FullyConnected, "fc.input-quant-scales", SL, ALL, U, "Fully Connected: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(FullyConnected, "fc.weights-zero-point", SL, ALL, E, "Zero point out of range for weights info",
        |_, op| own_zero_point(&op.weights)),
    check!(FullyConnected, "fc.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(FullyConnected, "fc.output-zero-point", SL, ALL, U, "Zero point out of range for fullyConnectedInfo",
        |_, op| zero_point(&op.input.dtype, &op.output_quant)),
    // Never fails: the output [N, 1, 1, O] has W = 1. Kept so the table is the query.
    check!(FullyConnected, "fc.output-depth", SL, ALL, U, "Output of fully connected: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.expected_output())),
    check!(FullyConnected, "fc.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(FullyConnected, "fc.input-shape", SL, ALL, E, "Input to fully connected is expected to be one dimensional using the channels dimension.",
        |_, op| require(op.input.height() == 1 && op.input.width() == 1, || {
            format!("input H×W {}x{}, must be 1x1 (shape [1,1,1,K])", op.input.height(), op.input.width())
        })),
    check!(FullyConnected, "fc.bias-quant", SL, ALL, E, "Bias for fully connected must have quantization parameters with zero point of 0 and scale of input scale x weight scale",
        |_, op| bias_quant(&op.input, &op.weights, &op.bias)),
    check!(FullyConnected, "fc.overall-scale", SL, ALL, E, "Fully Connected: Overall scale (of the input * weights / output) should be in the range (2^-32, 65536)",
        |_, op| overall_scale(&op.input.quant, &op.weights.quant, &op.output_quant)),

    // ---- Input (IsInputSupported) ----
    check!(Input, "input.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Input, "input.depth", SL, ALL, U, "Input layer: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Input, "input.dtype", SL, ALL, U, "Input layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Input, "input.format", SL, ALL, U, "Input layer must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(Input, "input.quant-dim", SL, ALL, U, "Input layer: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Input, "input.quant-scales", SL, ALL, U, "Input layer: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Input, "input.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.input)),
    check!(Input, "input.zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),

    // ---- LeakyRelu (IsLeakyReluSupported) ----
    check!(LeakyRelu, "leaky-relu.tvm-quantize-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(result(&op.output, &op.input))),
    check!(LeakyRelu, "leaky-relu.tvm-quantize-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(result(&op.output, &op.input))),
    check!(LeakyRelu, "leaky-relu.tvm-quantize-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(result(&op.output, &op.input))),
    check!(LeakyRelu, "leaky-relu.tvm-alpha", TVM_STOP, ALL, U, "leaky relu alpha must be less than 1 and greater than 0, but was {}",
        |_, op| tvm::leaky_alpha(op.alpha)),
    check!(LeakyRelu, "leaky-relu.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(result(&op.output, &op.input))),
    check!(LeakyRelu, "leaky-relu.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(result(&op.output, &op.input))),
    check!(LeakyRelu, "leaky-relu.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(result(&op.output, &op.input))),
    check!(LeakyRelu, "leaky-relu.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(LeakyRelu, "leaky-relu.input-depth", SL, ALL, U, "Input to leaky relu: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(LeakyRelu, "leaky-relu.input-dtype", SL, ALL, U, "Input to leaky relu must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(LeakyRelu, "leaky-relu.input-format", SL, ALL, U, "Input to leaky relu must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(LeakyRelu, "leaky-relu.input-quant-dim", SL, ALL, U, "Leaky Relu: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(LeakyRelu, "leaky-relu.input-quant-scales", SL, ALL, U, "Leaky Relu: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(LeakyRelu, "leaky-relu.output-quant-dim", SL, ALL, U, "Leaky Relu: Quantization Dim should not be used on Output",
        |_, op| no_quant_axis(&op.output_quant)),
    check!(LeakyRelu, "leaky-relu.output-quant-scales", SL, ALL, U, "Leaky Relu: Output quantization scales must have a size of 1",
        |_, op| single_scale(&op.output_quant)),
    check!(LeakyRelu, "leaky-relu.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(LeakyRelu, "leaky-relu.output-zero-point", SL, ALL, U, "Zero point out of range for leakyReluInfo",
        |_, op| zero_point(&op.input.dtype, &op.output_quant)),
    check!(LeakyRelu, "leaky-relu.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(LeakyRelu, "leaky-relu.alpha", SL, ALL, E, "Leaky relu alpha must be less than 1 and greater than 0",
        |_, op| require(!(op.alpha >= 1.0 || op.alpha <= 0.0), || format!("alpha {}, must be in (0, 1)", op.alpha))),

    // ---- MeanXy (IsMeanXySupported) ----
    check!(MeanXy, "mean.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(MeanXy, "mean.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(MeanXy, "mean.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(MeanXy, "mean.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(MeanXy, "mean.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(MeanXy, "mean.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    // TVM converts the requantize's type a second time for the output info.
    check!(MeanXy, "mean.tvm-output-info-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(MeanXy, "mean.tvm-output-info-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(MeanXy, "mean.tvm-output-info-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(MeanXy, "mean.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(MeanXy, "mean.input-depth", SL, ALL, U, "Input to MeanXy layer: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(MeanXy, "mean.input-dtype", SL, ALL, U, "Input to MeanXy layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(MeanXy, "mean.input-quant-dim", SL, ALL, U, "Mean: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(MeanXy, "mean.input-quant-scales", SL, ALL, U, "Mean: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(MeanXy, "mean.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(MeanXy, "mean.size", SL, ALL, U, "MeanXy is supported for 7x7 and 8x8 as HeightxWidth only",
        |_, op| {
            let (h, w) = (op.input.height(), op.input.width());
            require((h, w) == (7, 7) || (h, w) == (8, 8), || format!("H×W {h}x{w}, must be 7x7 or 8x8"))
        }),
    check!(MeanXy, "mean.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_mean_output())),

    // ---- Multiplication (IsMultiplicationSupported, 23.11+) ----
    check!(Multiplication, "mul.no-query", SL, until(R23_08), U, "IsMultiplicationSupported does not exist before release 23.11",
        |p, _| Err(Failure::new(format!("release {} has no element-wise multiplication", p.release())))),
    check!(Multiplication, "mul.batch", SL, since(R23_11), U, "Batch size must be 1",
        |_, op| batch(&op.input0).and_then(|()| batch(&op.input1))),
    check!(Multiplication, "mul.input0-depth", SL, since(R23_11), U, "Input0 to Multiplication: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input0)),
    check!(Multiplication, "mul.input1-depth", SL, since(R23_11), U, "Input1 to Multiplication: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input1)),
    check!(Multiplication, "mul.input0-zero-point", SL, since(R23_11), U, "Zero point out of range for input0 info",
        |_, op| own_zero_point(&op.input0)),
    check!(Multiplication, "mul.input1-zero-point", SL, since(R23_11), U, "Zero point out of range for input1 info",
        |_, op| own_zero_point(&op.input1)),
    check!(Multiplication, "mul.height", SL, since(R23_11), U, "Height must be either equal or one of the tensor's height must be 1",
        |_, op| dims_compatible(op, 1)),
    check!(Multiplication, "mul.width", SL, since(R23_11), U, "Width must be either equal or one of the tensor's height must be 1",
        |_, op| dims_compatible(op, 2)),
    check!(Multiplication, "mul.channels", SL, since(R23_11), U, "Channels must be either equal or one of the tensor's height must be 1",
        |_, op| dims_compatible(op, 3)),
    check!(Multiplication, "mul.dtype", SL, since(R23_11), U, "Input to Multiplication must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input0).and_then(|()| dtype_8bit(&op.input1))),
    check!(Multiplication, "mul.same-dtype", SL, since(R23_11), U, "Inputs to Multiplication must have the same data type",
        |_, op| same_dtype(op)),
    check!(Multiplication, "mul.output-zero-point", SL, since(R23_11), U, "Zero point out of range for outputQuantizationInfo",
        |_, op| zero_point(&op.input0.dtype, &op.output_quant)),
    check!(Multiplication, "mul.format", SL, since(R23_11), U, "Input to addition must be NHWC or NHWCB",
        |_, op| activation_format(&op.input0).and_then(|()| activation_format(&op.input1))),
    check!(Multiplication, "mul.quant-dim", SL, since(R23_11), U, "Quantization Dim should not be used on any Inputs of Multiplication",
        |_, op| no_quant_axis(&op.input0.quant).and_then(|()| no_quant_axis(&op.input1.quant))),
    check!(Multiplication, "mul.output-info", SL, since(R23_11), U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(Multiplication, "mul.broadcast", SL, since(R23_11), E, "Cannot stretch along the requested dimensions.",
        |_, op| no_broadcast(op)),

    // ---- Output (IsOutputSupported) ----
    check!(Output, "output.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Output, "output.depth", SL, ALL, U, "Input layer: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Output, "output.dtype", SL, ALL, U, "Output layer's input must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Output, "output.input-format", SL, ALL, U, "An Output layer's input must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(Output, "output.format", SL, ALL, U, "An Output layer's format must be NHWC or NHWCB",
        |_, op| require(op.format.is_activation(), || format!("format {}, must be NHWC or NHWCB", op.format))),
    check!(Output, "output.quant-dim", SL, ALL, U, "Output layer: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Output, "output.quant-scales", SL, ALL, U, "Output layer: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Output, "output.zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),

    // ---- Pooling (IsPoolingSupported) ----
    check!(Pooling, "pool.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(Pooling, "pool.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(Pooling, "pool.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(Pooling, "pool.tvm-layout", TVM_ALONE, ALL, U, "data format={}, data format must = NHWC", |_, op| tvm::pool_layout(&op.input)),
    check!(Pooling, "pool.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Pooling, "pool.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(Pooling, "pool.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(Pooling, "pool.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Pooling, "pool.input-depth", SL, ALL, U, "Input to pooling layer: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Pooling, "pool.input-dtype", SL, ALL, U, "Input to pooling layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Pooling, "pool.size-stride-zero", SL, ALL, U, "Invalid pooling size/stride",
        |_, op| require(op.size_x != 0 && op.size_y != 0 && op.stride.x != 0 && op.stride.y != 0, || {
            format!("size {}x{} stride {}x{}, must be non-zero", op.size_x, op.size_y, op.stride.x, op.stride.y)
        })),
    check!(Pooling, "pool.input-quant-dim", SL, ALL, U, "Pooling: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Pooling, "pool.input-quant-scales", SL, ALL, U, "Pooling: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Pooling, "pool.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Pooling, "pool.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(Pooling, "pool.avg-config", SL, ALL, E, "Unsupported configuration in AVG pooling",
        |_, op| avg_pool_config(op)),
    check!(Pooling, "pool.avg-3x3-sram", SL, ALL, E, "AVG pooling 3x3_1_1: maximum input width x height cannot fit into SRAM",
        |p, op| avg_pool_3x3_sram(p, op)),
    check!(Pooling, "pool.max-config", SL, until(R23_05), E, "Unsupported configuration in Max pooling",
        |_, op| require(op.kind != PoolingKind::Max || is_stride2_max_config(op), || max_config_details(op))),
    check!(Pooling, "pool.max-stride", SL, since(R23_08), E, "Unsupported stride for max pooling - must be 1,1 or 2,2",
        |_, op| require(op.kind != PoolingKind::Max || op.stride == S2 || op.stride == S1, || {
            format!("stride {}x{}, must be 1x1 or 2x2", op.stride.x, op.stride.y)
        })),
    check!(Pooling, "pool.max-stride2-config", SL, since(R23_08), E, "Unsupported configuration in Max pooling with stride 2",
        |_, op| require(op.kind != PoolingKind::Max || op.stride != S2 || is_stride2_max_config(op), || max_config_details(op))),
    check!(Pooling, "pool.max-2x2-even", SL, ALL, E, "Max pooling 2x2_2_2 with no padding: input sizes must be even",
        |_, op| max_stride2_parity(op, 2, Padding::ZERO, true)),
    check!(Pooling, "pool.max-2x2-odd", SL, ALL, E, "Max pooling 2x2_2_2 with padding: input sizes must be odd",
        |_, op| max_stride2_parity(op, 2, PAD_AFTER, false)),
    check!(Pooling, "pool.max-3x3-width", SL, ALL, E, "Max pooling 3x3_2_2: maximum input width (417) exceeded",
        |_, op| require(!(is_stride2_max_config(op) && op.size_x == 3 && op.input.width() > 417), || {
            format!("input width {}, must be <= 417", op.input.width())
        })),
    check!(Pooling, "pool.max-3x3-odd", SL, ALL, E, "Max pooling 3x3_2_2 with no padding: input sizes must be odd",
        |_, op| max_stride2_parity(op, 3, Padding::ZERO, false)),
    check!(Pooling, "pool.max-3x3-even", SL, ALL, E, "Max pooling 3x3_2_2 with padding: input sizes must be even",
        |_, op| max_stride2_parity(op, 3, PAD_AFTER, true)),
    check!(Pooling, "pool.max-stride1-config", SL, since(R23_08), E, "Unsupported pooling size and padding for max pooling with stride 1 - must be VALID with size <= 9 or SAME with size <= 17",
        |_, op| max_stride1_config(op)),
    check!(Pooling, "pool.max-stride1-size", SL, since(R23_08), E, "Input tensor for max pooling with stride 1 is too large - width and height are limited to {}",
        |p, op| max_stride1_size(p, op)),
    check!(Pooling, "pool.max-input-size", SL, ALL, E, "Input size must not be smaller than the pooling size",
        |_, op| require(op.kind != PoolingKind::Max || (op.input.width() >= op.size_x && op.input.height() >= op.size_y), || {
            format!("input {}x{} (W×H), must be at least the pool {}x{}", op.input.width(), op.input.height(), op.size_x, op.size_y)
        })),

    // ---- ReinterpretQuantization (IsReinterpretQuantizationSupported) ----
    check!(ReinterpretQuantization, "reinterpret.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(ReinterpretQuantization, "reinterpret.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(ReinterpretQuantization, "reinterpret.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(ReinterpretQuantization, "reinterpret.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(ReinterpretQuantization, "reinterpret.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(ReinterpretQuantization, "reinterpret.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(ReinterpretQuantization, "reinterpret.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(ReinterpretQuantization, "reinterpret.input-depth", SL, ALL, U, "Input to reinterpret quantization: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(ReinterpretQuantization, "reinterpret.input-dtype", SL, ALL, U, "Input to reinterpret quantization must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(ReinterpretQuantization, "reinterpret.input-format", SL, ALL, U, "Input to reinterpret quantization must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(ReinterpretQuantization, "reinterpret.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(ReinterpretQuantization, "reinterpret.output-zero-point", SL, ALL, U, "Zero point out of range for reinterpretQuantizationInfo",
        |_, op| zero_point(&op.input.dtype, &op.output_quant)),
    check!(ReinterpretQuantization, "reinterpret.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),

    // ---- Relu (IsReluSupported) ----
    check!(Relu, "relu.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(Relu, "relu.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(Relu, "relu.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(Relu, "relu.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Relu, "relu.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(Relu, "relu.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(Relu, "relu.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Relu, "relu.input-depth", SL, ALL, U, "Input to relu: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Relu, "relu.bounds", SL, ALL, U, "Relu has lower bound > upper bound",
        |_, op| require(op.lower_bound <= op.upper_bound, || {
            format!("bounds [{}, {}], lower must be <= upper", op.lower_bound, op.upper_bound)
        })),
    check!(Relu, "relu.input-dtype", SL, ALL, U, "Input to relu must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Relu, "relu.input-format", SL, ALL, U, "Input to relu must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(Relu, "relu.input-quant-dim", SL, ALL, U, "Relu: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Relu, "relu.input-quant-scales", SL, ALL, U, "Relu: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Relu, "relu.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Relu, "relu.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.input)),

    // ---- Requantize (IsRequantizeSupported) ----
    check!(Requantize, "requantize.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(Requantize, "requantize.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(Requantize, "requantize.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(Requantize, "requantize.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Requantize, "requantize.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(Requantize, "requantize.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(Requantize, "requantize.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Requantize, "requantize.input-depth", SL, ALL, U, "Input to requantize: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Requantize, "requantize.input-dtype", SL, ALL, U, "Input to requantize must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Requantize, "requantize.input-format", SL, ALL, U, "Input to requantize must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(Requantize, "requantize.input-quant-dim", SL, ALL, U, "Requantize: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Requantize, "requantize.input-quant-scales", SL, ALL, U, "Requantize: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Requantize, "requantize.output-quant-dim", SL, ALL, U, "Requantize: Quantization Dim should not be used on Output",
        |_, op| no_quant_axis(&op.output_quant)),
    check!(Requantize, "requantize.output-quant-scales", SL, ALL, U, "Requantize: Output quantization scales must have a size of 1",
        |_, op| single_scale(&op.output_quant)),
    check!(Requantize, "requantize.scale", SL, ALL, E, "Output scale must be bigger than input scale / 128",
        |_, op| {
            let (input, output) = (op.input.quant.scale(), op.output_quant.scale());
            require(identity_requantize_scale(input, output), || identity_requantize_details(input, output))
        }),
    check!(Requantize, "requantize.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Requantize, "requantize.output-zero-point", SL, ALL, U, "Zero point out of range for requantizeInfo",
        |_, op| zero_point(op.output_dtype.as_ref().unwrap_or(&op.input.dtype), &op.output_quant)),
    check!(Requantize, "requantize.output-dtype", SL, ALL, U, "Expected quantization output must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.expected_output())),
    check!(Requantize, "requantize.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),

    // ---- Reshape (IsReshapeSupported) ----
    check!(Reshape, "reshape.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(Reshape, "reshape.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(Reshape, "reshape.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(Reshape, "reshape.tvm-new-shape-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Reshape, "reshape.tvm-new-shape-batch", TVM, ALL, U, tvm_batch!(),
        |_, op| tvm::batch_of(op.new_shape[0], op.output.as_ref().map_or(4, |o| o.rank))),
    check!(Reshape, "reshape.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Reshape, "reshape.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(Reshape, "reshape.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(Reshape, "reshape.batch", SL, ALL, U, "Batch size must be 1",
        |_, op| batch(&op.input).and_then(|()| {
            require(op.new_shape[0] == 1, || format!("new shape N={}, must be 1", op.new_shape[0]))
        })),
    check!(Reshape, "reshape.input-depth", SL, ALL, U, "Input to reshape: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Reshape, "reshape.elements", SL, ALL, U, "Total elements in the input doesn't match new dimensions",
        |_, op| {
            // The new shape counts one byte per element (u32 arithmetic like the library).
            let new = op.new_shape.iter().fold(1, |n: u32, &d| n.wrapping_mul(d));
            require(op.input.size_bytes() == new, || {
                format!("input {} bytes, new shape {:?} holds {new}", op.input.size_bytes(), op.new_shape)
            })
        }),
    check!(Reshape, "reshape.input-quant-dim", SL, ALL, U, "Reshape: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Reshape, "reshape.input-quant-scales", SL, ALL, U, "Reshape: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Reshape, "reshape.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Reshape, "reshape.output-depth", SL, ALL, U, "Output of reshape: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.expected_output())),
    check!(Reshape, "reshape.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),

    // ---- Resize (IsResizeSupported) ----
    check!(Resize, "resize.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(Resize, "resize.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(Resize, "resize.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(Resize, "resize.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Resize, "resize.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(Resize, "resize.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(Resize, "resize.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Resize, "resize.input-depth", SL, ALL, U, "Input to resize: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Resize, "resize.input-dtype", SL, ALL, U, "Input to resize must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Resize, "resize.input-format", SL, ALL, U, "Input must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(Resize, "resize.height", SL, ALL, U, "Requested height isn't supported",
        |_, op| upscaled_by_2(op.input.height(), op.new_height, "height")),
    check!(Resize, "resize.width", SL, ALL, U, "Requested width isn't supported",
        |_, op| upscaled_by_2(op.input.width(), op.new_width, "width")),
    check!(Resize, "resize.parity", SL, ALL, WARN, "Requested width and height have different parity, result might be inaccurate",
        |_, op| require((op.new_width & 1) == (op.new_height & 1), || {
            format!("new size {}x{} (H×W): one odd, one even", op.new_height, op.new_width)
        })),
    check!(Resize, "resize.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Resize, "resize.output-zero-point", SL, ALL, U, "Zero point out of range for resizeInfo",
        |_, op| zero_point(&op.input.dtype, &op.output_quant)),
    check!(Resize, "resize.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),

    // ---- Sigmoid (IsSigmoidSupported) ----
    check!(Sigmoid, "sigmoid.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(Sigmoid, "sigmoid.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(Sigmoid, "sigmoid.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(Sigmoid, "sigmoid.tvm-output-quant", TVM, ALL, U, "output quantization params=({}, {}), must = ({}, 1/256)",
        |_, op| op.output.as_ref().map_or(Ok(()), |out| {
            // TVM: −128 when the input is a signed integer type, else 0.
            let zero_point = if matches!(op.input.dtype, DataType::I8 | DataType::I32) { -128 } else { 0 };
            tvm::fixed_output_quant(&out.quant, zero_point, 1.0 / 256.0)
        })),
    check!(Sigmoid, "sigmoid.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(Sigmoid, "sigmoid.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(Sigmoid, "sigmoid.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(Sigmoid, "sigmoid.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Sigmoid, "sigmoid.input-depth", SL, ALL, U, "Input to sigmoid layer: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Sigmoid, "sigmoid.input-dtype", SL, ALL, U, "Input to sigmoid layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Sigmoid, "sigmoid.input-quant-dim", SL, ALL, U, "Sigmoid: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Sigmoid, "sigmoid.input-quant-scales", SL, ALL, U, "Sigmoid: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Sigmoid, "sigmoid.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Sigmoid, "sigmoid.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_sigmoid_output())),

    // ---- Softmax (IsSoftmaxSupported, ≤ 23.02) ----
    check!(Softmax, "softmax.estimate-only", SL, until(R23_02), E, "Softmax operation is not supported",
        |_, _| Err(Failure::new("IsSoftmaxSupported always answers EstimateOnly"))),
    check!(Softmax, "softmax.no-query", SL, since(R23_05), U, "IsSoftmaxSupported does not exist after release 23.02",
        |p, _| Err(Failure::new(format!("release {} has no softmax", p.release())))),

    // ---- SpaceToDepth (IsSpaceToDepthSupported: never better than EstimateOnly) ----
    check!(SpaceToDepth, "space-to-depth.input-depth", SL, ALL, U, "Input to space to depth: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(SpaceToDepth, "space-to-depth.input-dtype", SL, ALL, U, "Input to space to depth must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(SpaceToDepth, "space-to-depth.block-size", SL, ALL, U, "Block size must be larger than 1",
        |_, op| require(op.block_size > 1, || format!("block size {}, must be > 1", op.block_size))),
    check!(SpaceToDepth, "space-to-depth.divisible", SL, ALL, U, "Input width and height must be a multiple of the block size",
        |_, op| {
            let (h, w, b) = (op.input.height(), op.input.width(), op.block_size);
            require(h.checked_rem(b) == Some(0) && w.checked_rem(b) == Some(0), || format!("H×W {h}x{w}, must be multiples of {b}"))
        }),
    check!(SpaceToDepth, "space-to-depth.input-quant-dim", SL, ALL, E, "Space to Depth: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(SpaceToDepth, "space-to-depth.input-quant-scales", SL, ALL, E, "Space to Depth: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(SpaceToDepth, "space-to-depth.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(SpaceToDepth, "space-to-depth.output-depth", SL, ALL, U, "Output of space to depth: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.expected_output())),
    check!(SpaceToDepth, "space-to-depth.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info_always(op.output.as_ref(), &op.expected_output())),
    check!(SpaceToDepth, "space-to-depth.sram", SL, ALL, U, "The tensor is too large",
        |p, op| {
            let caps = p.capabilities();
            let need = sram::space_to_depth_need(&caps, &op.input, op.block_size);
            require(need <= u64::from(caps.total_sram), || {
                format!("needs {need} bytes of SRAM, {} has {}", p.variant(), caps.total_sram)
            })
        }),
    check!(SpaceToDepth, "space-to-depth.estimate-only", SL, ALL, E, "",
        |_, _| Err(Failure::new("IsSpaceToDepthSupported answers EstimateOnly at best, without a reason"))),

    // ---- Split (IsSplitSupported) ----
    check!(Split, "split.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(Split, "split.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(Split, "split.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(Split, "split.tvm-output-rank", TVM, ALL, U, tvm_rank!(),
        |_, op| each(split_outputs(op).map(|(i, t)| tvm::rank(t).map_err(|f| f.at(i + 1))))),
    check!(Split, "split.tvm-output-batch", TVM, ALL, U, tvm_batch!(),
        |_, op| each(split_outputs(op).map(|(i, t)| tvm::batch(t).map_err(|f| f.at(i + 1))))),
    check!(Split, "split.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(),
        |_, op| each(split_outputs(op).map(|(i, t)| tvm::dtype(t).map_err(|f| f.at(i + 1))))),
    check!(Split, "split.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Split, "split.input-depth", SL, ALL, U, "Input tensor: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Split, "split.outputs", SL, ALL, U, "Must have at least 1 output",
        |_, op| require(!op.sizes.is_empty(), || "no split sizes".to_string())),
    check!(Split, "split.input-dtype", SL, ALL, U, "Input tensor must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Split, "split.input-format", SL, ALL, U, "Input tensor must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(Split, "split.axis", SL, ALL, U, "Axis must refer to a valid dimension (0-3)",
        |_, op| valid_axis(op.axis)),
    check!(Split, "split.sizes", SL, ALL, U, "Sizes must sum to the total size of the input tensor along the split axis",
        |_, op| {
            let sum = op.sizes.iter().fold(0u32, |sum, &size| sum.wrapping_add(size));
            let total = op.input.shape.get(op.axis as usize).copied().unwrap_or(0);
            require(sum == total, || format!("sizes {:?} sum to {sum}, axis {} has {total}", op.sizes, op.axis))
        }),
    check!(Split, "split.input-quant-dim", SL, ALL, U, "Split: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Split, "split.input-quant-scales", SL, ALL, U, "Split: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Split, "split.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Split, "split.output-count", SL, ALL, U, "Provided outputInfos array has incorrect size",
        |_, op| op.outputs.as_ref().map_or(Ok(()), |outputs| {
            require(outputs.len() == op.sizes.len(), || {
                format!("{} outputs given, {} sizes", outputs.len(), op.sizes.len())
            })
        })),
    check!(Split, "split.output-depth", SL, ALL, U, "Output of split: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| split_output(p, op, SplitOutput::Depth)),
    check!(Split, "split.output-info", SL, ALL, U, "Provided outputInfo at index {} is incorrect",
        |p, op| split_output(p, op, SplitOutput::Info)),
    check!(Split, "split.batch-axis", SL, ALL, U, "Split cannot be performed along batch axis (axis 0)",
        |_, op| require(op.axis != 0, || "axis 0 (N), must be 1, 2 or 3".to_string())),
    check!(Split, "split.channels-16", SL, until(R23_02), E, "Split along the channels dimension (axis 3) requires all output sizes (specified in splitInfo.m_Sizes) to be multiples of 16",
        |p, op| channels_of_16(p, op.axis, op.sizes.iter().copied(), "output")),

    // ---- StandalonePadding (IsStandalonePaddingSupported, 23.08+) ----
    check!(StandalonePadding, "pad.no-query", SL, until(R23_05), U, "IsStandalonePaddingSupported does not exist before release 23.08",
        |p, _| Err(Failure::new(format!("release {} has no standalone padding", p.release())))),
    check!(StandalonePadding, "pad.batch", SL, since(R23_08), U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(StandalonePadding, "pad.input-depth", SL, since(R23_08), U, "Input to standalone padding: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(StandalonePadding, "pad.input-dtype", SL, since(R23_08), U, "Input to standalone padding must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(StandalonePadding, "pad.input-format", SL, since(R23_08), U, "Input to standalone padding must be NHWC OR NHWCB",
        |_, op| activation_format(&op.input)),
    check!(StandalonePadding, "pad.input-zero-point", SL, since(R23_08), U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(StandalonePadding, "pad.output-empty", SL, since(R23_08), U, "Output tensor would be empty",
        |_, op| not_empty(&op.input)),
    check!(StandalonePadding, "pad.output-info", SL, since(R23_08), U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(StandalonePadding, "pad.padding", SL, since(R23_08), U, "Padding not supported",
        |_, op| require(op.padding.max_side() <= 7, || format!("padding {}, every side must be <= 7", op.padding))),

    // ---- Tanh (IsTanhSupported) ----
    check!(Tanh, "tanh.tvm-quantize-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(result(&op.output, &op.input))),
    check!(Tanh, "tanh.tvm-quantize-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(result(&op.output, &op.input))),
    check!(Tanh, "tanh.tvm-quantize-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(result(&op.output, &op.input))),
    check!(Tanh, "tanh.tvm-output-quant", TVM, ALL, U, "output quantization params=({}, {}), must = ({}, 1/256)",
        |_, op| op.output.as_ref().map_or(Ok(()), |out| {
            // TVM: 128 when the quantized result is unsigned, else 0; the scale is 1/128.
            let zero_point = if out.dtype == DataType::U8 { 128 } else { 0 };
            tvm::fixed_output_quant(&out.quant, zero_point, 0.0078125)
        })),
    check!(Tanh, "tanh.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(result(&op.output, &op.input))),
    check!(Tanh, "tanh.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(result(&op.output, &op.input))),
    check!(Tanh, "tanh.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(result(&op.output, &op.input))),
    check!(Tanh, "tanh.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(Tanh, "tanh.input-depth", SL, ALL, U, "Input to tanh layer: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Tanh, "tanh.input-dtype", SL, ALL, U, "Input to tanh layer must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Tanh, "tanh.input-quant-dim", SL, ALL, U, "tanh: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Tanh, "tanh.input-quant-scales", SL, ALL, U, "tanh: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Tanh, "tanh.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Tanh, "tanh.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_tanh_output())),

    // ---- Transpose (IsTransposeSupported: EstimateOnly until 24.10, Supported in 25.03) ----
    check!(Transpose, "transpose.input-depth", SL, ALL, U, "Input to transpose: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(Transpose, "transpose.input-dtype", SL, ALL, U, "Input to transpose must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(Transpose, "transpose.input-format", SL, ALL, U, "Input must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(Transpose, "transpose.batch-axis", SL, ALL, U, "Transpose of batch(0) axis is not allowed",
        |_, op| require(op.permutation[0] == 0, || format!("permutation {:?} moves axis 0", op.permutation))),
    check!(Transpose, "transpose.axes-range", SL, ALL, U, "Transpose of dimensions > 3 are not allowed",
        |_, op| require(op.permutation[1..].iter().all(|&a| a <= 3), || {
            format!("permutation {:?}, entries must be <= 3", op.permutation)
        })),
    check!(Transpose, "transpose.axes-unique", SL, ALL, U, "Transpose axes must be unique",
        |_, op| {
            let p = op.permutation;
            let unique = (0..4).all(|i| (i + 1..4).all(|j| p[i] != p[j]));
            require(unique, || format!("permutation {p:?} repeats an axis"))
        }),
    check!(Transpose, "transpose.input-quant-dim", SL, ALL, E, "Transpose: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(Transpose, "transpose.input-quant-scales", SL, ALL, E, "Transpose: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(Transpose, "transpose.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(Transpose, "transpose.output-depth", SL, ALL, U, "Output of transpose: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.expected_output())),
    check!(Transpose, "transpose.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_output())),
    check!(Transpose, "transpose.sram", SL, ALL, U, "The tensors are too large",
        |p, op| {
            let caps = p.capabilities();
            let need = sram::transpose_need(&caps, p.release(), &op.input, op.permutation);
            require(need <= u64::from(caps.total_sram), || {
                format!("needs {need} bytes of SRAM, {} has {}", p.variant(), caps.total_sram)
            })
        }),
    check!(Transpose, "transpose.estimate-only", SL, until(R24_10), E, "",
        |p, _| Err(Failure::new(format!("IsTransposeSupported answers EstimateOnly, without a reason, before 25.03 (release {})", p.release())))),

    // ---- TransposeConvolution (IsTransposeConvolutionSupported) ----
    check!(TransposeConvolution, "tconv.tvm-dilation", TVM, ALL, U, "dilation={}, dilation must = [1, 1]", |_, op| tvm::dilation(op.dilation)),
    check!(TransposeConvolution, "tconv.tvm-input-rank", TVM, ALL, U, tvm_rank!(), |_, op| tvm::rank(&op.input)),
    check!(TransposeConvolution, "tconv.tvm-input-batch", TVM, ALL, U, tvm_batch!(), |_, op| tvm::batch(&op.input)),
    check!(TransposeConvolution, "tconv.tvm-input-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.input)),
    check!(TransposeConvolution, "tconv.tvm-weights-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| tvm::dtype(&op.weights)),
    check!(TransposeConvolution, "tconv.tvm-output-rank", TVM, ALL, U, tvm_rank!(), |_, op| on_output(&op.output, tvm::rank)),
    check!(TransposeConvolution, "tconv.tvm-output-batch", TVM, ALL, U, tvm_batch!(), |_, op| on_output(&op.output, tvm::batch)),
    check!(TransposeConvolution, "tconv.tvm-output-dtype", TVM, ALL, U, tvm_dtype!(), |_, op| on_output(&op.output, tvm::dtype)),
    check!(TransposeConvolution, "tconv.batch", SL, ALL, U, "Batch size must be 1", |_, op| batch(&op.input)),
    check!(TransposeConvolution, "tconv.input-depth", SL, ALL, U, "Input to transpose conv: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.input)),
    check!(TransposeConvolution, "tconv.input-dtype", SL, ALL, U, "Input to transpose conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.input)),
    check!(TransposeConvolution, "tconv.input-format", SL, ALL, U, "Input to transpose conv must be NHWC or NHWCB",
        |_, op| activation_format(&op.input)),
    check!(TransposeConvolution, "tconv.weights-dtype", SL, ALL, U, "Weights for transpose conv must be UINT8_QUANTIZED or INT8_QUANTIZED",
        |_, op| dtype_8bit(&op.weights)),
    check!(TransposeConvolution, "tconv.weights-format", SL, ALL, U, "Weights for transpose conv must be HWIO",
        |_, op| format_is(&op.weights, DataFormat::Hwio)),
    check!(TransposeConvolution, "tconv.bias-dtype", SL, ALL, U, "Bias for transpose conv must be INT32_QUANTIZED",
        |_, op| dtype_int32(&op.bias)),
    check!(TransposeConvolution, "tconv.bias-format", SL, ALL, U, "Bias for transpose conv must be NHWC",
        |_, op| format_is(&op.bias, DataFormat::Nhwc)),
    check!(TransposeConvolution, "tconv.bias-shape", SL, ALL, U, "Invalid bias tensor dimensions",
        |_, op| bias_shape(&op.bias, op.weights.shape[3])),
    check!(TransposeConvolution, "tconv.weights-input-channels", SL, ALL, U, "Weights input channels dimension (I) must match Input channels dimension (C)",
        |_, op| weights_match_input(op)),
    check!(TransposeConvolution, "tconv.kernel-stride-zero", SL, ALL, U, "Invalid kernel/stride parameters",
        |_, op| kernel_and_stride_nonzero(op)),
    check!(TransposeConvolution, "tconv.output-empty", SL, ALL, U, "Output tensor would be empty",
        |_, op| not_empty(&op.expected_transpose_output())),
    check!(TransposeConvolution, "tconv.output-depth", SL, ALL, U, "Output of transpose conv: Tensor max depth cannot fit in SRAM ({} / {})",
        |p, op| depth(p, &op.expected_transpose_output())),
    check!(TransposeConvolution, "tconv.bias-quant-axis", SL, ALL, U, "Transpose Convolution: Per channel quantization axis must be 3 for Biases",
        |_, op| quant_axis(&op.bias, 3)),
    check!(TransposeConvolution, "tconv.bias-quant-scales", SL, ALL, U, "Transpose Convolution: Biases must have quantization scales with same number of elements as the quantization dim. Expected: {}, got: {}.",
        |_, op| quant_axis_scales(&op.bias)),
    check!(TransposeConvolution, "tconv.weights-quant-axis", SL, ALL, U, "Transpose Convolution: Per channel quantization axis must be 3 for Weights",
        |_, op| quant_axis(&op.weights, 3)),
    check!(TransposeConvolution, "tconv.weights-quant-scales", SL, ALL, U, "Transpose Convolution: Weights must have quantization scales with same number of elements as the quantization dim. Expected: {}, got: {}.",
        |_, op| quant_axis_scales(&op.weights)),
    check!(TransposeConvolution, "tconv.input-quant-dim", SL, ALL, U, "Transpose Convolution: Quantization Dim should not be used on Input",
        |_, op| no_quant_axis(&op.input.quant)),
    check!(TransposeConvolution, "tconv.input-quant-scales", SL, ALL, U, "Transpose Convolution: Input quantization scales must have a size of 1",
        |_, op| single_scale(&op.input.quant)),
    check!(TransposeConvolution, "tconv.output-quant-dim", SL, ALL, U, "Transpose Convolution: Quantization Dim should not be used on Output",
        |_, op| no_quant_axis(&op.output_quant)),
    check!(TransposeConvolution, "tconv.output-quant-scales", SL, ALL, U, "Transpose Convolution: Output quantization scales must have a size of 1",
        |_, op| single_scale(&op.output_quant)),
    check!(TransposeConvolution, "tconv.output-info", SL, ALL, U, "Provided outputInfo is incorrect",
        |_, op| output_info(op.output.as_ref(), &op.expected_transpose_output())),
    check!(TransposeConvolution, "tconv.weights-zero-point", SL, ALL, E, "Zero point out of range for weights info",
        |_, op| own_zero_point(&op.weights)),
    check!(TransposeConvolution, "tconv.input-zero-point", SL, ALL, U, "Zero point out of range for input info",
        |_, op| own_zero_point(&op.input)),
    check!(TransposeConvolution, "tconv.output-zero-point", SL, ALL, U, "Zero point out of range for convInfo",
        |_, op| zero_point(&op.input.dtype, &op.output_quant)),
    check!(TransposeConvolution, "tconv.bias-quant", SL, ALL, E, "Bias for transpose conv must have quantization parameters with zero point of 0 and scale of input scale x weight scale",
        |_, op| bias_quant(&op.input, &op.weights, &op.bias)),
    check!(TransposeConvolution, "tconv.kernel-size", SL, ALL, E, "Unsupported kernel size. Width({})/height({}) must be in { 1, 2, 3, 5, 7, 9 }",
        |_, op| kernel_size(op, false)),
    check!(TransposeConvolution, "tconv.stride", SL, ALL, E, "Unsupported stride. Stride X and Y must be equal to 2",
        |_, op| stride_in(op.stride, &[2])),
    check!(TransposeConvolution, "tconv.padding", SL, until(R23_05), E, "Unsupported padding.",
        |_, op| padding_valid_or_same(&op.padding, op.expected_transpose_output().shape, op.kernel(), op.stride)),
    check!(TransposeConvolution, "tconv.padding", SL, since(R23_08), E, "Unsupported padding.",
        |_, op| padding_up_to_7_or_same(&op.padding, op.expected_transpose_output().shape, op.kernel(), op.stride)),
    check!(TransposeConvolution, "tconv.valid-large-kernel", SL, ALL, E, "Padding must be SAME for kernel > 7x7.",
        |_, op| {
            let (h, w) = op.kernel();
            require(op.padding != Padding::ZERO || (h <= 7 && w <= 7), || {
                format!("VALID padding with kernel {h}x{w}, must be SAME for kernels above 7x7")
            })
        }),
    check!(TransposeConvolution, "tconv.overall-scale", SL, ALL, E, "Tranpose Convolution: Overall scale (of the input * weights / output) should be in the range (2^-32, 65536)",
        |_, op| overall_scale(&op.input.quant, &op.weights.quant, &op.output_quant)),
];

const S1: Stride = Stride::new(1, 1);
const S2: Stride = Stride::new(2, 2);
/// Max pooling's "padding" configuration: one row/column after.
const PAD_AFTER: Padding = Padding::new(0, 1, 0, 1);

/// Runs a TVM conversion check on the output, when one is given.
fn on_output(output: &Option<TensorInfo>, check: fn(&TensorInfo) -> Outcome) -> Outcome {
    output.as_ref().map_or(Ok(()), check)
}

/// The tensor TVM reads as the result of a dequantize → op → quantize pattern: the output, or
/// the input when no output is given.
fn result<'a>(output: &'a Option<TensorInfo>, input: &'a TensorInfo) -> &'a TensorInfo {
    output.as_ref().unwrap_or(input)
}

/// The first failure of several outcomes.
fn first_failure(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
    outcomes.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}

fn not_empty(tensor: &TensorInfo) -> Outcome {
    require(tensor.num_elements() != 0, || {
        format!("shape {:?} has no elements", tensor.shape)
    })
}

fn valid_axis(axis: u32) -> Outcome {
    require(axis < 4, || format!("axis {axis}, must be 0..=3"))
}

/// Bias shape `[1, 1, 1, channels]` (u32 arithmetic like the library).
fn bias_shape(bias: &TensorInfo, channels: u32) -> Outcome {
    let [n, h, w, c] = bias.shape;
    require(
        n.wrapping_mul(h).wrapping_mul(w) == 1 && c == channels,
        || format!("bias shape {:?}, must be [1, 1, 1, {channels}]", bias.shape),
    )
}

/// Weights' I must be the input's C (so grouped convolutions are not expressible).
fn weights_match_input(op: &Convolution) -> Outcome {
    let (i, c) = (op.weights.shape[2], op.input.channels());
    require(i == c, || {
        format!("weights I={i}, input C={c}, must be equal")
    })
}

fn kernel_and_stride_nonzero(op: &Convolution) -> Outcome {
    let (h, w) = op.kernel();
    require(
        h != 0 && w != 0 && op.stride.x != 0 && op.stride.y != 0,
        || {
            format!(
                "kernel {h}x{w}, stride {}x{}, must be non-zero",
                op.stride.x, op.stride.y
            )
        },
    )
}

/// Kernel height and width in {1, 2, 3, 5, 7, 9}; depthwise also needs a square kernel.
fn kernel_size(op: &Convolution, square: bool) -> Outcome {
    const SIZES: [u32; 6] = [1, 2, 3, 5, 7, 9];
    let (h, w) = op.kernel();
    let ok = SIZES.contains(&h) && SIZES.contains(&w) && (!square || h == w);
    if ok {
        return Ok(());
    }
    let must = if square {
        "must be square and in {1,2,3,5,7,9}"
    } else {
        "must be in {1,2,3,5,7,9}"
    };
    Err(Failure::with(
        [w.to_string(), h.to_string()],
        format!("kernel {h}x{w} (H×W), {must}"),
    ))
}

/// Stride X = Y, and in `allowed`.
fn stride_in(stride: Stride, allowed: &[u32]) -> Outcome {
    require(stride.x == stride.y && allowed.contains(&stride.x), || {
        format!(
            "stride {}x{} (X×Y), must be equal and in {allowed:?}",
            stride.x, stride.y
        )
    })
}

fn stride_with_large_kernel(op: &Convolution) -> Outcome {
    let (h, w) = op.kernel();
    require(op.stride.x <= 1 || (h <= 7 && w <= 7), || {
        format!(
            "stride {} with kernel {h}x{w}, must be 1 for kernels above 7",
            op.stride.x
        )
    })
}

/// Depthwise with a channel multiplier M > 1 is only a normal convolution when I = 1.
fn channel_multiplier(op: &Convolution) -> Outcome {
    let (i, m) = (op.weights.shape[2], op.weights.shape[3]);
    require(m == 1 || i == 1, || {
        format!("channel multiplier {m} with {i} input channels, needs 1 input channel")
    })
}

/// FullyConnected: weights I = H·W·C of the input (u32 arithmetic like the library).
fn fc_input_channels(input: &TensorInfo, weights: &TensorInfo) -> Outcome {
    let [_, h, w, c] = input.shape;
    let (i, hwc) = (weights.shape[2], h.wrapping_mul(w).wrapping_mul(c));
    require(i == hwc, || {
        format!("weights I={i}, input H·W·C={hwc}, must be equal")
    })
}

/// Addition/Multiplication: each of H, W, C equal, or 1 in one input.
fn dims_compatible(op: &Elementwise, dim: usize) -> Outcome {
    let (a, b) = (op.input0.shape[dim], op.input1.shape[dim]);
    require(a == b || a == 1 || b == 1, || {
        format!("sizes {a} and {b}, must be equal or one of them 1")
    })
}

fn same_dtype(op: &Elementwise) -> Outcome {
    require(op.input0.dtype == op.input1.dtype, || {
        format!(
            "dtypes {} and {}, must be equal",
            op.input0.dtype, op.input1.dtype
        )
    })
}

/// No broadcasting: H, W and C must be equal.
fn no_broadcast(op: &Elementwise) -> Outcome {
    let (a, b) = (op.input0.shape, op.input1.shape);
    require(a[1..] == b[1..], || {
        format!("shapes {a:?} and {b:?}, must be equal (no broadcast)")
    })
}

/// The per-input checks of a concatenation, in the order it runs them on each input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ConcatInput {
    Batch,
    Depth,
    Dtype,
    Format,
}

/// The query checks each input completely before the next one, so a check fails only if it is
/// the first failure over all inputs.
fn concat_input(profile: &Profile, op: &Concatenation, which: ConcatInput) -> Outcome {
    let first = op.inputs.iter().enumerate().find_map(|(i, input)| {
        [
            (ConcatInput::Batch, batch(input)),
            (ConcatInput::Depth, depth(profile, input)),
            (ConcatInput::Dtype, dtype_8bit(input)),
            (ConcatInput::Format, activation_format(input)),
        ]
        .into_iter()
        .find_map(|(kind, outcome)| outcome.err().map(|f| (kind, f.about(format!("input {i}")))))
    });
    match first {
        Some((kind, failure)) if kind == which => Err(failure),
        _ => Ok(()),
    }
}

fn concat_shapes(op: &Concatenation) -> Outcome {
    let Some(first) = op.inputs.first() else {
        return Ok(());
    };
    let axis = op.axis as usize;
    let odd = op
        .inputs
        .iter()
        .enumerate()
        .find(|(_, input)| (0..4).any(|d| d != axis && input.shape[d] != first.shape[d]));
    match odd {
        None => Ok(()),
        Some((i, input)) => Err(Failure::new(format!(
            "input {i} shape {:?} differs from input 0 {:?} outside axis {axis}",
            input.shape, first.shape
        ))),
    }
}

/// The zero-point checks of a concatenation, per input: the input's, then the output's (in the
/// input's type).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ConcatZeroPoint {
    Input,
    Output,
}

fn concat_zero_point(op: &Concatenation, which: ConcatZeroPoint) -> Outcome {
    let first = op.inputs.iter().enumerate().find_map(|(i, input)| {
        [
            (ConcatZeroPoint::Input, own_zero_point(input)),
            (
                ConcatZeroPoint::Output,
                zero_point(&input.dtype, &op.output_quant),
            ),
        ]
        .into_iter()
        .find_map(|(kind, outcome)| outcome.err().map(|f| (kind, f.about(format!("input {i}")))))
    });
    match first {
        Some((kind, failure)) if kind == which => Err(failure),
        _ => Ok(()),
    }
}

/// Each input is requantized to the output with an identity convolution.
fn concat_scales(op: &Concatenation) -> Outcome {
    let output = op.output_quant.scale();
    let bad = op
        .inputs
        .iter()
        .enumerate()
        .find(|(_, input)| !identity_requantize_scale(input.quant.scale(), output));
    match bad {
        None => Ok(()),
        Some((i, input)) => Err(Failure::new(format!(
            "input {i}: {}",
            identity_requantize_details(input.quant.scale(), output)
        ))),
    }
}

/// Legacy compiler only: along channels every part must be a multiple of 16 channels.
fn channels_of_16(
    profile: &Profile,
    axis: u32,
    channels: impl Iterator<Item = u32>,
    part: &str,
) -> Outcome {
    if axis != 3 || !profile.legacy_compiler() {
        return Ok(());
    }
    let bad: Vec<String> = channels
        .enumerate()
        .filter(|(_, c)| c % 16 != 0)
        .map(|(i, c)| format!("{part} {i} has {c}"))
        .collect();
    require(bad.is_empty(), || {
        format!(
            "{} channels, must be multiples of 16 (legacy compiler)",
            bad.join(", ")
        )
    })
}

fn split_outputs(op: &super::npu::Split) -> impl Iterator<Item = (usize, &TensorInfo)> {
    op.outputs.iter().flatten().enumerate()
}

/// The per-output checks of a split, in the order it runs them on each output.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SplitOutput {
    Depth,
    Info,
}

/// The query checks each output's depth, then the provided info, before the next output; a check
/// fails only if it is the first failure over all outputs. (An output's depth can only overflow
/// when the sizes wrap around u32 while summing to the axis length.)
fn split_output(profile: &Profile, op: &super::npu::Split, which: SplitOutput) -> Outcome {
    let provided = op.outputs.as_deref().unwrap_or_default();
    let first = op
        .expected_outputs()
        .iter()
        .enumerate()
        .find_map(|(i, want)| {
            let info = provided
                .get(i)
                .map_or(Ok(()), |given| output_info(Some(given), want))
                .map_err(|f| Failure::with([i.to_string()], f.details));
            [
                (
                    SplitOutput::Depth,
                    depth(profile, want).map_err(|f| f.about(format!("output {i}"))),
                ),
                (SplitOutput::Info, info),
            ]
            .into_iter()
            .find_map(|(kind, outcome)| outcome.err().map(|f| (kind, f)))
        });
    match first {
        Some((kind, failure)) if kind == which => Err(failure),
        _ => Ok(()),
    }
}

fn channels_divisible(input: &TensorInfo, block: u32) -> Outcome {
    let square = block.wrapping_mul(block);
    let c = input.channels();
    require(c.checked_rem(square) == Some(0), || {
        format!("C={c}, must be a multiple of {block}² = {square}")
    })
}

/// Resize: the new size must be 2·old or 2·old − 1 (u32 arithmetic like the library).
fn upscaled_by_2(old: u32, new: u32, what: &str) -> Outcome {
    let max = old.wrapping_mul(2);
    let min = max.wrapping_sub(1);
    require(new == max || new == min, || {
        format!("new {what} {new}, must be {max} or {min} (from {old})")
    })
}

/// Average pooling over the whole input (no padding, pool = input H×W).
fn is_mean_pool(op: &Pooling) -> bool {
    op.padding == Padding::ZERO && op.size_x == op.input.width() && op.size_y == op.input.height()
}

/// AVG: a "mean" of 7×7 or 8×8, or exactly 3×3 / stride 1 / padding 1 on every side.
fn avg_pool_config(op: &Pooling) -> Outcome {
    if op.kind != PoolingKind::Avg {
        return Ok(());
    }
    let ok = if is_mean_pool(op) {
        op.size_x == op.size_y && (op.size_x == 7 || op.size_x == 8)
    } else {
        op.size_x == 3
            && op.size_y == 3
            && op.stride == S1
            && op.padding == Padding::new(1, 1, 1, 1)
    };
    require(ok, || {
        format!(
            "avg pool {}x{} stride {}x{} padding {}, must be 3x3/1/(1,1,1,1) or a 7x7 or 8x8 mean",
            op.size_x, op.size_y, op.stride.x, op.stride.y, op.padding
        )
    })
}

fn avg_pool_3x3_sram(profile: &Profile, op: &Pooling) -> Outcome {
    if op.kind != PoolingKind::Avg || is_mean_pool(op) || op.size_x != 3 {
        return Ok(());
    }
    let caps = profile.capabilities();
    let (h, w, c) = (op.input.height(), op.input.width(), op.input.channels());
    require(sram::avg_pool_3x3_fits(&caps, h, w, c), || {
        format!(
            "input {h}x{w}x{c} needs {} bytes per EMC, {} has {}",
            sram::avg_pool_3x3_need(&caps, h, w, c),
            profile.variant(),
            caps.sram_per_emc()
        )
    })
}

/// MAX with one of the five stride-2 configurations the NPU has kernels for.
fn is_stride2_max_config(op: &Pooling) -> bool {
    let size = (op.size_x, op.size_y);
    op.kind == PoolingKind::Max
        && op.stride == S2
        && (op.padding == Padding::ZERO || op.padding == PAD_AFTER)
        && (size == (2, 2) || size == (3, 3) || (size == (1, 1) && op.padding == Padding::ZERO))
}

fn max_config_details(op: &Pooling) -> String {
    format!(
        "max pool {}x{} stride {}x{} padding {}, must be 1x1/2 VALID, 2x2/2 or 3x3/2 with padding \
         (0,0,0,0) or (0,1,0,1)",
        op.size_x, op.size_y, op.stride.x, op.stride.y, op.padding
    )
}

/// The input-size parity a stride-2 max pooling of `size` with `padding` needs.
fn max_stride2_parity(op: &Pooling, size: u32, padding: Padding, even: bool) -> Outcome {
    if !is_stride2_max_config(op) || op.size_x != size || op.padding != padding {
        return Ok(());
    }
    let (h, w) = (op.input.height(), op.input.width());
    let ok = if even {
        h % 2 == 0 && w % 2 == 0
    } else {
        h % 2 == 1 && w % 2 == 1
    };
    require(ok, || {
        let parity = if even { "even" } else { "odd" };
        format!("input {h}x{w} (H×W), both must be {parity}")
    })
}

/// 23.08+ stride-1 max pooling: VALID up to 9×9, or SAME up to 17×17.
fn max_stride1_config(op: &Pooling) -> Outcome {
    if op.kind != PoolingKind::Max || op.stride != S1 {
        return Ok(());
    }
    let (x, y) = (op.size_x, op.size_y);
    let same = op.padding.is_same(op.input.shape, (y, x), S1);
    let ok = (op.padding == Padding::ZERO && x <= 9 && y <= 9) || (same && x <= 17 && y <= 17);
    require(ok, || {
        format!(
            "pool {x}x{y} with padding {} ({}), must be VALID with size <= 9 or SAME with size <= 17",
            op.padding,
            if same { "SAME" } else { "not SAME" }
        )
    })
}

fn max_stride1_size(profile: &Profile, op: &Pooling) -> Outcome {
    if op.kind != PoolingKind::Max || op.stride != S1 {
        return Ok(());
    }
    let limit = sram::max_pool_stride1_limit(&profile.capabilities());
    let too_wide = op.size_x > 1 && op.input.width() > limit;
    let too_high = op.size_y > 1 && op.input.height() > limit;
    if !(too_wide || too_high) {
        return Ok(());
    }
    Err(Failure::with(
        [limit.to_string()],
        format!(
            "input {}x{} (H×W), pooled dimensions must be <= {limit} on {}",
            op.input.height(),
            op.input.width(),
            profile.variant()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_slots_in_order_and_keep_literal_braces() {
        let check = CHECKS.iter().find(|c| c.id == "conv.kernel-size").unwrap();
        assert_eq!(
            check.reason(&["4".to_string(), "6".to_string()]),
            "Unsupported kernel size. Width(4)/height(6) must be in { 1, 2, 3, 5, 7, 9 }"
        );
    }

    #[test]
    fn records_are_grouped_by_operation_alphabetically() {
        let names: Vec<&str> = CHECKS.iter().map(|c| c.op.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn shared_ids_have_disjoint_releases() {
        for (i, a) in CHECKS.iter().enumerate() {
            for b in &CHECKS[i + 1..] {
                if a.id == b.id {
                    assert_eq!(a.op, b.op, "{}", a.id);
                    let overlap = Release::ALL
                        .iter()
                        .any(|&r| a.releases.contains(r) && b.releases.contains(r));
                    assert!(!overlap, "{} is defined twice for one release", a.id);
                }
            }
        }
    }

    #[test]
    fn ids_start_with_their_operation_prefix_and_stage() {
        for check in CHECKS {
            let (prefix, rest) = check.id.split_once('.').unwrap();
            assert!(!prefix.is_empty() && !rest.is_empty(), "{}", check.id);
            let tvm_id = rest.starts_with("tvm-");
            assert_eq!(tvm_id, matches!(check.stage, Stage::Tvm(_)), "{}", check.id);
            let same_prefix = CHECKS
                .iter()
                .filter(|c| c.op == check.op)
                .all(|c| c.id.starts_with(prefix));
            assert!(same_prefix, "{}", check.id);
        }
    }

    #[test]
    fn releases_describe_themselves() {
        assert_eq!(ALL.describe(), "all");
        assert_eq!(since(R23_08).describe(), "23.08+");
        assert_eq!(until(R23_02).describe(), "≤ 23.02");
        let middle = Releases {
            first: R23_05,
            last: R24_10,
        };
        assert_eq!(middle.describe(), "23.05–24.10");
        assert!(middle.contains(R23_11) && !middle.contains(R23_02));
    }
}
