"""The first ghosts of a paragraph typed from scratch: is there markup in any of them?

    python scripts/first_ghosts.py [--model M] [--threads N] [--suggest-when LEVEL]

Each opening in tests/data/prose/openings.txt (written for this check) gives two prompts:
its first words and a trailing space, and its first words and half of the next word. Each
prompt is typed into an empty document, one key at a time, through the product's own
suggestion policy and the real model (``app.eval.sim.PolicyRun``, no pace), and the
writer then pauses: every ghost shown on the way and the one shown at the end are judged
by the eval's independent checker (``app.eval.junk``). Prints each final ghost and the
count of ghosts with markup (the target: none).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from app.core.engine import Engine
from app.core.model_choice import resolve_model
from app.core.model_store import ModelStore
from app.core.sampling import SamplingSettings
from app.core.settings import SuggestionSettings
from app.core.suggestion_policy import Features
from app.eval.junk import junk_kinds
from app.eval.sim import PolicyRun

OPENINGS = Path(__file__).resolve().parent.parent / "tests" / "data" / "prose" / "openings.txt"


def prompts(opening: str) -> list[str]:
    """The opening's first words and a space; its first words and half the next word."""
    words = opening.split(" ")
    n = max(3, len(words) // 2)
    while n < len(words) - 1 and len(words[n].strip(",.;")) < 4:
        n += 1  # a word long enough to be cut in half
    head = " ".join(words[:n])
    nxt = words[n]
    return [head + " ", head + " " + nxt[: (len(nxt) + 1) // 2]]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a GGUF or an installed model (default: the app's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--suggest-when", default=SuggestionSettings().suggest_when)
    parser.add_argument("--without", default="", help="layers to turn off (as ghostpen eval)")
    args = parser.parse_args(argv[1:])
    settings = replace(SuggestionSettings(), suggest_when=args.suggest_when)
    off = {name: False for name in args.without.split(",") if name}
    features = replace(Features(), **off)
    openings = [line for line in OPENINGS.read_text(encoding="utf-8").splitlines() if line]
    shown = markup = prompts_with_ghost = 0
    with Engine(resolve_model(args.model, ModelStore.default()), n_threads=args.threads) as e:
        e.prepare_healing()
        for opening in openings:
            for prompt in prompts(opening):
                run = PolicyRun(
                    e, prompt, settings=settings, sampling=SamplingSettings(),
                    features=features, pace_ms=None,
                )  # fmt: skip
                tally = run.run(settle=True)
                final = run.screen.ghost
                prompts_with_ghost += bool(final)
                for g in tally.ghosts:
                    shown += 1
                    kinds = junk_kinds(g.text, before=prompt[: g.offset], document=prompt)
                    markup += "markup" in kinds
                flag = (
                    "MARKUP"
                    if "markup" in junk_kinds(final, before=prompt, document=prompt)
                    else ""
                )
                print(f"{prompt!r:<60} -> {final!r} {flag}", flush=True)
    total = 2 * len(openings)
    print(
        f"{total} prompts; a ghost after {prompts_with_ghost} of them; {shown} ghosts shown "
        f"while typing them; with markup: {markup}"
    )
    return 0 if markup == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
