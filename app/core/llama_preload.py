"""Load llama.cpp's shared libraries before anything can import numpy.

On one machine (Python 3.12, numpy 2.5.2) every model load crashed with SIGSEGV in
``llama_model_load`` when numpy had been imported before llama_cpp, on the CPU and the GPU
alike, with plain llama-cpp-python too. Loading llama.cpp's libraries first avoids it.
``import llama_cpp`` takes a quarter of a second (it imports numpy and jinja itself); this
loads the same library files with ctypes in about 10 ms, so every entry point can afford
it: ``app/__init__.py`` calls :func:`preload` before any other module of the app runs.

Imports nothing but the standard library.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

_loaded: Path | None = None


def library_dir() -> Path | None:
    """Where llama_cpp keeps its libraries, found without importing it (None: not installed)."""
    override = os.environ.get("LLAMA_CPP_LIB_PATH")  # llama_cpp honours the same variable
    if override:
        return Path(override)
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def _candidates(folder: Path) -> list[Path]:
    if sys.platform == "win32":
        return [folder / "llama.dll", folder / "libllama.dll"]
    if sys.platform == "darwin":
        return [folder / "libllama.dylib", folder / "libllama.so"]
    return [folder / "libllama.so"]


def preload() -> Path | None:
    """Load libllama (and with it ggml) once, as llama_cpp will (RTLD_GLOBAL).

    Returns the library loaded, or None where there is none to load or llama_cpp was
    imported already. Never raises: a failure here is reported by llama_cpp's own import.
    """
    global _loaded
    if _loaded is not None or "llama_cpp" in sys.modules:
        return _loaded
    folder = library_dir()
    if folder is None:
        return None
    for path in _candidates(folder):
        if path.is_file():
            try:
                if sys.platform == "win32":
                    os.add_dll_directory(str(folder))
                    ctypes.CDLL(str(path), winmode=ctypes.RTLD_GLOBAL)
                else:
                    ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                return None
            _loaded = path
            return path
    return None
