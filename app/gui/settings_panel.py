"""The settings panel: sampling, suggestions, runtime and presets, in a dock.

Every control is generated from one table (:data:`FIELDS`) whose ranges come from the
core's own validation tables, so a widget can never offer a value the core would refuse,
and a value the core refuses anyway (a combination) is reported, not applied. Changes
apply to the next request; the window persists them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.llama_runtime import build_info
from app.core.postprocess import SuggestionMode
from app.core.sampling import PRESETS, RANGES, SamplingSettings, SettingError
from app.core.secrets import clear_text_host, keychain_state
from app.core.settings import (
    CONFIDENCE_LEVELS,
    RUNTIME_RANGES,
    SUGGESTION_RANGES,
    AppSettings,
    delete_preset,
    rename_preset,
    save_preset,
)
from app.core.texts import message_of
from app.gui.i18n import QT_TRANSLATE_NOOP, tr_format, translated
from app.gui.sampler_chart import SamplerChart


@dataclass(frozen=True)
class Field:
    section: str  # "sampling", "suggestions" or "runtime"
    name: str
    label: str
    tip: str
    step: float = 1.0
    decimals: int = 2
    none_label: str = ""  # for optional values: the checkbox that means "unset"
    minimum_label: str = ""  # what the lowest value means, shown instead of it


FIELDS: tuple[Field, ...] = (
    Field("sampling", "temperature", QT_TRANSLATE_NOOP("SettingsPanel", "Temperature"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "How bold the choice of each next word is. 0 always takes the likeliest word;"
              " higher values spread the chances over more words."),
          0.05),
    Field("sampling", "top_k", QT_TRANSLATE_NOOP("SettingsPanel", "Top-k"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Consider only the k likeliest next tokens. 0 turns it off.")),
    Field("sampling", "top_p", QT_TRANSLATE_NOOP("SettingsPanel", "Top-p"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Keep the likeliest tokens until their chances add up to p (nucleus "
              "sampling). 1 turns it off."),
          0.01),
    Field("sampling", "min_p", QT_TRANSLATE_NOOP("SettingsPanel", "Min-p"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Drop tokens less likely than min-p times the likeliest one. 0 turns it off."),
          0.01),
    Field("sampling", "typical_p", QT_TRANSLATE_NOOP("SettingsPanel", "Typical-p"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Prefer tokens about as surprising as the text usually is (locally typical "
              "sampling). 1 turns it off."),
          0.01),
    Field("sampling", "repeat_penalty", QT_TRANSLATE_NOOP("SettingsPanel", "Repeat penalty"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Make words that appeared recently less likely. 1 turns it off."),
          0.01),
    Field("sampling", "repeat_last_n", QT_TRANSLATE_NOOP("SettingsPanel", "Repeat window"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "How many recent tokens the repeat, presence and frequency penalties look at.")),
    Field("sampling", "presence_penalty", QT_TRANSLATE_NOOP("SettingsPanel", "Presence penalty"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Lower the chance of any token already present in the window."),
          0.05),
    Field("sampling", "frequency_penalty", QT_TRANSLATE_NOOP("SettingsPanel", "Frequency penalty"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Lower a token's chance more the more often it appears in the window."),
          0.05),
    Field("sampling", "seed", QT_TRANSLATE_NOOP("SettingsPanel", "Seed"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "A fixed seed makes each suggestion repeatable; unticked draws a new one each"
              " time."),
          none_label=QT_TRANSLATE_NOOP("SettingsPanel", "Fixed")),
    Field("suggestions", "max_tokens", QT_TRANSLATE_NOOP("SettingsPanel", "Max tokens"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "The longest suggestion, in tokens (about ¾ of a word each).")),
    Field("suggestions", "n_alternatives", QT_TRANSLATE_NOOP("SettingsPanel", "Alternatives"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "How many alternatives Alt+] / Alt+[ cycle through.")),
    Field("suggestions", "debounce_ms", QT_TRANSLATE_NOOP("SettingsPanel", "Debounce base (ms)"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "The shortest pause after typing before a suggestion is asked for; Ghostpen "
              "waits longer when you type slowly.")),
    Field("suggestions", "draft_tokens", QT_TRANSLATE_NOOP("SettingsPanel", "Draft length"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "How many tokens Generate Draft writes at most.")),
    Field("runtime", "n_threads", QT_TRANSLATE_NOOP("SettingsPanel", "Threads"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "CPU threads for the model. Unticked lets Ghostpen choose."),
          none_label=QT_TRANSLATE_NOOP("SettingsPanel", "Set")),
    Field("runtime", "n_gpu_layers", QT_TRANSLATE_NOOP("SettingsPanel", "GPU layers"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Layers of the model run on the GPU (all: every one). Needs a GPU build of "
              "llama.cpp."),
          minimum_label=QT_TRANSLATE_NOOP("SettingsPanel", "all")),
    Field("runtime", "n_ctx", QT_TRANSLATE_NOOP("SettingsPanel", "Context size"),
          QT_TRANSLATE_NOOP("SettingsPanel",
              "Tokens the model can see at once; never above the model's own context "
              "length."),
          none_label=QT_TRANSLATE_NOOP("SettingsPanel", "Set")),
)  # fmt: skip

_RANGES = {"sampling": RANGES, "suggestions": SUGGESTION_RANGES, "runtime": RUNTIME_RANGES}

#: The suggestion lengths' names in the Length box (values: ``SuggestionMode``).
MODE_LABELS = {
    SuggestionMode.WORD: QT_TRANSLATE_NOOP("SettingsPanel", "Word"),
    SuggestionMode.PHRASE: QT_TRANSLATE_NOOP("SettingsPanel", "Phrase"),
    SuggestionMode.SENTENCE: QT_TRANSLATE_NOOP("SettingsPanel", "Sentence"),
    SuggestionMode.LINE: QT_TRANSLATE_NOOP("SettingsPanel", "Line"),
    SuggestionMode.PARAGRAPH: QT_TRANSLATE_NOOP("SettingsPanel", "Paragraph"),
}


#: The "Suggest when" choices (values: ``CONFIDENCE_LEVELS``).
CONFIDENCE_LABELS = {
    "always": QT_TRANSLATE_NOOP("SettingsPanel", "Always"),
    "fairly_sure": QT_TRANSLATE_NOOP("SettingsPanel", "Fairly sure"),
    "very_sure": QT_TRANSLATE_NOOP("SettingsPanel", "Very sure"),
}


class SettingsPanel(QDockWidget):
    """Emits ``settingsChanged`` with a whole, validated :class:`AppSettings`."""

    settingsChanged = Signal(object)

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Settings"), parent)
        self.setObjectName("settingsPanel")
        self._settings = settings
        self._updating = False
        self.controls: dict[str, tuple[QSpinBox | QDoubleSpinBox, QCheckBox | None]] = {}
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setAccessibleName(self.tr("Settings error"))
        self.error.hide()

        body = QWidget()
        layout = QVBoxLayout(body)
        chart_box = QGroupBox(self.tr("Next word at the cursor"))
        chart_layout = QVBoxLayout(chart_box)
        self.chart = SamplerChart()
        chart_layout.addWidget(self.chart)
        layout.addWidget(chart_box)
        layout.addWidget(self._presets_box())
        for section, title in (
            ("sampling", self.tr("Sampling")),
            ("suggestions", self.tr("Suggestions")),
            ("runtime", self.tr("Runtime")),
        ):
            layout.addWidget(self._section_box(section, title))
        layout.addWidget(self.error)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.set_settings(settings)

    # ----------------------------------------------------------------- construction

    def _section_box(self, section: str, title: str) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        if section == "suggestions":
            self.auto = QCheckBox(self.tr("Suggest while typing"))
            self.auto.setToolTip(self.tr("Off: suggestions come only with Alt+\\."))
            self.auto.toggled.connect(lambda on: self._apply("suggestions", "auto_suggest", on))
            form.addRow(self.auto)
            self.mode = QComboBox()
            for mode in SuggestionMode:
                self.mode.addItem(
                    self.tr(MODE_LABELS.get(mode, mode.value.capitalize())), mode.value
                )
            self.mode.setToolTip(
                self.tr(
                    "How much one suggestion shows: a word, a phrase, "
                    "a sentence, the rest of the line or a paragraph."
                )
            )
            self.mode.currentIndexChanged.connect(
                lambda _i: self._apply("suggestions", "mode", self.mode.currentData())
            )
            form.addRow(self.tr("Length"), self.mode)
            self.suggest_when = QComboBox()
            for level in CONFIDENCE_LEVELS:
                self.suggest_when.addItem(self.tr(CONFIDENCE_LABELS[level]), level)
            self.suggest_when.setToolTip(
                self.tr(
                    "How sure the model must be of a suggestion's words to show them. A "
                    "suggestion stops where the model starts guessing; Always shows "
                    "whatever it writes."
                )
            )
            self.suggest_when.currentIndexChanged.connect(
                lambda _i: self._apply(
                    "suggestions", "suggest_when", self.suggest_when.currentData()
                )
            )
            form.addRow(self.tr("Suggest when"), self.suggest_when)
            self.likeliest = QCheckBox(self.tr("Likeliest words"))
            self.likeliest.setToolTip(
                self.tr(
                    "On: a suggestion is the model's likeliest words, the ones most often "
                    "right. Off: it is drawn with the sampling settings, as drafts are."
                )
            )
            self.likeliest.toggled.connect(lambda on: self._apply("suggestions", "likeliest", on))
            form.addRow(self.likeliest)
        for field in (f for f in FIELDS if f.section == section):
            form.addRow(self.tr(field.label), self._control(field))
        if section == "runtime":
            self._backend_rows(form)
        return box

    def _backend_rows(self, form: QFormLayout) -> None:
        """Where the model runs: in-process llama.cpp, or an OpenAI-compatible server."""
        build = build_info()
        offload = tr_format(self.tr("GPU offload: %1"), build.backend) if build.gpu_offload \
            else self.tr("CPU only (no GPU offload in this build)")  # fmt: skip
        self.build_label = QLabel(f"llama.cpp {build.version} · {offload}")
        self.build_label.setWordWrap(True)
        self.build_label.setToolTip(build.system_info)
        form.addRow(self.tr("Build"), self.build_label)
        self.backend = QComboBox()
        self.backend.addItem(self.tr("This computer (llama.cpp)"), "local")
        self.backend.addItem(self.tr("Server (OpenAI-compatible)"), "remote")
        self.backend.setToolTip(
            self.tr(
                "Run the model here, or send requests to a llama.cpp server (llama-server, "
                "llama-cpp-python's server or any /v1/completions server) on a bigger machine."
            )
        )
        self.backend.setAccessibleName(self.tr("Backend"))
        self.backend.activated.connect(lambda _i: self._apply_backend())
        form.addRow(self.tr("Backend"), self.backend)
        self.remote_url = QLineEdit()
        self.remote_url.setPlaceholderText("http://192.168.1.20:8080")
        self.remote_url.setToolTip(self.tr("The server's address; /v1 is added when missing."))
        self.remote_url.setAccessibleName(self.tr("Server URL"))
        self.remote_url.editingFinished.connect(self._apply_backend)
        form.addRow(self.tr("Server URL"), self.remote_url)
        self.remote_key = QLineEdit()
        self.remote_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.remote_key.setPlaceholderText(self.tr("optional"))
        self.remote_key.setToolTip(
            self.tr(
                "Sent as a bearer token; kept in the system keychain, or in your settings "
                "file where there is none."
            )
        )
        self.remote_key.setAccessibleName(self.tr("API key"))
        self.remote_key.editingFinished.connect(self._apply_backend)
        form.addRow(self.tr("API key"), self.remote_key)
        self._key_rows(form)

    def _key_rows(self, form: QFormLayout) -> None:
        """Where the key is kept, and the warning before it would cross a network unencrypted.

        A server at a plain ``http://`` address on another computer with a key is not used
        until the writer says so with *Use this server anyway*: the key cannot be taken
        back once sent, and one click per server and key is the least that is honest.
        What the settings file already held was accepted when it was written, so it only
        shows the warning.
        """
        self._accepted: set[tuple[str, str]] = set()  # (url, key) the writer let go in clear
        self.key_note = QLabel()
        self.key_note.setWordWrap(True)
        self.key_note.setAccessibleName(self.tr("Where the API key is kept"))
        form.addRow(self.key_note)
        self.clear_text = QLabel()
        self.clear_text.setWordWrap(True)
        self.clear_text.setStyleSheet("color: #b3261e;")
        self.clear_text.setAccessibleName(self.tr("API key sent in clear text"))
        form.addRow(self.clear_text)
        self.send_anyway = QPushButton(self.tr("Use this server anyway"))
        self.send_anyway.setAccessibleName(self.tr("Use this server anyway"))
        self.send_anyway.setToolTip(
            self.tr("Connect and send the API key over plain http:// for this server and key.")
        )
        self.send_anyway.clicked.connect(self._accept_clear_text)
        form.addRow(self.send_anyway)
        for edit in (self.remote_url, self.remote_key):
            edit.textChanged.connect(lambda _t: self._refresh_key_rows())
        self.backend.currentIndexChanged.connect(lambda _i: self._refresh_key_rows())

    def _backend_fields(self) -> tuple[str, str | None, str | None]:
        url = self.remote_url.text().strip() or None
        key = self.remote_key.text().strip() or None
        return str(self.backend.currentData()), url, key

    def _held_back(self) -> bool:
        """True while the fields would send a key in clear text the writer has not let go."""
        backend, url, key = self._backend_fields()
        return (
            backend == "remote"
            and url is not None
            and key is not None
            and clear_text_host(url) is not None
            and (url, key) not in self._accepted
        )

    def _refresh_key_rows(self) -> None:
        _backend, url, key = self._backend_fields()
        host = clear_text_host(url) if key else None
        self.clear_text.setVisible(host is not None)
        if host is not None:
            self.clear_text.setText(
                tr_format(
                    self.tr(
                        "%1 is reached over plain http://: the API key would cross the network "
                        "unencrypted, for anyone on the way to read. Use https:// if the server "
                        "offers it."
                    ),
                    host,
                )
            )
        self.send_anyway.setVisible(self._held_back())
        self.key_note.setVisible(key is not None)
        if key is not None:
            self.key_note.setText(self._key_place())

    def _key_place(self) -> str:
        state = keychain_state()
        if state.usable:
            return self.tr("Stored in the system keychain.")
        if state.failure is None:
            return self.tr("No system keychain: stored in the settings file, readable only by you.")
        failed = self.tr(
            "The system keychain failed (%1): stored in the settings file, readable only by you."
        )
        return tr_format(failed, state.failure)

    def _accept_clear_text(self) -> None:
        _backend, url, key = self._backend_fields()
        if url is not None and key is not None:
            self._accepted.add((url, key))
        self._apply_backend()

    def _apply_backend(self) -> None:
        if self._updating:
            return
        runtime = self._settings.runtime
        url = self.remote_url.text().strip() or None
        key = self.remote_key.text().strip() or None
        backend = str(self.backend.currentData())
        if (backend, url, key) == (runtime.backend, runtime.remote_url, runtime.remote_api_key):
            return
        if self._held_back():
            self._refresh_key_rows()  # nothing is sent until the writer says so
            return
        try:
            updated = dataclasses.replace(
                runtime, backend=backend, remote_url=url, remote_api_key=key
            )
        except SettingError as exc:
            self.show_error(str(exc))
            return
        if backend == "remote" and url is None:
            self.show_error(self.tr("Enter the server's URL to use it."))
            self.remote_url.setFocus()
            return
        self._emit(dataclasses.replace(self._settings, runtime=updated))

    def _control(self, field: Field) -> QWidget:
        rule = _RANGES[field.section][field.name]
        spin: QSpinBox | QDoubleSpinBox
        if rule.integer:
            spin = QSpinBox()
            spin.setRange(int(rule.low), int(min(rule.high, 2**31 - 1)))
            if field.minimum_label:  # GPU layers: -1 is "all"
                spin.setSpecialValueText(self.tr(field.minimum_label))
            spin.valueChanged.connect(lambda _v, f=field: self._changed(f))
        else:
            spin = QDoubleSpinBox()
            spin.setDecimals(field.decimals)
            spin.setSingleStep(field.step)
            spin.setRange(rule.low, rule.high)
            spin.valueChanged.connect(lambda _v, f=field: self._changed(f))
        tip = self.tr(field.tip)
        spin.setToolTip(tip)
        spin.setAccessibleName(self.tr(field.label))
        toggle: QCheckBox | None = None
        widget: QWidget = spin
        if field.none_label:
            toggle = QCheckBox(self.tr(field.none_label))
            toggle.setToolTip(tip)
            toggle.setAccessibleName(
                tr_format(self.tr("%1: %2"), self.tr(field.label), self.tr(field.none_label))
            )
            toggle.toggled.connect(lambda _on, f=field: self._changed(f))
            widget = QWidget()
            row = QHBoxLayout(widget)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(toggle)
            row.addWidget(spin, 1)
        self.controls[f"{field.section}.{field.name}"] = (spin, toggle)
        return widget

    def _presets_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Presets"))
        row = QHBoxLayout(box)
        self.presets = QComboBox()
        self.presets.setToolTip(self.tr("Ready-made sampling settings, and your own."))
        self.presets.setAccessibleName(self.tr("Preset"))
        self.presets.activated.connect(lambda _i: self.apply_preset(self.presets.currentText()))
        row.addWidget(self.presets, 1)
        buttons: list[tuple[str, str, str, Callable[[], Any]]] = [
            (self.tr("Save…"), self.tr("Save preset…"),
             self.tr("Save the current sampling as a preset"), self._save),
            (self.tr("Rename…"), self.tr("Rename preset…"),
             self.tr("Rename the chosen preset of yours"), self._rename),
            (self.tr("Delete"), self.tr("Delete preset"),
             self.tr("Delete the chosen preset of yours"), self._delete),
            (self.tr("Reset"), self.tr("Reset sampling"),
             self.tr("Back to the default sampling"), self.reset),
        ]  # fmt: skip
        for text, name, tip, slot in buttons:
            button = QPushButton(text)
            button.setAccessibleName(name)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
        return box

    def focus_first(self) -> None:
        """Put the keyboard in the panel (its first control), as View ▸ Settings Panel does."""
        self.presets.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ----------------------------------------------------------------- state

    @property
    def settings(self) -> AppSettings:
        return self._settings

    def set_settings(self, settings: AppSettings) -> None:
        """Show ``settings`` without emitting anything."""
        self._settings = settings
        self._updating = True
        try:
            for key, (spin, toggle) in self.controls.items():
                section, name = key.split(".")
                value = getattr(getattr(settings, section), name)
                if toggle is not None:
                    toggle.setChecked(value is not None)
                    spin.setEnabled(value is not None)
                if value is not None:
                    spin.setValue(value)
            self.auto.setChecked(settings.suggestions.auto_suggest)
            self.likeliest.setChecked(settings.suggestions.likeliest)
            runtime = settings.runtime
            self.backend.setCurrentIndex(max(0, self.backend.findData(runtime.backend)))
            self.remote_url.setText(runtime.remote_url or "")
            self.remote_key.setText(runtime.remote_api_key or "")
            if runtime.backend == "remote" and runtime.remote_url and runtime.remote_api_key:
                self._accepted.add((runtime.remote_url, runtime.remote_api_key))  # in use
            self.mode.setCurrentIndex(max(0, self.mode.findData(settings.suggestions.mode)))
            level = settings.suggestions.suggest_when
            self.suggest_when.setCurrentIndex(max(0, self.suggest_when.findData(level)))
            self.presets.clear()
            choices = {**PRESETS, **dict(settings.user_presets)}
            self.presets.addItems(list(choices))
            # The preset the sampling is exactly, if any: blank once a control moves off it.
            active = [n for n, preset in choices.items() if preset == settings.sampling]
            self.presets.setCurrentIndex(self.presets.findText(active[0]) if active else -1)
        finally:
            self._updating = False
        self._refresh_key_rows()

    def set_model_limits(self, context_length: int | None, gpu_offload: bool) -> None:
        """The context can never exceed the model's; GPU layers need a GPU build."""
        spin, _toggle = self.controls["runtime.n_ctx"]
        if isinstance(spin, QSpinBox):
            spin.setMaximum(context_length or int(RUNTIME_RANGES["n_ctx"].high))
        gpu, _ = self.controls["runtime.n_gpu_layers"]
        gpu.setEnabled(gpu_offload)
        gpu.setToolTip(
            gpu.toolTip().split("\n")[0]
            + ("" if gpu_offload else "\n" + self.tr("This llama.cpp build runs on the CPU only."))
        )

    def _changed(self, field: Field) -> None:
        spin, toggle = self.controls[f"{field.section}.{field.name}"]
        if toggle is not None:
            spin.setEnabled(toggle.isChecked())
        value: Any = spin.value()
        if toggle is not None and not toggle.isChecked():
            value = None
        self._apply(field.section, field.name, value)

    def _apply(self, section: str, name: str, value: Any) -> None:
        if self._updating:
            return
        try:
            updated = dataclasses.replace(getattr(self._settings, section), **{name: value})
        except SettingError as exc:
            self.show_error(str(exc))
            self.set_settings(self._settings)
            return
        self._emit(dataclasses.replace(self._settings, **{section: updated}))

    def _emit(self, settings: AppSettings) -> None:
        self.show_error("")
        self.set_settings(settings)
        self.settingsChanged.emit(settings)
        self._refresh_key_rows()  # saving may have found the keychain failing

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    # ----------------------------------------------------------------- presets

    def apply_preset(self, name: str) -> None:
        user = dict(self._settings.user_presets)
        sampling = user.get(name) or PRESETS.get(name)
        if sampling is not None:
            self._emit(dataclasses.replace(self._settings, sampling=sampling))

    def reset(self) -> None:
        self._emit(dataclasses.replace(self._settings, sampling=SamplingSettings()))

    def _ask(self, title: str, label: str, text: str = "") -> str | None:
        name, ok = QInputDialog.getText(self, title, label, text=text)
        return name.strip() if ok and name.strip() else None

    def _save(self) -> None:
        name = self._ask(self.tr("Save preset"), self.tr("Name:"))
        if name:
            self._preset_op(lambda s: save_preset(s, name, s.sampling))

    def _rename(self) -> None:
        old = self.presets.currentText()
        new = self._ask(self.tr("Rename preset"), self.tr("New name:"), old)
        if old and new:
            self._preset_op(lambda s: rename_preset(s, old, new))

    def _delete(self) -> None:
        name = self.presets.currentText()
        if name:
            self._preset_op(lambda s: delete_preset(s, name))

    def _preset_op(self, op: Callable[[AppSettings], AppSettings]) -> None:
        try:
            self._emit(op(self._settings))
        except SettingError as exc:  # the preset rules' messages are the core's Texts
            self.show_error(translated(message_of(exc)))
