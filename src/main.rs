//! The `npuopt` command: parses arguments, calls the library, renders diagnostics, sets the exit code.
//!
//! Exit codes: 0 success; 1 bad input or failed processing; 2 usage error; 3 a requested gate failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use npuopt::compare::{self, Tolerance};
use npuopt::eval::{self, Tensor};
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
    /// Run a model with the reference evaluator and save its outputs as NumPy `.npy` files.
    Run {
        model: PathBuf,
        /// An input from a file: `NAME=FILE.npy` (inputs not given are random from --seed).
        #[arg(long = "input", value_name = "NAME=FILE.npy")]
        inputs: Vec<String>,
        /// Seed of the random inputs (floats in [0, 1], integers over their range).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Folder for `<output name>.npy` files.
        #[arg(long, value_name = "DIR")]
        save_outputs: PathBuf,
    },
    /// Run two models on the same inputs and compare their outputs by name (exit 3 on a difference).
    Verify {
        a: PathBuf,
        b: PathBuf,
        /// An input from a file: `NAME=FILE.npy` (inputs not given are random from --seed).
        #[arg(long = "input", value_name = "NAME=FILE.npy")]
        inputs: Vec<String>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Number of runs, with seeds seed, seed+1, …
        #[arg(long, default_value_t = 1)]
        runs: u64,
        /// Absolute tolerance for float outputs.
        #[arg(long, default_value_t = 1e-5)]
        atol: f64,
        /// Relative tolerance for float outputs.
        #[arg(long, default_value_t = 1e-5)]
        rtol: f64,
        /// Allowed difference of integer (quantized) outputs, in LSBs.
        #[arg(long, default_value_t = 1)]
        lsb: i64,
    },
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
        Some(Command::Run {
            model,
            inputs,
            seed,
            save_outputs,
        }) => run(&model, &inputs, seed, &save_outputs),
        Some(Command::Verify {
            a,
            b,
            inputs,
            seed,
            runs,
            atol,
            rtol,
            lsb,
        }) => verify(&a, &b, &inputs, seed, runs, &Tolerance { atol, rtol, lsb }),
        None => optimize(cli.optimize),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                Error::Usage(_) => 2,
                Error::Gate(_) => 3,
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

/// Inputs for a model: the files given as `NAME=FILE.npy`, random ones for the rest.
fn model_inputs(
    model: &Model,
    path: &Path,
    given: &[String],
    seed: u64,
) -> Result<Vec<(String, Tensor)>, Error> {
    let bad = |reason: String| Error::BadInput {
        path: path.to_path_buf(),
        reason,
    };
    let mut inputs = compare::random_inputs(&model.graph, seed).map_err(bad)?;
    for spec in given {
        let Some((name, file)) = spec.split_once('=') else {
            return Err(Error::Usage(format!(
                "--input {spec}: expected NAME=FILE.npy"
            )));
        };
        let bytes = std::fs::read(file).map_err(|e| Error::BadInput {
            path: file.into(),
            reason: format!("cannot read: {e}"),
        })?;
        let tensor = eval::npy::read(&bytes).map_err(|e| Error::BadInput {
            path: file.into(),
            reason: e.reason,
        })?;
        match inputs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = tensor,
            None => inputs.push((name.to_string(), tensor)),
        }
    }
    Ok(inputs)
}

fn run(path: &Path, given: &[String], seed: u64, dir: &Path) -> Result<(), Error> {
    let (model, _) = npuopt::load(path)?;
    let inputs = model_inputs(&model, path, given, seed)?;
    let outputs = eval::run_with(&model.graph, &inputs, &eval::Options::for_model(&model))
        .map_err(|e| Error::BadInput {
            path: path.to_path_buf(),
            reason: format!("evaluation failed: {e}"),
        })?;
    std::fs::create_dir_all(dir).map_err(|e| Error::Output {
        path: dir.to_path_buf(),
        reason: format!("cannot create: {e}"),
    })?;
    for (name, tensor) in &outputs {
        let file = dir.join(format!("{}.npy", name.replace(['/', '\\'], "_")));
        let bytes = eval::npy::write(tensor).map_err(|e| Error::Output {
            path: file.clone(),
            reason: e.reason,
        })?;
        onnx::write_atomically(&file, &bytes)?;
        println!(
            "{} {:?} {:?} -> {}",
            name,
            tensor.dtype(),
            tensor.shape(),
            file.display()
        );
    }
    Ok(())
}

fn verify(
    a: &Path,
    b: &Path,
    given: &[String],
    seed: u64,
    runs: u64,
    tol: &Tolerance,
) -> Result<(), Error> {
    let (ma, _) = npuopt::load(a)?;
    let (mb, _) = npuopt::load(b)?;
    let mut all_within = true;
    for run in 0..runs.max(1) {
        let inputs = model_inputs(&ma, a, given, seed + run)?;
        let c = compare::compare(&ma, &mb, &inputs, tol).map_err(|reason| Error::BadInput {
            path: a.to_path_buf(),
            reason: format!("evaluation failed: {reason}"),
        })?;
        println!("run {} (seed {}):", run + 1, seed + run);
        for o in &c.outputs {
            match &o.difference {
                Some(d) => match d.lsb {
                    Some(lsb) => println!(
                        "  {:<40} max {lsb} LSB {}",
                        o.name,
                        if o.within { "ok" } else { "DIFFERS" }
                    ),
                    None => println!(
                        "  {:<40} max abs {:.3e}  max rel {:.3e} {}",
                        o.name,
                        d.max_abs,
                        d.max_rel,
                        if o.within { "ok" } else { "DIFFERS" }
                    ),
                },
                None => println!(
                    "  {:<40} missing or of another shape in {}  DIFFERS",
                    o.name,
                    b.display()
                ),
            }
        }
        if !c.within() {
            all_within = false;
            if let Some((name, d)) = &c.first_divergence {
                println!(
                    "  first diverging tensor both models compute: {name} (max abs {:.3e})",
                    d.max_abs
                );
            }
        }
    }
    if all_within {
        Ok(())
    } else {
        Err(Error::Gate(format!(
            "{} and {} compute different outputs",
            a.display(),
            b.display()
        )))
    }
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
