"""Measure the remote engine over httpx2 against the hand-written http.client transport.

Until the engine contract work (issue 14), ``app/core/remote_engine.py`` carried its own
HTTP/1.1 client over ``http.client``: keep-alive with one reconnect, SSE line parsing, a
bounded drain after ``[DONE]`` and cancellation by shutting the socket down. It now uses
httpx2 (:mod:`app.core.remote_http`). :class:`StdlibTransport` below is that hand-written
client, ported unchanged to the transport interface, kept here only so the comparison can
be run again. Both drive the same :class:`~app.core.remote_engine.RemoteEngine` against
a real ``python -m llama_cpp.server`` on a generated GPT-2 (1024 positions), and this
script prints, per client:

- cancel latency: from setting the caller's cancel event (after the 5th streamed piece of
  a 900-token generation) to ``complete`` returning, p50 and p90 over ``--tries``; and
  how long the server took to start the next request's answer (llama-cpp-python serves
  one request at a time, so a server that kept generating for the dropped client shows
  here);
- time to first token (client-measured, network included) of short completions;
- the message a writer sees when the server is down, rejects the API key, is killed
  mid-stream, or answers something that is not HTTP.

Run it from the repository root: ``python scripts/remote_client_compare.py``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core import stats
from app.core.engine_api import EngineError, StopReason
from app.core.remote_engine import RemoteEngine
from app.core.remote_http import (
    DRAIN_TIMEOUT_S,
    MAX_BODY,
    MAX_ERROR_BODY,
    MAX_EVENT,
    Cancelled,
    ConnectionLost,
    HttpStatusError,
    HttpTransport,
    Interrupter,
    ServerUrl,
)
from app.core.sampling import GREEDY, SamplingSettings
from tests.support.llama_server import free_port, llama_server
from tests.support.models import build_model

PROMPT = "The quick brown fox"
LONG = SamplingSettings(seed=1, max_tokens=900)
SHORT = GREEDY.with_changes(max_tokens=8)
CANCEL_AFTER_PIECES = 5


# --------------------------------------------------------------------------- the baseline


class StdlibAnswer:
    """A response of :class:`StdlibTransport` (the old ``_read_events`` / ``_read_json``)."""

    def __init__(
        self, transport: StdlibTransport, resp: http.client.HTTPResponse, cancel: threading.Event
    ) -> None:
        self._t = transport
        self._resp = resp
        self._cancel = cancel
        self.finished = False
        self.content_type = (resp.getheader("Content-Type") or "").lower()

    def events(self) -> Iterator[str]:
        data: list[str] = []
        while True:
            if self._cancel.is_set():
                raise Cancelled
            line = self._read_line()
            ended = not line
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not ended:
                if text.startswith("data:"):
                    data.append(text[5:].removeprefix(" "))
                    continue
                if text or not data:
                    continue
            if data:
                payload = "\n".join(data)
                data = []
                yield payload
            if ended:
                break
        if self._cancel.is_set():
            raise Cancelled

    def _read_line(self) -> bytes:
        what = "the completion stream"
        try:
            line = self._resp.readline(MAX_EVENT)
        except TimeoutError:
            if self._cancel.is_set():
                raise Cancelled from None
            raise EngineError(self._t.timeout_message(what)) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if self._cancel.is_set():
                raise Cancelled from None
            raise ConnectionLost(
                f"the connection to {self._t.base_url} was lost", _why(exc)
            ) from None
        if len(line) >= MAX_EVENT and not line.endswith(b"\n"):
            raise EngineError(f"the server at {self._t.base_url} sent an over-long event line")
        return line

    def read(self, what: str) -> bytes:
        try:
            raw = self._resp.read(MAX_BODY + 1)
        except TimeoutError:
            if self._cancel.is_set():
                raise Cancelled from None
            raise EngineError(self._t.timeout_message(what)) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if self._cancel.is_set():
                raise Cancelled from None
            raise EngineError(
                f"{what} failed: the connection to {self._t.base_url} was lost ({_why(exc)})"
            ) from None
        if len(raw) > MAX_BODY:
            raise EngineError(f"{what}: the answer of {self._t.base_url} is too large")
        return raw

    def finish(self) -> None:
        self.finished = True
        self._t.finish_response(self._resp)


class StdlibTransport:
    """The hand-written HTTP/1.1 client over ``http.client`` (before httpx2)."""

    def __init__(
        self, url: ServerUrl, *, api_key: str | None, connect_timeout: float, read_timeout: float
    ) -> None:
        self._url = url
        self.base_url = url.text
        self._api_key = api_key
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self.interrupter = Interrupter()
        self._conn: http.client.HTTPConnection | None = None
        self._sock: socket.socket | None = None

    def call(self, cancel: threading.Event, *, watch: bool) -> Any:
        return self.interrupter.call(cancel, watch=watch)

    def abort(self) -> None:
        self.interrupter.abort()

    def close(self) -> None:
        self.drop()

    def timeout_message(self, what: str) -> str:
        return (
            f"{what} failed: the server at {self.base_url} sent nothing for "
            f"{self._read_timeout:g} s (read timeout)"
        )

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        cancel: threading.Event,
        what: str,
        *,
        events: bool = False,
    ) -> Iterator[StdlibAnswer]:
        resp = self._open(method, path, payload, cancel, what, events)
        answer: StdlibAnswer | None = None
        try:
            if not 200 <= resp.status < 300:
                try:
                    raw = resp.read(MAX_ERROR_BODY)
                except (OSError, http.client.HTTPException, ValueError):
                    raw = b""
                raise HttpStatusError(
                    resp.status, resp.reason, raw, resp.getheader("Content-Type") or ""
                )
            answer = StdlibAnswer(self, resp, cancel)
            yield answer
        finally:
            if answer is None or not answer.finished:
                self.drop(resp)

    def _connection(self, cancel: threading.Event) -> tuple[http.client.HTTPConnection, bool]:
        conn = self._conn
        if conn is not None and conn.sock is not None:
            return conn, True
        self.drop()
        url = self._url
        if url.scheme == "https":
            conn = http.client.HTTPSConnection(
                url.host, url.port, timeout=self._connect_timeout,
                context=ssl.create_default_context(),
            )  # fmt: skip
        else:
            conn = http.client.HTTPConnection(url.host, url.port, timeout=self._connect_timeout)
        where = f"cannot connect to {self.base_url}"
        try:
            conn.connect()
        except ssl.SSLCertVerificationError as exc:
            raise EngineError(
                f"{where}: its TLS certificate could not be verified ({exc.verify_message})"
            ) from None
        except ssl.SSLError as exc:
            raise EngineError(f"{where}: TLS failed ({exc})") from None
        except socket.gaierror:
            raise EngineError(f"{where}: unknown host {url.host!r}") from None
        except ConnectionRefusedError:
            raise EngineError(
                f"{where}: connection refused (is the server running, and on this port?)"
            ) from None
        except TimeoutError:
            raise EngineError(
                f"{where}: no answer within {self._connect_timeout:g} s (connect timeout)"
            ) from None
        except OSError as exc:
            raise EngineError(f"{where}: {exc}") from None
        sock = conn.sock
        assert sock is not None
        sock.settimeout(self._read_timeout)
        self._conn, self._sock = conn, sock
        self.interrupter.attach(sock)
        if cancel.is_set():
            self.drop()
            raise Cancelled
        return conn, False

    def drop(self, resp: http.client.HTTPResponse | None = None) -> None:
        conn, self._conn = self._conn, None
        sock, self._sock = self._sock, None
        self.interrupter.attach(None)
        if sock is not None:
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            sock.close()
        if conn is not None:
            conn.close()
        if resp is not None:
            resp.close()

    def _open(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        cancel: threading.Event,
        what: str,
        events: bool,
    ) -> http.client.HTTPResponse:
        body = json.dumps(payload).encode("utf-8") if payload is not None else None
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if events else "application/json",
            "User-Agent": "ghostpen",
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        for attempt in (1, 2):
            if cancel.is_set():
                raise Cancelled
            conn, reused = self._connection(cancel)
            try:
                conn.request(method, self._url.prefix + path, body=body, headers=headers)
                return conn.getresponse()
            except TimeoutError:
                self.drop()
                if cancel.is_set():
                    raise Cancelled from None
                raise EngineError(self.timeout_message(what)) from None
            except (ConnectionError, http.client.HTTPException, OSError, ValueError) as exc:
                self.drop()
                if cancel.is_set():
                    raise Cancelled from None
                if reused and attempt == 1 and isinstance(exc, ConnectionError):
                    continue
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

    def finish_response(self, resp: http.client.HTTPResponse) -> None:
        conn, sock = self._conn, self._sock
        if conn is None or conn.sock is None or sock is None:
            self.drop(resp)
            return
        try:
            sock.settimeout(DRAIN_TIMEOUT_S)
            resp.read(MAX_BODY)
            sock.settimeout(self._read_timeout)
        except (OSError, http.client.HTTPException, ValueError):
            self.drop(resp)
            return
        if not resp.isclosed():
            self.drop(resp)


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------- measurements

CLIENTS: dict[str, Callable[..., Any]] = {"httpx2": HttpTransport, "http.client": StdlibTransport}


def percentile(values: list[float], q: float) -> float:
    """Nearest rank, as the bench states its figures."""
    value = stats.percentile(values, q)
    assert value is not None
    return value


def cancelled_call(engine: RemoteEngine, seed: int) -> tuple[StopReason, int, float]:
    """A long generation whose cancel event another thread sets after a few pieces:
    how it ended, the pieces it counted, ms from the event being set to the return."""
    cancel = threading.Event()
    pieces = 0
    set_at: list[float] = []

    def fire() -> None:
        set_at.append(time.perf_counter())
        cancel.set()

    def on_text(_piece: str) -> None:
        nonlocal pieces
        pieces += 1
        if pieces == CANCEL_AFTER_PIECES:
            threading.Thread(target=fire).start()

    result = engine.complete(PROMPT, LONG.with_changes(seed=seed), on_text=on_text, cancel=cancel)
    returned = time.perf_counter()
    if not set_at:
        raise SystemExit(f"seed {seed}: ended before the cancel ({result.stop_reason})")
    return result.stop_reason, result.timings.generated_tokens, (returned - set_at[0]) * 1000.0


def measure(url: str, tries: int) -> dict[str, dict[str, float]]:
    """Both clients, one try of each in turn, so that the server's drift hits both alike."""
    samples: dict[str, dict[str, list[float]]] = {
        name: {"cancel": [], "next_first": [], "pieces": [], "first": [], "call": []}
        for name in CLIENTS
    }
    engines = {name: RemoteEngine(url, n_ctx=1024, transport=t) for name, t in CLIENTS.items()}
    try:
        for engine in engines.values():
            engine.complete(PROMPT, SHORT)  # warm: the connection and the server's cache
        for n in range(tries):
            for name, engine in engines.items():
                got = samples[name]
                reason, pieces, latency = cancelled_call(engine, n)
                if reason is not StopReason.CANCELLED:
                    raise SystemExit(f"{name}, try {n}: not cancelled ({reason})")
                got["cancel"].append(latency)
                got["pieces"].append(pieces)
                # llama-cpp-python serves one request at a time: had it kept generating
                # for the client that hung up, this answer would wait for it to end.
                after = engine.complete(PROMPT, SHORT)
                assert after.timings.first_token_ms is not None
                got["next_first"].append(after.timings.first_token_ms)
                started = time.perf_counter()
                again = engine.complete(PROMPT, SHORT)
                got["call"].append((time.perf_counter() - started) * 1000.0)
                assert again.timings.first_token_ms is not None
                got["first"].append(again.timings.first_token_ms)
    finally:
        for engine in engines.values():
            engine.close()
    return {
        name: {
            "cancel to return, p50": percentile(got["cancel"], 50),
            "cancel to return, p90": percentile(got["cancel"], 90),
            "cancel to return, max": max(got["cancel"]),
            "next request's first token after a cancel, p50": percentile(got["next_first"], 50),
            "next request's first token after a cancel, p90": percentile(got["next_first"], 90),
            "first token (kept-alive connection), p50": percentile(got["first"], 50),
            "first token (kept-alive connection), p90": percentile(got["first"], 90),
            "8-token completion, p50": percentile(got["call"], 50),
            "pieces counted when cancelled (median)": statistics.median(got["pieces"]),
        }
        for name, got in samples.items()
    }


def error_of(action: Callable[[], object]) -> str:
    try:
        action()
    except EngineError as exc:
        return str(exc)
    return "(no error)"


@contextmanager
def garbage_server() -> Iterator[str]:
    """Accepts connections and answers every request with bytes that are not HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            with conn, suppress(OSError):
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def killed_mid_stream(model: Path, transport: Callable[..., Any]) -> str:
    with llama_server(model, n_ctx=1024) as server:
        engine = RemoteEngine(server.url, n_ctx=1024, transport=transport)
        pieces = 0

        def on_text(_piece: str) -> None:
            nonlocal pieces
            pieces += 1
            if pieces == CANCEL_AFTER_PIECES:
                os.kill(server.process.pid, signal.SIGKILL)
                server.process.wait()

        try:
            return error_of(lambda: engine.complete(PROMPT, LONG, on_text=on_text))
        finally:
            engine.close()


def errors(model: Path, keyed_url: str, transport: Callable[..., Any]) -> dict[str, str]:
    down = f"http://127.0.0.1:{free_port()}"
    with garbage_server() as garbage:
        not_http = error_of(lambda: RemoteEngine(garbage, transport=transport))
    return {
        "server down": error_of(lambda: RemoteEngine(down, transport=transport)),
        "wrong API key": error_of(
            lambda: RemoteEngine(keyed_url, api_key="wrong", transport=transport)
        ),
        "killed mid-stream": killed_mid_stream(model, transport),
        "not HTTP": not_http,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="remote-compare-") as folder:
        model = build_model(
            Path(folder), "wide", ("f16",),
            n_embd=256, n_layer=2, n_head=4, n_positions=1024, seed=2,
        )["f16"]  # fmt: skip
        with llama_server(model, n_ctx=1024) as server:
            figures = measure(server.url, args.tries)
        messages: dict[str, dict[str, str]] = {}
        with llama_server(model, n_ctx=1024, api_key="s3cret") as keyed:
            for name, transport in CLIENTS.items():
                messages[name] = errors(model, keyed.url, transport)
    names = list(CLIENTS)
    print(f"| ms, {args.tries} tries each | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for key in figures[names[0]]:
        cells = [f"{figures[n][key]:.1f}" for n in names]
        print(f"| {key} | " + " | ".join(cells) + " |")
    print()
    for case in messages[names[0]]:
        print(f"{case}:")
        for name in names:
            print(f"  {name}: {messages[name][case]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
