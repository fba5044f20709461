"""Pure operations on a shown suggestion (the ghost text): partial accepts, type-through.

The editor calls these on every key it routes to the ghost, so they stay tiny and free of
Qt; the tests pin their exact behaviour.
"""

from __future__ import annotations

import re

# A word with the spaces and opening punctuation before it ("\"Hello", " don't"), or a run
# of punctuation: "ago," is two steps, so a word can be taken without a wrong comma.
_WORD = re.compile(r"\s*(?:[^\w\s]*\w(?:[\w'’-]*\w)?|[^\w\s]+)")


def type_through(ghost: str, typed: str) -> str | None:
    """What remains of ``ghost`` after the writer typed ``typed``, or None if it diverged.

    Typing the ghost's own next characters keeps the rest on screen without asking the
    model again (as Copilot and llama.vim do).
    """
    if typed and ghost.startswith(typed):
        return ghost[len(typed) :]
    return None


def split_word(ghost: str) -> tuple[str, str]:
    """(next word with its leading whitespace and opening punctuation, the rest).

    Punctuation after a word is a step of its own, so a suggestion's right word can be
    taken without the comma or full stop the writer does not want.
    """
    match = _WORD.match(ghost)
    if match is None:  # only whitespace left
        return ghost, ""
    return ghost[: match.end()], ghost[match.end() :]


def split_line(ghost: str) -> tuple[str, str]:
    """(up to the end of the ghost's first line, the rest).

    A ghost that starts with a line break takes that break and the line after it, so
    "accept line" always makes progress.
    """
    start = 1 if ghost.startswith("\n") else 0
    end = ghost.find("\n", start)
    if end < 0:
        return ghost, ""
    return ghost[:end], ghost[end:]
