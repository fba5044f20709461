"""Start the desktop app: settings, the Qt application and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import __version__
from app.core.model_choice import startup_choice
from app.core.paths import AppPaths
from app.core.settings import load_settings
from app.gui.main_window import MainWindow


def create_window(
    model: str | None = None,
    document: str | None = None,
    paths: AppPaths | None = None,
    *,
    choose_model: bool = True,
) -> MainWindow:
    """The main window with its settings, model and document (needs a QApplication).

    With no model given or remembered, ``choose_model`` picks one (see
    ``core.model_choice``): an installed GPT-2, else the offline model (built in the
    background on first use), else the model manager opens for a first download.
    """
    paths = paths or AppPaths.default()
    paths.ensure()
    loaded = load_settings(paths.settings_file)
    window = MainWindow(paths, loaded.settings, loaded.warnings)
    window.store.sweep()  # leftovers of a build or a removal that was interrupted
    runtime = loaded.settings.runtime
    if model:
        if Path(model).is_file():
            window.use_model(model)
        else:
            window.show_banner(f"The model {model} does not exist.")
    elif runtime.backend == "remote" and runtime.remote_url:
        window.load_model(runtime.remote_url)
    elif choose_model:
        _choose_model(window, loaded.settings.model_path, bool(loaded.warnings))
    elif loaded.settings.model_path and Path(loaded.settings.model_path).is_file():
        window.load_model(loaded.settings.model_path)
    if document:
        window.open_file(document)
    # Unsaved writing a crashed session left: offered once the event loop runs (the
    # window is shown by then), in a dialog that never blocks. A fresh home has none.
    QTimer.singleShot(0, window, window.offer_recovery)
    return window


def _choose_model(window: MainWindow, remembered: str | None, quiet: bool) -> None:
    choice = startup_choice(remembered, window.store)
    if choice.path is not None:
        window.load_model(choice.path)
    elif choice.assemble is not None:
        window.install_offline_model(choice.assemble)
    else:
        window.first_run()
    if choice.remembered_missing and not quiet:
        window.show_banner(
            f"The model {choice.remembered_missing} is gone; using {choice.reason} instead."
            if choice.path or choice.assemble
            else f"The model {choice.remembered_missing} is gone: pick another in File ▸ Models…"
        )


def run_gui(model: str | None = None, document: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Ghostpen")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Ghostpen")
    window = create_window(model, document)
    window.show()
    return int(app.exec())
