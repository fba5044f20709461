"""The main window: menus, status bar, files and settings, wired to the editor.

Decisions live elsewhere (the suggestion controller, the core's documents and settings);
this file only connects them to widgets and to what the writer clicks.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.documents import (
    DEFAULT_FORMAT,
    DiskChange,
    DiskStamp,
    DocumentError,
    LoadedDocument,
    TextFormat,
    disk_change,
    load_document,
    save_document,
)
from app.core.journal import JournalEntry, JournalStore, Snapshot, new_doc_id
from app.core.model_choice import takes_over
from app.core.model_store import ModelStore, StoredModel
from app.core.offline_model import OfflinePackage
from app.core.paths import AppPaths
from app.core.settings import (
    AppSettings,
    EditorSettings,
    SettingsSaveError,
    Theme,
    save_settings,
)
from app.gui.about import AboutDialog
from app.gui.drafts import DraftController
from app.gui.editor import GhostTextEdit
from app.gui.find_bar import FindBar
from app.gui.keymap import KEYS
from app.gui.model_jobs import ModelJobs
from app.gui.model_manager import ModelManagerDialog, offline_job
from app.gui.recovery import RecoveryDialog
from app.gui.sampler_chart import SamplerViewController
from app.gui.settings_panel import SettingsPanel
from app.gui.shortcuts_help import EDITOR_KEY_PROPERTY, ShortcutsDialog
from app.gui.suggestions import SuggestionController, SuggestionStats
from app.gui.theme import apply_theme
from app.gui.worker import LoadedModel, RequestDone, WorkerThread

if TYPE_CHECKING:  # PySide6 types its result as object; it returns the text unchanged

    def QT_TRANSLATE_NOOP(context: str, text: str, /) -> str: ...

else:
    from PySide6.QtCore import QT_TRANSLATE_NOOP


#: Engine threads that did not stop in time at close (kept alive rather than destroyed).
_UNFINISHED: list[WorkerThread | ModelJobs] = []

DOCUMENT_FILTER = str(
    QT_TRANSLATE_NOOP(
        "MainWindow", "Text and Markdown (*.txt *.md *.markdown *.text);;All files (*)"
    )
)
MODEL_FILTER = QT_TRANSLATE_NOOP("MainWindow", "GGUF models (*.gguf);;All files (*)")

#: The journal is written this long after the last edit...
JOURNAL_DEBOUNCE_MS = 1000
#: ...and at the latest this long after the first unjournaled edit, so that steady typing
#: (which keeps restarting the debounce) still never risks more than about 1.5 s of text.
JOURNAL_MAX_DELAY_MS = 1500

#: Windows opened to hold a recovered document while the first one was in use.
_RECOVERY_WINDOWS: list[MainWindow] = []


class ConflictChoice(Enum):
    """The writer's answer when the file changed on disk since it was opened or saved."""

    OVERWRITE = "overwrite"
    SAVE_AS = "save_as"
    CANCEL = "cancel"


class _JournalBridge(QObject):
    """Carries the journal thread's reports to the GUI thread (queued connections)."""

    written = Signal(str, int)
    failed = Signal(str, str)

    def report_written(self, doc_id: str, seq: int) -> None:
        with contextlib.suppress(RuntimeError):  # the window is gone: no one to tell
            self.written.emit(doc_id, seq)

    def report_failed(self, doc_id: str, message: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.failed.emit(doc_id, message)


class MainWindow(QMainWindow):
    documentSaved = Signal(str)
    #: A snapshot of the document (its id) was handed to the journal thread.
    journalQueued = Signal(str)
    #: The document's journal (its id) is on disk.
    journalWritten = Signal(str)

    def __init__(
        self,
        paths: AppPaths,
        settings: AppSettings,
        warnings: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.paths = paths
        self.settings = settings
        self.worker = WorkerThread()
        self.controller = SuggestionController(self.worker, settings.suggestions, settings.sampling)
        self.drafts = DraftController(self.worker, self.controller)
        self.sampler_view = SamplerViewController(self.worker, self.controller)
        self.editor = GhostTextEdit(self.controller, self.drafts)
        self.editor.setAccessibleName(self.tr("Document"))
        self.editor.setAccessibleDescription(
            self.tr("Suggestions appear after the cursor in grey; Tab accepts, Esc dismisses.")
        )
        self.find_bar = FindBar(self.editor)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setObjectName("banner")
        self.banner.setAccessibleName(self.tr("Notice"))
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet(
            "#banner { background: #fff3cd; color: #664d03; padding: 6px; border-radius: 3px; }"
        )
        self.banner.hide()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.find_bar)
        self.setCentralWidget(central)

        self._path: Path | None = None
        self._format: TextFormat = DEFAULT_FORMAT
        self._stamp: DiskStamp | None = None  # the file as last opened or saved
        self._doc_id = new_doc_id()
        self._closing = False
        self.recovery_dialog: RecoveryDialog | None = None
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self._journal_bridge = _JournalBridge(self)
        self._journal_bridge.written.connect(self._journal_written)
        self._journal_bridge.failed.connect(self._journal_failed)
        self._journal_problem = ""
        self.journal = JournalStore(
            paths.journal_dir,
            on_written=self._journal_bridge.report_written,
            on_failed=self._journal_bridge.report_failed,
        )
        self._journal_timer = QTimer(self, singleShot=True, interval=JOURNAL_DEBOUNCE_MS)
        self._journal_timer.timeout.connect(self.journal_now)
        self._journal_deadline = QTimer(self, singleShot=True, interval=JOURNAL_MAX_DELAY_MS)
        self._journal_deadline.timeout.connect(self.journal_now)
        self.store = ModelStore(paths.models_dir)
        self.model_jobs = ModelJobs()  # no parent: it may have to outlive the window
        self.model_manager: ModelManagerDialog | None = None
        self._load_when_ready = False  # load the next model a job adds (first run)
        self.loading_path: str | None = None  # a model being loaded: not to be deleted
        self._last_suggestion_error = ""
        self.settings_panel = SettingsPanel(settings, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.settings_panel)
        self.settings_panel.hide()
        self._build_status_bar()
        self._build_menus()
        self._connect()
        self._apply_editor_settings(settings.editor)
        self._restore_geometry()
        self._update_title()
        self._word_timer = QTimer(self, singleShot=True, interval=250)
        self._word_timer.timeout.connect(self._update_word_count)
        self._update_word_count()
        if warnings:
            self.show_banner(self.tr("Settings: %1").replace("%1", " ".join(warnings)))

    # ----------------------------------------------------------------- construction

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_label = QLabel(self.tr("No model"))
        self.latency_label = QLabel()
        self.words_label = QLabel()
        self.position_label = QLabel()
        self.busy = QProgressBar(textVisible=False)
        self.busy.setMaximumSize(80, 12)
        self.busy.setRange(0, 0)
        self.busy.setAccessibleName(self.tr("Working"))
        self.busy.hide()
        self.stop_draft_button = QPushButton(self.tr("Stop draft"))
        self.stop_draft_button.setToolTip(self.tr("Stop writing the draft (Esc)"))
        self.stop_draft_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Esc does it from the text
        self.stop_draft_button.hide()
        bar.addWidget(self.model_label)
        bar.addWidget(self.busy)
        bar.addWidget(self.stop_draft_button)
        bar.addPermanentWidget(self.latency_label)
        bar.addPermanentWidget(self.words_label)
        bar.addPermanentWidget(self.position_label)

    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: object,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        *,
        checkable: bool = False,
        role: QAction.MenuRole | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if role is not None:
            action.setMenuRole(role)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _editor_action(self, menu: QMenu, text: str, slot: object, key_id: str) -> QAction:
        """A menu entry for a key the editor handles itself (Tab, Esc...: see ``keymap``).
        The menu only shows the key, so the shortcut must not fire from the menu bar."""
        action = self._action(menu, text, slot, KEYS[key_id].sequence)
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.setProperty(EDITOR_KEY_PROPERTY, key_id)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        std = QKeySequence.StandardKey
        f = bar.addMenu(self.tr("&File"))
        self._action(f, self.tr("&New"), self.new_document, std.New)
        self._action(f, self.tr("&Open…"), self.open_dialog, std.Open)
        self.recent_menu = f.addMenu(self.tr("Open &Recent"))
        self._action(f, self.tr("&Save"), self.save, std.Save)
        self._action(f, self.tr("Save &As…"), self.save_as, std.SaveAs)
        self._action(f, self.tr("Save as UTF-&8…"), self.save_as_utf8)
        self._action(f, self.tr("&Close"), self.new_document, std.Close)
        self._action(f, self.tr("Recover &Unsaved Writing…"), self._recover_from_menu)
        f.addSeparator()
        self._action(f, self.tr("&Models…"), self.open_model_manager, "Ctrl+Shift+M")
        self._action(f, self.tr("Open Model &File…"), self.open_model_dialog)
        f.addSeparator()
        self._action(f, self.tr("&Quit"), self.close, std.Quit, role=QAction.MenuRole.QuitRole)
        self._rebuild_recent_menu()

        e = bar.addMenu(self.tr("&Edit"))
        ed = self.editor
        self._action(e, self.tr("&Undo"), ed.undo, std.Undo)
        self._action(e, self.tr("&Redo"), ed.redo, std.Redo)
        e.addSeparator()
        self._action(e, self.tr("Cu&t"), ed.cut, std.Cut)
        self._action(e, self.tr("&Copy"), ed.copy, std.Copy)
        self._action(e, self.tr("&Paste"), ed.paste, std.Paste)
        e.addSeparator()
        self._action(e, self.tr("&Find…"), lambda: self.find_bar.open(replace=False), std.Find)
        self._action(e, self.tr("Find and R&eplace…"), lambda: self.find_bar.open(replace=True),
                     std.Replace)  # fmt: skip
        self._action(e, self.tr("Select &All"), ed.selectAll, std.SelectAll)

        s = bar.addMenu(self.tr("&Suggest"))
        c = self.controller
        self._editor_action(s, self.tr("&Trigger Now"), c.trigger_now, "trigger")
        self.auto_action = self._action(s, self.tr("A&uto-suggest"), self.set_auto_suggest,
                                        checkable=True)  # fmt: skip
        self.auto_action.setChecked(self.settings.suggestions.auto_suggest)
        s.addSeparator()
        self._editor_action(s, self.tr("&Accept"), ed.accept_all, "accept")
        self._editor_action(s, self.tr("Accept &Word"), ed.accept_word, "accept_word")
        self._editor_action(s, self.tr("Accept &Line"), ed.accept_line, "accept_line")
        self._editor_action(s, self.tr("&Next Alternative"), lambda: c.next_alternative(1),
                            "next_alternative")  # fmt: skip
        self._editor_action(s, self.tr("&Previous Alternative"), lambda: c.next_alternative(-1),
                            "previous_alternative")  # fmt: skip
        self._editor_action(s, self.tr("&Dismiss"), ed.dismiss, "dismiss")
        s.addSeparator()
        self._action(s, self.tr("&Generate Draft"), self.generate_draft, "Ctrl+Shift+Return")
        self._editor_action(s, self.tr("&Stop Draft"), self.drafts.stop, "stop_draft")
        self._editor_action(s, self.tr("A&ccept Draft"), ed.accept_draft, "accept_draft")
        self._editor_action(s, self.tr("D&iscard Draft"), ed.discard_draft, "discard_draft")
        self._action(s, self.tr("&Regenerate Draft"), self.drafts.regenerate, "Ctrl+Shift+R")

        v = bar.addMenu(self.tr("&View"))
        self._action(v, self.tr("Zoom &In"), lambda: self.zoom(1), std.ZoomIn)
        self._action(v, self.tr("Zoom &Out"), lambda: self.zoom(-1), std.ZoomOut)
        self._action(v, self.tr("&Reset Zoom"), lambda: self.zoom(None), "Ctrl+0")
        v.addSeparator()
        self.wrap_action = self._action(v, self.tr("Line &Wrap"), self.set_line_wrap,
                                        checkable=True)  # fmt: skip
        panel_action = self.settings_panel.toggleViewAction()
        panel_action.setText(self.tr("&Settings Panel"))
        panel_action.setShortcut(QKeySequence("Ctrl+,"))
        panel_action.triggered.connect(self._panel_toggled)
        v.addAction(panel_action)
        theme_menu = v.addMenu(self.tr("&Theme"))
        self.theme_actions = {}
        for theme, label in ((Theme.SYSTEM, self.tr("&System")), (Theme.LIGHT, self.tr("&Light")),
                             (Theme.DARK, self.tr("&Dark"))):  # fmt: skip
            act = self._action(theme_menu, label, lambda _=False, t=theme: self.set_theme(t),
                               checkable=True)  # fmt: skip
            self.theme_actions[theme] = act

        h = bar.addMenu(self.tr("&Help"))
        self._action(h, self.tr("&Keyboard Shortcuts"), self.show_shortcuts, std.HelpContents)
        h.addSeparator()
        self._action(h, self.tr("&About Ghostpen"), self.show_about,
                     role=QAction.MenuRole.AboutRole)  # fmt: skip
        self._action(h, self.tr("About &Qt"), lambda: QApplication.aboutQt(),
                     role=QAction.MenuRole.AboutQtRole)  # fmt: skip

    def _connect(self) -> None:
        c = self.controller
        c.errorChanged.connect(self._suggestion_error)
        c.statsChanged.connect(self._show_stats)
        c.busyChanged.connect(self.busy.setVisible)
        c.modelLoading.connect(self._model_loading)
        c.modelChanged.connect(self._model_changed)
        self.settings_panel.settingsChanged.connect(self.apply_settings)
        self.sampler_view.attach(self.editor)
        self.sampler_view.viewChanged.connect(self.settings_panel.chart.set_view)
        self.settings_panel.visibilityChanged.connect(self.sampler_view.set_active)
        self.editor.cursorPositionChanged.connect(self.sampler_view.schedule)
        self.drafts.progress.connect(self._draft_progress)
        self.drafts.runningChanged.connect(self.busy.setVisible)
        self.drafts.runningChanged.connect(self.stop_draft_button.setVisible)
        self.stop_draft_button.clicked.connect(self.drafts.stop)
        self.drafts.finished.connect(self._draft_finished)
        self.drafts.failed.connect(lambda m: self.show_banner(self.tr("Draft failed: ") + m))
        self.model_jobs.finished.connect(self._model_added)
        self.model_jobs.failed.connect(self._model_job_failed)
        self.model_jobs.busyChanged.connect(self.busy.setVisible)
        self.editor.document().modificationChanged.connect(lambda _m: self._update_title())
        self.editor.document().contentsChanged.connect(lambda: self._word_timer.start())
        self.editor.document().contentsChanged.connect(self._schedule_journal)
        self.editor.cursorPositionChanged.connect(self._update_position)

    # ----------------------------------------------------------------- help

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help ▸ Keyboard Shortcuts: non-modal, built from the menus as they are now."""
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = ShortcutsDialog(self.menuBar(), self)
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        self.shortcuts_dialog.activateWindow()
        return self.shortcuts_dialog

    def show_about(self) -> AboutDialog:
        """Help ▸ About Ghostpen, for the model in use now (it closes and deletes itself)."""
        dialog = AboutDialog(self.controller.model, self.store, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _panel_toggled(self, shown: bool) -> None:
        """Opening the panel from the keyboard puts the keyboard in it; closing, back in the
        text (the editor keeps Tab for itself, so focus could not get there otherwise)."""
        if shown:
            self.settings_panel.focus_first()
        else:
            self.editor.setFocus()

    # ----------------------------------------------------------------- status

    def show_banner(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.setVisible(bool(message))

    def _suggestion_error(self, message: str) -> None:
        """The controller clears only its own message, never a settings or file warning."""
        if message:
            self._last_suggestion_error = message
            self.show_banner(message)
        elif self.banner.text() == self._last_suggestion_error:
            self.show_banner("")

    def _model_loading(self, path: str) -> None:
        self.model_label.setText(self.tr("Loading %s…") % Path(path).name)
        self.busy.show()
        self._sync_manager()

    def _model_changed(self, model: LoadedModel | None) -> None:
        self.loading_path = None
        self.busy.setVisible(self.model_jobs.busy)
        if model is None:
            self.model_label.setText(self.tr("No model: suggestions are off"))
            self._sync_manager()
            return
        info = model.info
        if info is None:  # a remote server
            self.model_label.setText(self.tr("%1 · server").replace("%1", model.name))
            self.model_label.setToolTip(
                self.tr("%1\nconnected in %2 ms")
                .replace("%2", f"{model.load_ms:.0f}")
                .replace("%1", model.source)
            )
            self.settings_panel.set_model_limits(None, False)
            self._sync_manager()
            return
        self.model_label.setText(
            f"{info.name} · {info.file_type} · {model.build.backend}"
            + (
                self.tr(" (%1 GPU layers)").replace("%1", str(model.n_gpu_layers))
                if model.n_gpu_layers
                else ""
            )
        )
        self.model_label.setToolTip(
            self.tr("%1\nloaded in %2 ms")
            .replace("%2", f"{model.load_ms:.0f}")
            .replace("%1", str(info.path))
        )
        self.settings_panel.set_model_limits(info.context_length, model.build.gpu_offload)
        # The last model used is the one Ghostpen opens with next time.
        self.settings = dataclasses.replace(self.settings, model_path=info.path)
        self.persist_settings()
        self._sync_manager()

    def _show_stats(self, stats: SuggestionStats) -> None:
        if stats.from_cache:
            self.latency_label.setText(self.tr("from cache"))
            return
        shown = f"{stats.first_shown_ms:.0f} ms" if stats.first_shown_ms is not None else "–"
        self.latency_label.setText(
            self.tr("first shown %1 · %2 tok/s")
            .replace("%1", shown)
            .replace("%2", f"{stats.tokens_per_second:.1f}")
        )

    def _draft_progress(self, pieces: int, rate: float) -> None:
        self.latency_label.setText(
            self.tr("Draft: %1 tokens · %2 tok/s")
            .replace("%1", str(pieces))
            .replace("%2", f"{rate:.1f}")
        )

    def _draft_finished(self, done: RequestDone) -> None:
        t = done.completion.timings
        self.latency_label.setText(
            self.tr("Draft: %1 tokens · %2 tok/s · Tab keeps it, Esc drops it")
            .replace("%1", str(t.generated_tokens))
            .replace("%2", f"{t.tokens_per_second:.1f}")
        )

    def generate_draft(self) -> None:
        if not self.drafts.start(self.settings.sampling, self.settings.suggestions.draft_tokens):
            self.show_banner(self.tr("No model is loaded: open a GGUF model to write drafts."))

    def _update_word_count(self) -> None:
        self.words_label.setText(self.tr("%n word(s)", "", self.editor.word_count()))

    def _update_position(self) -> None:
        cursor = self.editor.textCursor()
        self.position_label.setText(
            self.tr("Ln %1, Col %2")
            .replace("%1", str(cursor.blockNumber() + 1))
            .replace("%2", str(cursor.positionInBlock() + 1))
        )

    def _update_title(self) -> None:
        name = self._path.name if self._path else self.tr("Untitled")
        self.setWindowTitle(f"{name}[*] — Ghostpen")
        self.setWindowModified(self.editor.document().isModified())

    # ----------------------------------------------------------------- model

    def load_model(self, path: str | Path) -> None:
        runtime = self.settings.runtime
        if runtime.backend == "local" or not runtime.remote_url:
            self.loading_path = str(path)  # at once: the worker reports it a moment later
        self.controller.load_model(str(path), runtime)
        self._sync_manager()

    def use_model(self, path: str | Path) -> None:
        """Switch to a local model now (leaving a remote server, if one was in use)."""
        if self.settings.runtime.backend != "local":
            runtime = dataclasses.replace(self.settings.runtime, backend="local")
            self.settings = dataclasses.replace(self.settings, runtime=runtime)
            self.settings_panel.set_settings(self.settings)
        self.load_model(path)

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Open Model"), "", self.tr(MODEL_FILTER)
        )
        if path:
            self.use_model(path)

    def open_model_manager(self, select_catalog: str | None = None) -> ModelManagerDialog:
        if self.model_manager is None:
            self.model_manager = ModelManagerDialog(
                self.store, self.model_jobs, self.paths.cache_dir / "downloads", self
            )
            self.model_manager.useModel.connect(self.use_model)
            self.model_manager.defaultChanged.connect(self._set_default_model)
        self._sync_manager()
        if select_catalog:
            self.model_manager.select_catalog(select_catalog)
        self.model_manager.show()
        self.model_manager.raise_()
        self.model_manager.activateWindow()
        return self.model_manager

    def install_offline_model(self, package: OfflinePackage) -> bool:
        """Build the offline model in the background, then load it."""
        self._load_when_ready = True
        self.model_label.setText(self.tr("Preparing the offline model…"))
        return self.model_jobs.start(offline_job(self.store, package))

    def first_run(self) -> None:
        """No usable model: open the manager with the recommended download selected."""
        self._load_when_ready = True
        manager = self.open_model_manager()
        manager.select_catalog(manager.catalog[0].id)
        self.show_banner(
            self.tr("Welcome to Ghostpen. Pick a model to get suggestions: %1 is recommended.")
            .replace("%1", manager.catalog[0].name)
        )  # fmt: skip

    def _active_local_path(self) -> str | None:
        model = self.controller.model
        return model.source if model is not None and not model.remote else None

    def _sync_manager(self) -> None:
        if self.model_manager is not None:
            self.model_manager.set_paths(
                self._active_local_path(), self.settings.model_path, self.loading_path
            )

    def _set_default_model(self, path: str | None) -> None:
        self.settings = dataclasses.replace(self.settings, model_path=path)
        self.persist_settings()

    def _model_added(self, model: StoredModel) -> None:
        """Load a model a job added when the writer is waiting for one, or when it is a
        GPT-2 and the offline model stands in (a GPT-2, once installed, is the default)."""
        replaces = takes_over(model, self._active_local_path(), self.store)
        if self._load_when_ready or self.controller.model is None or replaces:
            self._load_when_ready = False
            self.show_banner("")
            self.use_model(model.path)

    def _model_job_failed(self, message: str, cancelled: bool) -> None:
        first_run = self._load_when_ready and self.controller.model is None
        self._load_when_ready = False
        if first_run and (self.model_manager is None or not self.model_manager.isVisible()):
            self.model_label.setText(self.tr("No model"))
            self.first_run()  # the offline model could not be built: offer the others
        if self.model_manager is None or not self.model_manager.isVisible():
            self.show_banner("" if cancelled else self.tr("Model: %1").replace("%1", message))

    # ----------------------------------------------------------------- files

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def doc_id(self) -> str:
        """The document's journal id (the journal file's name)."""
        return self._doc_id

    def is_pristine(self) -> bool:
        """An untitled, empty, unmodified document: free to hold a recovered one."""
        doc = self.editor.document()
        return self._path is None and not doc.isModified() and doc.isEmpty()

    def _reset_document(self, text: str, path: Path | None, fmt: TextFormat) -> None:
        """Replace the buffer; the previous document's journal goes (the caller decided)."""
        self.controller.dismiss()
        self.editor.discard_draft()
        self.journal.discard(self._doc_id)
        self._doc_id = new_doc_id()
        self.editor.setPlainText(text)
        self._path, self._format = path, fmt
        self.editor.document().setModified(False)
        self._stop_journal_timers()

    def new_document(self) -> None:
        if not self.maybe_save():
            return
        self._reset_document("", None, DEFAULT_FORMAT)
        self._stamp = None
        self._update_title()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self._path.parent) if self._path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Open"), start, self.tr(DOCUMENT_FILTER)
        )
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        """Load ``path`` into the editor; on failure the current text stays as it was."""
        try:
            doc: LoadedDocument = load_document(path)
        except DocumentError as exc:
            self.show_banner(str(exc))
            return False
        self._reset_document(doc.text, doc.path, doc.format)
        self._stamp = doc.stamp
        self.show_banner(doc.notice or "")
        self._remember_recent(doc.path)
        self._update_title()
        return True

    def save(self) -> bool:
        """Save in place, asking first when another program changed or removed the file."""
        if self._path is None:
            return self.save_as()
        path = self._path
        if self._stamp is not None:
            change = disk_change(path, self._stamp)
            if change is DiskChange.DELETED and not path.parent.is_dir():
                return self._write(path)  # the save says precisely that the folder is gone
            if change is not DiskChange.UNCHANGED:
                choice = self.resolve_disk_conflict(path, change)
                if choice is ConflictChoice.SAVE_AS:
                    return self.save_as()
                if choice is ConflictChoice.CANCEL:
                    self.show_banner(
                        self.tr("Not saved: %1 The file on disk was left as it is.").replace(
                            "%1", self._conflict_text(path, change)
                        )
                    )
                    return False
        return self._write(path)

    def save_as(self) -> bool:
        start = str(self._path) if self._path else ""
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save As"), start, self.tr(DOCUMENT_FILTER)
        )
        return bool(path) and self.save_to(path)

    def save_as_utf8(self) -> bool:
        """Save As, in UTF-8 from now on: the way out when the file's own encoding (a
        legacy 8-bit one) cannot store a character the writer typed. Line endings stay."""
        previous = self._format
        self._format = TextFormat("utf-8", bom=False, newline=previous.newline)
        if self.save_as():
            return True
        self._format = previous
        return False

    def save_to(self, path: str | Path) -> bool:
        """Save under a new name (the tests' and scripts' way around the dialog)."""
        if self._write(Path(path)):
            self._path = Path(path)
            self._remember_recent(self._path)
            self._update_title()
            return True
        return False

    def _write(self, path: Path) -> bool:
        try:
            stamp = save_document(path, self.editor.toPlainText(), self._format)
        except DocumentError as exc:
            # The buffer and its journal stay: the writing is safe while the writer decides.
            self.show_banner(self.tr("Not saved: %1").replace("%1", str(exc)))
            return False
        self._stamp = stamp
        self._stop_journal_timers()
        self.journal.discard(self._doc_id)
        self.editor.document().setModified(False)
        self.show_banner("")
        self.statusBar().showMessage(self.tr("Saved %1").replace("%1", str(path)), 3000)
        self.documentSaved.emit(str(path))
        return True

    # -- the file changed on disk

    def _conflict_text(self, path: Path, change: DiskChange) -> str:
        if change is DiskChange.DELETED:
            return self.tr(
                "“%1” was deleted or moved by another program since you opened or last saved it."
            ).replace("%1", path.name)
        return self.tr(
            "“%1” was changed on disk by another program since you opened or last saved it."
        ).replace("%1", path.name)

    def disk_conflict_box(self, path: Path, change: DiskChange) -> QMessageBox:
        """The question (not shown yet); each button's ``choice`` property is its answer."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("File changed on disk"))
        box.setText(self._conflict_text(path, change))
        box.setInformativeText(
            self.tr(
                "Overwrite it with your version, save your version under another name, "
                "or cancel and keep both as they are?"
            )
            if change is DiskChange.MODIFIED
            else self.tr("Save your version there again, under another name, or cancel?")
        )
        first = self.tr("Overwrite") if change is DiskChange.MODIFIED else self.tr("Save Again")
        for label, role, choice in (
            (first, QMessageBox.ButtonRole.DestructiveRole, ConflictChoice.OVERWRITE),
            (self.tr("Save As…"), QMessageBox.ButtonRole.AcceptRole, ConflictChoice.SAVE_AS),
            (self.tr("Cancel"), QMessageBox.ButtonRole.RejectRole, ConflictChoice.CANCEL),
        ):
            button = box.addButton(label, role)
            button.setProperty("choice", choice.value)
            if choice is ConflictChoice.CANCEL:
                box.setDefaultButton(button)
                box.setEscapeButton(button)
        return box

    @staticmethod
    def conflict_choice(box: QMessageBox) -> ConflictChoice:
        """The answer a finished :meth:`disk_conflict_box` was given (Esc: Cancel)."""
        button = box.clickedButton()
        value = button.property("choice") if button is not None else None
        return ConflictChoice(value) if value else ConflictChoice.CANCEL

    def resolve_disk_conflict(self, path: Path, change: DiskChange) -> ConflictChoice:
        """Ask the writer (modal). Tests replace this method to answer it themselves."""
        box = self.disk_conflict_box(path, change)
        box.exec()
        return self.conflict_choice(box)

    # -- autosave journal

    def _schedule_journal(self) -> None:
        self._journal_timer.start()  # restarts: about a second after the last edit
        if not self._journal_deadline.isActive():
            self._journal_deadline.start()  # but never much later than the first one

    def _stop_journal_timers(self) -> None:
        self._journal_timer.stop()
        self._journal_deadline.stop()

    def journal_now(self) -> None:
        """Hand a snapshot of the unsaved text to the journal thread (the timers call it).

        Only the copy of the text happens here, on the GUI thread; encoding and writing
        happen on the journal's thread. An unmodified document (saved, or undone back
        to the saved text) and an empty untitled one need no journal: it is removed.
        """
        self._stop_journal_timers()
        if self._closing:
            return
        doc = self.editor.document()
        if not doc.isModified() or (self._path is None and doc.isEmpty()):
            self.journal.discard(self._doc_id)
            return
        snapshot = Snapshot(
            self._doc_id, self.editor.toPlainText(), self._path, self._format, self._stamp
        )
        self.journal.submit(snapshot)
        self.journalQueued.emit(self._doc_id)

    def _journal_written(self, doc_id: str, _seq: int) -> None:
        if self._journal_problem and self.banner.text() == self._journal_problem:
            self.show_banner("")
        self._journal_problem = ""
        if doc_id == self._doc_id:
            self.journalWritten.emit(doc_id)

    def _journal_failed(self, _doc_id: str, message: str) -> None:
        text = self.tr("Autosave failed: %1. Your text is still here: save it to keep it.")
        self._journal_problem = text.replace("%1", message)
        self.show_banner(self._journal_problem)

    # -- recovery after a crash

    def offer_recovery(self) -> RecoveryDialog | None:
        """Offer the journals that dead sessions left (window-modal, never blocking).

        None when there is nothing to recover. The dialog's Recover puts a document in
        this window when it is pristine, else in a new window; Discard deletes it.
        """
        if self.recovery_dialog is not None and self.recovery_dialog.isVisible():
            return self.recovery_dialog
        entries = self.journal.claim_orphans()
        if self.journal.damaged:
            names = ", ".join(str(file) for file, _ in self.journal.damaged)
            self.show_banner(
                self.tr("A damaged autosave file was set aside (not deleted): %1").replace(
                    "%1", names
                )
            )
        if not entries:
            return None
        dialog = RecoveryDialog(entries, self)
        dialog.recoverRequested.connect(self.recover_entry)
        dialog.discardRequested.connect(self.journal.remove)
        self.recovery_dialog = dialog
        dialog.open()
        return dialog

    def _recover_from_menu(self) -> None:
        if self.offer_recovery() is None:
            self.statusBar().showMessage(self.tr("There is no unsaved writing to recover."), 4000)

    def recover_entry(self, entry: JournalEntry) -> MainWindow:
        """Open a recovered journal (here if this window is pristine, else in a new one)."""
        target = self if self.is_pristine() else self._new_recovery_window()
        target.restore_journal(entry)
        if target is not self:
            self.journal.resolve(entry)  # the other window's store owns it now
        return target

    def _new_recovery_window(self) -> MainWindow:
        window = MainWindow(self.paths, self.settings)
        source = self.loading_path or self._active_local_path()
        if source:
            window.load_model(source)
        _RECOVERY_WINDOWS.append(window)
        window.show()
        return window

    def restore_journal(self, entry: JournalEntry) -> None:
        """Put recovered text in this window, unsaved, journaled under this session now."""
        self._reset_document(entry.text, entry.path, entry.format)
        self._stamp = entry.disk  # a save then asks if the file changed since the crash
        self._doc_id = entry.doc_id
        self.editor.document().setModified(True)
        try:
            self.journal.adopt(entry)
        except OSError as exc:
            self._journal_failed(entry.doc_id, str(exc))
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.written_at))
        self.show_banner(
            self.tr("Recovered the unsaved text of %1 (autosaved %2). Save it to keep it.")
            .replace("%1", entry.title)
            .replace("%2", when)
        )
        self._update_title()

    def maybe_save(self) -> bool:
        """Ask before discarding unsaved changes; False means the writer cancelled."""
        if not self.editor.document().isModified():
            return True
        answer = QMessageBox.question(
            self,
            self.tr("Unsaved changes"),
            self.tr("Save the changes to %1 first?").replace(
                "%1", self._path.name if self._path else self.tr("Untitled")
            ),
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _remember_recent(self, path: Path) -> None:
        self.settings = self.settings.with_recent_file(path)
        self._rebuild_recent_menu()
        self.persist_settings()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.settings.recent_files:
            action = self.recent_menu.addAction(entry.replace("&", "&&"))  # not a mnemonic
            action.triggered.connect(lambda _=False, p=entry: self._open_recent(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def _open_recent(self, path: str) -> None:
        if self.maybe_save():
            self.open_file(path)

    # ----------------------------------------------------------------- view & options

    def set_auto_suggest(self, on: bool) -> None:
        suggestions = dataclasses.replace(self.settings.suggestions, auto_suggest=bool(on))
        self.apply_settings(dataclasses.replace(self.settings, suggestions=suggestions))

    def apply_settings(self, settings: AppSettings) -> None:
        """New settings take effect for the next request; a runtime change reloads.

        The panel owns the tuning values; the window owns which model and files were
        used and where it sits on screen, so those are kept from the window's own copy.
        """
        settings = dataclasses.replace(
            settings,
            model_path=self.settings.model_path,
            recent_files=self.settings.recent_files,
            window_geometry=self.settings.window_geometry,
            window_state=self.settings.window_state,
        )
        old, self.settings = self.settings, settings
        self.controller.update_settings(settings.suggestions, settings.sampling)
        self.auto_action.setChecked(settings.suggestions.auto_suggest)
        if self.settings_panel.settings != settings:
            self.settings_panel.set_settings(settings)
        self.sampler_view.refresh()
        if settings.runtime != old.runtime:
            self._reload_for_runtime(settings)
        self.persist_settings()

    def _reload_for_runtime(self, settings: AppSettings) -> None:
        """Runtime options take effect by loading again (or connecting to the server)."""
        runtime = settings.runtime
        if runtime.backend == "remote" and runtime.remote_url:
            self.load_model(runtime.remote_url)
            return
        path = self.loading_path or self._active_local_path() or settings.model_path
        if path:
            self.load_model(path)

    def zoom(self, step: int | None) -> None:
        current = self.settings.editor.zoom
        target = 0 if step is None else max(-8, min(24, current + step))
        self._set_editor(dataclasses.replace(self.settings.editor, zoom=target))

    def set_line_wrap(self, on: bool) -> None:
        self._set_editor(dataclasses.replace(self.settings.editor, line_wrap=bool(on)))

    def set_theme(self, theme: Theme) -> None:
        self._set_editor(dataclasses.replace(self.settings.editor, theme=theme))

    def _set_editor(self, editor: EditorSettings) -> None:
        self.settings = dataclasses.replace(self.settings, editor=editor)
        self._apply_editor_settings(editor)

    def _apply_editor_settings(self, editor: EditorSettings) -> None:
        font = self.editor.font()
        if editor.font_family:
            font.setFamily(editor.font_family)
        base = editor.font_size or QApplication.font().pointSizeF()
        font.setPointSizeF(max(4.0, base * (1.1**editor.zoom)))
        self.editor.setFont(font)
        self.editor.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth
            if editor.line_wrap
            else QPlainTextEdit.LineWrapMode.NoWrap
        )
        self.wrap_action.setChecked(editor.line_wrap)
        for theme, action in self.theme_actions.items():
            action.setChecked(theme is editor.theme)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, editor.theme)

    # ----------------------------------------------------------------- persistence

    def _restore_geometry(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray(base64.b64decode(self.settings.window_geometry)))
        else:
            self.resize(900, 640)
        if self.settings.window_state:
            self.restoreState(QByteArray(base64.b64decode(self.settings.window_state)))

    def persist_settings(self) -> None:
        geometry = base64.b64encode(bytes(self.saveGeometry().data())).decode("ascii")
        state = base64.b64encode(bytes(self.saveState().data())).decode("ascii")
        self.settings = dataclasses.replace(
            self.settings, window_geometry=geometry, window_state=state
        )
        try:
            save_settings(self.settings, self.paths.settings_file)
        except SettingsSaveError as exc:
            self.show_banner(str(exc))

    def shutdown(self) -> bool:
        """Stop suggestions and the engine thread; True when the thread has ended."""
        self.controller.shutdown()
        self.editor.discard_draft()
        if not self.model_jobs.stop():  # quantizing cannot be interrupted: let it finish
            _UNFINISHED.append(self.model_jobs)
        stopped = self.worker.stop()
        if not stopped:  # never destroy a running QThread: keep it until the process ends
            _UNFINISHED.append(self.worker)
        return stopped

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and not self.maybe_save():
            event.ignore()
            return
        self._closing = True
        # Saved, unmodified, or the writer chose Discard: the journal has done its job.
        self._stop_journal_timers()
        self.journal.discard(self._doc_id)
        self.journal.close()
        if self in _RECOVERY_WINDOWS:
            _RECOVERY_WINDOWS.remove(self)
        self.persist_settings()
        self.shutdown()
        event.accept()
