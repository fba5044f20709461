"""The converter: Hugging Face GPT-2 folder -> GGUF that llama.cpp computes correctly."""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path

import gguf
import numpy as np
import pytest

from app.core.convert import (
    ConversionCancelled,
    ConversionError,
    ConvertProgress,
    convert_checkpoint,
    read_config,
)
from app.core.engine import Engine
from app.core.gguf_info import inspect_model, tensor_types
from app.core.gguf_rules import gpt2_tensors
from app.core.sampling import GREEDY
from tests.support.models import TestModel
from tests.support.reference import gpt2_numpy
from tests.support.reference.checkpoints import load_checkpoint, write_gpt2_checkpoint
from tests.support.reference.gpt2_bpe import load_default
from tests.support.reference.gpt2_numpy import forward, gelu_new

TEXT = (
    "The lighthouse keeper climbed the stairs at dusk, counting each of the 117 steps, "
    "as he had done every evening for thirty years. Below him the sea was restless."
)


def _logit_errors(
    model: TestModel, outtype: str, kv: str = "f16"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    weights, config = load_checkpoint(model.checkpoint)
    ids = load_default().encode(TEXT)
    reference = forward(weights, config, ids)
    with Engine(model[outtype], logits_all=True, n_threads=2, kv_cache_type=kv) as engine:
        assert engine.tokenize(TEXT) == ids
        got = engine.logits(ids).astype(np.float64)
    return got, reference, np.abs(got - reference)


def _gelu_like_ggml(x: np.ndarray) -> np.ndarray:
    """ggml's CPU GELU: a lookup table indexed by the F16-rounded input, F16 output."""
    table = gelu_new(x.astype(np.float16).astype(np.float64)).astype(np.float16)
    return np.where(x <= -10, 0.0, np.where(x >= 10, x, table.astype(np.float64)))


def test_f32_logits_match_the_numpy_reference(
    tiny_model: TestModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F32 weights and an F32 KV cache: against a reference that rounds GELU the way
    ggml does, only float32 arithmetic separates the two; against the exact GELU, ggml's
    F16 GELU table adds a little more, still far below any logit gap that matters."""
    got, ref, err = _logit_errors(tiny_model, "f32", kv="f32")
    scale = np.abs(ref).max()
    print(
        f"F32 vs exact GELU: max |diff| {err.max():.2e}, mean {err.mean():.1e}, scale {scale:.1f}"
    )
    assert err.max() < 1e-3 * scale
    assert (got.argmax(axis=1) == ref.argmax(axis=1)).all()

    monkeypatch.setitem(gpt2_numpy._ACTIVATIONS, "gelu_new", _gelu_like_ggml)
    got, ref, err = _logit_errors(tiny_model, "f32", kv="f32")
    print(f"F32 vs ggml-rounded GELU: max |diff| {err.max():.2e}, mean {err.mean():.1e}")
    # An input within float32 noise of an F16 rounding midpoint can still land on the
    # neighbouring table entry, so a few positions keep one F16 step of error; the mean
    # shows the rest is float32 arithmetic.
    assert err.mean() < 5e-4
    assert err.max() < 1e-2


def test_f32_logits_with_the_default_f16_kv_cache(tiny_model: TestModel) -> None:
    """llama.cpp's default KV cache holds keys and values in F16 (relative rounding
    2**-11), which the app uses; the logits stay within 0.25% of their scale."""
    got, ref, err = _logit_errors(tiny_model, "f32")
    scale = np.abs(ref).max()
    print(f"F32 + F16 KV: max |diff| {err.max():.2e} ({err.max() / scale:.3%} of {scale:.1f})")
    assert err.max() < 0.0025 * scale
    _argmax_agrees(got, ref)


def test_f16_logits_match_within_half_precision(tiny_model: TestModel) -> None:
    """F16 rounds weights (and llama.cpp's matmul rounds activations) to 11-bit mantissas.

    Each rounding is a relative error below 2**-11 ≈ 5e-4; accumulated over two blocks and
    the 50k-row output projection it stays within about 1% of the logit scale. The argmax
    may flip only where the reference's top two logits are closer than that error.
    """
    got, ref, err = _logit_errors(tiny_model, "f16")
    scale = np.abs(ref).max()
    print(f"F16: max |diff| {err.max():.3e} ({err.max() / scale:.2%} of scale {scale:.1f})")
    assert err.max() < 0.01 * scale
    _argmax_agrees(got, ref)


def test_q8_0_logits_match_within_8_bit_quantization(tiny_model: TestModel) -> None:
    """Q8_0 stores each block of 32 weights as int8 times one f16 scale (relative error up
    to 1/254 per weight) and llama.cpp also quantizes activations to 8 bits for the dot
    products. Random weights are far more sensitive to this than trained ones: running
    the NumPy reference on the dequantized Q8_0 weights moves the logits by 1.9% RMS, and
    llama.cpp's 8-bit activations add about 1.6% (measured when these bounds were set),
    so 4% RMS, and 5% of the logit scale for the largest single error, are the bounds."""
    got, ref, err = _logit_errors(tiny_model, "q8_0")
    scale = np.abs(ref).max()
    rel_rms = np.sqrt((err**2).mean() / (ref**2).mean())
    print(f"Q8_0: max |diff| {err.max():.3e} ({err.max() / scale:.2%} of scale {scale:.1f}), "
          f"relative RMS error {rel_rms:.2%}")  # fmt: skip
    assert rel_rms < 0.04
    assert err.max() < 0.05 * scale
    corr = np.corrcoef(got.ravel(), ref.ravel())[0, 1]
    assert corr > 0.999
    _argmax_agrees(got, ref)


def _argmax_agrees(got: np.ndarray, ref: np.ndarray) -> None:
    """llama.cpp's top token is the reference's, except where the reference's own top two
    are closer than the measured error at that position (a flip there is rounding)."""
    rows = np.arange(len(ref))
    row_err = np.abs(got - ref).max(axis=1)
    picked, best = got.argmax(axis=1), ref.argmax(axis=1)
    gap = ref[rows, best] - ref[rows, picked]  # 0 where they agree
    agree = (picked == best).mean()
    print(f"  argmax agreement {agree:.0%}; largest gap of a flip {gap.max():.3f}")
    assert (gap <= 2 * row_err).all()
    assert agree >= 0.8


def test_metadata_is_complete(tiny_model: TestModel) -> None:
    reader = gguf.GGUFReader(tiny_model["f16"])

    def value(key: str) -> object:
        field = reader.get_field(key)
        assert field is not None, key
        return field.contents()

    assert value("general.architecture") == "gpt2"
    assert value("tokenizer.ggml.model") == "gpt2"
    assert value("tokenizer.ggml.pre") == "gpt-2"
    assert value("tokenizer.ggml.bos_token_id") == value("tokenizer.ggml.eos_token_id") == 50256
    tokens = value("tokenizer.ggml.tokens")
    types = value("tokenizer.ggml.token_type")
    merges = value("tokenizer.ggml.merges")
    assert isinstance(tokens, list)
    assert isinstance(types, list)
    assert isinstance(merges, list)
    assert len(tokens) == len(types) == 50257
    assert tokens[50256] == "<|endoftext|>"
    assert types[50256] == gguf.TokenType.CONTROL
    assert types[0] == gguf.TokenType.NORMAL
    assert len(merges) == 50000
    assert merges[0] == "Ġ t"
    assert value("gpt2.attention.layer_norm_epsilon") == pytest.approx(1e-5)


def test_tensor_types_follow_the_output_type(tiny_model: TestModel) -> None:
    q8 = tensor_types(tiny_model["q8_0"])
    assert q8["blk.0.attn_qkv.weight"][0] == "Q8_0"
    assert q8["token_embd.weight"][0] == "Q8_0"
    assert q8["position_embd.weight"][0] == "F32"  # as llama.cpp's converter keeps it
    assert q8["blk.0.attn_norm.bias"][0] == "F32"
    f16 = tensor_types(tiny_model["f16"])
    assert f16["blk.1.ffn_down.weight"] == ("F16", (256, 64))  # ggml order: (in, out)
    assert "output.weight" not in f16  # tied embeddings


def test_tokenizer_json_and_prefixed_keys_give_the_same_model(
    tiny_model: TestModel, tmp_path: Path
) -> None:
    """Both tokenizer layouts and both key styles of HF checkpoints convert identically."""
    folder = write_gpt2_checkpoint(
        tmp_path / "alt", n_embd=64, n_layer=2, n_head=4, n_positions=128, seed=1,
        key_prefix="transformer.", tokenizer="json",
    )  # fmt: skip
    out = convert_checkpoint(folder, tmp_path / "alt.gguf", "f32")
    a, b = gguf.GGUFReader(out), gguf.GGUFReader(tiny_model["f32"])
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type"):
        fa, fb = a.get_field(key), b.get_field(key)
        assert fa is not None
        assert fb is not None
        assert fa.contents() == fb.contents(), key
    for ta, tb in zip(a.tensors, b.tensors, strict=True):
        assert ta.name == tb.name
        assert np.array_equal(ta.data, tb.data), ta.name


def test_untied_lm_head_is_written_as_output(tmp_path: Path) -> None:
    folder = write_gpt2_checkpoint(
        tmp_path / "head", n_embd=64, n_layer=1, n_head=4, n_positions=64, seed=3,
        with_lm_head=True,
    )  # fmt: skip
    weights, _ = load_checkpoint(folder)
    out = convert_checkpoint(folder, tmp_path / "head.gguf", "f32")
    tied = np.array_equal(weights["lm_head.weight"], weights["wte.weight"])
    assert ("output.weight" in tensor_types(out)) is (not tied)


def test_pickle_only_folder_is_refused_with_a_reason(tmp_path: Path, tiny_model: TestModel) -> None:
    folder = tmp_path / "pickled"
    folder.mkdir()
    for name in ("config.json", "vocab.json", "merges.txt"):
        shutil.copy(tiny_model.checkpoint / name, folder / name)
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02pickled weights")
    with pytest.raises(ConversionError) as info:
        convert_checkpoint(folder, tmp_path / "out.gguf")
    message = str(info.value)
    assert "pytorch_model.bin" in message
    assert "model.safetensors" in message
    assert "arbitrary code" in message
    assert not (tmp_path / "out.gguf").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}, "only GPT-2"),
        ({"n_head": 5}, "multiple of n_head"),
        ({"vocab_size": 50000}, "vocab_size=50000"),
        ({"n_layer": 3}, "missing tensor(s): h.2."),
    ],
)
def test_inconsistent_checkpoints_are_refused(
    change: dict[str, object], expected: str, tiny_model: TestModel, tmp_path: Path
) -> None:
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_model.checkpoint, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(change)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConversionError, match=re.escape(expected)):
        convert_checkpoint(folder, tmp_path / "out.gguf")
    assert list(tmp_path.glob("out.gguf*")) == []


def test_progress_is_reported_and_cancel_leaves_nothing(
    tiny_model: TestModel, tmp_path: Path
) -> None:
    seen: list[ConvertProgress] = []
    convert_checkpoint(tiny_model.checkpoint, tmp_path / "a.gguf", "f16", progress=seen.append)
    assert seen[0].done == 0
    assert seen[-1].done == seen[-1].total == 2 + 2 * 12 + 2
    assert [p.done for p in seen] == sorted(p.done for p in seen)

    cancel = threading.Event()

    def stop_midway(p: ConvertProgress) -> None:
        if p.done == 5:
            cancel.set()

    with pytest.raises(ConversionCancelled):
        convert_checkpoint(
            tiny_model.checkpoint, tmp_path / "b.gguf", "f16", progress=stop_midway, cancel=cancel
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gguf"]


FAMILY = {  # the real config.json shapes of the GPT-2 family
    "gpt2": (768, 12, 12),
    "gpt2-medium": (1024, 24, 16),
    "gpt2-large": (1280, 36, 20),
    "gpt2-xl": (1600, 48, 25),
    "distilgpt2": (768, 6, 12),
}


@pytest.mark.parametrize("name", list(FAMILY))
def test_every_family_config_maps_to_the_tensors_llama_cpp_expects(
    name: str, tmp_path: Path
) -> None:
    n_embd, n_layer, n_head = FAMILY[name]
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": n_embd,
        "n_layer": n_layer, "n_head": n_head, "n_positions": 1024, "n_ctx": 1024,
        "vocab_size": 50257, "n_inner": None, "layer_norm_epsilon": 1e-5,
    }))  # fmt: skip
    cfg = read_config(tmp_path)
    assert (cfg.n_embd, cfg.n_layer, cfg.n_head, cfg.n_ff) == (n_embd, n_layer, n_head, 4 * n_embd)
    expected = gpt2_tensors(
        {"n_embd": n_embd, "n_vocab": 50257, "n_ctx": 1024, "n_ff": 4 * n_embd, "n_layer": n_layer}
    )
    assert len(expected) == 4 + 12 * n_layer


@pytest.mark.slow
def test_gpt2_xl_width_converts_and_runs(xl_width_model: TestModel) -> None:
    """One block at GPT-2 XL's real width (1600, 25 heads): rows that K-quants cannot use."""
    info = inspect_model(xl_width_model["q8_0"])
    assert (info.embedding_length, info.head_count, info.feed_forward_length) == (1600, 25, 6400)
    with Engine(xl_width_model["q8_0"], n_threads=2) as engine:
        result = engine.complete("Hello", GREEDY.with_changes(max_tokens=4))
    assert result.timings.generated_tokens == 4
