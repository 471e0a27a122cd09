//! `cargo bench --bench roundtrip`: how fast npuopt reads and writes models, and how much memory
//! it needs, on every fixture and on one generated model with over 200 MB of weights.
//!
//! Per model: file size; `load` (read the file, decode it into the IR); `encode` (IR → protobuf
//! bytes in memory); `save` (encode and write the file atomically, fsync included); MB/s of each
//! against the file size; peak RSS. Each model is measured in a fresh child process (this binary
//! run again with `--measure PATH`), so the peak RSS it reports (VmHWM) belongs to that model
//! alone. Times are the best of several runs. Every saved file is compared with its input: a
//! benchmark of a round trip that is not faithful would measure the wrong thing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use bytes::Bytes;
use npuopt::ir::{
    DType, Graph, GraphInput, Initializer, Model, NodeKind, OpNode, TensorType, Value, ValueId,
};
use npuopt::onnx::{self, ExternalPolicy};
use npuopt::proto;

/// The generated model: LAYERS × (MatMul WIDTH×WIDTH f32 + Add bias + Relu): 52 × 4 MiB = 218 MB.
const WIDTH: i64 = 1024;
const LAYERS: usize = 52;

/// Each step is repeated until this much time has passed (at least twice, at most MAX_RUNS).
const BUDGET: Duration = Duration::from_secs(2);
const MAX_RUNS: usize = 50;

const MB: f64 = 1e6;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        return match args.get(i + 1).map(|p| measure(Path::new(p))) {
            Some(Ok(line)) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Some(Err(e)) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
            None => {
                eprintln!("--measure needs a model path");
                ExitCode::FAILURE
            }
        };
    }
    match run_all() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_all() -> Result<(), String> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut models: Vec<PathBuf> = fs::read_dir(&fixtures)
        .map_err(|e| format!("{}: {e}", fixtures.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    models.sort();

    let tmp = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
    let large = tmp.path().join("large-matmul-chain.onnx");
    let started = Instant::now();
    write_large_model(&large)?;
    println!(
        "generated {} ({LAYERS} × MatMul {WIDTH}×{WIDTH} f32) in {:.1} s",
        large.display(),
        started.elapsed().as_secs_f64()
    );
    models.push(large);

    println!(
        "{:<34} {:>9} {:>17} {:>17} {:>17} {:>9}",
        "model", "size MB", "load ms (MB/s)", "encode ms (MB/s)", "save ms (MB/s)", "peak MB"
    );
    let exe = std::env::current_exe().map_err(|e| format!("this binary's path: {e}"))?;
    for m in &models {
        let out = Command::new(&exe)
            .arg("--measure")
            .arg(m)
            .output()
            .map_err(|e| format!("cannot start the measuring process: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{}: {}",
                m.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    Ok(())
}

/// Times load, encode and save of one model; returns its table row.
fn measure(path: &Path) -> Result<String, String> {
    let size = fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len() as f64;
    let dir = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
    let out = dir.path().join("out.onnx");

    let load = best_of(|| onnx::load(path).map(drop).map_err(|e| e.to_string()))?;
    let model = onnx::load(path).map_err(|e| e.to_string())?;
    let encode = best_of(|| onnx::encode_bytes(&model).map(drop))?;
    let save =
        best_of(|| onnx::save(&model, &out, ExternalPolicy::Keep).map_err(|e| e.to_string()))?;
    // Read before the check below, which holds both files in memory at once.
    let peak_mb = peak_rss_kb()? as f64 * 1024.0 / MB;
    if fs::read(&out).map_err(|e| e.to_string())? != fs::read(path).map_err(|e| e.to_string())? {
        return Err(format!(
            "{}: the saved model differs from the input",
            path.display()
        ));
    }
    let cell = |t: Duration| {
        format!(
            "{:>8.2} ({:>6.0})",
            t.as_secs_f64() * 1e3,
            size / MB / t.as_secs_f64()
        )
    };
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(format!(
        "{name:<34} {:>9.2} {:>17} {:>17} {:>17} {:>9.1}",
        size / MB,
        cell(load),
        cell(encode),
        cell(save),
        peak_mb
    ))
}

/// The fastest of repeated runs of `step` (the least disturbed by the rest of the machine).
fn best_of(mut step: impl FnMut() -> Result<(), String>) -> Result<Duration, String> {
    let started = Instant::now();
    let mut best = Duration::MAX;
    let mut runs = 0;
    while runs < 2 || (runs < MAX_RUNS && started.elapsed() < BUDGET) {
        let t = Instant::now();
        step()?;
        best = best.min(t.elapsed());
        runs += 1;
    }
    Ok(best)
}

/// This process's peak resident set size in kB (VmHWM in /proc/self/status).
fn peak_rss_kb() -> Result<u64, String> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status: {e} (peak RSS needs Linux)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM line in /proc/self/status".into())
}

/// Writes a chain x → (MatMul W_i → Add b_i → Relu) × LAYERS → y with random f32 weights, built
/// as an IR graph and saved with the crate's own writer. The result passes `onnx.checker` and runs
/// in ONNX Runtime.
fn write_large_model(path: &Path) -> Result<(), String> {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut g = Graph::new();
    g.shell.name = Some("large-matmul-chain".into());
    let act = TensorType::new(DType::F32, npuopt::ir::types::static_shape(&[1, WIDTH]));
    let x = g.add_node(
        NodeKind::Input(Box::new(GraphInput {
            info: value_info("x", &act),
            default: None,
        })),
        vec![Value::typed("x", act.clone())],
    );
    let mut cur = ValueId { node: x, slot: 0 };
    for i in 0..LAYERS {
        let w = constant(&mut g, &format!("w{i}"), &[WIDTH, WIDTH], &mut rng);
        let b = constant(&mut g, &format!("b{i}"), &[WIDTH], &mut rng);
        let mm = op(&mut g, "MatMul", &format!("matmul{i}"), &[cur, w]);
        let add = op(&mut g, "Add", &format!("add{i}"), &[mm, b]);
        cur = op(&mut g, "Relu", &format!("relu{i}"), &[add]);
    }
    let last = g.value(cur).name.clone();
    g.add_output(cur, value_info(&last, &act));
    let model = Model {
        graph: g,
        shell: proto::ModelProto {
            ir_version: Some(10),
            opset_import: vec![proto::OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(17),
            }],
            producer_name: Some("npuopt-bench".into()),
            ..Default::default()
        },
    };
    onnx::save(&model, path, ExternalPolicy::Inline).map_err(|e| e.to_string())
}

fn value_info(name: &str, ty: &TensorType) -> proto::ValueInfoProto {
    proto::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(ty.to_proto()),
        ..Default::default()
    }
}

/// A random f32 initializer in [-0.05, 0.05).
fn constant(g: &mut Graph, name: &str, dims: &[i64], rng: &mut XorShift) -> ValueId {
    let count: i64 = dims.iter().product();
    let bytes: Vec<u8> = (0..count)
        .flat_map(|_| ((rng.unit() - 0.5) * 0.1).to_le_bytes())
        .collect();
    let data = g.pool.intern(Bytes::from(bytes));
    let init = Initializer::raw(name, DType::F32, dims, data);
    let ty = init.ty();
    let node = g.add_node(NodeKind::Initializer(init), vec![Value::typed(name, ty)]);
    ValueId { node, slot: 0 }
}

fn op(g: &mut Graph, op_type: &str, name: &str, inputs: &[ValueId]) -> ValueId {
    let shell = proto::NodeProto {
        op_type: Some(op_type.into()),
        name: Some(name.into()),
        ..Default::default()
    };
    let inputs: Vec<Option<ValueId>> = inputs.iter().copied().map(Some).collect();
    let node = g.add_op(
        OpNode::new(shell, inputs.len() as u32),
        &inputs,
        vec![Value::new(format!("{name}_out"))],
    );
    ValueId { node, slot: 0 }
}

/// xorshift64*: fast, seeded, good enough for weights nobody reads.
struct XorShift(u64);

impl XorShift {
    /// A float in [0, 1).
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    }
}
