"""The editor's own keys for suggestions and drafts, listed once.

The editor handles these keys itself (``GhostTextEdit.keyPressEvent``) because what they
do depends on whether a suggestion or a draft is showing. This table is what the menus
display and what the keyboard-shortcuts page lists, so the three never disagree; the
GUI tests press each key to check that the editor does what the table says.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.gui.i18n import QT_TRANSLATE_NOOP

#: Translation context of the texts below (QCoreApplication.translate(CONTEXT, text)).
CONTEXT = "Keymap"


@dataclass(frozen=True)
class EditorKey:
    """One key the editor handles: its portable QKeySequence text and what it does when."""

    id: str
    sequence: str
    does: str
    when: str


EDITOR_KEYS: tuple[EditorKey, ...] = (
    EditorKey("trigger", "Alt+\\", QT_TRANSLATE_NOOP("Keymap", "Suggest now"),
              QT_TRANSLATE_NOOP("Keymap", "Anywhere in the text")),
    EditorKey("accept", "Tab", QT_TRANSLATE_NOOP("Keymap", "Accept the whole suggestion"),
              QT_TRANSLATE_NOOP("Keymap", "A suggestion is shown (otherwise Tab inserts a tab)")),
    EditorKey("accept_word", "Ctrl+Right", QT_TRANSLATE_NOOP("Keymap", "Accept the next word"),
              QT_TRANSLATE_NOOP("Keymap", "A suggestion is shown")),
    EditorKey("accept_line", "Shift+Tab",
              QT_TRANSLATE_NOOP("Keymap", "Accept up to the end of the line"),
              QT_TRANSLATE_NOOP("Keymap", "A suggestion is shown")),
    EditorKey("next_alternative", "Alt+]", QT_TRANSLATE_NOOP("Keymap", "Next alternative"),
              QT_TRANSLATE_NOOP("Keymap", "A suggestion is shown")),
    EditorKey("previous_alternative", "Alt+[",
              QT_TRANSLATE_NOOP("Keymap", "Previous alternative"),
              QT_TRANSLATE_NOOP("Keymap", "A suggestion is shown")),
    EditorKey("dismiss", "Esc", QT_TRANSLATE_NOOP("Keymap", "Dismiss the suggestion"),
              QT_TRANSLATE_NOOP("Keymap", "A suggestion is shown")),
    EditorKey("stop_draft", "Esc", QT_TRANSLATE_NOOP("Keymap", "Stop writing the draft"),
              QT_TRANSLATE_NOOP("Keymap", "A draft is being written")),
    EditorKey("accept_draft", "Tab", QT_TRANSLATE_NOOP("Keymap", "Keep the draft"),
              QT_TRANSLATE_NOOP("Keymap", "A draft is shown")),
    EditorKey("discard_draft", "Esc", QT_TRANSLATE_NOOP("Keymap", "Drop the draft"),
              QT_TRANSLATE_NOOP("Keymap", "A draft has stopped")),
)  # fmt: skip

KEYS: dict[str, EditorKey] = {key.id: key for key in EDITOR_KEYS}
