"""SuggestionController: the suggestion policy, wired to Qt.

Every decision (when to ask, what to show, what to drop) is the core's
:class:`~app.core.suggestion_policy.SuggestionPolicy`, the same object ``ghostpen eval``
drives with a simulated clock. This adapter gives it what only Qt has: timers, the engine
thread's signals, and signals the editor and the window subscribe to. It also carries
the model's loading, which belongs to the window's world (status, errors, the chart).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.core.heap import settle_heap
from app.core.postprocess import SuggestionMode
from app.core.requests import CompletionRequest, PrefillRequest, RequestDone
from app.core.sampling import SamplingSettings
from app.core.settings import RuntimeSettings, SuggestionSettings
from app.core.suggestion_policy import (
    DocumentSource,
    Features,
    SuggestionPolicy,
    SuggestionStats,
    Timer,
)
from app.gui.i18n import tr_format, translated
from app.gui.worker import LoadedModel, LoadRequest, WorkerThread

__all__ = ["DocumentSource", "SuggestionController", "SuggestionStats"]


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
        features: Features | None = None,
    ) -> None:
        super().__init__()
        self._worker = worker
        self._model: LoadedModel | None = None
        self.policy: SuggestionPolicy = SuggestionPolicy(
            self, settings, sampling, clock=time.perf_counter, features=features
        )
        self._timers: dict[Timer, QTimer] = {}
        for kind in Timer:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda kind=kind: self.policy.timer_fired(kind))
            self._timers[kind] = timer
        w = worker.worker
        w.token.connect(self._on_token)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.alternatives.connect(self._on_alternatives)
        w.modelLoading.connect(self.modelLoading)
        w.modelLoaded.connect(self._on_model_loaded)
        w.modelFailed.connect(self._on_model_failed)

    # ----------------------------------------------------------------- state

    def attach(self, source: DocumentSource) -> None:
        self.policy.attach(source)

    @property
    def settings(self) -> SuggestionSettings:
        return self.policy.settings

    @property
    def sampling(self) -> SamplingSettings:
        return self.policy.sampling

    @property
    def paused(self) -> bool:
        """A draft owns the engine: no suggestion requests meanwhile."""
        return self.policy.paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self.policy.paused = value

    @property
    def model(self) -> LoadedModel | None:
        return self._model

    @property
    def enabled(self) -> bool:
        """Suggestions need a working model; a failed load disables them."""
        return self._model is not None

    @property
    def ghost(self) -> str:
        return self.policy.ghost

    @property
    def idle(self) -> bool:
        """No timer armed and nothing in flight: no request will come by itself."""
        return self.policy.idle

    @property
    def alternatives(self) -> tuple[str, ...]:
        return self.policy.alternatives

    @property
    def shown_request_id(self) -> int:
        return self.policy.shown_request_id

    @property
    def mode(self) -> SuggestionMode:
        return self.policy.mode

    def update_settings(
        self, settings: SuggestionSettings, sampling: SamplingSettings | None = None
    ) -> None:
        self.policy.update_settings(settings, sampling)

    def load_model(self, path: str, runtime: RuntimeSettings | None = None) -> None:
        """Load a GGUF in-process, or connect to the server when the backend is remote."""
        runtime = runtime or RuntimeSettings()
        self.policy.forget()
        if runtime.backend == "remote" and runtime.remote_url:
            request = LoadRequest(
                runtime.remote_url, runtime.n_ctx, remote=True, api_key=runtime.remote_api_key
            )
        else:
            request = LoadRequest(path, runtime.n_ctx, runtime.n_threads, runtime.n_gpu_layers)
        self._worker.commands.load.emit(request)

    # ----------------------------------------------------------------- the writer (editor)

    def text_edited(self) -> None:
        self.policy.text_edited()

    def cursor_moved(self) -> None:
        self.policy.cursor_moved()

    def dismiss(self) -> None:
        self.policy.dismiss()

    def ghost_consumed(self, consumed: str, remainder: str) -> None:
        self.policy.ghost_consumed(consumed, remainder)

    def trigger_now(self) -> None:
        self.policy.trigger_now()

    def next_alternative(self, step: int = 1) -> None:
        self.policy.next_alternative(step)

    def shutdown(self) -> None:
        self.policy.shutdown()

    # ----------------------------------------------------------------- PolicyHost

    def new_request_id(self) -> int:
        return self._worker.new_request_id()

    def send_completion(self, request: CompletionRequest) -> None:
        self._worker.commands.complete.emit(request)

    def send_prefill(self, request: PrefillRequest) -> None:
        self._worker.commands.prefill.emit(request)

    def stop_request(self, request_id: int) -> None:
        self._worker.worker.stop_request(request_id)

    def start_timer(self, timer: Timer, delay_ms: int) -> None:
        self._timers[timer].start(delay_ms)

    def stop_timer(self, timer: Timer) -> None:
        self._timers[timer].stop()

    def ghost_changed(self, text: str) -> None:
        self.ghostChanged.emit(text)

    def suggestion_shown(self, text: str, confidence: float | None) -> None:
        self.suggestionShown.emit(text)

    def suggestion_finished(self, request_id: int) -> None:
        self.suggestionFinished.emit(request_id)

    def stats_changed(self, stats: SuggestionStats) -> None:
        self.statsChanged.emit(stats)

    def busy_changed(self, busy: bool) -> None:
        self.busyChanged.emit(busy)

    def error_changed(self, message: str) -> None:
        self.errorChanged.emit(message)

    # ----------------------------------------------------------------- the engine thread

    @Slot(int, str, float)
    def _on_token(self, request_id: int, piece: str, logprob: float) -> None:
        self.policy.on_piece(request_id, piece, logprob)

    @Slot(object)
    def _on_finished(self, done: RequestDone) -> None:
        self.policy.on_finished(done)

    @Slot(int, object)
    def _on_alternatives(self, request_id: int, texts: list[str]) -> None:
        self.policy.on_alternatives(request_id, texts)

    @Slot(int, object)
    def _on_failed(self, request_id: int, message: str) -> None:
        self.policy.on_failed(request_id, translated(message))

    @Slot(object)
    def _on_model_loaded(self, model: LoadedModel) -> None:
        settle_heap()  # what exists now lives as long as the app: keep it out of the GC
        self._model = model
        self.policy.model_changed(True, remote=model.remote)
        self.errorChanged.emit("")
        self.modelChanged.emit(model)
        self.enabledChanged.emit(True)

    @Slot(object)
    def _on_model_failed(self, message: str) -> None:
        self._model = None
        self.policy.model_changed(False)
        self.modelChanged.emit(None)
        self.enabledChanged.emit(False)
        self.errorChanged.emit(tr_format(self.tr("Suggestions are off: %1"), message))
