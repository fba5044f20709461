"""A character the file's legacy encoding cannot store: the save says so, Save as UTF-8 keeps it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMenu
from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from tests.support.gui import close_window, open_window


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[MainWindow]:
    w = open_window(qtbot, None)
    w.set_auto_suggest(False)
    yield w
    close_window(w)


def test_save_as_utf8_keeps_what_the_legacy_encoding_cannot(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = tmp_path / "letter.txt"
    original = "Cher ami,\r\nle caf\xe9 est pr\xeat.\r\n".encode("cp1252")
    legacy.write_bytes(original)
    window.document_controller.open_file(str(legacy))
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    window.editor.insertPlainText("Suite \u2192 demain")  # → is not in Windows-1252
    assert not window.document_controller.save()
    assert "cannot be stored in Windows-1252" in window.banner.text()
    assert legacy.read_bytes() == original  # the file on disk is untouched

    # a cancelled dialog changes nothing: the document keeps its encoding
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: ("", ""))  # fmt: skip
    assert not window.document_controller.save_as_utf8()
    assert not window.document_controller.save()

    target = tmp_path / "letter-utf8.txt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), ""))  # fmt: skip
    assert window.document_controller.save_as_utf8()
    text = "Cher ami,\r\nle caf\xe9 est pr\xeat.\r\nSuite \u2192 demain"
    assert target.read_bytes() == text.encode("utf-8")  # UTF-8, no BOM, CRLF kept
    assert not window.editor.document().isModified()
    assert legacy.read_bytes() == original


def test_save_as_utf8_is_in_the_file_menu(window: MainWindow) -> None:
    file_menu = window.menuBar().actions()[0].menu()
    assert isinstance(file_menu, QMenu)
    texts = [a.text() for a in file_menu.actions()]
    assert "Save as UTF-&8…" in texts
