"""The loop every per-model conformance check shares: arguments, a fresh temporary folder per
model, one `ok` / `FAIL` line per model, and the closing `LABEL: N passed, M failed` line that
.ci/run counts. A check is `check(npuopt, model, tmp) -> (ok, line)`."""

import argparse
import sys
import tempfile
from pathlib import Path

import onnxruntime as ort


def session(path) -> ort.InferenceSession:
    """ONNX Runtime on the CPU with graph optimisations off: the model runs as written."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_checks(label: str, check) -> int:
    ap = argparse.ArgumentParser(description=f"{label} conformance")
    ap.add_argument("--npuopt", required=True)
    ap.add_argument("models", nargs="+", type=Path)
    args = ap.parse_args()
    passed = failed = 0
    for model in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            ok, line = check(args.npuopt, model, Path(tmp))
        print(("ok   " if ok else f"FAIL {model.name}: ") + line, flush=True)
        passed += ok
        failed += not ok
    print(f"{label}: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit("a library for the conformance checks; run one of them")
