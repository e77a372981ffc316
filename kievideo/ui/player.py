"""The built-in player: QMediaPlayer + QVideoWidget + QAudioOutput with simple transport controls.

It only ever plays LOCAL files (the downloaded job.file_path): remote result URLs expire, may
need a fresh signed link, and would stream the paid file a second time.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import Q_ARG, QMetaObject, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kievideo.ui import icons
from kievideo.ui.style import fmt_mmss

log = logging.getLogger("kievideo.ui")


class PlayerPanel(QWidget):
    """Video area, then a row: play/pause, position slider, time, loop, mute, volume, external."""

    #: emitted with a short message for the status bar (errors, "cannot play")
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playerPanel")
        self._path: Path | None = None
        self._seeking = False

        self.player = QMediaPlayer(self)
        self._source = QUrl()
        self._settled: list[asyncio.Future[None]] = []
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.video = QVideoWidget(self)
        self.video.setMinimumSize(QSize(240, 135))
        self.video.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.player.setVideoOutput(self.video)

        self.placeholder = QLabel(self.tr("Double-click a finished task to play it here."), self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setEnabled(False)  # the disabled palette gives a quiet, scheme-aware grey

        stack_host = QWidget(self)
        self._stack = QStackedLayout(stack_host)
        self._stack.addWidget(self.placeholder)
        self._stack.addWidget(self.video)

        self.title = QLabel(self)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.play_btn = self._button("play", self.tr("Play (Space)"))
        self.play_btn.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.setAccessibleName(self.tr("Position"))
        self.slider.sliderPressed.connect(self._on_slider_pressed)
        self.slider.sliderReleased.connect(self._on_slider_released)
        self.slider.sliderMoved.connect(self._on_slider_moved)
        self.time_label = QLabel("00:00 / 00:00", self)
        self.time_label.setAccessibleName(self.tr("Time"))
        self.loop_btn = self._button("loop", self.tr("Loop"))
        self.loop_btn.setCheckable(True)
        self.loop_btn.toggled.connect(self._on_loop)
        self.mute_btn = self._button("volume", self.tr("Mute"))
        self.mute_btn.setCheckable(True)
        self.mute_btn.toggled.connect(self._on_mute)
        self.volume = QSlider(Qt.Orientation.Horizontal, self)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setFixedWidth(80)
        self.volume.setAccessibleName(self.tr("Volume"))
        self.volume.valueChanged.connect(lambda v: self.audio.setVolume(v / 100.0))
        self.audio.setVolume(0.8)
        self.external_btn = self._button("external", self.tr("Open in system player"))
        self.external_btn.clicked.connect(self.open_external)

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        for w in (
            self.play_btn,
            self.slider,
            self.time_label,
            self.loop_btn,
            self.mute_btn,
            self.volume,
            self.external_btn,
        ):
            controls.addWidget(w)
        controls.setStretch(1, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(stack_host, 1)
        lay.addWidget(self.title)
        lay.addLayout(controls)

        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(self._on_duration)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.errorOccurred.connect(self._on_error)

        # Space toggles playback anywhere in the player (the main window adds a global one too).
        sc = QShortcut(
            QKeySequence(Qt.Key.Key_Space), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        sc.activated.connect(self.toggle_play)
        self._set_enabled(False)

    def _button(self, icon_name: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setIcon(icons.icon(icon_name))
        b.setToolTip(tip)
        b.setAccessibleName(tip)
        b.setAutoRaise(True)
        return b

    def _set_enabled(self, on: bool) -> None:
        for w in (self.play_btn, self.slider, self.loop_btn, self.external_btn):
            w.setEnabled(on)

    # --- API ----------------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        return self._path

    def load(self, path: str | Path, title: str = "", *, autoplay: bool = True) -> bool:
        """Open a local file; False (and a message) when it is missing."""
        p = Path(path)
        if not p.is_file():
            self.message.emit(self.tr("The video file is missing: %1").replace("%1", str(p)))
            return False
        self._path = p
        self.title.setText(title)
        self.title.setToolTip(title)
        self._stack.setCurrentWidget(self.video)
        url = QUrl.fromLocalFile(str(p))
        if self._source == url:
            self.player.setPosition(0)  # same file again: setSource would be a no-op
        else:
            self._set_source(url)
        self._set_enabled(True)
        if autoplay:
            self._from_loop("play")  # after the queued setSource
        return True

    def clear(self) -> None:
        self._from_loop("stop")
        self._set_source(QUrl())
        self._path = None
        self.title.clear()
        self._stack.setCurrentWidget(self.placeholder)
        self._set_enabled(False)
        self.slider.setRange(0, 0)
        self.time_label.setText("00:00 / 00:00")

    def toggle_play(self) -> None:
        if self._path is None:
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            if self.player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia:
                self.player.setPosition(0)
            self.player.play()

    def open_external(self) -> None:
        if self._path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._path)))

    def shutdown(self) -> None:
        """Release the decoder before the window goes (avoids FFmpeg warnings at exit). Done from
        the event loop (see :meth:`_from_loop`): the window's shutdown keeps the loop running."""
        self._from_loop("stop")
        self._set_source(QUrl())

    # --- stopping and switching without holding the GIL ---------------------------------------

    def _from_loop(self, slot: str) -> None:
        """Call a QMediaPlayer slot from Qt's event loop instead of from Python.

        PySide6 holds the GIL while a Qt function it wraps runs. Stopping playback or changing
        the source tears down the FFmpeg backend's threads, and one of them may then be deleting
        an object whose Python wrapper needs the GIL (a virtual-override lookup), while the GUI
        thread, holding the GIL, waits for that thread's mutex inside QMediaPlayer::stop(): a
        deadlock, and a window that never closes. gdb showed exactly that: the GUI thread in
        QBasicMutex::lockInternal under QObject::disconnect, "QFFmpeg::AudioR" in
        PyGILState_Ensure under Sbk_GetPyOverride. In a loop of load, play 50 ms, stop (PySide6
        6.12), stop() called directly hung after 15, 198 and 208 cycles; queued, none in 1,000.
        A queued call runs from the event loop, which PySide entered with the GIL released.
        Calls keep their order."""
        QMetaObject.invokeMethod(self.player, slot, Qt.ConnectionType.QueuedConnection)

    async def settled(self) -> None:
        """Until the player calls queued so far (stop, source changes) have run: the window's
        shutdown waits for it, so the decoder is released while the event loop still runs."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._settled.append(fut)
        # Posted after them to the same thread: Qt delivers posted calls in order.
        QMetaObject.invokeMethod(self, "_on_settled", Qt.ConnectionType.QueuedConnection)
        await fut

    @Slot()
    def _on_settled(self) -> None:
        waiting, self._settled = self._settled, []
        for fut in waiting:
            if not fut.done():
                fut.set_result(None)

    def _set_source(self, url: QUrl) -> None:
        self._source = url  # what the player will have, once the queued call has run
        QMetaObject.invokeMethod(
            self.player, "setSource", Qt.ConnectionType.QueuedConnection, Q_ARG(QUrl, url)
        )

    # --- slots --------------------------------------------------------------------------------

    def _on_position(self, pos: int) -> None:
        if not self._seeking:
            self.slider.setValue(pos)
        self.time_label.setText(f"{fmt_mmss(pos)} / {fmt_mmss(self.player.duration())}")

    def _on_duration(self, dur: int) -> None:
        self.slider.setRange(0, max(0, dur))
        self.time_label.setText(f"{fmt_mmss(self.player.position())} / {fmt_mmss(dur)}")

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_btn.setIcon(icons.icon("pause" if playing else "play"))
        tip = self.tr("Pause (Space)") if playing else self.tr("Play (Space)")
        self.play_btn.setToolTip(tip)
        self.play_btn.setAccessibleName(tip)

    def _on_error(self, error: QMediaPlayer.Error, text: str) -> None:
        if error != QMediaPlayer.Error.NoError:
            log.warning("player error %s: %s", error, text)
            self.message.emit(self.tr("Cannot play this video: %1").replace("%1", text))

    def _on_slider_pressed(self) -> None:
        self._seeking = True

    def _on_slider_released(self) -> None:
        self._seeking = False
        self.player.setPosition(self.slider.value())

    def _on_slider_moved(self, value: int) -> None:
        self.time_label.setText(f"{fmt_mmss(value)} / {fmt_mmss(self.player.duration())}")

    def _on_loop(self, on: bool) -> None:
        self.player.setLoops(QMediaPlayer.Loops.Infinite if on else 1)

    def _on_mute(self, on: bool) -> None:
        self.audio.setMuted(on)
        self.mute_btn.setIcon(icons.icon("mute" if on else "volume"))
