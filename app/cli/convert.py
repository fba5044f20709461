"""``ghostpen convert``, ``quantize`` and ``inspect``: GGUF files made and checked by hand.

The same core steps the model manager runs, one at a time, for a writer who builds a
model from a checkpoint or wants to know what a file holds before loading it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from app.cli.common import show_progress, write

if TYPE_CHECKING:
    from app.cli.common import Subcommands


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("convert", help="convert a Hugging Face GPT-2 folder to GGUF")
    p.add_argument("hf_dir", metavar="HF_DIR")
    p.add_argument("out", metavar="OUT.gguf")
    p.add_argument(
        "--outtype",
        default="f16",
        choices=["f32", "f16", "q8_0"],
        help="tensor type of the output (default f16)",
    )

    p = sub.add_parser("quantize", help="quantize a GGUF with llama.cpp")
    p.add_argument("src", metavar="IN.gguf")
    p.add_argument("dst", metavar="OUT.gguf")
    p.add_argument(
        "--type",
        dest="quant_type",
        default="Q8_0",
        metavar="TYPE",
        help="Q8_0, Q6_K, Q5_K_M, Q5_0, Q4_K_M, Q4_0, F16, ... (default Q8_0)",
    )
    p.add_argument("--threads", type=int, default=None, metavar="N")

    p = sub.add_parser("inspect", help="validate a GGUF and describe it")
    p.add_argument("model", metavar="M.gguf")
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_convert(args: argparse.Namespace) -> int:
    from app.core.convert import convert_checkpoint

    out = convert_checkpoint(
        args.hf_dir,
        args.out,
        args.outtype,
        progress=lambda p: show_progress(p.done, p.total, p.message),
    )
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {args.outtype})", file=sys.stderr)
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from app.core.quantize import quantize

    report = quantize(
        args.src, args.dst, args.quant_type, n_threads=args.threads, progress=show_progress
    )
    print(report.summary(), file=sys.stderr)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from app.core.gguf_info import inspect_model

    info = inspect_model(args.model)
    if args.json:
        write(sys.stdout, json.dumps(info.to_dict(), indent=2, sort_keys=True) + "\n")
        return 0
    rows: list[tuple[str, Any]] = [
        ("file", info.path),
        ("size", f"{info.file_size / 2**20:.1f} MiB"),
        ("architecture", info.architecture),
        ("name", info.name),
        ("parameters", f"{info.parameter_count:,}"),
        ("file type", info.file_type),
        ("tensor types", ", ".join(f"{k} x{v}" for k, v in sorted(info.tensor_types.items()))),
        ("context length", info.context_length),
        ("embedding length", info.embedding_length),
        ("layers", info.block_count),
        ("heads", info.head_count),
        ("vocabulary", f"{info.vocab_size:,}"),
        ("tokenizer", f"{info.tokenizer_model} ({info.tokenizer_pre or 'default'})"),
    ]
    width = max(len(k) for k, _ in rows)
    write(sys.stdout, "".join(f"{k:<{width}}  {v}\n" for k, v in rows))
    return 0
