"""Start the desktop app: settings, the Qt application and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app import __version__
from app.core.paths import AppPaths
from app.core.settings import load_settings
from app.gui.main_window import MainWindow


def create_window(
    model: str | None = None, document: str | None = None, paths: AppPaths | None = None
) -> MainWindow:
    """The main window with its settings, model and document (needs a QApplication)."""
    paths = paths or AppPaths.default()
    paths.ensure()
    loaded = load_settings(paths.settings_file)
    window = MainWindow(paths, loaded.settings, loaded.warnings)
    model_path = model or loaded.settings.model_path
    if model_path and Path(model_path).is_file():
        window.load_model(model_path)
    elif model_path:
        window.show_banner(f"The model {model_path} is gone: open another with File ▸ Open Model…")
    elif not loaded.warnings:  # a settings warning matters more than this hint
        window.show_banner(
            "No model yet: open a GGUF model with File ▸ Open Model… to get suggestions."
        )
    if document:
        window.open_file(document)
    return window


def run_gui(model: str | None = None, document: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Ghostpen")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Ghostpen")
    window = create_window(model, document)
    window.show()
    return int(app.exec())
