"""OpenAI's completion API as llama.cpp's servers speak it: request bodies, answers, errors.

Pure functions and values, no IO: :mod:`app.core.remote_http` carries the bytes and
:mod:`app.core.remote_engine` decides what to ask. Three servers are read:
llama.cpp's ``llama-server``, llama-cpp-python's ``python -m llama_cpp.server`` and
vLLM, which differ in the fields they read and the shapes they answer.

- **Sampling.** OpenAI's fields plus llama.cpp's sampler knobs (see
  :func:`completion_body`); servers ignore fields they do not know.
- **Token counts.** The OpenAI API has no tokenizer endpoint. llama-server (and vLLM)
  answer ``POST /tokenize``, llama-cpp-python ``POST /extras/tokenize/count``
  (:data:`TOKEN_METHODS`). Without either, counts are estimated as UTF-8 bytes / 3,
  rounded up, which is more than GPT-2 uses for ordinary prose (about 4 bytes a token),
  so prompt budgets still hold.
- **Usage.** OpenAI's ``usage`` (llama-server, vLLM; llama-cpp-python only when not
  streaming) and llama-server's ``timings`` become :class:`~app.core.engine_api.Timings`
  through :class:`Meter`; times are measured by the client, network included.
- **Stop reasons.** ``finish_reason: "length"`` is LENGTH. ``"stop"`` means EOS *or* a
  matched stop string, and the OpenAI stream does not say which (the server also
  withholds the stop string). The choice: STOP when stop strings were requested (in a
  writing assistant they end text far more often than the model's end-of-text does),
  EOS when none were.
- **Errors.** The message inside an error body in OpenAI's, llama-server's, vLLM's or
  FastAPI's shape; a web page is named as one.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.core.engine_api import EngineError, StopReason, Timings
from app.core.sampling import SamplingSettings

#: Sent instead of an empty prompt: GPT-2's document separator starts a new document,
#: as ``Engine`` does with its token (llama-cpp-python's server fails on an empty prompt).
#: All three servers parse special tokens written in the prompt text.
EMPTY_PROMPT = "<|endoftext|>"
#: The token count estimate when the server has no tokenizer endpoint.
ESTIMATE_BYTES_PER_TOKEN = 3
#: The tokenizer endpoints tried, in order: llama-server's and vLLM's, llama-cpp-python's.
TOKEN_METHODS = ("tokenize", "extras")
COMPLETIONS = "/v1/completions"
MODELS = "/v1/models"
#: The end of a stream of completion events.
DONE = "[DONE]"


class StatusError(EngineError):
    """The server answered an HTTP error; the message is already clear."""

    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def status_error(
    code: int, status: str, body: bytes, content_type: str, base_url: str, what: str, *, keyed: bool
) -> StatusError:
    """An HTTP error (``status``: "HTTP 401 Unauthorized") in words: the server's own
    message, or a missing or wrong API key."""
    detail = error_text(body, content_type)
    if code in (401, 403):
        problem = "rejected the API key" if keyed else "needs an API key"
        return StatusError(f"the server at {base_url} {problem} ({status}: {detail})", code, detail)
    return StatusError(
        f"{what} failed: the server at {base_url} answered {status}: {detail}", code, detail
    )


def decode_json(raw: bytes, content_type: str, base_url: str, what: str) -> Any:
    """An answer's body as JSON; anything else is not an OpenAI server."""
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        shown = content_type.lower().split(";")[0].strip() or "no Content-Type"
        raise EngineError(
            f"{base_url} is not an OpenAI-compatible server: {what} did not answer JSON "
            f"({shown}: {snippet(raw)})"
        ) from None


def completion_body(
    model: str,
    prompt: str,
    s: SamplingSettings,
    seed: int,
    max_tokens: int,
    temperature: float,
) -> dict[str, Any]:
    """A streamed completion request: OpenAI's fields plus llama.cpp's sampler knobs.

    ``top_k``, ``min_p`` and ``repeat_penalty`` are read by llama-server,
    llama-cpp-python and (``top_k``, ``min_p``) vLLM. ``typical_p`` and
    ``repeat_last_n`` only by llama-server; llama-cpp-python's server ignores them
    (its penalty window is its ``--last_n_tokens_size``, 64 by default like ours).
    """
    body: dict[str, Any] = {
        "model": model,
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


def first_tokens_body(model: str, prompt: str, count: int, seed: int) -> dict[str, Any]:
    """One greedy token with the ``count`` likeliest first tokens' logprobs."""
    return {
        "model": model,
        "prompt": prompt,
        "max_tokens": 1,
        "temperature": 0.0,
        "logprobs": count,
        "seed": seed,
        "stream": False,
    }


def count_request(method: str, model: str, text: str) -> tuple[str, dict[str, Any]]:
    """The path and body that count ``text``'s tokens with a tokenizer endpoint."""
    if method == "tokenize":
        # llama-server reads "content"/"add_special", vLLM "prompt"/"add_special_tokens".
        return "/tokenize", {
            "content": text,
            "prompt": text,
            "model": model,
            "add_special": False,
            "add_special_tokens": False,
        }
    return "/extras/tokenize/count", {"input": text, "model": model}


def read_count(answer: Any) -> int | None:
    """The count in a tokenizer's answer (``count``, or the length of ``tokens``)."""
    if isinstance(answer, Mapping):
        count = int_or_none(answer.get("count"))
        if count is not None:
            return count
        tokens = answer.get("tokens")
        if isinstance(tokens, list):
            return len(tokens)
    return None


def estimate_tokens(text: str) -> int:
    """The conservative count used when the server cannot tokenize: bytes / 3, up."""
    return math.ceil(len(text.encode("utf-8")) / ESTIMATE_BYTES_PER_TOKEN)


def model_ids(answer: Any, base_url: str) -> list[str]:
    """The ids a ``GET /v1/models`` answer lists."""
    data = answer.get("data") if isinstance(answer, Mapping) else None
    if not isinstance(data, list):
        raise EngineError(
            f"{base_url} is not an OpenAI-compatible server: GET /v1/models "
            "answered JSON without a model list"
        )
    return [str(m["id"]) for m in data if isinstance(m, Mapping) and m.get("id")]


@dataclass(frozen=True)
class Chunk:
    """One streamed completion event: its text and finish reason (None while running)."""

    text: str
    finish: str | None


def parse_event(payload: str, base_url: str) -> Any:
    """An event's data as JSON."""
    try:
        return json.loads(payload)
    except ValueError:
        raise EngineError(
            f"the server at {base_url} sent an event that is not JSON: {payload[:120]!r}"
        ) from None


def read_chunk(event: Any, meter: Meter, base_url: str) -> Chunk:
    """The text and finish reason of one completion event; its counts go to ``meter``."""
    if not isinstance(event, Mapping):
        raise EngineError(f"the server at {base_url} sent an event that is not an object")
    if event.get("error"):
        raise EngineError(
            f"the server at {base_url} reported an error mid-stream: {error_detail(event)}"
        )
    meter.read_counts(event)
    choices = event.get("choices")
    if not isinstance(choices, list) or not choices:
        return Chunk("", None)  # a usage-only event
    choice = choices[0]
    if not isinstance(choice, Mapping):
        return Chunk("", None)
    piece = choice.get("text")
    finish = choice.get("finish_reason")
    return Chunk(
        piece if isinstance(piece, str) else "",
        finish if isinstance(finish, str) and finish else None,
    )


def stop_reason(finish: str | None, has_stops: bool) -> StopReason:
    if finish == "length":
        return StopReason.LENGTH
    # "stop" is EOS or a stop string; the stream does not say which (see module doc).
    return StopReason.STOP if has_stops else StopReason.EOS


def ranked_first_tokens(answer: Any) -> list[str]:
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


class Meter:
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
            self.usage_prompt = int_or_none(usage.get("prompt_tokens"), self.usage_prompt)
            self.usage_completion = int_or_none(
                usage.get("completion_tokens"), self.usage_completion
            )
        timings = event.get("timings")
        if isinstance(timings, Mapping):
            self.prompt_n = int_or_none(timings.get("prompt_n"), self.prompt_n)
            self.cache_n = int_or_none(timings.get("cache_n"), self.cache_n) or 0
            self.predicted_n = int_or_none(timings.get("predicted_n"), self.predicted_n)

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


def int_or_none(value: Any, default: int | None = None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def error_detail(data: Mapping[str, Any]) -> str:
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


def error_text(raw: bytes, content_type: str) -> str:
    """What an error body says: its message, or that it is a web page, or its start."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        return error_detail(data)
    if "html" in content_type.lower() or raw.lstrip()[:1] == b"<":
        return "an HTML page, not an API error; is this an OpenAI-compatible server?"
    return snippet(raw) or "(empty body)"


def snippet(raw: bytes) -> str:
    """The start of a body, on one line, for a message."""
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text[:200] + ("..." if len(text) > 200 else "")
