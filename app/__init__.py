"""Ghostpen: an offline writing assistant that completes your text with GPT-2."""

from app.core.llama_preload import preload as _preload_llama

__version__ = "0.1.0"

# Every entry point (the ghostpen command, python -m app, the frozen app, the model probe's
# child, the bench's children, a script importing app.core.engine) imports this package
# first: llama.cpp's libraries load here, before anything imports numpy (see
# app/core/llama_preload.py for the crash this prevents).
_preload_llama()
