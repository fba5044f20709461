"""The ``ghostpen`` command line, end to end in a subprocess, with its error paths."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.complete import COMPLETE_MAX_TOKENS, DRAFT_MAX_TOKENS, resolve_sampling
from app.cli.program import build_parser
from app.core.engine import Engine
from app.core.sampling import GREEDY, PRESETS, SamplingSettings, SettingError
from tests.support.models import TestModel

ROOT = Path(__file__).resolve().parents[2]


def ghostpen(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=300,
        encoding="utf-8",
    )  # fmt: skip


def assert_clean_failure(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ghostpen: error: "), proc.stderr
    assert fragment in lines[0]


GREEDY_ARGS = ("--temperature", "0", "--repeat-penalty", "1", "--seed", "0")


def test_convert_quantize_inspect_complete(tiny_model: TestModel, tmp_path: Path) -> None:
    f16 = tmp_path / "cli-f16.gguf"
    proc = ghostpen("convert", tiny_model.checkpoint, f16, "--outtype", "f16")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert f16.is_file()

    q8 = tmp_path / "cli-q8.gguf"
    proc = ghostpen("quantize", f16, q8, "--type", "q8_0", "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    assert "Q8_0" in proc.stderr

    proc = ghostpen("inspect", q8, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["architecture"] == "gpt2"
    assert info["file_type"] == "Q8_0"
    assert info["context_length"] == 128
    assert info["vocab_size"] == 50257

    proc = ghostpen("inspect", q8)
    assert "architecture" in proc.stdout
    assert "Q8_0" in proc.stdout

    text = "The ship left the harbour before dawn"
    proc = ghostpen("complete", "--model", q8, "--max-tokens", "10", *GREEDY_ARGS, text)
    assert proc.returncode == 0, proc.stderr
    with Engine(q8) as engine:
        expected = engine.complete(
            text, GREEDY.with_changes(max_tokens=10), heal=True, avoid_markup=True
        )
        raw = engine.complete(text, GREEDY.with_changes(max_tokens=10))
    assert proc.stdout == expected.text  # only the continuation, nothing else
    assert proc.stdout
    # --no-heal continues the raw text, as a plain completion API does
    proc = ghostpen(
        "complete", "--model", q8, "--max-tokens", "10", "--no-heal", *GREEDY_ARGS, text
    )
    assert proc.returncode == 0
    assert proc.stdout == raw.text


def test_complete_reads_stdin_and_prints_timings(tiny_model: TestModel) -> None:
    text = "Snow fell on the quiet town of Ålesund 🌨️ and"
    a = ghostpen("complete", "-m", tiny_model["q8_0"], "--max-tokens", "6", *GREEDY_ARGS,
                 "--timings", "-", stdin=text)  # fmt: skip
    b = ghostpen("complete", "-m", tiny_model["q8_0"], "--max-tokens", "6", *GREEDY_ARGS, text)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout
    assert a.stdout
    assert "tokens/s" in a.stderr
    assert "evaluated" in a.stderr


def test_missing_model_fails_cleanly(tmp_path: Path) -> None:
    assert_clean_failure(
        ghostpen("complete", "--model", tmp_path / "none.gguf", "Hello"), "no such file"
    )


def test_broken_model_fails_cleanly(tiny_model: TestModel, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_model["q8_0"].read_bytes()[:3000])
    assert_clean_failure(ghostpen("inspect", broken), "truncated")
    assert_clean_failure(ghostpen("complete", "-m", broken, "Hi"), "truncated")


def test_out_of_range_setting_names_the_range(tiny_model: TestModel) -> None:
    assert_clean_failure(
        ghostpen("complete", "-m", tiny_model["q8_0"], "--temperature", "9", "Hi"),
        "temperature must be a number from 0 to 5",
    )
    assert_clean_failure(
        ghostpen("complete", "-m", tiny_model["q8_0"], "--ctx", "4096", "Hi"),
        "context size 4096 is out of range",
    )


def test_pickle_checkpoint_is_refused(tiny_model: TestModel, tmp_path: Path) -> None:
    folder = tmp_path / "pickled"
    folder.mkdir()
    shutil.copy(tiny_model.checkpoint / "config.json", folder)
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02")
    assert_clean_failure(
        ghostpen("convert", folder, tmp_path / "out.gguf"), "only pytorch_model.bin was found"
    )


def test_quantize_unknown_type_fails_cleanly(tiny_model: TestModel, tmp_path: Path) -> None:
    assert_clean_failure(
        ghostpen("quantize", tiny_model["f16"], tmp_path / "o.gguf", "--type", "Q9_9"),
        "unknown quantization type",
    )


def test_non_utf8_stdin_fails_cleanly(tiny_model: TestModel) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app", "complete", "-m", str(tiny_model["q8_0"]), "-"],
        input=b"caf\xe9 latte", capture_output=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert b"not UTF-8" in proc.stderr
    assert b"Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("complete",),
        ("draft",),
        ("convert", "only-one"),
        ("quantize", "in.gguf"),
        ("gui", "a", "b"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    proc = ghostpen(*args)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr


def test_help_lists_the_commands_and_version() -> None:
    proc = ghostpen("--help")
    assert proc.returncode == 0
    assert "complete" in proc.stdout
    assert "quantize" in proc.stdout
    assert "draft" in proc.stdout
    assert ghostpen("--version").stdout.startswith("ghostpen ")
    gui_help = ghostpen("gui", "--help")
    assert gui_help.returncode == 0
    assert "--model" in gui_help.stdout


# --------------------------------------------------------------------------- draft


def engine_text(model: Path, text: str, settings: SamplingSettings) -> str:
    """What the engine writes after ``text``, healed as the command line does."""
    with Engine(model) as engine:
        return engine.complete(text, settings, heal=True, avoid_markup=True).text


def test_draft_prints_the_engines_continuation(tiny_model: TestModel) -> None:
    """Without --max-tokens a draft is 256 tokens: longer than the tiny model's 128-token
    context, so the window slides on the way, exactly as in the engine."""
    model = tiny_model["q8_0"]
    text = "The letter arrived on a Tuesday, and"
    proc = ghostpen("draft", "-m", model, *GREEDY_ARGS, text)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    expected = engine_text(model, text, GREEDY.with_changes(max_tokens=DRAFT_MAX_TOKENS))
    assert proc.stdout == expected
    assert len(proc.stdout) > len(engine_text(model, text, GREEDY.with_changes(max_tokens=32)))


def test_draft_reads_stdin_and_prints_timings(tiny_model: TestModel) -> None:
    text = "Snow fell on the quiet town of Ålesund 🌨️ and"
    args = ("draft", "-m", tiny_model["q8_0"], "--max-tokens", "40", *GREEDY_ARGS)
    a = ghostpen(*args, "--timings", "-", stdin=text)
    b = ghostpen(*args, text)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert (
        a.stdout
        == b.stdout
        == engine_text(tiny_model["q8_0"], text, GREEDY.with_changes(max_tokens=40))
    )
    assert "generated 40 tokens" in a.stderr
    assert "tokens/s" in a.stderr
    assert b.stderr == ""


@pytest.mark.parametrize("command", ["complete", "draft"])
def test_preset_with_overrides_end_to_end(tiny_model: TestModel, command: str) -> None:
    """A seeded creative run differs from a seeded balanced one: the preset really applies."""
    model, text = tiny_model["q8_0"], "Across the valley the bells"
    proc = ghostpen(command, "-m", model, "--preset", "creative", "--top-k", "50",
                    "--seed", "11", "--max-tokens", "24", text)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    creative = PRESETS["creative"].with_changes(top_k=50, seed=11, max_tokens=24)
    assert proc.stdout == engine_text(model, text, creative)
    balanced = SamplingSettings(top_k=50, seed=11, max_tokens=24)
    assert proc.stdout != engine_text(model, text, balanced)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_stops_a_draft_cleanly_keeping_what_was_printed(tiny_model: TestModel) -> None:
    """The first piece is read before the signal goes, so the draft is surely mid-way."""
    model, text = tiny_model["q8_0"], "It was the last summer before the war"
    child = subprocess.Popen(
        [sys.executable, "-m", "app", "draft", "-m", str(model), "--max-tokens", "4096",
         *GREEDY_ARGS, "--timings", text],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert child.stdout is not None
    first = os.read(child.stdout.fileno(), 4096)  # blocks until the first piece
    child.send_signal(signal.SIGINT)
    rest, err = child.communicate(timeout=120)
    printed = (first + rest).decode("utf-8")
    stderr = err.decode("utf-8")
    assert child.returncode == 130, stderr
    assert stderr.endswith("stop: cancelled; seed 0\nghostpen: interrupted\n"), stderr
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 2
    full = engine_text(model, text, GREEDY.with_changes(max_tokens=4096))
    assert first
    assert full.startswith(printed)
    assert len(printed) < len(full)


@pytest.mark.parametrize("command", ["complete", "draft"])
def test_unknown_preset_lists_the_presets(tiny_model: TestModel, command: str) -> None:
    assert_clean_failure(
        ghostpen(command, "-m", tiny_model["q8_0"], "--preset", "wild", "Hi"),
        "unknown preset 'wild'; the presets are precise, balanced, creative",
    )


def test_draft_errors_fail_cleanly(tiny_model: TestModel, tmp_path: Path) -> None:
    assert_clean_failure(ghostpen("draft", "-m", tmp_path / "none.gguf", "Hi"), "no such file")
    assert_clean_failure(
        ghostpen("draft", "-m", tiny_model["q8_0"], "--preset", "precise", "--top-p", "2", "Hi"),
        "top_p must be a number from 0 to 1",
    )
    assert_clean_failure(
        ghostpen("draft", "-m", tiny_model["q8_0"], "--max-tokens", "0", "Hi"),
        "max_tokens must be an integer from 1 to 4096",
    )


# --------------------------------------------------------------------------- resolve_sampling


def parse(*args: str) -> argparse.Namespace:
    return build_parser().parse_args([*args, "-m", "model.gguf", "some text"])


def test_resolve_without_options_gives_the_defaults_per_command() -> None:
    assert resolve_sampling(parse("draft")) == SamplingSettings(max_tokens=DRAFT_MAX_TOKENS)
    assert resolve_sampling(parse("complete")) == SamplingSettings(max_tokens=COMPLETE_MAX_TOKENS)
    assert (COMPLETE_MAX_TOKENS, DRAFT_MAX_TOKENS) == (32, 256)


@pytest.mark.parametrize("name", list(PRESETS))
def test_resolve_a_preset_keeps_the_commands_length(name: str) -> None:
    assert resolve_sampling(parse("draft", "--preset", name)) == PRESETS[name].with_changes(
        max_tokens=DRAFT_MAX_TOKENS
    )
    assert resolve_sampling(parse("complete", "--preset", name.upper())) == PRESETS[
        name
    ].with_changes(max_tokens=COMPLETE_MAX_TOKENS)


def test_resolve_an_explicit_default_value_still_beats_the_preset() -> None:
    """--temperature 0.7 is the default value, but it was given, so precise's 0.3 loses."""
    got = resolve_sampling(parse("draft", "--preset", "precise", "--temperature", "0.7"))
    assert got == PRESETS["precise"].with_changes(temperature=0.7, max_tokens=DRAFT_MAX_TOKENS)
    assert got.top_k == 20
    assert got.min_p == 0.1
    assert got.repeat_penalty == 1.15


def test_resolve_request_options_with_a_preset() -> None:
    got = resolve_sampling(parse("complete", "--preset", "creative", "--seed", "3",
                                 "--stop", "\n\n", "--stop", ".", "--max-tokens", "9"))  # fmt: skip
    assert got == PRESETS["creative"].with_changes(seed=3, stop=("\n\n", "."), max_tokens=9)


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--temperature", "0", "temperature"),
        ("--top-k", "7", "top_k"),
        ("--top-p", "0.5", "top_p"),
        ("--min-p", "0.25", "min_p"),
        ("--typical-p", "0.8", "typical_p"),
        ("--repeat-penalty", "1.0", "repeat_penalty"),
        ("--repeat-last-n", "0", "repeat_last_n"),
        ("--presence-penalty", "0.5", "presence_penalty"),
        ("--frequency-penalty", "-0.5", "frequency_penalty"),
    ],
)
def test_resolve_every_option_overrides_the_preset(option: str, value: str, field: str) -> None:
    got = resolve_sampling(parse("draft", "--preset", "creative", option, value))
    expected = PRESETS["creative"].with_changes(
        max_tokens=DRAFT_MAX_TOKENS, **{field: float(value)}
    )
    assert got == expected
    assert getattr(got, field) != getattr(PRESETS["creative"], field)  # the option mattered


def test_resolve_rejects_an_unknown_preset() -> None:
    with pytest.raises(SettingError, match="unknown preset 'loud'; the presets are precise, bal"):
        resolve_sampling(parse("draft", "--preset", "loud"))
