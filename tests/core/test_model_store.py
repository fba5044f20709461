"""The model store, the catalog, the offline model and the startup choice, on real files."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from app.core import offline_model
from app.core.catalog import CatalogError, find_entry, load_catalog, parse_catalog
from app.core.gguf_info import inspect_model
from app.core.model_choice import preferred_model, startup_choice, takes_over
from app.core.model_store import MANIFEST, ModelStore, StoreError, sha256_file
from app.core.offline_model import (
    OfflineModelError,
    assemble_into_store,
    find_package,
    installed_offline_model,
)
from app.core.quantize import QUANT_TYPES
from app.core.texts import Text, message_of
from tests.support.models import TestModel


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


# --------------------------------------------------------------------------- catalog


def test_catalog_lists_the_gpt2_family_with_safetensors_and_known_quants() -> None:
    catalog = load_catalog()
    assert [e.id for e in catalog] == ["gpt2", "distilgpt2", "gpt2-medium", "gpt2-large",
                                       "gpt2-xl"]  # fmt: skip
    for entry in catalog:
        assert entry.repo.split("/")[0] in ("openai-community", "distilbert")
        assert "model.safetensors" in entry.files
        assert "config.json" in entry.files
        assert entry.recommended_quant in QUANT_TYPES
        assert entry.licence
        assert entry.licence_url.startswith("https://")
        assert entry.gguf_mb < entry.download_mb
    assert find_entry("gpt2").recommended_quant == "Q8_0"
    assert find_entry("openai-community/GPT2-XL").recommended_quant == "Q4_K_M"
    assert "1600" in find_entry("gpt2-xl").notes  # the K-quant fallback is explained


def test_catalog_parameter_counts_match_the_architectures() -> None:
    def gpt2_params(n_layer: int, n_embd: int) -> int:
        block = 12 * n_embd * n_embd + 13 * n_embd
        return 50257 * n_embd + 1024 * n_embd + n_layer * block + 2 * n_embd

    shapes = {"gpt2": (12, 768), "distilgpt2": (6, 768), "gpt2-medium": (24, 1024),
              "gpt2-large": (36, 1280), "gpt2-xl": (48, 1600)}  # fmt: skip
    for entry in load_catalog():
        assert entry.parameters == gpt2_params(*shapes[entry.id])


def test_catalog_errors_are_specific() -> None:
    with pytest.raises(CatalogError, match="no model called 'gpt5'"):
        find_entry("gpt5")
    good = json.loads(json.dumps({"schema_version": 1, "models": []}))
    assert parse_catalog(good) == []
    with pytest.raises(CatalogError, match="schema_version"):
        parse_catalog({"models": []})
    entry = {k: v for k, v in vars(load_catalog()[0]).items()}
    entry["files"] = ["config.json", "pytorch_model.bin"]
    with pytest.raises(CatalogError, match="pickles are refused"):
        parse_catalog({"schema_version": 1, "models": [entry]})
    entry["files"] = ["model.safetensors"]
    entry["recommended_quant"] = "Q9_9"
    with pytest.raises(CatalogError, match="unknown quantization 'Q9_9'"):
        parse_catalog({"schema_version": 1, "models": [entry]})


# --------------------------------------------------------------------------- store


def test_copy_import_hashes_validates_and_records_provenance(
    store: ModelStore, tiny_model: TestModel
) -> None:
    src = tiny_model["q8_0"]
    model = store.add_file(src, mode="copy")
    assert model.path.parent == store.root / model.id
    assert model.path.is_file()
    assert model.path.read_bytes() == src.read_bytes()
    m = model.manifest
    assert m.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (m.architecture, m.quantization, m.size) == ("gpt2", "Q8_0", src.stat().st_size)
    assert m.context_length == inspect_model(src).context_length
    assert m.source == f"file:{src}"
    assert not m.referenced
    on_disk = json.loads((model.folder / MANIFEST).read_text())
    assert on_disk["sha256"] == m.sha256
    assert on_disk["schema_version"] == 1
    assert store.models() == [model]
    assert store.get(model.id) == model
    assert store.get(model.name.upper()) == model


def test_reference_keeps_the_file_in_place_and_remove_never_deletes_it(
    store: ModelStore, tiny_model: TestModel, tmp_path: Path
) -> None:
    own = tmp_path / "mine.gguf"
    shutil.copyfile(tiny_model["f16"], own)
    model = store.add_file(own, mode="reference", name="My model")
    assert model.path == own
    assert model.manifest.referenced
    assert not (model.folder / "model.gguf").exists()
    with pytest.raises(StoreError, match="already in the store"):
        store.add_file(own, mode="reference")
    store.remove("my model")
    assert own.is_file()
    assert store.models() == []


def test_a_moved_referenced_file_is_listed_as_missing(
    store: ModelStore, tiny_model: TestModel, tmp_path: Path
) -> None:
    own = tmp_path / "mine.gguf"
    shutil.copyfile(tiny_model["f16"], own)
    model = store.add_file(own, mode="reference")
    own.unlink()
    (listed,) = store.models()
    assert listed.id == model.id
    assert not listed.available
    assert preferred_model(store) is None


def test_a_broken_file_never_enters_the_store(store: ModelStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 10)
    with pytest.raises(StoreError, match=r"bad\.gguf"):
        store.add_file(bad)
    assert not store.root.exists() or list(store.root.iterdir()) == []


def test_ids_are_unique_and_a_damaged_manifest_is_reported_not_fatal(
    store: ModelStore, tiny_model: TestModel
) -> None:
    a = store.add_file(tiny_model["q8_0"], name="Twin Model")
    b = store.add_file(tiny_model["q8_0"], name="Twin Model")
    assert (a.id, b.id) == ("twin-model", "twin-model-2")
    assert store.get("twin-model") == a  # an id wins over names
    with pytest.raises(StoreError, match="matches several models"):
        store.get("Twin Model")
    (b.folder / MANIFEST).write_text("{not json")
    models, problems = store.scan()
    assert [m.id for m in models] == ["twin-model"]
    assert len(problems) == 1
    assert "twin-model-2" in problems[0]
    assert "unreadable" in problems[0]
    assert problems[0].template == "%1: skipped, the manifest is unreadable (%2)"
    with pytest.raises(StoreError, match="no installed model called 'nope'") as missing:
        store.get("nope")
    text = message_of(missing.value)  # for the model manager to translate
    assert isinstance(text, Text)
    assert (text.context, text.args) == ("ModelStore", ("'nope'", "twin-model"))


def test_copy_refuses_when_the_disk_is_too_full(
    store: ModelStore, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ModelStore, "free_bytes", lambda self: 1000)
    with pytest.raises(StoreError, match="not enough disk space"):
        store.add_file(tiny_model["q8_0"])
    assert store.models() == []


def test_cancelled_copy_leaves_nothing(store: ModelStore, tiny_model: TestModel) -> None:
    import threading

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(StoreError, match="cancelled"):
        store.add_file(tiny_model["f32"], cancel=cancel)
    assert not store.root.exists() or list(store.root.iterdir()) == []


# --------------------------------------------------------------------------- offline model


def test_offline_package_is_found_without_importing_its_code() -> None:
    import sys

    package = find_package()
    assert package is not None, "CI installs the offline extra (pip install '.[test]')"
    assert not any(name.startswith("gemma3_270m") for name in sys.modules)
    assert len(package.chunks) == 4
    assert [p.name[-6:] for p in package.chunks] == [f"part0{i}" for i in range(4)]
    assert len(package.sha256) == 64
    assert package.terms is not None


def test_offline_model_is_assembled_verified_and_licensed(store: ModelStore) -> None:
    package = find_package()
    assert package is not None
    seen: list[int] = []
    model = assemble_into_store(store, package, progress=lambda done, total: seen.append(done))
    assert seen[-1] == package.size
    assert seen == sorted(seen)
    assert model.manifest.offline
    assert model.manifest.architecture == "gemma3"
    assert sha256_file(model.path) == package.sha256 == model.manifest.sha256
    assert model.manifest.licence == "Gemma Terms of Use"
    terms = (model.folder / model.manifest.licence_file).read_text(encoding="utf-8")
    assert "Gemma" in terms
    assert list(store.work_dir.iterdir()) == []  # the joined .part was moved, not left
    assert assemble_into_store(store, package) == model  # idempotent
    assert installed_offline_model(store) == model


def test_a_damaged_chunk_fails_verification_and_leaves_nothing(
    store: ModelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = find_package()
    assert package is not None
    copies = []
    for i, chunk in enumerate(package.chunks):
        copy = tmp_path / chunk.name
        shutil.copyfile(chunk, copy)
        copies.append(copy)
        if i == 2:
            with copy.open("r+b") as fh:
                fh.seek(1000)
                byte = fh.read(1)
                fh.seek(1000)
                fh.write(bytes([byte[0] ^ 0x01]))
    damaged = offline_model.OfflinePackage(
        package.version, package.file_name, package.sha256, tuple(copies), package.terms
    )
    with pytest.raises(OfflineModelError, match="does not match the SHA-256"):
        assemble_into_store(store, damaged)
    assert store.models() == []
    assert list(store.work_dir.iterdir()) == []


# --------------------------------------------------------------------------- startup choice


def test_startup_prefers_remembered_then_gpt2_then_offline(
    store: ModelStore, tiny_model: TestModel, tmp_path: Path
) -> None:
    package = find_package()
    assert package is not None
    empty = startup_choice(None, store)
    assert empty.path is None
    assert empty.assemble == package
    offline = assemble_into_store(store, package)
    assert startup_choice(None, store).path == offline.path
    gpt2 = store.add_file(tiny_model["q8_0"], name="Some GPT-2")
    assert startup_choice(None, store).path == gpt2.path  # a GPT-2 beats the offline model
    assert startup_choice(str(offline.path), store).path == offline.path  # the writer's pick
    gone = str(tmp_path / "gone.gguf")
    choice = startup_choice(gone, store)
    assert choice.path == gpt2.path
    assert choice.remembered_missing == gone
    assert choice.reason == "installed model Some GPT-2"
    assert isinstance(choice.reason, Text)  # the GUI's "is gone; using %2 instead" shows it


def test_a_new_gpt2_takes_over_from_the_offline_stand_in_only(
    store: ModelStore, tiny_model: TestModel, tmp_path: Path
) -> None:
    package = find_package()
    assert package is not None
    offline = assemble_into_store(store, package)
    gpt2 = store.add_file(tiny_model["q8_0"], name="Some GPT-2")
    mine = store.add_file(tiny_model["f16"], name="Mine")
    assert takes_over(gpt2, None, store)  # nothing in use
    assert takes_over(gpt2, str(tmp_path / "gone.gguf"), store)  # the file in use is gone
    assert takes_over(gpt2, str(offline.path), store)  # the offline model stood in
    assert not takes_over(gpt2, str(mine.path), store)  # the writer's own choice stays
    assert not takes_over(offline, None, store)  # only a GPT-2 takes over


def test_startup_with_nothing_installed_and_no_offline_package(
    store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.core.model_choice.find_package", lambda: None)
    choice = startup_choice(None, store)
    assert choice.path is None
    assert choice.assemble is None
    assert choice.reason == "no model installed"
    assert isinstance(choice.reason, Text)


def test_sweep_removes_only_old_leftovers(store: ModelStore, tiny_model: TestModel) -> None:
    import os
    import time

    kept = store.add_file(tiny_model["q8_0"])
    store.work_dir.mkdir(parents=True)
    old_build = store.work_dir / "0123abcd"
    old_build.mkdir()
    (old_build / "f16.gguf").write_bytes(b"x" * 100)
    half_copied = store.root / "half"
    half_copied.mkdir()
    (half_copied / "model.gguf.part").write_bytes(b"x" * 100)
    fresh = store.work_dir / "running-now"
    fresh.mkdir()
    an_hour_ago = time.time() - 7200
    for path in (old_build, half_copied):
        os.utime(path, (an_hour_ago, an_hour_ago))
    swept = store.sweep()
    assert sorted(p.name for p in swept) == ["0123abcd", "half"]
    assert fresh.exists()
    assert kept.path.is_file()
    assert store.models() == [kept]


def test_remove_is_all_or_nothing(store: ModelStore, tiny_model: TestModel) -> None:
    model = store.add_file(tiny_model["q8_0"])
    store.remove(model.id)
    assert store.models() == []
    assert [p.name for p in store.root.iterdir()] == []


def test_offline_model_is_rebuilt_when_the_package_changes(store: ModelStore) -> None:
    package = find_package()
    assert package is not None
    first = assemble_into_store(store, package)
    manifest = json.loads((first.folder / MANIFEST).read_text())
    manifest["sha256"] = "0" * 64  # as if an older package version had built it
    (first.folder / MANIFEST).write_text(json.dumps(manifest))
    again = assemble_into_store(store, package)
    assert again.manifest.sha256 == package.sha256
    assert again.path.is_file()
    assert [m.id for m in store.models()] == [again.id]
