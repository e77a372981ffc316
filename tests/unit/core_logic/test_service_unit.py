"""Small pure pieces of core.service (the pipeline itself is tested against the simulator)."""

from __future__ import annotations

import os

import pytest

from kievideo.api.models import ProviderKind, TaskState, TaskView
from kievideo.core.service import MESSAGES, _pid_alive, humanize_failure


def view(code: int | None, text: str | None) -> TaskView:
    return TaskView(
        ProviderKind.VEO, "t", TaskState.FAILED, "successFlag=2", error_code=code, error_message=text
    )


@pytest.mark.parametrize(
    ("code", "text", "key"),
    [
        (400, "Your prompt was flagged by Website as violating content policies.", "content"),
        (400, "Only English prompts are supported at this time.", "english"),
        (400, "Failed to fetch the image. Kindly verify any access limits", "image_fetch"),
        (400, "Your prompt was caught by our AI moderator.", "content"),
        (None, "your request contains unsafe prompt or images ... rejected by google", "content"),
        (501, "Video generation task failed.", "generation_failed"),
        (500, "Internal Error - Timeout", "server"),
        (None, None, "failed"),
    ],
)
def test_failures_become_actionable_messages(code: int | None, text: str | None, key: str) -> None:
    assert humanize_failure(view(code, text)) == MESSAGES[key]


def test_pid_alive() -> None:
    assert _pid_alive(os.getpid())
    assert not _pid_alive(999_999_999)
    assert not _pid_alive(0)
