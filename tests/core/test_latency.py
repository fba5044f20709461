"""The latency estimate that decides whether to suggest at every keystroke."""

from __future__ import annotations

from app.core.latency import LatencyTracker


def test_one_slow_request_does_not_decide() -> None:
    tracker = LatencyTracker(window=5)
    assert tracker.estimate() is None
    tracker.shown(1400.0)  # the first request evaluates the whole prompt
    for _ in range(2):
        tracker.shown(14.0)
    assert tracker.estimate() == 14.0


def test_a_model_that_is_always_overtaken_reads_as_slow() -> None:
    tracker = LatencyTracker(window=5)
    for _ in range(3):
        tracker.shown(20.0)
    for _ in range(3):
        tracker.overtaken(120.0)  # the next key came before any ghost
    assert tracker.estimate() == 120.0
