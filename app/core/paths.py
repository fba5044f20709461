"""Where Ghostpen keeps its files, and the one safe way to write them.

Everything goes to the per-user folders from platformdirs, never beside the code: an
installed app may live in a read-only place, and a git checkout must stay clean.
``GHOSTPEN_HOME`` moves all of it under one folder, for tests and portable installs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from platformdirs import PlatformDirs

__all__ = ["APP_NAME", "HOME_ENV", "AppPaths", "atomic_write"]

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


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    The bytes go to a temporary file in the same folder (so the rename stays on one file
    system), are flushed and fsynced, then ``os.replace`` swaps it in and the folder is
    fsynced where the platform allows. The folder is created if needed. A symlink is
    followed, so a settings file linked into a dotfiles repository stays a link. An
    existing file's permission bits are kept; a new file is private to the user (0600).
    On any failure the temporary file is removed, the old file is untouched and the
    ``OSError`` propagates.
    """
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; Windows cannot open folders, so it is skipped there."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        # The file is already in place; a file system that cannot sync folders is fine.
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
