"""Small random-weight GPT-2 checkpoints in the Hugging Face folder layout.

The tests never download GPT-2: they write one of these, convert it with the project's own
converter, and compare llama.cpp against :mod:`tests.reference.gpt2_numpy` on the same
weights. The random weights are scaled so that the logits are moderate (|logit| < ~50 with
a standard deviation of ~8), the output depends on the context through attention (so a
KV-cache bug changes tokens; the model does not just echo its input), and the top-1 logit
clears the top-2 by more than 0.05 at ~97-98% of positions (median ~1.2) for n_embd=64,
n_layer=2, n_head=4. Near-ties cannot be ruled out with 50257 random logits (the top-2 gap
is roughly exponentially distributed), so exact greedy comparisons should check
:func:`tests.reference.gpt2_numpy.top2_margin` / ``greedy``'s margins first.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike
from safetensors.numpy import load_file, save_file

from tests.support.reference.gpt2_bpe import (
    DEFAULT_TOKENIZER_DIR,
    ENDOFTEXT,
    ENDOFTEXT_ID,
    read_merges,
)

#: Width at which ``weight_std`` is the literal standard deviation of a projection weight.
REFERENCE_FAN_IN = 64
#: Default ``weight_std``: see :func:`write_gpt2_checkpoint` and ``tests/core/test_reference.py``.
DEFAULT_WEIGHT_STD = 0.2
#: Target standard deviation of the logits; sets the embedding scale for any ``n_embd``.
LOGIT_STD = 8.0


def gpt2_config(
    *, n_embd: int, n_layer: int, n_head: int, n_positions: int, vocab_size: int, dtype: str
) -> dict[str, Any]:
    """A ``config.json`` with the fields (and defaults) of the real HF GPT-2 configs."""
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": ENDOFTEXT_ID,
        "embd_pdrop": 0.1,
        "eos_token_id": ENDOFTEXT_ID,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": n_positions,
        "n_embd": n_embd,
        "n_head": n_head,
        "n_inner": None,
        "n_layer": n_layer,
        "n_positions": n_positions,
        "resid_pdrop": 0.1,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": dtype,
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def random_gpt2_weights(
    *,
    n_embd: int,
    n_layer: int,
    n_head: int,
    n_positions: int,
    vocab_size: int,
    seed: int,
    weight_std: float,
) -> dict[str, np.ndarray]:
    """float64 HF-named GPT-2 weights (no prefix, no buffers), Conv1D stored as [in, out].

    Projections get ``weight_std * sqrt(64 / fan_in)`` so activations have the same size at
    every width; token embeddings get ``LOGIT_STD / sqrt(n_embd)`` so the logits (tied head)
    have a standard deviation of about ``LOGIT_STD`` whatever the width. Position embeddings
    are half that scale, layer-norm gains are 1 +- 0.1, biases are small but non-zero (so a
    converter that drops one is caught).
    """
    if n_embd % n_head:
        raise ValueError(f"n_embd={n_embd} must be a multiple of n_head={n_head}")
    rng = np.random.default_rng(seed)

    def normal(std: float, *shape: int) -> np.ndarray:
        return rng.normal(0.0, std, size=shape)

    def proj(fan_in: int, fan_out: int) -> np.ndarray:
        return normal(weight_std * math.sqrt(REFERENCE_FAN_IN / fan_in), fan_in, fan_out)

    emb_std = LOGIT_STD / math.sqrt(n_embd)
    n_inner = 4 * n_embd
    w: dict[str, np.ndarray] = {
        "wte.weight": normal(emb_std, vocab_size, n_embd),
        "wpe.weight": normal(emb_std / 2, n_positions, n_embd),
    }
    for i in range(n_layer):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = 1.0 + normal(0.1, n_embd)
        w[p + "ln_1.bias"] = normal(0.05, n_embd)
        w[p + "attn.c_attn.weight"] = proj(n_embd, 3 * n_embd)
        w[p + "attn.c_attn.bias"] = normal(0.05, 3 * n_embd)
        w[p + "attn.c_proj.weight"] = proj(n_embd, n_embd)
        w[p + "attn.c_proj.bias"] = normal(0.05, n_embd)
        w[p + "ln_2.weight"] = 1.0 + normal(0.1, n_embd)
        w[p + "ln_2.bias"] = normal(0.05, n_embd)
        w[p + "mlp.c_fc.weight"] = proj(n_embd, n_inner)
        w[p + "mlp.c_fc.bias"] = normal(0.05, n_inner)
        w[p + "mlp.c_proj.weight"] = proj(n_inner, n_embd)
        w[p + "mlp.c_proj.bias"] = normal(0.05, n_embd)
    w["ln_f.weight"] = 1.0 + normal(0.1, n_embd)
    w["ln_f.bias"] = normal(0.05, n_embd)
    return w


def tokenizer_json(vocab: dict[str, int], merges: list[tuple[str, str]]) -> dict[str, Any]:
    """The GPT-2 ``tokenizer.json`` of the HF ``tokenizers`` library (merges as "a b")."""
    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": ENDOFTEXT_ID,
                "content": ENDOFTEXT,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": True,
                "special": True,
            }
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": {"type": "ByteLevel", **byte_level, "trim_offsets": False},
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def write_gpt2_checkpoint(
    folder: Path,
    *,
    n_embd: int,
    n_layer: int,
    n_head: int,
    n_positions: int = 1024,
    vocab_size: int = 50257,
    seed: int = 0,
    key_prefix: str = "",
    weight_std: float = DEFAULT_WEIGHT_STD,
    tokenizer: Literal["files", "json", "both"] = "files",
    dtype: DTypeLike = np.float32,
    with_lm_head: bool = False,
    include_attn_bias_buffers: bool = True,
) -> Path:
    """Write a random GPT-2 as HF would save it and return ``folder``.

    ``key_prefix`` (e.g. ``"transformer."``) is prepended to every transformer tensor name,
    not to ``lm_head.weight``, as in HF GPT2LMHeadModel checkpoints. ``with_lm_head`` writes
    an explicit ``lm_head.weight`` equal to ``wte`` (tied). ``include_attn_bias_buffers``
    adds each layer's ``attn.bias`` causal-mask buffer ``[1, 1, n_positions, n_positions]``
    (float32, 4 MiB a layer at 1024 positions) that older HF checkpoints carry and a
    converter must drop. The tokenizer is always the real 50257-token GPT-2 one, so any
    other ``vocab_size`` makes a deliberately inconsistent checkpoint.
    """
    np_dtype = np.dtype(dtype)
    if np_dtype not in (np.dtype(np.float32), np.dtype(np.float16)):
        raise ValueError(f"dtype must be float32 or float16, not {np_dtype}")
    if tokenizer not in ("files", "json", "both"):
        raise ValueError(f"tokenizer must be 'files', 'json' or 'both', not {tokenizer!r}")
    if n_embd % n_head:
        raise ValueError(f"n_embd={n_embd} must be a multiple of n_head={n_head}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    weights = random_gpt2_weights(
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_positions=n_positions,
        vocab_size=vocab_size,
        seed=seed,
        weight_std=weight_std,
    )
    tensors: dict[str, np.ndarray] = {
        key_prefix + k: np.ascontiguousarray(v.astype(np_dtype)) for k, v in weights.items()
    }
    if include_attn_bias_buffers:
        tril = np.tril(np.ones((n_positions, n_positions), dtype=np.float32))
        mask = tril.reshape(1, 1, n_positions, n_positions)
        for i in range(n_layer):
            tensors[f"{key_prefix}h.{i}.attn.bias"] = mask
    if with_lm_head:
        tensors["lm_head.weight"] = tensors[key_prefix + "wte.weight"].copy()
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})

    dtype_name = "float16" if np_dtype == np.dtype(np.float16) else "float32"
    config = gpt2_config(
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_positions=n_positions,
        vocab_size=vocab_size,
        dtype=dtype_name,
    )
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    if tokenizer in ("files", "both"):
        for name in ("vocab.json", "merges.txt"):
            # copyfile, not copy: the source files are read-only and the copy must not be.
            shutil.copyfile(DEFAULT_TOKENIZER_DIR / name, folder / name)
    if tokenizer in ("json", "both"):
        with open(DEFAULT_TOKENIZER_DIR / "vocab.json", encoding="utf-8") as f:
            vocab = json.load(f)
        merges = read_merges(DEFAULT_TOKENIZER_DIR / "merges.txt")
        with open(folder / "tokenizer.json", "w", encoding="utf-8") as f:
            json.dump(tokenizer_json(vocab, merges), f, ensure_ascii=False)
    return folder


def load_checkpoint(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Weights (as stored, names as stored) and config of an HF GPT-2 folder.

    :func:`tests.reference.gpt2_numpy.forward` accepts the names with or without prefix
    and ignores the ``attn.bias`` buffers.
    """
    folder = Path(folder)
    weights = load_file(str(folder / "model.safetensors"))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return weights, config
