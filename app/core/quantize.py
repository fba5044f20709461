"""Quantize a GGUF with llama.cpp's own quantizer (``llama_model_quantize``).

Using llama.cpp's code (not a re-implementation) means every type it can run, it can also
write, with its per-tensor mixing rules (the ``_M`` / ``_S`` variants).

K-quants pack rows in 256-value super-blocks. GPT-2 XL's rows are 1600 values wide, so
llama.cpp silently stores those tensors in another type; :class:`QuantizeReport` says
which, so the writer is not surprised by the file's size or quality.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import llama_cpp

from app.core.gguf_info import ModelFileError, inspect_model, tensor_types
from app.core.llama_runtime import watch_log
from app.core.model_probe import probe_model

#: Writer-facing name -> llama_ftype.
QUANT_TYPES: dict[str, int] = {
    "F16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
    "Q5_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
    "Q5_K_S": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_S,
    "Q5_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_1,
    "Q5_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_0,
    "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "Q4_K_S": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S,
    "Q4_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_1,
    "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
    "Q3_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_M,
    "Q2_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K,
}

K_QUANT_BLOCK = 256
_K_TYPES = ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K")
_PROGRESS = re.compile(r"^\[\s*(\d+)/\s*(\d+)\]\s+(\S+)")


class QuantizeError(Exception):
    """Quantization failed; the message says why. No output file is left behind."""


@dataclass(frozen=True)
class Fallback:
    """Tensors whose rows do not fit 256-value K-quant blocks, and what they became."""

    row_length: int
    tensors: int
    stored_as: dict[str, int]

    def describe(self) -> str:
        types = ", ".join(f"{t} ({n})" for t, n in sorted(self.stored_as.items()))
        return (
            f"{self.tensors} tensor(s) with rows of {self.row_length} values (not a multiple "
            f"of {K_QUANT_BLOCK}) could not use K-quants; llama.cpp stored them as {types}"
        )


@dataclass(frozen=True)
class QuantizeReport:
    output: Path
    quant_type: str
    input_size: int
    output_size: int
    tensor_types: dict[str, int]
    fallbacks: list[Fallback] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.output_size / self.input_size if self.input_size else 0.0

    def summary(self) -> str:
        lines = [
            f"{self.output}: {self.quant_type}, {self.output_size / 2**20:.1f} MiB "
            f"({self.ratio:.0%} of the input)"
        ]
        lines += [f"note: {fb.describe()}" for fb in self.fallbacks]
        return "\n".join(lines)


ProgressCallback = Callable[[int, int, str], None]


def parse_quant_type(name: str) -> str:
    key = name.strip().upper()
    if key not in QUANT_TYPES:
        raise QuantizeError(
            f"unknown quantization type {name!r} (choose one of {', '.join(QUANT_TYPES)})"
        )
    return key


def quantize(
    src: str | Path,
    dst: str | Path,
    quant_type: str = "Q8_0",
    *,
    n_threads: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> QuantizeReport:
    """Quantize ``src`` into ``dst`` (atomically) and report what llama.cpp did.

    ``progress(done, total, tensor_name)`` is parsed from llama.cpp's per-tensor log.
    ``cancel`` is honoured before the work starts and when it ends (llama.cpp's quantizer
    cannot be interrupted part-way); a cancelled run leaves no output.
    """
    src, dst = Path(src), Path(dst)
    qtype = parse_quant_type(quant_type)
    try:
        inspect_model(src)
    except ModelFileError as exc:
        raise QuantizeError(str(exc)) from None
    probe = probe_model(src, cancel=cancel)  # the quantizer runs llama.cpp's own loader
    if not probe.ok:
        raise QuantizeError(probe.message)
    if src.resolve() == dst.resolve():
        raise QuantizeError(f"{dst}: the output must not overwrite the input")
    if cancel is not None and cancel.is_set():
        raise QuantizeError("quantization cancelled")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".part")

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[qtype]
    params.nthread = n_threads or 0
    errors: list[str] = []

    def on_log(line: str) -> None:
        match = _PROGRESS.match(line.strip())
        if match and progress is not None:
            progress(int(match[1]), int(match[2]), match[3])
        low = line.lower()
        if "error" in low or "failed" in low:
            errors.append(line.strip())

    try:
        with watch_log(on_log):
            rc = llama_cpp.llama_model_quantize(
                str(src).encode(), str(tmp).encode(), ctypes.byref(params)
            )
        if rc != 0:
            detail = f": {errors[-1]}" if errors else ""
            raise QuantizeError(f"llama.cpp could not quantize {src} to {qtype}{detail}")
        if cancel is not None and cancel.is_set():
            raise QuantizeError("quantization cancelled")
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except OSError as exc:
        raise QuantizeError(f"{dst}: cannot write the output: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)

    types = tensor_types(dst)
    return QuantizeReport(
        output=dst,
        quant_type=qtype,
        input_size=src.stat().st_size,
        output_size=dst.stat().st_size,
        tensor_types=dict(Counter(t for t, _shape in types.values())),
        fallbacks=_fallbacks(qtype, types),
    )


def _fallbacks(qtype: str, types: dict[str, tuple[str, tuple[int, ...]]]) -> list[Fallback]:
    """Weight matrices a K-quant target could not cover, grouped by row length."""
    if "_K" not in qtype:
        return []
    by_row: dict[int, Counter[str]] = {}
    for type_name, shape in types.values():
        if len(shape) >= 2 and shape[0] % K_QUANT_BLOCK and type_name not in ("F32",):
            by_row.setdefault(shape[0], Counter())[type_name] += 1
    return [
        Fallback(row, sum(counts.values()), dict(counts))
        for row, counts in sorted(by_row.items())
        if not all(t in _K_TYPES for t in counts)
    ]
