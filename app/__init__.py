"""Ghostpen: an offline writing assistant that completes your text with GPT-2."""

__version__ = "0.1.0"
