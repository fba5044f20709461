"""Tests for app.core.context: the prompt window left of the cursor."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.context import (
    COARSE_KEEP_RATIO,
    PromptContext,
    build_prompt,
    cursor_inside_word,
    line_suffix_length,
)
from tests.support.reference.gpt2_bpe import load_default

Counter = Callable[[str], int]

_TOY_TOKEN = re.compile(r"\w+|[^\w\s]|\s+")
# GPT-2's pre-tokenizer, ASCII version: a word keeps its leading space.
_GPT2_LIKE = re.compile(r"'(?:s|t|re|ve|m|ll|d)| ?[A-Za-z]+| ?\d+| ?[^\sA-Za-z\d]+|\s+(?!\S)|\s+")


def toy_tokens(text: str) -> int:
    """Words, single punctuation marks and whitespace runs: one token each."""
    return len(_TOY_TOKEN.findall(text))


def gpt2_like_tokens(text: str) -> int:
    return len(_GPT2_LIKE.findall(text))


def byte_tokens(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass")) // 4 + 1


class CountingCounter:
    """Wraps a counter and records every call, to check the O(log n) claim."""

    def __init__(self, inner: Counter) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __call__(self, text: str) -> int:
        self.calls.append(text)
        return self.inner(text)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("cursor", [-1, 6, 100])
def test_cursor_out_of_range_is_rejected_with_the_allowed_range(cursor: int) -> None:
    with pytest.raises(ValueError, match=r"0 <= cursor <= 5"):
        build_prompt("hello", cursor, len)


@pytest.mark.parametrize("func", [cursor_inside_word, line_suffix_length])
def test_helpers_validate_the_cursor(func: Callable[[str, int], object]) -> None:
    with pytest.raises(ValueError, match=r"0 <= cursor <= 3"):
        func("abc", 4)
    with pytest.raises(ValueError, match=r"0 <= cursor <= 3"):
        func("abc", -1)


@pytest.mark.parametrize("budget", [0, -5])
def test_budget_must_be_positive(budget: int) -> None:
    with pytest.raises(ValueError, match="budget_tokens must be >= 1"):
        build_prompt("hello", 5, len, budget_tokens=budget)


def test_negative_suffix_chars_is_rejected() -> None:
    with pytest.raises(ValueError, match="suffix_chars must be >= 0"):
        build_prompt("hello", 0, len, suffix_chars=-1)


# --------------------------------------------------------------------------- simple cases


def test_empty_document_needs_no_token_count() -> None:
    counter = CountingCounter(len)
    ctx = build_prompt("", 0, counter)
    assert ctx == PromptContext(
        prefix="", suffix="", prefix_start=0, cursor=0, truncated=False, prefix_tokens=0
    )
    assert counter.calls == []


def test_cursor_at_start_gives_empty_prefix_and_the_suffix() -> None:
    ctx = build_prompt("Hello world.\nNext line", 0, len, suffix_chars=8)
    assert ctx.prefix == ""
    assert ctx.suffix == "Hello wo"
    assert ctx.line_suffix == "Hello wo"
    assert not ctx.truncated


def test_small_document_is_sent_whole_with_one_count() -> None:
    text = "Once upon a time there was a fox."
    counter = CountingCounter(toy_tokens)
    ctx = build_prompt(text, len(text), counter, budget_tokens=512)
    assert ctx.prefix == text
    assert ctx.prefix_start == 0
    assert ctx.suffix == ""
    assert not ctx.truncated
    assert ctx.prefix_tokens == toy_tokens(text)
    assert counter.calls == [text]


def test_prefix_ends_exactly_at_the_cursor_and_suffix_starts_there() -> None:
    text = "The cat sat (on the mat) today."
    cursor = text.index(")")
    ctx = build_prompt(text, cursor, toy_tokens)
    assert ctx.prefix == "The cat sat (on the mat"
    assert ctx.suffix == ") today."
    assert ctx.line_suffix == ") today."
    assert ctx.cursor == cursor


def test_exact_budget_on_a_gpt2_like_toy_scheme() -> None:
    text = "One two three. Four five six."
    # Tokens: "Four" " five" " six" "." -> exactly 4.
    ctx = build_prompt(text, len(text), gpt2_like_tokens, budget_tokens=4)
    assert ctx.prefix == "Four five six."
    assert ctx.prefix_tokens == 4
    assert ctx.truncated
    # One token less and "Four" must go: the cut moves to the next word start.
    ctx = build_prompt(text, len(text), gpt2_like_tokens, budget_tokens=3)
    assert ctx.prefix == "five six."


# --------------------------------------------------------------------------- clean boundaries


def test_cut_at_a_word_start_never_inside_a_word() -> None:
    text = "alpha beta gamma delta"
    ctx = build_prompt(text, len(text), len, budget_tokens=12)
    # "a gamma delta" would fit 13 > 12 anyway; "mma delta" (9) would be longer
    # than nothing but is mid-word: the longest clean tail is "gamma delta".
    assert ctx.prefix == "gamma delta"
    assert ctx.prefix_start == text.index("gamma")
    assert ctx.truncated


def test_sentence_start_preferred_when_it_keeps_enough() -> None:
    text = "x y. Aaaa bbbb cccc dddd"
    budget = len("y. Aaaa bbbb cccc dddd")
    ctx = build_prompt(text, len(text), len, budget_tokens=budget)
    assert ctx.prefix == "Aaaa bbbb cccc dddd"


def test_lower_case_after_a_dot_is_not_a_sentence_start() -> None:
    text = "x y. aaaa bbbb cccc dddd"
    budget = len("y. aaaa bbbb cccc dddd")
    assert (
        build_prompt(text, len(text), len, budget_tokens=budget).prefix == "y. aaaa bbbb cccc dddd"
    )


def test_line_start_preferred_over_sentence_start() -> None:
    text = "zz yy. Aaa\nCcc dd ee ff gg hh ii jj kk ll"
    budget = len(text) - 3  # the best word start is "yy."
    ctx = build_prompt(text, len(text), len, budget_tokens=budget)
    # Both the sentence start "Aaa" and the line start "Ccc" keep >= 75% of
    # what "yy." keeps; the line start wins.
    assert ctx.prefix == "Ccc dd ee ff gg hh ii jj kk ll"


def test_paragraph_start_preferred_over_line_start() -> None:
    text = "q w\nA b.\n\nC dd ee ff gg hh ii jj kk ll mm nn oo pp"
    budget = len(text) - 2  # the best word start is "w"
    ctx = build_prompt(text, len(text), len, budget_tokens=budget)
    # The line start "A" keeps more, but the paragraph start "C" keeps enough
    # and wins.
    assert ctx.prefix == text[text.index("C dd") :]


def test_coarse_boundary_ignored_when_it_would_drop_too_much() -> None:
    body = "one two three four five six seven eight nine ten"
    text = "zero " + body + "\n\nend"
    ctx = build_prompt(text, len(text), len, budget_tokens=len(text) - 2)
    # The paragraph start keeps 3 characters out of ~55: far below the ratio.
    assert ctx.prefix == body + "\n\nend"
    assert 3 / len(ctx.prefix) < COARSE_KEEP_RATIO


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings_are_never_split_and_lines_start_clean(newline: str) -> None:
    text = newline.join(["first line here", "second line here", "third line here"])
    budget = len("second line here" + newline + "third line here") + 1
    ctx = build_prompt(text, len(text), len, budget_tokens=budget)
    assert ctx.prefix == "second line here" + newline + "third line here"
    assert not ctx.prefix.startswith(("\n", "\r"))


def test_crlf_cursor_mid_document() -> None:
    text = "a b\r\nc d\r\ne f"
    cursor = text.index("d") + 1
    ctx = build_prompt(text, cursor, len, budget_tokens=3)
    assert ctx.prefix == "c d"
    assert ctx.line_suffix == ""
    assert ctx.suffix.startswith("\r\n")


def test_indented_line_keeps_its_indentation() -> None:
    text = "Hdr x\n    indented line of text that goes on"
    ctx = build_prompt(text, len(text), len, budget_tokens=len(text) - 2)
    assert ctx.prefix == "    indented line of text that goes on"


# --------------------------------------------------------------------------- oversized words


def test_single_word_longer_than_budget_is_cut_inside() -> None:
    text = "short words then " + "x" * 100
    ctx = build_prompt(text, len(text), len, budget_tokens=10)
    assert ctx.prefix == "x" * 10
    assert ctx.truncated


def test_oversized_word_cut_respects_combining_marks() -> None:
    text = "e\u0301" * 50  # e + COMBINING ACUTE ACCENT
    ctx = build_prompt(text, len(text), len, budget_tokens=5)
    assert ctx.prefix == "e\u0301" * 2
    assert not unicodedata.combining(ctx.prefix[0])


def test_oversized_word_cut_respects_emoji_sequences() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl
    thumbs = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone
    text = (family + thumbs) * 10
    ctx = build_prompt(text, len(text), len, budget_tokens=8)
    # 8 code points would start inside a thumbs-up + skin tone pair.
    assert ctx.prefix == family + thumbs


def test_oversized_word_cut_never_splits_a_flag() -> None:
    flags = "\U0001f1eb\U0001f1f7" * 10  # ten French flags
    ctx = build_prompt(flags, len(flags), len, budget_tokens=5)
    assert ctx.prefix == "\U0001f1eb\U0001f1f7" * 2


def test_nothing_fits_gives_an_empty_prefix() -> None:
    text = "\U0001f44d"  # 4 UTF-8 bytes: 2 tokens with byte_tokens
    ctx = build_prompt(text, 1, byte_tokens, budget_tokens=1)
    assert ctx.prefix == ""
    assert ctx.prefix_start == 1
    assert ctx.truncated


def test_suffix_cap_does_not_split_a_cluster() -> None:
    text = "abe\u0301cd"
    assert build_prompt(text, 0, len, suffix_chars=3).suffix == "ab"
    assert build_prompt(text, 0, len, suffix_chars=4).suffix == "abe\u0301"
    assert build_prompt(text, 0, len, suffix_chars=0).suffix == ""


# --------------------------------------------------------------------------- cost


def _long_document(words: int) -> str:
    parts = []
    for i in range(words):
        parts.append(f"word{i}")
        if i % 13 == 12:
            parts[-1] += "."
        if i % 97 == 96:
            parts[-1] += "\n\n" if i % 2 else "\n"
    return " ".join(parts)


@pytest.mark.parametrize("words", [2_000, 20_000, 100_000])
def test_token_counts_grow_logarithmically(words: int) -> None:
    text = _long_document(words)
    counter = CountingCounter(toy_tokens)
    ctx = build_prompt(text, len(text), counter, budget_tokens=256)
    assert toy_tokens(ctx.prefix) <= 256
    assert ctx.truncated
    # Gallop + four binary searches; a linear scan would need thousands.
    bound = 5 * math.ceil(math.log2(len(text))) + 5
    assert len(counter.calls) <= bound, (len(counter.calls), bound)
    # No call counts more than a small multiple of what the budget allows.
    assert max(len(call) for call in counter.calls) <= 16 * 256 * 4


def test_counts_are_never_repeated_for_the_same_window() -> None:
    text = _long_document(5_000)
    counter = CountingCounter(toy_tokens)
    build_prompt(text, len(text) // 2, counter, budget_tokens=100)
    assert len(counter.calls) == len(set(counter.calls))


def test_real_gpt2_tokenizer_respects_the_budget() -> None:
    bpe = load_default()

    def count(text: str) -> int:
        return len(bpe.encode(text))

    text = _long_document(600) + " The quick brown fox jumps over the lazy dog."
    for budget in (1, 7, 64, 300):
        ctx = build_prompt(text, len(text), count, budget_tokens=budget)
        assert count(ctx.prefix) <= budget
        assert ctx.prefix_tokens == count(ctx.prefix)
        assert ctx.prefix_start == 0 or text[ctx.prefix_start - 1].isspace() or budget == 1


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "cursor", "expected"),
    [
        ("hello", 2, True),
        ("hello", 0, False),
        ("hello", 5, False),
        ("a b", 1, False),
        ("a b", 2, False),
        ("a1", 1, True),
        ("e\u0301x", 1, True),  # before a combining mark: inside the letter
        ("a,b", 1, False),
        ("", 0, False),
    ],
)
def test_cursor_inside_word(text: str, cursor: int, expected: bool) -> None:
    assert cursor_inside_word(text, cursor) is expected


@pytest.mark.parametrize(
    ("text", "cursor", "expected"),
    [
        ("abc", 0, 3),
        ("abc", 3, 0),
        ("ab\ncd", 0, 2),
        ("ab\r\ncd", 1, 1),
        ("ab\rcd", 0, 2),
        ("ab\u2029cd", 0, 2),
        ("ab\ncd", 3, 2),
        ("", 0, 0),
    ],
)
def test_line_suffix_length(text: str, cursor: int, expected: int) -> None:
    assert line_suffix_length(text, cursor) == expected


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028", "\u2029"])
def test_line_suffix_property_stops_at_any_line_break(newline: str) -> None:
    text = "abc" + newline + "def"
    assert build_prompt(text, 1, len).line_suffix == "bc"


# --------------------------------------------------------------------------- properties

_LB = "\r\n\u2028\u2029"


def _boundary(text: str, i: int) -> bool:
    """Independent restatement of "never split CRLF or a cluster", for the alphabet below."""
    if i <= 0 or i >= len(text):
        return True
    prev, cur = text[i - 1], text[i]
    return not (
        (prev == "\r" and cur == "\n")
        or prev == "\u200d"
        or cur == "\u200d"
        or unicodedata.category(cur).startswith("M")
        or "\U0001f3fb" <= cur <= "\U0001f3ff"
    )


def _reference_start(text: str, cursor: int, count: Counter, budget: int) -> int:
    """Brute-force statement of the cut policy: every candidate is counted."""

    def fits(i: int) -> bool:
        return i >= cursor or count(text[i:cursor]) <= budget

    if cursor == 0 or fits(0):
        return 0
    words = [
        i
        for i in range(1, cursor)
        if text[i - 1].isspace() and not text[i].isspace() and _boundary(text, i)
    ]
    fitting = [i for i in words if fits(i)]
    if not fitting:
        floor = words[-1] if words else 0
        inner = [i for i in range(floor + 1, cursor) if _boundary(text, i) and fits(i)]
        return inner[0] if inner else cursor
    best = fitting[0]
    limit = cursor - math.ceil((cursor - best) * COARSE_KEEP_RATIO)
    lines = [
        i
        for i in range(1, limit + 1)
        if text[i - 1] in _LB
        and not (text[i - 1] == "\r" and text[i] == "\n")
        and _non_blank_line_at(text, i, cursor)
        and _boundary(text, i)
    ]
    for tier in (
        [i for i in lines if _starts_paragraph(text, i)],
        lines,
        [i for i in words if i <= limit and _starts_sentence(text, i)],
    ):
        chosen = [i for i in tier if fits(i)]
        if chosen:
            return chosen[0]
    return best


def _non_blank_line_at(text: str, i: int, cursor: int) -> bool:
    """The line from ``i`` has something but blanks before the cursor."""
    j = i
    while j < cursor and text[j].isspace() and text[j] not in _LB:
        j += 1
    return j < cursor and not text[j].isspace()


def _starts_paragraph(text: str, i: int) -> bool:
    """The line that starts at ``i`` follows a blank line (or a paragraph separator)."""
    k = i - 1
    if text[k] == "\u2029":
        return True
    if text[k] == "\n" and k > 0 and text[k - 1] == "\r":
        k -= 1
    previous_line = re.split(r"\r\n|[\r\n\u2028\u2029]", text[:k])[-1]
    return previous_line.strip() == ""


def _starts_sentence(text: str, i: int) -> bool:
    """The word at ``i`` follows a sentence end and does not start in lower case."""
    if text[i].islower():
        return False
    head = text[:i].rstrip().rstrip("\"'”’»)]}")
    return head.endswith((".", "!", "?", "…"))


_ALPHABET = st.sampled_from(
    [
        *"ab AB.!?,\"'\t",
        *("\n", "\r", "\r\n", "\n\n", "\u2029", "é", "e\u0301", "\u200d"),
        *("\U0001f44d", "\U0001f44d\U0001f3fb", "xyzw ", "Hello. ", "  "),
    ]
)
_TEXTS = st.lists(_ALPHABET, max_size=60).map("".join)
_COUNTERS = st.sampled_from([len, toy_tokens, gpt2_like_tokens, byte_tokens])


@settings(max_examples=400, deadline=None)
@given(text=_TEXTS, data=st.data(), budget=st.integers(1, 40), count=_COUNTERS)
def test_build_prompt_properties(
    text: str, data: st.DataObject, budget: int, count: Counter
) -> None:
    cursor = data.draw(st.integers(0, len(text)), label="cursor")
    suffix_chars = data.draw(st.integers(0, 20), label="suffix_chars")
    ctx = build_prompt(text, cursor, count, budget_tokens=budget, suffix_chars=suffix_chars)

    assert ctx.cursor == cursor
    assert ctx.prefix_start + len(ctx.prefix) == cursor
    assert text[ctx.prefix_start : cursor] == ctx.prefix
    assert ctx.prefix == "" or count(ctx.prefix) <= budget
    assert ctx.prefix_tokens == (count(ctx.prefix) if ctx.prefix else 0)
    assert ctx.truncated == (ctx.prefix_start > 0)
    assert ctx.prefix_start == cursor or _boundary(text, ctx.prefix_start)
    assert text[cursor:].startswith(ctx.suffix)
    assert len(ctx.suffix) <= suffix_chars
    assert ctx.prefix_start == _reference_start(text, cursor, count, budget)


@settings(max_examples=200, deadline=None)
@given(text=_TEXTS, data=st.data())
def test_line_suffix_matches_splitlines(text: str, data: st.DataObject) -> None:
    cursor = data.draw(st.integers(0, len(text)), label="cursor")
    rest = text[cursor:]
    first = re.split(r"[\r\n\u2028\u2029]", rest)[0]
    assert line_suffix_length(text, cursor) == len(first)
    assert build_prompt(text, cursor, len, suffix_chars=len(rest)).line_suffix == first


def test_extend_prompt_keeps_the_start_while_it_fits_and_slides_with_room() -> None:
    from app.core.context import SLIDE_KEEP, build_prompt, extend_prompt

    calls: list[str] = []

    def count(text: str) -> int:
        calls.append(text)
        return len(text.split())  # a word-level stand-in tokenizer (monotone)

    words = " ".join(f"word{i}." if i % 7 == 6 else f"word{i}" for i in range(400))
    first = len(words) - 600
    previous = extend_prompt(None, words, first, count, budget_tokens=50)
    assert previous == build_prompt(words, first, count, budget_tokens=50)  # no history
    reused = slides = 0
    for cursor in range(first + 1, len(words)):
        calls.clear()
        got = extend_prompt(previous, words, cursor, count, budget_tokens=50)
        assert got.prefix == words[got.prefix_start : cursor]
        assert got.prefix_tokens <= 50
        if got.prefix.startswith(previous.prefix):
            reused += 1
            assert len(calls) == 1  # one count, no search
        else:
            slides += 1  # outgrew the budget: a new start, with room to grow
            assert got.prefix_tokens <= int(50 * SLIDE_KEEP)
        previous = got
    assert reused > 20 * slides  # the start moves about once per 12 words typed, not per key
