"""The baseline of ``bench.startup``: a bare PySide6 QMainWindow with a label, nothing else.

Started exactly like the app (``python -m bench._launch bare``), so "app / bare" is the cost of
kievideo on top of the least a Qt window costs in the same interpreter.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def main() -> int:
    """Show one window with a label; run until it is closed."""
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.setCentralWidget(QLabel("bare PySide6 window"))
    window.resize(1280, 800)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
