"""Help ▸ About Ghostpen: versions for bug reports and the licences of what ships.

The versions are read from the running program (never typed in), and the Copy button
puts them on the clipboard as plain text, since that is what a bug report needs. The
model's licence comes from the model store's manifest (the offline model keeps its
terms beside it, shown by the same viewer as the model manager's Licence… button).
"""

from __future__ import annotations

import html
import platform
from dataclasses import dataclass

import PySide6
from PySide6.QtCore import QCoreApplication, Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core.llama_runtime import BuildInfo, build_info
from app.core.model_store import ModelStore, StoredModel, licence_of
from app.gui.i18n import QT_TRANSLATE_NOOP
from app.gui.model_manager import show_licence
from app.gui.worker import LoadedModel

#: The texts outside the dialog's own methods are in its translation context,
#: "AboutDialog", spelled out in each call: lupdate reads string literals only.

#: (component, SPDX licence, where it comes from). Ghostpen's own first, then what the
#: app and its bundle ship; checked against the installed packages' metadata.
LICENCES: tuple[tuple[str, str, str], ...] = (
    ("Ghostpen", "MIT", ""),
    ("llama.cpp", "MIT", "https://github.com/ggml-org/llama.cpp"),
    ("ggml", "MIT", "https://github.com/ggml-org/ggml"),
    ("llama-cpp-python", "MIT", "https://github.com/abetlen/llama-cpp-python"),
    ("Qt", "LGPL-3.0-only", "https://www.qt.io"),
    ("PySide6, Shiboken6", "LGPL-3.0-only", "https://doc.qt.io/qtforpython-6/"),
    ("Python", "PSF-2.0", "https://www.python.org"),
    ("NumPy", "BSD-3-Clause", "https://numpy.org"),
    ("gguf", "MIT", "https://github.com/ggml-org/llama.cpp/tree/master/gguf-py"),
    ("safetensors", "Apache-2.0", "https://github.com/huggingface/safetensors"),
    ("huggingface_hub", "Apache-2.0", "https://github.com/huggingface/huggingface_hub"),
    ("platformdirs", "MIT", "https://github.com/tox-dev/platformdirs"),
)
LGPL_NOTE = str(
    QT_TRANSLATE_NOOP(
        "AboutDialog",
        "Qt and PySide6 are used under the GNU Lesser General Public License version 3: "
        "they are separate libraries, which you may replace with your own builds.",
    )
)


def spdx_url(licence: str) -> str:
    return f"https://spdx.org/licenses/{licence}.html"


@dataclass(frozen=True)
class ModelLicence:
    """The licence of the model in use, as far as Ghostpen knows it."""

    model: str
    licence: str
    url: str = ""
    stored: StoredModel | None = None  # in the store: its manifest, maybe the full text


def model_licence(model: LoadedModel | None, store: ModelStore) -> ModelLicence | None:
    """From the store's manifest when the model is there, else what the GGUF declares."""
    if model is None:
        return None
    if model.remote or model.info is None:
        return ModelLicence(
            model.name or model.source,
            QCoreApplication.translate("AboutDialog", "set by the server you connect to"),
        )
    stored = store.find_path(model.source)
    if stored is not None:
        m = stored.manifest
        return ModelLicence(m.name, m.licence, m.licence_url, stored)
    licence, url = licence_of(model.info)
    return ModelLicence(model.info.name or model.name, licence, url)


def versions(build: BuildInfo) -> list[tuple[str, str]]:
    """(component, version) of the running program, for the dialog and bug reports."""
    offload = (
        build.backend
        if build.gpu_offload
        else QCoreApplication.translate("AboutDialog", "CPU only")
    )
    return [
        ("Ghostpen", __version__),
        ("llama-cpp-python", build.version),
        ("llama.cpp", offload),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        (QCoreApplication.translate("AboutDialog", "System"), platform.platform()),
    ]


def version_report(build: BuildInfo, licence: ModelLicence | None) -> str:
    """The plain text the Copy button puts on the clipboard."""
    lines = [f"{name}: {value}" for name, value in versions(build)]
    if build.system_info:
        lines.append(f"llama.cpp system info: {build.system_info}")
    if licence is not None:
        model = QCoreApplication.translate("AboutDialog", "Model")
        lines.append(f"{model}: {licence.model} ({licence.licence})")
    return "\n".join(lines)


def _link(url: str, text: str) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>' if url else html.escape(text)


def about_html(build: BuildInfo, licence: ModelLicence | None) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
        for name, value in versions(build)
    )
    shipped = "".join(
        f"<tr><td>{_link(url, name)}</td><td>{_link(spdx_url(spdx), spdx)}</td></tr>"
        for name, spdx, url in LICENCES
    )
    if licence is None:
        none = QCoreApplication.translate("AboutDialog", "No model is loaded.")
        model = f"<p>{html.escape(none)}</p>"
    else:
        model = f"<p>{html.escape(licence.model)}: {_link(licence.url, licence.licence)}</p>"
    titles = (
        QCoreApplication.translate("AboutDialog", "Versions"),
        QCoreApplication.translate("AboutDialog", "Model in use"),
        QCoreApplication.translate("AboutDialog", "Licences"),
    )
    versions_title, model_title, licences_title = (html.escape(t) for t in titles)
    return (
        f"<h3>{versions_title}</h3><table cellpadding='2'>{rows}</table>"
        f"<h3>{model_title}</h3>{model}"
        f"<h3>{licences_title}</h3><table cellpadding='2'>{shipped}</table>"
        f"<p>{html.escape(QCoreApplication.translate('AboutDialog', LGPL_NOTE))}</p>"
    )


class AboutDialog(QDialog):
    def __init__(
        self,
        model: LoadedModel | None,
        store: ModelStore,
        parent: QWidget | None = None,
        build: BuildInfo | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("About Ghostpen"))
        self.setObjectName("aboutDialog")
        self.resize(560, 600)
        self.build = build or (model.build if model is not None else build_info())
        self.licence = model_licence(model, store)

        icon = QLabel()
        icon.setPixmap(QGuiApplication.windowIcon().pixmap(64, 64))
        icon.setAccessibleName(self.tr("Ghostpen icon"))
        title = QLabel(
            f"<h2>Ghostpen {html.escape(__version__)}</h2><p>"
            + html.escape(self.tr("A writing assistant whose suggestions come from a "
                                  "language model on your own computer."))
            + "</p>"
        )  # fmt: skip
        title.setWordWrap(True)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header = QHBoxLayout()
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(title, 1)

        self.details = QTextBrowser()
        self.details.setOpenExternalLinks(True)
        self.details.setHtml(about_html(self.build, self.licence))
        self.details.setAccessibleName(self.tr("Versions and licences"))

        buttons = QDialogButtonBox()
        self.copy_button = QPushButton(self.tr("&Copy Version Info"))
        self.copy_button.setToolTip(self.tr("For a bug report: paste it where you describe it"))
        self.copy_button.clicked.connect(self.copy_versions)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.licence_button = QPushButton(self.tr("Model &Licence…"))
        stored = self.licence.stored if self.licence is not None else None
        self.licence_button.setEnabled(stored is not None)
        self.licence_button.clicked.connect(self.show_model_licence)
        buttons.addButton(self.licence_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        close.setFocus()

    def report(self) -> str:
        return version_report(self.build, self.licence)

    def copy_versions(self) -> None:
        QGuiApplication.clipboard().setText(self.report())

    def show_model_licence(self) -> QDialog | None:
        stored = self.licence.stored if self.licence is not None else None
        return show_licence(stored, self) if stored is not None else None
