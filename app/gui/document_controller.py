"""DocumentController: the file the editor holds, opened and saved.

The core reads and writes the bytes (``app.core.documents``: encodings, byte order marks,
line endings, the stamp that tells whether another program changed the file); this
adapter keeps the current document's state (its path, format, stamp and journal id),
asks the writer what to do when the file changed on disk, and reports what happened as
signals the window shows. The question about a changed file is an injected callable, so
a test or a script answers it without a modal dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.core.documents import (
    DEFAULT_FORMAT,
    DiskChange,
    DiskStamp,
    DocumentError,
    TextFormat,
    disk_change,
    load_document,
    save_document,
)
from app.core.journal import JournalEntry, Snapshot, new_doc_id
from app.gui.editor import GhostTextEdit
from app.gui.i18n import QT_TRANSLATE_NOOP, tr_format, translated
from app.gui.suggestions import SuggestionController

DOCUMENT_FILTER = str(
    QT_TRANSLATE_NOOP(
        "DocumentController", "Text and Markdown (*.txt *.md *.markdown *.text);;All files (*)"
    )
)


class ConflictChoice(Enum):
    """The writer's answer when the file changed on disk since it was opened or saved."""

    OVERWRITE = "overwrite"
    SAVE_AS = "save_as"
    CANCEL = "cancel"


#: Asks what to do with a file another program changed or removed (the path, the change).
ConflictResolver = Callable[[Path, DiskChange], ConflictChoice]


class DocumentController(QObject):
    """Open, save, save as, new: the document's path, format, disk stamp and journal id."""

    #: Saved to this path (str).
    documentSaved = Signal(str)
    #: The buffer holds another document now; the previous one's journal id (str).
    replaced = Signal(str)
    #: The text changed (the journal schedules a snapshot).
    edited = Signal()
    #: A file was opened or saved under a new name (a Path): it goes in Open Recent.
    fileUsed = Signal(object)
    #: The name or the modified state to show changed.
    titleChanged = Signal()
    #: A message for the banner ("" clears it).
    notice = Signal(str)
    #: A passing message for the status bar, and for how long (ms).
    statusMessage = Signal(str, int)

    def __init__(
        self,
        editor: GhostTextEdit,
        suggestions: SuggestionController,
        window: QWidget,
        resolve_conflict: ConflictResolver | None = None,
    ) -> None:
        super().__init__(window)
        self._editor = editor
        self._suggestions = suggestions
        self._window = window  # the parent of every dialog
        #: The question a save asks when the file changed on disk (default: a dialog).
        self.resolve_conflict: ConflictResolver = resolve_conflict or self.ask_about_conflict
        self._path: Path | None = None
        self._format: TextFormat = DEFAULT_FORMAT
        self._stamp: DiskStamp | None = None  # the file as last opened or saved
        self._doc_id = new_doc_id()
        editor.document().contentsChanged.connect(self.edited)

    # ----------------------------------------------------------------- state

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def doc_id(self) -> str:
        """The document's journal id (the journal file's name)."""
        return self._doc_id

    def title(self) -> str:
        return self._path.name if self._path else self.tr("Untitled")

    def is_pristine(self) -> bool:
        """An untitled, empty, unmodified document: free to hold a recovered one."""
        doc = self._editor.document()
        return self._path is None and not doc.isModified() and doc.isEmpty()

    def snapshot(self) -> Snapshot | None:
        """The unsaved text for the journal; None when there is nothing to keep: an
        unmodified document (saved, or undone back to the saved text) or an empty
        untitled one. Only the copy of the text happens here, on the GUI thread."""
        doc = self._editor.document()
        if not doc.isModified() or (self._path is None and doc.isEmpty()):
            return None
        text = self._editor.toPlainText()
        return Snapshot(self._doc_id, text, self._path, self._format, self._stamp)

    def _reset(self, text: str, path: Path | None, fmt: TextFormat) -> None:
        """Replace the buffer; the previous document's journal goes (the caller decided)."""
        self._suggestions.dismiss()
        self._editor.discard_draft()
        previous, self._doc_id = self._doc_id, new_doc_id()
        self._editor.setPlainText(text)
        self._path, self._format = path, fmt
        self._editor.document().setModified(False)
        self.replaced.emit(previous)

    def restore(self, entry: JournalEntry) -> None:
        """Put recovered text in the buffer, unsaved, under the journal's own id."""
        self._reset(entry.text, entry.path, entry.format)
        self._stamp = entry.disk  # a save then asks if the file changed since the crash
        self._doc_id = entry.doc_id
        self._editor.document().setModified(True)
        self.titleChanged.emit()

    # ----------------------------------------------------------------- opening

    def new_document(self) -> None:
        if not self.maybe_save():
            return
        self._reset("", None, DEFAULT_FORMAT)
        self._stamp = None
        self.titleChanged.emit()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self._path.parent) if self._path else ""
        path, _ = QFileDialog.getOpenFileName(
            self._window, self.tr("Open"), start, self.tr(DOCUMENT_FILTER)
        )
        if path:
            self.open_file(path)

    def open_recent(self, path: str) -> None:
        if self.maybe_save():
            self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        """Load ``path`` into the editor; on failure the current text stays as it was."""
        try:
            doc = load_document(path)
        except DocumentError as exc:
            self.notice.emit(translated(exc.text))
            return False
        self._reset(doc.text, doc.path, doc.format)
        self._stamp = doc.stamp
        self.notice.emit(translated(doc.notice or ""))
        self.fileUsed.emit(doc.path)
        self.titleChanged.emit()
        return True

    def maybe_save(self) -> bool:
        """Ask before discarding unsaved changes; False means the writer cancelled."""
        if not self._editor.document().isModified():
            return True
        answer = QMessageBox.question(
            self._window,
            self.tr("Unsaved changes"),
            tr_format(self.tr("Save the changes to %1 first?"), self.title()),
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # ----------------------------------------------------------------- saving

    def save(self) -> bool:
        """Save in place, asking first when another program changed or removed the file."""
        if self._path is None:
            return self.save_as()
        path = self._path
        if self._stamp is not None:
            change = disk_change(path, self._stamp)
            if change is DiskChange.DELETED and not path.parent.is_dir():
                return self._write(path)  # the save says precisely that the folder is gone
            if change is not DiskChange.UNCHANGED:
                choice = self.resolve_conflict(path, change)
                if choice is ConflictChoice.SAVE_AS:
                    return self.save_as()
                if choice is ConflictChoice.CANCEL:
                    self.notice.emit(
                        tr_format(
                            self.tr("Not saved: %1 The file on disk was left as it is."),
                            self._conflict_text(path, change),
                        )
                    )
                    return False
        return self._write(path)

    def save_as(self) -> bool:
        start = str(self._path) if self._path else ""
        path, _ = QFileDialog.getSaveFileName(
            self._window, self.tr("Save As"), start, self.tr(DOCUMENT_FILTER)
        )
        return bool(path) and self.save_to(path)

    def save_as_utf8(self) -> bool:
        """Save As, in UTF-8 from now on: the way out when the file's own encoding (a
        legacy 8-bit one) cannot store a character the writer typed. Line endings stay."""
        previous = self._format
        self._format = TextFormat("utf-8", bom=False, newline=previous.newline)
        if self.save_as():
            return True
        self._format = previous
        return False

    def save_to(self, path: str | Path) -> bool:
        """Save under a new name (the tests' and scripts' way around the dialog)."""
        if self._write(Path(path)):
            self._path = Path(path)
            self.fileUsed.emit(self._path)
            self.titleChanged.emit()
            return True
        return False

    def _write(self, path: Path) -> bool:
        try:
            stamp = save_document(path, self._editor.toPlainText(), self._format)
        except DocumentError as exc:
            # The buffer and its journal stay: the writing is safe while the writer decides.
            self.notice.emit(tr_format(self.tr("Not saved: %1"), exc.text))
            return False
        self._stamp = stamp
        self._editor.document().setModified(False)
        self.notice.emit("")
        self.statusMessage.emit(tr_format(self.tr("Saved %1"), path), 3000)
        self.documentSaved.emit(str(path))  # the journal has done its job: it goes
        return True

    # ----------------------------------------------------------------- the file changed on disk

    def _conflict_text(self, path: Path, change: DiskChange) -> str:
        if change is DiskChange.DELETED:
            text = self.tr(
                "“%1” was deleted or moved by another program since you opened or last saved it."
            )
        else:
            text = self.tr(
                "“%1” was changed on disk by another program since you opened or last saved it."
            )
        return tr_format(text, path.name)

    def disk_conflict_box(self, path: Path, change: DiskChange) -> QMessageBox:
        """The question (not shown yet); each button's ``choice`` property is its answer."""
        box = QMessageBox(self._window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("File changed on disk"))
        box.setText(self._conflict_text(path, change))
        box.setInformativeText(
            self.tr(
                "Overwrite it with your version, save your version under another name, "
                "or cancel and keep both as they are?"
            )
            if change is DiskChange.MODIFIED
            else self.tr("Save your version there again, under another name, or cancel?")
        )
        first = self.tr("Overwrite") if change is DiskChange.MODIFIED else self.tr("Save Again")
        for label, role, choice in (
            (first, QMessageBox.ButtonRole.DestructiveRole, ConflictChoice.OVERWRITE),
            (self.tr("Save As…"), QMessageBox.ButtonRole.AcceptRole, ConflictChoice.SAVE_AS),
            (self.tr("Cancel"), QMessageBox.ButtonRole.RejectRole, ConflictChoice.CANCEL),
        ):
            button = box.addButton(label, role)
            button.setProperty("choice", choice.value)
            if choice is ConflictChoice.CANCEL:
                box.setDefaultButton(button)
                box.setEscapeButton(button)
        return box

    @staticmethod
    def conflict_choice(box: QMessageBox) -> ConflictChoice:
        """The answer a finished :meth:`disk_conflict_box` was given (Esc: Cancel)."""
        button = box.clickedButton()
        value = button.property("choice") if button is not None else None
        return ConflictChoice(value) if value else ConflictChoice.CANCEL

    def ask_about_conflict(self, path: Path, change: DiskChange) -> ConflictChoice:
        """The default :data:`ConflictResolver`: ask the writer in a modal dialog."""
        box = self.disk_conflict_box(path, change)
        box.exec()
        return self.conflict_choice(box)
