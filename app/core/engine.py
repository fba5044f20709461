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
- **The file on disk.** A memory-mapped model keeps reading its file: a file truncated in
  place kills the process with SIGBUS at the next evaluation, and one rewritten in place
  silently changes the weights (NaN logits). So models up to ``IN_MEMORY_MAX_BYTES`` (every
  GPT-2 up to XL in Q8_0) are read into memory and never touch the file again, and every
  evaluating call first compares the file's identity (device, inode, size, mtime) with
  the one loaded: a change raises :class:`ModelFileChangedError` before llama.cpp reads a
  byte. One ``os.stat`` costs microseconds, against milliseconds for the request.
- **Memory.** A context that cannot fit in the memory the system has free is refused
  with the figures before llama.cpp tries (see :mod:`app.core.engine_memory`); with GPU
  layers, the GPUs' free memory is what counts. If llama.cpp itself fails to allocate,
  that is an :class:`EngineError` too, never a crash; with GPU layers, a
  :class:`~app.core.engine_api.GpuOffloadError`, which the app answers by loading the
  model again on the CPU.

``Engine`` implements :class:`~app.core.engine_api.CompletionBackend` with every
capability; the types it returns and raises live in :mod:`app.core.engine_api`, and its
uses of llama-cpp-python beyond the ``Llama`` API in :mod:`app.core.llama_compat`. What
does not touch the context's state is apart too: the checks and the load
(:mod:`app.core.engine_load`), the sampler chain (:mod:`app.core.sampler_chain`), the
masks and ranks on the logits (:mod:`app.core.token_choice`) and the record of one
completion (:mod:`app.core.generation`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from app.core import llama_compat
from app.core.cpu_load import OtherLoad
from app.core.engine_api import (
    Capabilities,
    Completion,
    EngineBusyError,
    EngineError,
    EngineFault,
    ModelFileChangedError,
    PieceCallback,
    Prefill,
    StopReason,
    TextCallback,
)
from app.core.engine_load import KV_CACHE_TYPES, check_fit, check_options, context_size, load_llama
from app.core.engine_memory import kv_cache_bytes, layers_on_gpu
from app.core.generation import Generation
from app.core.gguf_info import ModelInfo, inspect_model
from app.core.healing import Healing, VocabIndex, heal
from app.core.llama_runtime import install_log_routing
from app.core.sampler_chain import SamplerChain
from app.core.sampling import SamplingSettings
from app.core.token_choice import ban, keep_only, logsumexp, markup_tokens, ranked_token

#: Batches at least this long can be aborted mid-evaluation (see Engine._eval).
ABORTABLE_BATCH = 16
#: Tokens a prefill evaluates between cancel checks, never aborted part-way: a keystroke
#: stops it after at most one chunk (tens of ms) and what was done stays in the cache,
#: so a long prompt (a window that slid) is caught up while the writer keeps typing.
PREFILL_CHUNK = 32
#: Tokenizations kept (see Engine.tokenize).
TOKENIZE_CACHE = 8
#: Models up to this size are read into memory instead of memory-mapped (module notes).
IN_MEMORY_MAX_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class FileStamp:
    """What identifies a file's contents cheaply: one ``os.stat``."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | Path) -> FileStamp:
        st = os.stat(path)
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_change(path: str | Path, loaded: FileStamp) -> tuple[str, bool] | None:
    """How the file at ``path`` differs from ``loaded``: (what happened, deleted), or None."""
    try:
        now = FileStamp.of(path)
    except FileNotFoundError:
        return "was deleted or moved", True
    except OSError as exc:
        return f"can no longer be read ({exc.strerror or exc})", True
    if (now.device, now.inode) != (loaded.device, loaded.inode):
        return "was replaced by another file", False
    if now.size != loaded.size:
        return f"was modified (its size went from {loaded.size:,} to {now.size:,} bytes)", False
    if now.mtime_ns != loaded.mtime_ns:
        return "was modified", False
    return None


class Engine:
    """Owns one ``llama_cpp.Llama``. Create it, use it and close it on one thread.

    A :class:`~app.core.engine_api.CompletionBackend` that can do everything: the
    model's tokens and logits are in this process.
    """

    capabilities = Capabilities(
        prefill=True, healing=True, avoid_markup=True, confidence=True, logits=True
    )

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
        in_memory: bool | None = None,
    ) -> None:
        """``in_memory``: read the weights into memory (None: when the file is at most
        ``IN_MEMORY_MAX_BYTES``) rather than memory-map them (see the module notes)."""
        install_log_routing()
        llama_compat.keep_process_output()
        self._stamp: FileStamp | None = None
        with contextlib.suppress(OSError):  # inspect_model says precisely what is wrong
            self._stamp = FileStamp.of(model_path)
        self.info: ModelInfo = inspect_model(model_path)
        n_ctx = context_size(self.info, n_ctx)
        threads = check_options(n_threads, n_gpu_layers, kv_cache_type)
        self.n_threads = threads
        # Threads not fixed by the writer follow the machine: one fewer while other
        # programs keep a core busy (see core/cpu_load.py); n_gpu_layers aside, this
        # is what keeps a busy laptop from turning a 15 ms token into 500 ms.
        self._other_load = OtherLoad() if n_threads is None and threads > 1 else None
        self.threads_in_use = threads
        self.n_gpu_layers = n_gpu_layers
        if in_memory is None:
            in_memory = self.info.file_size <= IN_MEMORY_MAX_BYTES
        self.in_memory = in_memory
        kv_bytes = kv_cache_bytes(self.info, n_ctx, kv_cache_type)
        check_fit(self.info, n_ctx, kv_bytes, n_gpu_layers, in_memory)
        kv_type = KV_CACHE_TYPES[kv_cache_type]
        batch = min(n_batch, n_ctx)
        #: (layers llama.cpp put on the GPU, layers in all): its log says, where it offloads.
        self.offloaded_layers: tuple[int, int] = (0, layers_on_gpu(self.info, 0)[1])
        self._llm, offloaded = load_llama(
            model_path, n_ctx, kv_bytes,
            n_batch=batch, n_ubatch=batch, n_threads=threads, n_threads_batch=threads,
            n_gpu_layers=n_gpu_layers, logits_all=logits_all, type_k=kv_type, type_v=kv_type,
            use_mmap=not in_memory,
        )  # fmt: skip
        self.offloaded_layers = offloaded or self.offloaded_layers
        # llama.cpp pads its context to a multiple of 256; GPT-2's learned positions end
        # at the training context, so the usable window is what was asked for, not more.
        self.n_ctx: int = n_ctx
        self._logits_all = logits_all
        self._context = llama_compat.context(self._llm)
        self._vocab = llama_compat.vocab(self._llm)
        self._eos = int(self._llm.token_eos())
        self._bos = int(self._llm.token_bos())
        # GPT-2 prompts start with the text itself; models trained with a BOS need it.
        self._add_bos = llama_compat.adds_bos(self._llm)
        self._init_state()

    def _init_state(self) -> None:
        """The locks, caches and per-call state of a freshly loaded model."""
        self._lock = threading.Lock()
        self._tokens_of: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        self._cancel: threading.Event | None = None
        self._cancel_lock = threading.Lock()
        # The callback object must outlive the context, so keep it on self.
        self._abort_cb = llama_cpp.ggml_abort_callback(self._should_abort)
        self._no_abort_cb = llama_cpp.ggml_abort_callback(0)
        # The KV position whose logits llama.cpp's output buffer holds (None: unknown):
        # a prompt evaluated ahead (prefill) is then sampled without evaluating again.
        self._logits_at: int | None = None
        self._progress = 0  # tokens the running evaluation has finished (kept if cancelled)
        self._pieces: list[bytes] | None = None  # every token's bytes (healing)
        self._index: VocabIndex | None = None
        self._markup: np.ndarray | None = None
        # The logits at the end of the last prompt evaluated, kept: a healed prompt stays
        # the same while a word is typed, and sampling from it then evaluates nothing.
        self._prompt_logits: tuple[tuple[int, ...], np.ndarray] | None = None
        self.closed = False

    # ------------------------------------------------------------------ basics

    @property
    def description(self) -> str:
        """The model's name, for the status bar."""
        return self.info.name

    @property
    def model_path(self) -> Path:
        return Path(self.info.path)

    def file_change(self) -> tuple[str, bool] | None:
        """How the model file changed since it was loaded: (what, deleted), or None."""
        if self._stamp is None:
            return "could not be identified when it was loaded", False
        return file_change(self.info.path, self._stamp)

    def check_file(self) -> None:
        """Raise :class:`ModelFileChangedError` if the model file is not the one loaded.

        One ``os.stat``: called before every evaluating call, so that a memory-mapped
        model never reads a file that was truncated or rewritten under it.
        """
        change = self.file_change()
        if change is not None:
            what, deleted = change
            raise ModelFileChangedError(
                f"the model file {self.model_path.name} {what} while it was in use",
                deleted=deleted,
            )

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

    def prepare_healing(self) -> None:
        """Build the vocabulary index token healing uses (once per model: about 0.1 s for
        GPT-2's 50k tokens, 0.5 s for Gemma's 262k). Done on first use otherwise."""
        self.vocabulary()
        self._markup_tokens()

    def vocabulary(self) -> tuple[list[bytes], VocabIndex]:
        """Every token's bytes (empty for control tokens) and the healing index."""
        if self._pieces is None or self._index is None:
            self._check_open()
            vocab = self._vocab
            buf = ctypes.create_string_buffer(256)
            pieces: list[bytes] = []
            for token in range(self._llm.n_vocab()):
                n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, False)
                if n < 0:  # longer than the buffer
                    buf = ctypes.create_string_buffer(-n)
                    n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, False)
                pieces.append(buf.raw[:n] if n > 0 else b"")
            self._pieces, self._index = pieces, VocabIndex(pieces)
        return self._pieces, self._index

    def healed_tokens(self, prompt: str) -> Healing:
        """The prompt's tokens cut back to a clean boundary (see :mod:`app.core.healing`)."""
        tokens = self._prompt_tokens(prompt)
        if not prompt:
            return Healing(tuple(tokens), b"")
        pieces, _index = self.vocabulary()
        healed = heal(prompt, tokens, pieces, keep=1 if self._add_bos else 0)
        if not healed.tokens:  # the whole prompt was one word: start a new document
            return Healing((self._eos,), healed.removed)
        return healed

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
            self.check_file()
            self._llm.n_tokens = 0
            self._evaluate(tokens)
            return np.array(self._llm.scores[: len(tokens)], dtype=np.float32, copy=True)

    def next_token_logits(self, prompt: str) -> tuple[np.ndarray, list[int]]:
        """Logits of the token after ``prompt`` and the prompt tokens (the penalty history).

        For the live sampler view: the prompt is tokenized and evaluated as an unhealed
        :meth:`complete` does (BOS rule, empty prompt = new document, prefix reuse): the
        distribution after the raw text, which is what the sampling settings act on.
        The window is the last ``n_ctx`` tokens. The logits are a float32 copy:
        llama.cpp overwrites its buffer on the next evaluation. A :meth:`cancel` during
        evaluation raises :class:`EngineError`.
        """
        tokens = self.tokenize(prompt)
        if self._add_bos:
            tokens = [self._bos, *tokens]
        elif not tokens:
            tokens = [self._eos]
        with self._exclusive(None):
            self.check_file()
            tokens = self._tail(tokens, self.n_ctx)
            try:
                self._evaluate(tokens)
            except _Cancelled:
                raise EngineError("the next-token logits were cancelled") from None
            ptr = llama_cpp.llama_get_logits_ith(self._context, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(self._llm.n_vocab(),))
            return np.array(logits, dtype=np.float32, copy=True), tokens

    def _evaluate(self, tokens: Sequence[int], *, chunk: int | None = None) -> int:
        """Bring the KV cache to exactly ``tokens``, reusing the longest common prefix.

        Returns how many tokens were evaluated. The last token's logits must be fresh for
        sampling: it is evaluated again unless the last evaluation ended exactly there
        (a prefill). Raises :class:`_Cancelled` if cancelled part-way (the cache keeps
        what was finished). With ``chunk``, batches of that size run to their end and the
        cancel is checked between them; without, big batches can be aborted inside.
        """
        if not tokens:
            raise EngineError("nothing to evaluate")
        if len(tokens) > self.n_ctx:
            raise EngineError(f"{len(tokens)} tokens do not fit the context of {self.n_ctx}")
        llm = self._llm
        n = len(tokens)
        cached = llm.input_ids[: llm.n_tokens]
        m = min(len(cached), n)
        wanted = np.asarray(tokens[:m], dtype=cached.dtype)
        differ = np.flatnonzero(cached[:m] != wanted)
        common = int(differ[0]) if differ.size else m
        if common == n and self._logits_at == n:
            llm.n_tokens = n
            return 0
        saved = self._prompt_logits
        if common == n and saved is not None and saved[0] == tuple(tokens):
            llm.n_tokens = n  # the cache holds these tokens; their last logits were kept
            self._logits_row()[:] = saved[1]
            self._logits_at = n
            return 0
        common = min(common, n - 1)
        llm.n_tokens = common
        todo = list(tokens[common:])
        step = min(chunk, llm.n_batch) if chunk else llm.n_batch
        self._progress = 0
        for start in range(0, len(todo), step):
            if self._cancel is not None and self._cancel.is_set():
                raise _Cancelled
            batch = todo[start : start + step]
            self._eval(batch, abortable=chunk is None)
            self._progress += len(batch)
        self._prompt_logits = (tuple(tokens), self._logits_row().copy())
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
        heal: bool = False,
        avoid_markup: bool = False,
        on_piece: PieceCallback | None = None,
    ) -> Completion:
        """Continue ``prompt``; ``on_text`` receives each new piece of text as it is ready.

        Pieces never end inside a UTF-8 character and never contain the start of a stop
        string that has not been decided yet. ``cancel`` (or :meth:`cancel`) stops it.
        An empty prompt starts a new document (GPT-2's ``<|endoftext|>``).

        ``branch`` > 0 starts from the branch-th likeliest first token instead of a
        sampled one: alternatives that are guaranteed to differ, even where a small
        model's distribution is so peaked that sampling would repeat itself.

        ``heal``: the prompt never ends inside a token (see :mod:`app.core.healing`); the
        text continues from the cursor all the same. ``on_piece`` receives each piece with
        the summed log-probability of the tokens so far, the suggestion's confidence.
        ``avoid_markup``: tokens that are whole markup tags are never chosen (Gemma's
        vocabulary has ``<strong>``, ``</em>``...: one token, so one bad draw, away).
        """
        if heal:
            healed = self.healed_tokens(prompt)
            tokens, removed = list(healed.tokens), healed.removed
        else:
            tokens, removed = self._prompt_tokens(prompt), b""
        if not tokens:
            raise EngineError("the prompt has no tokens")
        if branch < 0:
            raise EngineError(f"branch must be 0 or more, got {branch}")
        with self._exclusive(cancel):
            self.check_file()
            banned = self._markup_tokens() if avoid_markup else None
            return self._complete(
                tokens, settings or SamplingSettings(), on_text, branch, removed, on_piece, banned
            )

    def _prompt_tokens(self, prompt: str) -> list[int]:
        tokens = self.tokenize(prompt)
        if self._add_bos:
            return [self._bos, *tokens]
        return tokens or [self._eos]  # GPT-2's document separator starts a new document

    def prefill(
        self,
        prompt: str,
        max_tokens: int,
        *,
        cancel: threading.Event | None = None,
        heal: bool = False,
    ) -> Prefill:
        """Evaluate ``prompt`` now, so a completion of it soon after starts by sampling.

        While the writer types, each keystroke's token or two are evaluated in the pause
        before the suggestion is asked for; the request then costs no evaluation at all.
        ``max_tokens`` must be the completion's: it decides how a long prompt is cut.
        A cancel stops between batches and keeps what was evaluated. ``heal`` must be the
        completion's too: it evaluates the healed prompt.
        """
        tokens = list(self.healed_tokens(prompt).tokens) if heal else self._prompt_tokens(prompt)
        started = time.perf_counter()
        with self._exclusive(cancel):
            self.check_file()
            self._fit_threads()
            tokens = self._window(tokens, max_tokens)
            cancelled = False
            evaluated = 0
            try:
                evaluated = self._evaluate(tokens, chunk=PREFILL_CHUNK)
            except _Cancelled:
                cancelled, evaluated = True, self._progress  # the finished chunks stay
        return Prefill(len(tokens), evaluated, (time.perf_counter() - started) * 1000.0, cancelled)

    def _window(self, tokens: list[int], max_tokens: int) -> list[int]:
        """The prompt tokens a completion of ``max_tokens`` keeps: room left to generate."""
        max_new = min(max_tokens, self.n_ctx - 1)
        keep = self.n_ctx - min(max_new, self.n_ctx // 2)
        return self._tail(tokens, keep) if len(tokens) > keep else tokens

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
            self.check_file()
            return self._complete(list(tokens), settings or SamplingSettings(), on_text, branch)

    def _complete(
        self,
        tokens: list[int],
        settings: SamplingSettings,
        on_text: TextCallback | None,
        branch: int = 0,
        removed: bytes = b"",
        on_piece: PieceCallback | None = None,
        banned: np.ndarray | None = None,
    ) -> Completion:
        """One completion inside the lock: the prompt's window evaluated, then the decode
        loop (:meth:`_generate`); ``run`` keeps what the caller gets back."""
        started = time.perf_counter()
        self._fit_threads()
        window = self._window(tokens, settings.max_tokens)
        max_new = min(settings.max_tokens, self.n_ctx - 1)
        seed = settings.seed if settings.seed is not None else random.randrange(2**32 - 1)
        run = Generation(started, settings.stop, removed, on_text, on_piece)
        sampler = SamplerChain(self._llm, settings, seed)
        try:
            sampler.accept_history(window)
            run.prompt_evaluated(self._evaluate(window))
            self._generate(run, window, sampler, max_new, branch, removed, banned)
        except _Cancelled:
            run.reason = StopReason.CANCELLED
        finally:
            sampler.free()
        return run.completion(
            prompt_tokens=len(window), seed=seed, truncated=len(window) < len(tokens)
        )

    def _generate(
        self,
        run: Generation,
        prompt: list[int],
        sampler: SamplerChain,
        max_new: int,
        branch: int,
        owed: bytes,
        banned: np.ndarray | None,
    ) -> None:
        """The decode loop: up to ``max_new`` tokens after ``prompt`` (in the cache), into
        ``run``. ``owed``: healed bytes the first tokens must write again."""
        history = list(prompt)
        while len(run.tokens) < max_new:
            if self._cancel is not None and self._cancel.is_set():
                raise _Cancelled
            rank = 0 if run.tokens else branch
            token, step = self._next_token(sampler, rank, owed, banned, scored=run.scored)
            if owed:
                owed = owed[len(self._piece(token)) :]
            run.chosen(step)
            if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                run.reason = StopReason.EOS
                return
            history.append(token)
            if run.add(token, step, self._llm.detokenize([token])) or len(run.tokens) == max_new:
                return
            if len(history) > self.n_ctx:  # slide: keep the recent half, re-evaluate
                history = self._tail(history, self.n_ctx // 2)
                run.slides += 1
                self._evaluate(history)
            else:
                self._eval([token])

    def _next_token(
        self,
        sampler: SamplerChain,
        rank: int,
        owed: bytes,
        banned: np.ndarray | None,
        *,
        scored: bool,
    ) -> tuple[int, float]:
        """The next token and its log-probability (0.0 unless ``scored``).

        ``banned`` tokens are never chosen; while ``owed`` (healing) is not written yet,
        only tokens that write it again are. ``rank`` > 0 takes the rank-th likeliest
        instead of sampling. The log-probability is under the model's own distribution,
        renormalised over the tokens the healing allowed.
        """
        if banned is not None and banned.size:
            ban(self._logits_row(), banned)
            self._logits_at = None  # no longer the model's own logits
        allowed = self._constrain(owed) if owed else None
        row = self._logits_row()
        lse = logsumexp(row if allowed is None else row[allowed]) if scored else 0.0
        if rank:
            token = ranked_token(row, rank, allowed)
            sampler.accept(token)
        else:
            token = sampler.sample(self._context)
        return token, float(row[token]) - lse if scored else 0.0

    def _fit_threads(self) -> None:
        if self._other_load is None:
            return
        busy = self._other_load.others_busy()
        want = self.n_threads - 1 if busy else self.n_threads
        if want != self.threads_in_use:
            llama_cpp.llama_set_n_threads(self._context, want, want)
            self.threads_in_use = want

    def _tail(self, tokens: list[int], keep: int) -> list[int]:
        """The last ``keep`` tokens, still led by the BOS where the model needs one."""
        if self._add_bos and tokens and tokens[0] == self._bos:
            return [self._bos, *tokens[-(keep - 1) :]]
        return tokens[-keep:]

    def _logits_row(self) -> np.ndarray:
        """llama.cpp's logits of the last evaluated position: a view, not a copy."""
        ptr = llama_cpp.llama_get_logits_ith(self._context, -1)
        return np.ctypeslib.as_array(ptr, shape=(self._llm.n_vocab(),))

    def _markup_tokens(self) -> np.ndarray:
        """Tokens whose text is a whole markup tag or entity (``<strong>``, ``&amp;``)."""
        if self._markup is None:
            pieces, _index = self.vocabulary()
            self._markup = markup_tokens(pieces)
        return self._markup

    def _piece(self, token: int) -> bytes:
        pieces, _index = self.vocabulary()
        return pieces[token]

    def _constrain(self, owed: bytes) -> np.ndarray | None:
        """Mask llama.cpp's logits to the tokens that write ``owed`` again (in place, so
        its own sampler chain does the rest); the allowed ids, or None if none exist."""
        _pieces, index = self.vocabulary()
        natural = self._llm.tokenize(owed, add_bos=False, special=False)
        allowed = index.allowed(owed, natural[0] if natural else None)
        if allowed.size == 0:  # cannot happen with byte tokens; never sample from nothing
            return None
        keep_only(self._logits_row(), allowed)
        self._logits_at = None  # the buffer no longer holds the model's own logits
        return allowed

    def _eval(self, batch: Sequence[int], *, abortable: bool = True) -> None:
        """Evaluate one batch; big batches can be aborted from inside llama.cpp.

        The abort callback is Python code that llama.cpp calls for every graph node, which
        takes the GIL each time; for the one-token steps of generation the check between
        tokens is enough, so the callback is installed only for big batches.
        """
        abortable = abortable and len(batch) >= ABORTABLE_BATCH
        ctx = self._context
        if abortable:
            llama_cpp.llama_set_abort_callback(ctx, self._abort_cb, None)
        self._logits_at = None
        try:
            self._llm.eval(list(batch))
            self._logits_at = self._llm.n_tokens
        except RuntimeError as exc:
            if self._cancel is not None and self._cancel.is_set():
                raise _Cancelled from None
            raise EngineFault(f"llama.cpp failed to evaluate tokens: {exc}") from None
        finally:
            if abortable:
                llama_cpp.llama_set_abort_callback(ctx, self._no_abort_cb, None)


class _Cancelled(Exception):
    pass
