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

Public attributes ``Engine`` relies on beyond their documented use, also to check on an
upgrade: ``Llama.input_ids`` and ``Llama.n_tokens`` (the tokens the KV cache holds;
``n_tokens`` is set back to reuse a common prefix, as ``Llama.generate`` itself does) and
``Llama.scores`` (every position's logits with ``logits_all``).

One more reliance lives apart, because it must run before llama_cpp (and numpy) is
imported: ``app.core.llama_preload`` loads ``llama_cpp/lib/libllama`` (or the folder in
``LLAMA_CPP_LIB_PATH``) by path, the package's file layout of that release.
"""

from __future__ import annotations

from typing import Any

import llama_cpp
import llama_cpp._internals
import llama_cpp.llama

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
