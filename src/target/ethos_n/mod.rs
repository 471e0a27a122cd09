//! The Arm Ethos-N78 target: its Support Library's `Is<Op>Supported` rules, per driver-stack
//! release and hardware variant, and TVM's own front-end checks for TVM parity.
//!
//! * [`npu`] — the operations the rules judge, shaped like the Support Library's API (4-D NHWC
//!   tensors, quantization info, padding/stride, kernels in HWIO/HWIM weight shapes).
//! * [`profiles`] — driver-stack [`Release`]s, hardware [`Variant`]s and the [`Profile`] that
//!   selects both.
//! * [`rules`] — the one table of checks and its evaluator, [`check`].
//! * [`docs`] — the supported-operators document generated from that table.
//!
//! A caller describes one operation as the Support Library sees it and asks for a verdict:
//!
//! ```
//! use npuopt::target::ethos_n::npu::{DataType, Operation, QuantInfo, Relu, TensorInfo};
//! use npuopt::target::ethos_n::{check, Profile, Release};
//! use npuopt::target::Level;
//!
//! let input = TensorInfo::new([1, 16, 16, 32], DataType::U8, QuantInfo::new(0, 0.05));
//! let relu = Operation::Relu(Relu { input, lower_bound: 0, upper_bound: 255, output: None });
//! let variant = "N78_1TOPS_2PLE_RATIO".parse().unwrap();
//! let profile = Profile::new(Release::R23_02).with_variant(variant);
//! let verdict = check(&relu, &profile);
//! assert_eq!(verdict.level, Level::Supported);
//! ```
//!
//! Sources (read, restated in our words; message texts quoted exactly): ARM-software/
//! ethos-n-driver-stack `driver/support_library/src/SupportQueries.cpp` at tags 22.11…25.03, and
//! apache/tvm `src/relay/backend/contrib/ethosn/ethosn_api.cc` at 513c2be0 (v0.18.0).

pub mod docs;
pub mod mapping;
pub mod npu;
pub mod profiles;
pub mod rules;

mod predicates;
mod sram;
mod tvm;

pub use profiles::{Profile, ProfileError, Release, Variant};
pub use rules::check;

/// The Arm Ethos-N78 with one rule profile (driver-stack release and hardware variant).
#[derive(Clone)]
pub struct EthosN {
    pub profile: Profile,
}

impl EthosN {
    /// The target a `--target`/`--variant` pair names: `ethos-n78[@RELEASE]` (default release
    /// 25.03) and a variant as [`Variant`] parses it.
    pub fn from_spec(target: &str, variant: Option<&str>) -> Result<EthosN, String> {
        let (device, release) = target.split_once('@').unwrap_or((target, "25.03"));
        if device != "ethos-n78" {
            return Err(format!(
                "--target {target}: the known target is ethos-n78[@RELEASE]"
            ));
        }
        let release: Release = release
            .parse()
            .map_err(|e| format!("--target {target}: {e}"))?;
        let mut profile = Profile::new(release);
        if let Some(v) = variant {
            let variant: Variant = v.parse().map_err(|e| format!("--variant {v}: {e}"))?;
            profile = profile.with_variant(variant);
        }
        Ok(EthosN { profile })
    }
}

impl super::Target for EthosN {
    fn name(&self) -> String {
        format!("ethos-n78@{}", self.profile.release().name())
    }

    /// The hardware variant's rating (1, 2, 4 or 8 TOPS).
    fn peak_tops(&self) -> f64 {
        f64::from(self.profile.variant().tops())
    }

    /// The first newer driver-stack release (same hardware variant) whose rules accept the node.
    fn remedy(&self, g: &crate::ir::Graph, node: crate::ir::NodeId) -> Option<String> {
        let op = mapping::map(g, node).ok()?;
        let current = self.profile.release();
        Release::ALL
            .into_iter()
            .filter(|&r| r > current)
            .find(|&r| {
                let newer = Profile::new(r).with_variant(self.profile.variant());
                check(&op, &newer).runs_on_npu()
            })
            .map(|r| format!("supported from release {}", r.name()))
    }

    /// Sigmoid and Tanh compute at a fixed output quantization (ethos-n-rules.md b.9); MeanXy
    /// keeps its input's (b.10).
    fn required_output_quant(
        &self,
        g: &crate::ir::Graph,
        node: crate::ir::NodeId,
    ) -> Option<crate::ir::quant::QuantParams> {
        let (expected, actual) = match mapping::map(g, node).ok()? {
            npu::Operation::Sigmoid(op) => (op.expected_sigmoid_output(), op.output?),
            npu::Operation::Tanh(op) => (op.expected_tanh_output(), op.output?),
            npu::Operation::MeanXy(op) => (op.expected_mean_output(), op.output?),
            _ => return None,
        };
        let dtype = match expected.dtype {
            npu::DataType::U8 => crate::ir::DType::U8,
            npu::DataType::I8 => crate::ir::DType::I8,
            _ => return None,
        };
        (expected.quant != actual.quant).then(|| crate::ir::quant::QuantParams {
            dtype,
            scale: vec![expected.quant.scale()],
            zero_point: vec![i64::from(expected.quant.zero_point)],
            axis: None,
        })
    }

    fn judge(&self, g: &crate::ir::Graph, node: crate::ir::NodeId) -> super::Judgement {
        match mapping::map(g, node) {
            Ok(op) => super::Judgement {
                npu_op: Some(op.kind().name()),
                verdict: check(&op, &self.profile),
            },
            Err(mapping::NoNpuOp(reason)) => super::Judgement {
                npu_op: None,
                verdict: super::Verdict {
                    level: super::Level::Unsupported,
                    rule: "no-npu-op",
                    reason,
                    details: String::new(),
                },
            },
        }
    }
}
