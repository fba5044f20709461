"""Texts the core makes for a writer, in English, that the GUI can still translate.

The core never imports Qt, yet some of its messages reach the writer as they are: why a
document cannot be opened or saved, what the recovery dialog says about an autosave. So
such a message is a :class:`Text`: a ``str`` holding the English text (what the command
line prints, what logs and tests see) that also remembers its translation context, its
template with Qt's ``%1``, ``%2``… placeholders, and the arguments that fill them. The
GUI translates the template with ``QCoreApplication.translate`` and fills it again
(``app.gui.i18n.translated``).

Templates are written with :func:`QT_TRANSLATE_NOOP`, named after Qt's marker so that
``pyside6-lupdate`` (run by ``scripts/update_translations.py``) extracts them into the
translation template like the GUI's own texts. lupdate only sees calls with exactly two
string literals, so arguments come after, with :meth:`Text.arg`:
``QT_TRANSLATE_NOOP("Documents", "the folder “%1” does not exist.").arg(folder)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["QT_TRANSLATE_NOOP", "Text", "fill", "joined", "message_of"]

#: Qt's placeholders: ``%1`` to ``%99`` (two digits at most, as ``QString::arg`` reads them).
_PLACEHOLDER = re.compile(r"%([1-9][0-9]?)")


def fill(template: str, args: Sequence[str]) -> str:
    """``template`` with ``%1`` replaced by ``args[0]``, ``%2`` by ``args[1]``, and so on.

    One pass over the template: an argument that itself contains ``%2`` stays as it is
    (chained ``str.replace`` calls would substitute it again). A placeholder without an
    argument is kept.
    """

    def one(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return args[index] if index < len(args) else match.group(0)

    return _PLACEHOLDER.sub(one, template)


class Text(str):
    """English text for the CLI and logs that the GUI can translate.

    ``context`` and ``template`` are what the translation template lists; ``args`` fill
    the template's placeholders, and may be Texts themselves (translated in turn). An
    empty ``context`` marks a template with nothing to translate, only its arguments
    (see :func:`joined`). Joining or concatenating a Text gives a plain ``str``: English.
    """

    context: str
    template: str
    args: tuple[str, ...]

    def __new__(cls, context: str, template: str, args: Iterable[object] = ()) -> Text:
        kept = tuple(a if isinstance(a, str) else str(a) for a in args)
        self = super().__new__(cls, fill(template, kept))
        self.context, self.template, self.args = context, template, kept
        return self

    def arg(self, *args: object) -> Text:
        """This template filled with ``args`` (``%1`` is the first): like ``QString.arg``."""
        return Text(self.context, self.template, args)

    def __reduce__(self) -> tuple[type[Text], tuple[str, str, tuple[str, ...]]]:
        return Text, (self.context, self.template, self.args)

    def __repr__(self) -> str:
        return f"Text({self.context!r}, {self.template!r}, {self.args!r})"


def QT_TRANSLATE_NOOP(context: str, template: str, /) -> Text:
    """Mark a template for translation; unlike Qt's marker, it returns a :class:`Text`.

    Call it with two string literals (no f-string: lupdate would extract the braces), and
    fill the placeholders with :meth:`Text.arg`.
    """
    return Text(context, template)


def joined(parts: Sequence[str], separator: str = " ") -> Text:
    """Several texts as one (sentences after each other), each still translatable."""
    if len(parts) > 99:
        raise ValueError(f"at most 99 texts can be joined, not {len(parts)}")
    template = separator.join(f"%{i}" for i in range(1, len(parts) + 1))
    return Text("", template, parts)


def message_of(error: BaseException) -> str:
    """What ``error`` says: the :class:`Text` it was raised with, else ``str(error)``.

    An exception keeps its message in ``args``; ``str(error)`` is always plain English, so
    code that passes a core error on (wrapping it, or to the GUI) takes the Text from here.
    """
    args = error.args
    return args[0] if len(args) == 1 and isinstance(args[0], Text) else str(error)
