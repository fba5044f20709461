"""The messages a suggestion policy sends to whatever runs the engine.

They are plain values so that the same policy drives the app's engine thread and the
headless eval alike: the worker builds the prompt from ``text`` and ``cursor`` with the
model's own tokenizer, which only it holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.core.engine_api import Completion
from app.core.sampling import SamplingSettings


@dataclass(frozen=True)
class CompletionRequest:
    """Text around the cursor; the worker builds the prompt with the model's tokenizer.

    ``heal``: the prompt is cut back to a clean token boundary and the model writes the
    cut characters again (see :mod:`app.core.healing`); the answer starts at the cursor.
    ``scored``: each piece comes with the summed log-probability of its tokens.
    ``avoid_markup``: tokens that are whole markup tags (Gemma has ``<strong>``) are
    never chosen. ``branch`` > 0 starts from the branch-th likeliest first token.
    ``prefetch``: it continues a ghost still on screen (computed ahead for Tab, Tab).
    """

    id: int
    text: str
    cursor: int
    sampling: SamplingSettings
    context_tokens: int = 384
    n_alternatives: int = 1  # more than one: sample that many different continuations
    created: float = field(default_factory=time.perf_counter)
    heal: bool = False
    scored: bool = False
    avoid_markup: bool = False
    branch: int = 0
    prefetch: bool = False


@dataclass(frozen=True)
class PrefillRequest:
    """Text around the cursor to evaluate ahead of the completion a pause will ask for.

    No answer is sent: the next completion of the same text starts by sampling.
    ``max_tokens`` and ``heal`` are that completion's: they decide the tokens evaluated.
    """

    id: int
    text: str
    cursor: int
    max_tokens: int
    context_tokens: int = 384
    created: float = field(default_factory=time.perf_counter)
    heal: bool = False


@dataclass(frozen=True)
class RequestDone:
    id: int
    completion: Completion
    started_after_ms: float  # from request creation to the worker picking it up
