"""The baselines, typed by the same simulated writer, so each layer shows what it buys.

- **no model**: word completion from the words of the document so far, the most
  frequent word that starts with the typed prefix, once two letters are typed;
- **raw**: a plain greedy continuation of the raw text before the cursor, 8 tokens, cut
  at the line end: no healing, no filters, no confidence.

Both answer at once (they are measured without a pace) and keep a ghost while the writer
types through it, as the editor does.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from app.core.engine import Engine
from app.core.sampling import GREEDY
from app.eval.tally import Tally
from app.eval.writer import Screen, next_press

__all__ = ["RAW_TOKENS", "RawContinuation", "Suggester", "WordCompletion", "run_baseline"]

#: The raw baseline's continuation length.
RAW_TOKENS = 8
_WORD = re.compile(r"\w+")
_PARTIAL = re.compile(r"\w+\Z")


class Suggester(Protocol):
    """A baseline: the ghost for the text before the cursor ("" = none)."""

    name: str

    def suggest(self, before: str) -> str: ...


class WordCompletion:
    """The most frequent earlier word of the document that completes the typed prefix."""

    name = "no model"

    def __init__(self, min_prefix: int = 2) -> None:
        self._min_prefix = min_prefix
        self._counts: Counter[str] = Counter()
        self._seen = 0  # characters of the document already counted

    def suggest(self, before: str) -> str:
        self._learn(before)
        partial = _PARTIAL.search(before)
        if partial is None or len(partial.group()) < self._min_prefix:
            return ""
        prefix = partial.group()
        best = max(
            (w for w in self._counts if len(w) > len(prefix) and w.startswith(prefix)),
            key=lambda w: (self._counts[w], -len(w), w),
            default="",
        )
        return best[len(prefix) :]

    def _learn(self, before: str) -> None:
        """Count the words finished since the last call (a word is finished when a
        character that cannot be part of it follows)."""
        partial = _PARTIAL.search(before)
        done = partial.start() if partial is not None else len(before)
        if done > self._seen:
            self._counts.update(_WORD.findall(before[self._seen : done]))
            self._seen = done


class RawContinuation:
    """Greedy tokens after the raw text, as a plain completion API would give them."""

    name = "raw"

    def __init__(self, engine: Engine, context_chars: int = 3072) -> None:
        self._engine = engine
        self._context = context_chars
        self.tokens_evaluated = 0
        self.tokens_generated = 0
        self.requests = 0

    def suggest(self, before: str) -> str:
        self.requests += 1
        result = self._engine.complete(
            before[-self._context :], GREEDY.with_changes(max_tokens=RAW_TOKENS)
        )
        self.tokens_evaluated += result.timings.prompt_tokens_evaluated
        self.tokens_generated += result.timings.generated_tokens
        return result.text.split("\n", 1)[0]


def run_baseline(
    suggester: Suggester,
    text: str,
    *,
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Tally:
    """The simulated writer types ``text`` with ``suggester``'s ghosts."""
    started = time.perf_counter()
    tally = Tally(suggester.name)
    screen = Screen(tally, text)
    ask = True
    while screen.pos < len(text):
        if stop is not None and stop.is_set():
            tally.interrupted = True
            break
        if ask:
            ghost = suggester.suggest(text[: screen.pos])
            screen.changed("")
            if ghost:
                screen.shown(ghost, None, 0.0)
        press = next_press(screen.ghost, text, screen.pos)
        rest = screen.press(press)
        ask = not rest  # typed past the ghost, or took all of it
        if progress is not None:
            progress(screen.pos, len(text))
    tally.chars = screen.pos
    if isinstance(suggester, RawContinuation):
        tally.tokens_evaluated = suggester.tokens_evaluated
        tally.tokens_generated = suggester.tokens_generated
        tally.requests = suggester.requests
    tally.seconds = time.perf_counter() - started
    return tally
