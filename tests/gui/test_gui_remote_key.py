"""The server's API key in the settings panel: where it is kept, and the warning (and the
hold) before it would cross a network in clear text. Real keyring backends from
tests/support/keychain.py, the real panel and the real window."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from app.core.paths import AppPaths
from app.core.secrets import SERVICE, account
from app.core.settings import AppSettings, RuntimeSettings
from app.gui.main_window import MainWindow
from app.gui.settings_panel import SettingsPanel
from tests.support.gui import WAIT_MS, close_window, open_window
from tests.support.keychain import BrokenKeychain, MemoryKeychain, installed

KEY = "sk-live-0123456789"
LAN = "http://192.168.1.20:8080"


def _panel(qtbot: QtBot, runtime: RuntimeSettings | None = None) -> SettingsPanel:
    panel = SettingsPanel(AppSettings(runtime=runtime or RuntimeSettings()))
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _type(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    """Type into a field as the writer does, and press Enter (which applies it)."""
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _choose_server(qtbot: QtBot, panel: SettingsPanel) -> None:
    panel.backend.setFocus()
    qtbot.keyClick(panel.backend, Qt.Key.Key_Down)  # This computer -> Server
    assert panel.backend.currentData() == "remote"


def test_the_panel_says_the_key_is_in_the_keychain(qtbot: QtBot) -> None:
    with installed(MemoryKeychain()):
        panel = _panel(qtbot, RuntimeSettings(remote_api_key=KEY))
        assert panel.key_note.isVisible()
        assert panel.key_note.text() == "Stored in the system keychain."


def test_the_panel_says_when_there_is_no_keychain(qtbot: QtBot) -> None:
    with installed(fail.Keyring()):
        panel = _panel(qtbot)
        assert not panel.key_note.isVisible()  # no key, nothing to say
        panel.remote_key.setFocus()
        qtbot.keyClicks(panel.remote_key, KEY)
        qtbot.waitUntil(panel.key_note.isVisible, timeout=WAIT_MS)
        assert panel.key_note.text() == (
            "No system keychain: stored in the settings file, readable only by you."
        )


def test_a_key_for_a_plain_http_server_elsewhere_waits_for_the_writer(qtbot: QtBot) -> None:
    with installed(MemoryKeychain()):
        panel = _panel(qtbot)
        _type(qtbot, panel.remote_url, LAN)
        _type(qtbot, panel.remote_key, KEY)  # saved, not used: the backend is local
        assert panel.settings.runtime.remote_api_key == KEY
        assert panel.clear_text.isVisible()
        assert "192.168.1.20" in panel.clear_text.text()
        assert "unencrypted" in panel.clear_text.text()
        assert not panel.send_anyway.isVisible()
        with qtbot.assertNotEmitted(panel.settingsChanged):
            _choose_server(qtbot, panel)
        assert panel.settings.runtime.backend == "local"  # held back: nothing is sent
        assert panel.send_anyway.isVisible()
        assert panel.clear_text.isVisible()
        with qtbot.waitSignal(panel.settingsChanged, timeout=WAIT_MS) as applied:
            qtbot.mouseClick(panel.send_anyway, Qt.MouseButton.LeftButton)
        runtime = applied.args[0].runtime
        assert (runtime.backend, runtime.remote_url, runtime.remote_api_key) == ("remote", LAN, KEY)
        assert not panel.send_anyway.isVisible()
        assert panel.clear_text.isVisible()  # the warning stays while it is so
        with qtbot.assertNotEmitted(panel.settingsChanged):
            _type(qtbot, panel.remote_url, "http://192.168.1.21:8080")
        assert panel.send_anyway.isVisible()  # another server: asked again
        assert panel.settings.runtime.remote_url == LAN


@pytest.mark.parametrize(
    "url", ["https://gpu.example:8080", "http://127.0.0.1:8080", "http://localhost:8080"]
)
def test_an_encrypted_or_local_server_gets_the_key_at_once(qtbot: QtBot, url: str) -> None:
    with installed(MemoryKeychain()):
        panel = _panel(qtbot, RuntimeSettings(remote_url=url, remote_api_key=KEY))
        with qtbot.waitSignal(panel.settingsChanged, timeout=WAIT_MS) as applied:
            _choose_server(qtbot, panel)
        assert applied.args[0].runtime.backend == "remote"
        assert not panel.clear_text.isVisible()
        assert not panel.send_anyway.isVisible()


def test_a_server_already_in_use_only_shows_the_warning(qtbot: QtBot) -> None:
    runtime = RuntimeSettings(backend="remote", remote_url=LAN, remote_api_key=KEY)
    with installed(MemoryKeychain()):
        panel = _panel(qtbot, runtime)
        assert panel.clear_text.isVisible()
        assert not panel.send_anyway.isVisible()
        with qtbot.waitSignal(panel.settingsChanged, timeout=WAIT_MS) as applied:
            _type(qtbot, panel.remote_key, "")  # dropping the key is never held back
        assert applied.args[0].runtime.remote_api_key is None
        assert not panel.clear_text.isVisible()
        assert not panel.key_note.isVisible()


@contextmanager
def _window(qtbot: QtBot, keychain: KeyringBackend) -> Iterator[MainWindow]:
    """A window with no model, opened and closed (closing saves) with ``keychain``, so no
    save ever reaches the computer's own keychain."""
    with installed(keychain):
        window = open_window(qtbot, None)
        try:
            yield window
        finally:
            close_window(window)


def test_the_window_keeps_the_key_in_the_keychain(qtbot: QtBot) -> None:
    settings_file = AppPaths.default().settings_file
    keychain = MemoryKeychain()
    with _window(qtbot, keychain) as window:
        _type(qtbot, window.settings_panel.remote_key, KEY)
        assert window.settings.runtime.remote_api_key == KEY
        assert keychain.entries == {(SERVICE, account(settings_file)): KEY}
        assert KEY not in settings_file.read_text(encoding="utf-8")
        assert window.settings_panel.key_note.text() == "Stored in the system keychain."
    assert KEY not in settings_file.read_text(encoding="utf-8")  # closing saved it again


def test_a_failing_keychain_keeps_the_key_in_the_file_and_says_so(qtbot: QtBot) -> None:
    settings_file = AppPaths.default().settings_file
    with _window(qtbot, BrokenKeychain()) as window:
        _type(qtbot, window.settings_panel.remote_key, KEY)
        data = json.loads(settings_file.read_text(encoding="utf-8"))
        assert data["runtime"]["remote_api_key"] == KEY  # not lost
        note = window.settings_panel.key_note.text()
        assert note.startswith("The system keychain failed (")
        assert "refused the entry" in note
        assert "stored in the settings file" in note
