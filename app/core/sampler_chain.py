"""The sampling settings as llama.cpp's own sampler chain, which draws the engine's tokens.

Every sampled token of a completion is drawn through it; :mod:`app.core.sampler_view` builds the
same stages, under the same conditions, to chart them (a test compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import llama_cpp

from app.core.sampling import SamplingSettings


class SamplerChain:
    """llama.cpp's own sampler chain, in its default order.

    penalties -> top-k -> typical -> top-p -> min-p -> temperature -> draw. The penalty
    stage is fed the prompt's last ``repeat_last_n`` tokens so that repeating the
    writer's own words is penalised too, as in llama.cpp's command line tools.
    """

    def __init__(self, llm: llama_cpp.Llama, s: SamplingSettings, seed: int) -> None:
        params = llama_cpp.llama_sampler_chain_default_params()
        params.no_perf = True
        self.chain = llama_cpp.llama_sampler_chain_init(params)
        self._penalised = s.repeat_last_n > 0 and (
            s.repeat_penalty != 1.0 or s.presence_penalty != 0.0 or s.frequency_penalty != 0.0
        )
        self._window = s.repeat_last_n
        add = self._add
        if self._penalised:
            add(
                llama_cpp.llama_sampler_init_penalties(
                    llm.n_vocab(),
                    s.repeat_last_n,
                    s.repeat_penalty,
                    s.frequency_penalty,
                    s.presence_penalty,
                )
            )
        if s.greedy:
            add(llama_cpp.llama_sampler_init_greedy())
            return
        if s.top_k > 0:
            add(llama_cpp.llama_sampler_init_top_k(s.top_k))
        if s.typical_p < 1.0:
            add(llama_cpp.llama_sampler_init_typical(s.typical_p, 1))
        if s.top_p < 1.0:
            add(llama_cpp.llama_sampler_init_top_p(s.top_p, 1))
        if s.min_p > 0.0:
            add(llama_cpp.llama_sampler_init_min_p(s.min_p, 1))
        add(llama_cpp.llama_sampler_init_temp(s.temperature))
        add(llama_cpp.llama_sampler_init_dist(seed))

    def _add(self, sampler: Any) -> None:
        llama_cpp.llama_sampler_chain_add(self.chain, sampler)

    def accept_history(self, tokens: Sequence[int]) -> None:
        if self._penalised:
            for token in tokens[-self._window :]:
                llama_cpp.llama_sampler_accept(self.chain, int(token))

    def accept(self, token: int) -> None:
        """Record a token chosen outside the chain (penalties must still see it)."""
        llama_cpp.llama_sampler_accept(self.chain, int(token))

    def sample(self, ctx: Any) -> int:
        """Draw from the logits of ``ctx`` (a ``llama_context *``) at its last position."""
        # llama_sampler_sample also accepts the token into the chain (penalty history).
        return int(llama_cpp.llama_sampler_sample(self.chain, ctx, -1))

    def free(self) -> None:
        if self.chain is not None:
            llama_cpp.llama_sampler_free(self.chain)
            self.chain = None
