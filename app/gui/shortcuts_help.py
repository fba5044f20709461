"""Help ▸ Keyboard Shortcuts: every shortcut of the window, read from its real actions.

The page is generated, never written by hand: it walks the menu bar's QActions (menu
path, text, shortcut in the platform's own notation) and adds the editor's suggestion
and draft keys from :mod:`app.gui.keymap`, so it cannot drift from what the keys do.
A menu action that only displays an editor key carries the key's id in its
``editorKey`` property; its row then says when the key applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication, QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMenuBar,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.keymap import CONTEXT, EDITOR_KEYS, KEYS, EditorKey

#: The dynamic property naming the keymap entry a display-only menu action stands for.
EDITOR_KEY_PROPERTY = "editorKey"
_MNEMONIC = re.compile(r"&(.)")


def plain_text(text: str) -> str:
    """A menu text without its mnemonic marker ("Save &As…" -> "Save As…", "&&" -> "&")."""
    return _MNEMONIC.sub(r"\1", text)


def native(sequences: list[QKeySequence]) -> str:
    """Shortcuts as the platform writes them (⌘S on macOS, Ctrl+S elsewhere)."""
    texts = (s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)
    return ", ".join(t for t in texts if t)


@dataclass(frozen=True)
class ShortcutRow:
    keys: str
    command: str
    menu: str  # "Suggest", "View ▸ Theme"; the editor's own keys: "Editor"
    when: str = ""  # empty: whenever the window is active
    action: QAction | None = field(default=None, compare=False)


def menu_actions(menu_bar: QMenuBar) -> list[tuple[str, QAction]]:
    """Every action of the menus, depth first in menu order, with its menu path."""
    found: list[tuple[str, QAction]] = []

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub, f"{path} ▸ {plain_text(sub.title())}")
            elif not action.isSeparator():
                found.append((path, action))

    for top in menu_bar.actions():
        sub = top.menu()
        if isinstance(sub, QMenu):
            walk(sub, plain_text(sub.title()))
    return found


def _tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def shortcut_rows(
    menu_bar: QMenuBar, editor_keys: tuple[EditorKey, ...] = EDITOR_KEYS
) -> list[ShortcutRow]:
    """The rows of the page: the menus' shortcuts, then editor keys no menu shows."""
    rows: list[ShortcutRow] = []
    shown: set[str] = set()
    for path, action in menu_actions(menu_bar):
        keys = native(action.shortcuts())
        if not keys:
            continue
        key = KEYS.get(str(action.property(EDITOR_KEY_PROPERTY) or ""))
        if key is not None:
            shown.add(key.id)
        when = _tr(key.when) if key is not None else ""
        rows.append(ShortcutRow(keys, plain_text(action.text()), path, when, action))
    editor = QCoreApplication.translate("ShortcutsDialog", "Editor")
    for key in editor_keys:
        if key.id not in shown:
            keys = native([QKeySequence(key.sequence)])
            rows.append(ShortcutRow(keys, _tr(key.does), editor, _tr(key.when)))
    return rows


class _FilterEdit(QLineEdit):
    """Down or Page Down moves from the filter into the list (as in a search field)."""

    def __init__(self, table: QTableView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._table = table

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown, Qt.Key.Key_Return):
            model = self._table.model()
            if model.rowCount():
                self._table.setFocus()
                self._table.selectRow(0)
            return
        super().keyPressEvent(event)


class ShortcutsDialog(QDialog):
    """Non-modal, so it can stay open beside the text while the writer tries the keys."""

    def __init__(self, menu_bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard Shortcuts"))
        self.setObjectName("shortcutsDialog")
        self.resize(720, 520)
        self.rows = shortcut_rows(menu_bar)

        self.model = QStandardItemModel(0, 4, self)
        self.model.setHorizontalHeaderLabels(
            [self.tr("Shortcut"), self.tr("Command"), self.tr("Menu"), self.tr("When")]
        )
        for row in self.rows:
            items = [QStandardItem(text) for text in (row.keys, row.command, row.menu, row.when)]
            for item in items:
                item.setEditable(False)
            self.model.appendRow(items)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)  # every column
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the list, arrows move in it
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setAccessibleName(self.tr("Keyboard shortcuts"))

        self.filter = _FilterEdit(self.table)
        self.filter.setPlaceholderText(self.tr("Type to filter: a key, a command or a menu"))
        self.filter.setClearButtonEnabled(True)
        for clear in self.filter.findChildren(QToolButton):  # Qt leaves its button unnamed
            clear.setAccessibleName(self.tr("Clear the filter"))
        self.filter.setAccessibleName(self.tr("Filter shortcuts"))
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        label = QLabel(self.tr("&Filter:"))
        label.setBuddy(self.filter)
        hint = QLabel(
            self.tr(
                "Menus open with Alt and the underlined letter. "
                "Editor keys act on the grey suggestion or the draft at the cursor."
            )
        )
        hint.setWordWrap(True)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(label)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.setTabOrder(self.filter, self.table)
        self.setTabOrder(self.table, buttons)
        self.filter.setFocus()

    def shown_rows(self) -> list[ShortcutRow]:
        """The rows the filter lets through, in display order."""
        return [
            self.rows[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
            for r in range(self.proxy.rowCount())
        ]

    def set_filter(self, text: str) -> None:
        self.filter.setText(text)
