"""The product's suggestion policy, driven by a simulated writer on a simulated clock.

Nothing about the suggestions is simulated: the core's :class:`SuggestionPolicy` decides,
the engine computes, exactly as in the app (the same requests, served by the same
:class:`~app.core.serve.RequestServer`). What is simulated is the world around them:

- **The clock** is real time with the waits skipped: the policy's timers and the
  writer's pace jump ahead, while everything that computes (the engine, the policy)
  takes the time it really takes. A ghost's time to paint is therefore measured.
- **The engine thread** becomes a queue served in turn. A request superseded before it
  starts is skipped, one superseded while it runs stops at the next token, as the worker
  does; events due while it runs (the writer's next key) are handled between tokens.
- **The editor** is a string and a cursor at its end; the ghost is what the policy last
  showed, minus what the writer typed through or accepted since.

With a pace, the writer presses a key every ``pace_ms`` whatever is on screen: a ghost
counts only if it is painted before the key that can take it. Without one, the writer
waits until the policy has nothing left to do before each key (every ghost counts).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.engine import Engine
from app.core.requests import CompletionRequest, PrefillRequest, RequestDone
from app.core.sampling import SamplingSettings
from app.core.serve import RequestServer
from app.core.settings import SuggestionSettings
from app.core.suggestion_policy import Features, SuggestionPolicy, SuggestionStats, Timer
from app.eval.tally import Tally
from app.eval.writer import Key, Screen, next_press

__all__ = ["DEFAULT_GAP_MS", "PolicyRun", "VirtualClock"]

#: The writer's rhythm without a pace: the time between keys when nothing is pending.
DEFAULT_GAP_MS = 150.0

Progress = Callable[[int, int], None]


class VirtualClock:
    """Real time, except that waiting costs nothing: it jumps ahead instead."""

    def __init__(self) -> None:
        self._offset = 0.0

    def __call__(self) -> float:
        return time.perf_counter() + self._offset

    def wait_until(self, when: float) -> None:
        ahead = when - self()
        if ahead > 0:
            self._offset += ahead


@dataclass
class _Job:
    request: CompletionRequest | PrefillRequest
    cancel: threading.Event = field(default_factory=threading.Event)


class PolicyRun:
    """One text typed through the policy (a :class:`~app.core.suggestion_policy.PolicyHost`)."""

    def __init__(
        self,
        engine: Engine,
        text: str,
        *,
        settings: SuggestionSettings,
        sampling: SamplingSettings,
        features: Features,
        pace_ms: float | None,
        name: str = "ghostpen",
        server: RequestServer | None = None,
    ) -> None:
        self.clock = VirtualClock()
        self.tally = Tally(name)
        self.screen = Screen(self.tally, text)
        self._text = text
        self._server = server or RequestServer(engine)
        self._pace = None if pace_ms is None else pace_ms / 1000.0
        # Without a pace the writer still types at a writer's rhythm between waits.
        self._gap = (pace_ms or DEFAULT_GAP_MS) / 1000.0
        self._shown_key: float | None = None  # the keystroke before the ghost on screen
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._jobs: list[_Job] = []
        self._running: _Job | None = None
        self._latest = 0
        self._timer_seq: dict[Timer, int] = {}
        self._last_key = self.clock()
        self._accepted_at: float | None = None  # a Tab took the whole ghost then
        self.policy = SuggestionPolicy(
            self, settings, sampling, clock=self.clock, features=features
        )
        self.policy.attach(self)
        self.policy.model_changed(True)

    # ----------------------------------------------------------------- the run

    def run(
        self,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        *,
        settle: bool = False,
    ) -> Tally:
        """Type the whole text (or until ``stop`` is set); the tally of what happened.

        ``settle``: after the last key, let the policy finish (the writer pauses), so
        :attr:`Screen.ghost <app.eval.writer.Screen.ghost>` is what it shows there.
        """
        started = time.perf_counter()
        self._schedule_key(self.clock())
        while self.screen.pos < len(self._text):
            if stop is not None and stop.is_set():
                self.tally.interrupted = True
                break
            self._dispatch_due()
            if self._jobs:
                self._run_job(self._jobs.pop(0))
            elif self._events:
                self.clock.wait_until(self._events[0][0])
            else:  # nothing left to wait for (only without a pace): the writer's next key
                self._schedule_key(max(self.clock(), self._last_key + self._gap))
            if progress is not None:
                progress(self.screen.pos, len(self._text))
        if settle and not self.tally.interrupted:
            self._settle()
        self.policy.shutdown()
        self.tally.chars = self.screen.pos
        self.tally.seconds = time.perf_counter() - started
        return self.tally

    def _settle(self) -> None:
        """Serve what is queued and fire the timers that are set, until nothing is left."""
        while self._jobs or self._events:
            self._dispatch_due()
            if self._jobs:
                self._run_job(self._jobs.pop(0))
            elif self._events:
                self.clock.wait_until(self._events[0][0])

    def _schedule(self, when: float, action: Callable[[], None]) -> int:
        seq = next(self._seq)
        heapq.heappush(self._events, (when, seq, action))
        return seq

    def _dispatch_due(self) -> None:
        while self._events and self._events[0][0] <= self.clock():
            _when, _seq, action = heapq.heappop(self._events)
            action()

    # ----------------------------------------------------------------- the writer

    def _schedule_key(self, when: float) -> None:
        self._schedule(when, lambda: self._key(when))

    def _key(self, now: float) -> None:
        """The writer's key, due at ``now``: it may be handled late (between two tokens),
        but it counts from when it was due, as in the app, where it comes at once."""
        if self.screen.pos >= len(self._text):
            return
        self._last_key = now
        press = next_press(self.screen.ghost, self._text, self.screen.pos)
        if self._accepted_at is not None:
            self.tally.accepts_unanswered += 1  # no ghost came before this key
        rest = self.screen.press(press)
        self._accepted_at = now if press.key is Key.TAB else None
        if rest is None:
            self.policy.text_edited()
        else:
            self.policy.ghost_consumed(press.text, rest)
        if self._pace is not None:
            self._schedule_key(now + self._pace)

    # ----------------------------------------------------------------- the engine thread

    def _run_job(self, job: _Job) -> None:
        request = job.request
        if request.id < self._latest:
            return  # superseded before it started
        self._running = job
        try:
            if isinstance(request, PrefillRequest):
                done = self._server.prefill(request, job.cancel)
                self.tally.prefills += 1
                if done is not None:
                    self.tally.tokens_evaluated += done.evaluated
                return
            self.tally.requests += 1

            def on_piece(piece: str, logprob: float) -> None:
                self._dispatch_due()  # what happened before this piece was ready
                self.policy.on_piece(request.id, piece, logprob)

            if request.n_alternatives > 1:
                texts = self._server.alternatives(request, job.cancel)
                if texts is not None:
                    self.policy.on_alternatives(request.id, texts)
                return
            result = self._server.complete(request, job.cancel, on_piece)
            self.tally.tokens_evaluated += result.timings.prompt_tokens_evaluated
            self.tally.tokens_generated += result.timings.generated_tokens
            self._dispatch_due()
            self.policy.on_finished(RequestDone(request.id, result, 0.0))
        finally:
            self._running = None

    # ----------------------------------------------------------------- PolicyHost

    def new_request_id(self) -> int:
        self._latest += 1
        for job in [*self._jobs, self._running]:
            if job is not None and job.request.id < self._latest:
                job.cancel.set()
        return self._latest

    def send_completion(self, request: CompletionRequest) -> None:
        self._jobs.append(_Job(request))

    def send_prefill(self, request: PrefillRequest) -> None:
        self._jobs.append(_Job(request))

    def stop_request(self, request_id: int) -> None:
        for job in [*self._jobs, self._running]:
            if job is not None and job.request.id == request_id:
                job.cancel.set()

    def start_timer(self, timer: Timer, delay_ms: int) -> None:
        seq = self._schedule(self.clock() + delay_ms / 1000.0, lambda: self._fire(timer, seq))
        self._timer_seq[timer] = seq

    def _fire(self, timer: Timer, seq: int) -> None:
        if self._timer_seq.get(timer) == seq:
            del self._timer_seq[timer]
            self.policy.timer_fired(timer)

    def stop_timer(self, timer: Timer) -> None:
        self._timer_seq.pop(timer, None)

    def ghost_changed(self, text: str) -> None:
        self.screen.changed(text)

    def suggestion_shown(self, text: str, confidence: float | None) -> None:
        now = self.clock()
        self._shown_key = self._last_key
        self.screen.shown(text, confidence, (now - self._last_key) * 1000.0)
        if self._accepted_at is not None:
            self.tally.accept_to_next_ms.append((now - self._accepted_at) * 1000.0)
            self._accepted_at = None

    def suggestion_finished(self, request_id: int) -> None:
        record = self.screen.record
        key = self._shown_key
        if record is not None and key is not None and self.policy.shown_request_id == request_id:
            record.complete_ms = (self.clock() - key) * 1000.0

    def stats_changed(self, stats: SuggestionStats) -> None:
        record = self.screen.record
        if stats.from_cache and record is not None:
            record.from_cache = True
            record.complete_ms = record.shown_ms

    def busy_changed(self, busy: bool) -> None:
        pass

    def error_changed(self, message: str) -> None:
        if message:
            raise RuntimeError(f"the policy reported an error: {message}")

    # ----------------------------------------------------------------- DocumentSource

    def text_around_cursor(self, before: int, after: int) -> tuple[str, int]:
        pos = self.screen.pos
        head = self._text[max(0, pos - before) : pos]
        return head, len(head)

    def line_around_cursor(self) -> tuple[str, str]:
        head = self._text[: self.screen.pos]
        return head[head.rfind("\n") + 1 :], ""
