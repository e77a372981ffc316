"""Work-arounds for bugs in the PySide6 build we ship.

PySide6 6.12.0 on CPython 3.11 returns two singletons WITHOUT taking a reference (refcount bugs
in the binding, reproduced in tests/gui/test_pyside_fixes.py):

* ``SignalInstance.emit()`` returns ``True``: every signal emitted from Python (ours, and
  qasync's own ``call_soon_threadsafe`` signal) drops the refcount of ``True`` by one;
* an invalid QVariant converted to Python (``QModelIndex.data()`` for a role a model does not
  serve, and similar) is ``None``: each conversion drops the refcount of ``None`` by one. So
  does the ``None`` every void method returns (``QPainter.drawPixmap``, ``translate``, ...,
  measured on this build): painting alone makes thousands of such calls a second.

A busy session eventually drives one of them to zero and the interpreter aborts with "Fatal
Python error: bool_dealloc" / "none_dealloc" (seen at exit of the screenshot script).

CPython 3.12+ makes these singletons immortal, so there the bugs are harmless. On older
interpreters :func:`install` measures the leaks once and, only if one is there, gives ``True``,
``False`` and ``None`` a very large number of extra references so they can never reach zero
during the process's life. Nothing else is touched.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QStringListModel, Qt, Signal

_PIN = 1 << 40  # far more emits than any process will ever make
_installed = False


class _Probe(QObject):
    fired = Signal()


def emit_leaks_true() -> bool:
    """True when emitting a signal from Python loses a reference to ``True``."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(16):
        probe.fired.emit()
    return sys.getrefcount(True) < before


def variant_leaks_none() -> bool:
    """True when converting an invalid QVariant to Python loses a reference to ``None``."""
    model = QStringListModel(["x"])
    index = model.index(0)
    role = int(Qt.ItemDataRole.UserRole) + 77  # a role the model does not serve
    before = sys.getrefcount(None)
    for _ in range(16):
        index.data(role)
    return sys.getrefcount(None) < before


def install() -> bool:
    """Apply the work-around when needed; returns True when it was applied (idempotent)."""
    global _installed
    if _installed or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _installed
    if not (emit_leaks_true() or variant_leaks_none()):
        return False
    for obj in (True, False, None):
        # ob_refcnt is the first field of every CPython object (non-debug builds).
        ctypes.c_ssize_t.from_address(id(obj)).value += _PIN
    _installed = True
    return True
