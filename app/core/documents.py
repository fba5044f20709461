"""Open and save writers' documents without losing a byte.

A manuscript is the one thing Ghostpen must never damage, so this module keeps
a file's encoding, byte order mark and line-ending style exactly as it found
them, refuses what it cannot represent instead of guessing silently, and saves
atomically: the new bytes go to a temporary file in the same folder, are
flushed to the disk, and only then replace the original in one rename. A full
disk, a read-only folder or a crash mid-save leaves the previous version intact.

Decisions worth knowing:

- Detection order: byte order mark (UTF-32, UTF-8, UTF-16), then strict UTF-8,
  then Windows-1252, then Latin-1 (which decodes any byte). The legacy
  fallbacks always come with a visible notice, and re-encode to the very same
  bytes, so opening and saving such a file changes nothing the writer did not
  type.
- A file without a byte order mark that has a NUL byte in its first 8 KiB is
  refused as binary, unless it reads cleanly as UTF-16 (a guess, with a notice).
- Line endings: CRLF, lone LF and lone CR are counted; the most frequent style
  is kept for saving (ties: CRLF, then LF, then CR, because a tie most often
  comes from a Windows file that had a few Unix lines pasted in). The editor
  always sees "\\n". A file without any line break saves with "\\n".
- Only "\\r\\n", "\\n" and "\\r" are line breaks here: U+2028, NEL and form feeds
  are ordinary characters and are kept as they are.
- Changes by other programs: the SHA-256, size and mtime of the bytes read at
  open and written at save form a ``DiskStamp``; ``disk_change`` compares the
  file with it before the next save, so the editor can ask instead of silently
  overwriting someone else's edit. A read-only file is never overwritten.
- The atomic write itself is ``app.core.paths.atomic_write``, the one routine
  shared with settings, manifests and the autosave journal (``core.journal``).
- Saving through a symbolic link writes the file it points to and keeps the
  link. Like every atomic save, it gives the file a new inode: hard links to
  the old file keep the old text, and extended attributes or ACLs are not
  copied (permission bits, and where allowed the owner, are).
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import os
import re
import stat
import time
import unicodedata
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from app.core.paths import AtomicWriteError, atomic_write
from app.core.texts import QT_TRANSLATE_NOOP, Text, joined

__all__ = [
    "DEFAULT_FORMAT",
    "MAX_DOCUMENT_BYTES",
    "NEWLINES",
    "DiskChange",
    "DiskStamp",
    "DocumentError",
    "LoadedDocument",
    "TextFormat",
    "decode_document",
    "disk_change",
    "encode_document",
    "file_stamp",
    "load_document",
    "save_document",
]

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
"""Largest file ``load_document`` opens: 20 MiB.

A long novel is about 1 MB of text; 20 MiB is some three million words. Bigger
files are logs or data, which the editor (and every suggestion's context
search) would handle painfully, so they are refused with a clear message
instead of freezing the window.
"""

NEWLINES = ("\n", "\r\n", "\r")
"""The line-ending styles a document can be saved with."""

SNIFF_BYTES = 8192
"""How much of the start of a file is checked for NUL bytes (binary content)."""

_BOMS: dict[str, bytes] = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}
# Longest first: the UTF-32 LE mark starts with the UTF-16 LE one. FF FE 00 00 is always
# taken as UTF-32: the other reading, UTF-16 text starting with a NUL character, is no
# writer's document, and allowing both made a saved file reopen in the other encoding.
_BOM_ORDER = ("utf-32-le", "utf-32-be", "utf-8", "utf-16-le", "utf-16-be")

# Codecs that write their own byte order mark: the BOM is TextFormat.bom's job.
_SELF_MARKING = {
    "utf-8-sig": "use 'utf-8' with bom=True",
    "utf-16": "use 'utf-16-le' or 'utf-16-be' with bom=True",
    "utf-32": "use 'utf-32-le' or 'utf-32-be' with bom=True",
}

_LABELS = {
    "utf-8": "UTF-8",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "cp1252": "Windows-1252",
    "iso8859-1": "Latin-1 (ISO-8859-1)",
    "ascii": "ASCII",
}
_NEWLINE_LABELS = {"\n": "LF", "\r\n": "CRLF", "\r": "CR"}
_TIE_ORDER = ("\r\n", "\n", "\r")

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH

# Control characters that do not occur in text (tab, LF, FF and CR are allowed).
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


_HEADLINES = {
    ("open", True): QT_TRANSLATE_NOOP("Documents", "Cannot open “%1”: %2"),
    ("open", False): QT_TRANSLATE_NOOP("Documents", "Cannot open the document: %1"),
    ("save", True): QT_TRANSLATE_NOOP("Documents", "Cannot save “%1”: %2"),
    ("save", False): QT_TRANSLATE_NOOP("Documents", "Cannot save the document: %1"),
}


class DocumentError(Exception):
    """Opening or saving failed; the message is meant to be shown to the writer as is.

    ``reason`` is the problem alone, as a sentence ("the disk is full."), ``path`` the
    file when known, ``action`` "open" or "save". The pure functions raise it without a
    path; the file functions add theirs. ``text`` is the whole message as a
    :class:`~app.core.texts.Text` (``str(error)`` is its English), for the GUI to translate.
    """

    def __init__(self, reason: str, action: str = "open", path: Path | None = None) -> None:
        if (action, True) not in _HEADLINES:
            raise ValueError(f"action must be 'open' or 'save', not {action!r}")
        if not reason.endswith((".", "!", "?")):
            reason = joined([reason, "."], separator="")
        self.reason = reason
        self.action = action
        self.path = path
        headline = _HEADLINES[action, path is not None]
        self.text = headline.arg(path, reason) if path is not None else headline.arg(reason)
        super().__init__(str(self.text))

    def for_path(self, path: Path) -> DocumentError:
        """The same error, naming the file (the pure functions do not know it)."""
        return DocumentError(self.reason, self.action, path)


@dataclass(frozen=True)
class TextFormat:
    """How a document's text becomes bytes: kept from the file it was opened from.

    ``encoding`` is normalised to Python's canonical codec name ("UTF8" becomes
    "utf-8", "latin-1" becomes "iso8859-1"), so two formats compare equal when
    they write the same bytes. Codecs that add their own byte order mark
    ("utf-16", "utf-8-sig") are refused: ``bom`` says whether there is one.
    """

    encoding: str
    bom: bool
    newline: str

    def __post_init__(self) -> None:
        try:
            info = codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {self.encoding!r}") from None
        name = info.name
        if not getattr(info, "_is_text_encoding", True):
            raise ValueError(f"{self.encoding!r} is not a text encoding")
        if name in _SELF_MARKING:
            raise ValueError(f"encoding {self.encoding!r} is ambiguous: {_SELF_MARKING[name]}")
        if self.bom and name not in _BOMS:
            raise ValueError(f"{self.encoding!r} has no byte order mark (only UTF-8/16/32 do)")
        if self.newline not in NEWLINES:
            raise ValueError(f"newline must be one of {NEWLINES!r}, not {self.newline!r}")
        object.__setattr__(self, "encoding", name)

    @property
    def encoding_label(self) -> str:
        """For the status bar and messages: "UTF-8 with BOM", "Windows-1252"."""
        label = _LABELS.get(self.encoding, self.encoding.upper())
        return QT_TRANSLATE_NOOP("Documents", "%1 with BOM").arg(label) if self.bom else label

    @property
    def newline_label(self) -> str:
        """ "LF", "CRLF" or "CR"."""
        return _NEWLINE_LABELS[self.newline]


DEFAULT_FORMAT = TextFormat("utf-8", False, "\n")
"""The format of new documents and of empty files."""


@dataclass(frozen=True)
class DiskStamp:
    """A file as Ghostpen last read or wrote it, to notice when another program changes it.

    The SHA-256 of the bytes is what decides (see :func:`disk_change`); mtime and size
    are kept for a quick first look and for the recovery dialog.
    """

    mtime_ns: int
    size: int
    sha256: str


@dataclass(frozen=True)
class LoadedDocument:
    """A document as the editor shows it, plus what is needed to save it back unchanged.

    ``mtime_ns``, ``size`` and ``sha256`` are the file's as it was read, to
    notice later when another program changes it. ``notice`` is a sentence or
    two for the writer when the file was not plain consistent UTF-8/UTF-16 text.
    """

    path: Path
    text: str
    format: TextFormat
    notice: str | None
    """A :class:`~app.core.texts.Text` when there is one."""
    mtime_ns: int
    size: int
    sha256: str

    @property
    def stamp(self) -> DiskStamp:
        return DiskStamp(self.mtime_ns, self.size, self.sha256)


# --- pure conversion ---------------------------------------------------------------------------


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def encode_document(text: str, fmt: TextFormat) -> bytes:
    """The bytes a file holding ``text`` in ``fmt`` contains.

    Every line break in ``text`` ("\\n", and also a stray "\\r\\n" or "\\r") is
    written as ``fmt.newline``, so a saved file never has mixed endings. Raises
    DocumentError naming the first character the encoding cannot store, before
    anything is written anywhere.
    """
    plain = _normalise_newlines(text)
    body = plain if fmt.newline == "\n" else plain.replace("\n", fmt.newline)
    try:
        data = body.encode(fmt.encoding)
    except UnicodeEncodeError:
        raise _unencodable(plain, fmt) from None
    return _BOMS[fmt.encoding] + data if fmt.bom else data


def _unencodable(plain: str, fmt: TextFormat) -> DocumentError:
    """Find the first character ``fmt`` cannot store; positions count lines as the editor does."""
    try:
        plain.encode(fmt.encoding)
    except UnicodeEncodeError as err:
        index = err.start
    else:  # only the newline style failed (an exotic codec without "\r")
        reason = QT_TRANSLATE_NOOP("Documents", "%1 cannot store %2 line endings.")
        return DocumentError(reason.arg(fmt.encoding_label, fmt.newline_label), "save")
    ch = plain[index]
    line = plain.count("\n", 0, index) + 1
    column = index - (plain.rfind("\n", 0, index) + 1) + 1
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        reason = QT_TRANSLATE_NOOP(
            "Documents",
            "the text contains an invalid character (a lone surrogate, U+%1) on line %2, "
            "column %3, which no file can store. Delete it and save again.",
        )
        return DocumentError(reason.arg(f"{code:04X}", line, column), "save")
    name = unicodedata.name(ch, "")
    described = f"U+{code:04X}, {name}" if name else f"U+{code:04X}"
    if ch.isprintable() and not ch.isspace():
        reason = QT_TRANSLATE_NOOP(
            "Documents",
            "the character “%1” (%2) on line %3, column %4 cannot be stored in %5. "
            "Save the document as UTF-8 to keep it.",
        ).arg(ch, described, line, column, fmt.encoding_label)
    else:
        reason = QT_TRANSLATE_NOOP(
            "Documents",
            "the character (%1) on line %2, column %3 cannot be stored in %4. "
            "Save the document as UTF-8 to keep it.",
        ).arg(described, line, column, fmt.encoding_label)
    return DocumentError(reason, "save")


def decode_document(data: bytes) -> tuple[str, TextFormat, str | None]:
    """Text (with "\\n" line breaks), the format to save it back in, and a notice or None.

    Round trips, both checked by the tests:

    - ``decode_document(encode_document(text, fmt))`` gives back ``text`` and
      ``fmt`` for every text ``fmt`` can store, when ``fmt`` is one this
      function can recognise: UTF-8 with or without BOM, UTF-16/32 with BOM.
      The newline style can only be recognised when the text has a line break
      (otherwise it comes back as "\\n"), and a BOM-less UTF-8/16/32 text that
      starts with U+FEFF is read as having a BOM (and UTF-16 LE text starting
      with U+0000 as UTF-32 LE).
    - ``encode_document(*decode_document(data)[:2])`` is ``data`` byte for byte,
      including for legacy files opened as Windows-1252 or Latin-1. The one
      exception: a file with mixed line endings comes back in its dominant
      style (the notice says so).

    Raises DocumentError for binary files and damaged UTF-16/32.
    """
    if not data:
        return "", DEFAULT_FORMAT, None
    raw, fmt, notices = _decode_bytes(data)
    crlf = raw.count("\r\n")
    counts = {"\r\n": crlf, "\n": raw.count("\n") - crlf, "\r": raw.count("\r") - crlf}
    # max() keeps the first of equal counts, so the tie order is CRLF, LF, CR.
    dominant = max(_TIE_ORDER, key=lambda nl: counts[nl])
    used = [nl for nl in _TIE_ORDER if counts[nl]]
    if not used:
        dominant = "\n"
    elif len(used) > 1:
        detail = ", ".join(f"{counts[nl]} {_NEWLINE_LABELS[nl]}" for nl in used)
        notices.append(
            QT_TRANSLATE_NOOP(
                "Documents", "Mixed line endings (%1): they will be saved as %2."
            ).arg(detail, _NEWLINE_LABELS[dominant])
        )
    fmt = replace(fmt, newline=dominant)
    text = _normalise_newlines(raw) if used else raw
    return text, fmt, joined(notices) if notices else None


def _decode_bytes(data: bytes) -> tuple[str, TextFormat, list[Text]]:
    """Decode with the file's own line endings; returns (raw text, format, notices)."""
    notices: list[Text] = []
    for encoding in _BOM_ORDER:
        bom = _BOMS[encoding]
        if not data.startswith(bom):
            continue
        payload = data[len(bom) :]
        try:
            return payload.decode(encoding), TextFormat(encoding, True, "\n"), notices
        except UnicodeDecodeError as err:
            if encoding == "utf-8":
                notices.append(
                    QT_TRANSLATE_NOOP(
                        "Documents", "The file starts with a UTF-8 marker but is not valid UTF-8."
                    )
                )
                break  # read it as a legacy file below, marker and all
            unit = 2 if encoding.startswith("utf-16") else 4
            if len(payload) % unit:
                problem = QT_TRANSLATE_NOOP(
                    "Documents",
                    "it ends in the middle of a character (the file may have been cut short)",
                )
            else:
                problem = QT_TRANSLATE_NOOP(
                    "Documents", "it contains an invalid character sequence near byte %1"
                ).arg(err.start + len(bom))
            damaged = QT_TRANSLATE_NOOP(
                "Documents", "the file is marked as %1 text but is damaged: %2."
            )
            raise DocumentError(damaged.arg(_LABELS[encoding], problem)) from None

    if b"\x00" in data[:SNIFF_BYTES]:
        guessed = _guess_bomless_utf16(data)
        if guessed is None:
            raise DocumentError(
                QT_TRANSLATE_NOOP(
                    "Documents",
                    "it looks like a binary file, not text (it contains NUL bytes). "
                    "Ghostpen opens plain text files such as .txt or .md.",
                )
            )
        text, encoding = guessed
        notices.append(
            QT_TRANSLATE_NOOP(
                "Documents",
                "Opened as %1: the file has no byte order mark, so its encoding was guessed.",
            ).arg(_LABELS[encoding])
        )
        return text, TextFormat(encoding, False, "\n"), notices

    try:
        return data.decode("utf-8"), TextFormat("utf-8", False, "\n"), notices
    except UnicodeDecodeError as err:
        prefix = data[: err.start]
        line = prefix.count(b"\n") + prefix.count(b"\r") - prefix.count(b"\r\n") + 1
        why = QT_TRANSLATE_NOOP(
            "Documents", "the file is not valid UTF-8 (the first invalid byte is on line %1)"
        ).arg(line)
    try:
        text = data.decode("cp1252")
        notices.append(
            QT_TRANSLATE_NOOP(
                "Documents", "Opened as Windows-1252: %1. It will be saved as Windows-1252."
            ).arg(why)
        )
        return text, TextFormat("cp1252", False, "\n"), notices
    except UnicodeDecodeError:
        notices.append(
            QT_TRANSLATE_NOOP(
                "Documents",
                "Opened as Latin-1 (ISO-8859-1): %1, nor Windows-1252. "
                "It will be saved as Latin-1.",
            ).arg(why)
        )
        return data.decode("iso8859-1"), TextFormat("iso8859-1", False, "\n"), notices


def _guess_bomless_utf16(data: bytes) -> tuple[str, str] | None:
    """UTF-16 without a byte order mark: text in Latin script has NUL as every other byte."""
    if len(data) % 2:
        return None
    sample = data[:SNIFF_BYTES]
    pairs = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= 0.3 * pairs and even * 10 <= odd:
        encoding = "utf-16-le"
    elif even >= 0.3 * pairs and odd * 10 <= even:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    if _BINARY_CONTROLS.search(text):
        return None
    return text, encoding


# --- files ---------------------------------------------------------------------------------------


def _size_label(size: int) -> Text:
    if size < 1024 * 1024:
        return QT_TRANSLATE_NOOP("Documents", "%1 bytes").arg(f"{size:,}")
    mib, rest = divmod(size, 1024 * 1024)
    shown = f"{mib}" if not rest else f"{size / (1024 * 1024):.1f}"
    return QT_TRANSLATE_NOOP("Documents", "%1 MB").arg(shown)


_IS_A_FOLDER = QT_TRANSLATE_NOOP("Documents", "it is a folder, not a file.")
_NOT_REGULAR = QT_TRANSLATE_NOOP(
    "Documents", "it is not a regular file (it is a device, a pipe or a socket)."
)
_PATH_THROUGH_FILE = QT_TRANSLATE_NOOP("Documents", "part of its path is a file, not a folder.")
_DISK_READ_ONLY = QT_TRANSLATE_NOOP("Documents", "the disk is read-only.")


def _os_reason(err: OSError) -> Text:
    """The operating system's own words, for an error without a sentence of ours."""
    code = err.errno
    return QT_TRANSLATE_NOOP("Documents", "%1 (error %2).").arg(
        err.strerror or err, errno.errorcode.get(code or 0, code)
    )


def _open_reason(err: OSError, path: Path) -> Text:
    """What went wrong opening ``path``, for a writer."""
    code = err.errno
    if code == errno.ENOENT:
        if not path.parent.is_dir():
            return QT_TRANSLATE_NOOP("Documents", "the folder “%1” does not exist.").arg(
                path.parent
            )
        return QT_TRANSLATE_NOOP(
            "Documents", "the file does not exist (it may have been moved, renamed or deleted)."
        )
    if code in (errno.EACCES, errno.EPERM):
        if path.is_dir():  # Windows cannot open a folder like a file
            return _IS_A_FOLDER
        return QT_TRANSLATE_NOOP(
            "Documents", "permission denied: you are not allowed to read this file."
        )
    if code == errno.EISDIR:
        return _IS_A_FOLDER
    if code == errno.ENOTDIR:
        return _PATH_THROUGH_FILE
    if code == errno.ENAMETOOLONG:
        return QT_TRANSLATE_NOOP("Documents", "the file name is too long.")
    if code == errno.ELOOP:
        return QT_TRANSLATE_NOOP("Documents", "its path goes round in a loop of symbolic links.")
    if code == errno.EIO:
        return QT_TRANSLATE_NOOP(
            "Documents",
            "the disk reported a read error (the drive may be failing or disconnected).",
        )
    return _os_reason(err)


def load_document(path: str | Path) -> LoadedDocument:
    """Read and decode a document; every failure is a DocumentError with a specific message."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        # O_NONBLOCK: opening a named pipe must not hang the editor; it is then refused.
        fd = os.open(path, flags)
    except OSError as err:
        raise DocumentError(_open_reason(err, path), "open", path) from err
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise DocumentError(_IS_A_FOLDER, "open", path)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(_NOT_REGULAR, "open", path)
        limit = MAX_DOCUMENT_BYTES
        if info.st_size > limit:
            too_big = QT_TRANSLATE_NOOP("Documents", "it is %1; Ghostpen opens documents up to %2.")
            raise DocumentError(
                too_big.arg(_size_label(info.st_size), _size_label(limit)), "open", path
            )
        chunks: list[bytes] = []
        total = 0
        while total <= limit:  # the size may grow while reading; never read more than limit + 1
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            grown = QT_TRANSLATE_NOOP(
                "Documents", "it has grown past %1; Ghostpen opens documents up to %1."
            )
            raise DocumentError(grown.arg(_size_label(limit)), "open", path)
    except OSError as err:
        raise DocumentError(_open_reason(err, path), "open", path) from err
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        text, fmt, notice = decode_document(data)
    except DocumentError as err:
        raise err.for_path(path) from None
    # The stat from before reading; the hash and size of what was read. If the file changed
    # while it was read, the stamp matches neither version, and a save will ask first.
    digest = hashlib.sha256(data).hexdigest()
    return LoadedDocument(path, text, fmt, notice, info.st_mtime_ns, len(data), digest)


def _write_bytes(fh: BinaryIO, data: bytes) -> None:
    """Write all of ``data``. A seam: fault-injection tests replace it to fail part-way."""
    fh.write(data)


#: Why a save failed, for the errors whose sentence needs nothing but the error code.
_SAVE_REASONS: dict[int | None, Text] = {
    errno.ENOSPC: QT_TRANSLATE_NOOP(
        "Documents", "the disk is full. Free some space and save again."
    ),
    getattr(errno, "EDQUOT", None): QT_TRANSLATE_NOOP(
        "Documents", "your disk quota is used up. Free some space and save again."
    ),
    errno.EROFS: _DISK_READ_ONLY,
    errno.EISDIR: _IS_A_FOLDER,
    errno.ENOTDIR: _PATH_THROUGH_FILE,
    errno.ENAMETOOLONG: QT_TRANSLATE_NOOP("Documents", "the file name is too long for this disk."),
    errno.EFBIG: QT_TRANSLATE_NOOP(
        "Documents", "the file is too large for this disk's file system."
    ),
    errno.EIO: QT_TRANSLATE_NOOP(
        "Documents",
        "the disk reported a write error (the drive may be failing or disconnected).",
    ),
    errno.EBUSY: QT_TRANSLATE_NOOP("Documents", "the file is in use by another program."),
}
_SAVE_REASONS[getattr(errno, "ETXTBSY", None)] = _SAVE_REASONS[errno.EBUSY]
_SAVE_REASONS.pop(None, None)  # the codes this platform does not have (no error has code None)


def _save_reason(err: OSError, stage: str, folder: Path) -> Text:
    """What went wrong saving, for a writer; ``stage`` is "create", "write" or "replace"."""
    code = err.errno
    if code in (errno.EACCES, errno.EPERM):
        if stage == "create":
            return QT_TRANSLATE_NOOP(
                "Documents", "permission denied: the folder “%1” is read-only for you."
            ).arg(folder)
        return QT_TRANSLATE_NOOP(
            "Documents",
            "permission denied: the file could not be replaced (it may be locked or in use).",
        )
    if code == errno.ENOENT:
        return QT_TRANSLATE_NOOP(
            "Documents", "the folder “%1” does not exist (it may have been moved or deleted)."
        ).arg(folder)
    reason = _SAVE_REASONS.get(code)
    return reason if reason is not None else _os_reason(err)


STALE_TEMP_SECONDS = 3600
"""A save's temporary file older than this is litter from a killed save, removed at the next.

A save lasts milliseconds; only a process killed in the middle of one leaves its hidden
temporary file behind. An hour is far beyond any live save, even on a slow network disk.
"""


def _sweep_stale_temps(target: Path) -> None:
    """Remove the hidden temporary files that killed saves of ``target`` left behind."""
    pattern = re.compile(r"\." + re.escape(target.name[:100]) + r"\.[0-9a-f]{12}\.tmp")
    limit = time.time() - STALE_TEMP_SECONDS
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            if not pattern.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)


def _read_only_reason(target: Path) -> Text:
    """Why an existing file cannot be written: the whole disk, or the file itself."""
    if hasattr(os, "statvfs"):
        with contextlib.suppress(OSError):
            if os.statvfs(target).f_flag & os.ST_RDONLY:
                return _DISK_READ_ONLY
    return QT_TRANSLATE_NOOP("Documents", "permission denied: the file is read-only.")


def save_document(path: str | Path, text: str, fmt: TextFormat) -> DiskStamp:
    """Save atomically; returns the written file's stamp, to notice later changes on disk.

    Either the whole new text is on disk under ``path`` or, on any error, the
    previous file is untouched and no temporary file is left behind. An existing
    file that is read-only is not overwritten (as QSaveFile does), not even by an
    administrator, whom permission bits do not stop: the writer marked it so.
    """
    path = Path(path)
    try:
        data = encode_document(text, fmt)
    except DocumentError as err:
        raise err.for_path(path) from None
    target = Path(os.path.realpath(path))  # through a symbolic link, keep the link
    folder = target.parent

    def fail(reason: str) -> DocumentError:
        return DocumentError(reason, "save", path)

    try:
        old: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        old = None
    except OSError as err:
        raise fail(_save_reason(err, "create", folder)) from err
    if old is not None:
        if stat.S_ISDIR(old.st_mode):
            raise fail(_IS_A_FOLDER)
        if not stat.S_ISREG(old.st_mode):
            raise fail(_NOT_REGULAR)
        if not os.access(target, os.W_OK) or not old.st_mode & _WRITE_BITS:
            raise fail(_read_only_reason(target))
    try:
        # A new file gets the usual permissions (0666 less the umask), like any editor's.
        written = atomic_write(
            target, data, make_folder=False, new_file_mode=0o666, write=_write_bytes
        )
    except AtomicWriteError as err:
        reason = _save_reason(err, err.stage, folder)
        if old is not None:
            unchanged = QT_TRANSLATE_NOOP("Documents", "%1 The file on disk was not changed.")
            reason = unchanged.arg(reason)
        raise fail(reason) from err
    _sweep_stale_temps(target)
    return DiskStamp(written.st_mtime_ns, written.st_size, hashlib.sha256(data).hexdigest())


class DiskChange(Enum):
    """What happened to a document's file since Ghostpen last read or wrote it."""

    UNCHANGED = "unchanged"
    MODIFIED = "modified"
    DELETED = "deleted"


def file_stamp(path: str | Path) -> DiskStamp | None:
    """The stamp of the file now (reading it whole for the hash), or None if it is gone.

    Other read errors propagate as OSError: "cannot tell" is not "unchanged".
    """
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return DiskStamp(info.st_mtime_ns, info.st_size, digest)


def disk_change(path: str | Path, stamp: DiskStamp) -> DiskChange:
    """Compare the file on disk with ``stamp`` (taken when it was opened or last saved).

    The size decides quickly; when it is the same, the content hash does: a new mtime
    alone (a ``touch``, a sync tool copying the same bytes back) is not a change worth
    a question, while a same-size edit within the file system's mtime resolution is.
    A file that cannot be read counts as unchanged here: the save itself will then
    fail with its own precise message.
    """
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return DiskChange.DELETED
    except OSError:
        return DiskChange.UNCHANGED
    if not stat.S_ISREG(info.st_mode) or info.st_size != stamp.size:
        return DiskChange.MODIFIED
    try:
        now = file_stamp(path)
    except OSError:
        return DiskChange.UNCHANGED
    if now is None:
        return DiskChange.DELETED
    return DiskChange.UNCHANGED if now.sha256 == stamp.sha256 else DiskChange.MODIFIED
