"""The baseline for bench/bundle.py: a bare PySide6 QMainWindow, frozen the same way as the app.

Built by ``python -m bench.bundle`` into build/bench-bare and dist/bench-bare with PyInstaller's
command-line flags and the same runtime hook (``rthook_quit_after_paint.py``) as the app, so the
two bundles' sizes and start times compare "our app" against "the least a Qt window costs".
"""

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def main() -> int:
    """Show one window with a label; run until it is closed."""
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.setCentralWidget(QLabel("bare PySide6 window"))
    window.resize(640, 400)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
