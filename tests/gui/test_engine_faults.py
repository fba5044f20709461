"""Engine faults: the model file changing under a loaded model, out of memory on load, and
an exception inside the worker.

Each fault gives a clear message, turns suggestions off, leaves the document as the writer
made it, and loading a good model brings suggestions back. Everything is real: llama.cpp,
the window (offscreen), files changed on disk the way other programs change them, and a
KV cache llama.cpp cannot allocate. The one seam is the injected exception.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

import gguf
import llama_cpp
import numpy as np
import pytest
from PySide6.QtCore import QTranslator
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core import engine_memory
from app.core.convert import read_tokenizer
from app.core.engine import Engine, FileStamp
from app.core.engine_api import EngineError, ModelFileChangedError
from app.core.engine_memory import kv_cache_bytes
from app.core.llama_runtime import BuildInfo, watch_log
from app.core.model_probe import PROBE_TIMEOUT_S
from app.core.sampling import GREEDY
from app.core.settings import RuntimeSettings
from app.gui.main_window import MainWindow
from app.gui.worker import RELOAD_HINT, LoadedModel, LoadRequest, gpu_gone_notice
from tests.support.gpu import fail_on_the_gpu
from tests.support.gui import TEXT, WAIT_MS, requests_sent, settle, type_and_wait
from tests.support.models import TestModel
from tests.support.reference.gpt2_bpe import DEFAULT_TOKENIZER_DIR, ENDOFTEXT_ID

STORY = "The lighthouse keeper counted the ships as they passed, one by one, until"

# ------------------------------------------------------------------ helpers


def _meminfo_kib(*names: str) -> int:
    with open("/proc/meminfo", encoding="ascii") as fh:
        fields = {k: v.split()[0] for k, _, v in (line.partition(":") for line in fh)}
    return sum(int(fields[name]) for name in names)


def _overcommit_always() -> bool:
    """vm.overcommit_memory = 1: any allocation succeeds and the OOM killer acts later."""
    try:
        return Path("/proc/sys/vm/overcommit_memory").read_text().strip() == "1"
    except OSError:
        return True


class _Hole:
    """Stands in for a tensor's data: the writer seeks past it, leaving a hole of zeros."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes

    def tofile(self, fh: BinaryIO) -> None:
        fh.seek(self.nbytes, os.SEEK_CUR)


def write_long_context_gguf(path: Path, *, n_ctx: int, n_layer: int, n_embd: int) -> Path:
    """A valid GPT-2 GGUF trained (so to speak) for ``n_ctx`` tokens, with zero weights.

    The real GPT-2 tokenizer and every tensor llama.cpp wants, at the shapes it checks;
    the data are holes in a sparse file, so a model whose position table alone is hundreds
    of MB costs a few MB of disk and half a second to write.
    """
    tok = read_tokenizer(Path(DEFAULT_TOKENIZER_DIR), ENDOFTEXT_ID + 1)
    writer = gguf.GGUFWriter(str(path), "gpt2")
    writer.add_name("long-context test model")
    writer.add_context_length(n_ctx)
    writer.add_embedding_length(n_embd)
    writer.add_feed_forward_length(4 * n_embd)
    writer.add_block_count(n_layer)
    writer.add_head_count(4)
    writer.add_layer_norm_eps(1e-5)
    writer.add_file_type(int(gguf.LlamaFileType.MOSTLY_F16))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tok.tokens)
    writer.add_token_types(tok.types)
    writer.add_token_merges(tok.merges)
    writer.add_bos_token_id(ENDOFTEXT_ID)
    writer.add_eos_token_id(ENDOFTEXT_ID)
    writer.add_add_bos_token(False)
    e, ff, vocab = n_embd, 4 * n_embd, len(tok.tokens)
    f16, f32 = np.dtype(np.float16), np.dtype(np.float32)
    tensors: list[tuple[str, tuple[int, ...], np.dtype]] = [
        ("token_embd.weight", (vocab, e), f16),
        ("position_embd.weight", (n_ctx, e), f32),
        ("output_norm.weight", (e,), f32),
        ("output_norm.bias", (e,), f32),
    ]
    for i in range(n_layer):
        b = f"blk.{i}."
        tensors += [
            (b + "attn_norm.weight", (e,), f32), (b + "attn_norm.bias", (e,), f32),
            (b + "attn_qkv.weight", (3 * e, e), f16), (b + "attn_qkv.bias", (3 * e,), f32),
            (b + "attn_output.weight", (e, e), f16), (b + "attn_output.bias", (e,), f32),
            (b + "ffn_norm.weight", (e,), f32), (b + "ffn_norm.bias", (e,), f32),
            (b + "ffn_up.weight", (ff, e), f16), (b + "ffn_up.bias", (ff,), f32),
            (b + "ffn_down.weight", (e, ff), f16), (b + "ffn_down.bias", (e,), f32),
        ]  # fmt: skip
    for name, shape, dtype in tensors:
        writer.add_tensor_info(name, shape, dtype, int(np.prod(shape)) * dtype.itemsize)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _name, shape, dtype in tensors:
        # Not an array (hence the ignore): a stand-in of which gguf calls only tofile.
        writer.write_tensor_data(_Hole(int(np.prod(shape)) * dtype.itemsize))  # type: ignore[arg-type]
    assert writer.fout is not None
    end = writer.fout[0].tell()
    writer.close()
    os.truncate(path, end)  # the last hole must still be part of the file
    return path


@pytest.fixture(scope="module")
def long_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A model whose training context allows a KV cache twice this machine's RAM + swap.

    512 layers of 128 wide: 256 KiB of f16 keys and values per token, so the context that
    cannot fit is a few hundred thousand tokens (llama.cpp's limit is billions).
    """
    if not sys.platform.startswith("linux"):
        pytest.skip("sizing the model to this machine's memory reads /proc/meminfo")
    per_token = 512 * 2 * 128 * 2
    want = 2 * _meminfo_kib("MemTotal", "SwapTotal") * 1024 // per_token
    n_ctx = 1 << max(want - 1, 1).bit_length()  # gguf_info accepts up to 2**24
    path = tmp_path_factory.mktemp("long") / "long-context.gguf"
    return write_long_context_gguf(path, n_ctx=n_ctx, n_layer=512, n_embd=128), n_ctx


@pytest.fixture
def model_copy(tiny_model: TestModel, tmp_path: Path) -> Path:
    """A model file of the writer's own, which the tests may delete or change."""
    return Path(shutil.copyfile(tiny_model["q8_0"], tmp_path / "my-model.gguf"))


def _replace_by_rename(path: Path, source: Path) -> None:
    """What a download tool or an editor does: write a new file, rename it over the old."""
    tmp = path.with_name(path.name + ".new")
    shutil.copyfile(source, tmp)
    os.replace(tmp, path)


# ------------------------------------------------------------------ the engine


def test_small_models_are_read_into_memory_so_a_file_truncated_mid_request_is_harmless(
    model_copy: Path,
) -> None:
    """A memory-mapped model would die of SIGBUS here; one read into memory finishes."""
    settings = GREEDY.with_changes(max_tokens=16)
    with Engine(model_copy, n_threads=1) as engine:
        assert engine.in_memory
        expected = engine.complete(STORY, settings)
        engine.reset()
        pieces: list[str] = []

        def truncate_on_first_piece(piece: str) -> None:
            if not pieces:
                os.truncate(model_copy, 4096)  # another program, after the request's check
            pieces.append(piece)

        result = engine.complete(STORY, settings, on_text=truncate_on_first_piece)
        assert result.token_ids == expected.token_ids
        with pytest.raises(ModelFileChangedError, match="was modified") as caught:
            engine.complete(STORY, settings)  # the next request notices
        assert not caught.value.deleted


@pytest.mark.parametrize("change", ["deleted", "replaced", "rewritten", "truncated", "touched"])
def test_a_changed_file_is_detected_before_a_mapped_model_reads_it(
    model_copy: Path, tiny_model: TestModel, change: str
) -> None:
    """Memory-mapped (as models over 2 GiB are), the check is what stands between a file
    truncated in place and a SIGBUS that would end this test process."""
    loaded = FileStamp.of(model_copy)
    later = (loaded.mtime_ns, loaded.mtime_ns + 1_000_000)
    with Engine(model_copy, n_threads=1, in_memory=False) as engine:
        assert not engine.in_memory
        assert engine.file_change() is None
        engine.complete(STORY, GREEDY.with_changes(max_tokens=4))
        if change == "deleted":
            model_copy.unlink()
        elif change == "replaced":
            _replace_by_rename(model_copy, tiny_model["f16"])
        elif change == "rewritten":  # same inode and size, new bytes
            with model_copy.open("r+b") as fh:
                fh.seek(1 << 20)
                fh.write(b"\xff" * (1 << 20))
            # the write's mtime comes from a coarse clock (a few ms): within the tick of
            # the load it could equal the stamp, which no stat-based check can see
            os.utime(model_copy, ns=later)
        elif change == "truncated":
            os.truncate(model_copy, 4096)
        else:
            os.utime(model_copy, ns=later)
        expected = {
            "deleted": "was deleted or moved",
            "replaced": "was replaced by another file",
            "rewritten": "was modified",
            "truncated": "was modified (its size went from",
            "touched": "was modified",
        }[change]
        with pytest.raises(ModelFileChangedError) as caught:
            engine.complete(STORY, GREEDY.with_changes(max_tokens=4))
        message = str(caught.value)
        assert expected in message
        assert model_copy.name in message
        assert "while it was in use" in message
        assert caught.value.deleted is (change == "deleted")
        with pytest.raises(ModelFileChangedError):
            engine.next_token_logits(STORY)  # the sampler view's call is guarded too


def test_loading_a_model_never_silences_the_process_output(
    tiny_model: TestModel, capfd: pytest.CaptureFixture[str]
) -> None:
    """llama-cpp-python's quiet mode points fds 1 and 2 at /dev/null during a load: in the
    app, whatever the GUI thread printed meanwhile was lost (the bench's start-up line)."""
    written: list[str] = []

    def write_during_the_load(line: str) -> None:  # llama.cpp logs while it loads
        if not written:
            os.write(1, b"stdout during the load\n")
            os.write(2, b"stderr during the load\n")
            written.append(line)

    with watch_log(write_during_the_load), Engine(tiny_model["q8_0"], n_threads=1):
        pass
    out, err = capfd.readouterr()
    assert written
    assert "stdout during the load" in out
    assert "stderr during the load" in err


def test_kv_cache_estimate_matches_what_llama_cpp_allocates(tiny_model: TestModel) -> None:
    for n_ctx, kv_type in ((100, "f16"), (128, "f32"), (17, "f16")):
        lines: list[str] = []
        with watch_log(lines.append):
            engine = Engine(tiny_model["q8_0"], n_ctx=n_ctx, n_threads=1, kv_cache_type=kv_type)
        with engine:
            sizes = [
                float(m.group(1))
                for line in lines
                if (m := re.search(r"llama_kv_cache: size =\s*([\d.]+) MiB", line))
            ]
            assert len(sizes) == 1, lines[-20:]
            estimate = kv_cache_bytes(engine.info, n_ctx, kv_type)
            assert abs(estimate / 2**20 - sizes[0]) < 0.01, (n_ctx, kv_type)


@pytest.mark.parametrize("n_gpu_layers", [0, -1])
def test_a_context_too_large_for_memory_is_refused_with_the_figures(
    long_model: tuple[Path, int], n_gpu_layers: int
) -> None:
    """With GPU layers but no GPU to take them (a CPU build), the system's memory counts."""
    if n_gpu_layers and llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama.cpp can offload: the GPU's memory counts")
    path, n_ctx = long_model
    with pytest.raises(EngineError) as caught:
        Engine(path, n_ctx=n_ctx, n_threads=1, n_gpu_layers=n_gpu_layers)
    message = str(caught.value)
    assert f"not enough memory for a context of {n_ctx:,} tokens" in message
    assert "its KV cache needs about" in message
    assert "GiB" in message
    assert "Choose a smaller context size" in message


def test_llama_cpp_failing_to_allocate_is_an_error_not_a_crash(
    long_model: tuple[Path, int], tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the check (as where free memory is unknown), llama.cpp's own allocation of the
    KV cache fails: that must come back as an EngineError, and the process go on."""
    if _overcommit_always():
        pytest.skip("with vm.overcommit_memory=1 the allocation succeeds and the OOM killer acts")
    path, n_ctx = long_model
    monkeypatch.setattr(engine_memory, "available_memory", lambda: None)
    with pytest.raises(EngineError) as caught:
        Engine(path, n_ctx=n_ctx, n_threads=1)
    message = str(caught.value)
    assert f"could not create a context of {n_ctx:,} tokens" in message
    assert "failed to allocate" in message
    assert "Choose a smaller context size" in message
    with Engine(tiny_model["q8_0"], n_threads=1) as engine:  # nothing was left broken
        assert engine.complete(STORY, GREEDY.with_changes(max_tokens=4)).token_ids


# ------------------------------------------------------------------ in the window


def _load(qtbot: QtBot, w: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as blocker:
        w.model_controller.load_model(path)
    assert blocker.args[0] is not None, w.banner.text()


def _diverging(w: MainWindow) -> str:
    """Words to type that leave the ghost (typing through it would ask nothing)."""
    return ", and" if w.editor.ghost_text().startswith(" ") else " and"


def _type_into_the_fault(qtbot: QtBot, w: MainWindow) -> str:
    """Type; the request that follows meets the fault and suggestions go off."""
    words = _diverging(w)
    with qtbot.waitSignal(
        w.controller.modelChanged, timeout=WAIT_MS, check_params_cb=lambda m: m is None
    ):
        qtbot.keyClicks(w.editor, words)
    return words


def _assert_off_with_the_document_intact(
    qtbot: QtBot, w: MainWindow, typed: str, *words: str
) -> None:
    """Suggestions off, the banner says why (``words``), the text is what was typed."""
    assert not w.controller.enabled
    banner = w.banner.text()
    assert w.banner.isVisible(), banner
    assert banner.startswith("Suggestions are off:"), banner
    for word in words:
        assert word in banner, banner
    assert w.editor.toPlainText() == typed
    assert w.editor.ghost_text() == ""
    assert w.worker.thread.isRunning()
    # the writer goes on writing; nothing is asked of the engine
    sent = requests_sent(w)
    qtbot.keyClicks(w.editor, " still here")
    settle(qtbot, w)
    assert sent == []
    assert w.editor.toPlainText() == typed + " still here"


def _assert_recovers(qtbot: QtBot, w: MainWindow, model: Path) -> None:
    _load(qtbot, w, model)
    assert w.controller.enabled
    assert not w.banner.isVisible()
    w.editor.setPlainText("")
    assert type_and_wait(qtbot, w, TEXT)


def test_a_deleted_model_turns_suggestions_off_and_a_reload_recovers(
    qtbot: QtBot, window: MainWindow, model_copy: Path, tiny_model: TestModel
) -> None:
    _load(qtbot, window, model_copy)
    type_and_wait(qtbot, window, TEXT)
    model_copy.unlink()
    words = _type_into_the_fault(qtbot, window)
    _assert_off_with_the_document_intact(
        qtbot, window, TEXT + words, "my-model.gguf", "was deleted or moved", "Load a model again"
    )
    _assert_recovers(qtbot, window, tiny_model["q8_0"])


def test_a_replaced_model_is_loaded_again_and_suggestions_go_on(
    qtbot: QtBot, window: MainWindow, model_copy: Path, tiny_model: TestModel
) -> None:
    _load(qtbot, window, model_copy)
    type_and_wait(qtbot, window, TEXT)
    _replace_by_rename(model_copy, tiny_model["f16"])
    loaded: list[LoadedModel | None] = []
    window.controller.modelChanged.connect(loaded.append)
    words = _diverging(window)
    with qtbot.waitSignal(window.controller.suggestionShown, timeout=WAIT_MS):
        qtbot.keyClicks(window.editor, words)  # the same request runs on the new file
    assert [m.info.file_type if m and m.info else None for m in loaded] == ["F16"]
    assert window.controller.enabled
    assert not window.banner.isVisible()
    assert window.editor.toPlainText() == TEXT + words


def test_a_model_truncated_in_place_turns_suggestions_off_and_a_reload_recovers(
    qtbot: QtBot, window: MainWindow, model_copy: Path, tiny_model: TestModel
) -> None:
    _load(qtbot, window, model_copy)
    type_and_wait(qtbot, window, TEXT)
    os.truncate(model_copy, 4000)  # e.g. a copy over it that is still being written
    words = _type_into_the_fault(qtbot, window)
    _assert_off_with_the_document_intact(
        qtbot,
        window,
        TEXT + words,
        "was modified",
        "could not be loaded again",
        "truncated",
        "Load a model again",
    )
    _assert_recovers(qtbot, window, tiny_model["q8_0"])


@pytest.mark.parametrize("where", ["checked", "in llama.cpp"])
def test_out_of_memory_on_load_turns_suggestions_off_and_a_reload_recovers(
    qtbot: QtBot,
    window: MainWindow,
    long_model: tuple[Path, int],
    tiny_model: TestModel,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    if where == "in llama.cpp":
        if _overcommit_always():
            pytest.skip("with vm.overcommit_memory=1 the OOM killer would act instead")
        monkeypatch.setattr(engine_memory, "available_memory", lambda: None)
    path, n_ctx = long_model
    window.set_auto_suggest(False)
    qtbot.keyClicks(window.editor, TEXT)
    window.set_auto_suggest(True)
    # The 512-layer model's probe takes seconds on a quiet machine and much longer on a busy
    # one; the probe ends within its own bound, so the answer comes within that plus a wait.
    load_wait_ms = int(PROBE_TIMEOUT_S * 1000) + WAIT_MS
    with qtbot.waitSignal(window.controller.modelChanged, timeout=load_wait_ms) as blocker:
        window.worker.commands.load.emit(LoadRequest(str(path), n_ctx=n_ctx))
    assert blocker.args == [None]
    words = (
        ("not enough memory", "GiB")
        if where == "checked"
        else ("could not create a context", "failed to allocate")
    )
    _assert_off_with_the_document_intact(qtbot, window, TEXT, "long-context.gguf", *words)
    _assert_recovers(qtbot, window, tiny_model["q8_0"])


def test_an_exception_in_the_worker_turns_suggestions_off_and_a_reload_recovers(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    type_and_wait(qtbot, window, TEXT)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("injected fault")

    with monkeypatch.context() as patch:
        patch.setattr(Engine, "complete", broken)  # the seam: the worker's engine call raises
        words = _type_into_the_fault(qtbot, window)
        assert "RuntimeError: injected fault" in window.banner.text()
        _assert_off_with_the_document_intact(
            qtbot, window, TEXT + words, "failed unexpectedly", "Load a model again"
        )
    _assert_recovers(qtbot, window, tiny_model["q8_0"])


_FRENCH_FAULTS = f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr" sourcelanguage="en">
<context><name>EngineWorker</name>
<message><source>the suggestion engine failed unexpectedly (%1: %2). %3</source>
<translation>le moteur de suggestions a échoué ( %1 : %2 ). %3</translation></message>
<message><source>{RELOAD_HINT.template}</source>
<translation>Chargez de nouveau un modèle pour les réactiver.</translation></message>
</context>
<context><name>SuggestionController</name>
<message><source>Suggestions are off: %1</source>
<translation>Suggestions désactivées : %1</translation></message>
</context>
</TS>
"""


def test_a_fault_reaches_the_banner_in_the_writers_language(
    qtbot: QtBot,
    window: MainWindow,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The worker's message crosses the thread as a Text and is translated where shown."""
    lrelease = Path(sys.executable).parent / "pyside6-lrelease"
    if not lrelease.exists():
        pytest.skip("pyside6-lrelease not installed")
    ts, qm = tmp_path / "faults_fr.ts", tmp_path / "faults_fr.qm"
    ts.write_text(_FRENCH_FAULTS, encoding="utf-8")
    subprocess.run([str(lrelease), str(ts), "-qm", str(qm)], check=True, capture_output=True)
    translator = QTranslator()
    assert translator.load(str(qm))
    app = QApplication.instance()
    assert app is not None
    assert app.installTranslator(translator)
    try:
        type_and_wait(qtbot, window, TEXT)

        def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("injected fault")

        monkeypatch.setattr(Engine, "complete", broken)
        _type_into_the_fault(qtbot, window)
    finally:
        app.removeTranslator(translator)
    assert window.banner.text() == (
        "Suggestions désactivées : le moteur de suggestions a échoué ( RuntimeError : "
        "injected fault ). Chargez de nouveau un modèle pour les réactiver."
    )


# ------------------------------------------------------------------ the GPU


def _load_with_gpu_layers(qtbot: QtBot, w: MainWindow, path: Path) -> LoadedModel:
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS) as blocker:
        w.controller.load_model(str(path), RuntimeSettings(n_gpu_layers=-1))
    model = blocker.args[0]
    assert model is not None, w.banner.text()
    return model


def _assert_on_the_cpu_with_the_notice(qtbot: QtBot, w: MainWindow, model: LoadedModel) -> None:
    assert model.n_gpu_layers == 0
    assert model.offloaded_layers == (0, 3)
    assert w.controller.enabled
    banner = w.banner.text()
    assert w.banner.isVisible()
    assert banner.startswith("The GPU could not hold the model ("), banner
    assert "could not load the model with GPU layers" in banner
    assert banner.endswith("); running on the CPU.")
    assert w.model_label.text().endswith(" · CPU")


def test_a_model_the_gpu_cannot_hold_runs_on_the_cpu_with_a_notice(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = fail_on_the_gpu(monkeypatch)
    model = _load_with_gpu_layers(qtbot, window, tiny_model["f16"])
    assert asked[0] != 0  # tried on the GPU first
    assert asked[-1] == 0
    _assert_on_the_cpu_with_the_notice(qtbot, window, model)
    assert type_and_wait(qtbot, window, TEXT)  # suggestions stayed on
    _load(qtbot, window, tiny_model["q8_0"])  # a load that needs no fallback
    assert not window.banner.isVisible()


def test_a_gpu_lost_while_a_model_is_in_use_leaves_it_on_the_cpu(
    qtbot: QtBot,
    window: MainWindow,
    model_copy: Path,
    tiny_model: TestModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A driver reset or ``CUDA_VISIBLE_DEVICES`` emptied: the next load with GPU layers
    fails on the device (here: when the model file is replaced, the worker loads it again
    as it was asked for), and the model runs on the CPU, suggestions on."""
    _load_with_gpu_layers(qtbot, window, model_copy)
    type_and_wait(qtbot, window, TEXT)
    fail_on_the_gpu(monkeypatch)
    _replace_by_rename(model_copy, tiny_model["f16"])
    words = _diverging(window)
    with qtbot.waitSignal(window.controller.modelChanged, timeout=WAIT_MS) as blocker:
        qtbot.keyClicks(window.editor, words)
    _assert_on_the_cpu_with_the_notice(qtbot, window, blocker.args[0])
    qtbot.waitUntil(lambda: bool(window.editor.ghost_text()), timeout=WAIT_MS)
    assert window.editor.toPlainText() == TEXT + words


def test_a_gpu_build_with_its_gpu_gone_says_the_model_runs_on_the_cpu(
    tiny_model: TestModel,
) -> None:
    """llama.cpp puts the layers on the CPU by itself when its GPU backend finds no device."""
    gone = BuildInfo("0.3.36", gpu_offload=False, system_info="", gpu_backends=("CUDA",))
    with Engine(tiny_model["q8_0"], n_threads=1) as engine:
        assert engine.offloaded_layers == (0, 3)
        assert gpu_gone_notice(-1, engine, gone) == "No CUDA GPU is available; running on the CPU."
        assert gpu_gone_notice(0, engine, gone) == ""  # none asked for
        cpu_build = replace(gone, gpu_backends=())
        assert gpu_gone_notice(-1, engine, cpu_build) == ""  # a CPU build has none to lose
