"""Prefill in the window: typing evaluates the text ahead, so a pause's request only samples."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.core.engine_api import Prefill
from app.gui.main_window import MainWindow
from app.gui.worker import RequestDone
from tests.support.gui import (
    TEXT,
    WAIT_MS,
    close_window,
    expected_ghost,
    greedy_settings,
    open_window,
    settle,
)
from tests.support.models import TestModel


@pytest.fixture
def slow_window(qtbot: QtBot, tiny_model: TestModel) -> Iterator[MainWindow]:
    """A long pause before asking, so each keystroke's prefill surely runs first."""
    w = open_window(qtbot, None, greedy_settings(debounce_ms=400))
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
        w.model_controller.load_model(tiny_model["q8_0"])
    w.editor.setFocus()
    yield w
    close_window(w)


def test_the_request_after_a_pause_evaluates_nothing(qtbot: QtBot, slow_window: MainWindow) -> None:
    w = slow_window
    prefills: list[Prefill] = []
    done: list[RequestDone] = []
    w.worker.worker.prefilled.connect(lambda _id, p: prefills.append(p))
    w.worker.worker.finished.connect(done.append)
    with qtbot.waitSignal(w.worker.worker.prefilled, timeout=WAIT_MS):
        qtbot.keyClicks(w.editor, TEXT[:20])
    with qtbot.waitSignal(w.controller.suggestionShown, timeout=WAIT_MS):
        for ch in TEXT[20:]:  # one key at a time, each given its prefill
            with qtbot.waitSignal(w.worker.worker.prefilled, timeout=WAIT_MS):
                qtbot.keyClicks(w.editor, ch)
    settle(qtbot, w)
    assert len(prefills) >= len(TEXT) - 20
    assert max(p.evaluated for p in prefills[1:]) <= 3  # a keystroke's token or two
    shown = [d for d in done if d.id == w.controller.shown_request_id]
    assert shown
    assert shown[0].completion.timings.prompt_tokens_evaluated == 0
    # and the suggestion is exactly what a fresh evaluation of the text gives
    assert w.editor.ghost_text() == expected_ghost(w, TEXT)


def test_no_prefill_without_auto_suggest(qtbot: QtBot, tiny_model: TestModel) -> None:
    """Suggestions on request only: typing costs the processor nothing."""
    w = open_window(qtbot, None, greedy_settings(auto_suggest=False))
    try:
        with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
            w.model_controller.load_model(tiny_model["q8_0"])
        prefills: list[int] = []
        w.worker.worker.prefilled.connect(lambda rid, _p: prefills.append(rid))
        w.editor.setFocus()
        qtbot.keyClicks(w.editor, TEXT)
        with qtbot.waitSignal(w.controller.suggestionShown, timeout=WAIT_MS):
            w.controller.trigger_now()
        settle(qtbot, w)
        assert prefills == []
    finally:
        close_window(w)


def test_a_ghost_cleared_before_it_was_painted_is_not_reported(
    qtbot: QtBot, slow_window: MainWindow
) -> None:
    """``ghostPainted`` is the latency seam: it fires for ghosts that reached the screen,
    never for one a keystroke removed before the next paint."""
    w = slow_window
    painted: list[str] = []
    w.editor.ghostPainted.connect(painted.append)
    cleared: list[bool] = []

    def type_before_the_paint(_text: str) -> None:
        if not cleared:
            cleared.append(True)
            qtbot.keyClicks(w.editor, "#")  # not the ghost's start: the ghost goes

    w.controller.suggestionShown.connect(type_before_the_paint)
    with qtbot.waitSignal(w.controller.suggestionShown, timeout=WAIT_MS):
        qtbot.keyClicks(w.editor, TEXT)
    w.editor.viewport().repaint()  # the paint that follows, now
    assert cleared
    assert "" not in painted
