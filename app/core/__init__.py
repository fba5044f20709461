"""Ghostpen's headless core. Never imports Qt: the GUI, the CLI and tests all build on it."""
