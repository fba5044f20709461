"""The GPU check, as far as a CPU takes it: ``scripts/gpu_compare.py`` and
``scripts/gpu_check.sh`` with ``--gpu-layers 0`` compare the CPU with itself (no layer is
offloaded), so the differences are exactly 0 and the agreement total. On a GPU the same
code compares the CPU with the GPU; the figures are then judged against the targets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.bench.gpu_compare import agreement, main
from tests.support.models import TestModel

ROOT = Path(__file__).resolve().parents[2]


def _side(logits: list[float], argmax: list[int], greedy: list[int]) -> dict[str, object]:
    return {"logits": np.array(logits, dtype=np.float32), "argmax": argmax, "greedy": greedy}


def test_agreement_figures() -> None:
    cpu = _side([2.0, -4.0, 1.0], [1, 2, 3, 4], [5, 6, 7, 8])
    gpu = _side([2.1, -4.0, 1.0], [1, 2, 0, 4], [5, 6, 9, 8])
    got = agreement(cpu, gpu)
    assert got["logits_max_abs_diff"] == pytest.approx(0.1, rel=1e-5)
    assert got["logits_max_rel_diff"] == pytest.approx(0.1 / 4.0, rel=1e-5)  # over max |CPU|
    assert got["next_token_same"] is True
    assert (got["positions"], got["argmax_agreement"]) == (4, 0.75)
    assert (got["greedy_agreement"], got["greedy_tokens"]) == (2, 4)  # equal until the first miss


def test_bad_layers_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--gpu-layers", "-2"])
    assert exit_.value.code == 2
    assert "--gpu-layers must be -1 (all), 0 or more, got -2" in capsys.readouterr().err


@pytest.mark.slow
def test_cpu_against_itself_agrees_exactly(tiny_model: TestModel, tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_compare.py"), "--model",
         str(tiny_model["q8_0"]), "--gpu-layers", "0", "--tokens", "200", "--greedy", "12",
         "--repeats", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (r,) = json.loads(out.read_text())
    assert r["positions"] == 128  # the passage, cut to the tiny model's context
    assert r["logits_max_abs_diff"] == 0.0
    assert r["logits_max_rel_diff"] == 0.0
    assert r["argmax_agreement"] == 1.0
    assert r["next_token_same"]
    assert (r["greedy_agreement"], r["greedy_tokens"]) == (12, 12)
    assert r["cpu_saw_no_gpu"]
    assert not r["offloaded"]
    for side in ("cpu", "gpu"):
        assert r["speed"][side]["prompt_tokens_per_s"] > 0
        assert r["speed"][side]["generation_tokens_per_s"] > 0
    # No layer offloaded: the speed-up is not judged; the agreement targets are.
    assert r["verdicts"] == {"logits_max_rel_diff": "ok", "argmax_agreement": "ok"}
    assert "gpu_compare: all targets met" in done.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="the check is a bash script")
def test_gpu_check_script_on_a_cpu_build(tiny_model: TestModel, tmp_path: Path) -> None:
    env = {**os.environ, "GHOSTPEN_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--no-build", "--gpu-layers", "0",
         "--quick", "--model", str(tiny_model["q8_0"]), "--python", sys.executable,
         "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    summary = done.stdout.split("== summary\n")[-1]
    steps = {
        name: summary.split(f"  {name}", 1)[1].split("\n", 1)[0].strip()
        for name in ("import", "compare CPU and GPU", "complete", "bench")
    }
    assert steps["import"] == steps["compare CPU and GPU"] == steps["complete"] == "ok", summary
    # Until app/cli.py's bench has --no-replay and --gpu-layers, that step says so clearly.
    assert steps["bench"] == "ok", summary
    assert (done.returncode == 0) == (steps["bench"] == "ok")
    assert "build: skipped (--no-build" in summary
    assert "logits rel diff 0.0e+00 ok, argmax 100.0% ok" in summary
    assert (tmp_path / "out" / "gpu_compare.json").is_file()
