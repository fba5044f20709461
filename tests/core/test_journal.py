"""The autosave journal, on real files: format, background writes, locks, recovery, diffs.

A "dead" instance is made for real: either a store that closed without discarding its
journals (the lock is released, as at a crash), or a subprocess holding a store that is
then killed with SIGKILL. Write failures are a real tiny tmpfs where mounting is
possible, and the ``paths._write_bytes`` seam everywhere.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import paths as paths_module
from app.core.documents import DEFAULT_FORMAT, DiskStamp, TextFormat, save_document
from app.core.journal import (
    FORMAT,
    VERSION,
    JournalError,
    JournalStore,
    Snapshot,
    compare_with_disk,
    new_doc_id,
    read_entry,
    recoverable,
)
from tests.support.fs import mounted_tmpfs

ROOT = Path(__file__).resolve().parents[2]
CRLF_UTF16 = TextFormat("utf-16-le", True, "\r\n")


def _snapshot(text: str = "unsaved words\n", path: Path | None = None, **kw: Any) -> Snapshot:
    return Snapshot(
        doc_id=str(kw.get("doc_id", new_doc_id())),
        text=text,
        path=path,
        format=kw.get("fmt", DEFAULT_FORMAT),
        disk=kw.get("disk"),
    )


def _dead_store_with(folder: Path, *snapshots: Snapshot) -> str:
    """Journals whose owner is gone, as after a crash: written, then the lock released."""
    store = JournalStore(folder, background=False)
    for snap in snapshots:
        store.write(snap)
    store.close()  # journals stay on disk; the instance lock is released
    return store.instance


# --- the file format -------------------------------------------------------------------------


def test_journal_file_format(tmp_path: Path) -> None:
    doc = tmp_path / "novel.txt"
    disk = DiskStamp(123, 45, "ab" * 32)
    with JournalStore(tmp_path / "journal", background=False) as store:
        entry = store.write(_snapshot("Hé\n“quoted”\n", doc, fmt=CRLF_UTF16, disk=disk))
        raw = entry.file.read_bytes()
        record = json.loads(raw)
        assert raw.isascii()
        assert entry.file == tmp_path / "journal" / f"{entry.doc_id}.json"
        assert record["format"] == FORMAT
        assert record["version"] == VERSION
        assert record["id"] == entry.doc_id
        assert record["instance"] == store.instance
        assert record["pid"] == os.getpid()
        assert record["document"] == {
            "path": str(doc),
            "encoding": "utf-16-le",
            "bom": True,
            "newline": "\r\n",
        }
        assert record["disk"] == {"mtime_ns": 123, "size": 45, "sha256": "ab" * 32}
        assert list(record)[-1] == "text"  # metadata first, for a person reading the file
        assert abs(entry.written_at - time.time()) < 60
        assert read_entry(entry.file) == entry
        store.discard(entry.doc_id)


odd_text = st.text(
    st.characters(exclude_categories=()),  # everything, lone surrogates and NUL included
    max_size=80,
)


@given(
    text=odd_text,
    fmt=st.sampled_from([DEFAULT_FORMAT, CRLF_UTF16, TextFormat("cp1252", False, "\r")]),
    name=st.one_of(st.none(), st.text(min_size=1, max_size=20).filter(lambda s: "/" not in s)),
)
@settings(max_examples=60, deadline=None)
def test_any_text_and_path_round_trip(text: str, fmt: TextFormat, name: str | None) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = None if name is None or "\x00" in name else Path(folder) / name
        with JournalStore(Path(folder) / "journal", background=False) as store:
            entry = store.write(_snapshot(text, path, fmt=fmt))
            again = read_entry(entry.file)
            assert again == entry
            assert again.text == text
            assert again.path == path
            assert again.format == fmt


def test_damaged_journals_are_set_aside_never_offered_or_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    good = _snapshot("keep me")
    _dead_store_with(folder, good)
    (folder / "cut.json").write_bytes(b'{"format": "ghostpen-journal", "vers')
    tampered = json.loads((folder / f"{good.doc_id}.json").read_text())
    tampered["text"] = "changed behind the checksum's back"
    (folder / "tampered.json").write_text(json.dumps(tampered))
    newer = {**tampered, "version": VERSION + 1}
    (folder / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(JournalError, match="checksum"):
        read_entry(folder / "tampered.json")

    with JournalStore(folder) as store:
        found = store.claim_orphans()
        assert [e.text for e in found] == ["keep me"]
        damaged = sorted(file.name for file, _ in store.damaged)
        assert damaged == ["cut.json", "tampered.json"]
        assert (folder / "cut.json.damaged").exists()
        assert (folder / "tampered.json.damaged").exists()
        assert (folder / "newer.json").exists()  # a newer Ghostpen's business
        store.resolve(found[0])


# --- writing in the background ---------------------------------------------------------------


def test_background_write_reports_and_discard_removes(tmp_path: Path) -> None:
    written: list[tuple[str, int]] = []
    done = threading.Event()

    def on_written(doc_id: str, seq: int) -> None:
        written.append((doc_id, seq))
        done.set()

    store = JournalStore(tmp_path / "journal", on_written=on_written)
    snap = _snapshot("first draft")
    seq = store.submit(snap)
    assert done.wait(10)
    assert written == [(snap.doc_id, seq)]
    assert threading.current_thread().name != "ghostpen-journal"
    file = tmp_path / "journal" / f"{snap.doc_id}.json"
    assert read_entry(file).text == "first draft"
    store.discard(snap.doc_id)
    assert not file.exists()
    store.close()
    assert os.listdir(tmp_path / "journal") == []  # the lock file goes at a clean close


def test_newest_snapshot_wins_and_no_write_survives_a_discard(tmp_path: Path) -> None:
    """A discard (after a save) must never be undone by a queued or in-flight write."""
    big = "x" * 2_000_000  # long enough for writes to overlap with the discards
    with JournalStore(tmp_path / "journal") as store:
        for round_ in range(30):
            snap = _snapshot(big + str(round_))
            store.submit(snap)
            if round_ % 3:
                store.discard(snap.doc_id)
                assert store.flush(30)
                assert not (tmp_path / "journal" / f"{snap.doc_id}.json").exists(), round_
            else:
                store.submit(_snapshot("newer", doc_id=snap.doc_id))
                assert store.flush(30)
                assert read_entry(tmp_path / "journal" / f"{snap.doc_id}.json").text == "newer"
                store.discard(snap.doc_id)


def _failing_write(code: int) -> object:
    def write(handle: BinaryIO, data: bytes) -> None:
        handle.write(data[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    return write


def test_a_failed_write_is_reported_and_keeps_the_previous_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: list[str] = []
    store = JournalStore(
        tmp_path / "journal", background=False, on_failed=lambda _d, m: failures.append(m)
    )
    snap = _snapshot("version one")
    store.submit(snap)
    monkeypatch.setattr(paths_module, "_write_bytes", _failing_write(errno.ENOSPC))
    store.submit(_snapshot("version two", doc_id=snap.doc_id))
    monkeypatch.undo()
    assert len(failures) == 1
    assert "could not be written" in failures[0]
    assert "No space left on device" in failures[0]
    assert read_entry(tmp_path / "journal" / f"{snap.doc_id}.json").text == "version one"
    assert [p.name for p in (tmp_path / "journal").glob(".*")] == []  # no temp file left
    store.discard(snap.doc_id)
    store.close()


def test_a_full_disk_for_real(tmp_path: Path) -> None:
    failures: list[str] = []
    with (
        mounted_tmpfs(tmp_path / "tiny", "16k") as tiny,
        JournalStore(tiny / "journal", on_failed=lambda _d, m: failures.append(m)) as store,
    ):
        snap = _snapshot("short and safe")
        store.submit(snap)
        assert store.flush(10)
        store.submit(_snapshot("long " * 20_000, doc_id=snap.doc_id))  # 100 kB > 16 kB
        assert store.flush(10)
        assert failures
        assert "No space left on device" in failures[0]
        assert read_entry(tiny / "journal" / f"{snap.doc_id}.json").text == "short and safe"
        store.discard(snap.doc_id)


def test_an_unusable_folder_disables_the_store_with_a_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    failures: list[str] = []
    store = JournalStore(blocker / "journal", on_failed=lambda _d, m: failures.append(m))
    assert not store.enabled
    assert store.problem is not None
    assert "cannot create the autosave folder" in store.problem
    store.submit(_snapshot())
    assert failures == [store.problem]
    assert store.claim_orphans() == []
    store.close()


# --- who may recover what --------------------------------------------------------------------


def test_a_live_instance_keeps_its_journals(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    with JournalStore(folder, background=False) as alive:
        snap = _snapshot("mine, and I am still running")
        alive.write(snap)
        assert recoverable(folder) == []
        with JournalStore(folder) as other:
            assert other.claim_orphans() == []
        assert (folder / f"{alive.instance}.lock").exists()
        alive.discard(snap.doc_id)


def test_journals_of_a_dead_instance_are_claimed_by_one_store_only(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    older, newer = _snapshot("older"), _snapshot("newer")
    dead = _dead_store_with(folder, older, newer)
    assert [e.text for e in recoverable(folder)] == ["newer", "older"]  # newest first

    first = JournalStore(folder)
    found = first.claim_orphans()
    assert [e.text for e in found] == ["newer", "older"]
    assert {e.instance for e in found} == {dead}
    with JournalStore(folder) as second:
        assert second.claim_orphans() == []  # claimed: not offered twice
    assert first.claim_orphans() == found  # asking again is fine

    first.remove(found[1])
    assert not found[1].file.exists()
    adopted = first.adopt(found[0])
    assert adopted.instance == first.instance
    assert adopted.file == found[0].file
    assert read_entry(found[0].file).instance == first.instance
    assert not (folder / f"{dead}.lock").exists()  # everything it left is dealt with
    first.close()  # abandons the adopted journal, like a crash would

    with JournalStore(folder) as third:
        (again,) = third.claim_orphans()
        assert again.text == "newer"
        assert again.instance == first.instance
        third.remove(again)
    assert os.listdir(folder) == []


def test_decide_later_keeps_journals_for_the_next_start(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    _dead_store_with(folder, _snapshot("not decided yet"))
    with JournalStore(folder) as store:
        assert len(store.claim_orphans()) == 1
    with JournalStore(folder) as store:
        (entry,) = store.claim_orphans()
        assert entry.text == "not decided yet"
        store.remove(entry)


DEAD_SCRIPT = """
import sys
from pathlib import Path
from app.core.journal import JournalStore, Snapshot
from app.core.documents import DEFAULT_FORMAT
store = JournalStore(Path(sys.argv[1]), background=False)
store.write(Snapshot("abc", "typed before the crash", None, DEFAULT_FORMAT, None))
print(store.instance, flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")
def test_a_killed_process_releases_its_journals(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    proc = subprocess.Popen(
        [sys.executable, "-c", DEAD_SCRIPT, str(folder)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdin is not None
    instance = proc.stdout.readline().strip()
    try:
        assert instance
        assert recoverable(folder) == []  # alive: not ours to take
        with JournalStore(folder) as store:
            assert store.claim_orphans() == []
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    (entry,) = recoverable(folder)
    assert (entry.text, entry.instance, entry.pid) == ("typed before the crash", instance, proc.pid)
    with JournalStore(folder) as store:
        (claimed,) = store.claim_orphans()
        store.remove(claimed)
    assert os.listdir(folder) == []


def test_start_up_tidies_what_killed_instances_left(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    folder.mkdir()
    (folder / "0123abcd.lock").write_text("{}")  # a dead instance that left no journal
    stale = folder / ".deadbeef.json.0123456789ab.tmp"  # a killed journal write
    stale.write_text("half")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = folder / ".cafe.json.0123456789ab.tmp"  # maybe a live instance writing now
    fresh.write_text("half")
    with JournalStore(folder) as store:
        assert store.claim_orphans() == []
        assert sorted(os.listdir(folder)) == sorted([fresh.name, f"{store.instance}.lock"])


# --- comparing with the disk -----------------------------------------------------------------


def test_compare_untitled_same_differs_deleted(tmp_path: Path) -> None:
    doc = tmp_path / "story.txt"
    stamp = save_document(doc, "one\ntwo\nthree\n", DEFAULT_FORMAT)
    with JournalStore(tmp_path / "journal", background=False) as store:
        untitled = store.write(_snapshot("never saved"))
        assert compare_with_disk(untitled).state == "untitled"

        same = store.write(_snapshot("one\ntwo\nthree\n", doc, disk=stamp))
        assert compare_with_disk(same).state == "same"

        differs = store.write(_snapshot("one\n2\nthree\nfour\n", doc, disk=stamp))
        result = compare_with_disk(differs)
        assert result.state == "differs"
        lines = result.diff.splitlines()
        assert lines[:2] == ["--- on disk", "+++ recovered (unsaved)"]
        assert "-two" in lines
        assert "+2" in lines
        assert "+four" in lines
        assert "2 line(s) added or changed, 1 removed" in result.summary
        assert "Another program" not in result.summary

        save_document(doc, "one\ntwo\nthree\nedited elsewhere\n", DEFAULT_FORMAT)
        assert "Another program also changed the file" in compare_with_disk(differs).summary

        capped = compare_with_disk(differs, max_lines=3)
        assert capped.diff.splitlines()[-1].endswith("more diff lines not shown")

        doc.unlink()
        gone = compare_with_disk(differs)
        assert gone.state == "deleted"
        assert "no longer exists" in gone.summary
        for entry in (untitled, same, differs):
            store.discard(entry.doc_id)
