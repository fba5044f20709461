"""Prefill: a prompt evaluated ahead is completed by sampling alone, with the same result."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from app.core.engine import Engine
from app.core.sampling import GREEDY, SamplingSettings
from tests.support.models import TestModel

STORY = (
    "It was late in the autumn when the letters began to arrive. The first came on a "
    "Tuesday, folded twice, with no name on the envelope and a smell of salt about it."
)
SEEDED = SamplingSettings(temperature=0.9, top_k=40, top_p=0.95, seed=7, max_tokens=8)


@pytest.fixture(scope="module")
def engine(tiny_model: TestModel) -> Iterator[Engine]:
    with Engine(tiny_model["q8_0"], n_threads=2) as e:
        yield e


def _scratch(engine: Engine, prompt: str, settings: SamplingSettings) -> tuple[int, ...]:
    engine.reset()
    return engine.complete(prompt, settings).token_ids


def test_a_prefilled_prompt_is_sampled_without_evaluation(engine: Engine) -> None:
    for settings in (GREEDY.with_changes(max_tokens=8), SEEDED):
        expected = _scratch(engine, STORY, settings)
        engine.reset()
        done = engine.prefill(STORY, settings.max_tokens)
        assert done.evaluated == done.prompt_tokens == len(engine.tokenize(STORY))
        assert not done.cancelled
        result = engine.complete(STORY, settings)
        assert result.timings.prompt_tokens_evaluated == 0
        assert result.token_ids == expected


def test_typing_with_a_prefill_per_keystroke_matches_fresh_evaluation(engine: Engine) -> None:
    """Each keystroke's prefill evaluates only the new tail; a completion at any point then
    equals one from an empty cache (the logits used are those of the right position)."""
    engine.reset()
    per_key: list[int] = []
    for end in range(60, 110):
        prompt = STORY[:end]
        per_key.append(engine.prefill(prompt, 8).evaluated)
        if end % 10 == 0:
            got = engine.complete(prompt, SEEDED)
            assert got.timings.prompt_tokens_evaluated == 0
            assert got.token_ids == _scratch(engine, prompt, SEEDED), prompt
            engine.prefill(prompt, 8)  # the cache as typing left it (scratch reset it)
    assert max(per_key[1:]) <= 3, per_key


def test_logits_of_another_position_are_never_reused(engine: Engine) -> None:
    """A prefill of a longer text, then a completion of its start (the writer deleted a
    word): the start's last token must be evaluated again, or the sample would continue
    the deleted text."""
    engine.reset()
    engine.prefill(STORY, 8)
    shorter = STORY[: len(STORY) // 2]
    got = engine.complete(shorter, GREEDY.with_changes(max_tokens=8))
    assert got.timings.prompt_tokens_evaluated == 1  # only the last token, for its logits
    assert got.token_ids == _scratch(engine, shorter, GREEDY.with_changes(max_tokens=8))
    # after a completion llama.cpp's buffer holds a generated token's logits, but the
    # prompt's own were kept: the same prompt again evaluates nothing, and samples the same
    engine.reset()
    first = engine.complete(STORY, GREEDY.with_changes(max_tokens=4))
    again = engine.complete(STORY, GREEDY.with_changes(max_tokens=4))
    assert again.timings.prompt_tokens_evaluated == 0
    assert (
        again.token_ids
        == first.token_ids
        == _scratch(engine, STORY, GREEDY.with_changes(max_tokens=4))
    )
    # and a prompt one token shorter than the kept one is evaluated again, not reused
    shorter_tokens = engine.tokenize(STORY)[:-1]
    got = engine.complete_tokens(shorter_tokens, GREEDY.with_changes(max_tokens=4))
    assert got.timings.prompt_tokens_evaluated == 1


def test_next_token_logits_and_branches_after_a_prefill(engine: Engine) -> None:
    engine.reset()
    fresh, _history = engine.next_token_logits(STORY)
    branch = engine.complete(STORY, GREEDY.with_changes(max_tokens=5), branch=2).token_ids
    engine.reset()
    engine.prefill(STORY, 8)
    logits, _ = engine.next_token_logits(STORY)
    np.testing.assert_allclose(logits, fresh, rtol=1e-5, atol=1e-5)
    engine.prefill(STORY, 5)
    assert engine.complete(STORY, GREEDY.with_changes(max_tokens=5), branch=2).token_ids == branch


def test_a_long_prompt_is_cut_as_its_completion_will_cut_it(engine: Engine) -> None:
    long_text = " ".join([STORY] * 6)  # more tokens than the tiny model's 128 positions
    assert len(engine.tokenize(long_text)) > engine.n_ctx
    engine.reset()
    done = engine.prefill(long_text, 8)
    assert done.prompt_tokens == engine.n_ctx - 8
    result = engine.complete(long_text, GREEDY.with_changes(max_tokens=8))
    assert result.prompt_truncated
    assert result.timings.prompt_tokens_evaluated == 0


def test_a_cancelled_prefill_keeps_the_engine_consistent(engine: Engine) -> None:
    engine.reset()
    stop = threading.Event()
    stop.set()
    done = engine.prefill(STORY, 8, cancel=stop)
    assert done.cancelled
    assert done.evaluated == 0  # stopped before its first chunk
    result = engine.complete(STORY, GREEDY.with_changes(max_tokens=8))
    assert result.timings.prompt_tokens_evaluated == done.prompt_tokens
    assert result.token_ids == _scratch(engine, STORY, GREEDY.with_changes(max_tokens=8))


class _StopAfter(threading.Event):
    """A cancel that fires at the n-th check: the writer typed while a prefill ran."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.left = checks

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0 or super().is_set()


def test_a_stopped_prefill_keeps_its_finished_chunks(engine: Engine) -> None:
    """Typing fast after the window slid: each keystroke stops the prefill, yet every
    prefill adds at least a chunk, so the cache catches up while the writer types."""
    from app.core.engine import PREFILL_CHUNK

    text = " ".join([STORY] * 2)
    total = len(engine.tokenize(text))
    assert total > 2 * PREFILL_CHUNK
    engine.reset()
    first = engine.prefill(text, 8, cancel=_StopAfter(1))  # stops after its first chunk
    assert first.cancelled
    assert first.evaluated == PREFILL_CHUNK
    assert len(engine.cached_tokens) == PREFILL_CHUNK
    rest = engine.prefill(text, 8)
    assert not rest.cancelled
    assert rest.evaluated == rest.prompt_tokens - PREFILL_CHUNK
    result = engine.complete(text, GREEDY.with_changes(max_tokens=8))
    assert result.timings.prompt_tokens_evaluated == 0
    assert result.token_ids == _scratch(engine, text, GREEDY.with_changes(max_tokens=8))
