"""Forcing a colour scheme (``kievideo --dark``): checking the UI in dark mode on any desktop.

Normally kievideo follows the system: the platform theme gives the palette, and the few semantic
colours (style.py) pick their dark variant from the style hints or the palette's lightness. A
platform without dark-mode support (the offscreen QPA of the tests, an old desktop) ignores a
requested scheme, so :func:`force_dark` also switches to the Fusion style with an explicit dark
palette. Every widget then reads its colours from that palette.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

# (role, active/inactive colour, disabled colour or None for the same)
_DARK: tuple[tuple[QPalette.ColorRole, str, str | None], ...] = (
    (QPalette.ColorRole.Window, "#2b2d31", "#2b2d31"),
    (QPalette.ColorRole.WindowText, "#e6e7ea", "#8a8d93"),
    (QPalette.ColorRole.Base, "#1e1f22", "#25262a"),
    (QPalette.ColorRole.AlternateBase, "#34363c", "#2f3035"),
    (QPalette.ColorRole.ToolTipBase, "#3a3c42", None),
    (QPalette.ColorRole.ToolTipText, "#e6e7ea", None),
    (QPalette.ColorRole.PlaceholderText, "#8a8d93", "#6c6f75"),
    (QPalette.ColorRole.Text, "#e6e7ea", "#7c7f85"),
    (QPalette.ColorRole.Button, "#383a40", "#303136"),
    (QPalette.ColorRole.ButtonText, "#e6e7ea", "#8a8d93"),
    (QPalette.ColorRole.BrightText, "#ff6b6b", None),
    (QPalette.ColorRole.Light, "#4a4d55", None),
    (QPalette.ColorRole.Midlight, "#3f4148", None),
    (QPalette.ColorRole.Mid, "#2f3136", None),
    (QPalette.ColorRole.Dark, "#1b1c1f", None),
    (QPalette.ColorRole.Shadow, "#0e0e10", None),
    (QPalette.ColorRole.Highlight, "#3d6fd6", "#3a3d44"),
    (QPalette.ColorRole.HighlightedText, "#ffffff", "#9a9da3"),
    (QPalette.ColorRole.Link, "#7fb0ff", None),
    (QPalette.ColorRole.LinkVisited, "#b89cff", None),
    (QPalette.ColorRole.Accent, "#3d6fd6", "#3a3d44"),
)


def dark_palette() -> QPalette:
    pal = QPalette()
    for role, colour, disabled in _DARK:
        pal.setColor(QPalette.ColorGroup.Active, role, QColor(colour))
        pal.setColor(QPalette.ColorGroup.Inactive, role, QColor(colour))
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled or colour))
    return pal


def force_dark(app: QGuiApplication) -> None:
    """Dark scheme, whatever the platform says (call before any window is created)."""
    from PySide6.QtWidgets import QApplication

    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):  # Qt 6.8+
        hints.setColorScheme(Qt.ColorScheme.Dark)
    if isinstance(app, QApplication):
        app.setStyle("Fusion")
    app.setPalette(dark_palette())
