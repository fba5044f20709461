"""Autosave journal: unsaved text survives a crash or a kill -9 and is offered back at start.

About a second after the writer stops typing (and at least every couple of seconds while
they keep typing), the window hands a :class:`Snapshot` of each unsaved document to a
:class:`JournalStore`, which writes it atomically to ``<state dir>/journal/<id>.json`` on
a background thread: the GUI thread only copies the text. A clean save, an explicit
discard or a close where the writer chose Discard removes the journal again, so what is
left in the folder at start is exactly the writing a dead session did not save.

Two Ghostpen processes must never recover each other's *live* journals. Every store
holds an exclusive lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on its own
``<instance>.lock`` file for as long as it lives, and every journal names its instance.
The operating system drops the lock when the process ends, however it ends, so "I can
take the lock" means "its owner is dead": no pid guessing (a pid is recorded, for
people, but pids get reused). A store that finds such orphans keeps their locks while it
offers them (see :meth:`JournalStore.claim_orphans`), so a third process started at the
same time does not offer them twice.

The journal file format, version 1 (JSON, ASCII only so any text round-trips, even lone
surrogates; the text comes last so a person reading the file sees the rest first)::

    {
      "format": "ghostpen-journal", "version": 1,
      "id": "<document id, hex>", "instance": "<store id, hex>", "pid": 4242, "seq": 17,
      "written_at": "2025-05-01T09:30:12.345678+00:00",
      "document": {"path": "/home/ana/novel.txt" or null,
                   "encoding": "utf-8", "bom": false, "newline": "\\r\\n"},
      "disk": {"mtime_ns": ..., "size": ..., "sha256": "..."} or null,
      "text_sha256": "<SHA-256 of the text as UTF-8>",
      "text": "..."
    }

``disk`` is the file as the session opened or last saved it, so the recovery dialog can
tell the writer that another program changed the file since. A file that does not parse
or whose text does not match its hash is renamed ``*.damaged`` (kept for a person to
look at, never offered or deleted); a file from a newer Ghostpen is left alone.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.documents import DiskStamp, DocumentError, TextFormat, load_document
from app.core.paths import atomic_write
from app.core.texts import QT_TRANSLATE_NOOP, joined

__all__ = [
    "FORMAT",
    "VERSION",
    "DiskComparison",
    "JournalEntry",
    "JournalError",
    "JournalStore",
    "Snapshot",
    "compare_with_disk",
    "new_doc_id",
    "read_entry",
    "recoverable",
]

FORMAT = "ghostpen-journal"
VERSION = 1
JOURNAL_SUFFIX = ".json"
LOCK_SUFFIX = ".lock"
DAMAGED_SUFFIX = ".damaged"
STALE_TEMP_SECONDS = 600
"""A journal's temporary file older than this was left by a killed write (writes take ms)."""

MAX_DIFF_LINES = 4000
"""The recovery dialog shows at most this many diff lines (a whole rewritten novel would
otherwise freeze it); the rest is summarised in one line."""


_CLOSED = QT_TRANSLATE_NOOP("Journal", "the autosave journal is closed")


class JournalError(ValueError):
    """A journal file cannot be read back: damaged, or not a journal at all."""


class _NewerVersion(JournalError):
    """Written by a newer Ghostpen: not ours to judge, recover or remove."""


def new_doc_id() -> str:
    """A fresh document id (also the journal's file name)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Snapshot:
    """What the editor hands to the journal: taken on the GUI thread, written elsewhere."""

    doc_id: str
    text: str
    path: Path | None
    format: TextFormat
    disk: DiskStamp | None


@dataclass(frozen=True)
class JournalEntry:
    """A journal as read back from (or just written to) the disk."""

    doc_id: str
    text: str
    path: Path | None
    format: TextFormat
    disk: DiskStamp | None
    written_at: float
    """Unix time of the write."""
    instance: str
    pid: int
    seq: int
    file: Path

    @property
    def snapshot(self) -> Snapshot:
        return Snapshot(self.doc_id, self.text, self.path, self.format, self.disk)

    @property
    def title(self) -> str:
        """The file name, or "Untitled" with the first words for a never-saved document."""
        if self.path is not None:
            return self.path.name
        words = " ".join(self.text.split())
        if not words:
            return QT_TRANSLATE_NOOP("Journal", "Untitled (empty)")
        if len(words) > 40:
            return QT_TRANSLATE_NOOP("Journal", "Untitled: “%1…”").arg(words[:40])
        return QT_TRANSLATE_NOOP("Journal", "Untitled: “%1”").arg(words)


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _write_time(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat()


def _read_time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def entry_json(entry: JournalEntry) -> bytes:
    """The bytes of a journal file (see the module docstring for the format)."""
    disk = entry.disk
    record: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "id": entry.doc_id,
        "instance": entry.instance,
        "pid": entry.pid,
        "seq": entry.seq,
        "written_at": _write_time(entry.written_at),
        "document": {
            "path": None if entry.path is None else str(entry.path),
            "encoding": entry.format.encoding,
            "bom": entry.format.bom,
            "newline": entry.format.newline,
        },
        "disk": None
        if disk is None
        else {"mtime_ns": disk.mtime_ns, "size": disk.size, "sha256": disk.sha256},
        "text_sha256": _text_digest(entry.text),
        "text": entry.text,
    }
    # ensure_ascii: the bytes are plain ASCII whatever the text holds (lone surrogates too).
    return json.dumps(record, ensure_ascii=True).encode("ascii")


def read_entry(file: Path) -> JournalEntry:
    """Read one journal file; raises OSError, or JournalError naming what is wrong."""
    data = file.read_bytes()
    try:
        record = json.loads(data)
    except ValueError as err:  # UnicodeDecodeError is a ValueError too
        raise JournalError(f"{file.name}: not valid JSON ({err})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise JournalError(f"{file.name}: not a Ghostpen journal")
    version = record.get("version")
    if isinstance(version, int) and version > VERSION:
        raise _NewerVersion(f"{file.name}: written by a newer Ghostpen (version {version})")
    if version != VERSION:
        raise JournalError(f"{file.name}: unknown journal version {version!r}")
    try:
        doc = record["document"]
        disk = record["disk"]
        text = record["text"]
        if not isinstance(text, str) or _text_digest(text) != record["text_sha256"]:
            raise JournalError(f"{file.name}: the text does not match its checksum")
        return JournalEntry(
            doc_id=str(record["id"]),
            text=text,
            path=None if doc["path"] is None else Path(doc["path"]),
            format=TextFormat(doc["encoding"], bool(doc["bom"]), doc["newline"]),
            disk=None
            if disk is None
            else DiskStamp(int(disk["mtime_ns"]), int(disk["size"]), str(disk["sha256"])),
            written_at=_read_time(record["written_at"]),
            instance=str(record["instance"]),
            pid=int(record["pid"]),
            seq=int(record["seq"]),
            file=file,
        )
    except JournalError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise JournalError(f"{file.name}: a field is missing or wrong ({err!r})") from None


# --- instance locks --------------------------------------------------------------------------


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on an open file without waiting; False if someone holds it."""
    try:
        if sys.platform == "win32":  # pragma: no cover - Windows
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError (POSIX), PermissionError (Windows)
        return False
    return True


class _InstanceLock:
    """An exclusive lock on ``<instance>.lock``, held for as long as the instance lives.

    The file may be removed by whoever holds the lock (the owner at a clean exit, or a
    store that recovered everything a dead instance left). So after locking, the lock
    holder checks that the path still names the file it locked; if not, it lost a race
    with such a removal and tries again on the new file.
    """

    def __init__(self, file: Path, fd: int) -> None:
        self.file = file
        self._fd = fd

    @classmethod
    def try_acquire(cls, file: Path) -> _InstanceLock | None:
        """The lock, or None when a living process holds it (or it cannot be taken)."""
        for _attempt in range(8):
            try:
                fd = os.open(file, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
            except OSError:
                return None
            if not _try_lock(fd):
                os.close(fd)
                return None
            try:
                same = os.path.samestat(os.stat(file), os.fstat(fd))
            except OSError:
                same = False
            if same:
                return cls(file, fd)
            os.close(fd)  # it was removed meanwhile: lock the new one
        return None

    def write_info(self, info: dict[str, Any]) -> None:
        """Who holds the lock, for a person looking at the folder (never relied on)."""
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, json.dumps(info).encode("ascii"))

    def release(self, *, remove: bool) -> None:
        if self._fd < 0:
            return
        if remove and os.name != "nt":
            with contextlib.suppress(OSError):
                os.unlink(self.file)  # still holding the lock: no one else trusts the file
        os.close(self._fd)
        self._fd = -1
        if remove and os.name == "nt":  # pragma: no cover - Windows cannot delete open files
            with contextlib.suppress(OSError):
                os.unlink(self.file)


# --- scanning --------------------------------------------------------------------------------


@dataclass
class _Scan:
    by_instance: dict[str, list[JournalEntry]] = field(default_factory=dict)
    damaged: list[tuple[Path, str]] = field(default_factory=list)


def _journal_files(folder: Path) -> Iterator[Path]:
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(JOURNAL_SUFFIX) and not name.startswith("."):
            yield folder / name


def _scan(folder: Path) -> _Scan:
    scan = _Scan()
    for file in _journal_files(folder):
        try:
            entry = read_entry(file)
        except FileNotFoundError:
            continue  # removed meanwhile by its owner
        except _NewerVersion:
            continue
        except (OSError, JournalError) as err:
            scan.damaged.append((file, str(err)))
            continue
        scan.by_instance.setdefault(entry.instance, []).append(entry)
    return scan


def _newest_first(entries: list[JournalEntry]) -> list[JournalEntry]:
    return sorted(entries, key=lambda e: (e.written_at, e.seq), reverse=True)


def _is_alive(lock_file: Path) -> bool:
    """Whether a running instance holds this lock; nothing is created or removed."""
    try:
        fd = os.open(lock_file, os.O_RDWR | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return False  # a living instance keeps its lock file from start to end
    except OSError:
        return True  # cannot tell: never take a journal from a possibly living instance
    try:
        return not _try_lock(fd)
    finally:
        os.close(fd)  # closing the only descriptor drops the lock we may have taken


def recoverable(folder: Path) -> list[JournalEntry]:
    """Journals left by instances that are no longer running, newest first.

    Read-only: nothing is claimed, moved or deleted (the kill tests and scripts use it;
    the app uses :meth:`JournalStore.claim_orphans`).
    """
    found: list[JournalEntry] = []
    for instance, entries in _scan(folder).by_instance.items():
        if not _is_alive(folder / f"{instance}{LOCK_SUFFIX}"):
            found.extend(entries)
    return _newest_first(found)


# --- the store -------------------------------------------------------------------------------


class JournalStore:
    """One running instance's journals: writes them, removes them, finds dead ones' orphans.

    ``background``: writes happen on a worker thread (the app); without it, ``submit``
    writes at once (simple scripts and tests). ``on_written(doc_id, seq)`` and
    ``on_failed(doc_id, message)`` are called on the thread that wrote (the worker, in
    the background mode): a GUI must hop back to its own thread before touching widgets.

    If the folder cannot be created or locked (a read-only state folder), the store still
    works as an object but writes nothing: ``problem`` says why, and every submit reports
    it through ``on_failed``. Unsaved text then lives only in the editor.
    """

    def __init__(
        self,
        folder: Path,
        *,
        background: bool = True,
        on_written: Callable[[str, int], None] | None = None,
        on_failed: Callable[[str, str], None] | None = None,
    ) -> None:
        self.folder = folder
        self.instance = uuid.uuid4().hex
        self.pid = os.getpid()
        self.on_written = on_written
        self.on_failed = on_failed
        self.problem: str | None = None
        self.damaged: list[tuple[Path, str]] = []
        self._background = background
        self._cond = threading.Condition()
        self._io = threading.Lock()  # held while a journal file is written or removed
        self._pending: dict[str, tuple[int, Snapshot]] = {}
        self._busy = False
        self._stopping = False
        self._closed = False
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._own: set[str] = set()  # doc ids with a journal file written by this store
        self._claims: dict[str, _InstanceLock] = {}  # dead instances whose journals we offer
        self._claimed: dict[str, str] = {}  # unresolved claimed doc id -> its instance
        self._lock: _InstanceLock | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self.problem = QT_TRANSLATE_NOOP(
                "Journal", "cannot create the autosave folder “%1”: %2"
            ).arg(folder, err.strerror or err)
            return
        self._lock = _InstanceLock.try_acquire(folder / f"{self.instance}{LOCK_SUFFIX}")
        if self._lock is None:
            self.problem = QT_TRANSLATE_NOOP("Journal", "cannot lock the autosave folder “%1”").arg(
                folder
            )
            return
        self._lock.write_info({"pid": self.pid, "started": time.time()})

    # -- writing -------------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self.problem is None and not self._closed

    def submit(self, snapshot: Snapshot) -> int:
        """Queue a snapshot (a newer one of the same document replaces it); returns its seq."""
        with self._cond:
            self._seq += 1
            seq = self._seq
            if not self.enabled:
                problem = self.problem or _CLOSED
            else:
                problem = None
                if self._background:
                    self._pending[snapshot.doc_id] = (seq, snapshot)
                    self._start_worker()
                    self._cond.notify_all()
                    return seq
        if problem is not None:
            if self.on_failed is not None:
                self.on_failed(snapshot.doc_id, problem)
            return seq
        self._write_and_report(snapshot, seq)
        return seq

    def write(self, snapshot: Snapshot) -> JournalEntry:
        """Write a snapshot now, on this thread; raises OSError (the file is then as before)."""
        if not self.enabled:
            raise OSError(self.problem or _CLOSED)
        with self._cond:
            self._seq += 1
            seq = self._seq
            self._pending.pop(snapshot.doc_id, None)  # older than this one
        with self._io:
            return self._write_locked(snapshot, seq)

    def _write_locked(self, snapshot: Snapshot, seq: int) -> JournalEntry:
        entry = JournalEntry(
            doc_id=snapshot.doc_id,
            text=snapshot.text,
            path=snapshot.path,
            format=snapshot.format,
            disk=snapshot.disk,
            # As the file will say it (whole microseconds), so that reading it back is equal.
            written_at=_read_time(_write_time(time.time())),
            instance=self.instance,
            pid=self.pid,
            seq=seq,
            file=self.folder / f"{snapshot.doc_id}{JOURNAL_SUFFIX}",
        )
        atomic_write(entry.file, entry_json(entry))
        self._own.add(snapshot.doc_id)
        return entry

    def _write_and_report(self, snapshot: Snapshot, seq: int) -> None:
        try:
            with self._io:
                self._write_locked(snapshot, seq)
        except OSError as err:
            if self.on_failed is not None:
                self.on_failed(snapshot.doc_id, _write_problem(err))
            return
        if self.on_written is not None:
            self.on_written(snapshot.doc_id, seq)

    def _start_worker(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ghostpen-journal", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return
            error: OSError | None = None
            with self._io:
                with self._cond:
                    if not self._pending:
                        continue  # discarded while we waited for the file lock
                    doc_id = next(iter(self._pending))
                    seq, snapshot = self._pending.pop(doc_id)
                    self._busy = True
                try:
                    self._write_locked(snapshot, seq)
                except OSError as err:
                    error = err
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
            if error is not None:
                if self.on_failed is not None:
                    self.on_failed(doc_id, _write_problem(error))
            elif self.on_written is not None:
                self.on_written(doc_id, seq)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted snapshot is on disk (or failed); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    # -- removing --------------------------------------------------------------------------------

    def discard(self, doc_id: str) -> None:
        """Remove a document's journal now; a snapshot still queued is dropped first.

        Blocks while a write is in progress (milliseconds), so that no late write brings
        the journal back after a save.
        """
        with self._io:
            with self._cond:
                self._pending.pop(doc_id, None)
            if doc_id in self._own or doc_id in self._claimed:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.folder / f"{doc_id}{JOURNAL_SUFFIX}")
            self._own.discard(doc_id)
        self._resolve(doc_id)

    # -- recovery --------------------------------------------------------------------------------

    def claim_orphans(self) -> list[JournalEntry]:
        """Journals of dead instances, newest first; they stay claimed until resolved.

        Claiming means holding the dead instance's lock, so no other process offers the
        same journals meanwhile. Also tidies the folder: lock files of dead instances that
        left nothing are removed, temporary files of killed writes too, and damaged
        journals are renamed ``*.damaged`` (listed in ``damaged``).
        """
        if self.problem is not None:
            return []
        scan = _scan(self.folder)
        for file, reason in scan.damaged:
            with contextlib.suppress(OSError):
                file.rename(file.with_name(file.name + DAMAGED_SUFFIX))
                self.damaged.append((file, reason))
        found: list[JournalEntry] = []
        for instance, entries in scan.by_instance.items():
            if instance == self.instance:
                continue
            lock = self._claims.get(instance)
            if lock is None:
                lock = _InstanceLock.try_acquire(self.folder / f"{instance}{LOCK_SUFFIX}")
                if lock is None:
                    continue  # alive: its journals are its own business
                self._claims[instance] = lock
            for entry in entries:
                self._claimed[entry.doc_id] = instance
            found.extend(entries)
        self._sweep(set(scan.by_instance), {e.doc_id for e in found})
        return _newest_first(found)

    def _sweep(self, with_journals: set[str], claimed_docs: set[str]) -> None:
        names: list[str] = []
        with contextlib.suppress(OSError):
            names = os.listdir(self.folder)
        now = time.time()
        for name in names:
            file = self.folder / name
            if name.endswith(LOCK_SUFFIX):
                instance = name[: -len(LOCK_SUFFIX)]
                if instance == self.instance or instance in with_journals:
                    continue
                lock = _InstanceLock.try_acquire(file)
                if lock is not None:
                    lock.release(remove=True)  # a dead instance that left nothing
            elif name.startswith(".") and name.endswith(".tmp"):
                doc_id = name[1:].split(".", 1)[0]
                with contextlib.suppress(OSError):
                    if doc_id in claimed_docs or now - file.stat().st_mtime > STALE_TEMP_SECONDS:
                        file.unlink()

    def adopt(self, entry: JournalEntry) -> JournalEntry:
        """Take over a recovered journal: rewritten, atomically, as this instance's own.

        The file keeps its name (the document id), so at no moment is the text on disk
        nowhere; a kill now leaves it for the next start, owned by whoever is dead.
        """
        written = self.write(entry.snapshot)
        self._resolve(entry.doc_id)
        return written

    def remove(self, entry: JournalEntry) -> None:
        """Delete a journal the writer chose to discard in the recovery dialog."""
        with self._io:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.file)
            self._own.discard(entry.doc_id)
        self._resolve(entry.doc_id)

    def resolve(self, entry: JournalEntry) -> None:
        """Forget a claimed journal another store adopted (it is no longer ours to hold)."""
        self._resolve(entry.doc_id)

    def _resolve(self, doc_id: str) -> None:
        instance = self._claimed.pop(doc_id, None)
        if instance is None or instance in self._claimed.values():
            return
        lock = self._claims.pop(instance, None)
        if lock is not None:
            lock.release(remove=True)  # everything it left is dealt with

    # -- closing ---------------------------------------------------------------------------------

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued writes, stop the worker, release the locks (journals stay on disk).

        The own lock file is removed when no journal of this instance is left; claimed
        instances stay claimable by the next start when some of their journals were
        neither recovered nor discarded.
        """
        if self._closed:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._closed = True
        if self._lock is not None:
            self._lock.release(remove=not self._own)
            self._lock = None
        for lock in self._claims.values():
            lock.release(remove=False)
        self._claims.clear()
        self._claimed.clear()

    def __enter__(self) -> JournalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_problem(err: OSError) -> str:
    reason = err.strerror or str(err)
    if getattr(err, "filename", None):
        return QT_TRANSLATE_NOOP(
            "Journal", "the autosave journal could not be written (%1: %2)"
        ).arg(reason, err.filename)
    return QT_TRANSLATE_NOOP("Journal", "the autosave journal could not be written (%1)").arg(
        reason
    )


# --- comparing with the disk -----------------------------------------------------------------


@dataclass(frozen=True)
class DiskComparison:
    """What the recovery dialog shows for one journal.

    ``state``: "untitled" (never saved), "same" (the disk already has this text),
    "differs", "deleted" (the file is gone) or "unreadable". ``summary`` is a sentence
    for the writer; ``diff`` a unified diff from the file on disk to the recovered text
    ("" when there is nothing to compare). Both are :class:`~app.core.texts.Text` where
    they hold words of ours, for the GUI to translate.
    """

    state: str
    summary: str
    diff: str


def compare_with_disk(entry: JournalEntry, max_lines: int = MAX_DIFF_LINES) -> DiskComparison:
    """Compare a journal with its file on disk now, using difflib."""
    if entry.path is None:
        untitled = QT_TRANSLATE_NOOP(
            "Journal", "An untitled document that was never saved; its text is below."
        )
        return DiskComparison("untitled", untitled, "")
    try:
        doc = load_document(entry.path)
    except DocumentError as err:
        if not entry.path.exists():
            deleted = QT_TRANSLATE_NOOP(
                "Journal",
                "The file “%1” no longer exists on disk (it was moved or deleted); "
                "the recovered text is all there is.",
            )
            return DiskComparison("deleted", deleted.arg(entry.path), "")
        unreadable = QT_TRANSLATE_NOOP("Journal", "The file on disk cannot be compared: %1")
        return DiskComparison("unreadable", unreadable.arg(err.text), "")
    changed = entry.disk is not None and doc.sha256 != entry.disk.sha256
    warning = QT_TRANSLATE_NOOP(
        "Journal",
        "Another program also changed the file on disk after the crashed session opened it.",
    )

    def warned(summary: str) -> str:
        return joined([summary, warning]) if changed else summary

    if doc.text == entry.text:
        same = QT_TRANSLATE_NOOP("Journal", "The file on disk already holds exactly this text.")
        return DiskComparison("same", warned(same), "")
    old_lines = doc.text.splitlines()
    new_lines = entry.text.splitlines()
    lines = list(
        difflib.unified_diff(
            old_lines, new_lines, "on disk", "recovered (unsaved)", n=2, lineterm=""
        )
    )
    added = sum(1 for line in lines[2:] if line.startswith("+"))
    removed = sum(1 for line in lines[2:] if line.startswith("-"))
    diff: str = "\n".join(lines[:max_lines])
    if len(lines) > max_lines:
        more = QT_TRANSLATE_NOOP("Journal", "… %1 more diff lines not shown")
        diff = joined([diff, more.arg(len(lines) - max_lines)], separator="\n")
    if not lines:  # only a final line break differs: splitlines() hides it
        diff = QT_TRANSLATE_NOOP(
            "Journal", "(the texts differ only in the line break at the very end)"
        )
    summary = QT_TRANSLATE_NOOP(
        "Journal",
        "Unsaved changes to “%1”: %2 line(s) added or changed, %3 removed, "
        "compared with the file on disk now.",
    ).arg(entry.path, added, removed)
    return DiskComparison("differs", warned(summary), diff)
