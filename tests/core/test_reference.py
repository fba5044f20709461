"""Tests of the test references themselves: a wrong reference would make every comparison
against llama.cpp meaningless, so each one is pinned to known facts here."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.reference import checkpoints as ck
from tests.support.reference.gpt2_bpe import ENDOFTEXT_ID, GPT2BPE, bytes_to_unicode, load_default
from tests.support.reference.gpt2_numpy import forward, gelu_new, greedy, layer_norm, top2_margin

SAMPLE = (
    "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, "
    "and the clocks were striking thirteen. Call me Ishmael. Some years ago, never mind "
    "how long precisely, having little or no money in my purse."
)


@pytest.fixture(scope="module")
def bpe() -> GPT2BPE:
    return load_default()


# --- BPE -------------------------------------------------------------------------------


def test_bytes_to_unicode_is_a_printable_bijection() -> None:
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256))
    assert len(set(table.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in table.values())
    assert table[ord(" ")] == "Ġ"
    assert table[ord("\n")] == "Ċ"
    assert table[ord("A")] == "A"


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("Hello world", [15496, 995]),
        (" Hello", [18435]),
        ("hello world", [31373, 995]),
        ("Hello, world!", [15496, 11, 995, 0]),
        ("\n", [198]),
        ("\n\n", [628]),
        (" the", [262]),
        ("It's", [1026, 338]),
        # Special tokens are plain text: never 50256.
        ("<|endoftext|>", [27, 91, 437, 1659, 5239, 91, 29]),
        ("", []),
    ],
)
def test_known_gpt2_encodings(bpe: GPT2BPE, text: str, ids: list[int]) -> None:
    assert bpe.encode(text) == ids


def test_endoftext_is_plain_text_but_decodes(bpe: GPT2BPE) -> None:
    assert ENDOFTEXT_ID not in bpe.encode("a<|endoftext|>b <|endoftext|>")
    assert bpe.decode([ENDOFTEXT_ID]) == "<|endoftext|>"
    assert bpe.vocab_size == 50257
    assert len(bpe.merges) == 50000


def test_pretokenization_splits(bpe: GPT2BPE) -> None:
    assert bpe.pretokenize("I'm here  now\n\n 42x") == [
        "I",
        "'m",
        " here",
        " ",
        " now",
        "\n\n",
        " 42",
        "x",
    ]


ROUND_TRIP = [
    "Hello world",
    "naïve café, façade — “quotes” and ‘single’",
    "日本語のテキスト。中文字符。한국어 텍스트",
    "emoji: 👩‍👩‍👧‍👦 🇫🇷 🎉🎉 ✔️",
    "runs    of     spaces\t\ttabs\n\n\n\nnewlines  \n  \r\n",
    "   leading and trailing   ",
    "digits 1234567890 3.14159 1e-5 0x1F",
    "contractions: I'm, you're, we've, they'll, he'd, it's, don't, CAN'T",
    "<|endoftext|> in the middle <|endoftext|>",
    "def f(x):\n    return x ** 2  # code\n",
    "\u0000\u0001\u007f\u00a0\u2028 control and odd spaces",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_round_trip_varied_text(bpe: GPT2BPE, text: str) -> None:
    ids = bpe.encode(text)
    assert all(0 <= i < bpe.vocab_size for i in ids)
    assert bpe.decode(ids) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_round_trip_arbitrary_text(text: str) -> None:
    bpe = load_default()
    assert bpe.decode(bpe.encode(text)) == text


def test_split_character_decodes_exactly_as_bytes(bpe: GPT2BPE) -> None:
    text = "🎉"
    ids = bpe.encode(text)
    assert len(ids) > 1  # the emoji's 4 bytes span several tokens
    assert bpe.decode_bytes(ids[:1]) + bpe.decode_bytes(ids[1:]) == text.encode("utf-8")
    assert "\ufffd" in bpe.decode(ids[:1])


def test_merges_apply_lowest_rank_first(bpe: GPT2BPE) -> None:
    # "Ġt" is merge rank 0, so " t" must be one token, the vocabulary's "Ġt".
    assert bpe.merges[0] == ("Ġ", "t")
    assert bpe.encode(" t") == [bpe.encoder["Ġt"]]


# --- NumPy forward ---------------------------------------------------------------------

SMALL: dict[str, Any] = {"n_embd": 64, "n_layer": 2, "n_head": 4}


@pytest.fixture(scope="module")
def small_model() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    weights = ck.random_gpt2_weights(
        **SMALL,
        n_positions=128,
        vocab_size=50257,
        seed=0,
        weight_std=ck.DEFAULT_WEIGHT_STD,
    )
    return weights, dict(SMALL)


def test_gelu_new_known_values() -> None:
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    # torch.nn.functional.gelu(x, approximate="tanh")
    expected = np.array([-0.00363739208177, -0.158808009392, 0.0, 0.841191990608, 2.99636260792])
    np.testing.assert_allclose(gelu_new(x), expected, rtol=1e-9, atol=1e-12)


def test_layer_norm_normalizes() -> None:
    x = np.random.default_rng(1).normal(3.0, 5.0, size=(4, 32))
    y = layer_norm(x, np.ones(32), np.zeros(32), 1e-5)
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-5)


def test_forward_shape_and_dtype(small_model: Any) -> None:
    weights, config = small_model
    logits = forward(weights, config, [1, 2, 3, 50256])
    assert logits.shape == (4, 50257)
    assert logits.dtype == np.float64
    assert np.isfinite(logits).all()


def test_forward_is_causal(small_model: Any) -> None:
    weights, config = small_model
    a = [464, 2068, 7586, 21831, 18045, 625, 262, 16931]
    b = [*a[:4], 11, 220, 50256, 12]
    la, lb = forward(weights, config, a), forward(weights, config, b)
    np.testing.assert_allclose(la[:4], lb[:4], rtol=0, atol=1e-10)
    assert not np.allclose(la[4:], lb[4:])


def test_forward_prefixes_consistent(small_model: Any, bpe: GPT2BPE) -> None:
    weights, config = small_model
    ids = bpe.encode(SAMPLE)[:24]
    full = forward(weights, config, ids)
    for k in (1, 7, 23):
        np.testing.assert_allclose(forward(weights, config, ids[:k]), full[:k], atol=1e-10)


def test_forward_depends_on_context(small_model: Any) -> None:
    """The same token at the same position must see earlier tokens (attention works)."""
    weights, config = small_model
    la = forward(weights, config, [100, 200, 300])
    lb = forward(weights, config, [101, 200, 300])
    assert np.abs(la[2] - lb[2]).max() > 0.1


def test_forward_key_prefix_and_lm_head(small_model: Any) -> None:
    weights, config = small_model
    ids = [15496, 995, 11]
    base = forward(weights, config, ids)
    prefixed = {"transformer." + k: v for k, v in weights.items()}
    np.testing.assert_array_equal(forward(prefixed, config, ids), base)
    tied = {**prefixed, "lm_head.weight": weights["wte.weight"]}
    np.testing.assert_array_equal(forward(tied, config, ids), base)
    other = {**weights, "lm_head.weight": weights["wte.weight"][::-1].copy()}
    np.testing.assert_allclose(forward(other, config, ids), base[:, ::-1], atol=1e-9)
    with pytest.raises(ValueError, match="duplicate"):
        forward({**weights, "transformer.wte.weight": weights["wte.weight"]}, config, ids)


def test_forward_without_layers_is_hand_computable() -> None:
    """With zero blocks GPT-2 is ln_f(wte + wpe) @ wte.T: checks embeddings, ln_f, tying."""
    rng = np.random.default_rng(3)
    wte, wpe = rng.normal(size=(10, 8)), rng.normal(size=(5, 8))
    g, b = rng.normal(size=8), rng.normal(size=8)
    weights = {"wte.weight": wte, "wpe.weight": wpe, "ln_f.weight": g, "ln_f.bias": b}
    ids = [3, 3, 7]
    x = wte[ids] + wpe[:3]
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    expected = ((x - mu) / np.sqrt(var + 1e-5) * g + b) @ wte.T
    got = forward(weights, {"n_layer": 0, "n_head": 2}, ids)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_forward_single_head_attention_by_hand() -> None:
    """One block, one head, identity-ish weights: compare with an explicit per-position loop."""
    rng = np.random.default_rng(4)
    d, v, t = 4, 6, 3
    w: dict[str, np.ndarray] = {
        "wte.weight": rng.normal(size=(v, d)),
        "wpe.weight": rng.normal(size=(t, d)),
        "ln_f.weight": np.ones(d),
        "ln_f.bias": np.zeros(d),
        "h.0.ln_1.weight": np.ones(d),
        "h.0.ln_1.bias": np.zeros(d),
        "h.0.attn.c_attn.weight": rng.normal(size=(d, 3 * d)),
        "h.0.attn.c_attn.bias": rng.normal(size=3 * d),
        "h.0.attn.c_proj.weight": rng.normal(size=(d, d)),
        "h.0.attn.c_proj.bias": rng.normal(size=d),
        "h.0.ln_2.weight": np.ones(d),
        "h.0.ln_2.bias": np.zeros(d),
        "h.0.mlp.c_fc.weight": np.zeros((d, 4 * d)),
        "h.0.mlp.c_fc.bias": np.zeros(4 * d),
        "h.0.mlp.c_proj.weight": np.zeros((4 * d, d)),
        "h.0.mlp.c_proj.bias": np.zeros(d),
    }
    ids = [5, 0, 2]

    def ln(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / math.sqrt(x.var() + 1e-5)

    h = [w["wte.weight"][i] + w["wpe.weight"][p] for p, i in enumerate(ids)]
    qkv = [ln(x) @ w["h.0.attn.c_attn.weight"] + w["h.0.attn.c_attn.bias"] for x in h]
    out = []
    for i in range(t):
        q = qkv[i][:d]
        scores = np.array([q @ qkv[j][d : 2 * d] / math.sqrt(d) for j in range(i + 1)])
        p = np.exp(scores - scores.max())
        p /= p.sum()
        a = sum(p[j] * qkv[j][2 * d :] for j in range(i + 1))
        hi = h[i] + a @ w["h.0.attn.c_proj.weight"] + w["h.0.attn.c_proj.bias"]
        out.append(ln(hi) @ w["wte.weight"].T)
    got = forward(w, {"n_layer": 1, "n_head": 1}, ids)
    np.testing.assert_allclose(got, np.array(out), rtol=1e-10, atol=1e-12)


def test_forward_rejects_bad_input(small_model: Any) -> None:
    weights, config = small_model
    with pytest.raises(ValueError, match="non-empty sequence"):
        forward(weights, config, [])
    with pytest.raises(ValueError, match="out of range"):
        forward(weights, config, [50257])
    with pytest.raises(ValueError, match="n_positions"):
        forward(weights, config, [0] * 129)


def test_greedy_matches_argmax_of_forward(small_model: Any) -> None:
    weights, config = small_model
    prompt = [15496, 995]
    tokens, margins = greedy(weights, config, prompt, 4)
    assert len(tokens) == len(margins) == 4
    logits = forward(weights, config, prompt + tokens[:-1])
    assert list(logits[1:].argmax(-1)) == tokens
    np.testing.assert_allclose(margins, top2_margin(logits[1:]))


# --- random checkpoints ----------------------------------------------------------------


def test_default_weights_give_separated_moderate_logits(small_model: Any, bpe: GPT2BPE) -> None:
    """Pins the weight_std tuning: argmax robust to rounding, logits bounded, not an echo."""
    weights, config = small_model
    rng = np.random.default_rng(5)
    gaps, argmaxes, copies = [], [], 0
    for ids in (bpe.encode(SAMPLE)[:48], [int(i) for i in rng.integers(0, 50257, 48)]):
        logits = forward(weights, config, ids)
        assert np.abs(logits).max() < 50
        gaps.append(top2_margin(logits))
        argmaxes.extend(logits.argmax(-1).tolist())
        copies += int((logits.argmax(-1) == np.array(ids)).sum())
    gap = np.concatenate(gaps)
    assert np.mean(gap > 0.05) >= 0.95
    assert np.median(gap) > 0.5
    assert len(set(argmaxes)) > 0.5 * len(argmaxes)  # varied predictions
    assert copies < 0.2 * len(argmaxes)  # not "predict the input token"


def expected_shapes(
    n_embd: int, n_layer: int, n_pos: int, vocab: int
) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "wte.weight": (vocab, n_embd),
        "wpe.weight": (n_pos, n_embd),
        "ln_f.weight": (n_embd,),
        "ln_f.bias": (n_embd,),
    }
    for i in range(n_layer):
        p = f"h.{i}."
        shapes |= {
            p + "ln_1.weight": (n_embd,),
            p + "ln_1.bias": (n_embd,),
            p + "attn.c_attn.weight": (n_embd, 3 * n_embd),
            p + "attn.c_attn.bias": (3 * n_embd,),
            p + "attn.c_proj.weight": (n_embd, n_embd),
            p + "attn.c_proj.bias": (n_embd,),
            p + "ln_2.weight": (n_embd,),
            p + "ln_2.bias": (n_embd,),
            p + "mlp.c_fc.weight": (n_embd, 4 * n_embd),
            p + "mlp.c_fc.bias": (4 * n_embd,),
            p + "mlp.c_proj.weight": (4 * n_embd, n_embd),
            p + "mlp.c_proj.bias": (n_embd,),
            p + "attn.bias": (1, 1, n_pos, n_pos),
        }
    return shapes


def test_checkpoint_files_names_and_shapes(tmp_path: Path) -> None:
    folder = ck.write_gpt2_checkpoint(tmp_path / "m", **SMALL, n_positions=32)
    assert {p.name for p in folder.iterdir()} == {
        "config.json",
        "model.safetensors",
        "vocab.json",
        "merges.txt",
    }
    weights, config = ck.load_checkpoint(folder)
    assert {k: v.shape for k, v in weights.items()} == expected_shapes(64, 2, 32, 50257)
    assert all(v.dtype == np.float32 for v in weights.values())
    mask = weights["h.0.attn.bias"][0, 0]
    np.testing.assert_array_equal(mask, np.tril(np.ones((32, 32), dtype=np.float32)))
    assert config["model_type"] == "gpt2"
    assert config["architectures"] == ["GPT2LMHeadModel"]
    assert (config["n_embd"], config["n_layer"], config["n_head"]) == (64, 2, 4)
    assert config["n_positions"] == config["n_ctx"] == 32
    assert config["vocab_size"] == 50257
    assert config["n_inner"] is None
    assert config["activation_function"] == "gelu_new"
    assert config["layer_norm_epsilon"] == 1e-5
    assert config["bos_token_id"] == config["eos_token_id"] == 50256
    source = ck.DEFAULT_TOKENIZER_DIR
    for name in ("vocab.json", "merges.txt"):
        assert (folder / name).read_bytes() == (source / name).read_bytes()


def test_checkpoint_matches_random_weights_and_forward(tmp_path: Path) -> None:
    folder = ck.write_gpt2_checkpoint(tmp_path, **SMALL, n_positions=32, seed=7)
    weights, config = ck.load_checkpoint(folder)
    raw = ck.random_gpt2_weights(
        **SMALL, n_positions=32, vocab_size=50257, seed=7, weight_std=ck.DEFAULT_WEIGHT_STD
    )
    for k, v in raw.items():
        np.testing.assert_array_equal(weights[k], v.astype(np.float32))
    ids = [15496, 995, 11, 262]
    as_f32 = {k: v.astype(np.float32) for k, v in raw.items()}
    np.testing.assert_array_equal(forward(weights, config, ids), forward(as_f32, config, ids))


def test_checkpoint_prefix_lm_head_no_buffers_fp16(tmp_path: Path) -> None:
    folder = ck.write_gpt2_checkpoint(
        tmp_path,
        **SMALL,
        n_positions=16,
        key_prefix="transformer.",
        with_lm_head=True,
        include_attn_bias_buffers=False,
        dtype=np.float16,
    )
    weights, config = ck.load_checkpoint(folder)
    plain = {
        k: v for k, v in expected_shapes(64, 2, 16, 50257).items() if not k.endswith(".attn.bias")
    }
    expected = {"transformer." + k: v for k, v in plain.items()} | {"lm_head.weight": (50257, 64)}
    assert {k: v.shape for k, v in weights.items()} == expected
    assert all(v.dtype == np.float16 for v in weights.values())
    np.testing.assert_array_equal(weights["lm_head.weight"], weights["transformer.wte.weight"])
    assert config["torch_dtype"] == "float16"
    assert forward(weights, config, [1, 2]).shape == (2, 50257)


def test_checkpoint_seeds(tmp_path: Path) -> None:
    a = ck.load_checkpoint(ck.write_gpt2_checkpoint(tmp_path / "a", **SMALL, n_positions=8))[0]
    b = ck.load_checkpoint(ck.write_gpt2_checkpoint(tmp_path / "b", **SMALL, n_positions=8))[0]
    c = ck.load_checkpoint(
        ck.write_gpt2_checkpoint(tmp_path / "c", **SMALL, n_positions=8, seed=1)
    )[0]
    np.testing.assert_array_equal(a["h.1.mlp.c_fc.weight"], b["h.1.mlp.c_fc.weight"])
    assert not np.array_equal(a["h.1.mlp.c_fc.weight"], c["h.1.mlp.c_fc.weight"])


@pytest.mark.parametrize("mode", ["json", "both"])
def test_checkpoint_tokenizer_json(
    tmp_path: Path, mode: Literal["json", "both"], bpe: GPT2BPE
) -> None:
    folder = ck.write_gpt2_checkpoint(
        tmp_path, **SMALL, n_positions=8, tokenizer=mode, include_attn_bias_buffers=False
    )
    names = {p.name for p in folder.iterdir()}
    assert "tokenizer.json" in names
    assert ("vocab.json" in names) == (mode == "both")
    assert ("merges.txt" in names) == (mode == "both")
    tok = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    model = tok["model"]
    assert model["type"] == "BPE"
    assert len(model["vocab"]) == 50257
    assert model["vocab"] == bpe.encoder
    assert len(model["merges"]) == 50000
    assert model["merges"][0] == "Ġ t"
    assert all(isinstance(m, str) and len(m.split(" ")) == 2 for m in model["merges"])
    assert [tuple(m.split(" ")) for m in model["merges"]] == bpe.merges
    assert tok["added_tokens"] == [
        {
            "id": 50256,
            "content": "<|endoftext|>",
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": True,
            "special": True,
        }
    ]
    assert tok["pre_tokenizer"]["type"] == "ByteLevel"


def test_checkpoint_rejects_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of n_head"):
        ck.write_gpt2_checkpoint(tmp_path, n_embd=60, n_layer=1, n_head=7, n_positions=8)
    with pytest.raises(ValueError, match="dtype must be float32 or float16"):
        ck.write_gpt2_checkpoint(tmp_path, **SMALL, n_positions=8, dtype=np.float64)
    with pytest.raises(ValueError, match="tokenizer must be"):
        # A tokenizer kind that is not one of the Literal's (hence the ignore): refused.
        ck.write_gpt2_checkpoint(tmp_path, **SMALL, n_positions=8, tokenizer="bad")  # type: ignore[arg-type]
