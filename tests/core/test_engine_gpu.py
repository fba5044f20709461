"""GPU layers: the devices' memory, the check before loading, the layers llama.cpp
offloaded, and its failure on the device turned into an error the app can answer.

This machine's llama.cpp runs on the CPU only, so llama.cpp's own failure on a GPU is
forced right below llama-cpp-python (``tests.support.gpu.fail_on_the_gpu``).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace

import llama_cpp
import llama_cpp.llama_cpp
import pytest

from app.core import llama_compat
from app.core.engine import Engine
from app.core.engine_api import EngineError, GpuOffloadError
from app.core.engine_memory import Device, check_gpu_memory, kv_cache_bytes, layers_on_gpu
from app.core.gguf_info import ModelInfo, inspect_model
from app.core.llama_preload import library_dir
from app.core.llama_runtime import build_info, offloaded_layers
from app.core.sampling import GREEDY
from tests.support.gpu import fail_on_the_gpu
from tests.support.models import TestModel

MiB = 2**20


# ------------------------------------------------------------------ devices


def test_the_devices_llama_cpp_reports_carry_their_real_memory() -> None:
    """ggml's device API, which llama-cpp-python does not bind, called through ctypes."""
    devices = llama_compat.devices()
    cpus = [d for d in devices if d.kind == "cpu"]
    assert len(cpus) == 1, devices
    assert cpus[0].name == "CPU", devices
    assert 0 < cpus[0].free <= cpus[0].total
    if sys.platform.startswith("linux"):  # ggml reads the physical memory as sysconf does
        assert cpus[0].total == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    gpus = [d for d in devices if d.kind == "gpu"]
    assert bool(gpus) <= bool(llama_cpp.llama_supports_gpu_offload())
    assert bool(build_info().gpu_backends) >= bool(gpus)


# ------------------------------------------------------------------ the check


def _info(tiny_model: TestModel) -> ModelInfo:
    return inspect_model(tiny_model["q8_0"])


def _gpu(free: int) -> Device:
    return Device("CUDA0", "NVIDIA H200", "gpu", free=free, total=140 * 2**30)


def test_layers_on_the_gpu_are_counted_as_llama_cpp_counts_them(tiny_model: TestModel) -> None:
    info = _info(tiny_model)  # 2 blocks and the output layer
    assert [layers_on_gpu(info, n) for n in (0, 1, 2, 3, 99, -1)] == [
        (0, 3), (1, 3), (2, 3), (3, 3), (3, 3), (3, 3)
    ]  # fmt: skip


def test_a_context_too_large_for_the_gpu_is_refused_with_the_figures(
    tiny_model: TestModel,
) -> None:
    info = replace(_info(tiny_model), file_size=600 * MiB)  # as if bigger
    kv = kv_cache_bytes(info, 128)
    with pytest.raises(GpuOffloadError) as caught:
        check_gpu_memory(info, 128, 2000 * MiB, -1, [_gpu(1000 * MiB)])
    message = str(caught.value)
    assert message.startswith(f"{info.path.rsplit('/', 1)[-1]}: not enough GPU memory")
    assert "a context of 128 tokens with 3 of 3 layers on the GPU" in message
    assert "KV cache needs about 2.0 GiB and their weights 600 MiB" in message
    assert "only 1000 MiB is free on CUDA0 (NVIDIA H200)" in message
    check_gpu_memory(info, 128, kv, -1, [_gpu(1000 * MiB)])  # the real cache fits


def test_only_the_layers_on_the_gpu_count_against_its_memory(tiny_model: TestModel) -> None:
    info = replace(_info(tiny_model), file_size=300 * MiB)
    kv = 400 * MiB  # 200 MiB per block
    check_gpu_memory(info, 128, kv, 1, [_gpu(101 * MiB)])  # the output layer: 100 MiB
    with pytest.raises(GpuOffloadError, match="2 of 3 layers"):
        check_gpu_memory(info, 128, kv, 2, [_gpu(299 * MiB)])  # 200 + 200 MiB
    check_gpu_memory(info, 128, kv, 2, [_gpu(200 * MiB), _gpu(200 * MiB)])  # two GPUs


def test_without_a_gpu_of_its_own_memory_nothing_is_checked_there(tiny_model: TestModel) -> None:
    info = _info(tiny_model)
    shared = Device("Metal", "Apple M2", "igpu", free=0, total=0)
    check_gpu_memory(info, 128, 10**12, -1, [shared])
    check_gpu_memory(info, 128, 10**12, 0, [_gpu(0)])  # no GPU layers asked for


# ------------------------------------------------------------------ the layers offloaded


def _format_in_libllama(pattern: bytes) -> str:
    """A printf format string from the installed llama.cpp library."""
    folder = library_dir()
    assert folder is not None
    libraries = sorted(folder.glob("*llama*"))
    found = [m for lib in libraries for m in re.findall(pattern, lib.read_bytes())]
    if not found:
        pytest.fail(f"llama.cpp's {pattern!r} not found in {libraries}")
    return str(found[0].decode())


def test_the_offloaded_layers_are_read_from_llama_cpps_own_log_line() -> None:
    fmt = _format_in_libllama(rb"%s: offloaded %d/%d layers to GPU")
    line = fmt % ("load_tensors", 13, 13)  # printf's %s and %d are Python's
    assert line == "load_tensors: offloaded 13/13 layers to GPU"
    assert offloaded_layers(line) == (13, 13)
    assert offloaded_layers(fmt % ("load_tensors", 5, 25)) == (5, 25)
    other = _format_in_libllama(rb"%s: offloading %d repeating layers to GPU")
    assert offloaded_layers(other % ("load_tensors", 12)) is None


@pytest.mark.parametrize("n_gpu_layers", [0, -1])
def test_on_a_cpu_build_no_layer_is_offloaded(tiny_model: TestModel, n_gpu_layers: int) -> None:
    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama.cpp can offload")
    with Engine(tiny_model["q8_0"], n_threads=1, n_gpu_layers=n_gpu_layers) as engine:
        assert engine.offloaded_layers == (0, 3)
        assert engine.n_gpu_layers == n_gpu_layers
        assert engine.complete("Once upon", GREEDY.with_changes(max_tokens=2)).token_ids


# ------------------------------------------------------------------ llama.cpp failing


@pytest.mark.parametrize("step", ["model", "context"])
def test_llama_cpp_failing_on_the_gpu_is_a_gpu_offload_error(
    tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    asked = fail_on_the_gpu(monkeypatch, step)
    with pytest.raises(GpuOffloadError) as caught:
        Engine(tiny_model["q8_0"], n_threads=1, n_gpu_layers=-1)
    message = str(caught.value)
    if step == "model":
        assert "could not load the model with GPU layers" in message
        assert "Failed to load model from file" in message  # llama-cpp-python's own words
    else:
        assert "could not create a context of 128 tokens with GPU layers" in message
    with Engine(tiny_model["q8_0"], n_threads=1) as engine:  # the CPU still loads it
        assert engine.offloaded_layers[0] == 0
    assert asked[0] != 0
    assert asked[-1] == 0


def test_llama_cpp_failing_without_gpu_layers_is_an_ordinary_error(
    tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llama_cpp.llama_cpp, "llama_init_from_model", lambda *_a: None)
    with pytest.raises(EngineError) as caught:
        Engine(tiny_model["q8_0"], n_threads=1)
    assert not isinstance(caught.value, GpuOffloadError)
    assert "could not create a context of 128 tokens, whose KV cache" in str(caught.value)
