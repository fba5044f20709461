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
        assert replay["chars"] == 240 and replay["requests"] >= 1
        assert replay["paints"] >= 1 and replay["stale_paints"] == 0
        assert replay["event_loop_lag_ms"]["n"] > 100  # the 5 ms probe ran throughout
        assert replay["request_to_first_paint_ms"]["n"] >= 1
        assert replay["prefills"] >= 1  # typing evaluated the text ahead of the requests
        assert replay["tokens_evaluated_per_keystroke"]["n"] == 240
    tp = model["throughput"]["prompt_32"]
    assert tp["ghostpen"]["generation_tokens_per_s"] > 0
    assert tp["llama_cpp_python"]["generation_tokens_per_s"] > 0
    assert model["load_ms"] > 0 and model["rss_loaded_bytes"] > 50 * 2**20
    assert model["window_shown_s"] > 0
    assert "typing replay at 150 ms/key" in done.stdout and "generation vs llama" in done.stdout
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
