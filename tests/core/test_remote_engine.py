"""The remote engine against a real llama-cpp-python server, and scripted failing servers.

The happy paths run ``python -m llama_cpp.server`` on the tiny GPT-2 model (same llama.cpp
as the in-process engine, so outputs can be compared exactly). The failure modes a real
server rarely shows (HTTP errors, HTML, silence, a dropped stream) come from small
``http.server`` / socket servers on 127.0.0.1. Nothing in the HTTP layer is mocked.
"""

from __future__ import annotations

import json
import math
import select
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.core.engine import Engine
from app.core.engine_api import Capabilities, EngineBusyError, EngineError, StopReason
from app.core.openai_protocol import EMPTY_PROMPT, estimate_tokens
from app.core.remote_engine import BRANCH_MIN_TEMPERATURE, RemoteEngine
from app.core.remote_http import parse_base_url
from app.core.requests import CompletionRequest, PrefillRequest
from app.core.sampling import GREEDY, SamplingSettings
from app.core.serve import RequestServer
from tests.support.llama_server import LlamaServer, free_port, llama_server
from tests.support.models import TestModel

PROMPT = "The quick brown fox"
#: Greedy output of the tiny model is varied enough here to place a stop string inside it.
GREEDY_12 = GREEDY.with_changes(max_tokens=12)
SAMPLED = SamplingSettings(seed=5, max_tokens=10)  # the defaults: penalties, top-k, min-p...
CTX = 128  # the tiny model's training context


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server(tiny_model: TestModel) -> Iterator[LlamaServer]:
    with llama_server(tiny_model["f16"], n_ctx=CTX) as running:
        yield running


@pytest.fixture(scope="module")
def local(tiny_model: TestModel) -> Iterator[Engine]:
    with Engine(tiny_model["f16"]) as engine:
        yield engine


@pytest.fixture
def remote(server: LlamaServer) -> Iterator[RemoteEngine]:
    with RemoteEngine(server.url, n_ctx=CTX) as engine:
        yield engine


class Recorded:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


Route = Callable[[BaseHTTPRequestHandler], None]


class FakeServer:
    """A scripted HTTP/1.0 server on 127.0.0.1; records every request it gets."""

    def __init__(
        self,
        routes: dict[tuple[str, str], Route],
        *,
        http11: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.requests: list[Recorded] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 without "Connection: close", yet every connection is closed after
            # one answer: the client believes in keep-alive and finds it gone.
            protocol_version = "HTTP/1.1" if http11 else "HTTP/1.0"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(
                    Recorded(self.command, self.path, dict(self.headers.items()), body)
                )
                route = routes.get((self.command, self.path))
                if route is None:
                    reply_json(self, 404, {"detail": "Not Found"})
                else:
                    route(self)
                self.close_connection = True

            do_GET = do_POST = _handle

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


@pytest.fixture
def fake() -> Iterator[Callable[[dict[tuple[str, str], Route]], FakeServer]]:
    servers: list[FakeServer] = []

    def start(
        routes: dict[tuple[str, str], Route],
        *,
        http11: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> FakeServer:
        servers.append(FakeServer(routes, http11=http11, tls=tls))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def reply_json(handler: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    raw = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def models_route(handler: BaseHTTPRequestHandler) -> None:
    reply_json(handler, 200, {"object": "list", "data": [{"id": "fake-model"}]})


def start_stream(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()


def send_piece(handler: BaseHTTPRequestHandler, text: str) -> None:
    event = {"choices": [{"text": text, "index": 0, "finish_reason": None}]}
    handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
    handler.wfile.flush()


#: How long a scripted server waits, silent, for the client to hang up. The clients that
#: cancel have a longer read timeout, so a hang-up seen within this came from the cancel
#: (a read left to time out would end only after the server gave up waiting).
PATIENCE_S = 10
PATIENT_CLIENT_S = 30


def wait_for_hang_up(handler: BaseHTTPRequestHandler, hung_up: threading.Event) -> None:
    """Send nothing until the client hangs up (its end reads as closed): set ``hung_up``."""
    readable, _, _ = select.select([handler.connection], [], [], PATIENCE_S)
    if readable:
        hung_up.set()


def silent_after_one_piece(hung_up: threading.Event) -> Route:
    """A completion that streams " hello", then sends nothing until the client hangs up."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        start_stream(handler)
        send_piece(handler, " hello")
        wait_for_hang_up(handler, hung_up)

    return route


# --------------------------------------------------------------------------- completions


def test_stream_pieces_make_the_text_and_greedy_matches_the_local_engine(
    remote: RemoteEngine, local: Engine
) -> None:
    pieces: list[str] = []
    result = remote.complete(PROMPT, GREEDY_12, on_text=pieces.append)
    assert len(pieces) > 1  # streamed, not one block
    assert "".join(pieces) == result.text
    assert result.stop_reason is StopReason.LENGTH
    assert result.seed == 0
    assert result.token_ids == ()
    assert not result.prompt_truncated
    # Same llama.cpp, same sampler chain order, so the same text: the request maps
    # temperature 0 and repeat_penalty 1 explicitly (the server's defaults differ).
    assert result.text == local.complete(PROMPT, GREEDY_12).text
    again = remote.complete(PROMPT, GREEDY_12)
    assert again.text == result.text


def test_sampled_output_matches_the_local_engine_for_the_same_seed(
    remote: RemoteEngine, local: Engine
) -> None:
    """Every sampler knob reaches the server: penalties, top-k, top-p, min-p, seed."""
    for settings in (SAMPLED, SAMPLED.with_changes(seed=7, repeat_penalty=1.3, top_k=5)):
        assert remote.complete(PROMPT, settings).text == local.complete(PROMPT, settings).text


def test_empty_prompt_starts_a_new_document_like_the_local_engine(
    remote: RemoteEngine, local: Engine
) -> None:
    settings = GREEDY.with_changes(max_tokens=6)
    result = remote.complete("", settings)
    assert result.text == local.complete("", settings).text
    assert result.text
    assert EMPTY_PROMPT not in result.text


def test_timings_are_filled_honestly(remote: RemoteEngine) -> None:
    result = remote.complete(PROMPT, GREEDY.with_changes(max_tokens=8))
    t = result.timings
    assert t.generated_tokens == 8  # counted from the stream (this server sends no usage)
    assert t.first_token_ms is not None
    assert t.first_token_ms > 0
    assert t.prompt_ms == pytest.approx(t.first_token_ms)
    assert t.generation_ms > 0  # eight pieces came one after another
    assert t.prompt_tokens == 0  # llama-cpp-python reports no usage while streaming


def test_max_tokens_gives_length(remote: RemoteEngine) -> None:
    for n in (1, 3):
        result = remote.complete(PROMPT, GREEDY.with_changes(max_tokens=n))
        assert result.stop_reason is StopReason.LENGTH
        assert result.timings.generated_tokens == n


def test_stop_strings_never_reach_the_text(remote: RemoteEngine) -> None:
    full = remote.complete(PROMPT, GREEDY_12).text
    stop = "Franc"
    assert stop in full, full  # the greedy text of the tiny model contains it
    pieces: list[str] = []
    result = remote.complete(
        PROMPT, GREEDY_12.with_changes(stop=(stop, "never seen")), on_text=pieces.append
    )
    assert result.text == full[: full.index(stop)]
    assert "".join(pieces) == result.text
    assert result.stop_reason is StopReason.STOP


def test_a_stop_string_in_the_first_piece_gives_empty_text(remote: RemoteEngine) -> None:
    first = remote.complete(PROMPT, GREEDY.with_changes(max_tokens=1)).text
    result = remote.complete(PROMPT, GREEDY_12.with_changes(stop=(first,)))
    assert result.text == ""
    assert result.stop_reason is StopReason.STOP


# --------------------------------------------------------------------------- cancellation


LONG = SamplingSettings(seed=1, max_tokens=120)  # ~0.2 s through this server


def test_cancel_from_on_text_stops_at_once_and_the_engine_still_works(
    remote: RemoteEngine,
) -> None:
    cancel = threading.Event()
    pieces: list[str] = []

    def on_text(piece: str) -> None:
        pieces.append(piece)
        cancel.set()

    result = remote.complete(PROMPT, LONG, on_text=on_text, cancel=cancel)
    assert result.stop_reason is StopReason.CANCELLED
    assert pieces == [result.text]  # nothing after the piece that cancelled
    after = remote.complete(PROMPT, GREEDY_12)
    assert after.stop_reason is StopReason.LENGTH
    assert after.timings.generated_tokens == 12


def test_cancel_from_another_thread_mid_stream(remote: RemoteEngine) -> None:
    """The call returns while the server is still generating: cancelled, with fewer
    tokens than asked for; the engine then serves the next call."""
    cancel = threading.Event()
    pieces: list[str] = []

    def on_text(piece: str) -> None:
        if not pieces:
            threading.Thread(target=cancel.set).start()
        pieces.append(piece)

    result = remote.complete(PROMPT, LONG, on_text=on_text, cancel=cancel)
    assert result.stop_reason is StopReason.CANCELLED
    assert 1 <= result.timings.generated_tokens < LONG.max_tokens
    assert "".join(pieces).startswith(result.text)
    # engine.cancel() from another thread works the same way
    started: list[str] = []

    def on_text_engine(piece: str) -> None:
        if not started:
            threading.Thread(target=remote.cancel).start()
        started.append(piece)

    result = remote.complete(PROMPT, LONG, on_text=on_text_engine)
    assert result.stop_reason is StopReason.CANCELLED
    assert 1 <= result.timings.generated_tokens < LONG.max_tokens
    assert remote.complete(PROMPT, GREEDY_12).stop_reason is StopReason.LENGTH


def test_cancel_set_before_the_call_returns_nothing(remote: RemoteEngine) -> None:
    cancel = threading.Event()
    cancel.set()
    pieces: list[str] = []
    result = remote.complete(PROMPT, GREEDY_12, on_text=pieces.append, cancel=cancel)
    assert result.stop_reason is StopReason.CANCELLED
    assert result.text == ""
    assert pieces == []
    assert result.timings.first_token_ms is None


def test_cancel_interrupts_a_blocked_read(fake: Callable[..., FakeServer]) -> None:
    """A server that goes silent mid-stream: the read is interrupted, not waited out: the
    server sees the connection closed while it still waits (see ``PATIENCE_S``)."""
    hung_up = threading.Event()
    server = fake(
        {
            ("GET", "/v1/models"): models_route,
            ("POST", "/v1/completions"): silent_after_one_piece(hung_up),
        }
    )
    with RemoteEngine(server.url, read_timeout=PATIENT_CLIENT_S) as engine:
        cancel = threading.Event()
        timer = threading.Timer(0.2, cancel.set)  # while the client waits for more
        timer.start()
        result = engine.complete("x", GREEDY_12, cancel=cancel)
        timer.join()
        assert result.stop_reason is StopReason.CANCELLED
        assert result.text == " hello"
        assert hung_up.wait(PATIENCE_S)


def test_cancel_while_the_server_has_not_answered_yet(fake: Callable[..., FakeServer]) -> None:
    """The server reads the request and says nothing (a long prompt): the wait for the
    answer's head is interrupted too, on the connection opened for this request."""
    hung_up = threading.Event()

    def silent(handler: BaseHTTPRequestHandler) -> None:
        wait_for_hang_up(handler, hung_up)

    server = fake({("GET", "/v1/models"): models_route, ("POST", "/v1/completions"): silent})
    with RemoteEngine(server.url, read_timeout=PATIENT_CLIENT_S) as engine:
        cancel = threading.Event()
        timer = threading.Timer(0.2, cancel.set)
        timer.start()
        result = engine.complete("x", GREEDY_12, cancel=cancel)
        timer.join()
        assert result.stop_reason is StopReason.CANCELLED
        assert result.text == ""
        assert result.timings.first_token_ms is None
        assert hung_up.wait(PATIENCE_S)


def test_concurrent_calls_raise_busy(remote: RemoteEngine) -> None:
    errors: list[BaseException] = []

    def on_text(piece: str) -> None:
        if errors:
            return

        def other() -> None:
            try:
                remote.complete(PROMPT, GREEDY_12)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()

    remote.complete(PROMPT, GREEDY.with_changes(max_tokens=3), on_text=on_text)
    assert len(errors) == 1
    assert isinstance(errors[0], EngineBusyError)


# --------------------------------------------------------------------------- branches


def test_branches_start_from_the_next_likeliest_tokens_like_the_local_engine(
    remote: RemoteEngine, local: Engine
) -> None:
    settings = GREEDY.with_changes(max_tokens=6)
    main = remote.complete(PROMPT, settings)
    texts = [main.text]
    for branch in (1, 2, 3):
        pieces: list[str] = []
        alt = remote.complete(PROMPT, settings, branch=branch, on_text=pieces.append)
        assert alt.text == local.complete(PROMPT, settings, branch=branch).text
        assert "".join(pieces) == alt.text
        assert alt.seed == settings.seed  # the logprobs path, not the seed fallback
        assert alt.timings.generated_tokens == 6
        texts.append(alt.text)
    assert len(set(texts)) == 4
    assert len({t.split()[0] for t in texts}) == 4  # they differ from the first token on


def test_branches_fall_back_to_seeds_without_logprobs(tiny_model: TestModel) -> None:
    """llama-cpp-python cannot give logprobs for a model loaded without logits_all."""
    settings = GREEDY.with_changes(max_tokens=8, seed=11)
    with (
        llama_server(tiny_model["f16"], extra_args=["--logits_all", "False"]) as plain,
        RemoteEngine(plain.url, n_ctx=CTX) as engine,
    ):
        main = engine.complete(PROMPT, settings)
        alts = [engine.complete(PROMPT, settings, branch=b) for b in (1, 2)]
    assert all(a.stop_reason is StopReason.LENGTH for a in alts)
    assert len({a.seed for a in alts} | {settings.seed}) == 3  # a seed per branch
    # Sampled at BRANCH_MIN_TEMPERATURE: different with high probability; these fixed
    # seeds make the check repeatable.
    assert BRANCH_MIN_TEMPERATURE > 0
    assert len({main.text, *(a.text for a in alts)}) == 3


# --------------------------------------------------------------------------- token counts


def test_count_tokens_uses_the_servers_tokenizer(remote: RemoteEngine, local: Engine) -> None:
    assert remote.token_counting == "extras"  # llama-cpp-python's /extras/tokenize/count
    for text in ("Hello world", "The quick brown fox jumps over the lazy dog.\n\nÉté: 夏"):
        assert remote.count_tokens(text) == local.count_tokens(text)
    assert remote.count_tokens("") == 0


def test_count_tokens_estimates_without_a_tokenizer_and_remembers(
    fake: Callable[..., FakeServer],
) -> None:
    server = fake({("GET", "/v1/models"): models_route})
    engine = RemoteEngine(server.url)
    assert engine.token_counting == "estimate"
    probes = len(server.requests)  # /v1/models and the two tokenizer endpoints
    assert [r.path for r in server.requests] == [
        "/v1/models",
        "/tokenize",
        "/extras/tokenize/count",
    ]
    text = "Hello, world! Été"
    assert engine.count_tokens(text) == estimate_tokens(text) == 7  # 19 bytes / 3, up
    assert engine.count_tokens("a") == 1
    assert len(server.requests) == probes  # no more requests: the method is cached
    engine.close()


# --------------------------------------------------------------------------- addresses


def test_base_url_forms(server: LlamaServer) -> None:
    for form in (server.url, server.url + "/", server.url + "/v1", server.url + "/v1/"):
        with RemoteEngine(form, n_ctx=CTX) as engine:
            assert engine.base_url == server.url
            assert engine.model_id == server.model_id
            assert engine.description == f"remote: {server.model_id} at {server.url[7:]}"
            assert engine.n_threads == 0
            assert engine.n_gpu_layers == 0
    assert parse_base_url("https://example.org/api/v1/").text == "https://example.org/api"
    assert parse_base_url("http://[::1]:8080/v1").text == "http://[::1]:8080"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1:8080", "must start with http:// or https://"),
        ("localhost:8080", "has no scheme"),
        ("http://", "has no host"),
        ("http://127.0.0.1:99999", "invalid port"),
        ("", "empty"),
    ],
)
def test_bad_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        RemoteEngine(url)


def test_unknown_model_lists_the_served_ones(server: LlamaServer) -> None:
    with pytest.raises(EngineError, match=r"does not serve model 'nope'; it serves: "):
        RemoteEngine(server.url, model="nope")


# --------------------------------------------------------------------------- failures


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EngineError, match=f"cannot connect to {url}: connection refused"):
        RemoteEngine(url)


def test_api_key_is_sent_as_a_bearer_token(fake: Callable[..., FakeServer]) -> None:
    server = fake({("GET", "/v1/models"): models_route})
    RemoteEngine(server.url, api_key="s3cret").close()
    assert all(r.headers.get("Authorization") == "Bearer s3cret" for r in server.requests)
    RemoteEngine(server.url).close()
    assert "Authorization" not in server.requests[-1].headers


def test_api_key_with_a_real_server(tiny_model: TestModel) -> None:
    with llama_server(tiny_model["f16"], api_key="s3cret") as keyed:
        with pytest.raises(EngineError, match=r"needs an API key \(HTTP 401"):
            RemoteEngine(keyed.url)
        with pytest.raises(EngineError, match=r"rejected the API key \(HTTP 401.*Invalid API key"):
            RemoteEngine(keyed.url, api_key="wrong")
        with RemoteEngine(keyed.url, api_key="s3cret", n_ctx=CTX) as engine:
            assert engine.complete(PROMPT, GREEDY_12).timings.generated_tokens == 12
            assert engine.token_counting == "extras"


def test_http_401_with_a_json_error(fake: Callable[..., FakeServer]) -> None:
    def unauthorized(handler: BaseHTTPRequestHandler) -> None:
        reply_json(handler, 401, {"error": {"message": "Incorrect API key provided"}})

    server = fake({("GET", "/v1/models"): unauthorized})
    with pytest.raises(EngineError) as caught:
        RemoteEngine(server.url, api_key="bad")
    message = str(caught.value)
    assert server.url in message
    assert "rejected the API key" in message
    assert "Incorrect API key provided" in message


def test_http_500_on_completion_names_the_servers_message(
    fake: Callable[..., FakeServer],
) -> None:
    def broken(handler: BaseHTTPRequestHandler) -> None:
        reply_json(handler, 500, {"error": {"message": "out of memory", "type": "server_error"}})

    server = fake({("GET", "/v1/models"): models_route, ("POST", "/v1/completions"): broken})
    with (
        RemoteEngine(server.url) as engine,
        pytest.raises(EngineError, match=r"answered HTTP 500 Internal Server Error: out of memory"),
    ):
        engine.complete("x", GREEDY_12)


def test_a_web_page_is_not_an_openai_server(fake: Callable[..., FakeServer]) -> None:
    def page(handler: BaseHTTPRequestHandler) -> None:
        raw = b"<!doctype html><html><body>My router</body></html>"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    server = fake({("GET", "/v1/models"): page})
    with pytest.raises(EngineError, match=r"is not an OpenAI-compatible server.*text/html"):
        RemoteEngine(server.url)
    missing = fake({})
    with pytest.raises(EngineError, match=r"is not an OpenAI-compatible server.*404"):
        RemoteEngine(missing.url)


def test_read_timeout_when_the_server_never_answers() -> None:
    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        # Only the read timeout writes this message: the wait was cut, not sat out.
        with pytest.raises(EngineError, match=r"sent nothing for 0\.5 s \(read timeout\)"):
            RemoteEngine(url, read_timeout=0.5)


def test_read_timeout_mid_stream(fake: Callable[..., FakeServer]) -> None:
    hung_up = threading.Event()
    server = fake(
        {
            ("GET", "/v1/models"): models_route,
            ("POST", "/v1/completions"): silent_after_one_piece(hung_up),
        }
    )
    pieces: list[str] = []
    with (
        RemoteEngine(server.url, read_timeout=0.5) as engine,
        pytest.raises(EngineError, match=r"completion stream failed.*0\.5 s \(read timeout\)"),
    ):
        engine.complete("x", GREEDY_12, on_text=pieces.append)
    assert pieces == [" hello"]


def test_connection_dropped_mid_stream_is_an_error(fake: Callable[..., FakeServer]) -> None:
    """The pieces already shown stay shown; the call raises instead of passing a torn text
    off as finished."""

    def one_piece_then_close(handler: BaseHTTPRequestHandler) -> None:
        start_stream(handler)
        send_piece(handler, " hello")
        # returning closes the HTTP/1.0 connection: no finish_reason, no [DONE]

    server = fake(
        {("GET", "/v1/models"): models_route, ("POST", "/v1/completions"): one_piece_then_close}
    )
    pieces: list[str] = []
    with RemoteEngine(server.url) as engine:
        with pytest.raises(EngineError, match=r"connection to .* was lost mid-stream"):
            engine.complete("x", GREEDY_12, on_text=pieces.append)
        assert pieces == [" hello"]
        # and the next call opens a new connection
        with pytest.raises(EngineError, match="lost mid-stream"):
            engine.complete("x", GREEDY_12)


def test_a_finished_stream_without_done_still_counts(fake: Callable[..., FakeServer]) -> None:
    def finish_then_close(handler: BaseHTTPRequestHandler) -> None:
        start_stream(handler)
        send_piece(handler, " hello")
        event = {"choices": [{"text": " world", "finish_reason": "length"}]}
        handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())

    server = fake(
        {("GET", "/v1/models"): models_route, ("POST", "/v1/completions"): finish_then_close}
    )
    with RemoteEngine(server.url) as engine:
        result = engine.complete("x", GREEDY_12)
    assert result.text == " hello world"
    assert result.stop_reason is StopReason.LENGTH
    sent = json.loads(server.requests[-1].body)
    assert sent["stream"] is True
    assert sent["model"] == "fake-model"
    assert sent["temperature"] == 0.0
    assert sent["seed"] == 0
    assert sent["max_tokens"] == 12
    assert "stop" not in sent


def test_finish_reason_stop_maps_to_eos_or_stop(fake: Callable[..., FakeServer]) -> None:
    def ends(handler: BaseHTTPRequestHandler) -> None:
        start_stream(handler)
        event = {"choices": [{"text": " end", "finish_reason": "stop"}]}
        handler.wfile.write(f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode())

    server = fake({("GET", "/v1/models"): models_route, ("POST", "/v1/completions"): ends})
    with RemoteEngine(server.url) as engine:
        assert engine.complete("x", GREEDY_12).stop_reason is StopReason.EOS
        with_stops = engine.complete("x", GREEDY_12.with_changes(stop=("\n",)))
    assert with_stops.stop_reason is StopReason.STOP  # ambiguous; see the module doc
    assert json.loads(server.requests[-1].body)["stop"] == ["\n"]


def test_text_held_for_a_stop_is_kept_when_the_server_stops(
    fake: Callable[..., FakeServer],
) -> None:
    """The server ended on some stop string; a tail that only might have started another
    one (held back while streaming) is text after all."""

    def ends(handler: BaseHTTPRequestHandler) -> None:
        start_stream(handler)
        send_piece(handler, " hello")
        event = {"choices": [{"text": " a", "finish_reason": "stop"}]}
        handler.wfile.write(f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode())

    server = fake({("GET", "/v1/models"): models_route, ("POST", "/v1/completions"): ends})
    pieces: list[str] = []
    with RemoteEngine(server.url) as engine:
        result = engine.complete("x", GREEDY_12.with_changes(stop=(" ax",)), on_text=pieces.append)
    assert result.text == " hello a"
    assert pieces == [" hello", " a"]
    assert result.stop_reason is StopReason.STOP


def test_sampler_view_and_closing(remote: RemoteEngine) -> None:
    with pytest.raises(EngineError, match="needs the local engine"):
        remote.next_token_logits(PROMPT)
    with pytest.raises(EngineError, match="tokens are not known"):
        remote.detokenize([1, 2])
    remote.close()
    remote.close()  # idempotent
    assert remote.closed
    with pytest.raises(EngineError, match="closed"):
        remote.complete(PROMPT, GREEDY_12)


def test_what_needs_logits_is_refused_and_the_request_server_asks_none_of_it(
    remote: RemoteEngine, local: Engine
) -> None:
    """The capabilities say no; asking anyway is an error, and the request server, which
    checks them, sends a healed, scored, markup-free request as a plain one."""
    assert remote.capabilities == Capabilities()
    for extra in ({"heal": True}, {"avoid_markup": True}, {"on_piece": lambda p, c: None}):
        with pytest.raises(EngineError, match="need the model's logits"):
            remote.complete(PROMPT, GREEDY_12, **extra)
    with pytest.raises(EngineError, match="nothing to prefill"):
        remote.prefill(PROMPT, 12)
    server = RequestServer(remote)
    request = CompletionRequest(
        id=1, text=PROMPT, cursor=len(PROMPT), sampling=GREEDY_12,
        heal=True, scored=True, avoid_markup=True,
    )  # fmt: skip
    pieces: list[tuple[str, float]] = []
    result = server.complete(request, threading.Event(), lambda p, c: pieces.append((p, c)))
    assert result.text == local.complete(PROMPT, GREEDY_12).text
    assert "".join(p for p, _ in pieces) == result.text
    assert pieces
    assert all(math.isnan(c) for _, c in pieces)  # no confidence from a server
    prefill = PrefillRequest(id=2, text=PROMPT, cursor=len(PROMPT), max_tokens=12)
    assert server.prefill(prefill, threading.Event()) is None


def test_answers_that_are_not_http() -> None:
    """A listener that writes something else, or hangs up at once: each named as such."""

    def serve(reply: bytes) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)

        def answer() -> None:
            with listener, listener.accept()[0] as conn:
                conn.recv(65536)
                conn.sendall(reply)

        threading.Thread(target=answer, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    with pytest.raises(EngineError, match=r"is not an HTTP server \(it answered listing"):
        RemoteEngine(serve(b"220 smtp.example.org ESMTP ready\r\n\r\n"))
    with pytest.raises(EngineError, match=r"closed the connection without an HTTP answer"):
        RemoteEngine(serve(b""))


def test_llama_server_answers_are_read(fake: Callable[..., FakeServer]) -> None:
    """The shapes llama-server answers with: /tokenize, ``timings`` in every chunk, a final
    ``usage``, and logprobs as a ``content`` list (not the legacy mapping)."""

    def tokenize(handler: BaseHTTPRequestHandler) -> None:
        text = json.loads(fake_llama.requests[-1].body)["content"]
        reply_json(handler, 200, {"tokens": list(range(len(text.split())))})

    def completions(handler: BaseHTTPRequestHandler) -> None:
        body = json.loads(fake_llama.requests[-1].body)
        if not body["stream"]:  # the first-token probe of a branch
            top = [
                {"id": 1, "token": " likely", "logprob": -0.1, "bytes": []},
                {"id": 2, "token": " second", "logprob": -1.5, "bytes": []},
                {"id": 3, "token": "\ufffd", "logprob": -1.7, "bytes": [226]},
                {"id": 4, "token": " third", "logprob": -2.0, "bytes": []},
            ]
            reply_json(
                handler,
                200,
                {
                    "choices": [
                        {
                            "text": " likely",
                            "finish_reason": "length",
                            "logprobs": {"content": [{"token": " likely", "top_logprobs": top}]},
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1},
                },
            )
            return
        start_stream(handler)
        for n, piece in enumerate([" a", " b", " c"], start=1):
            event = {
                "choices": [{"text": piece, "index": 0, "finish_reason": None}],
                "timings": {"prompt_n": 2, "cache_n": 4, "predicted_n": n},
            }
            handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        last = {"choices": [{"text": "", "finish_reason": "length"}], "timings": {"predicted_n": 4}}
        usage = {"choices": [], "usage": {"prompt_tokens": 6, "completion_tokens": 4}}
        for tail in (last, usage):
            handler.wfile.write(f"data: {json.dumps(tail)}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")

    fake_llama = fake(
        {
            ("GET", "/v1/models"): models_route,
            ("POST", "/tokenize"): tokenize,
            ("POST", "/v1/completions"): completions,
        }
    )
    with RemoteEngine(fake_llama.url) as engine:
        assert engine.token_counting == "tokenize"
        assert engine.count_tokens("one two three") == 3
        result = engine.complete("x", GREEDY_12)
        t = result.timings
        assert (t.prompt_tokens, t.prompt_tokens_evaluated, t.generated_tokens) == (6, 2, 4)
        sent = json.loads(fake_llama.requests[-1].body)
        assert sent["stream_options"] == {"include_usage": True}
        alternatives = [engine.complete("x", GREEDY_12, branch=b) for b in (1, 2, 3)]
    # ranked by logprob; the U+FFFD token (part of a character) is skipped
    assert alternatives[0].text == " second a b c"
    assert alternatives[1].text == " third a b c"
    assert alternatives[0].seed == 0  # the logprobs path
    assert alternatives[0].timings.prompt_tokens == 5  # the probe's prompt
    assert alternatives[2].seed != 0  # only two usable alternatives: the seed fallback
    bodies = [json.loads(r.body) for r in fake_llama.requests if r.path == "/v1/completions"]
    probes = [b for b in bodies if not b["stream"]]
    # one request ranks the first tokens for all three branches of the prompt
    assert [(p["logprobs"], p["max_tokens"]) for p in probes] == [(5, 1)]
    assert bodies[-1]["temperature"] == BRANCH_MIN_TEMPERATURE  # the fallback samples


def test_a_closed_kept_alive_connection_is_reopened(fake: Callable[..., FakeServer]) -> None:
    def tokenize(handler: BaseHTTPRequestHandler) -> None:
        reply_json(handler, 200, {"tokens": [1, 2]})

    server = fake(
        {("GET", "/v1/models"): models_route, ("POST", "/tokenize"): tokenize}, http11=True
    )
    with RemoteEngine(server.url) as engine:
        before = len(server.requests)
        assert [engine.count_tokens("a b") for _ in range(3)] == [2, 2, 2]
    assert len(server.requests) == before + 3  # one request per count: nothing sent twice


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def test_https_checks_the_certificate_and_cancels_through_tls(
    fake: Callable[..., FakeServer],
    tls: tuple[ssl.SSLContext, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context, cert = tls
    hung_up = threading.Event()
    server = fake(
        {
            ("GET", "/v1/models"): models_route,
            ("POST", "/v1/completions"): silent_after_one_piece(hung_up),
        },
        tls=context,
    )
    with pytest.raises(EngineError, match="TLS certificate could not be verified"):
        RemoteEngine(server.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust it, as a system store would
    with RemoteEngine(server.url, read_timeout=PATIENT_CLIENT_S) as engine:
        cancel = threading.Event()

        def on_text(piece: str) -> None:
            threading.Timer(0.1, cancel.set).start()  # while the client waits for more

        result = engine.complete("x", GREEDY_12, on_text=on_text, cancel=cancel)
        assert result.stop_reason is StopReason.CANCELLED
        assert result.text == " hello"
        assert hung_up.wait(PATIENCE_S)  # the TLS connection was shut, not left to time out
