"""Round-trip every model through `npuopt --pipeline none` and check that nothing changed.

For each model, npuopt runs twice (`npuopt M -o OUT --pipeline none -q`, into two folders) and:
  1. it must exit 0, or reject the model with exit 1 *rightly*: the input also fails
     `onnx.checker`, or its external data file is absent. Rejections are listed, not counted as
     failures; rejecting a model the checker accepts is a failure, a crash always is;
  2. the two runs must write byte-identical files (model and external data);
  3. the output must be byte-identical to the input; if it is not, the decoded ModelProtos must be
     equal after canonicalisation (external data inlined; the order of nodes, initializers,
     value_info, opsets, attributes and metadata entries ignored; everything else compared: graph
     inputs and outputs in order, nodes with op, domain, attributes and wiring, initializer
     bytes, opsets, metadata, functions, subgraphs). Outputs are counted as byte-identical / semantically identical / differing;
  4. `onnx.checker.check_model(out, full_check=False)` must pass when it passed for the input;
  5. ONNX Runtime (CPU EP, one thread) must give bitwise-identical outputs (NaN equals NaN) for the
     model's test data sets, or for seeded random inputs when it has none. A model ORT cannot load
     or run is "skipped: ORT cannot run the input"; one whose own outputs change between two runs is
     "skipped: ORT nondeterministic".

Models: with no MODEL arguments, the corpus (`../shared/corpus/*.onnx` beside the repo, when
present), `tests/fixtures/*.onnx`, every folder under `onnx/backend/test/data/` of the installed
onnx package, and onnx's node test cases (exported to a temporary folder, or read from
`--node-tests DIR` written by export_node_tests.py). A MODEL argument is a `.onnx` file, a folder
holding `model.onnx` (+ `test_data_set_*`), or a folder of such files and folders.

Usage: roundtrip.py --npuopt PATH [--node-tests DIR] [-j N] [--report FILE] [--summary FILE] [MODEL...]
Prints every failure with its reason and ends with `roundtrip: N of M identical` (N: outputs
byte-identical to their input; M: models found). Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import re
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import wait
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NPUOPT_TIMEOUT_S = 600
MAX_PROCESSES = 2


# ----- models ---------------------------------------------------------------------------------

@dataclass
class ModelCase:
    """A model to round-trip. `path` is None for a folder that holds no model (only listed)."""
    label: str
    path: Path | None
    data_sets: list[Path] = field(default_factory=list)
    note: str = ""


def model_folder(label: str, folder: Path) -> ModelCase:
    data_sets = sorted(folder.glob("test_data_set_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    return ModelCase(label, folder / "model.onnx", data_sets)


def collect(arg: Path, group: str) -> list[ModelCase]:
    """The models a MODEL argument names (see the module doc)."""
    if arg.is_file():
        return [ModelCase(f"{group}/{arg.name}", arg)]
    if (arg / "model.onnx").is_file():
        return [model_folder(f"{group}/{arg.name}", arg)]
    cases = []
    for child in sorted(arg.iterdir()):
        if child.is_file() and child.suffix == ".onnx":
            cases.append(ModelCase(f"{group}/{child.name}", child))
        elif (child / "model.onnx").is_file():
            cases.append(model_folder(f"{group}/{child.name}", child))
        elif child.is_dir():
            what = "no model file"
            if (child / "data.json").is_file():
                url = json.loads((child / "data.json").read_text()).get("url", "?")
                what += f" (only data.json, naming {url})"
            cases.append(ModelCase(f"{group}/{child.name}", None, note=what))
    return cases


def default_sources(node_tests: Path) -> list[tuple[Path, str]]:
    import onnx

    sources = []
    corpus = ROOT.parent / "shared" / "corpus"
    if corpus.is_dir():
        sources.append((corpus, "corpus"))
    sources.append((ROOT / "tests" / "fixtures", "fixtures"))
    data = Path(onnx.__file__).parent / "backend" / "test" / "data"
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        sources.append((folder, f"onnx-data/{folder.name}"))
    sources.append((node_tests, "node"))
    return sources


# ----- canonical comparison -------------------------------------------------------------------

def canonical_model(m):
    """A copy of `m` with every order that carries no meaning sorted (see the module doc)."""
    import onnx

    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    sort_repeated(m2.opset_import, lambda o: (o.domain, o.version))
    sort_repeated(m2.metadata_props, lambda p: (p.key, p.value))
    canonical_graph(m2.graph)
    for f in m2.functions:
        for n in f.node:
            canonical_node(n)
        sort_repeated(f.opset_import, lambda o: (o.domain, o.version))
        sort_repeated(f.node, lambda n: n.SerializeToString(deterministic=True))
        sort_repeated(f.value_info, lambda v: v.name)
    for t in m2.training_info:
        canonical_graph(t.initialization)
        canonical_graph(t.algorithm)
    return m2


def canonical_graph(g) -> None:
    for n in g.node:
        canonical_node(n)
    for t in g.initializer:
        canonical_tensor(t)
    sort_repeated(g.node, lambda n: n.SerializeToString(deterministic=True))
    sort_repeated(g.initializer, lambda t: t.name)
    sort_repeated(g.sparse_initializer, lambda s: s.values.name)
    sort_repeated(g.value_info, lambda v: v.name)
    sort_repeated(g.quantization_annotation, lambda q: q.tensor_name)
    sort_repeated(g.metadata_props, lambda p: (p.key, p.value))


def canonical_node(n) -> None:
    for a in n.attribute:
        if a.HasField("g"):
            canonical_graph(a.g)
        for sub in a.graphs:
            canonical_graph(sub)
        if a.HasField("t"):
            canonical_tensor(a.t)
        for t in a.tensors:
            canonical_tensor(t)
    sort_repeated(n.attribute, lambda a: a.name)
    sort_repeated(n.metadata_props, lambda p: (p.key, p.value))


def canonical_tensor(t) -> None:
    """onnx.load leaves `data_location: DEFAULT` set on tensors it read from external data."""
    if t.HasField("data_location") and t.data_location == 0:
        t.ClearField("data_location")


def sort_repeated(field_, key) -> None:
    items = sorted(list(field_), key=key)
    copies = [type(i)() for i in items]
    for c, i in zip(copies, items):
        c.CopyFrom(i)
    del field_[:]
    field_.extend(copies)


def message_diffs(a, b, path: str = "model", limit: int = 3) -> list[str]:
    """The first few field paths where messages `a` and `b` differ, with both values."""
    out: list[str] = []

    def short(v) -> str:
        s = repr(v)
        return s if len(s) <= 80 else s[:77] + "..."

    def walk(x, y, p):
        if len(out) >= limit:
            return
        fields = {f.name: f for f, _ in x.ListFields()} | {f.name: f for f, _ in y.ListFields()}
        for name in sorted(fields):
            fd = fields[name]
            xv, yv = getattr(x, name), getattr(y, name)
            is_message = fd.message_type is not None
            if fd.is_repeated:
                if len(xv) != len(yv):
                    out.append(f"{p}.{name}: {len(xv)} entries vs {len(yv)}")
                    continue
                for i, (xi, yi) in enumerate(zip(xv, yv)):
                    tag = f"{p}.{name}[{i}]"
                    if is_message and getattr(xi, "name", ""):
                        tag = f"{p}.{name}[{i} '{xi.name}']"
                    if is_message:
                        walk(xi, yi, tag)
                    elif xi != yi:
                        out.append(f"{tag}: {short(xi)} vs {short(yi)}")
                    if len(out) >= limit:
                        return
            elif is_message:
                walk(xv, yv, f"{p}.{name}")
            elif x.HasField(name) != y.HasField(name) or xv != yv:
                xs = short(xv) if x.HasField(name) else "unset"
                ys = short(yv) if y.HasField(name) else "unset"
                out.append(f"{p}.{name}: {xs} vs {ys}")
            if len(out) >= limit:
                return

    walk(a, b, path)
    return out


def first_byte_difference(a: bytes, b: bytes) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"{len(a)} vs {len(b)} bytes, first difference at byte {n}"


# ----- ONNX Runtime ---------------------------------------------------------------------------

ORT_DTYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(int8)": "int8", "tensor(int16)": "int16", "tensor(int32)": "int32",
    "tensor(int64)": "int64", "tensor(uint8)": "uint8", "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32", "tensor(uint64)": "uint64", "tensor(bool)": "bool",
    "tensor(string)": "str",
}


class OrtCannotRun(Exception):
    """ORT cannot load or run the *input* model: the model is skipped, not failed."""


def ort_session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def read_value(pb: Path, declared):
    """A test data file as the Python value ORT takes, by the declared type of its input."""
    import onnx
    from onnx import numpy_helper

    ty, data = declared.type, pb.read_bytes()
    if ty.HasField("sequence_type"):
        return numpy_helper.to_list(onnx.SequenceProto.FromString(data))
    if ty.HasField("optional_type"):
        return numpy_helper.to_optional(onnx.OptionalProto.FromString(data))
    if ty.HasField("map_type"):
        return numpy_helper.to_dict(onnx.MapProto.FromString(data))
    tensor = onnx.TensorProto.FromString(data)
    array = numpy_helper.to_array(tensor)
    if not is_ml_dtype(array):
        return array
    # ORT's Python API takes bfloat16 and float8 only as an OrtValue with an explicit ONNX type.
    import onnxruntime as ort

    bits = array.view(f"u{array.dtype.itemsize}")
    return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(bits, tensor.data_type)


def is_ml_dtype(array) -> bool:
    """bfloat16, float8, int4 …: numpy arrays of the ml_dtypes package, which ORT cannot take."""
    return type(array.dtype).__module__.startswith("ml_dtypes") or \
        array.dtype.type.__module__.startswith("ml_dtypes")


def feeds_for(case: ModelCase, model, session) -> list[dict]:
    """One feed dict per test data set, or one of seeded random values when there is none.

    Test data file `input_j.pb` belongs to graph input j (onnx's layout); ORT is fed the inputs it
    asks for (an input that has an initializer as default may be left out).
    """
    import numpy as np

    wanted = [i.name for i in session.get_inputs()]
    if case.data_sets:
        feeds = []
        for ds in case.data_sets:
            feed = {}
            for j, declared in enumerate(model.graph.input):
                pb = ds / f"input_{j}.pb"
                if pb.is_file() and declared.name in wanted:
                    feed[declared.name] = read_value(pb, declared)
            missing = [n for n in wanted if n not in feed]
            if missing:
                raise OrtCannotRun(f"{ds.name} has no data for input(s) {missing}")
            feeds.append(feed)
        return feeds
    rng = np.random.default_rng(zlib.crc32(case.label.encode()))
    feed = {}
    for i in session.get_inputs():
        dtype = ORT_DTYPES.get(i.type)
        if dtype is None:
            raise OrtCannotRun(f"no random input generator for '{i.name}' of type {i.type}")
        shape = [d if isinstance(d, int) and d >= 0 else 1 for d in i.shape]
        if dtype == "str":
            value = np.array(rng.choice(["a", "b", "c"], size=shape), dtype=object)
        elif dtype == "bool":
            value = rng.integers(0, 2, size=shape).astype(bool)
        elif dtype.startswith("float"):
            value = rng.standard_normal(size=shape).astype(dtype)
        else:
            value = rng.integers(0, 4, size=shape).astype(dtype)
        feed[i.name] = value
    return [feed]


def run_all(session, feeds: list[dict]) -> list[list]:
    return [run_one(session, feed) for feed in feeds]


def run_one(session, feed: dict) -> list:
    """The outputs for one feed. A feed holding OrtValues (see read_value) runs through
    run_with_ort_values; outputs numpy cannot hold come back as (ONNX type, shape, raw bytes)."""
    import onnxruntime as ort

    if not any(isinstance(v, ort.OrtValue) for v in feed.values()):
        return session.run(None, feed)
    feed = {k: v if isinstance(v, ort.OrtValue) else ort.OrtValue.ortvalue_from_numpy(v)
            for k, v in feed.items()}
    outputs = []
    for v in session.run_with_ort_values(None, feed):
        try:
            outputs.append(v.numpy())
        except Exception:  # noqa: BLE001 - a type numpy has no dtype for: compare the raw bytes
            raw = ctypes.string_at(v.data_ptr(), v.tensor_size_in_bytes())
            outputs.append((v.data_type(), tuple(v.shape()), raw))
    return outputs


def same_value(a, b) -> bool:
    """Bitwise equality of two ORT results; NaN equals NaN (any payload)."""
    import numpy as np

    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(same_value(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(same_value(a[k], b[k]) for k in a))
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, tuple) or isinstance(b, tuple):  # (ONNX type, shape, raw bytes)
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return a.tolist() == b.tolist()
    if a.tobytes() == b.tobytes():
        return True
    if a.dtype.kind not in "fc":
        return False
    floats = a.real.dtype
    ax = a.view(floats) if a.dtype.kind == "c" else a
    bx = b.view(floats) if b.dtype.kind == "c" else b
    nan_a, nan_b = np.isnan(ax), np.isnan(bx)
    bits = np.dtype(f"u{floats.itemsize}")
    same_bits = ax.view(bits) == bx.view(bits)
    return bool(np.array_equal(nan_a, nan_b) and np.all(same_bits | nan_a))


def describe_difference(names, a: list, b: list) -> str:
    import numpy as np

    for name, x, y in zip(names, a, b):
        if same_value(x, y):
            continue
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape \
                and x.dtype == y.dtype and x.dtype != object:
            idx = np.argwhere(x != y)
            where = tuple(int(v) for v in idx[0]) if len(idx) else "?"
            return (f"output '{name}' differs at {len(idx)} of {x.size} elements, first at {where}: "
                    f"{x[where] if len(idx) else '?'} vs {y[where] if len(idx) else '?'}")
        return f"output '{name}' differs: {type(x).__name__} {getattr(x, 'shape', '')} vs " \
               f"{type(y).__name__} {getattr(y, 'shape', '')}"
    return "outputs differ"


# ----- one model ------------------------------------------------------------------------------

@dataclass
class Outcome:
    label: str
    status: str  # "checked", "rejected", "external-absent", "no-model", "failed"
    identity: str = ""  # "byte", "semantic", "differ" (when npuopt wrote a model)
    ort: str = ""  # "identical", "skipped: ...", or "" when not reached
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def missing_external_data(path: Path, model) -> list[str]:
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    missing = []
    for t in _get_all_tensors(model):
        if uses_external_data(t):
            loc = next((e.value for e in t.external_data if e.key == "location"), "")
            if not (path.parent / loc).is_file():
                missing.append(f"tensor '{t.name}' -> '{loc}'")
    return missing


def checker_error(path: Path) -> str | None:
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=False)
        return None
    except Exception as e:  # noqa: BLE001 - the checker's verdict, whatever it raises
        return one_line(f"{type(e).__name__}: {e}")


def one_line(s: str) -> str:
    """A message on one line, at most 300 characters."""
    line = " ".join(s.split())
    return line if len(line) <= 300 else line[:297] + "..."


def ort_message(e: Exception) -> str:
    """ORT's error without the C++ source location and function signature it puts before the
    reason (`/onnxruntime_src/x.cc:12 void f(int, ...) Reason`)."""
    s = str(e)
    start = s.find("/onnxruntime_src/")
    paren = s.find("(", start)
    if start < 0 or paren < 0:
        return one_line(s)
    depth = 0
    for end in range(paren, len(s)):
        depth += {"(": 1, ")": -1}.get(s[end], 0)
        if depth == 0:
            return one_line(s[:start] + s[end + 1:].lstrip())
    return one_line(s)


def run_npuopt(npuopt: str, src: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [npuopt, str(src), "-o", str(out), "--pipeline", "none", "-q"],
        capture_output=True, text=True, timeout=NPUOPT_TIMEOUT_S,
    )


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def check_model(case: ModelCase, npuopt: str, phase) -> Outcome:
    """All checks of the module doc for one model. `phase(name, outcome)` tells the parent where
    we are and what is known so far, so that a native crash (inside ONNX Runtime, say) is
    attributed to the input or the output model without losing the checks already done."""
    import onnx

    if case.path is None:
        return Outcome(case.label, "no-model", notes=[case.note])
    phase("inspect", None)
    try:
        original = onnx.load(str(case.path), load_external_data=False)
    except Exception as e:  # noqa: BLE001
        original = None
        parse_error = one_line(f"{type(e).__name__}: {e}")
    missing = missing_external_data(case.path, original) if original is not None else []
    checker_in = checker_error(case.path)

    with tempfile.TemporaryDirectory(prefix="roundtrip-") as tmp:
        out1 = Path(tmp, "a", case.path.name)
        out2 = Path(tmp, "b", case.path.name)
        out1.parent.mkdir()
        out2.parent.mkdir()
        phase("npuopt", None)
        first = run_npuopt(npuopt, case.path, out1)
        if first.returncode != 0:
            msg = one_line(first.stderr) or f"exit {first.returncode}, no message"
            if first.returncode == 1 and missing:
                return Outcome(case.label, "external-absent",
                               notes=[f"external data absent: {', '.join(missing)}; npuopt: {msg}"])
            if first.returncode == 1 and (checker_in or original is None):
                why = checker_in if original is not None else f"onnx cannot parse it: {parse_error}"
                return Outcome(case.label, "rejected", notes=[f"npuopt: {msg}; checker: {why}"])
            if first.returncode == 1:
                reason = f"npuopt rejected a model the checker accepts: {msg}"
            else:
                reason = f"npuopt exited {first.returncode}: {msg}"
            return Outcome(case.label, "failed", failures=[reason])
        if original is None:
            return Outcome(case.label, "failed", failures=[
                f"npuopt accepted a file onnx cannot parse ({parse_error})"])

        result = Outcome(case.label, "checked")
        second = run_npuopt(npuopt, case.path, out2)
        if second.returncode != 0:
            result.failures.append(f"second run exited {second.returncode}: "
                                   f"{one_line(second.stderr)}")
        else:
            files1, files2 = folder_files(out1.parent), folder_files(out2.parent)
            if files1 != files2:
                diff = [n for n in sorted(files1.keys() | files2.keys())
                        if files1.get(n) != files2.get(n)]
                result.failures.append(f"two runs wrote different files: {diff}")

        phase("compare", result)
        compare_protos(case, out1, result)
        if checker_in is None:
            checker_out = checker_error(out1)
            if checker_out is not None:
                result.failures.append(f"the checker accepts the input but not the output: "
                                       f"{checker_out}")
        compare_ort(case, original, out1, result, phase)
    if result.failures:
        result.status = "failed"
    return result


def compare_protos(case: ModelCase, out: Path, result: Outcome) -> None:
    import onnx

    a_bytes, b_bytes = case.path.read_bytes(), out.read_bytes()
    if a_bytes == b_bytes:
        result.identity = "byte"
        return
    a, b = onnx.load(str(case.path)), onnx.load(str(out))
    ca, cb = canonical_model(a), canonical_model(b)
    if ca.SerializeToString(deterministic=True) == cb.SerializeToString(deterministic=True):
        result.identity = "semantic"
        raw = message_diffs(a, b)
        why = "; ".join(raw) if raw else "the same message, encoded differently (field order, " \
                                         "packing or unknown fields)"
        result.notes.append(f"not byte-identical ({first_byte_difference(a_bytes, b_bytes)}): "
                            f"{why}")
        return
    result.identity = "differ"
    diffs = message_diffs(ca, cb) or ["unknown fields differ"]
    result.failures.append(f"output differs from input ({first_byte_difference(a_bytes, b_bytes)}):"
                           f" {'; '.join(diffs)}")


def compare_ort(case: ModelCase, model, out: Path, result: Outcome, phase) -> None:
    phase("ort-input", result)
    try:
        session_in = ort_session(case.path)
        feeds = feeds_for(case, model, session_in)
        want = run_all(session_in, feeds)
    except Exception as e:  # noqa: BLE001 - whatever ORT refuses, the input is not runnable
        result.ort = f"skipped: ORT cannot run the input ({ort_message(e)})"
        return
    phase("ort-output", result)
    try:
        got = run_all(ort_session(out), feeds)
    except Exception as e:  # noqa: BLE001
        result.failures.append(f"ORT runs the input but not the output: {ort_message(e)}")
        return
    names = [o.name for o in session_in.get_outputs()]
    if all(same_value(x, y) for w, g in zip(want, got) for x, y in zip(w, g)):
        result.ort = "identical"
        return
    phase("ort-input", result)
    again = run_all(session_in, feeds)
    if not all(same_value(x, y) for w, g in zip(want, again) for x, y in zip(w, g)):
        result.ort = "skipped: ORT nondeterministic (the input's own outputs change between runs)"
        return
    diff = next(describe_difference(names, w, g) for w, g in zip(want, got)
                if not all(same_value(x, y) for x, y in zip(w, g)))
    result.failures.append(f"ORT outputs differ: {diff}")


# ----- worker pool ----------------------------------------------------------------------------

def worker_main(conn, npuopt: str) -> None:
    import onnxruntime as ort

    ort.set_default_logger_severity(4)
    while True:
        case = conn.recv()
        if case is None:
            return
        try:
            outcome = check_model(case, npuopt, lambda p, o: conn.send(("phase", (p, o))))
        except Exception as e:  # noqa: BLE001 - a bug in this script must not hide the model
            outcome = Outcome(case.label, "failed",
                              failures=[f"roundtrip.py error: {type(e).__name__}: {e}"])
        conn.send(("done", outcome))


def crashed(case: ModelCase, phase: str, partial: Outcome | None, exitcode) -> Outcome:
    """A worker died (a native crash, e.g. inside ONNX Runtime) while checking `case` in `phase`;
    `partial` holds the checks it had finished."""
    outcome = partial or Outcome(case.label, "checked")
    what = f"the checking process died (exit {exitcode}) during '{phase}'"
    if phase == "ort-input":
        outcome.ort = f"skipped: ORT cannot run the input ({what})"
    else:
        outcome.failures.append(what)
    if outcome.failures:
        outcome.status = "failed"
    return outcome


def run_pool(cases: list[ModelCase], npuopt: str, processes: int):
    """Yields an Outcome per case, checking them in `processes` worker processes. A worker that
    dies is replaced, and the model it was checking is reported by `crashed`."""
    ctx = get_context("spawn")
    todo = list(reversed(cases))
    workers = {}

    def start():
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker_main, args=(child, npuopt), daemon=True)
        proc.start()
        child.close()
        workers[parent] = {"proc": proc, "case": None, "phase": "", "partial": None}
        give(parent)

    def give(conn):
        w = workers[conn]
        if todo:
            w["case"], w["phase"], w["partial"] = todo.pop(), "start", None
            conn.send(w["case"])
        else:
            w["case"] = None
            conn.send(None)

    for _ in range(min(processes, len(cases))):
        start()
    while any(w["case"] is not None for w in workers.values()):
        busy = [c for c, w in workers.items() if w["case"] is not None]
        for conn in wait(busy):
            w = workers[conn]
            try:
                kind, payload = conn.recv()
            except EOFError:
                w["proc"].join()
                yield crashed(w["case"], w["phase"], w["partial"], w["proc"].exitcode)
                del workers[conn]
                if todo:
                    start()
                continue
            if kind == "phase":
                w["phase"], w["partial"] = payload
            else:
                yield payload
                give(conn)
    for w in workers.values():
        w["proc"].join()


# ----- report ---------------------------------------------------------------------------------

def report(outcomes: list[Outcome], verbose: bool) -> tuple[list[str], dict]:
    lines = []
    by_status = {}
    for o in outcomes:
        by_status.setdefault(o.status, []).append(o)
    for o in by_status.get("failed", []):
        for f in o.failures:
            lines.append(f"FAIL {o.label}: {f}")
    for o in by_status.get("rejected", []):
        lines.append(f"REJECTED (rightly) {o.label}: {o.notes[0]}")
    for o in by_status.get("external-absent", []):
        lines.append(f"EXTERNAL DATA ABSENT {o.label}: {o.notes[0]}")
    for o in by_status.get("no-model", []):
        lines.append(f"NO MODEL {o.label}: {o.notes[0]}")
    for o in outcomes:
        if o.identity == "semantic":
            lines.append(f"SEMANTICALLY IDENTICAL {o.label}: {o.notes[0]}")
    skips = [o for o in outcomes if o.ort.startswith("skipped")]
    skip_kinds: dict[str, int] = {}
    skip_reasons: dict[str, int] = {}
    for o in skips:
        kind, _, reason = o.ort.partition(" (")
        skip_kinds[kind] = skip_kinds.get(kind, 0) + 1
        # Grouped by ORT's reason, file paths left out, so the list stays short.
        reason = re.sub(r"Load model from \S+ failed:", "", reason.removesuffix(")"))[:110]
        skip_reasons[reason] = skip_reasons.get(reason, 0) + 1
        if verbose:
            lines.append(f"SKIP {o.label}: {o.ort}")
    if not verbose:
        for reason, n in sorted(skip_reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"SKIPPED {n:4} x {reason}")

    models = [o for o in outcomes if o.status != "no-model"]
    written = [o for o in outcomes if o.identity]
    count = {k: sum(o.identity == k for o in written) for k in ("byte", "semantic", "differ")}
    ort_same = sum(o.ort == "identical" for o in outcomes)
    failed = len(by_status.get("failed", []))
    passed = sum(o.status == "checked" for o in outcomes)
    lines.append(
        f"roundtrip: {len(written)} written: {count['byte']} byte-identical, "
        f"{count['semantic']} semantically identical, {count['differ']} differing")
    lines.append(
        f"roundtrip: ORT bitwise-identical on {ort_same}"
        + "".join(f", {n} {k}" for k, n in sorted(skip_kinds.items()))
        + (" (each model listed with -v)" if skips and not verbose else ""))
    lines.append(
        f"roundtrip: {passed} passed every check, {failed} failed, "
        f"{len(by_status.get('rejected', []))} rightly rejected, "
        f"{len(by_status.get('external-absent', []))} with external data absent, "
        f"{len(by_status.get('no-model', []))} folders without a model")
    lines.append(f"roundtrip: {count['byte']} of {len(models)} identical")
    summary = {"passed": passed, "failed": failed, "models": len(models),
               "byte_identical": count["byte"], "semantically_identical": count["semantic"],
               "differing": count["differ"], "ort_identical": ort_same,
               "ort_skipped": skip_kinds,
               "rejected": len(by_status.get("rejected", [])),
               "external_absent": len(by_status.get("external-absent", [])),
               "no_model": len(by_status.get("no-model", []))}
    return lines, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npuopt", required=True, help="the npuopt binary")
    ap.add_argument("--node-tests", type=Path,
                    help="onnx node tests written by export_node_tests.py (default: export now)")
    ap.add_argument("-j", type=int, default=MAX_PROCESSES,
                    help=f"worker processes (at most {MAX_PROCESSES})")
    ap.add_argument("--report", type=Path, help="also write one line per model here")
    ap.add_argument("--summary", type=Path, help="write the counts here as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every skipped model")
    ap.add_argument("models", nargs="*", type=Path)
    args = ap.parse_args()
    npuopt = str(Path(args.npuopt).resolve())
    processes = max(1, min(args.j, MAX_PROCESSES))

    with tempfile.TemporaryDirectory(prefix="node-tests-") as tmp:
        if args.models:
            sources = [(m, m.parent.name if m.is_file() or (m / "model.onnx").is_file()
                        else m.name) for m in args.models]
        else:
            node_tests = args.node_tests
            if node_tests is None:
                node_tests = Path(tmp, "node")
                subprocess.run([sys.executable, str(HERE / "export_node_tests.py"),
                                str(node_tests)], check=True)
            sources = default_sources(node_tests)
        cases = [c for folder, group in sources for c in collect(folder, group)]
        outcomes = sorted(run_pool(cases, npuopt, processes), key=lambda o: o.label)

    lines, summary = report(outcomes, args.verbose)
    print("\n".join(lines))
    if args.report:
        args.report.write_text("".join(
            f"{o.label}\t{o.status}\t{o.identity or '-'}\t{o.ort or '-'}\t"
            f"{' | '.join(o.failures + o.notes)}\n" for o in outcomes))
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=1) + "\n")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
