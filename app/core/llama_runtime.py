"""Process-wide llama.cpp plumbing: log routing and build capabilities.

llama.cpp writes its logs straight to stderr, which would pollute ``ghostpen complete``
output and the terminal of a GUI user. Here the logs go to Python ``logging`` instead,
and short-lived listeners (the quantizer's progress parser, the engine's count of the
layers offloaded: :func:`offloaded_layers`) can watch them.
"""

from __future__ import annotations

import ctypes
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import llama_cpp

from app.core import llama_compat

log = logging.getLogger("ghostpen.llama_cpp")

# ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the last line)
_LEVELS = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_listeners: list[Callable[[str], None]] = []
_listeners_lock = threading.Lock()
_partial: list[str] = []
_last_level = logging.DEBUG


@llama_cpp.llama_log_callback
def _on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
    """Collect llama.cpp's log pieces into lines and hand each line to logging."""
    global _last_level
    if level != 5:
        _last_level = _LEVELS.get(level, logging.DEBUG)
    _partial.append(text.decode("utf-8", "replace"))
    if not _partial[-1].endswith("\n"):
        return
    line = "".join(_partial).rstrip("\n")
    _partial.clear()
    # llama.cpp's INFO chatter is debug detail for us; keep warnings and errors.
    log.log(_last_level if _last_level >= logging.WARNING else logging.DEBUG, "%s", line)
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(line)


_installed = False


def install_log_routing() -> None:
    """Idempotent: route llama.cpp's logs to ``logging`` (call before loading anything)."""
    global _installed
    if not _installed:
        llama_cpp.llama_log_set(_on_log, ctypes.c_void_p(0))
        _installed = True


@contextmanager
def watch_log(listener: Callable[[str], None]) -> Iterator[None]:
    """Call ``listener`` with every llama.cpp log line while the block runs."""
    install_log_routing()
    with _listeners_lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _listeners_lock:
            _listeners.remove(listener)


@dataclass(frozen=True)
class BuildInfo:
    """What the installed llama.cpp build can do."""

    version: str
    gpu_offload: bool  # a GPU is there to offload to, now
    system_info: str
    #: The GPU backends built in ("CUDA"…), even with none of their devices present.
    gpu_backends: tuple[str, ...] = ()

    @property
    def backend(self) -> str:
        """'CPU', or the GPU backend named in llama.cpp's system info when it can offload."""
        if not self.gpu_offload:
            return "CPU"
        upper = self.system_info.upper()
        for name in ("CUDA", "METAL", "VULKAN", "HIP", "SYCL"):
            if name in upper:
                return name
        return "GPU"


def build_info() -> BuildInfo:
    install_log_routing()
    return BuildInfo(
        version=str(getattr(llama_cpp, "__version__", "unknown")),
        gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
        system_info=llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
        gpu_backends=llama_compat.backend_names(),
    )


#: What llama.cpp logs after placing a model's layers, where it can offload:
#: "load_tensors: offloaded 13/13 layers to GPU" (every block and the output layer).
_OFFLOADED = re.compile(r"\boffloaded (\d+)/(\d+) layers to GPU\b")


def offloaded_layers(line: str) -> tuple[int, int] | None:
    """(layers on the GPU, layers in all) from llama.cpp's log line, or None for another."""
    match = _OFFLOADED.search(line)
    return (int(match.group(1)), int(match.group(2))) if match else None
