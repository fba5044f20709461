"""Start the app as ``ghostpen`` does, report when the window is painted, then quit."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.bench.footprint import SHOWN


class _FirstPaint(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            print(SHOWN, flush=True)
            watched.removeEventFilter(self)
            QTimer.singleShot(0, lambda: QApplication.exit(0))
        return False


def main() -> None:
    from app.gui.app import create_window

    app = QApplication(sys.argv[:1])
    window = create_window(sys.argv[1] if len(sys.argv) > 1 else None, choose_model=False)
    first_paint = _FirstPaint()
    window.editor.viewport().installEventFilter(first_paint)  # the page itself is drawn
    QTimer.singleShot(60_000, lambda: app.exit(1))  # never hang a benchmark run
    window.show()
    code = app.exec()
    window.editor.document().setModified(False)
    window.close()
    sys.exit(code)


if __name__ == "__main__":
    main()
