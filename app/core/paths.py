"""Where Ghostpen keeps its files, and the one safe way to write them.

Everything goes to the per-user folders from platformdirs, never beside the code: an
installed app may live in a read-only place, and a git checkout must stay clean.
``GHOSTPEN_HOME`` moves all of it under one folder, for tests and portable installs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from platformdirs import PlatformDirs

__all__ = ["APP_NAME", "HOME_ENV", "AppPaths", "AtomicWriteError", "atomic_write"]

APP_NAME = "Ghostpen"
#: When set (and not empty), all four folders are subfolders of this one.
HOME_ENV = "GHOSTPEN_HOME"


@dataclass(frozen=True)
class AppPaths:
    """The four per-user folders. Nothing here touches the disk except ``ensure``."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    state_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def journal_dir(self) -> Path:
        """Autosave journals of unsaved documents (state, not data: they are transient)."""
        return self.state_dir / "journal"

    @classmethod
    def default(cls) -> AppPaths:
        """The platform's folders, or subfolders of ``$GHOSTPEN_HOME`` when it is set.

        A relative ``GHOSTPEN_HOME`` is made absolute now, so a later ``chdir`` cannot
        move the settings.
        """
        home = os.environ.get(HOME_ENV, "")
        if home:
            root = Path(home).expanduser().resolve()
            return cls(root / "config", root / "data", root / "cache", root / "state")
        dirs = PlatformDirs(APP_NAME, appauthor=False)
        return cls(
            Path(dirs.user_config_path).absolute(),
            Path(dirs.user_data_path).absolute(),
            Path(dirs.user_cache_path).absolute(),
            Path(dirs.user_state_path).absolute(),
        )

    def ensure(self) -> None:
        """Create the four folders (and their parents) if they are missing."""
        for folder in (self.config_dir, self.data_dir, self.cache_dir, self.state_dir):
            folder.mkdir(parents=True, exist_ok=True)


class AtomicWriteError(OSError):
    """An atomic write failed; the target file is exactly as it was before.

    Keeps the ``errno``, ``strerror`` and file names of the error that caused it (callers
    tell "disk full" from "permission denied" as for any OSError) and adds ``stage``, the
    step that failed: "folder" (creating the folder), "create" (the temporary file),
    "write", "sync" (flushing it to the disk) or "replace" (the final rename). A writer's
    message depends on it: a refused "create" means a read-only folder, a refused
    "replace" a locked file.
    """

    def __init__(self, cause: OSError, stage: str) -> None:
        if cause.errno is None:
            super().__init__(*cause.args)
        else:
            super().__init__(cause.errno, cause.strerror, cause.filename, None, cause.filename2)
        self.stage = stage


def _write_bytes(handle: BinaryIO, data: bytes) -> None:
    """Write all of ``data``: a seam that fault-injection tests replace to fail part-way."""
    handle.write(data)


def _temp_name(target: Path) -> str:
    """A hidden, unique name next to the target; the stem is capped to fit name limits."""
    return f".{target.name[:100]}.{secrets.token_hex(6)}.tmp"


def atomic_write(
    path: Path,
    data: bytes,
    *,
    make_folder: bool = True,
    new_file_mode: int = 0o600,
    write: Callable[[BinaryIO, bytes], None] | None = None,
) -> os.stat_result:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    The one atomic-write routine of the app (settings, manifests, documents, journals):
    the bytes go to a hidden temporary file in the same folder (so the rename stays on
    one file system), are flushed and fsynced, then ``os.replace`` swaps it in and the
    folder is fsynced where the platform allows. A symbolic link is followed, so a
    settings file linked into a dotfiles repository stays a link. An existing file keeps
    its permission bits and, where allowed, its owner; a new one gets ``new_file_mode``
    less the umask (0600 by default: settings may hold an API key).

    ``make_folder`` creates missing folders (settings); documents pass False, since a
    vanished folder is something to tell the writer, not to paper over. ``write`` writes
    the bytes into the open temporary file (a seam for fault-injection tests).

    Returns the stat of the written file. On any failure the temporary file is removed,
    the old file is untouched and an :class:`AtomicWriteError` is raised (any other
    exception, such as KeyboardInterrupt, propagates as it is, after the same clean-up).
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    stage = "folder"
    tmp = folder / _temp_name(target)
    fd = -1
    created = False
    try:
        if make_folder:
            folder.mkdir(parents=True, exist_ok=True)
        stage = "create"
        try:
            old: os.stat_result | None = os.stat(target)
        except (FileNotFoundError, NotADirectoryError):
            old = None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while not created:
            try:
                fd = os.open(tmp, flags, new_file_mode)
                created = True
            except FileExistsError:
                tmp = folder / _temp_name(target)
        stage = "write"
        if old is not None:
            if hasattr(os, "fchown"):
                # Keep the owner and group where allowed (before chmod: chown clears setuid).
                with contextlib.suppress(OSError):
                    os.fchown(fd, old.st_uid, old.st_gid)
            if hasattr(os, "fchmod"):
                os.fchmod(fd, stat.S_IMODE(old.st_mode))
            else:  # pragma: no cover - Windows
                os.chmod(tmp, stat.S_IMODE(old.st_mode))
        with open(fd, "wb", closefd=True) as handle:
            fd = -1  # the file object owns it now
            (write or _write_bytes)(handle, data)
            stage = "sync"
            handle.flush()
            os.fsync(handle.fileno())
            written = os.fstat(handle.fileno())
        stage = "replace"
        os.replace(tmp, target)
    except BaseException as err:
        if fd >= 0:
            os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, AtomicWriteError):
            raise AtomicWriteError(err, stage) from err
        raise
    _fsync_folder(folder)
    return written


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; Windows cannot open folders, so it is skipped there."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        # The file is already in place; a file system that cannot sync folders is fine.
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
