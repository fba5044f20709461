"""Trim a raw model continuation into the suggestion the editor shows.

GPT-2 just keeps writing prose; the writer asked for a word, a phrase, a
sentence, a line or a paragraph. These functions decide where that unit ends,
drop text the writer already has right of the cursor, and make sure a streamed
suggestion never shows half a character or half of ``<|endoftext|>``. All of it
is pure and cheap: it runs on the GUI thread after every streamed token.

Decisions worth knowing:

- Trailing whitespace is always stripped: a ghost that ends in a space is
  invisible noise, and the next suggestion brings its own leading space. The
  one exception is whitespace left in front of the suffix after removing an
  echo of it ("hello " + "world" must keep its space).
- WORD, PHRASE, SENTENCE and LINE never cross a line break; PARAGRAPH never
  crosses a blank line.
- Leading spaces/tabs of the raw text are dropped when the prefix is empty or
  already ends in a space or tab (a second space is never wanted); after a line
  break they are kept, as they may be indentation.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Sequence
from enum import Enum

__all__ = [
    "DEFAULT_STOPS",
    "MIN_REPEAT_CHARS",
    "PHRASE_MAX_WORDS",
    "SuggestionMode",
    "complete_utf8",
    "find_stop",
    "partial_stop_length",
    "shape_suggestion",
    "suggestion_complete",
]

#: GPT-2's end-of-text token, as text (llama.cpp may render it when it is not
#: treated as special).
DEFAULT_STOPS: tuple[str, ...] = ("<|endoftext|>",)

#: A PHRASE without punctuation still ends after this many words.
PHRASE_MAX_WORDS = 6

#: The last line of the prefix is only checked for verbatim repetition when it
#: is at least this long: short lines ("}", "* * *", "Yes.") repeat legitimately.
MIN_REPEAT_CHARS = 10


class SuggestionMode(str, Enum):
    """How much of the continuation one suggestion shows."""

    WORD = "word"
    PHRASE = "phrase"
    SENTENCE = "sentence"
    LINE = "line"
    PARAGRAPH = "paragraph"


# --------------------------------------------------------------------------- streaming helpers


def complete_utf8(data: bytes, *, final: bool = False) -> tuple[str, bytes]:
    """Decode the longest complete UTF-8 prefix of ``data``.

    Returns ``(text, leftover)``: prepend ``leftover`` to the next chunk.
    Invalid bytes become U+FFFD; an incomplete sequence at the end is held back
    (at most 3 bytes) so a token boundary inside a character never shows as
    U+FFFD. With ``final=True`` nothing is held back.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=final)
    leftover, _flags = decoder.getstate()
    return text, leftover


def find_stop(text: str, stops: Sequence[str]) -> int | None:
    """Index of the earliest occurrence of any (non-empty) stop string, or None."""
    found = [i for stop in stops if stop and (i := text.find(stop)) >= 0]
    return min(found) if found else None


def partial_stop_length(text: str, stops: Sequence[str]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of a stop.

    A streamer holds that many characters back: they may turn out to be the
    start of ``<|endoftext|>`` rather than text to show.
    """
    best = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:k]):
                best = k
                break
    return best


# --------------------------------------------------------------------------- shaping


def shape_suggestion(
    raw: str,
    mode: SuggestionMode,
    *,
    prefix: str = "",
    suffix: str = "",
    stops: Sequence[str] = DEFAULT_STOPS,
) -> str:
    """Cut ``raw`` (what the model wrote right after ``prefix``) to one ``mode`` unit.

    The result is a prefix of ``raw`` (after the leading-space rule), never ends
    in whitespace (see the module notes), U+FFFD or a lone surrogate, never
    echoes the start of ``suffix``'s line, and is ``""`` rather than blank.
    """
    mode = SuggestionMode(mode)
    text, _final = _prepare(raw, prefix, stops)
    if _repeat_status(text, prefix):
        return ""
    end, _reached = _cut(text, mode, prefix)
    out = _clean_tail(text[:end])
    out = _strip_broken(_drop_suffix_echo(out, suffix))
    return out if out.strip() else ""


def suggestion_complete(
    raw: str,
    mode: SuggestionMode,
    *,
    prefix: str = "",
    stops: Sequence[str] = DEFAULT_STOPS,
) -> bool:
    """True once more text after ``raw`` can no longer change the suggestion.

    The engine uses it to stop generating early (WORD needs a few tokens, not
    ``n_predict``): when this is True, ``shape_suggestion(raw + more, ...)``
    equals ``shape_suggestion(raw, ...)`` for any ``more``.
    """
    mode = SuggestionMode(mode)
    text, final = _prepare(raw, prefix, stops)
    if final:
        return True
    end, reached = _cut(text, mode, prefix)
    if not reached:
        return False
    if _repeat_status(text, prefix) is None:
        # Still possibly a repetition of the last line: only settled if the
        # suggestion is empty either way.
        return not text[:end].strip()
    return True


# --------------------------------------------------------------------------- internals

_LINE_BREAKS = "\r\n\u2028\u2029"
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")
_BREAK = r"(?:\r\n|\r(?!\n)|[\n\u2028])"
_BLANK_LINE = re.compile(rf"(?=({_BREAK}[^\S\r\n\u2028\u2029]*{_BREAK}|\u2029))")
_SENTENCE_END = ".!?…"
_PHRASE_MARKS = ",;:—–"
_CLOSERS = "\"'”’»)]}"
_OPENERS = "\"'“‘«([{"
_TRAILING = ".,;:!?…" + _CLOSERS
_WORD_JOINERS = "'’-‐"  # inside words: don't, well-known
_NUMBER_JOINERS = ".,:–"  # inside numbers: 3.14, 3,000, 10:30, 10–20
_BROKEN_TAIL = "\ufffd\u200d"
_CONTEXT_CHARS = 64  # how much of the prefix the boundary rules may look back at
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "cf", "fig", "figs", "approx",
        "dept", "inc", "ltd", "corp", "mt", "ave", "gen", "col", "lt", "sgt", "capt", "rev",
        "hon", "vol", "pp",
    }
)  # fmt: skip
_INITIALS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")


def _is_hspace(ch: str) -> bool:
    return ch.isspace() and ch not in _LINE_BREAKS


def _is_word_char(ch: str) -> bool:
    # Combining marks belong to the letter before them.
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")


def _prepare(raw: str, prefix: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Cut at a stop (or hold back a partial one), then apply the leading-space rule.

    Returns the text and whether a stop ended it (nothing more will follow).
    """
    stop_at = find_stop(raw, stops)
    if stop_at is not None:
        text, final = raw[:stop_at], True
    else:
        text, final = raw[: len(raw) - partial_stop_length(raw, stops)], False
    if not prefix or _is_hspace(prefix[-1]):
        i = 0
        while i < len(text) and _is_hspace(text[i]):
            i += 1
        text = text[i:]
    return text, final


def _repeat_status(text: str, prefix: str) -> bool | None:
    """Does ``text`` open by repeating the prefix's last non-blank line verbatim?

    A common small-model loop. None while it might still turn into a repeat.
    """
    lines = [line.strip() for line in _LINE_BREAK.split(prefix)]
    last = next((line for line in reversed(lines) if line), "")
    if len(last) < MIN_REPEAT_CHARS:
        return False
    first = text.lstrip()
    match = _LINE_BREAK.search(first)
    line = first if match is None else first[: match.start()]
    if line.startswith(last):
        return True
    if match is None and last.startswith(line):
        return None
    return False


def _cut(text: str, mode: SuggestionMode, prefix: str) -> tuple[int, bool]:
    """Where the ``mode`` unit ends in ``text``, and whether that is settled.

    The rules look at the end of the prefix too (``Mr`` + ``. Smith``,
    ``3`` + ``,000``), so they run over ``context + text``.
    """
    ctx = prefix[-_CONTEXT_CHARS:]
    s, base = ctx + text, len(ctx)
    if mode is SuggestionMode.LINE:
        match = _LINE_BREAK.search(s, base)
        end, reached = (len(s), False) if match is None else (match.start(), True)
    elif mode is SuggestionMode.PARAGRAPH:
        end, reached = len(s), False
        for match in _BLANK_LINE.finditer(s):
            if match.end(1) > base:
                end, reached = max(match.start(1), base), True
                break
    elif mode is SuggestionMode.WORD:
        end, reached = _word_end(s, base)
    elif mode is SuggestionMode.PHRASE:
        end, reached = _unit_end(s, base, max_words=PHRASE_MAX_WORDS, phrase_marks=True)
    else:
        end, reached = _unit_end(s, base, max_words=None, phrase_marks=False)
    return end - base, reached


def _word_span(s: str, i: int) -> tuple[int, bool]:
    """End of the word starting at ``i`` (``i`` if none), and whether it may go on.

    It may go on when it reaches the end of ``s``, or when a joiner ("-", "'",
    or one of ". , : –" after a digit) is the last character.
    """
    n = len(s)
    j = i
    while True:
        while j < n and _is_word_char(s[j]):
            j += 1
        if j == i or j >= n:
            return j, j >= n
        joins = s[j] in _WORD_JOINERS or (s[j] in _NUMBER_JOINERS and s[j - 1].isdigit())
        if not joins:
            return j, False
        if j + 1 == n:
            return j, True
        nxt = s[j + 1]
        if _is_word_char(nxt) and (s[j] not in _NUMBER_JOINERS or nxt.isdigit()):
            j += 1
            continue
        return j, False


def _trailing_punct(s: str, j: int) -> int:
    """End of the punctuation attached after a word ("end." "said,”")."""
    n = len(s)
    k = j
    while k < n and s[k] in _TRAILING:
        k += 1
    while k > j and k < n and s[k - 1] in "\"'’" and _is_word_char(s[k]):
        k -= 1  # an opening quote of the next word, not a closing one
    return k


def _word_end(s: str, base: int) -> tuple[int, bool]:
    n = len(s)
    i = base
    while i < n and _is_hspace(s[i]):
        i += 1
    j = i
    while j < n and not s[j].isspace() and not _is_word_char(s[j]):
        j += 1  # leading punctuation or symbols: '"', "(", "$", "—"
    k, open_end = _word_span(s, j)
    if k == j:
        return j, j < n
    if open_end:
        return k, False
    end = _trailing_punct(s, k)
    return end, end < n


def _unit_end(s: str, base: int, *, max_words: int | None, phrase_marks: bool) -> tuple[int, bool]:
    """End of a phrase (marks, sentence end or ``max_words``) or of a sentence."""
    n = len(s)
    i = base
    words = 0
    while i < n:
        ch = s[i]
        if ch in _LINE_BREAKS:
            return i, True
        if _is_word_char(ch):
            j, open_end = _word_span(s, i)
            words += 1
            if max_words is not None and words >= max_words:
                if open_end:
                    return j, False
                k = _trailing_punct(s, j)
                return k, k < n
            i = j
            continue
        if phrase_marks and ch in _PHRASE_MARKS:
            k = i + 1
            while k < n and s[k] in _CLOSERS:
                k += 1
            return k, k < n
        if ch in _SENTENCE_END:
            found = _sentence_end(s, i)
            if found is not None:
                return found
        i += 1
    return n, False


def _sentence_end(s: str, i: int) -> tuple[int, bool] | None:
    """If the terminator at ``i`` ends a sentence: (end after closers, settled).

    Not an end: "3.14", "e.g.", "Mr.", an initial ("J."), or when the next word
    starts in lower case ("…” she said", "approx. three").
    """
    n = len(s)
    j = i
    while j < n and s[j] in _SENTENCE_END:
        j += 1
    k = j
    while k < n and s[k] in _CLOSERS:
        k += 1
    if k == n:
        return k, False
    if not s[k].isspace():
        return None
    if s[i:j] == "." and _is_abbreviation(s, i):
        return None
    m = k
    while m < n and _is_hspace(s[m]):
        m += 1
    if m == n:
        return k, False
    if s[m].islower():
        return None
    return k, True


def _is_abbreviation(s: str, dot: int) -> bool:
    t = dot
    while t > 0 and not s[t - 1].isspace() and s[t - 1] not in _OPENERS:
        t -= 1
    token = s[t:dot]
    if not token:
        return False
    if token.lower() in _ABBREVIATIONS or _INITIALS.fullmatch(token):
        return True
    return len(token) == 1 and token.isalpha() and token.isupper() and token != "I"


def _strip_broken(out: str) -> str:
    """Drop a trailing U+FFFD, zero-width joiner or lone surrogate."""
    end = len(out)
    while end > 0 and (out[end - 1] in _BROKEN_TAIL or "\ud800" <= out[end - 1] <= "\udfff"):
        end -= 1
    return out[:end]


def _clean_tail(out: str) -> str:
    while True:
        cleaned = _strip_broken(out.rstrip())
        if cleaned == out:
            return out
        out = cleaned


def _drop_suffix_echo(out: str, suffix: str) -> str:
    """Remove the tail of ``out`` that repeats the start of the cursor's line suffix.

    The overlap must sit on word boundaries on both sides, so "I said" is not
    cut to "I sai" because the suffix starts with "d".
    """
    match = _LINE_BREAK.search(suffix)
    line = suffix if match is None else suffix[: match.start()]
    core = out.strip()
    if not core or not line:
        return out
    if line.lstrip().startswith(core):
        return ""
    for k in range(min(len(out), len(line)), 0, -1):
        if not out.endswith(line[:k]):
            continue
        p = len(out) - k
        clean_start = p == 0 or not (_is_word_char(out[p - 1]) and _is_word_char(out[p]))
        clean_end = k == len(line) or not (_is_word_char(line[k - 1]) and _is_word_char(line[k]))
        if clean_start and clean_end:
            return out[:p]
    return out


class StopFilter:
    """Streamed text pieces to a sink: stop strings cut, undecided stop starts held.

    Shared by the in-process engine (after UTF-8 decoding) and the remote backend, so
    both hand out exactly the same pieces for the same text.
    """

    def __init__(self, stops: Sequence[str], sink: Callable[[str], None] | None) -> None:
        self._stops = tuple(stops)
        self._sink = sink
        self.text = ""
        self.stopped = False  # a stop string ended the text
        self._sent = 0

    def feed(self, piece: str) -> bool:
        """Add one piece; returns True when a stop string ended the text."""
        self.text += piece
        if self._stops:
            # Sent text never ends a stop start (it was held), so search from there.
            at = find_stop(self.text[self._sent :], self._stops)
            if at is not None:
                self.text = self.text[: self._sent + at]
                self._emit(len(self.text))
                self.stopped = True
                return True
        self._emit(len(self.text) - partial_stop_length(self.text, self._stops))
        return False

    def finish(self, *, flush_held: bool) -> None:
        if flush_held:
            self._emit(len(self.text))
        else:
            self.text = self.text[: self._sent]

    def _emit(self, upto: int) -> None:
        if upto > self._sent:
            piece = self.text[self._sent : upto]
            self._sent = upto
            if self._sink is not None:
                self._sink(piece)
