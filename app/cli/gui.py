"""``ghostpen gui`` (and ``ghostpen`` with no command): open the editor.

Qt and the window are imported only when the editor really opens, so that every other
command, and ``ghostpen --version``, starts without them.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cli.common import Subcommands


def add_editor_arguments(parser: argparse.ArgumentParser) -> None:
    """What the editor opens: the same with ``ghostpen gui`` and with no command at all."""
    parser.add_argument("--model", "-m", metavar="M", help="a GGUF model file to load")
    parser.add_argument("file", nargs="?", metavar="FILE", help="a text or Markdown file")


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("gui", help="open the editor (the default without a command)")
    add_editor_arguments(p)
    # For smoke tests of a build (packaging/smoke.sh): quit once the window has painted.
    p.add_argument("--quit-after-shown", action="store_true", help=argparse.SUPPRESS)


def cmd_gui(args: argparse.Namespace) -> int:
    from app.gui.app import run_gui

    if getattr(args, "quit_after_shown", False):
        _quit_after_first_paint()
    return run_gui(args.model, args.file)


def _quit_after_first_paint() -> None:
    """``gui --quit-after-shown``: close the editor from its event loop once the main
    window has really painted, so that a smoke test of a build (offscreen) covers the whole
    start, the window and a normal quit (threads stopped, settings saved), and its exit
    status means something. Says so on stderr, so the test can tell it from an early exit.
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from app.gui.main_window import MainWindow

    # The same application run_gui would create; it takes the existing one.
    app = QApplication.instance() or QApplication(sys.argv[:1])

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and isinstance(watched, QWidget):
                window = watched.window()
                if isinstance(window, MainWindow) and window.isVisible():
                    app.removeEventFilter(self)
                    QTimer.singleShot(0, self, lambda: self.quit(window))
            return False

        def quit(self, window: QWidget) -> None:
            size = window.size()
            print(
                f"ghostpen: the main window was shown ({size.width()}x{size.height()}, "
                f"platform {QApplication.platformName()}); quitting",
                file=sys.stderr,
                flush=True,
            )
            QApplication.closeAllWindows()
            QApplication.quit()

    app.installEventFilter(FirstPaint(app))
