"""Kill -9 tests: a real window types, is killed at random moments, and nothing is lost.

Each trial runs ``tests/support/kill_driver.py`` (the real MainWindow, offscreen, no model) in a
subprocess on a document in one of four encodings/newline styles. The driver types a
script through key events, saves now and then, and prints a line per step. The trial
kills it with SIGKILL at a random moment: after a random number of typed characters,
while a save is writing its bytes (a 3 MB document, so the save is still going when the
signal lands), just as a journal write starts, or right after start-up. Then, with the
core journal API only, it checks that

- the text that would be recovered (the journal if any, else the file) is the document
  plus a prefix of the script, holding at least everything typed 2 s before the kill;
- the file on disk is either its original bytes or a complete save of such a text, in the
  document's own encoding and newline style, never a truncated or half-written one.

Trials run several at a time (each in its own GHOSTPEN_HOME); the test waits on the
drivers' output lines, never on sleeps. ``KILL_SEED`` replays a failing run.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.core.documents import TextFormat, decode_document, encode_document
from app.core.journal import recoverable

ROOT = Path(__file__).resolve().parents[2]
TRIALS = int(os.environ.get("KILL_TRIALS", "24"))
PARALLEL = 4
INTERVAL_MS = 15
SAVE_EVERY = 160
MAX_LOSS_S = 2.0
WATCHDOG_S = 90.0

SCRIPT = (
    "It was the best of times, café “noir” — naïve.\n"
    "The ship left the harbour at dawn; señor Ñúñez waved.\n"
    "\n"
    "Chapter two: rain on the roof, tea going cold.\n"
    "She wrote: «nothing is lost» and underlined it.\n"
    "Tabs\tand odd marks: ‰ † • ¶ are fine.\n"
)
FORMATS = [
    TextFormat("utf-8", False, "\n"),
    TextFormat("utf-8", True, "\r\n"),
    TextFormat("utf-16-le", True, "\r\n"),
    TextFormat("cp1252", False, "\r"),
]
# (how the kill moment is chosen, whether the driver saves now and then)
STRATEGIES = (
    [("typing", True), ("typing", False)] * 5
    + [("saving", True)] * 6
    + [("journal", False)] * 6
    + [("startup", True)] * 2
)

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")


def _base_text(strategy: str) -> str:
    """About 150 kB of prose; 3 MB when the kill aims at a save, to land in the middle of it."""
    # In Windows-1252, "é" is a byte that is not UTF-8: the file opens as Windows-1252.
    lines = 52_000 if strategy == "saving" else 2600
    return "Ana’s café opened at nine; the rain had stopped, mostly.\n" * lines


@dataclass
class Trial:
    index: int
    strategy: str
    saves: bool
    fmt: TextFormat
    target: int
    folder: Path
    events: list[tuple[str, int, float]] = field(default_factory=list)
    kill_time: float = 0.0
    stderr: str = ""

    @property
    def file(self) -> Path:
        return self.folder / "doc.txt"

    @property
    def home(self) -> Path:
        return self.folder / "home"

    def typed_at(self, when: float) -> int:
        return max((n for e, n, t in self.events if e == "typed" and t <= when), default=0)

    def typed_total(self) -> int:
        return max((n for e, n, _t in self.events), default=0)

    def last_saved(self) -> int:
        return max((n for e, n, _t in self.events if e == "saved"), default=0)

    def time_typed(self, count: int) -> float | None:
        return next((t for e, n, t in self.events if e == "typed" and n == count), None)


def _run(trial: Trial, script_file: Path) -> Trial:
    """Start the driver, wait for the trial's kill moment on its output, kill it."""
    trial.folder.mkdir(parents=True)
    trial.file.write_bytes(encode_document(_base_text(trial.strategy), trial.fmt))
    env = {**os.environ, "GHOSTPEN_HOME": str(trial.home), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.kill_driver", "--file", str(trial.file),
         "--script", str(script_file), "--interval-ms", str(INTERVAL_MS),
         "--save-every", str(SAVE_EVERY if trial.saves else 0)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    watchdog = threading.Timer(WATCHDOG_S, proc.kill)  # a hung driver fails, never hangs
    watchdog.start()
    seen = {"typed": 0, "save-writing": 0, "journal-queued": 0, "ready": 0}
    want = {"typing": "typed", "saving": "save-writing", "journal": "journal-queued"}
    try:
        for line in proc.stdout:
            event, count, when = line.split()
            trial.events.append((event, int(count), float(when)))
            if event in seen:
                seen[event] = int(count) if event == "typed" else seen[event] + 1
            kind = want.get(trial.strategy, "ready")
            if seen[kind] >= trial.target or event == "done":
                trial.kill_time = time.monotonic()
                proc.send_signal(signal.SIGKILL)
                break
        for line in proc.stdout:  # whatever it printed before it died
            event, count, when = line.split()
            trial.events.append((event, int(count), float(when)))
        proc.wait()
        trial.stderr = proc.stderr.read()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, (
        f"trial {trial.index}: the driver ended by itself ({proc.returncode}): {trial.stderr}"
    )
    return trial


@dataclass
class Outcome:
    from_journal: bool
    lost_chars: int
    lost_seconds: float
    disk_kind: str  # "original" or "saved"
    mid_save: bool  # a save's temporary file was left: killed in the middle of the save
    mid_journal: bool  # the same for a journal write


def _check(trial: Trial) -> Outcome:
    """The trial's checks; returns what was lost, for the summary."""
    base = _base_text(trial.strategy)
    original = encode_document(base, trial.fmt)
    label = (
        f"trial {trial.index} ({trial.strategy}, saves={trial.saves}, {trial.fmt}, "
        f"target {trial.target}): {trial.events[-6:]}, killed at {trial.kill_time:.6f}"
    )
    typed_total = trial.typed_total()

    # The file on disk: the original, or one complete save (never a half-written one).
    data = trial.file.read_bytes()
    if data == original:
        disk_kind, saved = "original", 0
    else:
        text, fmt, _notice = decode_document(data)
        assert fmt.encoding == trial.fmt.encoding, label
        assert fmt.bom == trial.fmt.bom, label
        assert text.startswith(base), f"{label}: the file on disk lost its original text"
        saved = len(text) - len(base)
        assert text[len(base) :] == SCRIPT[:saved], f"{label}: the file holds something else"
        assert encode_document(text, trial.fmt) == data, f"{label}: the bytes are not a save"
        disk_kind = "saved"
    assert saved >= trial.last_saved(), f"{label}: a completed save is missing from the disk"

    # What recovery finds: the journal of the dead instance, if any, else the file.
    entries = recoverable(trial.home / "state" / "journal")
    assert len(entries) <= 1, f"{label}: one document, but {len(entries)} journals"
    if entries:
        entry = entries[0]
        assert entry.path is not None, label
        assert entry.path.resolve() == trial.file.resolve(), label
        assert entry.format == trial.fmt, f"{label}: the journal lost the text format"
        recovered = entry.text
    else:
        recovered, _fmt, _notice = decode_document(data)
    assert recovered.startswith(base), f"{label}: the recovered text lost the document"
    count = len(recovered) - len(base)
    assert recovered[len(base) :] == SCRIPT[:count], f"{label}: recovered text is not typed text"
    assert count <= typed_total, label

    must_have = trial.typed_at(trial.kill_time - MAX_LOSS_S)
    assert count >= must_have, (
        f"{label}: recovered {count} characters, but {must_have} had been typed "
        f"{MAX_LOSS_S} s before the kill ({typed_total} in all)"
    )
    lost = typed_total - count
    first_lost = trial.time_typed(count + 1) if lost else None
    seconds = trial.kill_time - first_lost if first_lost is not None else 0.0
    mid_save = any(trial.folder.glob(".doc.txt.*.tmp"))
    mid_journal = any((trial.home / "state" / "journal").glob(".*.tmp"))
    return Outcome(bool(entries), lost, max(0.0, seconds), disk_kind, mid_save, mid_journal)


@pytest.mark.slow
def test_kill_at_random_moments_loses_at_most_two_seconds(tmp_path: Path) -> None:
    seed = int(os.environ.get("KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    script_file = tmp_path / "script.txt"
    script_file.write_text(SCRIPT, encoding="utf-8")
    save_count = len(SCRIPT) // SAVE_EVERY
    journals = int(len(SCRIPT) * INTERVAL_MS / 1000 / 1.5)  # about one per 1.5 s of typing
    trials = []
    for index in range(TRIALS):
        strategy, saves = STRATEGIES[index % len(STRATEGIES)]
        target = {
            "typing": rng.randint(1, len(SCRIPT)),
            "saving": rng.randint(1, save_count),
            "journal": rng.randint(1, max(1, journals)),
            "startup": 1,
        }[strategy]
        fmt = FORMATS[index % len(FORMATS)]
        folder = tmp_path / f"trial-{index:02d}"
        trials.append(Trial(index, strategy, saves, fmt, target, folder))

    with ThreadPoolExecutor(PARALLEL) as pool:
        done = list(pool.map(lambda t: _run(t, script_file), trials))
    outcomes = [_check(trial) for trial in done]

    lost_chars = [o.lost_chars for o in outcomes]
    lost_seconds = [o.lost_seconds for o in outcomes]
    print(
        f"\nkill trials: {len(outcomes)} (seed {seed}); recovered from a journal: "
        f"{sum(o.from_journal for o in outcomes)}; file holding a save: "
        f"{sum(o.disk_kind == 'saved' for o in outcomes)}; killed in the middle of a save: "
        f"{sum(o.mid_save for o in outcomes)}, of a journal write: "
        f"{sum(o.mid_journal for o in outcomes)}\n"
        f"characters lost: max {max(lost_chars)}, median {statistics.median(lost_chars)}; "
        f"seconds of typing lost: max {max(lost_seconds):.2f}, "
        f"median {statistics.median(lost_seconds):.2f}"
    )
    # Not vacuous: the journal really was what saved the text in a good share of trials.
    assert sum(o.from_journal for o in outcomes) >= TRIALS // 4, f"seed {seed}"
