"""The app-wide error hook: log the exception (stdlib logger "kievideo") and show a non-modal
dialog instead of dying.

kievideo.logs.install_excepthook does the logging and redaction and may call ``show`` from any
thread, so ``show`` only emits a Qt signal; the dialog opens on the GUI thread (queued
connection). qasync reports exceptions of @asyncSlot handlers through sys.excepthook too.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from kievideo import logs
from kievideo.ui import dialogs


class ErrorBridge(QObject):
    """Carries an error summary from any thread to a dialog on the GUI thread."""

    raised = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.parent_window: QWidget | None = None
        self.dialogs: list[QMessageBox] = []
        self.raised.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def show(self, summary: str) -> None:  # any thread
        self.raised.emit(summary)

    @Slot(str)
    def _show(self, summary: str) -> None:
        log_file = logs.current_log_file()
        text = self.tr("Something went wrong, but kievideo keeps running. Your tasks are safe.")
        details = summary + (
            ("\n\n" + self.tr("Log file: %1").replace("%1", str(log_file))) if log_file else ""
        )
        self.dialogs = [d for d in self.dialogs if d.isVisible()][-3:]  # do not pile up windows
        box = dialogs.show_error(self.parent_window, self.tr("Unexpected error"), text, details)
        self.dialogs.append(box)


_bridge: ErrorBridge | None = None
_uninstall: Callable[[], None] | None = None


def install(app: QApplication) -> ErrorBridge:
    """Install sys.excepthook/threading.excepthook (via kievideo.logs) with a Qt dialog."""
    global _bridge, _uninstall
    _bridge = ErrorBridge(app)
    _uninstall = logs.install_excepthook(show=_bridge.show)
    return _bridge


def uninstall() -> None:
    global _bridge, _uninstall
    if _uninstall is not None:
        _uninstall()
    _uninstall = None
    if _bridge is not None:
        _bridge.deleteLater()
    _bridge = None
