"""JournalController: the autosave journal's timers, and recovery after a crash.

The core's :class:`~app.core.journal.JournalStore` encodes and writes each snapshot on
its own thread; this adapter decides when to hand it one (about a second after the last
edit, at most 1.5 s after the first unsaved one), forgets the journal of a document that
was saved or replaced, re-emits the journal thread's reports on the GUI thread, and
offers what dead sessions left in a :class:`~app.gui.recovery.RecoveryDialog`.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.core.journal import JournalEntry, JournalStore
from app.gui.document_controller import DocumentController
from app.gui.i18n import tr_format
from app.gui.recovery import RecoveryDialog

#: The journal is written this long after the last edit...
JOURNAL_DEBOUNCE_MS = 1000
#: ...and at the latest this long after the first unjournaled edit, so that steady typing
#: (which keeps restarting the debounce) still never risks more than about 1.5 s of text.
JOURNAL_MAX_DELAY_MS = 1500


class _JournalBridge(QObject):
    """Carries the journal thread's reports to the GUI thread (queued connections)."""

    written = Signal(str, int)
    failed = Signal(str, object)  # the message: the core's Text, translated on the GUI thread

    def report_written(self, doc_id: str, seq: int) -> None:
        with contextlib.suppress(RuntimeError):  # the window is gone: no one to tell
            self.written.emit(doc_id, seq)

    def report_failed(self, doc_id: str, message: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.failed.emit(doc_id, message)


class JournalController(QObject):
    """Journals the document a :class:`DocumentController` holds, and offers recovery."""

    #: A snapshot of the document (its id) was handed to the journal thread.
    journalQueued = Signal(str)
    #: The document's journal (its id) is on disk.
    journalWritten = Signal(str)
    #: Autosave failed (the message for the banner), or works again ("").
    problemChanged = Signal(str)
    #: A message for the banner.
    notice = Signal(str)
    #: A passing message for the status bar, and for how long (ms).
    statusMessage = Signal(str, int)
    #: The writer chose to recover this JournalEntry (the window decides where).
    recoverRequested = Signal(object)

    def __init__(self, folder: Path, documents: DocumentController, window: QWidget) -> None:
        super().__init__(window)
        self._documents = documents
        self._window = window  # the recovery dialog's parent
        self._closed = False
        self._problem = False
        self.recovery_dialog: RecoveryDialog | None = None
        self._bridge = _JournalBridge(self)
        self._bridge.written.connect(self._written)
        self._bridge.failed.connect(self._failed)
        self.journal = JournalStore(
            folder, on_written=self._bridge.report_written, on_failed=self._bridge.report_failed
        )
        self._timer = QTimer(self, singleShot=True, interval=JOURNAL_DEBOUNCE_MS)
        self._timer.timeout.connect(self.journal_now)
        self._deadline = QTimer(self, singleShot=True, interval=JOURNAL_MAX_DELAY_MS)
        self._deadline.timeout.connect(self.journal_now)
        documents.edited.connect(self._schedule)
        documents.replaced.connect(self._forget)
        documents.documentSaved.connect(self._saved)

    # ----------------------------------------------------------------- autosave

    def _schedule(self) -> None:
        self._timer.start()  # restarts: about a second after the last edit
        if not self._deadline.isActive():
            self._deadline.start()  # but never much later than the first one

    def _stop_timers(self) -> None:
        self._timer.stop()
        self._deadline.stop()

    def _forget(self, doc_id: str) -> None:
        """The document was saved or replaced: its journal has done its job."""
        self._stop_timers()
        self.journal.discard(doc_id)

    def _saved(self, _path: str) -> None:
        self._forget(self._documents.doc_id)

    def journal_now(self) -> None:
        """Hand a snapshot of the unsaved text to the journal thread (the timers call it).

        Encoding and writing happen on the journal's thread. A document with nothing
        to keep (see :meth:`DocumentController.snapshot`) needs no journal: it is removed.
        """
        self._stop_timers()
        if self._closed:
            return
        snapshot = self._documents.snapshot()
        if snapshot is None:
            self.journal.discard(self._documents.doc_id)
            return
        self.journal.submit(snapshot)
        self.journalQueued.emit(snapshot.doc_id)

    def close(self) -> None:
        """At the window's close (saved, unmodified, or the writer chose Discard): the
        document's journal goes, and the journal thread ends."""
        self._closed = True
        self._forget(self._documents.doc_id)
        self.journal.close()

    def _written(self, doc_id: str, _seq: int) -> None:
        if self._problem:
            self._problem = False
            self.problemChanged.emit("")
        if doc_id == self._documents.doc_id:
            self.journalWritten.emit(doc_id)

    def _failed(self, _doc_id: str, message: str) -> None:
        text = self.tr("Autosave failed: %1. Your text is still here: save it to keep it.")
        self._problem = True
        self.problemChanged.emit(tr_format(text, message))

    # ----------------------------------------------------------------- recovery after a crash

    def offer_recovery(self) -> RecoveryDialog | None:
        """Offer the journals that dead sessions left (window-modal, never blocking).

        None when there is nothing to recover. The dialog's Recover asks the window to
        put a document somewhere (:attr:`recoverRequested`); Discard deletes it.
        """
        if self.recovery_dialog is not None and self.recovery_dialog.isVisible():
            return self.recovery_dialog
        entries = self.journal.claim_orphans()
        if self.journal.damaged:
            names = ", ".join(str(file) for file, _ in self.journal.damaged)
            self.notice.emit(
                tr_format(self.tr("A damaged autosave file was set aside (not deleted): %1"), names)
            )
        if not entries:
            return None
        dialog = RecoveryDialog(entries, self._window)
        dialog.recoverRequested.connect(self.recoverRequested)
        dialog.discardRequested.connect(self.journal.remove)
        self.recovery_dialog = dialog
        dialog.open()
        return dialog

    def recover_from_menu(self) -> None:
        if self.offer_recovery() is None:
            self.statusMessage.emit(self.tr("There is no unsaved writing to recover."), 4000)

    def restore(self, entry: JournalEntry) -> None:
        """Put recovered text in the document, unsaved, journaled under this session now."""
        self._documents.restore(entry)
        try:
            self.journal.adopt(entry)
        except OSError as exc:
            # The store's own problem (a core Text) when it cannot write at all, else the OS's.
            alone = len(exc.args) == 1 and isinstance(exc.args[0], str)
            self._failed(entry.doc_id, exc.args[0] if alone else str(exc))
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.written_at))
        self.notice.emit(
            tr_format(
                self.tr("Recovered the unsaved text of %1 (autosaved %2). Save it to keep it."),
                entry.title,
                when,
            )
        )
