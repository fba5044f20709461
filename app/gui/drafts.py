"""DraftController: a longer continuation from the cursor, streamed, then kept or dropped.

A draft is pending text shown at the cursor like a suggestion but marked as a draft; it
enters the document only when accepted (as one undo step), so stopping, discarding or
regenerating never touches the writer's text or the undo history. While a draft owns
the engine, automatic suggestions pause (a new request would cancel the draft).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal, Slot

from app.core.requests import CompletionRequest, RequestDone
from app.core.sampling import SamplingSettings
from app.gui.i18n import translated
from app.gui.suggestions import DocumentSource, SuggestionController
from app.gui.worker import WorkerThread

DEFAULT_DRAFT_TOKENS = 200
CONTEXT_CHARS = 4000


class DraftController(QObject):
    draftChanged = Signal(str)  # the pending draft text ("" when none)
    runningChanged = Signal(bool)
    progress = Signal(int, float)  # pieces received, pieces per second while running
    finished = Signal(object)  # RequestDone of a draft that ran to its end or was stopped
    failed = Signal(str)

    def __init__(self, worker: WorkerThread, suggestions: SuggestionController) -> None:
        super().__init__()
        self._worker = worker
        self._suggestions = suggestions
        self._source: DocumentSource | None = None
        self._id = 0
        self._text = ""
        self._pieces = 0
        self._started = 0.0
        self._running = False
        self._last: tuple[str, int, SamplingSettings, int] | None = None
        worker.worker.token.connect(self._on_token)
        worker.worker.finished.connect(self._on_finished)
        worker.worker.failed.connect(self._on_failed)

    def attach(self, source: DocumentSource) -> None:
        self._source = source

    @property
    def text(self) -> str:
        return self._text

    @property
    def running(self) -> bool:
        return self._running

    @property
    def pending(self) -> bool:
        return bool(self._text) or self._running

    def start(self, sampling: SamplingSettings, max_tokens: int = DEFAULT_DRAFT_TOKENS) -> bool:
        """Draft from the cursor; False when no model is loaded."""
        if self._source is None or not self._suggestions.enabled:
            return False
        window, cursor = self._source.text_around_cursor(CONTEXT_CHARS, 0)
        self._last = (window, cursor, sampling, max_tokens)
        self._launch()
        return True

    def regenerate(self) -> None:
        """A fresh sample of the pending draft (a new seed unless the seed is fixed)."""
        if self._last is not None and self.pending:
            self._launch()

    def _launch(self) -> None:
        assert self._last is not None
        window, cursor, sampling, max_tokens = self._last
        self._suggestions.dismiss()
        self._suggestions.paused = True
        self._id = self._worker.new_request_id()
        self._set_text("")
        self._pieces = 0
        self._started = time.perf_counter()
        self._set_running(True)
        self._worker.commands.complete.emit(
            CompletionRequest(
                id=self._id,
                text=window,
                cursor=cursor,
                sampling=sampling.with_changes(max_tokens=max_tokens),
                context_tokens=4096,
                heal=True,  # the draft goes on from the cursor, even after a space
                avoid_markup=True,
            )
        )

    def stop(self) -> None:
        """Stop generating; what was written so far stays pending."""
        if self._running:
            self._worker.worker.stop_request(self._id)

    def accept(self) -> str:
        """The draft's text, for the editor to insert; the draft is over."""
        text = self._text
        self._end()
        return text

    def discard(self) -> None:
        self._end()

    def _end(self) -> None:
        if self._running:
            self._worker.new_request_id()  # supersede: stop and drop the rest
        self._id = 0
        self._last = None
        self._set_running(False)
        self._set_text("")
        self._suggestions.paused = False

    @Slot(int, str, float)
    def _on_token(self, request_id: int, piece: str, _logprob: float) -> None:
        if request_id != self._id or not self._running:
            return
        self._pieces += 1
        self._set_text(self._text + piece)
        elapsed = time.perf_counter() - self._started
        self.progress.emit(self._pieces, self._pieces / elapsed if elapsed > 0 else 0.0)

    @Slot(object)
    def _on_finished(self, done: RequestDone) -> None:
        if done.id != self._id:
            return
        self._set_running(False)
        if not self._text:
            self._end()  # nothing was written: no draft to keep, suggestions resume
            return
        self.finished.emit(done)

    @Slot(int, str)
    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id == self._id:
            self._end()
            self.failed.emit(translated(message))

    def _set_text(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.draftChanged.emit(text)

    def _set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            self.runningChanged.emit(running)
