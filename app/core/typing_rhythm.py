"""Adaptive debounce: ask when a suggestion can be seen before the next keystroke.

A fixed debounce is wrong for everyone: too long for a slow, deliberate writer who wants
the suggestion as soon as they stop, too short for a fast typist (every keystroke would
start and cancel a request). Like Tabby, Ghostpen follows the typing rhythm, a moving
average of the recent intervals between keystrokes, and it also knows how long the
model takes to show a ghost:

- when the base wait, the model's latency and a moment to read it fit in the writer's
  typical gap, it asks right after each keystroke (Smart Compose's per-keystroke ghost);
- otherwise a ghost would be overtaken by the next key before it is read, so it waits a
  little longer than the typical gap (a pause), up to ``MAX_DELAY_MS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Intervals longer than this are pauses, not typing: they do not shape the rhythm.
PAUSE_MS = 1000.0
MAX_DELAY_MS = 400.0
#: How much longer than a typical gap to wait before deciding the writer paused.
GAP_FACTOR = 1.3
SMOOTHING = 0.3
#: Time a ghost must stay on screen before the next keystroke to be of any use.
READ_MS = 40.0


@dataclass
class TypingRhythm:
    base_ms: float = 120.0
    _average: float | None = field(default=None, init=False)
    _last: float | None = field(default=None, init=False)

    def keystroke(self, now_ms: float) -> None:
        """Record a keystroke at ``now_ms`` (a monotonic clock in milliseconds)."""
        if self._last is not None:
            gap = now_ms - self._last
            if 0 <= gap <= PAUSE_MS:
                self._average = (
                    gap if self._average is None
                    else (1 - SMOOTHING) * self._average + SMOOTHING * gap
                )  # fmt: skip
        self._last = now_ms

    def delay_ms(self, latency_ms: float | None = None) -> int:
        """How long to wait after the last keystroke before asking for a suggestion.

        ``latency_ms`` is how long the model recently took from request to ghost; None
        (not known yet) is optimistic, so the first requests can measure it.
        """
        ceiling = max(MAX_DELAY_MS, self.base_ms)
        if self._average is None:
            return round(self.base_ms)
        if self.base_ms + (latency_ms or 0.0) + READ_MS <= self._average:
            return round(self.base_ms)  # the ghost lands, readable, before the next key
        return round(min(ceiling, max(self.base_ms, GAP_FACTOR * self._average)))
