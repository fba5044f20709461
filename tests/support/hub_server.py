"""A local stand-in for the Hugging Face hub, close enough that real huggingface_hub talks to it.

Serves repositories from folders (``repo_id -> folder``) on 127.0.0.1 with the hub's routes:
``GET /api/models/{repo}[/revision/{rev}]`` (``?blobs=true`` adds sizes and hashes), and
``HEAD``/``GET /{repo}/resolve/{rev}/{file}`` with the hub's headers and Range support. Files
of 10 MiB or more, and weight files, are served as LFS files.

Knobs make the failure cases of a real download reproducible: a required bearer token, a
connection cut after N bytes, corrupted bytes under a true hash, Range ignored, throttled
bandwidth, LFS files redirected to a "CDN" on another origin. Every request is recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".h5", ".onnx", ".msgpack")
LFS_THRESHOLD = 10 * 1024 * 1024
SEND_CHUNK = 64 * 1024
THROTTLE_CHUNK = 16 * 1024

_API = re.compile(r"/api/models/(?P<repo>.+?)(?:/revision/(?P<rev>[^/]+))?")
_RESOLVE = re.compile(r"/(?P<repo>.+?)/resolve/(?P<rev>[^/]+)/(?P<file>.+)")
_CDN = re.compile(r"/cdn-lfs/(?P<sha256>[0-9a-f]{64})")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    range: str | None
    authorization: str | None


@dataclass(frozen=True)
class Blob:
    """A served file and the metadata the hub would publish for it."""

    name: str
    path: Path
    size: int
    sha256: str
    git_sha1: str
    lfs: bool

    @property
    def pointer(self) -> bytes:
        """The git-lfs pointer file that git stores instead of the content."""
        return (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\n"
            f"size {self.size}\n"
        ).encode()

    @property
    def blob_id(self) -> str:
        """What git (and the hub's ``blobId``) calls this file: the pointer's id for LFS."""
        return git_blob_sha1(self.pointer) if self.lfs else self.git_sha1


@dataclass
class Repo:
    repo_id: str
    commit: str
    blobs: dict[str, Blob]


def git_blob_sha1(data: bytes) -> str:
    """git's object id of a blob: sha1 over a ``blob <size>\\0`` header and the content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def load_repo(repo_id: str, folder: Path) -> Repo:
    """Index a folder as a repository at a commit derived from its content."""
    blobs: dict[str, Blob] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        name = path.relative_to(folder).as_posix()
        lfs = name.endswith(LFS_SUFFIXES) or len(data) >= LFS_THRESHOLD
        sha256 = hashlib.sha256(data).hexdigest()
        blobs[name] = Blob(name, path, len(data), sha256, git_blob_sha1(data), lfs)
    tree = "".join(f"{b.name}:{b.blob_id}\n" for b in blobs.values())
    return Repo(repo_id, hashlib.sha1(tree.encode(), usedforsecurity=False).hexdigest(), blobs)


@dataclass
class Knobs:
    """Test switches; change them between calls (they are read per request)."""

    token: str | None = None  # require "Authorization: Bearer <token>" (401 otherwise)
    ignore_range: bool = False  # answer Range requests with 200 and the whole file
    throttle_bps: int | None = None  # bandwidth limit for file bodies
    corrupt: set[str] = field(default_factory=set)  # file names served with a flipped byte
    truncate: dict[str, int] = field(default_factory=dict)  # name -> cut after N bytes, once
    stall: dict[str, int] = field(default_factory=dict)  # name -> hang after N bytes, once
    gated: bool = False  # with token: metadata is public, files need the token (GatedRepo)
    cdn_host: str | None = None  # redirect LFS bodies to http://<cdn_host>:<port>/cdn-lfs/...


class HubServer:
    """Serves ``repos`` on a random port of 127.0.0.1 from a daemon thread; use as a context."""

    def __init__(self, repos: Mapping[str, Path]) -> None:
        self.repos = {repo_id: load_repo(repo_id, Path(f)) for repo_id, f in repos.items()}
        self.knobs = Knobs()
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _HubHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._httpd.serve_forever(poll_interval=0.01)  # the interval bounds how long stop() takes

    def start(self) -> HubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections (keep-alive ones and throttled transfers)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests inspect ---

    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def body_requests(self, name: str | None = None) -> list[Recorded]:
        """GET requests that return file content (resolve or CDN), optionally for one file."""
        found = []
        for r in self.requests():
            if r.method != "GET" or not self._is_body_path(r.path):
                continue
            if name is None or self._body_name(r.path) == name:
                found.append(r)
        return found

    def blob(self, repo_id: str, name: str) -> Blob:
        return self.repos[repo_id].blobs[name]

    # --- used by the handler ---

    def record(self, handler: BaseHTTPRequestHandler) -> None:
        entry = Recorded(
            handler.command,
            handler.path,
            handler.headers.get("Range"),
            handler.headers.get("Authorization"),
        )
        with self._lock:
            self._requests.append(entry)

    def track(self, conn: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def take(self, knob: dict[str, int], name: str) -> int | None:
        """Consume a one-shot knob for ``name``."""
        with self._lock:
            return knob.pop(name, None)

    def by_sha256(self, sha256: str) -> Blob | None:
        for repo in self.repos.values():
            for blob in repo.blobs.values():
                if blob.sha256 == sha256:
                    return blob
        return None

    def wait(self, seconds: float) -> bool:
        """Sleep for throttling, returning early (True) when the server stops."""
        return self._stopping.wait(seconds)

    def _is_body_path(self, path: str) -> bool:
        plain = urlsplit(path).path
        return bool(_RESOLVE.fullmatch(plain) or _CDN.fullmatch(plain))

    def _body_name(self, path: str) -> str | None:
        plain = urlsplit(path).path
        if m := _RESOLVE.fullmatch(plain):
            return unquote(m["file"])
        if (m := _CDN.fullmatch(plain)) and (blob := self.by_sha256(m["sha256"])):
            return blob.name
        return None


class _HubHTTPServer(ThreadingHTTPServer):
    """The HTTP server, knowing the hub its handlers answer for."""

    hub: HubServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and Content-Length decides where bodies end
    server_version = "FakeHub/1.0"

    @property
    def hub(self) -> HubServer:
        assert isinstance(self.server, _HubHTTPServer)
        return self.server.hub

    def setup(self) -> None:
        super().setup()
        self.hub.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.hub.track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read ``HubServer.requests()`` instead."""

    def do_GET(self) -> None:
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:
        self._dispatch(send_body=False)

    # --- routing ---

    def _dispatch(self, send_body: bool) -> None:
        self.hub.record(self)
        parts = urlsplit(self.path)
        try:
            if m := _CDN.fullmatch(parts.path):
                self._cdn(m["sha256"], send_body)
            elif not self._authorized(parts.path):
                self._unauthorized()
            elif m := _API.fullmatch(parts.path):
                self._api(unquote(m["repo"]), unquote(m["rev"] or "main"), parts.query)
            elif m := _RESOLVE.fullmatch(parts.path):
                self._resolve(unquote(m["repo"]), unquote(m["rev"]), unquote(m["file"]), send_body)
            else:
                self._error(404, "Not Found", "Not Found")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (cancel, interrupted test)

    def _authorized(self, path: str) -> bool:
        knobs = self.hub.knobs
        if knobs.token is None or (knobs.gated and _API.fullmatch(path)):
            return True
        return self.headers.get("Authorization") == f"Bearer {knobs.token}"

    def _unauthorized(self) -> None:
        if self.headers.get("Authorization"):
            self._error(401, None, "Invalid credentials in Authorization header")
        elif self.hub.knobs.gated:
            message = (
                "Access to this model is restricted. You must have access to it "
                "and be authenticated to access it. Please log in."
            )
            self._error(401, "GatedRepo", message)
        else:
            self._error(401, None, "Access to this model is restricted. Please log in.")

    def _repo_at(self, repo_id: str, rev: str) -> Repo | None:
        """The repository if it exists and ``rev`` names its commit; else answers 404."""
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        if rev not in ("main", repo.commit):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return None
        return repo

    # --- routes ---

    def _api(self, repo_id: str, rev: str, query: str) -> None:
        repo = self._repo_at(repo_id, rev)
        if repo is None:
            return
        blobs = parse_qs(query).get("blobs") == ["true"]
        info = {
            "_id": repo.commit[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "sha": repo.commit,
            "private": False,
            "gated": "auto" if self.hub.knobs.gated else False,
            "disabled": False,
            "tags": [],
            "siblings": [_sibling(b, blobs) for b in repo.blobs.values()],
        }
        self._json(200, info)

    def _resolve(self, repo_id: str, rev: str, name: str, send_body: bool) -> None:
        repo = self._repo_at(repo_id, rev)
        if repo is None:
            return
        blob = repo.blobs.get(name)
        if blob is None:
            self._error(404, "EntryNotFound", f"{name} does not exist on {rev}")
            return
        headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{blob.blob_id}"'}
        if blob.lfs:
            headers |= {"X-Linked-Etag": f'"{blob.sha256}"', "X-Linked-Size": str(blob.size)}
        cdn = self.hub.knobs.cdn_host
        if blob.lfs and cdn is not None:
            location = f"http://{cdn}:{self.hub.port}/cdn-lfs/{blob.sha256}"
            self._send(302, {**headers, "Location": location, "Content-Length": "0"})
            return
        self._content(blob, headers, send_body)

    def _cdn(self, sha256: str, send_body: bool) -> None:
        blob = self.hub.by_sha256(sha256)
        if blob is None:
            self._error(404, None, "NoSuchKey")
            return
        self._content(blob, {"ETag": f'"{sha256}"'}, send_body)

    # --- responses ---

    def _content(self, blob: Blob, headers: dict[str, str], send_body: bool) -> None:
        """The file, or the part a Range header asks for, with the knobs applied."""
        knobs = self.hub.knobs
        start, end = 0, blob.size - 1
        status, headers = 200, {**headers, "Accept-Ranges": "bytes"}
        wanted = self.headers.get("Range")
        if wanted and not knobs.ignore_range:
            m = _RANGE.fullmatch(wanted.strip())
            if m is None or int(m[1]) >= blob.size:
                self._send(416, {"Content-Range": f"bytes */{blob.size}", "Content-Length": "0"})
                return
            start, end = int(m[1]), min(int(m[2] or blob.size - 1), blob.size - 1)
            status, headers["Content-Range"] = 206, f"bytes {start}-{end}/{blob.size}"
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Length"] = str(end - start + 1)
        self._send(status, headers)
        if send_body:
            self._body(blob, start, end + 1)

    def _body(self, blob: Blob, start: int, stop: int) -> None:
        cut = self.hub.take(self.hub.knobs.truncate, blob.name)
        stall = self.hub.take(self.hub.knobs.stall, blob.name)
        for limit in (cut, stall):
            if limit is not None:
                stop = min(stop, start + limit)
        bps = self.hub.knobs.throttle_bps
        began, sent = time.monotonic(), 0
        size = THROTTLE_CHUNK if bps else SEND_CHUNK
        corrupt = blob.name in self.hub.knobs.corrupt
        for chunk in _read(blob, start, stop, size, corrupt):
            self.wfile.write(chunk)
            sent += len(chunk)
            if bps and self.hub.wait(max(0.0, began + sent / bps - time.monotonic())):
                break
        if stall is not None:
            self.wfile.flush()
            self.hub.wait(3600)  # hang (the client's read timeout fires) until the server stops
        if cut is not None or stall is not None:
            self._cut()

    def _cut(self) -> None:
        """Drop the connection mid-body, as a network failure would."""
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def _json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self._send(status, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str) -> None:
        """The hub's error shape: JSON body plus X-Error-Code / X-Error-Message headers."""
        body = json.dumps({"error": message}).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        headers["X-Error-Message"] = message
        if code is not None:
            headers["X-Error-Code"] = code
        self._send(status, headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()


def _sibling(blob: Blob, blobs: bool) -> dict[str, object]:
    """One entry of ``siblings``, as the hub sends it with and without ``?blobs=true``."""
    if not blobs:
        return {"rfilename": blob.name}
    entry: dict[str, object] = {"rfilename": blob.name, "blobId": blob.blob_id, "size": blob.size}
    if blob.lfs:
        entry["lfs"] = {"sha256": blob.sha256, "size": blob.size, "pointerSize": len(blob.pointer)}
    return entry


def _read(blob: Blob, start: int, stop: int, chunk_size: int, corrupt: bool) -> Iterator[bytes]:
    """File bytes ``[start, stop)``, with a byte flipped mid-file if the file is corrupted."""
    flip = blob.size // 2
    with blob.path.open("rb") as stream:
        stream.seek(start)
        position = start
        while position < stop:
            chunk = stream.read(min(chunk_size, stop - position))
            if not chunk:
                return
            if corrupt and position <= flip < position + len(chunk):
                data = bytearray(chunk)
                data[flip - position] ^= 0xFF
                chunk = bytes(data)
            position += len(chunk)
            yield chunk
