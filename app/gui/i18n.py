"""Translation helpers every widget uses: Qt's marker, ``%1`` placeholders, the core's texts.

- :func:`QT_TRANSLATE_NOOP` marks a text in a table for ``pyside6-lupdate`` (run by
  ``scripts/update_translations.py``); the code translates it where it is shown.
- :func:`tr_format` fills a translated template's ``%1``, ``%2``… in one pass, as
  ``QString.arg`` does, so an argument holding "%2" is never substituted again.
- :func:`translated` shows a :class:`~app.core.texts.Text` from the core (a document
  error, a recovery summary) in the writer's language.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app.core.texts import Text, fill

__all__ = ["QT_TRANSLATE_NOOP", "tr_format", "translated"]


def QT_TRANSLATE_NOOP(context: str, text: str, /) -> str:
    """Mark ``text`` for the translation template under ``context``; returns it unchanged.

    Qt's own marker does the same but is typed as returning ``object``.
    """
    return text


def tr_format(template: str, *args: object) -> str:
    """``template`` (already translated) with ``%1`` replaced by the first argument, and so on.

    Arguments that are the core's Texts are translated first.
    """
    return fill(template, [translated(a) if isinstance(a, str) else str(a) for a in args])


def translated(text: str) -> str:
    """A core :class:`~app.core.texts.Text` in the current language; any other str as it is."""
    if not isinstance(text, Text):
        return text
    template = (
        QCoreApplication.translate(text.context, text.template) if text.context else text.template
    )
    return tr_format(template, *text.args)
