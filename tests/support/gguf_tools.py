"""Test helpers that build broken or altered GGUF files from a valid one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import gguf


def rewrite_gguf(
    src: Path,
    dst: Path,
    *,
    drop_keys: Iterable[str] = (),
    set_strings: Mapping[str, str] | None = None,
    drop_tensors: Iterable[str] = (),
) -> Path:
    """Copy ``src`` to ``dst`` through gguf's reader and writer, with some changes."""
    reader = _reader(src)
    drop_k, drop_t = set(drop_keys), set(drop_tensors)
    strings = dict(set_strings or {})
    arch_field = reader.get_field("general.architecture")
    assert arch_field is not None
    arch = strings.pop("general.architecture", arch_field.contents())
    writer = gguf.GGUFWriter(dst, arch)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        if field.name in drop_k or field.name in strings:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    for key, value in strings.items():
        writer.add_string(key, value)
    for tensor in reader.tensors:
        if tensor.name not in drop_t:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst


@lru_cache(maxsize=4)
def _reader(path: Path) -> gguf.GGUFReader:
    """GGUFReader takes seconds on a 50k-token vocabulary: read each source once."""
    return gguf.GGUFReader(path)


def tensor_info_offsets(path: Path, name: str) -> dict[str, int]:
    """Byte offsets of one tensor's n_dims and type fields in the tensor index."""
    for tensor in _reader(path).tensors:
        if tensor.name == name:
            start = tensor.field.offset
            n_dims = len(tensor.shape)
            name_len = len(name.encode())
            n_dims_at = start + 8 + name_len
            return {"n_dims": n_dims_at, "type": n_dims_at + 4 + 8 * n_dims}
    raise KeyError(name)


def patched(src: Path, dst: Path, offset: int, data: bytes) -> Path:
    raw = bytearray(src.read_bytes())
    raw[offset : offset + len(data)] = data
    dst.write_bytes(bytes(raw))
    return dst


def field_offset(path: Path, key: str) -> int:
    field = _reader(path).get_field(key)
    assert field is not None
    return int(field.offset)


def first_tensor_data_offset(path: Path) -> int:
    return int(min(t.data_offset for t in _reader(path).tensors))
