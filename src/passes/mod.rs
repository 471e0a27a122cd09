//! Every pass, and the pipelines as ordered lists.
//!
//! The registry below is the one list of passes: the CLI, `npuopt passes`, the snapshot tests and
//! the property harness all read it, so a pass cannot be half-registered.

pub mod c2f;
pub mod const_fold;
pub mod dce;
pub mod dedup_initializers;
pub mod fold_qdq;
pub mod identity_elim;
pub mod legalise;
pub mod replace_activation;
pub mod strip_postprocess;

use crate::pass::Pass;

/// Every pass, in the order `npuopt passes` lists them.
pub fn registry() -> Vec<Box<dyn Pass>> {
    vec![
        Box::new(c2f::C2f),
        Box::new(const_fold::ConstFold),
        Box::new(dce::Dce),
        Box::new(dedup_initializers::DedupInitializers),
        Box::new(fold_qdq::FoldQdq),
        Box::new(identity_elim::IdentityElim),
        Box::new(legalise::Legalise),
        Box::new(fold_qdq::QdqCanonicalize),
        Box::new(replace_activation::ReplaceActivation::default()),
        Box::new(strip_postprocess::StripPostprocess::default()),
    ]
}

/// The pass named `name`.
pub fn find(name: &str) -> Option<Box<dyn Pass>> {
    registry().into_iter().find(|p| p.name() == name)
}

/// The pass a `NAME` or `NAME=OPTION` spec names (`replace-activation=relu6`, as case files
/// write it): the option configures the passes that take one.
pub fn find_spec(spec: &str) -> Result<Box<dyn Pass>, String> {
    match spec.split_once('=') {
        None => find(spec).ok_or_else(|| format!("unknown pass '{spec}'")),
        Some(("replace-activation", option)) => {
            Ok(Box::new(replace_activation::ReplaceActivation {
                activation: option.parse()?,
            }))
        }
        Some((name, _)) => Err(format!("pass '{name}' takes no option")),
    }
}

/// The pipelines, each an ordered list of pass names.
///
/// `canonicalize`: identity-elim first (it exposes constants behind identities), then const-fold
/// (its results may duplicate existing constants), then dedup-initializers (its redirected
/// duplicates become dead), then dce to sweep what the others left.
/// `default` is what runs without `--pipeline`/`--passes`: canonicalize, then fold-qdq (which
/// wants canonical Q/DQ: duplicates merged, identities gone), then strip-postprocess (its cut
/// should fall on the integer head convolutions fold-qdq made), then legalise (the target's exact
/// rewrites, on what is left for the NPU), then dce for what is left. The CLI partitions after it.
pub const PIPELINES: &[(&str, &[&str])] = &[
    ("none", &[]),
    (
        "canonicalize",
        &["identity-elim", "const-fold", "dedup-initializers", "dce"],
    ),
    (
        "default",
        &[
            "identity-elim",
            "const-fold",
            "dedup-initializers",
            "dce",
            "fold-qdq",
            "strip-postprocess",
            "legalise",
            "dce",
        ],
    ),
];

/// The passes of a named pipeline.
pub fn pipeline(name: &str) -> Option<Vec<Box<dyn Pass>>> {
    let (_, names) = PIPELINES.iter().find(|(n, _)| *n == name)?;
    names.iter().map(|n| find(n)).collect()
}

/// What the command line adds to a list of passes: the opt-in passes and the options of the
/// configurable ones. The CLI and the what-if report build their runs with [`configure`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Leave the post-processing in the main model (drop strip-postprocess).
    pub keep_postprocess: bool,
    /// The outputs strip-postprocess leaves.
    pub head_layout: strip_postprocess::HeadLayout,
    /// Canonical QDQ node units instead of integer ops (qdq-canonicalize for fold-qdq).
    pub qdq_form: bool,
    /// Run replace-activation with this activation.
    pub activation: Option<replace_activation::Activation>,
    /// Run c2f.
    pub c2f: bool,
}

/// `chosen` (a pipeline's passes or the user's list) as `options` configure it. Opt-in passes
/// already in the list are configured in place, else inserted where they want the graph.
pub fn configure(chosen: Vec<Box<dyn Pass>>, options: &Options) -> Vec<Box<dyn Pass>> {
    let mut chosen: Vec<Box<dyn Pass>> = chosen
        .into_iter()
        .filter(|p| !(options.keep_postprocess && p.name() == "strip-postprocess"))
        .map(|p| -> Box<dyn Pass> {
            match p.name() {
                "fold-qdq" if options.qdq_form => Box::new(fold_qdq::QdqCanonicalize),
                "strip-postprocess" => Box::new(strip_postprocess::StripPostprocess {
                    layout: options.head_layout,
                }),
                _ => p,
            }
        })
        .collect();
    if options.c2f {
        insert_opt_in(&mut chosen, Box::new(c2f::C2f));
    }
    if let Some(activation) = options.activation {
        insert_opt_in(
            &mut chosen,
            Box::new(replace_activation::ReplaceActivation { activation }),
        );
    }
    chosen
}

/// Puts an opt-in pass into a list: in place of an entry of the same name, else before fold-qdq,
/// qdq-canonicalize or strip-postprocess (these passes want the graph as exported: float ops or
/// QDQ units), else at the end.
pub fn insert_opt_in(chosen: &mut Vec<Box<dyn Pass>>, pass: Box<dyn Pass>) {
    if let Some(at) = chosen.iter().position(|p| p.name() == pass.name()) {
        chosen[at] = pass;
        return;
    }
    let at = chosen
        .iter()
        .position(|p| {
            matches!(
                p.name(),
                "fold-qdq" | "qdq-canonicalize" | "strip-postprocess"
            )
        })
        .unwrap_or(chosen.len());
    chosen.insert(at, pass);
}
