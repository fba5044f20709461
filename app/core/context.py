"""Build the model prompt from a document and a cursor position.

GPT-2 has learned positions (at most 1024), so the text left of the cursor must
be cut to a token budget. Cutting at a clean boundary (paragraph, line,
sentence, word) gives the model a natural start instead of half a word, which a
small model would otherwise try to "repair". Counting tokens is the expensive
part, so every search here is a binary search over candidate cut points: the
number of ``count_tokens`` calls grows with log(n), not with the document.

Positions are Python ``str`` indices (code points). Qt counts UTF-16 code
units; converting between the two is the GUI's job.

The searches assume the counter is monotone (a shorter tail never has more
tokens), which holds for GPT-2's BPE in practice. Every prefix returned has been
counted, so the budget holds even if the assumption does not.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "COARSE_KEEP_RATIO",
    "LINE_BREAK_CHARS",
    "PromptContext",
    "TokenCounter",
    "build_prompt",
    "cursor_inside_word",
    "extend_prompt",
    "line_suffix_length",
]

TokenCounter = Callable[[str], int]

#: Characters that end a line (``\r\n`` counts as one break).
LINE_BREAK_CHARS = "\r\n\u2028\u2029"

#: A paragraph, line or sentence start is preferred over the best word start
#: only if it keeps at least this share of the characters the word start keeps:
#: a clean start is worth a little context, not most of it.
COARSE_KEEP_RATIO = 0.75

# First guess of how many characters a token covers, used only to bound the
# region that is scanned for candidates (the bound doubles until it is safe).
_CHARS_PER_TOKEN_GUESS = 4

_WORD_START = re.compile(r"(?<=\s)(?=\S)")
_LINE_START = re.compile(r"(?<=[\r\n\u2028\u2029])(?=[^\S\r\n\u2028\u2029]*\S)")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")
_SENTENCE_END_CHARS = ".!?…"
_CLOSERS = "\"'”’»)]}"
_ZWJ = "\u200d"


@dataclass(frozen=True)
class PromptContext:
    """What the engine sends to the model and what postprocessing must not echo."""

    prefix: str
    """Text sent to the model; ends exactly at the cursor."""
    suffix: str
    """Text right of the cursor, capped at ``suffix_chars``."""
    prefix_start: int
    """Index in the document where the prefix window starts."""
    cursor: int
    truncated: bool
    """True when the window dropped earlier text."""
    prefix_tokens: int = 0
    """Token count of ``prefix`` as measured by the counter (0 for an empty prefix)."""

    @property
    def line_suffix(self) -> str:
        """Text right of the cursor up to the end of its line (within ``suffix``)."""
        match = _LINE_BREAK.search(self.suffix)
        return self.suffix if match is None else self.suffix[: match.start()]


def build_prompt(
    text: str,
    cursor: int,
    count_tokens: TokenCounter,
    *,
    budget_tokens: int = 512,
    suffix_chars: int = 256,
) -> PromptContext:
    """Return the longest clean tail of ``text[:cursor]`` within ``budget_tokens``.

    Cut preference: paragraph start, line start, sentence start, word start
    (coarser ones only when they keep ``COARSE_KEEP_RATIO`` of the context the
    word start keeps); a cut inside a word only when one word exceeds the budget.
    """
    _check_cursor(text, cursor)
    if budget_tokens < 1:
        raise ValueError(f"budget_tokens must be >= 1, got {budget_tokens}")
    if suffix_chars < 0:
        raise ValueError(f"suffix_chars must be >= 0, got {suffix_chars}")

    fits = _Fits(text, cursor, count_tokens, budget_tokens)
    start = _choose_start(text, cursor, fits)
    return PromptContext(
        prefix=text[start:cursor],
        suffix=_cap_suffix(text, cursor, suffix_chars),
        prefix_start=start,
        cursor=cursor,
        truncated=start > 0,
        prefix_tokens=fits.tokens(start),
    )


#: How much of the previous prompt's start identifies it in the new text.
ANCHOR_CHARS = 64
#: When the prompt outgrows its budget, the new start keeps this share of the budget, so
#: it then lasts for a paragraph of typing instead of a word (each move of the start
#: means evaluating the whole prompt again).
SLIDE_KEEP = 0.75


def extend_prompt(
    previous: PromptContext | None,
    text: str,
    cursor: int,
    count_tokens: TokenCounter,
    *,
    budget_tokens: int = 512,
    suffix_chars: int = 256,
) -> PromptContext:
    """:func:`build_prompt`, reusing the previous prompt's start while it still fits.

    As the writer types on, the longest clean tail that fits can only start where it
    started before or later; while the old start still fits, it is the answer, found
    with one count instead of a search (about 8 ms of tokenizing on a long document).
    An unchanged start also lets the engine reuse its whole cached prompt. Anything
    else (text deleted, the start no longer found or no longer fitting) searches anew,
    with room to grow (``SLIDE_KEEP``).
    """
    _check_cursor(text, cursor)
    if previous is not None and previous.prefix:
        before = text[:cursor]
        start = before.rfind(previous.prefix[:ANCHOR_CHARS])
        if start >= 0 and len(before) - start >= len(previous.prefix):
            prefix = before[start:]
            n = count_tokens(prefix)
            if n <= budget_tokens:
                return PromptContext(
                    prefix=prefix,
                    suffix=_cap_suffix(text, cursor, suffix_chars),
                    prefix_start=start,
                    cursor=cursor,
                    truncated=start > 0,
                    prefix_tokens=n,
                )
    if previous is not None:
        budget_tokens = max(1, int(budget_tokens * SLIDE_KEEP))
    return build_prompt(
        text, cursor, count_tokens, budget_tokens=budget_tokens, suffix_chars=suffix_chars
    )


def cursor_inside_word(text: str, cursor: int) -> bool:
    """True when letters/digits touch the cursor on both sides.

    Automatic suggestions are suppressed there: a completion would split a word.
    """
    _check_cursor(text, cursor)
    if cursor == 0 or cursor == len(text):
        return False
    return _is_wordish(text[cursor - 1]) and _is_wordish(text[cursor])


def line_suffix_length(text: str, cursor: int) -> int:
    """Number of characters from the cursor to the end of its line (uncapped)."""
    _check_cursor(text, cursor)
    match = _LINE_BREAK.search(text, cursor)
    return (len(text) if match is None else match.start()) - cursor


# --------------------------------------------------------------------------- internals


def _check_cursor(text: str, cursor: int) -> None:
    if not 0 <= cursor <= len(text):
        raise ValueError(
            f"cursor {cursor} is outside the document: expected 0 <= cursor <= {len(text)}"
        )


def _is_wordish(ch: str) -> bool:
    # Combining marks belong to the letter before them.
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


class _Fits:
    """Memoised ``count_tokens(text[start:cursor]) <= budget``."""

    def __init__(self, text: str, cursor: int, count_tokens: TokenCounter, budget: int) -> None:
        self._text = text
        self._cursor = cursor
        self._count_tokens = count_tokens
        self.budget = budget
        self._counts: dict[int, int] = {}

    def tokens(self, start: int) -> int:
        if start >= self._cursor:
            return 0
        count = self._counts.get(start)
        if count is None:
            count = self._count_tokens(self._text[start : self._cursor])
            self._counts[start] = count
        return count

    def __call__(self, start: int) -> bool:
        return self.tokens(start) <= self.budget


def _first_fitting(n: int, start_at: Callable[[int], int], fits: _Fits) -> int | None:
    """Binary search: the earliest of ``n`` ascending candidate starts that fits.

    Only a candidate that was actually counted and fitted is returned.
    """
    lo, hi = -1, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(start_at(mid)):
            hi = mid
        else:
            lo = mid
    return start_at(hi) if hi < n else None


def _choose_start(text: str, cursor: int, fits: _Fits) -> int:
    if cursor == 0:
        return 0
    # Gallop back from the cursor until a raw cut is too long: the answer lies
    # after it, so only that region is scanned for candidates. The last probe
    # is the whole prefix, which usually fits and ends the search at once.
    span = fits.budget * _CHARS_PER_TOKEN_GUESS
    while True:
        lo = max(0, cursor - span)
        if not fits(lo):
            break
        if lo == 0:
            return 0
        span *= 2

    words = [
        m.start()
        for m in _WORD_START.finditer(text, lo + 1, cursor)
        if _is_char_boundary(text, m.start())
    ]
    best_word = _first_fitting(len(words), words.__getitem__, fits)
    if best_word is None:
        # A single word longer than the budget: cut inside it, on a character
        # boundary, after the last word start (all earlier starts are too long).
        floor = words[-1] if words else lo
        inner = _first_fitting(
            cursor - floor - 1, lambda k: _next_char_boundary(text, floor + 1 + k, cursor), fits
        )
        return cursor if inner is None else inner

    limit = cursor - math.ceil((cursor - best_word) * COARSE_KEEP_RATIO)
    lines = [
        m.start()
        for m in _LINE_START.finditer(text, lo + 1, cursor)
        if m.start() <= limit and _is_char_boundary(text, m.start())
    ]
    paragraphs = [i for i in lines if _is_paragraph_start(text, i)]
    sentences = [i for i in words if i <= limit and _is_sentence_start(text, i)]
    for tier in (paragraphs, lines, sentences):
        start = _first_fitting(len(tier), tier.__getitem__, fits)
        if start is not None:
            return start
    return best_word


def _is_paragraph_start(text: str, i: int) -> bool:
    """``i`` is a line start: is the line before it blank (or the document start)?"""
    j = i - 1
    if text[j] == "\u2029":
        return True
    if text[j] == "\n" and j > 0 and text[j - 1] == "\r":
        j -= 1
    j -= 1
    while j >= 0 and text[j].isspace() and text[j] not in LINE_BREAK_CHARS:
        j -= 1
    return j < 0 or text[j] in LINE_BREAK_CHARS


def _is_sentence_start(text: str, i: int) -> bool:
    """``i`` is a word start: does a sentence end (``. ! ? …`` + closers) precede it?"""
    if text[i].islower():
        return False
    j = i - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    while j >= 0 and text[j] in _CLOSERS:
        j -= 1
    return j >= 0 and text[j] in _SENTENCE_END_CHARS


def _is_regional_indicator(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _is_char_boundary(text: str, i: int) -> bool:
    """False inside CRLF, a surrogate pair, or a (simplified) grapheme cluster."""
    if i <= 0 or i >= len(text):
        return True
    prev, cur = text[i - 1], text[i]
    if prev == "\r" and cur == "\n":
        return False
    if "\ud800" <= prev <= "\udbff" and "\udc00" <= cur <= "\udfff":
        return False
    if prev == _ZWJ or cur == _ZWJ:
        return False
    if unicodedata.category(cur) in ("Mn", "Mc", "Me"):  # combining marks, variation selectors
        return False
    if "\U0001f3fb" <= cur <= "\U0001f3ff" or "\U000e0020" <= cur <= "\U000e007f":
        return False  # emoji skin-tone modifiers, emoji tag sequences
    if _is_regional_indicator(prev) and _is_regional_indicator(cur):
        run = 0
        j = i - 1
        while j >= 0 and _is_regional_indicator(text[j]):
            run += 1
            j -= 1
        return run % 2 == 0  # flags are pairs: never split one
    return True


def _next_char_boundary(text: str, i: int, end: int) -> int:
    while i < end and not _is_char_boundary(text, i):
        i += 1
    return i


def _cap_suffix(text: str, cursor: int, suffix_chars: int) -> str:
    end = min(len(text), cursor + suffix_chars)
    while end > cursor and not _is_char_boundary(text, end):
        end -= 1
    return text[cursor:end]
