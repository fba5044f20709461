"""The server's API key in the keychain: real ``keyring`` with test backends, real files.

A working keychain takes the key out of the file; no keychain, or one that fails, leaves
it in the file and the key is never lost; a key in an old file moves on the next save.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from keyring.backends import fail, null

from app.core import secrets
from app.core.secrets import SERVICE, account, clear_text_host, keychain_state
from app.core.settings import (
    KEYCHAIN_MARK,
    AppSettings,
    RuntimeSettings,
    load_settings,
    save_settings,
)
from tests.support.keychain import BrokenKeychain, MemoryKeychain, installed

KEY = "sk-live-0123456789"
WITH_KEY = AppSettings(
    runtime=RuntimeSettings(
        backend="remote", remote_url="https://gpu.example:8080", remote_api_key=KEY
    )
)


def _file(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    runtime = data["runtime"]
    assert isinstance(runtime, dict)
    return runtime


def _old_file(path: Path, key: str = KEY) -> None:
    """A settings file as an older Ghostpen wrote it: the key in plain text."""
    path.write_text(
        json.dumps({"runtime": {"remote_url": "http://10.0.0.5:8080", "remote_api_key": key}})
    )
    path.chmod(0o600)


def test_the_key_goes_to_the_keychain_and_the_file_only_says_so(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    with installed(MemoryKeychain()) as keychain:
        assert keychain_state() == secrets.Keychain(True)
        save_settings(WITH_KEY, path)
        assert KEY not in path.read_text(encoding="utf-8")
        runtime = _file(path)
        assert runtime["remote_api_key"] is None
        assert runtime[KEYCHAIN_MARK] is True
        assert keychain.entries == {(SERVICE, account(path)): KEY}
        assert load_settings(path).settings == WITH_KEY
        assert load_settings(path).warnings == ()


def test_a_key_in_an_old_file_moves_to_the_keychain_on_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    _old_file(path)
    with installed(MemoryKeychain()) as keychain:
        loaded = load_settings(path)
        assert loaded.settings.runtime.remote_api_key == KEY
        assert not loaded.warnings
        assert keychain.entries == {}  # loading alone changes nothing
        save_settings(loaded.settings, path)
        assert KEY not in path.read_text(encoding="utf-8")
        assert keychain.entries == {(SERVICE, account(path)): KEY}
        assert load_settings(path) == loaded


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring], ids=["fail", "null"])
def test_without_a_keychain_the_key_stays_in_the_private_file(
    tmp_path: Path, backend: type
) -> None:
    path = tmp_path / "settings.json"
    with installed(backend()):
        assert keychain_state() == secrets.Keychain(False, None)
        save_settings(WITH_KEY, path)
        assert _file(path)["remote_api_key"] == KEY
        assert KEYCHAIN_MARK not in _file(path)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert load_settings(path).settings == WITH_KEY


def test_a_keychain_that_refuses_the_key_leaves_it_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    _old_file(path)
    with installed(BrokenKeychain(reads=False)) as keychain:
        loaded = load_settings(path)
        save_settings(loaded.settings, path)  # the migration fails: nothing is lost
        assert _file(path)["remote_api_key"] == KEY
        assert KEYCHAIN_MARK not in _file(path)
        state = keychain_state()
        assert not state.usable
        assert state.failure is not None
        assert "refused the entry" in state.failure
        keychain.fail_writes = False  # the keychain is not tried again this session
        changed = replace(
            loaded.settings, runtime=replace(loaded.settings.runtime, remote_api_key="sk-2")
        )
        save_settings(changed, path)
        assert keychain.entries == {}
        assert _file(path)["remote_api_key"] == "sk-2"
        assert load_settings(path).settings == changed


def test_a_keychain_that_cannot_be_read_keeps_its_entry(tmp_path: Path) -> None:
    """Locked at start: the file keeps pointing at the entry through every save, and the
    key is there again once the keychain opens (the next start)."""
    path = tmp_path / "settings.json"
    with installed(MemoryKeychain()) as keychain:
        save_settings(WITH_KEY, path)
        entries = dict(keychain.entries)
    locked = BrokenKeychain(reads=True, writes=True)
    locked.entries.update(entries)
    with installed(locked):
        loaded = load_settings(path)
        assert loaded.settings.runtime.remote_api_key is None
        (warning,) = loaded.warnings
        assert "keychain" in warning
        assert "the keychain is locked" in warning
        assert "enter it again" in warning
        save_settings(replace(loaded.settings, window_state="AAAA"), path)
        assert _file(path)[KEYCHAIN_MARK] is True
    restarted = MemoryKeychain()
    restarted.entries.update(locked.entries)
    with installed(restarted):
        loaded = load_settings(path)
        assert loaded.settings.runtime.remote_api_key == KEY
        assert not loaded.warnings


def test_a_keychain_without_the_entry_says_so_and_the_file_stops_pointing_at_it(
    tmp_path: Path,
) -> None:
    """The settings file synced to another computer: its keychain has no such key."""
    path = tmp_path / "settings.json"
    with installed(MemoryKeychain()):
        save_settings(WITH_KEY, path)
    with installed(MemoryKeychain()):
        loaded = load_settings(path)
        assert loaded.settings.runtime.remote_api_key is None
        assert "has no entry" in " ".join(loaded.warnings)
        save_settings(loaded.settings, path)
        assert KEYCHAIN_MARK not in _file(path)
        assert load_settings(path).warnings == ()


def test_clearing_the_key_deletes_its_entry(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    with installed(MemoryKeychain()) as keychain:
        save_settings(WITH_KEY, path)
        cleared = replace(WITH_KEY, runtime=replace(WITH_KEY.runtime, remote_api_key=None))
        save_settings(cleared, path)
        assert keychain.entries == {}
        assert KEYCHAIN_MARK not in _file(path)
        assert load_settings(path).settings == cleared


def test_each_settings_file_has_its_own_entry_written_once(tmp_path: Path) -> None:
    mine, other = tmp_path / "a" / "settings.json", tmp_path / "b" / "settings.json"
    with installed(MemoryKeychain()) as keychain:
        save_settings(WITH_KEY, mine)
        for n in range(3):  # saved again and again (window geometry): one write
            save_settings(replace(WITH_KEY, window_state=f"AAA{n}"), mine)
        assert keychain.writes == 1
        save_settings(AppSettings(), other)  # no key there: mine is untouched
        other_key = replace(WITH_KEY, runtime=replace(WITH_KEY.runtime, remote_api_key="sk-b"))
        save_settings(other_key, other)
        assert load_settings(mine).settings.runtime.remote_api_key == KEY
        assert load_settings(other).settings.runtime.remote_api_key == "sk-b"
        assert len(keychain.entries) == 2


def test_a_hand_written_key_wins_over_the_keychain(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    with installed(MemoryKeychain()):
        save_settings(WITH_KEY, path)
        data = json.loads(path.read_text(encoding="utf-8"))
        data["runtime"]["remote_api_key"] = "sk-new"
        path.write_text(json.dumps(data))
        loaded = load_settings(path)
        assert loaded.settings.runtime.remote_api_key == "sk-new"
        assert not loaded.warnings


def test_a_bad_keychain_mark_is_reported_and_ignored(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"runtime": {KEYCHAIN_MARK: "yes", "n_gpu_layers": 3}}))
    with installed(MemoryKeychain()):
        loaded = load_settings(path)
    assert loaded.settings.runtime == RuntimeSettings(n_gpu_layers=3)
    (warning,) = loaded.warnings
    assert f"runtime.{KEYCHAIN_MARK}" in warning
    assert "'yes'" in warning


def test_a_key_left_unread_stays_where_it_is(tmp_path: Path) -> None:
    """A command that wants only the model's path reads no key and loses none."""
    path = tmp_path / "settings.json"
    with installed(MemoryKeychain()) as keychain:
        save_settings(WITH_KEY, path)
        entries = dict(keychain.entries)
    locked = BrokenKeychain()  # any call to it would fail, and show in keychain_state
    locked.entries.update(entries)
    with installed(locked):
        loaded = load_settings(path, read_key=False)
        assert loaded.settings.runtime.remote_api_key is None
        assert not loaded.warnings
        save_settings(replace(loaded.settings, model_path="/models/gpt2.gguf"), path)
        assert _file(path)[KEYCHAIN_MARK] is True
        assert keychain_state() == secrets.Keychain(True)  # never called
    with installed(MemoryKeychain()) as restarted:
        restarted.entries.update(entries)
        loaded = load_settings(path)
        assert loaded.settings.runtime.remote_api_key == KEY
        assert loaded.settings.model_path == "/models/gpt2.gguf"


def test_settings_without_a_key_to_read_never_import_keyring(tmp_path: Path) -> None:
    """keyring (and a D-Bus or Keychain call) costs start time: only a key read pays it."""
    plain, marked = tmp_path / "plain.json", tmp_path / "marked.json"
    plain.write_text(json.dumps({"runtime": {"n_gpu_layers": 3}}))
    marked.write_text(json.dumps({"runtime": {KEYCHAIN_MARK: True}}))
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from app.core.settings import load_settings, save_settings\n"
        f"plain, marked = Path({str(plain)!r}), Path({str(marked)!r})\n"
        "save_settings(load_settings(plain).settings, plain)\n"
        "save_settings(load_settings(marked, read_key=False).settings, marked)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'keyring'))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"
    assert _file(marked)[KEYCHAIN_MARK] is True


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://192.168.1.20:8080", "192.168.1.20"),
        ("HTTP://gpu.example/v1", "gpu.example"),
        ("http://[fe80::1%25eth0]:8080", "fe80::1%25eth0"),
        ("http://localhost.example", "localhost.example"),
        ("https://gpu.example:8080", None),
        ("http://127.0.0.1:8080", None),
        ("http://127.8.9.10", None),
        ("http://localhost:8080/v1", None),
        ("http://LocalHost", None),
        ("http://[::1]:8080", None),
        ("http://[::ffff:127.0.0.1]:8080", None),
        ("http://", None),
        ("http://[bad", None),
        ("", None),
        (None, None),
    ],
)
def test_clear_text_is_plain_http_to_another_computer(url: str | None, host: str | None) -> None:
    assert clear_text_host(url) == host
