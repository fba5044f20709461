"""Load a model once in a throwaway process before Ghostpen loads it for real.

``gguf_info`` rejects every broken file it knows how to recognise, but llama.cpp trusts
its input and stops the whole process (``GGML_ASSERT`` -> ``abort()``, or a bad read ->
``SIGSEGV``) on anything it did not expect. In the GUI that process holds the writer's
unsaved text. So the first time a file is used, :func:`probe_model` loads it in a
short-lived child process (``python -m app.core.model_probe PATH``): the child builds a
context and evaluates a few tokens (the vocabulary alone is not enough: tensor types and
shapes only bite when the graph runs) and reports back. A crash, an error or a hang
(killed after ``timeout_s``) costs the child, never the app.

Files that passed are remembered in a small JSON cache (``model-probe.json`` in the cache
folder, or the file ``$GHOSTPEN_PROBE_CACHE`` names), so the probe runs once per file.
The key is the llama-cpp-python version plus a SHA-256 of the size, the first 16 MiB and
the last 1 MiB of the file; not its path or mtime, so a copy into the model store, a
rename or a ``touch`` keeps the pass. Why not the full SHA-256: it costs seconds on a
multi-GB model at every load, which is what the cache exists to avoid, while 17 MiB
hash in ~20 ms. And the head covers every byte that can make llama.cpp crash: header,
metadata, tokenizer and tensor index (2 MB for GPT-2, 6.5 MB for the 262k-token Gemma 3
vocabulary). The tensor data in between is only ever read as numbers: the tests flip
bytes there and llama.cpp loads the result (garbage weights, NaN logits, never a crash).
A file whose metadata is longer than 16 MiB is covered for its first 16 MiB only.
Failures are not cached: they may be transient (a timeout on a busy machine, low
memory), and a second try costs a second, not a crash.

Never imports Qt (and does not import llama_cpp in the parent either).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.paths import AppPaths, atomic_write

__all__ = [
    "PROBE_FLAG",
    "ProbeCache",
    "ProbeError",
    "ProbeResult",
    "default_cache_file",
    "ensure_loadable",
    "file_fingerprint",
    "probe_command",
    "probe_model",
]

CACHE_FILE = "model-probe.json"
#: Names another cache file (tests point every test's probes at one file per session).
CACHE_ENV = "GHOSTPEN_PROBE_CACHE"
CACHE_SCHEMA = 1
#: Entries kept in the cache (the oldest probes go first).
MAX_ENTRIES = 256
HEAD_BYTES = 16 << 20
TAIL_BYTES = 1 << 20
#: Lines of the child's stderr kept in a result.
STDERR_LINES = 20
#: A frozen build (PyInstaller) has no ``-m``: its entry point must hand this flag to main().
PROBE_FLAG = "--ghostpen-model-probe"
#: Text the child evaluates: a few ordinary tokens.
PROBE_TEXT = "The quick brown fox"
#: The child's report is the stdout line that starts with this marker.
_REPORT = "GHOSTPEN-PROBE "
#: Exit status of a child that ran to the end but found the model unusable (EX_DATAERR;
#: not 3, which is what abort() exits with on Windows).
_REFUSED = 65
_POLL_S = 0.1
#: Lines of llama.cpp's stderr that say why it stopped: an assertion or abort...
_CRASH_LINE = re.compile(
    r"GGML_ASSERT|GGML_ABORT|fatal error|unsupported types|terminate called|what\(\)"
)
#: ...or the loader's refusal, whose detail is often on the GGUF parser's line before it.
_REFUSAL = re.compile(r"error loading model: (.*)")
_GENERIC = re.compile(
    r"failed to load model from|failed to read (header|key-value pairs|tensor info|tensor data)$"
)
#: "/tmp/pip-build/vendor/llama.cpp/ggml/src/ggml.c:12: ..." -> "ggml/src/ggml.c:12: ..."
_BUILD_PATH = re.compile(r"^\S*?llama\.cpp/")


class ProbeError(Exception):
    """llama.cpp cannot load the file safely; the message names the file and says why."""

    def __init__(self, result: ProbeResult) -> None:
        self.result = result
        super().__init__(result.message)


@dataclass(frozen=True)
class ProbeResult:
    """What one probe (or the cache) found out about a file."""

    path: Path
    ok: bool
    cached: bool = False
    returncode: int | None = None  # None: no child ran (a cached pass, or it could not start)
    signal_name: str | None = None  # e.g. "SIGABRT" when the child was killed by a signal
    timed_out: bool = False
    timeout_s: float = 0.0
    cancelled: bool = False
    problem: str = ""  # one line: the key line of llama.cpp's output, or the child's error
    stderr_tail: tuple[str, ...] = ()  # the last lines of llama.cpp's log
    elapsed_ms: float = 0.0
    report: dict[str, Any] = field(default_factory=dict)  # the child's figures (n_vocab...)

    @property
    def refused(self) -> bool:
        """llama.cpp said no politely (an error it returns), and the child reported it."""
        return not self.ok and self.returncode == _REFUSED and bool(self.report)

    @property
    def crashed(self) -> bool:
        """The child died: a signal, an abort's exit code, an uncaught exception."""
        stopped = self.timed_out or self.cancelled or self.returncode is None
        return not self.ok and not stopped and not self.refused

    @property
    def message(self) -> str:
        if self.ok:
            return f"{self.path}: llama.cpp loads it"
        detail = f": {self.problem}" if self.problem else ""
        if self.timed_out:
            what = (
                "llama.cpp did not finish loading it within the time allowed "
                f"({self.timeout_s:g} s), so the test load was stopped"
            )
        elif self.cancelled:
            what = "the test load was cancelled"
        elif self.refused:
            what = f"llama.cpp could not load it{detail}"
        elif self.crashed and self.returncode != 1:  # 1: a Python error in the child
            how = self.signal_name or _describe_exit(self.returncode)
            what = f"llama.cpp crashed while loading it ({how}){detail}"
        else:
            what = f"the test load failed ({_describe_exit(self.returncode)}){detail}"
        return f"{self.path}: {what}; Ghostpen did not load it"

    def raise_for_failure(self) -> None:
        if not self.ok:
            raise ProbeError(self)


# ----------------------------------------------------------------------------- the cache


def file_fingerprint(path: Path) -> str:
    """SHA-256 of the size, the head (metadata and tensor index) and the tail of a file."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        digest = hashlib.sha256(str(size).encode())
        digest.update(fh.read(HEAD_BYTES))
        if size > HEAD_BYTES:
            fh.seek(max(HEAD_BYTES, size - TAIL_BYTES))
            digest.update(fh.read(TAIL_BYTES))
    return digest.hexdigest()


def _llama_version() -> str:
    module = sys.modules.get("llama_cpp")
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    try:
        from importlib.metadata import version as dist_version

        return dist_version("llama_cpp_python")
    except Exception:  # a frozen build may lack the metadata
        return "unknown"


def default_cache_file() -> Path:
    """``$GHOSTPEN_PROBE_CACHE`` (tests share one per session), else the cache folder."""
    override = os.environ.get(CACHE_ENV, "")
    return Path(override) if override else AppPaths.default().cache_dir / CACHE_FILE


class ProbeCache:
    """Files that loaded in a probe, keyed by content (see the module docstring)."""

    _lock = threading.Lock()  # one process, several threads: no lost updates

    def __init__(self, file: Path | None = None) -> None:
        self.file = file or default_cache_file()

    def key(self, path: Path) -> str | None:
        """The file's cache key, or None when it cannot be read."""
        try:
            return f"{_llama_version()}:{file_fingerprint(path)}"
        except OSError:
            return None

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or corrupt: probe again, never fail a load over it
        if not isinstance(data, dict) or data.get("schema") != CACHE_SCHEMA:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        data = {"schema": CACHE_SCHEMA, "entries": entries}
        with contextlib.suppress(OSError):  # unwritable: we only probe again next time
            atomic_write(self.file, json.dumps(data, indent=1).encode("utf-8"))

    def has(self, key: str | None) -> bool:
        if key is None:
            return False
        with self._lock:
            return isinstance(self._read().get(key), dict)

    def add(self, key: str | None, path: Path, elapsed_ms: float) -> None:
        """Record a pass; the oldest entries go beyond MAX_ENTRIES."""
        if key is None:
            return
        entry = {"path": str(path.resolve()), "probed": time.time(), "ms": round(elapsed_ms, 1)}
        with self._lock:
            entries = self._read()
            entries[key] = entry
            if len(entries) > MAX_ENTRIES:
                oldest = sorted(entries, key=lambda k: float(entries[k].get("probed", 0)))
                for stale in oldest[: len(entries) - MAX_ENTRIES]:
                    del entries[stale]
            self._write(entries)

    def passed(self, path: Path) -> bool:
        """True when these exact bytes already loaded in a probe with this llama.cpp."""
        return self.has(self.key(path))

    def forget(self, path: Path) -> None:
        key = self.key(path)
        with self._lock:
            entries = self._read()
            if key is not None and entries.pop(key, None) is not None:
                self._write(entries)


# ----------------------------------------------------------------------------- the parent


#: How long a probe may take before its child is killed and the load refused. Generous:
#: a model of many layers on a busy machine takes tens of seconds.
PROBE_TIMEOUT_S = 60.0


def probe_command(path: Path) -> list[str]:
    """The child's command line: ``python -m app.core.model_probe``, or the frozen app."""
    if getattr(sys, "frozen", False):
        return [sys.executable, PROBE_FLAG, str(path)]
    return [sys.executable, "-m", "app.core.model_probe", str(path)]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # ggml's crash handler may attach gdb to print a backtrace: slow, and noise here.
    env["GGML_NO_BACKTRACE"] = "1"
    # The child must import this package whatever the working folder is.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code > 0xC0000000:  # Windows NTSTATUS: 0xC0000005 access violation, 0xC0000409 ...
        return f"exit code 0x{code:08X}"
    return f"exit code {code}"


def _signal_name(code: int | None) -> str | None:
    if code is None or code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _key_line(lines: Sequence[str], *, crashed: bool) -> str:
    """The line of llama.cpp's output that best says what went wrong."""
    found = ""
    if crashed:
        for i in range(len(lines) - 1, -1, -1):
            if _CRASH_LINE.search(lines[i]):
                found = lines[i].strip()
                # "terminate called after throwing ..." is followed by "what(): <reason>"
                if found.startswith("what()") and i and "terminate called" in lines[i - 1]:
                    found = f"{lines[i - 1].strip()} {found}"
                break
    else:
        for i in range(len(lines) - 1, -1, -1):
            match = _REFUSAL.search(lines[i])
            if match:
                found = match[1].strip()
                if _GENERIC.search(found):
                    parser = [
                        ln.strip() for ln in lines[max(0, i - 6) : i] if ln.startswith("gguf_")
                    ]
                    specific = [ln for ln in parser if not _GENERIC.search(ln)]
                    found = (specific or parser or [found])[-1]
                break
    if not found and lines:
        found = f"its last words were {lines[-1].strip()!r}"
    return _BUILD_PATH.sub("", found)


def probe_model(
    path: str | Path,
    *,
    timeout_s: float = PROBE_TIMEOUT_S,
    cancel: threading.Event | None = None,
    cache: ProbeCache | None = None,
    use_cache: bool = True,
) -> ProbeResult:
    """Load ``path`` with llama.cpp in a child process; never raises for a bad file.

    A cached pass returns at once (``cached=True``) without starting a process.
    """
    path = Path(path)
    cache = cache or ProbeCache()
    key = cache.key(path) if use_cache else None
    if cache.has(key):
        return ProbeResult(path, ok=True, cached=True)
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            probe_command(path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_env(),
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # no console flash
        )
    except OSError as exc:
        return ProbeResult(path, ok=False, problem=f"cannot start the test load: {exc}")
    deadline = started + timeout_s
    timed_out = cancelled = False
    while True:
        wait = min(_POLL_S, max(0.0, deadline - time.perf_counter()))
        try:
            out, err = proc.communicate(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            cancelled = cancel is not None and cancel.is_set()
            timed_out = time.perf_counter() >= deadline
            if cancelled or timed_out:
                proc.kill()
                out, err = proc.communicate()
                break
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    lines = [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
    tail = tuple(lines[-STDERR_LINES:])
    report = _parse_report(out)
    if timed_out or cancelled:
        return ProbeResult(
            path, ok=False, returncode=proc.returncode, timed_out=timed_out,
            timeout_s=timeout_s, cancelled=cancelled and not timed_out, stderr_tail=tail,
            elapsed_ms=elapsed_ms,
        )  # fmt: skip
    ok = proc.returncode == 0 and bool(report.get("ok"))
    refused = proc.returncode == _REFUSED and bool(report)
    problem = "" if ok else str(report.get("error") or _key_line(lines, crashed=not refused))
    if ok:
        cache.add(key, path, elapsed_ms)
    return ProbeResult(
        path, ok=ok, returncode=proc.returncode, signal_name=_signal_name(proc.returncode),
        problem=problem, stderr_tail=tail, elapsed_ms=elapsed_ms, report=report,
    )  # fmt: skip


def _parse_report(stdout: bytes) -> dict[str, Any]:
    for line in reversed(stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith(_REPORT):
            with contextlib.suppress(ValueError):
                data = json.loads(line[len(_REPORT) :])
                if isinstance(data, dict):
                    return data
    return {}


def ensure_loadable(
    path: str | Path,
    *,
    timeout_s: float = PROBE_TIMEOUT_S,
    cancel: threading.Event | None = None,
) -> ProbeResult:
    """Probe ``path`` unless it passed before; raise :class:`ProbeError` if it fails."""
    result = probe_model(path, timeout_s=timeout_s, cancel=cancel)
    result.raise_for_failure()
    return result


# ----------------------------------------------------------------------------- the child


def _child(path: str, n_ctx: int = 64) -> dict[str, Any]:
    """Load, build a context, evaluate a prompt and one sampled token. Runs in the child.

    Returns the report; a problem llama.cpp reports politely is ``{"ok": False, ...}``.
    """
    import ctypes
    import math

    import llama_cpp as ll

    started = time.perf_counter()
    # Straight to fd 2, unbuffered and undecoded, so the last words before an abort arrive.
    ll.llama_log_set(_raw_log, ctypes.c_void_p(0))
    ll.llama_backend_init()
    mparams = ll.llama_model_default_params()
    mparams.n_gpu_layers = 0  # the file is under test, not the GPU
    model = ll.llama_model_load_from_file(path.encode(), mparams)
    if not model:
        return {"ok": False, "error": "", "stage": "load"}
    vocab = ll.llama_model_get_vocab(model)
    n_vocab = int(ll.llama_vocab_n_tokens(vocab))
    n_ctx_train = int(ll.llama_model_n_ctx_train(model))
    cparams = ll.llama_context_default_params()
    cparams.n_ctx = cparams.n_batch = cparams.n_ubatch = max(8, min(n_ctx, n_ctx_train))
    cparams.n_threads = cparams.n_threads_batch = max(1, min(4, os.cpu_count() or 1))
    ctx = ll.llama_init_from_model(model, cparams)
    if not ctx:
        return {"ok": False, "error": "", "stage": "context"}
    text = PROBE_TEXT.encode()
    tokens = (ll.llama_token * 64)()
    add_bos = bool(ll.llama_vocab_get_add_bos(vocab))
    n = min(8, int(ll.llama_tokenize(vocab, text, len(text), tokens, len(tokens), add_bos, False)))
    if n <= 0:
        return {"ok": False, "error": f"the tokenizer turned {PROBE_TEXT!r} into no tokens"}
    if ll.llama_decode(ctx, ll.llama_batch_get_one(tokens, n)) != 0:
        return {"ok": False, "error": "evaluating a prompt failed", "stage": "decode"}
    logits = ll.llama_get_logits_ith(ctx, -1)
    finite = all(math.isfinite(logits[i]) for i in range(n_vocab))
    # The sampler chain Ghostpen uses (penalties, top-k, top-p, min-p, temperature, draw)
    # must survive this model's logits too, NaN included.
    chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
    for sampler in (
        ll.llama_sampler_init_penalties(n_vocab, 64, 1.1, 0.0, 0.0),
        ll.llama_sampler_init_top_k(40),
        ll.llama_sampler_init_top_p(0.95, 1),
        ll.llama_sampler_init_min_p(0.05, 1),
        ll.llama_sampler_init_temp(0.7),
        ll.llama_sampler_init_dist(1234),
    ):
        ll.llama_sampler_chain_add(chain, sampler)
    token = int(ll.llama_sampler_sample(chain, ctx, -1))
    ll.llama_sampler_free(chain)
    if not 0 <= token < n_vocab:
        return {"ok": False, "error": f"sampling gave token {token}, outside the vocabulary"}
    tokens[0] = token
    if ll.llama_decode(ctx, ll.llama_batch_get_one(tokens, 1)) != 0:
        return {"ok": False, "error": "evaluating a generated token failed", "stage": "decode"}
    piece = ctypes.create_string_buffer(256)
    ll.llama_token_to_piece(vocab, token, piece, len(piece), 0, True)
    ll.llama_free(ctx)
    ll.llama_model_free(model)
    return {
        "ok": True,
        "n_vocab": n_vocab,
        "n_ctx_train": n_ctx_train,
        "prompt_tokens": n,
        "logits_finite": finite,
        "child_ms": round((time.perf_counter() - started) * 1000.0, 1),
    }


def _write_log(level: int, text: bytes, _user: Any) -> None:
    """llama.cpp's log in the child: everything but debug chatter, as raw bytes."""
    global _last_level
    if level != 5:  # 5 continues the previous line at its level
        _last_level = level
    if _last_level != 1 and text:  # 1 = debug
        os.write(2, text)


_last_level = 2
_raw_log: Any = None  # the ctypes callback, created in the child (keeps it alive)


def main(argv: Sequence[str] | None = None) -> int:
    """The child's entry point: probe one file, print the report; exit 0, or 65 if refused."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == PROBE_FLAG:
        args = args[1:]
    if len(args) != 1:
        print(f"usage: python -m app.core.model_probe MODEL.gguf (got {args})", file=sys.stderr)
        return 2
    global _raw_log
    if sys.platform == "win32":
        # A crash must end the child at once, not wait behind a Windows error dialog
        # (SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX).
        import ctypes

        ctypes.windll.kernel32.SetErrorMode(0x0001 | 0x0002 | 0x8000)
    import llama_cpp

    _raw_log = llama_cpp.llama_log_callback(_write_log)
    report = _child(args[0])
    sys.stderr.flush()
    print(_REPORT + json.dumps(report), flush=True)
    return 0 if report.get("ok") else _REFUSED


if __name__ == "__main__":
    sys.exit(main())
