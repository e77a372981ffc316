"""The PySide6 emit() refcount work-around keeps long sessions alive."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from kievideo.ui import pyside_fixes


class Emitter(QObject):
    ping = Signal(int)


def test_many_emits_cannot_free_true(qapp):
    applied = pyside_fixes.install()
    if sys.version_info < (3, 12) and pyside_fixes.emit_leaks_true():
        assert applied or pyside_fixes._installed
    e = Emitter()
    before = sys.getrefcount(True)
    for i in range(50_000):  # more emits than True has references in a fresh interpreter
        e.ping.emit(i)
    assert sys.getrefcount(True) > 1_000
    assert before - sys.getrefcount(True) <= 50_000


def test_many_invalid_variants_cannot_free_none(qapp):
    from PySide6.QtCore import QStringListModel, Qt

    pyside_fixes.install()
    model = QStringListModel(["a"])  # keep the model alive while its index is used
    index = model.index(0)
    for _ in range(50_000):
        index.data(int(Qt.ItemDataRole.UserRole) + 3)
    assert sys.getrefcount(None) > 1_000
