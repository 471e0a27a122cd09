//! The supported-operators document (`docs/ethos-n-supported-ops.md`), generated from the rule
//! table so that the rules and their description cannot drift apart (as Vela's
//! `--supported-ops-report` does). A test regenerates it with `NPUOPT_WRITE_DOCS=1` and fails
//! when the committed file is stale.

use std::fmt::Write;

use super::npu::OpKind;
use super::profiles::{Release, Variant};
use super::rules::{checks, Check, Releases, Stage, TvmFlow};
use super::sram;
use crate::target::Level;

/// The whole document.
pub fn supported_ops_markdown() -> String {
    let mut doc = String::new();
    write_intro(&mut doc);
    write_variants(&mut doc);
    write_summary(&mut doc);
    for &kind in OpKind::ALL {
        write_operation(&mut doc, kind);
    }
    doc
}

fn write_intro(doc: &mut String) {
    doc.push_str(
        "# Arm Ethos-N78: supported operators\n\n\
         <!-- Generated from src/target/ethos_n/rules.rs; do not edit. Regenerate with\n     \
         NPUOPT_WRITE_DOCS=1 cargo test --test ethos_n_rules -->\n\n\
         Each operation is judged by the checks of its Support Library query \
         (`Is<Operation>Supported`), in the order listed: the first failing check decides the \
         level and the reason. Only **Supported** runs on the NPU; **EstimateOnly** and \
         **Unsupported** stay on the CPU. A *warning* check records its reason and the operation \
         stays Supported.\n\n\
         Checks of stage **TVM** reproduce TVM's Ethos-N front end and run only in a profile with \
         TVM's checks on (by default: release 23.02). TVM runs all of them, joins the failures \
         with `; ` and does not ask the Support Library when any failed.\n\n\
         Messages are the exact texts; `{}` marks a value filled in.\n\n\
         Before the Support Library's checks, every operation with a tensor of rank above 4 is \
         Unsupported (rule `tensor.rank`): the library's tensors are 4-D and it has no text for \
         this, so the reason is npuopt's.\n\n",
    );
    doc.push_str("| Release | Support Library |\n|---|---|\n");
    for release in Release::ALL {
        let _ = writeln!(doc, "| {release} | {} |", release.support_library_version());
    }
    doc.push('\n');
}

fn write_variants(doc: &mut String) {
    doc.push_str(
        "## Hardware variants\n\n\
         Limits that depend on the SRAM (default sizes; a `sram` override changes them):\n\n\
         | Variant | SRAM (bytes) | SRAMs | Per EMC | Max C when W > 1 | Max-pool stride 1 H/W limit |\n\
         |---|---|---|---|---|---|\n",
    );
    for variant in Variant::all() {
        let caps = variant.capabilities();
        let _ = writeln!(
            doc,
            "| {variant} | {} | {} | {} | {} | {} |",
            caps.total_sram,
            caps.num_srams(),
            caps.sram_per_emc(),
            sram::max_depth(&caps),
            sram::max_pool_stride1_limit(&caps)
        );
    }
    doc.push('\n');
}

fn write_summary(doc: &mut String) {
    doc.push_str(
        "## Summary\n\n\
         | Operation | Query exists in | Support Library checks | TVM checks |\n\
         |---|---|---|---|\n",
    );
    for &kind in OpKind::ALL {
        // Distinct ids: a check whose predicate changed between releases has several records.
        let count = |library: bool| {
            let mut ids: Vec<&str> = checks()
                .iter()
                .filter(|c| c.op == kind && (c.stage == Stage::SupportLibrary) == library)
                .filter(|c| !is_no_query(c))
                .map(|c| c.id)
                .collect();
            ids.dedup();
            ids.len()
        };
        let (library, tvm) = (count(true), count(false));
        let _ = writeln!(
            doc,
            "| [{kind}](#{}) | {} | {library} | {tvm} |",
            kind.name().to_lowercase(),
            query_releases(kind).describe()
        );
    }
    doc.push('\n');
}

/// The record that stands for a query missing from some releases (its message is ours).
fn is_no_query(check: &Check) -> bool {
    check.id.ends_with(".no-query")
}

/// A TVM pattern that does not match (a convolution without `bias_add`): TVM gives no reason.
fn is_pattern_mismatch(check: &Check) -> bool {
    check.id.ends_with(".tvm-bias-add")
}

/// The releases in which the operation's query exists: those with a check other than the
/// `no-query` marker.
fn query_releases(kind: OpKind) -> Releases {
    let exists = |release: Release| {
        checks().iter().any(|c| {
            c.op == kind
                && c.stage == Stage::SupportLibrary
                && !is_no_query(c)
                && c.releases.contains(release)
        })
    };
    let present: Vec<Release> = Release::ALL.into_iter().filter(|&r| exists(r)).collect();
    Releases {
        first: present.first().copied().unwrap_or(Release::FIRST),
        last: present.last().copied().unwrap_or(Release::LATEST),
    }
}

fn write_operation(doc: &mut String, kind: OpKind) {
    let _ = write!(
        doc,
        "## {kind}\n\n\
         | # | Rule | Stage | Releases | Level | Message |\n\
         |---|---|---|---|---|---|\n"
    );
    for (i, check) in checks().iter().filter(|c| c.op == kind).enumerate() {
        let _ = writeln!(
            doc,
            "| {} | `{}` | {} | {} | {} | {} |",
            i + 1,
            check.id,
            stage_name(check),
            check.releases.describe(),
            level_name(check.level),
            message_cell(check)
        );
    }
    doc.push('\n');
}

fn stage_name(check: &Check) -> &'static str {
    match check.stage {
        Stage::SupportLibrary => "SL",
        Stage::Tvm(TvmFlow::Continue) => "TVM",
        Stage::Tvm(TvmFlow::Stop) => "TVM (stops)",
        Stage::Tvm(TvmFlow::Alone) => "TVM (alone)",
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Supported => "warning",
        Level::EstimateOnly => "EstimateOnly",
        Level::Unsupported => "Unsupported",
    }
}

fn message_cell(check: &Check) -> String {
    if check.message.is_empty() {
        "*(no reason given)*".to_string()
    } else if is_no_query(check) {
        format!(
            "`{}` *(npuopt's text: the library has no such query)*",
            check.message
        )
    } else if is_pattern_mismatch(check) {
        format!(
            "`{}` *(npuopt's text: TVM gives no reason when its pattern does not match)*",
            check.message
        )
    } else {
        format!("`{}`", check.message)
    }
}
