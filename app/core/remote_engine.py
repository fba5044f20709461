"""A completion backend that talks to an OpenAI-compatible server instead of loading a model.

Why it exists: the in-process :class:`~app.core.engine.Engine` needs the model on this
machine and its CPU (or GPU). A writer may already run a bigger model elsewhere, on a GPU
box on the local network or as a shared service: llama.cpp's ``llama-server``,
llama-cpp-python's ``python -m llama_cpp.server`` and vLLM all answer ``POST
/v1/completions`` with Server-Sent Events. :class:`RemoteEngine` is a client for that API
that implements :class:`~app.core.engine_api.CompletionBackend`, so the GUI worker drives
either one. Three modules, one job each: :mod:`app.core.remote_http` carries the bytes
(HTTP, events, cancellation), :mod:`app.core.openai_protocol` writes the requests and
reads the answers, and this one decides what to ask and keeps the engine's contract:

- **Cancellation.** ``cancel`` (or :meth:`RemoteEngine.cancel`) stops the call promptly
  with ``StopReason.CANCELLED`` and the text shown so far: the transport hangs up, which
  is how the server learns to stop generating. The next call opens a fresh connection.
- **Stop strings** are sent to the server (so it stops generating) *and* enforced here
  on the streamed text: the returned text never contains one, and ``on_text`` never gets
  the start of one that has not been decided yet (as with ``Engine``). A stop string
  found by this client is always STOP.
- **Alternatives (``branch`` > 0).** ``Engine`` starts a branch from the branch-th
  likeliest first token. Here the same is done with two requests: one token with
  ``logprobs`` gives the ranked first tokens, then the continuation is requested from the
  prompt plus the chosen token's text (the server tokenizes it afresh, so where BPE
  merges across that boundary its tokens differ from ``Engine``'s; the tests show equal
  texts). The ranking is the server's unpenalised distribution, like ``Engine``'s, and
  is kept for the next branches of the same prompt. Servers that give no logprobs, or
  fewer than needed (llama-cpp-python's server gives them only with ``logits_all``, its
  default; ``--logits_all False`` makes it refuse them), fall back to the seed
  ``seed + branch * 0x9E3779B9`` at a temperature of at least
  :data:`BRANCH_MIN_TEMPERATURE`; those alternatives are only *likely* to differ.
- **Token counts** use the first tokenizer endpoint that works, found when the engine is
  created, else an estimate (see :mod:`app.core.openai_protocol`).
- **What a server does not give.** No token ids (``Completion.token_ids`` is empty), no
  logits: its :class:`~app.core.engine_api.Capabilities` are all off (no prefill, healing,
  markup ban, confidence or sampler view), and asking for them raises
  :class:`~app.core.engine_api.EngineError`. No GGUF metadata: :attr:`RemoteEngine.info`
  is None and :attr:`RemoteEngine.description` names the model instead.
- **Failures** raise :class:`~app.core.engine_api.EngineError` with a message that names
  the server: refused connections, timeouts (``connect_timeout`` for the connection,
  ``read_timeout`` for the longest silence while waiting or streaming), HTTP errors with
  the server's own message, answers that are not OpenAI's. A stream that ends without a
  finish reason (the connection dropped, or the server failed mid-stream) raises too:
  the pieces already passed to ``on_text`` stay passed, but a torn text is never
  returned as if it were finished.
- **One thread at a time,** like ``Engine``: a second concurrent call raises
  :class:`~app.core.engine_api.EngineBusyError`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from app.core import openai_protocol as openai
from app.core.engine_api import (
    DEFAULT_CONTEXT,
    MIN_CONTEXT,
    Capabilities,
    Completion,
    EngineBusyError,
    EngineError,
    PieceCallback,
    Prefill,
    StopReason,
    TextCallback,
)
from app.core.openai_protocol import EMPTY_PROMPT, Meter, StatusError, estimate_tokens
from app.core.postprocess import StopFilter
from app.core.remote_http import (
    Answer,
    Cancelled,
    ConnectionLost,
    HttpStatusError,
    HttpTransport,
    parse_base_url,
)
from app.core.sampling import SamplingSettings

if TYPE_CHECKING:
    from app.core.gguf_info import ModelInfo

#: Fallback alternatives (no logprobs) sample at least this hot, so they can differ.
BRANCH_MIN_TEMPERATURE = 0.8
#: First tokens asked for at least, so the next branches of a prompt need no new request
#: (5 is the most OpenAI itself gives for completions).
PROBE_LOGPROBS = 5
_SEED_SPACE = 2**32 - 1


@dataclass(frozen=True)
class _Probe:
    """The ranked first tokens of the last prompt a branch was asked for."""

    prompt: str
    asked: int  # how many logprobs were asked for
    ranked: list[str]
    prompt_counts: tuple[int, int]


class RemoteEngine:
    """A client for one model on an OpenAI-compatible completion server.

    Create it, use it and close it on one thread; :meth:`cancel` and :meth:`close` may
    be called from any thread. Creating it checks the server (``GET /v1/models``), so
    a wrong address, a refused connection, a bad API key or a server that is not an
    OpenAI one fails here with a message that names the URL.
    """

    #: A server holds the tokens and the logits: none of the extras (see the module notes).
    capabilities = Capabilities()
    #: The server's threads and GPU layers are its own business.
    n_threads: int = 0
    n_gpu_layers: int = 0
    offloaded_layers: tuple[int, int] = (0, 0)

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        n_ctx: int = DEFAULT_CONTEXT,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        transport: Callable[..., HttpTransport] = HttpTransport,
    ) -> None:
        """``transport``: what carries the requests (the comparison script swaps it)."""
        url = parse_base_url(base_url)
        if isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or n_ctx < MIN_CONTEXT:
            raise EngineError(f"context size must be at least {MIN_CONTEXT} tokens, got {n_ctx}")
        for name, value in (("connect", connect_timeout), ("read", read_timeout)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise EngineError(f"the {name} timeout must be a positive number of seconds")
        if api_key and not (api_key.isascii() and api_key.isprintable() and " " not in api_key):
            raise EngineError("the API key must be printable ASCII without spaces")
        #: The server's address as used (no trailing ``/v1``), for messages.
        self.base_url = url.text
        #: Tokens the client budgets for (prompt plus completion); the server enforces
        #: its own context and may refuse a longer request.
        self.n_ctx: int = n_ctx
        self._keyed = bool(api_key)
        self._http = transport(
            url,
            api_key=api_key or None,
            connect_timeout=float(connect_timeout),
            read_timeout=float(read_timeout),
        )
        self._lock = threading.Lock()  # one call at a time
        self._cancel: threading.Event | None = None
        self._cancel_lock = threading.Lock()
        self._token_method: str | None = None  # "tokenize", "extras" or "estimate"
        self._logprobs: bool | None = None  # does the server give first-token logprobs?
        self._probe: _Probe | None = None
        self.closed = False
        try:
            with self._exclusive(None) as event:
                self.model_id: str = self._choose_model(model, event)
                self._token_method = self._detect_token_method(event)
        except BaseException:
            self._http.close()
            self.closed = True
            raise
        #: One line for the status bar.
        self._description = f"remote: {self.model_id} at {url.netloc}"

    # ------------------------------------------------------------------ basics

    @property
    def info(self) -> ModelInfo | None:
        """No GGUF is read: the model is the server's."""
        return None

    @property
    def description(self) -> str:
        """One line for the status bar: the model and the server."""
        return self._description

    @property
    def token_counting(self) -> str:
        """How :meth:`count_tokens` counts: "tokenize", "extras" or "estimate"."""
        return self._token_method or "estimate"

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the server's tokenizer counts them (no BOS), or an estimate.

        llama-cpp-python's ``/extras/tokenize/count`` counts a BOS for models that add
        one (one more than needed, which keeps budgets safe) and reads special tokens
        such as ``<|endoftext|>`` as one token. Uses the connection, so it is a call like
        any other: one thread at a time.
        """
        self._check_open()
        if not text:
            return 0
        method = self._token_method
        if method is None or method == "estimate":
            return estimate_tokens(text)
        with self._exclusive(None) as event:
            try:
                count = self._count_with(method, text, event)
            except Cancelled:
                raise EngineError("counting tokens was cancelled") from None
        if count is None:
            raise EngineError(f"the server at {self.base_url} sent an unreadable token count")
        return count

    def prefill(
        self,
        prompt: str,
        max_tokens: int,
        *,
        cancel: threading.Event | None = None,
        heal: bool = False,
    ) -> Prefill:
        raise EngineError("a remote server keeps its own cache: there is nothing to prefill")

    def next_token_logits(self, prompt: str) -> NoReturn:
        raise EngineError(
            "the sampler view needs the local engine; a remote server does not expose its logits"
        )

    def detokenize(self, tokens: Sequence[int]) -> NoReturn:
        raise EngineError("a remote server's tokens are not known here")

    def cancel(self) -> None:
        """Stop the running call (if any) now: its connection is shut. Any thread."""
        with self._cancel_lock:
            event = self._cancel
            if event is not None:
                event.set()
        if event is not None:
            self._http.abort()

    def close(self) -> None:
        """Close the connection (idempotent). From another thread it first cancels."""
        self.cancel()
        with self._lock:
            if not self.closed:
                self.closed = True
                self._http.close()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise EngineError("the engine is closed")

    @contextmanager
    def _exclusive(self, cancel: threading.Event | None) -> Iterator[threading.Event]:
        """One call at a time; arm the cancel event and, for a caller's event, a watcher."""
        if not self._lock.acquire(blocking=False):
            raise EngineBusyError(
                "the engine is already running a call on another thread; "
                "one engine serves one thread at a time"
            )
        try:
            self._check_open()
            event = cancel or threading.Event()
            with self._cancel_lock:
                self._cancel = event
            with self._http.call(event, watch=cancel is not None):
                yield event
        finally:
            with self._cancel_lock:
                self._cancel = None
            self._lock.release()

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
        """Continue ``prompt`` on the server; ``on_text`` receives each piece as it arrives.

        As with ``Engine``: pieces never contain a stop string or the undecided start of
        one, ``cancel`` (or :meth:`cancel`) stops the call promptly with
        ``StopReason.CANCELLED`` and the text shown so far, and an empty prompt starts a
        new document (:data:`EMPTY_PROMPT`). ``heal``, ``avoid_markup`` and ``on_piece``
        need the model's logits: asking for them raises :class:`EngineError`. ``branch``
        > 0 starts from the branch-th likeliest first token (see the module notes).

        ``token_ids`` is always empty (the OpenAI stream carries text only). Token counts
        in ``timings`` come from the server's ``usage`` when it reports one (otherwise
        the streamed chunks are counted and ``prompt_tokens`` is 0); times are measured
        here, so they include the network: ``prompt_ms`` runs to the first streamed text.
        The prompt is sent whole (``prompt_truncated`` is False); the server enforces its
        context.
        """
        if heal or avoid_markup or on_piece is not None:
            raise EngineError(
                "healing, the markup ban and confidence scores need the model's logits, "
                "which a remote server does not give"
            )
        if branch < 0:
            raise EngineError(f"branch must be 0 or more, got {branch}")
        settings = settings or SamplingSettings()
        with self._exclusive(cancel) as event:
            return self._complete(prompt, settings, on_text, branch, event)

    def _complete(
        self,
        prompt: str,
        settings: SamplingSettings,
        on_text: TextCallback | None,
        branch: int,
        cancel: threading.Event,
    ) -> Completion:
        meter = Meter()
        seed = settings.seed if settings.seed is not None else random.randrange(_SEED_SPACE)
        out = StopFilter(settings.stop, on_text)
        text_prompt = prompt or EMPTY_PROMPT
        max_tokens = min(settings.max_tokens, self.n_ctx - 1)
        temperature = settings.temperature
        reason: StopReason | None = None
        try:
            _check_cancel(cancel)
            if branch:
                first = self._branch_token(text_prompt, branch, seed, meter, cancel)
                if first is None:
                    seed = (seed + branch * 0x9E3779B9) % _SEED_SPACE
                    temperature = max(temperature, BRANCH_MIN_TEMPERATURE)
                else:
                    meter.probe_tokens = 1
                    if out.feed(first):
                        reason = StopReason.STOP
                    text_prompt += first
                    max_tokens -= 1
                    if reason is None and max_tokens == 0:
                        reason = StopReason.LENGTH
                _check_cancel(cancel)
            if reason is None:
                body = openai.completion_body(
                    self.model_id, text_prompt, settings, seed, max_tokens, temperature
                )
                reason = self._stream(body, out, meter, cancel, bool(settings.stop))
        except Cancelled:
            reason = StopReason.CANCELLED
        # Held text is real text once the server has ended (it cut any stop string itself);
        # a cancelled call keeps only what was shown, as Engine does.
        out.finish(flush_held=reason is not StopReason.CANCELLED)
        return Completion(
            text=out.text,
            token_ids=(),
            stop_reason=reason,
            timings=meter.timings(finished=reason is not StopReason.CANCELLED),
            seed=seed,
            prompt_truncated=False,
        )

    def _stream(
        self,
        body: Mapping[str, Any],
        out: StopFilter,
        meter: Meter,
        cancel: threading.Event,
        has_stops: bool,
    ) -> StopReason:
        what = f"the completion request (POST {openai.COMPLETIONS})"
        with self._request("POST", openai.COMPLETIONS, body, cancel, what, events=True) as answer:
            kind = answer.content_type
            if "text/event-stream" in kind:
                return self._read_events(answer, out, meter, has_stops)
            if "json" not in kind:
                raise EngineError(
                    f"the server at {self.base_url} did not answer the completion with "
                    f"an event stream or JSON (Content-Type: {kind or 'none'}); is it an "
                    "OpenAI-compatible server?"
                )
            # It ignored ``stream``: take the whole answer as one event.
            event = openai.decode_json(answer.read(what), kind, self.base_url, what)
            finish = self._feed(event, out, meter)
            answer.finish()
            return StopReason.STOP if out.stopped else openai.stop_reason(finish, has_stops)

    def _read_events(
        self, answer: Answer, out: StopFilter, meter: Meter, has_stops: bool
    ) -> StopReason:
        """Read the events up to ``data: [DONE]``; returns how the text ended."""
        finish: str | None = None
        try:
            for payload in answer.events():
                if payload.strip() == openai.DONE:
                    answer.finish()
                    if finish is None:
                        raise EngineError(
                            f"the server at {self.base_url} ended the stream without a "
                            "finish reason (llama-cpp-python's server does this when "
                            "another client's request interrupts it)"
                        )
                    return openai.stop_reason(finish, has_stops)
                finish = self._feed(openai.parse_event(payload, self.base_url), out, meter) or (
                    finish
                )
                if out.stopped:
                    return StopReason.STOP  # hanging up: the server may still be generating
        except ConnectionLost as exc:
            raise EngineError(
                f"the connection to {self.base_url} was lost mid-stream after "
                f"{meter.pieces} piece(s) ({exc.why})"
            ) from None
        if finish is not None:  # it did finish; only the [DONE] line is missing
            return openai.stop_reason(finish, has_stops)
        raise EngineError(
            f"the connection to {self.base_url} was lost mid-stream: the stream ended after "
            f"{meter.pieces} piece(s) without a finish reason (the server's log may say why)"
        )

    def _feed(self, event: Any, out: StopFilter, meter: Meter) -> str | None:
        """Pass one event's text on; returns its finish_reason (None while running)."""
        chunk = openai.read_chunk(event, meter, self.base_url)
        if chunk.text:
            meter.piece()
            out.feed(chunk.text)
        return chunk.finish

    # ------------------------------------------------------------------ branches

    def _branch_token(
        self, prompt: str, branch: int, seed: int, meter: Meter, cancel: threading.Event
    ) -> str | None:
        """The branch-th likeliest first token's text, or None (no usable logprobs).

        One request ranks :data:`PROBE_LOGPROBS` tokens (or more for a high branch); the
        ranking is kept for the next branches of the same prompt, which the worker asks
        for one after another.
        """
        if self._logprobs is False:
            return None
        probe = self._probe
        if probe is None or probe.prompt != prompt or probe.asked < branch + 1:
            probe = self._ask_first_tokens(prompt, max(branch + 1, PROBE_LOGPROBS), seed, cancel)
            if probe is None:
                return None
        meter.probe_prompt = probe.prompt_counts
        if meter.first_piece is None:
            meter.first_piece = time.perf_counter()
        return probe.ranked[branch] if branch < len(probe.ranked) else None

    def _ask_first_tokens(
        self, prompt: str, count: int, seed: int, cancel: threading.Event
    ) -> _Probe | None:
        body = openai.first_tokens_body(self.model_id, prompt, count, seed)
        what = f"the first-token request (POST {openai.COMPLETIONS} with logprobs)"
        try:
            answer = self._json_call("POST", openai.COMPLETIONS, body, cancel, what)
        except StatusError as exc:
            if exc.status in (401, 403):
                raise
            if "logprob" in exc.detail.lower():
                self._logprobs = False  # e.g. llama-cpp-python without logits_all
            return None
        ranked = openai.ranked_first_tokens(answer)
        if not ranked:
            self._logprobs = False  # the server ignores the field
            return None
        self._logprobs = True
        counts = Meter()
        counts.read_counts(answer if isinstance(answer, Mapping) else {})
        self._probe = _Probe(prompt, count, ranked, counts.prompt_counts())
        return self._probe

    # ------------------------------------------------------------------ the server

    def _choose_model(self, model: str | None, cancel: threading.Event) -> str:
        """``model`` if the server serves it (None: the first it lists)."""
        what = f"listing the models (GET {openai.MODELS})"
        try:
            answer = self._json_call("GET", openai.MODELS, None, cancel, what)
        except StatusError as exc:
            if exc.status == 404:
                raise EngineError(
                    f"{self.base_url} is not an OpenAI-compatible server: GET /v1/models "
                    "answered 404 Not Found (check the address and port)"
                ) from None
            raise
        served = openai.model_ids(answer, self.base_url)
        if model is None:
            if not served:
                raise EngineError(f"the server at {self.base_url} lists no models")
            return served[0]
        if served and model not in served:
            raise EngineError(
                f"the server at {self.base_url} does not serve model {model!r}; "
                f"it serves: {', '.join(served)}"
            )
        return model

    def _detect_token_method(self, cancel: threading.Event) -> str:
        """The first tokenizer endpoint that answers a count, else "estimate"."""
        for method in openai.TOKEN_METHODS:
            try:
                if self._count_with(method, "Hello world", cancel) is not None:
                    return method
            except StatusError as exc:
                if exc.status in (401, 403):  # llama-server lists models without a key
                    raise
            except EngineError:
                pass  # e.g. a web page for any unknown path: not a tokenizer
        return "estimate"

    def _count_with(self, method: str, text: str, cancel: threading.Event) -> int | None:
        path, body = openai.count_request(method, self.model_id, text)
        answer = self._json_call("POST", path, body, cancel, f"counting tokens (POST {path})")
        return openai.read_count(answer)

    def _json_call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        cancel: threading.Event,
        what: str,
    ) -> Any:
        with self._request(method, path, payload, cancel, what) as answer:
            raw = answer.read(what)
            answer.finish()
        return openai.decode_json(raw, answer.content_type, self.base_url, what)

    @contextmanager
    def _request(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        cancel: threading.Event,
        what: str,
        *,
        events: bool = False,
    ) -> Iterator[Answer]:
        """The transport's answer; an HTTP error becomes the server's message."""
        try:
            with self._http.stream(method, path, payload, cancel, what, events=events) as answer:
                yield answer
        except HttpStatusError as exc:
            raise openai.status_error(
                exc.status, str(exc), exc.body, exc.content_type, self.base_url, what,
                keyed=self._keyed,
            ) from None  # fmt: skip


def _check_cancel(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise Cancelled
