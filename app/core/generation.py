"""The record of one completion as it is generated, and the ``Completion`` made of it.

The engine's decode loop chooses the tokens; this keeps what the caller gets back: the
text stream (whole characters, stop strings, the healed bytes never shown), the tokens
and their log-probabilities, the running confidence that each piece is sent with, and
the timings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from app.core.engine_api import Completion, PieceCallback, StopReason, TextCallback, Timings
from app.core.postprocess import StopFilter, complete_utf8


class TextStream(StopFilter):
    """Token bytes to text pieces: whole UTF-8 characters only, then the stop filter.

    The start of a character split across tokens waits for its end; at the end of
    generation an incomplete tail is dropped, never shown.
    """

    def __init__(self, stops: Sequence[str], sink: TextCallback | None, skip: int = 0) -> None:
        super().__init__(stops, sink)
        self._pending = b""
        self._skip = skip  # bytes the writer already has (healing): never shown

    def feed_bytes(self, data: bytes) -> bool:
        """Add one token's bytes; True when a stop string ended the text."""
        if self._skip:
            cut = min(self._skip, len(data))
            data, self._skip = data[cut:], self._skip - cut
        text, self._pending = complete_utf8(self._pending + data)
        return self.feed(text)


class Generation:
    """What one completion has produced so far, from the call's start (``started``, a
    ``time.perf_counter()``) to its :meth:`completion`.

    ``healed``: the prompt's bytes that healing removed, which the first tokens write
    again and the writer is never shown. ``on_piece`` makes it scored: each piece is
    sent with the summed log-probability of the tokens chosen so far.
    """

    def __init__(
        self,
        started: float,
        stops: Sequence[str],
        healed: bytes = b"",
        on_text: TextCallback | None = None,
        on_piece: PieceCallback | None = None,
    ) -> None:
        self._started = started
        self._gen_started = started
        self._healed = healed
        self._on_text = on_text
        self._on_piece = on_piece
        self.scored = on_piece is not None
        self._out = TextStream(stops, self._send, skip=len(healed))
        self.tokens: list[int] = []
        self._logprobs: list[float] = []
        self.logprob = 0.0  # of every token chosen so far: read as each piece leaves
        self._evaluated = 0
        self._prompt_ms = 0.0
        self._first_token_ms: float | None = None
        self.slides = 0  # times the window slid during generation
        self.reason = StopReason.LENGTH

    def _send(self, piece: str) -> None:
        if self._on_text is not None:
            self._on_text(piece)
        if self._on_piece is not None:
            self._on_piece(piece, self.logprob)

    def prompt_evaluated(self, evaluated: int) -> None:
        """The prompt is in the cache (``evaluated`` of its tokens this call): generation
        starts now."""
        self._evaluated = evaluated
        self._gen_started = time.perf_counter()
        self._prompt_ms = (self._gen_started - self._started) * 1000.0

    def chosen(self, step: float) -> None:
        """A token was chosen, ``step`` its log-probability. An end-of-generation token
        counts too: text still held back is sent after it, with its share."""
        if self.scored:
            self.logprob += step
        if self._first_token_ms is None:
            self._first_token_ms = (time.perf_counter() - self._started) * 1000.0

    def add(self, token: int, step: float, data: bytes) -> bool:
        """Keep a generated token and send its text on; True when a stop string ended it."""
        self.tokens.append(token)
        if self.scored:
            self._logprobs.append(step)
        if self._out.feed_bytes(data):
            self.reason = StopReason.STOP
            return True
        return False

    def completion(self, *, prompt_tokens: int, seed: int, truncated: bool) -> Completion:
        """The result: held text is sent unless a stop string or a cancel ended it."""
        if self.reason is not StopReason.STOP:
            self._out.finish(flush_held=self.reason is not StopReason.CANCELLED)
        gen_ms = (time.perf_counter() - self._gen_started) * 1000.0 if self.tokens else 0.0
        return Completion(
            healed=self._healed.decode("utf-8", "replace"),
            token_logprobs=tuple(self._logprobs),
            text=self._out.text,
            token_ids=tuple(self.tokens),
            stop_reason=self.reason,
            timings=Timings(
                prompt_tokens=prompt_tokens,
                prompt_tokens_evaluated=self._evaluated,
                prompt_ms=self._prompt_ms,
                generated_tokens=len(self.tokens),
                generation_ms=gen_ms,
                first_token_ms=self._first_token_ms,
                window_slides=self.slides,
            ),
            seed=seed,
            prompt_truncated=truncated,
        )
