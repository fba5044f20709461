"""The settings panel and drafts, in the real window on a real test model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QInputDialog, QSpinBox
from pytestqt.qtbot import QtBot

from app.core.engine import Engine
from app.core.paths import AppPaths
from app.core.sampling import GREEDY, RANGES
from app.core.settings import CONFIDENCE_LEVELS
from app.gui.main_window import MainWindow
from app.gui.worker import RequestDone
from tests.support.gui import (
    TEXT,
    WAIT_MS,
    close_window,
    greedy_settings,
    open_window,
    requests_sent,
)
from tests.support.models import TestModel

# --------------------------------------------------------------------------- settings panel


def _spin(window: MainWindow, key: str) -> QSpinBox | QDoubleSpinBox:
    spin, toggle = window.settings_panel.controls[key]
    if toggle is not None:
        toggle.setChecked(True)
    assert isinstance(spin, (QSpinBox, QDoubleSpinBox))
    return spin


@pytest.mark.parametrize("name", [n for n in RANGES if n != "max_tokens"])
def test_each_sampling_control_reaches_the_next_request(
    qtbot: QtBot, window: MainWindow, name: str
) -> None:
    window.settings_panel.likeliest.setChecked(False)  # suggestions drawn with the sampling
    spin = _spin(window, f"sampling.{name}")
    rule = RANGES[name]
    target = rule.low + (min(rule.high, 1000) - rule.low) * 0.37
    target = round(target) if rule.integer else round(target, 2)
    if isinstance(spin, QSpinBox):  # an integer setting: target is an int
        spin.setValue(round(target))
    else:
        spin.setValue(target)
    assert getattr(window.settings.sampling, name) == pytest.approx(target)
    assert getattr(window.controller.sampling, name) == pytest.approx(target)
    sent = requests_sent(window)
    window.editor.setPlainText(TEXT)
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    window.controller.trigger_now()
    assert getattr(sent[-1].sampling, name) == pytest.approx(target)
    qtbot.waitUntil(lambda: window.controller.idle, timeout=WAIT_MS)


def test_suggestion_controls_apply_without_restart(window: MainWindow) -> None:
    _spin(window, "suggestions.max_tokens").setValue(5)
    window.settings_panel.mode.setCurrentIndex(window.settings_panel.mode.findData("word"))
    assert window.controller.settings.max_tokens == 5
    assert window.controller.settings.mode == "word"
    window.settings_panel.auto.setChecked(False)
    assert not window.auto_action.isChecked()
    assert not window.controller.settings.auto_suggest
    box = window.settings_panel.suggest_when
    box.setCurrentIndex(box.findData("very_sure"))
    assert window.controller.settings.suggest_when == "very_sure"
    assert window.controller.policy.min_confidence == CONFIDENCE_LEVELS["very_sure"] > 0
    assert window.settings.suggestions.suggest_when == "very_sure"  # saved with the rest
    window.settings_panel.likeliest.setChecked(False)
    assert not window.controller.settings.likeliest


def test_a_value_the_core_refuses_is_reported_not_applied(window: MainWindow) -> None:
    before = window.settings.sampling
    window.settings_panel._apply("sampling", "temperature", 99.0)
    assert "temperature must be a number from 0 to 5" in window.settings_panel.error.text()
    assert window.settings.sampling == before


def test_context_size_is_capped_by_the_model(window: MainWindow) -> None:
    spin = _spin(window, "runtime.n_ctx")
    assert spin.maximum() == 128  # the tiny test model's context length


def test_presets_apply_and_user_presets_round_trip(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = window.settings_panel
    panel.apply_preset("creative")
    assert window.settings.sampling.temperature == pytest.approx(1.0)
    assert panel.presets.currentText() == "creative"  # the panel names the active preset
    _spin(window, "sampling.top_k").setValue(7)
    assert panel.presets.currentIndex() == -1  # moved off it: no preset is exactly this
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Mine", True))
    panel._save()
    assert [name for name, _ in window.settings.user_presets] == ["Mine"]
    panel.reset()
    assert window.settings.sampling.top_k == 40
    panel.apply_preset("Mine")
    assert window.settings.sampling.top_k == 7
    assert panel.presets.currentText() == "Mine"
    close_window(window)
    again = open_window(qtbot, None)
    try:
        assert dict(again.settings.user_presets)["Mine"].top_k == 7
        assert again.settings_panel.presets.findText("Mine") >= 0
    finally:
        close_window(again)


def test_corrupt_settings_file_gives_defaults_and_a_warning(qtbot: QtBot) -> None:
    paths = AppPaths.default()
    paths.ensure()
    paths.settings_file.write_text("{ this is not json", encoding="utf-8")
    window = open_window(qtbot, None)
    try:
        assert window.settings.sampling == dataclasses.replace(window.settings.sampling)
        assert window.settings.sampling.temperature == pytest.approx(0.7)
        assert "Settings:" in window.banner.text()
        assert window.banner.isVisible()
    finally:
        close_window(window)


# --------------------------------------------------------------------------- drafts


def _draft_window(qtbot: QtBot, model: Path, draft_tokens: int) -> MainWindow:
    w = open_window(qtbot, None, greedy_settings(draft_tokens=draft_tokens))
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
        w.model_controller.load_model(model)
    w.editor.setFocus()
    w.editor.setPlainText(TEXT)
    w.editor.moveCursor(w.editor.textCursor().MoveOperation.End)
    return w


def test_draft_streams_and_accept_is_one_undo_step(qtbot: QtBot, tiny_model: TestModel) -> None:
    w = _draft_window(qtbot, tiny_model["q8_0"], 20)
    try:
        seen: list[str] = []
        w.drafts.draftChanged.connect(seen.append)
        with qtbot.waitSignal(w.drafts.finished, timeout=WAIT_MS):
            w.generate_draft()
        draft = w.editor.draft_text()
        with Engine(tiny_model["q8_0"]) as engine:
            expected = engine.complete(
                TEXT, GREEDY.with_changes(max_tokens=20), heal=True, avoid_markup=True
            ).text
        assert draft == expected
        assert len(seen) > 2  # it grew piece by piece
        assert w.editor.toPlainText() == TEXT  # pending, not yet in the document
        qtbot.keyClick(w.editor, Qt.Key.Key_Tab)
        assert w.editor.toPlainText() == TEXT + draft
        assert w.editor.draft_text() == ""
        w.editor.undo()
        assert w.editor.toPlainText() == TEXT
    finally:
        close_window(w)


def test_draft_stops_within_a_token_and_discard_leaves_the_text(
    qtbot: QtBot, tiny_model: TestModel
) -> None:
    w = _draft_window(qtbot, tiny_model["f32"], 200)
    try:
        # Count pieces where they are made (the worker thread runs ahead of the GUI).
        produced: list[int] = []
        w.worker.worker.token.connect(
            lambda _id, _piece, _lp: produced.append(1), Qt.ConnectionType.DirectConnection
        )
        at_stop: list[int] = []

        def stop_early(pieces: int, _rate: float) -> None:
            if pieces == 3 and not at_stop:
                at_stop.append(len(produced))
                qtbot.keyClick(w.editor, Qt.Key.Key_Escape)  # Esc stops a running draft

        w.drafts.progress.connect(stop_early)
        with qtbot.waitSignal(w.drafts.finished, timeout=WAIT_MS) as blocker:
            w.generate_draft()
        done = blocker.args[0]
        assert isinstance(done, RequestDone)
        assert done.completion.stop_reason.value == "cancelled"
        assert len(produced) - at_stop[0] <= 2  # at most a token or two after Stop
        assert w.editor.draft_text()  # what was written so far stays pending
        qtbot.keyClick(w.editor, Qt.Key.Key_Escape)  # Esc again discards
        assert w.editor.draft_text() == ""
        assert w.editor.toPlainText() == TEXT
        assert not w.controller.paused
    finally:
        close_window(w)


def test_regenerate_replaces_the_draft(qtbot: QtBot, tiny_model: TestModel) -> None:
    w = _draft_window(qtbot, tiny_model["q8_0"], 12)
    try:
        with qtbot.waitSignal(w.drafts.finished, timeout=WAIT_MS):
            w.generate_draft()
        first = w.editor.draft_text()
        sent = requests_sent(w)
        with qtbot.waitSignal(w.drafts.finished, timeout=WAIT_MS):
            w.drafts.regenerate()
        assert len(sent) == 1
        assert w.editor.draft_text() == first  # greedy: the same text
        assert w.editor.toPlainText() == TEXT
    finally:
        close_window(w)


def test_typing_during_a_draft_is_handled_at_once(qtbot: QtBot, tiny_model: TestModel) -> None:
    w = _draft_window(qtbot, tiny_model["f32"], 200)
    try:
        button_shown: list[bool] = []

        def on_running(running: bool) -> None:
            if running:
                button_shown.append(w.stop_draft_button.isVisible())

        w.drafts.runningChanged.connect(on_running)
        w.generate_draft()
        qtbot.waitUntil(lambda: bool(w.editor.draft_text()), timeout=WAIT_MS)
        assert button_shown == [True]  # Stop is a button too, not only Esc
        qtbot.keyClicks(w.editor, " more")
        assert w.editor.toPlainText() == TEXT + " more"  # the keys went in immediately
        assert w.editor.draft_text() == ""
        assert not w.drafts.pending
        qtbot.waitUntil(lambda: w.controller.idle, timeout=WAIT_MS)
    finally:
        close_window(w)


# --------------------------------------------------------------------------- sampler view


def test_sampler_chart_follows_the_cursor_and_the_sliders(qtbot: QtBot, window: MainWindow) -> None:
    window.set_auto_suggest(False)
    window.settings_panel.apply_preset("creative")  # sampled, not greedy
    window.editor.setPlainText(TEXT)
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    with qtbot.waitSignal(window.sampler_view.viewChanged, timeout=WAIT_MS):
        window.settings_panel.show()
    view = window.settings_panel.chart.view
    assert view is not None
    assert len(view.candidates) == 20
    assert all(c.cut_by is None for c in view.candidates[:1])
    with qtbot.waitSignal(window.sampler_view.viewChanged, timeout=WAIT_MS) as blocker:
        _spin(window, "sampling.top_k").setValue(3)
    narrowed = blocker.args[0]
    assert narrowed.kept <= 3
    assert [c.cut_by for c in narrowed.candidates[3:]] == ["top-k"] * 17
    assert sum(c.probability for c in narrowed.candidates[:3]) == pytest.approx(1.0, abs=1e-4)
    # the chart is painted from the same view
    qtbot.waitUntil(lambda: window.settings_panel.chart.view is narrowed, timeout=WAIT_MS)
    image = window.settings_panel.chart.grab().toImage()
    assert not image.isNull()
    qtbot.keyClicks(window.editor, " then")  # typing goes on while the view refreshes
    assert window.editor.toPlainText() == TEXT + " then"


def test_a_draft_stopped_before_its_first_token_leaves_suggestions_on(
    qtbot: QtBot, tiny_model: TestModel
) -> None:
    w = _draft_window(qtbot, tiny_model["q8_0"], 50)
    try:
        w.generate_draft()
        w.drafts.stop()  # still queued: the stop is remembered and honoured at once
        qtbot.waitUntil(lambda: not w.drafts.pending, timeout=WAIT_MS)
        assert not w.controller.paused
        assert w.editor.draft_text() == ""
        with qtbot.waitSignal(w.controller.suggestionShown, timeout=WAIT_MS):
            w.controller.trigger_now()
    finally:
        close_window(w)


def test_a_draft_ends_when_the_cursor_moves_or_the_text_changes(
    qtbot: QtBot, tiny_model: TestModel
) -> None:
    w = _draft_window(qtbot, tiny_model["q8_0"], 12)
    try:
        with qtbot.waitSignal(w.drafts.finished, timeout=WAIT_MS):
            w.generate_draft()
        assert w.editor.draft_text()
        qtbot.keyClick(w.editor, Qt.Key.Key_Home)
        assert w.editor.draft_text() == ""
        assert not w.drafts.pending
        sent = requests_sent(w)
        w.drafts.regenerate()  # nothing pending: nothing to regenerate
        assert sent == []
        w.generate_draft()
        w.editor.setPlainText("Another text")  # an edit that is not a keystroke
        assert not w.drafts.pending
        qtbot.waitUntil(lambda: w.controller.idle, timeout=WAIT_MS)
        assert w.editor.toPlainText() == "Another text"
        assert w.editor.draft_text() == ""
    finally:
        close_window(w)
