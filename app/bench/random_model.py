"""A GPT-2 124M-shaped model with random weights, built by Ghostpen's own converter.

Speed depends on the shape (layers, width, vocabulary, context), not on what the weights
say, so random weights measure what a writer with real GPT-2 would see, with no download.
The real GPT-2 tokenizer is used so that tokenization costs what it really costs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

import app
from app.core.convert import convert_checkpoint
from app.core.paths import AppPaths
from app.core.quantize import quantize

GPT2_124M = {"n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024}
VOCAB_SIZE = 50257


class BenchModelError(Exception):
    pass


def find_tokenizer(given: str | None = None) -> Path:
    """The GPT-2 tokenizer (vocab.json + merges.txt): given, or the source tree's test data."""
    candidates = [Path(given)] if given else []
    candidates.append(Path(app.__file__).resolve().parents[1] / "tests" / "data" / "gpt2-tokenizer")
    for folder in candidates:
        if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
            return folder
    raise BenchModelError(
        "the benchmark needs the GPT-2 tokenizer files (vocab.json and merges.txt): run it "
        "from a source checkout, or pass --tokenizer DIR"
    )


def _weights(
    rng: np.random.Generator, n_embd: int, n_layer: int, n_positions: int
) -> dict[str, np.ndarray]:
    def normal(*shape: int, std: float = 0.02) -> np.ndarray:
        return rng.normal(0.0, std, size=shape).astype(np.float32)

    w = {"wte.weight": normal(VOCAB_SIZE, n_embd), "wpe.weight": normal(n_positions, n_embd)}
    for i in range(n_layer):
        p = f"h.{i}."
        for norm in ("ln_1", "ln_2"):
            w[p + norm + ".weight"] = 1.0 + normal(n_embd, std=0.1)
            w[p + norm + ".bias"] = normal(n_embd)
        for name, rows, cols in (
            ("attn.c_attn", n_embd, 3 * n_embd),
            ("attn.c_proj", n_embd, n_embd),
            ("mlp.c_fc", n_embd, 4 * n_embd),
            ("mlp.c_proj", 4 * n_embd, n_embd),
        ):
            w[p + name + ".weight"] = normal(rows, cols)
            w[p + name + ".bias"] = normal(cols)
    w["ln_f.weight"] = 1.0 + normal(n_embd, std=0.1)
    w["ln_f.bias"] = normal(n_embd)
    return w


def write_checkpoint(folder: Path) -> None:
    """The same random weights every time (fixed seed), as Hugging Face saves GPT-2."""
    config = {"model_type": "gpt2", "vocab_size": VOCAB_SIZE, **GPT2_124M}
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(124)
    shape = {k: GPT2_124M[k] for k in ("n_embd", "n_layer", "n_positions")}
    save_file(_weights(rng, **shape), str(folder / "model.safetensors"))


def gpt2_124m_checkpoint(tokenizer: str | None = None) -> Path:
    """The Hugging Face folder the GGUF is made from (549 MB of F32), kept in the cache.

    Only the transformers comparison reads it: the same weights, unquantized.
    """
    folder = AppPaths.default().cache_dir / "bench" / "gpt2-124m-random"
    if (folder / "model.safetensors").is_file():
        return folder
    vocab = find_tokenizer(tokenizer)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        work = Path(tmp) / folder.name
        work.mkdir()
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(vocab / name, work / name)
        write_checkpoint(work)
        work.rename(folder)
    return folder


def build_gpt2_124m(quant: str = "Q8_0", tokenizer: str | None = None) -> Path:
    """The model file, built once and kept in the cache folder."""
    out = AppPaths.default().cache_dir / "bench" / f"gpt2-124m-random-{quant.lower()}.gguf"
    if out.is_file():
        return out
    vocab = find_tokenizer(tokenizer)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        folder = Path(tmp) / "gpt2-124m-random"
        folder.mkdir()
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(vocab / name, folder / name)
        write_checkpoint(folder)
        if quant.upper() in ("F32", "F16", "Q8_0"):
            convert_checkpoint(folder, out, quant.lower(), name="GPT-2 124M (random weights)")
        else:
            f16 = Path(tmp) / "f16.gguf"
            convert_checkpoint(folder, f16, "f16", name="GPT-2 124M (random weights)")
            quantize(f16, out, quant)
    return out
