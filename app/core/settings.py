"""User settings: validated value objects, stored as pretty, stable, atomically written JSON.

The settings file is edited by hand, synced between machines and written by other
versions of Ghostpen, so loading is forgiving and saving is careful:

- A missing file gives the defaults silently. A file that cannot be read, is not JSON or
  is not a JSON object gives the defaults plus one warning, and is renamed aside to
  ``settings.json.corrupt-<timestamp>`` so nothing the user had is lost (the next save
  would otherwise overwrite it).
- Every value is checked on its own: one bad value never loses the others. A number out
  of range is **clamped** to the nearest bound (a temperature of 99 most likely meant
  "hot", and the limit is the closest thing we can honour; the seed is the exception, as
  it is a label, not an amount); anything else that is wrong
  (a wrong type, NaN, a fraction for an integer, an unknown mode) is replaced by its
  **default**. Either way a warning names the key, the bad value and the allowed range.
- Unknown keys are dropped with a warning each; a newer ``schema_version`` is read as far
  as it is understood, with a warning. What was loaded always carries our own version,
  since that is the format it will be saved in.
- User presets (named sampling settings) are a list, so their order survives the sorted
  JSON. An entry that is not an object, has no usable name or no ``sampling`` object is
  dropped; one whose name is taken (by a built-in preset or an earlier entry, ignoring
  case) is renamed with a number rather than lost; its values are repaired like
  ``sampling``'s.
- Saving goes through :func:`app.core.paths.atomic_write`: a crash leaves either the old
  or the new file, never half of one.

The value objects validate in ``__post_init__`` and raise :class:`SettingError` with the
same messages as :mod:`app.core.sampling`, so the GUI and the file reject bad values alike.
"""

from __future__ import annotations

import json
import math
import os
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from app.core.paths import atomic_write
from app.core.postprocess import SuggestionMode
from app.core.sampling import PRESETS, SamplingSettings, SettingError, _check, _Range
from app.core.sampling import RANGES as SAMPLING_RANGES

__all__ = [
    "CONFIDENCE_LEVELS",
    "MAX_PRESET_NAME",
    "MAX_RECENT",
    "SCHEMA_VERSION",
    "AppSettings",
    "EditorSettings",
    "LoadResult",
    "RuntimeSettings",
    "SettingsSaveError",
    "SuggestionSettings",
    "Theme",
    "check_preset_name",
    "delete_preset",
    "load_settings",
    "min_confidence",
    "rename_preset",
    "save_preset",
    "save_settings",
    "settings_json",
]

SCHEMA_VERSION = 1
MAX_RECENT = 10
#: Long enough for "Dialogue, second draft (cold)", short enough for a combo box.
MAX_PRESET_NAME = 40


class SettingsSaveError(OSError):
    """The settings could not be written; the previous file, if any, is unchanged."""


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
        for name, kind in _SECTIONS.items():
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
        raise SettingError(f"a preset name must be text, got {_show(name)}")
    stripped = name.strip()
    if not stripped:
        raise SettingError("a preset name must not be empty")
    if len(stripped) > MAX_PRESET_NAME:
        raise SettingError(
            f"a preset name must be at most {MAX_PRESET_NAME} characters, "
            f"got {len(stripped)}: {_show(stripped)}"
        )
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in stripped):
        raise SettingError(f"a preset name must be one line of text, got {_show(stripped)}")
    return stripped


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
        raise SettingError(
            f"{stripped!r} is the name of the built-in preset {builtin!r}; choose another name"
        )
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
        raise SettingError(f"a preset name must be text, got {_show(name)}")
    index = _find_preset(settings, name)
    if index is not None:
        return index
    builtin = _builtin_named(name.strip())
    if builtin is not None:
        raise SettingError(f"{builtin!r} is a built-in preset; it cannot be {verb}")
    raise SettingError(f"there is no preset of yours called {name.strip()!r}")


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
        raise SettingError(f"a preset called {settings.user_presets[other][0]!r} already exists")
    presets = list(settings.user_presets)
    presets[index] = (new, presets[index][1])
    return replace(settings, user_presets=tuple(presets))


def delete_preset(settings: AppSettings, name: str) -> AppSettings:
    """A copy without the user preset ``name`` (any case); built-in presets stay."""
    index = _existing_preset(settings, name, "deleted")
    presets = settings.user_presets
    return replace(settings, user_presets=presets[:index] + presets[index + 1 :])


_SECTIONS: dict[str, type] = {
    "sampling": SamplingSettings,
    "suggestions": SuggestionSettings,
    "runtime": RuntimeSettings,
    "editor": EditorSettings,
}

#: Numbers that are labels rather than amounts: clamping would change their meaning
#: (a seed of -1, llama.cpp's "random", must not become the fixed seed 0).
_NO_CLAMP = frozenset({"sampling.seed"})

_SECTION_RANGES: dict[str, Mapping[str, _Range]] = {
    "sampling": SAMPLING_RANGES,
    "suggestions": SUGGESTION_RANGES,
    "runtime": RUNTIME_RANGES,
    "editor": EDITOR_RANGES,
}


@dataclass(frozen=True)
class LoadResult:
    """The settings to use, and what had to be repaired to get them (for the user to see)."""

    settings: AppSettings
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- loading


def load_settings(path: Path) -> LoadResult:
    """Read the settings file; never raises for anything wrong with the file itself."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(AppSettings())
    except OSError as exc:
        return _corrupt(path, f"cannot be read ({exc.strerror or exc})")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return _corrupt(path, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")
    except json.JSONDecodeError as exc:
        return _corrupt(
            path, f"is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        )
    except (ValueError, RecursionError) as exc:
        return _corrupt(path, f"is not valid JSON ({exc})")
    if not isinstance(data, dict):
        return _corrupt(path, f"holds a JSON {type(data).__name__}, not an object")
    settings, warnings = _parse(data)
    return LoadResult(settings, tuple(f"{path}: {w}" for w in warnings))


def _corrupt(path: Path, problem: str) -> LoadResult:
    """Defaults plus one warning; the bad file is renamed aside, never overwritten later."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    try:
        os.replace(path, aside)
        kept = f"it was kept as {aside.name}"
    except OSError as exc:
        kept = f"it could not be moved aside ({exc.strerror or exc}) and will be overwritten"
    return LoadResult(AppSettings(), (f"{path} {problem}; using default settings, {kept}",))


def _parse(data: Mapping[str, Any]) -> tuple[AppSettings, list[str]]:
    warnings: list[str] = []
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        warnings.append(
            f"setting 'schema_version' is {_show(version)}, not a positive integer; "
            f"reading it as version {SCHEMA_VERSION}"
        )
    elif version > SCHEMA_VERSION:
        warnings.append(
            f"written by a newer Ghostpen (schema version {version}, this one reads "
            f"{SCHEMA_VERSION}); only the settings this version knows are used"
        )

    defaults = AppSettings()
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "schema_version":
            continue
        if key in _SECTIONS:
            changes[key] = _parse_section(key, value, getattr(defaults, key), warnings)
        elif key == "recent_files":
            changes[key] = _parse_recent(value, warnings)
        elif key == "user_presets":
            changes[key] = _parse_presets(value, warnings)
        elif key in {f.name for f in fields(AppSettings)}:
            changes[key] = _parse_value(defaults, key, key, value, None, warnings)
        else:
            warnings.append(f"unknown setting {key!r} ignored")
    return replace(defaults, **changes), warnings


def _parse_section(
    section: str, value: object, default: Any, warnings: list[str], where: str | None = None
) -> Any:
    """One section, value by value; ``where`` names it in warnings when it is nested."""
    where = where or section
    if not isinstance(value, dict):
        warnings.append(
            f"setting {where!r} must be an object, got {_show(value)}; using its defaults"
        )
        return default
    known = {f.name for f in fields(default)}
    ranges = _SECTION_RANGES[section]
    changes: dict[str, Any] = {}
    for key, item in value.items():
        qualified = f"{where}.{key}"
        if key not in known:
            warnings.append(f"unknown setting {qualified!r} ignored")
            continue
        rule = None if f"{section}.{key}" in _NO_CLAMP else ranges.get(key)
        changes[key] = _parse_value(default, key, qualified, item, rule, warnings)
    try:
        return replace(default, **changes)
    except SettingError as exc:  # a rule across fields; none today, but never crash
        warnings.append(f"setting {where!r}: {exc}; using its defaults")
        return default


def _parse_value(
    default: Any, key: str, qualified: str, value: object, rule: _Range | None, warnings: list[str]
) -> Any:
    """``value`` as ``default.key`` would store it; clamped or defaulted with a warning."""
    try:
        return getattr(replace(default, **{key: value}), key)
    except (SettingError, TypeError, ValueError) as exc:
        error = exc
    fallback = getattr(default, key)
    clamped = _clamp(value, rule) if rule is not None else None
    if clamped is not None:
        try:
            fixed = getattr(replace(default, **{key: clamped}), key)
        except SettingError:
            pass
        else:
            warnings.append(
                f"setting {qualified!r} is {_show(value)} but {_rule_text(error)}; "
                f"clamped to {fixed!r}"
            )
            return fixed
    shown = fallback.value if isinstance(fallback, Enum) else fallback
    warnings.append(
        f"setting {qualified!r} is {_show(value)} but {_rule_text(error)}; "
        f"using the default {shown!r}"
    )
    return fallback


def _rule_text(error: Exception) -> str:
    """ "must be <the rule>" out of a SettingError, without the name and value it repeats."""
    message = str(error)
    start = message.find("must be")
    if start < 0:
        return f"is invalid ({message})"
    end = message.find(", got ", start)
    return message[start : end if end >= 0 else None]


def _show(value: object) -> str:
    """A repr short enough for a status bar, even for a pasted megabyte."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _clamp(value: object, rule: _Range) -> float | int | None:
    """The nearest allowed number, or None when ``value`` is not a number of the right kind."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (
        math.isnan(value) or (rule.integer and not value.is_integer())
    ):
        return None
    clamped = min(max(value, rule.low), rule.high)
    return int(clamped) if rule.integer else float(clamped)


def _parse_recent(value: object, warnings: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list):
        warnings.append(
            f"setting 'recent_files' must be a list of paths, got {_show(value)}; cleared"
        )
        return ()
    kept: list[str] = []
    for item in value:
        if isinstance(item, str) and item and item not in kept:
            kept.append(item)
    kept = kept[:MAX_RECENT]
    if len(kept) != len(value):
        warnings.append(
            f"setting 'recent_files' must hold at most {MAX_RECENT} distinct non-empty paths; "
            f"kept {len(kept)} of {len(value)} entries"
        )
    return tuple(kept)


def _parse_presets(value: object, warnings: list[str]) -> tuple[tuple[str, SamplingSettings], ...]:
    """The usable user presets; each bad entry costs only itself, with a warning."""
    if not isinstance(value, list):
        warnings.append(
            f"setting 'user_presets' must be a list of presets, got {_show(value)}; cleared"
        )
        return ()
    taken = {name.casefold() for name in PRESETS}
    kept: list[tuple[str, SamplingSettings]] = []
    for index, item in enumerate(value):
        where = f"user_presets[{index}]"
        if not isinstance(item, dict):
            warnings.append(
                f"setting {where!r} must be an object with a name and sampling, "
                f"got {_show(item)}; dropped"
            )
            continue
        try:
            name = _preset_name_form(item.get("name"))
        except SettingError as exc:
            warnings.append(f"setting '{where}.name': {exc}; preset dropped")
            continue
        sampling = item.get("sampling")
        if not isinstance(sampling, dict):
            warnings.append(
                f"setting '{where}.sampling' must be an object, got {_show(sampling)}; "
                f"preset {name!r} dropped"
            )
            continue
        for key in [k for k in item if k not in ("name", "sampling")]:
            warnings.append(f"unknown setting '{where}.{key}' ignored")
        parsed = _parse_section(
            "sampling", sampling, SamplingSettings(), warnings, f"{where}.sampling"
        )
        unique = _unclaimed(name, taken)
        if unique != name:
            owner = _builtin_named(name)
            whose = (
                f"the name of the built-in preset {owner!r}"
                if owner is not None
                else "already the name of an earlier preset (ignoring case)"
            )
            warnings.append(f"setting '{where}.name' is {name!r}, {whose}; renamed to {unique!r}")
        taken.add(unique.casefold())
        kept.append((unique, parsed))
    return tuple(kept)


def _unclaimed(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` with the first free number after it (kept within the limit)."""
    candidate, n = name, 2
    while candidate.casefold() in taken:
        suffix = f" {n}"
        candidate = name[: MAX_PRESET_NAME - len(suffix)].rstrip() + suffix
        n += 1
    return candidate


# --------------------------------------------------------------------------- saving


def settings_json(settings: AppSettings) -> bytes:
    """Pretty, sorted (so diffs and syncs stay small), UTF-8 JSON with a final newline.

    Non-ASCII text is written as is, for people who edit the file by hand; a path that is
    not valid Unicode (undecodable bytes on Linux arrive as lone surrogates) forces ASCII
    escapes, which JSON reads back exactly.
    """
    data = settings.to_dict()
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True, allow_nan=False)
        return (text + "\n").encode("ascii")


def save_settings(settings: AppSettings, path: Path) -> None:
    """Write atomically; raises SettingsSaveError (an OSError) and keeps the old file."""
    data = settings_json(settings)
    try:
        atomic_write(path, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.filename and str(exc.filename) != str(path):
            reason += f": {exc.filename}"  # e.g. the folder that is really a file
        error = SettingsSaveError(f"could not save settings to {path}: {reason}")
        error.errno = exc.errno  # still tells "disk full" from "permission denied"
        raise error from exc
