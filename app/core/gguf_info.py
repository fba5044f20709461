"""Read and validate a GGUF file before llama.cpp ever sees it.

llama.cpp trusts its input: a truncated or crafted file can crash the process that also
holds the writer's text. So every file goes through two steps here:

1. ``_scan_layout`` walks the binary layout with explicit bounds checks (every length is
   checked against the bytes that remain), so truncation, absurd lengths and counts,
   unknown type ids, strings that are not UTF-8, and tensor data that lies past the end,
   overlaps, leaves gaps or is misaligned are reported precisely instead of being misread.
   It reads the metadata as it goes, but only counts the items of long arrays (except the
   vocabulary, whose tokens are checked).
2. The architecture's required keys and tensors (with their shapes) are checked, and so is
   every other thing that was seen to make llama.cpp abort or refuse the file: key value
   types, absurd hyperparameters, per-layer values that vary, a negative or NaN epsilon,
   mixture-of-experts keys on a dense model, tokenizer arrays of the wrong type or length,
   duplicate tokens, special token ids out of range, tensor types the CPU backend cannot
   compute with. ``tests/support/gguf_corpus.py`` holds one file per rule, with what llama.cpp
   does with it.

What validation cannot foresee is caught by :mod:`app.core.model_probe`, which loads a
file once in a throwaway process before Ghostpen loads it in its own.

``gguf.GGUFReader`` is not used here: it builds a numpy view for every vocabulary entry,
which takes seconds on GPT-2's 50,257 tokens (measured 4.5 s against 0.04 s for the scan),
and it slices past the end of a truncated file instead of failing. The tests use it as an
independent reader of the files this module judges.

Any problem raises :class:`ModelFileError` whose message names the file and the problem.
"""

from __future__ import annotations

import bisect
import math
import mmap
import struct
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gguf

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
MAX_DIMS = 4  # GGML_MAX_DIMS
DEFAULT_ALIGNMENT = 32
#: Upper bounds for one metadata string or array; real files stay far below.
MAX_STRING = 1 << 26
MAX_ITEMS = 1 << 28
#: Smallest encodings: a metadata pair (key length, type id, a one-byte value) and a
#: tensor index entry (name length, n_dims, one dimension, type id, offset).
_MIN_KV_BYTES = 8 + 4 + 1
_MIN_TENSOR_BYTES = 8 + 4 + 8 + 4 + 8
_HEADER_BYTES = 24
#: More tensors or metadata keys than any real model has (they have hundreds to thousands).
_PLAUSIBLE_COUNT = 1 << 16
#: The vocabulary is read item by item (UTF-8 and duplicate checks); other long string
#: arrays (merges) are only walked.
TOKENS_KEY = "tokenizer.ggml.tokens"


class ModelFileError(Exception):
    """The file cannot be used as a model; the message says which file and why."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# --------------------------------------------------------------------------- layout scan

_SCALAR_FORMATS: dict[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
    10: "<Q", 11: "<q", 12: "<d",
}  # fmt: skip
_STRING = 8
_ARRAY = 9
_KNOWN_TYPE_IDS = frozenset(int(t) for t in gguf.GGML_QUANT_SIZES)
_U64_STRUCT = struct.Struct("<Q")


def value_type_name(vtype: int) -> str:
    try:
        return gguf.GGUFValueType(vtype).name
    except ValueError:
        return f"type {vtype}"


class _Truncated(Exception):
    pass


class _Absurd(Exception):
    pass


class _Cursor:
    """Bounded little-endian reader over the mapped file; ``where`` names what it reads."""

    def __init__(self, buf: mmap.mmap | bytes, size: int) -> None:
        self.buf = buf
        self.size = size
        self.pos = 0
        self.where = ""

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.size:
            raise _Truncated
        data = self.buf[self.pos : self.pos + n]
        self.pos += n
        return bytes(data)

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.size:
            raise _Truncated
        self.pos += n

    def string(self, what: str) -> bytes:
        length = self.unpack("<Q")
        if length > MAX_STRING:
            raise _Absurd(f"{what} claims an absurd length of {length:,} bytes")
        return self.take(length)

    def text(self, what: str, *, name: bool = False) -> str:
        """A string that must be UTF-8 (the GGUF spec says so; a flipped byte breaks it).

        ``name``: a key or tensor name, which llama.cpp compares as a C string, so a NUL
        byte would make two different names equal there.
        """
        raw = self.string(what)
        if name and b"\0" in raw:
            raise _Absurd(f"{what} contains a NUL byte ({raw[:40]!r})")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Absurd(f"{what} is not valid UTF-8 ({raw[:40]!r})") from None

    def strings(self, count: int, what: str, keep: bool) -> list[bytes] | None:
        """Walk ``count`` strings quickly (50k-token vocabularies); keep them if asked."""
        buf, pos, size = self.buf, self.pos, self.size
        unpack = _U64_STRUCT.unpack_from
        items: list[bytes] | None = [] if keep else None
        try:
            for _ in range(count):
                if pos + 8 > size:
                    raise _Truncated
                (length,) = unpack(buf, pos)
                if length > MAX_STRING:
                    raise _Absurd(f"an item of {what} claims an absurd length of {length:,} bytes")
                pos += 8
                end = pos + length
                if end > size:
                    raise _Truncated
                if items is not None:
                    items.append(bytes(buf[pos:end]))
                pos = end
        finally:
            self.pos = pos
        return items


@dataclass
class _TensorEntry:
    name: str
    shape: tuple[int, ...]  # ggml order: ne0 (row length) first
    type_id: int
    offset: int  # relative to the data section


@dataclass(frozen=True)
class ArrayValue:
    """A metadata array too long to be worth materialising (e.g. the 50k-token vocab)."""

    item_type: int
    count: int

    def __len__(self) -> int:
        return self.count


#: Scalar arrays up to this length are read into lists (per-layer head counts, ...).
SMALL_ARRAY = 256


@dataclass
class _Layout:
    version: int
    alignment: int
    data_start: int
    fields: dict[str, Any]
    tensors: list[_TensorEntry]
    #: key -> (value type id, item type id for arrays)
    types: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    #: the raw items of tokenizer.ggml.tokens when it is an array of strings
    vocab: list[bytes] | None = None


def _read_scalar(cur: _Cursor, vtype: int, key: str) -> Any:
    if vtype in _SCALAR_FORMATS:
        return cur.unpack(_SCALAR_FORMATS[vtype])
    if vtype == _STRING:
        return cur.text(key)
    raise _Absurd(f"metadata key {key!r} has unknown value type id {vtype}")


def _read_array(cur: _Cursor, key: str, keep: bool) -> tuple[int, Any, list[bytes] | None]:
    """Item type, value and (``keep``) the raw strings of one array; long ones are skipped."""
    item_type = cur.unpack("<I")
    count = cur.unpack("<Q")
    if count > MAX_ITEMS:
        raise _Absurd(f"array {key!r} claims {count:,} items")
    if item_type in _SCALAR_FORMATS:
        fmt = _SCALAR_FORMATS[item_type]
        if count <= SMALL_ARRAY:
            return item_type, [cur.unpack(fmt) for _ in range(count)], None
        cur.skip(count * struct.calcsize(fmt))
        return item_type, ArrayValue(item_type, count), None
    if item_type == _STRING:
        items = cur.strings(count, f"array {key!r}", keep)
        return item_type, ArrayValue(item_type, count), items
    if item_type == _ARRAY:  # ggml refuses these too; reading them would need recursion
        raise _Absurd(f"array {key!r} holds arrays, which llama.cpp cannot read")
    raise _Absurd(f"array {key!r} has unknown item type id {item_type}")


def _tensor_nbytes(entry: _TensorEntry) -> int:
    block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(entry.type_id)]
    n = math.prod(entry.shape)
    if entry.shape[0] % block:
        raise _Absurd(
            f"tensor {entry.name!r} has rows of {entry.shape[0]} values, "
            f"not a multiple of the {block}-value blocks of its type"
        )
    return n // block * type_size


def _check_counts(path: Path, size: int, n_tensors: int, n_kv: int) -> None:
    """Counts no file could hold (a flipped high byte, or -1) fail at once.

    A plausible count that the file is too short for is left to the scan, which reports
    the file as truncated: that is what a partial download looks like.
    """
    for count, what, least in (
        (n_tensors, "tensors", _MIN_TENSOR_BYTES),
        (n_kv, "metadata keys", _MIN_KV_BYTES),
    ):
        if count >= 1 << 63:
            raise ModelFileError(path, f"the header claims {count:,} {what} (a negative count)")
        if count > _PLAUSIBLE_COUNT and count * least > size - _HEADER_BYTES:
            raise ModelFileError(
                path, f"the header claims {count:,} {what}, more than a {size:,}-byte file can hold"
            )


def _scan_layout(path: Path, buf: mmap.mmap | bytes, size: int) -> _Layout:
    cur = _Cursor(buf, size)
    section = "the header"
    try:
        magic = cur.take(4)
        if magic != GGUF_MAGIC:
            raise ModelFileError(
                path, f"not a GGUF file (starts with {magic!r}, expected {GGUF_MAGIC!r})"
            )
        version = cur.unpack("<I")
        if version not in SUPPORTED_VERSIONS:
            raise ModelFileError(
                path,
                f"unsupported GGUF version {version} "
                f"(supported: {', '.join(map(str, SUPPORTED_VERSIONS))})",
            )
        n_tensors = cur.unpack("<Q")
        n_kv = cur.unpack("<Q")
        _check_counts(path, size, n_tensors, n_kv)
        alignment = DEFAULT_ALIGNMENT
        section = "the metadata"
        fields: dict[str, Any] = {}
        types: dict[str, tuple[int, int | None]] = {}
        vocab: list[bytes] | None = None
        for i in range(n_kv):
            cur.where = f"metadata key #{i + 1}"
            key = cur.text("a metadata key", name=True)
            if key in fields:
                raise _Absurd(f"metadata key {key!r} appears twice")
            cur.where = f"the value of {key!r}"
            vtype = cur.unpack("<I")
            item_type = None
            if vtype == _ARRAY:
                item_type, value, items = _read_array(cur, key, keep=key == TOKENS_KEY)
                if items is not None:
                    vocab = items
            else:
                value = _read_scalar(cur, vtype, key)
            fields[key], types[key] = value, (vtype, item_type)
            if key == "general.alignment":
                if vtype != 4 or not value or value & (value - 1):
                    raise ModelFileError(path, f"invalid general.alignment {value!r}")
                alignment = int(value)
        section = "the tensor index"
        tensors: list[_TensorEntry] = []
        for i in range(n_tensors):
            cur.where = f"tensor #{i + 1}"
            name = cur.text("a tensor name", name=True)
            cur.where = f"tensor {name!r}"
            n_dims = cur.unpack("<I")
            if not 1 <= n_dims <= MAX_DIMS:
                raise ModelFileError(
                    path, f"tensor {name!r} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)"
                )
            shape = tuple(cur.unpack("<Q") for _ in range(n_dims))
            if any(d == 0 or d > 1 << 40 for d in shape):
                raise ModelFileError(path, f"tensor {name!r} has an absurd shape {shape}")
            type_id = cur.unpack("<I")
            if type_id not in _KNOWN_TYPE_IDS:
                raise ModelFileError(path, f"tensor {name!r} has unknown type id {type_id}")
            offset = cur.unpack("<Q")
            tensors.append(_TensorEntry(name, shape, type_id, offset))
    except _Truncated:
        inside = f", inside {cur.where}" if cur.where else ""
        raise ModelFileError(
            path, f"file is truncated in {section} (it ends at byte {size:,}{inside})"
        ) from None
    except _Absurd as exc:
        raise ModelFileError(path, f"{section} is corrupt: {exc}") from None

    data_start = cur.pos + (-cur.pos % alignment)
    if tensors and data_start >= size:
        raise ModelFileError(
            path,
            f"file is truncated before its tensor data (it ends at byte {size:,}; "
            f"the data would start at byte {data_start:,})",
        )
    _check_tensor_data(path, tensors, alignment, data_start, size)
    return _Layout(version, alignment, data_start, fields, tensors, types, vocab)


def _check_tensor_data(
    path: Path, tensors: list[_TensorEntry], alignment: int, data_start: int, size: int
) -> None:
    """Each tensor's data lies in the file, aligned, packed in index order (as ggml wants)."""
    names: set[str] = set()
    starts: list[int] = []  # data offsets of the tensors checked so far (ascending)
    expected = 0  # where the next tensor's data must start
    for entry in tensors:
        if entry.name in names:
            raise ModelFileError(path, f"tensor {entry.name!r} appears twice")
        names.add(entry.name)
        if entry.offset % alignment:
            raise ModelFileError(
                path,
                f"tensor {entry.name!r} data offset {entry.offset:,} is not a multiple of "
                f"the alignment ({alignment})",
            )
        try:
            nbytes = _tensor_nbytes(entry)
        except _Absurd as exc:
            raise ModelFileError(path, str(exc)) from None
        end = data_start + entry.offset + nbytes
        if end > size:
            raise ModelFileError(
                path,
                f"tensor {entry.name!r} data ends at byte {end:,}, beyond the end of the "
                f"file ({size:,} bytes): the file is truncated or corrupt",
            )
        if entry.offset < expected:
            other = tensors[bisect.bisect_right(starts, entry.offset) - 1].name
            raise ModelFileError(path, f"tensor {entry.name!r} data overlaps the data of {other!r}")
        if entry.offset > expected:
            after = repr(tensors[len(starts) - 1].name) if starts else "the tensor index"
            raise ModelFileError(
                path,
                f"tensor {entry.name!r} data at offset {entry.offset:,} leaves a gap of "
                f"{entry.offset - expected:,} bytes after {after} (llama.cpp needs the "
                "tensor data packed in index order)",
            )
        starts.append(entry.offset)
        expected = entry.offset + nbytes + (-nbytes % alignment)


# --------------------------------------------------------------------------- architectures


@dataclass(frozen=True)
class ArchSpec:
    """What llama.cpp needs of a file of one architecture."""

    required_keys: tuple[str, ...]
    tensors: Callable[[Mapping[str, int]], dict[str, tuple[int, ...] | None]]
    tokenizer_models: tuple[str, ...]
    #: The epsilon key (llama.cpp asserts it is not negative; NaN fails that too).
    epsilon_key: str = "attention.layer_norm_epsilon"
    #: Heads are n_embd / n_head wide: a key_length that says otherwise aborts llama.cpp.
    fixed_head_dim: bool = False


def _gpt2_tensors(hp: Mapping[str, int]) -> dict[str, tuple[int, ...] | None]:
    """Required GPT-2 tensors and their ggml shapes (None: any shape)."""
    e, v, ctx, ff = hp["n_embd"], hp["n_vocab"], hp["n_ctx"], hp["n_ff"]
    out: dict[str, tuple[int, ...] | None] = {
        "token_embd.weight": (e, v),
        "position_embd.weight": (e, ctx),
        "output_norm.weight": (e,),
        "output_norm.bias": (e,),
    }
    for i in range(hp["n_layer"]):
        b = f"blk.{i}."
        out |= {
            b + "attn_norm.weight": (e,),
            b + "attn_norm.bias": (e,),
            b + "attn_qkv.weight": (e, 3 * e),
            b + "attn_qkv.bias": (3 * e,),
            b + "attn_output.weight": (e, e),
            b + "attn_output.bias": (e,),
            b + "ffn_norm.weight": (e,),
            b + "ffn_norm.bias": (e,),
            b + "ffn_up.weight": (e, ff),
            b + "ffn_up.bias": (ff,),
            b + "ffn_down.weight": (ff, e),
            b + "ffn_down.bias": (e,),
        }
    return out


def _gemma3_tensors(hp: Mapping[str, int]) -> dict[str, tuple[int, ...] | None]:
    """Required Gemma 3 tensors (the bundled offline model); attention shapes vary."""
    e, v, ff = hp["n_embd"], hp["n_vocab"], hp["n_ff"]
    out: dict[str, tuple[int, ...] | None] = {
        "token_embd.weight": (e, v),
        "output_norm.weight": (e,),
    }
    for i in range(hp["n_layer"]):
        b = f"blk.{i}."
        out |= {b + name: None for name in ("attn_q.weight", "attn_k.weight", "attn_v.weight",
                                             "attn_q_norm.weight", "attn_k_norm.weight",
                                             "attn_output.weight")}  # fmt: skip
        out |= {
            b + "attn_norm.weight": (e,),
            b + "post_attention_norm.weight": (e,),
            b + "ffn_norm.weight": (e,),
            b + "post_ffw_norm.weight": (e,),
            b + "ffn_gate.weight": (e, ff),
            b + "ffn_up.weight": (e, ff),
            b + "ffn_down.weight": (ff, e),
        }
    return out


ARCHITECTURES: dict[str, ArchSpec] = {
    "gpt2": ArchSpec(
        required_keys=(
            "gpt2.context_length",
            "gpt2.embedding_length",
            "gpt2.block_count",
            "gpt2.attention.head_count",
            "gpt2.attention.layer_norm_epsilon",
            "tokenizer.ggml.model",
            "tokenizer.ggml.tokens",
            "tokenizer.ggml.merges",
        ),
        tensors=_gpt2_tensors,
        tokenizer_models=("gpt2",),
        fixed_head_dim=True,
    ),
    "gemma3": ArchSpec(
        required_keys=(
            "gemma3.context_length",
            "gemma3.embedding_length",
            "gemma3.block_count",
            "gemma3.attention.head_count",
            "gemma3.attention.layer_norm_rms_epsilon",
            "tokenizer.ggml.model",
            "tokenizer.ggml.tokens",
        ),
        tensors=_gemma3_tensors,
        tokenizer_models=("llama",),
        epsilon_key="attention.layer_norm_rms_epsilon",
    ),
}


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class ModelInfo:
    """What a writer (and the app) needs to know about a model file."""

    path: str
    file_size: int
    gguf_version: int
    architecture: str
    name: str
    parameter_count: int
    file_type: str
    tensor_types: dict[str, int]
    context_length: int
    embedding_length: int
    block_count: int
    head_count: int
    feed_forward_length: int
    vocab_size: int
    tokenizer_model: str
    tokenizer_pre: str | None
    bos_token_id: int | None
    eos_token_id: int | None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("metadata")
        return data

    @property
    def quantization(self) -> str:
        """The dominant type of the 2D weights, e.g. 'Q8_0' (what a writer calls it)."""
        return self.file_type


def _file_type_name(value: Any, type_counts: Counter[str]) -> str:
    if value is not None:
        try:
            return gguf.LlamaFileType(int(value)).name.removeprefix("MOSTLY_").replace("ALL_", "")
        except ValueError:
            pass
    return type_counts.most_common(1)[0][0] if type_counts else "unknown"


def _scan(path: Path) -> tuple[_Layout, int]:
    if not path.exists():
        raise ModelFileError(path, "no such file")
    if path.is_dir():
        raise ModelFileError(path, "is a folder, not a GGUF file")
    try:
        size = path.stat().st_size
        if size == 0:
            raise ModelFileError(path, "file is empty")
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _scan_layout(path, buf, size), size
    except OSError as exc:
        raise ModelFileError(path, f"cannot read the file: {exc.strerror or exc}") from None


def inspect_model(path: str | Path, *, validate: bool = True) -> ModelInfo:
    """Validate ``path`` and describe it. Raises ModelFileError on any problem.

    ``validate=False`` still rejects files whose layout is broken, but describes files
    of architectures Ghostpen does not know.
    """
    path = Path(path)
    layout, size = _scan(path)
    fields = layout.fields

    arch = fields.get("general.architecture")
    if validate and "general.architecture" in fields and not isinstance(arch, str):
        vtype = layout.types["general.architecture"][0]
        raise ModelFileError(
            path, f"general.architecture must be a string, not {value_type_name(vtype)}"
        )
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(path, "missing required key 'general.architecture'")
    spec = ARCHITECTURES.get(arch)
    if validate and spec is None:
        raise ModelFileError(
            path,
            f"unsupported architecture {arch!r} (supported: {', '.join(sorted(ARCHITECTURES))})",
        )

    def key(name: str) -> Any:
        return fields.get(f"{arch}.{name}")

    if validate and spec is not None:
        missing = [k for k in spec.required_keys if k not in fields]
        if missing:
            raise ModelFileError(path, f"missing required key(s) for {arch}: {', '.join(missing)}")

    tokens = fields.get(TOKENS_KEY)
    tokenizer_model = fields.get("tokenizer.ggml.model") or ""
    hp = {
        "n_ctx": _int(key("context_length")),
        "n_embd": _int(key("embedding_length")),
        "n_layer": _int(key("block_count")),
        "n_head": _int(key("attention.head_count")),
        "n_vocab": len(tokens) if isinstance(tokens, (ArrayValue, list)) else 0,
    }
    shapes = {t.name: t.shape for t in layout.tensors}
    hp["n_ff"] = _int(key("feed_forward_length")) or _infer_ff(shapes) or 4 * hp["n_embd"]

    if validate and spec is not None:
        _check_hparams(path, arch, spec, layout, hp)
        _check_tokenizer(path, arch, spec, layout, hp["n_vocab"])
        embd = shapes.get("token_embd.weight")
        if embd is not None and len(embd) == 2 and embd[1] != hp["n_vocab"]:
            raise ModelFileError(
                path,
                f"the vocabulary has {hp['n_vocab']:,} tokens but 'token_embd.weight' has "
                f"{embd[1]:,} rows",
            )
        _check_tensors(path, arch, spec.tensors(hp), shapes)
        output = shapes.get("output.weight")
        if output is not None and output != (hp["n_embd"], hp["n_vocab"]):
            raise ModelFileError(
                path,
                f"tensor 'output.weight' has shape {list(output)}, expected "
                f"{[hp['n_embd'], hp['n_vocab']]}",
            )
        _check_tensor_types(path, layout.tensors)

    type_counts = Counter(gguf.GGMLQuantizationType(t.type_id).name for t in layout.tensors)
    return ModelInfo(
        path=str(path),
        file_size=size,
        gguf_version=layout.version,
        architecture=arch,
        name=str(fields.get("general.name") or path.stem),
        parameter_count=int(sum(math.prod(t.shape) for t in layout.tensors)),
        file_type=_file_type_name(fields.get("general.file_type"), type_counts),
        tensor_types=dict(type_counts),
        context_length=hp["n_ctx"],
        embedding_length=hp["n_embd"],
        block_count=hp["n_layer"],
        head_count=hp["n_head"],
        feed_forward_length=hp["n_ff"],
        vocab_size=hp["n_vocab"],
        tokenizer_model=str(tokenizer_model),
        tokenizer_pre=_opt_str(fields.get("tokenizer.ggml.pre")),
        bos_token_id=_opt_int(fields.get("tokenizer.ggml.bos_token_id")),
        eos_token_id=_opt_int(fields.get("tokenizer.ggml.eos_token_id")),
        metadata={k: v for k, v in fields.items() if not isinstance(v, ArrayValue)},
    )


def _int(value: Any) -> int:
    """A hyperparameter as int; per-layer arrays give their first entry."""
    value = _first(value)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _infer_ff(shapes: Mapping[str, tuple[int, ...]]) -> int:
    up = shapes.get("blk.0.ffn_up.weight")
    return int(up[1]) if up and len(up) == 2 else 0


# --------------------------------------------------------------------------- validation
#
# Each rule below stands for a way a file that the layout scan accepts still stops
# llama.cpp (GGML_ASSERT -> abort, or a bad read -> SIGSEGV) or makes it refuse the file.
# tests/core/test_untrusted_models.py builds one file per rule and checks both sides.

_U8, _I8, _U16, _I16, _U32, _I32, _F32, _BOOL = range(8)
_U64, _I64, _F64 = 10, 11, 12
_INT_TYPES = frozenset({_U8, _I8, _U16, _I16, _U32, _I32, _U64, _I64})

#: Hyperparameters: (name in hp, key suffix, upper bound). Beyond the bound a value is a
#: corrupt byte, not a model (and a huge block count would make the tensor list explode).
#: 512 layers is llama.cpp's LLAMA_MAX_LAYERS: more aborts it.
_HPARAMS = (
    ("n_ctx", "context_length", 1 << 24),
    ("n_embd", "embedding_length", 1 << 20),
    ("n_layer", "block_count", 512),
    ("n_head", "attention.head_count", 1 << 14),
    ("n_vocab", "vocabulary (tokenizer.ggml.tokens)", MAX_ITEMS),
)
#: llama.cpp reads these keys as exactly these types; "{a}" is the architecture. Keys
#: read per layer may also be arrays of 32-bit integers.
_KEY_TYPES: dict[str, int] = {
    "{a}.context_length": _U32,
    "{a}.embedding_length": _U32,
    "{a}.block_count": _U32,
    "{a}.feed_forward_length": _U32,
    "{a}.attention.head_count": _U32,
    "{a}.attention.head_count_kv": _U32,
    "{a}.attention.key_length": _U32,
    "{a}.attention.value_length": _U32,
    "{a}.attention.layer_norm_epsilon": _F32,
    "{a}.attention.layer_norm_rms_epsilon": _F32,
    "{a}.expert_count": _U32,
    "{a}.expert_used_count": _U32,
    "{a}.rope.scaling.type": _STRING,
    "general.name": _STRING,
    "general.file_type": _U32,
    "tokenizer.ggml.model": _STRING,
    "tokenizer.ggml.pre": _STRING,
    "tokenizer.ggml.bos_token_id": _U32,
    "tokenizer.ggml.eos_token_id": _U32,
    "tokenizer.ggml.eot_token_id": _U32,
    "tokenizer.ggml.eom_token_id": _U32,
    "tokenizer.ggml.add_bos_token": _BOOL,
    "tokenizer.ggml.add_eos_token": _BOOL,
}
_PER_LAYER = frozenset(
    {
        "{a}.feed_forward_length",
        "{a}.attention.head_count",
        "{a}.attention.head_count_kv",
        "{a}.expert_used_count",
    }
)
#: Keys of mixture-of-experts and multi-token-prediction models; Ghostpen's architectures
#: have neither, and llama.cpp asserts on inconsistent values of them.
_DENSE_ONLY = (
    "expert_count",
    "expert_used_count",
    "expert_group_count",
    "expert_group_used_count",
    "nextn_predict_layers",
)
_ROPE_SCALING_TYPES = ("none", "linear", "yarn", "longrope")
#: Special tokens Ghostpen and llama.cpp use to stop generating.
_SPECIAL_IDS = ("bos", "eos", "eot", "eom")
#: Tokenizer arrays: their item type, and whether they must have one item per token.
_TOKENIZER_ARRAYS = {
    TOKENS_KEY: (_STRING, True),
    "tokenizer.ggml.merges": (_STRING, False),
    "tokenizer.ggml.token_type": (_I32, True),
    "tokenizer.ggml.scores": (_F32, True),
}
#: Types llama.cpp's CPU backend cannot multiply or look up: a weight of one of these
#: crashes the first evaluation (SIGSEGV in mul_mat, abort in get_rows).
_NOT_WEIGHT_TYPES = frozenset(
    int(t)
    for t in (
        gguf.GGMLQuantizationType.Q8_1,
        gguf.GGMLQuantizationType.Q8_K,
        gguf.GGMLQuantizationType.I8,
        gguf.GGMLQuantizationType.I16,
        gguf.GGMLQuantizationType.I32,
        gguf.GGMLQuantizationType.I64,
        gguf.GGMLQuantizationType.F64,
    )
)


def _numbers(value: Any) -> list[float]:
    """The numeric value(s) of a scalar or small array (booleans and strings excluded)."""
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _check_hparams(
    path: Path, arch: str, spec: ArchSpec, layout: _Layout, hp: Mapping[str, int]
) -> None:
    fields, types = layout.fields, layout.types
    for name, label, limit in _HPARAMS:
        values = _numbers(fields.get(f"{arch}.{label}")) if name != "n_vocab" else [hp[name]]
        big = max(values, default=0)
        if big > limit:
            raise ModelFileError(
                path, f"{arch}.{label} {int(big):,} is absurd (at most {limit:,} is possible)"
            )
    for pattern, want in _KEY_TYPES.items():
        k = pattern.replace("{a}", arch)
        if k not in types:
            continue
        vtype, item = types[k]
        if vtype == want:
            continue
        if pattern in _PER_LAYER and vtype == _ARRAY and item in (_U32, _I32):
            continue
        raise ModelFileError(
            path, f"{k} has type {value_type_name(vtype)}, expected {value_type_name(want)}"
        )
    for name, label, _limit in _HPARAMS:
        if hp[name] <= 0:
            raise ModelFileError(path, f"{arch}.{label} must be positive, got {hp[name]}")
    if hp["n_embd"] % hp["n_head"]:
        raise ModelFileError(
            path,
            f"embedding length {hp['n_embd']} is not divisible by head count {hp['n_head']}",
        )
    for pattern in _PER_LAYER:
        k = pattern.replace("{a}", arch)
        value = fields.get(k)
        if isinstance(value, ArrayValue) or (
            isinstance(value, list) and (len(value) != hp["n_layer"] or len(set(value)) > 1)
        ):
            shown = value if isinstance(value, list) else f"{len(value)} values"
            raise ModelFileError(
                path, f"{k} varies per layer ({shown}); {arch} needs one value for every layer"
            )
    eps_key = f"{arch}.{spec.epsilon_key}"
    eps = fields.get(eps_key)
    if isinstance(eps, float) and not 0.0 < eps < 1.0:  # NaN fails this too
        raise ModelFileError(
            path, f"{eps_key} must be a small positive number (such as 1e-05), got {eps}"
        )
    for suffix in _DENSE_ONLY:
        k = f"{arch}.{suffix}"
        if any(_numbers(fields.get(k))):
            raise ModelFileError(
                path,
                f"{k} is {fields[k]}, but {arch} models have no mixture-of-experts or "
                "next-token-prediction layers",
            )
    scaling = fields.get(f"{arch}.rope.scaling.type")
    if scaling is not None and scaling not in _ROPE_SCALING_TYPES:
        raise ModelFileError(
            path,
            f"{arch}.rope.scaling.type {scaling!r} is not one llama.cpp knows "
            f"({', '.join(_ROPE_SCALING_TYPES)})",
        )
    head_dim = hp["n_embd"] // hp["n_head"]
    for suffix in ("key_length", "value_length", "key_length_swa", "value_length_swa"):
        k = f"{arch}.attention.{suffix}"
        if k not in fields:
            continue
        value = _int(fields[k])
        if spec.fixed_head_dim and value != head_dim:
            raise ModelFileError(
                path,
                f"{k} is {value}, but {arch} attention heads are {head_dim} wide "
                "(embedding length / head count)",
            )
        if not 0 < value <= 1 << 16:
            raise ModelFileError(path, f"{k} must be positive, got {value}")


def _check_tokenizer(path: Path, arch: str, spec: ArchSpec, layout: _Layout, n_vocab: int) -> None:
    fields, types = layout.fields, layout.types
    model = fields.get("tokenizer.ggml.model")
    if model not in spec.tokenizer_models:
        raise ModelFileError(
            path,
            f"tokenizer model {model!r} does not fit architecture {arch} "
            f"(expected {' or '.join(spec.tokenizer_models)})",
        )
    for k, (item, per_token) in _TOKENIZER_ARRAYS.items():
        if k not in types:
            continue
        vtype, got = types[k]
        if vtype != _ARRAY or got != item:
            found = (
                f"of {value_type_name(got)}"
                if vtype == _ARRAY and got is not None
                else (f"a {value_type_name(vtype)}")
            )
            raise ModelFileError(
                path, f"{k} must be an array of {value_type_name(item)}, not {found}"
            )
        count = len(fields[k])
        if per_token and count != n_vocab:
            raise ModelFileError(path, f"{k} has {count:,} items but {TOKENS_KEY} has {n_vocab:,}")
    if layout.vocab is not None:
        _check_vocab(path, layout.vocab)
    for name in _SPECIAL_IDS:
        k = f"tokenizer.ggml.{name}_token_id"
        value = fields.get(k)
        if isinstance(value, int) and not 0 <= value < n_vocab:
            raise ModelFileError(
                path, f"{k} {value:,} is out of range (the vocabulary has {n_vocab:,} tokens)"
            )


def _check_vocab(path: Path, vocab: list[bytes]) -> None:
    """Tokens are UTF-8 and unique as llama.cpp reads them: it aborts on a repeated token.

    One join, one decode and one set cover the common case in milliseconds (the newline
    between tokens is ASCII, so no multi-byte sequence can straddle two tokens); the
    token-by-token loops only run to name the culprit.
    """
    joined = b"\n".join(vocab)
    try:
        joined.decode("utf-8")
    except UnicodeDecodeError:
        for i, token in enumerate(vocab):
            try:
                token.decode("utf-8")
            except UnicodeDecodeError:
                raise ModelFileError(
                    path, f"token {i:,} of {TOKENS_KEY} is not valid UTF-8 ({token[:40]!r})"
                ) from None
    # llama.cpp reads each token as a C string (up to its first NUL byte) and renames
    # empty ones ("[EMPTY_n]"); two tokens that read the same way abort it.
    texts = [t.split(b"\0", 1)[0] for t in vocab] if b"\0" in joined else vocab
    non_empty = [t for t in texts if t]
    if len(set(non_empty)) == len(non_empty):
        return
    seen: dict[bytes, int] = {}
    for i, text in enumerate(texts):
        first = seen.setdefault(text, i) if text else i
        if first != i:
            cut = " (read up to its NUL byte)" if text != vocab[i] else ""
            raise ModelFileError(
                path,
                f"token {i:,} of {TOKENS_KEY}{cut} repeats token {first:,} "
                f"({text.decode('utf-8', 'replace')!r}); llama.cpp cannot load a "
                "vocabulary with duplicates",
            )


def _check_tensors(
    path: Path,
    arch: str,
    required: Mapping[str, tuple[int, ...] | None],
    shapes: Mapping[str, tuple[int, ...]],
) -> None:
    missing = [name for name in required if name not in shapes]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ModelFileError(path, f"missing required tensor(s) for {arch}: {shown}")
    for name, want in required.items():
        if want is not None and shapes[name] != want:
            raise ModelFileError(
                path, f"tensor {name!r} has shape {list(shapes[name])}, expected {list(want)}"
            )


def _check_tensor_types(path: Path, tensors: list[_TensorEntry]) -> None:
    """Norms and biases must be F32, weights a type llama.cpp can compute with."""
    for t in tensors:
        name = gguf.GGMLQuantizationType(t.type_id).name
        if len(t.shape) == 1 and t.type_id != gguf.GGMLQuantizationType.F32:
            raise ModelFileError(
                path,
                f"tensor {t.name!r} has type {name}, but llama.cpp needs F32 for "
                "one-dimensional tensors (norms and biases)",
            )
        if len(t.shape) > 1 and t.type_id in _NOT_WEIGHT_TYPES:
            raise ModelFileError(
                path, f"tensor {t.name!r} has type {name}, which llama.cpp cannot use for weights"
            )


def tensor_types(path: str | Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Name -> (ggml type name, shape in ggml order) of every tensor in a sound file."""
    layout, _size = _scan(Path(path))
    return {t.name: (gguf.GGMLQuantizationType(t.type_id).name, t.shape) for t in layout.tensors}
