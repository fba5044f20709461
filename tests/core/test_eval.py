"""``ghostpen eval``: the simulated writer's arithmetic by hand, and a smoke run of the
whole command on the tiny random GPT-2 (every figure computed; no quality asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.eval.baselines import WordCompletion, run_baseline
from app.eval.tally import Tally
from app.eval.writer import Key, Screen, acceptable, next_press
from tests.support.models import TestModel

SMOKE = Path(__file__).parents[1] / "data" / "prose" / "smoke.txt"


class Scripted:
    """A suggester whose ghosts are written by hand, by the text before the cursor."""

    name = "scripted"

    def __init__(self, ghosts: dict[str, str]) -> None:
        self.ghosts = ghosts
        self.asked: list[str] = []

    def suggest(self, before: str) -> str:
        self.asked.append(before)
        return self.ghosts.get(before, "")


def test_the_writer_takes_the_longest_right_start_that_ends_a_word() -> None:
    text = "the cat sat on the mat"
    assert acceptable(" cat sat on", text, 3) == (len(" cat sat on"), 3)
    assert acceptable(" cat sat in", text, 3) == (len(" cat sat"), 2)
    assert acceptable(" ca", text, 3) == (0, 0)  # ends inside "cat": not a word end
    assert acceptable(" dog", text, 3) == (0, 0)
    assert acceptable("t sat", text, 6) == (len("t sat"), 2)  # completes the word typed
    assert next_press(" cat sat on", text, 3).key is Key.TAB
    word = next_press(" cat sat in", text, 3)
    assert word.key is Key.WORD
    assert word.text == " cat"
    assert next_press(" dog", text, 3) == next_press("", text, 3)
    assert next_press("", text, 3).text == " "


def test_keys_acceptance_and_savings_on_a_hand_made_case() -> None:
    text = "the cat sat on the mat"  # 22 characters
    ghosts = {
        "the": " cat sat on",  # whole ghost right: Tab (1 key for 11 characters)
        "the cat sat on": " a mat",  # wrong from the start: typed through " " then gone
        "the cat sat on t": "he dog",  # "he" right, " dog" wrong: Ctrl+Right once
    }
    suggester = Scripted(ghosts)
    tally = run_baseline(suggester, text)
    # t h e [Tab] [space: through] t [Ctrl+Right "he"] " " m a t
    assert tally.key_kinds == {"type": 9, "tab": 1, "word": 1}
    assert tally.keys == 11
    assert tally.chars == 22
    assert tally.keystroke_savings == pytest.approx(1 - 11 / 22)
    assert len(tally.ghosts) == 3
    assert tally.accepted_ghosts == 2
    assert tally.acceptance_rate == pytest.approx(2 / 3)
    assert tally.chars_per_acceptance == pytest.approx((11 + 2) / 2)
    assert tally.ghosts_per_100_chars == pytest.approx(300 / 22)
    typed_through = [g.typed_through for g in tally.ghosts]
    assert typed_through == [0, 1, 1]
    # a ghost is asked for after every key that did not keep one on screen
    assert "the cat sat on " not in suggester.asked  # " " was typed through


def test_a_ghost_is_counted_once_however_long_type_through_keeps_it() -> None:
    tally = Tally("x")
    screen = Screen(tally, "abcd")
    screen.pos = 1
    screen.shown("bcx", None, 1.0)
    assert screen.press(next_press(screen.ghost, "abcd", 1)) == "cx"  # "b": typed through
    assert screen.press(next_press(screen.ghost, "abcd", 2)) == "x"  # "c": typed through
    assert screen.press(next_press(screen.ghost, "abcd", 3)) is None  # "d": the ghost goes
    assert len(tally.ghosts) == 1
    assert tally.ghosts[0].typed_through == 2
    assert tally.keys == 3
    assert tally.accepted_ghosts == 0


def test_the_no_model_baseline_completes_words_of_the_document() -> None:
    words = WordCompletion()
    assert words.suggest("the quiet river and the qu") == "iet"
    assert words.suggest("the quiet river and the q") == ""  # one letter is not enough
    assert WordCompletion().suggest("the quiet river, the quarry, the quiet") == ""  # no longer
    text = "rivers flow. rivers run. rivers"
    tally = run_baseline(WordCompletion(), text)
    assert tally.keystroke_savings > 0  # "ri" -> "vers", twice


def test_eval_runs_end_to_end_on_the_tiny_model(
    tiny_model: TestModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, ghosts = tmp_path / "eval.json", tmp_path / "ghosts.jsonl"
    code = main(
        ["eval", str(SMOKE), "--model", str(tiny_model["q8_0"]), "--pace", "150",
         "--limit", "240", "--suggest-when", "always", "--json", str(out),
         "--ghosts", str(ghosts)]
    )  # fmt: skip
    assert code == 0
    table = capsys.readouterr().out
    assert "ghostpen at 150 ms/key" in table
    assert "no model" in table
    assert "raw" in table
    report = json.loads(out.read_text(encoding="utf-8"))
    runs = report["runs"]
    assert set(runs) == {"ghostpen", "ghostpen at 150 ms/key", "raw", "no model"}
    for name, figures in runs.items():
        assert figures["chars"] == 240, name
        assert 0 < figures["keys"] <= 240
        assert figures["keystroke_savings"] == pytest.approx(1 - figures["keys"] / 240)
        assert 0.0 <= figures["acceptance_rate"] <= 1.0
        assert 0.0 <= figures["junk_rate"] <= 1.0
    product = runs["ghostpen"]
    assert product["ghosts_shown"] > 0
    assert product["requests"] > 0
    assert product["prefills"] > 0
    assert product["key_to_first_paint_ms"]["p50"] is not None
    assert product["key_to_complete_ms"]["p90"] is not None
    assert product["tokens_evaluated_per_keystroke"] > 0
    assert runs["raw"]["requests"] > 0
    lines = [json.loads(line) for line in ghosts.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == sum(f["ghosts_shown"] for f in runs.values())
    first = lines[0]
    assert {"run", "offset", "before", "ghost", "confidence", "accepted", "shown_ms"} <= set(first)


def test_eval_refuses_bad_input_clearly(
    tiny_model: TestModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["eval", str(tmp_path / "missing.txt"), "--model", str(tiny_model["q8_0"])])
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", str(SMOKE), "--model", "no-such-model"])
    assert "neither a model file nor an installed model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", str(SMOKE), "--model", str(tiny_model["q8_0"]), "--without", "magic"])
    assert "unknown layer" in capsys.readouterr().err
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(SystemExit):
        main(["eval", str(latin1), "--model", str(tiny_model["q8_0"])])
    assert "not UTF-8" in capsys.readouterr().err


def test_a_settled_run_shows_the_ghost_after_the_last_key(tiny_model: TestModel) -> None:
    """The first-ghost check types a prompt, then pauses: the ghost there is on screen."""
    from app.core.engine import Engine
    from app.core.sampling import GREEDY
    from app.core.settings import SuggestionSettings
    from app.core.suggestion_policy import Features
    from app.eval.sim import PolicyRun

    with Engine(tiny_model["q8_0"]) as engine:
        run = PolicyRun(
            engine, "The ship left the harbour at dawn and ",
            settings=SuggestionSettings(suggest_when="always"), sampling=GREEDY,
            features=Features(), pace_ms=None,
        )  # fmt: skip
        tally = run.run(settle=True)
    assert run.screen.ghost
    assert not run.screen.ghost.startswith(" ")
    assert tally.ghosts
    assert tally.chars == len("The ship left the harbour at dawn and ")
