"""``python -m kievideo``: the GUI (same as the ``kievideo`` command)."""

import sys

from kievideo.app import main

if __name__ == "__main__":
    sys.exit(main())
