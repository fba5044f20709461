"""GGUF inspection, and validation of broken files before llama.cpp sees them."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.engine import Engine
from app.core.gguf_info import ModelFileError, inspect_model
from tests.support.gguf_tools import (
    field_offset,
    first_tensor_data_offset,
    patched,
    rewrite_gguf,
    tensor_info_offsets,
)
from tests.support.models import TestModel


def test_inspect_reports_the_metadata(tiny_model: TestModel) -> None:
    info = inspect_model(tiny_model["q8_0"])
    assert info.architecture == "gpt2"
    assert info.file_type == "Q8_0"
    assert info.context_length == 128
    assert info.embedding_length == 64
    assert info.block_count == 2
    assert info.head_count == 4
    assert info.feed_forward_length == 256
    assert info.vocab_size == 50257
    assert info.tokenizer_model == "gpt2"
    assert info.tokenizer_pre == "gpt-2"
    assert info.bos_token_id == info.eos_token_id == 50256
    assert info.file_size == tiny_model["q8_0"].stat().st_size
    # wte + wpe + 2 blocks (12 tensors each) + ln_f; output.weight is tied (absent)
    e, ff, v, ctx = 64, 256, 50257, 128
    block = 2 * e + 3 * e * e + 3 * e + e * e + e + 2 * e + e * ff + ff + ff * e + e
    assert info.parameter_count == v * e + ctx * e + 2 * block + 2 * e
    assert info.tensor_types["Q8_0"] == 1 + 2 * 4  # token_embd + 4 matrices per block
    assert info.tensor_types["F32"] == 1 + 2 * 8 + 2  # position_embd + norms/biases
    assert info.to_dict()["file_type"] == "Q8_0"


def test_inspect_names_f32_and_f16_files(tiny_model: TestModel) -> None:
    assert inspect_model(tiny_model["f32"]).file_type == "F32"
    assert inspect_model(tiny_model["f16"]).file_type == "F16"


# ----------------------------------------------------------------------------- broken files

Maker = Callable[[Path, Path], Path]


def _not_gguf(src: Path, tmp: Path) -> Path:
    (tmp / "notes.gguf").write_text("Dear diary, today I wrote a novel.\n" * 20)
    return tmp / "notes.gguf"


def _empty(src: Path, tmp: Path) -> Path:
    (tmp / "empty.gguf").write_bytes(b"")
    return tmp / "empty.gguf"


def _cut(at: Callable[[Path], int]) -> Maker:
    def make(src: Path, tmp: Path) -> Path:
        out = tmp / "cut.gguf"
        out.write_bytes(src.read_bytes()[: at(src)])
        return out

    return make


def _bad_version(src: Path, tmp: Path) -> Path:
    return patched(src, tmp / "v9.gguf", 4, struct.pack("<I", 9))


def _absurd_string(src: Path, tmp: Path) -> Path:
    # the length prefix of the first metadata key (right after the 24-byte header)
    return patched(src, tmp / "absurd.gguf", 24, struct.pack("<Q", 1 << 60))


def _too_many_dims(src: Path, tmp: Path) -> Path:
    at = tensor_info_offsets(src, "output_norm.weight")["n_dims"]
    return patched(src, tmp / "dims.gguf", at, struct.pack("<I", 9))


def _unknown_type(src: Path, tmp: Path) -> Path:
    at = tensor_info_offsets(src, "output_norm.weight")["type"]
    return patched(src, tmp / "type.gguf", at, struct.pack("<I", 4242))


def _missing_key(src: Path, tmp: Path) -> Path:
    return rewrite_gguf(src, tmp / "nokey.gguf", drop_keys=["gpt2.block_count"])


def _missing_tokenizer(src: Path, tmp: Path) -> Path:
    return rewrite_gguf(src, tmp / "notok.gguf", drop_keys=["tokenizer.ggml.merges"])


def _missing_tensor(src: Path, tmp: Path) -> Path:
    return rewrite_gguf(src, tmp / "notensor.gguf", drop_tensors=["blk.1.ffn_up.weight"])


def _unknown_arch(src: Path, tmp: Path) -> Path:
    return rewrite_gguf(src, tmp / "arch.gguf", set_strings={"general.architecture": "mamba-9000"})


def _gemma_label(src: Path, tmp: Path) -> Path:
    """A GPT-2 file that claims to be Gemma 3: Gemma's own required keys are checked."""
    return rewrite_gguf(src, tmp / "gemma.gguf", set_strings={"general.architecture": "gemma3"})


CASES: dict[str, tuple[Maker, str]] = {
    "not a GGUF": (_not_gguf, "not a GGUF file"),
    "empty": (_empty, "file is empty"),
    "truncated header": (_cut(lambda p: 14), "truncated in the header"),
    "truncated metadata": (_cut(lambda p: 2000), "truncated in the metadata"),
    "truncated tensor index": (
        _cut(lambda p: first_tensor_data_offset(p) - 40),
        "truncated in the tensor index",
    ),
    "tensor data past the end": (
        _cut(lambda p: p.stat().st_size - 100),
        "beyond the end of the file",
    ),
    "unsupported version": (_bad_version, "unsupported GGUF version 9"),
    "absurd string length": (_absurd_string, "absurd length"),
    "too many dimensions": (_too_many_dims, "has 9 dimensions"),
    "unknown tensor type": (_unknown_type, "unknown type id 4242"),
    "missing key": (_missing_key, "missing required key(s) for gpt2: gpt2.block_count"),
    "missing tokenizer merges": (_missing_tokenizer, "tokenizer.ggml.merges"),
    "missing tensor": (_missing_tensor, "missing required tensor(s) for gpt2: blk.1.ffn_up"),
    "unsupported architecture": (_unknown_arch, "unsupported architecture 'mamba-9000'"),
    "wrong architecture label": (_gemma_label, "missing required key(s) for gemma3"),
}


@pytest.fixture(scope="module")
def broken_files(
    tiny_model: TestModel, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Every broken case, built once from the valid F32 model."""
    root = tmp_path_factory.mktemp("broken")
    files = {}
    for i, (case, (make, _expected)) in enumerate(CASES.items()):
        folder = root / str(i)
        folder.mkdir()
        files[case] = make(tiny_model["f32"], folder)
    return files


@pytest.mark.parametrize("case", list(CASES))
def test_broken_file_gets_its_own_clear_message(case: str, broken_files: dict[str, Path]) -> None:
    path = broken_files[case]
    with pytest.raises(ModelFileError) as info:
        inspect_model(path)
    assert CASES[case][1] in str(info.value)
    assert str(path) in str(info.value)  # names the file


def test_every_broken_case_has_a_different_message(broken_files: dict[str, Path]) -> None:
    messages = set()
    for path in broken_files.values():
        with pytest.raises(ModelFileError) as info:
            inspect_model(path)
        messages.add(info.value.problem)
    assert len(messages) == len(CASES)


def test_the_engine_refuses_a_broken_file_before_llama_cpp(
    broken_files: dict[str, Path],
) -> None:
    with pytest.raises(ModelFileError, match="missing required tensor"):
        Engine(broken_files["missing tensor"])


def test_missing_and_folder_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file"):
        inspect_model(tmp_path / "nope.gguf")
    with pytest.raises(ModelFileError, match="is a folder"):
        inspect_model(tmp_path)


def test_rewritten_copy_is_still_valid(tiny_model: TestModel, tmp_path: Path) -> None:
    """The helper that builds broken files does not break files by itself."""
    out = rewrite_gguf(tiny_model["f32"], tmp_path / "copy.gguf")
    assert inspect_model(out).parameter_count == inspect_model(tiny_model["f32"]).parameter_count
    assert field_offset(out, "general.name") > 0
