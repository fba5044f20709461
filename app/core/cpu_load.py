"""How busy the other programs keep the CPU, to choose llama.cpp's thread count.

llama.cpp's CPU threads meet at a spinning barrier after every operation. When another
program holds one of the cores, one of our threads is descheduled and the others spin
waiting for it: on a 2-core laptop with a busy browser, a 15 ms token then takes hundreds
of milliseconds. One thread fewer than the cores avoids that cliff, at the price of a
slower token on an idle machine. So the engine asks, before each request, whether other
programs are busy right now, and uses all cores only when they are not.

Linux reads ``/proc/stat`` and ``/proc/self/stat`` (cheap: two small files); elsewhere
the answer is "not known" and the engine keeps its configured threads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Other programs using more than this share of one core count as busy.
BUSY_CORE_SHARE = 0.35
#: Shorter windows are too noisy to judge; the last judgement is kept meanwhile.
MIN_WINDOW_S = 0.25


@dataclass(frozen=True)
class Sample:
    when: float
    busy_total: int  # jiffies all programs (and the kernel) spent busy, all CPUs
    busy_self: int  # jiffies this process spent


def _read() -> Sample | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()[1:]
        with open("/proc/self/stat", encoding="ascii") as fh:
            mine = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    busy_total = sum(values[:8]) - idle
    busy_self = int(mine[11]) + int(mine[12])  # utime + stime (fields 14 and 15)
    return Sample(time.monotonic(), busy_total, busy_self)


class OtherLoad:
    """Answers "are other programs keeping a core busy?" from the last window of time."""

    def __init__(self, read: Callable[[], Sample | None] = _read, tick: int | None = None) -> None:
        self._read = read
        self._tick = tick or (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
        self._last = read()
        self._busy: bool | None = None

    def others_busy(self) -> bool | None:
        """True or False for the time since the previous answer; None where unknown."""
        now = self._read()
        last = self._last
        if now is None or last is None:
            return None
        elapsed = now.when - last.when
        if elapsed < MIN_WINDOW_S:
            return self._busy
        others = (now.busy_total - last.busy_total) - (now.busy_self - last.busy_self)
        cores_used = others / self._tick / elapsed
        self._last = now
        self._busy = cores_used > BUSY_CORE_SHARE
        return self._busy
