"""``ghostpen bench``: the command line of the benchmark in ``app/bench``.

Only the options and their checks live here; the benchmark itself (Qt, the window, child
processes) is imported when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from app.cli.common import CliError, chosen_model, write

if TYPE_CHECKING:
    from app.cli.common import Subcommands


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser(
        "bench",
        help="measure suggestion latency, engine speed and footprint",
        description="Type a fixed passage into the real editor and measure latency; compare "
        "the engine with plain llama-cpp-python; print a table (see docs/performance.md).",
    )
    p.add_argument("--model", "-m", metavar="M", help="a GGUF or an installed model's name "
                   "(default: a GPT-2 124M-shaped Q8_0 with random weights, plus the offline "
                   "model when installed)")  # fmt: skip
    p.add_argument("--chars", type=int, metavar="N", help="type only the first N characters")
    p.add_argument("--intervals", default="150,60", metavar="MS,MS",
                   help="typing paces in ms per keystroke (default 150,60)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=5, metavar="N", help="throughput runs")
    p.add_argument("--sizes", default="128,512", metavar="N,N", help="prompt sizes in tokens")
    p.add_argument("--no-offline", action="store_true", help="skip the offline model")
    p.add_argument("--no-throughput", action="store_true", help="skip the engine comparison")
    p.add_argument("--startup-runs", type=int, default=3, metavar="N")
    p.add_argument("--tokenizer", metavar="DIR", help="GPT-2 vocab.json + merges.txt")
    p.add_argument("--gpu-layers", type=int, default=0, metavar="N",
                   help="layers on the GPU, -1 = all: the throughput then shows the CPU and "
                   "the GPU side by side (needs a GPU build)")  # fmt: skip
    p.add_argument("--no-replay", action="store_true",
                   help="skip the typing replay and the window start-up: no Qt needed (a "
                   "server, a GPU box); the footprint is the engine's alone")  # fmt: skip
    p.add_argument("--json", metavar="FILE", default="ghostpen-bench.json",
                   help="the figures as JSON (default ghostpen-bench.json)")  # fmt: skip


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    if getattr(sys, "frozen", False):
        # It starts `python -m app.bench...` processes and drives the editor with QtTest.
        raise CliError("bench runs from a source install (python -m app bench), not the app")
    from app.bench.passage import PASSAGE
    from app.bench.run import BenchOptions, run_bench, table

    def numbers(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise CliError(f"expected numbers separated by commas, got {text!r}") from None
        if not values or min(values) <= 0:
            raise CliError(f"expected positive numbers, got {text!r}")
        return values

    if args.gpu_layers < -1:
        raise CliError(f"--gpu-layers must be -1 (all), 0 or more, got {args.gpu_layers}")
    options = BenchOptions(
        model=chosen_model(args.model) if args.model else None,
        chars=min(args.chars or len(PASSAGE), len(PASSAGE)),
        intervals=numbers(args.intervals),
        repeats=max(1, args.repeats),
        sizes=numbers(args.sizes),
        offline=not args.no_offline,
        throughput=not args.no_throughput,
        startup_runs=max(0, args.startup_runs),
        tokenizer=args.tokenizer,
        json_out=Path(args.json) if args.json else None,
        gpu_layers=args.gpu_layers,
        replay=not args.no_replay,
    )
    report = run_bench(options)
    write(sys.stdout, table(report) + "\n")
    print(f"figures written to {options.json_out}", file=sys.stderr)
    return 0
