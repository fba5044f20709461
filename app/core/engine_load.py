"""Loading a model into llama.cpp: the options checked, the fit checked, the load watched.

Everything here runs before or during ``llama_cpp.Llama(...)`` in ``Engine.__init__``:
impossible options and a context that cannot fit are refused with a clear error before
llama.cpp tries, and llama.cpp's log is read while it loads, for the cause of a failure
and the layers it offloaded to the GPU.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import llama_cpp

from app.core import llama_compat
from app.core.engine_api import DEFAULT_CONTEXT, MIN_CONTEXT, EngineError, GpuOffloadError
from app.core.engine_memory import check_gpu_memory, check_memory, gib
from app.core.gguf_info import ModelInfo
from app.core.llama_runtime import offloaded_layers, watch_log

#: Storage of the attention keys and values. f16 is llama.cpp's default; f32 is exact.
KV_CACHE_TYPES = {"f16": llama_cpp.GGML_TYPE_F16, "f32": llama_cpp.GGML_TYPE_F32}


def context_size(info: ModelInfo, n_ctx: int | None) -> int:
    """The context asked for (None: the default), checked against the model's training."""
    trained = info.context_length
    if n_ctx is None:
        n_ctx = min(trained, DEFAULT_CONTEXT)
    if not MIN_CONTEXT <= n_ctx <= trained:
        raise EngineError(
            f"context size {n_ctx} is out of range: this model allows {MIN_CONTEXT} to "
            f"{trained} tokens (its training context)"
        )
    return n_ctx


def check_options(n_threads: int | None, n_gpu_layers: int, kv_cache_type: str) -> int:
    """Refuse impossible options before anything loads; returns the thread count."""
    if n_gpu_layers < -1:
        raise EngineError(f"GPU layers must be -1 (all), 0 or more, got {n_gpu_layers}")
    if kv_cache_type not in KV_CACHE_TYPES:
        raise EngineError(
            f"KV cache type must be one of {', '.join(KV_CACHE_TYPES)}, got {kv_cache_type!r}"
        )
    threads = n_threads or default_threads()
    if threads < 1:
        raise EngineError(f"threads must be at least 1, got {threads}")
    return threads


def check_fit(
    info: ModelInfo, n_ctx: int, kv_bytes: int, n_gpu_layers: int, in_memory: bool
) -> None:
    """Refuse a context that cannot fit where it would live: the system's memory, or,
    with GPU layers on a machine that has a GPU, the GPUs' memory."""
    if n_gpu_layers == 0 or not llama_cpp.llama_supports_gpu_offload():
        check_memory(info, n_ctx, kv_bytes, info.file_size if in_memory else 0)
    else:
        check_gpu_memory(info, n_ctx, kv_bytes, n_gpu_layers, llama_compat.devices())


def load_llama(
    model_path: str | Path, n_ctx: int, kv_bytes: int, **params: Any
) -> tuple[llama_cpp.Llama, tuple[int, int] | None]:
    """llama.cpp's model and context, and the layers it offloaded (None: it did not say);
    a failure says what llama.cpp's log said. With GPU layers, a failure may be the GPU's
    (too little memory, a device gone): that is a :class:`GpuOffloadError`."""
    failures: list[str] = []
    offloaded: list[tuple[int, int]] = []

    def on_log(line: str) -> None:
        if "fail" in line.lower() or "error" in line.lower():
            failures.append(line.strip())
        if (layers := offloaded_layers(line)) is not None:
            offloaded.append(layers)

    try:
        with watch_log(on_log):
            llm = llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, verbose=False, **params)
        return llm, (offloaded[-1] if offloaded else None)
    except (ValueError, RuntimeError, OSError, MemoryError) as exc:
        cause = failures[-1] if failures else str(exc)
        error = GpuOffloadError if params.get("n_gpu_layers", 0) != 0 else EngineError
        where = " with GPU layers" if error is GpuOffloadError else ""
        if "llama_context" in str(exc):  # the model loaded; its context did not
            raise error(
                f"{Path(model_path).name}: llama.cpp could not create a context of "
                f"{n_ctx:,} tokens{where}, whose KV cache needs about {gib(kv_bytes)} "
                f"({cause}). Choose a smaller context size in the settings panel."
            ) from None
        raise error(f"{model_path}: llama.cpp could not load the model{where}: {cause}") from None


def default_threads() -> int:
    """All cores up to 8: decoding a small model is memory-bound beyond that."""
    return max(1, min(os.cpu_count() or 1, 8))
