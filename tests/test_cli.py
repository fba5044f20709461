"""The ``ghostpen`` command line, end to end in a subprocess, with its error paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.engine import Engine
from app.core.sampling import GREEDY
from tests.conftest import TestModel

ROOT = Path(__file__).resolve().parents[1]


def ghostpen(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
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
    assert len(lines) == 1 and lines[0].startswith("ghostpen: error: "), proc.stderr
    assert fragment in lines[0]


GREEDY_ARGS = ("--temperature", "0", "--repeat-penalty", "1", "--seed", "0")


def test_convert_quantize_inspect_complete(tiny_model: TestModel, tmp_path: Path) -> None:
    f16 = tmp_path / "cli-f16.gguf"
    proc = ghostpen("convert", tiny_model.checkpoint, f16, "--outtype", "f16")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and f16.is_file()

    q8 = tmp_path / "cli-q8.gguf"
    proc = ghostpen("quantize", f16, q8, "--type", "q8_0", "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    assert "Q8_0" in proc.stderr

    proc = ghostpen("inspect", q8, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["architecture"] == "gpt2" and info["file_type"] == "Q8_0"
    assert info["context_length"] == 128 and info["vocab_size"] == 50257

    proc = ghostpen("inspect", q8)
    assert "architecture" in proc.stdout and "Q8_0" in proc.stdout

    text = "The ship left the harbour before dawn"
    proc = ghostpen("complete", "--model", q8, "--max-tokens", "10", *GREEDY_ARGS, text)
    assert proc.returncode == 0, proc.stderr
    with Engine(q8) as engine:
        expected = engine.complete(text, GREEDY.with_changes(max_tokens=10))
    assert proc.stdout == expected.text  # only the continuation, nothing else
    assert proc.stdout


def test_complete_reads_stdin_and_prints_timings(tiny_model: TestModel) -> None:
    text = "Snow fell on the quiet town of Ålesund 🌨️ and"
    a = ghostpen("complete", "-m", tiny_model["q8_0"], "--max-tokens", "6", *GREEDY_ARGS,
                 "--timings", "-", stdin=text)  # fmt: skip
    b = ghostpen("complete", "-m", tiny_model["q8_0"], "--max-tokens", "6", *GREEDY_ARGS, text)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout and a.stdout
    assert "tokens/s" in a.stderr and "evaluated" in a.stderr


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
    assert proc.returncode == 1 and b"not UTF-8" in proc.stderr and b"Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args", [("complete",), ("convert", "only-one"), ("quantize", "in.gguf"), ("gui", "a", "b")]
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    proc = ghostpen(*args)
    assert proc.returncode == 2 and "usage:" in proc.stderr


def test_help_lists_the_commands_and_version() -> None:
    proc = ghostpen("--help")
    assert proc.returncode == 0 and "complete" in proc.stdout and "quantize" in proc.stdout
    assert ghostpen("--version").stdout.startswith("ghostpen ")
    gui_help = ghostpen("gui", "--help")
    assert gui_help.returncode == 0 and "--model" in gui_help.stdout
