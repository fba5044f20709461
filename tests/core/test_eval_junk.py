"""The evaluation's own junk checker (app/eval/junk.py), kind by kind."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.eval.junk import JUNK_KINDS, junk_kinds

PROSE_BEFORE = "He went home. She opened the door slowly."


def kinds(ghost: str, before: str = "It was late, and", document: str = "") -> list[str]:
    return junk_kinds(ghost, before=before, document=document)


def test_clean_prose_is_clean() -> None:
    assert kinds(" across the country.", before="He went home. She drove") == []
    assert kinds("ly, without a word.", before="She closed the door quiet") == []


# --- markup --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ghost",
    [
        "<em>hated</em> to open it",
        " She opened the door and saw <strong>Lydia</strong>",
        " and saw Lydia</strong>",
        " a man &amp; a dog",
        " it&#39;s late",
        " it&#x27;s late",
        " a&nbsp;dog",
        " a line<br/>break",
        ' <a href="https://example.org">here</a>',
        " <!-- note -->",
        " [b]Lydia[/b]",
        " see [url=https://x.org]here",
        " **Lydia** smiled",
        " [the letter](letter.html)",
    ],
)
def test_markup_is_flagged(ghost: str) -> None:
    assert "markup" in kinds(ghost)


@pytest.mark.parametrize(
    "ghost",
    [
        " Smith & Sons",
        " if a < b and c > d",
        " the sales rose <10%",
        " her friend[s] came",
        " what the f**k",
        " R&D money",
        " she said: \u201cyes\u201d",
    ],
)
def test_prose_punctuation_is_not_markup(ghost: str) -> None:
    assert "markup" not in kinds(ghost)


def test_markup_completed_by_the_ghost_is_flagged() -> None:
    assert kinds("p; a dog", before="a man &am") == ["markup"]
    assert "markup" in kinds("em>", before="She had </")


def test_markup_entirely_before_the_cursor_is_not_the_ghosts() -> None:
    assert kinds(" to open it.", before="She <em>hated</em>") == []


# --- link ----------------------------------------------------------------------------------


def test_links_not_in_the_document_are_flagged() -> None:
    assert "link" in kinds(" visit www.example.com")
    assert "link" in kinds(" write to joe@example.org.")
    assert "link" in kinds(" see https://example.org/page for more")
    assert "link" in kinds(" or ftp://files.example.org")


def test_links_in_the_document_are_not_junk() -> None:
    document = "Our site is www.example.com and mail goes to joe@example.org."
    assert kinds(" visit www.example.com.", document=document) == []
    assert kinds(" visit https://www.example.com/", document=document) == []
    assert kinds(" write to joe@example.org.", document=document) == []
    assert "link" in kinds(" visit www.example.com/other", document=document)


def test_link_finished_by_the_ghost_is_flagged() -> None:
    assert kinds("ample.com today", before="visit www.ex") == ["link"]


def test_prose_is_not_a_link() -> None:
    assert kinds(" at 3.14 p.m. in St. Louis") == []
    assert kinds(" and @joe said hi") == []


# --- control -------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x07", "\x00", "\x1b", "\x7f", "\ufffd", "\u202e", "\u2066"])
def test_control_characters_are_flagged(char: str) -> None:
    assert kinds(f" a{char}bell") == ["control"]


def test_line_breaks_and_tabs_are_not_control() -> None:
    assert kinds(" the end.\n\n\tChapter two\r\n") == []


# --- repeat --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ghost",
    [
        " no no no",
        " No, no, no",
        " the man the man the man",
        " CollinsCollinsCollins",
        " it was the best and it was the best and it was the best",
        " he said that it rained, he said that it snowed, and he said that it hailed",
    ],
)
def test_repeats_are_flagged(ghost: str) -> None:
    assert "repeat" in kinds(ghost)


def test_repeat_counts_copies_before_the_cursor() -> None:
    assert "repeat" in kinds(" no", before="I said no no")
    assert "repeat" in kinds(" man walked", before="and the man the man the")


def test_repeat_entirely_before_the_cursor_is_not_the_ghosts() -> None:
    assert kinds(", she said.", before="No no no") == []


@pytest.mark.parametrize(
    "ghost",
    [
        " had had",
        " very very good",
        " wait...",
        " hahaha",
        " Mmmmm, yes",
        " 1000000 dollars",
        " the cat and the dog and the bird",
    ],
)
def test_legitimate_repetition_is_not_flagged(ghost: str) -> None:
    assert "repeat" not in kinds(ghost)


# --- blank ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ghost", ["", "  ", "\n", "...", ",", ".", "\u2014", "!?"])
def test_blank_ghosts_are_flagged(ghost: str) -> None:
    assert kinds(ghost) == ["blank"]


@pytest.mark.parametrize("ghost", [" a", "7", " \u00e9t\u00e9", " \u4e00"])
def test_a_letter_or_digit_is_not_blank(ghost: str) -> None:
    assert "blank" not in kinds(ghost)


# --- echo ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ghost",
    [
        " She opened the door slowly.",
        "She opened the door slowly. Then she left.",
        " she opened the door slowly",
        " She opened the door",
        " Then she opened the door slowly, again.",
    ],
)
def test_echo_of_the_last_sentence_is_flagged(ghost: str) -> None:
    assert "echo" in kinds(ghost, before=PROSE_BEFORE)


def test_echo_of_the_sentence_being_written_is_flagged() -> None:
    before = "He went home. She opened the door"
    assert "echo" in kinds(" She opened the door", before=before)
    assert kinds(" slowly.", before=before) == []


@pytest.mark.parametrize(
    "ghost", [" She opened", " Then she left.", " She opened the window quickly."]
)
def test_short_prefixes_and_new_sentences_are_not_echo(ghost: str) -> None:
    assert "echo" not in kinds(ghost, before=PROSE_BEFORE)


def test_short_sentences_are_not_echoed() -> None:
    assert "echo" not in kinds(" He left at once.", before="So. He left.")  # 8 characters


# --- all together --------------------------------------------------------------------------


def test_kinds_come_in_order_once_each() -> None:
    ghost = " <b>no no no</b> www.x.org\x07 She opened the door slowly."
    assert kinds(ghost, before=PROSE_BEFORE) == ["markup", "link", "control", "repeat", "echo"]


def test_long_hostile_input_is_fast() -> None:
    hostile = [
        "<a" + " b=" * 150,
        "&#" * 150,
        "a@" * 150,
        "www." * 75,
        "http://" * 43,
        "__" + "a_" * 150,
        "[a](" * 75,
        "." * 299 + "x",
        "ab" * 150,
        "a" * 299 + "b",
    ]
    start = time.perf_counter()
    for text in hostile:
        kinds(text, before=text * 10, document=text)
    assert time.perf_counter() - start < 2.0


@settings(max_examples=200, deadline=None)
@given(ghost=st.text(max_size=300), before=st.text(max_size=300), document=st.text(max_size=100))
def test_never_raises_and_reports_each_kind_once_in_order(
    ghost: str, before: str, document: str
) -> None:
    found = junk_kinds(ghost, before=before, document=document)
    assert all(kind in JUNK_KINDS for kind in found)
    assert found == sorted(set(found), key=JUNK_KINDS.index)
