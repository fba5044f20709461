"""No lost writing, in the real window: autosave journal, recovery at start, safe saves.

Windows run without a model (suggestions off). Every wait is on a signal or a condition.
Questions the window would ask modally are answered through the seams the window offers:
the conflict resolver it is given (``ConflictAnswers``) and the conflict box, opened
non-modally and clicked. The recovery dialog is driven through its methods, never ``exec()``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from app.core import documents
from app.core import paths as paths_module
from app.core.documents import (
    DEFAULT_FORMAT,
    DiskChange,
    TextFormat,
    encode_document,
    file_stamp,
    load_document,
)
from app.core.journal import JournalStore, Snapshot, new_doc_id, read_entry
from app.core.paths import AppPaths
from app.gui import main_window as main_window_module
from app.gui.document_controller import ConflictChoice
from app.gui.main_window import MainWindow
from tests.support.fs import mounted_tmpfs
from tests.support.gui import ConflictAnswers, close_window, open_window

ROOT = Path(__file__).resolve().parents[2]
JOURNAL_WAIT_MS = 10_000  # the journal is due about 1-1.5 s after an edit
UTF8_BOM_CRLF = TextFormat("utf-8", True, "\r\n")


@pytest.fixture(autouse=True)
def _close_recovery_windows() -> Iterator[None]:
    """Windows a recovery opened are closed even when a test fails half-way."""
    yield
    for window in list(main_window_module._RECOVERY_WINDOWS):
        close_window(window)


def _journal_file(window: MainWindow) -> Path:
    return window.paths.journal_dir / f"{window.document_controller.doc_id}.json"


def _open(window: MainWindow, path: Path, text: str, fmt: TextFormat = UTF8_BOM_CRLF) -> None:
    path.write_bytes(encode_document(text, fmt))
    assert window.document_controller.open_file(path)
    cursor = window.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    window.editor.setTextCursor(cursor)


def _type_and_journal(qtbot: QtBot, window: MainWindow, text: str) -> None:
    with qtbot.waitSignal(window.journal_controller.journalWritten, timeout=JOURNAL_WAIT_MS):
        qtbot.keyClicks(window.editor, text)
        assert not _journal_file(window).exists()  # not at once: about a second later


def _answer_questions(
    monkeypatch: pytest.MonkeyPatch, *answers: QMessageBox.StandardButton
) -> list[object]:
    asked: list[object] = []
    queue = list(answers)

    def answer(*args: object, **kwargs: object) -> QMessageBox.StandardButton:
        asked.append(args[2])
        return queue.pop(0)

    monkeypatch.setattr(QMessageBox, "question", answer)
    return asked


# --- the journal follows the document --------------------------------------------------------


def test_typing_is_journaled_and_a_save_removes_the_journal(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path
) -> None:
    doc = tmp_path / "letter.txt"
    _open(bare_window, doc, "Dear Ana,\n")
    _type_and_journal(qtbot, bare_window, "the cafe is open")
    entry = read_entry(_journal_file(bare_window))
    assert entry.text == "Dear Ana,\nthe cafe is open"
    assert entry.path == doc
    assert entry.format == UTF8_BOM_CRLF
    assert entry.disk == file_stamp(doc)
    assert entry.instance == bare_window.journal_controller.journal.instance
    assert bare_window.document_controller.save()
    assert not _journal_file(bare_window).exists()
    assert doc.read_bytes() == encode_document(entry.text, UTF8_BOM_CRLF)
    assert [p.suffix for p in bare_window.paths.journal_dir.iterdir()] == [".lock"]


def test_steady_typing_is_journaled_before_the_writer_pauses(
    qtbot: QtBot, bare_window: MainWindow
) -> None:
    """The debounce alone would wait for a pause forever: a deadline caps the delay."""
    typed: list[str] = []
    timer = QTimer(interval=60)

    def type_one() -> None:
        qtbot.keyClicks(bare_window.editor, "w")
        typed.append("w")

    timer.timeout.connect(type_one)
    still_typing: list[bool] = []
    bare_window.journal_controller.journalQueued.connect(
        lambda _id: still_typing.append(timer.isActive())
    )
    timer.start()
    try:
        with qtbot.waitSignal(
            bare_window.journal_controller.journalWritten, timeout=JOURNAL_WAIT_MS
        ):
            pass
    finally:
        timer.stop()
    assert still_typing[0] is True
    assert 0 < len(read_entry(_journal_file(bare_window)).text) <= len(typed)


def test_new_and_close_with_discard_remove_the_journal(
    qtbot: QtBot, bare_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    _type_and_journal(qtbot, bare_window, "a draft I will throw away")
    first = _journal_file(bare_window)
    asked = _answer_questions(
        monkeypatch, QMessageBox.StandardButton.Discard, QMessageBox.StandardButton.Discard
    )
    bare_window.document_controller.new_document()
    assert not first.exists()
    assert _journal_file(bare_window) != first
    _type_and_journal(qtbot, bare_window, "another one")
    second = _journal_file(bare_window)
    assert second.exists()
    bare_window.close()
    assert len(asked) == 2
    assert not second.exists()
    assert list(bare_window.paths.journal_dir.iterdir()) == []  # the lock file went too


def test_undoing_back_to_the_saved_text_removes_the_journal(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path
) -> None:
    _open(bare_window, tmp_path / "doc.txt", "saved\n")
    _type_and_journal(qtbot, bare_window, "x")
    journal = _journal_file(bare_window)
    bare_window.editor.undo()
    assert not bare_window.editor.document().isModified()
    qtbot.waitUntil(lambda: not journal.exists(), timeout=JOURNAL_WAIT_MS)


def test_an_empty_untitled_document_needs_no_journal(qtbot: QtBot, bare_window: MainWindow) -> None:
    _type_and_journal(qtbot, bare_window, "x")
    journal = _journal_file(bare_window)
    qtbot.keyClick(bare_window.editor, Qt.Key.Key_Backspace)
    assert bare_window.editor.document().isModified()
    assert bare_window.editor.document().isEmpty()
    qtbot.waitUntil(lambda: not journal.exists(), timeout=JOURNAL_WAIT_MS)


def test_a_failing_journal_is_shown_and_clears_when_it_works_again(
    qtbot: QtBot, bare_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(handle: BinaryIO, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(paths_module, "_write_bytes", full)
    qtbot.keyClicks(bare_window.editor, "words")
    qtbot.waitUntil(lambda: "Autosave failed" in bare_window.banner.text(), timeout=JOURNAL_WAIT_MS)
    assert "No space left on device" in bare_window.banner.text()
    assert bare_window.banner.isVisible()
    monkeypatch.undo()
    _type_and_journal(qtbot, bare_window, " more")
    assert not bare_window.banner.isVisible()


# --- recovery at start -----------------------------------------------------------------------


def _crashed_session(*snapshots: Snapshot) -> None:
    """Journals as a killed session leaves them: on disk, their instance lock released."""
    store = JournalStore(AppPaths.default().journal_dir, background=False)
    for snap in snapshots:
        store.write(snap)
    store.close()


def _wait_for_dialog(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(
        lambda: (
            window.journal_controller.recovery_dialog is not None
            and window.journal_controller.recovery_dialog.isVisible()
        ),
        timeout=JOURNAL_WAIT_MS,
    )


def test_recovery_is_offered_at_start_and_restores_each_document(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = TextFormat("utf-16-le", True, "\r\n")
    doc = tmp_path / "chapter.txt"
    doc.write_bytes(encode_document("One.\nTwo.\n", fmt))
    stamp = load_document(doc).stamp
    titled = Snapshot(new_doc_id(), "One.\nTwo, rewritten.\nThree.\n", doc, fmt, stamp)
    untitled = Snapshot(new_doc_id(), "a note never saved", None, DEFAULT_FORMAT, None)
    _crashed_session(titled, untitled)

    window = open_window(qtbot, None)
    try:
        _wait_for_dialog(qtbot, window)
        dialog = window.journal_controller.recovery_dialog
        assert dialog is not None
        assert {e.doc_id for e in dialog.entries()} == {titled.doc_id, untitled.doc_id}
        row = next(i for i, e in enumerate(dialog.entries()) if e.path == doc)
        dialog.select(row)
        compared = dialog.comparison()
        assert compared.state == "differs"
        assert "+Two, rewritten." in dialog.shown_text()
        assert "-Two." in dialog.shown_text()

        recovered = dialog.recover()
        assert recovered.doc_id == titled.doc_id
        assert window.editor.toPlainText() == titled.text
        assert window.document_controller.path == doc
        assert window.editor.document().isModified()
        assert "Recovered the unsaved text of chapter.txt" in window.banner.text()
        assert (
            read_entry(_journal_file(window)).instance == window.journal_controller.journal.instance
        )

        assert dialog.shown_text() == "a note never saved"  # untitled: the text itself
        dialog.recover()  # this window is busy: a second window holds it
        assert not dialog.isVisible()  # nothing left to decide
        (other,) = main_window_module._RECOVERY_WINDOWS
        assert other.editor.toPlainText() == "a note never saved"
        assert other.document_controller.path is None
        _answer_questions(monkeypatch, QMessageBox.StandardButton.Discard)
        other.close()
        assert not (AppPaths.default().journal_dir / f"{untitled.doc_id}.json").exists()

        assert (
            window.document_controller.save()
        )  # the file did not change since the crashed session read it
        assert doc.read_bytes() == encode_document(titled.text, fmt)
        assert not _journal_file(window).exists()
    finally:
        close_window(window)


def test_discard_in_the_dialog_deletes_the_journal_and_decide_later_keeps_it(
    qtbot: QtBot,
) -> None:
    keep = Snapshot(new_doc_id(), "think about it", None, DEFAULT_FORMAT, None)
    drop = Snapshot(new_doc_id(), "not needed", None, DEFAULT_FORMAT, None)
    _crashed_session(keep, drop)
    folder = AppPaths.default().journal_dir
    window = open_window(qtbot, None)
    try:
        _wait_for_dialog(qtbot, window)
        dialog = window.journal_controller.recovery_dialog
        assert dialog is not None
        row = next(i for i, e in enumerate(dialog.entries()) if e.doc_id == drop.doc_id)
        dialog.discard(row)
        assert not (folder / f"{drop.doc_id}.json").exists()
        assert window.document_controller.is_pristine()
        dialog.later_button.click()  # decide later
        assert not dialog.isVisible()
        assert (folder / f"{keep.doc_id}.json").exists()
        again = window.journal_controller.offer_recovery()  # File > Recover Unsaved Writing…
        assert again is not None
        assert [e.doc_id for e in again.entries()] == [keep.doc_id]
        again.recover()
        assert window.editor.toPlainText() == "think about it"
    finally:
        close_window(window)


def test_a_running_session_s_journals_are_not_offered(qtbot: QtBot) -> None:
    alive = JournalStore(AppPaths.default().journal_dir, background=False)
    snap = Snapshot(new_doc_id(), "still being written", None, DEFAULT_FORMAT, None)
    alive.write(snap)
    window = open_window(qtbot, None)
    try:
        assert window.journal_controller.offer_recovery() is None
        assert window.journal_controller.recovery_dialog is None
    finally:
        close_window(window)
        alive.discard(snap.doc_id)
        alive.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")
def test_a_killed_window_s_text_comes_back_in_the_next_one(qtbot: QtBot, tmp_path: Path) -> None:
    """End to end: the real window typing in a subprocess, kill -9, the real dialog."""
    doc = tmp_path / "story.txt"
    fmt = TextFormat("utf-8", False, "\r\n")
    doc.write_bytes(encode_document("Once upon a time.\n", fmt))
    script = tmp_path / "script.txt"
    script.write_text("there was a café “by the sea”.\nIt rained.\n" * 3, encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # the same GHOSTPEN_HOME as ours
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.kill_driver", "--file", str(doc),
         "--script", str(script), "--interval-ms", "10"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith("journaled"):
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    (entry,) = [read_entry(f) for f in AppPaths.default().journal_dir.glob("*.json")]
    assert entry.text.startswith("Once upon a time.\nthere was a café")
    assert doc.read_bytes() == encode_document("Once upon a time.\n", fmt)

    window = open_window(qtbot, None)
    try:
        _wait_for_dialog(qtbot, window)
        assert window.journal_controller.recovery_dialog is not None
        window.journal_controller.recovery_dialog.recover()
        assert window.editor.toPlainText() == entry.text
        assert window.document_controller.save()
        assert doc.read_bytes() == encode_document(entry.text, fmt)
    finally:
        close_window(window)


# --- saving when the file changed on disk ----------------------------------------------------


@pytest.fixture
def answers() -> ConflictAnswers:
    """How ``asking_window`` answers when a save finds the file changed on disk."""
    return ConflictAnswers()


@pytest.fixture
def asking_window(qtbot: QtBot, answers: ConflictAnswers) -> Iterator[MainWindow]:
    """A window without a model whose question about a changed file ``answers`` answers."""
    window = open_window(qtbot, None, resolve_conflict=answers)
    yield window
    close_window(window)


def _answer(answers: ConflictAnswers, choice: ConflictChoice) -> list[tuple[Path, DiskChange]]:
    """Answer ``choice`` from now on; the questions asked from now on."""
    answers.answer = choice
    answers.asked.clear()
    return answers.asked


def test_a_file_changed_on_disk_is_not_overwritten_without_asking(
    qtbot: QtBot, asking_window: MainWindow, answers: ConflictAnswers, tmp_path: Path
) -> None:
    w, docs = asking_window, asking_window.document_controller
    doc = tmp_path / "doc.txt"
    _open(w, doc, "mine\n")
    _type_and_journal(qtbot, w, "and more")
    doc.write_bytes(b"theirs, written by another program\n")

    asked = _answer(answers, ConflictChoice.CANCEL)
    assert not docs.save()
    assert asked == [(doc, DiskChange.MODIFIED)]
    assert "changed on disk by another program" in w.banner.text()
    assert "left as it is" in w.banner.text()
    assert doc.read_bytes() == b"theirs, written by another program\n"
    assert w.editor.toPlainText() == "mine\nand more"
    assert w.editor.document().isModified()
    assert _journal_file(w).exists()

    asked = _answer(answers, ConflictChoice.OVERWRITE)
    assert docs.save()
    assert doc.read_bytes() == encode_document("mine\nand more", UTF8_BOM_CRLF)
    assert asked == [(doc, DiskChange.MODIFIED)]
    assert not _journal_file(w).exists()

    asked = _answer(answers, ConflictChoice.CANCEL)
    qtbot.keyClicks(w.editor, "!")
    assert docs.save()
    assert asked == []  # our own save is not a change "on disk"


def test_save_as_is_offered_for_a_changed_file(
    qtbot: QtBot,
    asking_window: MainWindow,
    answers: ConflictAnswers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = tmp_path / "doc.txt"
    _open(asking_window, doc, "mine\n")
    qtbot.keyClicks(asking_window.editor, "x")
    doc.write_bytes(b"theirs\n")
    _answer(answers, ConflictChoice.SAVE_AS)
    chosen: list[bool] = []

    def get_save_file_name(*args: object, **kwargs: object) -> tuple[str, str]:
        chosen.append(True)
        return "", ""  # the writer cancelled the file dialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", get_save_file_name)
    assert not asking_window.document_controller.save()
    assert chosen == [True]
    assert doc.read_bytes() == b"theirs\n"


def test_a_deleted_file_is_asked_about_and_a_touched_one_is_not(
    qtbot: QtBot, asking_window: MainWindow, answers: ConflictAnswers, tmp_path: Path
) -> None:
    w, docs = asking_window, asking_window.document_controller
    doc = tmp_path / "doc.txt"
    _open(w, doc, "text\n")
    qtbot.keyClicks(w.editor, "x")
    os.utime(doc, ns=(1, 1))  # only touched: same bytes
    asked = _answer(answers, ConflictChoice.CANCEL)
    assert docs.save()
    assert asked == []
    qtbot.keyClicks(w.editor, "y")
    doc.unlink()
    asked = _answer(answers, ConflictChoice.OVERWRITE)
    assert docs.save()
    assert asked == [(doc, DiskChange.DELETED)]
    assert doc.read_bytes() == encode_document("text\nxy", UTF8_BOM_CRLF)


def test_a_vanished_folder_says_so_and_keeps_the_buffer(
    qtbot: QtBot, asking_window: MainWindow, answers: ConflictAnswers, tmp_path: Path
) -> None:
    w = asking_window
    folder = tmp_path / "project"
    folder.mkdir()
    _open(w, folder / "doc.txt", "text\n")
    _type_and_journal(qtbot, w, "precious")
    shutil.rmtree(folder)
    asked = _answer(answers, ConflictChoice.OVERWRITE)
    assert not w.document_controller.save()
    assert asked == []  # nothing to ask: the save cannot happen there
    assert "does not exist" in w.banner.text()
    assert str(folder) in w.banner.text()
    assert w.editor.toPlainText() == "text\nprecious"
    assert w.editor.document().isModified()
    assert _journal_file(w).exists()


def _button(box: QMessageBox, choice: ConflictChoice) -> Callable[[], None]:
    (button,) = [b for b in box.buttons() if b.property("choice") == choice.value]
    return button.click


@pytest.mark.parametrize("change", [DiskChange.MODIFIED, DiskChange.DELETED])
def test_the_conflict_question_itself(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path, change: DiskChange
) -> None:
    doc = tmp_path / "doc.txt"
    box = bare_window.document_controller.disk_conflict_box(doc, change)
    labels = [b.text() for b in box.buttons()]
    first = "Overwrite" if change is DiskChange.MODIFIED else "Save Again"
    assert sorted(labels) == sorted([first, "Save As…", "Cancel"])
    assert "doc.txt" in box.text()
    for choice in ConflictChoice:
        box = bare_window.document_controller.disk_conflict_box(doc, change)
        box.open()  # window-modal, not blocking: the test clicks
        with qtbot.waitSignal(box.finished, timeout=5000):
            _button(box, choice)()
        assert bare_window.document_controller.conflict_choice(box) is choice
    box = bare_window.document_controller.disk_conflict_box(doc, change)
    box.open()
    with qtbot.waitSignal(box.finished, timeout=5000):
        qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert bare_window.document_controller.conflict_choice(box) is ConflictChoice.CANCEL


# --- saves that fail keep everything ---------------------------------------------------------


def _assert_failed_save_kept_everything(
    bare_window: MainWindow, doc: Path, before: bytes, text: str, phrase: str
) -> None:
    assert phrase in bare_window.banner.text()
    assert "Not saved" in bare_window.banner.text()
    assert doc.read_bytes() == before
    assert bare_window.editor.toPlainText() == text
    assert bare_window.editor.document().isModified()
    assert [p.name for p in doc.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_full_disk_keeps_buffer_file_and_journal(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "doc.txt"
    _open(bare_window, doc, "old\n")
    _type_and_journal(qtbot, bare_window, "new words")
    before = doc.read_bytes()

    def half_then_full(handle: BinaryIO, data: bytes) -> None:
        handle.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(documents, "_write_bytes", half_then_full)
    assert not bare_window.document_controller.save()
    _assert_failed_save_kept_everything(
        bare_window, doc, before, "old\nnew words", "the disk is full"
    )
    assert _journal_file(bare_window).exists()


def test_a_really_full_disk(qtbot: QtBot, bare_window: MainWindow, tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "tiny", "16k") as tiny:
        doc = tiny / "doc.txt"
        _open(bare_window, doc, "old\n" * 500)  # 3 kB of 16
        bare_window.editor.insertPlainText("a much longer text that will not fit\n" * 600)
        before = doc.read_bytes()
        text = bare_window.editor.toPlainText()
        assert not bare_window.document_controller.save()
        _assert_failed_save_kept_everything(bare_window, doc, before, text, "the disk is full")
        bare_window.editor.document().setModified(False)  # before the disk goes away


def test_a_read_only_file_keeps_buffer_and_file(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path
) -> None:
    doc = tmp_path / "doc.txt"
    _open(bare_window, doc, "old\n")
    doc.chmod(0o444)
    qtbot.keyClicks(bare_window.editor, "new")
    before = doc.read_bytes()
    assert not bare_window.document_controller.save()
    _assert_failed_save_kept_everything(bare_window, doc, before, "old\nnew", "read-only")


# --- opening: refused or noticed, never mangled ----------------------------------------------


def test_binary_and_huge_files_are_refused_and_the_buffer_stays(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path
) -> None:
    qtbot.keyClicks(bare_window.editor, "my text")
    binary = tmp_path / "photo.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not bare_window.document_controller.open_file(binary)
    assert "binary file" in bare_window.banner.text()
    huge = tmp_path / "huge.log"
    with open(huge, "wb") as fh:
        fh.truncate(documents.MAX_DOCUMENT_BYTES + 1)
    assert not bare_window.document_controller.open_file(huge)
    assert "Ghostpen opens documents up to 20 MB" in bare_window.banner.text()
    assert bare_window.editor.toPlainText() == "my text"
    assert bare_window.document_controller.path is None


def test_a_legacy_file_opens_with_a_visible_notice_and_saves_back_exactly(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path
) -> None:
    doc = tmp_path / "old.txt"
    original = b"caf\xe9\r\n\x93quoted\x94\r\n"
    doc.write_bytes(original)
    assert bare_window.document_controller.open_file(doc)
    assert "Windows-1252" in bare_window.banner.text()
    assert bare_window.banner.isVisible()
    bare_window.editor.document().setModified(True)
    assert bare_window.document_controller.save()
    assert doc.read_bytes() == original
