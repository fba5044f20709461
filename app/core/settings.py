"""User settings on disk: pretty, stable, atomically written JSON, and a forgiving load.

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

- The server's API key goes to the system keychain where there is one
  (:mod:`app.core.secrets`); the file then holds ``runtime.remote_api_key_in_keychain``
  instead of the key. A key found in the file (written by an older Ghostpen, by hand, or
  because the keychain failed) is used, and moves to the keychain on the next save.

What the settings are (the validated value objects, their ranges, user presets) is
:mod:`app.core.settings_schema`; its names are re-exported here, so ``from
app.core.settings import AppSettings`` keeps working everywhere.

The warnings and the save error are :class:`~app.core.texts.Text`: English for the
command line and the tests, translated by the GUI's "Settings: %1" banner.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from app.core import secrets
from app.core.paths import atomic_write
from app.core.sampling import PRESETS, SamplingSettings, SettingError, _Range
from app.core.sampling import RANGES as SAMPLING_RANGES
from app.core.settings_schema import (
    BACKENDS,
    CONFIDENCE_LEVELS,
    EDITOR_RANGES,
    MAX_PRESET_NAME,
    MAX_RECENT,
    RUNTIME_RANGES,
    SCHEMA_VERSION,
    SECTIONS,
    SUGGESTION_RANGES,
    AppSettings,
    EditorSettings,
    RuntimeSettings,
    SuggestionSettings,
    Theme,
    _builtin_named,
    _preset_name_form,
    _show,
    check_preset_name,
    delete_preset,
    min_confidence,
    rename_preset,
    save_preset,
)
from app.core.texts import QT_TRANSLATE_NOOP, Text, message_of

__all__ = [
    "BACKENDS",
    "CONFIDENCE_LEVELS",
    "EDITOR_RANGES",
    "KEYCHAIN_MARK",
    "MAX_PRESET_NAME",
    "MAX_RECENT",
    "RUNTIME_RANGES",
    "SCHEMA_VERSION",
    "SUGGESTION_RANGES",
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


#: In the file's ``runtime`` section: true when the API key is in the system keychain.
KEYCHAIN_MARK = "remote_api_key_in_keychain"


class SettingsSaveError(OSError):
    """The settings could not be written; the previous file, if any, is unchanged."""


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
    """The settings to use, and what had to be repaired to get them (for the user to see,
    each a :class:`~app.core.texts.Text` naming the file)."""

    settings: AppSettings
    warnings: tuple[Text, ...] = ()


# --------------------------------------------------------------------------- loading


def load_settings(path: Path, *, read_key: bool = True) -> LoadResult:
    """Read the settings file; never raises for anything wrong with the file itself.

    ``read_key=False`` leaves an API key in the keychain unread, for callers that do not
    use it (a command that wants the model's path): no keychain call, no unlock prompt.
    The settings then hold no key, and saving them keeps the file's pointer to it.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(AppSettings())
    except OSError as exc:
        return _corrupt(
            path, QT_TRANSLATE_NOOP("Settings", "cannot be read (%1)").arg(exc.strerror or exc)
        )
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        problem = QT_TRANSLATE_NOOP("Settings", "is not UTF-8 text (%1 at byte %2)")
        return _corrupt(path, problem.arg(exc.reason, exc.start))
    except json.JSONDecodeError as exc:
        problem = QT_TRANSLATE_NOOP("Settings", "is not valid JSON (%1, line %2 column %3)")
        return _corrupt(path, problem.arg(exc.msg, exc.lineno, exc.colno))
    except (ValueError, RecursionError) as exc:
        return _corrupt(path, QT_TRANSLATE_NOOP("Settings", "is not valid JSON (%1)").arg(exc))
    if not isinstance(data, dict):
        problem = QT_TRANSLATE_NOOP("Settings", "holds a JSON %1, not an object")
        return _corrupt(path, problem.arg(type(data).__name__))
    warnings: list[Text] = []
    in_keychain = _take_keychain_mark(data, warnings)
    settings, parse_warnings = _parse(data)
    warnings += parse_warnings
    if in_keychain and settings.runtime.remote_api_key is None:
        if read_key:
            settings = _with_key_from_keychain(settings, path, warnings)
        else:
            secrets.skip_key(path)
    in_file = QT_TRANSLATE_NOOP("Settings", "%1: %2")
    return LoadResult(settings, tuple(in_file.arg(path, w) for w in warnings))


def _take_keychain_mark(data: dict[str, Any], warnings: list[Text]) -> bool:
    """Whether the file says its API key is in the keychain (the mark is not a setting)."""
    runtime = data.get("runtime")
    if not isinstance(runtime, dict) or KEYCHAIN_MARK not in runtime:
        return False
    mark = runtime.pop(KEYCHAIN_MARK)
    if not isinstance(mark, bool):
        warning = QT_TRANSLATE_NOOP("Settings", "setting %1 must be true or false, got %2; ignored")
        warnings.append(warning.arg(repr(f"runtime.{KEYCHAIN_MARK}"), _show(mark)))
        return False
    return mark


def _with_key_from_keychain(settings: AppSettings, path: Path, warnings: list[Text]) -> AppSettings:
    key, problem = secrets.read_key(path)
    if key is None:
        warning = QT_TRANSLATE_NOOP(
            "Settings",
            "the server's API key is kept in the system keychain, but %1; "
            "enter it again under Runtime in the settings panel",
        )
        warnings.append(warning.arg(problem))
        return settings
    return replace(settings, runtime=replace(settings.runtime, remote_api_key=key))


def _corrupt(path: Path, problem: Text) -> LoadResult:
    """Defaults plus one warning; the bad file is renamed aside, never overwritten later."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    try:
        os.replace(path, aside)
        kept = QT_TRANSLATE_NOOP("Settings", "it was kept as %1").arg(aside.name)
    except OSError as exc:
        kept = QT_TRANSLATE_NOOP(
            "Settings", "it could not be moved aside (%1) and will be overwritten"
        ).arg(exc.strerror or exc)
    warning = QT_TRANSLATE_NOOP("Settings", "%1 %2; using default settings, %3")
    return LoadResult(AppSettings(), (warning.arg(path, problem, kept),))


def _parse(data: Mapping[str, Any]) -> tuple[AppSettings, list[Text]]:
    warnings: list[Text] = []
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        warning = QT_TRANSLATE_NOOP(
            "Settings",
            "setting 'schema_version' is %1, not a positive integer; reading it as version %2",
        )
        warnings.append(warning.arg(_show(version), SCHEMA_VERSION))
    elif version > SCHEMA_VERSION:
        warning = QT_TRANSLATE_NOOP(
            "Settings",
            "written by a newer Ghostpen (schema version %1, this one reads %2); "
            "only the settings this version knows are used",
        )
        warnings.append(warning.arg(version, SCHEMA_VERSION))

    defaults = AppSettings()
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "schema_version":
            continue
        if key in SECTIONS:
            changes[key] = _parse_section(key, value, getattr(defaults, key), warnings)
        elif key == "recent_files":
            changes[key] = _parse_recent(value, warnings)
        elif key == "user_presets":
            changes[key] = _parse_presets(value, warnings)
        elif key in {f.name for f in fields(AppSettings)}:
            changes[key] = _parse_value(defaults, key, key, value, None, warnings)
        else:
            warnings.append(_UNKNOWN.arg(repr(key)))
    return replace(defaults, **changes), warnings


#: A key this version does not know (the argument is the key's repr).
_UNKNOWN = QT_TRANSLATE_NOOP("Settings", "unknown setting %1 ignored")


def _parse_section(
    section: str, value: object, default: Any, warnings: list[Text], where: str | None = None
) -> Any:
    """One section, value by value; ``where`` names it in warnings when it is nested."""
    where = where or section
    if not isinstance(value, dict):
        warning = QT_TRANSLATE_NOOP(
            "Settings", "setting %1 must be an object, got %2; using its defaults"
        )
        warnings.append(warning.arg(repr(where), _show(value)))
        return default
    known = {f.name for f in fields(default)}
    ranges = _SECTION_RANGES[section]
    changes: dict[str, Any] = {}
    for key, item in value.items():
        qualified = f"{where}.{key}"
        if key not in known:
            warnings.append(_UNKNOWN.arg(repr(qualified)))
            continue
        rule = None if f"{section}.{key}" in _NO_CLAMP else ranges.get(key)
        changes[key] = _parse_value(default, key, qualified, item, rule, warnings)
    try:
        return replace(default, **changes)
    except SettingError as exc:  # a rule across fields; none today, but never crash
        warning = QT_TRANSLATE_NOOP("Settings", "setting %1: %2; using its defaults")
        warnings.append(warning.arg(repr(where), message_of(exc)))
        return default


def _parse_value(
    default: Any, key: str, qualified: str, value: object, rule: _Range | None, warnings: list[Text]
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
            warning = QT_TRANSLATE_NOOP("Settings", "setting %1 is %2 but %3; clamped to %4")
            warnings.append(
                warning.arg(repr(qualified), _show(value), _rule_text(error), repr(fixed))
            )
            return fixed
    shown = fallback.value if isinstance(fallback, Enum) else fallback
    warning = QT_TRANSLATE_NOOP("Settings", "setting %1 is %2 but %3; using the default %4")
    warnings.append(warning.arg(repr(qualified), _show(value), _rule_text(error), repr(shown)))
    return fallback


def _rule_text(error: Exception) -> Text | str:
    """ "must be <the rule>" out of a SettingError, without the name and value it repeats.

    The value objects' rules (:mod:`app.core.sampling`, :mod:`app.core.settings_schema`)
    are written in English; the ones they share are given back as translatable Texts
    (:func:`_translatable_rule`), any other in its English.
    """
    message = str(error)
    start = message.find("must be")
    if start < 0:
        return QT_TRANSLATE_NOOP("Settings", "is invalid (%1)").arg(message_of(error))
    end = message.find(", got ", start)
    return _translatable_rule(message[start : end if end >= 0 else None])


#: ``_Range.describe`` in a rule: "must be an integer from 1 to 64 (or unset)".
_RANGE_RULE = re.compile(r"must be (an integer|a number) from (\S+) to (\S+?)( \(or unset\))?")
_RANGE_RULES = {
    (True, False): QT_TRANSLATE_NOOP("Settings", "must be an integer from %1 to %2"),
    (True, True): QT_TRANSLATE_NOOP("Settings", "must be an integer from %1 to %2 (or unset)"),
    (False, False): QT_TRANSLATE_NOOP("Settings", "must be a number from %1 to %2"),
    (False, True): QT_TRANSLATE_NOOP("Settings", "must be a number from %1 to %2 (or unset)"),
}
_FIXED_RULES: dict[str, Text] = {
    rule: rule
    for rule in (
        QT_TRANSLATE_NOOP("Settings", "must be true or false"),
        QT_TRANSLATE_NOOP("Settings", "must be a non-empty string (or unset)"),
        QT_TRANSLATE_NOOP("Settings", "must be a string (or unset)"),
        QT_TRANSLATE_NOOP("Settings", "must be a list of strings"),
    )
}
_ONE_OF = "must be one of "


def _translatable_rule(rule: str) -> Text | str:
    """``rule`` as a Text with the same English when it is one of the common rules."""
    fixed = _FIXED_RULES.get(rule)
    if fixed is not None:
        return fixed
    if rule.startswith(_ONE_OF):
        return QT_TRANSLATE_NOOP("Settings", "must be one of %1").arg(rule[len(_ONE_OF) :])
    match = _RANGE_RULE.fullmatch(rule)
    if match is None:
        return rule
    kind, low, high, unset = match.groups()
    template = _RANGE_RULES[kind == "an integer", unset is not None]
    shown_high = QT_TRANSLATE_NOOP("Settings", "unbounded") if high == "unbounded" else high
    return template.arg(low, shown_high)


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


def _parse_recent(value: object, warnings: list[Text]) -> tuple[str, ...]:
    if not isinstance(value, list):
        warning = QT_TRANSLATE_NOOP(
            "Settings", "setting 'recent_files' must be a list of paths, got %1; cleared"
        )
        warnings.append(warning.arg(_show(value)))
        return ()
    kept: list[str] = []
    for item in value:
        if isinstance(item, str) and item and item not in kept:
            kept.append(item)
    kept = kept[:MAX_RECENT]
    if len(kept) != len(value):
        warning = QT_TRANSLATE_NOOP(
            "Settings",
            "setting 'recent_files' must hold at most %1 distinct non-empty paths; "
            "kept %2 of %3 entries",
        )
        warnings.append(warning.arg(MAX_RECENT, len(kept), len(value)))
    return tuple(kept)


def _parse_presets(value: object, warnings: list[Text]) -> tuple[tuple[str, SamplingSettings], ...]:
    """The usable user presets; each bad entry costs only itself, with a warning."""
    if not isinstance(value, list):
        warning = QT_TRANSLATE_NOOP(
            "Settings", "setting 'user_presets' must be a list of presets, got %1; cleared"
        )
        warnings.append(warning.arg(_show(value)))
        return ()
    taken = {name.casefold() for name in PRESETS}
    kept: list[tuple[str, SamplingSettings]] = []
    for index, item in enumerate(value):
        where = f"user_presets[{index}]"
        if not isinstance(item, dict):
            warning = QT_TRANSLATE_NOOP(
                "Settings", "setting %1 must be an object with a name and sampling, got %2; dropped"
            )
            warnings.append(warning.arg(repr(where), _show(item)))
            continue
        try:
            name = _preset_name_form(item.get("name"))
        except SettingError as exc:
            warning = QT_TRANSLATE_NOOP("Settings", "setting '%1.name': %2; preset dropped")
            warnings.append(warning.arg(where, message_of(exc)))
            continue
        sampling = item.get("sampling")
        if not isinstance(sampling, dict):
            warning = QT_TRANSLATE_NOOP(
                "Settings", "setting '%1.sampling' must be an object, got %2; preset %3 dropped"
            )
            warnings.append(warning.arg(where, _show(sampling), repr(name)))
            continue
        for key in [k for k in item if k not in ("name", "sampling")]:
            warnings.append(_UNKNOWN.arg(f"'{where}.{key}'"))
        parsed = _parse_section(
            "sampling", sampling, SamplingSettings(), warnings, f"{where}.sampling"
        )
        unique = _unclaimed(name, taken)
        if unique != name:
            owner = _builtin_named(name)
            whose = (
                QT_TRANSLATE_NOOP("Settings", "the name of the built-in preset %1").arg(repr(owner))
                if owner is not None
                else QT_TRANSLATE_NOOP(
                    "Settings", "already the name of an earlier preset (ignoring case)"
                )
            )
            warning = QT_TRANSLATE_NOOP("Settings", "setting '%1.name' is %2, %3; renamed to %4")
            warnings.append(warning.arg(where, repr(name), whose, repr(unique)))
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
    return _json_bytes(settings.to_dict())


def _json_bytes(data: dict[str, Any]) -> bytes:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True, allow_nan=False)
        return (text + "\n").encode("ascii")


def save_settings(settings: AppSettings, path: Path) -> None:
    """Write atomically; raises SettingsSaveError (an OSError) and keeps the old file.

    The API key goes to the keychain first and the file, without it, second: if either
    step fails, the key is still in one of the two places the next load reads.
    """
    data = settings.to_dict()
    key = settings.runtime.remote_api_key
    runtime = data["runtime"]
    if key is not None and secrets.store_key(path, key):
        runtime["remote_api_key"] = None
        runtime[KEYCHAIN_MARK] = True
    elif key is None and secrets.keep_unread_entry(path):
        runtime[KEYCHAIN_MARK] = True
    _write(path, _json_bytes(data))
    if key is None and KEYCHAIN_MARK not in runtime:
        secrets.forget_key(path)  # the key was cleared: now nothing points at its entry


def _write(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.filename and str(exc.filename) != str(path):
            reason += f": {exc.filename}"  # e.g. the folder that is really a file
        message = QT_TRANSLATE_NOOP("Settings", "could not save settings to %1: %2")
        error = SettingsSaveError(message.arg(path, reason))
        error.errno = exc.errno  # still tells "disk full" from "permission denied"
        raise error from exc
