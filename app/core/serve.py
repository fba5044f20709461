"""Serving the policy's requests on one engine: the app's engine thread and the eval alike.

A request carries the text around the cursor; the prompt is built here, with the model's
own tokenizer, keeping the previous prompt's start while it fits (so the engine reuses
its whole cached prompt). Prefill, healing, scoring and the markup ban are asked of the
engine only where its :class:`~app.core.engine_api.Capabilities` say it can (a remote
server does none of them and gives no probabilities).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import replace

from app.core.context import PromptContext, extend_prompt
from app.core.engine_api import Completion, CompletionBackend, Prefill, StopReason
from app.core.requests import CompletionRequest, PrefillRequest

__all__ = ["RequestServer"]

#: A piece of text and the summed log-probability of the tokens so far (nan: unknown).
PieceSink = Callable[[str, float], None]


class RequestServer:
    """Serves completion and prefill requests on one engine, on the engine's thread."""

    def __init__(self, engine: CompletionBackend) -> None:
        self.engine = engine
        self._last_prompt: PromptContext | None = None  # where the last prompt started

    def prompt(self, request: CompletionRequest | PrefillRequest) -> PromptContext:
        """The prompt for ``request``, keeping the last prompt's start while it fits."""
        engine = self.engine
        context = extend_prompt(
            self._last_prompt,
            request.text,
            request.cursor,
            engine.count_tokens,
            budget_tokens=min(request.context_tokens, engine.n_ctx - 1),
        )
        if not (isinstance(request, CompletionRequest) and request.prefetch):
            # A prefetch's text (the ghost as if typed) is usually not what the writer
            # types next: its start must not become the one the next prompts keep.
            self._last_prompt = context
        return context

    def prefill(self, request: PrefillRequest, cancel: threading.Event) -> Prefill | None:
        """Evaluate the request's prompt ahead (None: a server keeps its own cache)."""
        if not self.engine.capabilities.prefill:
            return None
        context = self.prompt(request)
        return self.engine.prefill(
            context.prefix, request.max_tokens, cancel=cancel, heal=request.heal
        )

    def complete(
        self, request: CompletionRequest, cancel: threading.Event, on_piece: PieceSink
    ) -> Completion:
        return self._complete(request, self.prompt(request).prefix, cancel, on_piece)

    def alternatives(self, request: CompletionRequest, cancel: threading.Event) -> list[str] | None:
        """Continuations that start from the 2nd, 3rd... likeliest next token (None:
        cancelled)."""
        prompt = self.prompt(request).prefix
        texts: list[str] = []
        for branch in range(1, request.n_alternatives + 1):
            branched = _with_branch(request, branch)
            result = self._complete(branched, prompt, cancel, None)
            if result.stop_reason is StopReason.CANCELLED or cancel.is_set():
                return None
            texts.append(result.text)
        return texts

    def _complete(
        self,
        request: CompletionRequest,
        prompt: str,
        cancel: threading.Event,
        on_piece: PieceSink | None,
    ) -> Completion:
        can = self.engine.capabilities
        scored = on_piece if request.scored and can.confidence else None
        unscored = None
        if on_piece is not None and scored is None:
            sink = on_piece
            unscored = lambda piece: sink(piece, math.nan)  # noqa: E731
        return self.engine.complete(
            prompt,
            request.sampling,
            on_text=unscored,
            cancel=cancel,
            branch=request.branch,
            heal=request.heal and can.healing,
            avoid_markup=request.avoid_markup and can.avoid_markup,
            on_piece=scored,
        )


def _with_branch(request: CompletionRequest, branch: int) -> CompletionRequest:
    return replace(request, branch=branch)
