"""The main window: widgets, menus and the status bar, wired to the controllers.

Decisions live elsewhere: suggestions in the ``SuggestionController``, the document in the
``DocumentController``, autosave and recovery in the ``JournalController``, models in the
``ModelController`` (and below them, the core). The window builds the widgets, connects
the controllers' signals to them, and keeps the settings: it applies them to its widgets
and saves them with its own geometry.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMenu,
    QMenuBar,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.journal import JournalEntry
from app.core.paths import AppPaths
from app.core.settings import (
    AppSettings,
    EditorSettings,
    RuntimeSettings,
    SettingsSaveError,
    Theme,
    save_settings,
)
from app.core.texts import joined, message_of
from app.gui.about import AboutDialog
from app.gui.document_controller import ConflictResolver, DocumentController
from app.gui.drafts import DraftController
from app.gui.editor import GhostTextEdit
from app.gui.find_bar import FindBar
from app.gui.i18n import tr_format, translated
from app.gui.journal_controller import JournalController
from app.gui.keymap import KEYS
from app.gui.model_controller import ModelController
from app.gui.model_jobs import ModelJobs
from app.gui.sampler_chart import SamplerViewController
from app.gui.settings_panel import SettingsPanel
from app.gui.shortcuts_help import EDITOR_KEY_PROPERTY, ShortcutsDialog
from app.gui.suggestions import SuggestionController, SuggestionStats
from app.gui.theme import apply_theme, banner_style
from app.gui.worker import LoadedModel, RequestDone, WorkerThread

#: Engine threads that did not stop in time at close (kept alive rather than destroyed).
_UNFINISHED: list[WorkerThread | ModelJobs] = []

#: Windows opened to hold a recovered document while the first one was in use.
_RECOVERY_WINDOWS: list[MainWindow] = []


def _sentences(texts: Sequence[str]) -> str:
    """The texts one after the other, each still translatable; ``joined`` takes at most 99,
    so more (a settings file full of unknown keys) are joined in groups."""
    while len(texts) > 99:
        texts = [joined(texts[i : i + 99]) for i in range(0, len(texts), 99)]
    return joined(texts)


class MainWindow(QMainWindow):
    def __init__(
        self,
        paths: AppPaths,
        settings: AppSettings,
        warnings: tuple[str, ...] = (),
        *,
        resolve_conflict: ConflictResolver | None = None,
    ) -> None:
        """``resolve_conflict`` answers "the file changed on disk" instead of a dialog
        (tests and scripts); a window opened for a recovered document gets it too."""
        super().__init__()
        self.paths = paths
        self.settings = settings
        self._resolve_conflict = resolve_conflict
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
        self.banner.setStyleSheet(banner_style(self.palette()))
        self.banner.hide()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.find_bar)
        self.setCentralWidget(central)

        self.document_controller = DocumentController(
            self.editor, self.controller, self, resolve_conflict
        )
        self.journal_controller = JournalController(
            paths.journal_dir, self.document_controller, self
        )
        self.model_controller = ModelController(
            self.controller,
            paths.models_dir,
            paths.cache_dir / "downloads",
            lambda: self.settings,
            self,
        )
        self._closing = False
        self._notices: dict[str, str] = {}  # a sender's last message, which it may clear
        self.shortcuts_dialog: ShortcutsDialog | None = None
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
            self.show_banner(tr_format(self.tr("Settings: %1"), _sentences(warnings)))

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
        self._build_file_menu(bar)
        self._build_edit_menu(bar)
        self._build_suggest_menu(bar)
        self._build_view_menu(bar)
        self._build_help_menu(bar)

    def _build_file_menu(self, bar: QMenuBar) -> None:
        std = QKeySequence.StandardKey
        docs, models = self.document_controller, self.model_controller
        f = bar.addMenu(self.tr("&File"))
        self._action(f, self.tr("&New"), docs.new_document, std.New)
        self._action(f, self.tr("&Open…"), docs.open_dialog, std.Open)
        self.recent_menu = f.addMenu(self.tr("Open &Recent"))
        self._action(f, self.tr("&Save"), docs.save, std.Save)
        self._action(f, self.tr("Save &As…"), docs.save_as, std.SaveAs)
        self._action(f, self.tr("Save as UTF-&8…"), docs.save_as_utf8)
        self._action(f, self.tr("&Close"), docs.new_document, std.Close)
        self._action(f, self.tr("Recover &Unsaved Writing…"),
                     self.journal_controller.recover_from_menu)  # fmt: skip
        f.addSeparator()
        self._action(f, self.tr("&Models…"), models.open_model_manager, "Ctrl+Shift+M")
        self._action(f, self.tr("Open Model &File…"), models.open_model_dialog)
        f.addSeparator()
        self._action(f, self.tr("&Quit"), self.close, std.Quit, role=QAction.MenuRole.QuitRole)
        self._rebuild_recent_menu()

    def _build_edit_menu(self, bar: QMenuBar) -> None:
        std = QKeySequence.StandardKey
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

    def _build_suggest_menu(self, bar: QMenuBar) -> None:
        s = bar.addMenu(self.tr("&Suggest"))
        c, ed = self.controller, self.editor
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

    def _build_view_menu(self, bar: QMenuBar) -> None:
        std = QKeySequence.StandardKey
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

    def _build_help_menu(self, bar: QMenuBar) -> None:
        h = bar.addMenu(self.tr("&Help"))
        self._action(h, self.tr("&Keyboard Shortcuts"), self.show_shortcuts,
                     QKeySequence.StandardKey.HelpContents)  # fmt: skip
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
        docs = self.document_controller
        docs.notice.connect(self.show_banner)
        docs.statusMessage.connect(self.statusBar().showMessage)
        docs.titleChanged.connect(self._update_title)
        docs.fileUsed.connect(self._remember_recent)
        journal = self.journal_controller
        journal.problemChanged.connect(self._journal_problem)
        journal.notice.connect(self.show_banner)
        journal.statusMessage.connect(self.statusBar().showMessage)
        journal.recoverRequested.connect(self.recover_entry)
        models = self.model_controller
        models.notice.connect(self.show_banner)
        models.statusChanged.connect(self.model_label.setText)
        models.modelRemembered.connect(self._remember_model)
        models.runtimeChanged.connect(self._runtime_changed)
        models.model_jobs.busyChanged.connect(self.busy.setVisible)
        self.editor.document().modificationChanged.connect(lambda _m: self._update_title())
        self.editor.document().contentsChanged.connect(lambda: self._word_timer.start())
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
        dialog = AboutDialog(self.controller.model, self.model_controller.store, self)
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

    def _owned_notice(self, sender: str, message: str) -> None:
        """A message its sender clears with "" (a suggestion error, a failing autosave):
        cleared only while it is still the one shown, never a settings or file warning."""
        if message:
            self._notices[sender] = message
            self.show_banner(message)
        elif self.banner.text() == self._notices.get(sender):
            self.show_banner("")

    def _suggestion_error(self, message: str) -> None:
        self._owned_notice("suggestions", message)

    def _journal_problem(self, message: str) -> None:
        self._owned_notice("journal", message)

    def changeEvent(self, event: QEvent) -> None:
        """A new palette (the theme, or the system's dark mode): the banner follows it."""
        if event.type() == QEvent.Type.PaletteChange:
            self.banner.setStyleSheet(banner_style(self.palette()))
        super().changeEvent(event)

    def _model_loading(self, path: str) -> None:
        self.model_label.setText(self.tr("Loading %s…") % Path(path).name)
        self.busy.show()

    def _model_changed(self, model: LoadedModel | None) -> None:
        self.busy.setVisible(self.model_controller.model_jobs.busy)
        if model is not None:  # e.g. the GPU could not hold it: it runs on the CPU
            self._owned_notice("model", translated(model.notice))
        if model is None:
            self.model_label.setText(self.tr("No model: suggestions are off"))
            return
        info = model.info
        if info is None:  # a remote server
            self.model_label.setText(tr_format(self.tr("%1 · server"), model.name))
            self.model_label.setToolTip(
                tr_format(self.tr("%1\nconnected in %2 ms"), model.source, f"{model.load_ms:.0f}")
            )
            self.settings_panel.set_model_limits(None, False)
            return
        self.model_label.setText(f"{info.name} · {info.file_type} · {self._placement(model)}")
        self.model_label.setToolTip(
            tr_format(self.tr("%1\nloaded in %2 ms"), info.path, f"{model.load_ms:.0f}")
        )
        self.settings_panel.set_model_limits(info.context_length, model.build.gpu_offload)

    def _placement(self, model: LoadedModel) -> str:
        """Where the model runs: "CPU", or the GPU backend and the layers it holds."""
        if not model.build.gpu_offload:
            return model.build.backend
        on_gpu, layers = model.offloaded_layers
        return tr_format(self.tr("%1 · %2/%3 layers"), model.build.backend, on_gpu, layers)

    def _show_stats(self, stats: SuggestionStats) -> None:
        if stats.from_cache:
            self.latency_label.setText(self.tr("from cache"))
            return
        shown = f"{stats.first_shown_ms:.0f} ms" if stats.first_shown_ms is not None else "–"
        self.latency_label.setText(
            tr_format(self.tr("first shown %1 · %2 tok/s"), shown, f"{stats.tokens_per_second:.1f}")
        )

    def _draft_progress(self, pieces: int, rate: float) -> None:
        self.latency_label.setText(
            tr_format(self.tr("Draft: %1 tokens · %2 tok/s"), pieces, f"{rate:.1f}")
        )

    def _draft_finished(self, done: RequestDone) -> None:
        t = done.completion.timings
        self.latency_label.setText(
            tr_format(
                self.tr("Draft: %1 tokens · %2 tok/s · Tab keeps it, Esc drops it"),
                t.generated_tokens,
                f"{t.tokens_per_second:.1f}",
            )
        )

    def generate_draft(self) -> None:
        if not self.drafts.start(self.settings.sampling, self.settings.suggestions.draft_tokens):
            self.show_banner(self.tr("No model is loaded: open a GGUF model to write drafts."))

    def _update_word_count(self) -> None:
        self.words_label.setText(self.tr("%n word(s)", "", self.editor.word_count()))

    def _update_position(self) -> None:
        cursor = self.editor.textCursor()
        self.position_label.setText(
            tr_format(
                self.tr("Ln %1, Col %2"), cursor.blockNumber() + 1, cursor.positionInBlock() + 1
            )
        )

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document_controller.title()}[*] — Ghostpen")
        self.setWindowModified(self.editor.document().isModified())

    # ----------------------------------------------------------------- recovery

    def recover_entry(self, entry: JournalEntry) -> MainWindow:
        """Open a recovered journal (here if this window is pristine, else in a new one)."""
        pristine = self.document_controller.is_pristine()
        target = self if pristine else self._new_recovery_window()
        target.journal_controller.restore(entry)
        if target is not self:
            self.journal_controller.journal.resolve(entry)  # the other window's store owns it
        return target

    def _new_recovery_window(self) -> MainWindow:
        window = MainWindow(self.paths, self.settings, resolve_conflict=self._resolve_conflict)
        source = self.model_controller.model_source()
        if source:
            window.model_controller.load_model(source)
        _RECOVERY_WINDOWS.append(window)
        window.show()
        return window

    # ----------------------------------------------------------------- settings

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
            self.model_controller.reload_for_runtime(settings)
        self.persist_settings()

    def _remember_model(self, path: str | None) -> None:
        """The model to open with next time (the last one loaded, or the chosen default)."""
        self.settings = dataclasses.replace(self.settings, model_path=path)
        self.persist_settings()

    def _runtime_changed(self, runtime: RuntimeSettings) -> None:
        self.settings = dataclasses.replace(self.settings, runtime=runtime)
        self.settings_panel.set_settings(self.settings)

    def _remember_recent(self, path: Path) -> None:
        self.settings = self.settings.with_recent_file(path)
        self._rebuild_recent_menu()
        self.persist_settings()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.settings.recent_files:
            action = self.recent_menu.addAction(entry.replace("&", "&&"))  # not a mnemonic
            action.triggered.connect(
                lambda _=False, p=entry: self.document_controller.open_recent(p)
            )
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

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
            self.show_banner(translated(message_of(exc)))

    def shutdown(self) -> bool:
        """Stop suggestions and the engine thread; True when the thread has ended."""
        self.controller.shutdown()
        self.editor.discard_draft()
        jobs = self.model_controller.model_jobs
        if not jobs.stop():  # quantizing cannot be interrupted: let it finish
            _UNFINISHED.append(jobs)
        stopped = self.worker.stop()
        if not stopped:  # never destroy a running QThread: keep it until the process ends
            _UNFINISHED.append(self.worker)
        return stopped

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and not self.document_controller.maybe_save():
            event.ignore()
            return
        self._closing = True
        self.journal_controller.close()
        if self in _RECOVERY_WINDOWS:
            _RECOVERY_WINDOWS.remove(self)
        self.persist_settings()
        self.shutdown()
        event.accept()
