"""A short smoke of ``ghostpen bench`` so it never rots (figures are printed, not judged).

The bench's own numbers are not asserted against targets here (CI machines are noisy);
what is checked is that every measurement ran and that the replay's correctness counts
(stale paints) hold, which do not depend on speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.bench.run import table
from app.core.stats import percentile, summary
from tests.support.models import TestModel


def test_percentiles_are_observed_values() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == 4.0
    assert summary([5.0]) == {"n": 1, "p50": 5.0, "p90": 5.0, "p99": 5.0, "max": 5.0}


@pytest.mark.slow
def test_bench_smoke_runs_every_measurement(tiny_model: TestModel, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "GHOSTPEN_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "app", "bench", "--model", str(tiny_model["q8_0"]),
         "--chars", "240", "--intervals", "150,60", "--repeats", "1", "--sizes", "32",
         "--startup-runs", "1", "--json", str(out)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    (model,) = report["models"].values()
    for pace in (150, 60):
        replay = model[f"replay_{pace}ms"]
        assert replay["chars"] == 240
        assert replay["requests"] >= 1
        assert replay["paints"] >= 1
        assert replay["stale_paints"] == 0
        assert replay["event_loop_lag_ms"]["n"] > 100  # the 5 ms probe ran throughout
        assert replay["request_to_first_paint_ms"]["n"] >= 1
        assert replay["prefills"] >= 1  # typing evaluated the text ahead of the requests
        assert replay["tokens_evaluated_per_keystroke"]["n"] == 240
    tp = model["throughput"]["prompt_32"]
    assert tp["ghostpen"]["generation_tokens_per_s"] > 0
    assert tp["llama_cpp_python"]["generation_tokens_per_s"] > 0
    assert model["load_ms"] > 0
    assert model["rss_loaded_bytes"] > 50 * 2**20
    assert model["window_shown_s"] > 0
    assert "typing replay at 150 ms/key" in done.stdout
    assert "generation vs llama" in done.stdout
    assert table(report) in done.stdout


@pytest.mark.slow
def test_random_124m_model_has_gpt2_small_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.bench.random_model import build_gpt2_124m
    from app.core.gguf_info import inspect_model

    monkeypatch.setenv("GHOSTPEN_HOME", str(tmp_path))
    info = inspect_model(build_gpt2_124m("Q8_0"))
    assert (info.block_count, info.embedding_length, info.head_count) == (12, 768, 12)
    assert (info.vocab_size, info.context_length, info.file_type) == (50257, 1024, "Q8_0")
    assert 120e6 < info.parameter_count < 130e6


#: A ``sitecustomize`` that makes PySide6 (and shiboken6) unimportable in every process that
#: has it on its path: the headless bench and its children run as on a box without Qt.
NO_QT = """
import sys

class _NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError(f"{name}: blocked, this process must not need Qt")
        return None

sys.meta_path.insert(0, _NoQt())
"""

HEADLESS = """
import json, sys
from pathlib import Path
from app.bench.run import BenchOptions, run_bench, table

model, out = Path(sys.argv[1]), Path(sys.argv[2])
report = run_bench(BenchOptions(model=model, repeats=1, sizes=(32,), replay=False,
                                gpu_layers=-1, json_out=out))
print(table(report))
try:
    import PySide6.QtCore
except ImportError:
    print("Qt was blocked throughout")
"""


@pytest.mark.slow
def test_headless_bench_measures_throughput_and_footprint_without_qt(
    tiny_model: TestModel, tmp_path: Path
) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(NO_QT)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(root)]),
           "GHOSTPEN_HOME": str(tmp_path / "home")}  # fmt: skip
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-c", HEADLESS, str(tiny_model["q8_0"]), str(out)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Qt was blocked throughout" in done.stdout  # the control: the hook did block
    report = json.loads(out.read_text())
    assert report["replay"] is False
    assert report["gpu_layers"] == -1
    (model,) = report["models"].values()
    tp = model["throughput"]
    assert tp["prompt_32"]["ghostpen"]["generation_tokens_per_s"] > 0
    assert tp["prompt_32"]["llama_cpp_python"]["prompt_tokens_per_s"] > 0
    assert model["load_ms"] > 0
    assert model["rss_loaded_bytes"] > 20 * 2**20
    assert model["rss_after_completion_bytes"] > 0
    assert model["completion_tokens"] >= 1
    assert not [k for k in model if k.startswith("replay_")]
    assert "window_shown_s" not in model
    assert "rss_after_replay_bytes" not in model
    assert "replay and window start-up skipped" in done.stdout
    assert "footprint (engine alone, no Qt)" in done.stdout
    from app.core.llama_runtime import build_info

    if build_info().gpu_offload:
        assert tp["gpu"]["layers"] == -1
        assert tp["gpu"]["cpu_saw_no_gpu"]
    else:  # GPU layers asked of a CPU build: said, and measured on the CPU
        assert "gpu" not in tp
        assert "cannot offload" in tp["gpu_note"]
        assert "cannot offload to a GPU" in done.stdout


@pytest.mark.slow
def test_cpu_and_gpu_side_by_side(tiny_model: TestModel) -> None:
    """The path a GPU build takes (CPU runs in a child that sees no GPU, then the asked
    layers here), forced with 0 layers: both sides are the CPU."""
    from app.bench.run import TARGETS
    from app.bench.throughput import measure
    from app.core.llama_runtime import build_info

    tp = measure(tiny_model["q8_0"], repeats=1, sizes=(32,), gpu_layers=0, side_by_side=True)
    gpu = tp["gpu"]
    assert gpu["layers"] == 0
    assert gpu["cpu_saw_no_gpu"]
    for side in (tp, gpu):
        for contender in ("ghostpen", "llama_cpp_python"):
            assert side["prompt_32"][contender]["generation_tokens_per_s"] > 0
    report = {
        "machine": {"platform": "test", "cpus": 1, "llama_cpp": "x"},
        "targets": TARGETS,
        "replay": False,
        "models": {"tiny": {"size": 1, "throughput": tp, "load_ms": 1.0,
                            "rss_loaded_bytes": 1, "rss_after_completion_bytes": 1}},
    }  # fmt: skip
    text = table(report)
    assert f"CPU against GPU ({build_info().backend}, 0 layers)" in text
    assert text.count("  32-token prompt  ghostpen") == 2  # the CPU table, then CPU | GPU
