"""What one run of the simulated writer counted, and the figures made from it.

- keystroke savings KS = 1 - keys / characters;
- acceptance rate: ghosts with at least one accepted word / ghosts shown, a ghost counted
  once however long type-through keeps it;
- ghosts shown per 100 characters; characters gained per acceptance;
- junk rate: ghosts the independent checker (:mod:`app.eval.junk`) flags / ghosts shown;
- latency from the keystroke before a ghost to its first paint, and to the complete
  suggestion; from an accept that took the whole ghost to the next ghost;
- prompt tokens evaluated per keystroke (prefills and requests).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.core.stats import percentile

__all__ = ["GhostRecord", "Tally"]


@dataclass
class GhostRecord:
    """One ghost shown, from its first paint until it was gone."""

    offset: int  # characters of the text typed when it appeared
    before: str  # the last 200 characters before the cursor then
    text: str  # the ghost, at its longest
    confidence: float | None
    shown_ms: float | None  # from the keystroke before it to its first paint
    complete_ms: float | None = None  # ... to the complete suggestion
    accepted: str = ""  # what the writer took of it (Tab, Ctrl+Right)
    accepted_words: int = 0
    typed_through: int = 0
    junk: list[str] = field(default_factory=list)
    from_cache: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "before": self.before,
            "ghost": self.text,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "accepted": self.accepted,
            "accepted_words": self.accepted_words,
            "typed_through": self.typed_through,
            "junk": self.junk,
            "from_cache": self.from_cache,
            "shown_ms": _round(self.shown_ms),
            "complete_ms": _round(self.complete_ms),
        }


@dataclass
class Tally:
    name: str
    chars: int = 0  # characters of text written
    keys: int = 0
    key_kinds: Counter[str] = field(default_factory=Counter)
    ghosts: list[GhostRecord] = field(default_factory=list)
    accept_to_next_ms: list[float] = field(default_factory=list)
    accepts_unanswered: int = 0  # a Tab took the whole ghost and no ghost came before the next key
    tokens_evaluated: int = 0
    tokens_generated: int = 0
    requests: int = 0
    prefills: int = 0
    seconds: float = 0.0  # wall time of the run
    interrupted: bool = False

    def add(self, other: Tally) -> None:
        """Fold another file's run into this one."""
        self.chars += other.chars
        self.keys += other.keys
        self.key_kinds.update(other.key_kinds)
        self.ghosts.extend(other.ghosts)
        self.accept_to_next_ms.extend(other.accept_to_next_ms)
        self.accepts_unanswered += other.accepts_unanswered
        self.tokens_evaluated += other.tokens_evaluated
        self.tokens_generated += other.tokens_generated
        self.requests += other.requests
        self.prefills += other.prefills
        self.seconds += other.seconds
        self.interrupted = self.interrupted or other.interrupted

    # ------------------------------------------------------------------ figures

    @property
    def keystroke_savings(self) -> float:
        return 1.0 - self.keys / self.chars if self.chars else 0.0

    @property
    def accepted_ghosts(self) -> int:
        return sum(1 for g in self.ghosts if g.accepted_words)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted_ghosts / len(self.ghosts) if self.ghosts else 0.0

    @property
    def ghosts_per_100_chars(self) -> float:
        return 100.0 * len(self.ghosts) / self.chars if self.chars else 0.0

    @property
    def chars_per_acceptance(self) -> float:
        accepted = [len(g.accepted) for g in self.ghosts if g.accepted_words]
        return sum(accepted) / len(accepted) if accepted else 0.0

    @property
    def junk_ghosts(self) -> list[GhostRecord]:
        return [g for g in self.ghosts if g.junk]

    @property
    def junk_rate(self) -> float:
        return len(self.junk_ghosts) / len(self.ghosts) if self.ghosts else 0.0

    def figures(self) -> dict[str, Any]:
        shown = [g.shown_ms for g in self.ghosts if g.shown_ms is not None]
        complete = [g.complete_ms for g in self.ghosts if g.complete_ms is not None]
        kinds = Counter(kind for g in self.ghosts for kind in g.junk)
        return {
            "name": self.name,
            "chars": self.chars,
            "keys": self.keys,
            "keys_by_kind": dict(self.key_kinds),
            "keystroke_savings": self.keystroke_savings,
            "ghosts_shown": len(self.ghosts),
            "ghosts_accepted": self.accepted_ghosts,
            "acceptance_rate": self.acceptance_rate,
            "ghosts_per_100_chars": self.ghosts_per_100_chars,
            "chars_per_acceptance": self.chars_per_acceptance,
            "junk_ghosts": len(self.junk_ghosts),
            "junk_rate": self.junk_rate,
            "junk_kinds": dict(kinds),
            "key_to_first_paint_ms": _summary(shown),
            "key_to_complete_ms": _summary(complete),
            "accept_to_next_ghost_ms": _summary(self.accept_to_next_ms),
            "accepts_without_next_ghost": self.accepts_unanswered,
            "tokens_evaluated_per_keystroke": self.tokens_evaluated / self.keys
            if self.keys
            else 0.0,
            "tokens_generated_per_keystroke": self.tokens_generated / self.keys
            if self.keys
            else 0.0,
            "requests": self.requests,
            "prefills": self.prefills,
            "seconds": round(self.seconds, 1),
            "interrupted": self.interrupted,
        }


def _summary(values: list[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values),
        "p50": _round(percentile(values, 50)),
        "p90": _round(percentile(values, 90)),
        "mean": _round(statistics.fmean(values)) if values else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
