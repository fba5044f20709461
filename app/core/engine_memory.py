"""Whether a model and its context fit in memory, before llama.cpp tries.

A context's KV cache grows with ``n_ctx``. Where the system says how much memory is
free, a context that cannot fit is refused with the figures: with overcommit, llama.cpp's
allocation would succeed and the process would be killed when the cache is cleared.
With GPU layers, the layers on the GPU (their weights and their part of the cache) are
checked against the free memory of the GPUs llama.cpp reports (:func:`check_gpu_memory`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.engine_api import EngineError, GpuOffloadError
from app.core.gguf_info import ModelInfo

#: llama.cpp rounds its context up to a multiple of this many cells.
CONTEXT_PAD = 256
_TYPE_BYTES = {"f16": 2, "f32": 4}
#: llama.cpp's default micro-batch (n_ubatch): a sliding-window layer keeps this much more.
UBATCH = 512


def kv_cache_bytes(info: ModelInfo, n_ctx: int, kv_cache_type: str = "f16") -> int:
    """The KV cache llama.cpp allocates for a context of ``n_ctx`` tokens (close estimate).

    Every layer keeps a key and a value vector per head per cell; the context is padded
    to a multiple of 256 cells. Layers with a sliding window (Gemma 3: five of every six)
    keep only the window, plus a batch.
    """
    meta = info.metadata
    arch = info.architecture

    def number(key: str, default: int) -> int:
        value = meta.get(f"{arch}.{key}")
        return int(value) if isinstance(value, (int, float)) and value > 0 else default

    heads = max(1, info.head_count)
    kv_heads = number("attention.head_count_kv", heads)
    key_len = number("attention.key_length", info.embedding_length // heads)
    value_len = number("attention.value_length", key_len)
    per_cell = kv_heads * (key_len + value_len) * _TYPE_BYTES.get(kv_cache_type, 2)
    cells = -(-n_ctx // CONTEXT_PAD) * CONTEXT_PAD
    layers = max(1, info.block_count)
    window = number("attention.sliding_window", 0)
    if window and arch == "gemma3":
        full = layers // 6
        windowed = min(cells, window + UBATCH)
        return (full * cells + (layers - full) * windowed) * per_cell
    return layers * cells * per_cell


def available_memory() -> int | None:
    """Bytes the system can still give this process without killing another (None: unknown).

    Linux: MemAvailable + SwapFree. Windows: the commit charge still available. Elsewhere
    the physical memory, so that only a request larger than the machine is refused.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            fields = {k: v for k, _, v in (line.partition(":") for line in fh)}
        kib = int(fields["MemAvailable"].split()[0]) + int(fields["SwapFree"].split()[0])
        return kib * 1024
    except (OSError, KeyError, ValueError, IndexError):
        pass
    if sys.platform == "win32":
        import ctypes

        sizes = ("total_phys", "avail_phys", "total_page", "avail_page", "total_virtual",
                 "avail_virtual", "avail_extended")  # fmt: skip

        class _Status(ctypes.Structure):  # MEMORYSTATUSEX
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong)] + [
                (name, ctypes.c_ulonglong) for name in sizes
            ]

        status = _Status()
        status.length = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return int(status.avail_page)
        return None
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(info: ModelInfo, n_ctx: int, kv_bytes: int, weights: int) -> None:
    """Refuse a context that cannot fit in the memory the system has free."""
    free = available_memory()
    if free is None or kv_bytes + weights <= free:
        return
    parts = f"its KV cache needs about {gib(kv_bytes)}"
    if weights:
        parts += f" and the weights {gib(weights)}"
    raise EngineError(
        f"{Path(info.path).name}: not enough memory for a context of {n_ctx:,} tokens: "
        f"{parts}, but only {gib(free)} is free. Choose a smaller context size in the "
        "settings panel (or close other programs)."
    )


def gib(n: int) -> str:
    """``n`` bytes for a message: GiB from one GiB up, else MiB."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{max(1, round(n / 2**20))} MiB"


@dataclass(frozen=True)
class Device:
    """A device llama.cpp can run on, and its memory now (ggml's ``ggml_backend_dev_memory``)."""

    name: str  # ggml's name: "CPU", "CUDA0", "Vulkan0"…
    description: str  # "NVIDIA H200"
    kind: str  # "cpu", "gpu" (memory of its own), "igpu" (the system's), "accel", "other"
    free: int
    total: int


def layers_on_gpu(info: ModelInfo, n_gpu_layers: int) -> tuple[int, int]:
    """(layers on the GPU, layers in all) as llama.cpp counts them: every block and the
    output layer; -1 puts them all there."""
    layers = max(1, info.block_count) + 1
    return (layers if n_gpu_layers < 0 else min(n_gpu_layers, layers)), layers


def check_gpu_memory(
    info: ModelInfo, n_ctx: int, kv_bytes: int, n_gpu_layers: int, devices: Sequence[Device]
) -> None:
    """Refuse GPU layers whose weights and cache cannot fit in the GPUs' free memory.

    llama.cpp fills the last ``n_gpu_layers`` layers (the output layer first) and keeps
    each one's part of the KV cache beside it. Only GPUs with memory of their own are
    counted; with none (an integrated GPU shares the system's), nothing is checked.
    """
    gpus = [d for d in devices if d.kind == "gpu"]
    on_gpu, layers = layers_on_gpu(info, n_gpu_layers)
    if not gpus or on_gpu == 0:
        return
    blocks = layers - 1
    kv = kv_bytes * max(0, min(blocks, on_gpu - 1)) // blocks
    weights = info.file_size * on_gpu // layers
    free = sum(d.free for d in gpus)
    if kv + weights <= free:
        return
    where = ", ".join(f"{d.name} ({d.description})" for d in gpus)
    raise GpuOffloadError(
        f"{Path(info.path).name}: not enough GPU memory for a context of {n_ctx:,} tokens "
        f"with {on_gpu} of {layers} layers on the GPU: their KV cache needs about {gib(kv)} "
        f"and their weights {gib(weights)}, but only {gib(free)} is free on {where}"
    )
