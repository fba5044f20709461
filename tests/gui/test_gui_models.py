"""The model manager and the first run, driven through the real window (offscreen)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import llama_cpp
import pytest
from PySide6.QtWidgets import QDoubleSpinBox, QPushButton
from pytestqt.qtbot import QtBot

from app.core.engine import Engine
from app.core.model_store import ModelStore
from app.core.paths import AppPaths
from app.core.sampling import GREEDY
from app.core.settings import load_settings
from app.gui.main_window import MainWindow
from app.gui.model_manager import ModelManagerDialog
from tests.support.gui import (
    TEXT,
    WAIT_MS,
    cell_text,
    close_window,
    greedy_settings,
    open_window,
    type_and_wait,
)
from tests.support.hub_server import HubServer, Knobs
from tests.support.llama_server import free_port, llama_server
from tests.support.models import TestModel


def _no_offline_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine where the ``offline`` extra is not installed."""
    monkeypatch.setattr("app.core.model_choice.find_package", lambda: None)
    monkeypatch.setattr("app.gui.model_manager.find_package", lambda: None)


def _wait_job(qtbot: QtBot, w: MainWindow) -> None:
    qtbot.waitUntil(lambda: not w.model_controller.model_jobs.busy, timeout=WAIT_MS * 3)


def _store() -> ModelStore:
    return ModelStore(AppPaths.default().models_dir)


def test_first_run_with_no_model_opens_the_manager_with_gpt2_preselected(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    w = open_window(qtbot, None, choose_model=True)
    try:
        manager = w.model_controller.model_manager
        assert manager is not None
        assert manager.isVisible()
        rows = manager.catalog_table.selectionModel().selectedRows()
        assert [r.row() for r in rows] == [0]
        assert cell_text(manager.catalog_table, 0, 0) == "GPT-2 (124M)"
        assert "GPT-2 (124M) is recommended" in w.banner.text()
        assert manager.installed_table.rowCount() == 0
        assert w.controller.model is None
    finally:
        close_window(w)


@pytest.mark.slow
def test_first_run_builds_the_offline_model_and_it_writes_real_text(qtbot: QtBot) -> None:
    w = open_window(qtbot, None, choose_model=True)
    try:
        with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS * 3) as loaded:
            pass
        model = loaded.args[0]
        assert model is not None
        assert model.info.architecture == "gemma3"
        stored = _store().models()
        assert [m.manifest.offline for m in stored] == [True]
        assert model.source == str(stored[0].path)
        assert w.model_controller.model_manager is None  # no dialog needed: the app just works
        w.editor.setFocus()
        ghost = type_and_wait(qtbot, w, "The weather today is")
        assert ghost.strip()
        assert w.settings.model_path == str(stored[0].path)  # remembered for next time
    finally:
        close_window(w)


def test_manager_lists_switches_sets_default_and_deletes(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    store = _store()
    a = store.add_file(tiny_model["q8_0"], name="Tiny Q8")
    b = store.add_file(tiny_model["f16"], name="Tiny F16")
    w = window
    manager = w.model_controller.open_model_manager()
    assert manager.installed_table.rowCount() == 2
    names = [cell_text(manager.installed_table, r, 0) for r in range(2)]
    assert names == ["Tiny F16", "Tiny Q8"]  # not in use: the window loaded the fixture's path
    assert cell_text(manager.installed_table, 0, 3) == "F16"

    manager.select_model(b.id)
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as loaded:
        manager.use_button.click()
    assert loaded.args[0].source == str(b.path)  # switched at run time, no restart
    assert "in use" in cell_text(manager.installed_table, 0, 0)
    assert w.settings.model_path == str(b.path)

    manager.select_model(a.id)
    manager.default_button.click()
    assert w.settings.model_path == str(a.path)
    assert "default" in cell_text(manager.installed_table, 1, 0)

    assert not manager.delete_model(b.id)  # in use: refused with a reason
    assert "in use" in manager.progress_label.text()
    assert manager.delete_model(a.id)
    assert [m.id for m in store.models()] == [b.id]
    assert not a.folder.exists()


def test_open_gguf_copies_it_into_the_store(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    manager = window.model_controller.open_model_manager()
    with qtbot.waitSignal(window.model_controller.model_jobs.finished, timeout=WAIT_MS) as done:
        assert manager.import_gguf(str(tiny_model["f32"]), "copy")
    model = done.args[0]
    assert model.path.parent.parent == _store().root
    assert manager.installed_table.rowCount() == 1
    assert "Added" in manager.progress_label.text()


def test_opening_a_broken_gguf_says_why_and_adds_nothing(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    manager = window.model_controller.open_model_manager()
    with qtbot.waitSignal(window.model_controller.model_jobs.failed, timeout=WAIT_MS) as failed:
        manager.import_gguf(str(bad), "reference")
    assert "broken.gguf" in failed.args[0]
    assert "broken.gguf" in manager.progress_label.text()
    assert manager.installed_table.rowCount() == 0
    assert window.controller.enabled  # the loaded model is untouched


def test_import_folder_converts_quantizes_and_the_model_completes(
    qtbot: QtBot, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    w = open_window(qtbot, None, choose_model=True)  # first run: the manager opens
    try:
        manager = w.model_controller.model_manager
        assert isinstance(manager, ModelManagerDialog)
        stages: list[str] = []
        w.model_controller.model_jobs.progress.connect(lambda p: stages.append(p.stage))
        with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS * 2) as loaded:
            assert manager.import_folder(str(tiny_model.checkpoint), "Q4_K_M")
        assert {"convert", "quantize"} <= set(stages)
        model = loaded.args[0]
        assert model.info.file_type == "Q4_K_M"  # the first model added is loaded at once
        assert list(_store().work_dir.iterdir()) == []  # the F16 intermediate is gone
        w.editor.setFocus()
        assert type_and_wait(qtbot, w, "The ship left")
    finally:
        close_window(w)


def test_a_second_job_waits_its_turn(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    manager = window.model_controller.open_model_manager()
    with qtbot.waitSignal(window.model_controller.model_jobs.finished, timeout=WAIT_MS):
        assert manager.import_gguf(str(tiny_model["f32"]), "copy")
        assert not manager.import_gguf(str(tiny_model["f16"]), "copy")  # busy: refused
    _wait_job(qtbot, window)
    assert manager.installed_table.rowCount() == 1


@pytest.mark.slow
def test_remote_backend_suggests_and_switching_back_to_a_local_model_works(
    qtbot: QtBot, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    settings = greedy_settings()
    with llama_server(tiny_model["f16"]) as server:
        runtime = replace(settings.runtime, backend="remote", remote_url=server.url, n_ctx=128)
        w = open_window(qtbot, None, replace(settings, runtime=runtime), choose_model=True)
        try:
            with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as loaded:
                pass
            model = loaded.args[0]
            assert model is not None
            assert model.remote
            assert model.info is None
            assert model.source == server.url
            assert "server" in w.model_label.text()
            w.editor.setFocus()
            ghost = type_and_wait(qtbot, w, TEXT)
            with Engine(tiny_model["f16"]) as engine:  # the server runs the same model
                expected = engine.complete(TEXT, replace(GREEDY, max_tokens=24)).text
            assert expected.startswith(ghost.rstrip()) or ghost.startswith(expected.rstrip())

            local = _store().add_file(tiny_model["q8_0"])
            manager = w.model_controller.open_model_manager()
            manager.select_model(local.id)
            with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as loaded:
                manager.use_button.click()
            assert loaded.args[0].info is not None
            assert not loaded.args[0].remote
            assert w.settings.runtime.backend == "local"
        finally:
            close_window(w)


def test_remote_backend_that_cannot_be_reached_says_so(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    settings = greedy_settings()
    url = f"http://127.0.0.1:{free_port()}"
    runtime = replace(settings.runtime, backend="remote", remote_url=url)
    w = open_window(qtbot, None, replace(settings, runtime=runtime), choose_model=True)
    try:
        with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as loaded:
            pass
        assert loaded.args[0] is None
        assert url in w.banner.text()
        assert not w.controller.enabled
    finally:
        close_window(w)


def test_settings_edits_keep_the_chosen_model_and_runtime_changes_reload_it(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    store = _store()
    a = store.add_file(tiny_model["q8_0"], name="Tiny A")
    b = store.add_file(tiny_model["f16"], name="Tiny B")
    w = window
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
        w.model_controller.use_model(b.path)
    manager = w.model_controller.open_model_manager()
    manager.select_model(a.id)
    manager.default_button.click()  # open with A next time, keep B for now

    panel = w.settings_panel
    spin, _ = panel.controls["sampling.temperature"]
    assert isinstance(spin, QDoubleSpinBox)
    spin.setValue(spin.value() + 0.1)  # an unrelated edit must not forget the default
    assert w.settings.model_path == str(a.path)
    saved = load_settings(AppPaths.default().settings_file).settings
    assert saved.model_path == str(a.path)
    assert saved.sampling == w.settings.sampling

    threads, toggle = panel.controls["runtime.n_threads"]
    assert toggle is not None
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as loaded:
        toggle.setChecked(True)
        threads.setValue(1)
    assert loaded.args[0].source == str(b.path)  # the model in use, not the default
    assert loaded.args[0].n_threads == 1


def test_a_model_that_is_loading_cannot_be_deleted(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    model = _store().add_file(tiny_model["f16"], name="Loading")
    manager = window.model_controller.open_model_manager()
    with qtbot.waitSignal(window.controller.modelChanged, timeout=WAIT_MS) as loaded:
        window.model_controller.use_model(model.path)
        assert not manager.delete_model(model.id)
    assert loaded.args[0] is not None
    assert model.path.is_file()
    assert "in use" in manager.progress_label.text()


def test_remote_backend_without_a_url_runs_a_local_model(
    qtbot: QtBot, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    local = _store().add_file(tiny_model["q8_0"])
    paths = AppPaths.default()
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(
        json.dumps({"runtime": {"backend": "remote", "remote_url": "192.168.1.5:8080"}})
    )
    w = open_window(qtbot, None, choose_model=True)
    try:
        with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as loaded:
            pass
        assert loaded.args[0] is not None
        assert loaded.args[0].source == str(local.path)
        assert "remote_url" in w.banner.text()  # the bad value is reported
    finally:
        close_window(w)


def test_download_button_gets_gpt2_from_the_hub_and_it_replaces_the_offline_model(
    qtbot: QtBot, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HubServer({"openai-community/gpt2": tiny_model.checkpoint}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        w = open_window(qtbot, None, choose_model=True)  # first run: the offline model
        try:
            with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS * 3) as loaded:
                pass
            assert loaded.args[0].info.architecture == "gemma3"
            manager = w.model_controller.open_model_manager()
            texts: list[str] = []
            w.model_controller.model_jobs.progress.connect(
                lambda _p: texts.append(manager.progress_label.text())
            )
            button = manager.catalog_table.cellWidget(0, 4)
            assert isinstance(button, QPushButton)
            assert button.text() == "Download"
            with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS * 3) as loaded:
                button.click()
            model = loaded.args[0]
            assert model.info.architecture == "gpt2"  # a GPT-2 takes over from the stand-in
            assert any("Downloading model.safetensors" in t and "/s" in t for t in texts)
            assert w.settings.model_path == model.source
            row = [m.manifest.catalog_id for m in manager._models].index("gpt2")
            assert "in use" in cell_text(manager.installed_table, row, 0)
            offline = next(m for m in _store().models() if m.manifest.offline)
            assert "Gemma" in manager.licence_text(offline)
        finally:
            close_window(w)


def test_cancel_stops_a_download_and_closing_never_waits_on_it(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_offline_package(monkeypatch)
    with HubServer({"openai-community/gpt2": tiny_model.checkpoint}) as hub:
        hub.knobs = Knobs(throttle_bps=500_000)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        manager = window.model_controller.open_model_manager()
        with qtbot.waitSignal(window.model_controller.model_jobs.progress, timeout=WAIT_MS):
            assert manager.download("gpt2")
        assert manager.cancel_button.isVisible()
        with qtbot.waitSignal(window.model_controller.model_jobs.failed, timeout=WAIT_MS) as failed:
            manager.cancel_button.click()
        assert failed.args[1] is True
        assert manager.progress_label.text() == "Cancelled."
        assert _store().models() == []
        with qtbot.waitSignal(window.model_controller.model_jobs.progress, timeout=WAIT_MS):
            assert manager.download("gpt2")  # resumes; then the window closes mid-download
        close_window(window)
        assert window.model_controller.model_jobs._thread.isFinished()


def test_gpu_layers_can_be_all_and_the_status_bar_says_the_model_runs_on_the_cpu(
    qtbot: QtBot, window: MainWindow
) -> None:
    """On this CPU build, nothing is offloaded whatever is asked: the label says CPU."""
    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama.cpp can offload")
    w = window
    model = w.controller.model
    assert model is not None
    assert model.info is not None
    cpu_label = f"{model.info.name} · Q8_0 · CPU"
    assert w.model_label.text() == cpu_label
    spin, toggle = w.settings_panel.controls["runtime.n_gpu_layers"]
    assert toggle is None
    assert spin.minimum() == -1
    assert spin.text() == "0"
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as loaded:
        spin.setValue(-1)
    assert spin.text() == "all"
    assert w.settings.runtime.n_gpu_layers == -1
    model = loaded.args[0]
    assert model.n_gpu_layers == -1
    assert model.offloaded_layers == (0, 3)
    assert w.model_label.text() == cpu_label
    assert not w.banner.isVisible()
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
        spin.setValue(2)
    assert spin.text() == "2"


def test_the_status_bar_names_the_gpu_backend_and_the_layers_it_holds(
    qtbot: QtBot, window: MainWindow
) -> None:
    model = window.controller.model
    assert model is not None
    assert model.info is not None
    cuda = replace(model.build, gpu_offload=True, system_info="CUDA : ARCHS = 900 |")
    window.controller.modelChanged.emit(
        replace(model, build=cuda, n_gpu_layers=-1, offloaded_layers=(13, 13))
    )
    assert window.model_label.text() == f"{model.info.name} · Q8_0 · CUDA · 13/13 layers"
