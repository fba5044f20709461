"""The engine contract: both engines implement ``CompletionBackend``, and the remote one
(with what only reads results) runs without llama.cpp."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from app.core.engine import Engine
from app.core.engine_api import Capabilities, CompletionBackend
from app.core.remote_engine import RemoteEngine
from app.core.sampling import GREEDY
from tests.support.llama_server import llama_server
from tests.support.models import TestModel

ROOT = Path(__file__).resolve().parents[2]


def test_both_engines_implement_the_contract(tiny_model: TestModel) -> None:
    """mypy checks the assignments (the worker relies on the same); ``isinstance`` checks
    at run time that no member of the protocol is missing."""
    with Engine(tiny_model["f16"]) as engine, llama_server(tiny_model["f16"]) as server:
        with RemoteEngine(server.url, n_ctx=128) as remote:
            backends: list[CompletionBackend] = [engine, remote]
            for backend in backends:
                assert isinstance(backend, CompletionBackend)
                assert backend.n_ctx == 128
                assert backend.description
                result = backend.complete("Hello", GREEDY.with_changes(max_tokens=3))
                assert result.timings.generated_tokens == 3
            assert engine.info is not None
            assert remote.info is None
            assert remote.closed is False
        assert remote.closed  # the context manager closed it
    assert engine.closed
    names = [f.name for f in fields(Capabilities)]
    assert all(getattr(Engine.capabilities, name) for name in names)
    assert not any(getattr(RemoteEngine.capabilities, name) for name in names)


def test_the_remote_engine_and_the_results_load_no_llama_cpp() -> None:
    """A fresh interpreter imports the remote engine, the request server, the requests
    and the suggestion policy: llama-cpp-python stays unloaded."""
    modules = [
        "app.core.remote_engine",
        "app.core.serve",
        "app.core.requests",
        "app.core.suggestion_policy",
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'llama_cpp'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
    # The control: the local engine does load it, so the check above can fail.
    control = code.replace(repr(modules), repr(["app.core.engine"]))
    out = subprocess.run(
        [sys.executable, "-c", control], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "'llama_cpp'" in out.stdout
