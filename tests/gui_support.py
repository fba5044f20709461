"""Helpers shared by the GUI tests: open a real window on a test model, wait for it."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.paths import AppPaths
from app.core.sampling import GREEDY
from app.core.settings import AppSettings, SuggestionSettings, save_settings
from app.gui.app import create_window
from app.gui.main_window import MainWindow
from app.gui.worker import CompletionRequest

TEXT = "The ship left the harbour at dawn and"
WAIT_MS = 20_000


def greedy_settings(**suggestions: object) -> AppSettings:
    """Greedy sampling makes every suggestion repeatable and checkable."""
    return AppSettings(
        sampling=GREEDY,
        suggestions=SuggestionSettings(**suggestions),  # type: ignore[arg-type]
    )


def open_window(
    qtbot: QtBot,
    model: Path | None,
    settings: AppSettings | None = None,
    *,
    choose_model: bool = False,
) -> MainWindow:
    """A shown window; ``choose_model`` runs the first-run model choice (off by default:
    most tests load a test model themselves)."""
    paths = AppPaths.default()
    if settings is not None or not paths.settings_file.exists():
        save_settings(settings or greedy_settings(), paths.settings_file)
    window = create_window(str(model) if model else None, paths=paths, choose_model=choose_model)
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


def requests_sent(w: MainWindow) -> list[CompletionRequest]:
    sent: list[CompletionRequest] = []
    w.worker.commands.complete.connect(sent.append)
    return sent
