"""Tests for app.core.postprocess: from raw GPT-2 continuation to ghost text."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.core.postprocess import (
    DEFAULT_STOPS,
    MIN_REPEAT_CHARS,
    PHRASE_MAX_WORDS,
    SuggestionMode,
    complete_utf8,
    find_stop,
    partial_stop_length,
    shape_suggestion,
    suggestion_complete,
)

W = SuggestionMode.WORD
P = SuggestionMode.PHRASE
S = SuggestionMode.SENTENCE
L = SuggestionMode.LINE
G = SuggestionMode.PARAGRAPH
EOT = "<|endoftext|>"


def test_mode_values_are_the_lowercase_names() -> None:
    assert [m.value for m in SuggestionMode] == ["word", "phrase", "sentence", "line", "paragraph"]
    assert all(m.value == m.name.lower() for m in SuggestionMode)
    assert SuggestionMode("sentence") is S
    assert shape_suggestion(" one two", SuggestionMode("word"), prefix="x") == " one"


# --------------------------------------------------------------------------- UTF-8 streaming


def test_complete_utf8_examples() -> None:
    assert complete_utf8(b"abc") == ("abc", b"")
    assert complete_utf8(b"") == ("", b"")
    assert complete_utf8("é".encode()[:1]) == ("", b"\xc3")
    assert complete_utf8(b"ab" + "€".encode()[:2]) == ("ab", "€".encode()[:2])
    assert complete_utf8(b"x" + "\U0001f44d".encode()[:3]) == ("x", "\U0001f44d".encode()[:3])
    # Invalid bytes in the middle are replaced, not held back.
    assert complete_utf8(b"a\xffb") == ("a\ufffdb", b"")
    assert complete_utf8(b"a\x80") == ("a\ufffd", b"")
    # At the end of the stream, an incomplete tail becomes U+FFFD.
    assert complete_utf8(b"ab\xe2\x82", final=True) == ("ab\ufffd", b"")


@settings(max_examples=300, deadline=None)
@given(text=st.text(), data=st.data())
def test_complete_utf8_reassembles_any_split(text: str, data: st.DataObject) -> None:
    encoded = text.encode("utf-8")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(encoded)), max_size=8), label="cuts"))
    pieces = [encoded[a:b] for a, b in zip([0, *cuts], [*cuts, len(encoded)], strict=True)]
    out, pending = "", b""
    for piece in pieces:
        shown, pending = complete_utf8(pending + piece)
        assert "\ufffd" not in shown or "\ufffd" in text  # never a half character
        assert len(pending) <= 3
        out += shown
    assert pending == b""
    assert out == text


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=40), cuts=st.lists(st.integers(0, 40), max_size=6))
def test_complete_utf8_matches_one_shot_decoding_on_arbitrary_bytes(
    data: bytes, cuts: list[int]
) -> None:
    bounds = sorted(min(c, len(data)) for c in cuts)
    out, pending = "", b""
    for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True):
        shown, pending = complete_utf8(pending + data[a:b])
        out += shown
    tail, rest = complete_utf8(pending, final=True)
    assert rest == b""
    assert out + tail == data.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- stop strings


def test_find_stop_returns_the_earliest_stop() -> None:
    assert find_stop("abc", DEFAULT_STOPS) is None
    assert find_stop(f"ab{EOT}cd", DEFAULT_STOPS) == 2
    assert find_stop("x\n\nyy END", ["END", "\n\n"]) == 1
    assert find_stop("abc", ["", "c"]) == 2  # empty stops are ignored


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 0),
        ("hello <", 1),
        ("hello <|", 2),
        ("hello <|endoftext", len("<|endoftext")),
        (f"hello {EOT}", 0),  # a whole stop is not a *partial* stop
        ("", 0),
        ("<|end<|endo", len("<|endo")),
    ],
)
def test_partial_stop_length(text: str, expected: int) -> None:
    assert partial_stop_length(text, DEFAULT_STOPS) == expected


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="ab<|>", max_size=12),
    stops=st.lists(st.text(alphabet="ab<|>", max_size=5), max_size=3),
)
def test_partial_stop_length_is_the_longest_held_back_suffix(text: str, stops: list[str]) -> None:
    k = partial_stop_length(text, stops)
    expected = max(
        (
            n
            for n in range(1, len(text) + 1)
            for stop in stops
            if n < len(stop) and stop.startswith(text[len(text) - n :])
        ),
        default=0,
    )
    assert k == expected


def test_streaming_never_shows_part_of_the_end_token() -> None:
    raw = f" and then it was over.{EOT}"
    for end in range(len(raw) + 1):
        shown = shape_suggestion(raw[:end], L, prefix="It")
        assert "<" not in shown
        assert " and then it was over.".startswith(shown)
    assert shape_suggestion(raw, L, prefix="It") == " and then it was over."
    assert shape_suggestion(f"abc{EOT} more text", L) == "abc"
    assert shape_suggestion(EOT, L) == ""


def test_custom_stops() -> None:
    assert shape_suggestion("one two ### three", L, stops=["###"]) == "one two"


# --------------------------------------------------------------------------- WORD


@pytest.mark.parametrize(
    ("raw", "prefix", "expected"),
    [
        (" hello world", "Say", " hello"),
        ("hello world", "Say ", "hello"),
        ("  hello world", "Say ", "hello"),  # no double space after a space
        ("lo world", "hel", "lo"),  # mid-word: finish the word
        (" end. Next", "the", " end."),
        (" don't stop", "I", " don't"),
        (" well-known fact", "a", " well-known"),
        (" 3.14 is pi", "x", " 3.14"),
        (" 3,000 people", "x", " 3,000"),
        (' "Hello," she said', "x", ' "Hello,"'),
        (' said"Hi', "x", " said"),
        (", world", "Hello", ","),
        (" (e.g. this)", "x", " (e."),
        (" \u00e9t\u00e9 ici", "x", " \u00e9t\u00e9"),
        (" cafe\u0301 au lait", "x", " cafe\u0301"),
        ("\nNext line", "x", ""),
        ("", "x", ""),
        ("   ", "x", ""),
    ],
)
def test_word_mode(raw: str, prefix: str, expected: str) -> None:
    assert shape_suggestion(raw, W, prefix=prefix) == expected


# --------------------------------------------------------------------------- PHRASE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" red, green and blue", " red,"),
        (" first; second", " first;"),
        (" note: this", " note:"),
        (" wait — no", " wait —"),
        (" pages 10–20 were", " pages 10–20 were"),  # a range, not a dash
        (" it ended. Then more", " it ended."),
        (" some 3,000 people came, and", " some 3,000 people came,"),
        (" at 10:30 sharp: go", " at 10:30 sharp:"),
        (" one two three four five six seven eight", " one two three four five six"),
        (" one two three four five six. seven", " one two three four five six."),
        (" one two\nthree", " one two"),
    ],
)
def test_phrase_mode(raw: str, expected: str) -> None:
    assert shape_suggestion(raw, P, prefix="x") == expected


def test_phrase_word_cap_matches_the_constant() -> None:
    raw = " " + " ".join(f"w{i}" for i in range(20))
    assert len(shape_suggestion(raw, P, prefix="x").split()) == PHRASE_MAX_WORDS


# --------------------------------------------------------------------------- SENTENCE


@pytest.mark.parametrize(
    ("raw", "prefix", "expected"),
    [
        (" the fox ran. The dog slept.", "And", " the fox ran."),
        (" Mr. Smith went home. Then", "Hi", " Mr. Smith went home."),
        (". Smith went home. Then", "Hi Mr", ". Smith went home."),  # "Mr" is in the prefix
        (" e.g. apples and pears. Then", "fruit,", " e.g. apples and pears."),
        (" the U.S. Army came. Then", "x", " the U.S. Army came."),
        (" J. R. R. Tolkien wrote it. Then", "x", " J. R. R. Tolkien wrote it."),
        (" it is 3.14 exactly. Yes", "x", " it is 3.14 exactly."),
        (' He said "stop." Then', "x", ' He said "stop."'),
        (" Really?! Yes.", "x", " Really?!"),
        (" Well… I think so. Yes", "x", " Well…"),
        (" Well… maybe not. Yes", "x", " Well… maybe not."),
        (' "Wow!" she said. Then', "x", ' "Wow!" she said.'),
        (" approx. three miles. Then", "x", " approx. three miles."),
        (" neither do I. Then", "x", " neither do I."),
        (" no end in sight", "x", " no end in sight"),
        (" line one\nline two.", "x", " line one"),
        (" done.   ", "x", " done."),
    ],
)
def test_sentence_mode(raw: str, prefix: str, expected: str) -> None:
    assert shape_suggestion(raw, S, prefix=prefix) == expected


# --------------------------------------------------------------------------- LINE / PARAGRAPH


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("line one\nline two", "line one"),
        ("line one\r\nline two", "line one"),
        ("line one\rline two", "line one"),
        ("line one\u2028line two", "line one"),
        ("line one   \nline two", "line one"),
        ("\nline two", ""),
        ("no break", "no break"),
    ],
)
def test_line_mode(raw: str, expected: str) -> None:
    assert shape_suggestion(raw, L, prefix="x") == expected


@pytest.mark.parametrize(
    ("raw", "prefix", "expected"),
    [
        ("para one\nstill one\n\nnext", "x", "para one\nstill one"),
        ("para one\r\nstill one\r\n\r\nnext", "x", "para one\r\nstill one"),
        ("para one\n  \t\nnext", "x", "para one"),  # a line of spaces is blank
        ("para one\rstill\r\rnext", "x", "para one\rstill"),
        ("para one\u2029next", "x", "para one"),
        ("\nnext para", "end.\n", ""),  # the blank line spans the cursor
        ("\nsame para", "end.\r", "\nsame para"),  # CR + LF is one line break
        ("next para\n\nmore", "end.\n\n", "next para"),  # a blank line before the cursor
        ("all one paragraph", "x", "all one paragraph"),
    ],
)
def test_paragraph_mode(raw: str, prefix: str, expected: str) -> None:
    assert shape_suggestion(raw, G, prefix=prefix) == expected


def test_indentation_after_a_line_break_is_kept() -> None:
    assert shape_suggestion("    indented", L, prefix="def f():\n") == "    indented"
    assert shape_suggestion("   Hello", L, prefix="") == "Hello"
    assert shape_suggestion("\tHello", L, prefix="Say\t") == "Hello"


# --------------------------------------------------------------------------- no echo


@pytest.mark.parametrize(
    ("raw", "suffix", "expected"),
    [
        ("foo(bar)", ")", "foo(bar"),
        ("foo(bar) and more", ") rest", "foo(bar) and more"),  # only a tail overlap counts
        ("hello world", "world", "hello "),  # the space before the suffix stays
        ("hello world", " world!", "hello"),
        ("world", "world peace", ""),  # the whole suggestion is already there
        ("wor", "world", ""),
        (" world", "world", ""),
        ("I said", "d", "I said"),  # "d" is not a word of its own in the suggestion
        ("I saw a", "a cat", "I saw "),
        ("hello wor", "world", "hello wor"),  # overlap would end inside the suffix's word
        ("end.", ".\nnext line", "end"),
        ("abc", "\nabc", "abc"),  # only the cursor's own line is compared
        ("abc", "", "abc"),
    ],
)
def test_suffix_is_not_echoed(raw: str, suffix: str, expected: str) -> None:
    assert shape_suggestion(raw, L, prefix="x ", suffix=suffix) == expected


# --------------------------------------------------------------------------- broken tails


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abc\ufffd", "abc"),
        ("abc \ufffd", "abc"),
        ("abc\ufffd \ufffd", "abc"),
        ("a\ufffdb", "a\ufffdb"),  # a bad byte in the middle stays visible
        ("abc\ud83d", "abc"),  # lone high surrogate  # noqa: PT014 (ruff reads it as U+FFFD)
        ("abc\udc4d", "abc"),  # lone low surrogate  # noqa: PT014 (ruff reads it as U+FFFD)
        ("\U0001f468\u200d", "\U0001f468"),  # ZWJ waiting for the next emoji
        ("\ufffd", ""),
    ],
)
def test_never_ends_on_a_broken_character(raw: str, expected: str) -> None:
    assert shape_suggestion(raw, L, prefix="x") == expected


# --------------------------------------------------------------------------- repetition


def test_verbatim_repeat_of_the_last_line_is_dropped() -> None:
    prefix = "Intro.\nThe cat sat on the mat.\n"
    assert shape_suggestion("The cat sat on the mat.\nThe cat", L, prefix=prefix) == ""
    assert shape_suggestion("The cat sat on the mat.", W, prefix=prefix) == ""
    # The current (unfinished) line repeated right after itself.
    assert shape_suggestion(" The cat sat on the mat.", L, prefix="The cat sat on the mat.") == ""
    # A continuation that only starts the same way is fine.
    assert (
        shape_suggestion("The cat sat on the sofa.", L, prefix=prefix) == "The cat sat on the sofa."
    )


def test_short_lines_may_repeat() -> None:
    prefix = "- item\n"
    assert len("- item") < MIN_REPEAT_CHARS
    assert shape_suggestion("- item", L, prefix=prefix) == "- item"


# --------------------------------------------------------------------------- completeness


@pytest.mark.parametrize(
    ("raw", "mode", "expected"),
    [
        (" hello", W, False),
        (" hello ", W, True),
        (" end.", W, False),  # could still be "end..."
        (" end. ", W, True),
        (" well-", W, False),
        (" red,", P, False),  # a closing quote or bracket may follow
        (" red, g", P, True),
        (" one two three four five six.", P, False),  # a closing quote may follow
        (" one two three four five six. ", P, True),
        (" done.", S, False),
        (" done. ", S, False),  # next word could be lower case
        (" done. The", S, True),
        (" Mr. Smith", S, False),
        ("abc", L, False),
        ("abc\n", L, True),
        ("a\nb", G, False),
        ("a\n\n", G, True),
        (f"abc{EOT}", G, True),
        ("abc<|end", L, False),
    ],
)
def test_suggestion_complete(raw: str, mode: SuggestionMode, expected: bool) -> None:
    assert suggestion_complete(raw, mode, prefix="x") is expected


def test_completeness_waits_while_a_repeat_is_possible() -> None:
    prefix = "The cat sat on the mat.\n"
    assert not suggestion_complete("The cat ", W, prefix=prefix)
    assert suggestion_complete("The dog ", W, prefix=prefix)
    assert suggestion_complete("The cat sat on the mat.", W, prefix=prefix)


# --------------------------------------------------------------------------- properties

_RAW = st.lists(
    st.sampled_from(
        [
            *"ab AB.!?,;:'\"()-\t\n\r",
            *("\r\n", "\n\n", "\u2029", "\ufffd", "\u200d", "e\u0301", "\U0001f44d", "3.1"),
            *("Mr.", "e.g.", " the", " The", "—", "…", "<|", "endoftext|>", EOT, "  "),
        ]
    ),
    max_size=25,
).map("".join)
_SHORT = st.lists(st.sampled_from([*"ab .\n\r)", "ab ", "The cat sat on the mat."]), max_size=4)
_MODES = st.sampled_from(list(SuggestionMode))


def _lead(raw: str, prefix: str) -> str:
    if not prefix or prefix[-1] in " \t":
        return raw.lstrip(" \t")
    return raw


@settings(max_examples=800, deadline=None)
@given(raw=_RAW, mode=_MODES, prefix=_SHORT.map("".join), suffix=_SHORT.map("".join))
def test_shape_suggestion_properties(
    raw: str, mode: SuggestionMode, prefix: str, suffix: str
) -> None:
    out = shape_suggestion(raw, mode, prefix=prefix, suffix=suffix)
    assert _lead(raw, prefix).startswith(out)
    assert out == "" or out.strip() != ""
    assert not out.endswith(("\ufffd", "\u200d"))
    assert EOT not in out
    if mode is not SuggestionMode.PARAGRAPH:
        assert not re.search(r"[\r\n\u2028\u2029]", out)
    else:
        brk = r"(?:\r\n|\r(?!\n)|[\n\u2028])"
        assert not re.search(rf"{brk}[ \t]*{brk}|\u2029", out)
    if suffix == "":
        assert out == out.rstrip()


@settings(max_examples=700, deadline=None)
@given(raw=_RAW, extra=_RAW, mode=_MODES, prefix=_SHORT.map("".join), suffix=_SHORT.map("".join))
def test_complete_means_more_text_changes_nothing(
    raw: str, extra: str, mode: SuggestionMode, prefix: str, suffix: str
) -> None:
    assume(suggestion_complete(raw, mode, prefix=prefix))
    before = shape_suggestion(raw, mode, prefix=prefix, suffix=suffix)
    after = shape_suggestion(raw + extra, mode, prefix=prefix, suffix=suffix)
    assert after == before


@settings(max_examples=500, deadline=None)
@given(raw=_RAW, mode=_MODES, prefix=_SHORT.map("".join))
def test_streamed_partial_results_are_prefixes_of_the_stream(
    raw: str, mode: SuggestionMode, prefix: str
) -> None:
    # Every shown partial result is a prefix of the (lead-ruled) raw stream:
    # the ghost only ever grows or is cut back, it never shows foreign text.
    full = raw + EOT
    for end in range(len(full) + 1):
        out = shape_suggestion(full[:end], mode, prefix=prefix)
        assert _lead(raw, prefix).startswith(out)
