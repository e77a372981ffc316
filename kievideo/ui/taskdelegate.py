"""TaskDelegate: paints one task row (thumbnail, prompt, provider, state, times, progress, expiry).

Layout of a row (children of a generation are indented and carry a "1080p of …" badge):

    ┌───────────┐  ● Generating   a cat surfing a wave at sunset …
    │ thumbnail │  kie.ai Veo 3.1 · veo3_fast · 720p · expires in 13 d
    └───────────┘  queued 0:12 · running 1:40   [progress bar / error text]

Everything is drawn from the Job in ``Roles.Job``; the delegate never touches the service.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
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
PAD = 8
INDENT = 28


class TaskDelegate(QStyledItemDelegate):
    def __init__(
        self, thumbs: ThumbCache, parent: QObject | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self._thumbs = thumbs
        self._clock = clock  # the service's clock: expiry times are on it

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        fm = QFontMetrics(option.font)  # type: ignore[attr-defined]
        text_h = 3 * fm.height() + 2 * 3
        return QSize(360, max(THUMB.height(), text_h) + 2 * PAD)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        job: Job | None = index.data(Roles.Job)
        if job is None:
            return super().paint(painter, option, index)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # we draw the text ourselves; let the style paint selection/hover only
        widget = opt.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        painter.save()
        try:
            self._paint_row(painter, opt, index, job, style, widget)
        finally:
            painter.restore()

    # -----------------------------------------------------------------------------------------

    def _paint_row(
        self,
        p: QPainter,
        opt: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
        job: Job,
        style: QStyle,
        widget: object,
    ) -> None:
        rect: QRect = opt.rect  # type: ignore[attr-defined]
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        pal: QPalette = opt.palette  # type: ignore[attr-defined]
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text_col = pal.color(text_role)
        dim = QColor(text_col)
        dim.setAlphaF(0.68)
        depth = int(index.data(Roles.Depth) or 0)
        x = rect.left() + PAD + depth * INDENT

        # Thumbnail (or a placeholder with the state icon while there is none yet).
        thumb_rect = QRect(
            x, rect.top() + (rect.height() - THUMB.height()) // 2, THUMB.width(), THUMB.height()
        )
        if depth:
            thumb_rect = QRect(thumb_rect.topLeft(), THUMB * 0.75)
            thumb_rect.moveTop(rect.top() + (rect.height() - thumb_rect.height()) // 2)
        pm = self._thumbs.get(job.thumb_path, thumb_rect.size())
        # On a selected row the placeholder is a shade of the highlight, so the (highlighted-text
        # coloured) state icon stays visible in light and dark schemes.
        placeholder = (
            pal.color(QPalette.ColorRole.Highlight).darker(118)
            if selected
            else pal.color(QPalette.ColorRole.AlternateBase)
        )
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(placeholder)
        p.drawRoundedRect(thumb_rect, 4, 4)
        if pm is not None and not pm.isNull():
            target = QRect(QPoint(0, 0), pm.size() / pm.devicePixelRatio())
            target.moveCenter(thumb_rect.center())
            p.drawPixmap(target, pm)
        else:
            icon_pm = icons.pixmap(state_icon_name(job.state), 22, dim)
            ir = QRect(0, 0, 22, 22)
            ir.moveCenter(thumb_rect.center())
            p.drawPixmap(ir, icon_pm)

        tx = thumb_rect.right() + PAD + 2
        width = rect.right() - PAD - tx
        fm = QFontMetrics(opt.font)  # type: ignore[attr-defined]
        line_h = fm.height()
        y = rect.top() + (rect.height() - (3 * line_h + 6)) // 2

        # Line 1: state icon + state word (coloured), then the prompt excerpt (bold).
        scol = state_color(job.state) if not selected else text_col
        p.drawPixmap(
            QRect(tx, y + (line_h - 16) // 2, 16, 16), icons.pixmap(state_icon_name(job.state), 16, scol)
        )
        bold = QFont(opt.font)  # type: ignore[attr-defined]
        bold.setBold(True)
        bfm = QFontMetrics(bold)
        label = state_label(job.state)
        p.setFont(bold)
        p.setPen(scol)
        lx = tx + 20
        p.drawText(QRect(lx, y, width, line_h), Qt.AlignmentFlag.AlignVCenter, label)
        lx += bfm.horizontalAdvance(label) + 10
        badge = index.data(Roles.ParentLabel) or ""
        if badge:
            bw = min(fm.horizontalAdvance(badge) + 10, max(0, rect.right() - PAD - lx) // 2)
            brect = QRect(lx, y + 1, bw, line_h - 2)
            bcol = QColor(scol)
            bcol.setAlphaF(0.18)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(bcol)
            p.drawRoundedRect(brect, 6, 6)
            p.setFont(opt.font)  # type: ignore[attr-defined]
            p.setPen(text_col)
            p.drawText(
                brect, Qt.AlignmentFlag.AlignCenter, fm.elidedText(badge, Qt.TextElideMode.ElideRight, bw - 8)
            )
            lx += bw + 8
        p.setFont(bold)
        p.setPen(text_col)
        prompt = " ".join(job.spec.prompt.split()) or tr("(no prompt)")
        if badge and job.kind in (JobKind.UPGRADE_1080P, JobKind.UPGRADE_4K):
            prompt = ""  # the badge already names the video; an extension shows its own prompt
        p.drawText(
            QRect(lx, y, rect.right() - PAD - lx, line_h),
            Qt.AlignmentFlag.AlignVCenter,
            bfm.elidedText(prompt, Qt.TextElideMode.ElideRight, max(0, rect.right() - PAD - lx)),
        )

        # Line 2: provider · model · resolution · expiry.
        y += line_h + 3
        p.setFont(opt.font)  # type: ignore[attr-defined]
        p.setPen(dim)
        bits = [provider_label(job.spec.provider)]
        if job.spec.profile not in ("", "kie"):
            bits[0] = f"{bits[0]} ({job.spec.profile})"
        bits.append(job.spec.model)
        if job.resolution:
            bits.append(job.resolution)
        if job.state is JobState.DONE or job.expires_at:
            exp = fmt_expiry(job.expires_at, self._clock())
            if exp:
                bits.append(exp)
        failed = job.state in (JobState.FAILED, JobState.UNCERTAIN, JobState.EXPIRED)
        times = index.data(Roles.TimeText) or ""
        if failed and times:
            bits.append(times)  # line 3 belongs to the error text, in full
        p.drawText(
            QRect(tx, y, width, line_h),
            Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(" · ".join(bits), Qt.TextElideMode.ElideRight, width),
        )

        # Line 3: times, then progress / error / slow warning.
        y += line_h + 3
        if failed:
            times = ""
        tw = fm.horizontalAdvance(times) + 12 if times else 0
        if times:
            p.drawText(QRect(tx, y, width, line_h), Qt.AlignmentFlag.AlignVCenter, times)
        rx = tx + tw
        rwidth = max(0, rect.right() - PAD - rx)
        progress, ptext = self._progress(job)
        if failed:
            msg = job.error_message or job.provider_message or state_label(job.state)
            p.setPen(error_color() if not selected else text_col)
            p.drawText(
                QRect(rx, y, rwidth, line_h),
                Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(msg, Qt.TextElideMode.ElideRight, rwidth),
            )
        elif progress is not None and rwidth > 60:
            bar = QStyleOptionProgressBar()
            bar.rect = QRect(rx, y + 2, min(rwidth, 220), line_h - 4)  # type: ignore[attr-defined]
            bar.minimum, bar.maximum = 0, 1000  # type: ignore[attr-defined]
            bar.progress = int(progress * 1000)  # type: ignore[attr-defined]
            bar.text = ptext  # type: ignore[attr-defined]
            bar.textVisible = True  # type: ignore[attr-defined]
            bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal  # type: ignore[attr-defined]
            # The groove on AlternateBase: on the list's own Base colour it would be invisible
            # (dark scheme), leaving the text floating next to a short blue bar.
            bar_pal = QPalette(pal)
            bar_pal.setColor(QPalette.ColorRole.Base, pal.color(QPalette.ColorRole.AlternateBase))
            bar.palette = bar_pal  # type: ignore[attr-defined]
            bar.fontMetrics = fm  # type: ignore[attr-defined]
            style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, p, widget)  # type: ignore[arg-type]
        else:
            note, warn = status_note(job)
            if warn:
                p.setPen(warning_color() if not selected else text_col)
            if note:
                p.drawText(
                    QRect(rx, y, rwidth, line_h),
                    Qt.AlignmentFlag.AlignVCenter,
                    fm.elidedText(note, Qt.TextElideMode.ElideRight, rwidth),
                )

    @staticmethod
    def _progress(job: Job) -> tuple[float | None, str]:
        if job.state is JobState.UPLOADING and job.upload_progress is not None:
            return job.upload_progress, tr("upload %1%").replace("%1", str(int(job.upload_progress * 100)))
        if job.state is JobState.DOWNLOADING and job.download_progress is not None:
            return job.download_progress, tr("download %1%").replace(
                "%1", str(int(job.download_progress * 100))
            )
        return None, ""
