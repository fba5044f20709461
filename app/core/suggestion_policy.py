"""The suggestion policy: when to ask the model, what to show, and what to drop.

One implementation, driven two ways. In the app, the Qt ``SuggestionController`` feeds it
the writer's edits and the engine thread's answers and carries out what it asks (timers,
requests, the ghost on screen). In ``ghostpen eval`` a simulated writer does the same
with a simulated clock and the real engine. So the figures the eval reports are the
product's, not a copy's.

It is a plain state machine: events come in as method calls, effects go out through the
:class:`PolicyHost` it is given, time comes from the clock it is given. It never blocks.

- Every request gets an increasing id; a newer one supersedes (cancels) the one in
  flight, and pieces or results carrying an old id are dropped, never shown.
- Automatic requests wait for an adaptive debounce (the writer's typing rhythm) and are
  skipped inside a word or when much text sits right of the cursor; a manual trigger is
  immediate and skips those checks.
- A cache of finished answers serves a prompt seen before at once, with no request; a
  shown ghost's continuation is computed ahead (prefetch), so Tab, Tab keeps writing.
- What an answer shows is decided by :func:`app.core.answer.present`: confidence,
  unit, junk. Once nothing more can change it, generation stops.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from app.core.answer import Answer, Shown, present
from app.core.engine_api import StopReason
from app.core.latency import LatencyTracker
from app.core.postprocess import SuggestionMode
from app.core.requests import CompletionRequest, PrefillRequest, RequestDone
from app.core.sampling import SamplingSettings
from app.core.settings import SuggestionSettings, min_confidence
from app.core.suggestion_cache import SuggestionCache
from app.core.typing_rhythm import TypingRhythm

__all__ = [
    "CHARS_PER_TOKEN_BOUND",
    "JUNK_RETRIES",
    "SUFFIX_CHARS",
    "DocumentSource",
    "Features",
    "PolicyHost",
    "SuggestionPolicy",
    "SuggestionStats",
    "Timer",
]

#: Characters of text before the cursor sent with a request: generous for the token
#: budget (GPT-2 averages about 4 characters per token), the worker trims to tokens.
CHARS_PER_TOKEN_BOUND = 8
SUFFIX_CHARS = 256
#: When an answer opens with junk, the next likeliest first tokens are tried this often.
JUNK_RETRIES = 2


class DocumentSource(Protocol):
    """What the policy may ask of the document (the editor implements it)."""

    def text_around_cursor(self, before: int, after: int) -> tuple[str, int]:
        """About ``before`` characters before the cursor and ``after`` after it, and the
        cursor's index in that text. Bounded, so a keystroke never copies a whole book."""
        ...

    def line_around_cursor(self) -> tuple[str, str]:
        """The cursor's line: (text before the cursor, text after it)."""
        ...


class Timer(str, Enum):
    SETTLE = "settle"  # the edit has settled: text and cursor agree (next event-loop turn)
    DEBOUNCE = "debounce"  # the pause before an automatic request


class PolicyHost(Protocol):
    """What the policy asks of the world it runs in."""

    def new_request_id(self) -> int:
        """The next request id; every older request is stale from now on."""
        ...

    def send_completion(self, request: CompletionRequest) -> None: ...

    def send_prefill(self, request: PrefillRequest) -> None: ...

    def stop_request(self, request_id: int) -> None:
        """It has produced enough: stop it, running or queued."""
        ...

    def start_timer(self, timer: Timer, delay_ms: int) -> None: ...

    def stop_timer(self, timer: Timer) -> None: ...

    def ghost_changed(self, text: str) -> None:
        """Show ``text`` at the cursor ("" = nothing)."""
        ...

    def suggestion_shown(self, text: str, confidence: float | None) -> None:
        """A new suggestion became visible."""
        ...

    def suggestion_finished(self, request_id: int) -> None: ...

    def stats_changed(self, stats: SuggestionStats) -> None: ...

    def busy_changed(self, busy: bool) -> None: ...

    def error_changed(self, message: str) -> None: ...


@dataclass(frozen=True)
class Features:
    """Layers of the policy, all on in the product. ``ghostpen eval --without`` turns
    them off one at a time, to show what each buys."""

    healing: bool = True
    junk_filter: bool = True
    confidence: bool = True
    prefetch: bool = True
    #: The confidence a ghost needs, instead of the "suggest when" setting's (tuning).
    min_confidence: float | None = None


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
    """A request in flight and what the writer did to its ghost meanwhile."""

    id: int
    prefix: str  # text before the cursor when the request was made (the window)
    line_suffix: str
    document: str  # the window around the cursor (links already in it are the writer's)
    created: float
    answer: Answer = field(default_factory=Answer)
    consumed: str = ""  # ghost text typed through or accepted since
    first_token: float | None = None
    first_shown: float | None = None
    stopped_early: bool = False
    branch: int = 0


class SuggestionPolicy:
    def __init__(
        self,
        host: PolicyHost,
        settings: SuggestionSettings | None = None,
        sampling: SamplingSettings | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
        features: Features | None = None,
    ) -> None:
        self._host = host
        self._clock = clock
        self.features = features or Features()
        self.settings = settings or SuggestionSettings()
        self.sampling = sampling or SamplingSettings()
        self._source: DocumentSource | None = None
        self._rhythm = TypingRhythm(self.settings.debounce_ms)
        self._latency = LatencyTracker()  # recent request -> ghost shown
        self._cache = SuggestionCache()
        self.paused = False  # a draft owns the engine: no suggestion requests meanwhile
        self.model_ready = False  # a working model is loaded
        self.remote = False  # it runs on a server (no prefill, no probabilities)
        self._pending: _Pending | None = None
        self._prefetch: _Pending | None = None  # the continuation of the shown ghost
        self._ghost = ""
        self._shown_request = 0
        self._alternatives: list[str] = []
        self._alt_index = 0
        self._alt_request = 0
        self._alt_step = 1
        self._timers: set[Timer] = set()

    # ----------------------------------------------------------------- state

    def attach(self, source: DocumentSource) -> None:
        self._source = source

    @property
    def ghost(self) -> str:
        return self._ghost

    @property
    def idle(self) -> bool:
        """No timer armed and nothing in flight: no request will come by itself."""
        return (
            not self._timers
            and self._pending is None
            and self._prefetch is None
            and not self._alt_request
        )

    @property
    def alternatives(self) -> tuple[str, ...]:
        return tuple(self._alternatives)

    @property
    def shown_request_id(self) -> int:
        return self._shown_request

    @property
    def mode(self) -> SuggestionMode:
        return SuggestionMode(self.settings.mode)

    @property
    def min_confidence(self) -> float:
        """The probability a ghost's first word needs (0: show whatever comes)."""
        if not self.features.confidence:
            return 0.0
        if self.features.min_confidence is not None:
            return self.features.min_confidence
        return min_confidence(self.settings.suggest_when)

    def update_settings(
        self, settings: SuggestionSettings, sampling: SamplingSettings | None = None
    ) -> None:
        """New settings apply to the next request; cached answers may no longer fit."""
        self.settings = settings
        if sampling is not None:
            self.sampling = sampling
        self._rhythm.base_ms = settings.debounce_ms
        self._cache.clear()

    def model_changed(self, ready: bool, *, remote: bool = False) -> None:
        """A model was loaded (``ready``) or lost. Cached answers were the old model's; a
        request in flight stays (a model file replaced on disk is reloaded under it)."""
        if ready:
            self._cache.clear()
        else:
            self.forget()
        self.model_ready, self.remote = ready, remote

    def forget(self) -> None:
        """Drop what was asked and what was cached: another model is coming."""
        self._cancel_all()
        self._set_ghost("")
        self._cache.clear()

    # ----------------------------------------------------------------- what the writer did

    def text_edited(self) -> None:
        """The writer changed the text: the ghost is gone; maybe ask again after a pause.

        In Qt the change is reported before the cursor moves, so what to do next is
        decided when the ``SETTLE`` timer fires, once the text and the cursor agree.
        """
        self._rhythm.keystroke(self._clock() * 1000.0)
        # A prefetch may continue exactly what the writer now has (Tab took the whole
        # ghost): whether it does is decided once the edit has settled.
        self._cancel_all(keep_prefetch=True)
        self._set_ghost("")
        if self.model_ready and self.settings.auto_suggest and not self.paused:
            self._start(Timer.SETTLE, 0)

    def timer_fired(self, timer: Timer) -> None:
        self._timers.discard(timer)
        if timer is Timer.SETTLE:
            self._edit_settled()
        else:
            self._fire()

    def _edit_settled(self) -> None:
        if self._source is None:
            return
        window, at = self._window()  # one copy of the text around the cursor per keystroke
        if self._adopt_prefetch(window, at):
            return
        ask = self._auto_allowed() and not self._serve_from_cache(window, at)
        self._prefill(window, at)
        if ask:
            self._start(Timer.DEBOUNCE, self._rhythm.delay_ms(self._latency.estimate()))

    def _prefill(self, window: str, at: int) -> None:
        """Evaluate the new text while the writer types, so a pause's request only samples.

        The pause before a suggestion is asked for (and, typing fast, the whole burst)
        would otherwise leave the model's cache behind the text: a fast typist's first
        suggestion after a sentence cost half a second of prompt evaluation. A keystroke's
        prefill is a token or two; the request that follows supersedes it if it is not done.
        """
        if not self.model_ready or self.remote:
            return
        if self._pending is not None or self._alt_request or self._prefetch is not None:
            return  # the engine is busy with an answer the writer may still see
        request = PrefillRequest(
            id=self._new_id(),
            text=window,
            cursor=at,
            max_tokens=self.settings.max_tokens,
            context_tokens=self.settings.context_tokens,
            created=self._clock(),
            heal=self.features.healing,
        )
        self._host.send_prefill(request)

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
            self._new_id()
            self._host.busy_changed(False)
        self._alternatives = []
        if not remainder:
            self.text_edited()

    def trigger_now(self) -> None:
        """Alt+\\: ask at once, whatever the position and the auto-suggest setting."""
        if self.paused:
            return
        if not self.model_ready:
            self._host.error_changed("No model is loaded: open a GGUF model to get suggestions.")
            return
        self._cancel_all()
        self._set_ghost("")
        self._fire()

    def next_alternative(self, step: int = 1) -> None:
        """Cycle among alternative suggestions; they are computed on first demand."""
        if not self._ghost or not self.model_ready:
            return
        if self._alternatives:
            self._alt_index = (self._alt_index + step) % len(self._alternatives)
            self._show(self._alternatives[self._alt_index], new=True)
            return
        if self._alt_request or self._source is None:
            return  # already being computed
        self._drop_prefetch()
        request = self._request(n_alternatives=self.settings.n_alternatives)
        self._alt_request = request.id
        self._alt_step = step
        self._host.busy_changed(True)
        self._host.send_completion(request)

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

    def _request(
        self,
        n_alternatives: int = 1,
        *,
        window: tuple[str, int] | None = None,
        branch: int = 0,
        prefetch: bool = False,
    ) -> CompletionRequest:
        text, at = window or self._window()
        sampling = self.sampling.with_changes(max_tokens=self.settings.max_tokens)
        if self.settings.likeliest and n_alternatives == 1:
            sampling = likeliest(sampling)
        return CompletionRequest(
            id=self._new_id(),
            text=text,
            cursor=at,
            sampling=sampling,
            context_tokens=self.settings.context_tokens,
            n_alternatives=n_alternatives,
            created=self._clock(),
            heal=self.features.healing,
            scored=n_alternatives == 1 and not self.remote,
            avoid_markup=self.features.junk_filter,
            branch=branch,
            prefetch=prefetch,
        )

    def _cache_key(self, line_suffix: str) -> str:
        s = self.settings
        return (
            f"{s.mode}|{s.max_tokens}|{s.suggest_when}|{s.likeliest}|{self.sampling!r}|"
            f"{line_suffix}"
        )

    def _serve_from_cache(self, window: str, at: int) -> bool:
        assert self._source is not None
        _before, after = self._source.line_around_cursor()
        answer = self._cache.lookup(window[:at], self._cache_key(after))
        if answer is None:
            return False
        shown = self._present(answer, window[:at], after, window)
        if not shown.text:
            return False
        self._shown_request = self._new_id()
        self._show(shown.text, new=True, confidence=shown.confidence)
        self._host.stats_changed(SuggestionStats(0.0, 0.0, 0.0, 0, 0.0, 0, from_cache=True))
        self._prefetch_after(window, at, shown.text)
        return True

    def _fire(self, branch: int = 0, window: tuple[str, int] | None = None) -> None:
        if self._source is None or not self.model_ready:
            return
        _before, after = self._source.line_around_cursor()
        request = self._request(window=window, branch=branch)
        self._pending = self._pending_for(request, after)
        self._host.busy_changed(True)
        self._host.send_completion(request)

    def _pending_for(self, request: CompletionRequest, line_suffix: str) -> _Pending:
        return _Pending(
            id=request.id,
            prefix=request.text[: request.cursor],
            line_suffix=line_suffix,
            document=request.text,
            created=request.created,
            branch=request.branch,
        )

    def _prefetch_after(self, window: str, at: int, ghost: str) -> None:
        """Compute, while the ghost is read, what follows it: Tab then shows the next one
        at once. Any keystroke but the one taking the whole ghost drops it."""
        if not self.features.prefetch or self._prefetch is not None or self.paused:
            return
        if self._pending is not None or self._alt_request or not self.settings.auto_suggest:
            return
        if "\n" in ghost:
            return
        _before, after = self._source.line_around_cursor() if self._source else ("", "")
        text = window[:at] + ghost + window[at:]
        request = self._request(window=(text, at + len(ghost)), prefetch=True)
        self._prefetch = self._pending_for(request, after)  # after _new_id dropped the old
        self._host.send_completion(request)

    def _adopt_prefetch(self, window: str, at: int) -> bool:
        """A prefetch still running for exactly the text before the cursor becomes the
        request in flight (Tab took the whole ghost before its sequel was ready)."""
        p = self._prefetch
        if p is None or self._source is None:
            return False
        before = window[:at]
        n = min(len(before), len(p.prefix))
        _line, after = self._source.line_around_cursor()
        if before[-n:] != p.prefix[-n:] or after != p.line_suffix:
            self._drop_prefetch()
            return False
        self._prefetch, self._pending = None, p
        p.created = self._clock()  # its latency counts from the Tab, not from the reading
        self._host.busy_changed(True)
        if p.answer.raw:
            self._refresh(p)
        return True

    def _drop_prefetch(self) -> None:
        if self._prefetch is not None:
            self._new_id()  # supersedes it

    def _new_id(self) -> int:
        """The next request id. Every request in flight is stale from now on, a prefetch
        too: one that was superseded must never be waited for."""
        self._prefetch = None
        return self._host.new_request_id()

    def _start(self, timer: Timer, delay_ms: int) -> None:
        self._timers.add(timer)
        self._host.start_timer(timer, delay_ms)

    def _cancel_all(self, *, keep_prefetch: bool = False) -> None:
        """Drop the timers, the request in flight, alternatives and (unless kept) a prefetch.

        A kept prefetch survives only when nothing else was in flight: superseding the
        others supersedes it too (request ids are ordered).
        """
        for timer in list(self._timers):
            self._host.stop_timer(timer)
        self._timers.clear()
        p = self._pending
        if p is not None and p.first_shown is None:
            # Overtaken before it showed anything: the model takes at least this long.
            waited = (self._clock() - p.created) * 1000.0
            self._latency.overtaken(waited)
        prefetch = self._prefetch is not None and not keep_prefetch
        if self._pending is not None or self._alt_request or prefetch:
            busy = self._pending is not None or bool(self._alt_request)
            self._new_id()  # supersedes what is in flight
            self._pending = None
            self._alt_request = 0
            if busy:
                self._host.busy_changed(False)
        self._alternatives = []
        self._alt_index = 0

    # ----------------------------------------------------------------- answers

    def on_piece(self, request_id: int, piece: str, logprob: float = math.nan) -> None:
        p = self._pending
        if p is None or request_id != p.id:
            q = self._prefetch
            if q is not None and request_id == q.id:
                q.answer.add(piece, logprob)
                if q.first_token is None:
                    q.first_token = self._clock()
                if self._present_pending(q).settled and not q.stopped_early:
                    q.stopped_early = True
                    self._host.stop_request(q.id)
            return  # else stale: a newer request exists
        if p.first_token is None:
            p.first_token = self._clock()
        p.answer.add(piece, logprob)
        shown = self._refresh(p)
        if shown is not None and shown.settled and not p.stopped_early:
            p.stopped_early = True
            self._host.stop_request(p.id)

    def _present(self, answer: Answer, prefix: str, suffix: str, document: str) -> Shown:
        return present(
            answer,
            self.mode,
            prefix=prefix,
            suffix=suffix,
            document=document,
            min_confidence=self.min_confidence,
            filter_junk=self.features.junk_filter,
        )

    def _present_pending(self, p: _Pending) -> Shown:
        return self._present(p.answer, p.prefix, p.line_suffix, p.document)

    def _refresh(self, p: _Pending) -> Shown | None:
        shown = self._present_pending(p)
        text = shown.text
        if p.consumed:
            if not text.startswith(p.consumed):
                return shown
            text = text[len(p.consumed) :]
        if not text and shown.junk and self._shown_request == p.id and self._ghost:
            self._set_ghost("")  # what was shown turned out to open junk: take it back
        if text and text != self._ghost:
            if not self._cursor_unmoved(p):  # recovery: never paint a ghost out of place
                self._cancel_all()
                self._set_ghost("")
                return None
            new = self._shown_request != p.id
            self._shown_request = p.id
            if p.first_shown is None:
                p.first_shown = self._clock()
            self._show(text, new=new, confidence=shown.confidence)
        return shown

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

    def on_finished(self, done: RequestDone) -> None:
        q = self._prefetch
        if q is not None and done.id == q.id:
            q.answer.final = True
            q.answer.ended = _ended(done)
            self._prefetch = None
            if done.completion.stop_reason is not StopReason.CANCELLED or q.stopped_early:
                self._cache.store(q.prefix, self._cache_key(q.line_suffix), q.answer)
            return
        p = self._pending
        if p is None or done.id != p.id:
            return
        self._pending = None
        self._host.busy_changed(False)
        completion = done.completion
        if completion.stop_reason is StopReason.CANCELLED and not p.stopped_early:
            return
        p.answer.final = True
        p.answer.ended = _ended(done)
        shown = self._refresh(p)
        self._cache.store(p.prefix, self._cache_key(p.line_suffix), p.answer)
        self._host.suggestion_finished(done.id)
        now = self._clock()
        if p.first_shown is not None:
            self._latency.shown((p.first_shown - p.created) * 1000.0)
        t = completion.timings
        self._host.stats_changed(
            SuggestionStats(
                first_token_ms=_ms(p.first_token, p.created),
                first_shown_ms=_ms(p.first_shown, p.created),
                total_ms=(now - p.created) * 1000.0,
                tokens=t.generated_tokens,
                tokens_per_second=t.tokens_per_second,
                prompt_tokens_evaluated=t.prompt_tokens_evaluated,
            )
        )
        if shown is None:
            return
        if shown.junk and not self._ghost and p.branch < JUNK_RETRIES:
            self._retry_after_junk(p)
        elif self._ghost and self._shown_request == p.id and self._source is not None:
            window, at = self._window()
            self._prefetch_after(window, at, self._ghost)

    def _retry_after_junk(self, p: _Pending) -> None:
        """The likeliest answer opened with junk: ask for the next likeliest first token."""
        if self._source is None or not self._cursor_unmoved(p) or p.consumed:
            return
        self._fire(branch=p.branch + 1)

    def on_alternatives(self, request_id: int, texts: list[str]) -> None:
        if request_id != self._alt_request:
            return
        self._alt_request = 0
        self._host.busy_changed(False)
        source = self._source
        if source is None or not self._ghost:
            return
        window, at = self._window()
        prefix = window[:at]
        _before, after = source.line_around_cursor()
        options = [self._ghost]
        for raw in texts:
            shown = present(
                Answer(raw, final=True),
                self.mode,
                prefix=prefix,
                suffix=after,
                document=window,
                filter_junk=self.features.junk_filter,
            )
            if shown.text and shown.text not in options:
                options.append(shown.text)
        self._alternatives = options
        self._alt_index = 0
        if len(options) > 1:
            self.next_alternative(self._alt_step)

    def on_failed(self, request_id: int, message: str) -> None:
        if self._prefetch is not None and request_id == self._prefetch.id:
            self._prefetch = None
            return
        if (self._pending is not None and request_id == self._pending.id) or (
            request_id == self._alt_request
        ):
            shown_from_it = self._pending is not None and self._shown_request == request_id
            self._pending = None
            self._alt_request = 0
            self._alternatives = []
            self._host.busy_changed(False)
            if shown_from_it:  # a partial answer of a failed request is not a suggestion
                self._set_ghost("")
            self._host.error_changed(f"Suggestion failed: {message}")

    # ----------------------------------------------------------------- showing

    def _show(self, text: str, *, new: bool, confidence: float | None = None) -> None:
        self._set_ghost(text)
        if new and text:
            self._host.suggestion_shown(text, confidence)

    def _set_ghost(self, text: str) -> None:
        if text != self._ghost:
            self._ghost = text
            self._host.ghost_changed(text)


def likeliest(sampling: SamplingSettings) -> SamplingSettings:
    """``sampling`` made to pick the likeliest token every time, without penalties."""
    return sampling.with_changes(
        temperature=0.0, repeat_penalty=1.0, presence_penalty=0.0, frequency_penalty=0.0
    )


def _ended(done: RequestDone) -> bool:
    """Did the model end the text itself (so its last word is whole)?"""
    return done.completion.stop_reason in (StopReason.EOS, StopReason.STOP)


def _ms(end: float | None, start: float) -> float | None:
    return None if end is None else (end - start) * 1000.0
