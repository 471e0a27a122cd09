//! The pass framework: the [`Pass`] trait, the context passes report into, and the
//! [`PassManager`] that runs a pipeline and owns validation.
//!
//! The manager, not the passes, checks the IR invariants (`ir::verify`) after every pass when
//! asked to (always in tests and debug builds), so a broken rewrite is caught at the pass that
//! made it, with the pass named in the error. It also measures, for every pass that is not exact,
//! how far the pass moved the model's outputs (`crate::deviation`), unless told not to.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::deviation::{Deviation, Probe};
use crate::diag::{Diagnostic, Severity};
use crate::error::Error;
use crate::ir::{verify, Graph, Model};
use crate::partition::plan::Demotion;
use crate::target::Target;

/// Did a pass change the graph?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    Yes,
    No,
}

impl Changed {
    pub fn from(changed: bool) -> Changed {
        if changed {
            Changed::Yes
        } else {
            Changed::No
        }
    }
}

/// A rewrite of the graph.
pub trait Pass {
    /// kebab-case; used by the CLI, dumps and snapshot names.
    fn name(&self) -> &'static str;
    /// One line for `npuopt passes`.
    fn summary(&self) -> &'static str;
    /// `false` when the pass changes the model's function: opt-in only, and it warns.
    fn exact(&self) -> bool;
    /// Rewrites `g`. Errors are for graphs the pass cannot handle at all; a rewrite that merely
    /// does not apply is a refusal recorded with [`PassCx::reject`].
    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, String>;
}

/// What a pass may know of the model beyond its graph, and where it reports.
pub struct PassCx {
    /// Opset version per domain (`""` = default ONNX domain).
    pub opsets: BTreeMap<String, i64>,
    /// The NPU the model is being prepared for, when one is named: passes that only pay off on a
    /// target (legalising rewrites, the target-driven post-processing cut) ask its rules.
    pub target: Option<Rc<dyn Target>>,
    /// Which NPU regions the partition will move back to the CPU: a rewrite that only pays off
    /// on the NPU (and costs MACs, like channel alignment) asks whether its region stays there.
    pub demotion: Demotion,
    pass: &'static str,
    diagnostics: Vec<Diagnostic>,
    /// Opsets a pass's new nodes need and the model may not import yet.
    required: BTreeMap<String, i64>,
    /// Entries a pass adds to the model's metadata (a key given twice keeps the last value).
    metadata: Vec<(String, String)>,
    /// Models a pass split off the main one (e.g. the post-processing model).
    side_models: Vec<SideModel>,
}

/// A model a pass split off: written beside the main output as `<stem>.<suffix>.onnx`, with the
/// main model's IR version and opsets, and these metadata entries.
pub struct SideModel {
    pub suffix: &'static str,
    pub graph: Graph,
    pub metadata: Vec<(String, String)>,
}

impl PassCx {
    pub fn new(opsets: BTreeMap<String, i64>) -> PassCx {
        PassCx {
            opsets,
            target: None,
            demotion: Demotion::default(),
            pass: "",
            diagnostics: Vec::new(),
            required: BTreeMap::new(),
            metadata: Vec::new(),
            side_models: Vec::new(),
        }
    }

    /// A context for a model's opsets.
    pub fn for_model(model: &Model) -> PassCx {
        let opsets = model
            .shell
            .opset_import
            .iter()
            .map(|o| {
                let d = o.domain();
                let d = if crate::ir::op::is_onnx_domain(d) {
                    ""
                } else {
                    d
                };
                (d.to_string(), o.version())
            })
            .collect();
        PassCx::new(opsets)
    }

    /// The same context, preparing the model for `target`.
    pub fn with_target(mut self, target: Rc<dyn Target>) -> PassCx {
        self.target = Some(target);
        self
    }

    /// The same context, for a partition that demotes regions as `demotion` says.
    pub fn with_demotion(mut self, demotion: Demotion) -> PassCx {
        self.demotion = demotion;
        self
    }

    /// Declares that the graph now uses `domain` at `version` or later; the manager adds the
    /// import to the model when it has none.
    pub fn require_opset(&mut self, domain: &str, version: i64) {
        let v = self.required.entry(domain.to_string()).or_insert(version);
        *v = (*v).max(version);
        self.opsets.entry(domain.to_string()).or_insert(version);
    }

    /// Adds a metadata entry to the model.
    pub fn add_metadata(&mut self, key: &str, value: String) {
        self.metadata.push((key.to_string(), value));
    }

    /// Hands over a model split off the main one.
    pub fn add_side_model(&mut self, side: SideModel) {
        self.side_models.push(side);
    }

    /// Takes the side models out (the caller writes them).
    pub fn take_side_models(&mut self) -> Vec<SideModel> {
        std::mem::take(&mut self.side_models)
    }

    /// Records why a rewrite did not apply to `node`.
    pub fn reject(&mut self, node: &str, reason: impl Into<String>) {
        self.push(Severity::Note, Some(node), reason.into());
    }

    /// Records a fact worth listing (not about one node, or not a refusal).
    pub fn note(&mut self, node: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Note, node, message.into());
    }

    /// Records a warning.
    pub fn warn(&mut self, node: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Warning, node, message.into());
    }

    fn push(&mut self, severity: Severity, node: Option<&str>, message: String) {
        self.diagnostics.push(Diagnostic {
            severity,
            pass: self.pass,
            node: node.map(str::to_string),
            message,
        });
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

/// What one pass did.
#[derive(Clone, Debug, PartialEq)]
pub struct PassRecord {
    pub pass: &'static str,
    pub changed: bool,
    pub nodes_before: usize,
    pub nodes_after: usize,
    /// For a pass that is not exact and changed the graph: how far its outputs moved.
    pub deviation: Option<Deviation>,
}

/// Runs passes in order over a model.
pub struct PassManager {
    passes: Vec<Box<dyn Pass>>,
    verify: bool,
    /// Seed of the inputs the deviation of non-exact passes is measured on; `None` skips it.
    measure: Option<u64>,
}

impl PassManager {
    /// A manager for `passes`; it verifies the IR after each pass in debug builds, and measures
    /// the deviation of non-exact passes on the inputs of seed 0 (`npuopt verify`'s default).
    pub fn new(passes: Vec<Box<dyn Pass>>) -> PassManager {
        PassManager {
            passes,
            verify: cfg!(debug_assertions),
            measure: Some(0),
        }
    }

    /// Measure non-exact passes on the inputs of this seed, or not at all (`None`).
    pub fn measure(mut self, seed: Option<u64>) -> PassManager {
        self.measure = seed;
        self
    }

    /// Verify after every pass in release builds too.
    pub fn verify_each(mut self, on: bool) -> PassManager {
        self.verify |= on;
        self
    }

    /// Runs every pass; `after` sees the graph after each one (for `--dump-after`).
    pub fn run(
        &self,
        model: &mut Model,
        cx: &mut PassCx,
        mut after: impl FnMut(&str, &Graph),
    ) -> Result<Vec<PassRecord>, Error> {
        let mut records = Vec::new();
        for pass in &self.passes {
            cx.pass = pass.name();
            let fail = |reason: String| Error::Pass {
                pass: pass.name().to_string(),
                reason,
            };
            let nodes_before = op_count(&model.graph);
            let probe = match self.measure {
                Some(seed) if !pass.exact() => Some(Probe::before(model, seed)),
                _ => None,
            };
            let changed = pass.run(&mut model.graph, cx).map_err(fail)?;
            import_required_opsets(model, cx);
            if changed == Changed::Yes {
                // Keep every value typed for the next pass; issues were reported at load.
                let _ = crate::ir::infer::infer_types(&mut model.graph, &cx.opsets);
            }
            apply_metadata(&mut model.shell, std::mem::take(&mut cx.metadata));
            if self.verify {
                let problems = verify::verify(&model.graph);
                if !problems.is_empty() {
                    return Err(fail(format!(
                        "left the graph invalid: {}",
                        problems.join("; ")
                    )));
                }
            }
            after(pass.name(), &model.graph);
            let deviation = probe
                .filter(|_| changed == Changed::Yes)
                .map(|p| p.after(pass.name(), model));
            records.push(PassRecord {
                pass: pass.name(),
                changed: changed == Changed::Yes,
                nodes_before,
                nodes_after: op_count(&model.graph),
                deviation,
            });
        }
        Ok(records)
    }
}

/// Adds the opset imports passes declared with [`PassCx::require_opset`] that the model lacks.
fn import_required_opsets(model: &mut Model, cx: &PassCx) {
    for (domain, &version) in &cx.required {
        let imported = model.shell.opset_import.iter().any(|o| {
            o.domain() == domain
                || (crate::ir::op::is_onnx_domain(domain)
                    && crate::ir::op::is_onnx_domain(o.domain()))
        });
        if !imported {
            model
                .shell
                .opset_import
                .push(crate::proto::OperatorSetIdProto {
                    domain: Some(domain.clone()),
                    version: Some(version),
                });
        }
    }
}

/// Sets metadata entries, replacing an existing entry of the same key.
pub fn apply_metadata(shell: &mut crate::proto::ModelProto, entries: Vec<(String, String)>) {
    for (key, value) in entries {
        match shell.metadata_props.iter_mut().find(|e| e.key() == key) {
            Some(e) => e.value = Some(value),
            None => shell
                .metadata_props
                .push(crate::proto::StringStringEntryProto {
                    key: Some(key),
                    value: Some(value),
                }),
        }
    }
}

/// Number of op nodes (graph inputs and initializers not counted).
pub fn op_count(g: &Graph) -> usize {
    g.nodes()
        .into_iter()
        .filter(|&n| g.node(n).as_op().is_some())
        .count()
}
