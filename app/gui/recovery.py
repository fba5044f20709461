"""The recovery dialog: unsaved writing a crashed session left, to recover or discard.

It lists each journal (newest first) and shows, for the selected one, what differs from
the file on disk now (a unified diff from ``core.journal.compare_with_disk``), or the
whole text of a document that was never saved. Decisions are signals: the window does
the recovering. The dialog never blocks: the app shows it with ``open()``, and tests
call :meth:`recover` / :meth:`discard` / :meth:`select` directly instead of clicking.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFontDatabase, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.journal import DiskComparison, JournalEntry, compare_with_disk
from app.gui.i18n import translated

__all__ = ["RecoveryDialog"]


class _DiffHighlighter(QSyntaxHighlighter):
    """Colours a unified diff: added lines green, removed red, hunk headers blue."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.active = False
        self._formats: dict[str, QTextCharFormat] = {}
        for key, colour in (("+", "#1a7f37"), ("-", "#cf222e"), ("@", "#0969da")):
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            self._formats[key] = fmt

    def highlightBlock(self, text: str) -> None:
        if not self.active or not text or text.startswith(("+++", "---")):
            return
        fmt = self._formats.get(text[0])
        if fmt is not None:
            self.setFormat(0, len(text), fmt)


class RecoveryDialog(QDialog):
    """Recover or discard each journal; "Decide Later" keeps them for the next start."""

    recoverRequested = Signal(object)  # JournalEntry
    discardRequested = Signal(object)  # JournalEntry

    def __init__(self, entries: Sequence[JournalEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Recover Unsaved Writing"))
        self.resize(860, 560)
        self._entries = list(entries)
        self._compared: dict[str, DiskComparison] = {}

        intro = QLabel(
            self.tr(
                "Ghostpen did not close properly last time. These documents had changes "
                "that were not saved. Recover each one to keep working on it (it stays "
                "unsaved until you save it), or discard it for good."
            )
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName(self.tr("Unsaved documents"))
        self.list.setAccessibleDescription(
            self.tr("Choose a document to see what differs from the file on disk.")
        )
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.diff_view = QPlainTextEdit(readOnly=True)
        self.diff_view.setAccessibleName(self.tr("Changes not saved"))
        self.diff_view.setTabChangesFocus(True)  # read-only: Tab moves on to the buttons
        self.diff_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.diff_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._highlighter = _DiffHighlighter(self.diff_view.document())

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.summary)
        right_layout.addWidget(self.diff_view, 1)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)

        self.recover_button = QPushButton(self.tr("&Recover"))
        self.recover_button.setDefault(True)
        self.discard_button = QPushButton(self.tr("&Discard"))
        self.discard_button.setToolTip(self.tr("Delete this unsaved text for good"))
        self.later_button = QPushButton(self.tr("Decide &Later"))
        self.later_button.setToolTip(self.tr("Keep the unsaved text; it is offered again"))
        self.recover_button.setToolTip(self.tr("Open this text in a window, unsaved"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.recover_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

        self.recover_button.clicked.connect(lambda: self.recover())
        self.discard_button.clicked.connect(lambda: self.discard())
        self.later_button.clicked.connect(self.reject)
        self.list.currentRowChanged.connect(self._show)
        self._fill()
        self.setTabOrder(self.list, self.diff_view)
        self.setTabOrder(self.diff_view, self.recover_button)
        self.setTabOrder(self.recover_button, self.discard_button)
        self.setTabOrder(self.discard_button, self.later_button)
        self.list.setFocus()

    # -- what tests and the window use

    def entries(self) -> list[JournalEntry]:
        """The journals still waiting for a decision, in the order shown."""
        return list(self._entries)

    def select(self, row: int) -> None:
        self.list.setCurrentRow(row)

    def comparison(self, row: int | None = None) -> DiskComparison:
        """The comparison with the disk for a row (the selected one by default), cached."""
        entry = self._entries[self._row(row)]
        if entry.doc_id not in self._compared:
            self._compared[entry.doc_id] = compare_with_disk(entry)
        return self._compared[entry.doc_id]

    def shown_text(self) -> str:
        """What the right-hand pane shows now (the diff, or the text itself)."""
        return self.diff_view.toPlainText()

    def recover(self, row: int | None = None) -> JournalEntry:
        """Recover a row (the selected one by default); closes when none are left."""
        entry = self._take(row)
        self.recoverRequested.emit(entry)
        return entry

    def discard(self, row: int | None = None) -> JournalEntry:
        """Discard a row's journal for good (the selected one by default)."""
        entry = self._take(row)
        self.discardRequested.emit(entry)
        return entry

    # -- inside

    def _row(self, row: int | None) -> int:
        index = self.list.currentRow() if row is None else row
        if not 0 <= index < len(self._entries):
            raise IndexError(f"no recoverable document at row {index}")
        return index

    def _take(self, row: int | None) -> JournalEntry:
        index = self._row(row)
        entry = self._entries.pop(index)
        self._compared.pop(entry.doc_id, None)
        self.list.takeItem(index)
        if self._entries:
            self.list.setCurrentRow(min(index, len(self._entries) - 1))
        else:
            self.accept()
        return entry

    def _fill(self) -> None:
        self.list.clear()
        autosaved = self.tr("autosaved")
        for entry in self._entries:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.written_at))
            where = str(entry.path) if entry.path is not None else self.tr("never saved")
            self.list.addItem(f"{translated(entry.title)}\n{where}\n{autosaved} {when}")
        if self._entries:
            self.list.setCurrentRow(0)

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self._entries):
            self.summary.clear()
            self.diff_view.clear()
            return
        entry = self._entries[row]
        compared = self.comparison(row)
        self.summary.setText(translated(compared.summary))
        self._highlighter.active = bool(compared.diff)
        self.diff_view.setPlainText(translated(compared.diff) or entry.text)
