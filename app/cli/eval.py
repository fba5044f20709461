"""``ghostpen eval``: the command line of the suggestion-quality measurement in ``app/eval``.

Checks the options and files before the model loads, so a typo costs no minutes of
measuring; the measurement is imported when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import TYPE_CHECKING

from app.cli.common import (
    CliError,
    chosen_model,
    ctrl_c_cancels,
    report_interrupted,
    show_progress,
    write,
)

if TYPE_CHECKING:
    from app.cli.common import Subcommands


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser(
        "eval",
        help="measure how much typing the suggestions save on a text",
        description="Type each text one character at a time through the editor's own "
        "suggestion policy and the real model (a simulated writer who takes every right "
        "word a ghost offers), and through two baselines; report keystrokes saved, "
        "acceptance, junk and latency (see docs/quality.md).",
    )
    p.add_argument("files", nargs="+", metavar="TEXT_FILE", help="UTF-8 text to type")
    p.add_argument(
        "--model", "-m", metavar="M",
        help="a GGUF file or an installed model's name (default: the app's model)",
    )  # fmt: skip
    p.add_argument(
        "--preset", metavar="NAME",
        help="draw suggestions with this sampling preset (default: the likeliest words, "
        "as the app does)",
    )  # fmt: skip
    p.add_argument(
        "--pace", type=float, metavar="MS",
        help="also type a key every MS ms: a ghost then counts only if painted in time",
    )  # fmt: skip
    p.add_argument(
        "--limit", type=int, metavar="N", help="type only the first N characters of each file"
    )
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for the model")
    p.add_argument(
        "--suggest-when", metavar="LEVEL",
        help="always, fairly_sure or very_sure (default: the app's setting)",
    )  # fmt: skip
    p.add_argument(
        "--min-confidence", type=float, metavar="P",
        help="the probability a ghost needs, instead of the --suggest-when level's (tuning)",
    )  # fmt: skip
    p.add_argument(
        "--without", metavar="LAYER,...", default="",
        help="turn layers off to see what each buys: healing, junk_filter, confidence, prefetch",
    )  # fmt: skip
    p.add_argument(
        "--no-baselines", action="store_true", help="skip the raw and no-model baselines"
    )
    p.add_argument("--json", metavar="FILE", help="the figures as JSON")
    p.add_argument("--ghosts", metavar="FILE", help="every ghost shown, as JSON lines")


def cmd_eval(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from app.core.model_probe import ensure_loadable
    from app.core.sampling import SamplingSettings, preset
    from app.core.settings import SuggestionSettings
    from app.core.suggestion_policy import Features
    from app.eval.run import EvalOptions, read_text, run_eval, table, with_features_off

    files = tuple(Path(f) for f in args.files)
    for f in files:
        if not f.is_file():
            raise CliError(f"{f}: no such file")
        try:
            read_text(f)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.limit is not None and args.limit <= 0:
        raise CliError(f"--limit must be a positive number of characters, got {args.limit}")
    if args.pace is not None and args.pace <= 0:
        raise CliError(f"--pace must be a positive number of milliseconds, got {args.pace}")
    model = chosen_model(args.model)
    ensure_loadable(model)
    # A named preset means its sampling is what is measured: suggestions are drawn with it.
    settings = replace(SuggestionSettings(), likeliest=args.preset is None)
    if args.suggest_when is not None:
        settings = replace(settings, suggest_when=args.suggest_when)
    layers = [name.strip() for name in args.without.split(",") if name.strip()]
    if args.min_confidence is not None and not 0.0 <= args.min_confidence < 1.0:
        raise CliError(f"--min-confidence must be from 0 to below 1, got {args.min_confidence}")
    try:
        features = with_features_off(Features(min_confidence=args.min_confidence), layers)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    options = EvalOptions(
        files=files,
        model=model,
        settings=settings,
        sampling=preset(args.preset) if args.preset else SamplingSettings(),
        pace_ms=args.pace,
        limit=args.limit,
        threads=args.threads,
        features=features,
        baselines=not args.no_baselines,
    )
    cancel = threading.Event()
    ghosts = open(args.ghosts, "w", encoding="utf-8") if args.ghosts else None  # noqa: SIM115
    try:
        with ctrl_c_cancels(cancel) as interrupted:
            report = run_eval(
                options,
                stop=cancel,
                progress=lambda label, done, total: show_progress(done, total, label),
                ghosts=ghosts,
            )
    finally:
        if ghosts is not None:
            ghosts.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    write(sys.stdout, table(report) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n", "utf-8")
        print(f"figures written to {args.json}", file=sys.stderr)
    return report_interrupted() if interrupted.is_set() else 0
