"""``ghostpen complete`` and ``ghostpen draft``: the model continues a text on stdout.

Both write nothing to stdout but the continuation, so a script can use it as it is; they
share one implementation and differ only in length and in how they are described.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING

from app.cli.common import (
    CliError,
    chosen_model,
    ctrl_c_cancels,
    report_interrupted,
    write,
)

if TYPE_CHECKING:
    from app.cli.common import Subcommands
    from app.core.sampling import SamplingSettings

#: ``--max-tokens`` when not given: a ghost-length continuation, and a draft.
COMPLETE_MAX_TOKENS = 32
DRAFT_MAX_TOKENS = 256


def add_parsers(sub: Subcommands) -> None:
    for name, max_tokens, summary, description in (
        (
            "complete", COMPLETE_MAX_TOKENS, "print a continuation of TEXT",
            "Continue TEXT with the model and print only the continuation on stdout.",
        ),
        (
            "draft", DRAFT_MAX_TOKENS, "stream a longer draft that continues TEXT",
            "Write a draft that continues TEXT, printing it on stdout as it is generated. "
            "Ctrl+C stops it, keeping what was printed.",
        ),
    ):  # fmt: skip
        p = sub.add_parser(name, help=summary, description=description)
        p.add_argument(
            "--model",
            "-m",
            metavar="M",
            help="a GGUF file or an installed model's name (default: the app's model, the "
            "one `ghostpen models list` marks with *)",
        )
        p.add_argument("text", metavar="TEXT", help="the text to continue, or - to read stdin")
        p.add_argument("--timings", action="store_true", help="print timings on stderr")
        p.add_argument(
            "--no-heal",
            action="store_true",
            help="continue the raw text: no token healing, markup tags allowed (by default "
            "a TEXT ending in a space or inside a word goes on as the editor's ghosts do)",
        )
        p.set_defaults(max_tokens_default=max_tokens)  # read by resolve_sampling
        _sampling_options(p, max_tokens_default=max_tokens)
        _runtime_options(p)


#: Sampling options whose value, when not given, comes from the preset (or the defaults).
_PRESET_KNOBS = (
    "temperature", "top_k", "top_p", "min_p", "typical_p", "repeat_penalty", "repeat_last_n",
    "presence_penalty", "frequency_penalty",
)  # fmt: skip


def _sampling_options(parser: argparse.ArgumentParser, max_tokens_default: int) -> None:
    """The sampling options; all default to None so that a given value can be told from
    an omitted one, which ``--preset`` (or the defaults) fills in: see resolve_sampling."""
    from app.core.sampling import PRESET_DESCRIPTIONS, SamplingSettings

    d = SamplingSettings()
    g = parser.add_argument_group("sampling", "Options given here override the values of --preset.")
    g.add_argument(
        "--preset",
        metavar="NAME",
        help="start from a preset (default balanced): "
        + "; ".join(f"{name}: {text}" for name, text in PRESET_DESCRIPTIONS.items()),
    )
    g.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        help=f"most tokens to generate (default {max_tokens_default})",
    )
    g.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help=f"0 is greedy; higher is bolder (default {d.temperature})",
    )
    g.add_argument(
        "--top-k",
        type=int,
        metavar="K",
        help=f"keep the K likeliest tokens, 0 = off (default {d.top_k})",
    )
    g.add_argument(
        "--top-p", type=float, metavar="P", help=f"nucleus sampling, 1 = off (default {d.top_p})"
    )
    g.add_argument(
        "--min-p",
        type=float,
        metavar="P",
        help=f"drop tokens below P x the top probability (default {d.min_p})",
    )
    g.add_argument(
        "--typical-p",
        type=float,
        metavar="P",
        help=f"locally typical sampling, 1 = off (default {d.typical_p})",
    )
    g.add_argument(
        "--repeat-penalty",
        type=float,
        metavar="R",
        help=f"penalise repeated tokens, 1 = off (default {d.repeat_penalty})",
    )
    g.add_argument(
        "--repeat-last-n",
        type=int,
        metavar="N",
        help=f"window of the repeat penalty in tokens (default {d.repeat_last_n})",
    )
    g.add_argument(
        "--presence-penalty",
        type=float,
        metavar="X",
        help=f"penalise any token already present (default {d.presence_penalty})",
    )
    g.add_argument(
        "--frequency-penalty",
        type=float,
        metavar="X",
        help=f"penalise tokens by how often they occur (default {d.frequency_penalty})",
    )
    g.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="fixed seed for a repeatable result (default: random)",
    )
    g.add_argument(
        "--stop",
        action="append",
        default=[],
        metavar="TEXT",
        help="stop before this text (repeatable)",
    )


def resolve_sampling(args: argparse.Namespace) -> SamplingSettings:
    """The settings a command runs with: each option given on the command line, else the
    preset's value, else the default. Seed, stop strings and length are never the preset's:
    they describe the request, not the style; the length defaults per command."""
    from app.core.sampling import SamplingSettings, preset

    base = preset(args.preset) if args.preset is not None else SamplingSettings()
    given = {name: getattr(args, name) for name in _PRESET_KNOBS if getattr(args, name) is not None}
    max_tokens = args.max_tokens if args.max_tokens is not None else args.max_tokens_default
    return base.with_changes(**given, seed=args.seed, max_tokens=max_tokens, stop=tuple(args.stop))


def _runtime_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("runtime")
    g.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads")
    g.add_argument(
        "--ctx",
        type=int,
        default=None,
        metavar="N",
        help="context size in tokens (default and maximum: the model's)",
    )
    g.add_argument(
        "--gpu-layers",
        type=int,
        default=0,
        metavar="N",
        help="layers to offload to the GPU, -1 = all (needs a GPU build)",
    )


def _read_text(arg: str) -> str:
    if arg != "-":
        return arg
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"standard input is not UTF-8 text (byte {exc.start})") from None


def continue_text(args: argparse.Namespace) -> int:
    """``complete`` and ``draft``: stream the continuation of TEXT to stdout, piece by piece."""
    from app.core.engine import Engine
    from app.core.gguf_info import inspect_model
    from app.core.model_probe import ensure_loadable

    settings = resolve_sampling(args)
    text = _read_text(args.text)
    cancel = threading.Event()
    model = chosen_model(args.model)
    inspect_model(model)  # a clear message for a broken file, before any process
    ensure_loadable(model)  # llama.cpp meets a new file in a child process first
    engine = Engine(model, n_ctx=args.ctx, n_threads=args.threads, n_gpu_layers=args.gpu_layers)
    with engine, ctrl_c_cancels(cancel) as interrupted:
        result = engine.complete(
            text,
            settings,
            on_text=lambda piece: write(sys.stdout, piece),
            cancel=cancel,
            heal=not args.no_heal,
            avoid_markup=not args.no_heal,
        )
    if sys.stdout.isatty():
        write(sys.stdout, "\n")
    if args.timings:
        t = result.timings
        print(
            f"prompt: {t.prompt_tokens} tokens ({t.prompt_tokens_evaluated} evaluated) in "
            f"{t.prompt_ms:.1f} ms; generated {t.generated_tokens} tokens in "
            f"{t.generation_ms:.1f} ms ({t.tokens_per_second:.1f} tokens/s); "
            f"stop: {result.stop_reason.value}; seed {result.seed}",
            file=sys.stderr,
        )
    return report_interrupted() if interrupted.is_set() else 0
