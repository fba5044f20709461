"""Memory and start-up figures: resident memory, and how long until the window is shown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

#: Printed by the start-up probe once the main window has been painted.
SHOWN = "ghostpen-bench: window shown"


def rss_bytes() -> int:
    """Resident memory of this process now (Linux), or its peak where only that is known."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def window_shown_seconds(model: Path | None, home: Path, timeout_s: float = 60.0) -> float:
    """Seconds from launching a fresh ``python -m app.bench.startup`` to its window on screen.

    A new process each time: imports, Qt start-up and settings all count, as for a writer
    clicking the app's icon. The model loads in the background and is not waited for.
    """
    env = {**os.environ, "GHOSTPEN_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    args = [sys.executable, "-m", "app.bench.startup", *([str(model)] if model else [])]
    started = time.perf_counter()
    with subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        for line in proc.stdout:  # the child exits by itself within a minute at most
            if line.strip() == SHOWN:
                shown = time.perf_counter() - started
                proc.wait(timeout=timeout_s)
                return shown
        error = proc.stderr.read().strip()[-1500:]
        proc.wait(timeout=timeout_s)
    raise RuntimeError(
        f"the start-up probe ended without showing its window (exit {proc.returncode}): {error}"
    )
