"""From a catalog entry or a Hugging Face folder to a ready GGUF in the store.

One pipeline for the app and the command line: download (resumable, verified), convert
with Ghostpen's converter, quantize with llama.cpp, move into the store. Every stage
reports progress and honours one cancel event; scratch files live in the store's work
folder (same file system, so the final move is a rename) and are removed on every path
out, success or not. Downloaded checkpoints are deleted once the GGUF is built.

Errors and progress messages this module words are :class:`~app.core.texts.Text`, shown
translated by the model manager; the download's, converter's and quantizer's own come
through in their English.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core import hub_download
from app.core.catalog import DIRECT_TYPES, CatalogEntry
from app.core.convert import ConversionError, ConvertProgress, convert_checkpoint, read_config
from app.core.hub_download import DownloadError, DownloadProgress
from app.core.model_store import CANCELLED, ModelStore, StoredModel, StoreError, slugify
from app.core.quantize import QUANT_TYPES, QuantizeError, quantize
from app.core.texts import QT_TRANSLATE_NOOP, message_of


class InstallError(Exception):
    """A model could not be installed; nothing partial was left in the store."""

    def __init__(self, message: str, *, cancelled: bool = False) -> None:
        super().__init__(message)
        self.cancelled = cancelled


@dataclass(frozen=True)
class InstallProgress:
    """One report from the pipeline; ``fraction`` is within the current stage."""

    stage: str  # "download", "convert", "quantize", "store"
    fraction: float
    message: str  # a Text where this module words it, else the converter's English
    download: DownloadProgress | None = None


InstallCallback = Callable[[InstallProgress], None]


def output_types() -> tuple[str, ...]:
    """Every type a build can end in, the converter's own first."""
    return DIRECT_TYPES + tuple(t for t in QUANT_TYPES if t not in DIRECT_TYPES)


def check_quant(name: str) -> str:
    key = name.strip().upper()
    if key not in output_types():
        unknown = QT_TRANSLATE_NOOP("ModelInstall", "unknown quantization %1 (choose one of %2)")
        raise InstallError(unknown.arg(repr(name), ", ".join(output_types())))
    return key


def _hub_settings(endpoint: str | None, token: str | None) -> tuple[str | None, str | None]:
    return endpoint or os.environ.get("HF_ENDPOINT") or None, token or os.environ.get("HF_TOKEN")


def install_from_hub(
    entry: CatalogEntry,
    store: ModelStore,
    download_root: Path,
    *,
    quant: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    progress: InstallCallback | None = None,
    cancel: threading.Event | None = None,
) -> StoredModel:
    """Download ``entry``'s checkpoint, build its GGUF and add it to the store.

    Partial downloads stay in ``download_root`` after a failure or a cancel, so the next
    attempt resumes; they are removed once the model is built.
    """
    qtype = check_quant(quant or entry.recommended_quant)
    endpoint, token = _hub_settings(endpoint, token)
    folder = download_root / slugify(entry.repo)
    folder.mkdir(parents=True, exist_ok=True)

    def on_download(p: DownloadProgress) -> None:
        if progress is not None:
            fraction = p.done / p.total if p.total else 0.0
            message = QT_TRANSLATE_NOOP("ModelInstall", "downloading %1").arg(p.file)
            progress(InstallProgress("download", fraction, message, p))

    try:
        commit, remote = hub_download.list_files(
            entry.repo, entry.files, revision=entry.revision, endpoint=endpoint, token=token
        )
        hub_download.download_files(
            entry.repo,
            entry.files,
            folder,
            revision=commit,
            endpoint=endpoint,
            token=token,
            progress=on_download,
            cancel=cancel,
        )
    except DownloadError as exc:
        raise InstallError(message_of(exc), cancelled=exc.kind == "cancelled") from None
    weights = sum(f.size for f in remote if f.name.endswith(".safetensors"))
    model = build_from_folder(
        folder,
        store,
        qtype,
        name=f"{entry.name} {qtype}",
        source=f"hub:{entry.repo}@{commit}",
        licence=(entry.licence, entry.licence_url),
        catalog_id=entry.id,
        weights_bytes=weights,
        progress=progress,
        cancel=cancel,
    )
    shutil.rmtree(folder, ignore_errors=True)
    return model


def build_from_folder(
    folder: Path,
    store: ModelStore,
    quant: str,
    *,
    name: str | None = None,
    source: str | None = None,
    licence: tuple[str, str] | None = None,
    catalog_id: str = "",
    weights_bytes: int | None = None,
    progress: InstallCallback | None = None,
    cancel: threading.Event | None = None,
) -> StoredModel:
    """Convert (and quantize) a Hugging Face GPT-2 folder into the store."""
    qtype = check_quant(quant)
    folder = Path(folder).absolute()
    try:
        config = read_config(folder)
    except ConversionError as exc:
        raise InstallError(message_of(exc)) from None
    if weights_bytes is None:
        weights_bytes = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    _check_build_space(store, weights_bytes, qtype)
    work = store.work_dir / uuid.uuid4().hex
    work.mkdir(parents=True)

    def report(stage: str, fraction: float, message: str) -> None:
        if progress is not None:
            progress(InstallProgress(stage, fraction, message))

    def on_convert(p: ConvertProgress) -> None:
        report("convert", p.fraction, p.message)

    def on_quantize(done: int, total: int, tensor: str) -> None:
        message = QT_TRANSLATE_NOOP("ModelInstall", "quantizing %1").arg(tensor)
        report("quantize", done / total if total else 0.0, message)

    direct = qtype in DIRECT_TYPES
    built = work / "model.gguf"
    display = name or f"{config.name or folder.name} {qtype}"
    try:
        converted = built if direct else work / "f16.gguf"
        convert_checkpoint(
            folder,
            converted,
            qtype.lower() if direct else "f16",
            progress=on_convert,
            cancel=cancel,
            name=display,
        )
        if not direct:
            quantize(converted, built, qtype, progress=on_quantize, cancel=cancel)
            converted.unlink()
        if cancel is not None and cancel.is_set():
            raise InstallError(CANCELLED, cancelled=True)
        report("store", 0.0, QT_TRANSLATE_NOOP("ModelInstall", "adding to the model store"))
        return store.add_file(
            built,
            mode="move",
            name=display,
            source=source or f"folder:{folder}",
            licence=licence,
            catalog_id=catalog_id,
        )
    except ConversionError as exc:
        raise InstallError(message_of(exc), cancelled=_is_set(cancel)) from None
    except QuantizeError as exc:
        raise InstallError(message_of(exc), cancelled=_is_set(cancel)) from None
    except StoreError as exc:
        raise InstallError(message_of(exc)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _is_set(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def _check_build_space(store: ModelStore, weights_bytes: int, qtype: str) -> None:
    """F32 weights become an F16 intermediate (half) plus the output (at most half)."""
    needed = weights_bytes // 2 + (0 if qtype in DIRECT_TYPES else weights_bytes // 2)
    if qtype == "F32":
        needed = weights_bytes
    try:
        store.check_space(needed)
    except StoreError as exc:
        raise InstallError(message_of(exc)) from None
