"""Untrusted model files: every malformed GGUF is refused with a clear message, and
llama.cpp itself only ever meets a file in a throwaway process first.

- (a) a corpus of malformed files (tests/support/gguf_corpus.py), one per way a file can be
  broken, each refused by ``inspect_model`` with its own message;
- (b) byte-flip fuzzing of a valid tiny GPT-2 (hypothesis, bounded): whatever the flips,
  the file is refused by validation, or the probe subprocess loads it or reports a clean
  failure; flips in the tensor data also load in this process;
- (c) files that really crash llama.cpp (SIGABRT from a GGML_ASSERT, SIGSEGV) are caught
  by the probe, which names the file, the signal and the assertion;
- (d) the probe's cache: one probe per file, a changed file is probed again, timeouts.

``pytest -s`` prints the fuzzing figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import model_probe
from app.core.engine import Engine
from app.core.gguf_info import ModelFileError, inspect_model
from app.core.model_probe import ProbeCache, ProbeError, ProbeResult, ensure_loadable, probe_model
from app.core.paths import AppPaths
from app.core.sampling import SamplingSettings
from tests.support.gguf_corpus import ARRAY, CASES, Case, CorpusFile, GgufFile, build_corpus
from tests.support.models import TestModel

#: Signals exist on POSIX only; on Windows an abort is an exit code.
POSIX = os.name == "posix"
CRASHERS = [case for case in CASES if case.crash]


@pytest.fixture(scope="module")
def corpus(
    tiny_model: TestModel, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, CorpusFile]:
    folder = tmp_path_factory.mktemp("corpus")
    return {f.name: f for f in build_corpus(tiny_model["q8_0"], folder)}


# --------------------------------------------------------------------------- (a) corpus


def test_the_corpus_writer_reproduces_a_valid_file_byte_for_byte(tiny_model: TestModel) -> None:
    """Each case is then exactly its one edit away from a real file."""
    for outtype in ("q8_0", "f16"):
        raw = tiny_model[outtype].read_bytes()
        assert GgufFile.parse(raw).to_bytes() == raw


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_every_malformed_file_is_refused_with_its_own_message(
    name: str, corpus: dict[str, CorpusFile]
) -> None:
    item = corpus[name]
    with pytest.raises(ModelFileError) as info:  # and nothing else: no IndexError, no hang
        inspect_model(item.path)
    assert item.expected in info.value.problem
    assert str(info.value).startswith(f"{item.path}: ")  # names the file


def test_no_two_malformed_files_share_a_message(corpus: dict[str, CorpusFile]) -> None:
    problems: Counter[str] = Counter()
    for item in corpus.values():
        with pytest.raises(ModelFileError) as info:
            inspect_model(item.path)
        problems[info.value.problem] += 1
    assert [p for p, n in problems.items() if n > 1] == []


def test_the_corpus_covers_the_issue_list() -> None:
    names = {case.name for case in CASES}
    for wanted in (
        "empty", "bad magic", "gguf version 4", "truncated after the header",
        "truncated after the metadata", "truncated after the tensor index",
        "truncated in a metadata string", "truncated in a tensor shape",
        "truncated in the tensor data", "absurd string length", "absurd array length",
        "tensor offset past the end", "too many dimensions", "unknown tensor type",
        "missing tokenizer", "architecture unknown to llama.cpp", "n_tensors -1", "n_kv huge",
        "duplicate tensor name", "shape disagrees with the hyperparameters",
        "overlapping tensor data", "misaligned tensor offset", "architecture not UTF-8",
        "vocabulary shorter than the embedding", "bos token out of range",
        "eos token out of range", "context length 0", "context length 2**40",
        "token type count differs", "score count differs",
    ):  # fmt: skip
        assert wanted in names


# --------------------------------------------------------------------------- (b) fuzzing


@dataclass
class FuzzSource:
    raw: bytes
    data_start: int
    structural: list[int]  # offsets of the bytes that shape the file, not vocabulary text
    tokens: list[tuple[int, int]]  # (offset, length) of each token's text
    folder: Path

    def offsets(self) -> st.SearchStrategy[int]:
        """A third each: structure, vocabulary text, anywhere before the tensor data."""
        in_token = st.sampled_from(self.tokens).flatmap(
            lambda span: st.integers(span[0], span[0] + span[1] - 1)
        )
        anywhere = st.integers(0, self.data_start - 1)
        return st.one_of(st.sampled_from(self.structural), in_token, anywhere)


def _structural_offsets(g: GgufFile) -> list[int]:
    """Header, every key's length, type and scalar value, array headers, the tensor index."""
    out = list(range(24))
    for kv in g.kvs:
        out += range(kv.start, kv.start + 8)  # key length
        out += range(kv.value_at - 4, kv.value_at)  # value type
        # arrays: item type, count and the first items; others: the whole value
        out += range(kv.value_at, kv.value_at + (12 + 64 if kv.vtype == ARRAY else len(kv.raw)))
    out += range(g.kv_end, g.data_start)  # the tensor index and its padding
    return out


@pytest.fixture(scope="module")
def fuzz_source(tiny_model: TestModel, tmp_path_factory: pytest.TempPathFactory) -> FuzzSource:
    raw = tiny_model["q8_0"].read_bytes()
    g = GgufFile.parse(raw)
    tokens, at = [], g.kv("tokenizer.ggml.tokens").value_at + 12
    for item in g.array_items("tokenizer.ggml.tokens")[1]:
        if len(item) > 8:
            tokens.append((at + 8, len(item) - 8))
        at += len(item)
    folder = tmp_path_factory.mktemp("fuzz")
    return FuzzSource(raw, g.data_start, _structural_offsets(g), tokens, folder)


Flip = tuple[int, str, int]  # offset, "bit" (xor 1 << n) or "set" (new value), n or value


def _flips(offsets: st.SearchStrategy[int]) -> st.SearchStrategy[list[Flip]]:
    """1 to 8 changed bytes: single bit flips (an ASCII token stays text, so the file gets
    past validation to the probe more often) and new values (hypothesis favours 0x00 and
    0xFF: a NUL inside a token or a name is one of the ways to crash llama.cpp)."""
    flip = st.one_of(
        st.tuples(offsets, st.just("bit"), st.integers(0, 7)),
        st.tuples(offsets, st.just("set"), st.integers(0, 255)),
    )
    return st.lists(flip, min_size=1, max_size=8)


def _mutated(src: FuzzSource, flips: list[Flip], n: int) -> Path:
    data = bytearray(src.raw)
    for offset, how, value in flips:
        if how == "bit":
            data[offset] ^= 1 << value
        else:
            data[offset] = value if value != data[offset] else value ^ 0xFF  # always a change
    path = src.folder / f"flip-{n}.gguf"
    path.write_bytes(bytes(data))
    return path


class FuzzStats:
    """Counts of what happened to the mutated files; printed at the end of a run."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.counts: Counter[str] = Counter()
        self.probe_ms: list[float] = []
        self.findings: list[str] = []
        self.reasons: Counter[str] = Counter()  # validation messages, names and numbers cut

    def judge(self, path: Path) -> ProbeResult | None:
        """Validation, then (if it passes) the probe. Returns the probe's result."""
        self.counts["tried"] += 1
        try:
            inspect_model(path)
        except ModelFileError as exc:
            self.counts["rejected by validation"] += 1
            # Not an expected raise (PT017): a file may pass or fail; a failure names it.
            assert str(exc).startswith(f"{path}: ")  # noqa: PT017
            self.reasons[re.sub(r"'[^']*'|\(.*?\)|b'.*|[\d,.]+", "_", exc.problem)[:70]] += 1
            return None
        result = probe_model(path, timeout_s=60, use_cache=False)  # every file is new
        self.probe_ms.append(result.elapsed_ms)
        if result.ok:
            self.counts["loaded in probe"] += 1
        else:
            self.counts["crashed in probe" if result.crashed else "refused in probe"] += 1
            self.findings.append(result.message)
            assert result.message.startswith(f"{path}: ")
            assert result.message.endswith("Ghostpen did not load it")
            if result.crashed:  # caught, so no failure; but validation should have seen it
                warnings.warn(f"validation let a crasher through: {result.message}", stacklevel=1)
        return result

    def report(self) -> str:
        keys = ("tried", "rejected by validation", "loaded in probe", "refused in probe",
                "crashed in probe", "loaded in-process")  # fmt: skip
        figures = ", ".join(f"{k} {self.counts[k]}" for k in keys)
        ms = sorted(self.probe_ms)
        timing = f"; probe median {ms[len(ms) // 2]:.0f} ms" if ms else ""
        found = "".join(f"\n  {line}" for line in self.findings)
        top = "".join(f"\n  {n} x {reason}" for reason, n in self.reasons.most_common(6))
        return f"[fuzz {self.label}] {figures}{timing}{top}{found}"


FUZZ_SETTINGS = settings(
    deadline=None,  # a probe takes ~0.4 s, an in-process load a little less
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_flipped_bytes_in_the_metadata_never_kill_the_app(fuzz_source: FuzzSource) -> None:
    stats = FuzzStats("metadata + tensor index")
    offsets = fuzz_source.offsets()

    @settings(FUZZ_SETTINGS, max_examples=100)
    @given(flips=_flips(offsets))
    def run(flips: list[Flip]) -> None:
        path = _mutated(fuzz_source, flips, stats.counts["tried"])
        try:
            stats.judge(path)
        finally:
            path.unlink()

    run()
    print("\n" + stats.report())
    assert stats.counts["tried"] >= 60
    assert stats.counts["rejected by validation"] > 0


def test_flipped_bytes_in_the_tensor_data_load_in_process(fuzz_source: FuzzSource) -> None:
    """The data is never read by validation, so llama.cpp meets every such file: it must
    load it (garbage weights, NaN logits are fine) both in the probe and in this process."""
    stats = FuzzStats("tensor data")
    sampling = SamplingSettings(max_tokens=4, seed=7)

    @settings(FUZZ_SETTINGS, max_examples=8)
    @given(flips=_flips(st.integers(fuzz_source.data_start, len(fuzz_source.raw) - 1)))
    def run(flips: list[Flip]) -> None:
        path = _mutated(fuzz_source, flips, stats.counts["tried"])
        try:
            result = stats.judge(path)
            assert result is not None
            assert result.ok, result.message
            with Engine(path, n_ctx=32, n_threads=1) as engine:
                engine.complete("Once upon a time", sampling)
            stats.counts["loaded in-process"] += 1
        finally:
            path.unlink()

    run()
    print("\n" + stats.report())
    assert stats.counts["loaded in-process"] == stats.counts["tried"] >= 4


def test_nan_weights_give_nan_logits_not_a_crash(tiny_model: TestModel, tmp_path: Path) -> None:
    """Every Q8_0 block scale of the embedding set to NaN: the worst the data can do."""
    g = GgufFile.parse(tiny_model["q8_0"].read_bytes())
    embd = bytearray(g.tensor("token_embd.weight").data)
    for block in range(0, len(embd), 34):  # Q8_0 block: f16 scale + 32 int8
        embd[block : block + 2] = b"\x00\x7e"  # f16 NaN
    path = tmp_path / "nan.gguf"
    path.write_bytes(g.with_tensor("token_embd.weight", data=bytes(embd)).to_bytes())
    inspect_model(path)
    result = probe_model(path, use_cache=False)
    assert result.ok
    assert result.report["logits_finite"] is False
    with Engine(path, n_ctx=32, n_threads=1) as engine:
        for temperature in (0.0, 0.7):
            done = engine.complete("Once", SamplingSettings(max_tokens=3, temperature=temperature))
            assert all(0 <= t < 50257 for t in done.token_ids)


# --------------------------------------------------------------------------- (c) real crashes


@pytest.fixture(scope="module")
def crash_results(corpus: dict[str, CorpusFile]) -> dict[str, ProbeResult]:
    """Every corpus file known to crash llama.cpp, probed (two at a time: two cores)."""

    def probe(case: Case) -> tuple[str, ProbeResult]:
        return case.name, probe_model(corpus[case.name].path, use_cache=False)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(probe, CRASHERS))


def test_there_are_real_crashers_to_test_with() -> None:
    assert len(CRASHERS) >= 10


@pytest.mark.parametrize("case", CRASHERS, ids=[case.name for case in CRASHERS])
def test_the_probe_survives_a_real_llama_cpp_crash(
    case: Case, crash_results: dict[str, ProbeResult], corpus: dict[str, CorpusFile]
) -> None:
    """Each of these files kills the process that loads it. All but one passed Ghostpen's
    validation before this change (the absurd block count made it build a tensor list of
    1.2 billion names instead); validation now refuses them (test (a)), and the probe,
    which is told nothing, still sees llama.cpp die and says how."""
    result = crash_results[case.name]
    assert case.crash is not None
    signal_name, last_words = case.crash
    assert not result.ok
    assert result.crashed
    assert not result.timed_out
    if POSIX:
        assert result.signal_name == signal_name
        assert f"llama.cpp crashed while loading it ({signal_name})" in result.message
    assert last_words in result.problem
    assert result.message.startswith(f"{corpus[case.name].path}: ")
    assert result.message.endswith("; Ghostpen did not load it")
    assert result.stderr_tail  # the last lines of llama.cpp's output are kept
    with pytest.raises(ProbeError) as info:
        result.raise_for_failure()
    assert info.value.result is result
    assert str(info.value) == result.message


def test_an_assertion_is_quoted_in_the_message(crash_results: dict[str, ProbeResult]) -> None:
    message = crash_results["duplicate token"].message
    assert "GGML_ASSERT(id_to_token.size() == token_to_id.size()) failed" in message
    assert "/tmp/" not in message.split(": ", 1)[1]  # the build folder is cut off


def test_a_refusal_is_reported_without_a_crash(corpus: dict[str, CorpusFile]) -> None:
    result = probe_model(corpus["missing tensor"].path, use_cache=False)
    assert not result.ok
    assert result.refused
    assert not result.crashed
    assert result.signal_name is None
    assert result.message == (
        f"{corpus['missing tensor'].path}: llama.cpp could not load it: check_tensor_dims: "
        "tensor 'blk.1.ffn_up.weight' not found; Ghostpen did not load it"
    )


def test_ensure_loadable_raises_for_a_crasher_and_passes_a_model(
    corpus: dict[str, CorpusFile], tiny_model: TestModel
) -> None:
    with pytest.raises(ProbeError, match=r"crashed while loading it"):
        ensure_loadable(corpus["layer norm epsilon NaN"].path)
    assert ensure_loadable(tiny_model["q8_0"]).ok


# --------------------------------------------------------------------------- (d) the cache


@pytest.fixture
def model_copy(tiny_model: TestModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file of the test's own, free to be touched and rewritten; probes it made before
    (in a cache shared by the session, if any) are not seen here."""
    monkeypatch.delenv(model_probe.CACHE_ENV, raising=False)
    return Path(shutil.copy(tiny_model["f16"], tmp_path / "model.gguf"))


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command lines of every probe process started during the test."""
    calls: list[list[str]] = []
    real = subprocess.Popen

    def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        calls.append(list(args))
        return real(args, **kwargs)

    monkeypatch.setattr(model_probe.subprocess, "Popen", popen)
    return calls


def test_a_file_that_passed_is_not_probed_again(
    model_copy: Path, spawned: list[list[str]], tmp_path: Path
) -> None:
    first = probe_model(model_copy)
    assert first.ok
    assert not first.cached
    assert len(spawned) == 1
    assert spawned[0][:3] == [sys.executable, "-m", "app.core.model_probe"]
    assert first.report["n_vocab"] == 50257
    assert first.report["logits_finite"] is True
    again = probe_model(model_copy)
    assert again.ok
    assert again.cached
    assert len(spawned) == 1
    # The key is the content: a copy (into the model store, say) keeps the pass.
    moved = Path(shutil.copy(model_copy, tmp_path / "store-copy.gguf"))
    assert probe_model(moved).cached
    assert len(spawned) == 1
    # The cache is a small JSON file in the cache folder (under GHOSTPEN_HOME here).
    cache_file = AppPaths.default().cache_dir / model_probe.CACHE_FILE
    assert model_probe.default_cache_file() == cache_file
    entries = json.loads(cache_file.read_text())["entries"]
    assert [e["path"] for e in entries.values()] == [str(model_copy.resolve())]


def test_a_changed_file_is_probed_again(
    model_copy: Path, spawned: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert probe_model(model_copy).ok
    before = model_copy.stat()
    # One byte of a BPE merge changed ("Ġ t" -> "Ġ q"), size and mtime kept: the hash sees it.
    raw = bytearray(model_copy.read_bytes())
    at = raw.index(b"\x04\x00\x00\x00\x00\x00\x00\x00\xc4\xa0 t", raw.index(b"ggml.merges"))
    raw[at + 11] = ord("q")
    model_copy.write_bytes(bytes(raw))
    os.utime(model_copy, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert model_copy.stat().st_mtime_ns == before.st_mtime_ns
    result = probe_model(model_copy)
    assert result.ok
    assert not result.cached
    assert len(spawned) == 2
    assert probe_model(model_copy).cached
    assert len(spawned) == 2
    # Touching the file changes nothing that matters...
    os.utime(model_copy, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    assert probe_model(model_copy).cached
    assert len(spawned) == 2
    # ...a byte more does, and so does an upgraded llama.cpp.
    with model_copy.open("ab") as fh:
        fh.write(b"\0")
    assert not probe_model(model_copy).cached
    assert len(spawned) == 3
    monkeypatch.setattr(model_probe, "_llama_version", lambda: "0.0.0-another")
    assert not probe_model(model_copy).cached
    assert len(spawned) == 4


def test_failures_are_not_remembered(
    corpus: dict[str, CorpusFile], spawned: list[list[str]], tmp_path: Path
) -> None:
    cache = ProbeCache(tmp_path / "probe.json")
    path = corpus["missing tensor"].path
    assert not probe_model(path, cache=cache).ok
    assert not probe_model(path, cache=cache).ok
    assert len(spawned) == 2
    assert not cache.passed(path)


def test_a_probe_that_takes_too_long_is_stopped(model_copy: Path) -> None:
    # No Python starts, imports llama.cpp and loads a model within 10 ms.
    result = probe_model(model_copy, timeout_s=0.01)
    assert result.returncode is not None  # the child was killed and reaped
    assert result.timed_out
    assert not result.ok
    assert not result.crashed
    assert "did not finish loading it within the time allowed (0.01 s)" in result.message
    assert result.message.endswith("Ghostpen did not load it")
    assert not ProbeCache().passed(model_copy)


def test_a_cancelled_probe_stops(model_copy: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    result = probe_model(model_copy, cancel=cancel)
    assert result.cancelled
    assert not result.ok
    assert "cancelled" in result.message


def test_a_damaged_cache_file_means_probing_again(model_copy: Path, tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "probe.json")
    cache.file.write_text("{not json")
    result = probe_model(model_copy, cache=cache)
    assert result.ok
    assert not result.cached
    assert probe_model(model_copy, cache=cache).cached  # rewritten as valid JSON


def test_the_child_refuses_a_bad_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert model_probe.main([]) == 2
    assert "usage" in capsys.readouterr().err
