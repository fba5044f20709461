"""A GPU that fails, on a machine whose llama.cpp has none.

llama.cpp's failure to place a model on a device reaches Python as a NULL from
``llama_model_load_from_file`` (or, for the KV cache, from ``llama_init_from_model``), and
llama-cpp-python raises its own error for it. :func:`fail_on_the_gpu` makes those two
functions return NULL whenever GPU layers were asked for: the seam right below
llama-cpp-python, so everything above it (its error, the engine, the worker) is real.
"""

from __future__ import annotations

from typing import Any

import llama_cpp.llama_cpp
import pytest


def fail_on_the_gpu(monkeypatch: pytest.MonkeyPatch, step: str = "model") -> list[int]:
    """From now on, loading with GPU layers fails at ``step`` ("model" or "context").

    Returns the GPU layers of every load attempt, as llama.cpp received them.
    """
    real_load = llama_cpp.llama_cpp.llama_model_load_from_file
    real_context = llama_cpp.llama_cpp.llama_init_from_model
    asked: list[int] = []

    def load(path: bytes, params: Any) -> Any:
        asked.append(int(params.n_gpu_layers))
        if step == "model" and params.n_gpu_layers != 0:
            return None
        return real_load(path, params)

    def context(model: Any, params: Any) -> Any:
        if step == "context" and asked and asked[-1] != 0:
            return None
        return real_context(model, params)

    monkeypatch.setattr(llama_cpp.llama_cpp, "llama_model_load_from_file", load)
    monkeypatch.setattr(llama_cpp.llama_cpp, "llama_init_from_model", context)
    return asked
