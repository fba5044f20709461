"""GUI fixtures: Qt offscreen, no modal dialog, no engine thread left running, and ready
windows (one with the tiny model, one without a model)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from tests.support.gui import WAIT_MS, close_window, open_window
from tests.support.models import TestModel


@pytest.fixture(autouse=True)
def _no_thread_left_running() -> Iterator[None]:
    """A test that leaves an engine QThread running fails (napari's habit)."""
    yield
    from app.gui.worker import LIVE_THREADS

    running = [t.objectName() for t in LIVE_THREADS if t.isRunning()]
    assert not running, f"QThread(s) still running after the test: {running}"


@pytest.fixture(autouse=True)
def _no_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modal question would wait forever offscreen: fail loudly instead. (The question
    about a file changed on disk is the window's injected resolver: ``open_window`` gives
    windows one that fails, ``tests.support.gui.unexpected_conflict``.)"""

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"unexpected modal dialog: {args[1:3]}")

    monkeypatch.setattr(QMessageBox, "question", refuse)


@pytest.fixture
def window(qtbot: QtBot, tiny_model: TestModel) -> Iterator[MainWindow]:
    """A window with the tiny model loaded and the editor focused."""
    w = open_window(qtbot, None)
    with qtbot.waitSignal(w.controller.modelChanged, timeout=WAIT_MS):
        w.model_controller.load_model(tiny_model["q8_0"])
    assert w.controller.enabled
    w.editor.setFocus()
    yield w
    close_window(w)


@pytest.fixture
def bare_window(qtbot: QtBot) -> Iterator[MainWindow]:
    """A window with no model: everything the writer can reach is built all the same, and
    the tests about files need no suggestions."""
    w = open_window(qtbot, None)
    yield w
    close_window(w)
