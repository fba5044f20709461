"""The typing replay in its own process:
``python -m app.bench.window_run MODEL CHARS PACES [GPU_LAYERS]``.

Prints one JSON line: load time, resident memory once the model is loaded and after the
replay, and the replay figures at each pace (milliseconds per keystroke).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.bench.footprint import rss_bytes
from app.bench.passage import PASSAGE
from app.bench.replay import replay
from app.core.paths import AppPaths
from app.core.settings import AppSettings, save_settings
from app.gui.app import create_window


def run(model: Path, chars: int, intervals: list[int], gpu_layers: int = 0) -> dict[str, Any]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    paths = AppPaths.default()
    paths.ensure()
    # What a writer gets, with a fixed seed to be repeatable, suggestions of at most 8
    # tokens (the size the latency targets are stated for), shown whatever their
    # confidence: a model with random weights is never sure of a word, and the replay
    # times the way from keystroke to ghost, not the ghost's worth (that is ghostpen eval).
    defaults = AppSettings()
    settings = replace(
        defaults,
        sampling=replace(defaults.sampling, seed=1),
        suggestions=replace(defaults.suggestions, max_tokens=8, suggest_when="always"),
        runtime=replace(defaults.runtime, n_gpu_layers=gpu_layers),
    )
    save_settings(settings, paths.settings_file)
    window = create_window(None, paths=paths, choose_model=False)
    window.show()
    loaded: list[Any] = []
    loop = QEventLoop()

    def on_model(model: Any) -> None:
        loaded.append(model)
        loop.quit()

    window.controller.modelChanged.connect(on_model)
    QTimer.singleShot(120_000, loop.quit)
    window.model_controller.load_model(model)
    loop.exec()
    if not loaded or loaded[0] is None:
        raise SystemExit(f"{model}: the window could not load it: {window.banner.text()}")
    out: dict[str, Any] = {"load_ms": loaded[0].load_ms, "rss_loaded_bytes": rss_bytes()}
    text = PASSAGE[:chars]
    for interval in intervals:
        window.editor.setPlainText("")
        window.controller.dismiss()
        # A fresh start for each pace: answers cached while typing the same passage at
        # the previous pace would otherwise be shown with no request at all.
        window.controller.update_settings(window.controller.settings)
        out[f"replay_{interval}ms"] = replay(window, text, interval).to_dict()
    out["rss_after_replay_bytes"] = rss_bytes()
    window.editor.document().setModified(False)
    window.close()
    app.processEvents()
    return out


def main() -> None:
    model, chars, paces = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    gpu_layers = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    result = run(Path(model), chars, [int(p) for p in paces.split(",") if p], gpu_layers)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
