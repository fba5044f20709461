"""Keep a developer's own Hugging Face settings out of the tests."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest


def forget_ambient_hub_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's own token, endpoint or offline switch must not leak into a test."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
