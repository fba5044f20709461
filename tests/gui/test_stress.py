"""Stress: 400 fast random keys in the real window leave no stale ghost, the exact text and
no error (the harness and its three checks: ``tests/support/stress.py``)."""

from __future__ import annotations

from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from tests.support.gui import WAIT_MS
from tests.support.stress import run_stress


def test_four_hundred_fast_keys_leave_no_stale_ghost_and_the_exact_text(
    qtbot: QtBot, window: MainWindow
) -> None:
    typist = run_stress(qtbot, window, 400)
    report = typist.report
    print(
        f"\n{report.keystrokes} keys, {report.requests} requests, {report.ghosts_shown} ghosts "
        f"shown, {report.ghost_checks} ghost checks, {report.accepted} accepted "
        f"({report.accepted_chars} chars), {report.type_through} typed through"
    )
    assert report.keystrokes == 400
    assert report.mismatches == []
    assert report.stale == []
    assert report.errors == []
    assert report.ghosts_shown > 0
    assert report.ghost_checks > 0
    assert report.accepted > 0
    # still responsive: a manual request is answered, and the editor types
    with qtbot.waitSignal(window.controller.suggestionFinished, timeout=WAIT_MS):
        window.controller.trigger_now()
    qtbot.waitUntil(lambda: window.controller.idle, timeout=WAIT_MS)
    typist.audit.finish()
    assert report.stale == []
    window.controller.dismiss()
    QTest.keyClicks(window.editor, "x")
    at = typist.cursor
    assert window.editor.toPlainText() == typist.expected[:at] + "x" + typist.expected[at:]
