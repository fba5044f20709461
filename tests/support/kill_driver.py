"""A real Ghostpen window that types on its own, to be killed with SIGKILL by the kill tests.

Run as ``python -m tests.support.kill_driver --file DOC --script SCRIPT [--interval-ms N]
[--save-every N]`` with ``GHOSTPEN_HOME`` set to a fresh folder. It opens DOC in the real
MainWindow (offscreen, no model: suggestions off), puts the cursor at the end and types
the characters of the SCRIPT file (UTF-8) one per timer tick through real key events,
saving with Ctrl+S's code path every ``--save-every`` characters. Every step is one
flushed stdout line ``<event> <characters typed so far> <time.monotonic()>``:

    ready 0 t          the window is up, typing starts
    typed n t          the n-th character was typed
    saving n t         a save starts
    save-writing n t   the save's temporary file is open and its bytes are being written
                       (a kill now lands in the middle of the save)
    saved n t          the save finished (save-failed: it did not)
    journal-queued n t a snapshot holding n characters went to the journal thread
    journaled n t      the journal thread reported a write (n: typed by then)
    done n t           the script is typed; the window idles until it is killed

CLOCK_MONOTONIC is system-wide on Linux, so the parent compares these times with its
own to know what had been typed some seconds before the kill.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import BinaryIO

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from app.core import documents
from app.core.paths import AppPaths
from app.core.settings import AppSettings, SuggestionSettings, save_settings
from app.gui.app import create_window


def _emit(event: str, count: int) -> None:
    sys.stdout.write(f"{event} {count} {time.monotonic():.6f}\n")
    sys.stdout.flush()


def _type(widget: QWidget, char: str) -> None:
    """One key press and release, as a keyboard sends it (QTest only knows ASCII keys)."""
    if char == "\n":
        QTest.keyClick(widget, Qt.Key.Key_Return)
        return
    key = ord(char.upper()) if char.isascii() and char.isprintable() else Qt.Key.Key_unknown
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, char))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--script", type=Path, required=True, help="UTF-8 text to type")
    parser.add_argument("--interval-ms", type=int, default=15)
    parser.add_argument("--save-every", type=int, default=0, help="save every N characters")
    args = parser.parse_args(argv)
    script = args.script.read_text(encoding="utf-8")

    app = QApplication(sys.argv[:1])
    paths = AppPaths.default()
    paths.ensure()
    save_settings(
        AppSettings(suggestions=SuggestionSettings(auto_suggest=False)), paths.settings_file
    )
    window = create_window(None, str(args.file), paths=paths, choose_model=False)
    window.show()
    if window.document_controller.path is None:
        print(f"could not open {args.file}: {window.banner.text()}", file=sys.stderr)
        return 2
    editor = window.editor
    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor.setTextCursor(cursor)
    editor.setFocus()

    typed = 0
    write_bytes = documents._write_bytes

    def traced_write(fh: BinaryIO, data: bytes) -> None:
        """The save's fault-injection seam, used here only to say where the save is."""
        _emit("save-writing", typed)
        write_bytes(fh, data)

    documents._write_bytes = traced_write
    window.journal_controller.journalQueued.connect(lambda _doc: _emit("journal-queued", typed))
    window.journal_controller.journalWritten.connect(lambda _doc: _emit("journaled", typed))

    def tick() -> None:
        nonlocal typed
        if typed >= len(script):
            timer.stop()
            _emit("done", typed)
            return
        _type(editor, script[typed])
        typed += 1
        _emit("typed", typed)
        if args.save_every and typed % args.save_every == 0:
            _emit("saving", typed)
            _emit("saved" if window.document_controller.save() else "save-failed", typed)

    timer = QTimer(interval=args.interval_ms)
    timer.timeout.connect(tick)
    timer.start()
    _emit("ready", 0)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
