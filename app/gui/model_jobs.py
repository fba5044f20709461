"""Long model jobs (download, convert, quantize, import, assemble) off the GUI thread.

A job is a plain callable from ``app.core`` taking a progress callback and a cancel
event; ``ModelJobs`` runs one at a time on its own QThread and reports through queued
signals, so the window stays responsive during a multi-gigabyte download. The engine
thread is separate: the writer keeps getting suggestions while a new model is built.
A failure's message is the core's :class:`~app.core.texts.Text`, carried on an ``object``
signal so it arrives whole and is translated where it is shown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.model_install import InstallError, InstallProgress
from app.core.model_store import StoredModel, StoreError
from app.core.offline_model import OfflineModelError
from app.core.texts import Text, message_of
from app.gui.i18n import QT_TRANSLATE_NOOP
from app.gui.worker import LIVE_THREADS

#: What a job calls with progress, and the job itself.
JobProgress = Callable[[InstallProgress], None]
JobFunction = Callable[[JobProgress, threading.Event], StoredModel]

_EXPECTED = (InstallError, StoreError, OfflineModelError, OSError)
#: Progress signals per second at most (a download reports far more often).
_MAX_RATE = 15.0
_UNEXPECTED = QT_TRANSLATE_NOOP("ModelJobs", "unexpected error: %1")


@dataclass(frozen=True)
class Job:
    title: str  # what the writer sees, e.g. "Downloading GPT-2 (124M)"
    run: JobFunction


class _JobWorker(QObject):
    progress = Signal(object)  # InstallProgress
    finished = Signal(object)  # StoredModel
    failed = Signal(object, bool)  # message (a str or the core's Text), cancelled

    @Slot(object, object)
    def run(self, job: Job, cancel: threading.Event) -> None:
        last = 0.0

        def report(p: InstallProgress) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= 1.0 / _MAX_RATE or p.fraction >= 1.0:
                last = now
                self.progress.emit(p)

        try:
            model = job.run(report, cancel)
        except InstallError as exc:
            self.failed.emit(message_of(exc), exc.cancelled or cancel.is_set())
        except _EXPECTED as exc:
            self.failed.emit(message_of(exc), cancel.is_set())
        except Exception as exc:  # a bug must reach the writer, not end the thread
            self.failed.emit(Text("ModelJobs", _UNEXPECTED).arg(repr(exc)), False)
        else:
            self.finished.emit(model)


class _Commands(QObject):
    run = Signal(object, object)


class ModelJobs(QObject):
    """One job at a time; ``busy`` tells whether one runs. Signals arrive on the GUI thread."""

    started = Signal(str)  # job title
    progress = Signal(object)  # InstallProgress
    finished = Signal(object)  # StoredModel
    failed = Signal(object, bool)  # message (a str or the core's Text), cancelled
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("ghostpen-model-jobs")
        self._worker = _JobWorker()
        self._worker.moveToThread(self._thread)
        self._commands = _Commands()
        self._commands.run.connect(self._worker.run)
        self._worker.progress.connect(self.progress)
        self._worker.finished.connect(self._done)
        self._worker.failed.connect(self._failed)
        self._cancel: threading.Event | None = None
        self.title = ""
        self._thread.start()
        LIVE_THREADS.add(self._thread)

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    def start(self, job: Job) -> bool:
        """Start ``job``; False (and nothing started) when another job is running."""
        if self.busy:
            return False
        self._cancel = threading.Event()
        self.title = job.title
        self.started.emit(job.title)
        self.busyChanged.emit(True)
        self._commands.run.emit(job, self._cancel)
        return True

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def _done(self, model: StoredModel) -> None:
        self._cancel = None
        self.busyChanged.emit(False)
        self.finished.emit(model)

    def _failed(self, message: str, cancelled: bool) -> None:
        self._cancel = None
        self.busyChanged.emit(False)
        self.failed.emit(message, cancelled)

    def stop(self, timeout_ms: int = 30_000) -> bool:
        """Cancel the running job and end the thread (at close)."""
        self.cancel()
        self._thread.quit()
        return bool(self._thread.wait(timeout_ms))
