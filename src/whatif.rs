//! The what-if report: what each opt-in (function-changing) pass and each driver-stack release
//! would buy on the NPU — the table a team needs before it spends GPU days on a retrain.
//!
//! Every scenario (the model as the flags prepare it, then with each opt-in pass the flags do not
//! already ask for, then with all of them) runs the same passes as the main command, once per
//! release, and is partitioned for that release. The passes run anew per release because the
//! target-driven ones (legalise, the suffix cut) depend on the release's rules. The deviation of
//! a scenario's function-changing passes is measured once (seed 0, as `npuopt verify` draws
//! inputs), and their Ultralytics hints say what to change in training.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use serde::Serialize;

use crate::deviation::{self, Deviation};
use crate::diag::Severity;
use crate::partition::plan::{plan, Demotion, Plan, Summary};
use crate::pass::{Pass, PassCx, PassManager};
use crate::passes::{self, replace_activation::Activation, Options};
use crate::target::ethos_n::{EthosN, Profile, Release, Variant};
use crate::Error;

/// The scenario of the flags alone.
const AS_GIVEN: &str = "as given";

/// One way to prepare the model.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// How the table names it: `as given`, `--activation relu`, `--c2f`, …
    pub label: String,
    pub options: Options,
}

/// The scenarios for a run whose flags say `base`: `base` itself, then each opt-in pass `base`
/// does not already run, then (when there are two) both together.
pub fn scenarios(base: &Options) -> Vec<Scenario> {
    let mut out = vec![Scenario {
        label: AS_GIVEN.into(),
        options: *base,
    }];
    let mut extra: Vec<(String, Options)> = Vec::new();
    if base.activation.is_none() {
        extra.push((
            "--activation relu".into(),
            Options {
                activation: Some(Activation::Relu),
                ..*base
            },
        ));
    }
    if !base.c2f {
        extra.push(("--c2f".into(), Options { c2f: true, ..*base }));
    }
    if extra.len() > 1 {
        let labels: Vec<&str> = extra.iter().map(|(l, _)| l.as_str()).collect();
        let label = labels.join(" ");
        extra.push((
            label,
            Options {
                activation: Some(Activation::Relu),
                c2f: true,
                ..*base
            },
        ));
    }
    out.extend(
        extra
            .into_iter()
            .map(|(label, options)| Scenario { label, options }),
    );
    out
}

/// What one scenario reaches in one release.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub release: &'static str,
    pub summary: Summary,
}

/// One scenario across the releases.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub scenario: String,
    pub cells: Vec<Cell>,
    /// Per function-changing pass: how far the outputs moved (empty for exact scenarios).
    pub deviations: Vec<Deviation>,
    /// The function-changing passes' warnings: what changed and its Ultralytics training-side
    /// equivalent.
    pub hints: Vec<String>,
    /// Whether a function-changing pass of the scenario found anything to change (a C2f-only
    /// YOLOv8 has nothing for `--c2f`).
    pub changed: bool,
}

/// A scenario's passes from its options.
pub type PassesFor<'a> = dyn Fn(&Options) -> Result<Vec<Box<dyn Pass>>, Error> + 'a;

/// Runs every scenario for every release of `releases` on the model at `path`; `passes` gives a
/// scenario's passes from its options (the CLI's pipeline or `--passes` list, configured).
pub fn what_if(
    path: &Path,
    scenarios: &[Scenario],
    passes: &PassesFor<'_>,
    releases: &[Release],
    variant: Variant,
    demotion: Demotion,
) -> Result<Vec<Row>, Error> {
    let mut rows = Vec::new();
    for scenario in scenarios {
        let mut row = Row {
            scenario: scenario.label.clone(),
            cells: Vec::new(),
            deviations: Vec::new(),
            hints: Vec::new(),
            changed: false,
        };
        for (k, &release) in releases.iter().enumerate() {
            let target = Rc::new(EthosN {
                profile: Profile::new(release).with_variant(variant),
            });
            let (mut model, _) = crate::load(path)?;
            let mut cx = PassCx::for_model(&model)
                .with_target(target.clone())
                .with_demotion(demotion);
            let first = k == 0;
            let records = PassManager::new(passes(&scenario.options)?)
                .measure(first.then_some(0))
                .run(&mut model, &mut cx, |_, _| {})?;
            if first {
                let inexact: Vec<&str> = passes::registry()
                    .iter()
                    .filter(|p| !p.exact())
                    .map(|p| p.name())
                    .collect();
                row.changed = records
                    .iter()
                    .any(|r| r.changed && inexact.contains(&r.pass));
                row.deviations = records.into_iter().filter_map(|r| r.deviation).collect();
                row.hints = cx
                    .diagnostics()
                    .iter()
                    .filter(|d| d.severity == Severity::Warning && inexact.contains(&d.pass))
                    .map(|d| d.to_string())
                    .collect();
            }
            let p = plan_for(&model.graph, target.as_ref(), demotion)?;
            row.cells.push(Cell {
                release: release.name(),
                summary: p.summary,
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The table (Markdown, readable in a terminal and pastable into a review), then per changed
/// scenario its deviation and hints.
pub fn text(rows: &[Row]) -> String {
    let mut out = String::from(
        "What-if: NPU MAC share, NPU regions, NPU↔CPU transitions and the cost model's estimated \
         time per inference, per change and driver release\n\n",
    );
    let releases: Vec<&str> = rows
        .first()
        .map(|r| r.cells.iter().map(|c| c.release).collect())
        .unwrap_or_default();
    out.push_str(&format!("| change | {} |\n", releases.join(" | ")));
    out.push_str(&format!("|---|{}\n", "---|".repeat(releases.len())));
    for row in rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| {
                format!(
                    "{:.1}%, {}, {}, ~{:.0} µs",
                    c.summary.npu_mac_fraction * 100.0,
                    c.summary.npu_regions,
                    c.summary.transitions,
                    c.summary.estimated_us.total
                )
            })
            .collect();
        let unchanged = if row.changed || row.scenario == AS_GIVEN {
            ""
        } else {
            " (nothing to change)"
        };
        out.push_str(&format!(
            "| {}{unchanged} | {} |\n",
            row.scenario,
            cells.join(" | ")
        ));
    }
    for row in rows.iter().filter(|r| !r.deviations.is_empty()) {
        out.push_str(&format!(
            "\n{}: the model's function changes; fine-tune or retrain it.\n",
            row.scenario
        ));
        for d in &row.deviations {
            if let Some(reason) = &d.failure {
                out.push_str(&format!("  {}: not measured: {reason}\n", d.pass));
            }
            for o in &d.outputs {
                out.push_str(&format!(
                    "  {} deviation on {} (seed {}): {}\n",
                    d.pass,
                    o.name,
                    d.seed,
                    deviation::describe(o)
                ));
            }
        }
        for h in &row.hints {
            out.push_str(&format!("  {h}\n"));
        }
    }
    out
}

/// The rows as JSON: `{"what_if": [{scenario, cells: [{release, summary}], deviations, hints}]}`.
pub fn json(rows: &[Row]) -> String {
    let value = serde_json::json!({ "what_if": rows });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

/// Completes the remedies of `plan` (the partition of the model at `path` as `base` prepares it,
/// for `target`): each CPU node gets the opt-in passes that would move it — after the pass it runs
/// on the NPU or is gone — found by running each opt-in scenario for the same target; the
/// combination of passes is named only for nodes no single pass moves.
pub fn add_opt_in_remedies(
    path: &Path,
    base: &Options,
    passes: &PassesFor<'_>,
    target: &EthosN,
    demotion: Demotion,
    plan: &mut Plan,
) -> Result<(), Error> {
    let target = Rc::new(target.clone());
    let mut moved_by_opt_in = vec![false; plan.nodes.len()];
    for scenario in scenarios(base).iter().skip(1) {
        let (mut model, _) = crate::load(path)?;
        let mut cx = PassCx::for_model(&model)
            .with_target(target.clone())
            .with_demotion(demotion);
        PassManager::new(passes(&scenario.options)?)
            .measure(None)
            .run(&mut model, &mut cx, |_, _| {})?;
        let after = plan_for(&model.graph, target.as_ref(), demotion)?;
        let placement: HashMap<&str, &str> = after
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.placement))
            .collect();
        for (n, moved) in plan.nodes.iter_mut().zip(moved_by_opt_in.iter_mut()) {
            if n.placement != "cpu" || n.name.is_empty() || *moved {
                continue;
            }
            if placement.get(n.name.as_str()).is_none_or(|&p| p == "npu") {
                *moved = true;
                let text = format!(
                    "{} (changes the function: fine-tune or retrain)",
                    scenario.label
                );
                n.remedy = Some(match n.remedy.take() {
                    Some(release) => format!("{release}; or {text}"),
                    None => text,
                });
            }
        }
    }
    Ok(())
}

fn plan_for(g: &crate::ir::Graph, target: &EthosN, demotion: Demotion) -> Result<Plan, Error> {
    plan(g, target, demotion).map_err(|reason| Error::Pass {
        pass: "partition".into(),
        reason,
    })
}
