"""Privacy and supply chain: writing never touches the network, downloads are explicit,
and pickled checkpoints are never loaded.

The network guard is real: a Python audit hook (PEP 578) sees every socket the process
creates, connects, binds or resolves a name for, in any thread and any library
(huggingface_hub, urllib, http.client...). An audit hook cannot be removed, so it is
installed once and a flag turns it on: ``deny`` records and raises, ``record`` only
records. The download test proves the guard sees a real connection.

Already covered elsewhere, not repeated here: a plain-http endpoint to another host is
refused (``tests/core/test_hub_download.py::test_plain_http_to_another_host_is_refused``,
``test_insecure_hf_endpoint_is_refused``); a file whose SHA-256 or git hash does not match
is rejected and deleted (``test_corrupted_download_is_deleted``,
``test_corrupted_text_file_fails_its_git_hash``); the converter and the CLI name the pickle
they refuse (``tests/core/test_convert.py``, ``tests/core/test_cli.py``). Here: that refusals happen
before any socket or unpickling, and the model manager's import path.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.convert import ConversionError, convert_checkpoint
from app.core.hub_download import DownloadError, download_files
from app.core.model_install import InstallError, build_from_folder
from app.core.model_store import ModelStore
from app.gui.main_window import MainWindow
from tests.support.gui import TEXT, WAIT_MS, close_window, open_window, settle, type_and_wait
from tests.support.hub_server import HubServer
from tests.support.models import TestModel

NETWORK_EVENTS = frozenset({
    "socket.__new__", "socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
    "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.getnameinfo", "socket.bind",
    "socket.sendto", "socket.sendmsg",
})  # fmt: skip
UNPICKLE_EVENTS = frozenset({"pickle.find_class"})


class Guard:
    """The process's audit hook: off, recording, or denying (recording and raising)."""

    def __init__(self) -> None:
        self.mode = "off"
        self.watched: frozenset[str] = frozenset()
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self._installed = False

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.mode == "off" or event not in self.watched:
            return
        self.events.append((event, args))
        if self.mode == "deny":
            raise PermissionError(f"Ghostpen used the network while writing: {event}{args!r}")

    @contextmanager
    def watching(self, mode: str, watched: frozenset[str]) -> Iterator[list[tuple[str, Any]]]:
        if not self._installed:
            sys.addaudithook(self._hook)
            self._installed = True
        self.events = []
        self.mode, self.watched = mode, watched
        try:
            yield self.events
        finally:
            self.mode = "off"


GUARD = Guard()


def _socket_fds() -> set[str]:
    """The sockets this process holds open (Linux): any kind, opened from any code."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


# ------------------------------------------------------------------ writing stays local


def test_a_whole_writing_session_never_touches_the_network(
    qtbot: QtBot, tiny_model: TestModel, tmp_path: Path
) -> None:
    """Open the window, load a model, type with suggestions, accept, cycle alternatives,
    write a draft, use the settings panel and the model manager, autosave, save, reopen,
    close: not one socket, not one name lookup."""
    sockets_before = _socket_fds() if sys.platform.startswith("linux") else set()
    with GUARD.watching("deny", NETWORK_EVENTS) as events:
        w: MainWindow = open_window(qtbot, None)
        try:
            with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
                w.model_controller.load_model(tiny_model["q8_0"])
            assert w.controller.enabled, w.banner.text()
            w.editor.setFocus()
            type_and_wait(qtbot, w, TEXT)
            qtbot.keyClick(w.editor, Qt.Key.Key_Tab)
            type_and_wait(qtbot, w, " and then")
            with qtbot.waitSignal(w.controller.suggestionShown, timeout=WAIT_MS):
                qtbot.keyClick(w.editor, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.AltModifier)
            qtbot.keyClick(w.editor, Qt.Key.Key_Escape)
            with qtbot.waitSignal(w.drafts.finished, timeout=WAIT_MS):
                w.generate_draft()
            qtbot.keyClick(w.editor, Qt.Key.Key_Tab)  # keep the draft
            w.settings_panel.show()  # the live sampler view asks the engine too
            warmer = w.settings.sampling.with_changes(temperature=0.7)
            w.settings_panel.settingsChanged.emit(dataclasses.replace(w.settings, sampling=warmer))
            assert w.settings.sampling.temperature == 0.7  # applied and saved
            qtbot.keyClicks(w.editor, " The end.")
            settle(qtbot, w)
            with qtbot.waitSignal(w.journal_controller.journalWritten, timeout=WAIT_MS):
                w.journal_controller.journal_now()
            manager = w.model_controller.open_model_manager()
            manager.close()
            story = tmp_path / "story.txt"
            assert w.document_controller.save_to(story)
            text = w.editor.toPlainText()
            assert w.document_controller.open_file(story)
            assert w.editor.toPlainText() == text
            if sys.platform.startswith("linux"):
                assert _socket_fds() <= sockets_before  # nothing opened below Python either
        finally:
            close_window(w)
    assert events == []


def test_the_guard_sees_an_explicit_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only an explicit download connects, and the guard is no placebo: it sees it."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "config.json").write_text('{"model_type": "gpt2"}')
    (repo / "model.safetensors").write_bytes(os.urandom(100_000))
    with HubServer({"openai-community/gpt2": repo}) as hub:
        with GUARD.watching("record", NETWORK_EVENTS) as events:
            files = download_files(
                "openai-community/gpt2",
                ["config.json", "model.safetensors"],
                tmp_path / "dest",
                endpoint=hub.url,
            )
        connects = [args for event, args in events if event == "socket.connect"]
    assert [f.name for f in files] == ["config.json", "model.safetensors"]
    assert any(args[1][:2] == ("127.0.0.1", hub.port) for args in connects), events[:10]


def test_a_refused_insecure_endpoint_opens_no_socket(tmp_path: Path) -> None:
    with GUARD.watching("deny", NETWORK_EVENTS) as events, pytest.raises(DownloadError) as caught:
        download_files("openai-community/gpt2", ["config.json"], tmp_path, endpoint="http://hf.co")
    assert caught.value.kind == "insecure"
    assert events == []


# ------------------------------------------------------------------ pickles


class _Trap:
    """Unpickling this makes a folder: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


@pytest.fixture
def pickled_folder(tiny_model: TestModel, tmp_path: Path) -> tuple[Path, Path]:
    """A real GPT-2 folder (config, tokenizer) whose only weights are a booby-trapped pickle."""
    folder = tmp_path / "pickled-gpt2"
    folder.mkdir()
    for name in ("config.json", "vocab.json", "merges.txt"):
        shutil.copyfile(tiny_model.checkpoint / name, folder / name)
    marker = tmp_path / "the-pickle-ran"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Trap(marker)))
    return folder, marker


def test_the_trap_is_live(pickled_folder: tuple[Path, Path]) -> None:
    """Loading that file does run code (so the tests below prove something)."""
    folder, marker = pickled_folder
    pickle.loads((folder / "pytorch_model.bin").read_bytes())  # deliberately, our own trap
    assert marker.is_dir()


def test_the_converter_refuses_a_pickle_without_unpickling_it(
    pickled_folder: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, marker = pickled_folder
    with GUARD.watching("deny", UNPICKLE_EVENTS) as events, pytest.raises(ConversionError) as e:
        convert_checkpoint(folder, tmp_path / "out.gguf", "f16")
    assert "pytorch_model.bin" in str(e.value)
    assert "model.safetensors" in str(e.value)
    assert events == []
    assert not marker.exists()
    assert not (tmp_path / "out.gguf").exists()


def test_the_model_manager_import_refuses_a_pickle_without_unpickling_it(
    pickled_folder: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, marker = pickled_folder
    store = ModelStore(tmp_path / "store")
    with GUARD.watching("deny", UNPICKLE_EVENTS) as events, pytest.raises(InstallError) as e:
        build_from_folder(folder, store, "Q8_0")
    assert "pytorch_model.bin" in str(e.value)
    assert "arbitrary code" in str(e.value)
    assert events == []
    assert not marker.exists()
    assert store.models() == []
