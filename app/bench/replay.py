"""Typing replay: the passage typed into the real window at a steady pace, measured.

Nothing is simulated: the real MainWindow (offscreen), its SuggestionController, the
engine thread and llama.cpp. The bench only listens: to the requests the controller
sends, the pieces and results the worker returns (delivered to the GUI thread, as the
app receives them), and the editor's ``ghostPainted`` signal, which fires from its paint
event once a new ghost is on screen. A 5 ms timer measures how late the event loop runs.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Slot
from PySide6.QtTest import QTest

from app.bench.footprint import rss_bytes
from app.core.engine_api import Prefill
from app.core.stats import summary
from app.gui.main_window import MainWindow
from app.gui.worker import CompletionRequest, RequestDone

PROBE_MS = 5


@dataclass
class _Request:
    id: int
    created: float
    keystroke: float | None  # the last keystroke before the request
    before: str  # all text before the cursor when it was made
    raw: str = ""
    pieces: int = 0
    first_token: float | None = None
    first_paint: float | None = None
    pieces_at_paint: int = 0
    result: RequestDone | None = None
    complete: float | None = None  # the controller took it as a finished suggestion


@dataclass
class ReplayResult:
    interval_ms: int
    chars: int
    keystrokes_ms: dict[str, Any] = field(default_factory=dict)
    key_to_request_ms: list[float] = field(default_factory=list)
    request_to_first_token_ms: list[float] = field(default_factory=list)
    request_to_paint_ms: list[float] = field(default_factory=list)
    request_to_complete_ms: list[float] = field(default_factory=list)
    overhead_ratio: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    tokens_evaluated: list[float] = field(default_factory=list)
    tokens_per_keystroke: list[float] = field(default_factory=list)
    prefills: int = 0
    generated_tokens: list[float] = field(default_factory=list)
    loop_lag_ms: list[float] = field(default_factory=list)
    requests: int = 0
    paints: int = 0
    stale_paints: int = 0
    cache_paints: int = 0
    prefetches: int = 0  # sequels of a shown ghost computed ahead
    prefetch_paints: int = 0  # ghosts shown from a prefetch still running at Tab
    accepted_chars: int = 0  # typed while matching the ghost (type-through)
    rss_after: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "interval_ms": self.interval_ms,
            "chars": self.chars,
            "requests": self.requests,
            "paints": self.paints,
            "stale_paints": self.stale_paints,
            "cache_paints": self.cache_paints,
            "prefetches": self.prefetches,
            "prefetch_paints": self.prefetch_paints,
            "type_through_chars": self.accepted_chars,
            "keystroke_to_request_ms": summary(self.key_to_request_ms),
            "request_to_first_token_ms": summary(self.request_to_first_token_ms),
            "request_to_first_paint_ms": summary(self.request_to_paint_ms),
            "request_to_complete_ms": summary(self.request_to_complete_ms),
            "overhead_ratio": summary(self.overhead_ratio),
            "overhead_ms": summary(self.overhead_ms),
            "tokens_evaluated_per_request": summary(self.tokens_evaluated),
            "tokens_evaluated_per_keystroke": summary(self.tokens_per_keystroke),
            "prefills": self.prefills,
            "tokens_generated_per_request": summary(self.generated_tokens),
            "event_loop_lag_ms": summary(self.loop_lag_ms),
            "rss_after_bytes": self.rss_after,
        }


class _Probe(QObject):
    """Lives on the GUI thread, so the worker's signals reach it as the app gets them."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.w = window
        self.requests: dict[int, _Request] = {}
        self.last_key: float | None = None
        self.paints = 0
        self.stale = 0
        self.cache = 0
        self.prefetch_ids: set[int] = set()
        self.prefetch_paints = 0
        # Tokens evaluated for each keystroke: by its prefill and by the request after it.
        self.key_work: dict[float, int] = {}
        self.prefills = 0
        self.lag: list[float] = []
        self._tick = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._on_tick)
        worker = window.worker.worker
        window.worker.commands.complete.connect(self._on_request)
        worker.token.connect(self._on_token)
        worker.finished.connect(self._on_finished)
        worker.prefilled.connect(self._on_prefilled)
        window.controller.suggestionFinished.connect(self._on_complete)
        window.editor.ghostPainted.connect(self._on_paint)

    def _before_cursor(self) -> str:
        editor = self.w.editor
        return editor.toPlainText()[: editor.textCursor().position()]

    @Slot()
    def _on_tick(self) -> None:
        now = time.perf_counter()
        self.lag.append(max(0.0, (now - self._tick) * 1000.0 - PROBE_MS))
        self._tick = now

    def start(self) -> None:
        self._tick = time.perf_counter()
        self.timer.start()

    @Slot(object)
    def _on_request(self, request: CompletionRequest) -> None:
        if request.prefetch:  # not the writer's request: its engine work is counted only
            self.prefetch_ids.add(request.id)
            return
        if request.n_alternatives == 1:
            self.requests[request.id] = _Request(
                request.id, request.created, self.last_key, self._before_cursor()
            )

    @Slot(int, str, float)
    def _on_token(self, request_id: int, piece: str, _logprob: float) -> None:
        r = self.requests.get(request_id)
        if r is not None:
            if r.first_token is None:
                r.first_token = time.perf_counter()
            r.raw += piece
            r.pieces += 1

    @Slot(object)
    def _on_finished(self, done: RequestDone) -> None:
        if done.id in self.prefetch_ids:
            self._charge(self.last_key, done.completion.timings.prompt_tokens_evaluated)
            return
        r = self.requests.get(done.id)
        if r is not None:
            r.result = done
            self._charge(r.keystroke, done.completion.timings.prompt_tokens_evaluated)

    @Slot(int, object)
    def _on_prefilled(self, _request_id: int, done: Prefill) -> None:
        self.prefills += 1
        self._charge(self.last_key, done.evaluated)

    def _charge(self, keystroke: float | None, tokens: int) -> None:
        if keystroke is not None:
            self.key_work[keystroke] = self.key_work.get(keystroke, 0) + tokens

    @Slot(int)
    def _on_complete(self, request_id: int) -> None:
        r = self.requests.get(request_id)
        if r is not None:
            r.complete = time.perf_counter()

    @Slot(str)
    def _on_paint(self, ghost: str) -> None:
        now = time.perf_counter()
        self.paints += 1
        shown = self.w.controller.shown_request_id
        if shown in self.prefetch_ids:
            self.prefetch_paints += 1
            return
        r = self.requests.get(shown)
        if r is None:  # served from the cache for exactly this text: fresh by construction
            self.cache += 1
            return
        if r.first_paint is None:
            r.first_paint = now
            r.pieces_at_paint = max(1, r.pieces)
        before = self._before_cursor()
        typed = before[len(r.before) :] if before.startswith(r.before) else None
        if typed is None or not (r.raw.startswith(typed) or r.raw.lstrip().startswith(typed)):
            self.stale += 1  # a ghost computed for text the writer no longer has


def _type_char(window: MainWindow, ch: str) -> None:
    if ch == "\n":
        QTest.keyClick(window.editor, Qt.Key.Key_Return)
    else:
        QTest.keyClicks(window.editor, ch)


def replay(
    window: MainWindow, text: str, interval_ms: int, *, settle_timeout_s: float = 30.0
) -> ReplayResult:
    """Type ``text`` into ``window`` one character every ``interval_ms``; then measure."""
    probe = _Probe(window)
    window.editor.setFocus()
    position = 0
    accepted = 0
    key_times: list[float] = []
    loop = QEventLoop()

    def type_next() -> None:
        nonlocal position, accepted
        if position >= len(text):
            typist.stop()
            settle.start()
            return
        ch = text[position]
        if window.editor.ghost_text().startswith(ch):
            accepted += 1
        probe.last_key = time.perf_counter()
        key_times.append(probe.last_key)
        _type_char(window, ch)
        position += 1

    deadline = 0.0

    def check_settled() -> None:
        nonlocal deadline
        if deadline == 0.0:
            deadline = time.monotonic() + settle_timeout_s
        if window.controller.idle or time.monotonic() > deadline:
            settle.stop()
            loop.quit()

    typist = QTimer()
    typist.setTimerType(Qt.TimerType.PreciseTimer)
    typist.setInterval(interval_ms)
    typist.timeout.connect(type_next)
    settle = QTimer()
    settle.setInterval(10)
    settle.timeout.connect(check_settled)
    probe.start()
    typist.start()
    loop.exec()  # the app's own kind of event loop: timers, queued signals, paints
    probe.timer.stop()
    return _collect(probe, text, interval_ms, key_times, accepted)


def _collect(
    probe: _Probe, text: str, interval_ms: int, key_times: list[float], accepted: int
) -> ReplayResult:
    result = ReplayResult(interval_ms=interval_ms, chars=len(text))
    gaps = [(b - a) * 1000.0 for a, b in itertools.pairwise(key_times)]
    result.keystrokes_ms = summary(gaps)
    for r in probe.requests.values():
        result.requests += 1
        if r.keystroke is not None:
            result.key_to_request_ms.append((r.created - r.keystroke) * 1000.0)
        if r.first_token is not None:
            result.request_to_first_token_ms.append((r.first_token - r.created) * 1000.0)
        if r.first_paint is not None:
            result.request_to_paint_ms.append((r.first_paint - r.created) * 1000.0)
        if r.complete is not None:
            result.request_to_complete_ms.append((r.complete - r.created) * 1000.0)
        done = r.result
        if done is None:
            continue
        t = done.completion.timings
        result.tokens_evaluated.append(t.prompt_tokens_evaluated)
        result.generated_tokens.append(t.generated_tokens)
        if r.first_paint is not None and t.first_token_ms:
            engine_ms = t.first_token_ms + (r.pieces_at_paint - 1) * t.ms_per_token
            paint_ms = (r.first_paint - r.created) * 1000.0
            result.overhead_ratio.append(paint_ms / engine_ms)
            result.overhead_ms.append(paint_ms - engine_ms)
    result.tokens_per_keystroke = [float(probe.key_work.get(k, 0)) for k in key_times]
    result.prefills = probe.prefills
    result.paints = probe.paints
    result.stale_paints = probe.stale
    result.cache_paints = probe.cache
    result.prefetches = len(probe.prefetch_ids)
    result.prefetch_paints = probe.prefetch_paints
    result.loop_lag_ms = probe.lag
    result.accepted_chars = accepted
    result.rss_after = rss_bytes()
    return result
