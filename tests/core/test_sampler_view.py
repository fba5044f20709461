"""The live sampler view: llama.cpp's own samplers, checked against an independent NumPy chain.

The reference below re-implements the engine's chain (penalties -> top-k -> typical ->
top-p -> min-p -> temperature -> softmax) from llama.cpp's definitions, on the whole
vocabulary, so every token's fate is compared, not just the bars of the chart.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import llama_cpp
import numpy as np
import pytest

from app.core.engine import Engine, EngineError
from app.core.sampler_chain import SamplerChain
from app.core.sampler_view import SamplerView, _penalised, _stages, sampler_view
from app.core.sampling import GREEDY, PRESETS, SamplingSettings
from tests.support.models import TestModel

STORY = (
    "It was late in the autumn when the letters began to arrive. The first came on a "
    "Tuesday, folded twice, with no name on the envelope and a smell of salt about it. "
)
STAGES = ("top-k", "typical-p", "top-p", "min-p")

#: Preset-like settings, plus ones that switch a single stage on over the whole vocabulary.
SETTINGS: dict[str, SamplingSettings] = {
    **PRESETS,
    "penalties": SamplingSettings(
        temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.3,
        repeat_last_n=32, presence_penalty=0.5, frequency_penalty=0.25,
    ),
    "presence and frequency": SamplingSettings(
        temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0,
        presence_penalty=0.8, frequency_penalty=0.4,
    ),
    "typical": SamplingSettings(top_k=0, typical_p=0.6, top_p=1.0, min_p=0.0),
    "typical after top-k": SamplingSettings(top_k=30, typical_p=0.9),
    "hot top-p only": SamplingSettings(temperature=2.0, top_k=0, top_p=0.5, min_p=0.0),
    "every stage": SamplingSettings(
        temperature=0.8, top_k=16, typical_p=0.95, top_p=0.9, min_p=0.2,
        repeat_penalty=1.3, presence_penalty=0.3, frequency_penalty=0.2,
    ),
    "untouched": SamplingSettings(
        temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0
    ),
    "greedy": GREEDY.with_changes(repeat_penalty=1.3),
}  # fmt: skip


# ---------------------------------------------------------------- independent reference


def _softmax(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    e = np.exp(x - x.max())
    return np.asarray(e / e.sum())


@dataclass(frozen=True)
class Reference:
    raw: np.ndarray  # softmax of the raw logits, whole vocabulary
    probability: np.ndarray  # after the chain, whole vocabulary (0 where cut)
    stage: np.ndarray  # the stage that cut each token, "" where it survives
    penalised: np.ndarray  # the logits after the penalties

    @property
    def kept(self) -> int:
        return int(np.count_nonzero(self.stage == ""))

    def cut_by(self, token: int) -> str | None:
        return str(self.stage[token]) or None


def reference_chain(logits: np.ndarray, s: SamplingSettings, history: Sequence[int]) -> Reference:
    """The engine's chain in plain NumPy, from llama.cpp's definitions of each stage."""
    n = logits.size
    pen = np.array(logits, dtype=np.float32)  # llama.cpp penalises in float32
    if s.repeat_last_n > 0:
        window = [int(t) for t in history][-s.repeat_last_n :]
        for token, count in Counter(window).items():
            value = pen[token]
            factor = np.float32(s.repeat_penalty)
            value = value * factor if value <= 0 else value / factor
            pen[token] = value - (
                np.float32(count) * np.float32(s.frequency_penalty) + np.float32(s.presence_penalty)
            )
    stage = np.full(n, "", dtype=object)
    probability = np.zeros(n)
    if s.greedy:
        winner = int(np.argmax(pen))
        stage[:] = "greedy"
        stage[winner] = ""
        probability[winner] = 1.0
        return Reference(_softmax(logits), probability, stage, pen)

    alive = np.arange(n)

    def keep(kept: np.ndarray, name: str) -> None:
        nonlocal alive
        stage[np.setdiff1d(alive, kept)] = name
        alive = np.sort(kept)

    def prefix_reaching(p: np.ndarray, order: np.ndarray, mass: float, strict: bool) -> int:
        cumulative = np.cumsum(p[order])
        reached = np.nonzero(cumulative > mass if strict else cumulative >= mass)[0]
        return int(reached[0]) + 1 if reached.size else order.size

    if s.top_k > 0:
        keep(alive[np.argsort(-pen[alive], kind="stable")[: s.top_k]], "top-k")
    if s.typical_p < 1.0:  # locally typical: surprisal closest to the entropy first
        p = _softmax(pen[alive])
        entropy = -(p * np.log(p)).sum()
        order = np.argsort(np.abs(-np.log(p) - entropy), kind="stable")
        keep(alive[order[: prefix_reaching(p, order, s.typical_p, strict=True)]], "typical-p")
    if s.top_p < 1.0:
        p = _softmax(pen[alive])
        order = np.argsort(-p, kind="stable")
        keep(alive[order[: prefix_reaching(p, order, s.top_p, strict=False)]], "top-p")
    if s.min_p > 0.0:
        p = _softmax(pen[alive])
        keep(alive[p >= s.min_p * p.max()], "min-p")
    probability[alive] = _softmax(pen[alive].astype(np.float64) / s.temperature)
    return Reference(_softmax(logits), probability, stage, pen)


def assert_view_matches(view: SamplerView, ref: Reference, logits: np.ndarray) -> None:
    """Same candidates in raw order, same raw and final probabilities, same cuts."""
    n = len(view.candidates)
    expected_order = np.argsort(-logits, kind="stable")[:n]
    assert [c.token_id for c in view.candidates] == expected_order.tolist()
    assert view.kept == ref.kept
    got = np.array([[c.raw_probability, c.probability] for c in view.candidates])
    want = np.stack([ref.raw[expected_order], ref.probability[expected_order]], axis=1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-30)  # the tail counts too
    cuts = [c.cut_by for c in view.candidates]
    assert cuts == [ref.cut_by(int(t)) for t in expected_order]
    assert all((c.probability > 0) == (c.cut_by is None) for c in view.candidates)


def _label(token: int) -> str:
    return f"<{token}>"


# ---------------------------------------------------------------- logits


@pytest.fixture(scope="module")
def engine(tiny_model: TestModel) -> Iterator[Engine]:
    with Engine(tiny_model["f32"], n_threads=1) as e:
        yield e


@pytest.fixture(scope="module")
def real(engine: Engine) -> tuple[np.ndarray, list[int]]:
    """Real next-token logits of the tiny GPT-2 after the story, and the story's tokens."""
    return engine.next_token_logits(STORY)


#: Leaders planted over a noisy tail of GPT-2's size: a flat slope, and a peaked one where
#: two tokens dominate. Between them every stage of every setting here gets to cut.
SHAPES: dict[str, list[float]] = {
    "flat": [9.0, 8.2, 8.0, 7.6, 7.5, 7.3, 7.0, 6.8, 6.5, 6.4,
             6.0, 5.8, 5.5, 5.2, 5.0, 4.8, 4.5, 4.4, 4.2, 4.0],
    "peaked": [9.0, 8.0, *(6.0 - 0.1 * i for i in range(18))],
}  # fmt: skip


def crafted_logits(
    shape: str = "flat", n_vocab: int = 50257, seed: int = 7
) -> tuple[np.ndarray, list[int]]:
    """Logits with planted leaders, and a history that penalises one leader (the first
    when flat: three times, down below the tenth) and a negative-logit tail token."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(-4.0, 1.5, n_vocab).astype(np.float32)
    planted = rng.choice(n_vocab, size=len(SHAPES[shape]), replace=False)
    logits[planted] = SHAPES[shape]
    negative = int(np.nonzero(logits < -6.0)[0][0])
    if shape == "flat":
        return logits, [int(planted[0])] * 3 + [int(planted[4]), negative, negative]
    return logits, [int(planted[3])] * 2 + [negative]


# ---------------------------------------------------------------- the view equals NumPy


@pytest.mark.parametrize("name", SETTINGS)
def test_view_equals_numpy_on_real_logits(name: str, real: tuple[np.ndarray, list[int]]) -> None:
    logits, history = real
    settings = SETTINGS[name]
    view = sampler_view(logits, settings, history, _label, top_n=logits.size)
    assert_view_matches(view, reference_chain(logits, settings, history), logits)


@pytest.mark.parametrize("name", SETTINGS)
def test_view_equals_numpy_on_crafted_logits(name: str) -> None:
    settings = SETTINGS[name]
    cutting: set[str | None] = set()
    for shape in SHAPES:
        logits, history = crafted_logits(shape)
        view = sampler_view(logits, settings, history, _label, top_n=logits.size)
        assert_view_matches(view, reference_chain(logits, settings, history), logits)
        cutting.update(c.cut_by for c in view.candidates)
    # the crafted logits give every stage that is switched on something to cut
    on = {
        "top-k": settings.top_k > 0,
        "typical-p": settings.typical_p < 1.0,
        "top-p": settings.top_p < 1.0,
        "min-p": settings.min_p > 0.0,
    }
    if settings.greedy:
        assert cutting == {None, "greedy"}
    else:
        assert cutting - {None} == {stage for stage in STAGES if on[stage]}


def test_every_stage_cuts_a_bar_of_the_chart() -> None:
    """The default 20 bars show each stage at work, and penalties reorder the survivors."""
    logits, history = crafted_logits()
    settings = SETTINGS["every stage"]
    view = sampler_view(logits, settings, history, _label)
    assert len(view.candidates) == 20
    assert_view_matches(view, reference_chain(logits, settings, history), logits)
    cuts = Counter(c.cut_by for c in view.candidates)
    assert set(cuts) == {*STAGES, None}, cuts
    leader = view.candidates[0]  # raw first, but penalised (history has it 3 times)
    assert leader.raw_probability == max(c.raw_probability for c in view.candidates)
    assert leader.cut_by == "top-p"
    assert view.kept == cuts[None] == 6
    assert sum(c.probability for c in view.candidates) == pytest.approx(1.0)
    kept = [c.probability for c in view.candidates if c.cut_by is None]
    assert kept == sorted(kept, reverse=True)  # temperature keeps the order of the logits


def test_temperature_reshapes_what_survives() -> None:
    """Temperature comes last: it cuts nothing, it sharpens or flattens the survivors."""
    logits, history = crafted_logits()
    cold, warm, hot = (
        sampler_view(logits, SETTINGS["every stage"].with_changes(temperature=t), history, str)
        for t in (0.3, 1.0, 3.0)
    )
    assert [c.cut_by for c in cold.candidates] == [c.cut_by for c in hot.candidates]
    kept = [[c.probability for c in v.candidates if c.cut_by is None] for v in (cold, warm, hot)]
    assert max(kept[0]) > max(kept[1]) > max(kept[2])
    assert min(kept[0]) < min(kept[1]) < min(kept[2])


def test_no_cuts_at_temperature_one_is_the_raw_distribution(
    real: tuple[np.ndarray, list[int]],
) -> None:
    logits, history = real
    view = sampler_view(logits, SETTINGS["untouched"], history, str, top_n=50)
    assert view.kept == logits.size
    assert not view.greedy
    for c in view.candidates:
        assert c.cut_by is None
        assert c.probability == pytest.approx(c.raw_probability, abs=1e-6)


def test_greedy_keeps_only_the_penalised_argmax() -> None:
    logits, history = crafted_logits()
    view = sampler_view(logits, SETTINGS["greedy"], history, _label)
    assert view.greedy
    assert view.kept == 1
    leader, runner_up = view.candidates[:2]
    assert leader.cut_by == "greedy"
    assert leader.probability == 0.0  # penalised below it
    assert runner_up.cut_by is None
    assert runner_up.probability == 1.0
    assert {c.cut_by for c in view.candidates[2:]} == {"greedy"}
    plain = sampler_view(logits, GREEDY, history, _label)  # no penalty: the raw argmax
    assert plain.candidates[0].probability == 1.0
    assert plain.kept == 1


def test_candidates_carry_the_token_text(
    engine: Engine, real: tuple[np.ndarray, list[int]]
) -> None:
    logits, history = real

    def text(token: int) -> str:
        return engine.detokenize([token]).decode("utf-8", "replace")

    view = sampler_view(logits, SamplingSettings(), history, text)
    assert len(view.candidates) == 20
    assert [c.text for c in view.candidates] == [text(c.token_id) for c in view.candidates]
    raws = [c.raw_probability for c in view.candidates]
    assert raws == sorted(raws, reverse=True)
    assert 0 < sum(raws) <= 1.0 + 1e-9
    few = sampler_view(logits[:5], SamplingSettings(), (), str, top_n=20)
    assert len(few.candidates) == 5  # never more bars than tokens


@pytest.mark.parametrize(
    ("logits", "top_n", "message"),
    [
        (np.zeros((2, 3), dtype=np.float32), 20, "vector"),
        (np.zeros(0, dtype=np.float32), 20, "vector"),
        (np.array([0.0, np.nan], dtype=np.float32), 20, "NaN"),
        (np.zeros(3, dtype=np.float32), 0, "top_n"),
    ],
)
def test_bad_input_is_refused(logits: np.ndarray, top_n: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sampler_view(logits, SamplingSettings(), (), str, top_n=top_n)


# ---------------------------------------------------------------- the view and the engine


@pytest.mark.parametrize("name", ["precise", "balanced", "typical after top-k", "every stage"])
def test_the_engine_samples_only_what_the_view_keeps(name: str, engine: Engine) -> None:
    """Drawn with many seeds, the first token is always a survivor of the view, and the
    view's favourite comes up about as often as its probability says."""
    logits, history = engine.next_token_logits(STORY)
    settings = SETTINGS[name]
    view = sampler_view(logits, settings, history, str, top_n=logits.size)
    probability = {c.token_id: c.probability for c in view.candidates}
    draws = 60
    drawn: Counter[int] = Counter()
    for seed in range(draws):
        result = engine.complete(STORY, settings.with_changes(seed=seed, max_tokens=1))
        drawn[result.token_ids[0] if result.token_ids else engine.eos_token] += 1
    assert all(probability[t] > 0 for t in drawn), drawn
    favourite = max(probability, key=lambda t: probability[t])
    assert drawn[favourite] / draws == pytest.approx(probability[favourite], abs=0.25)


def _name(sampler: object) -> str:
    return bytes(llama_cpp.llama_sampler_name(sampler)).decode()


@pytest.mark.parametrize("name", SETTINGS)
def test_the_view_builds_the_engines_chain(name: str, engine: Engine) -> None:
    """The view's stages are the engine's samplers, same kinds, same order (less dist)."""
    settings = SETTINGS[name]
    chain = SamplerChain(engine._llm, settings, seed=0)
    try:
        count = llama_cpp.llama_sampler_chain_n(chain.chain)
        engines = [_name(llama_cpp.llama_sampler_chain_get(chain.chain, i)) for i in range(count)]
    finally:
        chain.free()
    views = ["penalties"] if _penalised(settings) else []
    for _stage, make in _stages(settings):
        sampler = make()
        views.append(_name(sampler))
        llama_cpp.llama_sampler_free(sampler)
    assert engines == views + ([] if settings.greedy else ["dist"])


def test_greedy_view_is_the_greedy_completion(engine: Engine) -> None:
    logits, history = engine.next_token_logits(STORY)
    for settings in (GREEDY, SETTINGS["greedy"]):
        view = sampler_view(logits, settings, history, str)
        (winner,) = [c.token_id for c in view.candidates if c.cut_by is None]
        first = engine.complete(STORY, settings.with_changes(max_tokens=1)).token_ids[0]
        assert first == winner
    assert (
        int(np.argmax(logits)) == sampler_view(logits, GREEDY, history, str).candidates[0].token_id
    )


# ---------------------------------------------------------------- next_token_logits


def test_next_token_logits_are_the_last_row_of_all_logits(
    tiny_model: TestModel, engine: Engine
) -> None:
    logits, tokens = engine.next_token_logits(STORY)
    assert tokens == engine.tokenize(STORY)
    assert logits.dtype == np.float32
    assert logits.shape == (engine._llm.n_vocab(),)
    with Engine(tiny_model["f32"], n_threads=1, logits_all=True) as full:
        expected = full.logits(tokens)[-1]
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-4)
    kept = logits.copy()
    engine.next_token_logits("Something else entirely")
    np.testing.assert_array_equal(logits, kept)  # a copy, not llama.cpp's buffer


def test_next_token_logits_reuse_the_cache_exactly(engine: Engine) -> None:
    engine.reset()
    engine.next_token_logits(STORY)
    grown, tokens = engine.next_token_logits(STORY + "She")
    assert engine.cached_tokens == tokens
    # the completion at the same cursor evaluates nothing: the inspection's logits serve
    again = engine.complete(STORY + "She", GREEDY.with_changes(max_tokens=4))
    assert again.timings.prompt_tokens_evaluated == 0
    engine.reset()
    scratch, _ = engine.next_token_logits(STORY + "She")
    np.testing.assert_allclose(grown, scratch, rtol=0, atol=1e-4)
    engine.reset()
    fresh = engine.complete(STORY + "She", GREEDY.with_changes(max_tokens=4))
    assert again.token_ids == fresh.token_ids


def test_next_token_logits_of_empty_and_long_prompts(engine: Engine) -> None:
    _, tokens = engine.next_token_logits("")
    assert tokens == [engine.eos_token]  # a new document, as in complete()
    long_text = STORY * 8
    logits, tokens = engine.next_token_logits(long_text)
    assert tokens == engine.tokenize(long_text)[-engine.n_ctx :]
    assert len(tokens) == engine.n_ctx
    assert np.isfinite(logits).all()


def test_next_token_logits_on_a_closed_engine(tiny_model: TestModel) -> None:
    eng = Engine(tiny_model["q8_0"])
    eng.close()
    with pytest.raises(EngineError, match="closed"):
        eng.next_token_logits("Hello")


# ---------------------------------------------------------------- speed (printed, not asserted)


def test_view_speed_is_printed(real: tuple[np.ndarray, list[int]]) -> None:
    """A slider drag calls the view for every step: print ms per call for GPT-2's 50k
    vocabulary (real logits) and Gemma 3's 262k (crafted)."""
    big, big_history = crafted_logits(n_vocab=262_144, seed=3)
    for label, (logits, history) in {"50k": real, "262k": (big, big_history)}.items():
        for name, settings in SETTINGS.items():
            sampler_view(logits, settings, history, str)  # warm up
            runs = 5
            started = time.perf_counter()
            for _ in range(runs):
                view = sampler_view(logits, settings, history, str)
            ms = (time.perf_counter() - started) * 1000.0 / runs
            print(f"sampler view {label:>4} {name:<22} {ms:6.1f} ms  kept {view.kept}")
            assert len(view.candidates) == 20
