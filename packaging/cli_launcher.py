"""PyInstaller entry point of the command line twin (``dist/kievideo/kievideo-cli``)."""

import multiprocessing
import sys

from kievideo.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
