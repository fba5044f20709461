"""Telling other programs' CPU use from our own (it sets llama.cpp's thread count)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from app.core.cpu_load import BUSY_CORE_SHARE, MIN_WINDOW_S, OtherLoad, Sample


def test_only_other_programs_count_and_short_windows_keep_the_last_answer() -> None:
    samples = iter([
        Sample(0.0, 0, 0),
        Sample(1.0, 100, 100),  # 1 s, 100 jiffies busy, all ours: others idle
        Sample(1.1, 200, 100),  # too short a window to judge
        Sample(2.0, 200 + int(100 * BUSY_CORE_SHARE) + 10, 100),  # others above the share
        Sample(3.0, 300, 195),  # others used 5 jiffies in 1 s: below the share
    ])  # fmt: skip
    load = OtherLoad(read=lambda: next(samples), tick=100)
    assert load.others_busy() is False
    assert MIN_WINDOW_S > 0.1
    assert load.others_busy() is False  # kept: the window was too short
    assert load.others_busy() is True
    assert load.others_busy() is False


def test_unknown_platform_says_unknown() -> None:
    assert OtherLoad(read=lambda: None).others_busy() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)")
def test_a_busy_program_is_noticed() -> None:
    load = OtherLoad()
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        deadline = time.monotonic() + 30
        seen = False
        while not seen and time.monotonic() < deadline:
            hog.poll()
            seen = bool(load.others_busy())
            time.sleep(MIN_WINDOW_S)  # a measurement window, not a wait for a result
        assert seen
    finally:
        hog.kill()
        hog.wait()
