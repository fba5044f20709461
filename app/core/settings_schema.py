"""What the settings are: validated value objects, their range tables and user presets.

The value objects validate in ``__post_init__`` and raise :class:`SettingError` with the
same messages as :mod:`app.core.sampling`, so the GUI and the file reject bad values alike.
How they are stored (the forgiving load, the atomic save, the API key in the keychain) is
:mod:`app.core.settings`, which also re-exports everything here: most code imports the
settings from there.

The user presets' errors reach the writer (the settings panel, the "Settings: %1" banner),
so they are :class:`~app.core.texts.Text`: ``str(error)`` is the English.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from app.core.postprocess import SuggestionMode
from app.core.sampling import PRESETS, SamplingSettings, SettingError, _check, _Range
from app.core.texts import QT_TRANSLATE_NOOP

__all__ = [
    "BACKENDS",
    "CONFIDENCE_LEVELS",
    "EDITOR_RANGES",
    "MAX_PRESET_NAME",
    "MAX_RECENT",
    "RUNTIME_RANGES",
    "SCHEMA_VERSION",
    "SECTIONS",
    "SUGGESTION_RANGES",
    "AppSettings",
    "EditorSettings",
    "RuntimeSettings",
    "SuggestionSettings",
    "Theme",
    "check_preset_name",
    "delete_preset",
    "min_confidence",
    "rename_preset",
    "save_preset",
]

SCHEMA_VERSION = 1
MAX_RECENT = 10
#: Long enough for "Dialogue, second draft (cold)", short enough for a combo box.
MAX_PRESET_NAME = 40


class Theme(str, Enum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


RUNTIME_RANGES: dict[str, _Range] = {
    "n_threads": _Range(1, 64, integer=True, allow_none=True),  # None: llama.cpp picks
    "n_gpu_layers": _Range(-1, 999, integer=True),  # -1: all layers
    "n_ctx": _Range(16, 32768, integer=True, allow_none=True),  # None: the model's own
}

SUGGESTION_RANGES: dict[str, _Range] = {
    "max_tokens": _Range(1, 256, integer=True),
    "n_alternatives": _Range(1, 8, integer=True),
    "debounce_ms": _Range(0, 2000, integer=True),
    "max_line_suffix": _Range(0, 1000, integer=True),
    "context_tokens": _Range(16, 4096, integer=True),
    "draft_tokens": _Range(1, 4096, integer=True),
}

EDITOR_RANGES: dict[str, _Range] = {
    "zoom": _Range(-8, 24, integer=True),
    "font_size": _Range(6, 72, allow_none=True),
}


def _check_ranges(obj: object, section: str, ranges: Mapping[str, _Range]) -> None:
    for name, rule in ranges.items():
        value = _check(f"{section}.{name}", getattr(obj, name), rule)
        object.__setattr__(obj, name, value)


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise SettingError(f"{name} must be true or false, got {value!r}")


def _check_optional_text(name: str, value: object) -> None:
    if value is not None and not (isinstance(value, str) and value):
        raise SettingError(f"{name} must be a non-empty string (or unset), got {value!r}")


BACKENDS = ("local", "remote")

#: "Suggest when": the probability the model must give a ghost's words (its tokens'
#: product) for them to be shown. A ghost is cut where its confidence falls below it, and
#: nothing is shown when even the first word is a guess. Tuned on the eval's tuning
#: passages (docs/quality.md).
CONFIDENCE_LEVELS: dict[str, float] = {
    "always": 0.0,
    "fairly_sure": 0.05,
    "very_sure": 0.3,
}


def min_confidence(level: str) -> float:
    """The probability a ghost needs under the "suggest when" ``level``."""
    return CONFIDENCE_LEVELS[level]


@dataclass(frozen=True)
class RuntimeSettings:
    """How the model runs; None means "let llama.cpp / the model decide".

    ``backend`` "local" runs the GGUF in-process through llama.cpp; "remote" sends
    requests to an OpenAI-compatible ``/v1/completions`` server at ``remote_url``
    (``remote_api_key`` is sent as a bearer token; the settings file is private, 0600).
    "remote" without a URL runs locally: values are checked one at a time on load.
    """

    n_threads: int | None = None
    n_gpu_layers: int = 0
    n_ctx: int | None = None
    backend: str = "local"
    remote_url: str | None = None
    remote_api_key: str | None = None

    def __post_init__(self) -> None:
        _check_ranges(self, "runtime", RUNTIME_RANGES)
        if self.backend not in BACKENDS:
            raise SettingError(
                f"runtime.backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}"
            )
        _check_optional_text("runtime.remote_url", self.remote_url)
        url = self.remote_url
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise SettingError(
                f"runtime.remote_url must start with http:// or https://, got {url!r}"
            )
        _check_optional_text("runtime.remote_api_key", self.remote_api_key)


@dataclass(frozen=True)
class SuggestionSettings:
    """When and how much the editor suggests.

    ``debounce_ms`` is the base of the adaptive debounce. No automatic suggestion is made
    when more than ``max_line_suffix`` non-space characters are right of the cursor on its
    line (a ghost in the middle of a line mostly gets in the way). ``context_tokens`` is
    the prompt budget. ``suggest_when`` is one of :data:`CONFIDENCE_LEVELS`. With
    ``likeliest`` a suggestion is the model's likeliest words (greedy, no penalties: it is
    right most often, and the same text always gets the same suggestion); without, it is
    drawn with the sampling settings, as drafts and alternatives always are.
    """

    auto_suggest: bool = True
    mode: str = SuggestionMode.SENTENCE.value
    max_tokens: int = 24
    n_alternatives: int = 3
    debounce_ms: int = 30
    max_line_suffix: int = 8
    context_tokens: int = 384
    draft_tokens: int = 200
    suggest_when: str = "fairly_sure"
    likeliest: bool = True

    def __post_init__(self) -> None:
        _check_bool("suggestions.auto_suggest", self.auto_suggest)
        _check_bool("suggestions.likeliest", self.likeliest)
        if self.suggest_when not in CONFIDENCE_LEVELS:
            raise SettingError(
                "suggestions.suggest_when must be one of "
                f"{', '.join(CONFIDENCE_LEVELS)}, got {self.suggest_when!r}"
            )
        mode = self.mode
        allowed = [m.value for m in SuggestionMode]
        if isinstance(mode, SuggestionMode):
            mode = mode.value
        if not isinstance(mode, str) or mode not in allowed:
            raise SettingError(
                f"suggestions.mode must be one of {', '.join(allowed)}, got {self.mode!r}"
            )
        object.__setattr__(self, "mode", str(mode))
        _check_ranges(self, "suggestions", SUGGESTION_RANGES)

    @property
    def suggestion_mode(self) -> SuggestionMode:
        return SuggestionMode(self.mode)


@dataclass(frozen=True)
class EditorSettings:
    """Look of the editor; ``zoom`` is in Qt's zoomIn steps, font None means the default."""

    theme: Theme = Theme.SYSTEM
    line_wrap: bool = True
    zoom: int = 0
    font_family: str | None = None
    font_size: float | None = None

    def __post_init__(self) -> None:
        allowed = [t.value for t in Theme]
        theme = self.theme
        if not isinstance(theme, Theme):
            if not isinstance(theme, str) or theme not in allowed:
                raise SettingError(
                    f"editor.theme must be one of {', '.join(allowed)}, got {theme!r}"
                )
            object.__setattr__(self, "theme", Theme(theme))
        _check_bool("editor.line_wrap", self.line_wrap)
        _check_optional_text("editor.font_family", self.font_family)
        _check_ranges(self, "editor", EDITOR_RANGES)


def _path_key(path: str | os.PathLike[str]) -> str:
    """The absolute, symlink-free form used to spot the same file under two spellings."""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return os.path.abspath(path)


@dataclass(frozen=True)
class AppSettings:
    """Everything Ghostpen remembers between runs.

    ``recent_files`` is most recent first, without duplicates, at most ``MAX_RECENT``.
    ``window_geometry`` / ``window_state`` are base64 of Qt's saveGeometry/saveState,
    opaque here. ``user_presets`` are the writer's own named sampling settings, in the
    order they were made; their names are distinct from each other and from the built-in
    presets, ignoring case (see :func:`check_preset_name`).
    """

    schema_version: int = SCHEMA_VERSION
    model_path: str | None = None
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    suggestions: SuggestionSettings = field(default_factory=SuggestionSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    editor: EditorSettings = field(default_factory=EditorSettings)
    recent_files: tuple[str, ...] = ()
    window_geometry: str | None = None
    window_state: str | None = None
    user_presets: tuple[tuple[str, SamplingSettings], ...] = ()

    def __post_init__(self) -> None:
        _check("schema_version", self.schema_version, _Range(1, SCHEMA_VERSION, integer=True))
        _check_optional_text("model_path", self.model_path)
        for name, kind in SECTIONS.items():
            if not isinstance(getattr(self, name), kind):
                raise SettingError(f"{name} must be a {kind.__name__}")
        recent = self.recent_files
        if isinstance(recent, str) or not isinstance(recent, Sequence):
            raise SettingError(f"recent_files must be a list of paths, got {recent!r}")
        if not all(isinstance(p, str) and p for p in recent):
            raise SettingError("recent_files must hold non-empty strings")
        if len(recent) > MAX_RECENT or len(set(recent)) != len(recent):
            raise SettingError(f"recent_files must hold at most {MAX_RECENT} distinct paths")
        object.__setattr__(self, "recent_files", tuple(recent))
        for name in ("window_geometry", "window_state"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise SettingError(f"{name} must be a string (or unset), got {value!r}")
        object.__setattr__(self, "user_presets", _check_user_presets(self.user_presets))

    def with_recent_file(self, path: str | os.PathLike[str]) -> AppSettings:
        """A copy with ``path`` (resolved) first; an older entry for the same file goes."""
        key = _path_key(path)
        rest = [p for p in self.recent_files if _path_key(p) != key and p != key]
        return replace(self, recent_files=(key, *rest[: MAX_RECENT - 1]))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only, the exact shape ``load_settings`` reads back."""
        return {
            "schema_version": self.schema_version,
            "model_path": self.model_path,
            "sampling": self.sampling.to_dict(),
            "suggestions": {
                f.name: getattr(self.suggestions, f.name) for f in fields(self.suggestions)
            },
            "runtime": {f.name: getattr(self.runtime, f.name) for f in fields(self.runtime)},
            "editor": {
                **{f.name: getattr(self.editor, f.name) for f in fields(self.editor)},
                "theme": self.editor.theme.value,
            },
            "recent_files": list(self.recent_files),
            "window_geometry": self.window_geometry,
            "window_state": self.window_state,
            "user_presets": [
                {"name": name, "sampling": sampling.to_dict()}
                for name, sampling in self.user_presets
            ],
        }


# --------------------------------------------------------------------------- user presets


def _preset_name_form(name: object) -> str:
    """``name`` stripped, if its form is allowed; clashes are checked by the callers."""
    if not isinstance(name, str):
        raise SettingError(_NOT_TEXT.arg(_show(name)))
    stripped = name.strip()
    if not stripped:
        raise SettingError(QT_TRANSLATE_NOOP("Settings", "a preset name must not be empty"))
    if len(stripped) > MAX_PRESET_NAME:
        too_long = QT_TRANSLATE_NOOP(
            "Settings", "a preset name must be at most %1 characters, got %2: %3"
        )
        raise SettingError(too_long.arg(MAX_PRESET_NAME, len(stripped), _show(stripped)))
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in stripped):
        one_line = QT_TRANSLATE_NOOP("Settings", "a preset name must be one line of text, got %1")
        raise SettingError(one_line.arg(_show(stripped)))
    return stripped


_NOT_TEXT = QT_TRANSLATE_NOOP("Settings", "a preset name must be text, got %1")


def _builtin_named(name: str) -> str | None:
    key = name.casefold()
    return next((b for b in PRESETS if b.casefold() == key), None)


def check_preset_name(name: object) -> str:
    """The name a user preset gets (``name`` stripped), or SettingError saying why not.

    Names are compared ignoring case, because two presets a menu shows as "Dialogue" and
    "dialogue" could not be told apart by the writer.
    """
    stripped = _preset_name_form(name)
    builtin = _builtin_named(stripped)
    if builtin is not None:
        taken = QT_TRANSLATE_NOOP(
            "Settings", "%1 is the name of the built-in preset %2; choose another name"
        )
        raise SettingError(taken.arg(repr(stripped), repr(builtin)))
    return stripped


def _check_user_presets(value: object) -> tuple[tuple[str, SamplingSettings], ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise SettingError(
            f"user_presets must be a list of (name, sampling) pairs, got {_show(value)}"
        )
    seen: dict[str, str] = {}
    checked: list[tuple[str, SamplingSettings]] = []
    for item in value:
        if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 2:
            raise SettingError(f"user_presets must hold (name, sampling) pairs, got {_show(item)}")
        name = check_preset_name(item[0])
        sampling = item[1]
        if not isinstance(sampling, SamplingSettings):
            raise SettingError(
                f"user preset {name!r} must hold a SamplingSettings, got {_show(sampling)}"
            )
        key = name.casefold()
        if key in seen:
            raise SettingError(
                f"user presets need distinct names (ignoring case): {seen[key]!r} and {name!r}"
            )
        seen[key] = name
        checked.append((name, sampling))
    return tuple(checked)


def _find_preset(settings: AppSettings, name: str) -> int | None:
    key = name.strip().casefold()
    return next((i for i, (n, _) in enumerate(settings.user_presets) if n.casefold() == key), None)


def _existing_preset(settings: AppSettings, name: object, verb: str) -> int:
    if not isinstance(name, str):
        raise SettingError(_NOT_TEXT.arg(_show(name)))
    index = _find_preset(settings, name)
    if index is not None:
        return index
    builtin = _builtin_named(name.strip())
    if builtin is not None:
        fixed = (
            QT_TRANSLATE_NOOP("Settings", "%1 is a built-in preset; it cannot be renamed")
            if verb == "renamed"
            else QT_TRANSLATE_NOOP("Settings", "%1 is a built-in preset; it cannot be deleted")
        )
        raise SettingError(fixed.arg(repr(builtin)))
    missing = QT_TRANSLATE_NOOP("Settings", "there is no preset of yours called %1")
    raise SettingError(missing.arg(repr(name.strip())))


def save_preset(settings: AppSettings, name: str, sampling: SamplingSettings) -> AppSettings:
    """A copy with ``sampling`` saved as ``name``; a preset of that name (any case) is
    overwritten in place, keeping its position in the menu, else the new one goes last."""
    name = check_preset_name(name)
    if not isinstance(sampling, SamplingSettings):
        raise SettingError(f"a preset must hold a SamplingSettings, got {_show(sampling)}")
    presets = list(settings.user_presets)
    index = _find_preset(settings, name)
    if index is None:
        presets.append((name, sampling))
    else:
        presets[index] = (name, sampling)
    return replace(settings, user_presets=tuple(presets))


def rename_preset(settings: AppSettings, old: str, new: str) -> AppSettings:
    """A copy with the user preset ``old`` called ``new``, in the same place.

    Changing only the case of a name is a rename too; taking the name of another preset
    is refused rather than silently overwriting it.
    """
    index = _existing_preset(settings, old, "renamed")
    new = check_preset_name(new)
    other = _find_preset(settings, new)
    if other is not None and other != index:
        exists = QT_TRANSLATE_NOOP("Settings", "a preset called %1 already exists")
        raise SettingError(exists.arg(repr(settings.user_presets[other][0])))
    presets = list(settings.user_presets)
    presets[index] = (new, presets[index][1])
    return replace(settings, user_presets=tuple(presets))


def delete_preset(settings: AppSettings, name: str) -> AppSettings:
    """A copy without the user preset ``name`` (any case); built-in presets stay."""
    index = _existing_preset(settings, name, "deleted")
    presets = settings.user_presets
    return replace(settings, user_presets=presets[:index] + presets[index + 1 :])


#: The sections of :class:`AppSettings` and the value object each holds.
SECTIONS: dict[str, type] = {
    "sampling": SamplingSettings,
    "suggestions": SuggestionSettings,
    "runtime": RuntimeSettings,
    "editor": EditorSettings,
}


def _show(value: object) -> str:
    """A repr short enough for a status bar, even for a pasted megabyte."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
