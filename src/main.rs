//! The `npuopt` command: parses arguments, calls the library, renders diagnostics, sets the exit code.
//!
//! Exit codes: 0 success; 1 bad input or failed processing; 2 usage error; 3 a requested gate failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use clap::{Parser, Subcommand, ValueEnum};

use npuopt::compare::{self, Tolerance};
use npuopt::deviation::{self, Deviation};
use npuopt::eval::{self, Tensor};
use npuopt::ir::Model;
use npuopt::onnx::ExternalPolicy;
use npuopt::partition::{self, plan::Demotion, plan::Plan};
use npuopt::pass::{self, PassCx, PassManager};
use npuopt::passes::strip_postprocess::HeadLayout;
use npuopt::target::ethos_n::{EthosN, Release};
use npuopt::{onnx, passes, print, report, whatif, Error};

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
    /// Report where every node would run (writes nothing): the same passes as the main command,
    /// then the partition for the target.
    Inspect {
        model: PathBuf,
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Instead of one partition, the table of what each opt-in pass and each driver release
        /// (from --target's, else from the oldest) would reach on the NPU.
        #[arg(long)]
        what_if: bool,
    },
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
    #[command(flatten)]
    pipeline: PipelineArgs,
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
    /// How the partition is written: `annotated` (placement in node and model metadata),
    /// `functions` (each NPU region a model-local function called from the main graph), `split`
    /// (OUTPUT stays the annotated model; beside it one model per part, `<stem>.npu<k>.onnx` and
    /// `<stem>.cpu<j>.onnx`, and `<stem>.manifest.json`).
    #[arg(long, value_enum, default_value_t = Emit::Annotated)]
    emit: Emit,
    /// Write the placement report here; the format follows the extension (.json, .md, .txt).
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Fail (exit 3) unless at least this fraction of the MACs runs on the NPU (0 to 1).
    #[arg(long, value_name = "FRACTION")]
    min_npu_macs: Option<f64>,
    /// Fail (exit 3) when the NPU work is split into more regions than this.
    #[arg(long, value_name = "N")]
    max_npu_regions: Option<usize>,
    /// Check the IR's invariants after every pass (always on in debug builds).
    #[arg(long)]
    verify_each: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

/// Which passes run, and for which target: shared by the main command and `inspect`.
#[derive(clap::Args)]
struct PipelineArgs {
    /// The pipeline to run.
    #[arg(long, default_value = "default", value_parser = pipeline_names())]
    pipeline: String,
    /// Run exactly these passes, in this order, instead of a pipeline.
    #[arg(long, value_delimiter = ',', conflicts_with = "pipeline")]
    passes: Vec<String>,
    /// Keep the post-processing in the main model (do not run strip-postprocess).
    #[arg(long)]
    keep_postprocess: bool,
    /// The tensors a detection head's cut leaves as outputs: `per-scale` (box and class tensors
    /// per stride), `rknn` (per stride: box-DFL logits, sigmoid class scores, clamped score sum),
    /// `raw` (the head convolutions' outputs).
    #[arg(long, default_value = "per-scale", value_parser = head_layouts())]
    head_layout: String,
    /// Rewrite C3k2/C2PSA blocks to C2f (changes the function: retrain), before fold-qdq.
    #[arg(long)]
    c2f: bool,
    /// The form quantized units take: integer ops (`qoperator`, what the Ethos-N flow wants), or
    /// canonical QDQ node units (`qdq`, what TensorRT, QNN, OpenVINO and RKNN importers want).
    #[arg(long, value_enum, default_value_t = QuantFormat::Qoperator)]
    quant_format: QuantFormat,
    /// The NPU to partition for: `ethos-n78[@RELEASE]` (releases 22.11 … 25.03; default 25.03).
    /// The default pipeline partitions for ethos-n78@25.03 unless told otherwise.
    #[arg(long, value_name = "TARGET")]
    target: Option<String>,
    /// Hardware variant: `N78_4TOPS_4PLE_RATIO` or `tops=4,ple=4[,sram=SIZE]` (default 4 TOPS, PLE ratio 4).
    #[arg(long, value_name = "VARIANT")]
    variant: Option<String>,
    /// Which NPU regions go back to the CPU: `cost` (those whose call, boundary transfers and NPU
    /// time the cost model puts above their CPU time), `no-compute` (those without
    /// multiply-accumulates: TVM's rule), `none` (every node the rules accept stays on the NPU).
    #[arg(long, default_value = "cost", value_parser = demotions())]
    demote: String,
    /// Replace LeakyReLU, SiLU, HardSwish, GELU and Mish by `relu`, `relu6` or
    /// `leaky-relu:ALPHA` (runs replace-activation before fold-qdq). Changes the model's function:
    /// fine-tune or retrain it.
    #[arg(long, value_name = "ACTIVATION")]
    activation: Option<passes::replace_activation::Activation>,
    /// Do not measure how far function-changing passes move the outputs.
    #[arg(long)]
    no_measure: bool,
}

impl PipelineArgs {
    fn passes(&self) -> Result<Vec<Box<dyn npuopt::pass::Pass>>, Error> {
        Ok(passes::configure(self.named_passes()?, &self.options()?))
    }

    /// The pipeline's or the `--passes` list's passes, before the options configure them.
    fn named_passes(&self) -> Result<Vec<Box<dyn npuopt::pass::Pass>>, Error> {
        Ok(if self.passes.is_empty() {
            passes::pipeline(&self.pipeline)
                .ok_or_else(|| Error::Usage(format!("unknown pipeline '{}'", self.pipeline)))?
        } else {
            self.passes
                .iter()
                .map(|n| {
                    passes::find(n).ok_or_else(|| {
                        Error::Usage(format!("unknown pass '{n}' (see `npuopt passes`)"))
                    })
                })
                .collect::<Result<_, _>>()?
        })
    }

    /// The opt-in passes and pass options the flags ask for.
    fn options(&self) -> Result<passes::Options, Error> {
        Ok(passes::Options {
            keep_postprocess: self.keep_postprocess,
            head_layout: self.head_layout.parse().map_err(Error::Usage)?,
            qdq_form: matches!(self.quant_format, QuantFormat::Qdq),
            activation: self.activation,
            c2f: self.c2f,
        })
    }

    /// The seed non-exact passes are measured on (`verify`'s default), `None` with `--no-measure`.
    fn measure_seed(&self) -> Option<u64> {
        (!self.no_measure).then_some(0)
    }

    /// The target to partition for: the one named, else ethos-n78@25.03 when `default` says so.
    fn target(&self, by_default: bool) -> Result<Option<EthosN>, Error> {
        let name = match &self.target {
            Some(t) => t.clone(),
            None if by_default || (self.passes.is_empty() && self.pipeline == "default") => {
                "ethos-n78".into()
            }
            None => return Ok(None),
        };
        EthosN::from_spec(&name, self.variant.as_deref())
            .map(Some)
            .map_err(Error::Usage)
    }

    /// Adds to `plan`'s CPU nodes the opt-in passes that would move them (see
    /// `whatif::add_opt_in_remedies`).
    fn add_opt_in_remedies(
        &self,
        path: &Path,
        target: &EthosN,
        plan: &mut Plan,
    ) -> Result<(), Error> {
        let build = |o: &passes::Options| Ok(passes::configure(self.named_passes()?, o));
        let demotion = self.demotion()?;
        whatif::add_opt_in_remedies(path, &self.options()?, &build, target, demotion, plan)
    }

    /// The partition of `g` for `target`, with the regions `--demote` names moved to the CPU.
    fn plan(&self, g: &npuopt::ir::Graph, target: &EthosN) -> Result<Plan, Error> {
        partition::plan::plan(g, target, self.demotion()?).map_err(|reason| Error::Pass {
            pass: "partition".into(),
            reason,
        })
    }

    fn demotion(&self) -> Result<Demotion, Error> {
        self.demote.parse().map_err(Error::Usage)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum QuantFormat {
    Qoperator,
    Qdq,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Emit {
    Annotated,
    Functions,
    Split,
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

fn head_layouts() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(HeadLayout::ALL.map(HeadLayout::name))
}

fn demotions() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(Demotion::NAMES)
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
        Some(Command::Inspect {
            model,
            pipeline,
            json,
            what_if: false,
        }) => inspect(&model, &pipeline, json),
        Some(Command::Inspect {
            model,
            pipeline,
            json,
            what_if: true,
        }) => inspect_what_if(&model, &pipeline, json),
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

/// A model as the evaluator runs it: loaded, with its model-local function calls (such as
/// `--emit functions` writes) inlined.
fn load_runnable(path: &Path) -> Result<Model, Error> {
    let (mut model, _) = npuopt::load(path)?;
    eval::inline::inline_functions(&mut model).map_err(|reason| Error::BadInput {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(model)
}

fn run(path: &Path, given: &[String], seed: u64, dir: &Path) -> Result<(), Error> {
    let model = load_runnable(path)?;
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
    let ma = load_runnable(a)?;
    let mb = load_runnable(b)?;
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
    let chosen = args.pipeline.passes()?;
    let target = args.pipeline.target(false)?;
    if target.is_none() && args.emit != Emit::Annotated {
        return Err(Error::Usage(
            "--emit functions and split need a partition: name a --target".into(),
        ));
    }
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
    if let Some(t) = &target {
        cx = cx
            .with_target(Rc::new(t.clone()))
            .with_demotion(args.pipeline.demotion()?);
    }
    let records = PassManager::new(chosen)
        .measure(args.pipeline.measure_seed())
        .verify_each(args.verify_each)
        .run(&mut model, &mut cx, |pass, g| {
            if args.dump_after.iter().any(|d| d == pass) {
                println!("# after {pass}\n{}", print::print_graph(g));
            }
        })?;
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
            own_data_policy(
                &policy,
                &path
                    .file_name()
                    .map_or_else(|| side.suffix.into(), |n| n.to_string_lossy()),
            ),
        )?;
        if !args.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    let plan = match &target {
        Some(t) => {
            let mut plan = args.pipeline.plan(&model.graph, t)?;
            if args.report.is_some() {
                args.pipeline.add_opt_in_remedies(&input, t, &mut plan)?;
            }
            partition::emit::annotate(&mut model, &plan);
            emit_partition(&mut model, &plan, args.emit, &output, &policy, args.quiet)?;
            Some(plan)
        }
        None => None,
    };
    onnx::save(&model, &output, policy)?;
    if let Some(path) = &args.report {
        let plan = plan
            .as_ref()
            .ok_or_else(|| Error::Usage("--report needs a partition: name a --target".into()))?;
        write_report(plan, cx.diagnostics(), &deviations(&records), path)?;
    }

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
        for d in deviations(&records) {
            print_deviation(d);
        }
        eprintln!("wrote {}", output.display());
        if let Some(plan) = &plan {
            eprintln!("{}", report::summary_line(plan));
        }
    }
    match &plan {
        Some(plan) => gates(plan, args.min_npu_macs, args.max_npu_regions),
        None if args.min_npu_macs.is_some() || args.max_npu_regions.is_some() => Err(Error::Usage(
            "the NPU gates need a partition: name a --target".into(),
        )),
        None => Ok(()),
    }
}

/// The measured deviations of the run's non-exact passes.
fn deviations(records: &[pass::PassRecord]) -> Vec<&Deviation> {
    records
        .iter()
        .filter_map(|r| r.deviation.as_ref())
        .collect()
}

/// A non-exact pass's deviation, per output, with the warning that the model must be retrained.
fn print_deviation(d: &Deviation) {
    eprintln!(
        "warning[{}]: the model's function changed; fine-tune or retrain it. Output deviation on \
         random inputs (seed {}; `npuopt verify IN OUT --seed {}` computes the same):",
        d.pass, d.seed, d.seed
    );
    if let Some(reason) = &d.failure {
        eprintln!("  not measured: {reason}");
    }
    for o in &d.outputs {
        eprintln!("  {:<40} {}", o.name, deviation::describe(o));
    }
}

/// `--emit functions` wraps the regions in place; `--emit split` writes the parts and the manifest
/// beside `output` (which still receives the whole annotated model).
fn emit_partition(
    model: &mut Model,
    plan: &Plan,
    mode: Emit,
    output: &Path,
    policy: &ExternalPolicy,
    quiet: bool,
) -> Result<(), Error> {
    let failed = |reason| Error::Pass {
        pass: "emit".into(),
        reason,
    };
    match mode {
        Emit::Annotated => {}
        Emit::Functions => {
            partition::functions::wrap_regions(model, plan).map_err(failed)?;
        }
        Emit::Split => {
            let stem = output
                .file_stem()
                .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
            let split = partition::split::split(model, plan, &stem).map_err(failed)?;
            let mut written: Vec<PathBuf> = split
                .parts
                .iter()
                .map(|p| output.with_file_name(&p.file))
                .collect();
            for (part, path) in split.parts.iter().zip(&written) {
                onnx::save(&part.model, path, own_data_policy(policy, &part.file))?;
            }
            let manifest = output.with_file_name(format!("{stem}.manifest.json"));
            onnx::write_atomically(&manifest, split.manifest.to_json().as_bytes())?;
            written.push(manifest);
            if !quiet {
                for path in written {
                    eprintln!("wrote {}", path.display());
                }
            }
        }
    }
    Ok(())
}

/// A model written beside the main one (a split part, the post-processing model) gets data files
/// of its own: under the main model's file names, one save would overwrite the other's weights.
fn own_data_policy(policy: &ExternalPolicy, file: &str) -> ExternalPolicy {
    match policy {
        ExternalPolicy::Externalize { threshold, .. } => ExternalPolicy::Externalize {
            threshold: *threshold,
            file: format!("{file}.data"),
        },
        ExternalPolicy::Keep | ExternalPolicy::Inline => ExternalPolicy::Inline,
    }
}

/// The Makefile gates: exit 3 with a one-line reason when missed.
fn gates(plan: &Plan, min_macs: Option<f64>, max_regions: Option<usize>) -> Result<(), Error> {
    let s = &plan.summary;
    if let Some(min) = min_macs {
        if s.npu_mac_fraction < min {
            return Err(Error::Gate(format!(
                "{:.1}% of the MACs run on the NPU, --min-npu-macs wants {:.1}%",
                s.npu_mac_fraction * 100.0,
                min * 100.0
            )));
        }
    }
    if let Some(max) = max_regions {
        if s.npu_regions > max {
            return Err(Error::Gate(format!(
                "{} NPU regions, --max-npu-regions allows {max}",
                s.npu_regions
            )));
        }
    }
    Ok(())
}

/// Writes the report in the format its extension names.
fn write_report(
    plan: &Plan,
    diagnostics: &[npuopt::diag::Diagnostic],
    deviations: &[&Deviation],
    path: &Path,
) -> Result<(), Error> {
    let text = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => report::json(plan, diagnostics, deviations),
        Some("md") => report::markdown(plan),
        Some("txt") => report::text(plan, diagnostics),
        _ => {
            return Err(Error::Usage(format!(
                "--report {}: the extension must be .json, .md or .txt",
                path.display()
            )))
        }
    };
    onnx::write_atomically(path, text.as_bytes())
}

fn inspect(path: &Path, args: &PipelineArgs, json: bool) -> Result<(), Error> {
    let chosen = args.passes()?;
    let target = args
        .target(true)?
        .ok_or_else(|| Error::Usage("inspect needs a target".into()))?;
    let (mut model, _) = npuopt::load(path)?;
    let mut cx = PassCx::for_model(&model)
        .with_target(Rc::new(target.clone()))
        .with_demotion(args.demotion()?);
    let records = PassManager::new(chosen).measure(args.measure_seed()).run(
        &mut model,
        &mut cx,
        |_, _| {},
    )?;
    let mut plan = args.plan(&model.graph, &target)?;
    args.add_opt_in_remedies(path, &target, &mut plan)?;
    print!(
        "{}",
        if json {
            report::json(&plan, cx.diagnostics(), &deviations(&records))
        } else {
            report::text(&plan, cx.diagnostics())
        }
    );
    Ok(())
}

/// `inspect --what-if`: every opt-in scenario × every release from the named one on.
fn inspect_what_if(path: &Path, args: &PipelineArgs, json: bool) -> Result<(), Error> {
    let base = args.options()?;
    let first = match &args.target {
        Some(t) => EthosN::from_spec(t, args.variant.as_deref()).map_err(Error::Usage)?,
        None => EthosN::from_spec(
            &format!("ethos-n78@{}", Release::ALL[0].name()),
            args.variant.as_deref(),
        )
        .map_err(Error::Usage)?,
    };
    let releases: Vec<Release> = Release::ALL
        .into_iter()
        .filter(|&r| r >= first.profile.release())
        .collect();
    let build = |o: &passes::Options| Ok(passes::configure(args.named_passes()?, o));
    let rows = whatif::what_if(
        path,
        &whatif::scenarios(&base),
        &build,
        &releases,
        first.profile.variant(),
        args.demotion()?,
    )?;
    print!(
        "{}",
        if json {
            whatif::json(&rows)
        } else {
            whatif::text(&rows)
        }
    );
    Ok(())
}
