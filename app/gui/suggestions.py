"""SuggestionController: when to ask the model, what to show, and what to drop.

It sits between the editor (which tells it what the writer did) and the engine worker
(which answers on its own thread). It never touches a widget: it asks a
:class:`DocumentSource` for text and emits ``ghostChanged`` with what should be shown.

- Every request gets an increasing id; a newer one supersedes (cancels) the one in
  flight, and tokens or results carrying an old id are dropped, never painted.
- Automatic requests wait for an adaptive debounce (the writer's typing rhythm) and are
  skipped mid-word or when much text sits right of the cursor; a manual trigger is
  immediate and skips those checks.
- A cache of finished answers serves a prompt seen before at once, with no request.
- Once the suggestion is a complete unit (word, phrase, sentence...), generation stops:
  tokens past what can be shown are wasted work on a laptop CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.core.engine import StopReason
from app.core.heap import settle_heap
from app.core.latency import LatencyTracker
from app.core.postprocess import SuggestionMode, shape_suggestion, suggestion_complete
from app.core.sampling import SamplingSettings
from app.core.settings import RuntimeSettings, SuggestionSettings
from app.core.suggestion_cache import SuggestionCache
from app.core.typing_rhythm import TypingRhythm
from app.gui.worker import (
    CompletionRequest,
    LoadedModel,
    LoadRequest,
    PrefillRequest,
    RequestDone,
    WorkerThread,
)

#: Characters of text before the cursor sent with a request: generous for the token
#: budget (GPT-2 averages about 4 characters per token), the worker trims to tokens.
CHARS_PER_TOKEN_BOUND = 8
SUFFIX_CHARS = 256


class DocumentSource(Protocol):
    """What the controller may ask of the document (the editor implements it)."""

    def text_around_cursor(self, before: int, after: int) -> tuple[str, int]:
        """About ``before`` characters before the cursor and ``after`` after it, and the
        cursor's index in that text. Bounded, so a keystroke never copies a whole book."""
        ...

    def line_around_cursor(self) -> tuple[str, str]:
        """The cursor's line: (text before the cursor, text after it)."""
        ...


@dataclass(frozen=True)
class SuggestionStats:
    """Latency of the last suggestion, from the moment its request was made."""

    first_token_ms: float | None
    first_shown_ms: float | None
    total_ms: float
    tokens: int
    tokens_per_second: float
    prompt_tokens_evaluated: int
    from_cache: bool = False


@dataclass
class _Pending:
    """The request in flight and what the writer did to its ghost meanwhile."""

    id: int
    prefix: str  # text before the cursor when the request was made (the window)
    line_suffix: str
    created: float
    raw: str = ""
    consumed: str = ""  # ghost text typed through or accepted since
    first_token: float | None = None
    first_shown: float | None = None
    stopped_early: bool = False


class SuggestionController(QObject):
    ghostChanged = Signal(str)  # what the editor should show at the cursor ("" = nothing)
    suggestionShown = Signal(str)  # a new suggestion became visible (test and bench seam)
    suggestionFinished = Signal(int)  # request id: its suggestion is complete (bench seam)
    statsChanged = Signal(object)  # SuggestionStats
    busyChanged = Signal(bool)
    errorChanged = Signal(str)  # "" when the error is resolved
    modelLoading = Signal(str)
    modelChanged = Signal(object)  # LoadedModel, or None when none is usable
    enabledChanged = Signal(bool)

    def __init__(
        self,
        worker: WorkerThread,
        settings: SuggestionSettings | None = None,
        sampling: SamplingSettings | None = None,
    ) -> None:
        super().__init__()
        self._worker = worker
        self.settings = settings or SuggestionSettings()
        self.sampling = sampling or SamplingSettings()
        self._source: DocumentSource | None = None
        self._rhythm = TypingRhythm(self.settings.debounce_ms)
        self._latency = LatencyTracker()  # recent request -> ghost shown
        self._cache = SuggestionCache()
        self.paused = False  # a draft owns the engine: no suggestion requests meanwhile
        self._pending: _Pending | None = None
        self._ghost = ""
        self._shown_request = 0
        self._alternatives: list[str] = []
        self._alt_index = 0
        self._alt_request = 0
        self._alt_step = 1
        self._model: LoadedModel | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.timeout.connect(self._fire)
        self._after_edit = QTimer(self)
        self._after_edit.setSingleShot(True)
        self._after_edit.timeout.connect(self._edit_settled)

        w = worker.worker
        w.token.connect(self._on_token)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.alternatives.connect(self._on_alternatives)
        w.model_loading.connect(self.modelLoading)
        w.model_loaded.connect(self._on_model_loaded)
        w.model_failed.connect(self._on_model_failed)

    # ----------------------------------------------------------------- state

    def attach(self, source: DocumentSource) -> None:
        self._source = source

    @property
    def model(self) -> LoadedModel | None:
        return self._model

    @property
    def enabled(self) -> bool:
        """Suggestions need a working model; a failed load disables them."""
        return self._model is not None

    @property
    def ghost(self) -> str:
        return self._ghost

    @property
    def idle(self) -> bool:
        """No debounce pending and nothing in flight: no request will come by itself."""
        timers = self._debounce.isActive() or self._after_edit.isActive()
        return not timers and self._pending is None and not self._alt_request

    @property
    def alternatives(self) -> tuple[str, ...]:
        return tuple(self._alternatives)

    @property
    def shown_request_id(self) -> int:
        return self._shown_request

    @property
    def mode(self) -> SuggestionMode:
        return SuggestionMode(self.settings.mode)

    def update_settings(
        self, settings: SuggestionSettings, sampling: SamplingSettings | None = None
    ) -> None:
        """New settings apply to the next request; cached answers may no longer fit."""
        self.settings = settings
        if sampling is not None:
            self.sampling = sampling
        self._rhythm.base_ms = settings.debounce_ms
        self._cache.clear()

    def load_model(self, path: str, runtime: RuntimeSettings | None = None) -> None:
        """Load a GGUF in-process, or connect to the server when the backend is remote."""
        runtime = runtime or RuntimeSettings()
        self._cancel_all()
        self._cache.clear()
        if runtime.backend == "remote" and runtime.remote_url:
            request = LoadRequest(
                runtime.remote_url, runtime.n_ctx, remote=True, api_key=runtime.remote_api_key
            )
        else:
            request = LoadRequest(path, runtime.n_ctx, runtime.n_threads, runtime.n_gpu_layers)
        self._worker.commands.load.emit(request)

    # ----------------------------------------------------------------- what the writer did

    def text_edited(self) -> None:
        """The writer changed the text: the ghost is gone; maybe ask again after a pause.

        Qt reports the change before it moves the cursor, so what to do next is decided
        one event-loop turn later, when the text and the cursor agree.
        """
        self._rhythm.keystroke(time.monotonic() * 1000.0)
        self._cancel_all()
        self._set_ghost("")
        if self.enabled and self.settings.auto_suggest and not self.paused:
            self._after_edit.start(0)

    @Slot()
    def _edit_settled(self) -> None:
        if self._source is None:
            return
        window, at = self._window()  # one copy of the text around the cursor per keystroke
        ask = self._auto_allowed() and not self._serve_from_cache(window, at)
        self._prefill(window, at)
        if ask:
            self._debounce.start(self._rhythm.delay_ms(self._latency.estimate()))

    def _prefill(self, window: str, at: int) -> None:
        """Evaluate the new text while the writer types, so a pause's request only samples.

        The pause before a suggestion is asked for (and, typing fast, the whole burst)
        would otherwise leave the model's cache behind the text: a fast typist's first
        suggestion after a sentence cost half a second of prompt evaluation. A keystroke's
        prefill is a token or two; the request that follows supersedes it if it is not done.
        """
        model = self._model
        if model is None or model.remote:
            return
        if self._pending is not None or self._alt_request:
            return  # the engine is busy with an answer the writer may still see
        request = PrefillRequest(
            id=self._worker.new_request_id(),
            text=window,
            cursor=at,
            max_tokens=self.settings.max_tokens,
            context_tokens=self.settings.context_tokens,
        )
        self._worker.commands.prefill.emit(request)

    def cursor_moved(self) -> None:
        """The cursor moved without an edit: the ghost no longer belongs there."""
        self.dismiss()

    def dismiss(self) -> None:
        self._cancel_all()
        self._set_ghost("")

    def ghost_consumed(self, consumed: str, remainder: str) -> None:
        """The writer typed or accepted the start of the ghost; ``remainder`` stays shown.

        No new request: the rest of the same answer is still right (type-through).
        """
        self._ghost = remainder
        if self._pending is not None:
            self._pending.consumed += consumed
        if self._alt_request:  # computed for the old cursor: drop them
            self._alt_request = 0
            self._worker.new_request_id()
            self.busyChanged.emit(False)
        self._alternatives = []
        if not remainder:
            self.text_edited()

    def trigger_now(self) -> None:
        """Alt+\\: ask at once, whatever the position and the auto-suggest setting."""
        if self.paused:
            return
        if not self.enabled:
            self.errorChanged.emit(self._disabled_reason())
            return
        self._cancel_all()
        self._set_ghost("")
        self._fire()

    def next_alternative(self, step: int = 1) -> None:
        """Cycle among alternative suggestions; they are computed on first demand."""
        if not self._ghost or not self.enabled:
            return
        if self._alternatives:
            self._alt_index = (self._alt_index + step) % len(self._alternatives)
            self._show(self._alternatives[self._alt_index], new=True)
            return
        if self._alt_request or self._source is None:
            return  # already being computed
        request = self._request(n_alternatives=self.settings.n_alternatives)
        self._alt_request = request.id
        self._alt_step = step
        self.busyChanged.emit(True)
        self._worker.commands.complete.emit(request)

    def shutdown(self) -> None:
        self._cancel_all()

    # ----------------------------------------------------------------- requests

    def _auto_allowed(self) -> bool:
        """llama.vim's rules: not inside a word, not with much text right of the cursor."""
        if self._source is None:
            return False
        before, after = self._source.line_around_cursor()
        if before[-1:].isalnum() and after[:1].isalnum():
            return False
        return len(after.strip()) <= self.settings.max_line_suffix

    def _window(self) -> tuple[str, int]:
        assert self._source is not None
        before = self.settings.context_tokens * CHARS_PER_TOKEN_BOUND
        return self._source.text_around_cursor(before, SUFFIX_CHARS)

    def _request(self, n_alternatives: int = 1) -> CompletionRequest:
        window, at = self._window()
        return CompletionRequest(
            id=self._worker.new_request_id(),
            text=window,
            cursor=at,
            sampling=self.sampling.with_changes(max_tokens=self.settings.max_tokens),
            context_tokens=self.settings.context_tokens,
            n_alternatives=n_alternatives,
        )

    def _cache_key(self, line_suffix: str) -> str:
        return f"{self.settings.mode}|{self.settings.max_tokens}|{self.sampling!r}|{line_suffix}"

    def _serve_from_cache(self, window: str, at: int) -> bool:
        assert self._source is not None
        _before, after = self._source.line_around_cursor()
        raw = self._cache.lookup(window[:at], self._cache_key(after))
        if raw is None:
            return False
        shaped = shape_suggestion(raw, self.mode, prefix=window[:at], suffix=after)
        if not shaped:
            return False
        self._shown_request = self._worker.new_request_id()
        self._show(shaped, new=True)
        self.statsChanged.emit(SuggestionStats(0.0, 0.0, 0.0, 0, 0.0, 0, from_cache=True))
        return True

    @Slot()
    def _fire(self) -> None:
        if self._source is None or not self.enabled:
            return
        _before, after = self._source.line_around_cursor()
        request = self._request()
        self._pending = _Pending(
            id=request.id,
            prefix=request.text[: request.cursor],
            line_suffix=after,
            created=request.created,
        )
        self.busyChanged.emit(True)
        self._worker.commands.complete.emit(request)

    def _cancel_all(self) -> None:
        """Drop the debounce, the request in flight and alternatives being computed."""
        self._debounce.stop()
        self._after_edit.stop()
        p = self._pending
        if p is not None and p.first_shown is None:
            # Overtaken before it showed anything: the model takes at least this long.
            waited = (time.perf_counter() - p.created) * 1000.0
            self._latency.overtaken(waited)
        if self._pending is not None or self._alt_request:
            self._worker.new_request_id()  # supersedes what is in flight
            self._pending = None
            self._alt_request = 0
            self.busyChanged.emit(False)
        self._alternatives = []
        self._alt_index = 0

    # ----------------------------------------------------------------- answers

    @Slot(int, str)
    def _on_token(self, request_id: int, piece: str) -> None:
        p = self._pending
        if p is None or request_id != p.id:
            return  # stale: a newer request exists
        if p.first_token is None:
            p.first_token = time.perf_counter()
        p.raw += piece
        self._refresh(p)
        if not p.stopped_early and suggestion_complete(p.raw, self.mode, prefix=p.prefix):
            p.stopped_early = True
            self._worker.worker.stop_request(p.id)

    def _refresh(self, p: _Pending) -> None:
        shaped = shape_suggestion(p.raw, self.mode, prefix=p.prefix, suffix=p.line_suffix)
        if p.consumed:
            if not shaped.startswith(p.consumed):
                return
            shaped = shaped[len(p.consumed) :]
        if shaped and shaped != self._ghost:
            if not self._cursor_unmoved(p):  # recovery: never paint a ghost out of place
                self._cancel_all()
                self._set_ghost("")
                return
            new = self._shown_request != p.id
            self._shown_request = p.id
            if p.first_shown is None:
                p.first_shown = time.perf_counter()
            self._show(shaped, new=new)

    def _cursor_unmoved(self, p: _Pending) -> bool:
        """Is the cursor still where ``p`` was asked (after what was typed through)?

        The editor reports every edit and every cursor move, but a move it missed (one
        made while no ghost was shown, or programmatically) must not put a ghost computed
        for one place at another. The cursor's line is compared: a short copy per piece.
        """
        if self._source is None:
            return False
        before, after = self._source.line_around_cursor()
        text = p.prefix + p.consumed
        line = text.rsplit("\n", 1)[-1]
        same = before == line if "\n" in text else before.endswith(line)
        return same and after == p.line_suffix

    @Slot(object)
    def _on_finished(self, done: RequestDone) -> None:
        p = self._pending
        if p is None or done.id != p.id:
            return
        self._pending = None
        self.busyChanged.emit(False)
        completion = done.completion
        if completion.stop_reason is StopReason.CANCELLED and not p.stopped_early:
            return
        self._refresh(p)
        self._cache.store(p.prefix, self._cache_key(p.line_suffix), p.raw)
        self.suggestionFinished.emit(done.id)
        now = time.perf_counter()
        if p.first_shown is not None:
            self._learn_latency((p.first_shown - p.created) * 1000.0)
        t = completion.timings
        self.statsChanged.emit(
            SuggestionStats(
                first_token_ms=_ms(p.first_token, p.created),
                first_shown_ms=_ms(p.first_shown, p.created),
                total_ms=(now - p.created) * 1000.0,
                tokens=t.generated_tokens,
                tokens_per_second=t.tokens_per_second,
                prompt_tokens_evaluated=t.prompt_tokens_evaluated,
            )
        )

    @Slot(int, object)
    def _on_alternatives(self, request_id: int, texts: list[str]) -> None:
        if request_id != self._alt_request:
            return
        self._alt_request = 0
        self.busyChanged.emit(False)
        source = self._source
        if source is None or not self._ghost:
            return
        window, at = self._window()
        prefix = window[:at]
        _before, after = source.line_around_cursor()
        options = [self._ghost]
        for raw in texts:
            shaped = shape_suggestion(raw, self.mode, prefix=prefix, suffix=after)
            if shaped and shaped not in options:
                options.append(shaped)
        self._alternatives = options
        self._alt_index = 0
        if len(options) > 1:
            self.next_alternative(self._alt_step)

    @Slot(int, str)
    def _on_failed(self, request_id: int, message: str) -> None:
        if (self._pending is not None and request_id == self._pending.id) or (
            request_id == self._alt_request
        ):
            shown_from_it = self._pending is not None and self._shown_request == request_id
            self._pending = None
            self._alt_request = 0
            self._alternatives = []
            self.busyChanged.emit(False)
            if shown_from_it:  # a partial answer of a failed request is not a suggestion
                self._set_ghost("")
            self.errorChanged.emit(f"Suggestion failed: {message}")

    @Slot(object)
    def _on_model_loaded(self, model: LoadedModel) -> None:
        settle_heap()  # what exists now lives as long as the app: keep it out of the GC
        self._model = model
        self._cache.clear()
        self.errorChanged.emit("")
        self.modelChanged.emit(model)
        self.enabledChanged.emit(True)

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self._model = None
        self._cancel_all()
        self._set_ghost("")
        self.modelChanged.emit(None)
        self.enabledChanged.emit(False)
        self.errorChanged.emit(f"Suggestions are off: {message}")

    def _learn_latency(self, shown_ms: float) -> None:
        self._latency.shown(shown_ms)

    def _disabled_reason(self) -> str:
        return "No model is loaded: open a GGUF model to get suggestions."

    # ----------------------------------------------------------------- showing

    def _show(self, text: str, *, new: bool) -> None:
        self._set_ghost(text)
        if new and text:
            self.suggestionShown.emit(text)

    def _set_ghost(self, text: str) -> None:
        if text != self._ghost:
            self._ghost = text
            self.ghostChanged.emit(text)


def _ms(end: float | None, start: float) -> float | None:
    return None if end is None else (end - start) * 1000.0
