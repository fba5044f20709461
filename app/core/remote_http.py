"""The remote engine's transport: HTTP, Server-Sent Events and cancellation, over httpx2.

httpx2 (the client huggingface_hub 2 uses) does HTTP/1.1, keep-alive, TLS, timeouts and
SSE parsing. What it does not do, and this module adds:

- **Cancellation from another thread.** A newer keystroke makes the running request
  worthless, and the server must stop generating for it too. A blocking read is
  interrupted by shutting the connection's socket down from another thread (a plain
  close does not wake a blocked ``recv``): :meth:`HttpTransport.abort` does it, and for a
  caller's cancel event a small watcher thread waits on the event and does it. The
  socket comes from httpcore's documented ``trace`` extension (the connection's stream
  as it is opened); the pool holds one connection, so the last one opened is the one in
  use. The closed connection is how the server learns that nobody listens:
  llama-server and llama-cpp-python check for it between tokens.
- **One retry of a kept-alive connection** that the server closed while it was idle
  (the request then finds the connection gone before any answer): reconnect once.
- **A bounded drain.** After ``data: [DONE]`` the rest of the body should follow at
  once; it is read (so the connection serves the next request) for at most
  :data:`DRAIN_TIMEOUT_S`, then the connection is dropped.
- **Errors that name the server,** as :class:`~app.core.engine_api.EngineError`: refused
  connections, unknown hosts, TLS failures, timeouts, answers that are not HTTP, lost
  connections. A status outside 2xx is a :class:`HttpStatusError` with the body, for the
  protocol layer (:mod:`app.core.openai_protocol`) to explain.
- **Limits** on what a server may send: an answer, an error body, one event.

Like the ``http.client`` code it replaced, it takes nothing from the environment (no
proxy, netrc or CA bundle variables beyond what ``ssl.create_default_context`` reads),
keeps no cookies and follows no redirects. One difference: an event whose blank line
never came (the body ended first) is dropped, as the SSE standard says, where the old
parser took it.

It knows nothing of OpenAI's API: :mod:`app.core.openai_protocol` builds the requests
and reads the answers, :mod:`app.core.remote_engine` drives both.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import httpx2

from app.core.engine_api import EngineError

#: The watcher thread wakes at once when the caller's cancel event is set; this is how
#: often it checks whether its call has ended (so it outlives the call by at most this).
CANCEL_POLL_S = 0.02
#: After ``data: [DONE]`` the rest of the response should follow at once; if it does
#: not within this time the connection is dropped rather than kept for reuse.
DRAIN_TIMEOUT_S = 0.5
MAX_EVENT = 1 << 20
MAX_BODY = 16 << 20
MAX_ERROR_BODY = 1 << 16


class Cancelled(Exception):
    """The running call's cancel event was set; its IO was abandoned."""


class HttpStatusError(Exception):
    """The server answered with a status outside 2xx (``body``: the start of its body)."""

    def __init__(self, status: int, reason: str, body: bytes, content_type: str) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.reason = reason
        self.body = body
        self.content_type = content_type


class ConnectionLost(EngineError):
    """The connection ended in the middle of a streamed answer; ``why`` says how."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


@dataclass(frozen=True)
class ServerUrl:
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


def parse_base_url(url: str) -> ServerUrl:
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
    return ServerUrl(scheme, host, port or default_port, prefix.rstrip("/"))


class Interrupter:
    """Interrupts the blocking IO of the running call by shutting its socket down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the socket and the running call's token
        self._sock: socket.socket | None = None
        self._call: threading.Event | None = None  # set when the running call ends
        self._cancel: threading.Event | None = None  # the running call's cancel event

    def attach(self, sock: socket.socket | None) -> None:
        """The socket the running call reads from now (None: none). A connection opened
        after its call was cancelled is shut at once (the watcher has come and gone)."""
        with self._lock:
            self._sock = sock
            if self._cancel is not None and self._cancel.is_set():
                self.hang_up()

    @contextmanager
    def call(self, cancel: threading.Event, *, watch: bool) -> Iterator[None]:
        """One call; with ``watch``, setting ``cancel`` interrupts it from any thread."""
        call = threading.Event()
        with self._lock:
            self._call, self._cancel = call, cancel
        if watch:
            threading.Thread(
                target=self._watch, args=(cancel, call), name="ghostpen-remote-cancel",
                daemon=True,
            ).start()  # fmt: skip
        try:
            yield
        finally:
            with self._lock:
                call.set()
                self._call = self._cancel = None

    def abort(self, call: threading.Event | None = None) -> None:
        """Interrupt a blocking send or read of the running call (no-op between calls)."""
        with self._lock:
            running = self._call
            if running is None or running.is_set() or (call is not None and call is not running):
                return
            self.hang_up()

    def hang_up(self) -> None:
        """Shut the socket down now: a blocked read returns, the server sees the end."""
        sock = self._sock
        if sock is not None:
            # The plain socket's shutdown (also under TLS) wakes a blocked recv.
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _watch(self, cancel: threading.Event, call: threading.Event) -> None:
        """Shut the running call's connection when the caller's event is set."""
        while not call.is_set():
            if cancel.wait(CANCEL_POLL_S):
                self.abort(call)
                return


class Answer:
    """A response being read: Server-Sent Events, or a whole body.

    Leaving :meth:`HttpTransport.stream` without :meth:`finish` hangs up, which tells
    the server to stop generating.
    """

    def __init__(
        self, transport: HttpTransport, response: httpx2.Response, cancel: threading.Event
    ) -> None:
        self._transport = transport
        self._response = response
        self._cancel = cancel
        self._events: Iterator[httpx2.ServerSentEvent] | None = None
        self.content_type = (response.headers.get("Content-Type") or "").lower()

    def events(self) -> Iterator[str]:
        """Each event's data, until the body ends. An event without data is skipped."""
        if self._events is None:
            self._events = iter(httpx2.EventSource(self._response, max_event_size=MAX_EVENT))
        what = "the completion stream"
        while True:
            if self._cancel.is_set():
                raise Cancelled
            try:
                event = next(self._events)
            except StopIteration:
                break
            except httpx2.SSEError:
                raise EngineError(
                    f"the server at {self._transport.base_url} sent an over-long event"
                ) from None
            except httpx2.TimeoutException:
                self._check_cancel()
                raise EngineError(self._transport.timeout_message(what)) from None
            except httpx2.HTTPError as exc:
                self._check_cancel()
                raise ConnectionLost(
                    f"the connection to {self._transport.base_url} was lost mid-stream "
                    f"({_why(exc)})",
                    _why(exc),
                ) from None
            if event.data:
                yield event.data
        self._check_cancel()  # a shut socket reads as the end of the body

    def read(self, what: str) -> bytes:
        """The whole body (an :class:`EngineError` if it is over :data:`MAX_BODY`)."""
        raw = self._transport.read_body(self._response, MAX_BODY + 1, self._cancel, what)
        if len(raw) > MAX_BODY:
            raise EngineError(f"{what}: the answer of {self._transport.base_url} is too large")
        return raw

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled

    def finish(self) -> None:
        """Read the rest of the body so the connection can serve the next request."""
        if self._events is None:
            return  # a JSON answer: read whole already
        timer = threading.Timer(DRAIN_TIMEOUT_S, self._transport.interrupter.hang_up)
        timer.start()
        try:
            for _event in self._events:
                pass
        except httpx2.HTTPError:
            pass  # the connection is dropped when the response closes
        finally:
            timer.cancel()


class HttpTransport:
    """One server's HTTP connection (kept alive); one call at a time."""

    def __init__(
        self,
        url: ServerUrl,
        *,
        api_key: str | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self._url = url
        #: The server's address as used (no trailing ``/v1``), for messages.
        self.base_url = url.text
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self.interrupter = Interrupter()
        self._opened = False  # a connection was opened during the current request
        headers = {"User-Agent": "ghostpen", "Accept-Encoding": "identity"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx2.Client(
            headers=headers,
            timeout=httpx2.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1),
            verify=ssl.create_default_context() if url.scheme == "https" else False,
            trust_env=False,  # no proxy, netrc or CA bundle from the environment
            follow_redirects=False,
            # A completion server needs no cookies, and none are kept between requests.
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        )

    def call(self, cancel: threading.Event, *, watch: bool) -> AbstractContextManager[None]:
        """A context for one call; see :meth:`Interrupter.call`."""
        return self.interrupter.call(cancel, watch=watch)

    def abort(self) -> None:
        """Interrupt the running call's IO (any thread; no-op between calls)."""
        self.interrupter.abort()

    def close(self) -> None:
        self.interrupter.hang_up()
        self._client.close()

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
    ) -> Iterator[Answer]:
        """Send a request and yield its answer once the head has come (2xx only)."""
        response = self._send(method, path, payload, cancel, what, events)
        try:
            if not 200 <= response.status_code < 300:
                body = self.read_body(response, MAX_ERROR_BODY, cancel, what, quiet=True)
                raise HttpStatusError(
                    response.status_code,
                    response.reason_phrase,
                    body,
                    response.headers.get("Content-Type") or "",
                )
            yield Answer(self, response, cancel)
        finally:
            response.close()  # an unread body closes the connection: the server stops

    def read_body(
        self,
        response: httpx2.Response,
        limit: int,
        cancel: threading.Event,
        what: str,
        *,
        quiet: bool = False,
    ) -> bytes:
        """Up to ``limit`` bytes of the body (``quiet``: what came, whatever fails)."""
        data = bytearray()
        try:
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) >= limit:
                    break
        except httpx2.HTTPError as exc:
            self._check_cancel(cancel)
            if quiet:
                return bytes(data[:limit])
            if isinstance(exc, httpx2.TimeoutException):
                raise EngineError(self.timeout_message(what)) from None
            raise EngineError(
                f"{what} failed: the connection to {self.base_url} was lost ({_why(exc)})"
            ) from None
        return bytes(data[:limit])

    def _send(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        cancel: threading.Event,
        what: str,
        events: bool,
    ) -> httpx2.Response:
        """The response's head (retries a kept-alive connection the server closed, once)."""
        headers = {"Accept": "text/event-stream" if events else "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = self._client.build_request(
            method, self.base_url + path, content=body, headers=headers,
            extensions={"trace": self._trace},
        )  # fmt: skip
        for attempt in (1, 2):
            self._check_cancel(cancel)
            self._opened = False
            try:
                return self._client.send(request, stream=True)
            except httpx2.HTTPError as exc:
                self._check_cancel(cancel)
                if attempt == 1 and not self._opened and _disconnected(exc):
                    continue  # the server closed the idle connection: reconnect once
                raise self._failure(exc, what) from None
        raise AssertionError("unreachable")

    def _trace(self, name: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace: note the socket of each connection as it opens."""
        if name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            self.interrupter.attach(sock)
            self._opened = True

    def _failure(self, exc: httpx2.HTTPError, what: str) -> EngineError:
        """What went wrong before the answer's head, in words that name the server."""
        where = f"cannot connect to {self.base_url}"
        if isinstance(exc, httpx2.ConnectTimeout):
            return EngineError(
                f"{where}: no answer within {self._connect_timeout:g} s (connect timeout)"
            )
        if isinstance(exc, httpx2.TimeoutException):
            return EngineError(self.timeout_message(what))
        if isinstance(exc, httpx2.ConnectError):
            cause = _root(exc)
            if isinstance(cause, ssl.SSLCertVerificationError):
                return EngineError(
                    f"{where}: its TLS certificate could not be verified ({cause.verify_message})"
                )
            if isinstance(cause, ssl.SSLError):
                return EngineError(f"{where}: TLS failed ({cause})")
            if isinstance(cause, socket.gaierror):
                return EngineError(f"{where}: unknown host {self._url.host!r}")
            if isinstance(cause, ConnectionRefusedError):
                return EngineError(
                    f"{where}: connection refused (is the server running, and on this port?)"
                )
            return EngineError(f"{where}: {cause}")
        if isinstance(exc, httpx2.RemoteProtocolError):
            if not _disconnected(exc):
                return EngineError(
                    f"{self.base_url} is not an HTTP server (it answered {what} with "
                    "something that is not HTTP)"
                )
            if self._opened:  # a new connection, closed before an answer's head
                return EngineError(
                    f"{what} failed: {self.base_url} closed the connection without an HTTP "
                    "answer (is it an HTTP server, and is this its port?)"
                )
        return EngineError(
            f"{what} failed: the connection to {self.base_url} was lost ({_why(exc)})"
        )

    def _check_cancel(self, cancel: threading.Event) -> None:
        if cancel.is_set():
            raise Cancelled


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it, outermost first (httpx2 wraps httpcore's error, which
    wraps the ``OSError`` or h11's error)."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _root(exc: BaseException) -> BaseException:
    """The innermost cause."""
    *_, root = _causes(exc)
    return root


def _disconnected(exc: httpx2.HTTPError) -> bool:
    """The connection ended before an answer (not an answer that is not HTTP)."""
    if isinstance(exc, (httpx2.ReadError, httpx2.WriteError)):
        return True
    if not isinstance(exc, httpx2.RemoteProtocolError):
        return False
    # h11 rejected the bytes: they were not HTTP
    return not any(type(c).__module__.split(".")[0] == "h11" for c in _causes(exc))


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
