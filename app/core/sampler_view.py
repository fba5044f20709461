"""The live sampler view: what the sampler chain does to the next-token distribution.

The settings panel draws the likeliest next tokens at the cursor twice: as the model
ranks them (raw softmax) and as the sampler chain leaves them, with the stage that cut
each one. So that the chart shows what really happens when Ghostpen samples, the cuts
and the reshaped logits come from llama.cpp's own samplers, built with the same
conditions and in the same order as the engine's chain (penalties -> top-k -> typical
-> top-p -> min-p -> temperature), applied one stage at a time to the full vocabulary.

The final ``dist`` stage is not applied (it would draw a token); the probabilities it
draws from are the softmax of the surviving tokens' logits after temperature, which is
what :func:`sampler_view` computes. Greedy settings (temperature 0) replace the chain
after the penalties with llama.cpp's greedy sampler: one survivor with probability 1,
every other token ``cut_by="greedy"``.

Cost: the Python side is a few vectorised passes over the vocabulary (about 1 ms for
GPT-2's 50k tokens, 6 ms for Gemma 3's 262k); the rest is the samplers' own work, the same
the engine pays per token. The dearest is typical-p with top-k off, which sorts the whole
vocabulary (about 10 ms at 50k, 40-70 ms at 262k).

Pure Python + NumPy + llama.cpp samplers: no model or context is touched, so any thread
may call it, e.g. the GUI thread with logits from :meth:`Engine.next_token_logits`.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

from app.core.sampling import SamplingSettings

TOP_K = "top-k"
TYPICAL_P = "typical-p"
TOP_P = "top-p"
MIN_P = "min-p"
#: ``cut_by`` of every token but the argmax when the settings are greedy.
GREEDY = "greedy"

#: One llama_token_data (id, logit, p) as a NumPy record, so the whole array is filled
#: by vectorised assignments instead of a Python loop over the vocabulary.
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
if _TOKEN_DATA.itemsize != ctypes.sizeof(llama_cpp.llama_token_data):
    raise ImportError("llama_token_data has an unexpected layout in this llama_cpp build")


@dataclass(frozen=True)
class Candidate:
    """One bar of the chart."""

    token_id: int
    text: str  # the token as text (via the token_text callable)
    raw_probability: float  # softmax of the raw logits (temperature 1, no cuts, no penalties)
    probability: float  # after the whole chain (0.0 if cut)
    cut_by: str | None  # the FIRST stage that removed it; None if it survives


@dataclass(frozen=True)
class SamplerView:
    """The chart's data: the bars, and how much of the vocabulary is still in play."""

    candidates: tuple[Candidate, ...]  # the top_n tokens by raw logit, likeliest first
    kept: int  # how many tokens of the whole vocabulary survive the chain
    greedy: bool  # temperature 0: only the (penalised) argmax survives, probability 1.0


_Factory = Callable[[], Any]


def _penalised(s: SamplingSettings) -> bool:
    """Whether the engine's chain has a penalty stage (same test as ``SamplerChain``)."""
    return s.repeat_last_n > 0 and (
        s.repeat_penalty != 1.0 or s.presence_penalty != 0.0 or s.frequency_penalty != 0.0
    )


def _stages(s: SamplingSettings) -> list[tuple[str, _Factory]]:
    """The stages of ``SamplerChain`` after the penalties, less the final ``dist``.

    Same conditions and order as ``app.core.sampler_chain.SamplerChain``: keep them in step
    (a test compares the two chains' sampler names).
    """
    if s.greedy:
        return [(GREEDY, llama_cpp.llama_sampler_init_greedy)]
    stages: list[tuple[str, _Factory]] = []
    if s.top_k > 0:
        stages.append((TOP_K, lambda: llama_cpp.llama_sampler_init_top_k(s.top_k)))
    if s.typical_p < 1.0:
        stages.append((TYPICAL_P, lambda: llama_cpp.llama_sampler_init_typical(s.typical_p, 1)))
    if s.top_p < 1.0:
        stages.append((TOP_P, lambda: llama_cpp.llama_sampler_init_top_p(s.top_p, 1)))
    if s.min_p > 0.0:
        stages.append((MIN_P, lambda: llama_cpp.llama_sampler_init_min_p(s.min_p, 1)))
    stages.append(("temperature", lambda: llama_cpp.llama_sampler_init_temp(s.temperature)))
    return stages


def _apply(sampler: Any, array: Any, history: Sequence[int] = ()) -> None:
    """Run one sampler on the array, then free it (each stage is its own object)."""
    if not sampler:
        raise RuntimeError("llama.cpp could not create a sampler")
    try:
        for token in history:
            llama_cpp.llama_sampler_accept(sampler, int(token))
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(array))
    finally:
        llama_cpp.llama_sampler_free(sampler)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Float64 probabilities; exp in float32 (about 3x faster on a 262k vocabulary)."""
    weights = np.exp(logits - np.max(logits)).astype(np.float64)
    return weights / weights.sum()


def sampler_view(
    logits: np.ndarray,
    settings: SamplingSettings,
    history: Sequence[int],
    token_text: Callable[[int], str],
    top_n: int = 20,
) -> SamplerView:
    """Run the sampler chain of ``settings`` on ``logits`` and describe the top ``top_n``.

    ``history`` is the token sequence the penalties see (the prompt tokens, as returned
    by :meth:`Engine.next_token_logits`); its last ``repeat_last_n`` tokens count.
    """
    flat = np.ascontiguousarray(logits, dtype=np.float32)
    if flat.ndim != 1 or flat.size == 0:
        raise ValueError(f"logits must be a non-empty vector, got shape {np.shape(logits)}")
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    if not np.isfinite(np.max(flat)):  # NaN or +inf anywhere (-inf is a masked token)
        raise ValueError("logits must not contain NaN or +inf")
    n_vocab = flat.size
    top_n = min(top_n, n_vocab)
    top = np.argpartition(-flat, top_n - 1)[:top_n]
    top = top[np.lexsort((top, -flat[top]))]  # by logit, ties by id: a steady bar order
    weights = np.exp(flat - np.max(flat))  # raw softmax, needed only at the candidates
    raw = weights[top].astype(np.float64) / weights.sum(dtype=np.float64)

    # The array llama.cpp's samplers work on, as llama_sampler_sample builds it. Samplers
    # reorder and shrink it in place (``size``; ``data`` stays our buffer), so ``data``
    # must stay alive until the last stage: it does, it is this frame's local.
    data = np.empty(n_vocab, dtype=_TOKEN_DATA)
    data["id"] = np.arange(n_vocab, dtype=np.int32)
    data["logit"] = flat
    data["p"] = 0.0
    array = llama_cpp.llama_token_data_array(
        data=data.ctypes.data_as(llama_cpp.llama_token_data_p),
        size=n_vocab,
        selected=-1,
        sorted=False,
    )

    if _penalised(settings):
        window = list(history)[-settings.repeat_last_n :]
        sampler = llama_cpp.llama_sampler_init_penalties(
            n_vocab,
            settings.repeat_last_n,
            settings.repeat_penalty,
            settings.frequency_penalty,
            settings.presence_penalty,
        )
        _apply(sampler, array, window)  # changes logits, never cuts

    cut_by: dict[int, str] = {}
    size = n_vocab
    for name, make in _stages(settings):
        _apply(make(), array)
        if array.size < size:  # something was cut: which of the candidates?
            size = int(array.size)
            alive = np.zeros(n_vocab, dtype=bool)
            alive[data["id"][:size]] = True
            for token in top[~alive[top]]:
                cut_by.setdefault(int(token), name)
    if settings.greedy:  # the greedy sampler cuts nothing: it selects
        winner = int(data["id"][array.selected])
        survivors = np.array([winner])
        final = np.ones(1)
        cut_by = {int(t): GREEDY for t in top if int(t) != winner}
    else:
        survivors = data["id"][:size].copy()
        final = _softmax(data["logit"][:size])

    post = np.zeros(n_vocab)
    post[survivors] = final
    candidates = tuple(
        Candidate(
            token_id=int(t),
            text=token_text(int(t)),
            raw_probability=float(p),
            probability=float(post[t]),
            cut_by=cut_by.get(int(t)),
        )
        for t, p in zip(top, raw, strict=True)
    )
    return SamplerView(candidates=candidates, kept=int(survivors.size), greedy=settings.greedy)
