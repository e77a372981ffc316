"""PyInstaller entry point of the GUI (``dist/kievideo/kievideo``): just :func:`kievideo.app.main`.

A separate file (rather than pointing PyInstaller at ``kievideo/app.py``) keeps ``kievideo.app`` an
ordinary module inside the bundle's archive, importable by name like everywhere else.
"""

import multiprocessing
import sys

from kievideo.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a no-op unless some code ever starts a process pool
    sys.exit(main())
