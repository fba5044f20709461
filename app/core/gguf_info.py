"""Read and validate a GGUF file before llama.cpp ever sees it, and describe it.

llama.cpp trusts its input: a truncated or crafted file can crash the process that also
holds the writer's text. So every file goes through two steps before :class:`ModelInfo`
describes it: :mod:`app.core.gguf_layout` walks the binary layout with explicit bounds
checks, and :mod:`app.core.gguf_rules` checks what the file's architecture needs and
every other thing that was seen to make llama.cpp abort or refuse a file (each module
says how).

What validation cannot foresee is caught by :mod:`app.core.model_probe`, which loads a
file once in a throwaway process before Ghostpen loads it in its own.

Any problem raises :class:`ModelFileError` whose message names the file and the problem.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gguf

from app.core.gguf_layout import (
    TOKENS_KEY,
    ArrayValue,
    ModelFileError,
    scan_file,
    value_type_name,
)
from app.core.gguf_rules import ARCHITECTURES, as_int, check_model

__all__ = [
    "ArrayValue",
    "ModelFileError",
    "ModelInfo",
    "inspect_model",
    "tensor_types",
    "value_type_name",
]


@dataclass(frozen=True)
class ModelInfo:
    """What a writer (and the app) needs to know about a model file."""

    path: str
    file_size: int
    gguf_version: int
    architecture: str
    name: str
    parameter_count: int
    file_type: str
    tensor_types: dict[str, int]
    context_length: int
    embedding_length: int
    block_count: int
    head_count: int
    feed_forward_length: int
    vocab_size: int
    tokenizer_model: str
    tokenizer_pre: str | None
    bos_token_id: int | None
    eos_token_id: int | None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("metadata")
        return data

    @property
    def quantization(self) -> str:
        """The dominant type of the 2D weights, e.g. 'Q8_0' (what a writer calls it)."""
        return self.file_type


def _file_type_name(value: Any, type_counts: Counter[str]) -> str:
    if value is not None:
        try:
            return gguf.LlamaFileType(int(value)).name.removeprefix("MOSTLY_").replace("ALL_", "")
        except ValueError:
            pass
    return type_counts.most_common(1)[0][0] if type_counts else "unknown"


def inspect_model(path: str | Path, *, validate: bool = True) -> ModelInfo:
    """Validate ``path`` and describe it. Raises ModelFileError on any problem.

    ``validate=False`` still rejects files whose layout is broken, but describes files
    of architectures Ghostpen does not know.
    """
    path = Path(path)
    layout, size = scan_file(path)
    fields = layout.fields

    arch = fields.get("general.architecture")
    if validate and "general.architecture" in fields and not isinstance(arch, str):
        vtype = layout.types["general.architecture"][0]
        raise ModelFileError(
            path, f"general.architecture must be a string, not {value_type_name(vtype)}"
        )
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(path, "missing required key 'general.architecture'")
    spec = ARCHITECTURES.get(arch)
    if validate and spec is None:
        raise ModelFileError(
            path,
            f"unsupported architecture {arch!r} (supported: {', '.join(sorted(ARCHITECTURES))})",
        )

    def key(name: str) -> Any:
        return fields.get(f"{arch}.{name}")

    if validate and spec is not None:
        missing = [k for k in spec.required_keys if k not in fields]
        if missing:
            raise ModelFileError(path, f"missing required key(s) for {arch}: {', '.join(missing)}")

    tokens = fields.get(TOKENS_KEY)
    tokenizer_model = fields.get("tokenizer.ggml.model") or ""
    hp = {
        "n_ctx": as_int(key("context_length")),
        "n_embd": as_int(key("embedding_length")),
        "n_layer": as_int(key("block_count")),
        "n_head": as_int(key("attention.head_count")),
        "n_vocab": len(tokens) if isinstance(tokens, (ArrayValue, list)) else 0,
    }
    shapes = {t.name: t.shape for t in layout.tensors}
    hp["n_ff"] = as_int(key("feed_forward_length")) or _infer_ff(shapes) or 4 * hp["n_embd"]

    if validate and spec is not None:
        check_model(path, arch, spec, layout, hp)

    type_counts = Counter(gguf.GGMLQuantizationType(t.type_id).name for t in layout.tensors)
    return ModelInfo(
        path=str(path),
        file_size=size,
        gguf_version=layout.version,
        architecture=arch,
        name=str(fields.get("general.name") or path.stem),
        parameter_count=int(sum(math.prod(t.shape) for t in layout.tensors)),
        file_type=_file_type_name(fields.get("general.file_type"), type_counts),
        tensor_types=dict(type_counts),
        context_length=hp["n_ctx"],
        embedding_length=hp["n_embd"],
        block_count=hp["n_layer"],
        head_count=hp["n_head"],
        feed_forward_length=hp["n_ff"],
        vocab_size=hp["n_vocab"],
        tokenizer_model=str(tokenizer_model),
        tokenizer_pre=_opt_str(fields.get("tokenizer.ggml.pre")),
        bos_token_id=_opt_int(fields.get("tokenizer.ggml.bos_token_id")),
        eos_token_id=_opt_int(fields.get("tokenizer.ggml.eos_token_id")),
        metadata={k: v for k, v in fields.items() if not isinstance(v, ArrayValue)},
    )


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _infer_ff(shapes: Mapping[str, tuple[int, ...]]) -> int:
    up = shapes.get("blk.0.ffn_up.weight")
    return int(up[1]) if up and len(up) == 2 else 0


def tensor_types(path: str | Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Name -> (ggml type name, shape in ggml order) of every tensor in a sound file."""
    layout, _size = scan_file(Path(path))
    return {t.name: (gguf.GGMLQuantizationType(t.type_id).name, t.shape) for t in layout.tensors}
