"""TaskDelegate's caches (row layouts, laid-out lines, colours, prefetch) never show stale rows.

The reference for every picture is a fresh TaskDelegate on the same view: it has empty caches,
so it paints what the rows hold now. The long-lived delegate must paint the same pixels after
each change (state, prompt, progress, error, a ticking time, expiry, selection, width, font,
palette). ``test_comparison_catches_a_stale_cache`` shows the comparison would notice.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gui_fakes import Clock, FakeService, make_job
from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QHoverEvent, QImage, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QProxyStyle,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)
from pytestqt.qtbot import QtBot

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobKind, JobSpec, JobState
from kievideo.ui import icons, taskdelegate, thumbs
from kievideo.ui.taskdelegate import TaskDelegate, _init_option, _row_inputs, _RowText
from kievideo.ui.tasklist import TaskListPanel
from kievideo.ui.taskmodel import Roles, TaskListModel, time_text

NOW = 1_800_000_000.0
SPEC = JobSpec(
    ProviderKind.VEO,
    "veo3_fast",
    "a cat surfing a wave at sunset, cinematic drone shot over misty mountains, neon city rain",
)


@pytest.fixture
def thumb_png(tmp_path: Path, png_bytes: bytes) -> str:
    path = tmp_path / "thumb.png"
    path.write_bytes(png_bytes)
    return str(path)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def svc(thumb_png: str) -> FakeService:
    """Jobs in every state the row paints differently (ids job00, job01, ...: oldest first)."""
    service = FakeService()
    t = NOW - 10_000
    jobs = [
        dict(state=JobState.DONE, thumb_path=thumb_png, resolution="720p", expires_at=NOW + 13 * 86400),
        dict(
            state=JobState.RUNNING, submitted_at=NOW - 100, started_at=NOW - 60, provider_status="generating"
        ),
        dict(state=JobState.RUNNING, submitted_at=NOW - 1000, started_at=NOW - 900, slow=True),
        dict(state=JobState.QUEUED, submitted_at=NOW - 12, extra={"last_error": "Network is unreachable."}),
        dict(state=JobState.UPLOADING, upload_progress=0.42, spec=SPEC.with_(profile="work")),
        dict(
            state=JobState.DOWNLOADING, download_progress=0.25, submitted_at=NOW - 200, started_at=NOW - 150
        ),
        dict(
            state=JobState.FAILED,
            error_message="The provider rejected the prompt.\nChange it.",
            finished_at=t,
        ),
        dict(state=JobState.EXPIRED, spec=SPEC.with_(prompt="שלום עולם, right to left"), finished_at=t),
        dict(state=JobState.STOPPED, spec=SPEC.with_(prompt="  "), submitted_at=t, started_at=t + 3),
        dict(state=JobState.DONE, expires_at=NOW + 2 * 86400 + 60, submitted_at=t, finished_at=t + 90),
    ]
    for i, fields in enumerate(jobs):
        spec = fields.pop("spec", SPEC)
        service.put(make_job(spec, id=f"job{i:02d}", created_at=t + i, updated_at=t + i, **fields))
    child = make_job(SPEC, id="job10", created_at=t + 20, kind=JobKind.UPGRADE_1080P, parent_id="job00")
    service.put(child)
    return service


@pytest.fixture(params=[True, False], ids=["row-images", "drawn"])
def panel(request, qtbot, svc: FakeService, clock: Clock) -> Iterator[TaskListPanel]:
    """The list, its rows kept as images (as in the app) or drawn on every paint."""
    p = shown_list(qtbot, svc, clock, rows=13, row_images=request.param)
    yield p
    p.model.detach()


def shown_list(
    qtbot: QtBot, svc: FakeService, clock: Clock, *, rows: int, row_images: bool = True
) -> TaskListPanel:
    """The task list of ``svc``'s jobs, ``rows`` rows high, shown and settled."""
    p = TaskListPanel(TaskListModel(svc, clock=clock, tick_ms=10**8), None)
    if not row_images:
        p.delegate._images = None
    qtbot.addWidget(p)
    p.resize(560, rows * 79 + 60)
    p.show()
    qtbot.waitExposed(p)
    # The first idle pass has checked whether text may be drawn from layers (it may here).
    qtbot.waitUntil(lambda: p.delegate._fonts is not None and p.delegate._fonts.layered is not None)
    return p


def grab(
    panel: TaskListPanel, delegate: QStyledItemDelegate | None = None, *, own_loop: bool = True
) -> QImage:
    """The list as painted by ``delegate`` (default: the panel's own, long-lived one), through
    the view's own paint loop (as in the app) or QListView's."""
    view = panel.view
    if delegate is not None:
        view.setItemDelegate(delegate)
    view.own_paint_loop = own_loop
    try:
        return view.viewport().grab().toImage()
    finally:
        view.own_paint_loop = True
        if delegate is not None:
            view.setItemDelegate(panel.delegate)


def fresh(panel: TaskListPanel, clock: Callable[[], float]) -> QImage:
    """What a delegate without caches paints now (drawing text the same way: layers or not),
    every row drawn directly (no row images), called by QListView's paint loop for each row."""
    d = TaskDelegate(panel.thumbs, None, clock=clock, row_images=False)
    ours = panel.delegate._fonts
    d.fonts(panel.view.font()).layered = ours.layered if ours is not None else None
    try:
        return grab(panel, d, own_loop=False)
    finally:
        d.deleteLater()


def assert_current(panel: TaskListPanel, clock: Callable[[], float]) -> QImage:
    """The long-lived delegate paints exactly what a fresh one does; returns the picture."""
    image = grab(panel)
    assert image == fresh(panel, clock)
    return image


def row_of(panel: TaskListPanel, job_id: str) -> int:
    return panel.proxy.mapFromSource(panel.model.index_of(job_id)).row()


def row_text(panel: TaskListPanel, job_id: str) -> _RowText:
    """The layout the panel's delegate paints the job's row from (its cache)."""
    view, d = panel.view, panel.delegate
    index = view.model().index(row_of(panel, job_id), 0)
    rect = view.visualRect(index)
    inputs = _row_inputs(index.data(Roles.Paint), d._clock)
    return d.fonts(view.font()).row_text(inputs, rect.left(), rect.right(), rect.height())


def texts(panel: TaskListPanel, job_id: str) -> list[str]:
    """The row's texts: state, prompt, line 2, then times and the note/error, when shown."""
    t = row_text(panel, job_id)
    return [x.text for x in (t.label, t.prompt, t.line2, t.times, t.tail) if x is not None]


# --- the pictures ---------------------------------------------------------------------------------


def pictures(panel: TaskListPanel) -> list[QImage]:
    """Every state, a selected (current) row, then a narrow list."""
    view = panel.view
    view.selectionModel().clear()
    panel.resize(560, panel.height())
    out = [grab(panel)]
    view.setCurrentIndex(view.model().index(3, 0))
    out.append(grab(panel))
    panel.resize(400, panel.height())
    out.append(grab(panel))
    return out


def difference(a: QImage, b: QImage) -> tuple[int, int]:
    """(largest difference of a colour channel, pixels that differ) between two pictures."""
    assert a.size() == b.size()
    a = a.convertToFormat(QImage.Format.Format_RGB32)
    diff = b.convertToFormat(QImage.Format.Format_RGB32)
    p = QPainter(diff)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Difference)
    p.drawImage(0, 0, a)
    p.end()
    raw = bytes(diff.constBits())
    channels = raw[0::4] + raw[1::4] + raw[2::4]
    pixels = sum(1 for i in range(0, len(raw), 4) if raw[i] or raw[i + 1] or raw[i + 2])
    return max(channels), pixels


def draw_with_drawtext(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every text go through drawText, as before the caches (the reference)."""

    def draw_text(self, p, mode, colour, font):  # type: ignore[no-untyped-def]
        p.setFont(font)
        p.setPen(colour)
        p.drawText(self.rect, Qt.AlignmentFlag.AlignVCenter, self.text)

    monkeypatch.setattr(taskdelegate._Text, "draw", draw_text)


def count_modes(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """How many texts were drawn in each mode (0 drawText, 1 layout, 2 layer)."""
    modes = {0: 0, 1: 0, 2: 0}
    real_draw = taskdelegate._Text.draw

    def counting(self, p, mode, colour, font):  # type: ignore[no-untyped-def]
        modes[0 if self.line is None else mode] += 1
        real_draw(self, p, mode, colour, font)

    monkeypatch.setattr(taskdelegate._Text, "draw", counting)
    return modes


def test_laid_out_lines_draw_what_drawtext_draws(panel, monkeypatch):
    """Drawing from the cached line layouts gives drawText's pixels exactly (every state, a
    selected row, a narrow list)."""
    panel.delegate._images = None  # the texts are drawn (row images would draw each once)
    monkeypatch.setattr(taskdelegate, "_layers_match_text", lambda fonts: False)
    panel.delegate._fonts = None
    grab(panel)
    QApplication.processEvents()  # the idle pass: prepares rows, checks layers (here: no)
    modes = count_modes(monkeypatch)
    ours = pictures(panel)
    assert modes[1] > 60 and modes[2] == 0
    draw_with_drawtext(monkeypatch)
    assert ours == pictures(panel)


def test_layers_draw_what_drawtext_draws_to_a_rounding_step(panel, monkeypatch):
    """Layers, where the platform blends text as plain coverage (checked), differ from drawText
    by at most 1/255 in a few pixels where glyphs overlap: the same picture."""
    panel.delegate._images = None  # the texts are drawn (row images would draw each once)
    grab(panel)
    QApplication.processEvents()
    fonts = panel.delegate._fonts
    assert fonts is not None and fonts.layered  # this platform (offscreen, FreeType) passes
    modes = count_modes(monkeypatch)
    ours = pictures(panel)
    assert modes[2] > 60
    draw_with_drawtext(monkeypatch)
    for a, b in zip(ours, pictures(panel), strict=True):
        largest, pixels = difference(a, b)
        assert largest <= 1 and pixels < 50, (largest, pixels)


def test_changed_job_repaints_with_its_new_texts(panel, svc, clock):
    before = assert_current(panel, clock)
    label, prompt = texts(panel, "job01")[:2]
    assert label == "Generating" and prompt.endswith("…") and SPEC.prompt.startswith(prompt[:-1])

    svc.change("job01", state=JobState.DONE, finished_at=NOW - 5, spec=SPEC.with_(prompt="a dog"))
    svc.change("job05", download_progress=0.75)
    svc.change("job06", error_message="Out of credits.")
    svc.change("job03", extra={})  # the polling problem went away
    panel.model.flush()
    after = assert_current(panel, clock)
    assert after != before
    assert texts(panel, "job01")[:2] == ["Done", "a dog"]
    bar = row_text(panel, "job05").bar
    assert bar is not None and bar[:2] == (0.75, "download 75%")
    assert texts(panel, "job06")[-1] == "Out of credits."
    assert row_text(panel, "job03").tail is None


def row_picture(panel: TaskListPanel, image: QImage, job_id: str) -> QImage:
    """The part of a picture of the list that is the job's row."""
    return image.copy(panel.view.visualRect(panel.view.model().index(row_of(panel, job_id), 0)))


def test_running_time_ticks(panel, clock):
    assert texts(panel, "job01")[3] == "queued 0:40 · running 1:00"
    before = assert_current(panel, clock)
    clock.now += 5
    after = assert_current(panel, clock)
    # The running row itself shows the new time (other rows' texts move with the clock too).
    assert row_picture(panel, after, "job01") != row_picture(panel, before, "job01")
    assert texts(panel, "job01")[3] == "queued 0:40 · running 1:05"


def test_expiry_follows_the_clock(panel, clock):
    assert texts(panel, "job09")[2].endswith("expires in 2 d")
    clock.now += 86400
    assert_current(panel, clock)
    assert texts(panel, "job09")[2].endswith("expires in 1 d")
    clock.now += 86400 + 120
    assert_current(panel, clock)
    assert texts(panel, "job09")[2].endswith("result expired at the provider")


def test_selection_changes_colours_only(panel, clock):
    plain = assert_current(panel, clock)
    plain_texts = texts(panel, "job02")
    view = panel.view
    view.selectionModel().select(
        view.model().index(row_of(panel, "job02"), 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    selected = assert_current(panel, clock)
    assert selected != plain
    assert texts(panel, "job02") == plain_texts
    view.selectionModel().clearSelection()
    assert assert_current(panel, clock) == plain


def test_narrower_list_elides_again(panel, clock):
    wide = texts(panel, "job00")[1]
    assert_current(panel, clock)
    panel.resize(380, panel.height())
    assert_current(panel, clock)
    narrow = texts(panel, "job00")[1]
    assert narrow.endswith("…") and len(narrow) < len(wide)


def test_font_and_palette_changes_repaint(panel, clock):
    before = assert_current(panel, clock)
    font = QFont(panel.view.font())
    font.setPointSizeF(font.pointSizeF() + 2)
    panel.view.setFont(font)
    bigger = assert_current(panel, clock)
    assert bigger != before
    pal = QPalette(panel.view.palette())
    pal.setColor(QPalette.ColorRole.Text, QColor("#3355aa"))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#ffe0e0"))
    panel.view.setPalette(pal)
    assert assert_current(panel, clock) != bigger


class _MarkedRows(QProxyStyle):
    """The app's style, but item rows get a coloured band: the palette, fonts and geometry stay
    the same, so only a style change can tell a row image painted before it from one after."""

    def drawControl(self, element, option, painter, widget=None):  # type: ignore[no-untyped-def]
        super().drawControl(element, option, painter, widget)
        if element == QStyle.ControlElement.CE_ItemViewItem:
            painter.fillRect(option.rect.adjusted(0, 0, 0, -option.rect.height() + 3), QColor("#d04020"))


def test_style_change_repaints(panel, clock):
    """Another style draws rows its own way: no row image of the old one is shown after."""
    view = panel.view
    before = assert_current(panel, clock)
    pal = QPalette(view.palette())
    style = _MarkedRows(QApplication.style().name())
    view.setStyle(style)
    view.setPalette(pal)  # the same colours: the row images' keys do not change
    try:
        assert assert_current(panel, clock) != before
    finally:
        view.setStyle(None)  # type: ignore[arg-type]
        style.deleteLater()


def test_comparison_catches_a_stale_cache(panel, svc, clock, monkeypatch):
    """A row image, or a row layout, cached without the prompt in its key is noticed."""
    if panel.delegate._images is not None:
        real_get, real_put = taskdelegate._RowImages.get, taskdelegate._RowImages.put

        # Keyed by the row's place alone, not by its paint data (key[0], and the source).
        monkeypatch.setattr(taskdelegate._RowImages, "get", lambda self, k, src: real_get(self, k[1:], None))
        monkeypatch.setattr(
            taskdelegate._RowImages, "put", lambda self, k, src, pm: real_put(self, k[1:], None, pm)
        )
    else:
        stale: dict[tuple[object, ...], _RowText] = {}

        def without_prompt(self, inputs, left, right, height):  # type: ignore[no-untyped-def]
            key = (id(self), inputs[:6], left, right, height)
            if key not in stale:
                stale[key] = _RowText(self, inputs, left, right, height)
            return stale[key]

        monkeypatch.setattr(taskdelegate._Fonts, "row_text", without_prompt)
    grab(panel)
    svc.change("job01", spec=SPEC.with_(prompt="a completely different prompt"))
    panel.model.flush()
    assert grab(panel) != fresh(panel, clock)


# --- the caches -----------------------------------------------------------------------------------


def sixty_rows(qtbot, clock: Clock, state: JobState) -> TaskListPanel:  # type: ignore[no-untyped-def]
    """A list of 60 jobs in ``state`` (prompts "prompt number 0".."59"), six rows high, shown."""
    svc = FakeService()
    for i in range(60):
        spec = SPEC.with_(prompt=f"prompt number {i}")
        svc.put(make_job(spec, id=f"j{i:02d}", created_at=NOW - i, state=state))
    p = TaskListPanel(TaskListModel(svc, clock=clock, tick_ms=10**8), None)
    qtbot.addWidget(p)
    p.resize(560, 6 * 79 + 60)
    p.show()
    qtbot.waitExposed(p)
    return p


@pytest.mark.parametrize("state", [JobState.DONE, JobState.QUEUED])
def test_rows_next_to_the_painted_ones_are_prepared_when_idle(qtbot, clock, monkeypatch, state):
    """Finished rows are prepared as images; rows under way (drawn on every paint, as their
    times tick) have their layouts prepared."""
    p = sixty_rows(qtbot, clock, state)
    model = p.model
    made: list[str] = []
    real_init = _RowText.__init__

    def counting(self, fonts, inputs, left, right, height):  # type: ignore[no-untyped-def]
        made.append(inputs[6])
        real_init(self, fonts, inputs, left, right, height)

    monkeypatch.setattr(_RowText, "__init__", counting)
    images = p.delegate._images
    assert images is not None
    painted: list[object] = []
    real_put = taskdelegate._RowImages.put
    monkeypatch.setattr(
        taskdelegate._RowImages, "put", lambda self, k, o, pm: (painted.append(k), real_put(self, k, o, pm))
    )
    p.view.viewport().repaint()
    # The next screen is prepared when idle, in slices (a timer between them).
    qtbot.waitUntil(lambda: "prompt number 8" in made and not p.delegate._queue)
    # Images of the first screen and the next (finished rows), or none (rows under way).
    assert len(painted) >= 12 if state is JobState.DONE else painted == []
    made.clear()
    painted.clear()
    bar = p.view.verticalScrollBar()
    bar.setValue(bar.pageStep())
    p.view.viewport().repaint()
    assert made == []  # every row the scroll brought in had been laid out ahead
    assert painted == []  # ... and painted: the frame only drew images
    assert grab(p) == fresh(p, clock)  # ... the very pixels the view paints them with
    model.detach()


def test_caches_stay_bounded(panel, clock, monkeypatch):
    monkeypatch.setattr(taskdelegate, "ROW_CAPACITY", 3)
    monkeypatch.setattr(taskdelegate, "LINE_CAPACITY", 4)
    monkeypatch.setattr(taskdelegate, "MEMO_CAPACITY", 5)
    panel.delegate._fonts = None  # start afresh under the small capacities
    assert_current(panel, clock)
    fonts = panel.delegate._fonts
    assert fonts is not None
    assert len(fonts._rows) <= 3 and len(fonts._lines) <= 4
    assert len(fonts._elided) <= 5 and len(fonts._advance) <= 5


def test_init_option_is_what_initstyleoption_does(panel):
    """The option is filled without initStyleOption's seven model round trips; if the model
    ever answers font, colour, alignment, check, decoration or background roles, this fails."""
    view = panel.view
    base = QStyleOptionViewItem()
    view.initViewItemOption(base)
    plain = QStyledItemDelegate()
    for row in range(view.model().rowCount()):
        index = view.model().index(row, 0)
        ours, qts = QStyleOptionViewItem(base), QStyleOptionViewItem(base)
        _init_option(ours, index)
        plain.initStyleOption(qts, index)
        qts.text = ""
        for field in ("features", "text", "displayAlignment", "checkState", "font", "styleObject"):
            assert getattr(ours, field) == getattr(qts, field), field
        assert ours.index == qts.index
        assert ours.icon.isNull() and qts.icon.isNull()
        assert ours.backgroundBrush.style() == qts.backgroundBrush.style()
        assert ours.palette == qts.palette


def test_paint_role_is_the_four_roles_in_one(panel, clock):
    model = panel.model
    for row in range(model.rowCount()):
        index = model.index(row)
        job, depth, badge, times = index.data(Roles.Paint)
        assert job is index.data(Roles.Job)
        assert depth == index.data(Roles.Depth)
        assert badge == index.data(Roles.ParentLabel)
        assert times == index.data(Roles.TimeText) == time_text(job, clock())
    assert model.index(99).data(Roles.Paint) is None


def test_icon_cache_keeps_alpha_apart():
    opaque = QColor(10, 20, 30)
    faint = QColor(10, 20, 30, 100)
    assert icons.pixmap("state-done", 16, opaque) is icons.pixmap("state-done", 16, QColor(opaque))
    assert icons.pixmap("state-done", 16, opaque) is not icons.pixmap("state-done", 16, faint)


def test_thumbnails_of_a_paint_pass_load_after_it_on_one_thread(qtbot, qloop, thumb_png, tmp_path, png_bytes):
    other = tmp_path / "other.png"
    other.write_bytes(png_bytes)
    cache = thumbs.ThumbCache()
    loaded: list[str] = []
    cache.loaded.connect(loaded.append)
    size = taskdelegate.THUMB
    assert cache.get(thumb_png, size) is None
    assert cache.get(str(other), size) is None
    assert cache.get(thumb_png, size) is None  # asked again while pending: one decode
    assert len(cache._queued) == 2 and not cache._tasks  # nothing started during the paint
    qtbot.waitUntil(lambda: len(loaded) == 2)
    assert sorted(loaded) == sorted([thumb_png, str(other)])
    pm = cache.get(thumb_png, size)
    assert pm is not None and not pm.isNull()
    assert thumbs._decode_executor()._max_workers == 1


def test_layer_check_refuses_text_blended_another_way(qapp, monkeypatch):
    """Where a platform blends text unlike a layer (gamma-corrected, subpixel), the check fails
    and text is not drawn from layers: shown here with layers a little too light."""
    fonts = taskdelegate._Fonts(QFont(qapp.font()))
    assert taskdelegate._layers_match_text(fonts)
    real_layer = taskdelegate._Line.layer

    def lighter(self, colour):  # type: ignore[no-untyped-def]
        faint = QColor(colour)
        faint.setAlpha(max(0, colour.alpha() - 40))
        return real_layer(self, faint)

    monkeypatch.setattr(taskdelegate._Line, "layer", lighter)
    assert not taskdelegate._layers_match_text(fonts)


def test_expiry_step_names_the_expiry_text():
    """A row image is keyed by the expiry's step, not its text: one step is always one text,
    and each text has its step (the image changes when the text does)."""
    texts: dict[tuple[int, int], str] = {}
    steps: dict[str, tuple[int, int]] = {}
    offsets = [None, -5.0, 0.0, 1.0, 59.0, 3599.0, 3600.0, 7300.0, 86399.0, 86400.0, 172805.0, 14 * 86400.0]
    for state in (JobState.DONE, JobState.FAILED, JobState.EXPIRED):
        for offset in offsets:
            job = make_job(SPEC, state=state, expires_at=None if offset is None else NOW + offset)
            step = taskdelegate._expiry_step(job, lambda: NOW)
            text = taskdelegate._expiry_text(job, lambda: NOW)
            assert texts.setdefault(step, text) == text, (state, offset)
            assert steps.setdefault(text, step) == step, (state, offset)
    assert len(texts) >= 5  # none, expired, hours, a day, days


def test_a_scrolled_frame_leaves_rows_it_has_no_time_for_and_paints_them_when_idle(qtbot, clock, monkeypatch):
    """Scrolling, rows without an image are made only within the frame's budget (here none);
    the rest stay blank for that frame and are painted, with the right pixels, once idle. A
    frame that did not scroll (a first paint, an update) always paints every row."""
    p = sixty_rows(qtbot, clock, JobState.DONE)
    model = p.model
    d = p.delegate
    qtbot.waitUntil(lambda: d._last_offset is not None)  # the list has painted
    monkeypatch.setattr(taskdelegate, "SCROLL_BUDGET_S", 0.0)
    assert d._images is not None
    d._images.clear()
    p.view.viewport().repaint()  # not scrolled: complete, whatever the budget
    assert d._deferred == set()
    qtbot.waitUntil(lambda: not d._queue)  # the idle preparation is done
    d._images.clear()  # nothing ready: the next scrolled frame has time for no row
    bar = p.view.verticalScrollBar()
    bar.setValue(bar.pageStep())
    p.view.viewport().repaint()
    blank = set(d._deferred)
    assert len(blank) >= 5  # the rows of the new page
    paints: list[int] = []

    class Watch(QObject):
        def eventFilter(self, obj, event):  # type: ignore[no-untyped-def]
            if event.type() == QEvent.Type.Paint:
                paints.append(1)
            return False

    watch = Watch()
    p.view.viewport().installEventFilter(watch)
    qtbot.waitUntil(lambda: not d._deferred and not d._queue and bool(paints))  # painted again, unasked
    p.view.viewport().removeEventFilter(watch)
    assert len(d._images) >= len(blank)
    assert grab(p) == fresh(p, clock)  # every row there, as a cache-less delegate paints it
    model.detach()


# --- the view's own paint loop ------------------------------------------------------------------


def hover(view: QAbstractItemView, pos: QPoint | None) -> None:
    """The mouse moves over ``pos`` of the viewport (None: it leaves), as Qt reports it."""
    vp = view.viewport()
    if pos is None:
        event = QHoverEvent(QEvent.Type.HoverLeave, QPointF(-1, -1), QPointF(-1, -1), QPointF(0, 0))
    else:
        event = QHoverEvent(QEvent.Type.HoverMove, QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPointF(0, 0))
    QApplication.sendEvent(vp, event)


def both_loops(panel: TaskListPanel, *, own: bool = True) -> QImage:
    """The list through the view's own paint loop (asserted to have painted it, or with
    ``own=False`` to have left it to QListView); asserts QListView's loop paints the same."""
    view = panel.view
    QApplication.processEvents()  # a posted layout (a filter, a resize) lands before the grabs
    used: list[bool] = []
    real = view._paint_rows
    view._paint_rows = lambda e: (used.append(real(e)), used[-1])[1]  # type: ignore[method-assign]
    try:
        picture = grab(panel)
    finally:
        del view._paint_rows
    assert used == [own]
    assert picture == grab(panel, own_loop=False)
    return picture


@pytest.fixture
def history(qtbot, thumb_png: str, clock: Clock) -> Iterator[TaskListPanel]:
    """A list of finished jobs only (the history the own paint loop is for), one a child, some
    with a thumbnail: every state a finished row paints differently."""
    svc = FakeService()
    t = NOW - 10_000
    states = [JobState.DONE, JobState.FAILED, JobState.EXPIRED, JobState.STOPPED, JobState.UNCERTAIN]
    for i in range(14):
        fields: dict[str, object] = dict(state=states[i % len(states)], finished_at=t + i)
        if i % 3 == 0:
            fields.update(thumb_path=thumb_png, expires_at=NOW + i * 86400)
        if i % 5 == 1:
            fields["error_message"] = "The provider rejected the prompt."
        spec = SPEC if i % 4 else SPEC.with_(prompt=f"a dog, take {i}")
        svc.put(make_job(spec, id=f"h{i:02d}", created_at=t + i, updated_at=t + i, **fields))
    svc.put(
        make_job(
            SPEC,
            id="h20",
            created_at=t + 30,
            kind=JobKind.UPGRADE_1080P,
            parent_id="h12",
            state=JobState.DONE,
            finished_at=t + 40,
        )
    )
    p = shown_list(qtbot, svc, clock, rows=9)
    yield p
    p.model.detach()


class _StateMarks(QProxyStyle):
    """The app's style, plus a mark on each item row for every state flag it was painted with,
    so that a row painted in another state (a missed hover, say) differs in pixels."""

    FLAGS = (
        QStyle.StateFlag.State_Selected,
        QStyle.StateFlag.State_HasFocus,
        QStyle.StateFlag.State_MouseOver,
        QStyle.StateFlag.State_Enabled,
        QStyle.StateFlag.State_Active,
        QStyle.StateFlag.State_Window,
        QStyle.StateFlag.State_Editing,
    )

    def drawControl(self, element, option, painter, widget=None):  # type: ignore[no-untyped-def]
        super().drawControl(element, option, painter, widget)
        if element == QStyle.ControlElement.CE_ItemViewItem:
            r = option.rect
            for i, flag in enumerate(self.FLAGS):
                if option.state & flag:
                    painter.fillRect(r.right() - 6 * (i + 1), r.top() + 1, 5, 3, QColor("#20a040"))


def test_own_paint_loop_paints_what_qlistview_paints(history, clock, qtbot):
    """Every row state QListView gives a row (selected, focus, hover), a filter (rows mapped
    through the proxy), a scrolled list and a narrow one: the same pixels either way, and what
    a cache-less delegate paints. A style marks each state a row was painted with. With two
    rows in another state than plain the page is QListView's."""
    panel = history
    view = panel.view
    style = _StateMarks(QApplication.style().name())
    view.setStyle(style)
    pictures = [both_loops(panel)]
    assert pictures[0] == fresh(panel, clock)
    view.setCurrentIndex(view.model().index(2, 0))
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    pictures.append(both_loops(panel))  # selected, current, focused
    hover(view, view.visualRect(view.model().index(4, 0)).center())
    pictures.append(both_loops(panel, own=False))  # ... and another row hovered: QListView's
    view.setCurrentIndex(QModelIndex())
    view.selectionModel().clear()
    pictures.append(both_loops(panel))  # the hovered row only
    hover(view, None)
    panel.search.setText("dog")  # a few rows: mapped to the model's
    assert 0 < panel.proxy.rowCount() < panel.model.rowCount()
    pictures.append(both_loops(panel))
    assert pictures[-1] == fresh(panel, clock)
    panel.search.setText("")
    panel.resize(400, 4 * 79)  # a narrow, short list, scrolled to a row's middle
    QApplication.processEvents()  # the posted layout: the scroll bar's range and the viewport
    view.verticalScrollBar().setValue(120)
    assert view.verticalScrollBar().value() == 120
    pictures.append(both_loops(panel))
    assert pictures[-1] == fresh(panel, clock)
    # Each step showed something else (the comparisons compared something).
    assert [a == b for a, b in itertools.pairwise(pictures)] == [False] * 5
    view.setStyle(None)  # type: ignore[arg-type]
    style.deleteLater()


def test_a_page_of_rows_under_way_is_left_to_qlistview(panel, clock):
    """Rows under way are drawn anew on every paint, which QListView's C++ loop does for less;
    the pixels are the same either way."""
    if panel.delegate._images is None:
        both_loops(panel, own=False)  # no row images: nothing for the own loop to do
        return
    assert both_loops(panel, own=False) == fresh(panel, clock)


def test_own_paint_loop_follows_the_row_under_the_mouse(history):
    """The hover state goes to the row QAbstractItemView says is under the mouse, and no other."""
    panel = history
    view = panel.view
    seen: dict[int, bool] = {}
    real_paint = panel.delegate._paint

    def paint(p, option, index, row):  # type: ignore[no-untyped-def]
        seen[index.row()] = bool(option.state & QStyle.StateFlag.State_MouseOver)
        real_paint(p, option, index, row)

    panel.delegate._paint = paint  # type: ignore[method-assign]
    hover(view, view.visualRect(view.model().index(3, 0)).center())
    assert view._hover.row() == 3
    view.viewport().repaint()
    assert seen.get(3) is True and not any(v for r, v in seen.items() if r != 3)
    hover(view, None)
    assert not view._hover.isValid()
    seen.clear()
    view.viewport().repaint()
    assert not any(seen.values())


def test_plain_finished_rows_are_painted_without_a_delegate_call(qtbot, clock, monkeypatch):
    """A scrolled page of finished rows, prepared while idle, is painted from their images by
    the view's loop: no row is painted the way paint() paints it. A selected row is."""
    p = sixty_rows(qtbot, clock, JobState.DONE)
    d = p.delegate
    qtbot.waitUntil(lambda: d._last_offset is not None and not d._queue)
    calls: list[int] = []
    real_paint = TaskDelegate._paint

    def counting(self, pa, o, i, r):  # type: ignore[no-untyped-def]
        calls.append(i.row())
        real_paint(self, pa, o, i, r)

    monkeypatch.setattr(TaskDelegate, "_paint", counting)
    bar = p.view.verticalScrollBar()
    bar.setValue(bar.pageStep())
    p.view.viewport().repaint()
    assert calls == [] and d._deferred == set()
    row = p.view.indexAt(QPoint(10, 10)).row()
    p.view.setCurrentIndex(p.view.model().index(row, 0))
    p.view.viewport().repaint()
    assert calls == [row]
    assert grab(p) == fresh(p, clock)
    p.model.detach()


def test_a_scrolled_frame_starts_a_row_only_when_it_fits(qtbot, clock):
    """In a scrolled frame a row image is painted only when one more, at what the last ones
    cost, still fits the budget: a slow machine leaves the row blank for a frame instead."""
    p = sixty_rows(qtbot, clock, JobState.DONE)
    d = p.delegate
    qtbot.waitUntil(lambda: d._last_offset is not None and not d._queue)
    images = d._images
    assert images is not None
    bar = p.view.verticalScrollBar()
    for cost in (1.0, 0.0):
        images.clear()
        d._render_costs.clear()
        d._render_costs.append(cost)  # the last rows took a second each / nothing
        bar.setValue(bar.value() + bar.pageStep())
        p.view.viewport().repaint()
        if cost:  # no row fits: all of them left for when idle
            assert len(images) == 0 and len(d._deferred) >= 5
        else:  # the first row at least (then the budget is spent or the page painted)
            assert len(images) >= 1
        qtbot.waitUntil(lambda: not d._deferred and not d._queue)
    p.model.detach()


def test_a_scrolled_frame_makes_its_missing_rows_all_or_none(qtbot, clock, monkeypatch):
    """Where one missing row would fit the frame's budget but all of them would not, the frame
    makes none (a frame that still shows blank rows gains little from the one, and it costs
    ~0.5-1 ms of a ~2 ms frame); where the only missing row fits, it is made in the frame."""
    p = sixty_rows(qtbot, clock, JobState.DONE)
    d = p.delegate
    qtbot.waitUntil(lambda: d._last_offset is not None and not d._queue)
    images = d._images
    assert images is not None
    monkeypatch.setattr(taskdelegate, "SCROLL_BUDGET_S", 10.0)
    bar = p.view.verticalScrollBar()

    def cost(seconds: float) -> None:  # what the last row images took, as the budget reads it
        d._render_costs.clear()
        d._render_costs.append(seconds)

    # A new page, nothing ready: one row (3 s) fits the 10 s, the page's five or more do not.
    images.clear()
    cost(3.0)
    bar.setValue(bar.value() + bar.pageStep())
    p.view.viewport().repaint()
    assert len(images) == 0 and len(d._deferred) >= 5
    qtbot.waitUntil(lambda: not d._deferred and not d._queue)  # made when idle

    # The page ready but for one row on screen: that row is made in the (scrolled) frame.
    top = p.view.indexAt(QPoint(10, 10)).row()
    row = p.model.paint_data_at(top + 2)
    (key,) = [k for k, entry in images._entries.items() if entry[1] is row]
    del images._entries[key]
    cost(3.0)
    bar.setValue(bar.value() + 1)
    p.view.viewport().repaint()
    assert d._deferred == set() and any(entry[1] is row for entry in images._entries.values())
    p.model.detach()


def test_model_flags_are_qts_own(panel):
    """The model leaves flags() to QAbstractListModel (C++): every row enabled and selectable."""
    model = panel.model
    assert "flags" not in vars(TaskListModel)
    flags = model.flags(model.index(0))
    assert flags == (
        Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
    )
    assert model.flags(QModelIndex()) == Qt.ItemFlag.NoItemFlags


def test_the_item_panel_is_skipped_only_where_the_style_draws_nothing(panel, clock):
    """Rows under way are drawn on every paint; the style's item panel (selection, hover, focus
    look) is skipped only when the style draws nothing for the row's state: here (Fusion) for
    a plain row, not for a selected one, and not for a style that marks every row."""
    view = panel.view
    d = panel.delegate
    view.setCurrentIndex(view.model().index(row_of(panel, "job02"), 0))
    assert_current(panel, clock)
    answers = {bool(k[2] & QStyle.StateFlag.State_Selected.value): v for k, v in d._panels.items()}
    assert answers == {False: False, True: True}  # a plain row: nothing; a selected one: the highlight
    view.selectionModel().clear()
    style = _MarkedRows(QApplication.style().name())
    view.setStyle(style)
    try:
        picture = assert_current(panel, clock)
        rect = view.visualRect(view.model().index(row_of(panel, "job01"), 0))  # running
        assert picture.pixelColor(rect.left() + 2, rect.top() + 1) == QColor("#d04020")
    finally:
        view.setStyle(None)  # type: ignore[arg-type]
        style.deleteLater()
