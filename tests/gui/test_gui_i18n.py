"""What the writer reads is translated, the core's messages too, with arguments filled once.

A real translation is compiled from a small .ts file with Qt's own lrelease and installed
in the application, as ``install_translators`` does at start.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTranslator
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.documents import DEFAULT_FORMAT, DiskStamp, load_document
from app.core.journal import JournalEntry, JournalStore, Snapshot, new_doc_id
from app.core.model_install import InstallProgress
from app.core.model_store import ModelStore
from app.core.paths import AppPaths
from app.core.texts import QT_TRANSLATE_NOOP, Text
from app.gui.i18n import tr_format, translated
from app.gui.main_window import MainWindow
from app.gui.model_manager import describe_progress
from app.gui.recovery import RecoveryDialog
from tests.support.gui import WAIT_MS, close_window, greedy_settings, open_window
from tests.support.models import TestModel

GUI = Path(__file__).resolve().parents[2] / "app" / "gui"


def _lrelease() -> str | None:
    beside = Path(sys.executable).parent / "pyside6-lrelease"
    return str(beside) if beside.exists() else shutil.which("pyside6-lrelease")


def _message(source: str, translation: str) -> str:
    return f"<message><source>{source}</source><translation>{translation}</translation></message>"


_FRENCH = f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr" sourcelanguage="en">
<context><name>Documents</name>
  {_message("Cannot open “%1”: %2", "Impossible d’ouvrir « %1 » : %2")}
  {_message("Cannot save “%1”: %2", "Impossible d’enregistrer « %1 » : %2")}
  {_message("the file does not exist (it may have been moved, renamed or deleted).",
            "le fichier n’existe pas (il a peut-être été déplacé, renommé ou supprimé).")}
  {_message("the folder “%1” does not exist (it may have been moved or deleted).",
            "le dossier « %1 » n’existe pas (il a peut-être été déplacé ou supprimé).")}
</context>
<context><name>DocumentController</name>
  {_message("Not saved: %1", "Non enregistré : %1")}
</context>
<context><name>MainWindow</name>
  {_message("Settings: %1", "Réglages : %1")}
</context>
<context><name>Settings</name>
  {_message("%1: %2", "%1 : %2")}
  {_message("setting %1 is %2 but %3; clamped to %4",
            "le réglage %1 vaut %2 mais %3 ; ramené à %4")}
  {_message("must be a number from %1 to %2", "doit être un nombre de %1 à %2")}
  {_message("unknown setting %1 ignored", "réglage inconnu %1 ignoré")}
  {_message("setting '%1.name': %2; preset dropped",
            "le réglage « %1.name » : %2 ; préréglage abandonné")}
  {_message("a preset name must not be empty", "le nom d’un préréglage ne doit pas être vide")}
</context>
<context><name>App</name>
  {_message("The model %1 is gone; using %2 instead.", "Le modèle %1 a disparu ; %2 le remplace.")}
</context>
<context><name>ModelChoice</name>
  {_message("installed model %1", "le modèle installé %1")}
</context>
<context><name>ModelStore</name>
  {_message("%1: skipped, the manifest is unreadable (%2)",
            "%1 : ignoré, le manifeste est illisible (%2)")}
  {_message("%1: not a JSON object", "%1 : pas un objet JSON")}
  {_message("no installed model called %1 (installed: %2)",
            "aucun modèle installé ne s’appelle %1 (installés : %2)")}
  {_message("none installed", "aucun")}
  {_message("%1 is already in the store as %2",
            "%1 est déjà dans la bibliothèque sous l’identifiant %2")}
</context>
<context><name>ModelJobs</name>
  {_message("%1: %2", "%1 : %2")}
  {_message("Quantize", "Quantification")}
</context>
<context><name>ModelInstall</name>
  {_message("quantizing %1", "quantification de %1")}
</context>
<context><name>Journal</name>
  {_message("Unsaved changes to “%1”: %2 line(s) added or changed, %3 removed, "
            "compared with the file on disk now.",
            "Modifications non enregistrées de « %1 » : %2 ligne(s) ajoutée(s) ou "
            "modifiée(s), %3 supprimée(s), par rapport au fichier sur le disque.")}
  {_message("Another program also changed the file on disk after the crashed session "
            "opened it.", "Un autre programme a aussi modifié le fichier.")}
  {_message("Untitled: “%1”", "Sans titre : « %1 »")}
</context>
</TS>
"""  # fmt: skip


@pytest.fixture
def french(qapp: QApplication, tmp_path: Path) -> Iterator[QTranslator]:
    """The French above, compiled by lrelease and installed in the application."""
    lrelease = _lrelease()
    if lrelease is None:
        pytest.skip("pyside6-lrelease not installed")
    ts, qm = tmp_path / "ghostpen_fr.ts", tmp_path / "ghostpen_fr.qm"
    ts.write_text(_FRENCH, encoding="utf-8")
    subprocess.run([lrelease, str(ts), "-qm", str(qm)], check=True, capture_output=True, timeout=60)
    translator = QTranslator()
    assert translator.load(str(qm))
    assert qapp.installTranslator(translator)
    yield translator
    qapp.removeTranslator(translator)


def test_tr_format_fills_qt_placeholders_in_one_pass() -> None:
    # Chained .replace("%1", a).replace("%2", b) would fill the "%2" inside a as well.
    assert tr_format("Recovered %1 (autosaved %2)", "50%2.txt", "09:30") == (
        "Recovered 50%2.txt (autosaved 09:30)"
    )
    assert tr_format("%2, then %1", 1, Path("/a")) == "/a, then 1"
    assert tr_format("%1: %2", "only one") == "only one: %2"


def test_a_core_text_is_translated_with_its_arguments(french: QTranslator) -> None:
    reason = QT_TRANSLATE_NOOP(
        "Documents", "the folder “%1” does not exist (it may have been moved or deleted)."
    ).arg("/x/%1")
    error = QT_TRANSLATE_NOOP("Documents", "Cannot save “%1”: %2").arg("/x/%2/a.txt", reason)
    assert translated(error) == (
        "Impossible d’enregistrer « /x/%2/a.txt » : "
        "le dossier « /x/%1 » n’existe pas (il a peut-être été déplacé ou supprimé)."
    )
    assert str(error).startswith("Cannot save “/x/%2/a.txt”: the folder")  # English kept
    untranslated = Text("Nowhere", "No translation for %1").arg(reason)
    assert translated(untranslated).startswith("No translation for le dossier « /x/%1 »")
    assert translated("a plain %1 string") == "a plain %1 string"


def test_a_document_error_reaches_the_banner_translated(
    bare_window: MainWindow, french: QTranslator, tmp_path: Path
) -> None:
    missing = tmp_path / "50%2 of it.txt"
    assert not bare_window.document_controller.open_file(missing)
    assert bare_window.banner.text() == (
        f"Impossible d’ouvrir « {missing} » : "
        "le fichier n’existe pas (il a peut-être été déplacé, renommé ou supprimé)."
    )
    bare_window.editor.setPlainText("words")
    target = tmp_path / "gone" / "draft.txt"
    assert not bare_window.document_controller.save_to(target)
    assert bare_window.banner.text() == (
        f"Non enregistré : Impossible d’enregistrer « {target} » : le dossier « {target.parent} »"
        " n’existe pas (il a peut-être été déplacé ou supprimé)."
    )


def test_settings_warnings_reach_the_banner_translated(qtbot: QtBot, french: QTranslator) -> None:
    settings = AppPaths.default().settings_file
    settings.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "sampling": {"temperature": 99},
        "user_presets": [{"name": " ", "sampling": {}}],
        "zzz": 1,
    }
    settings.write_text(json.dumps(data), encoding="utf-8")
    window = open_window(qtbot, None)
    try:
        assert window.banner.text() == (
            f"Réglages : {settings} : le réglage 'sampling.temperature' vaut 99 mais doit être "
            f"un nombre de 0 à 5 ; ramené à 5.0 {settings} : le réglage « user_presets[0].name » : "
            f"le nom d’un préréglage ne doit pas être vide ; préréglage abandonné "
            f"{settings} : réglage inconnu 'zzz' ignoré"
        )
        assert window.settings.sampling.temperature == 5.0
    finally:
        close_window(window)


def test_model_store_errors_reach_the_model_manager_translated(
    qtbot: QtBot,
    bare_window: MainWindow,
    french: QTranslator,
    tiny_model: TestModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("app.gui.model_manager.find_package", lambda: None)
    models = bare_window.model_controller
    broken = models.store.root / "broken" / "manifest.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("[]", encoding="utf-8")
    manager = models.open_model_manager()
    assert manager.progress_label.text() == (
        f"{broken} : ignoré, le manifeste est illisible ({broken} : pas un objet JSON)"
    )
    assert not manager.delete_model("gone")
    assert manager.progress_label.text() == (
        "aucun modèle installé ne s’appelle 'gone' (installés : aucun)"
    )
    shutil.rmtree(broken.parent)
    model = models.store.add_file(tiny_model["q8_0"], mode="reference")
    with qtbot.waitSignal(models.model_jobs.failed, timeout=WAIT_MS) as failed:
        assert manager.import_gguf(str(tiny_model["q8_0"]), "reference")
    assert isinstance(failed.args[0], Text)  # the signal carries the core's Text whole
    assert manager.progress_label.text() == (
        f"{tiny_model['q8_0']} est déjà dans la bibliothèque sous l’identifiant {model.id!r}"
    )
    tensor = QT_TRANSLATE_NOOP("ModelInstall", "quantizing %1").arg("h.0.attn")
    quantizing = InstallProgress("quantize", 0.5, tensor)
    assert describe_progress(quantizing) == "Quantification : quantification de h.0.attn"


def test_a_gone_model_is_replaced_with_a_translated_notice(
    qtbot: QtBot, french: QTranslator, tiny_model: TestModel, tmp_path: Path
) -> None:
    ModelStore(AppPaths.default().models_dir).add_file(
        tiny_model["q8_0"], mode="reference", name="Tiny 50%2"
    )
    gone = tmp_path / "gone %1.gguf"
    remembered = dataclasses.replace(greedy_settings(), model_path=str(gone))
    window = open_window(qtbot, None, remembered, choose_model=True)
    try:
        assert window.banner.text() == (
            f"Le modèle {gone} a disparu ; le modèle installé Tiny 50%2 le remplace."
        )
        qtbot.waitUntil(lambda: window.controller.model is not None, timeout=WAIT_MS)
    finally:
        close_window(window)


def _journaled(folder: Path, text: str, path: Path | None, disk: DiskStamp | None) -> JournalEntry:
    with JournalStore(folder, background=False) as store:
        return store.write(Snapshot(new_doc_id(), text, path, DEFAULT_FORMAT, disk))


def test_the_recovery_dialog_shows_the_core_summary_translated(
    qtbot: QtBot, french: QTranslator, tmp_path: Path
) -> None:
    doc = tmp_path / "chapter.txt"
    doc.write_text("One.\nTwo.\n", encoding="utf-8")
    before = load_document(doc).stamp
    doc.write_text("One.\nTwo.\nAnd more.\n", encoding="utf-8")  # changed since the crash
    titled = _journaled(tmp_path / "journal", "One.\nTwo!\nThree.\n", doc, before)
    untitled = _journaled(tmp_path / "journal", "a note", None, None)
    dialog = RecoveryDialog([titled, untitled])
    qtbot.addWidget(dialog)
    dialog.select(0)
    assert dialog.summary.text() == (
        f"Modifications non enregistrées de « {doc} » : 2 ligne(s) ajoutée(s) ou modifiée(s), "
        "2 supprimée(s), par rapport au fichier sur le disque. "
        "Un autre programme a aussi modifié le fichier."
    )
    item = dialog.list.item(1)
    assert item is not None
    assert item.text().startswith("Sans titre : « a note »\n")


def test_a_recovered_title_with_a_percent_sign_is_shown_as_it_is(
    bare_window: MainWindow, tmp_path: Path
) -> None:
    entry = _journaled(tmp_path / "crashed", "prices up 50%2 this year", None, None)
    bare_window.journal_controller.restore(entry)
    shown = bare_window.banner.text()
    assert shown.startswith("Recovered the unsaved text of Untitled: “prices up 50%2 this year”")


def _placeholder_replaces(path: Path) -> list[int]:
    """Lines that fill a %N placeholder with str.replace (tr_format does it in one pass)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "replace"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and str(node.args[0].value)[:1] == "%"
        and str(node.args[0].value)[1:].isdigit()
    ]


def test_no_widget_fills_placeholders_with_str_replace() -> None:
    found = {p.name: lines for p in sorted(GUI.glob("*.py")) if (lines := _placeholder_replaces(p))}
    assert found == {}
