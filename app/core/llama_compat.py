"""Where ghostpen reaches past llama-cpp-python's high-level ``Llama`` API, in one place.

``Engine`` drives llama.cpp's C API (samplers, logits, the abort callback) on the context
that a ``Llama`` object owns, so it needs that object's raw pointers, and it replaces one
private helper. Checked against llama-cpp-python 0.3.36 (llama.cpp of that release);
on an upgrade, check each item below first.

- :func:`keep_process_output` replaces the private ``suppress_stdout_stderr`` in
  ``llama_cpp.llama`` and ``llama_cpp._internals``: with ``verbose=False`` it points the
  *process's* stdout and stderr at /dev/null while a model loads, losing what any other
  thread writes meanwhile. The only access to a private name.
- :func:`context` is ``Llama.ctx``, the ``llama_context *`` (formerly read as
  ``Llama._ctx.ctx``): for ``llama_get_logits_ith``, ``llama_set_n_threads``,
  ``llama_set_abort_callback`` and ``llama_sampler_sample``.
- :func:`vocab` is the model's ``llama_vocab *`` (formerly ``Llama._model.vocab``), from
  ``Llama.model`` through ``llama_model_get_vocab``: for ``llama_token_to_piece``,
  ``llama_vocab_is_eog`` and :func:`adds_bos` (formerly ``Llama._model.add_bos_token()``).

- :func:`devices` and :func:`backend_names` call ggml's device registry
  (``ggml_backend_dev_count``, ``_get``, ``_type``, ``_memory``; ``ggml_backend_reg_*``),
  which llama-cpp-python does not bind: the functions are looked up in the library handle
  ``llama_cpp.llama_cpp._lib`` (whose lookups reach the ggml it loaded, on Linux and
  macOS), then in ``llama_cpp._ggml.libggml``; where neither has them, nothing is known.

Public attributes ``Engine`` relies on beyond their documented use, also to check on an
upgrade: ``Llama.input_ids`` and ``Llama.n_tokens`` (the tokens the KV cache holds;
``n_tokens`` is set back to reuse a common prefix, as ``Llama.generate`` itself does) and
``Llama.scores`` (every position's logits with ``logits_all``).

One more reliance lives apart, because it must run before llama_cpp (and numpy) is
imported: ``app.core.llama_preload`` loads ``llama_cpp/lib/libllama`` (or the folder in
``LLAMA_CPP_LIB_PATH``) by path, the package's file layout of that release.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import llama_cpp
import llama_cpp._internals
import llama_cpp.llama

from app.core.engine_memory import Device

#: The llama-cpp-python release every item above was checked against.
CHECKED_VERSION = "0.3.36"


class _KeepOutput:
    """Stands in for llama-cpp-python's ``suppress_stdout_stderr`` (see the module notes).

    llama.cpp's own logs already go to ``logging`` (see ``llama_runtime``), so nothing
    needs silencing.
    """

    def __init__(self, disable: bool = True) -> None:
        self.disable = disable

    def __enter__(self) -> _KeepOutput:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


def keep_process_output() -> None:
    """Stop llama-cpp-python from silencing the whole process while a model loads."""
    for module in (llama_cpp.llama, llama_cpp._internals):
        if hasattr(module, "suppress_stdout_stderr"):
            setattr(module, "suppress_stdout_stderr", _KeepOutput)  # noqa: B010


def context(llm: llama_cpp.Llama) -> Any:
    """The ``llama_context *`` that ``llm`` owns (valid until ``llm.close()``)."""
    return llm.ctx


def vocab(llm: llama_cpp.Llama) -> Any:
    """The ``llama_vocab *`` of ``llm``'s model (valid until ``llm.close()``)."""
    return llama_cpp.llama_model_get_vocab(llm.model)


def adds_bos(llm: llama_cpp.Llama) -> bool:
    """Whether the model's prompts start with a BOS token (GPT-2's do not)."""
    return bool(llama_cpp.llama_vocab_get_add_bos(vocab(llm)))


#: ggml_backend_dev_type, in the order of ggml-backend.h.
_DEVICE_KINDS = ("cpu", "gpu", "igpu", "accel")
#: Backends that are not a GPU (ggml registers them beside the GPU ones).
_NOT_GPU = {"CPU", "BLAS", "RPC"}


def _ggml(name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
    """ggml's C function ``name``, from the libraries llama_cpp loaded (LookupError: none)."""
    prototype = ctypes.CFUNCTYPE(restype, *argtypes)  # fresh: never retypes a shared one
    for handle in _ggml_handles():
        with contextlib.suppress(AttributeError):
            function: Callable[..., Any] = prototype((name, handle))
            return function
    raise LookupError(f"ggml's {name} is not reachable through llama_cpp")


def _ggml_handles() -> Iterator[Any]:
    """libllama's handle, then (it loads ggml by its path in the package) llama_cpp._ggml's."""
    lib = getattr(llama_cpp.llama_cpp, "_lib", None)
    if lib is not None:
        yield lib
    with contextlib.suppress(ImportError, OSError, RuntimeError, AttributeError):
        yield importlib.import_module("llama_cpp._ggml").libggml


def devices() -> list[Device]:
    """Every device llama.cpp can run on now, with its free and total memory."""
    size = ctypes.POINTER(ctypes.c_size_t)
    try:
        count = _ggml("ggml_backend_dev_count", ctypes.c_size_t)
        get = _ggml("ggml_backend_dev_get", ctypes.c_void_p, ctypes.c_size_t)
        kind = _ggml("ggml_backend_dev_type", ctypes.c_int, ctypes.c_void_p)
        name = _ggml("ggml_backend_dev_name", ctypes.c_char_p, ctypes.c_void_p)
        about = _ggml("ggml_backend_dev_description", ctypes.c_char_p, ctypes.c_void_p)
        memory = _ggml("ggml_backend_dev_memory", None, ctypes.c_void_p, size, size)
    except LookupError:
        return []
    found = []
    for index in range(int(count())):
        device = get(index)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        memory(device, ctypes.byref(free), ctypes.byref(total))
        number = int(kind(device))
        found.append(
            Device(
                name=(name(device) or b"").decode("utf-8", "replace"),
                description=(about(device) or b"").decode("utf-8", "replace"),
                kind=_DEVICE_KINDS[number] if 0 <= number < len(_DEVICE_KINDS) else "other",
                free=int(free.value),
                total=int(total.value),
            )
        )
    return found


def backend_names() -> tuple[str, ...]:
    """The GPU backends this llama.cpp was built with ("CUDA", "Vulkan"…), whether or not
    a device of theirs is present now."""
    try:
        count = _ggml("ggml_backend_reg_count", ctypes.c_size_t)
        get = _ggml("ggml_backend_reg_get", ctypes.c_void_p, ctypes.c_size_t)
        name = _ggml("ggml_backend_reg_name", ctypes.c_char_p, ctypes.c_void_p)
    except LookupError:
        return ()
    names = ((name(get(i)) or b"").decode("utf-8", "replace") for i in range(int(count())))
    return tuple(n for n in names if n and n not in _NOT_GPU)
