"""The catalog of models Ghostpen knows how to fetch: the GPT-2 family on the hub.

The data lives in ``models/catalog.json`` in the repository (installed as the
``app.catalog`` package), so adding a model is a data change, reviewed like code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from app.core.quantize import QUANT_TYPES

CATALOG_SCHEMA = 1
#: Output types a catalog download can end in: the converter's own, then llama.cpp's.
DIRECT_TYPES = ("F32", "F16", "Q8_0")


class CatalogError(Exception):
    """The catalog file is malformed, or a name is not in it."""


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    repo: str
    revision: str
    files: tuple[str, ...]
    parameters: int
    download_mb: int
    recommended_quant: str
    gguf_mb: int
    licence: str
    licence_url: str
    notes: str = ""

    def describe_size(self) -> str:
        return f"download ~{_mb(self.download_mb)}, {self.recommended_quant} ~{_mb(self.gguf_mb)}"


def _mb(value: int) -> str:
    return f"{value / 1000:.1f} GB" if value >= 1000 else f"{value} MB"


_FIELDS: dict[str, type] = {
    "id": str,
    "name": str,
    "repo": str,
    "revision": str,
    "files": list,
    "parameters": int,
    "download_mb": int,
    "recommended_quant": str,
    "gguf_mb": int,
    "licence": str,
    "licence_url": str,
}


def _entry(raw: Mapping[str, Any], index: int) -> CatalogEntry:
    where = f"catalog entry {index + 1}"
    for name, kind in _FIELDS.items():
        if not isinstance(raw.get(name), kind):
            raise CatalogError(f"{where}: {name!r} must be a {kind.__name__}")
    quant = raw["recommended_quant"]
    if quant not in QUANT_TYPES and quant not in DIRECT_TYPES:
        raise CatalogError(f"{where}: unknown quantization {quant!r}")
    names = raw["files"]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise CatalogError(f"{where}: 'files' must list file names")
    if not any(n.endswith(".safetensors") for n in names):
        raise CatalogError(f"{where}: weights must come as .safetensors (pickles are refused)")
    return CatalogEntry(
        **{k: raw[k] for k in _FIELDS if k != "files"},
        files=tuple(names),
        notes=str(raw.get("notes", "")),
    )


def parse_catalog(data: Any) -> list[CatalogEntry]:
    if not isinstance(data, dict) or data.get("schema_version") != CATALOG_SCHEMA:
        raise CatalogError(f"the catalog must be an object with schema_version {CATALOG_SCHEMA}")
    models = data.get("models")
    if not isinstance(models, list):
        raise CatalogError("the catalog's 'models' must be a list")
    entries = [_entry(raw if isinstance(raw, dict) else {}, i) for i, raw in enumerate(models)]
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise CatalogError("catalog ids must be unique")
    return entries


def load_catalog() -> list[CatalogEntry]:
    """The shipped catalog, in the order it recommends (the first is the default pick)."""
    text = (files("app.catalog") / "catalog.json").read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))


def find_entry(name: str, catalog: list[CatalogEntry] | None = None) -> CatalogEntry:
    entries = load_catalog() if catalog is None else catalog
    key = name.strip().lower()
    for entry in entries:
        if key in (entry.id, entry.repo.lower()):
            return entry
    known = ", ".join(e.id for e in entries)
    raise CatalogError(f"no model called {name!r} in the catalog (known: {known})")
