"""Quantization through llama.cpp's own quantizer, and the K-quant fallback report."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.engine import Engine
from app.core.gguf_info import inspect_model, tensor_types
from app.core.quantize import QuantizeError, quantize
from app.core.sampling import GREEDY
from tests.support.models import TestModel

TYPES = ["Q8_0", "Q6_K", "Q5_K_M", "Q5_0", "Q4_K_M", "Q4_0", "F16"]


@pytest.fixture(scope="module")
def f16_size(wide_model: TestModel) -> int:
    return wide_model["f16"].stat().st_size


@pytest.mark.parametrize("qtype", TYPES)
def test_every_type_quantizes_and_runs(
    qtype: str, wide_model: TestModel, f16_size: int, tmp_path: Path
) -> None:
    progress: list[tuple[int, int, str]] = []
    out = tmp_path / f"wide-{qtype}.gguf"
    report = quantize(wide_model["f16"], out, qtype, n_threads=2,
                      progress=lambda d, t, n: progress.append((d, t, n)))  # fmt: skip
    assert report.fallbacks == []  # 256-wide rows suit every K-quant
    info = inspect_model(out)
    assert info.file_type == qtype
    expected_main = qtype.removesuffix("_M")  # Q5_K_M stores its bulk as Q5_K
    assert tensor_types(out)["blk.0.ffn_up.weight"][0] == expected_main
    if qtype != "F16":
        assert report.output_size < f16_size
    assert progress
    assert progress[-1][0] == progress[-1][1] == 2 + 2 * 12 + 2
    with Engine(out, n_threads=2) as engine:
        result = engine.complete("The harbour lights", GREEDY.with_changes(max_tokens=5))
    assert result.timings.generated_tokens == 5
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.slow
def test_gpt2_xl_width_reports_the_k_quant_fallback(
    xl_width_model: TestModel, tmp_path: Path
) -> None:
    report = quantize(xl_width_model["f16"], tmp_path / "xl-q4km.gguf", "Q4_K_M", n_threads=2)
    assert report.fallbacks, "1600-wide rows cannot use 256-value K-quant blocks"
    fallback = report.fallbacks[0]
    assert fallback.row_length == 1600
    assert not any(t.endswith("_K") for t in fallback.stored_as)
    text = report.summary()
    assert "rows of 1600 values" in text
    assert "not a multiple of 256" in text
    for type_name in fallback.stored_as:
        assert type_name in text
    # the 6400-wide ffn_down rows are a multiple of 256 and keep a K-quant
    assert tensor_types(tmp_path / "xl-q4km.gguf")["blk.0.ffn_down.weight"][0].endswith("_K")
    with Engine(tmp_path / "xl-q4km.gguf", n_threads=2) as engine:
        assert engine.complete("Hi", GREEDY.with_changes(max_tokens=2)).timings.generated_tokens


def test_narrow_model_reports_fallback_for_every_k_type(
    tiny_model: TestModel, tmp_path: Path
) -> None:
    report = quantize(tiny_model["f16"], tmp_path / "tiny-q5km.gguf", "Q5_K_M", n_threads=2)
    assert [f.row_length for f in report.fallbacks] == [64]  # ffn_down rows are 256
    assert report.fallbacks[0].tensors == 1 + 2 * 3  # token_embd, qkv/out/up per block


def test_bad_requests_fail_clearly(tiny_model: TestModel, tmp_path: Path) -> None:
    with pytest.raises(QuantizeError, match="unknown quantization type 'Q3_X'"):
        quantize(tiny_model["f16"], tmp_path / "x.gguf", "Q3_X")
    with pytest.raises(QuantizeError, match="must not overwrite the input"):
        quantize(tiny_model["f16"], tiny_model["f16"], "Q8_0")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_model["f16"].read_bytes()[:5000])
    with pytest.raises(QuantizeError, match="truncated"):
        quantize(broken, tmp_path / "y.gguf", "Q8_0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.gguf"]
