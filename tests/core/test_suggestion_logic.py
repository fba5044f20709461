"""Pure suggestion logic: partial accepts, type-through, typing rhythm, cache, positions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.answer import Answer
from app.core.ghost import split_line, split_word, type_through
from app.core.suggestion_cache import SuggestionCache
from app.core.textpos import index_from_utf16, utf16_len
from app.core.typing_rhythm import MAX_DELAY_MS, TypingRhythm


@pytest.mark.parametrize(
    ("ghost", "word", "rest"),
    [
        (" the quick brown", " the", " quick brown"),
        ("ing, and more", "ing", ", and more"),  # the comma is a step of its own
        (", and more", ",", " and more"),
        ("\n\nNew paragraph", "\n\nNew", " paragraph"),
        ("   ", "   ", ""),
        ("end.", "end", "."),
        (' "Hello," she', ' "Hello', '," she'),  # an opening quote goes with its word
        (" don't go", " don't", " go"),
        (" well-known.", " well-known", "."),
        ("...", "...", ""),
    ],
)
def test_split_word(ghost: str, word: str, rest: str) -> None:
    assert split_word(ghost) == (word, rest)


@pytest.mark.parametrize(
    ("ghost", "line", "rest"),
    [
        (" and then\nthe next", " and then", "\nthe next"),
        ("\nsecond line\nthird", "\nsecond line", "\nthird"),
        ("no break", "no break", ""),
    ],
)
def test_split_line(ghost: str, line: str, rest: str) -> None:
    assert split_line(ghost) == (line, rest)


@given(st.text(max_size=40))
def test_partial_accepts_always_progress_and_reassemble(ghost: str) -> None:
    for split in (split_word, split_line):
        head, rest = split(ghost)
        assert head + rest == ghost
        assert head or not ghost


def test_type_through() -> None:
    assert type_through(" dove dove", " ") == "dove dove"
    assert type_through(" dove dove", " d") == "ove dove"
    assert type_through(" dove", " dove") == ""
    assert type_through(" dove", "x") is None
    assert type_through(" dove", "") is None


def test_rhythm_follows_the_typist_within_bounds() -> None:
    slow = 1000.0  # a model too slow to show a ghost between keys: wait for pauses
    rhythm = TypingRhythm(base_ms=100)
    assert rhythm.delay_ms(slow) == 100  # nothing known yet: the base
    t = 0.0
    for _ in range(20):  # a slow, steady typist: 250 ms between keys
        t += 250
        rhythm.keystroke(t)
    assert rhythm.delay_ms(slow) == round(1.3 * 250)
    for _ in range(30):  # speeds up to 60 ms: the delay falls back to the base
        t += 60
        rhythm.keystroke(t)
    assert rhythm.delay_ms(slow) == 100
    t += 5000  # a long pause is not part of the rhythm
    rhythm.keystroke(t)
    assert rhythm.delay_ms(slow) == 100
    for _ in range(30):
        t += 900
        rhythm.keystroke(t)
    assert rhythm.delay_ms(slow) == MAX_DELAY_MS
    assert rhythm.delay_ms(latency_ms=200) == 100  # a quick model: ask at every key


def _answer(raw: str, *logprobs: float) -> Answer:
    answer = Answer(final=True)
    pieces = raw.split(" ")[1:] if raw.startswith(" ") else [raw]
    for piece, lp in zip(pieces, logprobs or [0.0] * len(pieces), strict=True):
        answer.add(" " + piece if raw.startswith(" ") else piece, lp)
    return answer


def test_cache_serves_exact_and_typed_into_prefixes() -> None:
    cache = SuggestionCache(capacity=2)
    cache.store("The cat", "k", _answer(" sat on the mat"))
    assert _raw(cache.lookup("The cat", "k")) == " sat on the mat"
    assert _raw(cache.lookup("The cat sat", "k")) == " on the mat"  # typed the prediction
    assert cache.lookup("The cat sat on the mat", "k") is None  # nothing left to offer
    assert cache.lookup("The cat ran", "k") is None  # diverged
    assert cache.lookup("The cat", "other settings") is None
    cache.store("A", "k", _answer(" b"))
    cache.store("C", "k", _answer(" d"))  # evicts the least recently used
    assert len(cache) == 2
    assert _raw(cache.lookup("A", "k")) == " b"


def test_a_cached_answer_typed_into_keeps_the_confidence_of_the_rest() -> None:
    """What is left after typing " sat" is as likely as the model said, given " sat"."""
    cache = SuggestionCache()
    cache.store("The cat", "k", _answer(" sat on the mat", -0.5, -0.7, -1.0, -2.5))
    rest = cache.lookup("The cat sat", "k")
    assert rest is not None
    assert rest.marks == [(3, pytest.approx(-0.2)), (7, pytest.approx(-0.5)),
                          (11, pytest.approx(-2.0))]  # fmt: skip


def _raw(answer: Answer | None) -> str | None:
    return None if answer is None else answer.raw


def test_utf16_positions() -> None:
    text = "a😀b\nc"
    assert utf16_len(text) == 6
    assert [index_from_utf16(text, p) for p in range(7)] == [0, 1, 1, 2, 3, 4, 5][:7]
    assert index_from_utf16("plain", 3) == 3
    assert index_from_utf16("plain", 99) == 5


def test_rhythm_asks_per_keystroke_when_the_ghost_can_be_read_in_time() -> None:
    rhythm = TypingRhythm(base_ms=30)
    for t in range(0, 1500, 150):  # a steady 150 ms between keys
        rhythm.keystroke(float(t))
    assert rhythm.delay_ms(latency_ms=20) == 30  # 30 + 20 + 40 ms to read fit in 150
    assert rhythm.delay_ms(latency_ms=100) == round(1.3 * 150)  # too slow: wait for a pause
    assert rhythm.delay_ms() == 30  # latency unknown: try, and learn it
    fast = TypingRhythm(base_ms=30)
    for t in range(0, 600, 60):  # 60 ms between keys: no time to read a ghost
        fast.keystroke(float(t))
    assert fast.delay_ms(latency_ms=20) == round(1.3 * 60)
