"""Icons drawn for kievideo (resources/icons/*.svg), tinted to the current palette.

The SVGs use ``currentColor`` so one file serves light and dark schemes: at load time the
placeholder is replaced by a palette colour (or a state colour) and the SVG is rendered through
QSvgRenderer. Results are cached per (name, colour, size) and the cache is dropped when the colour
scheme changes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap

# Start-up: the app icon is set before the first paint and needs only QIcon/QSize. The SVG
# renderer (and Qt's big ``Qt`` namespace, ~30 ms to create) are imported on first use instead.


def resources_dir() -> Path:
    """Where the bundled resources live: inside the package when installed, else the repo root."""
    here = Path(__file__).resolve().parent.parent  # kievideo/
    for cand in (here / "resources", here.parent / "resources"):
        if (cand / "icons").is_dir():
            return cand
    return here.parent / "resources"


@cache
def _svg_text(name: str) -> str:
    path = resources_dir() / "icons" / f"{name}.svg"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        # A missing icon must not break the UI; an empty square is better than an exception.
        return '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24"/>'


# Keyed by the colour's ARGB value (what HexArgb spells out, without building the string): the
# task list asks for two icons per painted row.
_pixmap_cache: dict[tuple[str, int, int, float], QPixmap] = {}


def clear_cache() -> None:
    """Forget tinted pixmaps (call when the colour scheme or palette changes)."""
    _pixmap_cache.clear()


def pixmap(name: str, size: int = 16, color: QColor | None = None, dpr: float | None = None) -> QPixmap:
    """Render icon ``name`` at ``size`` logical pixels, tinted ``color`` (default: palette text)."""
    if color is None:
        color = QGuiApplication.palette().color(QPalette.ColorRole.WindowText)
    if dpr is None:
        app = QGuiApplication.instance()
        dpr = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
    key = (name, color.rgba(), size, dpr)
    pm = _pixmap_cache.get(key)
    if pm is not None:
        return pm
    from PySide6.QtCore import QByteArray, QRectF, Qt
    from PySide6.QtSvg import QSvgRenderer

    svg = _svg_text(name).replace("currentColor", color.name(QColor.NameFormat.HexRgb))
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    pm = QPixmap(QSize(round(size * dpr), round(size * dpr)))
    pm.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pm)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if color.alpha() < 255:
        painter.setOpacity(color.alphaF())
    renderer.render(painter, QRectF(0, 0, size * dpr, size * dpr))
    painter.end()
    pm.setDevicePixelRatio(dpr)
    _pixmap_cache[key] = pm
    return pm


def icon(name: str, color: QColor | None = None) -> QIcon:
    """A QIcon with normal and disabled modes tinted from the palette."""
    pal = QGuiApplication.palette()
    normal = color or pal.color(QPalette.ColorRole.WindowText)
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    ic = QIcon()
    for size in (16, 24, 32):
        ic.addPixmap(pixmap(name, size, normal), QIcon.Mode.Normal)
        ic.addPixmap(pixmap(name, size, disabled), QIcon.Mode.Disabled)
    return ic


#: resources/app/png/kievideo-<N>.png: kievideo.svg pre-rendered by packaging/render_icons.py (the
#: sizes up to 24 px from the simpler kievideo-small.svg, whose fine detail would turn into noise).
APP_ICON_PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def app_icon() -> QIcon:
    """The application icon (full colour, not tinted): resources/app/kievideo.svg with its
    pre-rendered PNGs for every size up to 512 px; the SVG itself serves larger sizes (a 1024 px
    macOS dock icon). Files are read lazily, when a size is first needed."""
    app_dir = resources_dir() / "app"
    ic = QIcon()
    for size in APP_ICON_PNG_SIZES:
        png = app_dir / "png" / f"kievideo-{size}.png"
        if png.is_file():
            ic.addFile(str(png), QSize(size, size))
    svg = app_dir / "kievideo.svg"
    if svg.is_file():
        # One entry only: Qt rasterises a lazily loaded scalable entry once, at the first size
        # asked of it, so several SVG entries next to PNGs would come out at the wrong sizes.
        ic.addFile(str(svg), QSize(1024, 1024))
    return ic
