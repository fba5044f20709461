"""The core's translatable texts: one-pass placeholders, English for the CLI, all extracted."""

from __future__ import annotations

import ast
import copy
import json
import pickle
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.core.documents import DEFAULT_FORMAT, DocumentError, load_document, save_document
from app.core.journal import JournalStore, Snapshot, compare_with_disk, new_doc_id
from app.core.settings import AppSettings, SettingsSaveError, load_settings, save_settings
from app.core.settings import _translatable_rule as translatable_rule
from app.core.texts import QT_TRANSLATE_NOOP, Text, fill, joined, message_of

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "app" / "core"
TEMPLATE = ROOT / "resources" / "translations" / "ghostpen.ts"


def test_fill_replaces_each_placeholder_once_in_one_pass() -> None:
    # An argument holding "%2" stays as it is: chained str.replace calls would fill it too.
    assert fill("%1 and %2", ["50%2 off", "b"]) == "50%2 off and b"
    assert fill("%2 before %1", ["a", "b"]) == "b before a"
    assert fill("%1, %1 again", ["x"]) == "x, x again"
    assert fill("%1 of %3", ["a"]) == "a of %3"  # no argument: the placeholder is kept
    assert fill("100% sure, %n word(s)", ["a"]) == "100% sure, %n word(s)"
    assert fill("%12", [str(i) for i in range(12)]) == "11"  # two digits, as Qt reads them


def test_a_text_is_its_english_and_remembers_how_to_translate_it() -> None:
    reason = QT_TRANSLATE_NOOP("Documents", "the folder “%1” does not exist.").arg(Path("/a"))
    text = QT_TRANSLATE_NOOP("Documents", "Cannot open “%1”: %2").arg("/a/b.txt", reason)
    assert text == "Cannot open “/a/b.txt”: the folder “/a” does not exist."
    assert isinstance(text, str)
    assert f"{text}" == str(text)
    assert (text.context, text.template) == ("Documents", "Cannot open “%1”: %2")
    assert text.args == ("/a/b.txt", reason)
    assert isinstance(text.args[1], Text)
    assert reason.args == ("/a",)  # arguments that are not text are kept as their str()
    for again in (pickle.loads(pickle.dumps(text)), copy.deepcopy(text)):
        assert again == text
        assert isinstance(again, Text)
        assert again.args == text.args


def test_joined_texts_keep_each_part_translatable() -> None:
    first = QT_TRANSLATE_NOOP("Journal", "The file on disk already holds exactly this text.")
    both = joined([first, "Another %1 sentence."])
    assert both == f"{first} Another %1 sentence."
    assert both.context == ""  # nothing of its own to translate
    assert both.args[0] is first
    with pytest.raises(ValueError, match="at most 99"):
        joined(["x"] * 100)


def test_a_document_error_carries_its_message_as_a_text(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "draft.txt"
    with pytest.raises(DocumentError) as caught:
        load_document(missing)
    text = caught.value.text
    assert str(caught.value) == text  # what the CLI prints is the English text
    assert text.template == "Cannot open “%1”: %2"
    assert text.args[0] == str(missing)
    reason = text.args[1]
    assert isinstance(reason, Text)
    assert reason.template == "the folder “%1” does not exist."
    with pytest.raises(DocumentError) as saved:
        save_document(missing, "x", DEFAULT_FORMAT)
    assert saved.value.text.template == "Cannot save “%1”: %2"
    with pytest.raises(ValueError, match="'open' or 'save'"):
        DocumentError("no", "print")


def test_a_recovery_summary_is_a_text_with_its_numbers_as_arguments(tmp_path: Path) -> None:
    doc = tmp_path / "chapter.txt"
    doc.write_text("One.\nTwo.\n", encoding="utf-8")
    loaded = load_document(doc)
    with JournalStore(tmp_path / "journal", background=False) as store:
        entry = store.write(
            Snapshot(new_doc_id(), "One.\nTwo!\nThree.\n", doc, loaded.format, None)
        )
    summary = compare_with_disk(entry).summary
    assert isinstance(summary, Text)
    assert summary.context == "Journal"
    assert summary.args == (str(doc), "2", "1")


def test_message_of_gives_the_text_an_error_was_raised_with() -> None:
    text = QT_TRANSLATE_NOOP("ModelStore", "cannot remove %1: %2").arg("gpt2", "Busy")
    assert message_of(ValueError(text)) is text
    assert str(ValueError(text)) == "cannot remove gpt2: Busy"
    assert type(str(ValueError(text))) is str  # what the CLI prints is plain English
    plain = OSError(2, "No such file")
    assert message_of(plain) == str(plain) == "[Errno 2] No such file"
    assert message_of(ValueError(text, "more")) == str(ValueError(text, "more"))


def _warnings(path: Path, data: object) -> tuple[Text, ...]:
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_settings(path).warnings


def test_settings_warnings_are_texts_down_to_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    data = {
        "sampling": {"temperature": 99, "stop": 3},
        "suggestions": {"mode": "poem"},
        "user_presets": [{"name": " ", "sampling": {}}],
    }
    clamped, stop, mode, preset = _warnings(path, data)
    assert clamped == (
        f"{path}: setting 'sampling.temperature' is 99 but must be a number from 0 to 5; "
        "clamped to 5.0"
    )
    assert (clamped.context, clamped.template) == ("Settings", "%1: %2")
    warning = clamped.args[1]
    assert isinstance(warning, Text)
    assert warning.template == "setting %1 is %2 but %3; clamped to %4"
    assert warning.args[::3] == ("'sampling.temperature'", "5.0")
    rule = warning.args[2]
    assert isinstance(rule, Text)
    assert (rule.template, rule.args) == ("must be a number from %1 to %2", ("0", "5"))
    assert isinstance(stop.args[1], Text)
    assert stop.args[1].args[2] == "must be a list of strings"
    assert isinstance(stop.args[1].args[2], Text)
    assert isinstance(mode.args[1], Text)
    one_of = mode.args[1].args[2]
    assert isinstance(one_of, Text)
    assert one_of.template == "must be one of %1"
    assert one_of.args == ("word, phrase, sentence, line, paragraph",)
    assert isinstance(preset.args[1], Text)
    dropped = preset.args[1]
    assert dropped.template == "setting '%1.name': %2; preset dropped"
    assert dropped.args == ("user_presets[0]", "a preset name must not be empty")
    assert isinstance(dropped.args[1], Text)  # the preset rule's own message, kept whole


def test_a_rule_without_a_template_stays_in_english() -> None:
    unbounded = translatable_rule("must be a number from 0 to unbounded (or unset)")
    assert unbounded == "must be a number from 0 to unbounded (or unset)"
    assert isinstance(unbounded, Text)
    assert unbounded.template == "must be a number from %1 to %2 (or unset)"
    assert isinstance(unbounded.args[1], Text)
    other = translatable_rule("must start with http:// or https://")
    assert other == "must start with http:// or https://"
    assert not isinstance(other, Text)


def test_a_corrupt_settings_file_and_a_failed_save_say_so_in_texts(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("[1, 2]", encoding="utf-8")
    (warning,) = load_settings(path).warnings
    assert warning.template == "%1 %2; using default settings, %3"
    assert str(warning).startswith(f"{path} holds a JSON list, not an object; using default")
    blocker = tmp_path / "a file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(SettingsSaveError) as failed:
        save_settings(AppSettings(), blocker / "settings.json")
    text = message_of(failed.value)
    assert isinstance(text, Text)
    assert text.template == "could not save settings to %1: %2"
    assert str(failed.value) == text


def _marked_texts(path: Path) -> list[tuple[str, str]]:
    """(context, text) of every QT_TRANSLATE_NOOP call in a module; fails on a call lupdate
    cannot read (anything but two string literals)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name != "QT_TRANSLATE_NOOP":
            continue
        values = [a.value for a in node.args if isinstance(a, ast.Constant)]
        strings = [v for v in values if isinstance(v, str)]
        where = f"{path.name}:{node.lineno}"
        assert len(strings) == len(node.args) == 2, f"{where}: lupdate reads two string literals"
        assert not node.keywords, f"{where}: lupdate reads two string literals"
        found.append((strings[0], strings[1]))
    return found


def test_every_core_text_is_in_the_translation_template() -> None:
    root = ET.parse(TEMPLATE).getroot()
    listed = {
        (ctx.findtext("name"), msg.findtext("source"))
        for ctx in root.iter("context")
        for msg in ctx.iter("message")
    }
    marked = {text for path in sorted(CORE.glob("*.py")) for text in _marked_texts(path)}
    assert len(marked) > 50, "the core's texts were not found"
    missing = sorted(marked - listed)
    assert missing == [], "run scripts/update_translations.py"
