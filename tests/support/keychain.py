"""Keychains for tests: real ``keyring`` backends that keep their entries in memory, and
one that fails the way a locked or vanished system keychain does.

They are installed with ``keyring.set_keyring`` (see :func:`installed`), so the code under
test goes through keyring's own API exactly as with the system keychain. ``viable =
False`` keeps keyring from ever choosing them on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError, PasswordSetError

_Backend = TypeVar("_Backend", bound=KeyringBackend)


class MemoryKeychain(KeyringBackend):
    """A working keychain; ``entries`` is what it holds, by (service, user name)."""

    priority = 1
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.writes = 0

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password
        self.writes += 1

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such entry")


class BrokenKeychain(MemoryKeychain):
    """A keychain that is there but refuses: reads, writes or both raise, as a locked
    Secret Service or a denied macOS Keychain access does."""

    def __init__(self, *, reads: bool = True, writes: bool = True) -> None:
        super().__init__()
        self.fail_reads = reads
        self.fail_writes = writes

    def get_password(self, service: str, username: str) -> str | None:
        if self.fail_reads:
            raise KeyringError("the keychain is locked")
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.fail_writes:
            raise PasswordSetError("the keychain refused the entry")
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        if self.fail_writes:
            raise PasswordDeleteError("the keychain is locked")
        super().delete_password(service, username)


@contextmanager
def installed(backend: _Backend) -> Iterator[_Backend]:
    """``backend`` as keyring's keychain for the block; the previous one afterwards."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
