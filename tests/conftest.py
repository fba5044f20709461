"""Fixtures every test shares: an isolated home, and small real GPT-2 models, generated once
per test session.

Each model is a Hugging Face style checkpoint with random weights and the real GPT-2
tokenizer, converted by Ghostpen's own converter, so every test runs real llama.cpp on a
file produced by the code under test. Nothing here imports Qt: the core tests run without
it, and the GUI fixtures live in ``tests/gui/conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.support.models import TestModel, build_model

# No test writes into a developer's real keychain; the tests of the keychain install their
# own backends (tests/support/keychain.py).
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


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


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(models_dir: Path) -> TestModel:
    """64 wide, 2 layers, 128 positions: fast, and too narrow for K-quants."""
    return build_model(
        models_dir, "tiny", ("f32", "f16", "q8_0"),
        n_embd=64, n_layer=2, n_head=4, n_positions=128, seed=1,
    )  # fmt: skip


@pytest.fixture(scope="session")
def wide_model(models_dir: Path) -> TestModel:
    """256 wide (K-quant friendly), 2 layers, GPT-2's full 1024 positions."""
    return build_model(
        models_dir, "wide", ("f16",),
        n_embd=256, n_layer=2, n_head=4, n_positions=1024, seed=2,
    )  # fmt: skip


@pytest.fixture(scope="session")
def xl_width_model(models_dir: Path) -> TestModel:
    """One block at GPT-2 XL's width (1600 = 6.25 x 256): K-quants must fall back."""
    return build_model(
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
