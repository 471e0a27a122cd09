//! The `npuopt` command: parses arguments, calls the library, renders diagnostics, sets the exit code.
//!
//! Exit codes: 0 success; 1 bad input or failed processing; 2 usage error; 3 a requested gate failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use npuopt::ir::Model;
use npuopt::onnx::ExternalPolicy;
use npuopt::pass::{self, PassCx, PassManager};
use npuopt::{onnx, passes, print, Error};

#[derive(Parser)]
#[command(
    name = "npuopt",
    version,
    about = "Make ONNX models run on edge NPUs: rewrite passes, exact by default",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    optimize: OptimizeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// List every pass with its one-line description and whether it is exact.
    Passes,
}

#[derive(clap::Args)]
struct OptimizeArgs {
    /// The model to read.
    #[arg(required = true)]
    input: Option<PathBuf>,
    /// Where to write the result (may be the input: the write is atomic).
    #[arg(short, long, required = true)]
    output: Option<PathBuf>,
    /// The pipeline to run.
    #[arg(long, default_value = "default", value_parser = pipeline_names())]
    pipeline: String,
    /// Run exactly these passes, in this order, instead of a pipeline.
    #[arg(long, value_delimiter = ',', conflicts_with = "pipeline")]
    passes: Vec<String>,
    /// Print the text IR after this pass (to stdout).
    #[arg(long, value_name = "PASS")]
    dump_after: Vec<String>,
    /// Where tensor data goes in the output.
    #[arg(long, value_enum, default_value_t = ExternalData::Keep)]
    external_data: ExternalData,
    /// With `--external-data externalize`: tensors of at least this many bytes go outside.
    #[arg(long, default_value_t = 1024, value_name = "BYTES")]
    external_threshold: usize,
    /// With `--external-data externalize`: the data file's name (default: OUTPUT's name + `.data`).
    #[arg(long, value_name = "NAME")]
    external_file: Option<String>,
    /// Where the post-processing model goes (default: OUTPUT with `.post.onnx`).
    #[arg(long, value_name = "PATH")]
    post_out: Option<PathBuf>,
    /// Keep the post-processing in the main model (do not run strip-postprocess).
    #[arg(long)]
    keep_postprocess: bool,
    /// Check the IR's invariants after every pass (always on in debug builds).
    #[arg(long)]
    verify_each: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExternalData {
    /// External tensors stay external, beside the output, under the same file names.
    Keep,
    /// Store every tensor inside the model file.
    Inline,
    /// Store tensors of at least --external-threshold bytes in one file beside the output.
    Externalize,
}

fn pipeline_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(passes::PIPELINES.iter().map(|(n, _)| *n))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Passes) => {
            list_passes();
            Ok(())
        }
        None => optimize(cli.optimize),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                Error::Usage(_) => 2,
                _ => 1,
            })
        }
    }
}

/// `out.onnx` → `out.<suffix>.onnx`.
fn side_path(output: &Path, suffix: &str) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let ext = output
        .extension()
        .map_or_else(|| "onnx".into(), |e| e.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}.{suffix}.{ext}"))
}

fn list_passes() {
    for p in passes::registry() {
        let kind = if p.exact() {
            "exact"
        } else {
            "changes function, opt-in"
        };
        println!("{:<20} {:<26} {}", p.name(), kind, p.summary());
    }
}

fn optimize(args: OptimizeArgs) -> Result<(), Error> {
    let (Some(input), Some(output)) = (args.input, args.output) else {
        return Err(Error::Usage(
            "an input model and -o OUTPUT are required".into(),
        ));
    };
    let chosen = if args.passes.is_empty() {
        passes::pipeline(&args.pipeline)
            .ok_or_else(|| Error::Usage(format!("unknown pipeline '{}'", args.pipeline)))?
    } else {
        args.passes
            .iter()
            .map(|n| {
                passes::find(n).ok_or_else(|| {
                    Error::Usage(format!("unknown pass '{n}' (see `npuopt passes`)"))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let chosen: Vec<_> = chosen
        .into_iter()
        .filter(|p| !(args.keep_postprocess && p.name() == "strip-postprocess"))
        .collect();
    let known: Vec<&str> = chosen.iter().map(|p| p.name()).collect();
    if let Some(d) = args
        .dump_after
        .iter()
        .find(|d| !known.contains(&d.as_str()))
    {
        return Err(Error::Usage(format!(
            "--dump-after {d}: that pass is not in this run ({})",
            known.join(", ")
        )));
    }
    let policy = match args.external_data {
        ExternalData::Keep => ExternalPolicy::Keep,
        ExternalData::Inline => ExternalPolicy::Inline,
        ExternalData::Externalize => ExternalPolicy::Externalize {
            threshold: args.external_threshold,
            file: args.external_file.unwrap_or_else(|| {
                let name = output
                    .file_name()
                    .map_or("model.onnx".into(), |n| n.to_string_lossy().into_owned());
                format!("{name}.data")
            }),
        },
    };

    onnx::check_output_folder(&output)?;
    let (mut model, issues) = npuopt::load(&input)?;
    if !args.quiet {
        for issue in &issues {
            eprintln!("note[infer] {issue}");
        }
    }
    let mut cx = PassCx::for_model(&model);
    let records = PassManager::new(chosen).verify_each(args.verify_each).run(
        &mut model,
        &mut cx,
        |pass, g| {
            if args.dump_after.iter().any(|d| d == pass) {
                println!("# after {pass}\n{}", print::print_graph(g));
            }
        },
    )?;
    for side in cx.take_side_models() {
        let path = match (&args.post_out, side.suffix) {
            (Some(p), "post") => p.clone(),
            _ => side_path(&output, side.suffix),
        };
        let mut shell = model.shell.clone();
        pass::apply_metadata(&mut shell, side.metadata);
        onnx::save(
            &Model {
                graph: side.graph,
                shell,
            },
            &path,
            policy.clone(),
        )?;
        if !args.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    onnx::save(&model, &output, policy)?;

    if !args.quiet {
        for d in cx.diagnostics() {
            eprintln!("{d}");
        }
        for r in &records {
            eprintln!(
                "{:<20} {:>6} -> {:<6} nodes{}",
                r.pass,
                r.nodes_before,
                r.nodes_after,
                if r.changed { "" } else { "  (no change)" }
            );
        }
        eprintln!("wrote {}", output.display());
    }
    Ok(())
}
