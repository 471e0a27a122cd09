//! NPU targets: what a target says about one operation, in words every target shares.
//!
//! A target judges an operation with a [`Verdict`]: how far it is supported ([`Level`]), which of
//! its rules decided (a stable id the report can group by), the target's own reason text, and the
//! values that made the rule fail. Only [`Level::Supported`] runs on the NPU; a partitioner places
//! everything else on the CPU. The first target is the Arm Ethos-N78 ([`ethos_n`]).

use std::fmt;

pub mod ethos_n;

/// How far a target supports an operation (the Ethos-N Support Library's `SupportedLevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Runs on the NPU.
    Supported,
    /// The target can estimate its performance but cannot run it: it stays on the CPU.
    EstimateOnly,
    /// Not supported at all: it stays on the CPU.
    Unsupported,
}

impl Level {
    /// The name used in reports and the generated rule documentation.
    pub fn name(self) -> &'static str {
        match self {
            Level::Supported => "Supported",
            Level::EstimateOnly => "EstimateOnly",
            Level::Unsupported => "Unsupported",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A target's judgement of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub level: Level,
    /// Stable id of the rule that decided, e.g. `conv.kernel-size`; empty when no rule objected.
    pub rule: &'static str,
    /// The target's exact reason text (e.g. the Support Library's or TVM's message); empty when the
    /// target gives none.
    pub reason: String,
    /// The offending values and what they must be, e.g. `kernel 4x4, must be in {1,2,3,5,7,9}`.
    pub details: String,
}

impl Verdict {
    /// No rule objected.
    pub fn supported() -> Self {
        Verdict {
            level: Level::Supported,
            rule: "",
            reason: String::new(),
            details: String::new(),
        }
    }

    /// Whether the operation may be placed on the NPU.
    pub fn runs_on_npu(&self) -> bool {
        self.level == Level::Supported
    }
}

/// What a target says about one node: the operation it would run it as, and its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// The target's operation (e.g. `Convolution`); `None` when the node maps to none.
    pub npu_op: Option<&'static str>,
    pub verdict: Verdict,
}

/// An NPU target, as the partitioner sees it.
pub trait Target {
    /// `ethos-n78@25.03` and the like.
    fn name(&self) -> String;
    /// Judges one op node of `g`.
    fn judge(&self, g: &crate::ir::Graph, node: crate::ir::NodeId) -> Judgement;
    /// The NPU's peak throughput in tera-operations per second (a multiply-accumulate is two
    /// operations), which the partitioner's cost model scales from.
    fn peak_tops(&self) -> f64;
    /// For a node this target keeps on the CPU: what would move it to the NPU, if the target
    /// knows (e.g. a newer driver release).
    fn remedy(&self, _g: &crate::ir::Graph, _node: crate::ir::NodeId) -> Option<String> {
        None
    }
    /// The output quantization this target fixes for a node's operation (e.g. the Ethos-N runs a
    /// Sigmoid only with outputs at scale 1/256), when the node's own differs; `None` when the
    /// target fixes none or the node already has it. A legalising pass may then compute the node at
    /// the fixed quantization and requantize to the model's.
    fn required_output_quant(
        &self,
        _g: &crate::ir::Graph,
        _node: crate::ir::NodeId,
    ) -> Option<crate::ir::quant::QuantParams> {
        None
    }
}
