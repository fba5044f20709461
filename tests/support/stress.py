"""The stress harness: a writer hammering the keyboard with suggestions on, in the real
window (``tests/gui/test_stress.py`` runs 400 keys; ``scripts/stress.py`` 10,000).

A QTimer types random keys 10-20 ms apart: characters with English frequencies, Backspace,
Enter, Tab (accepting the ghost when one is shown), Esc and cursor moves. Typing that fast
never lets the debounce fire, so the writer also hesitates (typing on the moment a
request is sent, which the next key then overtakes in flight) and now and then pauses to
think (until the suggestion is in, then accepts it). Nothing is simulated: the real
editor, controller, worker thread and llama.cpp.

Three independent checks run all along:

- **The document** is modelled apart from the editor: each key's effect on a plain string
  and a cursor; an accepted ghost adds exactly what ``ghostAccepted`` reported. After
  every key, the editor's text and cursor must equal the model's.
- **No stale ghost**: at every ``ghostChanged`` and every ghost paint, the ghost must be
  the continuation of the *current* text: some request (the one shown, or for a ghost
  served from the cache, a finished one) was made for a text that the current text
  extends by ``typed``, and the model's raw output for it continues ``typed + ghost``
  (``app/bench/replay.py``'s check, made exact for type-through and cache hits).
- **No error**: no exception (pytest-qt fails the test on one raised in a slot) and no
  error message from the controller.

"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.core.engine import StopReason
from app.core.textpos import index_from_utf16, utf16_len
from app.gui.main_window import MainWindow
from app.gui.worker import CompletionRequest, RequestDone
from tests.support.gui import WAIT_MS

# ------------------------------------------------------------------ what a writer types

_LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
_LETTER_WEIGHTS = (12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4,
                   2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07)  # fmt: skip
_PUNCTUATION = ".,,,'!?;:-"
_EXTRA = "é’—"  # typed now and then; all in the Basic Multilingual Plane, no combining
#: Keys other than characters, with their share of the keystrokes.
_ACTIONS = (("char", 86.0), ("backspace", 6.0), ("enter", 1.5), ("tab", 1.5), ("esc", 1.5),
            ("left", 1.5), ("right", 1.0), ("end", 1.0))  # fmt: skip
_QT_KEYS = {
    "backspace": (Qt.Key.Key_Backspace, Qt.KeyboardModifier.NoModifier),
    "enter": (Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier),
    "tab": (Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier),
    "esc": (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
    "left": (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier),
    "right": (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier),
    "end": (Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier),  # end of the document
}
#: Keys 10 to 20 ms apart. Every 5 to 15 keys a hesitation: typing goes on as soon as a
#: request is sent, so the next key overtakes it in flight. Every 40 to 60 keys a pause
#: to think, until the suggestion is in; then the ghost shown is accepted.
INTERVAL_MS = (10, 20)
HESITATE_EVERY = (5, 15)
PAUSE_EVERY = (40, 60)


def _random_char(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.16:
        return " "
    if r < 0.92:
        ch = rng.choices(_LETTERS, _LETTER_WEIGHTS)[0]
        return ch.upper() if rng.random() < 0.05 else ch
    if r < 0.98:
        return rng.choice(_PUNCTUATION)
    if r < 0.99:
        return rng.choice("0123456789")
    return rng.choice(_EXTRA)


def type_char(widget: QWidget, ch: str) -> None:
    """One character as a keyboard delivers it (QTest only knows ASCII: it asserts)."""
    if " " <= ch <= "~":
        QTest.keyClicks(widget, ch)
        return
    key = ord(ch.upper()) if len(ch.upper()) == 1 and ord(ch.upper()) < 0x100 else 0
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch))


def _plain(ch: str) -> bool:
    """A character whose cursor movement and deletion are one position (no cluster)."""
    return ch in "\n\t" or " " <= ch <= "~" or ch in _EXTRA


def qt_plain(text: str) -> str:
    """``text`` as ``QPlainTextEdit.toPlainText()`` returns it once inserted."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\u2029", "\n").replace("\u2028", "\n").replace("\xa0", " ")


def _lstrip_h(text: str) -> str:
    """Without its leading horizontal blanks (postprocess's leading-space rule)."""
    i = 0
    while i < len(text) and text[i].isspace() and text[i] not in "\r\n\u2028\u2029":
        i += 1
    return text[i:]


def continues(raw: str, typed: str, ghost: str) -> bool:
    """Is ``ghost`` what follows ``typed`` in ``raw``, a model answer? The writer may have
    typed (or accepted) the start of the answer since the request (``typed``); leading
    blanks may have been dropped (postprocess's leading-space rule)."""
    raw = qt_plain(raw)
    for text in (raw, _lstrip_h(raw)):
        if text.startswith(typed):
            rest = text[len(typed) :]
            if rest.startswith(ghost) or _lstrip_h(rest).startswith(ghost):
                return True
    return False


# ------------------------------------------------------------------ the ghost audit


#: Characters of a request's text kept to check a ghost's place (the prompt window is
#: smaller: the model never saw more). Bounded, so a long run measures the app's memory.
KEPT_CHARS = 2048


@dataclass
class _Request:
    length: int  # of all the text before the cursor when the request was made
    tail: str  # its last KEPT_CHARS characters
    raw: str = ""
    finished: bool = False

    def typed_since(self, before_now: str) -> str | None:
        """What was added to the request's text to make ``before_now`` (None: it was not
        only added to: the cursor moved, or text was deleted)."""
        n = self.length
        if len(before_now) < n or before_now[max(0, n - KEPT_CHARS) : n] != self.tail:
            return None
        return before_now[n:]


@dataclass
class StressReport:
    keystrokes: int = 0
    requests: int = 0
    ghosts_shown: int = 0  # suggestionShown: a new suggestion became visible
    ghost_checks: int = 0  # ghostChanged and ghost paints checked
    stale: list[str] = field(default_factory=list)
    accepted: int = 0
    accepted_chars: int = 0
    type_through: int = 0
    mismatches: list[str] = field(default_factory=list)  # editor != model of the document
    errors: list[str] = field(default_factory=list)
    finished_requests: int = 0
    cancelled_requests: int = 0  # overtaken by a keystroke (or stopped) before the end
    request_ms: list[float] = field(default_factory=list)  # made -> answer, uncancelled


class GhostAudit(QObject):
    """Listens to requests, tokens and ghosts; checks each ghost against the text.

    Tokens reach this audit through its own queued connection, which the worker thread
    may post after the controller's: at a ghostChanged the audit can be a piece behind.
    So a ghost's place in the text is checked at once, and its text against the model's
    answer once that answer is complete (its ``finished``), or at the end of the run.
    """

    HISTORY = 256  # requests kept (the controller's cache holds 64 answers)

    def __init__(self, window: MainWindow, report: StressReport) -> None:
        super().__init__()
        self.w = window
        self.report = report
        self.requests: OrderedDict[int, _Request] = OrderedDict()
        self._waiting: dict[int, list[tuple[str, str]]] = {}  # id -> (typed, ghost)
        window.worker.commands.complete.connect(self._on_request)
        window.worker.worker.token.connect(self._on_token)
        window.worker.worker.finished.connect(self._on_finished)
        window.controller.ghostChanged.connect(self._on_ghost)
        window.controller.suggestionShown.connect(self._on_shown)
        window.editor.ghostPainted.connect(self._on_ghost)

    def before_cursor(self) -> str:
        editor = self.w.editor
        text = editor.toPlainText()
        return text[: index_from_utf16(text, editor.textCursor().position())]

    @Slot(object)
    def _on_request(self, request: CompletionRequest) -> None:
        if request.n_alternatives == 1:
            self.report.requests += 1
            before = self.before_cursor()
            if request.prefetch:  # it continues the ghost on screen, as if it were typed
                ghost = self.w.controller.ghost
                assert request.text[: request.cursor].endswith(ghost)
                before += ghost
            self.requests[request.id] = _Request(len(before), before[-KEPT_CHARS:])
            while len(self.requests) > self.HISTORY:
                old, _ = self.requests.popitem(last=False)
                self._check_waiting(old)

    @Slot(int, str, float)
    def _on_token(self, request_id: int, piece: str, _logprob: float) -> None:
        r = self.requests.get(request_id)
        if r is not None:
            r.raw += piece

    @Slot(object)
    def _on_finished(self, done: RequestDone) -> None:
        r = self.requests.get(done.id)
        if r is not None:
            r.finished = True
            self.report.finished_requests += 1
            if done.completion.stop_reason is StopReason.CANCELLED:
                self.report.cancelled_requests += 1
            else:
                self.report.request_ms.append(done.started_after_ms + _engine_ms(done))
            self._check_waiting(done.id)

    @Slot(str)
    def _on_shown(self, _text: str) -> None:
        self.report.ghosts_shown += 1

    @Slot(str)
    def _on_ghost(self, ghost: str) -> None:
        if not ghost:
            return
        self.report.ghost_checks += 1
        ghost = qt_plain(ghost)
        shown = self.w.controller.shown_request_id
        before = self.before_cursor()
        r = self.requests.get(shown)
        if r is None:  # served from the cache: some complete answer must continue the text
            if not any(
                (typed := c.typed_since(before)) is not None and continues(c.raw, typed, ghost)
                for c in reversed(self.requests.values())
                if c.raw
            ):
                self._stale(ghost, before, shown, "no answer for this text")
            return
        typed = r.typed_since(before)
        if typed is None:
            self._stale(ghost, before, shown, f"asked after {r.tail[-30:]!r}")
            return
        self._waiting.setdefault(shown, []).append((typed, ghost))
        if r.finished:
            self._check_waiting(shown)

    def _check_waiting(self, request_id: int) -> None:
        r = self.requests.get(request_id)
        for typed, ghost in self._waiting.pop(request_id, []):
            if r is None or not continues(r.raw, typed, ghost):
                raw = r.raw[:60] if r is not None else "?"
                self._stale(ghost, typed, request_id, f"the answer was {raw!r}")

    def _stale(self, ghost: str, text: str, request_id: int, why: str) -> None:
        self.report.stale.append(
            f"ghost {ghost!r} after {text[-30:]!r} (request {request_id}: {why})"
        )

    def finish(self) -> None:
        """The run is over: check what still waits for its answer."""
        for request_id in list(self._waiting):
            self._check_waiting(request_id)


def _engine_ms(done: RequestDone) -> float:
    t = done.completion.timings
    return t.prompt_ms + t.generation_ms


# ------------------------------------------------------------------ the typist


class StressTypist(QObject):
    """Types ``count`` random keys into the window on a QTimer; ``done`` when finished.

    The document model (``expected``, ``cursor``: Python indices) is updated from the key
    alone, except for an accepted ghost, whose text ``ghostAccepted`` reports.
    """

    def __init__(
        self,
        window: MainWindow,
        count: int,
        *,
        seed: int = 1,
        on_key: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__()
        self.w = window
        self.count = count
        self.rng = random.Random(seed)
        self.on_key = on_key
        self.report = StressReport()
        self.audit = GhostAudit(window, self.report)
        self.expected = window.editor.toPlainText()
        self.cursor = index_from_utf16(self.expected, window.editor.textCursor().position())
        self.done = False
        self._accepted: list[str] = []
        self._next_pause = self.rng.randint(*PAUSE_EVERY)
        self._next_hesitation = self.rng.randint(*HESITATE_EVERY)
        self._requests_before: int | None = None
        self._accept_next = False
        window.editor.ghostAccepted.connect(self._accepted.append)
        window.controller.errorChanged.connect(self._on_error)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.w.editor.setFocus()
        self._arm()

    def _arm(self) -> None:
        self.timer.start(self.rng.randint(*INTERVAL_MS))

    @Slot(str)
    def _on_error(self, message: str) -> None:
        if message:
            self.report.errors.append(message)

    @Slot()
    def _tick(self) -> None:
        if self.report.keystrokes >= self.count:
            self.done = True
            return
        keys, idle = self.report.keystrokes, self.w.controller.idle
        if keys >= self._next_pause:  # the writer stops to think
            if not idle:
                self._arm()
                return
            self._next_pause += self.rng.randint(*PAUSE_EVERY)
            self._accept_next = True
        elif keys >= self._next_hesitation:  # ...or hesitates, until a request is out
            if self._requests_before is None:
                self._requests_before = self.report.requests
            if self.report.requests == self._requests_before and not idle:
                self._arm()
                return
            self._requests_before = None
            self._next_hesitation = keys + self.rng.randint(*HESITATE_EVERY)
        action, ch = self._choose()
        self._press(action, ch)
        self.report.keystrokes += 1
        self._compare(action)
        if self.on_key is not None:
            self.on_key(self.report.keystrokes)
        self._arm()

    def _choose(self) -> tuple[str, str]:
        ghost = self.w.editor.ghost_text()
        if self._accept_next:
            self._accept_next = False
            if ghost:
                return "tab", ""
        if ghost:
            r = self.rng.random()
            if r < 0.1:
                return "tab", ""
            if r < 0.35 and ghost[0] != "\n" and ghost[0].isprintable():
                self.report.type_through += 1
                return "char", ghost[0]
        action = self.rng.choices([a for a, _ in _ACTIONS], [w for _, w in _ACTIONS])[0]
        before = self.expected[self.cursor - 1] if self.cursor else ""
        after = self.expected[self.cursor] if self.cursor < len(self.expected) else ""
        # Deleting or stepping over a character Qt treats as part of a cluster (an accepted
        # ghost may hold any text) is Qt's business, not this test's: type instead.
        if (action in ("backspace", "left") and before and not _plain(before)) or (
            action in ("backspace", "left", "right") and after and not _plain(after)
        ):
            action = "char"
        return action, _random_char(self.rng) if action == "char" else ""

    def _press(self, action: str, ch: str) -> None:
        editor = self.w.editor
        self._accepted.clear()
        if action == "char":
            type_char(editor, ch)
        else:
            key, modifiers = _QT_KEYS[action]
            QTest.keyClick(editor, key, modifiers)
        text, at = self.expected, self.cursor
        if action == "char":
            text, at = text[:at] + ch + text[at:], at + 1
        elif action == "enter":
            text, at = text[:at] + "\n" + text[at:], at + 1
        elif action == "tab":
            inserted = qt_plain("".join(self._accepted)) if self._accepted else "\t"
            if self._accepted:
                self.report.accepted += 1
                self.report.accepted_chars += len(inserted)
            text, at = text[:at] + inserted + text[at:], at + len(inserted)
        elif action == "backspace" and at:
            text, at = text[: at - 1] + text[at:], at - 1
        elif action == "left":
            at = max(0, at - 1)
        elif action == "right":
            at = min(len(text), at + 1)
        elif action == "end":
            at = len(text)
        self.expected, self.cursor = text, at

    def _compare(self, action: str) -> None:
        editor = self.w.editor
        actual = editor.toPlainText()
        position = editor.textCursor().position()
        if actual == self.expected and position == utf16_len(self.expected[: self.cursor]):
            return
        at = next(
            (i for i, (a, b) in enumerate(zip(actual, self.expected, strict=False)) if a != b),
            min(len(actual), len(self.expected)),
        )
        self.report.mismatches.append(
            f"key {self.report.keystrokes} ({action}): editor {actual[at - 20 : at + 20]!r} "
            f"cursor {position}, model {self.expected[at - 20 : at + 20]!r} "
            f"cursor {utf16_len(self.expected[: self.cursor])}"
        )
        # resynchronise, so that one divergence is reported once
        self.expected = actual
        self.cursor = index_from_utf16(actual, position)


def run_stress(qtbot: QtBot, window: MainWindow, count: int, seed: int = 1) -> StressTypist:
    typist = StressTypist(window, count, seed=seed)
    typist.start()
    qtbot.waitUntil(lambda: typist.done, timeout=count * 200 + WAIT_MS)
    qtbot.waitUntil(lambda: window.controller.idle, timeout=WAIT_MS)
    typist.audit.finish()
    return typist
