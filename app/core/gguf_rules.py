"""The rules a GGUF file must meet, beyond a sound layout, before llama.cpp may load it.

:mod:`app.core.gguf_layout` has checked that the bytes can be read; this module checks
what they say. The architecture's required keys and tensors (with their shapes) are
checked, and so is every other thing that was seen to make llama.cpp abort or refuse the
file: key value types, absurd hyperparameters, per-layer values that vary, a negative or
NaN epsilon, mixture-of-experts keys on a dense model, tokenizer arrays of the wrong type
or length, duplicate tokens, special token ids out of range, tensor types the CPU backend
cannot compute with. ``tests/support/gguf_corpus.py`` holds one file per rule, with what
llama.cpp does with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf

from app.core.gguf_layout import (
    ARRAY,
    MAX_ITEMS,
    STRING,
    TOKENS_KEY,
    ArrayValue,
    Layout,
    ModelFileError,
    TensorEntry,
    value_type_name,
)

# --------------------------------------------------------------------------- architectures


@dataclass(frozen=True)
class ArchSpec:
    """What llama.cpp needs of a file of one architecture."""

    required_keys: tuple[str, ...]
    tensors: Callable[[Mapping[str, int]], dict[str, tuple[int, ...] | None]]
    tokenizer_models: tuple[str, ...]
    #: The epsilon key (llama.cpp asserts it is not negative; NaN fails that too).
    epsilon_key: str = "attention.layer_norm_epsilon"
    #: Heads are n_embd / n_head wide: a key_length that says otherwise aborts llama.cpp.
    fixed_head_dim: bool = False


def gpt2_tensors(hp: Mapping[str, int]) -> dict[str, tuple[int, ...] | None]:
    """Required GPT-2 tensors and their ggml shapes (None: any shape)."""
    e, v, ctx, ff = hp["n_embd"], hp["n_vocab"], hp["n_ctx"], hp["n_ff"]
    out: dict[str, tuple[int, ...] | None] = {
        "token_embd.weight": (e, v),
        "position_embd.weight": (e, ctx),
        "output_norm.weight": (e,),
        "output_norm.bias": (e,),
    }
    for i in range(hp["n_layer"]):
        b = f"blk.{i}."
        out |= {
            b + "attn_norm.weight": (e,),
            b + "attn_norm.bias": (e,),
            b + "attn_qkv.weight": (e, 3 * e),
            b + "attn_qkv.bias": (3 * e,),
            b + "attn_output.weight": (e, e),
            b + "attn_output.bias": (e,),
            b + "ffn_norm.weight": (e,),
            b + "ffn_norm.bias": (e,),
            b + "ffn_up.weight": (e, ff),
            b + "ffn_up.bias": (ff,),
            b + "ffn_down.weight": (ff, e),
            b + "ffn_down.bias": (e,),
        }
    return out


def gemma3_tensors(hp: Mapping[str, int]) -> dict[str, tuple[int, ...] | None]:
    """Required Gemma 3 tensors (the bundled offline model); attention shapes vary."""
    e, v, ff = hp["n_embd"], hp["n_vocab"], hp["n_ff"]
    out: dict[str, tuple[int, ...] | None] = {
        "token_embd.weight": (e, v),
        "output_norm.weight": (e,),
    }
    for i in range(hp["n_layer"]):
        b = f"blk.{i}."
        out |= {b + name: None for name in ("attn_q.weight", "attn_k.weight", "attn_v.weight",
                                             "attn_q_norm.weight", "attn_k_norm.weight",
                                             "attn_output.weight")}  # fmt: skip
        out |= {
            b + "attn_norm.weight": (e,),
            b + "post_attention_norm.weight": (e,),
            b + "ffn_norm.weight": (e,),
            b + "post_ffw_norm.weight": (e,),
            b + "ffn_gate.weight": (e, ff),
            b + "ffn_up.weight": (e, ff),
            b + "ffn_down.weight": (ff, e),
        }
    return out


ARCHITECTURES: dict[str, ArchSpec] = {
    "gpt2": ArchSpec(
        required_keys=(
            "gpt2.context_length",
            "gpt2.embedding_length",
            "gpt2.block_count",
            "gpt2.attention.head_count",
            "gpt2.attention.layer_norm_epsilon",
            "tokenizer.ggml.model",
            "tokenizer.ggml.tokens",
            "tokenizer.ggml.merges",
        ),
        tensors=gpt2_tensors,
        tokenizer_models=("gpt2",),
        fixed_head_dim=True,
    ),
    "gemma3": ArchSpec(
        required_keys=(
            "gemma3.context_length",
            "gemma3.embedding_length",
            "gemma3.block_count",
            "gemma3.attention.head_count",
            "gemma3.attention.layer_norm_rms_epsilon",
            "tokenizer.ggml.model",
            "tokenizer.ggml.tokens",
        ),
        tensors=gemma3_tensors,
        tokenizer_models=("llama",),
        epsilon_key="attention.layer_norm_rms_epsilon",
    ),
}


# --------------------------------------------------------------------------- validation
#
# Each rule below stands for a way a file that the layout scan accepts still stops
# llama.cpp (GGML_ASSERT -> abort, or a bad read -> SIGSEGV) or makes it refuse the file.
# tests/core/test_untrusted_models.py builds one file per rule and checks both sides.

#: GGUF value type ids (gguf.GGUFValueType) of the scalars llama.cpp reads keys as.
_U32, _I32, _F32, _BOOL = 4, 5, 6, 7

#: Hyperparameters: (name in hp, key suffix, upper bound). Beyond the bound a value is a
#: corrupt byte, not a model (and a huge block count would make the tensor list explode).
#: 512 layers is llama.cpp's LLAMA_MAX_LAYERS: more aborts it.
_HPARAMS = (
    ("n_ctx", "context_length", 1 << 24),
    ("n_embd", "embedding_length", 1 << 20),
    ("n_layer", "block_count", 512),
    ("n_head", "attention.head_count", 1 << 14),
    ("n_vocab", "vocabulary (tokenizer.ggml.tokens)", MAX_ITEMS),
)
#: llama.cpp reads these keys as exactly these types; "{a}" is the architecture. Keys
#: read per layer may also be arrays of 32-bit integers.
_KEY_TYPES: dict[str, int] = {
    "{a}.context_length": _U32,
    "{a}.embedding_length": _U32,
    "{a}.block_count": _U32,
    "{a}.feed_forward_length": _U32,
    "{a}.attention.head_count": _U32,
    "{a}.attention.head_count_kv": _U32,
    "{a}.attention.key_length": _U32,
    "{a}.attention.value_length": _U32,
    "{a}.attention.layer_norm_epsilon": _F32,
    "{a}.attention.layer_norm_rms_epsilon": _F32,
    "{a}.expert_count": _U32,
    "{a}.expert_used_count": _U32,
    "{a}.rope.scaling.type": STRING,
    "general.name": STRING,
    "general.file_type": _U32,
    "tokenizer.ggml.model": STRING,
    "tokenizer.ggml.pre": STRING,
    "tokenizer.ggml.bos_token_id": _U32,
    "tokenizer.ggml.eos_token_id": _U32,
    "tokenizer.ggml.eot_token_id": _U32,
    "tokenizer.ggml.eom_token_id": _U32,
    "tokenizer.ggml.add_bos_token": _BOOL,
    "tokenizer.ggml.add_eos_token": _BOOL,
}
_PER_LAYER = frozenset(
    {
        "{a}.feed_forward_length",
        "{a}.attention.head_count",
        "{a}.attention.head_count_kv",
        "{a}.expert_used_count",
    }
)
#: Keys of mixture-of-experts and multi-token-prediction models; Ghostpen's architectures
#: have neither, and llama.cpp asserts on inconsistent values of them.
_DENSE_ONLY = (
    "expert_count",
    "expert_used_count",
    "expert_group_count",
    "expert_group_used_count",
    "nextn_predict_layers",
)
_ROPE_SCALING_TYPES = ("none", "linear", "yarn", "longrope")
#: Special tokens Ghostpen and llama.cpp use to stop generating.
_SPECIAL_IDS = ("bos", "eos", "eot", "eom")
#: Tokenizer arrays: their item type, and whether they must have one item per token.
_TOKENIZER_ARRAYS = {
    TOKENS_KEY: (STRING, True),
    "tokenizer.ggml.merges": (STRING, False),
    "tokenizer.ggml.token_type": (_I32, True),
    "tokenizer.ggml.scores": (_F32, True),
}
#: Types llama.cpp's CPU backend cannot multiply or look up: a weight of one of these
#: crashes the first evaluation (SIGSEGV in mul_mat, abort in get_rows).
_NOT_WEIGHT_TYPES = frozenset(
    int(t)
    for t in (
        gguf.GGMLQuantizationType.Q8_1,
        gguf.GGMLQuantizationType.Q8_K,
        gguf.GGMLQuantizationType.I8,
        gguf.GGMLQuantizationType.I16,
        gguf.GGMLQuantizationType.I32,
        gguf.GGMLQuantizationType.I64,
        gguf.GGMLQuantizationType.F64,
    )
)


def check_model(
    path: Path, arch: str, spec: ArchSpec, layout: Layout, hp: Mapping[str, int]
) -> None:
    """Every rule in turn; the first one the file breaks raises ModelFileError.

    ``hp``: the hyperparameters as the report reads them (n_ctx, n_embd, n_layer, n_head,
    n_vocab, n_ff).
    """
    shapes = {t.name: t.shape for t in layout.tensors}
    _check_hparams(path, arch, spec, layout, hp)
    _check_tokenizer(path, arch, spec, layout, hp["n_vocab"])
    embd = shapes.get("token_embd.weight")
    if embd is not None and len(embd) == 2 and embd[1] != hp["n_vocab"]:
        raise ModelFileError(
            path,
            f"the vocabulary has {hp['n_vocab']:,} tokens but 'token_embd.weight' has "
            f"{embd[1]:,} rows",
        )
    _check_tensors(path, arch, spec.tensors(hp), shapes)
    output = shapes.get("output.weight")
    if output is not None and output != (hp["n_embd"], hp["n_vocab"]):
        raise ModelFileError(
            path,
            f"tensor 'output.weight' has shape {list(output)}, expected "
            f"{[hp['n_embd'], hp['n_vocab']]}",
        )
    _check_tensor_types(path, layout.tensors)


def _numbers(value: Any) -> list[float]:
    """The numeric value(s) of a scalar or small array (booleans and strings excluded)."""
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]


def as_int(value: Any) -> int:
    """A hyperparameter as int; per-layer arrays give their first entry. Anything else, a
    NaN or an infinity included, is 0: the rules then refuse the key's type or value."""
    value = _first(value)
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _check_hparams(
    path: Path, arch: str, spec: ArchSpec, layout: Layout, hp: Mapping[str, int]
) -> None:
    """The hyperparameters: in range, of the right types, consistent with each other."""
    _check_limits(path, arch, layout, hp)
    _check_key_types(path, arch, layout)
    for name, label, _limit in _HPARAMS:
        if hp[name] <= 0:
            raise ModelFileError(path, f"{arch}.{label} must be positive, got {hp[name]}")
    if hp["n_embd"] % hp["n_head"]:
        raise ModelFileError(
            path,
            f"embedding length {hp['n_embd']} is not divisible by head count {hp['n_head']}",
        )
    _check_per_layer(path, arch, layout, hp)
    _check_options(path, arch, spec, layout)
    _check_head_sizes(path, arch, spec, layout, hp)


def _check_limits(path: Path, arch: str, layout: Layout, hp: Mapping[str, int]) -> None:
    """No hyperparameter beyond what any file could hold (a flipped byte, not a model)."""
    for name, label, limit in _HPARAMS:
        values = _numbers(layout.fields.get(f"{arch}.{label}")) if name != "n_vocab" else [hp[name]]
        odd = [v for v in values if not math.isfinite(v)]
        if odd:
            raise ModelFileError(path, f"{arch}.{label} is {odd[0]}, not a number of anything")
        big = max(values, default=0)
        if big > limit:
            raise ModelFileError(
                path, f"{arch}.{label} {int(big):,} is absurd (at most {limit:,} is possible)"
            )


def _check_key_types(path: Path, arch: str, layout: Layout) -> None:
    """Each known key has the type llama.cpp reads it as (per-layer keys may be arrays)."""
    for pattern, want in _KEY_TYPES.items():
        k = pattern.replace("{a}", arch)
        if k not in layout.types:
            continue
        vtype, item = layout.types[k]
        if vtype == want:
            continue
        if pattern in _PER_LAYER and vtype == ARRAY and item in (_U32, _I32):
            continue
        raise ModelFileError(
            path, f"{k} has type {value_type_name(vtype)}, expected {value_type_name(want)}"
        )


def _check_per_layer(path: Path, arch: str, layout: Layout, hp: Mapping[str, int]) -> None:
    """A per-layer array must give every layer the same value: these architectures need one."""
    for pattern in _PER_LAYER:
        k = pattern.replace("{a}", arch)
        value = layout.fields.get(k)
        if isinstance(value, ArrayValue) or (
            isinstance(value, list) and (len(value) != hp["n_layer"] or len(set(value)) > 1)
        ):
            shown = value if isinstance(value, list) else f"{len(value)} values"
            raise ModelFileError(
                path, f"{k} varies per layer ({shown}); {arch} needs one value for every layer"
            )


def _check_options(path: Path, arch: str, spec: ArchSpec, layout: Layout) -> None:
    """The epsilon, no mixture-of-experts parts, a RoPE scaling llama.cpp knows."""
    fields = layout.fields
    eps_key = f"{arch}.{spec.epsilon_key}"
    eps = fields.get(eps_key)
    if isinstance(eps, float) and not 0.0 < eps < 1.0:  # NaN fails this too
        raise ModelFileError(
            path, f"{eps_key} must be a small positive number (such as 1e-05), got {eps}"
        )
    for suffix in _DENSE_ONLY:
        k = f"{arch}.{suffix}"
        if any(_numbers(fields.get(k))):
            raise ModelFileError(
                path,
                f"{k} is {fields[k]}, but {arch} models have no mixture-of-experts or "
                "next-token-prediction layers",
            )
    scaling = fields.get(f"{arch}.rope.scaling.type")
    if scaling is not None and scaling not in _ROPE_SCALING_TYPES:
        raise ModelFileError(
            path,
            f"{arch}.rope.scaling.type {scaling!r} is not one llama.cpp knows "
            f"({', '.join(_ROPE_SCALING_TYPES)})",
        )


def _check_head_sizes(
    path: Path, arch: str, spec: ArchSpec, layout: Layout, hp: Mapping[str, int]
) -> None:
    """Explicit key and value lengths: sane, and the head width where the arch fixes it."""
    head_dim = hp["n_embd"] // hp["n_head"]
    for suffix in ("key_length", "value_length", "key_length_swa", "value_length_swa"):
        k = f"{arch}.attention.{suffix}"
        if k not in layout.fields:
            continue
        value = as_int(layout.fields[k])
        if spec.fixed_head_dim and value != head_dim:
            raise ModelFileError(
                path,
                f"{k} is {value}, but {arch} attention heads are {head_dim} wide "
                "(embedding length / head count)",
            )
        if not 0 < value <= 1 << 16:
            raise ModelFileError(path, f"{k} must be positive, got {value}")


def _check_tokenizer(path: Path, arch: str, spec: ArchSpec, layout: Layout, n_vocab: int) -> None:
    fields, types = layout.fields, layout.types
    model = fields.get("tokenizer.ggml.model")
    if model not in spec.tokenizer_models:
        raise ModelFileError(
            path,
            f"tokenizer model {model!r} does not fit architecture {arch} "
            f"(expected {' or '.join(spec.tokenizer_models)})",
        )
    for k, (item, per_token) in _TOKENIZER_ARRAYS.items():
        if k not in types:
            continue
        vtype, got = types[k]
        if vtype != ARRAY or got != item:
            found = (
                f"of {value_type_name(got)}"
                if vtype == ARRAY and got is not None
                else (f"a {value_type_name(vtype)}")
            )
            raise ModelFileError(
                path, f"{k} must be an array of {value_type_name(item)}, not {found}"
            )
        count = len(fields[k])
        if per_token and count != n_vocab:
            raise ModelFileError(path, f"{k} has {count:,} items but {TOKENS_KEY} has {n_vocab:,}")
    if layout.vocab is not None:
        _check_vocab(path, layout.vocab)
    for name in _SPECIAL_IDS:
        k = f"tokenizer.ggml.{name}_token_id"
        value = fields.get(k)
        if isinstance(value, int) and not 0 <= value < n_vocab:
            raise ModelFileError(
                path, f"{k} {value:,} is out of range (the vocabulary has {n_vocab:,} tokens)"
            )


def _check_vocab(path: Path, vocab: list[bytes]) -> None:
    """Tokens are UTF-8 and unique as llama.cpp reads them: it aborts on a repeated token.

    One join, one decode and one set cover the common case in milliseconds (the newline
    between tokens is ASCII, so no multi-byte sequence can straddle two tokens); the
    token-by-token loops only run to name the culprit.
    """
    joined = b"\n".join(vocab)
    try:
        joined.decode("utf-8")
    except UnicodeDecodeError:
        for i, token in enumerate(vocab):
            try:
                token.decode("utf-8")
            except UnicodeDecodeError:
                raise ModelFileError(
                    path, f"token {i:,} of {TOKENS_KEY} is not valid UTF-8 ({token[:40]!r})"
                ) from None
    # llama.cpp reads each token as a C string (up to its first NUL byte) and renames
    # empty ones ("[EMPTY_n]"); two tokens that read the same way abort it.
    texts = [t.split(b"\0", 1)[0] for t in vocab] if b"\0" in joined else vocab
    non_empty = [t for t in texts if t]
    if len(set(non_empty)) == len(non_empty):
        return
    seen: dict[bytes, int] = {}
    for i, text in enumerate(texts):
        first = seen.setdefault(text, i) if text else i
        if first != i:
            cut = " (read up to its NUL byte)" if text != vocab[i] else ""
            raise ModelFileError(
                path,
                f"token {i:,} of {TOKENS_KEY}{cut} repeats token {first:,} "
                f"({text.decode('utf-8', 'replace')!r}); llama.cpp cannot load a "
                "vocabulary with duplicates",
            )


def _check_tensors(
    path: Path,
    arch: str,
    required: Mapping[str, tuple[int, ...] | None],
    shapes: Mapping[str, tuple[int, ...]],
) -> None:
    missing = [name for name in required if name not in shapes]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ModelFileError(path, f"missing required tensor(s) for {arch}: {shown}")
    for name, want in required.items():
        if want is not None and shapes[name] != want:
            raise ModelFileError(
                path, f"tensor {name!r} has shape {list(shapes[name])}, expected {list(want)}"
            )


def _check_tensor_types(path: Path, tensors: list[TensorEntry]) -> None:
    """Norms and biases must be F32, weights a type llama.cpp can compute with."""
    for t in tensors:
        name = gguf.GGMLQuantizationType(t.type_id).name
        if len(t.shape) == 1 and t.type_id != gguf.GGMLQuantizationType.F32:
            raise ModelFileError(
                path,
                f"tensor {t.name!r} has type {name}, but llama.cpp needs F32 for "
                "one-dimensional tensors (norms and biases)",
            )
        if len(t.shape) > 1 and t.type_id in _NOT_WEIGHT_TYPES:
            raise ModelFileError(
                path, f"tensor {t.name!r} has type {name}, which llama.cpp cannot use for weights"
            )
