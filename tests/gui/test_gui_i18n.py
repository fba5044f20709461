"""What the writer reads is translated, the core's messages too, with arguments filled once.

A real translation is compiled from a small .ts file with Qt's own lrelease and installed
in the application, as ``install_translators`` does at start.
"""

from __future__ import annotations

import ast
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
from app.core.texts import QT_TRANSLATE_NOOP, Text
from app.gui.i18n import tr_format, translated
from app.gui.main_window import MainWindow
from app.gui.recovery import RecoveryDialog

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
