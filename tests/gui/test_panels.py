"""Prompt panel rules, image panel drops/validation, player decoding (no network involved)."""

from __future__ import annotations

import warnings
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtMultimedia import QMediaPlayer, QVideoSink
from PySide6.QtWidgets import QApplication

from kievideo.api.models import ProviderKind
from kievideo.core import rules
from kievideo.core.jobs import Mode
from kievideo.ui.imagepanel import ImagePanel
from kievideo.ui.player import PlayerPanel
from kievideo.ui.promptpanel import PromptPanel


def drop_mime(widget, md: QMimeData) -> None:
    """DragEnter then Drop, as a drag from another application delivers them.

    Qt routes a Drop to the widget that accepted the last DragEnter, so both are sent.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PySide marks the QPoint overload
        enter = QDragEnterEvent(
            QPoint(10, 10),
            Qt.DropAction.CopyAction,
            md,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    ev = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        md,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, ev)
    assert ev.isAccepted()


def drop_files(widget, paths: list[Path]) -> None:
    """A real QDropEvent with file URLs, as a file manager sends it."""
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    drop_mime(widget, md)


def test_runway_10s_disables_1080p_with_reason(qtbot):
    panel = PromptPanel()
    qtbot.addWidget(panel)
    assert panel.select_provider(ProviderKind.RUNWAY)
    panel.duration.setCurrentIndex(panel.duration.findData(10))
    row = panel.quality.findData("1080p")
    assert not panel.quality.is_enabled_row(row)
    reason = rules.message("runway_10s_1080p")
    assert panel.quality.itemData(row, Qt.ItemDataRole.ToolTipRole) == reason
    assert reason in panel.hint.text() and not panel.hint.isHidden()
    assert panel.spec().quality == "720p"
    # And the other way round.
    panel.duration.setCurrentIndex(panel.duration.findData(5))
    panel.quality.setCurrentIndex(panel.quality.findData("1080p"))
    assert not panel.duration.is_enabled_row(panel.duration.findData(10))


def test_reference_mode_only_on_veo3_fast(qtbot):
    panel = PromptPanel()
    qtbot.addWidget(panel)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("veo3"))
    row = panel.mode.findData(Mode.REFERENCE.value)
    assert not panel.mode.is_enabled_row(row)
    assert "veo3_fast" in panel.mode.itemData(row, Qt.ItemDataRole.ToolTipRole)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("veo3_fast"))
    assert panel.mode.is_enabled_row(panel.mode.findData(Mode.REFERENCE.value))


def test_counter_turns_red_over_limit(qtbot):
    panel = PromptPanel()
    qtbot.addWidget(panel)
    panel.select_provider(ProviderKind.RUNWAY)
    panel.prompt.setPlainText("x" * 1801)
    assert panel.is_over_limit()
    assert "1,801 / 1,800" in panel.counter.text()
    panel.prompt.setPlainText("ok")
    assert not panel.is_over_limit()


def test_ctrl_enter_requests_generate(qtbot):
    panel = PromptPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.prompt.setFocus()
    with qtbot.waitSignal(panel.generateRequested, timeout=1000):
        qtbot.keyClick(panel.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_drop_two_images_then_reorder(qtbot, qloop, image_files):
    panel = ImagePanel()
    qtbot.addWidget(panel)
    panel.set_mode(Mode.FRAMES)
    drop_files(panel, image_files)
    qtbot.waitUntil(lambda: panel.count() == 2, timeout=3000)
    assert panel.model.index(0).data() == "First" and panel.model.index(1).data() == "Last"
    assert [Path(s).name for s in panel.sources()] == ["first.png", "last.png"]
    assert panel.model.move(0, 1)
    assert [Path(s).name for s in panel.sources()] == ["last.png", "first.png"]
    panel.view.setCurrentIndex(panel.model.index(0))
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    assert panel.count() == 1


def _drag_onto(view, md: QMimeData, pos: QPoint, action: Qt.DropAction) -> QDropEvent:
    """DragEnter, DragMove and Drop at ``pos`` of an item view's viewport (where Qt sends them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(pos, action, md, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view.viewport(), enter)
        assert enter.isAccepted()
        move = QDragMoveEvent(pos, action, md, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view.viewport(), move)
        assert move.isAccepted()
    drop = QDropEvent(QPointF(pos), action, md, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), drop)
    return drop


def test_frames_reordered_by_dragging_in_the_list_and_by_the_arrow_buttons(qtbot, qloop, image_files):
    """First and last frame swap places when the first thumbnail is dragged onto the second
    (nothing is lost or doubled), and back with the arrow buttons."""
    panel = ImagePanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_mode(Mode.FRAMES)
    drop_files(panel, image_files)
    qtbot.waitUntil(lambda: panel.count() == 2, timeout=3000)
    view, model = panel.view, panel.model
    md = model.mimeData([model.index(0)])
    target = view.visualRect(model.index(1)).center()
    drop = _drag_onto(view, md, target, Qt.DropAction.MoveAction)  # what startDrag offers
    assert drop.isAccepted()
    assert [Path(s).name for s in panel.sources()] == ["last.png", "first.png"] and panel.count() == 2
    assert model.index(0).data() == "First" and view.currentIndex().row() == 1

    panel.left_btn.click()  # the selected image (first.png, now second) one place to the left
    assert [Path(s).name for s in panel.sources()] == ["first.png", "last.png"]
    assert view.currentIndex().row() == 0
    panel.left_btn.click()  # already first: nothing moves
    assert [Path(s).name for s in panel.sources()] == ["first.png", "last.png"]
    panel.right_btn.click()
    assert [Path(s).name for s in panel.sources()] == ["last.png", "first.png"]


def test_files_dropped_on_the_thumbnail_list_are_added(qtbot, qloop, image_files):
    panel = ImagePanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_mode(Mode.FRAMES)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in image_files])
    drop = _drag_onto(panel.view, md, QPoint(20, 20), Qt.DropAction.CopyAction)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: panel.count() == 2, timeout=3000)
    assert [Path(s).name for s in panel.sources()] == ["first.png", "last.png"]


def test_text_file_renamed_png_is_refused(qtbot, qloop, tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("just text, not an image")
    panel = ImagePanel()
    qtbot.addWidget(panel)
    panel.set_mode(Mode.IMAGE)
    drop_files(panel, [fake])
    qtbot.waitUntil(lambda: not panel.pending(), timeout=3000)
    assert panel.count() == 0
    assert "not a JPEG, PNG or WebP" in panel.hint.text()


def test_oversized_image_is_refused(qtbot, qloop, tmp_path, png_bytes):
    big = tmp_path / "huge.png"
    big.write_bytes(png_bytes + b"\0" * (rules.MAX_IMAGE_BYTES + 1))
    panel = ImagePanel()
    qtbot.addWidget(panel)
    drop_files(panel, [big])
    qtbot.waitUntil(lambda: not panel.pending(), timeout=3000)
    assert panel.count() == 0
    assert "the limit is 10 MB" in panel.hint.text()


def test_browser_link_drop_and_clipboard_image(qtbot, qloop, tmp_path):
    panel = ImagePanel(cache_dir=tmp_path)
    qtbot.addWidget(panel)
    md = QMimeData()
    md.setUrls([QUrl("https://example.com/cat.jpg")])
    drop_mime(panel, md)
    qtbot.waitUntil(lambda: panel.count() == 1, timeout=3000)
    assert panel.sources() == ("https://example.com/cat.jpg",)
    img = QImage(40, 30, QImage.Format.Format_RGB32)
    img.fill(Qt.GlobalColor.darkCyan)
    QGuiApplication.clipboard().setImage(img)
    panel.paste()
    qtbot.waitUntil(lambda: panel.count() == 2, timeout=3000)
    pasted = Path(panel.sources()[1])
    assert pasted.parent == tmp_path / "pasted" and rules.sniff_image(pasted) == "image/png"


def test_empty_state_text(qtbot):
    panel = ImagePanel()
    qtbot.addWidget(panel)
    assert panel.view.empty_text == "Drop images here, paste, or click Browse"


def load_paused(qtbot, panel: PlayerPanel, path: Path) -> None:
    """Load a clip without playing it; return once the player has it (LoadedMedia)."""
    with qtbot.waitSignal(
        panel.player.mediaStatusChanged,
        timeout=5000,
        check_params_cb=lambda s: s == QMediaPlayer.MediaStatus.LoadedMedia,
    ):
        assert panel.load(path, "sample", autoplay=False)


def play_to_end(qtbot, panel: PlayerPanel) -> None:
    """Play (at 8x) from where the player is; return at EndOfMedia."""
    panel.player.setPlaybackRate(8.0)
    with qtbot.waitSignal(
        panel.player.mediaStatusChanged,
        timeout=8000,
        check_params_cb=lambda s: s == QMediaPlayer.MediaStatus.EndOfMedia,
    ):
        panel.toggle_play()


def loaded_player(qtbot, path: Path) -> PlayerPanel:
    """A muted PlayerPanel with ``path`` loaded, paused."""
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    panel.audio.setMuted(True)
    load_paused(qtbot, panel, path)
    return panel


def test_player_plays_local_file_to_the_end(qtbot, sample_mp4):
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    sink = QVideoSink()
    frames: list[int] = []
    sink.videoFrameChanged.connect(lambda f: frames.append(1) if f.isValid() else None)
    panel.player.setVideoSink(sink)
    panel.audio.setMuted(True)
    load_paused(qtbot, panel, sample_mp4)
    assert panel.player.duration() == 2000
    assert panel.time_label.text() == "00:00 / 00:02"
    play_to_end(qtbot, panel)
    assert len(frames) > 10
    assert panel.player.source().isLocalFile()
    panel.shutdown()


def test_player_refuses_missing_file(qtbot, tmp_path):
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.message, timeout=1000):
        assert not panel.load(tmp_path / "gone.mp4")


def test_player_pause_replay_after_the_end_and_seek(qtbot, sample_mp4):
    """Space/Play pauses and resumes; at the end it starts again from the beginning; a slider
    drag seeks where it is released."""
    panel = loaded_player(qtbot, sample_mp4)
    playing = QMediaPlayer.PlaybackState.PlayingState
    with qtbot.waitSignal(panel.player.playbackStateChanged, timeout=3000):
        panel.toggle_play()
    assert panel.player.playbackState() == playing
    with qtbot.waitSignal(panel.player.playbackStateChanged, timeout=3000):
        panel.toggle_play()
    assert panel.player.playbackState() == QMediaPlayer.PlaybackState.PausedState
    assert panel.play_btn.toolTip() == "Play (Space)"

    panel._on_slider_pressed()  # a drag: the position does not fight the user's hand
    panel.slider.setValue(1500)
    panel._on_slider_moved(1500)
    assert panel.time_label.text().startswith("00:01 /")
    with qtbot.waitSignal(panel.player.positionChanged, timeout=3000):
        panel._on_slider_released()
    assert abs(panel.player.position() - 1500) <= 100

    play_to_end(qtbot, panel)
    with qtbot.waitSignal(panel.player.playbackStateChanged, timeout=3000):
        panel.toggle_play()  # at the end: from the start again
    assert panel.player.playbackState() == playing
    assert panel.player.position() < 1000
    panel.shutdown()


def test_player_says_when_a_file_is_not_a_playable_video(qtbot, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not really a movie" * 100)
    panel = PlayerPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.message, timeout=5000) as said:
        panel.load(bad, "broken")
    assert said.args[0].startswith("Cannot play this video:")
    panel.shutdown()


def test_player_stops_and_clears_from_the_event_loop_not_inside_the_call(qtbot, arun, sample_mp4):
    """shutdown() (and clear(), and a new source) leave the decoder alone inside the call, where
    PySide holds the GIL and Qt's FFmpeg threads can deadlock against it (PlayerPanel._from_loop),
    and stop it right after, from the event loop, in order."""
    panel = loaded_player(qtbot, sample_mp4)
    with qtbot.waitSignal(panel.player.playbackStateChanged, timeout=3000):
        panel.toggle_play()
    playing = QMediaPlayer.PlaybackState.PlayingState
    assert panel.player.playbackState() == playing

    panel.shutdown()
    assert panel.player.playbackState() == playing and not panel.player.source().isEmpty()
    arun(panel.settled())  # what the window's shutdown awaits
    assert panel.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState
    assert panel.player.source().isEmpty()
    # And it can start again: the queued calls keep their order (source, then play).
    with qtbot.waitSignal(panel.player.playbackStateChanged, timeout=3000):
        assert panel.load(sample_mp4, "again")
    assert panel.player.source().isLocalFile()
    panel.clear()
    qtbot.waitUntil(lambda: panel.player.source().isEmpty(), timeout=3000)
    assert panel.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState
