"""The model store: every model the writer has, each a GGUF plus a small manifest.

A model lives in ``<data>/models/<id>/`` as ``model.gguf`` and ``manifest.json``. A GGUF
the writer chose to keep where it is ("referenced in place") has only the manifest here;
removing it from the store never deletes the writer's own file. The manifest records
where the model came from, its licence and its SHA-256, so the app can show provenance
and tell a damaged file from a good one without trusting file names.

Errors and the scan's problem lines are :class:`~app.core.texts.Text` (``str()`` is the
English the command line prints), which the model manager shows translated.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from app.core.gguf_info import ModelFileError, ModelInfo, inspect_model
from app.core.model_probe import probe_model
from app.core.paths import AppPaths, atomic_write
from app.core.texts import QT_TRANSLATE_NOOP, Text, message_of

MANIFEST = "manifest.json"
MODEL_FILE = "model.gguf"
MANIFEST_SCHEMA = 1
TRASH_PREFIX = ".trash-"
_CHUNK = 1 << 20
#: Free space kept beyond a file's size, so a copy never fills the disk to the last byte.
SPACE_MARGIN = 64 << 20

#: ``progress(done_bytes, total_bytes)`` while a file is copied or hashed.
ByteProgress = Callable[[int, int], None]


class StoreError(Exception):
    """A store operation failed; the message says why and the store is unchanged.

    The store's own messages are :class:`~app.core.texts.Text` (``message_of`` gives them
    back); a file's problem found by llama.cpp or the GGUF reader comes in their English.
    """


#: A job was cancelled (the store, the offline model and installs say it alike).
CANCELLED = QT_TRANSLATE_NOOP("ModelStore", "cancelled")


@dataclass(frozen=True)
class Manifest:
    """What the store knows about one model, as written to its ``manifest.json``."""

    id: str
    name: str
    file: str  # MODEL_FILE inside the model's folder, or an absolute path when referenced
    referenced: bool
    source: str  # where it came from: "hub:<repo>@<commit>", "file:<path>", "folder:<path>"...
    licence: str
    licence_url: str
    quantization: str
    sha256: str
    size: int
    architecture: str
    parameters: int
    context_length: int
    added: str
    catalog_id: str = ""  # the catalog entry it was built from, if any
    offline: bool = False  # the offline model that ships as a pip extra
    licence_file: str = ""  # a licence text kept beside the model (file name in its folder)
    schema_version: int = MANIFEST_SCHEMA

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _manifest_from(data: Any, where: Path) -> Manifest:
    if not isinstance(data, dict):
        raise StoreError(QT_TRANSLATE_NOOP("ModelStore", "%1: not a JSON object").arg(where))
    values: dict[str, Any] = {}
    for f in fields(Manifest):
        if f.name in data:
            values[f.name] = data[f.name]
    try:
        manifest = Manifest(**values)
    except TypeError as exc:
        incomplete = QT_TRANSLATE_NOOP("ModelStore", "%1: incomplete manifest (%2)")
        raise StoreError(incomplete.arg(where, exc)) from None
    for f in fields(Manifest):
        value = getattr(manifest, f.name)
        kind = {"bool": bool, "int": int}.get(str(f.type), str)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            wrong = QT_TRANSLATE_NOOP("ModelStore", "%1: %2 has the wrong type (%3)")
            raise StoreError(wrong.arg(where, repr(f.name), repr(value)))
    return manifest


@dataclass(frozen=True)
class StoredModel:
    manifest: Manifest
    folder: Path

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def path(self) -> Path:
        file = Path(self.manifest.file)
        return file if self.manifest.referenced else self.folder / file

    @property
    def available(self) -> bool:
        """False when a referenced file was moved or deleted outside the app."""
        return self.path.is_file()

    @property
    def is_gpt2(self) -> bool:
        return self.manifest.architecture == "gpt2"


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.")
    return slug[:60] or "model"


def sha256_file(
    path: Path, progress: ByteProgress | None = None, cancel: threading.Event | None = None
) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            _check_cancel(cancel)
            digest.update(block)
            done += len(block)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise StoreError(CANCELLED)


def licence_of(info: ModelInfo) -> tuple[str, str]:
    """The licence a GGUF declares about itself (``general.license``), if any."""
    licence = info.metadata.get("general.license")
    url = info.metadata.get("general.license.link")
    return (
        str(licence) if licence else "unknown (not stated in the file)",
        str(url) if url else "",
    )


class ModelStore:
    """The models folder. Methods are safe to call from one thread at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> ModelStore:
        return cls(AppPaths.default().models_dir)

    @property
    def work_dir(self) -> Path:
        """Scratch space for builds, on the same file system as the models."""
        return self.root / ".work"

    # ---------------------------------------------------------------- reading

    def scan(self) -> tuple[list[StoredModel], list[Text]]:
        """Every readable model, by name, and one problem line per unreadable manifest."""
        models: list[StoredModel] = []
        problems: list[Text] = []
        if not self.root.is_dir():
            return models, problems
        for folder in sorted(self.root.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            manifest_path = folder / MANIFEST
            if not manifest_path.exists():
                continue
            try:
                data = json.loads(manifest_path.read_text(encoding="utf-8"))
                models.append(StoredModel(_manifest_from(data, manifest_path), folder))
            except (OSError, ValueError, StoreError) as exc:
                skipped = QT_TRANSLATE_NOOP(
                    "ModelStore", "%1: skipped, the manifest is unreadable (%2)"
                )
                problems.append(skipped.arg(manifest_path, message_of(exc)))
        models.sort(key=lambda m: (m.name.lower(), m.id))
        return models, problems

    def models(self) -> list[StoredModel]:
        return self.scan()[0]

    def get(self, ident: str) -> StoredModel:
        """A model by id, name or catalog id (case-insensitive)."""
        key = ident.strip().lower()
        models = self.models()
        for match in (
            lambda m: m.id == key,
            lambda m: m.name.lower() == key,
            lambda m: m.manifest.catalog_id == key,
        ):
            found = [m for m in models if match(m)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                ids = ", ".join(m.id for m in found)
                several = QT_TRANSLATE_NOOP(
                    "ModelStore", "%1 matches several models (%2); use an id"
                )
                raise StoreError(several.arg(repr(ident), ids))
        known = ", ".join(m.id for m in models) or QT_TRANSLATE_NOOP("ModelStore", "none installed")
        missing = QT_TRANSLATE_NOOP("ModelStore", "no installed model called %1 (installed: %2)")
        raise StoreError(missing.arg(repr(ident), known))

    def find_path(self, path: str | Path) -> StoredModel | None:
        target = os.path.realpath(path)
        for model in self.models():
            if os.path.realpath(model.path) == target:
                return model
        return None

    def new_id(self, name: str) -> str:
        base = slugify(name)
        taken = {p.name for p in self.root.iterdir()} if self.root.is_dir() else set()
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    # ---------------------------------------------------------------- writing

    def add_file(
        self,
        src: str | Path,
        *,
        mode: str = "copy",
        name: str | None = None,
        source: str | None = None,
        licence: tuple[str, str] | None = None,
        catalog_id: str = "",
        offline: bool = False,
        sha256: str | None = None,
        progress: ByteProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> StoredModel:
        """Validate ``src`` and add it: ``mode`` is "copy", "move" (a file built for the
        store) or "reference" (keep it where it is). Validation comes first, so a broken
        file never enters the store.
        """
        if mode not in ("copy", "move", "reference"):
            unknown = QT_TRANSLATE_NOOP("ModelStore", "unknown import mode %1")
            raise StoreError(unknown.arg(repr(mode)))
        src = Path(src).absolute()
        try:
            info = inspect_model(src)
        except ModelFileError as exc:
            raise StoreError(message_of(exc)) from None
        # llama.cpp meets the file in a child process first (once per file content), so a
        # file that would crash it never enters the store, and the first load is instant.
        probe = probe_model(src, cancel=cancel)
        if not probe.ok:
            raise StoreError(CANCELLED if probe.cancelled else probe.message)
        if mode == "reference":
            existing = self.find_path(src)
            if existing is not None:
                already = QT_TRANSLATE_NOOP("ModelStore", "%1 is already in the store as %2")
                raise StoreError(already.arg(src, repr(existing.id)))
        model_id = self.new_id(name or info.name or src.stem)
        folder = self.root / model_id
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            folder.mkdir()
        except OSError as exc:
            cannot = QT_TRANSLATE_NOOP("ModelStore", "cannot create %1: %2")
            raise StoreError(cannot.arg(folder, exc.strerror or exc)) from None
        try:
            if mode == "copy":
                self._check_space(info.file_size)
                digest = self._copy(src, folder / MODEL_FILE, progress, cancel)
            elif mode == "move":
                digest = sha256 or sha256_file(src, progress, cancel)
                os.replace(src, folder / MODEL_FILE)
            else:
                digest = sha256 or sha256_file(src, progress, cancel)
            lic, lic_url = licence or licence_of(info)
            manifest = Manifest(
                id=model_id,
                name=name or info.name or src.stem,
                file=str(src) if mode == "reference" else MODEL_FILE,
                referenced=mode == "reference",
                source=source or f"file:{src}",
                licence=lic,
                licence_url=lic_url,
                quantization=info.quantization,
                sha256=digest,
                size=info.file_size,
                architecture=info.architecture,
                parameters=info.parameter_count,
                context_length=info.context_length,
                added=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                catalog_id=catalog_id,
                offline=offline,
            )
            atomic_write(folder / MANIFEST, manifest.to_json())
        except BaseException as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, OSError):
                cannot = QT_TRANSLATE_NOOP("ModelStore", "%1: cannot add it to the store: %2")
                raise StoreError(cannot.arg(src, exc.strerror or exc)) from None
            raise
        return StoredModel(manifest, folder)

    def attach_licence(self, model: StoredModel, text_file: Path) -> StoredModel:
        """Keep a copy of the model's licence text beside it, named in the manifest."""
        target = model.folder / f"LICENCE{text_file.suffix}"
        shutil.copyfile(text_file, target)
        manifest = Manifest(**{**asdict(model.manifest), "licence_file": target.name})
        atomic_write(model.folder / MANIFEST, manifest.to_json())
        return StoredModel(manifest, model.folder)

    def remove(self, ident: str) -> StoredModel:
        """Delete a model from the store (a referenced file itself is left alone).

        The folder is first renamed into the trash in one step, so the model is either
        listed whole or gone; what a locked file keeps from being deleted now is swept
        later by :meth:`sweep`.
        """
        model = self.get(ident)
        trash = self.root / f"{TRASH_PREFIX}{model.id}-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(model.folder, trash)
        except OSError as exc:
            cannot = QT_TRANSLATE_NOOP("ModelStore", "cannot remove %1: %2")
            raise StoreError(cannot.arg(model.id, exc.strerror or exc)) from None
        shutil.rmtree(trash, ignore_errors=True)
        return model

    def sweep(self, older_than_s: float = 3600.0) -> list[Path]:
        """Remove leftovers of interrupted work: scratch builds, trash, and folders that
        never got a manifest. Only old ones, so another process's running job is safe."""
        if not self.root.is_dir():
            return []
        cutoff = time.time() - older_than_s
        stale: list[Path] = []
        candidates = [*self.work_dir.iterdir()] if self.work_dir.is_dir() else []
        for path in self.root.iterdir():
            if path.name.startswith(TRASH_PREFIX) or (
                path.is_dir() and not path.name.startswith(".") and not (path / MANIFEST).exists()
            ):
                candidates.append(path)
        for path in candidates:
            try:
                if path.lstat().st_mtime > cutoff:
                    continue
            except OSError:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            stale.append(path)
        return stale

    # ---------------------------------------------------------------- helpers

    def free_bytes(self) -> int:
        probe = self.root
        while not probe.exists():
            probe = probe.parent
        return shutil.disk_usage(probe).free

    def _check_space(self, needed: int) -> None:
        free = self.free_bytes()
        if free < needed + SPACE_MARGIN:
            no_space = QT_TRANSLATE_NOOP(
                "ModelStore",
                "not enough disk space in %1: %2 MiB needed (plus %3 MiB to spare), %4 MiB free",
            )
            raise StoreError(
                no_space.arg(
                    self.root, f"{needed / 2**20:.0f}", SPACE_MARGIN >> 20, f"{free / 2**20:.0f}"
                )
            )

    def check_space(self, needed: int) -> None:
        self._check_space(needed)

    @staticmethod
    def _copy(
        src: Path, dst: Path, progress: ByteProgress | None, cancel: threading.Event | None
    ) -> str:
        """Copy and hash in one pass; the file appears under its name only when complete."""
        tmp = dst.with_name(dst.name + ".part")
        digest = hashlib.sha256()
        total = src.stat().st_size
        done = 0
        try:
            with src.open("rb") as fin, tmp.open("wb") as fout:
                while block := fin.read(_CHUNK):
                    _check_cancel(cancel)
                    digest.update(block)
                    fout.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
                fout.flush()
                os.fsync(fout.fileno())
            os.replace(tmp, dst)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return digest.hexdigest()
