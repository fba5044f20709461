"""Which model the app opens with, when the writer has not said (or their choice is gone).

The rule: the model the writer used last; else an installed GPT-2 (the catalog's order
says which); else the offline model; else nothing, and the app opens its model manager.
The reason for the choice is a :class:`~app.core.texts.Text`: the GUI's notice that a
remembered model is gone shows it in the writer's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.catalog import load_catalog
from app.core.model_store import ModelStore, StoredModel
from app.core.offline_model import OfflineModelError, OfflinePackage, find_package
from app.core.texts import QT_TRANSLATE_NOOP, message_of


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
    reason: str  # for the writer: a Text, translated where the GUI shows it
    assemble: OfflinePackage | None = None
    remembered_missing: str | None = None


def startup_choice(remembered: str | None, store: ModelStore) -> StartupChoice:
    missing = None
    if remembered:
        if Path(remembered).is_file():
            return StartupChoice(
                Path(remembered), QT_TRANSLATE_NOOP("ModelChoice", "the model used last")
            )
        missing = remembered
    best = preferred_model(store)
    if best is not None:
        reason = QT_TRANSLATE_NOOP("ModelChoice", "installed model %1").arg(best.name)
        return StartupChoice(best.path, reason, remembered_missing=missing)
    try:
        package = find_package()
    except OfflineModelError as exc:
        return StartupChoice(None, message_of(exc), remembered_missing=missing)
    if package is not None:
        reason = QT_TRANSLATE_NOOP("ModelChoice", "the offline model")
        return StartupChoice(None, reason, package, remembered_missing=missing)
    reason = QT_TRANSLATE_NOOP("ModelChoice", "no model installed")
    return StartupChoice(None, reason, remembered_missing=missing)


class ModelChoiceError(Exception):
    """No model answers to what was asked; the message says what there is."""


def resolve_model(spec: str | None, store: ModelStore, remembered: str | None = None) -> Path:
    """The GGUF a command runs: ``spec`` as a path or an installed model's id or name, or
    (None) the model the app would open with, assembling the offline model if need be."""
    if spec is not None:
        if Path(spec).is_file():
            return Path(spec)
        key = spec.strip().casefold()
        for model in store.models():
            if model.available and key in (model.id.casefold(), model.name.casefold()):
                return model.path
        names = ", ".join(m.id for m in store.models() if m.available) or "none"
        if spec.lower().endswith(".gguf") or any(sep in spec for sep in ("/", "\\")):
            raise ModelChoiceError(f"{spec}: no such file (installed models: {names})")
        raise ModelChoiceError(
            f"{spec!r} is neither a model file nor an installed model (installed: {names})"
        )
    choice = startup_choice(remembered, store)
    if choice.path is not None:
        return choice.path
    if choice.assemble is not None:
        from app.core.offline_model import assemble_into_store

        return assemble_into_store(store, choice.assemble).path
    raise ModelChoiceError(
        "no model is installed: download one (ghostpen models download gpt2) or pass --model"
    )


def takes_over(model: StoredModel, current: str | None, store: ModelStore) -> bool:
    """Whether a newly installed ``model`` should replace ``current`` (the model in use or
    the default): a GPT-2 replaces nothing, a file that is gone, or the offline stand-in."""
    if not model.is_gpt2:
        return False
    if current is None or not Path(current).is_file():
        return True
    return any(m.manifest.offline and str(m.path) == current for m in store.models())
