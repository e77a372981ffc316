"""End to end through the real stack: the window, TaskService, SQLite under tmp_path, the
simulator over loopback, real MP4 files decoded by QMediaPlayer."""

from __future__ import annotations

from pathlib import Path

import pytest
from studio import SPEED, Studio, close_studio, open_studio
from test_panels import drop_files

from kievideo.api.models import ProviderKind
from kievideo.core.jobs import JobState, Mode


@pytest.fixture
def studio(qtbot, qloop, sim_factory, tmp_path):
    sim = sim_factory(speed=SPEED, credits=100_000)
    s = open_studio(qtbot, sim, tmp_path)
    yield s
    close_studio(s)


def test_frames_flow_drop_generate_play(studio: Studio, image_files):
    w = studio.window
    drop_files(w.images, image_files)
    studio.qtbot.waitUntil(lambda: w.images.count() == 2, timeout=3000)
    assert w.prompt.spec().mode is Mode.FRAMES  # two images dropped in text mode -> first/last
    assert [w.images.model.index(i).data() for i in range(2)] == ["First", "Last"]
    w.prompt.prompt.setPlainText("the sun sets over the sea")
    studio.generate()
    job = studio.wait_new_job()
    assert job.spec.mode is Mode.FRAMES and [Path(p).name for p in job.spec.images] == [
        "first.png",
        "last.png",
    ]
    final = studio.wait_final(job.id)
    assert final.state is JobState.DONE, final.error_message
    assert Path(final.file_path).is_file()
    assert studio.row_job(job.id).state is JobState.DONE
    creates = studio.sim.creates()
    assert len(creates) == 1 and creates[0].route == "veo.generate"
    duration, frames = studio.play_row(job.id)
    assert abs(duration - 2000) <= 100
    assert len(frames) > 10


CASES = [
    # (id, provider, profile, model, mode, n_images)
    ("veo-text", ProviderKind.VEO, "kie", "veo3_fast", Mode.TEXT, 0),
    ("veo-image", ProviderKind.VEO, "kie", "veo3_fast", Mode.IMAGE, 1),
    ("veo-reference", ProviderKind.VEO, "kie", "veo3_fast", Mode.REFERENCE, 2),
    ("runway-text", ProviderKind.RUNWAY, "kie", "runway", Mode.TEXT, 0),
    ("runway-image", ProviderKind.RUNWAY, "kie", "runway", Mode.IMAGE, 1),
    ("unified-text", ProviderKind.UNIFIED, "unified", "veo3.1-fast", Mode.TEXT, 0),
]


@pytest.mark.parametrize(
    ("provider", "profile", "model", "mode", "n_images"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_provider_mode_generates_and_plays(
    studio: Studio, image_files, provider, profile, model, mode, n_images
):
    w = studio.window
    assert w.prompt.select_provider(provider, profile)
    w.prompt.model_combo.setCurrentIndex(w.prompt.model_combo.findData(model))
    assert w.prompt.set_mode(mode)
    if n_images:
        drop_files(w.images, image_files[:n_images])
        studio.qtbot.waitUntil(lambda: w.images.count() == n_images, timeout=3000)
    w.prompt.prompt.setPlainText(f"{provider.value} {mode.value}: a paper boat on a river")
    studio.generate()
    job = studio.wait_new_job()
    assert (job.spec.provider, job.spec.profile, job.spec.model, job.spec.mode) == (
        provider,
        profile,
        model,
        mode,
    )
    assert len(job.spec.images) == n_images
    final = studio.wait_final(job.id)
    assert final.state is JobState.DONE, final.error_message
    assert Path(final.file_path).is_file()
    assert len(studio.sim.creates()) == 1
    duration, frames = studio.play_row(job.id)
    assert duration >= 1900 and frames


def test_aleph_video_to_video(studio: Studio):
    from kievideo.core.jobs import JobSpec

    # Aleph needs a reachable source video: the result of a first (Veo) task on the simulator.
    svc = studio.service
    first = svc.submit(JobSpec(provider=ProviderKind.VEO, model="veo3_fast", prompt="source clip"))
    source = studio.wait_final(first.id)
    assert source.state is JobState.DONE and source.result_urls
    w = studio.window
    assert w.prompt.select_provider(ProviderKind.ALEPH)
    assert w.prompt.spec().mode is Mode.VIDEO and not w.prompt.video_url.isHidden()
    w.prompt.video_url.setText(source.result_urls[0])
    w.prompt.prompt.setPlainText("make it winter")
    studio.generate()
    studio.qtbot.waitUntil(lambda: w.model.rowCount() == 2, timeout=5000)
    job = w.model.job_at(0)
    assert job.spec.provider is ProviderKind.ALEPH and job.spec.video_url == source.result_urls[0]
    final = studio.wait_final(job.id)
    assert final.state is JobState.DONE, final.error_message
    duration, frames = studio.play_row(job.id)
    assert duration >= 1900 and frames
