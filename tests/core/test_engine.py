"""The engine: real llama.cpp streaming, prefix reuse, cancellation, windows, misuse."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.core.engine import Engine
from app.core.engine_api import Completion, EngineBusyError, EngineError, StopReason
from app.core.sampling import GREEDY, SamplingSettings
from tests.support.models import TestModel

STORY = (
    "It was late in the autumn when the letters began to arrive. The first came on a "
    "Tuesday, folded twice, with no name on the envelope and a smell of salt about it. "
)


@pytest.fixture(scope="module")
def engine(tiny_model: TestModel) -> Iterator[Engine]:
    with Engine(tiny_model["q8_0"], n_threads=2) as e:
        yield e


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def test_streamed_pieces_make_the_completion(engine: Engine) -> None:
    pieces: list[str] = []
    result = engine.complete(STORY, GREEDY.with_changes(max_tokens=12), on_text=pieces.append)
    assert result.stop_reason is StopReason.LENGTH
    assert result.timings.generated_tokens == len(result.token_ids) == 12
    assert "".join(pieces) == result.text
    whole = engine.detokenize(result.token_ids).decode("utf-8", "replace")
    assert whole.startswith(result.text)
    assert len(whole) - len(result.text) <= 1
    assert result.timings.first_token_ms is not None
    assert result.timings.ms_per_token > 0


def test_greedy_with_prefix_reuse_equals_from_scratch(engine: Engine) -> None:
    """Typing grows the prompt a few characters at a time: each call must give exactly
    what a fresh evaluation gives, while evaluating only the new tail."""
    settings = GREEDY.with_changes(max_tokens=8)
    words = STORY.split(" ")
    evaluated, totals = [], []
    engine.reset()
    previous_cache: list[int] = []
    for n in range(6, len(words), 3):
        prompt = " ".join(words[:n])
        tokens = engine.tokenize(prompt)
        reused = engine.complete(prompt, settings)
        expected_evaluated = len(tokens) - min(
            _common_prefix(previous_cache, tokens), len(tokens) - 1
        )
        assert reused.timings.prompt_tokens_evaluated == expected_evaluated
        previous_cache = engine.cached_tokens
        engine.reset()
        scratch = engine.complete(prompt, settings)
        assert scratch.timings.prompt_tokens_evaluated == len(tokens)
        assert reused.token_ids == scratch.token_ids, prompt
        engine.reset()
        engine.complete(prompt, settings)  # restore the reuse state for the next step
        evaluated.append(reused.timings.prompt_tokens_evaluated)
        totals.append(len(tokens))
    print("prompt tokens:", totals)
    print("evaluated with reuse:", evaluated)
    assert max(evaluated[1:]) <= 6  # three new words at a time, never the whole prompt
    assert sum(evaluated) < sum(totals) / 3


def test_typing_the_prediction_reuses_the_generated_tokens(engine: Engine) -> None:
    settings = GREEDY.with_changes(max_tokens=8)
    prompt = STORY.rstrip()  # a trailing space would merge with the predicted " word"
    engine.reset()
    first = engine.complete(prompt, settings)
    second = engine.complete(prompt + first.text, settings)
    # everything typed was already in the cache: at most the last token or two again
    assert second.timings.prompt_tokens_evaluated <= 2
    engine.reset()
    scratch = engine.complete(prompt + first.text, settings)
    assert scratch.token_ids == second.token_ids


def test_same_seed_same_sample(engine: Engine) -> None:
    bold = SamplingSettings(temperature=1.2, top_k=0, top_p=1.0, min_p=0.0, seed=1234,
                            max_tokens=16)  # fmt: skip
    a = engine.complete(STORY, bold)
    engine.reset()
    b = engine.complete(STORY, bold)
    assert a.token_ids == b.token_ids
    assert a.seed == b.seed == 1234
    c = engine.complete(STORY, bold.with_changes(seed=99))
    d = engine.complete(STORY, bold.with_changes(seed=100))
    assert len({a.token_ids, c.token_ids, d.token_ids}) > 1


def test_stop_string_cuts_the_text(engine: Engine) -> None:
    settings = GREEDY.with_changes(max_tokens=24)
    full = engine.complete(STORY, settings).text
    assert len(full) > 10
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    pieces: list[str] = []
    cut = engine.complete(STORY, settings.with_changes(stop=(stop,)), on_text=pieces.append)
    assert cut.stop_reason is StopReason.STOP
    assert cut.text == full[: full.index(stop)]
    assert "".join(pieces) == cut.text


def test_cancel_during_generation_stops_within_a_token_or_two(engine: Engine) -> None:
    settings = GREEDY.with_changes(max_tokens=100, repeat_penalty=1.3)
    pieces: list[str] = []
    emitted_at_cancel: list[str] = []
    results: list[Completion] = []

    def on_text(piece: str) -> None:
        pieces.append(piece)
        if len(pieces) == 5:
            emitted_at_cancel.append("".join(pieces))
            canceller = threading.Thread(target=engine.cancel)  # cancel from another thread
            canceller.start()
            canceller.join()

    worker = threading.Thread(
        target=lambda: results.append(engine.complete(STORY, settings, on_text=on_text))
    )
    worker.start()
    worker.join()
    completion = results[0]
    assert completion.stop_reason is StopReason.CANCELLED
    assert "".join(pieces) == emitted_at_cancel[0] == completion.text  # nothing after cancel
    # tokens needed to produce the text emitted before the cancel
    needed = next(
        k
        for k in range(len(completion.token_ids) + 1)
        if engine.detokenize(completion.token_ids[:k])
        .decode("utf-8", "replace")
        .startswith(completion.text)
    )
    assert len(completion.token_ids) - needed <= 2
    assert len(completion.token_ids) < 100


class _CountingEvent(threading.Event):
    """A cancel event that tells when llama.cpp's abort callback has started polling it.

    The engine polls once before each batch; every later poll comes from inside
    llama_decode, through the abort callback.
    """

    def __init__(self) -> None:
        super().__init__()
        self.polls = 0
        self.polled_inside_llama = threading.Event()

    def is_set(self) -> bool:
        self.polls += 1
        if self.polls >= 3:
            self.polled_inside_llama.set()
        return super().is_set()


def test_cancel_during_a_long_prompt_evaluation(wide_model: TestModel) -> None:
    """The cancel lands while llama.cpp is inside one 1000-token batch."""
    with Engine(wide_model["f16"], n_threads=2, n_batch=1024) as eng:
        tokens = [(i * 7919) % 50000 for i in range(1000)]
        event = _CountingEvent()
        results: list[Completion] = []
        worker = threading.Thread(
            target=lambda: results.append(
                eng.complete_tokens(tokens, GREEDY.with_changes(max_tokens=4), cancel=event)
            )
        )
        worker.start()
        assert event.polled_inside_llama.wait(timeout=60)
        eng.cancel()
        worker.join()
        completion = results[0]
        assert completion.stop_reason is StopReason.CANCELLED
        assert completion.timings.generated_tokens == 0
        assert eng.cached_tokens == []  # the one batch was abandoned part-way
        # and the engine works normally afterwards
        again = eng.complete_tokens(tokens[:50], GREEDY.with_changes(max_tokens=3))
        assert again.timings.generated_tokens == 3
        assert again.timings.prompt_tokens_evaluated == 50


def test_concurrent_use_fails_loudly(engine: Engine) -> None:
    inside = threading.Event()
    release = threading.Event()
    errors: list[Exception] = []

    def on_text(_piece: str) -> None:
        inside.set()
        release.wait(timeout=30)

    worker = threading.Thread(
        target=lambda: engine.complete(STORY, GREEDY.with_changes(max_tokens=3), on_text=on_text)
    )
    worker.start()
    assert inside.wait(timeout=30)
    try:
        engine.complete(STORY, GREEDY)
    except EngineBusyError as exc:
        errors.append(exc)
    finally:
        release.set()
        worker.join()
    assert errors
    assert "one thread at a time" in str(errors[0])


def test_context_size_is_bounded_by_the_model(tiny_model: TestModel) -> None:
    with pytest.raises(EngineError, match="allows 16 to 128 tokens"):
        Engine(tiny_model["q8_0"], n_ctx=256)
    with Engine(tiny_model["q8_0"]) as eng:
        assert eng.n_ctx == 128


def test_long_text_slides_the_window_exactly(tiny_model: TestModel) -> None:
    """Past the context the window slides and is re-evaluated (never shifted): the tokens
    generated after a slide equal a fresh completion of the slid window."""
    with Engine(tiny_model["q8_0"], n_threads=2) as eng:
        prompt = eng.tokenize(STORY * 4)
        assert len(prompt) > 128
        settings = GREEDY.with_changes(max_tokens=90, repeat_penalty=1.0)
        result = eng.complete_tokens(prompt, settings)
        assert result.prompt_truncated
        kept = 128 - 64  # room for half a context of new tokens
        assert result.timings.prompt_tokens == kept
        assert result.timings.window_slides == 1
        history = prompt[-kept:] + list(result.token_ids)
        # the slide happened when history first exceeded 128 tokens
        before_slide = 128 - kept + 1
        window = history[: kept + before_slide][-64:]
        eng.reset()
        fresh = eng.complete_tokens(window, settings.with_changes(max_tokens=90 - before_slide))
        assert list(fresh.token_ids) == list(result.token_ids[before_slide:])


def test_empty_prompt_starts_a_document(engine: Engine) -> None:
    result = engine.complete("", GREEDY.with_changes(max_tokens=4))
    assert result.timings.prompt_tokens == 1
    assert result.timings.generated_tokens == 4


def test_closed_engine_refuses_work(tiny_model: TestModel) -> None:
    eng = Engine(tiny_model["q8_0"])
    eng.close()
    with pytest.raises(EngineError, match="closed"):
        eng.complete("Hello")


def test_branches_start_from_the_next_likeliest_tokens(tiny_model: TestModel) -> None:
    with Engine(tiny_model["q8_0"], logits_all=True) as eng:
        tokens = eng.tokenize(STORY)
        ranked = eng.logits(tokens)[-1].argsort()[::-1]
        settings = GREEDY.with_changes(max_tokens=5)
        firsts = [eng.complete(STORY, settings, branch=b).token_ids[0] for b in range(4)]
    assert firsts == [int(t) for t in ranked[:4]]
