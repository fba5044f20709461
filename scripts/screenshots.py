"""Screenshots of the real app for the documentation, made from the real window.

    python scripts/screenshots.py [--model MODEL.gguf] [--out DIR] [--only NAME ...]

It runs Ghostpen's main window offscreen (or on $DISPLAY, e.g. under Xvfb) with a real
model, types text, waits for the model and saves one PNG per view into ``docs/screenshots``:

- ``editor.png``: the editor with a grey suggestion after the cursor;
- ``settings-panel.png``: the settings panel with the next-word chart;
- ``draft.png``: a draft being written (the Stop draft button in the status bar);
- ``dark.png``: the dark theme, with a suggestion;
- ``model-manager.png``: the model manager (File ▸ Models…).

Without ``--model`` it uses the offline model (Gemma 3 270M, the ``offline`` extra), joined
into a temporary model store. Settings, models and journals go to a temporary folder
(``GHOSTPEN_HOME``), so the user's own are untouched. Suggestions use greedy sampling, and
the draft and the chart a fixed seed, so the text is the same from run to run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from app.gui.main_window import MainWindow

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SHOTS = ("editor", "settings-panel", "draft", "dark", "model-manager")
WAIT_S = 120.0

STORY = (
    "The storm had passed by morning. Mara walked down to the harbour, where the "
    "fishing boats lay tilted on the wet sand, and the old lighthouse keeper was "
    "already mending his nets. He looked up as she came closer and"
)
CHART = "The kettle began to whistle, so she went back into the"
LETTER = (
    "Dear Mrs. Hollis,\n\n"
    "Thank you for your letter and for the photographs of the garden. The roses look "
    "wonderful this year. I am sorry that I could not visit in June, but"
)
NOTES = (
    "Every morning before work, Tom walked his dog along the river. The path was quiet "
    "at that hour, and the only sound was"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a GGUF model file (default: the offline model)")
    parser.add_argument("--out", default=str(OUT), help=f"output folder (default {OUT})")
    parser.add_argument("--only", nargs="+", choices=SHOTS, help="make only these")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    home = Path(tempfile.mkdtemp(prefix="ghostpen-shots-"))
    os.environ["GHOSTPEN_HOME"] = str(home)
    try:
        return _run(args.model, Path(args.out), tuple(args.only or SHOTS))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run(model_arg: str | None, out: Path, shots: tuple[str, ...]) -> int:
    from PySide6.QtWidgets import QApplication

    from app.core.model_store import ModelStore
    from app.core.offline_model import assemble_into_store, find_package
    from app.core.paths import AppPaths
    from app.core.sampling import GREEDY, PRESETS
    from app.core.settings import AppSettings, SuggestionSettings, Theme, save_settings
    from app.gui.app import create_window

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Ghostpen")
    paths = AppPaths.default()
    paths.ensure()
    store = ModelStore(paths.models_dir)
    if model_arg:
        model = store.add_file(model_arg, mode="reference")
    else:
        package = find_package()
        if package is None:
            print("no model: pass --model, or pip install -e '.[offline]'", file=sys.stderr)
            return 1
        model = assemble_into_store(store, package)
    greedy = GREEDY.with_changes(repeat_penalty=1.1)
    settings = AppSettings(
        model_path=str(model.path),
        sampling=greedy,
        suggestions=SuggestionSettings(max_tokens=32),
    )
    save_settings(settings, paths.settings_file)
    window = create_window(str(model.path), paths=paths)
    window.set_theme(Theme.LIGHT)
    window.resize(900, 440)
    window.zoom(2)
    window.show()

    session = _Session(app, window, out, greedy, PRESETS["balanced"].with_changes(seed=1))
    session.wait_until(lambda: window.controller.model is not None, "the model to load")
    for name in SHOTS:
        if name in shots:
            _SHOT[name](session, model.id)
    window.editor.document().setModified(False)
    window.close()
    return 0


class _Session:
    """The running app and what every shot does with it: type, wait, grab."""

    def __init__(
        self, app: QApplication, window: MainWindow, out: Path, greedy: Any, seeded: Any
    ) -> None:
        self.app = app
        self.window = window
        self.out = out
        self.greedy = greedy  # the suggestions' sampling: the same text every run
        self.seeded = seeded  # the chart's and the draft's: varied, but seeded

    def pause(self, ms: int) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_until(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}: {self.window.banner.text()}")
            self.pause(20)

    def save(self, widget: QWidget, name: str, settle_ms: int = 200) -> None:
        self.pause(settle_ms)  # let layouts and cell widgets settle before the grab
        path = self.out / f"{name}.png"
        self.out.mkdir(parents=True, exist_ok=True)
        if not widget.grab().save(str(path), "PNG", 9):
            raise SystemExit(f"could not write {path}")
        print(f"{path} ({path.stat().st_size // 1024} KiB)")

    def write(self, text: str) -> None:
        from PySide6.QtGui import QTextCursor

        window = self.window
        window.controller.dismiss()
        window.editor.setPlainText(text)
        window.editor.moveCursor(QTextCursor.MoveOperation.End)
        window.editor.setFocus()
        self.app.processEvents()

    def suggest(self, text: str) -> str:
        window = self.window
        self.write(text)
        window.controller.trigger_now()
        self.wait_until(
            lambda: window.controller.idle and bool(window.editor.ghost_text()), "a suggestion"
        )
        return window.editor.ghost_text()

    def use_sampling(self, sampling: Any) -> None:
        window = self.window
        window.apply_settings(dataclasses.replace(window.settings, sampling=sampling))


def _shot_editor(s: _Session, model_id: str) -> None:
    print(f"editor: ghost {s.suggest(STORY)!r}")
    s.save(s.window, "editor")


def _shot_settings_panel(s: _Session, model_id: str) -> None:
    from PySide6.QtCore import Qt

    window = s.window
    s.use_sampling(s.seeded)
    window.resize(1180, 760)
    s.write(CHART)
    chart = window.settings_panel.chart
    chart.set_view(None)
    window.settings_panel.show()
    window.resizeDocks([window.settings_panel], [470], Qt.Orientation.Horizontal)
    s.wait_until(lambda: chart.view is not None, "the next-word chart")
    s.save(window, "settings-panel")
    window.settings_panel.hide()
    s.use_sampling(s.greedy)
    window.resize(900, 440)


def _shot_draft(s: _Session, model_id: str) -> None:
    window = s.window
    s.use_sampling(s.seeded)
    s.write(LETTER)
    pieces: list[int] = []
    window.drafts.progress.connect(lambda n, _rate: pieces.append(n))
    window.generate_draft()
    s.wait_until(lambda: len(pieces) >= 25 or not window.drafts.running, "the draft")
    s.save(window, "draft", settle_ms=0)  # while it is still being written
    print(f"draft: {window.editor.draft_text()!r}")
    window.drafts.stop()
    s.wait_until(lambda: not window.drafts.running, "the draft to stop")
    window.editor.discard_draft()
    s.use_sampling(s.greedy)


def _shot_dark(s: _Session, model_id: str) -> None:
    from app.core.settings import Theme

    s.window.set_theme(Theme.DARK)
    print(f"dark: ghost {s.suggest(NOTES)!r}")
    s.save(s.window, "dark")
    s.window.set_theme(Theme.LIGHT)


def _shot_model_manager(s: _Session, model_id: str) -> None:
    s.write("")
    manager = s.window.model_controller.open_model_manager()
    manager.resize(900, 560)
    manager.select_model(model_id)
    s.save(manager, "model-manager")
    manager.close()


_SHOT: dict[str, Callable[[_Session, str], None]] = {
    "editor": _shot_editor,
    "settings-panel": _shot_settings_panel,
    "draft": _shot_draft,
    "dark": _shot_dark,
    "model-manager": _shot_model_manager,
}


if __name__ == "__main__":
    sys.exit(main())
