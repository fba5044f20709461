"""An independent junk checker for judging ghosts in the evaluation.

The product filters junk itself before it shows a ghost; measuring that filter with its own
rules would hide its blind spots. So this checker is written apart from the product's filter
on purpose, from the written definition of each kind of junk only, and it shares no code
with it: a ghost the product shows and this checker flags is a finding, not noise.
"""

from __future__ import annotations

import re
import unicodedata
from html.entities import html5

JUNK_KINDS: tuple[str, ...] = ("markup", "link", "control", "repeat", "blank", "echo")

# How much of the text before the cursor is looked at for junk that the ghost completes
# (a tag, a link or a repetition that starts before the cursor and ends in the ghost).
_TAIL_CHARS = 400
# How much of it is split into sentences for the echo check.
_SENTENCE_TAIL_CHARS = 4000
# The shortest sentence (and the shortest shared text) that counts as an echo.
_ECHO_MIN_CHARS = 12

# --- markup --------------------------------------------------------------------------------

# A whole tag with attributes that are assigned values: <em>, <br/>, <a href="x">.
# "a < b" and "x <y z> w" are not tags (no letter right after "<", or a bare word inside).
_TAG = re.compile(
    r"<[A-Za-z][A-Za-z0-9]{0,15}"
    r"(?:\s+[A-Za-z_:][\w:.-]{0,40}\s*=\s*"
    r"(?:\"[^\"<>]{0,200}\"|'[^'<>]{0,200}'|[^\s\"'<>]{1,200})){0,10}"
    r"\s*/?>"
)
_MARKUP_PATTERNS: tuple[re.Pattern[str], ...] = (
    _TAG,
    # A closing tag, even cut off: prose never writes "</" before a letter.
    re.compile(r"</[A-Za-z]"),
    # Comments, CDATA, doctype, processing instructions.
    re.compile(r"<!(?:--|\[CDATA\[|[A-Za-z])|<\?[A-Za-z]"),
    # An opening tag being written with an attribute (the ghost may stop before its ">").
    re.compile(r"<[A-Za-z][A-Za-z0-9]{0,15}\s+[A-Za-z_:][\w:.-]{0,40}\s*="),
    # Numeric character references, with or without the semicolon.
    re.compile(r"&#(?:[0-9]{1,8}|[xX][0-9A-Fa-f]{1,8})"),
    # The common named entities written without their semicolon.
    re.compile(r"&(?:amp|lt|gt|quot|apos|nbsp)(?![A-Za-z0-9;])", re.IGNORECASE),
    # BBCode: closing tags, and the opening tags no prose writes in brackets.
    re.compile(
        r"\[/(?:b|i|u|s|url|img|quote|code|colou?r|size|font|center|list|email|spoiler)\]",
        re.IGNORECASE,
    ),
    re.compile(
        r"\[(?:url|img|quote|code|colou?r|size|font|center|list|email|spoiler)"
        r"(?:=[^\]\n]{0,200})?\]",
        re.IGNORECASE,
    ),
    # A one-letter BBCode tag glued to the word it formats ("[b]Lydia"); "friend[s]" is not.
    re.compile(r"(?<!\w)\[[bius]\](?=\w)", re.IGNORECASE),
    # Markdown: **bold** (or its opening "**" before a word; "f**k" and "sh**" are prose
    # censoring, not markup), __underline__, ~~strike~~, [text](target).
    re.compile(r"(?<![\w*])\*\*(?=[^\s*])"),
    re.compile(r"(?<![\w_])__(?=[^\s_])[^_\n]{1,200}?__(?![\w_])"),
    re.compile(r"(?<!~)~~(?=[^\s~])[^~\n]{1,200}?~~"),
    re.compile(r"\[[^\[\]\n]{1,200}\]\([^()\s]{1,300}\)"),
)
# A named entity with its semicolon: markup when HTML knows the name ("&amp;", "&rsquo;").
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")

# --- link ----------------------------------------------------------------------------------

_URL_CHARS = r"[^\s<>\"'`{}|\\^\[\]]"
_URL = re.compile(
    rf"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{{1,15}}://{_URL_CHARS}*"
    rf"|(?<![\w.-])www\.[A-Za-z0-9-]{_URL_CHARS}*",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_LINK_TRAILERS = ".,;:!?)]}>'\"*-"

# --- control -------------------------------------------------------------------------------

_ALLOWED_CONTROLS = frozenset("\n\r\t")
_BAD_CHARS = frozenset(
    "\ufffd"  # the replacement character: text decoded from broken bytes
    "\ufeff"  # a byte order mark (zero-width no-break space) inside text
    "\ufffe\uffff"  # noncharacters
    "\u202a\u202b\u202c\u202d\u202e"  # bidirectional embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # bidirectional isolates
)

# --- repeat --------------------------------------------------------------------------------

_WORD = re.compile(r"\w+(?:['’]\w+)*")
_MAX_PHRASE_WORDS = 6
_MIN_COPIES = 3
# A run of characters repeated inside a word needs a unit this long: "hahaha" is laughter.
_MIN_CHAR_UNIT = 3
# A phrase this long that comes back this often in a ghost is junk even when not adjacent.
_SCATTERED_PHRASE_WORDS = 3

# --- echo ----------------------------------------------------------------------------------

# The end of a sentence: terminators, then closing quotes or brackets, then a space or the
# end; or a line break. The look-behind keeps the match from restarting inside a run of dots.
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…]+[\"'”’»)\]]*(?=\s|$)|\n")
_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
_SENTENCE_TRAILERS = " .!?…\"')]»"


def junk_kinds(ghost: str, *, before: str, document: str) -> list[str]:
    """The kinds of junk in ``ghost`` (empty: clean), in JUNK_KINDS order, each at most once."""
    tail = _tail(before, _TAIL_CHARS)
    found = {
        "markup": _has_markup(tail, ghost),
        "link": _has_unknown_link(tail, ghost, document),
        "control": _has_control(ghost),
        "repeat": _has_repeat(tail, ghost),
        "blank": _is_blank(ghost),
        "echo": _is_echo(ghost, before),
    }
    return [kind for kind in JUNK_KINDS if found[kind]]


def _tail(text: str, size: int) -> str:
    """The end of ``text``, cut at a space so that it does not start inside a word."""
    if len(text) <= size:
        return text
    cut = text[-size:]
    space = _SPACES.search(cut)
    return cut[space.start() :] if space else ""


def _reaches_ghost(pattern: re.Pattern[str], text: str, boundary: int) -> list[re.Match[str]]:
    """The matches of ``pattern`` in ``text`` with at least one character at or after
    ``boundary`` (where the ghost starts)."""
    return [m for m in pattern.finditer(text) if m.end() > boundary]


def _has_markup(tail: str, ghost: str) -> bool:
    text = tail + ghost
    boundary = len(tail)
    if any(_reaches_ghost(pattern, text, boundary) for pattern in _MARKUP_PATTERNS):
        return True
    return any(m.group(1) + ";" in html5 for m in _reaches_ghost(_NAMED_ENTITY, text, boundary))


def _has_unknown_link(tail: str, ghost: str, document: str) -> bool:
    text = tail + ghost
    boundary = len(tail)
    known = document.casefold()
    for pattern in (_URL, _EMAIL):
        for match in _reaches_ghost(pattern, text, boundary):
            link = match.group().rstrip(_LINK_TRAILERS)
            if pattern is _EMAIL and not _is_email(link):
                continue
            if not _link_in_document(link, known):
                return True
    return False


def _is_email(link: str) -> bool:
    """Whether ``link`` (local@domain) ends in a top-level domain of two or more letters."""
    top = link.rsplit(".", 1)[-1]
    return len(top) >= 2 and top.isascii() and top.isalpha()


def _link_in_document(link: str, document_casefolded: str) -> bool:
    """Whether the document holds the link, with or without its scheme and "www."."""
    link = link.casefold()
    bare = _SCHEME.sub("", link)
    candidates = {link, link.rstrip("/"), bare.rstrip("/")}
    if bare.startswith("www."):
        candidates.add(bare[4:].rstrip("/"))
    return any(len(c) >= 4 and c in document_casefolded for c in candidates)


def _has_control(ghost: str) -> bool:
    for char in ghost:
        if char in _ALLOWED_CONTROLS:
            continue
        if char in _BAD_CHARS or unicodedata.category(char) in ("Cc", "Cs"):
            return True
    return False


def _has_repeat(tail: str, ghost: str) -> bool:
    text = tail + ghost
    boundary = len(tail)
    tokens = list(_WORD.finditer(text))
    words = [m.group().casefold() for m in tokens]
    first_in_ghost = next((i for i, m in enumerate(tokens) if m.end() > boundary), None)
    if first_in_ghost is None:
        return False
    if _repeated_phrase_run(words, first_in_ghost):
        return True
    if any(_repeated_char_run(m.group(), m.start(), boundary) for m in tokens[first_in_ghost:]):
        return True
    return _scattered_phrase([m.group().casefold() for m in _WORD.finditer(ghost)])


def _repeated_phrase_run(words: list[str], first_in_ghost: int) -> bool:
    """Whether a phrase of 1-6 words comes three or more times in a row, ending in the ghost.

    For a phrase of ``n`` words, a maximal stretch of positions ``j`` with
    ``words[j] == words[j + n]`` spans a periodic stretch of words; at least ``3 n`` words
    of it are three copies.
    """
    count = len(words)
    for n in range(1, _MAX_PHRASE_WORDS + 1):
        j = 0
        while j + n < count:
            if words[j] != words[j + n]:
                j += 1
                continue
            start = j
            while j + n < count and words[j] == words[j + n]:
                j += 1
            period_words = j - start + n
            last = j + n - 1
            if period_words >= _MIN_COPIES * n and last >= first_in_ghost:
                return True
    return False


def _repeated_char_run(word: str, offset: int, boundary: int) -> bool:
    """Whether ``word`` (at ``offset`` in the text) holds a unit of three or more characters
    three or more times in a row, ending in the ghost ("CollinsCollinsCollins")."""
    size = len(word)
    for period in range(_MIN_CHAR_UNIT, size // _MIN_COPIES + 1):
        i = 0
        while i + period < size:
            if word[i] != word[i + period]:
                i += 1
                continue
            start = i
            while i + period < size and word[i] == word[i + period]:
                i += 1
            if (
                i - start >= (_MIN_COPIES - 1) * period
                and offset + i + period > boundary
                and _primitive_length(word[start : start + period]) >= _MIN_CHAR_UNIT
            ):
                return True
    return False


def _primitive_length(unit: str) -> int:
    """The length of the shortest string that ``unit`` is a whole power of ("abab": 2)."""
    size = len(unit)
    for length in range(1, size + 1):
        if size % length == 0 and unit[:length] * (size // length) == unit:
            return length
    return size


def _scattered_phrase(words: list[str]) -> bool:
    """Whether a phrase of three words comes three or more times in the ghost, apart."""
    n = _SCATTERED_PHRASE_WORDS
    counts: dict[tuple[str, ...], int] = {}
    last_seen: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - n + 1):
        phrase = tuple(words[i : i + n])
        if phrase in last_seen and i - last_seen[phrase] < n:
            continue  # overlaps the previous copy: counted by the run check instead
        last_seen[phrase] = i
        counts[phrase] = counts.get(phrase, 0) + 1
        if counts[phrase] >= _MIN_COPIES:
            return True
    return False


def _is_blank(ghost: str) -> bool:
    return not any(char.isalnum() for char in ghost)


def _is_echo(ghost: str, before: str) -> bool:
    text = _normalize(ghost)
    if not text:
        return False
    for sentence in _last_sentences(before):
        written = _normalize(sentence)
        if len(written) < _ECHO_MIN_CHARS:
            continue
        core = written.rstrip(_SENTENCE_TRAILERS)
        if written in text or (len(core) >= _ECHO_MIN_CHARS and core in text):
            return True  # starts with it or holds it whole
        if len(text) >= _ECHO_MIN_CHARS and written.startswith(text):
            return True  # a long enough prefix of it
    return False


def _last_sentences(before: str) -> tuple[str, str]:
    """The last complete sentence of ``before`` and the one being written (either empty)."""
    text = before[-_SENTENCE_TAIL_CHARS:]
    last_complete = ""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        sentence = text[start : match.end()].strip()
        if sentence:
            last_complete = sentence
        start = match.end()
    return last_complete, text[start:].strip()


def _normalize(text: str) -> str:
    """Text for echo matching: curly quotes made straight, spaces collapsed, case folded."""
    return _SPACES.sub(" ", text.translate(_QUOTES)).strip().casefold()
