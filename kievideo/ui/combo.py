"""A QComboBox whose items can be disabled with a reason (tooltip on the item + a hint line).

QComboBox's default model is a QStandardItemModel, so an item is greyed out by clearing its
ItemIsEnabled flag; the reason goes into the item's ToolTipRole, and ``reasons()`` lets the
panel show them in a small label, since tooltips on disabled popup items are easy to miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget


class ReasonCombo(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def set_choices(self, choices: Sequence[tuple[str, Any, str | None]], keep: Any = None) -> None:
        """Replace items with (label, value, disabled_reason); keep ``keep`` selected if enabled.

        Signals are blocked while rebuilding; the caller decides what changed.
        """
        with QSignalBlocker(self):
            self.clear()
            for label, value, _reason in choices:
                self.addItem(label, value)
            self.set_reasons([r for _l, _v, r in choices])
            self.select(keep)

    def set_reasons(self, reasons: Sequence[str | None]) -> None:
        model = self.model()
        assert isinstance(model, QStandardItemModel)
        for row, reason in enumerate(reasons):
            item = model.item(row)
            if item is None:
                continue
            item.setEnabled(reason is None)
            item.setToolTip(reason or "")

    def select(self, value: Any) -> None:
        """Select ``value`` if present and enabled, else the first enabled item."""
        row = self.findData(value) if value is not None else -1
        if row < 0 or not self.is_enabled_row(row):
            row = next((r for r in range(self.count()) if self.is_enabled_row(r)), 0 if self.count() else -1)
        with QSignalBlocker(self):
            self.setCurrentIndex(row)
        self._sync_tooltip()

    def is_enabled_row(self, row: int) -> bool:
        model = self.model()
        assert isinstance(model, QStandardItemModel)
        item = model.item(row)
        return item is not None and item.isEnabled()

    def reason(self, value: Any) -> str | None:
        row = self.findData(value)
        if row < 0:
            return None
        tip = self.itemData(row, Qt.ItemDataRole.ToolTipRole)
        return tip or None if not self.is_enabled_row(row) else None

    def reasons(self) -> list[tuple[str, str]]:
        """(item label, reason) for every disabled item."""
        return [
            (self.itemText(r), str(self.itemData(r, Qt.ItemDataRole.ToolTipRole) or ""))
            for r in range(self.count())
            if not self.is_enabled_row(r)
        ]

    def value(self) -> Any:
        return self.currentData()

    def _sync_tooltip(self) -> None:
        # The closed combo shows the reasons too, so a hover explains why an option is missing.
        lines = [f"{label}: {reason}" for label, reason in self.reasons() if reason]
        self.setToolTip("\n".join(dict.fromkeys(lines)))
