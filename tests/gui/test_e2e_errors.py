"""Bad input and bad days, through the real stack: each ends with a clear message, and where the
input was wrong, with NOTHING sent to the provider (checked on the simulator's journal)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from studio import SPEED, Studio, close_studio, open_studio
from test_panels import drop_files

from kievideo.api.models import ProviderKind
from kievideo.core import rules
from kievideo.core.jobs import JobState, Mode
from kievideo.ui.taskmodel import status_note


@pytest.fixture
def studio(qtbot, qloop, sim_factory, tmp_path):
    sim = sim_factory(speed=SPEED, credits=100_000)
    s = open_studio(qtbot, sim, tmp_path)
    yield s
    close_studio(s)


def paid_requests(studio: Studio) -> list:
    """Requests to any create endpoint, accepted or not."""
    return [e for e in studio.sim.journal if e.route and e.route.endswith(("generate", "create"))]


def test_text_file_renamed_png(studio: Studio, tmp_path):
    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    w = studio.window
    w.prompt.set_mode(Mode.IMAGE)
    drop_files(w.images, [fake])
    studio.qtbot.waitUntil(lambda: not w.images.pending(), timeout=3000)
    assert w.images.count() == 0
    assert "holiday.png" in w.images.hint.text() and "not a JPEG, PNG or WebP" in w.images.hint.text()
    w.prompt.prompt.setPlainText("animate it")
    studio.generate()
    studio.qtbot.waitUntil(lambda: not w.prompt.problem.isHidden(), timeout=3000)
    assert "Image-to-video needs exactly 1 image" in w.prompt.problem.text()
    assert paid_requests(studio) == [] and w.model.rowCount() == 0


def test_oversized_image(studio: Studio, tmp_path, png_bytes):
    big = tmp_path / "poster.png"
    big.write_bytes(png_bytes + b"\0" * (rules.MAX_IMAGE_BYTES + 10))
    w = studio.window
    drop_files(w.images, [big])
    studio.qtbot.waitUntil(lambda: not w.images.pending(), timeout=3000)
    assert w.images.count() == 0 and "limit is 10 MB" in w.images.hint.text()
    assert studio.sim.journal == []


def test_four_images_in_first_last_mode(studio: Studio, tmp_path, png_bytes):
    files = []
    for i in range(4):
        p = tmp_path / f"frame{i}.png"
        p.write_bytes(png_bytes)
        files.append(p)
    w = studio.window
    assert w.prompt.set_mode(Mode.FRAMES)
    drop_files(w.images, files)
    studio.qtbot.waitUntil(lambda: w.images.count() == 4, timeout=3000)
    w.prompt.prompt.setPlainText("from dawn to dusk")
    studio.generate()
    studio.qtbot.waitUntil(lambda: not w.prompt.problem.isHidden(), timeout=3000)
    assert "needs exactly 2 images" in w.prompt.problem.text() and "you gave 4" in w.prompt.problem.text()
    assert "you gave 4" in w.images.hint.text()
    assert paid_requests(studio) == [] and w.model.rowCount() == 0


def test_empty_prompt(studio: Studio):
    w = studio.window
    studio.generate()
    studio.qtbot.waitUntil(lambda: not w.prompt.problem.isHidden(), timeout=3000)
    assert "Write a prompt" in w.prompt.problem.text()
    assert paid_requests(studio) == [] and w.model.rowCount() == 0


def test_runway_10s_1080p_is_disabled(studio: Studio):
    w = studio.window
    w.prompt.select_provider(ProviderKind.RUNWAY)
    w.prompt.duration.setCurrentIndex(w.prompt.duration.findData(10))
    q = w.prompt.quality
    assert not q.is_enabled_row(q.findData("1080p"))
    assert "10-second videos in 1080p" in q.itemData(q.findData("1080p"), Qt.ItemDataRole.ToolTipRole)
    assert "10-second videos in 1080p" in w.prompt.hint.text()
    q.select("1080p")  # selecting it programmatically still cannot pick a disabled item
    assert w.prompt.spec().quality == "720p"
    assert paid_requests(studio) == []


def test_wrong_key_says_so(qtbot, qloop, sim_factory, tmp_path):
    sim = sim_factory(speed=SPEED)
    studio = open_studio(qtbot, sim, tmp_path, key="not-the-right-key")
    try:
        w = studio.window
        w.refresh_credits()
        qtbot.waitUntil(lambda: "–" in w.credit_label.text(), timeout=5000)
        assert "not accepted" in w.credit_label.toolTip()
        w.prompt.prompt.setPlainText("a cat")
        studio.generate()
        job = studio.wait_new_job()
        final = studio.wait_final(job.id)
        assert final.state is JobState.FAILED
        assert "key was not accepted" in final.error_message
        assert sim.creates() == []  # refused, nothing created, nothing billed
    finally:
        close_studio(studio)


def test_no_credits(studio: Studio):
    studio.sim.credits = 0
    w = studio.window
    w.prompt.prompt.setPlainText("a cat")
    studio.generate()
    job = studio.wait_new_job()
    final = studio.wait_final(job.id)
    assert final.state is JobState.FAILED and "Not enough credits" in final.error_message
    assert studio.sim.creates() == []
    studio.qtbot.waitUntil(lambda: w.credit_label.text() == "Credits: 0", timeout=5000)


def test_rejected_prompt_shows_words_and_copyable_details(studio: Studio):
    w = studio.window
    w.prompt.prompt.setPlainText("a REJECT scene")
    studio.generate()
    job = studio.wait_new_job()
    final = studio.wait_final(job.id)
    assert final.state is JobState.FAILED
    assert "content filter" in final.error_message
    row = studio.row_job(job.id)
    assert row.state is JobState.FAILED
    menu = w.tasks.build_menu(row)
    act = next(a for a in menu.actions() if a.objectName() == "actCopyError")
    act.trigger()
    text = QGuiApplication.clipboard().text()
    assert final.task_id in text and "flagged" in text.lower()


def test_simulator_stops_mid_task_then_comes_back(studio: Studio):
    """The provider goes away while a paid task runs: the row says it is a network problem and
    keeps trying; nothing fails, nothing is re-sent; when it is back the video arrives."""
    w = studio.window
    sim = studio.sim
    w.prompt.prompt.setPlainText("a long take of a quiet street")
    studio.generate()
    job = studio.wait_new_job()
    studio.qtbot.waitUntil(lambda: studio.service.get(job.id).task_id is not None, timeout=5000)
    sim.stop()  # connections refused from now on; the task keeps running on the provider's side
    try:
        studio.qtbot.waitUntil(
            lambda: bool(studio.service.get(job.id).extra.get("last_error")), timeout=10000
        )
        row = studio.row_job(job.id)
        assert row is not None and not row.is_final and row.state is not JobState.FAILED
        note, warning = status_note(row)
        assert warning and "network connection" in note and "Still trying" in note
        # What the list paints for the row: the same words.
        idx = w.tasks.proxy.mapFromSource(w.model.index_of(job.id))
        assert "network connection" in idx.data(Qt.ItemDataRole.AccessibleTextRole)
        studio.qtbot.wait(300)  # polling goes on while the provider is away, and nothing fails
        assert not studio.service.get(job.id).is_final
    finally:
        sim.start()  # back on the same port, with the same task
    final = studio.wait_final(job.id, timeout=30000)
    assert final.state is JobState.DONE, final.error_message
    assert final.file_path and Path(final.file_path).is_file() and Path(final.file_path).stat().st_size > 0
    assert "last_error" not in final.extra
    assert len(sim.creates()) == 1  # never re-sent
    studio.qtbot.waitUntil(lambda: studio.row_job(job.id).state is JobState.DONE, timeout=3000)


def test_retry_from_the_menu_asks_then_sends_one_new_create(studio: Studio):
    """A failed task's "Retry as a new task": cancelled, nothing is sent; confirmed (clicked twice
    while it asks), exactly one new paid request and one new row."""
    w = studio.window
    w.prompt.prompt.setPlainText("a REJECT scene")
    studio.generate()
    job = studio.wait_new_job()
    assert studio.wait_final(job.id).state is JobState.FAILED
    assert len(paid_requests(studio)) == 1

    def retry_action():
        menu = w.tasks.build_menu(studio.row_job(job.id))
        return next(a for a in menu.actions() if a.objectName() == "actRetry")

    retry_action().trigger()
    box = studio.answer(accept=False)
    assert "NEW paid request" in box.informativeText()
    studio.qtbot.waitUntil(lambda: job.id not in w.tasks._busy_jobs, timeout=3000)
    assert len(paid_requests(studio)) == 1 and w.model.rowCount() == 1

    act = retry_action()
    act.trigger()
    act.trigger()  # ignored while the first asks
    studio.answer(accept=True)
    studio.qtbot.waitUntil(lambda: w.model.rowCount() == 2, timeout=5000)
    new = next(j for j in studio.service.jobs() if j.id != job.id)
    assert new.spec.prompt == "a REJECT scene"
    studio.wait_final(new.id)
    assert len(paid_requests(studio)) == 2
    assert w.model.rowCount() == 2


def test_no_key_for_the_provider_says_where_to_set_it_and_sends_nothing(studio: Studio):
    """No key stored (the user skipped Settings): Generate explains it under the prompt and in the
    status bar; no row is added, nothing is written, nothing reaches the provider."""
    from kievideo.ui.wiring import KeyCache

    studio.service.registry._keys = KeyCache()  # an empty keyring
    w = studio.window
    w.prompt.prompt.setPlainText("a kite on a windy beach")
    studio.generate()
    studio.qtbot.waitUntil(lambda: not w.prompt.problem.isHidden(), timeout=3000)
    assert "No API key is set" in w.prompt.problem.text() and "Settings" in w.prompt.problem.text()
    assert "No API key is set" in w.statusBar().currentMessage()
    assert w.model.rowCount() == 0 and studio.service.jobs() == []
    assert studio.store.list(limit=10) == []
    assert paid_requests(studio) == []
    assert w.prompt.prompt.toPlainText() == "a kite on a windy beach"  # nothing lost
