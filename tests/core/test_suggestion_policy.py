"""The suggestion policy as a plain state machine: events in, effects out, no Qt, no model.

A scripted host stands in for the engine thread and the timers, so every rule can be
checked step by step: what is asked and when, what is shown, what is dropped.
"""

from __future__ import annotations

import math

import pytest

from app.core.engine_api import Completion, StopReason, Timings
from app.core.requests import CompletionRequest, PrefillRequest, RequestDone
from app.core.sampling import GREEDY
from app.core.settings import SuggestionSettings
from app.core.suggestion_policy import Features, SuggestionPolicy, SuggestionStats, Timer


class Host:
    """Records what the policy asks; the test plays the engine and the timers."""

    def __init__(self) -> None:
        self.last_id = 0
        self.sent: list[CompletionRequest] = []
        self.prefills: list[PrefillRequest] = []
        self.stopped: list[int] = []
        self.timers: dict[Timer, int] = {}
        self.ghost = ""
        self.shown: list[str] = []
        self.finished: list[int] = []
        self.errors: list[str] = []
        self.stats: list[SuggestionStats] = []

    def new_request_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def send_completion(self, request: CompletionRequest) -> None:
        self.sent.append(request)

    def send_prefill(self, request: PrefillRequest) -> None:
        self.prefills.append(request)

    def stop_request(self, request_id: int) -> None:
        self.stopped.append(request_id)

    def start_timer(self, timer: Timer, delay_ms: int) -> None:
        self.timers[timer] = delay_ms

    def stop_timer(self, timer: Timer) -> None:
        self.timers.pop(timer, None)

    def ghost_changed(self, text: str) -> None:
        self.ghost = text

    def suggestion_shown(self, text: str, confidence: float | None) -> None:
        self.shown.append(text)

    def suggestion_finished(self, request_id: int) -> None:
        self.finished.append(request_id)

    def stats_changed(self, stats: SuggestionStats) -> None:
        self.stats.append(stats)

    def busy_changed(self, busy: bool) -> None:
        pass

    def error_changed(self, message: str) -> None:
        self.errors.append(message)


class Doc:
    """A document with the cursor at its end."""

    def __init__(self, text: str = "") -> None:
        self.text = text

    def text_around_cursor(self, before: int, after: int) -> tuple[str, int]:
        head = self.text[-before:]
        return head, len(head)

    def line_around_cursor(self) -> tuple[str, str]:
        return self.text.rsplit("\n", 1)[-1], ""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


World = tuple[SuggestionPolicy, Host, Doc, Clock]


@pytest.fixture
def world() -> World:
    host, doc, clock = Host(), Doc(), Clock()
    settings = SuggestionSettings(suggest_when="fairly_sure")
    policy = SuggestionPolicy(host, settings, GREEDY, clock=clock)
    policy.attach(doc)
    policy.model_changed(True)
    return policy, host, doc, clock


def type_(policy: SuggestionPolicy, host: Host, doc: Doc, text: str) -> None:
    """Type ``text`` one key at a time, letting each edit settle (Qt's next loop turn)."""
    for ch in text:
        doc.text += ch
        policy.text_edited()
        if Timer.SETTLE in host.timers:
            del host.timers[Timer.SETTLE]
            policy.timer_fired(Timer.SETTLE)


def debounce(policy: SuggestionPolicy, host: Host) -> CompletionRequest:
    assert Timer.DEBOUNCE in host.timers
    del host.timers[Timer.DEBOUNCE]
    policy.timer_fired(Timer.DEBOUNCE)
    return host.sent[-1]


def answer(
    policy: SuggestionPolicy, request: CompletionRequest, pieces: list[tuple[str, float]]
) -> None:
    """The engine's pieces (with each token's probability), then its end."""
    total = 0.0
    for piece, p in pieces:
        total += math.log(p)
        policy.on_piece(request.id, piece, total)
    finish(policy, request, StopReason.EOS)


def finish(policy: SuggestionPolicy, request: CompletionRequest, reason: StopReason) -> None:
    timings = Timings(10, 1, 1.0, 3, 30.0, 5.0)
    done = Completion("", (), reason, timings, 0, False)
    policy.on_finished(RequestDone(request.id, done, 0.0))


def test_a_pause_asks_with_healing_and_scoring_and_shows_the_confident_head(world: World) -> None:
    policy, host, doc, _clock = world
    type_(policy, host, doc, "She opened the door and saw ")
    assert host.prefills
    assert host.prefills[-1].heal
    request = debounce(policy, host)
    assert request.heal
    assert request.scored
    assert request.avoid_markup
    assert not request.prefetch
    policy.on_piece(request.id, "a", math.log(0.9))
    assert host.ghost == ""  # "a" may still become "another"
    policy.on_piece(request.id, " man", math.log(0.9 * 0.5))
    assert host.ghost == "a"
    assert host.shown == ["a"]
    policy.on_piece(request.id, " with", math.log(0.9 * 0.5 * 0.1))
    assert host.ghost == "a man"
    assert host.stopped == [request.id]  # confidence fell: nothing more can be shown


def test_type_through_keeps_the_rest_and_asks_nothing(world: World) -> None:
    policy, host, doc, _clock = world
    type_(policy, host, doc, "We drove acr")
    request = debounce(policy, host)
    answer(policy, request, [("oss", 0.9), (" the", 0.9), (" country", 0.9), (".", 0.9)])
    assert host.ghost == "oss the country."
    sent = len(host.sent)
    doc.text += "o"
    policy.ghost_consumed("o", "ss the country.")
    assert policy.ghost == "ss the country."
    assert len(host.sent) == sent


def test_a_newer_keystroke_drops_the_older_answer(world: World) -> None:
    policy, host, doc, _clock = world
    type_(policy, host, doc, "The ship ")
    old = debounce(policy, host)
    type_(policy, host, doc, "l")
    policy.on_piece(old.id, "sailed", 0.0)
    assert host.ghost == ""
    assert host.shown == []


def test_an_answer_that_opens_with_junk_asks_for_the_next_candidate(world: World) -> None:
    policy, host, doc, _clock = world
    type_(policy, host, doc, "She opened the door and saw ")
    first = debounce(policy, host)
    answer(policy, first, [("<strong>", 0.9), ("Lydia", 0.9), ("</strong>", 0.9)])
    assert host.ghost == ""
    retry = host.sent[-1]
    assert retry.branch == 1
    assert retry.id > first.id
    assert not retry.prefetch
    answer(policy, retry, [("Lydia", 0.9), (" standing", 0.9), (" there", 0.01)])
    assert host.ghost == "Lydia standing"


def test_below_the_threshold_nothing_is_shown(world: World) -> None:
    policy, host, doc, _clock = world
    type_(policy, host, doc, "The experiment failed because the ")
    request = debounce(policy, host)
    policy.on_piece(request.id, "30", math.log(0.01))
    assert host.stopped == [request.id]
    assert host.ghost == ""
    finish(policy, request, StopReason.CANCELLED)
    assert host.ghost == ""
    assert all(not r.prefetch for r in host.sent)


def test_always_shows_whatever_comes(world: World) -> None:
    policy, host, doc, _clock = world
    policy.update_settings(SuggestionSettings(suggest_when="always"))
    type_(policy, host, doc, "The experiment failed because the ")
    request = debounce(policy, host)
    answer(policy, request, [("sample", 0.01), (" was", 0.01), (" bad", 0.01), (".", 0.5)])
    assert host.ghost == "sample was bad."


def test_the_sequel_of_a_shown_ghost_is_prefetched_and_tab_shows_it_at_once(world: World) -> None:
    policy, host, doc, _clock = world
    type_(policy, host, doc, "I love you more than ")
    request = debounce(policy, host)
    answer(policy, request, [("anything", 0.9), (" else", 0.9), (" in", 0.05)])
    assert host.ghost == "anything else"
    prefetch = host.sent[-1]
    assert prefetch.prefetch
    assert prefetch.text.endswith("I love you more than anything else")
    assert prefetch.cursor == len(prefetch.text)
    answer(policy, prefetch, [(" in", 0.8), (" the", 0.9), (" world", 0.9), (".", 0.9)])
    # Tab: the whole ghost goes into the document
    doc.text += "anything else"
    sent = len(host.sent)
    policy.ghost_consumed("anything else", "")
    del host.timers[Timer.SETTLE]
    policy.timer_fired(Timer.SETTLE)
    assert host.ghost == " in the world."  # from the prefetch: no request, no wait
    assert all(r.prefetch for r in host.sent[sent:])  # only the next sequel is asked for


def test_a_prefetch_still_running_at_tab_becomes_the_request(world: World) -> None:
    policy, host, doc, _clock = world
    type_(policy, host, doc, "I love you more than ")
    request = debounce(policy, host)
    answer(policy, request, [("anything", 0.9), (" else", 0.9), (" in", 0.05)])
    prefetch = host.sent[-1]
    doc.text += "anything else"
    policy.ghost_consumed("anything else", "")
    del host.timers[Timer.SETTLE]
    policy.timer_fired(Timer.SETTLE)
    assert Timer.DEBOUNCE not in host.timers  # nothing new is asked for: it is coming
    policy.on_piece(prefetch.id, " in", math.log(0.8))
    policy.on_piece(prefetch.id, " the", math.log(0.7))
    assert host.ghost == " in"
    assert host.shown[-1] == " in"


def test_a_diverging_key_drops_the_prefetch(world: World) -> None:
    policy, host, doc, _clock = world
    type_(policy, host, doc, "I love you more than ")
    request = debounce(policy, host)
    answer(policy, request, [("anything", 0.9), (" else", 0.9), (" in", 0.05)])
    prefetch = host.sent[-1]
    type_(policy, host, doc, "l")  # "life": not what was suggested
    policy.on_piece(prefetch.id, " in", 0.0)
    assert host.ghost == ""
    assert host.last_id > prefetch.id  # superseded


def test_a_prompt_seen_before_is_served_from_the_cache(world: World) -> None:
    policy, host, doc, _clock = world
    policy = SuggestionPolicy(
        host, SuggestionSettings(), GREEDY, clock=Clock(), features=Features(prefetch=False)
    )
    policy.attach(doc)
    policy.model_changed(True)
    type_(policy, host, doc, "The cat ")
    request = debounce(policy, host)
    answer(policy, request, [("sat", 0.9), (" on", 0.9), (" the", 0.9), (" mat", 0.9)])
    sent = len(host.sent)
    doc.text = doc.text[:-1]
    policy.text_edited()
    policy.timer_fired(Timer.SETTLE)
    doc.text += " "
    policy.text_edited()
    policy.timer_fired(Timer.SETTLE)
    assert host.ghost == "sat on the mat"
    assert len(host.sent) == sent
    assert host.stats[-1].from_cache


def test_nothing_is_asked_while_a_draft_owns_the_engine(world: World) -> None:
    policy, host, doc, _clock = world
    policy.paused = True
    type_(policy, host, doc, "Hello ")
    assert Timer.DEBOUNCE not in host.timers
    assert host.sent == []
    policy.trigger_now()
    assert host.sent == []


def test_without_a_model_a_manual_trigger_says_why(world: World) -> None:
    policy, host, _doc, _clock = world
    policy.model_changed(False)
    policy.trigger_now()
    assert host.errors
    assert "No model" in host.errors[-1]


def test_the_layers_can_be_turned_off(world: World) -> None:
    _policy, host, doc, clock = world
    off = Features(healing=False, junk_filter=False, confidence=False, prefetch=False)
    policy = SuggestionPolicy(host, SuggestionSettings(), GREEDY, clock=clock, features=off)
    policy.attach(doc)
    policy.model_changed(True)
    type_(policy, host, doc, "She saw ")
    request = debounce(policy, host)
    assert not request.heal
    assert not request.avoid_markup
    assert policy.min_confidence == 0.0
    answer(policy, request, [("<strong>", 0.01), ("Lydia", 0.01)])
    assert host.ghost == "<strong>Lydia"
    assert not any(r.prefetch for r in host.sent)


def test_suggestions_are_the_likeliest_words_unless_asked_to_sample(world: World) -> None:
    """Likeliest: greedy and without penalties, whatever the sampling settings (they shape
    drafts and alternatives); turned off, a suggestion is drawn with them."""
    from app.core.sampling import SamplingSettings

    policy, host, doc, _clock = world
    creative = SamplingSettings(temperature=1.0, repeat_penalty=1.05)
    policy.update_settings(SuggestionSettings(), creative)
    type_(policy, host, doc, "The ship ")
    request = debounce(policy, host)
    assert request.sampling.greedy
    assert request.sampling.repeat_penalty == 1.0
    assert request.sampling.max_tokens == SuggestionSettings().max_tokens
    policy.update_settings(SuggestionSettings(likeliest=False), creative)
    type_(policy, host, doc, "s")
    request = debounce(policy, host)
    assert request.sampling.temperature == 1.0
    assert request.sampling.repeat_penalty == 1.05


def test_tab_tab_tab_each_sequel_comes_from_a_live_prefetch(world: World) -> None:
    """A ghost served from the cache prefetches its own sequel, and nothing issued after
    it supersedes that prefetch (a superseded one would be waited for in vain)."""
    policy, host, doc, _clock = world
    type_(policy, host, doc, "I love you more than ")
    answer(policy, debounce(policy, host), [("anything", 0.9), (" else", 0.9), (" in", 0.05)])
    first = host.sent[-1]
    answer(policy, first, [(" in", 0.8), (" the", 0.9), (" world", 0.9), (".", 0.9)])
    for ghost, sequel in ((" in the world.", [(" I", 0.9), (" know", 0.9)]),):
        doc.text += policy.ghost
        policy.ghost_consumed(policy.ghost, "")
        del host.timers[Timer.SETTLE]
        policy.timer_fired(Timer.SETTLE)
        assert host.ghost == ghost
        second = host.sent[-1]
        assert second.prefetch
        assert host.last_id == second.id  # no prefill after it
        answer(policy, second, sequel)
    doc.text += policy.ghost
    policy.ghost_consumed(policy.ghost, "")
    del host.timers[Timer.SETTLE]
    policy.timer_fired(Timer.SETTLE)
    assert host.ghost == " I know"


def test_a_ghost_that_turns_into_junk_is_taken_back_and_the_next_candidate_asked(
    world: World,
) -> None:
    policy, host, doc, _clock = world
    policy.update_settings(SuggestionSettings(suggest_when="always"))
    type_(policy, host, doc, "Write to me at ")
    request = debounce(policy, host)
    policy.on_piece(request.id, "home", 0.0)
    policy.on_piece(request.id, " or", 0.0)
    assert host.ghost == "home or"
    policy.on_piece(request.id, " at", 0.0)
    policy.on_piece(request.id, " x@example.org", 0.0)  # an address the writer never wrote
    finish(policy, request, StopReason.EOS)
    assert host.ghost == "home or at"  # the clean head stays
    type_(policy, host, doc, "j")
    request = debounce(policy, host)
    policy.on_piece(request.id, "oe@exa", 0.0)
    assert host.ghost == ""  # may still become an address: held back
    policy.on_piece(request.id, "mple.org", 0.0)
    finish(policy, request, StopReason.EOS)
    assert host.ghost == ""
    assert host.sent[-1].branch == 1  # the next likeliest is asked for
