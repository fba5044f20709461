"""A completion backend that talks to an OpenAI-compatible server instead of loading a model.

Why it exists: the in-process :class:`~app.core.engine.Engine` needs the model on this
machine and its CPU (or GPU). A writer may already run a bigger model elsewhere, on a GPU
box on the local network or as a shared service: llama.cpp's ``llama-server``,
llama-cpp-python's ``python -m llama_cpp.server`` and vLLM all answer ``POST
/v1/completions`` with Server-Sent Events. :class:`RemoteEngine` is a client for that API
with the request / stream / cancel contract of ``Engine``, so the GUI worker can drive
either one.

How it is shaped, and why:

- **Standard library only.** ``http.client`` over one keep-alive connection; no new
  dependency, and full control of the socket for cancellation.
- **Cancellation.** A newer keystroke makes the running request worthless, and the server
  must stop generating for it too. The cancel event is checked between streamed events;
  a blocking read is interrupted by shutting the socket down from another thread:
  :meth:`RemoteEngine.cancel` does it itself, and for a caller's event a small watcher
  thread waits on the event (``Event.wait`` wakes as soon as it is set; measured under
  1 ms to the call's return). The closed connection is how the server learns that nobody
  listens: llama-server and llama-cpp-python check for it between tokens. The next call
  opens a fresh connection.
- **Stop strings** are sent to the server (so it stops generating) *and* enforced here
  on the streamed text: the returned text never contains one, and ``on_text`` never gets
  the start of one that has not been decided yet (as with ``Engine``).
- **Stop reasons.** ``finish_reason: "length"`` is LENGTH. ``"stop"`` means EOS *or* a
  matched stop string, and the OpenAI stream does not say which (the server also
  withholds the stop string, so the client never sees it). The choice: STOP when stop
  strings were requested (in a writing assistant they end text far more often than the
  model's end-of-text does), EOS when none were. A stop string found by this client is
  always STOP.
- **Alternatives (``branch`` > 0).** ``Engine`` starts a branch from the branch-th
  likeliest first token. Here the same is done with two requests: one token with
  ``logprobs`` gives the ranked first tokens, then the continuation is requested from the
  prompt plus the chosen token's text (the server tokenizes it afresh, so where BPE
  merges across that boundary its tokens differ from ``Engine``'s; the tests show equal
  texts). Servers that give no logprobs (llama-cpp-python's server gives them only with
  ``logits_all``, its default; ``--logits_all False`` makes it refuse them) fall back to
  a different seed per branch at a temperature of at least
  :data:`BRANCH_MIN_TEMPERATURE`; those alternatives are only *likely* to differ. See
  :meth:`RemoteEngine.complete`.
- **Token counts.** The OpenAI API has no tokenizer endpoint. llama-server (and vLLM)
  answer ``POST /tokenize``, llama-cpp-python ``POST /extras/tokenize/count``; the first
  that works is found when the engine is created and then used for every count.
  Otherwise counts are estimated as UTF-8 bytes / 3, rounded up, which is more than
  GPT-2 uses for ordinary prose (about 4 bytes a token), so prompt budgets still hold.
- **What a server does not give.** No token ids (``Completion.token_ids`` is empty), no
  logits (no sampler view), no GGUF metadata: :attr:`RemoteEngine.description` and
  :attr:`RemoteEngine.model_id` describe the model instead of a faked ``ModelInfo``.
- **Failures** raise :class:`~app.core.engine.EngineError` with a message that names the
  server: refused connections, timeouts (``connect_timeout`` for the connection,
  ``read_timeout`` for the longest silence while waiting or streaming), HTTP errors with
  the server's own message, answers that are not OpenAI's. A stream that ends without a
  finish reason (the connection dropped, or the server failed mid-stream) raises too:
  the pieces already passed to ``on_text`` stay passed, but a torn text is never
  returned as if it were finished. A kept-alive connection that the server closed while
  idle is reopened once, transparently.
- **One thread at a time,** like ``Engine``: a second concurrent call raises
  :class:`~app.core.engine.EngineBusyError`.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from app.core.engine import (
    DEFAULT_CONTEXT,
    MIN_CONTEXT,
    Completion,
    EngineBusyError,
    EngineError,
    StopReason,
    TextCallback,
    Timings,
)
from app.core.postprocess import StopFilter
from app.core.sampling import SamplingSettings

#: Sent instead of an empty prompt: GPT-2's document separator starts a new document,
#: as ``Engine`` does with its token (llama-cpp-python's server fails on an empty prompt).
#: All three servers parse special tokens written in the prompt text.
EMPTY_PROMPT = "<|endoftext|>"
#: The watcher thread wakes at once when the caller's cancel event is set; this is how
#: often it checks whether its call has ended (so it outlives the call by at most this).
CANCEL_POLL_S = 0.02
#: Fallback alternatives (no logprobs) sample at least this hot, so they can differ.
BRANCH_MIN_TEMPERATURE = 0.8
#: First tokens asked for at least, so the next branches of a prompt need no new request
#: (5 is the most OpenAI itself gives for completions).
PROBE_LOGPROBS = 5
#: The token count estimate when the server has no tokenizer endpoint.
ESTIMATE_BYTES_PER_TOKEN = 3
#: After ``data: [DONE]`` the rest of the response should follow at once; if it does
#: not within this time the connection is dropped rather than kept for reuse.
_DRAIN_TIMEOUT_S = 0.5
_MAX_LINE = 1 << 20
_MAX_BODY = 16 << 20
_MAX_ERROR_BODY = 1 << 16
_SEED_SPACE = 2**32 - 1


class _Cancelled(Exception):
    pass


class _StatusError(EngineError):
    """The server answered an HTTP error; the message is already clear."""

    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class _Probe:
    """The ranked first tokens of the last prompt a branch was asked for."""

    prompt: str
    asked: int  # how many logprobs were asked for
    ranked: list[str]
    prompt_counts: tuple[int, int]


@dataclass(frozen=True)
class _Url:
    scheme: str
    host: str
    port: int
    prefix: str  # path in front of /v1/..., without a trailing slash

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def text(self) -> str:
        """The URL as written, without the default port."""
        default = self.port == (443 if self.scheme == "https" else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host if default else self.netloc}{self.prefix}"


def parse_base_url(url: str) -> _Url:
    """Check a server address; ``http://host:8080``, ``.../`` and ``.../v1`` all work."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise EngineError("the server URL is empty; write it as http://host:port")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if "://" not in text:
        raise EngineError(
            f"server URL {url!r} has no scheme: write it as http://{text} (or https://)"
        )
    if scheme not in ("http", "https"):
        raise EngineError(
            f"server URL {url!r} must start with http:// or https://, not {parts.scheme}://"
        )
    if parts.username is not None or parts.password is not None:
        raise EngineError(
            f"server URL {url!r} contains a user name or password; pass the API key "
            "separately instead"
        )
    host = parts.hostname
    if not host:
        raise EngineError(f"server URL {url!r} has no host name")
    try:
        port = parts.port
    except ValueError:
        raise EngineError(f"server URL {url!r} has an invalid port number") from None
    if parts.query or parts.fragment:
        raise EngineError(f"server URL {url!r} must not have a query (?...) or fragment (#...)")
    prefix = parts.path.rstrip("/")
    if prefix.endswith("/v1"):
        prefix = prefix[: -len("/v1")]
    default_port = 443 if scheme == "https" else 80
    return _Url(scheme, host, port or default_port, prefix.rstrip("/"))


class _Meter:
    """Client-side clock and the token counts the server reports."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_piece: float | None = None
        self.pieces = 0  # streamed chunks that carried text
        # OpenAI's ``usage`` (llama-server, vLLM; llama-cpp-python only when not streaming)
        self.usage_prompt: int | None = None
        self.usage_completion: int | None = None
        # llama-server's ``timings``, repeated in its chunks: the latest one counts
        self.prompt_n: int | None = None  # prompt tokens evaluated (not cached)
        self.cache_n = 0
        self.predicted_n: int | None = None
        self.probe_tokens = 0  # a branch's first token, generated by the probe
        self.probe_prompt: tuple[int, int] | None = None  # the probe's prompt counts

    def piece(self) -> None:
        if self.first_piece is None:
            self.first_piece = time.perf_counter()
        self.pieces += 1

    def read_counts(self, event: Mapping[str, Any]) -> None:
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            self.usage_prompt = _int_or_none(usage.get("prompt_tokens"), self.usage_prompt)
            self.usage_completion = _int_or_none(
                usage.get("completion_tokens"), self.usage_completion
            )
        timings = event.get("timings")
        if isinstance(timings, Mapping):
            self.prompt_n = _int_or_none(timings.get("prompt_n"), self.prompt_n)
            self.cache_n = _int_or_none(timings.get("cache_n"), self.cache_n) or 0
            self.predicted_n = _int_or_none(timings.get("predicted_n"), self.predicted_n)

    def prompt_counts(self) -> tuple[int, int]:
        """(prompt tokens, of those evaluated), 0 where the server does not say."""
        if self.probe_prompt is not None:  # a branch: the prompt is the probe's
            return self.probe_prompt
        prompt = self.usage_prompt
        if prompt is None and self.prompt_n is not None:
            prompt = self.prompt_n + self.cache_n
        prompt = prompt or 0
        evaluated = self.prompt_n if self.prompt_n is not None else prompt
        return prompt, min(evaluated, prompt) if prompt else evaluated

    def timings(self, *, finished: bool) -> Timings:
        """``finished``: the server's own counts cover the whole text (not cancelled)."""
        ended = time.perf_counter()
        generated = self.pieces
        if finished:
            for reported in (self.usage_completion, self.predicted_n):
                if reported is not None:
                    generated = reported
                    break
        prompt, evaluated = self.prompt_counts()
        first = self.first_piece
        return Timings(
            prompt_tokens=prompt,
            prompt_tokens_evaluated=evaluated,
            prompt_ms=(first - self.started) * 1000.0 if first is not None else 0.0,
            generated_tokens=generated + self.probe_tokens,
            generation_ms=(ended - first) * 1000.0 if first is not None else 0.0,
            first_token_ms=(first - self.started) * 1000.0 if first is not None else None,
        )


def _int_or_none(value: Any, default: int | None = None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def estimate_tokens(text: str) -> int:
    """The conservative count used when the server cannot tokenize: bytes / 3, up."""
    return math.ceil(len(text.encode("utf-8")) / ESTIMATE_BYTES_PER_TOKEN)


class RemoteEngine:
    """A client for one model on an OpenAI-compatible completion server.

    Create it, use it and close it on one thread; :meth:`cancel` and :meth:`close` may
    be called from any thread. Creating it checks the server (``GET /v1/models``), so
    a wrong address, a refused connection, a bad API key or a server that is not an
    OpenAI one fails here with a message that names the URL.
    """

    #: The server's threads and GPU layers are its own business.
    n_threads: int = 0
    n_gpu_layers: int = 0

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        n_ctx: int = DEFAULT_CONTEXT,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
    ) -> None:
        self._url = parse_base_url(base_url)
        #: The server's address as used (no trailing ``/v1``), for messages.
        self.base_url = self._url.text
        if isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or n_ctx < MIN_CONTEXT:
            raise EngineError(f"context size must be at least {MIN_CONTEXT} tokens, got {n_ctx}")
        for name, value in (("connect", connect_timeout), ("read", read_timeout)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise EngineError(f"the {name} timeout must be a positive number of seconds")
        #: Tokens the client budgets for (prompt plus completion); the server enforces
        #: its own context and may refuse a longer request.
        self.n_ctx: int = n_ctx
        if api_key and not (api_key.isascii() and api_key.isprintable() and " " not in api_key):
            raise EngineError("the API key must be printable ASCII without spaces")
        self._api_key = api_key or None
        self._connect_timeout = float(connect_timeout)
        self._read_timeout = float(read_timeout)
        self._lock = threading.Lock()  # one call at a time
        self._cancel: threading.Event | None = None
        self._cancel_lock = threading.Lock()
        # Guards the connection and the running call's token against the cancel paths.
        self._io_lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._sock: socket.socket | None = None
        self._call: threading.Event | None = None  # set when the running call ends
        self._token_method: str | None = None  # "tokenize", "extras" or "estimate"
        self._logprobs: bool | None = None  # does the server give first-token logprobs?
        self._probe: _Probe | None = None
        self.closed = False
        try:
            with self._exclusive(None) as event:
                served = self._list_models(event)
                if model is None:
                    if not served:
                        raise EngineError(f"the server at {self.base_url} lists no models")
                    model = served[0]
                elif served and model not in served:
                    raise EngineError(
                        f"the server at {self.base_url} does not serve model {model!r}; "
                        f"it serves: {', '.join(served)}"
                    )
                self.model_id: str = model
                self._token_method = self._detect_token_method(event)
        except BaseException:
            self._drop_connection()
            self.closed = True
            raise
        #: One line for the status bar.
        self.description: str = f"remote: {self.model_id} at {self._url.netloc}"

    # ------------------------------------------------------------------ basics

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
            except _Cancelled:
                raise EngineError("counting tokens was cancelled") from None
        if count is None:
            raise EngineError(f"the server at {self.base_url} sent an unreadable token count")
        return count

    def next_token_logits(self, prompt: str) -> NoReturn:
        raise EngineError(
            "the sampler view needs the local engine; a remote server does not expose its logits"
        )

    def cancel(self) -> None:
        """Stop the running call (if any) now: its connection is shut. Any thread."""
        with self._cancel_lock:
            event = self._cancel
            if event is not None:
                event.set()
        if event is not None:
            self._abort_io(None)

    def close(self) -> None:
        """Close the connection (idempotent). From another thread it first cancels."""
        self.cancel()
        with self._lock:
            if not self.closed:
                self.closed = True
                self._drop_connection()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise EngineError("the engine is closed")

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
        """Continue ``prompt`` on the server; ``on_text`` receives each piece as it arrives.

        As with ``Engine``: pieces never contain a stop string or the undecided start of
        one, ``cancel`` (or :meth:`cancel`) stops the call promptly with
        ``StopReason.CANCELLED`` and the text shown so far, and an empty prompt starts a
        new document (:data:`EMPTY_PROMPT`).

        ``branch`` > 0 starts from the branch-th likeliest first token, asked for with a
        one-token request with ``logprobs`` (ranked on the server's unpenalised
        distribution, like ``Engine``); the continuation is then requested for the prompt
        plus that token's text, which the server tokenizes afresh. Where the server gives
        no logprobs, or fewer than needed, the branch instead samples with seed
        ``seed + branch * 0x9E3779B9`` at a temperature of at least
        :data:`BRANCH_MIN_TEMPERATURE`: then it differs from the main suggestion only
        with high probability, not certainty.

        ``token_ids`` is always empty (the OpenAI stream carries text only). Token counts
        in ``timings`` come from the server's ``usage`` when it reports one (otherwise
        the streamed chunks are counted and ``prompt_tokens`` is 0); times are measured
        here, so they include the network: ``prompt_ms`` runs to the first streamed text.
        The prompt is sent whole (``prompt_truncated`` is False); the server enforces its
        context.
        """
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
        meter = _Meter()
        seed = settings.seed if settings.seed is not None else random.randrange(_SEED_SPACE)
        out = StopFilter(settings.stop, on_text)
        text_prompt = prompt or EMPTY_PROMPT
        max_tokens = min(settings.max_tokens, self.n_ctx - 1)
        temperature = settings.temperature
        reason: StopReason | None = None
        try:
            self._check_cancel(cancel)
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
                self._check_cancel(cancel)
            if reason is None:
                body = self._completion_body(text_prompt, settings, seed, max_tokens, temperature)
                reason = self._stream(body, out, meter, cancel, bool(settings.stop))
        except _Cancelled:
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

    def _completion_body(
        self,
        prompt: str,
        s: SamplingSettings,
        seed: int,
        max_tokens: int,
        temperature: float,
    ) -> dict[str, Any]:
        """The request: OpenAI's fields plus llama.cpp's sampler knobs.

        ``top_k``, ``min_p`` and ``repeat_penalty`` are read by llama-server,
        llama-cpp-python and (``top_k``, ``min_p``) vLLM. ``typical_p`` and
        ``repeat_last_n`` only by llama-server; llama-cpp-python's server ignores them
        (its penalty window is its ``--last_n_tokens_size``, 64 by default like ours).
        Servers ignore fields they do not know.
        """
        body: dict[str, Any] = {
            "model": self.model_id,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_k": s.top_k,
            "top_p": s.top_p,
            "min_p": s.min_p,
            "typical_p": s.typical_p,
            "repeat_penalty": s.repeat_penalty,
            "repeat_last_n": s.repeat_last_n,
            "presence_penalty": s.presence_penalty,
            "frequency_penalty": s.frequency_penalty,
            "seed": seed,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if s.stop:
            body["stop"] = list(s.stop)
        return body

    def _stream(
        self,
        body: Mapping[str, Any],
        out: StopFilter,
        meter: _Meter,
        cancel: threading.Event,
        has_stops: bool,
    ) -> StopReason:
        what = "the completion request (POST /v1/completions)"
        resp = self._open("POST", "/v1/completions", body, cancel, what, stream=True)
        try:
            self._check_status(resp, what)
            kind = (resp.getheader("Content-Type") or "").lower()
            if "text/event-stream" in kind:
                return self._read_events(resp, out, meter, cancel, has_stops)
            if "json" not in kind:
                raise EngineError(
                    f"the server at {self.base_url} did not answer the completion with "
                    f"an event stream or JSON (Content-Type: {kind or 'none'}); is it an "
                    "OpenAI-compatible server?"
                )
            # It ignored ``stream``: take the whole answer as one event.
            finish = self._event(self._read_json(resp, cancel, what), out, meter)
            self._finish_response(resp)
            return StopReason.STOP if out.stopped else _stop_reason(finish, has_stops)
        except BaseException:
            self._drop_connection(resp)
            raise

    def _read_events(
        self,
        resp: http.client.HTTPResponse,
        out: StopFilter,
        meter: _Meter,
        cancel: threading.Event,
        has_stops: bool,
    ) -> StopReason:
        """Read Server-Sent Events up to ``data: [DONE]``; returns how the text ended."""
        finish: str | None = None
        data: list[str] = []
        while True:
            self._check_cancel(cancel)
            line = self._read_line(resp, cancel, meter)
            ended = not line  # the end of the body, with or without [DONE]
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not ended:
                if text.startswith("data:"):
                    data.append(text[5:].removeprefix(" "))
                    continue
                if text or not data:
                    continue  # a comment (": ping"), an "event:" or "id:" field, or blank
            if data:  # a blank line (or the end) completes the event
                payload = "\n".join(data)
                data = []
                if payload.strip() == "[DONE]":
                    self._finish_response(resp)
                    if finish is None:
                        raise EngineError(
                            f"the server at {self.base_url} ended the stream without a "
                            "finish reason (llama-cpp-python's server does this when "
                            "another client's request interrupts it)"
                        )
                    return _stop_reason(finish, has_stops)
                event = _parse_json(payload, self.base_url)
                finish = self._event(event, out, meter) or finish
                if out.stopped:
                    self._drop_connection(resp)  # the server may still be generating
                    return StopReason.STOP
            if ended:
                break
        self._drop_connection(resp)
        self._check_cancel(cancel)
        if finish is not None:  # it did finish; only the [DONE] line is missing
            return _stop_reason(finish, has_stops)
        raise EngineError(
            f"the connection to {self.base_url} was lost mid-stream: the stream ended after "
            f"{meter.pieces} piece(s) without a finish reason (the server's log may say why)"
        )

    def _event(self, event: Any, out: StopFilter, meter: _Meter) -> str | None:
        """Handle one streamed event; returns its finish_reason (None while running)."""
        if not isinstance(event, Mapping):
            raise EngineError(f"the server at {self.base_url} sent an event that is not an object")
        if event.get("error"):
            raise EngineError(
                f"the server at {self.base_url} reported an error mid-stream: "
                f"{_error_detail(event)}"
            )
        meter.read_counts(event)
        choices = event.get("choices")
        if not isinstance(choices, list) or not choices:
            return None  # a usage-only event
        choice = choices[0]
        if not isinstance(choice, Mapping):
            return None
        piece = choice.get("text")
        if isinstance(piece, str) and piece:
            meter.piece()
            out.feed(piece)
        finish = choice.get("finish_reason")
        return finish if isinstance(finish, str) and finish else None

    # ------------------------------------------------------------------ branches

    def _branch_token(
        self, prompt: str, branch: int, seed: int, meter: _Meter, cancel: threading.Event
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
        body = {
            "model": self.model_id,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": count,
            "seed": seed,
            "stream": False,
        }
        what = "the first-token request (POST /v1/completions with logprobs)"
        try:
            answer = self._json_call("POST", "/v1/completions", body, cancel, what)
        except _StatusError as exc:
            if exc.status in (401, 403):
                raise
            if "logprob" in exc.detail.lower():
                self._logprobs = False  # e.g. llama-cpp-python without logits_all
            return None
        ranked = _ranked_first_tokens(answer)
        if not ranked:
            self._logprobs = False  # the server ignores the field
            return None
        self._logprobs = True
        counts = _Meter()
        counts.read_counts(answer if isinstance(answer, Mapping) else {})
        self._probe = _Probe(prompt, count, ranked, counts.prompt_counts())
        return self._probe

    # ------------------------------------------------------------------ token counts

    def _detect_token_method(self, cancel: threading.Event) -> str:
        """The first tokenizer endpoint that answers a count, else "estimate"."""
        for method in ("tokenize", "extras"):
            try:
                if self._count_with(method, "Hello world", cancel) is not None:
                    return method
            except _StatusError as exc:
                if exc.status in (401, 403):  # llama-server lists models without a key
                    raise
            except EngineError:
                pass  # e.g. a web page for any unknown path: not a tokenizer
        return "estimate"

    def _count_with(self, method: str, text: str, cancel: threading.Event) -> int | None:
        if method == "tokenize":
            # llama-server reads "content"/"add_special", vLLM "prompt"/"add_special_tokens".
            body: dict[str, Any] = {
                "content": text,
                "prompt": text,
                "model": self.model_id,
                "add_special": False,
                "add_special_tokens": False,
            }
            path = "/tokenize"
        else:
            body = {"input": text, "model": self.model_id}
            path = "/extras/tokenize/count"
        answer = self._json_call("POST", path, body, cancel, f"counting tokens (POST {path})")
        if isinstance(answer, Mapping):
            count = _int_or_none(answer.get("count"))
            if count is not None:
                return count
            tokens = answer.get("tokens")
            if isinstance(tokens, list):
                return len(tokens)
        return None

    # ------------------------------------------------------------------ models

    def _list_models(self, cancel: threading.Event) -> list[str]:
        what = "listing the models (GET /v1/models)"
        try:
            answer = self._json_call("GET", "/v1/models", None, cancel, what)
        except _StatusError as exc:
            if exc.status == 404:
                raise EngineError(
                    f"{self.base_url} is not an OpenAI-compatible server: GET /v1/models "
                    "answered 404 Not Found (check the address and port)"
                ) from None
            raise
        data = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(data, list):
            raise EngineError(
                f"{self.base_url} is not an OpenAI-compatible server: GET /v1/models "
                "answered JSON without a model list"
            )
        return [str(m["id"]) for m in data if isinstance(m, Mapping) and m.get("id")]

    # ------------------------------------------------------------------ HTTP

    @contextmanager
    def _exclusive(self, cancel: threading.Event | None) -> Iterator[threading.Event]:
        """One call at a time; arm the cancel event and, for a caller's event, a watcher."""
        if not self._lock.acquire(blocking=False):
            raise EngineBusyError(
                "the engine is already running a call on another thread; "
                "one engine serves one thread at a time"
            )
        call = threading.Event()
        try:
            self._check_open()
            event = cancel or threading.Event()
            with self._cancel_lock:
                self._cancel = event
            with self._io_lock:
                self._call = call
            if cancel is not None:
                threading.Thread(
                    target=self._watch, args=(cancel, call), name="ghostpen-remote-cancel",
                    daemon=True,
                ).start()  # fmt: skip
            yield event
        finally:
            with self._io_lock:
                call.set()
                self._call = None
            with self._cancel_lock:
                self._cancel = None
            self._lock.release()

    def _watch(self, cancel: threading.Event, call: threading.Event) -> None:
        """Shut the running call's connection when the caller's event is set."""
        while not call.is_set():
            if cancel.wait(CANCEL_POLL_S):
                self._abort_io(call)
                return

    def _abort_io(self, call: threading.Event | None) -> None:
        """Interrupt a blocking send or read of the running call (no-op between calls)."""
        with self._io_lock:
            running = self._call
            if running is None or running.is_set() or (call is not None and call is not running):
                return
            sock = self._sock
            if sock is not None:
                # The plain socket's shutdown (also under TLS) wakes a blocked recv.
                with suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _check_cancel(self, cancel: threading.Event) -> None:
        if cancel.is_set():
            raise _Cancelled

    def _connection(self, cancel: threading.Event) -> tuple[http.client.HTTPConnection, bool]:
        """The kept-alive connection, or a new one; also says whether it was reused."""
        with self._io_lock:
            conn = self._conn
        if conn is not None and conn.sock is not None:
            return conn, True
        self._drop_connection()
        url = self._url
        if url.scheme == "https":
            conn = http.client.HTTPSConnection(
                url.host, url.port, timeout=self._connect_timeout,
                context=ssl.create_default_context(),
            )  # fmt: skip
        else:
            conn = http.client.HTTPConnection(url.host, url.port, timeout=self._connect_timeout)
        try:
            conn.connect()
        except ssl.SSLCertVerificationError as exc:
            raise EngineError(
                f"cannot connect to {self.base_url}: its TLS certificate could not be "
                f"verified ({exc.verify_message})"
            ) from None
        except ssl.SSLError as exc:
            raise EngineError(f"cannot connect to {self.base_url}: TLS failed ({exc})") from None
        except socket.gaierror:
            raise EngineError(
                f"cannot connect to {self.base_url}: unknown host {url.host!r}"
            ) from None
        except ConnectionRefusedError:
            raise EngineError(
                f"cannot connect to {self.base_url}: connection refused (is the server "
                "running, and on this port?)"
            ) from None
        except TimeoutError:
            raise EngineError(
                f"cannot connect to {self.base_url}: no answer within "
                f"{self._connect_timeout:g} s (connect timeout)"
            ) from None
        except OSError as exc:
            raise EngineError(f"cannot connect to {self.base_url}: {exc}") from None
        sock = conn.sock
        assert sock is not None
        sock.settimeout(self._read_timeout)
        with self._io_lock:
            self._conn, self._sock = conn, sock
        if cancel.is_set():
            self._drop_connection()
            raise _Cancelled
        return conn, False

    def _drop_connection(self, resp: http.client.HTTPResponse | None = None) -> None:
        """Hang up: the server sees the connection end at once, even mid-stream."""
        with self._io_lock:
            conn, self._conn = self._conn, None
            sock, self._sock = self._sock, None
        if sock is not None:
            # A response may hold the socket's file open after close(): shut it first.
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            sock.close()
        if conn is not None:
            conn.close()
        if resp is not None:
            resp.close()

    def _headers(self, stream: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": "ghostpen",
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _open(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        cancel: threading.Event,
        what: str,
        *,
        stream: bool = False,
    ) -> http.client.HTTPResponse:
        """Send a request and read the response's head (retries a stale kept-alive once)."""
        body = json.dumps(payload).encode("utf-8") if payload is not None else None
        headers = self._headers(stream)
        for attempt in (1, 2):
            self._check_cancel(cancel)
            conn, reused = self._connection(cancel)
            try:
                conn.request(method, self._url.prefix + path, body=body, headers=headers)
                return conn.getresponse()
            except TimeoutError:
                self._drop_connection()
                self._check_cancel(cancel)
                raise EngineError(self._timeout_message(what)) from None
            except (ConnectionError, http.client.HTTPException, OSError, ValueError) as exc:
                self._drop_connection()
                self._check_cancel(cancel)
                if reused and attempt == 1 and isinstance(exc, ConnectionError):
                    continue  # the server closed the idle connection: reconnect once
                if isinstance(exc, http.client.BadStatusLine) and not isinstance(
                    exc, http.client.RemoteDisconnected
                ):
                    raise EngineError(
                        f"{self.base_url} is not an HTTP server (it answered {what} with "
                        "something that is not HTTP)"
                    ) from None
                raise EngineError(
                    f"{what} failed: the connection to {self.base_url} was lost ({_why(exc)})"
                ) from None
        raise AssertionError("unreachable")

    def _timeout_message(self, what: str) -> str:
        return (
            f"{what} failed: the server at {self.base_url} sent nothing for "
            f"{self._read_timeout:g} s (read timeout)"
        )

    def _check_status(self, resp: http.client.HTTPResponse, what: str) -> None:
        if 200 <= resp.status < 300:
            return
        try:
            raw = resp.read(_MAX_ERROR_BODY)
        except (OSError, http.client.HTTPException, ValueError):
            raw = b""
        self._drop_connection(resp)
        detail = _error_text(raw, resp.getheader("Content-Type") or "")
        status = f"HTTP {resp.status} {resp.reason}".strip()
        if resp.status in (401, 403):
            problem = "rejected the API key" if self._api_key else "needs an API key"
            raise _StatusError(
                f"the server at {self.base_url} {problem} ({status}: {detail})",
                resp.status,
                detail,
            )
        raise _StatusError(
            f"{what} failed: the server at {self.base_url} answered {status}: {detail}",
            resp.status,
            detail,
        )

    def _json_call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        cancel: threading.Event,
        what: str,
    ) -> Any:
        resp = self._open(method, path, payload, cancel, what)
        try:
            self._check_status(resp, what)
            answer = self._read_json(resp, cancel, what)
        except BaseException:
            self._drop_connection(resp)
            raise
        self._finish_response(resp)
        return answer

    def _read_json(self, resp: http.client.HTTPResponse, cancel: threading.Event, what: str) -> Any:
        kind = (resp.getheader("Content-Type") or "").lower()
        try:
            raw = resp.read(_MAX_BODY + 1)
        except TimeoutError:
            self._check_cancel(cancel)
            raise EngineError(self._timeout_message(what)) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._check_cancel(cancel)
            raise EngineError(
                f"{what} failed: the connection to {self.base_url} was lost ({_why(exc)})"
            ) from None
        if len(raw) > _MAX_BODY:
            raise EngineError(f"{what}: the answer of {self.base_url} is too large")
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            shown = kind.split(";")[0].strip() or "no Content-Type"
            raise EngineError(
                f"{self.base_url} is not an OpenAI-compatible server: {what} did not answer "
                f"JSON ({shown}: {_snippet(raw)})"
            ) from None

    def _read_line(
        self, resp: http.client.HTTPResponse, cancel: threading.Event, meter: _Meter
    ) -> bytes:
        what = "the completion stream"
        try:
            line = resp.readline(_MAX_LINE)
        except TimeoutError:
            self._check_cancel(cancel)
            raise EngineError(self._timeout_message(what)) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._check_cancel(cancel)
            raise EngineError(
                f"the connection to {self.base_url} was lost mid-stream after "
                f"{meter.pieces} piece(s) ({_why(exc)})"
            ) from None
        if len(line) >= _MAX_LINE and not line.endswith(b"\n"):
            raise EngineError(f"the server at {self.base_url} sent an over-long event line")
        return line

    def _finish_response(self, resp: http.client.HTTPResponse) -> None:
        """Read the rest of a finished response so the connection can serve the next."""
        with self._io_lock:
            conn, sock = self._conn, self._sock
        if conn is None or conn.sock is None or sock is None:
            self._drop_connection(resp)  # the server ends this connection ("close")
            return
        try:
            sock.settimeout(_DRAIN_TIMEOUT_S)
            resp.read(_MAX_BODY)
            sock.settimeout(self._read_timeout)
        except (OSError, http.client.HTTPException, ValueError):
            self._drop_connection(resp)
            return
        if not resp.isclosed():  # it keeps sending: do not reuse this connection
            self._drop_connection(resp)


# --------------------------------------------------------------------------- helpers


def _stop_reason(finish: str | None, has_stops: bool) -> StopReason:
    if finish == "length":
        return StopReason.LENGTH
    # "stop" is EOS or a stop string; the stream does not say which (see module doc).
    return StopReason.STOP if has_stops else StopReason.EOS


def _ranked_first_tokens(answer: Any) -> list[str]:
    """Distinct first-token texts, likeliest first, from either logprobs format.

    Legacy completions (llama-cpp-python, vLLM, OpenAI): ``top_logprobs`` is a list with
    one ``{text: logprob}`` mapping per token. llama-server: ``content`` is a list with
    one ``{"top_logprobs": [{"token": text, "logprob": x}, ...]}`` per token.
    """
    try:
        logprobs = answer["choices"][0]["logprobs"]
    except (KeyError, IndexError, TypeError):
        return []
    pairs: list[tuple[float, str]] = []
    if isinstance(logprobs, Mapping):
        top = logprobs.get("top_logprobs")
        content = logprobs.get("content")
        if isinstance(top, list) and top and isinstance(top[0], Mapping):
            pairs = [(float(v), str(k)) for k, v in top[0].items() if isinstance(v, (int, float))]
        elif isinstance(content, list) and content and isinstance(content[0], Mapping):
            entries = content[0].get("top_logprobs")
            if isinstance(entries, list):
                pairs = [
                    (float(e["logprob"]), str(e["token"]))
                    for e in entries
                    if isinstance(e, Mapping)
                    and isinstance(e.get("logprob"), (int, float))
                    and isinstance(e.get("token"), str)
                ]
    pairs.sort(key=lambda p: -p[0])  # stable: ties keep the server's order
    ranked: list[str] = []
    for _logprob, text in pairs:
        # An empty text or U+FFFD is a token that is part of a character: unusable.
        if text and "\ufffd" not in text and text not in ranked:
            ranked.append(text)
    return ranked


def _parse_json(payload: str, base_url: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        raise EngineError(
            f"the server at {base_url} sent an event that is not JSON: {payload[:120]!r}"
        ) from None


def _error_detail(data: Mapping[str, Any]) -> str:
    """The message inside an error body (OpenAI, llama-server, vLLM or FastAPI shape)."""
    error = data.get("error")
    message: Any = None
    if isinstance(error, Mapping):
        message = error.get("message") or error.get("type")
    elif isinstance(error, str):
        message = error
    if not message:
        message = data.get("message")
    if not message and "detail" in data:
        detail = data["detail"]
        message = detail if isinstance(detail, str) else json.dumps(detail)[:500]
    text = str(message).strip() if message else ""
    return text or "(the server gave no error message)"


def _error_text(raw: bytes, content_type: str) -> str:
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        return _error_detail(data)
    if "html" in content_type.lower() or raw.lstrip()[:1] == b"<":
        return "an HTML page, not an API error; is this an OpenAI-compatible server?"
    return _snippet(raw) or "(empty body)"


def _snippet(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text[:200] + ("..." if len(text) > 200 else "")


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
