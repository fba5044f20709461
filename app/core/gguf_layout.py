"""The layout scan: walk an untrusted GGUF file's binary layout before anything trusts it.

Every length is checked against the bytes that remain, so truncation, absurd lengths and
counts, unknown type ids, strings that are not UTF-8, and tensor data that lies past the
end, overlaps, leaves gaps or is misaligned are reported precisely instead of being
misread. The scan reads the metadata as it goes, but only counts the items of long arrays
(except the vocabulary, whose tokens are kept for :mod:`app.core.gguf_rules` to check).

``gguf.GGUFReader`` is not used here: it builds a numpy view for every vocabulary entry,
which takes seconds on GPT-2's 50,257 tokens (measured 4.5 s against 0.04 s for the scan),
and it slices past the end of a truncated file instead of failing. The tests use it as an
independent reader of the files this module judges.
"""

from __future__ import annotations

import bisect
import math
import mmap
import struct
from dataclasses import dataclass, field
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


_SCALAR_FORMATS: dict[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
    10: "<Q", 11: "<q", 12: "<d",
}  # fmt: skip
#: The value type ids that are not scalars (the rules check metadata types against them).
STRING = 8
ARRAY = 9
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
class TensorEntry:
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
class Layout:
    version: int
    alignment: int
    data_start: int
    fields: dict[str, Any]
    tensors: list[TensorEntry]
    #: key -> (value type id, item type id for arrays)
    types: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    #: the raw items of tokenizer.ggml.tokens when it is an array of strings
    vocab: list[bytes] | None = None


def _read_scalar(cur: _Cursor, vtype: int, key: str) -> Any:
    if vtype in _SCALAR_FORMATS:
        return cur.unpack(_SCALAR_FORMATS[vtype])
    if vtype == STRING:
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
    if item_type == STRING:
        items = cur.strings(count, f"array {key!r}", keep)
        return item_type, ArrayValue(item_type, count), items
    if item_type == ARRAY:  # ggml refuses these too; reading them would need recursion
        raise _Absurd(f"array {key!r} holds arrays, which llama.cpp cannot read")
    raise _Absurd(f"array {key!r} has unknown item type id {item_type}")


def _tensor_nbytes(entry: TensorEntry) -> int:
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


def _scan_layout(path: Path, buf: mmap.mmap | bytes, size: int) -> Layout:
    cur = _Cursor(buf, size)
    section = "the header"
    try:
        version, n_tensors, n_kv = _read_header(path, cur, size)
        section = "the metadata"
        fields, types, vocab, alignment = _read_metadata(path, cur, n_kv)
        section = "the tensor index"
        tensors = _read_tensor_index(path, cur, n_tensors)
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
    return Layout(version, alignment, data_start, fields, tensors, types, vocab)


def _read_header(path: Path, cur: _Cursor, size: int) -> tuple[int, int, int]:
    """The magic, the version and the two counts: (version, n_tensors, n_kv)."""
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
    return version, n_tensors, n_kv


def _read_metadata(
    path: Path, cur: _Cursor, n_kv: int
) -> tuple[dict[str, Any], dict[str, tuple[int, int | None]], list[bytes] | None, int]:
    """The key/value pairs: (fields, their types, the vocabulary if any, the alignment)."""
    alignment = DEFAULT_ALIGNMENT
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
        if vtype == ARRAY:
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
    return fields, types, vocab, alignment


def _read_tensor_index(path: Path, cur: _Cursor, n_tensors: int) -> list[TensorEntry]:
    """Each tensor's name, shape, type and data offset, checked as far as they go alone."""
    tensors: list[TensorEntry] = []
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
        tensors.append(TensorEntry(name, shape, type_id, offset))
    return tensors


def _check_tensor_data(
    path: Path, tensors: list[TensorEntry], alignment: int, data_start: int, size: int
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


def scan_file(path: Path) -> tuple[Layout, int]:
    """The layout of the file at ``path`` and its size; ModelFileError if it is unsound."""
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
