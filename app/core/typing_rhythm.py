"""Adaptive debounce: wait about as long as the writer's own pause between keys.

A fixed debounce is wrong for everyone: too long for a slow, deliberate writer who wants
the suggestion as soon as they stop, too short for a fast typist (every keystroke would
start and cancel a request). Like Tabby, Ghostpen follows the typing rhythm: it keeps a
moving average of the recent intervals between keystrokes and fires a little after the
writer's typical gap, never below the configured base nor above ``MAX_DELAY_MS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Intervals longer than this are pauses, not typing: they do not shape the rhythm.
PAUSE_MS = 1000.0
MAX_DELAY_MS = 400.0
#: How much longer than a typical gap to wait before deciding the writer paused.
GAP_FACTOR = 1.3
SMOOTHING = 0.3


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

    @property
    def average_gap_ms(self) -> float | None:
        return self._average

    def delay_ms(self) -> int:
        """How long to wait after the last keystroke before asking for a suggestion."""
        ceiling = max(MAX_DELAY_MS, self.base_ms)
        if self._average is None:
            return round(self.base_ms)
        return round(min(ceiling, max(self.base_ms, GAP_FACTOR * self._average)))
