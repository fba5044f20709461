"""Shared fixtures: small real GPT-2 models, generated once per test session.

Each model is a Hugging Face style checkpoint with random weights and the real GPT-2
tokenizer, converted by Ghostpen's own converter, so every test runs real llama.cpp on a
file produced by the code under test.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.core.convert import convert_checkpoint
from app.gui.main_window import MainWindow
from tests.gui_support import WAIT_MS, close_window, open_window
from tests.reference.checkpoints import write_gpt2_checkpoint

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class TestModel:
    """A generated checkpoint folder and its GGUF conversions by output type."""

    __test__ = False  # not a test class, despite the name

    checkpoint: Path
    gguf: dict[str, Path]

    def __getitem__(self, outtype: str) -> Path:
        return self.gguf[outtype]


def _build(root: Path, name: str, outtypes: tuple[str, ...], **shape: Any) -> TestModel:
    folder = write_gpt2_checkpoint(root / name, **shape)
    files = {t: convert_checkpoint(folder, root / f"{name}-{t}.gguf", t) for t in outtypes}
    return TestModel(folder, files)


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings, models and journals of a test never touch the real user folders."""
    monkeypatch.setenv("GHOSTPEN_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def _probe_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe") / "model-probe.json"


@pytest.fixture(autouse=True)
def _shared_probe_cache(_probe_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One probe per model file for the whole session (each test has its own home)."""
    monkeypatch.setenv("GHOSTPEN_PROBE_CACHE", str(_probe_cache))


@pytest.fixture(autouse=True)
def _no_thread_left_running() -> Iterator[None]:
    """A test that leaves an engine QThread running fails (napari's habit)."""
    yield
    if "app.gui.worker" in sys.modules:
        from app.gui.worker import LIVE_THREADS

        running = [t.objectName() for t in LIVE_THREADS if t.isRunning()]
        assert not running, f"QThread(s) still running after the test: {running}"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(models_dir: Path) -> TestModel:
    """64 wide, 2 layers, 128 positions: fast, and too narrow for K-quants."""
    return _build(
        models_dir, "tiny", ("f32", "f16", "q8_0"),
        n_embd=64, n_layer=2, n_head=4, n_positions=128, seed=1,
    )  # fmt: skip


@pytest.fixture(scope="session")
def wide_model(models_dir: Path) -> TestModel:
    """256 wide (K-quant friendly), 2 layers, GPT-2's full 1024 positions."""
    return _build(
        models_dir, "wide", ("f16",),
        n_embd=256, n_layer=2, n_head=4, n_positions=1024, seed=2,
    )  # fmt: skip


@pytest.fixture(scope="session")
def xl_width_model(models_dir: Path) -> TestModel:
    """One block at GPT-2 XL's width (1600 = 6.25 x 256): K-quants must fall back."""
    return _build(
        models_dir, "xl", ("q8_0", "f16"),
        n_embd=1600, n_layer=1, n_head=25, n_positions=64, seed=4,
        dtype=np.float16, include_attn_bias_buffers=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def offline_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline model (Gemma 3 270M, a real SentencePiece tokenizer), joined once."""
    from app.core.model_store import ModelStore
    from app.core.offline_model import assemble_into_store, find_package

    package = find_package()
    assert package is not None, "the test extra installs the offline model"
    store = ModelStore(tmp_path_factory.mktemp("offline-store"))
    return assemble_into_store(store, package).path


@pytest.fixture(autouse=True)
def _no_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modal question would wait forever offscreen: fail loudly instead."""

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"unexpected modal dialog: {args[1:3]}")

    monkeypatch.setattr(QMessageBox, "question", refuse)
    monkeypatch.setattr(MainWindow, "resolve_disk_conflict", refuse)


@pytest.fixture
def window(qtbot: QtBot, tiny_model: TestModel) -> Iterator[MainWindow]:
    w = open_window(qtbot, None)
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
        w.load_model(tiny_model["q8_0"])
    assert w.controller.enabled
    w.editor.setFocus()
    yield w
    close_window(w)
