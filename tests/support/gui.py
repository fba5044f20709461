"""Helpers shared by the GUI tests: open a real window on a test model, wait for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QTableWidget
from pytestqt.qtbot import QtBot

from app.core.answer import Answer, present
from app.core.documents import DiskChange
from app.core.engine import Engine
from app.core.paths import AppPaths
from app.core.sampling import GREEDY
from app.core.settings import AppSettings, SuggestionSettings, save_settings
from app.core.suggestion_policy import likeliest
from app.gui.app import create_window
from app.gui.document_controller import ConflictChoice, ConflictResolver
from app.gui.main_window import MainWindow
from app.gui.worker import CompletionRequest

TEXT = "The ship left the harbour at dawn and"
WAIT_MS = 20_000


def greedy_settings(**suggestions: Any) -> AppSettings:
    """Greedy sampling makes every suggestion repeatable and checkable. The test models
    have random weights, so no word is ever likely: suggestions are shown whatever their
    confidence, unless a test asks otherwise."""
    suggestions.setdefault("suggest_when", "always")
    return AppSettings(
        sampling=GREEDY,
        suggestions=SuggestionSettings(**suggestions),
    )


def unexpected_conflict(path: Path, change: DiskChange) -> ConflictChoice:
    """The test windows' answer to "the file changed on disk": the modal question would
    wait forever offscreen, so a test that did not expect it fails loudly instead."""
    raise AssertionError(f"unexpected modal dialog: {path} was {change.value} on disk")


class ConflictAnswers:
    """A ``ConflictResolver`` that gives the answer set in ``answer`` and records each
    question (path, change) in ``asked``."""

    def __init__(self, answer: ConflictChoice = ConflictChoice.CANCEL) -> None:
        self.answer = answer
        self.asked: list[tuple[Path, DiskChange]] = []

    def __call__(self, path: Path, change: DiskChange) -> ConflictChoice:
        self.asked.append((path, change))
        return self.answer


def cell_text(table: QTableWidget, row: int, column: int) -> str:
    """The text of a table cell; a cell with no item fails here, not as a None later."""
    item = table.item(row, column)
    assert item is not None, f"no item at row {row}, column {column}"
    return item.text()


def open_window(
    qtbot: QtBot,
    model: Path | None,
    settings: AppSettings | None = None,
    *,
    choose_model: bool = False,
    resolve_conflict: ConflictResolver = unexpected_conflict,
) -> MainWindow:
    """A shown window; ``choose_model`` runs the first-run model choice (off by default:
    most tests load a test model themselves). A save that finds the file changed on disk
    asks ``resolve_conflict`` (by default, it fails the test)."""
    paths = AppPaths.default()
    if settings is not None or not paths.settings_file.exists():
        save_settings(settings or greedy_settings(), paths.settings_file)
    window = create_window(
        str(model) if model else None,
        paths=paths,
        choose_model=choose_model,
        resolve_conflict=resolve_conflict,
    )
    qtbot.addWidget(window, before_close_func=lambda w: w.editor.document().setModified(False))
    window.show()
    return window


def close_window(window: MainWindow) -> None:
    window.editor.document().setModified(False)
    window.close()


def settle(qtbot: QtBot, w: MainWindow) -> None:
    """Wait until no timer is armed and nothing is in flight."""
    qtbot.waitUntil(lambda: w.controller.idle, timeout=WAIT_MS)


def type_and_wait(qtbot: QtBot, w: MainWindow, text: str) -> str:
    with qtbot.waitSignal(w.controller.suggestionShown, timeout=WAIT_MS):
        qtbot.keyClicks(w.editor, text)
    settle(qtbot, w)
    ghost = w.editor.ghost_text()
    assert ghost
    return ghost


def requests_sent(w: MainWindow, *, prefetches: bool = False) -> list[CompletionRequest]:
    """The completion requests the window sends from now on (without the prefetches of a
    shown ghost's sequel, unless asked)."""
    sent: list[CompletionRequest] = []
    w.worker.commands.complete.connect(
        lambda request: sent.append(request) if prefetches or not request.prefetch else None
    )
    return sent


def expected_ghost(w: MainWindow, text: str, suffix: str = "") -> str:
    """The ghost the window must show after ``text``: a fresh engine's answer, through the
    policy's own presentation (healing, markup avoided, confidence, unit, junk)."""
    c = w.controller
    assert c.model is not None
    assert c.model.info is not None
    answer = Answer()
    with Engine(c.model.info.path) as engine:
        sampling = c.sampling.with_changes(max_tokens=c.settings.max_tokens)
        engine.complete(
            text,
            likeliest(sampling) if c.settings.likeliest else sampling,
            heal=True,
            avoid_markup=True,
            on_piece=answer.add,
        )
    answer.final = True
    return present(
        answer, c.mode, prefix=text, suffix=suffix, min_confidence=c.policy.min_confidence
    ).text
