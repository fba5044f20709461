"""Run llama-cpp-python's OpenAI-compatible server on a test model, for the remote engine.

``python -m llama_cpp.server`` is started as a real subprocess (the interpreter running
the tests, so the same llama.cpp build) on a free port of 127.0.0.1. Readiness is
polled on ``GET /v1/models`` with a deadline; if the process dies or never answers, the
error carries the end of its log. On exit the process is terminated, then killed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: How long a server may take to load the model and answer (it takes ~1.5 s here).
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LlamaServer:
    url: str  # http://127.0.0.1:PORT
    model_id: str  # the id /v1/models lists (llama-cpp-python uses the model's path)
    api_key: str | None
    process: subprocess.Popen[bytes]
    log: Path
    start_s: float  # from launch to the first answer of /v1/models

    def log_tail(self, chars: int = 3000) -> str:
        return _tail(self.log, chars)


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(
    model: str | Path,
    *,
    n_ctx: int = 128,
    api_key: str | None = None,
    extra_args: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT_S,
) -> Iterator[LlamaServer]:
    """Serve ``model`` until the block ends.

    ``n_ctx`` defaults to 128, the tiny test model's training context: GPT-2's learned
    positions end there, so a bigger context would only allow garbage.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(max(1, min(os.cpu_count() or 1, 8))),
        "--verbose", "False",
        *(["--api_key", api_key] if api_key else []),
        *extra_args,
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="llama-server-") as folder:
        log = Path(folder) / "server.log"
        with log.open("wb") as sink:
            # A file, not a pipe: a chatty server can never block on a full pipe.
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            started = time.perf_counter()
            model_id = _wait_ready(url, api_key, process, log, start_timeout)
            yield LlamaServer(url, model_id, api_key, process, log, time.perf_counter() - started)
        finally:
            _stop(process)


def _wait_ready(
    url: str,
    api_key: str | None,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
) -> str:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"{url}/v1/models")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    while True:
        code = process.poll()
        if code is not None:
            raise RuntimeError(
                f"llama_cpp.server exited with code {code} before answering:\n{_tail(log)}"
            )
        try:
            with urllib.request.urlopen(request, timeout=2.0) as answer:
                models = json.load(answer)
            return str(models["data"][0]["id"])
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        if time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(
                f"llama_cpp.server did not answer GET /v1/models within {timeout:g} s:\n"
                f"{_tail(log)}"
            )
        time.sleep(0.05)  # poll interval of the readiness check, not a wait for a result


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


def _tail(log: Path, chars: int = 3000) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return text[-chars:]
