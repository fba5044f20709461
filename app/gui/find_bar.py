"""Find / Replace bar under the editor (Ctrl+F, Ctrl+H): no modal dialog in the way."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)


class FindBar(QWidget):
    def __init__(self, editor: QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editor = editor
        self.find_edit = QLineEdit(placeholderText=self.tr("Find"))
        self.find_edit.setAccessibleName(self.tr("Find text"))
        self.replace_edit = QLineEdit(placeholderText=self.tr("Replace with"))
        self.replace_edit.setAccessibleName(self.tr("Replacement text"))
        self.case = QCheckBox(self.tr("Match &case"))
        self.status = QLabel()
        self.status.setAccessibleName(self.tr("Find result"))
        # Mnemonics avoid the menu bar's letters (F, E, S, V, H): they act while the bar shows.
        buttons = [
            (self.tr("&Previous"), self.tr("Find previous"), lambda: self.find_next(backward=True)),
            (self.tr("&Next"), self.tr("Find next"), lambda: self.find_next()),
            (self.tr("&Replace"), self.tr("Replace this match"), self.replace),
            (self.tr("Replace &all"), self.tr("Replace all matches"), self.replace_all),
            (self.tr("Close"), self.tr("Close the find bar (Esc)"), self.close_bar),
        ]
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.find_edit, 2)
        layout.addWidget(self.replace_edit, 2)
        layout.addWidget(self.case)
        self.buttons: list[QPushButton] = []
        for label, name, slot in buttons:
            button = QPushButton(label)
            button.setAccessibleName(name)
            button.clicked.connect(slot)
            layout.addWidget(button)
            self.buttons.append(button)
        # The replace buttons only make sense with the replace field.
        self._replace_widgets: list[QWidget] = [self.replace_edit, *self.buttons[2:4]]
        layout.addWidget(self.status, 1)
        self.find_edit.returnPressed.connect(self.find_next)
        self.replace_edit.returnPressed.connect(self.replace)
        self.hide()

    def open(self, *, replace: bool) -> None:
        for widget in self._replace_widgets:
            widget.setVisible(replace)
        selected = self._editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.find_edit.setText(selected)
        self.show()
        self.find_edit.setFocus()
        self.find_edit.selectAll()

    def _flags(self, backward: bool = False) -> QTextDocument.FindFlag:
        flags = QTextDocument.FindFlag(0)
        if self.case.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        return flags

    def find_next(self, *, backward: bool = False) -> bool:
        needle = self.find_edit.text()
        if not needle:
            return False
        if self._editor.find(needle, self._flags(backward)):
            self.status.clear()
            return True
        # wrap around once
        cursor = self._editor.textCursor()
        cursor.movePosition(
            QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start
        )
        self._editor.setTextCursor(cursor)
        found = self._editor.find(needle, self._flags(backward))
        self.status.setText("" if found else self.tr("Not found"))
        return found

    def replace(self) -> None:
        cursor = self._editor.textCursor()
        if cursor.hasSelection() and self._matches(cursor.selectedText()):
            cursor.insertText(self.replace_edit.text())
        self.find_next()

    def replace_all(self) -> int:
        """Replace every match as one undo step; returns the count."""
        needle = self.find_edit.text()
        if not needle:
            return 0
        doc = self._editor.document()
        count = 0
        edit = QTextCursor(doc)
        edit.beginEditBlock()
        cursor = doc.find(needle, 0, self._flags())
        while not cursor.isNull():
            cursor.insertText(self.replace_edit.text())
            count += 1
            cursor = doc.find(needle, cursor, self._flags())
        edit.endEditBlock()
        self.status.setText(self.tr("%n replaced", "", count))
        return count

    def _matches(self, text: str) -> bool:
        needle = self.find_edit.text()
        return text == needle if self.case.isChecked() else text.lower() == needle.lower()

    def close_bar(self) -> None:
        """Hide the bar and give the keyboard back to the text."""
        self.hide()
        self._editor.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return
        super().keyPressEvent(event)
