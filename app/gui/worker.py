"""The engine's thread: an ``EngineWorker`` QObject living on its own QThread.

Only this thread touches llama.cpp (its contexts are not thread-safe), and the GUI thread
never waits for it. Requests arrive as queued signals; results leave as signals carrying
the request id, so the GUI can drop anything stale.

Cancellation cannot wait for the queue: while a request runs, the worker's event loop is
busy inside llama.cpp. So :meth:`EngineWorker.supersede` is a plain thread-safe method the
GUI thread calls directly; it stops the running call through the engine's cancel flag.

Faults never end the thread and never touch the document. A request the engine refuses
(:class:`EngineError`) fails alone. When the engine itself can no longer be trusted (llama.cpp
failed mid-evaluation, or any unexpected exception) the worker closes it and reports
``modelFailed``: suggestions are off until a model is loaded again. When the model file
changed on disk, the worker loads the file now at that path (the request then runs on it),
or, if it was deleted or no longer loads, reports ``modelFailed`` with the reason. A model
the GPU cannot hold (:class:`~app.core.engine_api.GpuOffloadError`) is loaded again on the
CPU, and ``LoadedModel.notice`` says so.

Messages for the writer leave as :class:`~app.core.texts.Text` (on ``object`` signals, so
they cross the thread whole) and the GUI translates them where it shows them.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.context import PromptContext, build_prompt
from app.core.engine import Engine
from app.core.engine_api import (
    CompletionBackend,
    EngineError,
    EngineFault,
    GpuOffloadError,
    ModelFileChangedError,
)
from app.core.gguf_info import ModelFileError, ModelInfo, inspect_model
from app.core.llama_runtime import BuildInfo, build_info
from app.core.model_probe import ProbeError, ensure_loadable
from app.core.requests import CompletionRequest, PrefillRequest, RequestDone
from app.core.sampler_view import sampler_view
from app.core.sampling import SamplingSettings
from app.core.serve import RequestServer
from app.core.texts import QT_TRANSLATE_NOOP, Text

__all__ = [
    "GPU_FALLBACK",
    "LIVE_THREADS",
    "CompletionRequest",
    "EngineWorker",
    "InspectRequest",
    "LoadRequest",
    "LoadedModel",
    "PrefillRequest",
    "RequestDone",
    "WorkerThread",
    "gpu_gone_notice",
]

#: Every thread started here, so tests (and shutdown) can check none is left running.
LIVE_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()

log = logging.getLogger(__name__)

#: How a writer turns suggestions back on after a fault (ends every "suggestions are
#: off" message the worker sends).
RELOAD_HINT = QT_TRANSLATE_NOOP(
    "EngineWorker", "Load a model again (File › Models… or Open Model File…) to turn them back on."
)


@dataclass(frozen=True)
class LoadRequest:
    """A GGUF to run in-process, or (``remote``) the URL of an OpenAI-compatible server."""

    path: str
    n_ctx: int | None = None
    n_threads: int | None = None
    n_gpu_layers: int = 0
    remote: bool = False
    api_key: str | None = None


@dataclass(frozen=True)
class InspectRequest:
    """The next-token distribution at the cursor under some sampling settings."""

    id: int
    text: str
    cursor: int
    sampling: SamplingSettings
    context_tokens: int = 384
    top_n: int = 20


@dataclass(frozen=True)
class LoadedModel:
    """What is loaded. ``info`` describes a local GGUF; a remote server has none."""

    info: ModelInfo | None
    build: BuildInfo
    n_ctx: int
    n_threads: int
    n_gpu_layers: int
    load_ms: float
    name: str = ""
    source: str = ""  # the GGUF's path, or the server's URL
    remote: bool = False
    #: (layers llama.cpp put on the GPU, layers in all) ((0, 0): a server decides).
    offloaded_layers: tuple[int, int] = (0, 0)
    #: What the writer should know about this load (a Text: the GPU fallback), or "".
    notice: str = ""

    @property
    def context_length(self) -> int:
        return self.info.context_length if self.info is not None else self.n_ctx


#: The banner after a load on the GPU failed and the CPU took the model.
GPU_FALLBACK = QT_TRANSLATE_NOOP(
    "EngineWorker", "The GPU could not hold the model (%1); running on the CPU."
)


def gpu_gone_notice(n_gpu_layers: int, engine: CompletionBackend, build: BuildInfo) -> Text | str:
    """What to tell the writer when GPU layers were asked for on a build made for a GPU
    and none went there (the GPU is gone: a driver reset, ``CUDA_VISIBLE_DEVICES``
    emptied): llama.cpp then runs on the CPU by itself. "" when there is nothing to say."""
    if n_gpu_layers == 0 or engine.info is None or engine.offloaded_layers[0] > 0:
        return ""
    if build.gpu_offload or not build.gpu_backends:
        return ""  # a GPU took no layers by choice, or a CPU build has none to offer
    return QT_TRANSLATE_NOOP("EngineWorker", "No %1 GPU is available; running on the CPU.").arg(
        ", ".join(build.gpu_backends)
    )


@dataclass(frozen=True)
class _Opened:
    """An engine loaded, the request it was loaded with, and a notice for the writer."""

    engine: CompletionBackend
    request: LoadRequest  # after a fallback to the CPU: with no GPU layers
    notice: str = ""


class EngineWorker(QObject):
    modelLoading = Signal(str)
    modelLoaded = Signal(object)  # LoadedModel
    modelFailed = Signal(object)  # why (a Text: the GUI translates it)
    # request id, text piece, summed log-probability of the tokens so far (nan: not scored)
    token = Signal(int, str, float)
    finished = Signal(object)  # RequestDone
    alternatives = Signal(int, object)  # request id, list[str] of raw continuations
    failed = Signal(int, object)  # request id, why (a str or Text)
    inspected = Signal(int, object)  # inspect request id, SamplerView (None: unavailable)
    prefilled = Signal(int, object)  # prefill request id, engine.Prefill (bench seam)

    def __init__(self) -> None:
        super().__init__()
        self._engine: CompletionBackend | None = None
        self._server: RequestServer | None = None  # builds prompts, serves requests
        self._lock = threading.Lock()
        self._latest = 0  # newest request id the GUI has issued
        # One cancel event per request, armed before its work starts, so a stop that
        # arrives while the prompt is being built (or between alternatives) still counts.
        self._events: dict[int, threading.Event] = {}
        self._stopped: set[int] = set()  # stopped before the worker reached them
        self._latest_inspect = 0  # inspections have their own ids: they cancel nothing
        self._loaded: LoadRequest | None = None  # what the engine was loaded from

    # -------------------------------------------------------------- any thread

    def supersede(self, request_id: int) -> None:
        """Every request older than ``request_id`` is stale: skip or stop it. Thread-safe."""
        with self._lock:
            self._latest = max(self._latest, request_id)
            stale = [event for rid, event in self._events.items() if rid < self._latest]
        for event in stale:
            event.set()

    def supersede_inspection(self, request_id: int) -> None:
        with self._lock:
            self._latest_inspect = max(self._latest_inspect, request_id)

    def stop_request(self, request_id: int) -> None:
        """Stop one request (it has produced enough), running or still queued. Thread-safe."""
        with self._lock:
            event = self._events.get(request_id)
            if event is None:
                self._stopped.add(request_id)
        if event is not None:
            event.set()

    # -------------------------------------------------------------- worker thread

    @Slot(object)
    def load(self, request: LoadRequest) -> None:
        self.modelLoading.emit(request.path)
        started = time.perf_counter()
        self._close_engine()
        opened = self._open(request)
        if isinstance(opened, str):
            self.modelFailed.emit(opened)
            return
        self._install(opened, started)

    def _open(self, request: LoadRequest) -> _Opened | str:
        """The engine ``request`` asks for, or why it cannot be had. A model the GPU cannot
        hold (too little memory, a device that failed or is gone) runs on the CPU, with a
        notice that says so, rather than not at all."""
        engine = self._create(request)
        if isinstance(engine, GpuOffloadError):
            log.warning("%s: loading it on the CPU", engine)
            on_cpu = replace(request, n_gpu_layers=0)
            fallback = self._create(on_cpu)
            if isinstance(fallback, str):
                return fallback  # the CPU's reason (a Text stays one); the GPU's is in the log
            if isinstance(fallback, GpuOffloadError):
                return str(fallback)
            return _Opened(fallback, on_cpu, GPU_FALLBACK.arg(engine))
        if isinstance(engine, str):
            return engine
        return _Opened(engine, request, gpu_gone_notice(request.n_gpu_layers, engine, build_info()))

    def _create(self, request: LoadRequest) -> CompletionBackend | GpuOffloadError | str:
        """The engine ``request`` asks for, what the GPU could not do, or why it failed."""
        try:
            if request.remote:
                from app.core.remote_engine import RemoteEngine

                return RemoteEngine(
                    request.path, api_key=request.api_key, n_ctx=request.n_ctx or 2048
                )
            inspect_model(request.path)  # a clear message for a broken file, no process
            ensure_loadable(request.path)  # llama.cpp meets a new file in a child first
            engine = Engine(
                request.path,
                n_ctx=request.n_ctx,
                n_threads=request.n_threads,
                n_gpu_layers=request.n_gpu_layers,
            )
            engine.prepare_healing()  # now, not on the writer's first suggestion
            return engine
        except GpuOffloadError as exc:
            return exc
        except (ModelFileError, EngineError, ProbeError, OSError) as exc:
            return str(exc)
        except MemoryError:
            no_memory = QT_TRANSLATE_NOOP("EngineWorker", "%1: not enough memory to load the model")
            return no_memory.arg(request.path)
        except Exception as exc:  # never let a loader bug kill the thread silently
            log.exception("loading %s failed", request.path)
            unexpected = QT_TRANSLATE_NOOP("EngineWorker", "%1: unexpected error while loading: %2")
            return unexpected.arg(request.path, repr(exc))

    def _install(self, opened: _Opened, started: float) -> None:
        engine, request = opened.engine, opened.request
        with self._lock:
            self._engine = engine
            self._server = RequestServer(engine)
            self._loaded = request
        info: ModelInfo | None = engine.info
        self.modelLoaded.emit(
            LoadedModel(
                info=info,
                build=build_info(),
                n_ctx=engine.n_ctx,
                n_threads=engine.n_threads,
                n_gpu_layers=engine.n_gpu_layers,
                load_ms=(time.perf_counter() - started) * 1000.0,
                name=engine.description,
                source=request.path,
                remote=info is None,
                offloaded_layers=engine.offloaded_layers,
                notice=opened.notice,
            )
        )

    @Slot(object)
    def complete(self, request: CompletionRequest) -> None:
        cancel = self._admit(request.id)
        if cancel is None:
            return
        picked_up_ms = (time.perf_counter() - request.created) * 1000.0
        self._work(request.id, cancel, lambda e: self._serve(e, request, cancel, picked_up_ms))

    @Slot(object)
    def prefill(self, request: PrefillRequest) -> None:
        """Evaluate the text ahead of its completion; a newer request stops it."""
        if self._engine is None or request.id < self._latest:
            return  # nothing to warm, or the pause is already over
        cancel = self._admit(request.id)
        if cancel is not None:
            self._work(request.id, cancel, lambda e: self._prefill(e, request, cancel))

    def _admit(self, request_id: int) -> threading.Event | None:
        """The cancel event of a request that should run (None: stale, or no engine)."""
        engine = self._engine
        cancel = threading.Event()
        with self._lock:
            stale = request_id < self._latest
            if not stale and engine is not None:
                if request_id in self._stopped:
                    cancel.set()
                self._events[request_id] = cancel
        if engine is None:
            self.failed.emit(request_id, QT_TRANSLATE_NOOP("EngineWorker", "no model is loaded"))
            return None
        return None if stale else cancel

    def _work(
        self,
        request_id: int,
        cancel: threading.Event,
        serve: Callable[[CompletionBackend], None],
    ) -> None:
        engine = self._engine
        try:
            if engine is not None:
                self._run(engine, request_id, serve)
        finally:
            with self._lock:
                self._events.pop(request_id, None)
                self._stopped.discard(request_id)

    def _run(
        self,
        engine: CompletionBackend,
        request_id: int,
        serve: Callable[[CompletionBackend], None],
        *,
        may_reload: bool = True,
    ) -> None:
        """Serve a request; every failure ends as a signal, never as an exception."""
        try:
            serve(engine)
        except ModelFileChangedError as exc:
            replacement = self._reload_changed(exc) if may_reload else f"{exc}"
            if isinstance(replacement, str):
                self._lose_engine(request_id, _off(replacement))
            else:
                self._run(replacement, request_id, serve, may_reload=False)
        except EngineFault as exc:
            self._lose_engine(request_id, _off(str(exc)))
        except (EngineError, ValueError) as exc:
            self.failed.emit(request_id, str(exc))
        except Exception as exc:  # a bug: the engine's state is unknown, so stop using it
            log.exception("request %d failed", request_id)
            self._lose_engine(
                request_id,
                QT_TRANSLATE_NOOP(
                    "EngineWorker", "the suggestion engine failed unexpectedly (%1: %2). %3"
                ).arg(type(exc).__name__, exc, RELOAD_HINT),
            )

    def _prefill(
        self, engine: CompletionBackend, request: PrefillRequest, cancel: threading.Event
    ) -> None:
        done = self._serving(engine).prefill(request, cancel)
        if done is not None:
            self.prefilled.emit(request.id, done)

    def _serve(
        self,
        engine: CompletionBackend,
        request: CompletionRequest,
        cancel: threading.Event,
        picked_up_ms: float,
    ) -> None:
        server = self._serving(engine)
        if request.n_alternatives > 1:
            texts = server.alternatives(request, cancel)
            if texts is not None:
                self.alternatives.emit(request.id, texts)
            return
        result = server.complete(
            request, cancel, lambda piece, logprob: self.token.emit(request.id, piece, logprob)
        )
        self.finished.emit(RequestDone(request.id, result, picked_up_ms))

    def _serving(self, engine: CompletionBackend) -> RequestServer:
        """The server of ``engine`` (a reload after a file change brings a new engine)."""
        if self._server is None or self._server.engine is not engine:
            self._server = RequestServer(engine)
        return self._server

    def _reload_changed(self, exc: ModelFileChangedError) -> CompletionBackend | str:
        """The model file changed on disk: the engine loaded from what is at its path now,
        or why there is none (the file is gone, or what replaced it does not load)."""
        request = self._loaded
        self._close_engine()
        if exc.deleted or request is None:
            return str(exc)
        self.modelLoading.emit(request.path)
        started = time.perf_counter()
        opened = self._open(request)
        if isinstance(opened, str):
            again = QT_TRANSLATE_NOOP("EngineWorker", "%1, and it could not be loaded again: %2")
            return again.arg(exc, opened)
        self._install(opened, started)
        return opened.engine

    def _lose_engine(self, request_id: int | None, message: str) -> None:
        """The engine cannot be used any more: close it; suggestions are off."""
        self._close_engine()
        if request_id is not None:
            self.failed.emit(request_id, message)
        self.modelFailed.emit(message)

    @Slot(object)
    def inspect(self, request: InspectRequest) -> None:
        """Logits at the cursor through the sampler chain (quick: the prefix is cached)."""
        engine = self._engine
        with self._lock:
            if engine is None or request.id < self._latest_inspect:
                return
        if not engine.capabilities.logits:  # a server does not expose its logits
            self.inspected.emit(request.id, None)
            return
        try:
            context = _prompt(engine, request)
            logits, history = engine.next_token_logits(context.prefix)
            view = sampler_view(
                logits, request.sampling, history, _token_text(engine), top_n=request.top_n
            )
        except ModelFileChangedError as exc:  # as for a completion, but show nothing now
            replacement = self._reload_changed(exc)
            if isinstance(replacement, str):
                self._lose_engine(None, _off(replacement))
            self.inspected.emit(request.id, None)
            return
        except EngineFault as exc:
            self._lose_engine(None, _off(str(exc)))
            self.inspected.emit(request.id, None)
            return
        except Exception:  # the chart shows it has no view; typing is unaffected
            self.inspected.emit(request.id, None)
            return
        self.inspected.emit(request.id, view)

    @Slot()
    def shutdown_and_quit(self) -> None:
        """Close the engine on the thread that owns it, then end this thread's loop."""
        self._close_engine()
        thread = self.thread()
        if thread is not None:
            thread.quit()

    def _close_engine(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
            self._loaded = None
        if engine is not None:
            try:
                engine.close()
            except Exception:  # a broken engine must not keep the next one from loading
                log.exception("closing the engine failed")


def _off(reason: str) -> Text:
    """Why suggestions went off, and how to turn them back on."""
    return QT_TRANSLATE_NOOP("EngineWorker", "%1. %2").arg(reason, RELOAD_HINT)


def _prompt(
    engine: CompletionBackend, request: CompletionRequest | InspectRequest
) -> PromptContext:
    """The prompt for the text around the cursor, within the model's token budget."""
    return build_prompt(
        request.text,
        request.cursor,
        engine.count_tokens,
        budget_tokens=min(request.context_tokens, engine.n_ctx - 1),
    )


def _token_text(engine: CompletionBackend) -> Callable[[int], str]:
    def text(token: int) -> str:
        return engine.detokenize([token]).decode("utf-8", "replace")

    return text


class _Commands(QObject):
    """Lives on the GUI thread; its signals reach the worker as queued calls."""

    load = Signal(object)
    complete = Signal(object)
    prefill = Signal(object)
    inspect = Signal(object)
    shutdown = Signal()


class WorkerThread:
    """Starts an EngineWorker on its own QThread and stops both cleanly."""

    def __init__(self) -> None:
        self.thread = QThread()
        self.thread.setObjectName("ghostpen-engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self.commands = _Commands()
        self.commands.load.connect(self.worker.load)
        self.commands.complete.connect(self.worker.complete)
        self.commands.prefill.connect(self.worker.prefill)
        self.commands.inspect.connect(self.worker.inspect)
        self.commands.shutdown.connect(self.worker.shutdown_and_quit)
        self.thread.start()
        LIVE_THREADS.add(self.thread)
        self._last_id = 0
        self._last_inspect = 0

    def new_inspection_id(self) -> int:
        self._last_inspect += 1
        self.worker.supersede_inspection(self._last_inspect)
        return self._last_inspect

    def new_request_id(self) -> int:
        """The next request id (shared by every controller); older requests are stale."""
        self._last_id += 1
        self.worker.supersede(self._last_id)
        return self._last_id

    def stop(self, timeout_ms: int = 30_000) -> bool:
        """Stop what runs, close the engine on its own thread, and join the thread."""
        if not self.thread.isRunning():
            return True
        self.worker.supersede(1 << 62)
        self.commands.shutdown.emit()
        return bool(self.thread.wait(timeout_ms))
