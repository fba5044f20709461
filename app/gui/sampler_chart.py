"""The live sampler view: what the sampler chain does to the next word, as bars.

For the likeliest candidates after the cursor it paints the raw probability (a pale bar)
and the probability after the whole chain (a solid bar), and names the stage that cut a
candidate. It is a small painted widget (PySide6-Essentials has no QtCharts), fed by a
controller that asks the worker thread, so moving a slider never blocks typing.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.sampler_view import SamplerView
from app.gui.i18n import tr_format
from app.gui.suggestions import DocumentSource, SuggestionController
from app.gui.worker import InspectRequest, WorkerThread

ROW_HEIGHT = 18
CONTEXT_CHARS = 3000


class SamplerChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: SamplerView | None = None
        self.setMinimumHeight(ROW_HEIGHT * 6)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAccessibleName(self.tr("Next-word probabilities"))
        self.setAccessibleDescription(self.describe())
        self.setToolTip(
            self.tr("The likeliest next tokens at the cursor: pale bar = the model's raw "
                    "chance, solid bar = the chance after your sampling settings.")
        )  # fmt: skip

    def set_view(self, view: SamplerView | None) -> None:
        self.view = view
        rows = len(view.candidates) if view else 6
        self.setMinimumHeight(ROW_HEIGHT * (rows + 1))
        self.setAccessibleDescription(self.describe())
        self.update()

    def describe(self) -> str:
        """The bars in words, for a screen reader (the painting says nothing to one)."""
        if self.view is None:
            return self.tr("Nothing to show yet")
        parts = [
            tr_format(
                self.tr("%1: %2, cut by %3"),
                repr(c.text)[1:-1],
                f"{c.raw_probability:.0%}",
                c.cut_by,
            )
            if c.cut_by
            else tr_format(
                self.tr("%1: %2, then %3"),
                repr(c.text)[1:-1],
                f"{c.raw_probability:.0%}",
                f"{c.probability:.0%}",
            )
            for c in self.view.candidates
        ]
        return "; ".join(parts)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.Text)
        accent = palette.color(QPalette.ColorRole.Highlight)
        pale = QColor(accent)
        pale.setAlpha(60)
        if self.view is None:
            painter.setPen(text_colour)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("Nothing to show yet")
            )
            return
        label_w, note_w = 110.0, 70.0
        bar_w = max(20.0, self.width() - label_w - note_w - 8)
        top = max((c.raw_probability for c in self.view.candidates), default=1.0) or 1.0
        scale = max(top, max((c.probability for c in self.view.candidates), default=0.0))
        for row, cand in enumerate(self.view.candidates):
            y = row * ROW_HEIGHT
            label = repr(cand.text)[1:-1][:14]
            painter.setPen(text_colour)
            painter.drawText(QRectF(0, y, label_w - 4, ROW_HEIGHT),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             label)  # fmt: skip
            raw = QRectF(label_w, y + 3, bar_w * cand.raw_probability / scale, ROW_HEIGHT - 6)
            painter.fillRect(raw, pale)
            final = QRectF(label_w, y + 6, bar_w * cand.probability / scale, ROW_HEIGHT - 12)
            painter.fillRect(final, accent)
            note = cand.cut_by or f"{cand.probability:.0%}"
            painter.drawText(QRectF(label_w + bar_w + 4, y, note_w, ROW_HEIGHT),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             note)  # fmt: skip


class SamplerViewController(QObject):
    """Keeps the chart current while it is visible; stale answers are dropped."""

    viewChanged = Signal(object)  # SamplerView

    def __init__(self, worker: WorkerThread, suggestions: SuggestionController) -> None:
        super().__init__()
        self._worker = worker
        self._suggestions = suggestions
        self._source: DocumentSource | None = None
        self._latest = 0
        self.active = False
        self._timer = QTimer(self, singleShot=True, interval=300)
        self._timer.timeout.connect(self.refresh)
        worker.worker.inspected.connect(self._on_inspected)

    def attach(self, source: DocumentSource) -> None:
        self._source = source

    def set_active(self, active: bool) -> None:
        self.active = active
        if active:
            self.refresh()

    def schedule(self) -> None:
        """Text or cursor changed: look again after a short pause."""
        if self.active:
            self._timer.start()

    @Slot()
    def refresh(self) -> None:
        if not self.active or self._source is None or not self._suggestions.enabled:
            return
        text, cursor = self._source.text_around_cursor(CONTEXT_CHARS, 0)
        self._latest = self._worker.new_inspection_id()
        self._worker.commands.inspect.emit(
            InspectRequest(
                id=self._latest,
                text=text,
                cursor=cursor,
                sampling=self._suggestions.sampling,
                context_tokens=self._suggestions.settings.context_tokens,
            )
        )

    @Slot(int, object)
    def _on_inspected(self, request_id: int, view: SamplerView | None) -> None:
        if request_id == self._latest:
            self.viewChanged.emit(view)
