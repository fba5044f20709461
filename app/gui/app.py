"""Start the desktop app: the Qt application (identity, icon, translations), settings and
the main window."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTimer, QTranslator
from PySide6.QtWidgets import QApplication

from app import __version__
from app.core.model_choice import startup_choice
from app.core.paths import AppPaths
from app.core.settings import load_settings
from app.gui.document_controller import ConflictResolver
from app.gui.i18n import tr_format
from app.gui.main_window import MainWindow
from app.gui.theme import app_icon

#: The reverse-DNS id of the desktop file, the AppStream metainfo and the icon.
APP_ID = "io.ghostpen.Ghostpen"


def configure_application(app: QApplication) -> None:
    """Who the app is to the desktop: names (the X11 WM_CLASS the desktop file's
    StartupWMClass matches is the application name), Wayland app id, and icon."""
    app.setApplicationName("Ghostpen")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Ghostpen")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())


def install_translators(
    app: QCoreApplication, locale: QLocale | None = None, directory: Path | None = None
) -> list[QTranslator]:
    """Qt's own strings (dialog buttons, key names) and Ghostpen's in the writer's language.

    Ghostpen's come from ``translations/ghostpen_<lang>.qm`` in the packaged resources (or
    ``directory``); a language with no file stays in English. Installed before the first
    window is built, since widgets take their texts when they are created.
    """
    locale = locale or QLocale.system()
    installed: list[QTranslator] = []
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    with ExitStack() as stack:
        if directory is None:
            directory = stack.enter_context(
                as_file(files("app.resources").joinpath("translations"))
            )
        for name, folder in (("qtbase", qt_dir), ("ghostpen", str(directory))):
            translator = QTranslator(app)
            if translator.load(locale, name, "_", folder) and app.installTranslator(translator):
                installed.append(translator)
            else:
                translator.deleteLater()
    return installed


def create_window(
    model: str | None = None,
    document: str | None = None,
    paths: AppPaths | None = None,
    *,
    choose_model: bool = True,
    resolve_conflict: ConflictResolver | None = None,
) -> MainWindow:
    """The main window with its settings, model and document (needs a QApplication).

    With no model given or remembered, ``choose_model`` picks one (see
    ``core.model_choice``): an installed GPT-2, else the offline model (built in the
    background on first use), else the model manager opens for a first download.
    ``resolve_conflict`` answers "the file changed on disk" instead of a dialog.
    """
    paths = paths or AppPaths.default()
    paths.ensure()
    loaded = load_settings(paths.settings_file)
    window = MainWindow(paths, loaded.settings, loaded.warnings, resolve_conflict=resolve_conflict)
    models = window.model_controller
    models.store.sweep()  # leftovers of a build or a removal that was interrupted
    runtime = loaded.settings.runtime
    if model:
        if Path(model).is_file():
            models.use_model(model)
        else:
            window.show_banner(
                tr_format(QCoreApplication.translate("App", "The model %1 does not exist."), model)
            )
    elif runtime.backend == "remote" and runtime.remote_url:
        models.load_model(runtime.remote_url)
    elif choose_model:
        _choose_model(window, loaded.settings.model_path, bool(loaded.warnings))
    elif loaded.settings.model_path and Path(loaded.settings.model_path).is_file():
        models.load_model(loaded.settings.model_path)
    if document:
        window.document_controller.open_file(document)
    # Unsaved writing a crashed session left: offered once the event loop runs (the
    # window is shown by then), in a dialog that never blocks. A fresh home has none.
    QTimer.singleShot(0, window, window.journal_controller.offer_recovery)
    return window


def _choose_model(window: MainWindow, remembered: str | None, quiet: bool) -> None:
    models = window.model_controller
    choice = startup_choice(remembered, models.store)
    if choice.path is not None:
        models.load_model(choice.path)
    elif choice.assemble is not None:
        models.install_offline_model(choice.assemble)
    else:
        models.first_run()
    if choice.remembered_missing and not quiet:
        text = (
            QCoreApplication.translate("App", "The model %1 is gone; using %2 instead.")
            if choice.path or choice.assemble
            else QCoreApplication.translate(
                "App", "The model %1 is gone: pick another in File ▸ Models…"
            )
        )
        window.show_banner(tr_format(text, choice.remembered_missing, choice.reason))


def run_gui(model: str | None = None, document: str | None = None) -> int:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    configure_application(app)
    install_translators(app)
    window = create_window(model, document)
    window.show()
    return int(app.exec())
