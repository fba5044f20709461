"""The model manager: installed models, the catalog, downloads and imports.

The dialog is a view over ``app.core.model_store`` and ``app.core.catalog``; the work
runs in :class:`~app.gui.model_jobs.ModelJobs`, so closing the dialog does not stop a
download and the editor keeps suggesting meanwhile. Switching models is a signal the
main window turns into a load on the engine thread: no restart. The core's errors and
progress messages are :class:`~app.core.texts.Text`, translated here where they are shown.
"""

from __future__ import annotations

import html
import os
import threading
from functools import partial
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import CatalogEntry, load_catalog
from app.core.model_choice import preferred_model
from app.core.model_install import (
    InstallProgress,
    build_from_folder,
    install_from_hub,
    output_types,
)
from app.core.model_store import ModelStore, StoredModel, StoreError
from app.core.offline_model import (
    LICENCE,
    MODEL_NAME,
    OfflineModelError,
    OfflinePackage,
    assemble_into_store,
    find_package,
    installed_offline_model,
)
from app.core.texts import Text, message_of
from app.gui.i18n import QT_TRANSLATE_NOOP, tr_format, translated
from app.gui.model_jobs import Job, JobProgress, ModelJobs

#: The texts outside the dialog's own methods are in its translation context,
#: "ModelManagerDialog", spelled out in each call: lupdate reads string literals only.
MODEL_FILTER = QT_TRANSLATE_NOOP("ModelManagerDialog", "GGUF models (*.gguf);;All files (*)")
INSTALLED_COLUMNS = (
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Name"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Architecture"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Parameters"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Quantization"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Size"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Context"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Licence"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Source"),
)
CATALOG_COLUMNS = (
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Model"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Size"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Quantization"),
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Licence"),
    "",  # the Download button
    QT_TRANSLATE_NOOP("ModelManagerDialog", "Notes"),
)
#: What a job is doing, by its stage (``InstallProgress.stage``), before the core's words
#: (in the jobs' context: "Download" the stage is not "Download" the button).
STAGES = {
    "download": QT_TRANSLATE_NOOP("ModelJobs", "Download"),
    "convert": QT_TRANSLATE_NOOP("ModelJobs", "Convert"),
    "quantize": QT_TRANSLATE_NOOP("ModelJobs", "Quantize"),
    "store": QT_TRANSLATE_NOOP("ModelJobs", "Store"),
    "assemble": QT_TRANSLATE_NOOP("ModelJobs", "Assemble"),
    "copy": QT_TRANSLATE_NOOP("ModelJobs", "Copy"),
}
#: Progress messages of the jobs this dialog words itself (they run off the GUI thread, so
#: they are Texts, translated when shown, like the core's).
JOINING = QT_TRANSLATE_NOOP("ModelJobs", "joining the offline model")
COPYING = QT_TRANSLATE_NOOP("ModelJobs", "copying %1")


def _licence_title(licence: str) -> str:
    return tr_format(QCoreApplication.translate("ModelManagerDialog", "Licence: %1"), licence)


def _same_file(path: Path, other: str | None) -> bool:
    return other is not None and os.path.realpath(path) == os.path.realpath(other)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _params(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"


def describe_progress(p: InstallProgress) -> str:
    """One line for the progress label: stage, bytes, rate and time left."""
    d = p.download
    if d is None:  # the stage, then the core's own words
        stage = STAGES.get(p.stage)
        label = (
            QCoreApplication.translate("ModelJobs", stage)
            if stage is not None
            else p.stage.capitalize()
        )
        return tr_format(QCoreApplication.translate("ModelJobs", "%1: %2"), label, p.message)
    left = (
        tr_format(
            QCoreApplication.translate("ModelManagerDialog", ", about %1 s left"),
            f"{d.seconds_left:.0f}",
        )
        if d.seconds_left is not None
        else ""
    )
    return tr_format(
        QCoreApplication.translate("ModelManagerDialog", "Downloading %1: %2 of %3 at %4/s%5"),
        d.file,
        _size(d.done),
        _size(d.total),
        _size(d.bytes_per_second),
        left,
    )


def offline_job(store: ModelStore, package: OfflinePackage) -> Job:
    def run(progress: JobProgress, cancel: threading.Event) -> StoredModel:
        def on_bytes(done: int, total: int) -> None:
            joining = Text("ModelJobs", JOINING)
            progress(InstallProgress("assemble", done / total, joining))

        return assemble_into_store(store, package, progress=on_bytes, cancel=cancel)

    title = QCoreApplication.translate("ModelManagerDialog", "Installing %1")
    return Job(tr_format(title, MODEL_NAME), run)


def licence_text(model: StoredModel) -> str:
    """The licence text kept with the model (the offline model's terms), or its name and
    link: what the writer agreed to by using the model, shown by the manager and About."""
    m = model.manifest
    if m.licence_file:
        try:
            return (model.folder / m.licence_file).read_text(encoding="utf-8")
        except OSError as exc:
            return f"{m.licence}: {m.licence_url} ({exc.strerror or exc})"
    url = html.escape(m.licence_url)
    link = f'<p><a href="{url}">{url}</a></p>' if url else ""
    licence = _licence_title(html.escape(m.licence))
    source = tr_format(
        QCoreApplication.translate("ModelManagerDialog", "Source: %1"), html.escape(m.source)
    )
    return f"<h3>{html.escape(m.name)}</h3><p>{licence}</p>{link}<p>{source}</p>"


def show_licence(model: StoredModel, parent: QWidget) -> QDialog:
    """A non-modal viewer of :func:`licence_text` (it deletes itself when closed)."""
    viewer = QDialog(parent)
    viewer.setWindowTitle(_licence_title(model.name))
    viewer.setObjectName("licenceViewer")
    viewer.resize(640, 520)
    text = QTextBrowser(viewer)
    text.setOpenExternalLinks(True)
    text.setAccessibleName(viewer.windowTitle())
    if model.manifest.licence_file:  # the text as its authors wrote it
        text.setPlainText(licence_text(model))
    else:
        text.setHtml(licence_text(model))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, viewer)
    buttons.rejected.connect(viewer.reject)
    layout = QVBoxLayout(viewer)
    layout.addWidget(text)
    layout.addWidget(buttons)
    viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    viewer.show()
    return viewer


class ModelManagerDialog(QDialog):
    """Non-modal: it can stay open while the writer works, showing a download's progress."""

    useModel = Signal(str)  # a model path to load now (and to open with next time)
    defaultChanged = Signal(object)  # a model path to open with next time, or None

    def __init__(
        self,
        store: ModelStore,
        jobs: ModelJobs,
        download_root: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models"))
        self.setObjectName("modelManager")
        self.resize(860, 560)
        self.store = store
        self.jobs = jobs
        self.download_root = download_root
        self.catalog: list[CatalogEntry] = load_catalog()
        self.active_path: str | None = None
        self.default_path: str | None = None
        self.loading_path: str | None = None
        self._models: list[StoredModel] = []
        self._quant_boxes: dict[str, QComboBox] = {}
        self._offline_package: OfflinePackage | None = None
        self._build()
        jobs.started.connect(self._job_started)
        jobs.progress.connect(self._job_progress)
        jobs.finished.connect(self._job_finished)
        jobs.failed.connect(self._job_failed)
        self.refresh()
        self._set_busy(jobs.busy)

    # ----------------------------------------------------------------- layout

    def _table(self, headers: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        installed = QGroupBox(self.tr("Installed models"))
        box = QVBoxLayout(installed)
        self.installed_table = self._table([self.tr(h) for h in INSTALLED_COLUMNS])
        self.installed_table.setAccessibleName(self.tr("Installed models"))
        self.installed_table.setAccessibleDescription(
            self.tr("Enter or double-click uses the selected model.")
        )
        self.installed_table.itemSelectionChanged.connect(self._selection_changed)
        # Enter or double-click (a single click where the platform activates on one).
        self.installed_table.activated.connect(lambda _index: self.use_selected())
        box.addWidget(self.installed_table)
        row = QHBoxLayout()
        self.use_button = QPushButton(self.tr("&Use"))
        self.use_button.setToolTip(self.tr("Load this model now; Ghostpen opens with it next time"))
        self.default_button = QPushButton(self.tr("&Set as Default"))
        self.default_button.setToolTip(self.tr("Open with this model next time"))
        self.delete_button = QPushButton(self.tr("&Delete"))
        self.licence_button = QPushButton(self.tr("&Licence…"))
        self.use_button.clicked.connect(self.use_selected)
        self.default_button.clicked.connect(self.set_selected_default)
        self.delete_button.clicked.connect(self.confirm_delete_selected)
        self.licence_button.clicked.connect(self.show_selected_licence)
        for b in (self.use_button, self.default_button, self.delete_button, self.licence_button):
            row.addWidget(b)
        row.addStretch(1)
        self.open_button = QPushButton(self.tr("Open &GGUF File…"))
        self.folder_button = QPushButton(self.tr("Import Hugging Face &Folder…"))
        self.open_button.clicked.connect(self.open_gguf_dialog)
        self.folder_button.clicked.connect(self.import_folder_dialog)
        row.addWidget(self.open_button)
        row.addWidget(self.folder_button)
        box.addLayout(row)
        layout.addWidget(installed, 3)

        catalog = QGroupBox(self.tr("Get a model"))
        box = QVBoxLayout(catalog)
        self.catalog_table = self._table([self.tr(h) if h else "" for h in CATALOG_COLUMNS])
        self.catalog_table.setAccessibleName(self.tr("Models to download"))
        self.catalog_table.setAccessibleDescription(
            self.tr("Each row has a quantization choice and a Download button.")
        )
        box.addWidget(self.catalog_table)
        layout.addWidget(catalog, 2)

        progress = QHBoxLayout()
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setAccessibleName(self.tr("Model job progress"))
        self.cancel_button = QPushButton(self.tr("&Cancel"))
        self.cancel_button.setAccessibleName(self.tr("Cancel the model job"))
        self.cancel_button.clicked.connect(self.jobs.cancel)
        progress.addWidget(self.progress_label, 1)
        progress.addWidget(self.progress_bar)
        progress.addWidget(self.cancel_button)
        layout.addLayout(progress)

        bottom = QHBoxLayout()
        self.store_label = QLabel(tr_format(self.tr("Stored in %1"), self.store.root))
        self.store_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton(self.tr("Cl&ose"))
        close.clicked.connect(self.close)
        bottom.addWidget(self.store_label, 1)
        bottom.addWidget(close)
        layout.addLayout(bottom)

    # ----------------------------------------------------------------- contents

    def set_paths(
        self, active: str | None, default: str | None, loading: str | None = None
    ) -> None:
        self.active_path, self.default_path, self.loading_path = active, default, loading
        self.refresh()

    def refresh(self) -> None:
        self._models, problems = self.store.scan()
        self._fill_installed()
        self._fill_catalog()
        if problems and not self.jobs.busy:
            self.progress_label.setText("\n".join(translated(p) for p in problems))
        self._selection_changed()

    def _fill_installed(self) -> None:
        table = self.installed_table
        selected = self.selected_model()
        table.setRowCount(len(self._models))
        for r, model in enumerate(self._models):
            m = model.manifest
            path = str(model.path)
            tags = []
            if _same_file(model.path, self.active_path):
                tags.append(self.tr("in use"))
            elif _same_file(model.path, self.loading_path):
                tags.append(self.tr("loading"))
            if _same_file(model.path, self.default_path):
                tags.append(self.tr("default"))
            if not model.available:
                tags.append(self.tr("file missing"))
            name = m.name + (f"  ({', '.join(tags)})" if tags else "")
            cells = [name, m.architecture, _params(m.parameters), m.quantization, _size(m.size),
                     f"{m.context_length:,}", m.licence, m.source]  # fmt: skip
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{path}\nSHA-256 {m.sha256}")
                if _same_file(model.path, self.active_path):
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(r, c, item)
        if selected is not None:
            self.select_model(selected.id)

    def _fill_catalog(self) -> None:
        table = self.catalog_table
        installed = {m.manifest.catalog_id for m in self._models}
        try:
            package = find_package()
        except OfflineModelError as exc:
            package = None
            self.progress_label.setText(translated(message_of(exc)))
        self._offline_package = package
        rows = len(self.catalog) + (1 if package is not None else 0)
        table.setRowCount(rows)
        self._quant_boxes.clear()
        for r, entry in enumerate(self.catalog):
            have = entry.id in installed
            table.setItem(r, 0, QTableWidgetItem(entry.name))
            size = tr_format(
                self.tr("~%1 MB download, ~%2 MB on disk"), entry.download_mb, entry.gguf_mb
            )
            table.setItem(r, 1, QTableWidgetItem(size))
            quant = QComboBox()
            quant.addItems(list(output_types()))
            quant.setCurrentText(entry.recommended_quant)
            quant.setToolTip(tr_format(self.tr("Recommended: %1"), entry.recommended_quant))
            quant.setAccessibleName(tr_format(self.tr("Quantization for %1"), entry.name))
            self._quant_boxes[entry.id] = quant
            table.setCellWidget(r, 2, quant)
            table.setItem(r, 3, QTableWidgetItem(entry.licence))
            button = QPushButton(self.tr("Download again") if have else self.tr("Download"))
            button.setAccessibleName(tr_format(self.tr("Download %1"), entry.name))
            button.clicked.connect(partial(self.download, entry.id))
            button.setEnabled(not self.jobs.busy)
            table.setCellWidget(r, 4, button)
            notes = QTableWidgetItem(entry.notes)
            notes.setToolTip(entry.notes)
            table.setItem(r, 5, notes)
        if package is not None:
            r = len(self.catalog)
            have = installed_offline_model(self.store) is not None
            table.setItem(r, 0, QTableWidgetItem(MODEL_NAME))
            size = tr_format(self.tr("%1, installed with pip"), _size(package.size))
            table.setItem(r, 1, QTableWidgetItem(size))
            table.setItem(r, 2, QTableWidgetItem("Q4_K_M"))
            table.setItem(r, 3, QTableWidgetItem(LICENCE))
            button = QPushButton(self.tr("Installed") if have else self.tr("Install"))
            button.setAccessibleName(tr_format(self.tr("Install %1"), MODEL_NAME))
            button.setEnabled(not have and not self.jobs.busy)
            button.clicked.connect(self.install_offline)
            table.setCellWidget(r, 4, button)
            table.setItem(
                r, 5, QTableWidgetItem(self.tr("Works with no network. Not GPT-2: a small Gemma."))
            )

    def select_catalog(self, catalog_id: str) -> None:
        for r, entry in enumerate(self.catalog):
            if entry.id == catalog_id:
                self.catalog_table.selectRow(r)
                self.catalog_table.setFocus()

    def selected_model(self) -> StoredModel | None:
        rows = self.installed_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._models):
            return None
        return self._models[rows[0].row()]

    def select_model(self, model_id: str) -> None:
        for r, model in enumerate(self._models):
            if model.id == model_id:
                self.installed_table.selectRow(r)

    def _selection_changed(self) -> None:
        model = self.selected_model()
        usable = model is not None and model.available
        self.use_button.setEnabled(usable)
        self.default_button.setEnabled(usable)
        self.delete_button.setEnabled(model is not None and not self.jobs.busy)
        self.licence_button.setEnabled(model is not None)

    # ----------------------------------------------------------------- actions

    def use_selected(self) -> None:
        model = self.selected_model()
        if model is not None and model.available:
            self.useModel.emit(str(model.path))

    def set_selected_default(self) -> None:
        model = self.selected_model()
        if model is not None and model.available:
            self.default_path = str(model.path)
            self.defaultChanged.emit(self.default_path)
            self.refresh()

    def confirm_delete_selected(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        what = (
            tr_format(
                self.tr("Remove %1 from the list? The file itself stays where it is."), model.name
            )
            if model.manifest.referenced
            else tr_format(
                self.tr("Delete %1 (%2) from this computer?"),
                model.name,
                _size(model.manifest.size),
            )
        )
        answer = QMessageBox.question(self, self.tr("Delete model"), what)
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_model(model.id)

    def delete_model(self, model_id: str) -> bool:
        """Delete without asking (the confirmation is the caller's)."""
        try:
            model = self.store.get(model_id)
        except StoreError as exc:
            self.progress_label.setText(translated(message_of(exc)))
            return False
        if any(_same_file(model.path, p) for p in (self.active_path, self.loading_path)):
            self.progress_label.setText(
                tr_format(self.tr("%1 is in use: switch to another model first."), model.name)
            )
            return False
        try:
            self.store.remove(model_id)
        except StoreError as exc:
            self.progress_label.setText(translated(message_of(exc)))
            return False
        self.progress_label.setText(tr_format(self.tr("Deleted %1."), model.name))
        if _same_file(model.path, self.default_path):  # open with the next best model
            fallback = preferred_model(self.store)
            self.default_path = str(fallback.path) if fallback is not None else None
            self.defaultChanged.emit(self.default_path)
        self.refresh()
        return True

    def licence_text(self, model: StoredModel) -> str:
        return licence_text(model)

    def show_selected_licence(self) -> None:
        model = self.selected_model()
        if model is not None:
            show_licence(model, self)

    # ----------------------------------------------------------------- jobs

    def download(self, catalog_id: str) -> bool:
        entry = next(e for e in self.catalog if e.id == catalog_id)
        quant = self._quant_boxes[catalog_id].currentText()
        store, root = self.store, self.download_root

        def run(progress: JobProgress, cancel: threading.Event) -> StoredModel:
            return install_from_hub(
                entry, store, root, quant=quant, progress=progress, cancel=cancel
            )

        return self.jobs.start(Job(tr_format(self.tr("Getting %1"), entry.name), run))

    def install_offline(self) -> bool:
        package = self._offline_package
        return package is not None and self.jobs.start(offline_job(self.store, package))

    def import_gguf(self, path: str, mode: str) -> bool:
        """Add a GGUF by copying it into the store ("copy") or in place ("reference")."""
        store = self.store

        def run(progress: JobProgress, cancel: threading.Event) -> StoredModel:
            def on_bytes(done: int, total: int) -> None:
                copying = Text("ModelJobs", COPYING).arg(Path(path).name)
                progress(InstallProgress("copy", done / total, copying))

            return store.add_file(path, mode=mode, progress=on_bytes, cancel=cancel)

        return self.jobs.start(Job(tr_format(self.tr("Adding %1"), Path(path).name), run))

    def import_folder(self, folder: str, quant: str) -> bool:
        store = self.store

        def run(progress: JobProgress, cancel: threading.Event) -> StoredModel:
            return build_from_folder(Path(folder), store, quant, progress=progress, cancel=cancel)

        return self.jobs.start(Job(tr_format(self.tr("Importing %1"), Path(folder).name), run))

    def open_gguf_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Open GGUF File"), "", self.tr(MODEL_FILTER)
        )
        if not path:
            return
        ask = QMessageBox(self)
        ask.setWindowTitle(self.tr("Add model"))
        ask.setText(
            tr_format(
                self.tr("Copy %1 into Ghostpen's model folder, or use it where it is?"),
                Path(path).name,
            )
        )
        copy = ask.addButton(self.tr("Copy"), QMessageBox.ButtonRole.AcceptRole)
        ask.addButton(self.tr("Use Where It Is"), QMessageBox.ButtonRole.ActionRole)
        ask.addButton(QMessageBox.StandardButton.Cancel)
        ask.exec()
        clicked = ask.clickedButton()
        if clicked is None or ask.buttonRole(clicked) == QMessageBox.ButtonRole.RejectRole:
            return
        self.import_gguf(path, "copy" if clicked is copy else "reference")

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Import Hugging Face Folder"))
        if not folder:
            return
        types = list(output_types())
        quant, ok = QInputDialog.getItem(
            self,
            self.tr("Quantization"),
            self.tr("Store the model as (Q8_0 suits GPT-2 and DistilGPT-2; Q5_K_M or Q4_K_M "
                    "the larger ones):"),
            types,
            types.index("Q8_0"),
            False,
        )  # fmt: skip
        if ok:
            self.import_folder(folder, quant)

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setVisible(busy)
        self.progress_bar.setVisible(busy)
        self.open_button.setEnabled(not busy)
        self.folder_button.setEnabled(not busy)
        for r in range(self.catalog_table.rowCount()):
            widget = self.catalog_table.cellWidget(r, 4)
            if isinstance(widget, QPushButton) and widget.text() != self.tr("Installed"):
                widget.setEnabled(not busy)
        self._selection_changed()

    def _job_started(self, title: str) -> None:
        self._set_busy(True)
        self.progress_bar.setValue(0)
        self.progress_label.setText(title + "…")

    def _job_progress(self, p: InstallProgress) -> None:
        self.progress_bar.setValue(int(p.fraction * 1000))
        self.progress_label.setText(describe_progress(p))

    def _job_finished(self, model: StoredModel) -> None:
        self._set_busy(False)
        self.progress_label.setText(tr_format(self.tr("Added %1."), model.name))
        self.refresh()
        self.select_model(model.id)

    def _job_failed(self, message: str, cancelled: bool) -> None:
        self._set_busy(False)
        self.progress_label.setText(self.tr("Cancelled.") if cancelled else translated(message))
        self.refresh()
