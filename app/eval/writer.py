"""The simulated writer: what a writer who knows the text would press, key by key.

It types the target text one character at a time. When a ghost is on screen it takes the
longest start of the ghost that is exactly the upcoming text and ends where a word of the
text ends: ``Tab`` when that is the whole ghost, otherwise ``Ctrl+Right`` once per word
(the editor's own word step, :func:`app.core.ghost.split_word`). It never accepts text
that differs from the target. Typing a character the ghost shows is one key, as any
other (type-through).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.core.ghost import split_word
from app.eval.tally import GhostRecord, Tally

__all__ = ["Key", "Press", "Screen", "acceptable", "next_press"]


class Key(str, Enum):
    TYPE = "type"  # one character of the text
    TAB = "tab"  # the whole ghost
    WORD = "word"  # Ctrl+Right: the ghost's next word


@dataclass(frozen=True)
class Press:
    key: Key
    text: str  # what enters the document


def acceptable(ghost: str, target: str, pos: int) -> tuple[int, int]:
    """(characters, words) of ``ghost`` the writer would take at ``target[pos:]``."""
    best = (0, 0)
    taken = 0
    words = 0
    rest = ghost
    while rest:
        word, rest = split_word(rest)
        end = taken + len(word)
        if target[pos : pos + end] != ghost[:end]:
            break
        taken, words = end, words + 1
        if _ends_word(target, pos + taken):
            best = (taken, words)
    return best


def next_press(ghost: str, target: str, pos: int) -> Press:
    """The key the writer presses with ``ghost`` on screen and ``target[pos:]`` to write."""
    chars, _words = acceptable(ghost, target, pos)
    if chars and chars == len(ghost):
        return Press(Key.TAB, ghost)
    if chars:
        return Press(Key.WORD, split_word(ghost)[0])
    return Press(Key.TYPE, target[pos])


def _ends_word(text: str, i: int) -> bool:
    """Does a word of ``text`` end at ``i`` (or is there no word around it)?"""
    if i >= len(text) or i == 0:
        return True
    return not (_wordish(text[i - 1]) and _wordish(text[i]))


def _wordish(ch: str) -> bool:
    return ch.isalnum() or ch in "'’"


class Screen:
    """The ghost on the simulated screen, and the record of each ghost shown.

    Both runners (the product's policy and the baselines) report to it what they show,
    and the writer's presses through it, so that every suggester is counted alike.
    """

    def __init__(self, tally: Tally, target: str) -> None:
        self.tally = tally
        self.target = target
        self.ghost = ""
        self.pos = 0
        self.record: GhostRecord | None = None
        self._consumed = ""  # of the current record's ghost, typed through or accepted

    def shown(
        self,
        text: str,
        confidence: float | None,
        shown_ms: float | None,
        *,
        from_cache: bool = False,
    ) -> GhostRecord:
        """A new suggestion appeared."""
        self.ghost = text
        self._consumed = ""
        self.record = GhostRecord(
            offset=self.pos,
            before=self.target[max(0, self.pos - 200) : self.pos],
            text=text,
            confidence=confidence,
            shown_ms=shown_ms,
            from_cache=from_cache,
        )
        self.tally.ghosts.append(self.record)
        return self.record

    def changed(self, text: str) -> None:
        """The ghost on screen is now ``text`` (it grew while streaming, or went)."""
        self.ghost = text
        if not text:
            self.record = None
        elif self.record is not None and len(self._consumed + text) > len(self.record.text):
            self.record.text = self._consumed + text

    def press(self, press: Press) -> str | None:
        """Apply a press to the document; returns what stays of the ghost (None: the
        ghost is gone: the writer typed past it)."""
        self.tally.keys += 1
        self.tally.key_kinds[press.key.value] += 1
        self.pos += len(press.text)
        ghost = self.ghost
        through = ghost.startswith(press.text) and press.text.isprintable()  # as the editor
        if press.key is Key.TYPE and not through:
            self.ghost, self.record, self._consumed = "", None, ""
            return None
        rest = ghost[len(press.text) :]
        self.ghost = rest
        self._consumed += press.text
        if self.record is not None:
            if press.key is Key.TYPE:
                self.record.typed_through += 1
            else:
                self.record.accepted += press.text
                self.record.accepted_words += 1 if press.key is Key.WORD else _words(press.text)
        if not rest:  # all of it is in the document: the next ghost is another one
            self.record, self._consumed = None, ""
        return rest


def _words(text: str) -> int:
    count = 0
    while text:
        _word, text = split_word(text)
        count += 1
    return count
