"""GhostTextEdit: a plain-text editor that shows suggestions inline as grey ghost text.

The ghost is drawn with Qt's input-method *preedit* area of the cursor's text layout:
the same mechanism that shows uncommitted text while composing Chinese or Japanese.
Preedit text is laid out inline (the rest of the line moves right, long ghosts wrap, the
font, zoom and HiDPI scaling apply) but it is not in the document: it is never saved,
copied, counted, or put on the undo stack. Line breaks in the ghost are shown as Unicode
line separators, which a text layout breaks on within one block.

The widget stays thin: it routes keys and paints; when to ask for a suggestion and what
to show is the :class:`SuggestionController`'s decision.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QKeyEvent,
    QMouseEvent,
    QPaintEvent,
    QPalette,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextLayout,
)
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.core.ghost import split_line, split_word, type_through
from app.core.textpos import index_from_utf16, utf16_len
from app.gui.drafts import DraftController
from app.gui.suggestions import SuggestionController

LINE_SEPARATOR = "\u2028"
PARAGRAPH_SEPARATOR = "\u2029"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
GHOST_OPACITY = 0.45


class GhostTextEdit(QPlainTextEdit):
    """The editor. ``ghost_text()`` is what is shown; ``ghostAccepted`` reports accepts."""

    ghostAccepted = Signal(str)  # the text that went into the document
    ghostPainted = Signal(str)  # a new ghost reached the screen (latency measurement seam)

    def __init__(
        self,
        controller: SuggestionController,
        drafts: DraftController | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._drafts = drafts
        self._ghost = ""
        self._draft = ""
        self._ghost_block: QTextBlock | None = None
        self._ghost_unpainted = False
        self._moved_by_edit = False  # the cursor move that comes with an edit is not a move
        self._quiet = 0  # >0 while the editor itself changes text or layout
        self._revision = self.document().revision()
        self.setTabChangesFocus(False)
        self.setAccessibleName("Document")
        self.document().setDocumentMargin(14)  # room to breathe around the prose
        self.document().setModified(False)  # a layout setting is not an edit
        # PySide builds the Python types of QtWidgets' enums on the first call that returns
        # the viewport (about 30 ms): paid here, at start-up, not when the first ghost shows.
        self.viewport()
        controller.attach(self)
        controller.ghostChanged.connect(self._show_ghost)
        if drafts is not None:
            drafts.attach(self)
            drafts.draftChanged.connect(self._show_draft)
        self.document().contentsChange.connect(self._on_contents_change)
        self.cursorPositionChanged.connect(self._on_cursor_moved)

    # ----------------------------------------------------------------- the seam

    def ghost_text(self) -> str:
        return self._ghost

    def draft_text(self) -> str:
        """The pending draft (shown, not yet in the document)."""
        return self._draft

    # DocumentSource for the controller
    def text_around_cursor(self, before: int, after: int) -> tuple[str, int]:
        pos = self.textCursor().position()
        end_of_doc = self.document().characterCount() - 1
        head = self._span(max(0, pos - before), pos)
        return head + self._span(pos, min(end_of_doc, pos + after)), len(head)

    def _span(self, start: int, end: int) -> str:
        """Plain text between two Qt positions (a cut inside a surrogate pair drops it)."""
        span = QTextCursor(self.document())
        span.setPosition(start)
        span.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        text = span.selectedText().replace(PARAGRAPH_SEPARATOR, "\n")
        return _LONE_SURROGATE.sub("", text)

    def line_around_cursor(self) -> tuple[str, str]:
        cursor = self.textCursor()
        line = cursor.block().text()
        at = index_from_utf16(line, cursor.positionInBlock())
        return line[:at], line[at:]

    # ----------------------------------------------------------------- actions

    def accept_all(self) -> bool:
        return self._accept(self._ghost, "")

    def accept_word(self) -> bool:
        return self._accept(*split_word(self._ghost))

    def accept_line(self) -> bool:
        return self._accept(*split_line(self._ghost))

    def dismiss(self) -> bool:
        if not self._ghost:
            return False
        self._controller.dismiss()
        return True

    def accept_draft(self) -> bool:
        """Put the pending draft into the document as one undo step."""
        if self._drafts is None or not self._draft:
            return False
        self._drafts.stop()
        text = self._draft
        self._insert_quietly(text)
        self._drafts.accept()
        return True

    def discard_draft(self) -> bool:
        if self._drafts is None or not self._drafts.pending:
            return False
        self._drafts.discard()
        return True

    def _insert_quietly(self, text: str) -> None:
        """Insert as one undo step without the edit counting as the writer's typing."""
        self._quiet += 1
        try:
            self._clear_layout()
            cursor = self.textCursor()
            cursor.beginEditBlock()
            cursor.insertText(text)
            cursor.endEditBlock()
            self.setTextCursor(cursor)
            self._revision = self.document().revision()
        finally:
            self._quiet -= 1

    def _accept(self, part: str, rest: str) -> bool:
        """Insert ``part`` of the ghost as one undo step; ``rest`` stays shown."""
        if not self._ghost or not part:
            return False
        self._insert_quietly(part)
        self._ghost = ""
        self.ghostAccepted.emit(part)
        if rest:
            self._show_ghost(rest)
        self._controller.ghost_consumed(part, rest)
        return True

    # ----------------------------------------------------------------- keys

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self._moved_by_edit = False
        key, mods = event.key(), event.modifiers()
        alt = mods & Qt.KeyboardModifier.AltModifier
        if alt and key == Qt.Key.Key_Backslash:
            self._controller.trigger_now()
            return
        if alt and key in (Qt.Key.Key_BracketRight, Qt.Key.Key_BracketLeft):
            self._controller.next_alternative(1 if key == Qt.Key.Key_BracketRight else -1)
            return
        drafts = self._drafts
        if drafts is not None and drafts.pending and self._draft_key(drafts, event):
            return
        if self._ghost and self._ghost_key(event):
            return
        super().keyPressEvent(event)

    def _draft_key(self, drafts: DraftController, event: QKeyEvent) -> bool:
        """A key while a draft is pending; True when it was the draft's (Esc, Tab)."""
        key, mods = event.key(), event.modifiers()
        if key == Qt.Key.Key_Escape:
            if drafts.running:
                drafts.stop()
            else:
                drafts.discard()
            return True
        if key == Qt.Key.Key_Tab and not mods and self.accept_draft():
            return True
        if event.text() or key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            drafts.discard()  # writing on: the draft was not wanted
        return False

    def _ghost_key(self, event: QKeyEvent) -> bool:
        """A key while a ghost shows; True when it accepted, dismissed or typed through it."""
        key, mods = event.key(), event.modifiers()
        alt = mods & Qt.KeyboardModifier.AltModifier
        ctrl = mods & Qt.KeyboardModifier.ControlModifier
        if key == Qt.Key.Key_Tab and not mods and self.accept_all():
            return True
        if key == Qt.Key.Key_Backtab and self.accept_line():
            return True
        if key == Qt.Key.Key_Right and ctrl and self.accept_word():
            return True
        if key == Qt.Key.Key_Escape and self.dismiss():
            return True
        typed = event.text()
        if typed and typed.isprintable() and not (ctrl or alt):
            rest = type_through(self._ghost, typed)
            if rest is not None:
                self._type_through(event, typed, rest)
                return True
        return False

    def _type_through(self, event: QKeyEvent, typed: str, rest: str) -> None:
        """Let Qt insert the typed character (normal typing and undo), keep the rest."""
        self._quiet += 1
        try:
            self._clear_layout()
            super().keyPressEvent(event)
            self._revision = self.document().revision()
        finally:
            self._quiet -= 1
        self._ghost = ""
        if rest:
            self._show_ghost(rest)
        self._controller.ghost_consumed(typed, rest)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        # before Qt maps the click: the layout must not hold pending text
        self.dismiss()
        self.discard_draft()
        super().mousePressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self.dismiss()
        super().focusOutEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            if self._ghost:
                self._show_ghost(self._ghost)  # recolour / re-lay out
            elif self._draft:
                self._show_draft(self._draft)

    # ----------------------------------------------------------------- document events

    def _on_contents_change(self, _position: int, removed: int, added: int) -> None:
        if self._quiet:
            return
        revision = self.document().revision()
        if revision == self._revision:
            return  # a layout refresh (markContentsDirty), not an edit
        self._revision = revision
        self.discard_draft()  # any edit (paste, undo, open...) ends a pending draft
        if self._ghost:
            self._quiet += 1
            try:
                self._clear_layout()
            finally:
                self._quiet -= 1
            self._ghost = ""
        if removed or added:
            self._moved_by_edit = True
            self._controller.text_edited()

    def _on_cursor_moved(self) -> None:
        if self._quiet or self.document().revision() != self._revision:
            return  # an edit: the contents handler deals with it
        if self._moved_by_edit:
            self._moved_by_edit = False
            return
        # A request may be in flight with no ghost yet: its answer belongs where it was
        # asked, so a move drops it too.
        if self._ghost or not self._controller.idle:
            self._controller.cursor_moved()
        self.discard_draft()  # a draft belongs where it was written

    # ----------------------------------------------------------------- painting

    def ghost_color(self) -> QColor:
        """The text colour blended into the background: readable, clearly not text."""
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        base = palette.color(QPalette.ColorRole.Base)
        a = GHOST_OPACITY
        return QColor.fromRgbF(
            text.redF() * a + base.redF() * (1 - a),
            text.greenF() * a + base.greenF() * (1 - a),
            text.blueF() * a + base.blueF() * (1 - a),
        )

    def _show_ghost(self, text: str) -> None:
        if not text and not self._ghost:
            return  # nothing shown: leave a draft's display alone
        self._ghost = text if self._place(text, self._ghost_format()) else ""
        self._ghost_unpainted = bool(self._ghost)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._ghost_unpainted:
            self._ghost_unpainted = False
            if self._ghost:  # cleared before it reached the screen: nothing was shown
                self.ghostPainted.emit(self._ghost)

    def _show_draft(self, text: str) -> None:
        if not text and not self._draft:
            return
        self._draft = text if self._place(text, self._draft_format()) else ""

    def _ghost_format(self) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setForeground(self.ghost_color())
        return fmt

    def _draft_format(self) -> QTextCharFormat:
        """A draft is marked: ghost-coloured text on a faint highlight band."""
        fmt = self._ghost_format()
        band = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        band.setAlpha(40)
        fmt.setBackground(band)
        return fmt

    def _place(self, text: str, fmt: QTextCharFormat) -> bool:
        """Show ``text`` at the cursor in the layout's preedit area (or clear it)."""
        self._quiet += 1
        try:
            self._clear_layout()
            cursor = self.textCursor()
            if not text or cursor.hasSelection():
                return False
            block = cursor.block()
            at = cursor.positionInBlock()
            shown = text.replace("\r\n", "\n").replace("\n", LINE_SEPARATOR)
            layout = block.layout()
            layout.setPreeditArea(at, shown)
            span = QTextLayout.FormatRange()
            span.start, span.length, span.format = at, utf16_len(shown), fmt
            layout.setFormats([span])
            self._ghost_block = QTextBlock(block)
            self.document().markContentsDirty(block.position(), block.length())
            self.viewport().update()
            self.ensureCursorVisible()
            return True
        finally:
            self._quiet -= 1

    def _clear_layout(self) -> None:
        block, self._ghost_block = self._ghost_block, None
        if block is None or not block.isValid():
            return
        layout = block.layout()
        layout.setPreeditArea(-1, "")
        layout.clearFormats()
        self.document().markContentsDirty(block.position(), block.length())
        self.viewport().update()

    def word_count(self) -> int:
        """Words of the document (the ghost is not part of it)."""
        return len(self.toPlainText().split())
