"""Which model the app opens with, when the writer has not said (or their choice is gone).

The rule: the model the writer used last; else an installed GPT-2 (the catalog's order
says which); else the offline model; else nothing, and the app opens its model manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.catalog import load_catalog
from app.core.model_store import ModelStore, StoredModel
from app.core.offline_model import OfflineModelError, OfflinePackage, find_package


def preferred_model(store: ModelStore) -> StoredModel | None:
    """The best usable installed model: a GPT-2 first, then the offline model, then any."""
    models = [m for m in store.models() if m.available]
    order = {entry.id: i for i, entry in enumerate(load_catalog())}

    def rank(model: StoredModel) -> tuple[int, int, str]:
        family = 0 if model.is_gpt2 else 1 if model.manifest.offline else 2
        return family, order.get(model.manifest.catalog_id, len(order)), model.name.lower()

    return min(models, key=rank, default=None)


@dataclass(frozen=True)
class StartupChoice:
    """What to load at start. ``assemble`` is set when the offline model must be built
    first (a second or two: done off the GUI thread); ``path`` None with no ``assemble``
    means there is no model at all."""

    path: Path | None
    reason: str
    assemble: OfflinePackage | None = None
    remembered_missing: str | None = None


def startup_choice(remembered: str | None, store: ModelStore) -> StartupChoice:
    missing = None
    if remembered:
        if Path(remembered).is_file():
            return StartupChoice(Path(remembered), "the model used last")
        missing = remembered
    best = preferred_model(store)
    if best is not None:
        return StartupChoice(best.path, f"installed model {best.name}", remembered_missing=missing)
    try:
        package = find_package()
    except OfflineModelError as exc:
        return StartupChoice(None, str(exc), remembered_missing=missing)
    if package is not None:
        return StartupChoice(None, "the offline model", package, remembered_missing=missing)
    return StartupChoice(None, "no model installed", remembered_missing=missing)
