"""Junk never shown: markup, invented links, control characters, loops and echoes.

A small model fills a gap with what it saw most often on the web: HTML tags and entities,
links and addresses, a phrase said over and over, the writer's own sentence again. None of
it is what a writer wants next to the cursor. :func:`junk_start` finds where such text
begins in a suggestion, so that the clean head before it can still be shown (and, when
nothing clean is left, the policy asks for the next candidate instead).

This is the product's filter. The eval judges suggestions with a checker of its own,
written apart from this one (``app/eval/junk.py``), so that a blind spot here shows up
as junk there rather than being measured away.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ECHO_MIN_CHARS", "REPEATS", "junk_start", "undecided"]

#: A phrase said this many times in a row is a loop.
REPEATS = 3
#: The sentence just written counts as echoed once this much of it comes back.
ECHO_MIN_CHARS = 12
_MAX_PHRASE_WORDS = 6

_MARKUP = re.compile(
    r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>"  # a tag
    r"|<!--|-->|<![A-Za-z]|<\?"  # comments, doctype, processing instructions
    r"|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"  # entities
    r"|\[/?[a-z]+(?:=[^\]]*)?\]"  # BBCode: [b], [/url], [url=...]
)
# What may still grow into markup at the end of a streamed text: held back until known.
_OPEN_MARKUP = re.compile(r"(?:<[/!?]?[\w:-]*(?:\s[^<>]*)?|&#?[\w]{0,31}|\[/?[a-z]*)\Z")
# What may still grow into a link or an address: "joe@exa", "http://", "www.".
_OPEN_LINK = re.compile(
    r"(?:[\w.+-]+@[\w.-]*|\b[a-z][a-z0-9+.-]*:/{0,2}\S*|\bwww\.?\S*)\Z", re.IGNORECASE
)
_LINK = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"']+"  # a URL
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # an e-mail address
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+(?:['’]\w+)*")
# The same run of characters three times over, inside words too ("CollinsCollinsCollins").
_STUTTER = re.compile(r"(\w[\w\W]{1,40}?)\1{2,}")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")
_ALLOWED_CONTROLS = "\t\n\r"
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def junk_start(ghost: str, *, prefix: str = "", document: str = "") -> int | None:
    """Where junk begins in ``ghost`` (0: it opens with junk), or None when it is clean.

    ``prefix`` is the text before the cursor (loops and echoes continue it); ``document``
    is the text the writer has (links already in it are the writer's, not invented).
    """
    found = [
        i
        for i in (
            _markup(ghost),
            _links(ghost, document or prefix),
            _controls(ghost),
            _loop(ghost, prefix),
            _echo(ghost, prefix),
        )
        if i is not None
    ]
    return min(found) if found else None


def undecided(ghost: str, prefix: str = "") -> int | None:
    """Where a streamed ghost's tail may still turn into junk (``<em``, ``&am``,
    ``joe@exa``, ``http:``, the start of the sentence just written): show it only once
    more text decides."""
    if _echo_in_progress(ghost, prefix):
        return 0
    starts = [
        m.start() for m in (_OPEN_MARKUP.search(ghost), _OPEN_LINK.search(ghost)) if m and m.group()
    ]
    return min(starts) if starts else None


def _markup(ghost: str) -> int | None:
    match = _MARKUP.search(ghost)
    return match.start() if match else None


def _links(ghost: str, document: str) -> int | None:
    for match in _LINK.finditer(ghost):
        link = match.group().rstrip(".,;:!?)]}'\"")
        if link and link not in document:
            return match.start()
    return None


def _controls(ghost: str) -> int | None:
    for i, ch in enumerate(ghost):
        if ch in _ALLOWED_CONTROLS:
            continue
        if ch == "\ufffd" or ch in _BIDI_CONTROLS or unicodedata.category(ch) == "Cc":
            return i
    return None


def _loop(ghost: str, prefix: str) -> int | None:
    """The start of a phrase's third consecutive copy that lies in the ghost (the copies
    may begin in the prefix: ``no no`` + `` no``)."""
    stutter = _STUTTER.search(ghost)
    if stutter is not None:
        cut = stutter.start() + 2 * len(stutter.group(1))
        words = _word_loop(ghost, prefix)
        return cut if words is None else min(cut, words)
    return _word_loop(ghost, prefix)


def _word_loop(ghost: str, prefix: str) -> int | None:
    """The start of the third consecutive copy of a phrase of words (punctuation between
    copies does not matter: ``joy, joy, joy``), or of a phrase of three or more words said
    three times anywhere in the ghost."""
    tail = prefix[-200:]
    text = tail + ghost
    spans = [m.span() for m in _WORD.finditer(text)]
    words = [text[a:b].casefold() for a, b in spans]
    base = len(tail)
    found: list[int] = []
    for end in range(len(words)):
        if spans[end][1] <= base:
            continue  # the loop must reach into the ghost
        for n in range(1, _MAX_PHRASE_WORDS + 1):
            first = end + 1 - REPEATS * n
            if first < 0:
                break
            phrase = words[end + 1 - n : end + 1]
            if all(words[first + k * n : first + (k + 1) * n] == phrase for k in range(REPEATS)):
                found.append(spans[first + (REPEATS - 1) * n][0])  # the third copy
                break
        if found:
            break
    inside = [i for i, (a, _b) in enumerate(spans) if a >= base]
    seen: dict[tuple[str, ...], list[int]] = {}
    for i in inside:
        triple = tuple(words[i : i + 3])
        if len(triple) == 3:
            starts = seen.setdefault(triple, [])
            if not starts or i >= starts[-1] + 3:  # copies that do not overlap
                starts.append(i)
            if len(starts) == REPEATS:
                found.append(spans[i][0])
                break
    return max(0, min(found) - base) if found else None


def _echo(ghost: str, prefix: str) -> int | None:
    """The ghost writes the sentence just written again (a small model's favourite loop);
    case, quotes and spaces aside."""
    body = _plain(ghost.lstrip())
    folded = _plain(ghost)
    for last in _recent_sentences(prefix):
        if len(body) >= ECHO_MIN_CHARS and body.startswith(last[: max(ECHO_MIN_CHARS, len(body))]):
            return 0
        at = folded.find(last[: max(ECHO_MIN_CHARS, len(last) // 2)])
        if at > 0:
            return at
    return None


def _echo_in_progress(ghost: str, prefix: str) -> bool:
    """The ghost so far is the start of a recent sentence: wait and see."""
    body = _plain(ghost.lstrip())
    return bool(body) and any(last.startswith(body) for last in _recent_sentences(prefix))


_QUOTES = str.maketrans("’‘“”", "''\"\"")


def _plain(text: str) -> str:
    """Lower case, straight quotes, spaces for any white space: one character for one,
    so an index in the result is an index in ``text``."""
    out = text.translate(_QUOTES)
    return "".join(" " if c.isspace() else (low if len(low := c.lower()) == 1 else c) for c in out)


def _recent_sentences(prefix: str) -> list[str]:
    """The sentence being written and the one before it, where long enough to echo."""
    text = prefix.rstrip()
    ends = [0] + [m.end() for m in _SENTENCE_END.finditer(text)]
    ends += [i + 1 for i in (text.rfind("\n"),) if i >= 0]
    cut = max(ends)
    current = _plain(text[cut:].strip())
    earlier = max([0] + [e for e in ends if e < cut - 1])
    previous = _plain(text[earlier:cut].strip())
    return [s for s in (current, previous) if len(s) >= ECHO_MIN_CHARS]
