"""Opening and saving documents: exact round trips, honest notices, atomic saves.

Everything touches real files under ``tmp_path``. A full disk and a read-only disk are
real too where a tiny tmpfs can be mounted (Linux, as root: the tests skip elsewhere);
the same failures are also injected through ``documents._write_bytes`` so that they are
tested everywhere, while the rest of the save (temporary file, rename, clean-up) still
runs for real.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.core import documents
from app.core import paths as paths_module
from app.core.documents import (
    DEFAULT_FORMAT,
    MAX_DOCUMENT_BYTES,
    DiskChange,
    DocumentError,
    TextFormat,
    decode_document,
    disk_change,
    encode_document,
    file_stamp,
    load_document,
    save_document,
)
from app.core.paths import AtomicWriteError, atomic_write
from tests.support.fs import mounted_tmpfs, remount_read_only

# --- strategies ----------------------------------------------------------------------------------

RECOGNISED_ENCODINGS = [
    ("utf-8", False),
    ("utf-8", True),
    ("utf-16-le", True),
    ("utf-16-be", True),
    ("utf-32-le", True),
    ("utf-32-be", True),
]

formats = st.builds(
    lambda enc_bom, newline: TextFormat(enc_bom[0], enc_bom[1], newline),
    st.sampled_from(RECOGNISED_ENCODINGS),
    st.sampled_from(["\n", "\r\n", "\r"]),
)

# Writers' text: any character except lone surrogates (no encoding can store them), "\r"
# (a line break marker) and NUL (which marks binary files). "\n" is made frequent.
editor_text = st.lists(
    st.one_of(st.just("\n"), st.characters(exclude_characters="\r\x00", exclude_categories=["Cs"])),
    max_size=60,
).map("".join)

BOMS = [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE]


@st.composite
def file_bytes(draw: st.DrawFn) -> bytes:
    """Bytes that look like text files: encoded text with any line endings, or raw bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=80))
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(["\n", "\r\n", "\r"]),
                st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
            ),
            max_size=40,
        )
    )
    encoding = draw(
        st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "cp1252", "latin-1"])
    )
    body = "".join(parts).encode(encoding, errors="ignore")
    return draw(st.sampled_from(BOMS)) + body


def _is_mixed(notice: str | None) -> bool:
    return notice is not None and "Mixed line endings" in notice


# --- round trips ---------------------------------------------------------------------------------


@given(text=editor_text, fmt=formats)
def test_text_round_trip(text: str, fmt: TextFormat) -> None:
    assume(fmt.bom or not text.startswith("\ufeff"))  # the documented exception
    got_text, got_fmt, notice = decode_document(encode_document(text, fmt))
    assert got_text == text
    # Without any line break the style cannot be seen in the bytes: it comes back as "\n".
    expected = fmt if "\n" in text else TextFormat(fmt.encoding, fmt.bom, "\n")
    assert got_fmt == expected
    assert notice is None


@given(data=file_bytes())
def test_bytes_round_trip_is_exact_unless_line_endings_were_mixed(data: bytes) -> None:
    try:
        text, fmt, notice = decode_document(data)
    except DocumentError:
        return
    assert "\r" not in text
    if not _is_mixed(notice):
        assert encode_document(text, fmt) == data
    else:
        # Saved once in the dominant style, the file then round trips without a notice.
        saved = encode_document(text, fmt)
        assert saved != data
        again_text, again_fmt, again_notice = decode_document(saved)
        assert (again_text, again_fmt) == (text, fmt)
        assert not _is_mixed(again_notice)


@given(data=file_bytes())
def test_bytes_without_a_notice_are_recognised_formats(data: bytes) -> None:
    try:
        _text, fmt, notice = decode_document(data)
    except DocumentError:
        return
    if notice is None:
        assert (fmt.encoding, fmt.bom) in RECOGNISED_ENCODINGS


@given(text=editor_text.filter(lambda t: not t.startswith("\ufeff")), fmt=formats)
@settings(max_examples=30)
def test_round_trip_through_disk(text: str, fmt: TextFormat) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "doc.txt"
        stamp = save_document(target, text, fmt)
        first = target.read_bytes()
        assert first == encode_document(text, fmt)
        doc = load_document(target)
        assert doc.text == text
        assert doc.stamp == stamp
        assert doc.notice is None
        # Saving what was loaded writes the very same bytes again.
        save_document(target, doc.text, doc.format)
        assert target.read_bytes() == first


LEGACY_FORMATS = [
    TextFormat(encoding, False, newline)
    for encoding in ("cp1252", "iso8859-1")
    for newline in ("\n", "\r\n", "\r")
]


@given(
    text=st.text(
        st.one_of(st.just("\n"), st.characters(min_codepoint=1, max_codepoint=0xFF)),
        max_size=60,
    ),
    fmt=st.sampled_from(LEGACY_FORMATS),
)
@settings(max_examples=60)
def test_legacy_round_trip_through_disk(text: str, fmt: TextFormat) -> None:
    """Legacy 8-bit files: what the editor shows saves back to the very same bytes."""
    text = text.replace("\r", "")
    try:
        data = encode_document(text, fmt)
    except DocumentError:
        assume(False)  # Windows-1252 has five undefined bytes
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "legacy.txt"
        target.write_bytes(data)
        doc = load_document(target)
        save_document(target, doc.text, doc.format)
        assert target.read_bytes() == data
        again = load_document(target)
        assert (again.text, again.format) == (doc.text, doc.format)
        if "\n" in text:
            assert doc.format.newline == fmt.newline
        if doc.format.encoding != "utf-8":  # not a text that happens to be valid UTF-8
            assert doc.notice is not None
            assert "It will be saved as" in doc.notice


def test_encode_writes_every_line_break_in_the_format_style() -> None:
    fmt = TextFormat("utf-8", False, "\r\n")
    assert encode_document("a\nb\r\nc\rd", fmt) == b"a\r\nb\r\nc\r\nd"


def test_encode_adds_the_bom_of_the_encoding() -> None:
    assert encode_document("hi", TextFormat("utf-8", True, "\n")) == b"\xef\xbb\xbfhi"
    assert encode_document("hi", TextFormat("utf-16-be", True, "\n")) == b"\xfe\xff\x00h\x00i"
    assert encode_document("", TextFormat("utf-16-le", True, "\n")) == b"\xff\xfe"


# --- decoding ------------------------------------------------------------------------------------


def test_empty_file_is_new_document_format() -> None:
    assert decode_document(b"") == ("", DEFAULT_FORMAT, None)
    assert TextFormat("utf-8", False, "\n") == DEFAULT_FORMAT


def test_bom_alone_keeps_the_bom() -> None:
    assert decode_document(codecs.BOM_UTF8) == ("", TextFormat("utf-8", True, "\n"), None)


@pytest.mark.parametrize(
    ("data", "encoding", "bom"),
    [
        (b"\xef\xbb\xbfcaf\xc3\xa9\r\n", "utf-8", True),
        (b"caf\xc3\xa9\r\n", "utf-8", False),
        (codecs.BOM_UTF16_LE + "café\r\n".encode("utf-16-le"), "utf-16-le", True),
        (codecs.BOM_UTF16_BE + "café\r\n".encode("utf-16-be"), "utf-16-be", True),
        (codecs.BOM_UTF32_LE + "café\r\n".encode("utf-32-le"), "utf-32-le", True),
        (codecs.BOM_UTF32_BE + "café\r\n".encode("utf-32-be"), "utf-32-be", True),
    ],
)
def test_unicode_files_are_recognised_without_notice(data: bytes, encoding: str, bom: bool) -> None:
    text, fmt, notice = decode_document(data)
    assert text == "café\n"
    assert fmt == TextFormat(encoding, bom, "\r\n")
    assert notice is None
    assert encode_document(text, fmt) == data


def test_legacy_windows_1252_file_opens_with_a_notice_and_saves_back_exactly() -> None:
    data = b"caf\xe9\r\n\x93quoted\x94\r\n"
    text, fmt, notice = decode_document(data)
    assert text == "café\n“quoted”\n"
    assert fmt == TextFormat("cp1252", False, "\r\n")
    assert notice is not None
    assert "Windows-1252" in notice
    assert "not valid UTF-8" in notice
    assert "line 1" in notice
    assert encode_document(text, fmt) == data


def test_invalid_byte_line_number_in_notice() -> None:
    _text, _fmt, notice = decode_document(b"one\rtwo\r\nthree\nfour \xff\n")
    assert notice is not None
    assert "line 4" in notice


def test_bytes_undefined_in_windows_1252_fall_back_to_latin_1() -> None:
    data = b"abc \x81\x8d\xe9\n"
    text, fmt, notice = decode_document(data)
    assert fmt.encoding == "iso8859-1"
    assert notice is not None
    assert "Latin-1" in notice
    assert text == "abc \x81\x8dé\n"
    assert encode_document(text, fmt) == data


def test_utf8_marker_on_invalid_utf8_falls_back_and_keeps_every_byte() -> None:
    data = b"\xef\xbb\xbfcaf\xe9\n"
    text, fmt, notice = decode_document(data)
    assert fmt == TextFormat("cp1252", False, "\n")
    assert notice is not None
    assert "UTF-8 marker" in notice
    assert encode_document(text, fmt) == data


@pytest.mark.parametrize(
    ("data", "newline", "detail"),
    [
        (b"a\r\nb\r\nc\n", "\r\n", "(2 CRLF, 1 LF): they will be saved as CRLF"),
        (b"a\nb\nc\r\n", "\n", "(1 CRLF, 2 LF): they will be saved as LF"),
        (b"a\rb\rc\n", "\r", "(1 LF, 2 CR): they will be saved as CR"),
        # Ties: CRLF beats LF beats CR.
        (b"a\r\nb\n", "\r\n", "(1 CRLF, 1 LF): they will be saved as CRLF"),
        (b"a\rb\n", "\n", "(1 LF, 1 CR): they will be saved as LF"),
        (b"a\rb\nc\r\n", "\r\n", "(1 CRLF, 1 LF, 1 CR): they will be saved as CRLF"),
    ],
)
def test_mixed_line_endings(data: bytes, newline: str, detail: str) -> None:
    text, fmt, notice = decode_document(data)
    assert "\r" not in text
    assert fmt.newline == newline
    assert notice == f"Mixed line endings {detail}."


def test_mixed_endings_count_cr_and_crlf_apart() -> None:
    text, fmt, notice = decode_document(b"a\r\r\nb")
    assert text == "a\n\nb"
    assert fmt.newline == "\r\n"
    assert notice is not None
    assert "1 CRLF, 1 CR" in notice


def test_legacy_and_mixed_notices_are_combined() -> None:
    _text, _fmt, notice = decode_document(b"caf\xe9\r\nx\n\n")
    assert notice is not None
    assert "Windows-1252" in notice
    assert "Mixed line endings (1 CRLF, 2 LF)" in notice


def test_only_cr_lf_and_crlf_are_line_breaks() -> None:
    data = "a\u2028b\x85c\x0cd\x0be\n".encode()
    text, fmt, notice = decode_document(data)
    assert text == "a\u2028b\x85c\x0cd\x0be\n"
    assert (fmt.newline, notice) == ("\n", None)


def test_leading_zero_width_no_break_space_without_bom_is_read_as_a_bom() -> None:
    """The documented exception to the text round trip: the bytes cannot tell them apart."""
    data = encode_document("\ufeffhello", TextFormat("utf-8", False, "\n"))
    assert decode_document(data) == ("hello", TextFormat("utf-8", True, "\n"), None)
    # With a BOM, a leading U+FEFF in the text survives.
    fmt = TextFormat("utf-8", True, "\n")
    assert decode_document(encode_document("\ufeffhello", fmt)) == ("\ufeffhello", fmt, None)


def test_binary_data_is_refused() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(DocumentError, match="binary file, not text"):
        decode_document(png)


def test_nul_after_the_sniffed_start_is_kept_as_text() -> None:
    data = b"a" * documents.SNIFF_BYTES + b"\x00b"
    text, fmt, notice = decode_document(data)
    assert text.endswith("\x00b")
    assert (fmt, notice) == (DEFAULT_FORMAT, None)
    assert encode_document(text, fmt) == data


def test_utf16_with_bom_is_not_mistaken_for_binary() -> None:
    data = codecs.BOM_UTF16_LE + "plain ASCII text\r\n".encode("utf-16-le")
    text, fmt, notice = decode_document(data)
    assert (text, fmt, notice) == (
        "plain ASCII text\n",
        TextFormat("utf-16-le", True, "\r\n"),
        None,
    )


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_guessed_with_a_notice(encoding: str) -> None:
    data = "Chapter one\r\nIt was a dark night.\r\n".encode(encoding)
    text, fmt, notice = decode_document(data)
    assert text == "Chapter one\nIt was a dark night.\n"
    assert fmt == TextFormat(encoding, False, "\r\n")
    assert notice is not None
    assert "guessed" in notice
    assert encode_document(text, fmt) == data


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (codecs.BOM_UTF16_LE + "abc".encode("utf-16-le") + b"d", "cut short"),
        (codecs.BOM_UTF16_BE + b"\xdc\x00\x00a", "invalid character sequence near byte 2"),
    ],
)
def test_damaged_utf16_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(DocumentError, match="marked as UTF-16") as info:
        decode_document(data)
    assert problem in str(info.value)


def test_utf32_le_marker_is_never_read_as_utf16() -> None:
    """FF FE 00 00 is also UTF-16 LE starting with NUL; one reading only keeps saves stable."""
    data = codecs.BOM_UTF16_LE + "\x00ab".encode("utf-16-le")  # 8 bytes: damaged UTF-32
    with pytest.raises(DocumentError, match="marked as UTF-32 LE text but is damaged"):
        decode_document(data)


# --- TextFormat ----------------------------------------------------------------------------------


def test_encoding_names_are_normalised() -> None:
    assert TextFormat("UTF8", False, "\n") == DEFAULT_FORMAT
    assert TextFormat("windows-1252", False, "\n").encoding == "cp1252"
    assert TextFormat("UTF_16_LE", True, "\r\n").encoding_label == "UTF-16 LE with BOM"
    assert TextFormat("utf-8", False, "\r\n").newline_label == "CRLF"


@pytest.mark.parametrize(
    ("encoding", "bom", "newline", "message"),
    [
        ("utf-16", True, "\n", "ambiguous"),
        ("utf-8-sig", False, "\n", "ambiguous"),
        ("cp1252", True, "\n", "no byte order mark"),
        ("no-such-codec", False, "\n", "unknown encoding"),
        ("rot13", False, "\n", "not a text encoding"),
        ("utf-8", False, "\n\r", "newline must be"),
    ],
)
def test_invalid_formats_are_refused(encoding: str, bom: bool, newline: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TextFormat(encoding, bom, newline)


# --- loading files -------------------------------------------------------------------------------


def test_load_reports_text_format_and_stat(tmp_path: Path) -> None:
    target = tmp_path / "story.txt"
    target.write_bytes(b"\xef\xbb\xbfOnce\r\nupon\r\n")
    doc = load_document(str(target))
    info = os.stat(target)
    assert doc.path == target
    assert doc.text == "Once\nupon\n"
    assert doc.format == TextFormat("utf-8", True, "\r\n")
    assert doc.notice is None
    assert (doc.mtime_ns, doc.size) == (info.st_mtime_ns, info.st_size)


def test_load_binary_file_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "picture.png"
    target.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\r")
    with pytest.raises(DocumentError) as info:
        load_document(target)
    assert str(target) in str(info.value)
    assert "binary file" in str(info.value)
    assert info.value.path == target


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="the file does not exist"):
        load_document(tmp_path / "gone.txt")


def test_load_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="does not exist") as info:
        load_document(tmp_path / "nowhere" / "gone.txt")
    assert "folder" in str(info.value)


def test_load_folder(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="it is a folder, not a file"):
        load_document(tmp_path)


def test_load_path_through_a_file(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DocumentError, match="part of its path is a file"):
        load_document(tmp_path / "file.txt" / "child.txt")


@pytest.mark.skipif(not os.path.exists(os.devnull), reason="no null device here")
def test_load_device_is_refused() -> None:
    with pytest.raises(DocumentError, match="not a regular file"):
        load_document(os.devnull)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX only")
def test_load_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(DocumentError, match="not a regular file"):
        load_document(fifo)


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="root reads files whatever their permission bits, so chmod cannot deny it",
)
def test_load_permission_denied(tmp_path: Path) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("x")
    target.chmod(0)
    try:
        with pytest.raises(DocumentError, match="permission denied"):
            load_document(target)
    finally:
        target.chmod(0o600)


def test_load_too_big_sparse_file(tmp_path: Path) -> None:
    target = tmp_path / "huge.log"
    with open(target, "wb") as fh:
        fh.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: no 20 MiB actually written
    with pytest.raises(DocumentError) as info:
        load_document(target)
    assert "Ghostpen opens documents up to 20 MB" in str(info.value)
    assert "it is 20.0 MB" in str(info.value)  # one byte over, and not shown as "20 MB"


def test_load_size_limit_is_inclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 10)
    exact = tmp_path / "exact.txt"
    exact.write_bytes(b"0123456789")
    assert load_document(exact).text == "0123456789"
    over = tmp_path / "over.txt"
    over.write_bytes(b"0123456789!")
    with pytest.raises(DocumentError, match="it is 11 bytes; Ghostpen opens documents up to 10"):
        load_document(over)


# --- saving --------------------------------------------------------------------------------------


def _leftovers(folder: Path, *keep: str) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name not in keep)


def test_save_returns_the_stat_of_the_written_file(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    stamp = save_document(target, "Hello\nworld\n", TextFormat("utf-8", True, "\r\n"))
    info = os.stat(target)
    assert (stamp.mtime_ns, stamp.size) == (info.st_mtime_ns, info.st_size)
    assert target.read_bytes() == b"\xef\xbb\xbfHello\r\nworld\r\n"
    assert stamp.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert _leftovers(tmp_path, "new.txt") == []


def test_open_then_save_unchanged_keeps_every_byte(tmp_path: Path) -> None:
    target = tmp_path / "legacy.txt"
    original = b"Na\xefve caf\xe9\r\n\x96 a dash\r\n"
    target.write_bytes(original)
    doc = load_document(target)
    save_document(target, doc.text, doc.format)
    assert target.read_bytes() == original


def test_save_replaces_the_previous_content(tmp_path: Path) -> None:
    target = tmp_path / "doc.txt"
    target.write_bytes(b"a much longer previous version of the text\n")
    save_document(target, "short\n", DEFAULT_FORMAT)
    assert target.read_bytes() == b"short\n"


def _fail_half_way(code: int) -> object:
    def write(fh: BinaryIO, data: bytes) -> None:
        fh.write(data[: len(data) // 2])
        fh.flush()
        raise OSError(code, os.strerror(code))

    return write


def test_full_disk_half_way_leaves_the_original_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "novel.txt"
    target.write_bytes(b"the previous version\n")
    before = os.stat(target)
    monkeypatch.setattr(documents, "_write_bytes", _fail_half_way(errno.ENOSPC))
    with pytest.raises(DocumentError) as info:
        save_document(target, "the new version\n" * 1000, DEFAULT_FORMAT)
    message = str(info.value)
    assert str(target) in message
    assert "the disk is full" in message
    assert "The file on disk was not changed." in message
    assert target.read_bytes() == b"the previous version\n"
    assert os.stat(target).st_mtime_ns == before.st_mtime_ns
    assert _leftovers(tmp_path, "novel.txt") == []


def test_failed_save_of_a_new_file_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "_write_bytes", _fail_half_way(errno.ENOSPC))
    with pytest.raises(DocumentError, match="the disk is full") as info:
        save_document(tmp_path / "new.txt", "text\n", DEFAULT_FORMAT)
    assert "not changed" not in str(info.value)  # there was nothing to leave unchanged
    assert _leftovers(tmp_path) == []


def test_interrupted_save_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "doc.txt"
    target.write_bytes(b"old\n")

    def interrupted(fh: BinaryIO, data: bytes) -> None:
        fh.write(data[:3])
        raise KeyboardInterrupt

    monkeypatch.setattr(documents, "_write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_document(target, "new text\n", DEFAULT_FORMAT)
    assert target.read_bytes() == b"old\n"
    assert _leftovers(tmp_path, "doc.txt") == []


@pytest.mark.parametrize(
    ("code", "phrase"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EDQUOT, "disk quota"),
        (errno.EROFS, "the disk is read-only"),
        (errno.EIO, "write error"),
        (errno.EFBIG, "too large for this disk"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_write_errors_have_plain_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, phrase: str
) -> None:
    target = tmp_path / "doc.txt"
    target.write_bytes(b"old\n")
    monkeypatch.setattr(documents, "_write_bytes", _fail_half_way(code))
    with pytest.raises(DocumentError, match=phrase):
        save_document(target, "new\n", DEFAULT_FORMAT)
    assert target.read_bytes() == b"old\n"
    assert _leftovers(tmp_path, "doc.txt") == []


def test_temporary_file_is_hidden_unique_and_in_the_same_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def spy(fh: BinaryIO, data: bytes) -> None:
        seen.append(_leftovers(tmp_path, "doc.txt"))
        fh.write(data)

    monkeypatch.setattr(documents, "_write_bytes", spy)
    (tmp_path / "doc.txt").write_bytes(b"old\n")
    save_document(tmp_path / "doc.txt", "one\n", DEFAULT_FORMAT)
    save_document(tmp_path / "doc.txt", "two\n", DEFAULT_FORMAT)
    assert len(seen) == 2
    names = [temps[0] for temps in seen]
    assert all(len(temps) == 1 for temps in seen)
    assert all(n.startswith(".doc.txt.") and n.endswith(".tmp") for n in names)
    assert names[0] != names[1]
    assert _leftovers(tmp_path, "doc.txt") == []


def test_unencodable_character_is_named_before_touching_the_disk(tmp_path: Path) -> None:
    target = tmp_path / "doc.txt"
    target.write_bytes(b"caf\xe9\r\n")
    before = os.stat(target)
    fmt = TextFormat("cp1252", False, "\r\n")
    with pytest.raises(DocumentError) as info:
        save_document(target, "café\nla アニメ\n", fmt)
    message = str(info.value)
    assert str(target) in message
    assert "“ア” (U+30A2, KATAKANA LETTER A) on line 2, column 4" in message
    assert "cannot be stored in Windows-1252" in message
    assert "Save the document as UTF-8" in message
    assert target.read_bytes() == b"caf\xe9\r\n"
    assert os.stat(target).st_mtime_ns == before.st_mtime_ns
    assert _leftovers(tmp_path, "doc.txt") == []


def test_encode_names_invisible_and_invalid_characters() -> None:
    with pytest.raises(DocumentError, match=r"character \(U\+00A0, NO-BREAK SPACE\) on line 1"):
        encode_document("a\u00a0b", TextFormat("ascii", False, "\n"))
    with pytest.raises(DocumentError, match="lone surrogate, U\\+D800\\) on line 1, column 2"):
        encode_document("a\ud800", DEFAULT_FORMAT)


def test_save_into_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "gone" / "doc.txt"
    with pytest.raises(DocumentError, match="does not exist") as info:
        save_document(target, "x\n", DEFAULT_FORMAT)
    assert str(tmp_path / "gone") in str(info.value)
    assert not (tmp_path / "gone").exists()


def test_save_onto_a_folder(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    with pytest.raises(DocumentError, match="it is a folder, not a file"):
        save_document(tmp_path / "chapters", "x\n", DEFAULT_FORMAT)
    assert _leftovers(tmp_path, "chapters") == []


ROOT_SKIP = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="root writes whatever the permission bits say, so chmod cannot make it read-only",
)


@ROOT_SKIP
def test_save_into_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "doc.txt"
    target.write_bytes(b"old\n")
    folder.chmod(0o555)
    try:
        with pytest.raises(DocumentError, match=r"permission denied: the folder .* is read-only"):
            save_document(target, "new\n", DEFAULT_FORMAT)
        assert target.read_bytes() == b"old\n"
        assert _leftovers(folder, "doc.txt") == []
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_read_only_file_is_not_overwritten(tmp_path: Path) -> None:
    """Even by an administrator, whom permission bits would not stop."""
    target = tmp_path / "doc.txt"
    target.write_bytes(b"old\n")
    target.chmod(0o444)
    with pytest.raises(DocumentError, match="the file is read-only"):
        save_document(target, "new\n", DEFAULT_FORMAT)
    assert target.read_bytes() == b"old\n"
    assert _leftovers(tmp_path, "doc.txt") == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_save_keeps_the_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "doc.txt"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    save_document(target, "new\n", DEFAULT_FORMAT)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    target.chmod(0o604)
    save_document(target, "newer\n", DEFAULT_FORMAT)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o604


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_new_file_gets_the_umask_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "new.txt"
    save_document(target, "x\n", DEFAULT_FORMAT)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~umask


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_save_through_a_symbolic_link_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.txt"
    try:
        link.symlink_to(real)
    except OSError:
        pytest.skip("this system does not let us create symbolic links")
    save_document(link, "new\n", DEFAULT_FORMAT)
    assert link.is_symlink()
    assert real.read_bytes() == b"new\n"
    assert _leftovers(tmp_path, "real.txt", "link.txt") == []


# --- real small file systems ---------------------------------------------------------------------


def test_full_disk_for_real_leaves_the_original_intact(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "tiny", "16k") as tiny:
        target = tiny / "novel.txt"
        target.write_bytes(b"the previous version\n" * 100)  # 2.1 kB: fits
        before = target.read_bytes()
        with pytest.raises(DocumentError) as info:
            save_document(target, "the new version is much longer\n" * 1000, DEFAULT_FORMAT)
        message = str(info.value)
        assert "the disk is full" in message
        assert "The file on disk was not changed." in message
        assert target.read_bytes() == before
        assert _leftovers(tiny, "novel.txt") == []


def test_read_only_disk_for_real(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "disk", "64k") as disk:
        target = disk / "doc.txt"
        target.write_bytes(b"old\n")
        remount_read_only(disk)
        for path in (target, disk / "new.txt"):  # replacing a file, or creating one
            with pytest.raises(DocumentError, match="the disk is read-only"):
                save_document(path, "new\n", DEFAULT_FORMAT)
        assert target.read_bytes() == b"old\n"
        assert _leftovers(disk, "doc.txt") == []


# --- changes on disk -----------------------------------------------------------------------------


def test_disk_change_detection(tmp_path: Path) -> None:
    target = tmp_path / "doc.txt"
    stamp = save_document(target, "one two\n", DEFAULT_FORMAT)
    assert file_stamp(target) == stamp
    assert disk_change(target, stamp) is DiskChange.UNCHANGED
    later = time.time() + 5
    os.utime(target, (later, later))  # touched, same bytes: not worth a question
    assert disk_change(target, stamp) is DiskChange.UNCHANGED
    target.write_bytes(b"one TWO\n")  # same size, other bytes
    os.utime(target, ns=(stamp.mtime_ns, stamp.mtime_ns))  # even with the same mtime
    assert disk_change(target, stamp) is DiskChange.MODIFIED
    target.write_bytes(b"one two three\n")
    assert disk_change(target, stamp) is DiskChange.MODIFIED
    target.unlink()
    assert disk_change(target, stamp) is DiskChange.DELETED
    assert file_stamp(target) is None
    assert disk_change(tmp_path / "gone" / "doc.txt", stamp) is DiskChange.DELETED


def test_load_stamp_is_the_bytes_read(tmp_path: Path) -> None:
    target = tmp_path / "doc.txt"
    target.write_bytes(b"\xef\xbb\xbfhello\r\n")
    doc = load_document(target)
    assert doc.stamp.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert doc.stamp == file_stamp(target)


# --- litter of killed saves ----------------------------------------------------------------------


def test_save_sweeps_temporary_files_that_killed_saves_left(tmp_path: Path) -> None:
    target = tmp_path / "doc.txt"
    target.write_bytes(b"old\n")
    stale = tmp_path / ".doc.txt.0123456789ab.tmp"
    fresh = tmp_path / ".doc.txt.ba9876543210.tmp"  # could be another save, right now
    other = tmp_path / ".other.txt.0123456789ab.tmp"
    for litter in (stale, fresh, other):
        litter.write_bytes(b"half a save")
    old = time.time() - documents.STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    save_document(target, "new\n", DEFAULT_FORMAT)
    assert _leftovers(tmp_path, "doc.txt") == sorted([fresh.name, other.name])


# --- the one atomic-write routine (paths.atomic_write) -------------------------------------------


def test_atomic_write_reports_the_failing_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    monkeypatch.setattr(paths_module, "_write_bytes", _fail_half_way(errno.ENOSPC))
    with pytest.raises(AtomicWriteError) as info:
        atomic_write(target, b"new" * 1000)
    assert (info.value.stage, info.value.errno) == ("write", errno.ENOSPC)
    assert isinstance(info.value, OSError)
    assert info.value.strerror == os.strerror(errno.ENOSPC)
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path, "file.bin") == []
    monkeypatch.undo()

    with pytest.raises(AtomicWriteError) as info:
        atomic_write(tmp_path / "missing" / "file.bin", b"x", make_folder=False)
    assert (info.value.stage, info.value.errno) == ("create", errno.ENOENT)
    assert not (tmp_path / "missing").exists()


def test_atomic_write_returns_the_stat_and_keeps_modes(tmp_path: Path) -> None:
    created = atomic_write(tmp_path / "a" / "new.json", b"{}")
    assert created.st_size == 2
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "new.json").st_mode) == 0o600
    (tmp_path / "a" / "new.json").chmod(0o644)
    replaced = atomic_write(tmp_path / "a" / "new.json", b"{ }")
    info = os.stat(tmp_path / "a" / "new.json")
    assert (replaced.st_ino, replaced.st_mtime_ns, replaced.st_size) == (
        info.st_ino, info.st_mtime_ns, 3,
    )  # fmt: skip
    assert stat.S_IMODE(info.st_mode) == 0o644
