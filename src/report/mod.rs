//! The placement report: text (Vela-style), JSON (stable, documented in the README), Markdown
//! (the tables people paste into a design review).

use std::fmt::Write;

use crate::deviation::Deviation;
use crate::diag::{Diagnostic, Severity};
use crate::partition::plan::Plan;

/// A stable JSON document: `summary`, `nodes`, `diagnostics` — what the passes reported
/// (refusals with their reasons, warnings) — and `deviations` — how far each function-changing
/// pass moved the outputs — see the README for the fields.
pub fn json(plan: &Plan, diagnostics: &[Diagnostic], deviations: &[&Deviation]) -> String {
    #[derive(serde::Serialize)]
    struct Report<'a> {
        #[serde(flatten)]
        plan: &'a Plan,
        diagnostics: Vec<DiagnosticJson<'a>>,
        deviations: &'a [&'a Deviation],
    }
    #[derive(serde::Serialize)]
    struct DiagnosticJson<'a> {
        severity: &'static str,
        pass: &'static str,
        node: Option<&'a str>,
        message: &'a str,
    }
    let diagnostics = diagnostics
        .iter()
        .map(|d| DiagnosticJson {
            severity: match d.severity {
                Severity::Note => "note",
                Severity::Warning => "warning",
            },
            pass: d.pass,
            node: d.node.as_deref(),
            message: &d.message,
        })
        .collect();
    serde_json::to_string_pretty(&Report {
        plan,
        diagnostics,
        deviations,
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// One line of figures.
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    format!(
        "{}: {} of {} nodes on the NPU, {:.1}% of {} MACs, {} NPU region(s), {} transition(s), {} boundary bytes",
        s.target,
        s.npu_nodes,
        s.npu_nodes + s.cpu_nodes,
        s.npu_mac_fraction * 100.0,
        s.total_macs,
        s.npu_regions,
        s.transitions,
        s.boundary_bytes
    )
}

/// The cost model's time per inference, split as the model adds it up.
pub fn estimate_line(plan: &Plan) -> String {
    let e = &plan.summary.estimated_us;
    format!(
        "estimated ~{:.1} µs per inference (cost model, not a measurement): NPU {:.1}, CPU {:.1}, boundary transfers {:.1}, {} launch(es) {:.1}",
        e.total, e.npu, e.cpu, e.transfers, plan.summary.npu_regions, e.launches
    )
}

/// Vela-style lines for every CPU node, the passes' diagnostics, then the summary.
pub fn text(plan: &Plan, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let _ = writeln!(out, "{d}");
    }
    for n in plan.nodes.iter().filter(|n| n.placement == "cpu") {
        match n.npu_op {
            None => {
                let _ = writeln!(out, "Info: {} '{}' is a CPU only op", n.op_type, n.name);
                let _ = writeln!(out, " - {}", n.reason);
            }
            Some(op) => {
                let _ = writeln!(
                    out,
                    "Warning: {} '{}' ({op}) is not supported on the NPU. Placing on CPU instead",
                    n.op_type, n.name
                );
                let _ = writeln!(out, " - [{}] {}: {}", n.level, n.rule, n.reason);
                if !n.details.is_empty() {
                    let _ = writeln!(out, "   {}", n.details);
                }
                if let Some(remedy) = &n.remedy {
                    let _ = writeln!(out, "   would run on the NPU: {remedy}");
                }
            }
        }
    }
    let s = &plan.summary;
    let total = (s.npu_nodes + s.cpu_nodes).max(1) as f64;
    let _ = writeln!(
        out,
        "CPU operators = {} ({:.1}%)",
        s.cpu_nodes,
        s.cpu_nodes as f64 * 100.0 / total
    );
    let _ = writeln!(
        out,
        "NPU operators = {} ({:.1}%)",
        s.npu_nodes,
        s.npu_nodes as f64 * 100.0 / total
    );
    let _ = writeln!(out, "{}", summary_line(plan));
    let _ = writeln!(out, "{}", estimate_line(plan));
    for (reason, count) in s.top_reasons.iter().take(5) {
        let _ = writeln!(out, "  {count:>4} x {reason}");
    }
    out
}

/// Markdown: summary table, operator table (NPU support per op type), partition table.
pub fn markdown(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# Placement on {}\n", s.target);
    let _ = writeln!(
        out,
        "| NPU nodes | CPU nodes | NPU MACs | NPU regions | transitions | boundary bytes |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {} | {:.1}% of {} | {} | {} | {} |\n",
        s.npu_nodes,
        s.cpu_nodes,
        s.npu_mac_fraction * 100.0,
        s.total_macs,
        s.npu_regions,
        s.transitions,
        s.boundary_bytes
    );
    let _ = writeln!(out, "{}\n", estimate_line(plan));
    let _ = writeln!(
        out,
        "## Regions\n\n| region | nodes | MACs | boundary bytes | on the NPU (µs, with its call) | its nodes on the CPU (µs) |\n|---|---|---|---|---|---|"
    );
    for (k, r) in plan.regions.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {k} | {} | {} | {} | {:.1} | {:.1} |",
            r.nodes, r.macs, r.boundary_bytes, r.npu_us, r.cpu_us
        );
    }
    let _ = writeln!(
        out,
        "\n## Operators\n\n| op | count | on NPU | on CPU | CPU because |\n|---|---|---|---|---|"
    );
    let mut ops: std::collections::BTreeMap<&str, (usize, usize, Vec<&str>)> = Default::default();
    for n in &plan.nodes {
        let e = ops.entry(n.op_type.as_str()).or_default();
        if n.placement == "npu" {
            e.0 += 1;
        } else {
            e.1 += 1;
            if !e.2.contains(&n.reason.as_str()) {
                e.2.push(&n.reason);
            }
        }
    }
    for (op, (npu, cpu, why)) in ops {
        let _ = writeln!(
            out,
            "| {op} | {} | {npu} | {cpu} | {} |",
            npu + cpu,
            why.join("; ").replace('|', "\\|")
        );
    }
    let _ = writeln!(out, "\n## Nodes\n\n| node | op | placement | level | rule | reason |\n|---|---|---|---|---|---|");
    for n in &plan.nodes {
        let place = match n.region {
            Some(r) => format!("NPU region {r}"),
            None => "CPU".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {place} | {} | {} | {} |",
            n.name,
            n.op_type,
            n.level,
            n.rule,
            n.reason.replace('|', "\\|")
        );
    }
    out
}
