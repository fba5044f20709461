"""What of a streamed answer is shown: confidence cut, unit, junk; the product's filter."""

from __future__ import annotations

import math

import pytest

from app.core.answer import Answer, present
from app.core.junk_filter import junk_start, undecided
from app.core.postprocess import SuggestionMode

SENTENCE = SuggestionMode.SENTENCE


def stream(pieces: list[tuple[str, float]], *, final: bool = True) -> Answer:
    """An answer from (piece, probability of that token) pairs."""
    answer = Answer()
    total = 0.0
    for piece, p in pieces:
        total += math.log(p)
        answer.add(piece, total)
    answer.final = answer.ended = final  # the model ended it: its last word is whole
    return answer


def test_the_ghost_is_cut_where_confidence_falls_on_a_word_end() -> None:
    answer = stream([("a", 0.9), (" man", 0.6), (" with", 0.3), (" a", 0.9), (" gun", 0.2)])
    assert present(answer, SENTENCE, prefix="She saw ", min_confidence=0.5).text == "a man"
    assert present(answer, SENTENCE, prefix="She saw ", min_confidence=0.15).text == ("a man with")
    assert present(answer, SENTENCE, prefix="She saw ", min_confidence=0.0).text == (
        "a man with a gun"
    )
    shown = present(answer, SENTENCE, prefix="She saw ", min_confidence=0.95)
    assert shown.text == ""  # even the first word is a guess: nothing
    assert shown.settled


def test_a_word_the_confidence_cuts_in_half_is_not_shown() -> None:
    # "coun" + "try": the confident head ends inside "country", so it stops at "the"
    answer = stream([("oss", 0.9), (" the", 0.9), (" coun", 0.8), ("try", 0.2)])
    assert present(answer, SENTENCE, prefix="drove acr", min_confidence=0.5).text == "oss the"


def test_a_streamed_word_waits_for_what_comes_after_it() -> None:
    """While streaming, the last word may go on ("man" -> "manor"): it waits."""
    answer = stream([("a", 0.9), (" man", 0.9)], final=False)
    shown = present(answer, SENTENCE, prefix="She saw ", min_confidence=0.5)
    assert shown.text == "a"
    assert not shown.settled
    answer.add(" in", math.log(0.9**3))
    assert present(answer, SENTENCE, prefix="She saw ", min_confidence=0.5).text == "a man"


def test_confidence_is_the_probability_of_the_ghost() -> None:
    answer = stream([("a", 0.5), (" man", 0.5), (" who", 0.01)])
    shown = present(answer, SENTENCE, prefix="She saw ", min_confidence=0.2)
    assert shown.text == "a man"
    assert shown.confidence == pytest.approx(0.25)


def test_an_unscored_answer_is_shown_whole() -> None:
    """A remote server gives no probabilities: no confidence cut."""
    answer = Answer("a man with a gun.", final=True, ended=True)
    assert present(answer, SENTENCE, prefix="She saw ", min_confidence=0.5).text == (
        "a man with a gun."
    )


def test_junk_is_cut_and_an_answer_opening_with_it_is_flagged() -> None:
    clean_head = Answer("hated to open <em>it</em> now.", final=True, ended=True)
    shown = present(clean_head, SENTENCE, prefix="she ")
    assert shown.text == "hated to open"
    assert not shown.junk
    assert shown.settled
    opening = Answer("<strong>Lydia</strong> standing there.", final=True, ended=True)
    shown = present(opening, SENTENCE, prefix="She saw ")
    assert shown.text == ""
    assert shown.junk
    # without the filter the same answer is shown as it came (the eval's "before")
    assert present(opening, SENTENCE, prefix="She saw ", filter_junk=False).text.startswith("<")


def test_punctuation_alone_is_no_suggestion() -> None:
    assert present(Answer(",", final=True, ended=True), SENTENCE, prefix="He said").text == ""
    assert (
        present(Answer(", and", final=True, ended=True), SENTENCE, prefix="He said").text == ", and"
    )


def test_an_answer_cut_at_its_token_limit_shows_no_half_word() -> None:
    answer = Answer(" I went to the store and bou", final=True)  # max_tokens reached
    assert present(answer, SENTENCE, prefix="Then").text == " I went to the store and"
    assert present(stream([(" I", 0.9), (" don", 0.9), ("'t", 0.9)], final=False),
                   SENTENCE, prefix="Then", min_confidence=0.1).text == " I"  # fmt: skip


def test_junk_that_starts_inside_a_word_takes_the_word_with_it() -> None:
    shown = present(Answer("a pieceCollinsCollinsCollins", final=True, ended=True), SENTENCE)
    assert shown.text == "a"


def test_streaming_never_shows_what_may_become_markup() -> None:
    answer = Answer("hated to open <em", final=False)
    assert present(answer, SENTENCE, prefix="she ").text == "hated to open"
    for partial in ("write to joe@exa", "see http:", "visit www.exa"):  # links, too
        shown = present(Answer(partial), SENTENCE, prefix="Then ")
        assert shown.text == partial.rsplit(" ", 1)[0], partial


@pytest.mark.parametrize(
    ("ghost", "start"),
    [
        ("<em>hated</em> to open", 0),
        ("hated to open <em>it", len("hated to open ")),
        ("a man &amp; a dog", len("a man ")),
        ("went to www.example.com today", len("went to ")),
        ("write to joe@example.org", len("write to ")),
        ("a \x07bell", 2),
        ("a \u202eevil", 2),
        ("the man the man the man", len("the man the man ")),
        ("erimproveCollinsCollinsCollins", len("erimproveCollinsCollins")),
        ("[b]bold[/b]", 0),
        ("fine words here", None),
        ("had had enough", None),
        ("Smith & Sons", None),
        ("a < b", None),
        ("...", None),
    ],
)
def test_junk_start(ghost: str, start: int | None) -> None:
    assert junk_start(ghost, prefix="", document="") == start


def test_links_the_writer_has_are_not_junk() -> None:
    document = "Our site is www.example.com and"
    assert junk_start(" www.example.com", prefix=document, document=document) is None


def test_a_loop_may_start_before_the_cursor() -> None:
    assert junk_start(" no", prefix="I said no no", document="") == 1


def test_an_echo_of_the_sentence_just_written() -> None:
    prefix = "He went home. She opened the door slowly. "
    assert junk_start("She opened the door slowly.", prefix=prefix) == 0
    assert junk_start("and then She opened the door slowly", prefix=prefix) == len("and then ")
    assert undecided("She opened", prefix) == 0  # may still become the echo: wait
    assert junk_start("She smiled.", prefix=prefix) is None


def test_loops_and_echoes_the_eval_found_on_its_report_passages() -> None:
    """Two ghosts the eval's own checker flagged: a loop with commas between its copies,
    and the start of the sentence being written again in another case."""
    assert junk_start(" joy, joy", prefix="will return to her With joy,") == len(" joy, ")
    prefix = "You have caught the spirit. You have made the interest of this country your life;"
    assert junk_start(" you have made", prefix=prefix) == 0
    # a phrase of three words three times, even apart
    ghost = " the old man and the old man and the old man"
    assert junk_start(ghost, prefix="x") == ghost.rindex("the old man")


def test_a_ghost_never_ends_by_opening_a_quote() -> None:
    shown = present(Answer("wn as the “Garden", final=True, ended=False), SENTENCE)
    assert shown.text == "wn as the"
