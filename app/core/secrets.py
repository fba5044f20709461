"""The remote server's API key: kept in the system keychain, and checked before it travels.

The settings file is private (0600) but it is a plain file: backups, sync folders and
dotfile repositories copy it. So where ``keyring`` finds a real system keychain (macOS
Keychain, Windows Credential Locker, the Secret Service on Linux), the key lives there and
the file only says so (``runtime.remote_api_key_in_keychain``); elsewhere the key stays in
the file, and the settings panel says which (:func:`keychain_state`).

- **One entry per settings file**, service ``Ghostpen``, user name ``remote-api-key:`` and
  the settings file's resolved path. The key replaces a value of that file, so it follows
  the file: a second settings file (a test's, a benchmark's, a ``GHOSTPEN_HOME``) can
  neither read nor overwrite nor delete the writer's key. It is not keyed by the server's
  URL: the panel edits the URL and the key as one pair, and fixing a typo or a port in the
  URL must not lose the key.
- **Never lose the key.** A keychain that fails at run time (locked, its service gone)
  costs nothing: the key goes into the file as before, and that keychain is not tried
  again in this session, so a broken keychain means one failure, not one per save.
- **Lazy.** ``keyring`` is imported and asked only when there is a key to store or an
  entry to read, so a writer without a server pays nothing at start, and a command that
  needs no key reads none (``load_settings(path, read_key=False)``).

:func:`clear_text_host` tells when a key would cross the network unencrypted (plain
``http://`` to a host that is not this computer), for the panel to warn before it does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "SERVICE",
    "Keychain",
    "account",
    "clear_text_host",
    "forget_key",
    "keep_unread_entry",
    "keychain_state",
    "read_key",
    "skip_key",
    "store_key",
]

SERVICE = "Ghostpen"


def account(settings_file: Path) -> str:
    """The keychain user name of the key that belongs to ``settings_file``."""
    try:
        where = str(Path(settings_file).resolve())
    except (OSError, RuntimeError):  # a symlink loop
        where = os.path.abspath(settings_file)
    return f"remote-api-key:{where}"


@dataclass(frozen=True)
class Keychain:
    """Whether keys go to a system keychain; if not, ``failure`` says what went wrong
    with one in this session (None: there is simply none here)."""

    usable: bool
    failure: str | None = None


@dataclass
class _Session:
    """What this process knows of one keychain backend (a new backend starts afresh)."""

    backend: KeyringBackend
    failure: str | None = None
    stored: dict[str, str] = field(default_factory=dict)  # account -> key known to be there


_session: _Session | None = None
#: Accounts whose entry this process has not read (the keychain failed, or the caller did
#: not need the key): a save without a key keeps pointing at them instead of dropping them.
_unread: set[str] = set()


def _backend() -> KeyringBackend | None:
    """The system keychain ``keyring`` chose, or None when it found no real one."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:  # keyring not installed: the file it is
        return None
    try:
        backend = keyring.get_keyring()
        usable = not isinstance(backend, (fail.Keyring, null.Keyring)) and backend.priority > 0
    except Exception:  # a broken backend plug-in: no keychain, rather than no settings
        return None
    return backend if usable else None


def _current() -> _Session | None:
    global _session
    backend = _backend()
    if backend is None:
        return None
    if _session is None or _session.backend is not backend:
        _session = _Session(backend)
    return _session


def _failed(session: _Session, exc: Exception) -> str:
    session.failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return session.failure


def keychain_state() -> Keychain:
    """Where a key would be kept now: for the settings panel's note."""
    session = _current()
    if session is None:
        return Keychain(False)
    return Keychain(session.failure is None, session.failure)


def read_key(settings_file: Path) -> tuple[str | None, str]:
    """The key kept for ``settings_file``, or None and why not (for a load warning).

    A keychain that fails here leaves the entry marked as unread, so that saving the
    settings (which then hold no key) keeps it rather than deleting it.
    """
    session = _current()
    if session is None:
        return None, "there is no system keychain here"
    name = account(settings_file)
    if session.failure is not None:
        _unread.add(name)
        return None, f"the system keychain failed earlier ({session.failure})"
    try:
        key = session.backend.get_password(SERVICE, name)
    except Exception as exc:  # any backend's error: locked, no D-Bus, access denied...
        _unread.add(name)
        return None, f"the system keychain failed ({_failed(session, exc)})"
    if not key:
        return None, "the system keychain has no entry for it"
    session.stored[name] = key
    _unread.discard(name)
    return key, ""


def store_key(settings_file: Path, key: str) -> bool:
    """Put ``key`` in the keychain; False means it must stay in the settings file."""
    session = _current()
    if session is None or session.failure is not None:
        return False
    name = account(settings_file)
    if session.stored.get(name) == key:  # saved often (window geometry): write once
        return True
    try:
        session.backend.set_password(SERVICE, name, key)
    except Exception as exc:  # PasswordSetError, a locked keychain, a vanished service...
        _failed(session, exc)
        return False
    session.stored[name] = key
    _unread.discard(name)
    return True


def skip_key(settings_file: Path) -> None:
    """The file's entry is left unread (its key is not needed): saves keep pointing at it."""
    _unread.add(account(settings_file))


def keep_unread_entry(settings_file: Path) -> bool:
    """True when the file's keychain entry was not read in this process: a save without a
    key must keep pointing at it (the key is unknown, not cleared)."""
    return account(settings_file) in _unread


def forget_key(settings_file: Path) -> None:
    """Delete the keychain entry this session read or wrote for ``settings_file``.

    Best effort: called once the file no longer points at the entry, so a failure leaves
    an orphan entry behind, never a cleared key that comes back.
    """
    session = _session
    name = account(settings_file)
    if session is None or name not in session.stored:
        return  # nothing known there: keyring is not even imported
    del session.stored[name]
    # Already gone, or a failing keychain: an orphan entry at worst.
    with contextlib.suppress(Exception):
        session.backend.delete_password(SERVICE, name)


# --------------------------------------------------------------------------- clear text

_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def clear_text_host(url: str | None) -> str | None:
    """The host a key would reach unencrypted: ``url``'s when it is plain ``http://`` to
    another computer; None for ``https://`` and for this computer (127.0.0.0/8, ::1,
    localhost), where nothing crosses a network."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:  # a malformed address: the engine reports it, not this warning
        return None
    if parts.scheme.lower() != "http" or not host:
        return None
    if host.lower() in _LOOPBACK_NAMES:
        return None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # fe80::1%eth0
    except ValueError:
        return host  # a name: it may be anywhere
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return None if address.is_loopback or (mapped and mapped.is_loopback) else host
