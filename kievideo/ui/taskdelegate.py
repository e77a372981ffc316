"""TaskDelegate: paints one task row (thumbnail, prompt, provider, state, times, progress, expiry).

Layout of a row (children of a generation are indented and carry a "1080p of …" badge):

    ┌───────────┐  ● Generating   a cat surfing a wave at sunset …
    │ thumbnail │  kie.ai Veo 3.1 · veo3_fast · 720p · expires in 13 d
    └───────────┘  queued 0:12 · running 1:40   [progress bar / error text]

Everything is drawn from the Job in ``Roles.Paint``; the delegate never touches the service.

Painting is on the scrolling path: a scrolled page repaints a dozen rows in one frame, with a
budget of 4 ms per frame. Most of a row's cost was Python work and text layout that come out
the same on every paint, so the delegate keeps them, in caches that cannot go stale:

* the row's data comes in one ``Roles.Paint`` round trip through the filter proxy, and the style
  option is filled without ``initStyleOption``, which makes seven more (see :func:`_init_option`);
* :func:`_row_inputs` collects, on every paint, every value a row's texts are made of (the job's
  fields, the translated labels, the ticking times and the expiry text). They are the key of the
  row's layout (:class:`_RowText`: the elided texts and where everything goes), so a job that
  changed in a way that shows, or a time that ticked, simply gets another layout;
* each line of text is laid out once (:class:`_Line`, shared by equal texts) and drawn where
  ``drawText(rect, AlignVCenter, text)`` would put it: from its shaped glyphs (the same pixels),
  or, where the platform blends text as plain coverage (checked once, :func:`_layers_match_text`),
  from a transparent layer holding the line in its colour (the same to 1/255 where two glyphs
  overlap). Texts whose drawing these do not reproduce (line breaks, clipping) use drawText;
* what every row of a paint pass shares (how text may be drawn, the colours) is worked out once
  per pass (:class:`_Pass`); colours and tinted icons live in :class:`_Colours`;
* a finished job's row (its texts no longer change) is kept as an image (:class:`_RowImages`),
  keyed by the model's paint data for it, which stays the same object while nothing on the row
  changes: a page of history scrolled back into view is a dozen look-ups and blits. Rows still
  under way (their times tick every second) are drawn directly;
* after a paint, the rows one screen above and below are prepared while the GUI is idle, in
  slices, those the scroll heads for first (:meth:`TaskDelegate._prefetch`): images of finished
  rows, layouts of the others, so the rows a scroll brings in are usually ready;
* a frame of a scroll paints rows that are not ready only within a budget (``SCROLL_BUDGET_S``),
  and then all of them or none: a fling through history never seen before leaves those rows
  blank for a frame and paints them as soon as the GUI is idle, instead of stuttering. A frame
  that did not scroll paints every row.

All caches are of bounded size, per font (a font change starts afresh). The figures are in
docs/PERFORMANCE.md (``python -m bench.history``).
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import TypeVar, cast

import shiboken6
from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
    QPalette,
    QPixmap,
    QTextLayout,
    QTextOption,
    QTransform,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QWidget,
)

from kievideo.core.jobs import Job, JobKind, JobState
from kievideo.ui import icons
from kievideo.ui.style import (
    error_color,
    fmt_expiry,
    provider_label,
    state_color,
    state_icon_name,
    state_label,
    tr,
    warning_color,
)
from kievideo.ui.taskmodel import Roles, status_note
from kievideo.ui.thumbs import ThumbCache

THUMB = QSize(112, 63)  # 16:9
CHILD_THUMB = THUMB * 0.75  # an indented child's smaller thumbnail
PAD = 8
INDENT = 28

#: memoised text measurements per font (about 5 per row, well under 1 MB)
MEMO_CAPACITY = 2048
#: laid-out lines per font (2-3 distinct ones per row; ~8 KiB each with their glyphs, plus
#: ~10-25 KiB per colour a layer is drawn in): about 200 rows, under 15 MB
LINE_CAPACITY = 512
#: row layouts per font (they hold their lines: a few MB at most)
ROW_CAPACITY = 256
#: at most this many rows above and below the painted ones are prepared ahead (a tall screen)
PREFETCH_ROWS = 40
#: finished rows kept as images (see _RowImages): the screen, one above and one below, a few more
ROW_IMAGES_MIN = 32
#: ... and never more pixels than this many bytes (a very tall or high-density screen keeps fewer)
ROW_IMAGE_BYTES = 48 * 1024 * 1024
#: dropped row images kept to be painted over (see _RowImages.spare)
SPARE_IMAGES = 16
#: the idle preparation of rows works in slices of this many seconds, so input is never kept waiting
PREFETCH_SLICE_S = 0.004
#: a scrolled frame paints rows that are not ready (~0.5-1 ms each) for this long; the rest are
#: left blank for that frame and painted when the GUI is idle (a fling shows the rows a frame late
#: instead of stuttering)
SCROLL_BUDGET_S = 0.001
#: ... judged by the slowest of the last this many row images painted (in frames or when idle)
RENDER_COSTS_KEPT = 8

# Enum members resolved once: each PySide enum attribute access goes through Python's enum
# machinery, and a row would otherwise look up a dozen of them.
_V_CENTER = Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter
_ELIDE_RIGHT = Qt.TextElideMode.ElideRight
_LTR = Qt.LayoutDirection.LeftToRight
_NO_PEN = Qt.PenStyle.NoPen
_ANTIALIAS = QPainter.RenderHint.Antialiasing
_SELECTED = QStyle.StateFlag.State_Selected
_HAS_DISPLAY = QStyleOptionViewItem.ViewItemFeature.HasDisplay
_CE_ITEM = QStyle.ControlElement.CE_ItemViewItem
_CE_PROGRESS = QStyle.ControlElement.CE_ProgressBar
_BAR_STATE = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
_TEXT = QPalette.ColorRole.Text
_HIGHLIGHTED_TEXT = QPalette.ColorRole.HighlightedText
_HIGHLIGHT = QPalette.ColorRole.Highlight
_ALTERNATE_BASE = QPalette.ColorRole.AlternateBase
_BASE = QPalette.ColorRole.Base
_SOURCE_OVER = QPainter.CompositionMode.CompositionMode_SourceOver
_PAINT_EVENT = QEvent.Type.Paint
_ENABLED = QStyle.StateFlag.State_Enabled
#: a row in any of these states is not prepared ahead (it is painted as the user left it)
_NOT_PLAIN = (
    QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_HasFocus | QStyle.StateFlag.State_MouseOver
)
_SOLID = Qt.BrushStyle.SolidPattern
_SELECTED_BIT = QStyle.StateFlag.State_Selected.value
_ENABLED_BIT = QStyle.StateFlag.State_Enabled.value
_NOT_PLAIN_BITS = _NOT_PLAIN.value
_TRANSLATIONS = frozenset({QTransform.TransformationType.TxNone, QTransform.TransformationType.TxTranslate})
_FAILED = frozenset({JobState.FAILED, JobState.UNCERTAIN, JobState.EXPIRED})
_UPGRADES = frozenset({JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K})

# How drawText(rect, flags, text) lays out a single line in a left-to-right painter: one
# QTextLayout line, no wrapping, trailing spaces kept, left aligned.
_LINE_OPTION = QTextOption()
_LINE_OPTION.setTextDirection(Qt.LayoutDirection.LeftToRight)
_LINE_OPTION.setWrapMode(QTextOption.WrapMode.NoWrap)
_LINE_OPTION.setFlags(QTextOption.Flag.IncludeTrailingSpaces)


_Rect = tuple[int, int, int, int]  # QRect.getRect()
_SERIALS = itertools.count(1)  # serial numbers of fonts and colours (see _RowImages)
_K = TypeVar("_K")
_V = TypeVar("_V")


def _lru_get(memo: dict[_K, _V], key: _K) -> _V | None:
    """The entry for ``key``, now the most recently used one (a dict keeps insertion order)."""
    out = memo.pop(key, None)
    if out is not None:
        memo[key] = out
    return out


def _lru_put(memo: dict[_K, _V], key: _K, value: _V, capacity: int) -> _V:
    if len(memo) >= capacity:
        del memo[next(iter(memo))]  # the least recently used
    memo[key] = value
    return value


def _whole_pixels(t: QTransform) -> bool:
    """True when ``t`` only moves by whole pixels: a layer then lands where its text would."""
    return t.type() in _TRANSLATIONS and t.dx().is_integer() and t.dy().is_integer()


def _whole_pixels_at(t: QTransform, dpr: float) -> bool:
    """True when ``t`` is the device's whole-number pixel ratio ``dpr`` and a move by whole
    pixels: an image of a row, made at that ratio, then lands on the device's pixel grid."""
    if dpr == 1.0:
        return _whole_pixels(t)
    return (
        dpr.is_integer()
        and t.m11() == dpr
        and t.m22() == dpr
        and t.m12() == 0
        and t.m21() == 0
        and t.m13() == 0
        and t.m23() == 0
        and t.dx().is_integer()
        and t.dy().is_integer()
    )


class _RowImages:
    """Painted rows kept as opaque pixmaps, least recently used dropped first.

    Scrolling brings back rows painted before (or prepared while idle, see
    :meth:`TaskDelegate._prefetch`); each is then one ``drawPixmap`` instead of ~0.5 ms of
    Python and text drawing, which is what keeps a scrolled frame within its 4 ms.

    A key holds every value the row's pixels are made of: its paint data (see
    :meth:`TaskDelegate._row_image`), its thumbnail, its geometry and style state (selection,
    focus, hover, the window's activity), the background, the pixel ratio, and the serial numbers
    of the fonts and colours it was painted with (never reused, unlike ids). The entry holds the
    paint data it was made from and matches only that same object. So nothing is invalidated by
    hand: a row that changed in any way that shows has another key, and old entries age out.
    The delegate empties the cache when the view's style is another object, and when fonts or
    colours are made anew (entries for the old ones could never match again). Entries hold no
    fonts or colours, so old ones are not kept alive by them.
    """

    __slots__ = ("_entries", "_spares", "capacity", "nbytes")

    def __init__(self) -> None:
        self._entries: dict[tuple[object, ...], tuple[QPixmap, object, int]] = {}
        # Dropped pixmaps, painted over for the next rows: scrolling makes and drops a row image
        # per row, and fresh ~170 KB buffers each time left the heap fragmented (+15 MB RSS).
        self._spares: list[QPixmap] = []
        self.nbytes = 0
        self.capacity = ROW_IMAGES_MIN

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[object, ...], source: object) -> QPixmap | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        if entry[1] is not source:
            self.nbytes -= entry[2]  # painted from data that is gone (its id was reused): drop it
            return None
        self._entries[key] = entry  # now the most recently used
        return entry[0]

    def has(self, key: tuple[object, ...], source: object) -> bool:
        """Whether :meth:`get` would find an image (without making it the most recently used)."""
        entry = self._entries.get(key)
        return entry is not None and entry[1] is source

    def put(self, key: tuple[object, ...], source: object, pm: QPixmap) -> None:
        size = pm.width() * pm.height() * 4
        old = self._entries.pop(key, None)
        if old is not None:
            self.nbytes -= old[2]
        self._entries[key] = (pm, source, size)
        self.nbytes += size
        entries = self._entries
        while len(entries) > 1 and (len(entries) > self.capacity or self.nbytes > ROW_IMAGE_BYTES):
            old_pm, _source, old_size = entries.pop(next(iter(entries)))
            self.nbytes -= old_size
            if len(self._spares) < SPARE_IMAGES:
                self._spares.append(old_pm)

    def spare(self, width: int, height: int) -> QPixmap:
        """A pixmap of ``width`` x ``height`` device pixels to paint a row on: a dropped one of
        that size if there is one, else a new one."""
        spares = self._spares
        while spares:
            pm = spares.pop()
            if pm.width() == width and pm.height() == height:
                return pm
        return QPixmap(width, height)

    def clear(self) -> None:
        self._entries.clear()
        self._spares.clear()
        self.nbytes = 0


class _Line:
    """One line of text laid out once, its shaped glyphs kept (drawing is then ~2x faster),
    and, per colour, rendered once into a transparent layer (drawing that is ~6x faster).

    Coordinates are those of the text's rect, ``drawText(QRect(0, 0, w, line_h), AlignVCenter)``:
    the line is drawn at (0, ``yoff``); its layers cover ``box`` (the line box and everything the
    glyphs ink beyond it, e.g. accents and parentheses).
    """

    __slots__ = ("_layers", "box", "height", "layout", "width", "yoff")

    def __init__(self, text: str, font: QFont, line_h: int) -> None:
        self.layout = QTextLayout(text, font)
        self.layout.setCacheEnabled(True)
        self.layout.setTextOption(_LINE_OPTION)
        self.layout.beginLayout()
        line = self.layout.createLine()
        line.setLineWidth(0x01000000)  # drawText's "no wrap" width
        self.layout.endLayout()
        self.height = line.height()
        self.width = line.naturalTextWidth()
        self.yoff = (line_h - self.height) / 2  # drawText centres the line in the rect
        # The layers' extent: the rect and the glyphs' ink (which may reach beyond it), plus a
        # pixel for antialiasing at fractional glyph positions.
        ink = QFontMetricsF(font).tightBoundingRect(text).translated(0, self.yoff + line.ascent())
        box = QRectF(0, 0, self.width, line_h).united(ink)
        self.box = box.toAlignedRect().adjusted(-1, -1, 1, 1)
        self._layers: dict[int, QImage] = {}

    def layer(self, colour: QColor) -> QImage:
        """The line drawn in ``colour`` on a transparent image covering :attr:`box`.

        Drawn over a background with SourceOver, a layer gives drawText's pixels: the raster
        engine blends each glyph pixel as ``colour * coverage`` over the background, which is
        what the layer holds. Where two glyphs overlap, a value can differ by one step of 255
        (rounding); :func:`_layers_match_text` checks the platform blends text this way.
        """
        rgba = colour.rgba()
        image = self._layers.get(rgba)
        if image is None:
            box = self.box
            image = QImage(box.size(), QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(0)
            lp = QPainter(image)
            lp.setPen(colour)
            self.layout.draw(lp, QPointF(-box.x(), self.yoff - box.y()))
            lp.end()
            self._layers[rgba] = image
        return image


class _Text:
    """A text placed in a row: ``drawText(rect, AlignVCenter, text)``, or, when ``line`` is set
    (it fits the rect: see :meth:`_Fonts.place`), the same pixels from that laid-out line."""

    __slots__ = ("at", "line", "pos", "rect", "text")

    def __init__(self, text: str, rect: QRect, line: _Line | None) -> None:
        self.text = text
        self.rect = rect
        self.line = line
        if line is not None:
            self.pos = QPointF(rect.x(), rect.y() + line.yoff)  # where the layout is drawn
            self.at = rect.topLeft() + line.box.topLeft()  # where its layers are drawn

    def draw(self, p: QPainter, mode: int, colour: QColor, font: QFont) -> None:
        """Draw in ``colour`` and ``font``. ``mode`` (see :class:`_Pass`): 0 drawText, 1 the
        laid-out line, 2 its layer. The pen and font are set only where they are used."""
        line = self.line
        if line is None or not mode:
            p.setFont(font)
            p.setPen(colour)
            p.drawText(self.rect, _V_CENTER, self.text)
        elif mode == 2:
            p.drawImage(self.at, line.layer(colour))
        else:
            p.setPen(colour)
            line.layout.draw(p, self.pos)


class _Fonts:
    """The row font, its bold variant, their metrics, and the caches of what is laid out in them.

    Built once per font (the delegate keeps the last one): a QFont copy plus two QFontMetrics
    per row added up.
    """

    __slots__ = (
        "_advance",
        "_elided",
        "_lines",
        "_rows",
        "bfm",
        "bold",
        "dpi",
        "fm",
        "font",
        "layered",
        "line_h",
        "serial",
    )

    def __init__(self, font: QFont) -> None:
        self.serial = next(_SERIALS)  # names these fonts in row image keys
        self.font = QFont(font)
        self.bold = QFont(font)
        self.bold.setBold(True)
        self.fm = QFontMetrics(self.font)
        self.bfm = QFontMetrics(self.bold)
        self.line_h = self.fm.height()
        # The resolution these fonts (and the laid-out lines) are measured at: the default one.
        self.dpi = self.fm.fontDpi()
        # Whether text may be drawn from layers (see _layers_match_text): unknown (None) until
        # checked, which happens when the GUI is idle (TaskDelegate._prefetch).
        self.layered: bool | None = None
        self._elided: dict[tuple[bool, str, int], str] = {}
        self._advance: dict[tuple[bool, str], int] = {}
        self._lines: dict[tuple[bool, str], _Line] = {}
        self._rows: dict[tuple[RowInputs, int, int, int], _RowText] = {}

    def elided(self, text: str, width: int, *, bold: bool = False) -> str:
        """``elidedText(text, ElideRight, width)`` in the regular or bold font."""
        key = (bold, text, width)
        out = _lru_get(self._elided, key)
        if out is None:
            out = (self.bfm if bold else self.fm).elidedText(text, _ELIDE_RIGHT, width)
            _lru_put(self._elided, key, out, MEMO_CAPACITY)
        return out

    def advance(self, text: str, *, bold: bool = False) -> int:
        """``horizontalAdvance(text)`` in the regular or bold font."""
        key = (bold, text)
        out = _lru_get(self._advance, key)
        if out is None:
            out = (self.bfm if bold else self.fm).horizontalAdvance(text)
            _lru_put(self._advance, key, out, MEMO_CAPACITY)
        return out

    def line(self, text: str, *, bold: bool = False) -> _Line:
        """``text`` laid out in the regular or bold font."""
        key = (bold, text)
        out = _lru_get(self._lines, key)
        if out is None:
            line = _Line(text, self.bold if bold else self.font, self.line_h)
            out = _lru_put(self._lines, key, line, LINE_CAPACITY)
        return out

    def place(self, text: str, x: int, y: int, width: int, *, bold: bool = False) -> _Text | None:
        """``text`` drawn as ``drawText(QRect(x, y, width, line_h), AlignVCenter, text)``.

        drawText lays the text out as one :class:`_Line` (for a single line in a left-to-right
        painter, at the default resolution, in our font: see :class:`_Pass`), moves it down by
        half the height left in the rect, and clips it to the rect only when it does not fit.
        A line that fits is drawn from its layout (or layer) instead, at that position: the
        same pixels without laying the text out on every paint. Texts that do not fit, and
        texts with line breaks or tabs (which drawText handles its own way), are left to
        drawText. None for an empty text: drawText draws nothing.
        """
        if not text:
            return None
        rect = QRect(x, y, width, self.line_h)
        if text.isprintable():
            line = self.line(text, bold=bold)
            if line.yoff >= 0 and line.width <= width:
                return _Text(text, rect, line)
        return _Text(text, rect, None)

    def row_text(self, inputs: RowInputs, left: int, right: int, height: int) -> _RowText:
        """The layout of a row made of ``inputs`` spanning ``left``..``right``, ``height`` high."""
        key = (inputs, left, right, height)
        out = _lru_get(self._rows, key)
        if out is None:
            out = _lru_put(self._rows, key, _RowText(self, inputs, left, right, height), ROW_CAPACITY)
        return out

    def cached(self) -> int:
        """How many measurements, lines and row layouts are cached (for tests)."""
        return len(self._elided) + len(self._advance) + len(self._lines) + len(self._rows)


#: what the layer check draws: overlapping glyphs, ink beyond the line box, our separators
_PROBE_TEXTS = ("Hxg ffi fl rf Ty AV (j) [q] Å É ŷ 09:59 · … –", "kie.ai Veo 3.1 · veo3_fast · 720p")
#: (text colour, background): opaque and translucent (the dim lines), light and dark schemes
_PROBE_COLOURS = (
    ((20, 20, 20, 255), (255, 255, 255)),
    ((20, 20, 20, 173), (255, 255, 255)),
    ((255, 255, 255, 173), (43, 43, 43)),
    ((29, 111, 214, 255), (43, 43, 43)),
)
_OFF_BY_MORE_THAN_ONE = bytes([0, 0] + [1] * 254)  # bytes.translate: |difference| > 1 -> 1


def _layers_match_text(fonts: _Fonts) -> bool:
    """Whether a layer drawn over a background gives what drawText gives, to one step of 255.

    That holds where the raster engine blends text as plain coverage (Linux, the offscreen
    platform). Where text is blended gamma-corrected or with subpixel (LCD) antialiasing, on
    some platforms and settings, a layer would look different: there no layers are used.
    """
    line_h = fonts.line_h
    height = len(_PROBE_TEXTS) * (line_h + 8) + 8
    for image_format in (QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32_Premultiplied):
        for font in (fonts.font, fonts.bold):
            for rgba, background in _PROBE_COLOURS:
                colour = QColor(*rgba)
                direct = QImage(360, height, image_format)
                direct.fill(QColor(*background))
                layered = QImage(direct)
                dp, lp = QPainter(direct), QPainter(layered)
                dp.setLayoutDirection(_LTR)
                dp.setFont(font)
                dp.setPen(colour)
                for i, sample in enumerate(_PROBE_TEXTS):
                    rect = QRect(6, 6 + i * (line_h + 8), 348, line_h)
                    dp.drawText(rect, _V_CENTER, sample)
                    line = _Line(sample, font, line_h)
                    lp.drawImage(rect.topLeft() + line.box.topLeft(), line.layer(colour))
                dp.end()
                lp.setCompositionMode(QPainter.CompositionMode.CompositionMode_Difference)
                lp.drawImage(0, 0, direct)
                lp.end()
                raw = bytes(layered.constBits())  # B, G, R, A per pixel: compare B, G, R
                if b"\1" in (raw[0::4] + raw[1::4] + raw[2::4]).translate(_OFF_BY_MORE_THAN_ONE):
                    return False
    return True


class _Colours:
    """Colours and tinted icons of a row, computed once per palette, scheme and selection."""

    __slots__ = (
        "_badge",
        "_dpr",
        "_icons",
        "_selected",
        "_state",
        "dim",
        "error",
        "placeholder",
        "serial",
        "text",
        "warning",
    )

    def __init__(self, pal: QPalette, selected: bool, dpr: float) -> None:
        self.serial = next(_SERIALS)  # names these colours in row image keys
        self.text = pal.color(_HIGHLIGHTED_TEXT if selected else _TEXT)
        self.dim = QColor(self.text)
        self.dim.setAlphaF(0.68)
        # On a selected row the placeholder is a shade of the highlight, so the (highlighted-text
        # coloured) state icon stays visible in light and dark schemes.
        self.placeholder = pal.color(_HIGHLIGHT).darker(118) if selected else pal.color(_ALTERNATE_BASE)
        self.error = error_color() if not selected else self.text
        self.warning = warning_color() if not selected else self.text
        self._selected = selected
        self._dpr = dpr
        self._state: dict[JobState, QColor] = {}
        self._badge: dict[JobState, QColor] = {}
        self._icons: dict[tuple[JobState, int], QPixmap] = {}

    def state(self, state: JobState) -> QColor:
        """The state word's colour (the text colour on a selected row)."""
        col = self._state.get(state)
        if col is None:
            col = self._state[state] = self.text if self._selected else state_color(state)
        return col

    def badge(self, state: JobState) -> QColor:
        """The parent badge's background: the state colour, faint."""
        col = self._badge.get(state)
        if col is None:
            col = self._badge[state] = QColor(self.state(state))
            col.setAlphaF(0.18)
        return col

    def icon(self, state: JobState, size: int) -> QPixmap:
        """The state icon: 16 px in the state colour, 22 px (placeholder) in the dim colour."""
        key = (state, size)
        pm = self._icons.get(key)
        if pm is None:
            colour = self.state(state) if size == 16 else self.dim
            pm = self._icons[key] = icons.pixmap(state_icon_name(state), size, colour, self._dpr)
        return pm


def _init_option(opt: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
    """What ``QStyledItemDelegate.initStyleOption`` does to ``opt`` for a TaskListModel row.

    initStyleOption asks for seven roles (font, alignment, foreground, check state, decoration,
    display, background), each a Python call through the proxy. The model answers only the
    display role, and its text is not drawn by the style here (we paint it), so the result is
    just: the index, the "has display" feature, and no style animations. A test compares this
    with initStyleOption so a model that starts answering one of those roles is noticed.
    """
    opt.index = index  # type: ignore[assignment]
    opt.features |= _HAS_DISPLAY
    opt.text = ""  # we draw the text ourselves; the style paints selection/hover only
    opt.styleObject = None  # type: ignore[assignment]


#: What a row's texts are made of (see :func:`_row_inputs`).
RowInputs = tuple[
    int,
    str,
    str,
    JobState,
    str,
    JobKind,
    str,
    str,
    str,
    str,
    str,
    str | None,
    str,
    str,
    bool,
    float | None,
    str,
]


def _row_inputs(row: tuple[Job, int, str, str], clock: Callable[[], float]) -> RowInputs:
    """Every value a row's texts are made of, translated strings included.

    :class:`_RowText` reads nothing else, and this is the key of its cache: a job that changed
    in any way that shows, a time that ticked, an expiry that moved on, a translation that
    changed: each gives another key, so a cached layout can never be shown for other texts.
    """
    job, depth, badge, times = row
    state = job.state
    spec = job.spec
    prompt = spec.prompt
    expiry = _expiry_text(job, clock)
    label = state_label(state)
    if state in _FAILED:
        tail: str = job.error_message or job.provider_message or label
        warn, progress, ptext = False, None, ""
    else:
        progress, ptext = _progress(job)
        tail, warn = status_note(job)
    return (
        depth,
        badge,
        times,
        state,
        label,
        job.kind,
        prompt,
        tr("(no prompt)") if not prompt or prompt.isspace() else "",
        provider_label(spec.provider),
        spec.profile,
        spec.model,
        job.resolution,
        expiry,
        tail,
        warn,
        progress,
        ptext,
    )


def _expiry_text(job: Job, clock: Callable[[], float]) -> str:
    """The row's expiry text: the one text of a finished row that moves with the clock."""
    if job.state is JobState.DONE or job.expires_at:
        return fmt_expiry(job.expires_at, clock())
    return ""


def _expiry_step(job: Job, clock: Callable[[], float]) -> tuple[int, int]:
    """Which expiry text a row shows, without making it (a key for _RowImages): (0, 0) none or
    expired, (1, days) "expires in N d", (2, hours) "expires in N h". Mirrors fmt_expiry, and
    is ~10x cheaper than translating the text (a test holds the two together)."""
    expires_at = job.expires_at
    if expires_at is None or not (job.state is JobState.DONE or expires_at):
        return (0, 0)
    left = expires_at - clock()
    if left <= 0:
        return (0, 1)
    days = left / 86400
    if days >= 1:
        return (1, int(days))
    return (2, max(1, int(left / 3600)))


def _progress(job: Job) -> tuple[float | None, str]:
    if job.state is JobState.UPLOADING and job.upload_progress is not None:
        return job.upload_progress, tr("upload %1%").replace("%1", str(int(job.upload_progress * 100)))
    if job.state is JobState.DOWNLOADING and job.download_progress is not None:
        return job.download_progress, tr("download %1%").replace("%1", str(int(job.download_progress * 100)))
    return None, ""


class _RowText:
    """The layout of a row: its texts (elided) and where everything goes, made from
    :func:`_row_inputs` alone so that it can be cached by them. Coordinates: x as in the view,
    y from the row's top (the painter is moved to it)."""

    __slots__ = (
        "badge",
        "badge_rect",
        "bar",
        "failed",
        "icon16",
        "icon22",
        "label",
        "line2",
        "prompt",
        "tail",
        "thumb",
        "times",
        "warn",
    )

    def __init__(self, fonts: _Fonts, inputs: RowInputs, left: int, right: int, height: int) -> None:
        (
            depth,
            badge,
            times,
            state,
            label,
            kind,
            prompt,
            no_prompt,
            provider,
            profile,
            model,
            resolution,
            expiry,
            tail,
            warn,
            progress,
            ptext,
        ) = inputs
        line_h = fonts.line_h
        size = CHILD_THUMB if depth else THUMB
        tw, th = size.width(), size.height()
        x = left + PAD + depth * INDENT
        self.thumb = thumb = QRect(x, (height - th) // 2, tw, th)
        self.icon22 = QRect(0, 0, 22, 22)
        self.icon22.moveCenter(thumb.center())
        tx = x + tw + PAD + 1  # thumb.right() + PAD + 2
        end = right - PAD  # the text's right edge
        width = end - tx
        y = (height - (3 * line_h + 6)) // 2

        # Line 1: state icon + state word, the parent badge of a child, then the prompt excerpt.
        self.icon16 = QRect(tx, y + (line_h - 16) // 2, 16, 16)
        self.label = fonts.place(label, tx + 20, y, width, bold=True)
        lx = tx + 20 + fonts.advance(label, bold=True) + 10
        self.badge = ""
        self.badge_rect: QRect | None = None
        if badge:
            bw = min(fonts.advance(badge) + 10, max(0, end - lx) // 2)
            self.badge_rect = QRect(lx, y + 1, bw, line_h - 2)
            self.badge = fonts.elided(badge, bw - 8)
            lx += bw + 8
        prompt = " ".join(prompt.split()) or no_prompt
        if badge and kind in _UPGRADES:
            prompt = ""  # the badge already names the video; an extension shows its own prompt
        self.prompt = fonts.place(
            fonts.elided(prompt, max(0, end - lx), bold=True), lx, y, end - lx, bold=True
        )

        # Line 2: provider · model · resolution · expiry.
        y += line_h + 3
        bits = [provider]
        if profile not in ("", "kie"):
            bits[0] = f"{bits[0]} ({profile})"
        bits.append(model)
        if resolution:
            bits.append(resolution)
        if expiry:
            bits.append(expiry)
        self.failed = failed = state in _FAILED
        if failed and times:
            bits.append(times)  # line 3 belongs to the error text, in full
        self.line2 = fonts.place(fonts.elided(" · ".join(bits), width), tx, y, width)

        # Line 3: times, then the error text, a progress bar (bar: value, text) or a note.
        y += line_h + 3
        self.bar: tuple[float, str, QRect] | None = None
        self.warn = warn
        if failed:
            self.times = None
            rwidth = max(0, width)
            self.tail = fonts.place(fonts.elided(tail, rwidth), tx, y, rwidth)
            return
        self.times = fonts.place(times, tx, y, width)
        rx = tx + (fonts.advance(times) + 12 if times else 0)
        rwidth = max(0, end - rx)
        self.tail = None
        if progress is not None and rwidth > 60:
            self.bar = (progress, ptext, QRect(rx, y + 2, min(rwidth, 220), line_h - 4))
        elif tail:
            self.tail = fonts.place(fonts.elided(tail, rwidth), rx, y, rwidth)


class _Pass:
    """What every row of one paint pass shares: it depends on the painter only.

    ``mode`` and ``bold_mode`` say how the regular and bold texts are drawn (see _Text.draw):
    from the laid-out lines (1) where the painter would lay text out as they were (left to
    right, at the fonts' resolution, in exactly our font once set), and from their layers (2)
    where it also draws images pixel for pixel (whole-pixel moves, no opacity, plain blending)
    and the platform blends text as layers do (:func:`_layers_match_text`); else drawText (0).
    """

    __slots__ = (
        "bg",
        "bold_mode",
        "colours",
        "dpr",
        "fonts",
        "mode",
        "painter",
        "scrolled",
        "t0",
        "template",
        "wrapper",
    )

    def __init__(self, p: QPainter, painter_id: int, fonts: _Fonts) -> None:
        self.painter = painter_id
        self.fonts = fonts
        device = p.device()
        self.dpr = device.devicePixelRatio()
        mode = 0
        if p.layoutDirection() == _LTR and device.logicalDpiY() == fonts.dpi:
            mode = 1
            if (
                fonts.layered
                and self.dpr == 1.0
                and p.opacity() == 1.0
                and p.compositionMode() == _SOURCE_OVER
                and _whole_pixels(p.deviceTransform())
            ):
                mode = 2
        # drawText would use our fonts exactly if setting them gives them back (the painter
        # resolves a font against its device's).
        p.save()
        p.setFont(fonts.bold)
        self.bold_mode = mode if p.font() == fonts.bold else 0
        p.setFont(fonts.font)
        self.mode = mode if p.font() == fonts.font else 0
        p.restore()
        self.colours: dict[tuple[bool, bool], _Colours] = {}
        # The view's background when its rows may be kept as images (_RowImages), else None:
        # set by TaskDelegate._pass_for for a view's own paint of its viewport.
        self.bg: QColor | None = None
        self.template = False  # whether a plain row of this pass was kept for _prefetch
        # Whether the view scrolled since its last pass (set by _pass_for), and when this pass
        # painted its first row: a scrolling pass paints rows not ready yet only in its budget.
        self.scrolled = False
        self.t0 = time.perf_counter()
        self.wrapper: QPainter | None = None


def _image_background(p: QPainter, viewport: QWidget, dpr: float) -> QColor | None:
    """The colour the view paints under its rows, when rows may be kept as images: the viewport
    fills itself with one opaque colour, and ``p`` draws an image pixel for pixel (a whole-number
    pixel ratio and position, no opacity, plain blending). Else None: rows are drawn directly."""
    if (
        not dpr.is_integer()
        or p.opacity() != 1.0
        or p.compositionMode() != _SOURCE_OVER
        or not _whole_pixels_at(p.deviceTransform(), dpr)
        or not viewport.autoFillBackground()
    ):
        return None
    brush = viewport.palette().brush(viewport.backgroundRole())
    if brush.style() != _SOLID or brush.color().alpha() != 255:
        return None
    return brush.color()


class _Template:
    """What rows prepared ahead are painted with: the state and colour group of a plain
    (unselected, unfocused, not hovered) row from the last paint of ``view``, and that pass's
    background and ratio. The style option itself is made afresh by the view when needed."""

    __slots__ = ("bg", "dpr", "group", "state", "view")

    def __init__(self, option: QStyleOptionViewItem, view: QWidget, ps: _Pass) -> None:
        self.view = view
        self.state = option.state
        self.group = option.palette.currentColorGroup()
        self.bg = ps.bg
        self.dpr = ps.dpr

    def option(self, view: QAbstractItemView, rect: QRect) -> QStyleOptionViewItem:
        """The style option the view would paint a plain row at ``rect`` with."""
        opt = QStyleOptionViewItem()
        view.initViewItemOption(opt)
        opt.state = self.state
        pal = opt.palette
        pal.setCurrentColorGroup(self.group)
        opt.palette = pal
        opt.rect = rect
        return opt


class TaskDelegate(QStyledItemDelegate):
    def __init__(
        self,
        thumbs: ThumbCache,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.time,
        row_images: bool = True,
    ) -> None:
        super().__init__(parent)
        self._thumbs = thumbs
        # Rows kept as images (see _RowImages); off, every row is drawn on every paint (tests
        # compare the two).
        self._images: _RowImages | None = _RowImages() if row_images else None
        # The style the images were painted with (kept: a new style is another object).
        self._images_style: QStyle | None = None
        self._template: _Template | None = None
        # The rows the idle preparation still has to do (see _prefetch), and where the last
        # paint pass began (the direction of a scroll: the rows it heads for go first).
        self._queue: list[int] = []
        self._queue_ctx: tuple[QAbstractItemView, int, int, int] | None = None
        self._last_lo: int | None = None
        self._up = False
        # The last painted rows the preparation was planned for: a thumbnail that arrives later
        # plans it again (rows prepared without their thumbnail are prepared anew, with it).
        self._planned: tuple[QWidget, int, int, int, int, int] | None = None
        # The view and its scroll position at its last paint pass (see _Pass.scrolled), and the
        # rows a scrolling pass left blank (see paint): the idle preparation paints them first.
        self._last_offset: tuple[QWidget, tuple[int, int]] | None = None
        self._deferred: set[int] = set()
        # Whether the style's item panel draws anything, per state (see _panel_draws)
        self._panels: dict[tuple[object, ...], bool] = {}
        # What the last row images took to paint (see _may_render)
        self._render_costs: deque[float] = deque([0.0], maxlen=RENDER_COSTS_KEPT)
        thumbs.loaded.connect(self._thumb_loaded)
        self._clock = clock  # the service's clock: expiry times are on it
        app = QGuiApplication.instance()
        self._app = app if isinstance(app, QGuiApplication) else None
        self._fonts: _Fonts | None = None
        self._colours: dict[tuple[object, ...], _Colours] = {}
        self._plain_colours: _Colours | None = None  # the last unselected row's (for _prefetch)
        # The current paint pass (see _Pass); a Paint event of a watched viewport starts a new one.
        self._pass: _Pass | None = None
        self._viewports: weakref.WeakSet[QWidget] = weakref.WeakSet()
        # Where a thumbnail goes in its placeholder: (pixmap, placeholder) -> (target, hides it)
        self._targets: dict[tuple[int, int, int, int, int], tuple[QRect, bool]] = {}
        # Rows next to the painted ones are prepared while the GUI is idle (see _prefetch): the
        # view, the painted rows' range and the geometry they were painted with.
        self._painted: tuple[QWidget, int, int, int, int, int] | None = None
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(0)
        self._prefetch_timer.timeout.connect(self._prefetch)

    @property
    def keeps_row_images(self) -> bool:
        """Whether finished rows are kept as images (see _RowImages)."""
        return self._images is not None

    def fonts(self, font: QFont) -> _Fonts:
        """The metrics (and layout caches) for ``font``, rebuilt when the font changes."""
        fonts = self._fonts
        if fonts is None or fonts.font != font:
            fonts = self._fonts = _Fonts(font)
            if self._images is not None:
                self._images.clear()  # painted in the old fonts: they could never match again
        return fonts

    def colours(self, pal: QPalette, selected: bool) -> _Colours:
        """The colours for a row painted with ``pal``. The key holds everything they derive
        from: the row's palette (its colours and current group), the selection, and the
        application's palette and colour scheme (what :func:`kievideo.ui.style.is_dark` reads
        for the state, error and warning colours), and the pixel ratio of the icons."""
        app = self._app
        dpr = app.devicePixelRatio() if app is not None else 1.0
        key = (
            pal.cacheKey(),
            pal.currentColorGroup(),  # not part of cacheKey, but chooses the colours
            selected,
            QGuiApplication.palette().cacheKey(),
            app.styleHints().colorScheme() if app is not None else None,
            dpr,
        )
        colours = self._colours.get(key)
        if colours is None:
            if len(self._colours) >= 8:  # a few palettes × selection; old schemes are dropped
                self._colours.clear()
                if self._images is not None:
                    self._images.clear()
            colours = self._colours[key] = _Colours(pal, selected, dpr)
        return colours

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A paint pass begins with the viewport's Paint event: forget the previous pass (the
        palette, the font or the scheme may have changed since)."""
        if event.type() == _PAINT_EVENT:
            self._pass = None
        return False

    def _pass_for(self, p: QPainter, widget: QWidget | None, fonts: _Fonts) -> _Pass:
        """The pass ``p`` paints. Only a view's own paint of its viewport is kept for the next
        rows (its Paint event, watched, ends it); any other painter gets one for this row."""
        ps = self._pass
        if ps is not None and p is ps.wrapper and ps.fonts is fonts:
            return ps  # the same Python object: the pass keeps it, so the binding hands it again
        painter_id = shiboken6.getCppPointer(p)[0]
        if ps is not None and ps.painter == painter_id and ps.fonts is fonts:
            return ps
        ps = _Pass(p, painter_id, fonts)
        viewport = widget.viewport() if isinstance(widget, QAbstractItemView) else None
        if viewport is not None and p.device() is viewport:
            if viewport not in self._viewports:
                viewport.installEventFilter(self)
                self._viewports.add(viewport)
            self._pass = ps
            # Only compared by identity, never used: the pass ends with the next Paint event.
            ps.wrapper = p
            if self._images is not None:
                ps.bg = _image_background(p, viewport, ps.dpr)
                assert isinstance(widget, QAbstractItemView)
                style = widget.style()
                if style is not self._images_style:  # rows painted by another style: never again
                    self._images.clear()
                    self._images_style = style
                offset = (widget.horizontalScrollBar().value(), widget.verticalScrollBar().value())
                last, self._last_offset = self._last_offset, (widget, offset)
                ps.scrolled = last is not None and last[0] is widget and last[1] != offset
        else:
            self._pass = None
        return ps

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        text_h = 3 * self.fonts(option.font).line_h + 2 * 3
        return QSize(360, max(THUMB.height(), text_h) + 2 * PAD)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        row: tuple[Job, int, str, str] | None = index.data(Roles.Paint)
        if row is None:
            return super().paint(painter, option, index)
        return self._paint(painter, option, index, row)

    def _paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
        row: tuple[Job, int, str, str],
    ) -> None:
        """:meth:`paint` of a row whose ``Roles.Paint`` data is ``row``."""
        widget = option.widget
        fonts = self.fonts(option.font)
        ps = self._pass_for(painter, widget, fonts)
        state_bits = option.state.value  # int tests: each enum operation is a Python call
        key = (bool(state_bits & _SELECTED_BIT), bool(state_bits & _ENABLED_BIT))  # with the pass
        colours = ps.colours.get(key)
        if colours is None:
            colours = ps.colours[key] = self.colours(option.palette, key[0])
        if not key[0]:
            self._plain_colours = colours
        left, top, width, height = cast(_Rect, option.rect.getRect())  # one call instead of four
        if widget is not None:
            self._note_painted(widget, index.row(), left, left + width - 1, height)
        job = row[0]
        thumb = self._thumbs.get(job.thumb_path, CHILD_THUMB if row[1] else THUMB)
        if ps.bg is not None and widget is not None and job.is_final:
            if not ps.template and not state_bits & _NOT_PLAIN_BITS:
                ps.template = True  # one plain row per pass is what the idle preparation needs
                self._template = _Template(option, widget, ps)
            tail = self._key_tail(state_bits, widget, fonts, colours, ps)
            geometry = (left, top, width, height)
            image_key = self._image_key(row, thumb, geometry, tail)
            self._paint_image(
                painter, widget, index.row(), row, thumb, geometry, image_key, option, index, colours, ps
            )
            return None
        # A row still under way changes every second (its times tick): drawn directly.
        style = widget.style() if widget is not None else QApplication.style()
        inputs = _row_inputs(row, self._clock)
        opt = QStyleOptionViewItem(option)
        _init_option(opt, index)
        if self._panel_draws(style, opt, widget):
            style.drawControl(_CE_ITEM, opt, painter, widget)
        painter.save()
        try:
            self._paint_row(painter, opt, row, inputs, thumb, ps, colours, style, widget)
        finally:
            painter.restore()
        return None

    def _panel_draws(self, style: QStyle, opt: QStyleOptionViewItem, widget: QWidget | None) -> bool:
        """Whether the style's item panel (CE_ItemViewItem: the selection, hover and focus
        look) draws anything for a row in ``opt``'s state. For a plain row most styles draw
        nothing, at ~0.1 ms a row per paint here. Asked of the style itself once per style,
        widget, state, palette, features and size: it paints the panel on a transparent image,
        and the answer is whether any pixel is no longer transparent."""
        w, h = opt.rect.width(), opt.rect.height()
        pal = opt.palette
        key = (
            style,  # the objects, not their ids: an id is reused once its object is gone
            widget,
            opt.state.value,
            pal.cacheKey(),
            pal.currentColorGroup(),
            opt.features.value,
            opt.backgroundBrush.style(),
            w,
            h,
        )
        draws = self._panels.get(key)
        if draws is None:
            if len(self._panels) >= 64:
                self._panels.clear()
            probe = QImage(max(1, w), max(1, h), QImage.Format.Format_ARGB32_Premultiplied)
            probe.fill(0)
            p = QPainter(probe)
            try:
                o = QStyleOptionViewItem(opt)
                o.rect = QRect(0, 0, w, h)
                style.drawControl(_CE_ITEM, o, p, widget)
            finally:
                p.end()
            blank = QImage(probe.size(), probe.format())
            blank.fill(0)
            draws = self._panels[key] = probe != blank
        return draws

    def paint_rows(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        view: QAbstractItemView,
        rows: list[tuple[int, tuple[Job, int, str, str] | None, tuple[int, int, int, int], int]],
    ) -> None:
        """Paint the rows of ``view``'s own paint loop (see ``TaskView.paintEvent``): the same
        pixels as :meth:`paint` called by QListView for each, for less.

        ``option`` is the view's item option as QListView prepares it for a row (its palette
        group chosen); each row comes as (row of the view's model, its ``Roles.Paint`` data, its
        rectangle as x, y, width, height, the state bits QListView would add: selected, focus,
        editing, hover). A plain finished row is a look-up of its image (see _RowImages) with
        no style option, no model index and no trip through Qt; every other row is painted as
        :meth:`paint` paints it, with the option QListView would have made for it.
        """
        fonts = self.fonts(option.font)
        ps = self._pass_for(painter, view, fonts)
        images = self._images
        state = option.state.value
        key = (False, bool(state & _ENABLED_BIT))
        colours = ps.colours.get(key)
        if colours is None:
            colours = ps.colours[key] = self.colours(option.palette, False)
        self._plain_colours = colours
        model = view.model()
        tail = self._key_tail(state, view, fonts, colours, ps) if ps.bg is not None else None
        painted: list[int] = []
        # Finished rows: their images are looked up first, so that the rows without one are
        # made in this frame all or not at all (see _may_render).
        found: list[tuple[int, tuple[Job, int, str, str], QPixmap | None, _Rect, tuple[object, ...]]] = []
        missing = 0
        for r, row, geometry, bits in rows:
            if row is None:
                continue
            job = row[0]
            if bits or images is None or tail is None or not job.is_final:
                opt = QStyleOptionViewItem(option)
                opt.rect = QRect(*geometry)
                if bits:
                    opt.state = QStyle.StateFlag(state | bits)
                self._paint(painter, opt, model.index(r, 0), row)
                continue
            painted.append(r)
            thumb = self._thumbs.get(job.thumb_path, CHILD_THUMB if row[1] else THUMB)
            image_key = self._image_key(row, thumb, geometry, tail)
            if not images.has(image_key, row):
                missing += 1
            found.append((r, row, thumb, geometry, image_key))
        if found:
            if not ps.template:
                ps.template = True
                self._template = _Template(option, view, ps)
            allow = not missing or self._may_render(ps, missing)
            for r, row, thumb, geometry, image_key in found:
                self._paint_image(
                    painter, view, r, row, thumb, geometry, image_key, option, None, colours, ps, allow
                )
        if painted:  # the range the idle preparation works around (see _note_painted)
            left, _top, width, height = rows[0][2]
            self._note_painted(view, painted[0], left, left + width - 1, height)
            self._note_painted(view, painted[-1], left, left + width - 1, height)

    def _paint_image(
        self,
        painter: QPainter,
        view: QWidget,
        r: int,
        row: tuple[Job, int, str, str],
        thumb: QPixmap | None,
        geometry: _Rect,
        key: tuple[object, ...],
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex | None,
        colours: _Colours,
        ps: _Pass,
        allow: bool = True,
    ) -> None:
        """Paint finished row ``r`` from its image (see _RowImages), kept under ``key`` (see
        _image_key). A row with no image yet is made now only if ``allow`` (the view's own loop:
        whether every row of the frame without one may be made) and the pass may (see
        _may_render); else it stays blank for this frame and is painted as soon as the GUI is
        idle. ``option`` and ``index`` are the row's, or (``index`` None: the view's own loop)
        the view's item option, made the row's only when the image must be made."""
        images = self._images
        assert images is not None
        image = images.get(key, row)
        if image is None and allow and self._may_render(ps):
            if index is None:
                option = QStyleOptionViewItem(option)
                option.rect = QRect(*geometry)
                model = cast(QAbstractItemView, view).model()
                index = model.index(r, 0)
            image = self._render_image(key, option, index, row, thumb, view, ps.fonts, colours, ps)
        if image is not None:
            painter.drawPixmap(geometry[0], geometry[1], image)
        else:
            self._deferred.add(r)
            self._prefetch_timer.start()

    def _row_image(
        self,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
        row: tuple[Job, int, str, str],
        thumb: QPixmap | None,
        widget: QWidget,
        fonts: _Fonts,
        colours: _Colours,
        ps: _Pass | _Template,
    ) -> QPixmap:
        """The image of a finished job's row (see _RowImages): kept from an earlier paint, or
        painted now exactly as it would be painted on the view (its background, then the row).

        The model hands the same ``Roles.Paint`` tuple for a row until something on it changes
        (see TaskListModel._paint_data), so the tuple itself stands for the row's texts but
        one: the expiry, which moves with the clock (its step is in the key). Looking an image
        up costs no layout work at all.
        """
        images = self._images
        assert images is not None
        rect = cast(_Rect, option.rect.getRect())
        tail = self._key_tail(option.state.value, widget, fonts, colours, ps)
        key = self._image_key(row, thumb, rect, tail)
        image = images.get(key, row)
        if image is not None:
            return image
        return self._render_image(key, option, index, row, thumb, widget, fonts, colours, ps)

    def _key_tail(
        self, state: int, widget: QWidget, fonts: _Fonts, colours: _Colours, ps: _Pass | _Template
    ) -> tuple[object, ...]:
        """The part of a row image's key that every row of a pass shares (see _image_key)."""
        bg = ps.bg
        assert bg is not None
        return (
            state,
            bg.rgba(),
            ps.dpr,
            fonts.serial,
            colours.serial,
            id(widget),  # a view's options (e.g. its selection behaviour); one view in practice
        )

    def _image_key(
        self, row: tuple[Job, int, str, str], thumb: QPixmap | None, rect: _Rect, tail: tuple[object, ...]
    ) -> tuple[object, ...]:
        """The key of a row's image in _RowImages: everything its pixels are made of, the row's
        own (its paint data, expiry step, thumbnail and geometry) and the pass's (``tail``)."""
        left, _top, width, height = rect
        return (
            id(row),
            _expiry_step(row[0], self._clock),
            0 if thumb is None else thumb.cacheKey(),
            left,
            width,
            height,
            *tail,
        )

    def _may_render(self, ps: _Pass, rows: int = 1) -> bool:
        """Whether ``rows`` row images may be painted in this pass: always when the view did not
        scroll; in a scrolled frame only when they, at what the last ones cost, still end within
        SCROLL_BUDGET_S of the pass's start (a slow machine then leaves the rows blank for a
        frame rather than overrun it; a fast one paints a few).

        The view's own loop asks once for all the rows of a frame that have no image: a frame
        that would still show some of them blank gains little from painting the others, and
        each costs ~0.5-1 ms of a ~2 ms frame (bench.history: the slowest scrolled frames were
        those that painted one row and left five blank)."""
        return (
            not ps.scrolled or time.perf_counter() - ps.t0 + rows * max(self._render_costs) < SCROLL_BUDGET_S
        )

    def _render_image(
        self,
        key: tuple[object, ...],
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
        row: tuple[Job, int, str, str],
        thumb: QPixmap | None,
        widget: QWidget,
        fonts: _Fonts,
        colours: _Colours,
        ps: _Pass | _Template,
    ) -> QPixmap:
        """Paint the image of a row (kept under ``key``) as the row would be painted on the view."""
        images = self._images
        bg = ps.bg
        assert images is not None and bg is not None
        dpr = ps.dpr
        t0 = time.perf_counter()
        left, top, width, height = cast(_Rect, option.rect.getRect())
        style = widget.style()
        inputs = _row_inputs(row, self._clock)
        image = images.spare(round(width * dpr), round(height * dpr))
        image.setDevicePixelRatio(dpr)
        image.fill(bg)
        p = QPainter(image)
        try:
            # What a painter on the viewport starts with (QPainter::begin on a widget): texts
            # follow its direction, and a style may use the pen, brush and font it finds.
            device = widget.viewport() if isinstance(widget, QAbstractItemView) else widget
            pal = device.palette()
            p.setLayoutDirection(device.layoutDirection())
            p.setFont(device.font())
            p.setPen(pal.color(device.foregroundRole()))
            p.setBrush(pal.brush(device.backgroundRole()))
            p.translate(-left, -top)  # the row paints at its place in the view, as it would there
            opt = QStyleOptionViewItem(option)
            _init_option(opt, index)
            style.drawControl(_CE_ITEM, opt, p, widget)
            self._paint_row(p, opt, row, inputs, thumb, _Pass(p, 0, fonts), colours, style, widget)
        finally:
            p.end()
        images.put(key, row, image)
        self._render_costs.append(time.perf_counter() - t0)
        return image

    # -----------------------------------------------------------------------------------------

    def _paint_row(
        self,
        p: QPainter,
        opt: QStyleOptionViewItem,
        row: tuple[Job, int, str, str],
        inputs: RowInputs,
        pm: QPixmap | None,
        ps: _Pass,
        colours: _Colours,
        style: QStyle,
        widget: QWidget | None,
    ) -> None:
        job = row[0]
        state = job.state
        left, top, width, height = cast(_Rect, opt.rect.getRect())
        fonts = ps.fonts
        text = fonts.row_text(inputs, left, left + width - 1, height)
        p.translate(0, top)  # the row's layout is relative to its top

        # Thumbnail (or a placeholder with the state icon while there is none yet).
        p.setRenderHint(_ANTIALIAS)
        if pm is not None and not pm.isNull():
            target, hides = self._target(pm, text.thumb)
            # An opaque thumbnail covering the whole placeholder hides it: skip drawing that.
            # (At a fractional pixel ratio the pixmap's edges are blended, not covering.)
            if not hides or not ps.dpr.is_integer():
                self._placeholder(p, text.thumb, colours)
            p.drawPixmap(target, pm)
        else:
            self._placeholder(p, text.thumb, colours)
            p.drawPixmap(text.icon22, colours.icon(state, 22))

        # Line 1: state icon + state word (coloured), then the prompt excerpt (bold).
        p.drawPixmap(text.icon16, colours.icon(state, 16))
        bold, bold_mode = fonts.bold, ps.bold_mode
        scol = colours.state(state)
        if text.label is not None:
            text.label.draw(p, bold_mode, scol, bold)
        if text.badge_rect is not None:
            p.setPen(_NO_PEN)
            p.setBrush(colours.badge(state))
            p.drawRoundedRect(text.badge_rect, 6, 6)
            p.setFont(fonts.font)
            p.setPen(colours.text)
            p.drawText(text.badge_rect, _CENTER, text.badge)
        if text.prompt is not None:
            text.prompt.draw(p, bold_mode, colours.text, bold)

        # Line 2: provider · model · resolution · expiry.
        font, mode, dim = fonts.font, ps.mode, colours.dim
        if text.line2 is not None:
            text.line2.draw(p, mode, dim, font)

        # Line 3: times, then progress / error / slow warning.
        if text.times is not None:
            text.times.draw(p, mode, dim, font)
        if text.bar is not None:
            progress, ptext, bar_rect = text.bar
            bar = QStyleOptionProgressBar()
            bar.rect = bar_rect
            bar.minimum, bar.maximum = 0, 1000
            bar.progress = int(progress * 1000)
            bar.text = ptext
            bar.textVisible = True
            bar.state = _BAR_STATE
            # The groove on AlternateBase: on the list's own Base colour it would be invisible
            # (dark scheme), leaving the text floating next to a short blue bar.
            pal: QPalette = opt.palette
            bar_pal = QPalette(pal)
            bar_pal.setColor(_BASE, pal.color(_ALTERNATE_BASE))
            bar.palette = bar_pal
            bar.fontMetrics = fonts.fm
            p.setFont(font)  # the style writes the bar's text in the painter's font
            p.setPen(dim)
            style.drawControl(_CE_PROGRESS, bar, p, widget)
        elif text.tail is not None:
            tail = colours.error if text.failed else colours.warning if text.warn else dim
            text.tail.draw(p, mode, tail, font)

    @staticmethod
    def _placeholder(p: QPainter, thumb_rect: QRect, colours: _Colours) -> None:
        p.setPen(_NO_PEN)
        p.setBrush(colours.placeholder)
        p.drawRoundedRect(thumb_rect, 4, 4)

    def _target(self, pm: QPixmap, thumb: QRect) -> tuple[QRect, bool]:
        """Where ``pm`` goes (centred on the placeholder ``thumb``) and whether it hides the
        placeholder (opaque and covering it); per pixmap, as the thumbnails repeat."""
        x, y, w, h = cast(_Rect, thumb.getRect())
        key = (pm.cacheKey(), x, y, w, h)
        out = self._targets.get(key)
        if out is None:
            target = QRect(QPoint(0, 0), pm.size() / pm.devicePixelRatio())
            target.moveCenter(thumb.center())
            if len(self._targets) >= 1024:
                self._targets.clear()
            out = self._targets[key] = (target, target.contains(thumb) and not pm.hasAlphaChannel())
        return out

    # --- preparing the rows around the visible ones --------------------------------------------

    def _note_painted(self, view: QWidget, row: int, left: int, right: int, height: int) -> None:
        """Remember the painted rows (one paint pass) and prepare their neighbours when idle."""
        painted = self._painted
        if painted is None or painted[0] is not view:
            self._painted = (view, row, row, left, right, height)
            self._prefetch_timer.start()  # fires once the paint pass is over
        elif not painted[1] <= row <= painted[2]:
            self._painted = (view, min(painted[1], row), max(painted[2], row), left, right, height)

    def _prefetch(self) -> None:
        """Prepare the rows one screen above and below the ones just painted, so that scrolling
        there paints from caches: their images (see _RowImages), or, where rows are not kept as
        images, their layouts (texts elided and shaped) and the layers and icons they draw.

        Runs while the GUI is idle, after a paint pass, in slices of PREFETCH_SLICE_S (a timer
        brings the next slice, after any input that came meanwhile); the rows the scroll heads
        for come first. Rows prepared before cost only a look-up. A row whose job changes
        meanwhile is simply painted afresh; a new paint pass starts the work over.
        """
        painted, self._painted = self._painted, None
        fonts = self._fonts
        if fonts is None:
            return
        if painted is not None:
            self._plan(painted, fonts)
        ctx = self._queue_ctx
        if ctx is None or not (self._queue or self._deferred):
            self._deferred.clear()
            return
        view, left, right, height = ctx
        if not shiboken6.isValid(view) or view.model() is None:
            self._queue.clear()  # closed before the GUI got idle
            self._deferred.clear()
            return
        model = view.model()
        template = self._template
        if template is not None and (template.view is not view or not shiboken6.isValid(template.view)):
            template = None
        deadline = time.perf_counter() + PREFETCH_SLICE_S
        deferred = self._deferred
        while deferred:  # rows on screen that a scrolling frame left blank: first
            r = deferred.pop()
            if r < model.rowCount():
                self._prepare(view, model, r, fonts, template, left, right, height)
                view.viewport().update(view.visualRect(model.index(r, 0)))
            if deferred and time.perf_counter() > deadline:
                self._prefetch_timer.start()
                return
        queue = self._queue
        while queue:
            self._prepare(view, model, queue.pop(), fonts, template, left, right, height)
            if queue and time.perf_counter() > deadline:
                self._prefetch_timer.start()  # the rest in the next slice
                return

    def _thumb_loaded(self, _path: str) -> None:
        """A thumbnail arrived (rows ask for theirs as they are prepared or painted): prepare
        the rows around the last painted ones again when idle. Rows whose image did not change
        cost a look-up; those prepared without their thumbnail get it now, not when scrolled to."""
        if self._planned is not None and self._painted is None and self._images is not None:
            self._painted = self._planned
            self._prefetch_timer.start()

    def _plan(self, painted: tuple[QWidget, int, int, int, int, int], fonts: _Fonts) -> None:
        """The rows to prepare around ``painted`` (a view and its painted rows), in order."""
        self._queue.clear()
        self._queue_ctx = None
        self._planned = painted
        view, lo, hi, left, right, height = painted
        if not isinstance(view, QAbstractItemView) or not shiboken6.isValid(view):
            return
        model = view.model()
        if model is None:
            return
        if fonts.layered is None:
            fonts.layered = _layers_match_text(fonts)
        n = min(hi - lo + 1, PREFETCH_ROWS)  # a screen; passes merged before this ran may span more
        if self._images is not None:
            # The screen, one above, one below, and a few (a page step is a little less than
            # a screen, and the ends of the ranges are partly visible rows).
            on_screen = view.viewport().height() // max(1, height) + 2
            self._images.capacity = max(ROW_IMAGES_MIN, 3 * on_screen + 4)
        below = list(range(hi + 1, min(model.rowCount(), hi + 1 + n)))
        above = list(range(lo - 1, max(0, lo - n) - 1, -1))
        if self._last_lo is not None and lo != self._last_lo:
            self._up = lo < self._last_lo
        up = self._up
        self._last_lo = lo
        # The screen the scroll heads for first, then the one behind; nearest rows first.
        order = above + below if up else below + above
        order.reverse()  # popped from the end
        self._queue = order
        self._queue_ctx = (view, left, right, height)

    def _prepare(
        self,
        view: QAbstractItemView,
        model: QAbstractItemModel,
        r: int,
        fonts: _Fonts,
        template: _Template | None,
        left: int,
        right: int,
        height: int,
    ) -> None:
        """Make row ``r`` ready to paint: its image, or its layout, layers and icons."""
        index = model.index(r, 0)
        row = index.data(Roles.Paint)
        colours = self._plain_colours
        if row is None or colours is None:
            return
        job = row[0]
        if template is not None and template.bg is not None and job.is_final:
            if index == view.currentIndex() or view.selectionModel().isSelected(index):
                return  # painted with its selection or focus when it comes into view
            opt = template.option(view, QRect(left, 0, right - left + 1, height))
            thumb = self._thumbs.get(job.thumb_path, CHILD_THUMB if row[1] else THUMB)
            self._row_image(opt, index, row, thumb, view, fonts, colours, template)
            return
        text = fonts.row_text(_row_inputs(row, self._clock), left, right, height)
        state = job.state
        colours.icon(state, 16)  # a state's icons are rendered from SVG on first use
        colours.icon(state, 22)
        if fonts.layered:  # the layers an unselected row draws
            tail = colours.error if text.failed else colours.warning if text.warn else colours.dim
            for placed, colour in (
                (text.label, colours.state(state)),
                (text.prompt, colours.text),
                (text.line2, colours.dim),
                (text.times, colours.dim),
                (text.tail, tail),
            ):
                if placed is not None and placed.line is not None:
                    placed.line.layer(colour)
