"""llama.cpp's libraries load before numpy at every entry point (issue: a SIGSEGV in
``llama_model_load`` on a machine where numpy came first).

Each entry point runs in a fresh interpreter with a ``sitecustomize`` that, at the moment
numpy is first imported, records whether libllama is already mapped in the process. Child
processes inherit the hook (PYTHONPATH), so the probe's child is checked too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.model_probe import probe_command
from tests.support.models import TestModel

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="reads the process's maps in /proc"
    ),
]

ROOT = Path(__file__).resolve().parents[2]

HOOK = """
import os, sys

class _FirstNumpy:
    seen = False

    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and not self.seen:
            self.seen = True
            with open("/proc/self/maps") as maps:
                first = "libllama" in maps.read()
            with open(os.environ["GHOSTPEN_ORDER_LOG"], "a") as log:
                log.write(("llama first" if first else "numpy first") + "\\n")
        return None

sys.meta_path.insert(0, _FirstNumpy())
"""


def _order(tmp_path: Path, command: list[str]) -> list[str]:
    """Run ``command`` with the hook; what each process saw when numpy came in."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(HOOK)
    log = tmp_path / "order.log"
    log.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hook_dir), str(ROOT)]),
        "GHOSTPEN_ORDER_LOG": str(log),
        "QT_QPA_PLATFORM": "offscreen",
    }
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return log.read_text().split("\n")[:-1] if log.exists() else []


def _console_script() -> str:
    script = Path(sys.executable).with_name("ghostpen")
    assert script.is_file(), "the test command installs the ghostpen console script"
    return str(script)


def test_the_checker_sees_numpy_first_when_it_is(tmp_path: Path) -> None:
    """The control: a script that imports numpy before the app is caught."""
    command = [sys.executable, "-c", "import numpy, app.core.engine"]
    assert _order(tmp_path, command) == ["numpy first"]


@pytest.mark.parametrize(
    "entry",
    [
        "ghostpen convert",  # the converter imports numpy and never llama_cpp by itself
        "python -m app complete",
        "model probe child",
        "bench startup child",
        "import app.core.engine",
        "import app.core.convert",
    ],
)
def test_llama_cpp_loads_before_numpy(entry: str, tmp_path: Path, tiny_model: TestModel) -> None:
    model = str(tiny_model["q8_0"])
    commands = {
        "ghostpen convert": [
            _console_script(), "convert", str(tiny_model.checkpoint),
            str(tmp_path / "out.gguf"), "--outtype", "f16",
        ],
        "python -m app complete": [
            sys.executable, "-m", "app", "complete", "--model", model, "--max-tokens", "2",
            "The ship",
        ],
        "model probe child": probe_command(Path(model)),
        "bench startup child": [sys.executable, "-m", "app.bench.startup", model],
        "import app.core.engine": [sys.executable, "-c", "import app.core.engine"],
        "import app.core.convert": [sys.executable, "-c", "import app.core.convert"],
    }  # fmt: skip
    seen = _order(tmp_path, commands[entry])
    assert seen, "numpy was never imported: this entry point no longer checks anything"
    assert set(seen) == {"llama first"}, seen
