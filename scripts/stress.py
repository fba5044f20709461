"""The long stress run: thousands of keystrokes 10-20 ms apart into the real window.

    python scripts/stress.py [KEYS] [--model PATH] [--warmup N] [--seed N]

The harness is the suite's (``tests/gui/test_stress.py``): random keys with English letter
frequencies, Backspace, Enter, Tab accepts, Esc and cursor moves, hesitations that let a
request out and overtake it, pauses that let a suggestion in and accept it; the document
is modelled apart from the editor, and every ghost is checked against the text it is
shown after. Without ``--model`` it builds the suite's tiny GPT-2 (64 wide, 2 layers,
random weights, the real tokenizer) with the project's converter.

Prints the keystrokes, requests, ghosts shown, stale ghosts, document mismatches, errors,
resident memory after the warm-up and at the end with the growth, and the cost of the
per-request model file check. Exits 1 if anything went wrong or memory grew 5% or more.
Settings, journals and models live in a temporary GHOSTPEN_HOME, never the user's.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MAX_GROWTH = 0.05


def _tiny_model(folder: Path) -> Path:
    from app.core.convert import convert_checkpoint
    from tests.support.reference.checkpoints import write_gpt2_checkpoint

    checkpoint = write_gpt2_checkpoint(
        folder / "tiny", n_embd=64, n_layer=2, n_head=4, n_positions=128, seed=1
    )
    return convert_checkpoint(checkpoint, folder / "tiny-q8_0.gguf", "q8_0")


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def run(keys: int, model: Path | None, warmup: int, seed: int, home: Path) -> int:
    os.environ["GHOSTPEN_HOME"] = str(home)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.bench.footprint import rss_bytes
    from app.core.engine import Engine
    from app.core.paths import AppPaths
    from app.core.settings import save_settings
    from app.gui.app import create_window
    from tests.gui.test_stress import StressTypist
    from tests.support.gui import greedy_settings

    # llama.cpp logs every request overtaken mid-evaluation (an aborted decode): expected
    logging.getLogger("ghostpen.llama_cpp").setLevel(logging.CRITICAL)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if model is None:
        model = _tiny_model(home / "models")
        which = "the suite's tiny GPT-2 (64 wide, 2 layers, random weights), Q8_0"
    else:
        which = str(model)
    paths = AppPaths.default()
    paths.ensure()
    save_settings(greedy_settings(), paths.settings_file)
    window = create_window(None, paths=paths, choose_model=False)
    window.show()

    loop = QEventLoop()

    def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
        """Run the event loop until ``condition`` holds (False: it timed out)."""
        deadline = time.monotonic() + timeout_s

        def check() -> None:
            if condition() or time.monotonic() > deadline:
                loop.quit()

        poll = QTimer()
        poll.setInterval(10)
        poll.timeout.connect(check)
        poll.start()
        if not condition():
            loop.exec()
        poll.stop()
        return condition()

    loaded: list[object] = []
    window.controller.modelChanged.connect(loaded.append)
    window.load_model(model)
    if not wait_for(lambda: bool(loaded), 120) or loaded[0] is None:
        print(f"{model}: could not load it: {window.banner.text()}", file=sys.stderr)
        return 1

    samples: dict[int, int] = {}

    def on_key(n: int) -> None:
        if n in (warmup, keys) or n % 1000 == 0:
            gc.collect()
            samples[n] = rss_bytes()
            print(f"  {n:>6} keys: resident {_mib(samples[n])}", flush=True)

    print(f"model: {which}")
    print(f"typing {keys:,} keys, 10-20 ms apart (seed {seed}); warm-up {warmup:,} keys")
    typist = StressTypist(window, keys, seed=seed, on_key=on_key)
    started = time.perf_counter()
    typist.start()
    wait_for(lambda: typist.done, keys * 0.5 + 120)
    typed_s = time.perf_counter() - started
    settled = wait_for(lambda: window.controller.idle, 60)
    typist.audit.finish()
    gc.collect()
    rss_end = rss_bytes()
    report = typist.report

    # the per-request model file check, on the same file
    with Engine(model, n_threads=1) as engine:
        calls = 20_000
        check_us = timeit.timeit(engine.check_file, number=calls) / calls * 1e6

    rss_warm = samples.get(warmup, 0)
    growth = (rss_end - rss_warm) / rss_warm if rss_warm else float("nan")
    request_ms = statistics.median(report.request_ms) if report.request_ms else float("nan")
    print()
    print(f"keystrokes:        {report.keystrokes:,} in {typed_s:.1f} s "
          f"({typed_s * 1000 / max(1, report.keystrokes):.1f} ms per key)")  # fmt: skip
    print(f"requests:          {report.requests:,} sent, {report.finished_requests:,} answered, "
          f"{report.cancelled_requests:,} of them overtaken by a key; a whole answer took "
          f"{request_ms:.1f} ms (median, from the request)")  # fmt: skip
    print(f"ghosts shown:      {report.ghosts_shown:,} ({report.ghost_checks:,} ghost updates "
          f"and paints checked)")  # fmt: skip
    print(f"accepted:          {report.accepted:,} ghosts ({report.accepted_chars:,} chars), "
          f"{report.type_through:,} typed through")  # fmt: skip
    print(f"stale ghosts:      {len(report.stale)}")
    for line in report.stale[:10]:
        print(f"    {line}")
    print(f"document errors:   {len(report.mismatches)}")
    for line in report.mismatches[:10]:
        print(f"    {line}")
    print(f"error messages:    {len(report.errors)}")
    for line in report.errors[:10]:
        print(f"    {line}")
    print(f"document:          {len(typist.expected):,} characters at the end")
    print(f"resident memory:   {_mib(rss_warm)} after {warmup:,} keys, {_mib(rss_end)} at the "
          f"end: {growth:+.2%}")  # fmt: skip
    print(f"model file check:  {check_us:.1f} us per request "
          f"({check_us / 1000 / request_ms:.3%} of the median whole answer)")  # fmt: skip
    print(f"settled:           {'yes' if settled else 'NO: still busy 60 s after the last key'}")

    window.editor.document().setModified(False)
    window.close()
    app.processEvents()
    failed = (
        report.stale
        or report.mismatches
        or report.errors
        or not settled
        or report.keystrokes != keys
        or not growth < MAX_GROWTH
    )
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("keys", nargs="?", type=int, default=10_000, help="keystrokes")
    parser.add_argument("--model", type=Path, help="a GGUF (default: build the tiny model)")
    parser.add_argument("--warmup", type=int, default=1000, help="keys before the baseline")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 0 < args.warmup < args.keys:
        parser.error("the warm-up must be shorter than the run")
    with tempfile.TemporaryDirectory(prefix="ghostpen-stress-") as home:
        sys.exit(run(args.keys, args.model, args.warmup, args.seed, Path(home)))


if __name__ == "__main__":
    main()
