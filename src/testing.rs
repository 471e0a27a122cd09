//! Helpers for tests only: pass unit tests, and the `passes/` snapshot loop (`tests/passes.rs`).
//! Public because integration tests link the library like any user; nothing in the product calls
//! it.
//!
//! A pass is checked on text IR: the text is parsed, the passes run under a [`PassManager`] that
//! verifies the IR after each one, and the result is a unified diff of the printed graph before
//! and after (values that survive keep their numbers, see `print::print_graph_numbered`), followed by the passes' diagnostics (refusal reasons and warnings) as `# note[..]`
//! / `# warning[..]` lines. A run that changes nothing says `# no change` and shows the graph.
//!
//! What to run is written like a case file's first line, without the `# run:`:
//! `dce`, `identity-elim,dce` (passes in order), `replace-activation=relu6` (a pass with its
//! option) or `pipeline canonicalize` (`pipeline none` runs nothing). A header line
//! `# target: ethos-n78@23.02` prepares the graph for that target and appends the partition of the
//! result (`# placement after the passes:`, one line per op node). The partition demotes regions
//! as the CLI does (`cost`) unless a line `# demote: no-compute` or `# demote: none` says
//! otherwise: the cases' graphs are a few thousand MACs, which the cost model rightly keeps on the
//! CPU, so a case about a rule or a rewrite names the demotion that shows what it tests.

use std::rc::Rc;

use crate::ir::Model;
use crate::partition::plan::Demotion;
use crate::pass::{Pass, PassCx, PassManager};
use crate::passes;
use crate::print::{parse_graph, print_graph, print_graph_numbered, Numbering};
use crate::proto;
use crate::target::ethos_n::EthosN;
use crate::target::Target;

/// The default-domain opset a parsed case's model imports (the text IR does not say).
pub const CASE_OPSET: i64 = 21;

/// What running passes over a text graph did.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The parsed graph, printed (canonical: not the input text itself).
    pub before: String,
    /// The graph after the passes, its surviving values numbered as in `before`.
    pub after: String,
    /// Names of the passes that reported a change.
    pub changed_by: Vec<&'static str>,
    /// Diagnostics as printed (`note[identity-elim] node 'x': ...`).
    pub diagnostics: Vec<String>,
    /// With a target: the partition of the graph after the passes, one line per op node, then
    /// the summary line.
    pub placement: Vec<String>,
}

impl Outcome {
    /// The diff before → after (or `# no change` and the graph), then the diagnostics.
    pub fn report(&self) -> String {
        let mut out = if self.before == self.after {
            let mut s = if self.changed_by.is_empty() {
                "# no change\n".to_string()
            } else {
                format!(
                    "# no visible change, though {} reported one\n",
                    self.changed_by.join(", ")
                )
            };
            for line in self.before.lines() {
                s.push(' ');
                s.push_str(line);
                s.push('\n');
            }
            s
        } else {
            similar::TextDiff::from_lines(&self.before, &self.after)
                .unified_diff()
                .context_radius(usize::MAX / 2)
                .header("before", "after")
                .to_string()
        };
        for d in &self.diagnostics {
            out.push_str("# ");
            out.push_str(d);
            out.push('\n');
        }
        if !self.placement.is_empty() {
            out.push_str("# placement after the passes:\n");
            for line in &self.placement {
                out.push_str("#   ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// The passes a run spec names (`dce`, `identity-elim,dce`, `pipeline canonicalize`).
pub fn passes_for(spec: &str) -> Result<Vec<Box<dyn Pass>>, String> {
    let spec = spec.trim();
    if let Some(name) = spec.strip_prefix("pipeline ") {
        let name = name.trim();
        return passes::pipeline(name).ok_or_else(|| {
            let known: Vec<&str> = passes::PIPELINES.iter().map(|(n, _)| *n).collect();
            format!("unknown pipeline '{name}' (known: {})", known.join(", "))
        });
    }
    spec.split(',')
        .map(|name| passes::find_spec(name.trim()))
        .collect()
}

/// The run spec on a case file's first line, `# run: ...`.
pub fn run_spec(case: &str) -> Result<&str, String> {
    case.lines()
        .next()
        .and_then(|l| l.trim().strip_prefix("# run:"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            "a case's first line must be '# run: PASS[,PASS...]' or '# run: pipeline NAME'".into()
        })
}

/// The target a case prepares for, from a header line `# target: ethos-n78@23.02`, if any.
pub fn target_spec(case: &str) -> Option<&str> {
    case.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("# target:"))
        .map(str::trim)
}

/// The demotion a case's partition uses, from a header line `# demote: none`; `cost` without one.
pub fn demotion(case: &str) -> Result<Demotion, String> {
    case.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("# demote:"))
        .map_or(Ok(Demotion::Cost), |d| d.trim().parse())
}

/// Parses `before`, runs `spec` over it (for the target its header names, if any) with verification after every pass.
pub fn run(spec: &str, before: &str) -> Result<Outcome, String> {
    let passes = passes_for(spec)?;
    let graph = parse_graph(before).map_err(|e| format!("text IR {e}"))?;
    let mut model = Model {
        graph,
        shell: proto::ModelProto {
            ir_version: Some(10),
            opset_import: vec![proto::OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(CASE_OPSET),
            }],
            ..Default::default()
        },
    };
    let demotion = demotion(before)?;
    let mut cx = PassCx::for_model(&model).with_demotion(demotion);
    if let Some(target) = target_spec(before) {
        cx = cx.with_target(Rc::new(EthosN::from_spec(target, None)?));
    }
    // As the CLI does at load, so "before" shows the types the passes see.
    let _ = crate::ir::infer::infer_types(&mut model.graph, &cx.opsets);
    let before = print_graph(&model.graph);
    let numbering = Numbering::of(&model.graph);
    let records = PassManager::new(passes)
        .verify_each(true)
        .run(&mut model, &mut cx, |_, _| {})
        .map_err(|e| e.to_string())?;
    let placement = match &cx.target {
        Some(target) => placement(&model.graph, target.as_ref(), demotion)?,
        None => Vec::new(),
    };
    Ok(Outcome {
        before,
        after: print_graph_numbered(&model.graph, &numbering),
        changed_by: records
            .iter()
            .filter(|r| r.changed)
            .map(|r| r.pass)
            .collect(),
        diagnostics: cx.diagnostics().iter().map(ToString::to_string).collect(),
        placement,
    })
}

/// Where each op node of `g` runs on `target`, and the summary line.
fn placement(
    g: &crate::ir::Graph,
    target: &dyn Target,
    demotion: Demotion,
) -> Result<Vec<String>, String> {
    let plan = crate::partition::plan::plan(g, target, demotion)?;
    let mut lines: Vec<String> = plan
        .nodes
        .iter()
        .map(|n| match n.region {
            Some(r) => format!("npu region {r}: {} ({})", n.name, n.op_type),
            None if n.rule.is_empty() => format!("cpu: {} ({})", n.name, n.op_type),
            None if n.details.is_empty() => {
                format!("cpu: {} ({}) [{}] {}", n.name, n.op_type, n.rule, n.reason)
            }
            None => format!(
                "cpu: {} ({}) [{}] {}: {}",
                n.name, n.op_type, n.rule, n.reason, n.details
            ),
        })
        .collect();
    lines.push(crate::report::summary_line(&plan));
    Ok(lines)
}

/// The report of running `spec` over `before` (see the module documentation), for
/// `insta::assert_snapshot!(check_pass("dce", "..."), @"...")`. Panics if the text does not parse
/// or a pass fails.
pub fn check_pass(spec: &str, before: &str) -> String {
    run(spec, before).unwrap_or_else(|e| panic!("{e}")).report()
}

/// Asserts that `spec` leaves the graph unchanged (and that no pass claims a change); returns the
/// diagnostics, one per line, so a test can say which refusal fired.
pub fn check_not_applicable(spec: &str, before: &str) -> String {
    let outcome = run(spec, before).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        outcome.before == outcome.after && outcome.changed_by.is_empty(),
        "expected no change, got:\n{}",
        outcome.report()
    );
    outcome.diagnostics.join("\n")
}

/// `insta::assert_snapshot!` into the top-level `snapshots/` folder, from any test file (the house
/// rule: no snapshot lives elsewhere). Expands in the calling crate, which has insta.
#[macro_export]
macro_rules! assert_snapshot_file {
    ($name:expr, $value:expr) => {
        ::insta::with_settings!(
            { snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots") },
            { ::insta::assert_snapshot!($name, $value) }
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEAD: &str = "\
input %x \"x\": f32[4]
%dead = Relu(%x)
%y = Sigmoid(%x)
output %y \"y\"
";

    #[test]
    fn check_pass_reports_a_diff() {
        assert_eq!(
            check_pass("dce", DEAD),
            "\
--- before
+++ after
@@ -1,4 +1,3 @@
 input %0 \"x\": f32[4]
-%1: f32[4] = Relu(%0)
 %2: f32[4] = Sigmoid(%0)
 output %2 \"y\"
"
        );
    }

    #[test]
    fn check_not_applicable_returns_the_refusals() {
        let notes = check_not_applicable(
            "identity-elim",
            "input %x \"x\": f32[4]\n%y = Identity(%x)  # id\noutput %y \"y\"\n",
        );
        assert_eq!(
            notes,
            "note[identity-elim] node 'id': it would forward a graph input to a graph output; both names are the model's signature"
        );
    }

    #[test]
    #[should_panic(expected = "expected no change")]
    fn check_not_applicable_fails_on_a_change() {
        check_not_applicable("dce", DEAD);
    }

    #[test]
    fn specs() {
        let names =
            |s: &str| -> Vec<&str> { passes_for(s).unwrap().iter().map(|p| p.name()).collect() };
        assert_eq!(names("identity-elim, dce"), ["identity-elim", "dce"]);
        assert_eq!(
            names("pipeline canonicalize"),
            ["identity-elim", "const-fold", "dedup-initializers", "dce"]
        );
        assert_eq!(passes_for("nope").err(), Some("unknown pass 'nope'".into()));
        assert!(passes_for("pipeline nope").is_err());
        assert_eq!(run_spec("# run: dce\n..."), Ok("dce"));
        assert!(run_spec("input %x \"x\"\n").is_err());
    }

    #[test]
    fn unchanged_graphs_say_so() {
        let report = check_pass("dce", "input %x \"x\"\noutput %x \"x\"\n");
        assert_eq!(report, "# no change\n input %0 \"x\"\n output %0 \"x\"\n");
    }
}
