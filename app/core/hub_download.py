"""Download files of a Hugging Face hub repository, with progress, cancel and resume.

``huggingface_hub`` supplies what it does well: the endpoint, the auth headers, the
repository metadata (sizes and hashes), the file URLs, its HTTP client and its error types.
The transfer loop is ours, because that is what gives the GUI a progress bar, a Cancel button
and downloads that resume where they stopped: every file of one call comes from the same
commit, is streamed into ``<dest>/<name>.part`` (continued with an HTTP Range request), checked
against the hub's hash and only then renamed into place.

No Qt here: the GUI calls :func:`download_files` from a worker thread; the progress callback
runs on that thread.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol
from urllib.parse import urlsplit

import httpx2
from huggingface_hub import HfApi, constants, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import ModelInfo, RepoSibling
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
#: Read size when hashing files already on disk (network chunks are the transport's, ≤ 64 KiB).
HASH_CHUNK = 1 << 20
#: Progress reports at most this often, plus one at the end of every file.
REPORT_INTERVAL_S = 0.1
#: The transfer rate is averaged over this window, so the time left does not jump around.
RATE_WINDOW_S = 3.0
#: ``seconds_left`` stays None until the rate has been measured for this long.
ESTIMATE_AFTER_S = 1.0
#: Plain http:// is accepted only for these hosts (a local test server, a local mirror).
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

ErrorKind = Literal[
    "offline",  # no network, DNS failure, connection refused, HF_HUB_OFFLINE set
    "auth",  # 401/403: gated or private repository, missing or rejected HF_TOKEN
    "not_found",  # repository, revision or file does not exist
    "verification",  # downloaded bytes do not match the hub's hash (the file is deleted)
    "disk_space",  # not enough free space in the destination
    "cancelled",  # the cancel event was set (the .part file is kept for a resume)
    "insecure",  # plain http:// to a non-local host, or a file name escaping dest
    "network",  # the connection broke or stalled mid-way (the .part file is kept)
    "server",  # any other unexpected answer from the server
    "filesystem",  # the destination cannot be written
]


class DownloadError(Exception):
    """A download failed; ``kind`` tells the GUI which case it is, the message tells the user."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


@dataclass(frozen=True)
class RemoteFile:
    """One file of a commit, with the hash the hub vouches for (sha256 for LFS, else git's)."""

    name: str
    size: int
    sha256: str | None
    git_sha1: str | None


@dataclass(frozen=True)
class DownloadProgress:
    """A progress report; ``done``/``total`` count every file of the call (skipped ones too)."""

    file: str
    file_done: int
    file_total: int
    done: int
    total: int
    bytes_per_second: float
    seconds_left: float | None


ProgressCallback = Callable[[DownloadProgress], None]


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


# --- public API ---


def list_files(
    repo_id: str,
    filenames: Sequence[str],
    *,
    revision: str = "main",
    endpoint: str | None = None,
    token: str | None = None,
) -> tuple[str, list[RemoteFile]]:
    """Resolve ``revision`` to a commit and return the requested files' sizes and hashes.

    One metadata call pins the commit, so files downloaded with it cannot mix two versions.
    """
    base = resolve_endpoint(endpoint)
    with _translated(base, repo_id, revision, "reading the repository"):
        info = HfApi(endpoint=base, token=token, library_name="ghostpen").model_info(
            repo_id, revision=revision, files_metadata=True, timeout=READ_TIMEOUT_S
        )
    return _commit_of(info, base), _pick(info, repo_id, filenames)


def download_files(
    repo_id: str,
    filenames: Sequence[str],
    dest: Path,
    *,
    revision: str = "main",
    endpoint: str | None = None,
    token: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[Path]:
    """Download ``filenames`` of one commit into ``dest`` and return their paths, in order.

    Complete, verified files are kept; ``.part`` files are resumed. Raises :class:`DownloadError`.
    """
    base = resolve_endpoint(endpoint)
    names = list(dict.fromkeys(filenames))  # a name given twice is fetched once
    commit, files = list_files(repo_id, names, revision=revision, endpoint=base, token=token)
    targets = [_target(dest, f.name) for f in files]
    _make_dirs(targets)
    todo = [not _is_complete(path, f, cancel) for path, f in zip(targets, files, strict=True)]
    _check_disk_space(dest, [f for f, needed in zip(files, todo, strict=True) if needed])
    meter = _Meter(sum(f.size for f in files), progress)
    fetch = _Fetcher(base, repo_id, commit, build_hf_headers(token=token, library_name="ghostpen"))
    for path, f, needed in zip(targets, files, todo, strict=True):
        _check_cancel(cancel)
        if needed:
            fetch.download(f, path, meter, cancel)
        else:
            meter.skip(f)
    return targets


def resolve_endpoint(endpoint: str | None = None) -> str:
    """The hub's base URL: the argument, else ``HF_ENDPOINT`` read now, else huggingface.co.

    huggingface_hub reads ``HF_ENDPOINT`` once at import; reading it per call lets a setting
    made later (a test, a settings dialog) apply. Raises ``insecure`` for plain remote http.
    """
    url = (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    _require_secure(url)
    return url


# --- metadata ---


def _commit_of(info: ModelInfo, endpoint: str) -> str:
    """The commit all files are fetched from (a branch could move during the download)."""
    if not info.sha:
        raise DownloadError("server", f"{_host(endpoint)} did not say which commit {info.id} is at")
    return info.sha


def _pick(info: ModelInfo, repo_id: str, filenames: Sequence[str]) -> list[RemoteFile]:
    """The requested files, all of them or an error naming the missing ones."""
    siblings = {s.rfilename: s for s in info.siblings or []}
    missing = [name for name in filenames if name not in siblings]
    if missing:
        names = ", ".join(missing)
        raise DownloadError("not_found", f"{repo_id} (commit {info.sha}) has no file {names}")
    return [_remote_file(siblings[name]) for name in filenames]


def _remote_file(sibling: RepoSibling) -> RemoteFile:
    """LFS files are checked by sha256; regular git files by their git blob id (sha1)."""
    if sibling.lfs is not None:
        return RemoteFile(sibling.rfilename, sibling.lfs.size, sibling.lfs.sha256, None)
    if sibling.size is None or sibling.blob_id is None:
        raise DownloadError(
            "server", f"the hub sent no size or hash for {sibling.rfilename}: cannot verify it"
        )
    return RemoteFile(sibling.rfilename, sibling.size, None, sibling.blob_id)


# --- local files ---


def _target(dest: Path, name: str) -> Path:
    """Where a repository file goes; a name that would escape ``dest`` is refused."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or "\\" in name or not pure.parts:
        raise DownloadError("insecure", f"refusing to write file {name!r} outside {dest}")
    return dest.joinpath(*pure.parts)


def _part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _make_dirs(targets: list[Path]) -> None:
    for path in targets:
        with _filesystem(path.parent):
            path.parent.mkdir(parents=True, exist_ok=True)


def _is_complete(path: Path, f: RemoteFile, cancel: threading.Event | None = None) -> bool:
    """An existing file counts only with the right size and hash (it may be truncated or stale)."""
    if not path.is_file() or path.stat().st_size != f.size:
        return False
    hasher = _new_hasher(f)
    _hash_file(path, hasher, cancel)
    return hasher.hexdigest() == _expected_hash(f)


def _part_size(path: Path, f: RemoteFile) -> int:
    """Bytes a ``.part`` file can contribute (one larger than the file is useless)."""
    part = _part_path(path)
    size = part.stat().st_size if part.is_file() else 0
    return size if size <= f.size else 0


def _check_disk_space(dest: Path, todo: list[RemoteFile]) -> None:
    """Fail before the first byte, rather than fill the disk and leave half a model."""
    needed = sum(f.size - _part_size(_target(dest, f.name), f) for f in todo)
    free = shutil.disk_usage(dest).free
    if needed > free:
        raise DownloadError(
            "disk_space",
            f"not enough disk space in {dest}: the download needs {_size(needed)} "
            f"but only {_size(free)} is free; free up {_size(needed - free)} and try again",
        )


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable; Windows cannot open a directory, nor needs to."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _filesystem(path: Path) -> Iterator[None]:
    """Turn OS errors on our own files into DownloadError, so callers catch one type."""
    try:
        yield
    except OSError as e:
        kind: ErrorKind = "disk_space" if e.errno == errno.ENOSPC else "filesystem"
        raise DownloadError(kind, f"cannot write {path}: {e.strerror or e}") from e


# --- hashing ---


def _new_hasher(f: RemoteFile) -> _Hasher:
    if f.sha256 is not None:
        return hashlib.sha256()
    hasher = hashlib.sha1(usedforsecurity=False)
    hasher.update(b"blob %d\0" % f.size)  # git's blob id: sha1 of header + content
    return hasher


def _expected_hash(f: RemoteFile) -> str:
    return (f.sha256 or f.git_sha1 or "").lower()


def _hash_file(path: Path, hasher: _Hasher, cancel: threading.Event | None = None) -> None:
    """Gigabytes take seconds to hash, so a cancel is honoured between chunks."""
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            _check_cancel(cancel)
            hasher.update(chunk)


def _verify(part: Path, f: RemoteFile, hasher: _Hasher) -> None:
    """A mismatch deletes the bytes: they are wrong, and resuming from them cannot help."""
    actual, expected = hasher.hexdigest(), _expected_hash(f)
    if actual != expected:
        part.unlink(missing_ok=True)
        algorithm = "sha256" if f.sha256 else "git sha1"
        raise DownloadError(
            "verification",
            f"{f.name} is corrupted ({algorithm} {actual}, expected {expected}); "
            "the bad file was deleted, download it again",
        )


# --- transfer ---


class _Fetcher:
    """Streams files of one pinned commit, resuming ``.part`` files with Range requests."""

    def __init__(self, endpoint: str, repo_id: str, commit: str, headers: dict[str, str]) -> None:
        self.endpoint, self.repo_id, self.commit = endpoint, repo_id, commit
        self.headers = {**headers, "Accept-Encoding": "identity"}  # byte offsets must be raw

    def download(
        self, f: RemoteFile, path: Path, meter: _Meter, cancel: threading.Event | None
    ) -> None:
        """Fetch what is missing of ``f`` into its ``.part``, verify it, move it into place."""
        part = _part_path(path)
        offset = _part_size(path, f)
        hasher = _new_hasher(f)
        if offset:  # hashed before the request, so a long hash cannot stall an open connection
            _hash_file(part, hasher, cancel)
        if offset < f.size or not part.is_file():
            hasher = self._stream(f, part, offset, hasher, meter, cancel)
        else:
            meter.begin(f, offset)
        _verify(part, f, hasher)
        with _filesystem(path):
            os.replace(part, path)
            _fsync_dir(path.parent)
        meter.end()

    def _stream(
        self,
        f: RemoteFile,
        part: Path,
        offset: int,
        hasher: _Hasher,
        meter: _Meter,
        cancel: threading.Event | None,
    ) -> _Hasher:
        """One GET from ``offset``; returns the hasher that has seen the whole ``.part``."""
        url = hf_hub_url(self.repo_id, f.name, revision=self.commit, endpoint=self.endpoint)
        headers = {**self.headers, "Range": f"bytes={offset}-"} if offset else self.headers
        what = f"downloading {f.name}"
        with (
            _translated(self.endpoint, self.repo_id, self.commit, what, f.name),
            get_session().stream("GET", url, headers=headers, timeout=_timeout()) as response,
        ):
            _raise_for_status(response)
            _require_secure(str(response.url))  # a redirect must not downgrade to plain http
            if _resume_offset(response, offset, f.name) != offset:
                offset, hasher = 0, _new_hasher(f)  # Range ignored: start over
            meter.begin(f, offset)
            with _filesystem(part), part.open("ab" if offset else "wb") as out:
                _copy(response, out, hasher, meter, cancel, f)
                out.flush()
                os.fsync(out.fileno())
        return hasher


def _copy(
    response: httpx2.Response,
    out: _Writer,
    hasher: _Hasher,
    meter: _Meter,
    cancel: threading.Event | None,
    f: RemoteFile,
) -> None:
    """The transfer loop: write, hash, report; cancel is honoured between chunks."""
    written = meter.file_done
    for chunk in response.iter_raw():
        _check_cancel(cancel)
        written += len(chunk)
        if written > f.size:
            raise DownloadError("server", f"the server sent more than {f.size} bytes for {f.name}")
        out.write(chunk)
        hasher.update(chunk)
        meter.advance(len(chunk))
    if written < f.size:
        raise DownloadError(
            "network",
            f"the connection closed after {written} of {f.size} bytes of {f.name}; "
            "try again to resume",
        )


class _Writer(Protocol):
    def write(self, data: bytes, /) -> int: ...


def _timeout() -> httpx2.Timeout:
    """Per call, so the limits above stay plain numbers (a test shortens them)."""
    return httpx2.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadError(
            "cancelled", "download cancelled; the partial file is kept and the next one resumes it"
        )


def _raise_for_status(response: httpx2.Response) -> None:
    """Let huggingface_hub classify errors (it reads X-Error-Code), after reading the body."""
    if response.status_code >= 400:
        response.read()
        hf_raise_for_status(response)


def _resume_offset(response: httpx2.Response, offset: int, name: str) -> int:
    """206 continues the part at ``offset``; 200 (Range ignored) restarts it from zero."""
    if response.status_code == 200:
        return 0
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
    if response.status_code == 206 and match and int(match[1]) == offset:
        return offset
    raise DownloadError(
        "server",
        f"unexpected answer to the request for {name} from byte {offset}: "
        f"HTTP {response.status_code}, Content-Range {response.headers.get('Content-Range')}",
    )


# --- progress ---


class _Meter:
    """Turns byte counts into throttled :class:`DownloadProgress` reports with a smoothed rate."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.done, self._callback = total, 0, callback
        self.file, self.file_total, self.file_done = "", 0, 0
        self._moved = 0  # bytes received in this call: the rate counts only these
        self._samples: deque[tuple[float, int]] = deque()
        self._last_report = float("-inf")

    def begin(self, f: RemoteFile, offset: int) -> None:
        """Start a file; bytes already on disk count as done once the server confirmed them."""
        self.file, self.file_total, self.file_done = f.name, f.size, offset
        self.done += offset
        if not self._samples:
            self._samples.append((time.monotonic(), 0))

    def advance(self, count: int) -> None:
        self.file_done += count
        self.done += count
        self._moved += count
        now = time.monotonic()
        self._samples.append((now, self._moved))
        while len(self._samples) > 2 and self._samples[1][0] <= now - RATE_WINDOW_S:
            self._samples.popleft()
        if now - self._last_report >= REPORT_INTERVAL_S and self.file_done < self.file_total:
            self._report(now)  # the end of a file is reported by end()

    def end(self) -> None:
        self._report(time.monotonic())

    def skip(self, f: RemoteFile) -> None:
        """An already complete file: report it done, without touching the rate."""
        self.file, self.file_total, self.file_done = f.name, f.size, f.size
        self.done += f.size
        self.end()

    def rate(self, now: float) -> tuple[float, float]:
        """Bytes per second over the window, and how many seconds that window spans."""
        if not self._samples:
            return 0.0, 0.0
        start, moved = self._samples[0]
        span = now - start
        return ((self._moved - moved) / span if span > 0 else 0.0), span

    def _report(self, now: float) -> None:
        self._last_report = now
        if self._callback is None:
            return
        rate, span = self.rate(now)
        # Under a second of data, an estimate of the time left would be noise.
        steady = rate > 0 and span >= ESTIMATE_AFTER_S
        left = (self.total - self.done) / rate if steady else None
        if self.done >= self.total:
            left = 0.0
        self._callback(
            DownloadProgress(
                self.file, self.file_done, self.file_total, self.done, self.total, rate, left
            )
        )


# --- errors and URLs ---


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _require_secure(url: str) -> None:
    """Model files are fetched over HTTPS only; plain http just for a server on this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return
    raise DownloadError(
        "insecure",
        f"refusing to download from {url}: only https:// addresses are allowed "
        "(plain http:// only for localhost); check HF_ENDPOINT",
    )


@contextmanager
def _translated(
    endpoint: str, repo_id: str, revision: str, what: str, filename: str | None = None
) -> Iterator[None]:
    """Map huggingface_hub and httpx2 failures to DownloadError kinds with actionable messages."""
    host = _host(endpoint)
    try:
        yield
    except OfflineModeIsEnabled as e:
        raise DownloadError(
            "offline", "HF_HUB_OFFLINE is set, so downloads are disabled; unset it to download"
        ) from e
    except (httpx2.ConnectError, httpx2.ConnectTimeout) as e:
        raise DownloadError(
            "offline",
            f"cannot reach {host} ({endpoint}): you appear to be offline; "
            f"check your internet connection and try again ({e})",
        ) from e
    except httpx2.TimeoutException as e:
        raise DownloadError(
            "network",
            f"{host} stopped answering while {what} (nothing for {READ_TIMEOUT_S:g} s); "
            "try again later, finished and partial files are kept",
        ) from e
    except httpx2.TransportError as e:
        raise DownloadError(
            "network", f"the connection to {host} broke while {what} ({e}); try again to resume"
        ) from e
    except HFValidationError as e:
        raise DownloadError("not_found", f"{repo_id!r} is not a valid repository name: {e}") from e
    except HfHubHTTPError as e:
        raise _http_error(e, host, repo_id, revision, what, filename) from e


def _http_error(
    e: HfHubHTTPError, host: str, repo_id: str, revision: str, what: str, filename: str | None
) -> DownloadError:
    status = e.response.status_code
    if isinstance(e, GatedRepoError) or status in (401, 403):
        return _auth_error(e, host, repo_id, status)
    if isinstance(e, RevisionNotFoundError):
        return DownloadError("not_found", f"{repo_id} has no revision {revision!r} on {host}")
    if isinstance(e, RemoteEntryNotFoundError) or (status == 404 and filename):
        return DownloadError("not_found", f"{repo_id} has no file {filename} on {host}")
    if status == 404:
        return DownloadError("not_found", f"repository {repo_id} does not exist on {host}")
    return DownloadError(
        "server", f"{host} answered HTTP {status} while {what}; try again later ({e})"
    )


def _auth_error(e: HfHubHTTPError, host: str, repo_id: str, status: int) -> DownloadError:
    """401/403: say whether a token was sent, since that decides what the user must do."""
    if "authorization" in e.response.request.headers:
        advice = (
            "the access token (HF_TOKEN) was refused or lacks access; check it, and accept "
            f"the repository's terms on {host} if it is gated"
        )
    else:
        advice = (
            "the repository is gated or private (or does not exist): accept its terms on "
            f"{host}, then set HF_TOKEN to an access token of your account"
        )
    return DownloadError("auth", f"access to {repo_id} denied (HTTP {status}): {advice}")


def _size(count: int) -> str:
    """Human-readable byte count for messages."""
    if count < 1000:
        return f"{count} bytes"
    value, unit = count / 1000, "KB"
    for bigger in ("MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}"
