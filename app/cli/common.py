"""What every ``ghostpen`` command shares: errors, exit codes, output, progress and Ctrl+C.

The command line is a stable interface that scripts and later tooling call, so expected
failures print one clear line on stderr and exit non-zero, never a traceback. Every
command module imports this one and no other command module, so the dependencies of the
command line point one way.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn, TextIO, TypeAlias

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    #: What a command module adds its commands to (``ArgumentParser.add_subparsers``).
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An expected failure: its message is shown as one line, without a traceback."""


def report_interrupted() -> int:
    print("ghostpen: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    print(f"ghostpen: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def write(stream: TextIO, text: str) -> None:
    """Write UTF-8 whatever the stream's encoding, and flush: output goes out as it comes."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        stream.write(text)
        stream.flush()


def show_progress(done: int, total: int, label: str) -> None:
    """One rewritten status line on a terminal; nothing when stderr is redirected."""
    if sys.stderr.isatty():
        end = "\n" if done >= total else ""
        print(f"\r[{done}/{total}] {label:<48}", end=end, file=sys.stderr, flush=True)


@contextmanager
def ctrl_c_cancels(cancel: threading.Event) -> Iterator[threading.Event]:
    """Turn the first Ctrl+C into ``cancel``, so generation stops between tokens (or
    inside a long prompt evaluation) and the command ends cleanly with what it printed.

    A KeyboardInterrupt raised at an arbitrary point could land inside llama.cpp's abort
    callback, where ctypes would print and swallow it. A second Ctrl+C raises as usual,
    in case something does not stop. Yields an event that tells whether Ctrl+C came.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted  # signal handlers can only be set from the main thread
        return

    def on_sigint(_signum: int, _frame: object) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        cancel.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def chosen_model(spec: str | None) -> Path:
    """``--model``: a file, an installed model's id or name, or (None) the model the app
    opens with, as ``ghostpen models list`` marks it."""
    from app.core.model_choice import resolve_model
    from app.core.model_store import ModelStore
    from app.core.paths import AppPaths
    from app.core.settings import load_settings

    remembered = load_settings(AppPaths.default().settings_file, read_key=False).settings.model_path
    return resolve_model(spec, ModelStore.default(), remembered)
