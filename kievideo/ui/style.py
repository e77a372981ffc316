"""Colours, state names and small formatting helpers shared by the widgets.

Colours come from the palette where possible; the few semantic colours (done, failed, ...) have a
light and a dark variant chosen from the current colour scheme, so nothing is hard-coded white.
Helpers without a QObject translate with :func:`tr`, in the global (empty) context: that is
where ``pyside6-lupdate`` files a plain ``tr("...")`` call, so the extracted catalogue and the
runtime lookup agree (widgets use ``self.tr``, whose context is their class name).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobKind, JobState, Mode

#: the context of module-level helpers' strings (lupdate's context for a plain ``tr()`` call)
GLOBAL_CONTEXT = ""


def tr(text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """Translate in the global context (for module-level helpers without a QObject).

    Call it with a string literal (``tr("Done")``), never inside an f-string: lupdate extracts
    only literal arguments of ``tr(...)`` calls it can see.
    """
    return QCoreApplication.translate(GLOBAL_CONTEXT, text, disambiguation, n)


def is_dark() -> bool:
    """True when the app follows a dark scheme (style hint first, palette lightness as fallback)."""
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication):
        scheme = app.styleHints().colorScheme()
        if scheme == Qt.ColorScheme.Dark:
            return True
        if scheme == Qt.ColorScheme.Light:
            return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


# (light, dark) pairs: readable on the palette's base colour in either scheme.
_STATE_COLOURS: dict[JobState, tuple[str, str]] = {
    JobState.UPLOADING: ("#1d6fd6", "#6aa8ff"),
    JobState.SUBMITTING: ("#1d6fd6", "#6aa8ff"),
    JobState.QUEUED: ("#6b6f76", "#a5abb3"),
    JobState.RUNNING: ("#1d6fd6", "#6aa8ff"),
    JobState.DOWNLOADING: ("#1d6fd6", "#6aa8ff"),
    JobState.DONE: ("#1e8a3e", "#5fd18a"),
    JobState.FAILED: ("#c62828", "#ff7a7a"),
    JobState.EXPIRED: ("#8a6d1e", "#d6b35c"),
    JobState.UNCERTAIN: ("#b85c00", "#ffae57"),
    JobState.STOPPED: ("#6b6f76", "#a5abb3"),
}


def state_color(state: JobState) -> QColor:
    light, dark = _STATE_COLOURS.get(state, ("#6b6f76", "#a5abb3"))
    return QColor(dark if is_dark() else light)


def error_color() -> QColor:
    return QColor("#ff7a7a" if is_dark() else "#c62828")


def warning_color() -> QColor:
    return QColor("#ffae57" if is_dark() else "#b85c00")


def state_icon_name(state: JobState) -> str:
    return f"state-{state.value}"


# Label tables hold one function per entry, each with its literal tr() call (lupdate extracts
# those): a lookup translates one string, not the whole table. The task list asks for these
# labels for every painted row, so building and translating every entry per call would add up.
_STATE_LABELS: dict[JobState, Callable[[], str]] = {
    JobState.UPLOADING: lambda: tr("Uploading"),
    JobState.SUBMITTING: lambda: tr("Submitting"),
    JobState.QUEUED: lambda: tr("Queued"),
    JobState.RUNNING: lambda: tr("Generating"),
    JobState.DOWNLOADING: lambda: tr("Downloading"),
    JobState.DONE: lambda: tr("Done"),
    JobState.FAILED: lambda: tr("Failed"),
    JobState.EXPIRED: lambda: tr("Expired"),
    JobState.UNCERTAIN: lambda: tr("Uncertain"),
    JobState.STOPPED: lambda: tr("Stopped"),
}


def state_label(state: JobState) -> str:
    label = _STATE_LABELS.get(state)
    return label() if label is not None else state.value


_PROVIDER_LABELS: dict[ProviderKind, Callable[[], str]] = {
    ProviderKind.VEO: lambda: tr("kie.ai Veo 3.1"),
    ProviderKind.RUNWAY: lambda: tr("kie.ai Runway"),
    ProviderKind.ALEPH: lambda: tr("Runway Aleph"),
    ProviderKind.UNIFIED: lambda: tr("Unified API"),
}


def provider_label(kind: ProviderKind) -> str:
    label = _PROVIDER_LABELS.get(kind)
    return label() if label is not None else kind.value


def mode_label(mode: Mode) -> str:
    labels = {
        Mode.TEXT: tr("Text to video"),
        Mode.IMAGE: tr("Image to video"),
        Mode.FRAMES: tr("First and last frame"),
        Mode.REFERENCE: tr("Reference images"),
        Mode.VIDEO: tr("Video to video"),
    }
    return labels.get(mode, mode.value)


def kind_label(kind: JobKind) -> str:
    labels = {
        JobKind.GENERATE: tr("Generation"),
        JobKind.UPGRADE_1080P: tr("1080p"),
        JobKind.UPGRADE_4K: tr("4K"),
        JobKind.EXTEND: tr("Extension"),
    }
    return labels.get(kind, kind.value)


def fmt_clock(seconds: float | None) -> str:
    """0:07, 1:40, 1:02:03: compact durations for the task list."""
    if seconds is None or math.isnan(seconds):
        return "–"
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_mmss(ms: int) -> str:
    """Player time: mm:ss (minutes may exceed 59 for long clips)."""
    s = max(0, ms // 1000)
    return f"{s // 60:02d}:{s % 60:02d}"


def fmt_expiry(expires_at: float | None, now: float) -> str:
    """'expires in 13 d' / 'expires in 5 h' / 'expired' (the provider deletes results after 14 d)."""
    if expires_at is None:
        return ""
    left = expires_at - now
    if left <= 0:
        return tr("result expired at the provider")
    days = left / 86400
    if days >= 1:
        return tr("expires in %n d", None, int(days))
    hours = max(1, int(left / 3600))
    return tr("expires in %n h", None, hours)
