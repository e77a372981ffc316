"""Start the app or the bare window with a quit-after-first-paint hook (``bench.startup``).

    python -m bench._launch app [kievideo options...]
    python -m bench._launch bare

Both print ``KIEVIDEO_FIRST_PAINT <unix time>`` to stderr on the first paint of their main window
and then exit through their normal shutdown path:

* the app handles ``KIEVIDEO_QUIT_AFTER_PAINT=1`` itself (``kievideo.app.HANDLES_QUIT_AFTER_PAINT``:
  it prints the tag, finishes starting up, then closes), so the launcher only sets the variable;
* for the bare window (and an app without that support) the launcher installs the same hook as the
  bundles' PyInstaller runtime hook (``packaging/rthook_quit_after_paint.py``) first: ``QApplication``
  is wrapped in a subclass with an application-wide event filter; on the first ``Paint`` event of a
  top-level window it prints the tag and, from the next event-loop turn, closes every top-level
  window and quits.

Deliberately light: it imports nothing of ``bench`` but the bare window (no extra start-up cost).
"""

from __future__ import annotations

import os
import sys
import time

T_MAIN = time.time()


def install_hook() -> None:
    """Wrap QApplication (see the module docstring)."""
    from PySide6 import QtWidgets
    from PySide6.QtCore import QEvent, QObject, QTimer

    base = QtWidgets.QApplication

    def close_all() -> None:
        for w in base.topLevelWidgets():
            w.close()
        app = base.instance()
        if app is not None:
            QTimer.singleShot(0, app.quit)

    class FirstPaint(QObject):
        done = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if (
                not self.done
                and event.type() == QEvent.Type.Paint
                and isinstance(obj, QtWidgets.QWidget)
                and obj.isWindow()
            ):
                self.done = True
                print(f"KIEVIDEO_FIRST_PAINT {time.time():.6f}", file=sys.stderr, flush=True)
                QTimer.singleShot(0, close_all)
            return False

    class QApplication(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._bench_first_paint = FirstPaint()
            self.installEventFilter(self._bench_first_paint)

    QApplication.__name__ = QApplication.__qualname__ = "QApplication"
    QtWidgets.QApplication = QApplication  # type: ignore[misc]


def main() -> int:
    """``app [options]`` or ``bare``."""
    if len(sys.argv) < 2 or sys.argv[1] not in ("app", "bare"):
        print("usage: python -m bench._launch app [kievideo options] | bare", file=sys.stderr)
        return 2
    print(f"KIEVIDEO_MAIN {T_MAIN:.6f}", file=sys.stderr, flush=True)
    if sys.argv[1] == "bare":
        install_hook()
        from bench._bare_window import main as bare_main

        return bare_main()
    os.environ["KIEVIDEO_QUIT_AFTER_PAINT"] = "1"
    import kievideo.app as app_module

    if not getattr(app_module, "HANDLES_QUIT_AFTER_PAINT", False):
        install_hook()  # an app without its own quit-after-paint support
    return int(app_module.main(sys.argv[2:]))


if __name__ == "__main__":
    sys.exit(main())
