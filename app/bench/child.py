"""The bench's child processes: ``python -m app.bench.<module>``, answering one JSON line.

Measurements that must not share a process (memory, a GPU to hide, torch's threads) run
in children. They import this same ``app`` whatever the working folder (a script run
from elsewhere, a checkout beside an installed copy).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: What a child is given to see no GPU at all: llama.cpp then runs on the CPU alone.
CPU_ONLY_ENV = {
    "CUDA_VISIBLE_DEVICES": "",
    "HIP_VISIBLE_DEVICES": "",
    "ROCR_VISIBLE_DEVICES": "",
    "GGML_VK_VISIBLE_DEVICES": "",
}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment, with this ``app`` first on the path, and ``extra``."""
    env = {**os.environ, **(extra or {})}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def run_json(
    module: str, args: list[str], what: str, *, extra_env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Run ``python -m module args``; its last stdout line, as JSON. ``what`` names it in
    the error raised when it fails (with the end of its stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        env=child_env(extra_env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stderr.strip()[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
