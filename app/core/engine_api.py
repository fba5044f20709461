"""The contract between the code that asks for suggestions and an engine that answers.

Two engines answer: :class:`~app.core.engine.Engine` runs llama.cpp in this process, and
:class:`~app.core.remote_engine.RemoteEngine` asks an OpenAI-compatible server. The
worker thread, the request server and the eval drive either through
:class:`CompletionBackend`, and this module holds what they share: the results
(:class:`Completion`, :class:`Prefill`, :class:`Timings`, :class:`StopReason`), the
errors, and :class:`Capabilities`, what a caller checks before it asks for what only
some engines can do (a server holds no logits, so it cannot heal a prompt, score a
piece or show the sampler view).

It imports neither llama.cpp nor an HTTP client, so that code which only reads results
(the suggestion policy, the requests) loads neither.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from app.core.gguf_info import ModelInfo
    from app.core.sampling import SamplingSettings

#: The smallest context an engine accepts.
MIN_CONTEXT = 16
#: Context used when none is asked for: all of GPT-2's 1024, but not the 32k of newer
#: models, whose KV cache would cost hundreds of MB for text a writer never needs.
DEFAULT_CONTEXT = 2048


class EngineError(Exception):
    """The engine cannot do what was asked; the message says why."""


class EngineBusyError(EngineError):
    """Two threads tried to use one engine at once (a programming error)."""


class GpuOffloadError(EngineError):
    """The GPU could not hold the model or its context (too little free memory, a device
    that failed or is gone). The same model may still run on the CPU, with no GPU layers."""


class EngineFault(EngineError):
    """The engine can no longer be trusted (llama.cpp failed mid-call): close it."""


class ModelFileChangedError(EngineFault):
    """The model file was deleted, replaced or modified since it was loaded."""

    def __init__(self, message: str, *, deleted: bool) -> None:
        super().__init__(message)
        self.deleted = deleted  # nothing is left at the path to load again


class StopReason(str, Enum):
    LENGTH = "length"  # max_tokens reached
    STOP = "stop"  # a stop string appeared
    EOS = "eos"  # the model ended the text
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Timings:
    """Where the time of one call went; the evaluated count shows the prefix reuse."""

    prompt_tokens: int  # tokens of the prompt window sent to the model
    prompt_tokens_evaluated: int  # of those, evaluated in this call (the rest reused)
    prompt_ms: float
    generated_tokens: int
    generation_ms: float
    first_token_ms: float | None  # from the call's start to the first sampled token
    window_slides: int = 0

    @property
    def ms_per_token(self) -> float:
        return self.generation_ms / self.generated_tokens if self.generated_tokens else 0.0

    @property
    def tokens_per_second(self) -> float:
        return 1000.0 / self.ms_per_token if self.ms_per_token else 0.0


@dataclass(frozen=True)
class Completion:
    """A continuation. With healing, ``text`` starts after ``healed``: the end of the
    prompt that the model wrote again (see :mod:`app.core.healing`), which the writer
    already has; ``token_ids`` include the tokens that wrote it."""

    text: str
    token_ids: tuple[int, ...]
    stop_reason: StopReason
    timings: Timings
    seed: int
    prompt_truncated: bool
    healed: str = ""
    #: Each token's log-probability under the model's own distribution (temperature 1,
    #: renormalised over the tokens the healing allowed); empty unless asked for.
    token_logprobs: tuple[float, ...] = ()


@dataclass(frozen=True)
class Prefill:
    """What a prefill did: the prompt's tokens, how many it evaluated."""

    prompt_tokens: int
    evaluated: int
    ms: float
    cancelled: bool


TextCallback = Callable[[str], None]
#: A piece of text and the summed log-probability of every token so far (its confidence).
PieceCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do beyond completing text. Asking for what it cannot do raises
    :class:`EngineError`, so callers check first."""

    #: :meth:`CompletionBackend.prefill` evaluates a prompt ahead of its completion.
    prefill: bool = False
    #: ``complete(heal=True)``: the prompt never ends inside a token.
    healing: bool = False
    #: ``complete(avoid_markup=True)``: tokens that are whole markup tags are never chosen.
    avoid_markup: bool = False
    #: ``complete(on_piece=...)``: each piece comes with its summed log-probability.
    confidence: bool = False
    #: :meth:`CompletionBackend.next_token_logits` and ``detokenize``: the sampler view.
    logits: bool = False


@runtime_checkable
class CompletionBackend(Protocol):
    """An engine: one model, driven from one thread; :meth:`cancel` from any thread.

    Lifecycle: create it (which loads the model or checks the server), call it, then
    :meth:`close` it, or use it as a context manager. Calls after ``close`` raise
    :class:`EngineError`; a second concurrent call raises :class:`EngineBusyError`.
    """

    #: What the engine can do besides :meth:`complete` (see :class:`Capabilities`).
    capabilities: Capabilities
    #: Tokens of prompt plus completion the engine budgets for.
    n_ctx: int
    #: llama.cpp's threads and GPU layers (0 where a server decides).
    n_threads: int
    n_gpu_layers: int
    #: The layers llama.cpp put on the GPU, of all it counts ((0, 0) where a server decides).
    offloaded_layers: tuple[int, int]
    closed: bool

    @property
    def info(self) -> ModelInfo | None:
        """The local GGUF's description; None where a server runs the model."""
        ...

    @property
    def description(self) -> str:
        """One line naming the model, for the status bar."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the model counts them (no BOS)."""
        ...

    def complete(
        self,
        prompt: str,
        settings: SamplingSettings | None = None,
        *,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
        branch: int = 0,
        heal: bool = False,
        avoid_markup: bool = False,
        on_piece: PieceCallback | None = None,
    ) -> Completion:
        """Continue ``prompt``, streaming pieces to ``on_text`` (or ``on_piece``)."""
        ...

    def prefill(
        self,
        prompt: str,
        max_tokens: int,
        *,
        cancel: threading.Event | None = None,
        heal: bool = False,
    ) -> Prefill:
        """Evaluate ``prompt`` ahead of its completion (``capabilities.prefill``)."""
        ...

    def next_token_logits(self, prompt: str) -> tuple[np.ndarray, list[int]]:
        """The logits after ``prompt`` and its tokens (``capabilities.logits``)."""
        ...

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """The bytes of ``tokens`` (``capabilities.logits``)."""
        ...

    def cancel(self) -> None:
        """Stop the running call, if any, promptly. Any thread."""
        ...

    def close(self) -> None:
        """Release the model or the connection (idempotent)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *_exc: object) -> None: ...
