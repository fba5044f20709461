"""The footprint without Qt: ``python -m app.bench.engine_footprint MODEL [GPU_LAYERS]``.

For ``ghostpen bench --no-replay`` (a server or a GPU box with no display, no PySide6):
the model is loaded as the app's engine thread loads it (checked, probed, the default
settings' context and threads, the healing index built) and one suggestion-sized
completion runs. Prints one JSON line: load time and resident memory after the load and
after the completion. Nothing here imports Qt.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.bench.footprint import rss_bytes
from app.bench.passage import PASSAGE
from app.core.engine import Engine
from app.core.gguf_info import inspect_model
from app.core.model_probe import ensure_loadable
from app.core.settings import AppSettings

#: The prompt of the one completion: about a hundred tokens of the replay's passage.
PROMPT_CHARS = 400


def run(model: Path, gpu_layers: int = 0) -> dict[str, Any]:
    defaults = AppSettings()
    started = time.perf_counter()
    inspect_model(model)
    ensure_loadable(model)
    engine = Engine(
        model,
        n_ctx=defaults.runtime.n_ctx,
        n_threads=defaults.runtime.n_threads,
        n_gpu_layers=gpu_layers,
    )
    engine.prepare_healing()
    out: dict[str, Any] = {
        "load_ms": (time.perf_counter() - started) * 1000.0,
        "rss_loaded_bytes": rss_bytes(),
        "n_ctx": engine.n_ctx,
        "gpu_layers": gpu_layers,
    }
    settings = replace(defaults.sampling, seed=1, max_tokens=defaults.suggestions.max_tokens)
    with engine:
        result = engine.complete(PASSAGE[:PROMPT_CHARS], settings)
        out["completion_tokens"] = result.timings.generated_tokens
        out["rss_after_completion_bytes"] = rss_bytes()
    return out


def main() -> None:
    model = Path(sys.argv[1])
    gpu_layers = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    print(json.dumps(run(model, gpu_layers)))


if __name__ == "__main__":
    main()
