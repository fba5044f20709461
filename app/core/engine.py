"""The inference engine: one llama.cpp model and context, streaming GPT-2 continuations.

Why it is shaped this way:

- **Prefix reuse.** Writers type one character at a time, so consecutive prompts share
  almost all their tokens. The KV cache keeps the tokens of the previous call; a new call
  evaluates only the tokens after the longest common prefix.
- **No KV shift.** GPT-2's positions are learned, so shifting cached keys to new
  positions (correct only for RoPE models) would silently corrupt the output. When the
  text outgrows the context the window slides and the kept tokens are evaluated again.
- **Cancellation.** A newer keystroke makes the running request worthless. ``cancel()``
  (any thread) is checked between tokens, and llama.cpp's abort callback checks it
  between graph nodes, so even a long prompt evaluation stops promptly.
- **One thread.** llama.cpp contexts are not thread-safe; concurrent use raises
  :class:`EngineBusyError` instead of corrupting state.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from app.core.gguf_info import ModelInfo, inspect_model
from app.core.llama_runtime import install_log_routing
from app.core.postprocess import complete_utf8, find_stop, partial_stop_length
from app.core.sampling import SamplingSettings

MIN_CONTEXT = 16
#: Context used when none is asked for: all of GPT-2's 1024, but not the 32k of newer
#: models, whose KV cache would cost hundreds of MB for text a writer never needs.
DEFAULT_CONTEXT = 2048
#: Storage of the attention keys and values. f16 is llama.cpp's default; f32 is exact.
KV_CACHE_TYPES = {"f16": llama_cpp.GGML_TYPE_F16, "f32": llama_cpp.GGML_TYPE_F32}
#: Batches at least this long can be aborted mid-evaluation (see Engine._eval).
ABORTABLE_BATCH = 16
#: Tokenizations kept (see Engine.tokenize).
TOKENIZE_CACHE = 8


class EngineError(Exception):
    """The engine cannot do what was asked; the message says why."""


class EngineBusyError(EngineError):
    """Two threads tried to use one engine at once (a programming error)."""


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
    def reused_tokens(self) -> int:
        return self.prompt_tokens - self.prompt_tokens_evaluated

    @property
    def ms_per_token(self) -> float:
        return self.generation_ms / self.generated_tokens if self.generated_tokens else 0.0

    @property
    def tokens_per_second(self) -> float:
        return 1000.0 / self.ms_per_token if self.ms_per_token else 0.0

    @property
    def prompt_tokens_per_second(self) -> float:
        return self.prompt_tokens_evaluated * 1000.0 / self.prompt_ms if self.prompt_ms else 0.0


@dataclass(frozen=True)
class Completion:
    text: str
    token_ids: tuple[int, ...]
    stop_reason: StopReason
    timings: Timings
    seed: int
    prompt_truncated: bool


TextCallback = Callable[[str], None]


class Engine:
    """Owns one ``llama_cpp.Llama``. Create it, use it and close it on one thread."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        n_batch: int = 512,
        logits_all: bool = False,
        kv_cache_type: str = "f16",
    ) -> None:
        install_log_routing()
        self.info: ModelInfo = inspect_model(model_path)
        trained = self.info.context_length
        if n_ctx is None:
            n_ctx = min(trained, DEFAULT_CONTEXT)
        if not MIN_CONTEXT <= n_ctx <= trained:
            raise EngineError(
                f"context size {n_ctx} is out of range: this model allows {MIN_CONTEXT} to "
                f"{trained} tokens (its training context)"
            )
        if n_gpu_layers < -1:
            raise EngineError(f"GPU layers must be -1 (all), 0 or more, got {n_gpu_layers}")
        if kv_cache_type not in KV_CACHE_TYPES:
            raise EngineError(
                f"KV cache type must be one of {', '.join(KV_CACHE_TYPES)}, got {kv_cache_type!r}"
            )
        threads = n_threads or default_threads()
        if threads < 1:
            raise EngineError(f"threads must be at least 1, got {threads}")
        self.n_threads = threads
        self.n_gpu_layers = n_gpu_layers
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_batch=min(n_batch, n_ctx),
                n_ubatch=min(n_batch, n_ctx),
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=n_gpu_layers,
                logits_all=logits_all,
                type_k=KV_CACHE_TYPES[kv_cache_type],
                type_v=KV_CACHE_TYPES[kv_cache_type],
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise EngineError(f"{model_path}: llama.cpp could not load the model: {exc}") from None
        # llama.cpp pads its context to a multiple of 256; GPT-2's learned positions end
        # at the training context, so the usable window is what was asked for, not more.
        self.n_ctx: int = n_ctx
        self._logits_all = logits_all
        self._eos = int(self._llm.token_eos())
        self._bos = int(self._llm.token_bos())
        # GPT-2 prompts start with the text itself; models trained with a BOS need it.
        self._add_bos = bool(self._llm._model.add_bos_token())
        self._lock = threading.Lock()
        self._tokens_of: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        self._cancel: threading.Event | None = None
        self._cancel_lock = threading.Lock()
        # The callback object must outlive the context, so keep it on self.
        self._abort_cb = llama_cpp.ggml_abort_callback(self._should_abort)
        self._no_abort_cb = llama_cpp.ggml_abort_callback(0)
        self.closed = False

    # ------------------------------------------------------------------ basics

    @property
    def model_path(self) -> Path:
        return Path(self.info.path)

    @property
    def eos_token(self) -> int:
        return self._eos

    @property
    def cached_tokens(self) -> list[int]:
        """Tokens whose keys and values the context holds now (the reusable prefix)."""
        return [int(t) for t in self._llm.input_ids[: self._llm.n_tokens]]

    def tokenize(self, text: str) -> list[int]:
        """GPT-2 tokens of ``text`` (no BOS: GPT-2 prompts start with the text itself).

        The last few results are kept: building a prompt counts the tokens of the very
        text that is then completed, and a keystroke's prompt is that text again.
        """
        self._check_open()
        cached = self._tokens_of.get(text)
        if cached is not None:
            self._tokens_of.move_to_end(text)
            return list(cached)
        tokens = tuple(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        self._tokens_of[text] = tokens
        if len(self._tokens_of) > TOKENIZE_CACHE:
            self._tokens_of.popitem(last=False)
        return list(tokens)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        self._check_open()
        return bytes(self._llm.detokenize(list(tokens)))

    def cancel(self) -> None:
        """Stop the running call (if any) at the next token or graph node. Any thread."""
        with self._cancel_lock:
            if self._cancel is not None:
                self._cancel.set()

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                self._llm.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise EngineError("the engine is closed")

    def _should_abort(self, _data: Any) -> bool:
        event = self._cancel
        return bool(event is not None and event.is_set())

    # ------------------------------------------------------------------ evaluation

    @contextmanager
    def _exclusive(self, cancel: threading.Event | None) -> Iterator[None]:
        """Fail loudly if another thread is inside the engine; arm the cancel event."""
        if not self._lock.acquire(blocking=False):
            raise EngineBusyError(
                "the engine is already running a call on another thread; "
                "one engine serves one thread at a time"
            )
        try:
            self._check_open()
            with self._cancel_lock:
                self._cancel = cancel or threading.Event()
            yield
        finally:
            with self._cancel_lock:
                self._cancel = None
            self._lock.release()

    def reset(self) -> None:
        """Forget the cached tokens: the next call evaluates its prompt from scratch."""
        with self._exclusive(None):
            self._llm.n_tokens = 0

    def logits(self, tokens: Sequence[int]) -> np.ndarray:
        """Logits at every position of ``tokens``, shape [len, vocab] (needs logits_all)."""
        if not self._logits_all:
            raise EngineError("create the engine with logits_all=True to read all logits")
        with self._exclusive(None):
            self._llm.n_tokens = 0
            self._evaluate(tokens)
            return np.array(self._llm.scores[: len(tokens)], dtype=np.float32, copy=True)

    def next_token_logits(self, prompt: str) -> tuple[np.ndarray, list[int]]:
        """Logits of the token after ``prompt`` and the prompt tokens (the penalty history).

        For the live sampler view: the prompt is tokenized and evaluated exactly as
        :meth:`complete` does (BOS rule, empty prompt = new document, prefix reuse), so
        the next completion reuses this call's cache. The window is the last ``n_ctx``
        tokens. The logits are a float32 copy: llama.cpp overwrites its buffer on the
        next evaluation. A :meth:`cancel` during evaluation raises :class:`EngineError`.
        """
        tokens = self.tokenize(prompt)
        if self._add_bos:
            tokens = [self._bos, *tokens]
        elif not tokens:
            tokens = [self._eos]
        with self._exclusive(None):
            tokens = self._tail(tokens, self.n_ctx)
            try:
                self._evaluate(tokens)
            except _Cancelled:
                raise EngineError("the next-token logits were cancelled") from None
            ptr = llama_cpp.llama_get_logits_ith(self._llm._ctx.ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(self._llm.n_vocab(),))
            return np.array(logits, dtype=np.float32, copy=True), tokens

    def _evaluate(self, tokens: Sequence[int]) -> int:
        """Bring the KV cache to exactly ``tokens``, reusing the longest common prefix.

        Returns how many tokens were evaluated. At least the last token is always
        evaluated so that its logits are fresh for sampling. Raises
        :class:`_Cancelled` if cancelled part-way (the cache keeps what was finished).
        """
        if not tokens:
            raise EngineError("nothing to evaluate")
        if len(tokens) > self.n_ctx:
            raise EngineError(f"{len(tokens)} tokens do not fit the context of {self.n_ctx}")
        llm = self._llm
        cached = llm.input_ids[: llm.n_tokens]
        common = 0
        limit = min(len(cached), len(tokens) - 1)
        while common < limit and cached[common] == tokens[common]:
            common += 1
        llm.n_tokens = common
        todo = list(tokens[common:])
        step = llm.n_batch
        for start in range(0, len(todo), step):
            if self._cancel is not None and self._cancel.is_set():
                raise _Cancelled
            self._eval(todo[start : start + step])
        return len(todo)

    # ------------------------------------------------------------------ completion

    def complete(
        self,
        prompt: str,
        settings: SamplingSettings | None = None,
        *,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
        branch: int = 0,
    ) -> Completion:
        """Continue ``prompt``; ``on_text`` receives each new piece of text as it is ready.

        Pieces never end inside a UTF-8 character and never contain the start of a stop
        string that has not been decided yet. ``cancel`` (or :meth:`cancel`) stops it.
        An empty prompt starts a new document (GPT-2's ``<|endoftext|>``).

        ``branch`` > 0 starts from the branch-th likeliest first token instead of a
        sampled one: alternatives that are guaranteed to differ, even where a small
        model's distribution is so peaked that sampling would repeat itself.
        """
        tokens = self.tokenize(prompt)
        if self._add_bos:
            tokens = [self._bos, *tokens]
        elif not tokens:
            tokens = [self._eos]  # GPT-2's document separator starts a new document
        return self.complete_tokens(tokens, settings, on_text=on_text, cancel=cancel, branch=branch)

    def complete_tokens(
        self,
        tokens: Sequence[int],
        settings: SamplingSettings | None = None,
        *,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
        branch: int = 0,
    ) -> Completion:
        """:meth:`complete` for a prompt that is already tokenized."""
        if not tokens:
            raise EngineError("the prompt has no tokens")
        if branch < 0:
            raise EngineError(f"branch must be 0 or more, got {branch}")
        with self._exclusive(cancel):
            return self._complete(list(tokens), settings or SamplingSettings(), on_text, branch)

    def _complete(
        self,
        tokens: list[int],
        settings: SamplingSettings,
        on_text: TextCallback | None,
        branch: int = 0,
    ) -> Completion:
        started = time.perf_counter()
        max_new = min(settings.max_tokens, self.n_ctx - 1)
        keep = self.n_ctx - min(max_new, self.n_ctx // 2)
        truncated = len(tokens) > keep
        if truncated:
            tokens = self._tail(tokens, keep)
        seed = settings.seed if settings.seed is not None else random.randrange(2**32 - 1)

        out = _TextStream(settings.stop, on_text)
        generated: list[int] = []
        evaluated = 0
        slides = 0
        prompt_ms = 0.0
        first_token_ms: float | None = None
        reason = StopReason.LENGTH
        sampler = _SamplerChain(self._llm, settings, seed)
        gen_started = time.perf_counter()
        try:
            sampler.accept_history(tokens)
            evaluated = self._evaluate(tokens)
            gen_started = time.perf_counter()
            prompt_ms = (gen_started - started) * 1000.0
            history = list(tokens)
            while len(generated) < max_new:
                if self._cancel is not None and self._cancel.is_set():
                    raise _Cancelled
                if branch and not generated:
                    token = self._ranked_token(branch)
                    sampler.accept(token)
                else:
                    token = sampler.sample(self._llm)
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - started) * 1000.0
                if llama_cpp.llama_vocab_is_eog(self._llm._model.vocab, token):
                    reason = StopReason.EOS
                    break
                generated.append(token)
                history.append(token)
                if out.feed(self._llm.detokenize([token])):
                    reason = StopReason.STOP
                    break
                if len(generated) == max_new:
                    break
                if len(history) > self.n_ctx:  # slide: keep the recent half, re-evaluate
                    history = self._tail(history, self.n_ctx // 2)
                    slides += 1
                    self._evaluate(history)
                else:
                    self._eval([token])
        except _Cancelled:
            reason = StopReason.CANCELLED
        finally:
            sampler.free()
        if reason is not StopReason.STOP:
            out.finish(flush_held=reason is not StopReason.CANCELLED)
        gen_ms = (time.perf_counter() - gen_started) * 1000.0 if generated else 0.0
        return Completion(
            text=out.text,
            token_ids=tuple(generated),
            stop_reason=reason,
            timings=Timings(
                prompt_tokens=len(tokens),
                prompt_tokens_evaluated=evaluated,
                prompt_ms=prompt_ms,
                generated_tokens=len(generated),
                generation_ms=gen_ms,
                first_token_ms=first_token_ms,
                window_slides=slides,
            ),
            seed=seed,
            prompt_truncated=truncated,
        )

    def _tail(self, tokens: list[int], keep: int) -> list[int]:
        """The last ``keep`` tokens, still led by the BOS where the model needs one."""
        if self._add_bos and tokens and tokens[0] == self._bos:
            return [self._bos, *tokens[-(keep - 1) :]]
        return tokens[-keep:]

    def _ranked_token(self, rank: int) -> int:
        """The rank-th likeliest next token (0 = the most likely)."""
        ptr = llama_cpp.llama_get_logits_ith(self._llm._ctx.ctx, -1)
        logits = np.ctypeslib.as_array(ptr, shape=(self._llm.n_vocab(),))
        rank = min(rank, logits.size - 1)
        top = np.argpartition(-logits, rank)[: rank + 1]
        return int(top[np.argsort(-logits[top], kind="stable")][rank])

    def _eval(self, batch: Sequence[int]) -> None:
        """Evaluate one batch; big batches can be aborted from inside llama.cpp.

        The abort callback is Python code that llama.cpp calls for every graph node, which
        takes the GIL each time; for the one-token steps of generation the check between
        tokens is enough, so the callback is installed only for big batches.
        """
        abortable = len(batch) >= ABORTABLE_BATCH
        ctx = self._llm._ctx.ctx
        if abortable:
            llama_cpp.llama_set_abort_callback(ctx, self._abort_cb, None)
        try:
            self._llm.eval(list(batch))
        except RuntimeError as exc:
            if self._cancel is not None and self._cancel.is_set():
                raise _Cancelled from None
            raise EngineError(f"llama.cpp failed to evaluate tokens: {exc}") from None
        finally:
            if abortable:
                llama_cpp.llama_set_abort_callback(ctx, self._no_abort_cb, None)


class _Cancelled(Exception):
    pass


def default_threads() -> int:
    """All cores up to 8: decoding a small model is memory-bound beyond that."""
    return max(1, min(os.cpu_count() or 1, 8))


class _SamplerChain:
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

    def sample(self, llm: llama_cpp.Llama) -> int:
        # llama_sampler_sample also accepts the token into the chain (penalty history).
        return int(llama_cpp.llama_sampler_sample(self.chain, llm._ctx.ctx, -1))

    def free(self) -> None:
        if self.chain is not None:
            llama_cpp.llama_sampler_free(self.chain)
            self.chain = None


class _TextStream:
    """Turns token bytes into text pieces: whole UTF-8 characters, stop strings cut."""

    def __init__(self, stops: Sequence[str], sink: TextCallback | None) -> None:
        self._pending = b""  # the start of a UTF-8 character split across tokens
        self._stops = tuple(stops)
        self._sink = sink
        self._text = ""  # decoded so far (after stop handling)
        self._sent = 0  # characters of _text already handed to the sink

    @property
    def text(self) -> str:
        return self._text

    def feed(self, data: bytes) -> bool:
        """Add one token's bytes; returns True when a stop string ended the text."""
        text, self._pending = complete_utf8(self._pending + data)
        self._text += text
        if self._stops:
            # Held-back text never contains a finished stop, so searching all is exact.
            at = find_stop(self._text, self._stops)
            if at is not None:
                self._text = self._text[:at]
                self._emit(len(self._text))
                return True
        self._emit(len(self._text) - partial_stop_length(self._text, self._stops))
        return False

    def finish(self, *, flush_held: bool) -> None:
        """End of generation: an incomplete UTF-8 tail is dropped, never shown."""
        if flush_held:
            self._emit(len(self._text))
        else:
            self._text = self._text[: self._sent]

    def _emit(self, upto: int) -> None:
        if upto > self._sent:
            piece = self._text[self._sent : upto]
            self._sent = upto
            if self._sink is not None:
                self._sink(piece)
