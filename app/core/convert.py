"""Convert a Hugging Face GPT-2 checkpoint folder into a GGUF that llama.cpp runs.

Only safetensors are read: a pickled ``pytorch_model.bin`` can execute code when loaded,
and a writing tool that imports model files from the internet must never do that.

The output is streamed tensor by tensor (one tensor in memory at a time), written to a
temporary file and renamed into place, so a failed or cancelled conversion leaves nothing
half-written behind.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from safetensors import safe_open

GPT2_EOT_ID = 50256
PICKLE_FILES = ("pytorch_model.bin", "model.ckpt", "pytorch_model.bin.index.json", "tf_model.h5")


class ConversionError(Exception):
    """The checkpoint cannot be converted; the message says why and what to do."""


class ConversionCancelled(ConversionError):
    """The caller asked to stop; no output file was left behind."""


class OutType(str, Enum):
    F32 = "f32"
    F16 = "f16"
    Q8_0 = "q8_0"

    @property
    def file_type(self) -> gguf.LlamaFileType:
        return {
            OutType.F32: gguf.LlamaFileType.ALL_F32,
            OutType.F16: gguf.LlamaFileType.MOSTLY_F16,
            OutType.Q8_0: gguf.LlamaFileType.MOSTLY_Q8_0,
        }[self]


@dataclass(frozen=True)
class ConvertProgress:
    """One step of a conversion, for a progress bar: ``done`` of ``total`` tensors."""

    done: int
    total: int
    message: str

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[ConvertProgress], None]


@dataclass(frozen=True)
class GPT2Config:
    n_embd: int
    n_layer: int
    n_head: int
    n_ctx: int
    n_ff: int
    vocab_size: int
    layer_norm_epsilon: float
    bos_token_id: int
    eos_token_id: int
    name: str


# --------------------------------------------------------------------------- reading


def read_config(folder: Path) -> GPT2Config:
    path = folder / "config.json"
    if not path.is_file():
        raise ConversionError(f"{folder}: no config.json (not a Hugging Face model folder)")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"{path}: cannot be read as JSON: {exc}") from None
    if not isinstance(cfg, dict):
        raise ConversionError(f"{path}: expected a JSON object")
    model_type = cfg.get("model_type")
    archs = cfg.get("architectures") or []
    if model_type != "gpt2" and not any(str(a).startswith("GPT2") for a in archs):
        raise ConversionError(
            f"{path}: model_type is {model_type!r}; only GPT-2 checkpoints (model_type 'gpt2') "
            "can be converted"
        )
    for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        if cfg.get(flag):
            raise ConversionError(f"{path}: {flag}=true is not supported by llama.cpp's GPT-2")

    def number(*names: str, default: int | None = None) -> int:
        value = next((cfg[n] for n in names if cfg.get(n) is not None), default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConversionError(f"{path}: {names[0]} must be an integer, got {value!r}")
        return value

    n_embd = number("n_embd", "hidden_size")
    n_layer = number("n_layer", "num_hidden_layers")
    n_head = number("n_head", "num_attention_heads")
    n_ctx = number("n_positions", "n_ctx", default=1024)
    vocab_size = number("vocab_size", default=50257)
    if min(n_embd, n_layer, n_head, n_ctx, vocab_size) <= 0 or n_embd % n_head:
        raise ConversionError(
            f"{path}: invalid shape (n_embd={n_embd}, n_layer={n_layer}, n_head={n_head}, "
            f"n_positions={n_ctx}); n_embd must be a positive multiple of n_head"
        )
    n_inner = cfg.get("n_inner")
    return GPT2Config(
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_ctx=n_ctx,
        n_ff=int(n_inner) if n_inner else 4 * n_embd,
        vocab_size=vocab_size,
        layer_norm_epsilon=float(cfg.get("layer_norm_epsilon", 1e-5)),
        bos_token_id=int(cfg.get("bos_token_id") or GPT2_EOT_ID),
        eos_token_id=int(cfg.get("eos_token_id") or GPT2_EOT_ID),
        name=str(cfg.get("_name_or_path") or folder.name),
    )


@dataclass
class Tokenizer:
    tokens: list[str]
    types: list[int]
    merges: list[str]


def read_tokenizer(folder: Path, vocab_size: int) -> Tokenizer:
    """GPT-2 BPE from vocab.json + merges.txt, else from tokenizer.json."""
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    tok_json = folder / "tokenizer.json"
    added: dict[int, bool] = {}  # id -> special
    try:
        if vocab_file.is_file() and merges_file.is_file():
            vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
            merges = [
                line
                for line in merges_file.read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#version")
            ]
            if "<|endoftext|>" in vocab:
                added[vocab["<|endoftext|>"]] = True
        elif tok_json.is_file():
            data = json.loads(tok_json.read_text(encoding="utf-8"))
            model = data.get("model") or {}
            if model.get("type") != "BPE":
                raise ConversionError(
                    f"{tok_json}: expected a BPE tokenizer, got {model.get('type')!r}"
                )
            vocab = dict(model.get("vocab") or {})
            merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
            for tok in data.get("added_tokens") or []:
                vocab.setdefault(tok["content"], tok["id"])
                added[int(tok["id"])] = bool(tok.get("special"))
        else:
            raise ConversionError(
                f"{folder}: no tokenizer (expected vocab.json + merges.txt, or tokenizer.json)"
            )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConversionError(f"{folder}: cannot read the tokenizer: {exc}") from None
    if not merges:
        raise ConversionError(f"{folder}: the tokenizer has no BPE merges")

    by_id = {int(i): t for t, i in vocab.items()}
    n = max(vocab_size, max(by_id) + 1)
    holes = [i for i in range(len(by_id)) if i not in by_id]
    if holes:
        raise ConversionError(f"{folder}: the vocabulary has no token for id {holes[0]}")
    tokens, types = [], []
    for i in range(n):
        if i in by_id:
            tokens.append(by_id[i])
            if i in added:
                types.append(gguf.TokenType.CONTROL if added[i] else gguf.TokenType.USER_DEFINED)
            else:
                types.append(gguf.TokenType.NORMAL)
        else:  # the model's embedding is wider than the tokenizer: padding ids
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    return Tokenizer(tokens, [int(t) for t in types], merges)


def _weight_files(folder: Path) -> list[Path]:
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (OSError, ValueError, KeyError) as exc:
            raise ConversionError(f"{index}: cannot read the shard index: {exc}") from None
        files = sorted({folder / name for name in weight_map.values()})
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ConversionError(f"{folder}: missing safetensors shard(s): {', '.join(missing)}")
        return files
    shards = sorted(folder.glob("*.safetensors"))
    if shards:
        return shards
    pickles = [name for name in PICKLE_FILES if (folder / name).exists()]
    if pickles:
        raise ConversionError(
            f"{folder}: only {pickles[0]} was found. Ghostpen reads weights only from "
            "model.safetensors, because PyTorch pickle files can run arbitrary code when "
            "loaded. Download model.safetensors for this model from its Hugging Face page, "
            "or convert the checkpoint once in a trusted environment with "
            "transformers: model.save_pretrained(folder, safe_serialization=True)."
        )
    raise ConversionError(f"{folder}: no model.safetensors found")


class _Weights:
    """Lazy access to the checkpoint tensors by their unprefixed Hugging Face names."""

    def __init__(self, files: list[Path]) -> None:
        self._where: dict[str, tuple[Path, str]] = {}
        for file in files:
            try:
                with safe_open(str(file), framework="numpy") as f:
                    for key in f.keys():  # noqa: SIM118 - safe_open is not a Mapping
                        self._where[key.removeprefix("transformer.")] = (file, key)
            except Exception as exc:  # safetensors raises its own error types
                raise ConversionError(f"{file}: not a readable safetensors file: {exc}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._where

    def get(self, name: str) -> np.ndarray:
        if name not in self._where:
            raise ConversionError(f"the checkpoint has no tensor {name!r}")
        file, key = self._where[name]
        try:
            with safe_open(str(file), framework="numpy") as f:
                array = f.get_tensor(key)
        except Exception as exc:
            raise ConversionError(f"{file}: cannot read tensor {key!r}: {exc}") from None
        if array.dtype not in (np.float32, np.float16, np.float64):
            raise ConversionError(f"{file}: tensor {key!r} has unsupported dtype {array.dtype}")
        return np.asarray(array, dtype=np.float32)


# --------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class _Plan:
    """One output tensor: where it comes from and its shape in numpy order."""

    gguf_name: str
    hf_name: str
    shape: tuple[int, ...]
    transpose: bool


def _plan(cfg: GPT2Config, weights: _Weights) -> list[_Plan]:
    e, ff, v = cfg.n_embd, cfg.n_ff, cfg.vocab_size
    plans = [
        _Plan("token_embd.weight", "wte.weight", (v, e), False),
        _Plan("position_embd.weight", "wpe.weight", (cfg.n_ctx, e), False),
    ]
    for i in range(cfg.n_layer):
        h, b = f"h.{i}.", f"blk.{i}."
        plans += [
            _Plan(b + "attn_norm.weight", h + "ln_1.weight", (e,), False),
            _Plan(b + "attn_norm.bias", h + "ln_1.bias", (e,), False),
            _Plan(b + "attn_qkv.weight", h + "attn.c_attn.weight", (3 * e, e), True),
            _Plan(b + "attn_qkv.bias", h + "attn.c_attn.bias", (3 * e,), False),
            _Plan(b + "attn_output.weight", h + "attn.c_proj.weight", (e, e), True),
            _Plan(b + "attn_output.bias", h + "attn.c_proj.bias", (e,), False),
            _Plan(b + "ffn_norm.weight", h + "ln_2.weight", (e,), False),
            _Plan(b + "ffn_norm.bias", h + "ln_2.bias", (e,), False),
            _Plan(b + "ffn_up.weight", h + "mlp.c_fc.weight", (ff, e), True),
            _Plan(b + "ffn_up.bias", h + "mlp.c_fc.bias", (ff,), False),
            _Plan(b + "ffn_down.weight", h + "mlp.c_proj.weight", (e, ff), True),
            _Plan(b + "ffn_down.bias", h + "mlp.c_proj.bias", (e,), False),
        ]
    plans += [
        _Plan("output_norm.weight", "ln_f.weight", (e,), False),
        _Plan("output_norm.bias", "ln_f.bias", (e,), False),
    ]
    if "lm_head.weight" in weights and not _tied(weights):
        plans.append(_Plan("output.weight", "lm_head.weight", (v, e), False))
    missing = [p.hf_name for p in plans if p.hf_name not in weights]
    if missing:
        shown = ", ".join(missing[:4]) + (
            f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        )
        raise ConversionError(f"the checkpoint is missing tensor(s): {shown}")
    return plans


def _tied(weights: _Weights) -> bool:
    return bool(np.array_equal(weights.get("lm_head.weight"), weights.get("wte.weight")))


def _target_type(plan: _Plan, outtype: OutType) -> gguf.GGMLQuantizationType:
    """Per-tensor type, as llama.cpp's own converter chooses it."""
    if len(plan.shape) == 1 or outtype is OutType.F32 or plan.gguf_name == "position_embd.weight":
        return gguf.GGMLQuantizationType.F32
    if outtype is OutType.Q8_0 and plan.shape[-1] % 32 == 0:
        return gguf.GGMLQuantizationType.Q8_0
    return gguf.GGMLQuantizationType.F16


def _encode(array: np.ndarray, qtype: gguf.GGMLQuantizationType) -> np.ndarray:
    if qtype == gguf.GGMLQuantizationType.F32:
        return np.ascontiguousarray(array, dtype=np.float32)
    if qtype == gguf.GGMLQuantizationType.F16:
        return np.ascontiguousarray(array, dtype=np.float16)
    return gguf.quants.quantize(np.ascontiguousarray(array, dtype=np.float32), qtype)


def _stored_shape(plan: _Plan, qtype: gguf.GGMLQuantizationType) -> tuple[tuple[int, ...], Any]:
    """Shape and dtype of the array handed to GGUFWriter for this tensor."""
    if qtype == gguf.GGMLQuantizationType.F32:
        return plan.shape, np.float32
    if qtype == gguf.GGMLQuantizationType.F16:
        return plan.shape, np.float16
    return tuple(gguf.quants.quant_shape_to_byte_shape(plan.shape, qtype)), np.uint8


# --------------------------------------------------------------------------- writing


def convert_checkpoint(
    folder: str | Path,
    out_path: str | Path,
    outtype: OutType | str = OutType.F16,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    name: str | None = None,
) -> Path:
    """Convert the GPT-2 checkpoint in ``folder`` into ``out_path``; returns the output path."""
    folder, out_path = Path(folder), Path(out_path)
    try:
        outtype = outtype if isinstance(outtype, OutType) else OutType(str(outtype).lower())
    except ValueError:
        choices = ", ".join(t.value for t in OutType)
        raise ConversionError(f"unknown output type {outtype!r} (choose {choices})") from None
    if not folder.is_dir():
        raise ConversionError(f"{folder}: not a folder")
    cfg = read_config(folder)
    files = _weight_files(folder)
    tokenizer = read_tokenizer(folder, cfg.vocab_size)
    if len(tokenizer.tokens) != cfg.vocab_size:
        raise ConversionError(
            f"{folder}: the tokenizer has {len(tokenizer.tokens)} tokens but config.json says "
            f"vocab_size={cfg.vocab_size}"
        )
    weights = _Weights(files)
    plans = _plan(cfg, weights)
    total = len(plans)

    def report(done: int, message: str) -> None:
        if cancel is not None and cancel.is_set():
            raise ConversionCancelled("conversion cancelled")
        if progress is not None:
            progress(ConvertProgress(done, total, message))

    report(0, "reading checkpoint")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".part")
    writer = gguf.GGUFWriter(None, "gpt2")
    try:
        _add_metadata(writer, cfg, tokenizer, outtype, name or cfg.name)
        for plan in plans:
            qtype = _target_type(plan, outtype)
            shape, dtype = _stored_shape(plan, qtype)
            nbytes = math.prod(shape) * np.dtype(dtype).itemsize
            writer.add_tensor_info(plan.gguf_name, shape, np.dtype(dtype), nbytes, raw_dtype=qtype)
        writer.write_header_to_file(tmp)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for done, (plan, array) in enumerate(_arrays(plans, weights), start=1):
            report(done - 1, f"converting {plan.gguf_name}")
            writer.write_tensor_data(_encode(array, _target_type(plan, outtype)))
        writer.close()
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out_path)
    except OSError as exc:
        raise ConversionError(
            f"{out_path}: cannot write the output: {exc.strerror or exc}"
        ) from None
    finally:
        writer.close()
        tmp.unlink(missing_ok=True)
    report(total, "done")
    return out_path


def _arrays(plans: list[_Plan], weights: _Weights) -> Iterator[tuple[_Plan, np.ndarray]]:
    for plan in plans:
        array = weights.get(plan.hf_name)
        if plan.transpose:
            array = array.T
        if array.shape != plan.shape:
            want = tuple(reversed(plan.shape)) if plan.transpose else plan.shape
            raise ConversionError(
                f"tensor {plan.hf_name!r} has shape {list(array.shape)} but config.json implies "
                f"{list(want)}"
            )
        yield plan, array


def _add_metadata(
    writer: gguf.GGUFWriter, cfg: GPT2Config, tok: Tokenizer, outtype: OutType, name: str
) -> None:
    writer.add_name(name)
    writer.add_context_length(cfg.n_ctx)
    writer.add_embedding_length(cfg.n_embd)
    writer.add_feed_forward_length(cfg.n_ff)
    writer.add_block_count(cfg.n_layer)
    writer.add_head_count(cfg.n_head)
    writer.add_layer_norm_eps(cfg.layer_norm_epsilon)
    writer.add_file_type(int(outtype.file_type))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tok.tokens)
    writer.add_token_types(tok.types)
    writer.add_token_merges(tok.merges)
    writer.add_bos_token_id(cfg.bos_token_id)
    writer.add_eos_token_id(cfg.eos_token_id)
    writer.add_add_bos_token(False)
