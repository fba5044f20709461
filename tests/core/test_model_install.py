"""Catalog model from a local hub to completions: download, convert, quantize, store, load.

The hub is ``tests/support/hub_server.py`` on 127.0.0.1 serving a small random GPT-2 checkpoint
(the real GPT-2 tokenizer, Ghostpen's own checkpoint writer) under the catalog's repo id,
so the code path is exactly the one a writer's "Download GPT-2" takes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.catalog import find_entry
from app.core.engine import Engine
from app.core.model_install import (
    InstallError,
    InstallProgress,
    build_from_folder,
    install_from_hub,
)
from app.core.model_store import ModelStore
from app.core.sampling import GREEDY
from app.core.texts import Text, message_of
from tests.support.hub import forget_ambient_hub_settings
from tests.support.hub_server import HubServer, Knobs
from tests.support.models import TestModel

REPO = "openai-community/gpt2"


@pytest.fixture(autouse=True)
def _no_ambient_hub_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's own hub settings must not leak into these tests."""
    forget_ambient_hub_settings(monkeypatch, tmp_path)


@pytest.fixture
def hub(tiny_model: TestModel) -> Iterator[HubServer]:
    with HubServer({REPO: tiny_model.checkpoint}) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "data" / "models")


def test_download_builds_a_working_model_and_cleans_up(
    hub: HubServer, store: ModelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    downloads = tmp_path / "cache" / "downloads"
    reports: list[InstallProgress] = []
    model = install_from_hub(find_entry("gpt2"), store, downloads, progress=reports.append)

    stages = [r.stage for r in reports]
    assert stages.index("download") < stages.index("convert") < stages.index("store")
    last_download = [r for r in reports if r.download is not None][-1].download
    assert last_download is not None
    assert last_download.done == last_download.total > 0
    m = model.manifest
    assert (m.catalog_id, m.quantization, m.licence) == ("gpt2", "Q8_0", "MIT")
    assert m.source.startswith(f"hub:{REPO}@")
    assert len(m.source.split("@")[1]) == 40
    assert model.name == "GPT-2 (124M) Q8_0"
    assert not any(downloads.iterdir())  # the checkpoint is gone once the GGUF is built
    assert not store.work_dir.exists() or not any(store.work_dir.iterdir())
    with Engine(model.path) as engine:
        assert engine.complete("The ship", replace(GREEDY, max_tokens=4)).token_ids


def test_k_quant_download_removes_the_f16_intermediate(
    hub: HubServer, store: ModelStore, tmp_path: Path
) -> None:
    reports: list[InstallProgress] = []
    model = install_from_hub(
        find_entry("gpt2"),
        store,
        tmp_path / "dl",
        quant="Q4_K_M",
        endpoint=hub.url,
        progress=reports.append,
    )
    assert model.manifest.quantization == "Q4_K_M"
    quantizing = next(r.message for r in reports if r.stage == "quantize")
    assert isinstance(quantizing, Text)  # the model manager translates it
    assert quantizing.template == "quantizing %1"
    assert sorted(p.name for p in model.folder.iterdir()) == ["manifest.json", "model.gguf"]
    assert not any(store.work_dir.iterdir())


def test_an_interrupted_download_resumes_on_the_next_attempt(
    hub: HubServer, store: ModelStore, tmp_path: Path, tiny_model: TestModel
) -> None:
    weights = "model.safetensors"
    size = (tiny_model.checkpoint / weights).stat().st_size
    hub.knobs = Knobs(truncate={weights: size // 3})
    downloads = tmp_path / "dl"
    with pytest.raises(InstallError) as failed:
        install_from_hub(find_entry("gpt2"), store, downloads, endpoint=hub.url)
    assert not failed.value.cancelled
    assert store.models() == []
    model = install_from_hub(find_entry("gpt2"), store, downloads, endpoint=hub.url)
    resumed = [r.range for r in hub.body_requests(weights)]
    assert resumed[-1] is not None
    assert resumed[-1].startswith(f"bytes={size // 3}-")
    assert model.manifest.sha256


def test_a_corrupted_download_fails_verification_and_is_removed(
    hub: HubServer, store: ModelStore, tmp_path: Path
) -> None:
    hub.knobs = Knobs(corrupt={"model.safetensors"})
    downloads = tmp_path / "dl"
    with pytest.raises(InstallError, match=r"model\.safetensors"):
        install_from_hub(find_entry("gpt2"), store, downloads, endpoint=hub.url)
    leftovers = [p.name for p in downloads.rglob("*") if p.is_file()]
    assert "model.safetensors" not in leftovers
    assert "model.safetensors.part" not in leftovers
    assert store.models() == []


def test_cancel_during_download_keeps_the_partial_file_for_later(
    hub: HubServer, store: ModelStore, tmp_path: Path
) -> None:
    hub.knobs = Knobs(throttle_bps=2_000_000)
    cancel = threading.Event()

    def on_progress(p: InstallProgress) -> None:
        d = p.download
        if d is not None and d.file == "model.safetensors" and d.file_done > 0:
            cancel.set()

    with pytest.raises(InstallError) as stopped:
        install_from_hub(
            find_entry("gpt2"), store, tmp_path / "dl", endpoint=hub.url,
            progress=on_progress, cancel=cancel,
        )  # fmt: skip
    assert stopped.value.cancelled
    assert list((tmp_path / "dl").rglob("model.safetensors.part"))
    assert store.models() == []


def test_offline_gives_a_clear_message(store: ModelStore, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InstallError, match="offline"):
        install_from_hub(
            find_entry("gpt2"), store, tmp_path / "dl", endpoint=f"http://127.0.0.1:{port}"
        )


def test_unknown_quantization_is_refused_before_any_work(store: ModelStore, tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="unknown quantization 'Q3'"):
        install_from_hub(find_entry("gpt2"), store, tmp_path, quant="Q3")


def test_a_store_error_in_a_build_keeps_its_text(
    store: ModelStore, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ModelStore, "free_bytes", lambda self: 1000)
    with pytest.raises(InstallError, match="not enough disk space") as failed:
        build_from_folder(tiny_model.checkpoint, store, "Q8_0")
    text = message_of(failed.value)
    assert isinstance(text, Text)
    assert (text.context, text.args[0]) == ("ModelStore", str(store.root))


def test_import_folder_reports_a_bad_checkpoint_clearly(store: ModelStore, tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(InstallError, match="not-a-model"):
        build_from_folder(folder, store, "Q8_0")
    assert not store.work_dir.exists() or not any(store.work_dir.iterdir())


def test_cli_models_download_list_default_remove(
    hub: HubServer, tmp_path: Path, tiny_model: TestModel
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GHOSTPEN_HOME": str(tmp_path / "home"),
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    def ghostpen(*args: str) -> subprocess.CompletedProcess[str]:
        return run("models", *args)

    def complete(*model: str) -> str:
        got = run("complete", *model, "--max-tokens", "4", "--temperature", "0", "--seed", "0",
                  "--timings", "The ship left the harbour")  # fmt: skip
        assert got.returncode == 0, got.stderr
        return got.stderr

    got = ghostpen("download", "gpt2", "--quant", "F16")
    assert got.returncode == 0, got.stderr
    model_id = got.stdout.strip()
    # complete runs the default model without --model, and takes a model's id or name.
    by_default, by_id = complete(), complete("--model", model_id)
    assert "tokens/s" in by_default
    assert "tokens/s" in by_id
    got = run("complete", "--model", "no-such-model", "Hello")
    assert got.returncode == 1
    assert f"installed: {model_id}" in got.stderr
    listing = json.loads(ghostpen("list", "--json").stdout)
    (installed,) = listing["installed"]
    assert installed["id"] == model_id
    assert installed["quantization"] == "F16"
    assert [e["installed"] for e in listing["catalog"]][:1] == [True]

    got = ghostpen("import", str(tiny_model["q8_0"]), "--reference", "--name", "Mine")
    assert got.returncode == 0, got.stderr
    assert ghostpen("default", "mine").returncode == 0
    listing = json.loads(ghostpen("list", "--json").stdout)
    assert listing["default"] == str(tiny_model["q8_0"])
    assert "tokens/s" in complete("--model", "Mine")
    assert "tokens/s" in complete()

    got = ghostpen("remove", "mine")
    assert got.returncode == 0
    assert tiny_model["q8_0"].is_file()
    listing = json.loads(ghostpen("list", "--json").stdout)
    assert listing["default"] == installed["path"]  # the default moved to what is left

    got = ghostpen("remove", "nothing-like-it")
    assert got.returncode == 1
    assert "no installed model called 'nothing-like-it'" in got.stderr
    got = ghostpen("download", "gpt5")
    assert got.returncode == 1
    assert "no model called 'gpt5'" in got.stderr
