"""strip-postprocess against ONNX Runtime: `post(main(x))` equals the unsplit model bit for bit.

For each model and each head layout (per-scale, rknn, raw): `npuopt M -o split.onnx --head-layout L`
(default pipeline, writes split.post.onnx too) and `npuopt M -o whole.onnx --keep-postprocess` (the
same pipeline without the cut). Both parts and the whole pass onnx.checker; ORT (optimisations off,
so both run the same kernels) on seeded inputs must give identical outputs for post(main(x)) and
whole(x). The main model's outputs are in the metadata's order, each with the role recorded.

usage: strip_postprocess.py --npuopt PATH MODEL...
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from model_checks import run_checks, session


LAYOUTS = ("per-scale", "rknn", "raw")


def npuopt_run(npuopt: str, *args: str) -> str | None:
    """Runs npuopt; the error text when it fails."""
    r = subprocess.run([npuopt, *args, "-q"], capture_output=True, text=True)
    return None if r.returncode == 0 else r.stderr.strip()


def check(npuopt: str, model: Path, tmp: Path) -> tuple[bool, str]:
    whole = tmp / "whole.onnx"
    if err := npuopt_run(npuopt, str(model), "-o", str(whole), "--keep-postprocess"):
        return False, f"npuopt failed: {err}"
    onnx.checker.check_model(onnx.load(whole), full_check=True)
    lines = []
    for layout in LAYOUTS:
        ok, line = check_layout(npuopt, model, tmp, whole, layout)
        if not ok:
            return False, f"{layout}: {line}"
        lines.append(line)
    return True, f"{model.name}: " + "; ".join(lines)


def check_layout(npuopt: str, model: Path, tmp: Path, whole: Path, layout: str) -> tuple[bool, str]:
    split, post = tmp / f"{layout}.onnx", tmp / f"{layout}.post.onnx"
    if err := npuopt_run(npuopt, str(model), "-o", str(split), "--head-layout", layout):
        return False, f"npuopt failed: {err}"
    if not post.exists():
        return False, "no post model was written"
    for f in (split, post):
        onnx.checker.check_model(onnx.load(f), full_check=True)
    meta = json.loads({p.key: p.value for p in onnx.load(split).metadata_props}["npuopt.postprocess"])
    main_s, post_s, whole_s = session(split), session(post), session(whole)
    if [r["tensor"] for r in meta["outputs"]] != [o.name for o in main_s.get_outputs()]:
        return False, "the metadata does not list the main model's outputs in order"
    rng = np.random.default_rng(0)
    cuts = [o.name for o in main_s.get_outputs()]
    for _ in range(3):
        feeds = {i.name: rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32) for i in whole_s.get_inputs()}
        mid = dict(zip(cuts, main_s.run(None, feeds)))
        got = post_s.run(None, {i.name: mid[i.name] for i in post_s.get_inputs()})
        want = whole_s.run(None, feeds)
        for g, w, o in zip(got, want, whole_s.get_outputs()):
            if g.shape != w.shape or not np.array_equal(g, w, equal_nan=True):
                return False, f"output {o.name} differs: max |Δ| {np.abs(g - w).max()}"
    roles = [r["kind"] for r in meta["outputs"]]
    return True, f"{layout} {len(cuts)} outputs ({', '.join(f'{k} {o.shape}' for k, o in zip(roles, main_s.get_outputs()))})"


if __name__ == "__main__":
    sys.exit(run_checks("strip-postprocess", check))
