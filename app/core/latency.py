"""How long the model takes to show a ghost, judged robustly from recent requests.

One slow request (the first after loading, which evaluates the whole prompt, or one that
ran while another program held the CPU) must not switch off per-keystroke suggestions
for the rest of the session, so the estimate is the median of the last few requests.
A request overtaken before it showed anything still says "at least this long".
"""

from __future__ import annotations

import statistics
from collections import deque

WINDOW = 7


class LatencyTracker:
    def __init__(self, window: int = WINDOW) -> None:
        self._samples: deque[float] = deque(maxlen=window)

    def shown(self, ms: float) -> None:
        """A ghost appeared ``ms`` after its request."""
        self._samples.append(ms)

    def overtaken(self, waited_ms: float) -> None:
        """A request was superseded after ``waited_ms`` without showing anything."""
        self._samples.append(waited_ms)

    def estimate(self) -> float | None:
        """The median of the recent samples; None before the first one."""
        return statistics.median(self._samples) if self._samples else None
