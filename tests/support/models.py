"""Small real GPT-2 models for the tests: a random checkpoint, converted by Ghostpen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.convert import convert_checkpoint
from tests.support.reference.checkpoints import write_gpt2_checkpoint


@dataclass(frozen=True)
class TestModel:
    """A generated checkpoint folder and its GGUF conversions by output type."""

    __test__ = False  # not a test class, despite the name

    checkpoint: Path
    gguf: dict[str, Path]

    def __getitem__(self, outtype: str) -> Path:
        return self.gguf[outtype]


def build_model(root: Path, name: str, outtypes: tuple[str, ...], **shape: Any) -> TestModel:
    """Write a random checkpoint of ``shape`` and convert it to each output type."""
    folder = write_gpt2_checkpoint(root / name, **shape)
    files = {t: convert_checkpoint(folder, root / f"{name}-{t}.gguf", t) for t in outtypes}
    return TestModel(folder, files)
