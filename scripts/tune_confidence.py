"""The "suggest when" curve: keystroke savings against acceptance, threshold by threshold.

    python scripts/tune_confidence.py [--thresholds 0,0.05,...] [--preset NAME] [--limit N]

Runs ``ghostpen eval`` (without a pace, without baselines) on the tuning passages in
tests/data/prose/tune at each threshold and prints one line each, so the levels of
``app.core.settings.CONFIDENCE_LEVELS`` can be chosen where keystroke savings peak with
an acceptance rate of at least 35% (docs/quality.md). Never run on the report passages.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from app.core.model_choice import resolve_model
from app.core.model_store import ModelStore
from app.core.sampling import SamplingSettings, preset
from app.core.settings import SuggestionSettings
from app.core.suggestion_policy import Features
from app.eval.run import EvalOptions, run_eval

TUNE = Path(__file__).resolve().parent.parent / "tests" / "data" / "prose" / "tune"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0,0.05,0.1,0.15,0.2,0.3,0.4")
    parser.add_argument(
        "--preset", help="draw suggestions with this preset (default: the likeliest words)"
    )
    parser.add_argument("--limit", type=int, help="characters typed of each passage")
    parser.add_argument("--model", help="a GGUF or an installed model (default: the app's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write every run's figures here")
    args = parser.parse_args(argv[1:])
    model = resolve_model(args.model, ModelStore.default())
    sampling = preset(args.preset) if args.preset else SamplingSettings()
    settings = replace(SuggestionSettings(), likeliest=args.preset is None)
    rows = []
    print(f"{'p >=':>6} {'KS':>7} {'accept':>7} {'ghosts/100':>10} {'chars/acc':>9}", flush=True)
    for threshold in (float(t) for t in args.thresholds.split(",")):
        options = EvalOptions(
            files=tuple(sorted(TUNE.glob("*.txt"))),
            model=model,
            settings=settings,
            sampling=sampling,
            limit=args.limit,
            threads=args.threads,
            features=Features(min_confidence=threshold),
            baselines=False,
        )
        figures = run_eval(options).totals["ghostpen"].figures()
        rows.append({"min_confidence": threshold, **figures})
        print(
            f"{threshold:>6g} {100 * figures['keystroke_savings']:>6.1f}% "
            f"{100 * figures['acceptance_rate']:>6.1f}% {figures['ghosts_per_100_chars']:>10.1f} "
            f"{figures['chars_per_acceptance']:>9.1f}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
