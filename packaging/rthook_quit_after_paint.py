"""PyInstaller runtime hook: ``KIEVIDEO_QUIT_AFTER_PAINT=1`` closes the app right after its first paint.

Used by ``bench/bundle.py`` to time "exec -> first painted window -> exit" of a frozen bundle, for
the app and for the bare QMainWindow alike (both bundles get this same hook, so the two numbers are
comparable). Without the variable it does nothing at all, not even import Qt.

How: it wraps ``PySide6.QtWidgets.QApplication`` in a subclass (before the app imports it) that
installs an application-wide event filter. On the first ``Paint`` event of a top-level window it
prints ``KIEVIDEO_FIRST_PAINT <unix time>`` to stderr and, from the next event-loop turn, closes
every top-level window and quits, so the app runs its normal shutdown path. A real exit code still
comes from the app.

kievideo's own GUI handles the variable itself (``kievideo.app``, ``HANDLES_QUIT_AFTER_PAINT``:
it prints the same stderr line, plus a ``time.perf_counter()`` one on stdout, and closes the app
once it has started up). The hook then stays out of the way, so nothing is printed or closed
twice; the bare baseline bundle still gets the hook's behaviour.
"""

import os

if os.environ.get("KIEVIDEO_QUIT_AFTER_PAINT") == "1":

    def _install() -> None:
        import sys
        import time

        from PySide6 import QtWidgets
        from PySide6.QtCore import QEvent, QObject, QTimer

        base = QtWidgets.QApplication

        def _close_all() -> None:
            for w in base.topLevelWidgets():
                w.close()
            app = base.instance()
            if app is not None:
                # app.py runs with quitOnLastWindowClosed(False) and ends by itself once its window
                # is closed; a bare app quits here. A second quit() is harmless.
                QTimer.singleShot(0, app.quit)

        def _app_handles_it() -> bool:
            app_module = sys.modules.get("kievideo.app")
            return bool(getattr(app_module, "HANDLES_QUIT_AFTER_PAINT", False))

        class _FirstPaint(QObject):
            done = False

            def eventFilter(self, obj: QObject, event: QEvent) -> bool:
                if (
                    not self.done
                    and event.type() == QEvent.Type.Paint
                    and isinstance(obj, QtWidgets.QWidget)
                    and obj.isWindow()
                ):
                    self.done = True
                    if _app_handles_it():
                        return False  # kievideo.app prints the time and closes by itself
                    print(f"KIEVIDEO_FIRST_PAINT {time.time():.6f}", file=sys.stderr, flush=True)
                    QTimer.singleShot(0, _close_all)
                return False

        class QApplication(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, **kwargs)
                self._kievideo_first_paint = _FirstPaint()
                self.installEventFilter(self._kievideo_first_paint)

        QApplication.__name__ = QApplication.__qualname__ = "QApplication"
        QtWidgets.QApplication = QApplication  # type: ignore[misc]

    _install()
