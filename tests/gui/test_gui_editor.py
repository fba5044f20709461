"""The editor with real ghost text from real llama.cpp, driven by pytest-qt offscreen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.core.ghost import split_word
from app.gui.main_window import MainWindow
from tests.support.gui import (
    TEXT,
    WAIT_MS,
    close_window,
    expected_ghost,
    greedy_settings,
    open_window,
    requests_sent,
    settle,
    type_and_wait,
)
from tests.support.models import TestModel


def test_typing_shows_a_ghost_that_is_not_in_the_document(qtbot: QtBot, window: MainWindow) -> None:
    ghost = type_and_wait(qtbot, window, TEXT)
    assert window.editor.toPlainText() == TEXT
    assert not window.editor.toPlainText().endswith(ghost)
    assert ghost == expected_ghost(window, TEXT)


def test_tab_inserts_exactly_the_ghost_as_one_undo_step(qtbot: QtBot, window: MainWindow) -> None:
    ghost = type_and_wait(qtbot, window, TEXT)
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert window.editor.toPlainText() == TEXT + ghost
    window.editor.undo()
    assert window.editor.toPlainText() == TEXT
    window.editor.redo()
    assert window.editor.toPlainText() == TEXT + ghost


def test_tab_without_a_ghost_inserts_a_tab(qtbot: QtBot, window: MainWindow) -> None:
    window.set_auto_suggest(False)
    qtbot.keyClicks(window.editor, "a")
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert window.editor.toPlainText() == "a\t"


def test_escape_dismisses(qtbot: QtBot, window: MainWindow) -> None:
    type_and_wait(qtbot, window, TEXT)
    qtbot.keyClick(window.editor, Qt.Key.Key_Escape)
    assert window.editor.ghost_text() == ""
    assert window.editor.toPlainText() == TEXT


def test_ctrl_right_accepts_one_word_and_undoes_in_one_step(
    qtbot: QtBot, window: MainWindow
) -> None:
    typed = TEXT + " "  # after a space the test model writes several words
    ghost = type_and_wait(qtbot, window, typed)
    assert not ghost.startswith(" ")  # healed: the writer's space is not written again
    word, rest = split_word(ghost)
    assert rest, "the test needs a ghost of several words"
    qtbot.keyClick(window.editor, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == typed + word
    assert window.editor.ghost_text() == rest
    window.editor.undo()
    assert window.editor.toPlainText() == typed


def test_type_through_keeps_the_rest_without_a_new_request(
    qtbot: QtBot, window: MainWindow
) -> None:
    ghost = type_and_wait(qtbot, window, TEXT)
    sent = requests_sent(window)
    typed = ghost[:3]
    qtbot.keyClicks(window.editor, typed)
    assert window.editor.toPlainText() == TEXT + typed
    assert window.editor.ghost_text() == ghost[3:]
    settle(qtbot, window)
    assert sent == []  # nothing was asked: the rest of the same answer stays
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert window.editor.toPlainText() == TEXT + ghost


def test_a_diverging_key_drops_the_ghost_and_asks_again(qtbot: QtBot, window: MainWindow) -> None:
    ghost = type_and_wait(qtbot, window, TEXT)
    other = "Z" if not ghost.startswith("Z") else "Q"
    sent = requests_sent(window)
    with qtbot.waitSignal(window.controller.suggestionShown, timeout=WAIT_MS):
        qtbot.keyClicks(window.editor, " " + other)
    assert window.editor.toPlainText() == TEXT + " " + other
    assert len(sent) == 1


def test_stale_results_are_never_painted(qtbot: QtBot, window: MainWindow) -> None:
    """Tokens of an overtaken request arrive after the new one started: dropped. Every
    ghost painted belongs to the request that superseded it, checked by request id (the
    two answers may well read the same)."""
    painted: list[tuple[str, int]] = []
    window.controller.ghostChanged.connect(
        lambda text: painted.append((text, window.controller.shown_request_id))
    )
    sent = requests_sent(window)
    qtbot.keyClicks(window.editor, "Hello")
    window.controller.trigger_now()  # request A
    stale_id = sent[-1].id
    with qtbot.waitSignal(window.controller.suggestionShown, timeout=WAIT_MS):
        qtbot.keyClicks(window.editor, " there")  # supersedes A; B after the debounce
    window.worker.worker.token.emit(stale_id, "STALE TOKEN", 0.0)  # a late token of A
    QApplication.processEvents()
    assert all("STALE" not in text for text, _ in painted)
    assert window.controller.shown_request_id != stale_id

    ghost_b = expected_ghost(window, "Hello there")
    qtbot.waitUntil(lambda: window.editor.ghost_text() == ghost_b, timeout=WAIT_MS)
    shown = [request_id for text, request_id in painted if text]
    assert shown
    assert stale_id not in shown


def test_ghost_is_never_saved_copied_counted_or_undone(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    ghost = type_and_wait(qtbot, window, TEXT)
    target = tmp_path / "draft.txt"
    assert window.document_controller.save_to(target)
    assert target.read_text(encoding="utf-8") == TEXT
    window._update_word_count()
    assert window.words_label.text().startswith(str(len(TEXT.split())))
    # the save did not disturb the ghost, and undo only removes typing
    assert window.editor.ghost_text() == ghost
    window.editor.selectAll()
    window.editor.copy()
    assert QGuiApplication.clipboard().text() == TEXT
    while window.editor.document().isUndoAvailable():
        window.editor.undo()
    assert window.editor.toPlainText() == ""


def test_alternatives_cycle(qtbot: QtBot, window: MainWindow) -> None:
    first = type_and_wait(qtbot, window, TEXT)
    with qtbot.waitSignal(window.controller.suggestionShown, timeout=WAIT_MS):
        qtbot.keyClick(window.editor, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.AltModifier)
    second = window.editor.ghost_text()
    assert second
    assert second != first
    options = window.controller.alternatives
    assert 2 <= len(options) <= 1 + window.controller.settings.n_alternatives
    qtbot.keyClick(window.editor, Qt.Key.Key_BracketLeft, Qt.KeyboardModifier.AltModifier)
    assert window.editor.ghost_text() == first
    qtbot.keyClick(window.editor, Qt.Key.Key_Tab)
    assert window.editor.toPlainText() == TEXT + first


def test_manual_trigger_ignores_the_auto_rules(qtbot: QtBot, window: MainWindow) -> None:
    window.set_auto_suggest(False)
    sent = requests_sent(window)
    qtbot.keyClicks(window.editor, TEXT)
    settle(qtbot, window)
    assert sent == []
    assert window.editor.ghost_text() == ""
    with qtbot.waitSignal(window.controller.suggestionShown, timeout=WAIT_MS):
        qtbot.keyClick(window.editor, Qt.Key.Key_Backslash, Qt.KeyboardModifier.AltModifier)
    assert len(sent) == 1


def test_no_automatic_suggestion_inside_a_word_or_before_long_text(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.editor.setPlainText("Once upon a time there was a lighthouse")
    sent = requests_sent(window)
    cursor = window.editor.textCursor()
    cursor.setPosition(7)  # "Once up|on a time": inside a word
    window.editor.setTextCursor(cursor)
    qtbot.keyClicks(window.editor, "x")
    settle(qtbot, window)
    cursor.setPosition(0)  # start of the line: far more than 8 characters to the right
    window.editor.setTextCursor(cursor)
    qtbot.keyClicks(window.editor, " ")
    settle(qtbot, window)
    assert sent == []


def test_cache_serves_a_prompt_seen_before(qtbot: QtBot, window: MainWindow) -> None:
    ghost = type_and_wait(qtbot, window, TEXT)
    sent = requests_sent(window)
    qtbot.keyClick(window.editor, Qt.Key.Key_Backspace)
    settle(qtbot, window)
    with qtbot.waitSignal(window.controller.suggestionShown, timeout=1000):
        qtbot.keyClicks(window.editor, TEXT[-1])  # back to the same prompt
    assert window.editor.ghost_text() == ghost
    assert len(sent) == 1  # only the request for the shortened text


def test_ghost_pixels_appear_right_of_the_cursor(qtbot: QtBot, window: MainWindow) -> None:
    window.editor.setPlainText("")
    type_and_wait(qtbot, window, TEXT)
    rect = window.editor.cursorRect()
    image = window.editor.viewport().grab().toImage()
    ghost_rgb = window.editor.ghost_color()
    text_rgb = window.editor.palette().color(window.editor.foregroundRole())

    def count(target: QColor, x0: int, x1: int) -> int:
        hits = 0
        for y in range(rect.top(), rect.bottom() + 1):
            for x in range(x0, x1):
                pixel = image.pixelColor(QPoint(x, y))
                if (
                    abs(pixel.red() - target.red()) < 24
                    and abs(pixel.green() - target.green()) < 24
                    and abs(pixel.blue() - target.blue()) < 24
                ):
                    hits += 1
        return hits

    dpr = image.devicePixelRatio()
    right = int(min(image.width() / dpr, rect.right() + 200))
    assert count(ghost_rgb, rect.right() + 2, right) > 20  # dimmed ghost glyphs
    assert count(text_rgb, rect.right() + 2, right) < 5  # not drawn as normal text
    assert count(text_rgb, 0, rect.left()) > 20  # the typed text left of the cursor


def test_ghost_follows_the_dark_theme(qtbot: QtBot, window: MainWindow) -> None:
    from app.core.settings import Theme

    window.set_theme(Theme.LIGHT)
    QApplication.processEvents()
    light = window.editor.ghost_color()
    window.set_theme(Theme.DARK)
    QApplication.processEvents()
    try:
        dark = window.editor.ghost_color()
        base = window.editor.palette().color(QPalette.ColorRole.Base)
        assert base.lightness() < 60  # the dark palette reached the editor
        assert dark.lightness() < light.lightness()
        assert abs(dark.lightness() - base.lightness()) > 40  # readable on dark
    finally:
        window.set_theme(Theme.SYSTEM)


def test_a_broken_model_disables_suggestions_with_a_message(
    qtbot: QtBot, tiny_model: TestModel, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_model["q8_0"].read_bytes()[:4000])
    w = open_window(qtbot, None)
    try:
        with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
            w.model_controller.load_model(broken)
        assert not w.controller.enabled
        assert "Suggestions are off" in w.banner.text()
        assert "truncated" in w.banner.text()
        assert w.banner.isVisible()
        sent = requests_sent(w)
        w.editor.setFocus()
        qtbot.keyClicks(w.editor, TEXT)
        settle(qtbot, w)
        assert sent == []
        assert w.editor.toPlainText() == TEXT
        w.controller.trigger_now()
        assert "No model" in w.banner.text()
        # the writer can recover by loading a good model
        with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
            w.model_controller.load_model(tiny_model["q8_0"])
        assert w.controller.enabled
        assert not w.banner.isVisible()
    finally:
        close_window(w)


def test_closing_during_generation_stops_the_thread(qtbot: QtBot, tiny_model: TestModel) -> None:
    w = open_window(qtbot, None, greedy_settings(mode="paragraph", max_tokens=256))
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
        w.model_controller.load_model(tiny_model["f32"])
    w.editor.setFocus()
    tokens: list[str] = []
    w.worker.worker.token.connect(lambda _id, piece, _lp: tokens.append(piece))
    w.editor.setPlainText(TEXT)
    w.controller.trigger_now()
    qtbot.waitUntil(lambda: len(tokens) > 0, timeout=WAIT_MS)
    close_window(w)
    assert not w.worker.thread.isRunning()
    assert len(tokens) < 256


def test_open_keeps_encoding_and_line_endings(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    source = tmp_path / "letter.txt"
    source.write_bytes("\ufeffDear Ana,\r\nthe café is open.\r\n".encode("utf-8"))
    assert window.document_controller.open_file(source)
    assert window.editor.toPlainText() == "Dear Ana,\nthe café is open.\n"
    cursor = window.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    window.editor.setTextCursor(cursor)
    window.set_auto_suggest(False)
    qtbot.keyClicks(window.editor, "Love")
    assert window.document_controller.save()
    assert source.read_bytes() == "\ufeffDear Ana,\r\nthe café is open.\r\nLove".encode("utf-8")
    assert str(source.resolve()) in window.settings.recent_files[0]


def test_a_failed_save_says_why_and_keeps_the_buffer(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    window.set_auto_suggest(False)
    qtbot.keyClicks(window.editor, "precious words")
    assert not window.document_controller.save_to(tmp_path / "missing-folder" / "a.txt")
    assert "Not saved" in window.banner.text()
    assert window.editor.toPlainText() == "precious words"
    assert window.editor.document().isModified()


def test_settings_and_geometry_persist(qtbot: QtBot, tiny_model: TestModel) -> None:
    w = open_window(qtbot, None)
    w.resize(777, 555)
    w.zoom(2)
    w.set_line_wrap(False)
    close_window(w)
    again = open_window(qtbot, None)
    try:
        assert again.settings.editor.zoom == 2
        assert again.settings.editor.line_wrap is False
        assert again.size().width() == 777
    finally:
        close_window(again)
    QApplication.processEvents()


def test_unsaved_changes_prompt(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    window.set_auto_suggest(False)
    qtbot.keyClicks(window.editor, "draft")
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    asked: list[object] = []

    def answer(*args: object) -> QMessageBox.StandardButton:
        asked.append(args[2])
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", answer)
    window.document_controller.new_document()  # Cancel: nothing lost
    assert window.editor.toPlainText() == "draft"
    window.document_controller.new_document()  # Discard
    assert window.editor.toPlainText() == ""
    assert len(asked) == 2


def test_find_and_replace_all_is_one_undo_step(qtbot: QtBot, window: MainWindow) -> None:
    window.set_auto_suggest(False)
    window.editor.setPlainText("the sea, the sky, the shore")
    window.find_bar.open(replace=True)
    window.find_bar.find_edit.setText("the")
    window.find_bar.replace_edit.setText("a")
    assert window.find_bar.replace_all() == 3
    assert window.editor.toPlainText() == "a sea, a sky, a shore"
    window.editor.undo()
    assert window.editor.toPlainText() == "the sea, the sky, the shore"
    window.find_bar.find_edit.setText("sky")
    assert window.find_bar.find_next()
    assert window.editor.textCursor().selectedText() == "sky"


def test_text_around_cursor_is_bounded_and_exact(window: MainWindow) -> None:
    window.set_auto_suggest(False)
    editor = window.editor
    editor.setPlainText("a😀b\nline two")
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    assert editor.text_around_cursor(100, 100) == ("a😀b\nline two", 12)
    cursor = editor.textCursor()
    cursor.setPosition(3)  # after the emoji (two UTF-16 units)
    editor.setTextCursor(cursor)
    assert editor.text_around_cursor(100, 2) == ("a😀b\n", 2)
    assert editor.text_around_cursor(1, 1) == ("b", 0)  # the cut split the emoji: dropped
