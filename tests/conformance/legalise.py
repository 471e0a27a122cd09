"""legalise against ONNX Runtime: the NPU-legalising rewrites keep the model's function.

For each quantized model and each release in RELEASES: `npuopt M -o with.onnx --target
ethos-n78@R --report r.json` (the default pipeline, legalise included) and the same passes without
legalise (`--passes` = the default pipeline minus legalise). Both pass onnx.checker's full check;
ORT (optimisations off, seeded inputs) runs both. The main models end at quantized tensors, so
differences are counted in LSB: when every rewrite legalise reports is bit-exact (pad folding,
channel alignment, depthwise by an exact product), the outputs must be identical; otherwise
(requantized outputs, ≤ 1 LSB per rewritten node) the largest difference is printed, not gated, as
1 LSB at one node can grow through later layers.

usage: legalise.py --npuopt PATH MODEL...
Prints one line per model and `legalise: N passed, M failed`; exit 1 on any failure.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from model_checks import run_checks, session

RELEASES = ["23.02", "25.03"]
WITHOUT_LEGALISE = "identity-elim,const-fold,dedup-initializers,dce,fold-qdq,strip-postprocess,dce"
RUNS = 2


def largest_difference(a: Path, b: Path) -> float:
    sa, sb = session(a), session(b)
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(RUNS):
        feeds = {i.name: rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32) for i in sa.get_inputs()}
        want = dict(zip([o.name for o in sa.get_outputs()], sa.run(None, feeds)))
        got = dict(zip([o.name for o in sb.get_outputs()], sb.run(None, feeds)))
        if want.keys() != got.keys():
            raise ValueError(f"outputs differ: {sorted(want)} vs {sorted(got)}")
        for name, w in want.items():
            worst = max(worst, float(np.abs(got[name].astype(np.float64) - w.astype(np.float64)).max(initial=0)))
    return worst


def check(npuopt: str, model: Path, tmp: Path) -> tuple[bool, str]:
    parts = []
    for release in RELEASES:
        target = f"ethos-n78@{release}"
        with_, without, report = tmp / f"with{release}.onnx", tmp / f"without{release}.onnx", tmp / f"r{release}.json"
        for args in (
            [str(model), "-o", str(with_), "--target", target, "--report", str(report), "-q"],
            [str(model), "-o", str(without), "--target", target, "--passes", WITHOUT_LEGALISE, "-q"],
        ):
            r = subprocess.run([npuopt, *args], capture_output=True, text=True)
            if r.returncode != 0:
                return False, f"npuopt {' '.join(args[3:])} failed: {r.stderr.strip()}"
        onnx.checker.check_model(onnx.load(with_), full_check=True)
        notes = [d["message"] for d in json.loads(report.read_text())["diagnostics"] if d.get("pass") == "legalise" and d["severity"] == "note"]
        exact = all("bit-exact" in n for n in notes)
        worst = largest_difference(without, with_)
        if exact and worst != 0:
            return False, f"{target}: {len(notes)} bit-exact rewrite(s), yet outputs differ by {worst}"
        kind = "bit-exact" if exact else "requantized"
        parts.append(f"{release}: {len(notes)} rewrite(s), {kind}, max |Δ| {worst:g}")
    return True, f"{model.name}: " + "; ".join(parts)


if __name__ == "__main__":
    sys.exit(run_checks("legalise", check))
