"""Screenshot of the real app for the README: the editor with a live ghost suggestion.

    python docs/screenshots/take_screenshot.py --model MODEL.gguf [--out editor.png]

It runs the real window offscreen (or on $DISPLAY, e.g. under Xvfb), loads the model,
types a paragraph, waits for the model's suggestion and saves a PNG. Settings go to a
temporary folder, so the user's own are untouched. Greedy sampling makes it repeatable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

TEXT = (
    "The storm had passed by morning. Mara walked down to the harbour, where the "
    "fishing boats lay tilted on the wet sand, and the old lighthouse keeper was "
    "already mending his nets. He looked up as she came closer and"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a GGUF model file")
    parser.add_argument("--out", default=str(Path(__file__).with_name("editor.png")))
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["GHOSTPEN_HOME"] = tempfile.mkdtemp(prefix="ghostpen-shot-")

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QApplication

    from app.core.paths import AppPaths
    from app.core.sampling import GREEDY
    from app.core.settings import AppSettings, SuggestionSettings, save_settings
    from app.gui.app import create_window

    app = QApplication(sys.argv[:1])
    paths = AppPaths.default()
    sampling = GREEDY.with_changes(repeat_penalty=1.1)
    save_settings(
        AppSettings(sampling=sampling, suggestions=SuggestionSettings(max_tokens=32)),
        paths.settings_file,
    )
    window = create_window(args.model, paths=paths)
    window.resize(900, 420)
    window.zoom(2)
    window.show()

    def wait(signal: object, timeout_ms: int = 60_000) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()

    wait(window.controller.modelChanged)
    if not window.controller.enabled:
        print(f"the model did not load: {window.banner.text()}", file=sys.stderr)
        return 1
    window.editor.setPlainText(TEXT)
    window.editor.moveCursor(QTextCursor.MoveOperation.End)
    window.editor.setFocus()
    window.controller.trigger_now()
    wait(window.controller.statsChanged)
    app.processEvents()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(args.out)
    print(f"{args.out}: ghost {window.editor.ghost_text()!r}")
    window.editor.document().setModified(False)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
