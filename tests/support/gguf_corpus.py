"""A corpus of malformed GGUF files, built from a valid one by byte-level edits.

Why its own GGUF parser: the corpus must be able to write files that no well-behaved
writer (``gguf.GGUFWriter``) would produce (overlapping tensors, a count of -1, a key that
is not UTF-8), and it must not trust the module it tests (``app.core.gguf_info``). So
:class:`GgufFile` parses the real layout (header, metadata, tensor index, alignment
padding, data) with ``struct``, records where each part starts, and writes it back with
any change; truncations and raw patches work on the original bytes.

Each :class:`Case` has a name, the bytes of the broken file and the fragment that
``inspect_model``'s message must contain. :func:`build_corpus` writes them all to a folder.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gguf

# GGUF value type ids (gguf.GGUFValueType), spelled out so the file format is visible here.
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR_FORMATS = {
    U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
    U64: "<Q", I64: "<q", F64: "<d",
}  # fmt: skip
HEADER_SIZE = 24  # magic, version (u32), tensor count (u64), metadata count (u64)


def encode_string(data: str | bytes) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return struct.pack("<Q", len(raw)) + raw


def encode_value(vtype: int, value: Any, item_type: int | None = None) -> bytes:
    """The bytes of a metadata value (after its type id)."""
    if vtype == STRING:
        return encode_string(value)
    if vtype == ARRAY:
        assert item_type is not None
        items = list(value)
        return struct.pack("<IQ", item_type, len(items)) + b"".join(
            encode_value(item_type, v) for v in items
        )
    return struct.pack(SCALAR_FORMATS[vtype], value)


def tensor_nbytes(dims: tuple[int, ...], type_id: int) -> int:
    block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(type_id)]
    n = 1
    for d in dims:
        n *= d
    return n // block * type_size


@dataclass
class KV:
    """One metadata pair; ``raw`` is the encoded value (after the type id)."""

    key: bytes
    vtype: int
    raw: bytes
    start: int = -1  # where the pair starts in the source file (-1: added)

    @property
    def value_at(self) -> int:
        """Offset of the value (after key length, key and type id) in the source file."""
        return self.start + 8 + len(self.key) + 4


@dataclass
class Tensor:
    name: bytes
    dims: tuple[int, ...]
    type_id: int
    data: bytes
    offset: int | None = None  # None: computed contiguously when written
    start: int = -1  # where the tensor's index entry starts in the source file

    @property
    def n_dims_at(self) -> int:
        return self.start + 8 + len(self.name)

    @property
    def type_at(self) -> int:
        return self.n_dims_at + 4 + 8 * len(self.dims)

    @property
    def offset_at(self) -> int:
        return self.type_at + 4


@dataclass
class GgufFile:
    """A parsed GGUF, editable and writable back to bytes."""

    raw: bytes
    version: int
    kvs: list[KV]
    tensors: list[Tensor]
    alignment: int
    kv_end: int  # end of the metadata = start of the tensor index
    index_end: int  # end of the tensor index (before the alignment padding)
    data_start: int

    @classmethod
    def parse(cls, raw: bytes) -> GgufFile:
        pos = 0

        def take(n: int) -> bytes:
            nonlocal pos
            out = raw[pos : pos + n]
            assert len(out) == n, "the corpus source must be a valid GGUF"
            pos += n
            return out

        def u32() -> int:
            return int(struct.unpack("<I", take(4))[0])

        def u64() -> int:
            return int(struct.unpack("<Q", take(8))[0])

        def skip_value(vtype: int) -> None:
            nonlocal pos
            if vtype == STRING:
                take(u64())
            elif vtype == ARRAY:
                item, count = u32(), u64()
                for _ in range(count):
                    skip_value(item)
            else:
                take(struct.calcsize(SCALAR_FORMATS[vtype]))

        assert take(4) == b"GGUF"
        version, n_tensors, n_kv = u32(), u64(), u64()
        kvs, alignment = [], 32
        for _ in range(n_kv):
            start = pos
            key = take(u64())
            vtype = u32()
            value_at = pos
            skip_value(vtype)
            kvs.append(KV(key, vtype, raw[value_at:pos], start))
            if key == b"general.alignment":
                alignment = int(struct.unpack("<I", raw[value_at : value_at + 4])[0])
        kv_end = pos
        entries = []
        for _ in range(n_tensors):
            start = pos
            name = take(u64())
            dims = tuple(u64() for _ in range(u32()))
            type_id, offset = u32(), u64()
            entries.append((start, name, dims, type_id, offset))
        index_end = pos
        data_start = pos + (-pos % alignment)
        tensors = [
            Tensor(name, dims, t, raw[data_start + off : data_start + off + tensor_nbytes(dims, t)],
                   None, start)
            for start, name, dims, t, off in entries
        ]  # fmt: skip
        return cls(raw, version, kvs, tensors, alignment, kv_end, index_end, data_start)

    # ------------------------------------------------------------------ queries

    def kv(self, key: str) -> KV:
        for kv in self.kvs:
            if kv.key == key.encode():
                return kv
        raise KeyError(key)

    def tensor(self, name: str) -> Tensor:
        for t in self.tensors:
            if t.name == name.encode():
                return t
        raise KeyError(name)

    def scalar(self, key: str) -> Any:
        kv = self.kv(key)
        return struct.unpack(SCALAR_FORMATS[kv.vtype], kv.raw)[0]

    def array_items(self, key: str) -> tuple[int, list[bytes]]:
        """Item type and the encoded items of an array value (strings keep their prefix)."""
        raw = self.kv(key).raw
        item, count = struct.unpack("<IQ", raw[:12])
        pos, items = 12, []
        for _ in range(count):
            if item == STRING:
                (n,) = struct.unpack("<Q", raw[pos : pos + 8])
                size = 8 + n
            else:
                size = struct.calcsize(SCALAR_FORMATS[item])
            items.append(raw[pos : pos + size])
            pos += size
        return item, items

    # ------------------------------------------------------------------ edits (copies)

    def copy(self) -> GgufFile:
        return replace(
            self,
            kvs=[replace(kv) for kv in self.kvs],
            tensors=[replace(t) for t in self.tensors],
        )

    def with_kv(self, key: str, vtype: int, value: Any, item_type: int | None = None) -> GgufFile:
        """Set (or add) ``key`` to ``value`` encoded as ``vtype``."""
        out = self.copy()
        raw = encode_value(vtype, value, item_type)
        for kv in out.kvs:
            if kv.key == key.encode():
                kv.vtype, kv.raw = vtype, raw
                return out
        out.kvs.append(KV(key.encode(), vtype, raw))
        return out

    def with_raw_kv(self, key: bytes, vtype: int, raw: bytes) -> GgufFile:
        out = self.copy()
        out.kvs.append(KV(key, vtype, raw))
        return out

    def with_array_items(self, key: str, item_type: int, items: list[bytes]) -> GgufFile:
        """Replace an array's encoded items (e.g. a shorter vocabulary)."""
        out = self.copy()
        kv = out.kv(key)
        kv.vtype = ARRAY
        kv.raw = struct.pack("<IQ", item_type, len(items)) + b"".join(items)
        return out

    def without_kv(self, *keys: str) -> GgufFile:
        out = self.copy()
        drop = {k.encode() for k in keys}
        out.kvs = [kv for kv in out.kvs if kv.key not in drop]
        return out

    def with_tensor(self, which: str, /, **changes: Any) -> GgufFile:
        """Change one tensor's name, dims, type_id, data or (fixed) offset."""
        out = self.copy()
        t = out.tensor(which)
        for attr, value in changes.items():
            setattr(t, attr, value)
        return out

    # ------------------------------------------------------------------ writing

    def offsets(self) -> list[int]:
        """Each tensor's data offset: its fixed one, or the next aligned free byte."""
        out, pos = [], 0
        for t in self.tensors:
            off = pos if t.offset is None else t.offset
            out.append(off)
            end = off + len(t.data)
            pos = max(pos, end + (-end % self.alignment))
        return out

    def to_bytes(self) -> bytes:
        offsets = self.offsets()
        parts = [b"GGUF", struct.pack("<IQQ", self.version, len(self.tensors), len(self.kvs))]
        for kv in self.kvs:
            parts += [encode_string(kv.key), struct.pack("<I", kv.vtype), kv.raw]
        for t, off in zip(self.tensors, offsets, strict=True):
            parts += [encode_string(t.name), struct.pack("<I", len(t.dims))]
            parts += [struct.pack("<Q", d) for d in t.dims]
            parts.append(struct.pack("<IQ", t.type_id, off))
        head = b"".join(parts)
        head += b"\0" * (-len(head) % self.alignment)
        data = bytearray()
        for t, off in zip(self.tensors, offsets, strict=True):
            if len(data) < off + len(t.data):
                data.extend(b"\0" * (off + len(t.data) - len(data)))
            data[off : off + len(t.data)] = t.data
        data.extend(b"\0" * (-len(data) % self.alignment))
        return head + bytes(data)


def patch(raw: bytes, offset: int, data: bytes) -> bytes:
    out = bytearray(raw)
    out[offset : offset + len(data)] = data
    return bytes(out)


# ------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[GgufFile], bytes]
    expected: str  # a fragment of inspect_model's message
    #: What llama.cpp 0.3.36's loader does with the file when nothing stops it first:
    #: (signal, fragment of its last words) for the files that crash it, else None.
    crash: tuple[str, str] | None = None


def _cases() -> Iterator[Case]:
    """Every malformed file, from the header down to the tokenizer."""

    def case(
        name: str, expected: str, crash: tuple[str, str] | None = None
    ) -> Callable[[Callable[[GgufFile], bytes]], None]:
        def register(build: Callable[[GgufFile], bytes]) -> None:
            cases.append(Case(name, build, expected, crash))

        return register

    cases: list[Case] = []

    # -- whole file and header
    case("empty", "file is empty")(lambda g: b"")
    case("text file", "not a GGUF file")(lambda g: b"Dear diary, today I wrote a novel.\n" * 20)
    case("bad magic", "not a GGUF file (starts with b'GGML'")(lambda g: patch(g.raw, 0, b"GGML"))
    case("gguf version 1", "unsupported GGUF version 1")(
        lambda g: patch(g.raw, 4, struct.pack("<I", 1))
    )
    case("gguf version 4", "unsupported GGUF version 4")(
        lambda g: patch(g.raw, 4, struct.pack("<I", 4))
    )
    case("n_tensors -1", "18,446,744,073,709,551,615 tensors (a negative count)")(
        lambda g: patch(g.raw, 8, struct.pack("<q", -1))
    )
    case("n_kv -1", "18,446,744,073,709,551,615 metadata keys (a negative count)")(
        lambda g: patch(g.raw, 16, struct.pack("<q", -1))
    )
    case("n_tensors huge", "claims 1,000,000,000 tensors, more than")(
        lambda g: patch(g.raw, 8, struct.pack("<Q", 10**9))
    )
    case("n_kv huge", "claims 4,000,000,000 metadata keys, more than")(
        lambda g: patch(g.raw, 16, struct.pack("<Q", 4 * 10**9))
    )

    # -- truncations, at each section boundary and inside each kind of item
    def cut(at: Callable[[GgufFile], int]) -> Callable[[GgufFile], bytes]:
        return lambda g: g.raw[: at(g)]

    case("truncated in the header", "truncated in the header")(cut(lambda g: 14))
    case("truncated after the header", "truncated in the metadata")(cut(lambda g: HEADER_SIZE))
    case("truncated in a metadata key", "truncated in the metadata")(
        cut(lambda g: g.kv("general.architecture").start + 12)
    )
    case("truncated in a metadata string", "truncated in the metadata")(
        cut(lambda g: g.kv("tokenizer.ggml.model").value_at + 10)
    )
    case("truncated in the vocabulary", "truncated in the metadata")(
        cut(lambda g: g.kv("tokenizer.ggml.tokens").value_at + 100_000)
    )
    case("truncated after the metadata", "truncated in the tensor index")(cut(lambda g: g.kv_end))
    case("truncated in a tensor name", "truncated in the tensor index")(
        cut(lambda g: g.tensors[1].start + 10)
    )
    case("truncated in a tensor shape", "truncated in the tensor index")(
        cut(lambda g: g.tensors[-1].n_dims_at + 6)
    )
    case("truncated after the tensor index", "truncated before its tensor data")(
        cut(lambda g: g.index_end)
    )
    case("truncated in the padding", "truncated before its tensor data")(
        cut(lambda g: g.data_start - 1)
    )
    case("truncated at the tensor data", "truncated before its tensor data")(
        cut(lambda g: g.data_start)
    )
    case("truncated in the tensor data", "data ends at byte")(
        cut(lambda g: g.data_start + len(g.raw[g.data_start :]) // 2)
    )
    case("last byte missing", "beyond the end of the file")(cut(lambda g: len(g.raw) - 1))

    # -- metadata encoding
    case("absurd key length", "a metadata key claims an absurd length")(
        lambda g: patch(g.raw, HEADER_SIZE, struct.pack("<Q", 1 << 60))
    )
    case("absurd string length", "claims an absurd length")(
        lambda g: patch(g.raw, g.kv("general.name").value_at, struct.pack("<Q", 1 << 50))
    )
    case("string longer than the file", "inside the value of 'general.name'")(
        lambda g: patch(g.raw, g.kv("general.name").value_at, struct.pack("<Q", 10**7))
    )
    case("absurd array length", "array 'tokenizer.ggml.tokens' claims 1,099,511,627,776 items")(
        lambda g: patch(
            g.raw, g.kv("tokenizer.ggml.tokens").value_at + 4, struct.pack("<Q", 1 << 40)
        )
    )
    case("array longer than the file", "inside the value of 'tokenizer.ggml.token_type'")(
        lambda g: patch(
            g.raw, g.kv("tokenizer.ggml.token_type").value_at + 4, struct.pack("<Q", 10**8)
        )
    )
    case("unknown value type", "key 'general.name' has unknown value type id 13")(
        lambda g: patch(g.raw, g.kv("general.name").value_at - 4, struct.pack("<I", 13))
    )
    case(
        "unknown array item type", "array 'tokenizer.ggml.token_type' has unknown item type id 77"
    )(lambda g: patch(g.raw, g.kv("tokenizer.ggml.token_type").value_at, struct.pack("<I", 77)))
    case("key with a NUL byte", "a metadata key contains a NUL byte")(
        lambda g: g.with_raw_kv(b"gpt2.block_count\0x", U32, struct.pack("<I", 10**6)).to_bytes()
    )
    case("arrays nested 100,000 deep", "array 'general.deep' holds arrays")(
        lambda g: g.with_raw_kv(
            b"general.deep",
            ARRAY,
            struct.pack("<IQ", ARRAY, 1) * 100_000 + struct.pack("<IQ", U32, 0),
        ).to_bytes()
    )
    case("key not UTF-8", "a metadata key is not valid UTF-8")(
        lambda g: g.with_raw_kv(b"general.\xff\xfe", U32, struct.pack("<I", 1)).to_bytes()
    )
    case("duplicate key", "metadata key 'general.name' appears twice")(
        lambda g: g.with_raw_kv(b"general.name", STRING, encode_string("again")).to_bytes()
    )
    case("bad alignment", "invalid general.alignment 48")(
        lambda g: g.with_kv("general.alignment", U32, 48).to_bytes()
    )

    # -- architecture
    case("architecture not UTF-8", "general.architecture is not valid UTF-8")(
        lambda g: g.with_kv("general.architecture", STRING, b"gpt\xc3\x282").to_bytes()
    )
    case("architecture unknown to llama.cpp", "unsupported architecture 'mamba-9000'")(
        lambda g: g.with_kv("general.architecture", STRING, "mamba-9000").to_bytes()
    )
    case("architecture missing", "missing required key 'general.architecture'")(
        lambda g: g.without_kv("general.architecture").to_bytes()
    )
    case("architecture not a string", "general.architecture must be a string")(
        lambda g: g.with_kv("general.architecture", U32, 2).to_bytes()
    )

    # -- tensor index
    case("too many dimensions", "has 9 dimensions")(
        lambda g: patch(g.raw, g.tensor("output_norm.weight").n_dims_at, struct.pack("<I", 9))
    )
    case("zero dimensions", "has 0 dimensions")(
        lambda g: patch(g.raw, g.tensor("output_norm.weight").n_dims_at, struct.pack("<I", 0))
    )
    case("unknown tensor type", "unknown type id 4242")(
        lambda g: patch(g.raw, g.tensor("output_norm.weight").type_at, struct.pack("<I", 4242))
    )
    case("removed tensor type", "unknown type id 4")(
        lambda g: patch(g.raw, g.tensor("output_norm.weight").type_at, struct.pack("<I", 4))
    )
    case("tensor name not UTF-8", "a tensor name is not valid UTF-8")(
        lambda g: g.with_tensor("output_norm.bias", name=b"output_norm.\xff").to_bytes()
    )
    case("tensor name with a NUL byte", "a tensor name contains a NUL byte")(
        lambda g: g.with_tensor("output_norm.bias", name=b"output_norm.weight\0").to_bytes()
    )
    case("zero-sized dimension", "has an absurd shape (64, 0)")(
        lambda g: g.with_tensor("blk.0.attn_output.weight", dims=(64, 0)).to_bytes()
    )
    case("tensor offset past the end", "beyond the end of the file")(
        lambda g: patch(g.raw, g.tensors[-1].offset_at, struct.pack("<Q", 1 << 40))
    )
    case("misaligned tensor offset", "offset 4 is not a multiple of the alignment (32)")(
        lambda g: g.with_tensor(g.tensors[0].name.decode(), offset=4).to_bytes()
    )
    case("overlapping tensor data", "data overlaps the data of 'blk.0.attn_norm.weight'")(
        lambda g: g.with_tensor(
            "blk.0.attn_norm.bias",
            offset=g.offsets()[g.tensors.index(g.tensor("blk.0.attn_norm.weight"))],
        ).to_bytes()
    )
    case("gap between tensors", "leaves a gap of 4,096 bytes")(
        lambda g: _with_gap(g, "blk.1.ffn_down.bias", 4096)
    )
    case("duplicate tensor name", "tensor 'blk.0.attn_norm.weight' appears twice")(
        lambda g: g.with_tensor("blk.0.attn_norm.bias", name=b"blk.0.attn_norm.weight").to_bytes()
    )
    case("missing tensor", "missing required tensor(s) for gpt2: blk.1.ffn_up.weight")(
        lambda g: _drop_tensor(g, "blk.1.ffn_up.weight")
    )
    case("shape disagrees with the hyperparameters",
         "tensor 'blk.0.attn_qkv.weight' has shape [64, 96], expected [64, 192]")(
        lambda g: _reshape(g, "blk.0.attn_qkv.weight", (64, 96))
    )  # fmt: skip
    case("norm weight quantized", "tensor 'output_norm.weight' has type Q8_0", _BINARY_OP)(
        lambda g: _retype(g, "output_norm.weight", gguf.GGMLQuantizationType.Q8_0)
    )
    case("bias quantized", "tensor 'blk.1.attn_qkv.bias' has type Q8_0", _BINARY_OP)(
        lambda g: _retype(g, "blk.1.attn_qkv.bias", gguf.GGMLQuantizationType.Q8_0)
    )
    case("matrix as integers", "tensor 'blk.0.ffn_up.weight' has type I32", ("SIGSEGV", ""))(
        lambda g: _retype(g, "blk.0.ffn_up.weight", gguf.GGMLQuantizationType.I32)
    )

    # -- hyperparameters
    case("context length 0", "gpt2.context_length must be positive, got 0")(
        lambda g: g.with_kv("gpt2.context_length", U32, 0).to_bytes()
    )
    case("context length 2**40", "gpt2.context_length 1,099,511,627,776 is absurd")(
        lambda g: g.with_kv("gpt2.context_length", U64, 1 << 40).to_bytes()
    )
    case("context length of the wrong type", "gpt2.context_length has type STRING, expected")(
        lambda g: g.with_kv("gpt2.context_length", STRING, "128").to_bytes()
    )
    case("context length as int64", "gpt2.context_length has type INT64, expected UINT32")(
        lambda g: g.with_kv("gpt2.context_length", I64, 128).to_bytes()
    )
    case("context length a NaN", "gpt2.context_length is nan, not a number of anything")(
        lambda g: g.with_kv("gpt2.context_length", F32, float("nan")).to_bytes()
    )
    case("block count infinite", "gpt2.block_count is inf, not a number of anything")(
        lambda g: g.with_kv("gpt2.block_count", F32, float("inf")).to_bytes()
    )
    case("head count does not divide", "embedding length 64 is not divisible by head count 3")(
        lambda g: g.with_kv("gpt2.attention.head_count", U32, 3).to_bytes()
    )
    case(
        "block count absurd",
        "gpt2.block_count 100,000,000 is absurd",
        ("SIGABRT", "GGML_ASSERT(hparams.n_layer_all > 0"),
    )(lambda g: g.with_kv("gpt2.block_count", U32, 10**8).to_bytes())
    case(
        "layer norm epsilon NaN",
        "gpt2.attention.layer_norm_epsilon must be a small positive",
        _EPS_ASSERT,
    )(lambda g: g.with_kv("gpt2.attention.layer_norm_epsilon", F32, float("nan")).to_bytes())
    case("missing hyperparameter", "missing required key(s) for gpt2: gpt2.block_count")(
        lambda g: g.without_kv("gpt2.block_count").to_bytes()
    )

    case("layer norm epsilon negative", "layer_norm_epsilon must be a small positive number (such "
         "as 1e-05), got -1.0", _EPS_ASSERT)(
        lambda g: g.with_kv("gpt2.attention.layer_norm_epsilon", F32, -1.0).to_bytes()
    )  # fmt: skip
    case("head count varies per layer", "gpt2.attention.head_count varies per layer ([4, 8])",
         ("SIGABRT", "GGML_ASSERT(a->ne[0] == b->ne[0])"))(
        lambda g: g.with_kv("gpt2.attention.head_count", ARRAY, [4, 8], U32).to_bytes()
    )  # fmt: skip
    case("experts on a dense model", "gpt2.expert_count is 4, but gpt2 models have no",
         ("SIGABRT", "GGML_ASSERT(n_expert_used_max > 0)"))(
        lambda g: g.with_kv("gpt2.expert_count", U32, 4).to_bytes()
    )  # fmt: skip
    case("experts used without experts", "gpt2.expert_used_count is 2, but gpt2 models have no",
         ("SIGABRT", "GGML_ASSERT(n_expert_used_max <= hparams.n_expert)"))(
        lambda g: g.with_kv("gpt2.expert_used_count", U32, 2).to_bytes()
    )  # fmt: skip
    case("prediction layers beyond the blocks", "gpt2.nextn_predict_layers is 5",
         ("SIGABRT", "GGML_ASSERT(hparams.n_layer_nextn <= hparams.n_layer_all)"))(
        lambda g: g.with_kv("gpt2.nextn_predict_layers", U32, 5).to_bytes()
    )  # fmt: skip
    case("unknown RoPE scaling", "gpt2.rope.scaling.type 'bogus' is not one llama.cpp knows",
         ("SIGABRT", "GGML_ASSERT(hparams.rope_scaling_type_train"))(
        lambda g: g.with_kv("gpt2.rope.scaling.type", STRING, "bogus").to_bytes()
    )  # fmt: skip
    case("key length disagrees with the heads",
         "gpt2.attention.key_length is 7, but gpt2 attention heads are 16 wide",
         ("SIGABRT", "GGML_ASSERT(n_embd_head == hparams.n_embd_head_k())"))(
        lambda g: g.with_kv("gpt2.attention.key_length", U32, 7).to_bytes()
    )  # fmt: skip
    case("norm weight F16", "tensor 'blk.0.ffn_norm.weight' has type F16, but llama.cpp needs F32",
         _BINARY_OP)(
        lambda g: _retype(g, "blk.0.ffn_norm.weight", gguf.GGMLQuantizationType.F16)
    )  # fmt: skip
    case("token embedding as I8", "tensor 'token_embd.weight' has type I8, which llama.cpp",
         ("SIGABRT", "fatal error"))(
        lambda g: _retype(g, "token_embd.weight", gguf.GGMLQuantizationType.I8)
    )  # fmt: skip
    case("per-layer head counts too short", "gpt2.attention.head_count varies per layer ([4])")(
        lambda g: g.with_kv("gpt2.attention.head_count", ARRAY, [4], U32).to_bytes()
    )
    case("output weight of the wrong shape", "tensor 'output.weight' has shape [64, 100]")(
        lambda g: _add_tensor(g, "output.weight", (64, 100), gguf.GGMLQuantizationType.F16)
    )

    # -- tokenizer
    case("missing tokenizer", "missing required key(s) for gpt2: tokenizer.ggml.model, "
         "tokenizer.ggml.tokens, tokenizer.ggml.merges")(
        lambda g: g.without_kv(*[k.key.decode() for k in g.kvs
                                 if k.key.startswith(b"tokenizer.")]).to_bytes()
    )  # fmt: skip
    case("missing merges", "missing required key(s) for gpt2: tokenizer.ggml.merges")(
        lambda g: g.without_kv("tokenizer.ggml.merges").to_bytes()
    )
    case("tokenizer model unknown", "tokenizer model 'sentencepiece' does not fit")(
        lambda g: g.with_kv("tokenizer.ggml.model", STRING, "sentencepiece").to_bytes()
    )
    case("vocabulary shorter than the embedding",
         "the vocabulary has 50,000 tokens but 'token_embd.weight' has 50,257 rows")(
        lambda g: _short_vocab(g, 50_000)
    )  # fmt: skip
    case("bos token out of range",
         "tokenizer.ggml.bos_token_id 50,257 is out of range (the vocabulary has 50,257 tokens)")(
        lambda g: g.with_kv("tokenizer.ggml.bos_token_id", U32, 50257).to_bytes()
    )  # fmt: skip
    case("eos token out of range", "tokenizer.ggml.eos_token_id 4,294,967,295 is out of range")(
        lambda g: g.with_kv("tokenizer.ggml.eos_token_id", U32, 2**32 - 1).to_bytes()
    )
    case("token type count differs",
         "tokenizer.ggml.token_type has 1,000 items but tokenizer.ggml.tokens has 50,257")(
        lambda g: g.with_array_items(
            "tokenizer.ggml.token_type", I32, g.array_items("tokenizer.ggml.token_type")[1][:1000]
        ).to_bytes()
    )  # fmt: skip
    case("score count differs",
         "tokenizer.ggml.scores has 10 items but tokenizer.ggml.tokens has 50,257")(
        lambda g: g.with_kv("tokenizer.ggml.scores", ARRAY, [0.0] * 10, F32).to_bytes()
    )  # fmt: skip
    case("tokens not strings", "tokenizer.ggml.tokens must be an array of STRING, not of INT32")(
        lambda g: g.with_kv("tokenizer.ggml.tokens", ARRAY, range(50257), I32).to_bytes()
    )
    case("merges not strings", "tokenizer.ggml.merges must be an array of STRING, not of UINT8")(
        lambda g: g.with_kv("tokenizer.ggml.merges", ARRAY, [1, 2, 3], U8).to_bytes()
    )
    case("token types as strings", "tokenizer.ggml.token_type must be an array of INT32")(
        lambda g: g.with_kv("tokenizer.ggml.token_type", ARRAY, ["1"] * 50257, STRING).to_bytes()
    )
    case("scores as strings", "tokenizer.ggml.scores must be an array of FLOAT32")(
        lambda g: g.with_kv("tokenizer.ggml.scores", ARRAY, ["0"] * 50257, STRING).to_bytes()
    )
    case("token not UTF-8", "token 1,000 of tokenizer.ggml.tokens is not valid UTF-8")(
        lambda g: _edit_token(g, 1000, b"\xff\xfe")
    )
    case(
        "duplicate token",
        "token 1,000 of tokenizer.ggml.tokens repeats token 999",
        ("SIGABRT", "GGML_ASSERT(id_to_token.size() == token_to_id.size())"),
    )(lambda g: _edit_token(g, 1000, g.array_items("tokenizer.ggml.tokens")[1][999][8:]))
    case("token that repeats another up to a NUL byte",
         "token 1,000 of tokenizer.ggml.tokens (read up to its NUL byte) repeats token 999",
         ("SIGABRT", "GGML_ASSERT(id_to_token.size() == token_to_id.size())"))(
        lambda g: _edit_token(g, 1000, g.array_items("tokenizer.ggml.tokens")[1][999][8:] + b"\0z")
    )  # fmt: skip
    return iter(cases)


_BINARY_OP = ("SIGABRT", "binary_op: unsupported types")
_EPS_ASSERT = ("SIGABRT", "GGML_ASSERT(eps >= 0.0f)")


def _add_tensor(g: GgufFile, name: str, dims: tuple[int, ...], type_id: int) -> bytes:
    out = g.copy()
    data = b"\0" * tensor_nbytes(dims, int(type_id))
    out.tensors.append(Tensor(name.encode(), dims, int(type_id), data))
    return out.to_bytes()


def _drop_tensor(g: GgufFile, name: str) -> bytes:
    out = g.copy()
    out.tensors = [t for t in out.tensors if t.name != name.encode()]
    return out.to_bytes()


def _reshape(g: GgufFile, name: str, dims: tuple[int, ...]) -> bytes:
    t = g.tensor(name)
    return g.with_tensor(name, dims=dims, data=b"\0" * tensor_nbytes(dims, t.type_id)).to_bytes()


def _retype(g: GgufFile, name: str, type_id: int) -> bytes:
    t = g.tensor(name)
    data = b"\0" * tensor_nbytes(t.dims, type_id)
    return g.with_tensor(name, type_id=int(type_id), data=data).to_bytes()


def _with_gap(g: GgufFile, name: str, gap: int) -> bytes:
    out = g.copy()
    offsets = out.offsets()
    i = out.tensors.index(out.tensor(name))
    for t, off in zip(out.tensors[i:], offsets[i:], strict=True):
        t.offset = off + gap
    return out.to_bytes()


def _short_vocab(g: GgufFile, n: int) -> bytes:
    """The tokenizer arrays cut to ``n`` tokens, the embedding left as it is."""
    out = g
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type"):
        item, items = out.array_items(key)
        out = out.with_array_items(key, item, items[:n])
    return (
        out.with_kv("tokenizer.ggml.bos_token_id", U32, n - 1)
        .with_kv("tokenizer.ggml.eos_token_id", U32, n - 1)
        .to_bytes()
    )


def _edit_token(g: GgufFile, index: int, text: bytes) -> bytes:
    item, items = g.array_items("tokenizer.ggml.tokens")
    items = list(items)
    items[index] = encode_string(text)
    return g.with_array_items("tokenizer.ggml.tokens", item, items).to_bytes()


CASES: tuple[Case, ...] = tuple(_cases())


@dataclass(frozen=True)
class CorpusFile:
    name: str
    path: Path
    expected: str


def build_corpus(src: Path, folder: Path) -> list[CorpusFile]:
    """Write every case built from the valid GGUF ``src`` into ``folder``."""
    parsed = GgufFile.parse(src.read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, case in enumerate(CASES):
        path = folder / f"{i:02d}-{case.name.replace(' ', '-').replace('*', '')}.gguf"
        path.write_bytes(case.build(parsed))
        out.append(CorpusFile(case.name, path, case.expected))
    return out
