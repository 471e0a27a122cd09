//! The Arm Ethos-N78 target: its Support Library's `Is<Op>Supported` rules, per driver-stack
//! release and hardware variant, and TVM's own front-end checks for TVM parity.
//!
//! * [`npu`] — the operations the rules judge, shaped like the Support Library's API (4-D NHWC
//!   tensors, quantization info, padding/stride, kernels in HWIO/HWIM weight shapes).
//! * [`profiles`] — driver-stack [`profiles::Release`]s, hardware [`profiles::Variant`]s and the
//!   [`profiles::Profile`] that selects both.
//! * [`rules`] — the one table of checks and its evaluator ([`rules::evaluate`]).
//! * [`docs`] — the supported-operators document generated from that table.
//!
//! Sources (read, restated in our words; message texts quoted exactly): ARM-software/
//! ethos-n-driver-stack `driver/support_library/src/SupportQueries.cpp` at tags 22.11…25.03, and
//! apache/tvm `src/relay/backend/contrib/ethosn/ethosn_api.cc` at 513c2be0 (v0.18.0).

pub mod docs;
pub mod npu;
pub mod profiles;
pub mod rules;

mod predicates;
mod sram;
mod tvm;
