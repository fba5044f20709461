"""Sampling settings: one validated value object shared by the engine, the CLI and the GUI.

Ranges live here, not in widgets, so every entry point (settings file, command line,
slider) rejects the same bad values with the same message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


class SettingError(ValueError):
    """A sampling value outside its allowed range; the message names the range."""


@dataclass(frozen=True)
class _Range:
    low: float
    high: float
    integer: bool = False
    allow_none: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        high = "unbounded" if math.isinf(self.high) else _fmt(self.high)
        text = f"{kind} from {_fmt(self.low)} to {high}"
        return text + (" (or unset)" if self.allow_none else "")


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


#: Allowed ranges. top_k 0 and top_p / typical_p 1.0 mean "off", as in llama.cpp.
RANGES: dict[str, _Range] = {
    "temperature": _Range(0.0, 5.0),
    "top_k": _Range(0, 50_000, integer=True),
    "top_p": _Range(0.0, 1.0),
    "min_p": _Range(0.0, 1.0),
    "typical_p": _Range(0.0, 1.0),
    "repeat_penalty": _Range(1.0, 3.0),
    "repeat_last_n": _Range(0, 1024, integer=True),
    "presence_penalty": _Range(-2.0, 2.0),
    "frequency_penalty": _Range(-2.0, 2.0),
    "seed": _Range(0, 2**32 - 2, integer=True, allow_none=True),
    "max_tokens": _Range(1, 4096, integer=True),
}


@dataclass(frozen=True)
class SamplingSettings:
    """How the next tokens are chosen. temperature 0 means greedy (argmax).

    ``seed=None`` draws a fresh seed per request; a fixed seed makes a request repeatable.
    """

    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    typical_p: float = 1.0
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    max_tokens: int = 16
    stop: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for name, rule in RANGES.items():
            value = getattr(self, name)
            object.__setattr__(self, name, _check(name, value, rule))
        stop = self.stop
        if isinstance(stop, str) or not isinstance(stop, Sequence):
            raise SettingError(f"stop must be a list of strings, got {stop!r}")
        if not all(isinstance(s, str) and s for s in stop):
            raise SettingError("stop strings must be non-empty strings")
        object.__setattr__(self, "stop", tuple(stop))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def with_changes(self, **changes: Any) -> SamplingSettings:
        """A validated copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SamplingSettings:
        """Strict: unknown keys and out-of-range values raise SettingError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingError(f"unknown sampling setting(s): {', '.join(unknown)}")
        return cls(**dict(data))


def _check(name: str, value: Any, rule: _Range) -> Any:
    if value is None:
        if rule.allow_none:
            return None
        raise SettingError(f"{name} must be {rule.describe()}, got nothing")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingError(f"{name} must be {rule.describe()}, got {value!r}")
    if rule.integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise SettingError(f"{name} must be {rule.describe()}, got {value!r}")
            value = int(value)
    else:
        value = float(value)
    if math.isnan(value) or not rule.low <= value <= rule.high:
        raise SettingError(f"{name} must be {rule.describe()}, got {value!r}")
    return value


GREEDY = SamplingSettings(
    temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, seed=0
)


# --------------------------------------------------------------------------- presets

#: Ready-made sampler settings, by name, in the order a menu lists them. A preset sets the
#: knobs that shape *how* words are chosen; how many (``max_tokens``), the seed and the
#: stop strings belong to the request, so the command line and the editor keep their own.
PRESETS: dict[str, SamplingSettings] = {
    # Close to the likeliest words: notes, summaries, factual prose. A low temperature
    # makes a small model loop, so the repeat penalty is firmer than the default.
    "precise": SamplingSettings(
        temperature=0.3, top_k=20, top_p=0.9, min_p=0.1, repeat_penalty=1.15
    ),
    # The defaults: varied but coherent ghost text for everyday writing.
    "balanced": SamplingSettings(),
    # The model's own distribution (temperature 1) with wide top-k / top-p and a low
    # min-p so unusual words stay possible: fiction, brainstorming. Sampling already
    # varies the words, so the repeat penalty is lighter.
    "creative": SamplingSettings(
        temperature=1.0, top_k=100, top_p=0.98, min_p=0.02, repeat_penalty=1.05
    ),
}

#: One line per preset, for tooltips and ``--help``.
PRESET_DESCRIPTIONS: dict[str, str] = {
    "precise": "stays close to the likeliest words; for notes and factual prose",
    "balanced": "the defaults: varied but coherent",
    "creative": "bolder, more surprising words; for fiction and brainstorming",
}


def preset(name: str) -> SamplingSettings:
    """The built-in preset called ``name`` (any case), or a SettingError naming them all."""
    found = PRESETS.get(name.strip().casefold()) if isinstance(name, str) else None
    if found is not None:
        return found
    raise SettingError(f"unknown preset {name!r}; the presets are {', '.join(PRESETS)}")
