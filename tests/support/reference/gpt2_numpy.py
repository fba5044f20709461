"""Reference GPT-2 forward pass in NumPy (float64), from Hugging Face GPT-2 weights.

It is deliberately plain (no KV cache, one full causal pass) so that llama.cpp's output for
a converted checkpoint can be checked against something that shares no code with the
converter or llama.cpp. float64 keeps its own rounding far below any float32/float16 effect
being tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_PREFIX = "transformer."


def normalize_keys(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Drop the ``transformer.`` prefix: HF GPT-2 checkpoints come in both spellings."""
    out: dict[str, np.ndarray] = {}
    for key, value in weights.items():
        name = key[len(_PREFIX) :] if key.startswith(_PREFIX) else key
        if name in out:
            raise ValueError(f"duplicate tensor {name!r} (with and without {_PREFIX!r})")
        out[name] = value
    return out


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis with the biased variance, as torch computes it."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def gelu_new(x: np.ndarray) -> np.ndarray:
    """The tanh approximation of GELU that GPT-2 was trained with (HF ``gelu_new``)."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def gelu_exact(x: np.ndarray) -> np.ndarray:
    """The erf GELU (HF ``gelu``), for configs that ask for it."""
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


_ACTIVATIONS = {
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": gelu_new,
    "gelu_fast": gelu_new,
    "gelu": gelu_exact,
}


def forward(
    weights: Mapping[str, np.ndarray], config: Mapping[str, Any], token_ids: Sequence[int]
) -> np.ndarray:
    """Logits ``[len(token_ids), vocab_size]`` (float64) of GPT2LMHeadModel for one sequence."""
    w = normalize_keys(weights)

    def get(name: str) -> np.ndarray:
        return np.asarray(w[name], dtype=np.float64)

    n_layer = int(config["n_layer"])
    n_head = int(config["n_head"])
    eps = float(config.get("layer_norm_epsilon", 1e-5))
    act = _ACTIVATIONS[str(config.get("activation_function", "gelu_new"))]

    ids = np.asarray(list(token_ids), dtype=np.int64)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError("token_ids must be a non-empty sequence of ints")
    wte = get("wte.weight")
    wpe = get("wpe.weight")
    n_tokens = ids.size
    if n_tokens > wpe.shape[0]:
        raise ValueError(f"{n_tokens} tokens exceed n_positions={wpe.shape[0]}")
    if ids.min() < 0 or ids.max() >= wte.shape[0]:
        raise ValueError("token id out of range")
    n_embd = wte.shape[1]
    if n_embd % n_head:
        raise ValueError(f"n_embd={n_embd} is not a multiple of n_head={n_head}")
    d_head = n_embd // n_head

    h = wte[ids] + wpe[:n_tokens]
    # Causal mask: position i attends to j <= i only.
    future = np.triu(np.ones((n_tokens, n_tokens), dtype=bool), k=1)

    for i in range(n_layer):
        p = f"h.{i}."
        x = layer_norm(h, get(p + "ln_1.weight"), get(p + "ln_1.bias"), eps)
        qkv = x @ get(p + "attn.c_attn.weight") + get(p + "attn.c_attn.bias")
        q, k, v = np.split(qkv, 3, axis=-1)
        # [T, n_embd] -> [n_head, T, d_head]
        q, k, v = (a.reshape(n_tokens, n_head, d_head).transpose(1, 0, 2) for a in (q, k, v))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d_head)
        scores = np.where(future, -np.inf, scores)
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        a = (probs @ v).transpose(1, 0, 2).reshape(n_tokens, n_embd)
        h = h + a @ get(p + "attn.c_proj.weight") + get(p + "attn.c_proj.bias")

        x = layer_norm(h, get(p + "ln_2.weight"), get(p + "ln_2.bias"), eps)
        m = act(x @ get(p + "mlp.c_fc.weight") + get(p + "mlp.c_fc.bias"))
        h = h + m @ get(p + "mlp.c_proj.weight") + get(p + "mlp.c_proj.bias")

    h = layer_norm(h, get("ln_f.weight"), get("ln_f.bias"), eps)
    head = get("lm_head.weight") if "lm_head.weight" in w else wte
    return h @ head.T


def top2_margin(logits: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 logit per row: how far rounding may move logits before the
    argmax flips. Tests that compare greedy tokens exactly should check it first."""
    part = np.partition(np.asarray(logits), -2, axis=-1)
    return part[..., -1] - part[..., -2]


def greedy(
    weights: Mapping[str, np.ndarray],
    config: Mapping[str, Any],
    token_ids: Sequence[int],
    n_new: int,
) -> tuple[list[int], list[float]]:
    """Greedy continuation of ``token_ids`` by ``n_new`` tokens, with each step's margin.

    The tokens are what llama.cpp at temperature 0 should produce when every margin is
    well above its rounding error (a full recompute per step: no cache to get wrong).
    """
    ids = list(token_ids)
    out: list[int] = []
    margins: list[float] = []
    for _ in range(n_new):
        last = forward(weights, config, ids)[-1]
        nxt = int(np.argmax(last))
        margins.append(float(top2_margin(last)))
        ids.append(nxt)
        out.append(nxt)
    return out, margins
