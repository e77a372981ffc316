"""Lenient parsing helpers: times, URL lists, ints, messages; required fields raise Malformed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kievideo.api import errors
from kievideo.api.parsing import (
    as_int,
    message_of,
    parse_time,
    require_dict,
    require_int,
    require_str,
    url_list,
)

T = datetime(2025, 6, 6, 10, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-06 10:30:00", T),
        ("2025-06-06T10:30:00Z", T),
        ("2025-06-06T10:30:00.000Z", T),
        ("2025-06-06T18:30:00+08:00", T),
        ("2025/06/06 10:30:00", T),
        (T.timestamp(), T),
        (int(T.timestamp()), T),
        (int(T.timestamp() * 1000), T),
        (str(int(T.timestamp() * 1000)), T),
        (str(int(T.timestamp())), T),
        (None, None),
        ("", None),
        ("yesterday", None),
        (True, None),
        (0, None),
        (-5, None),
        ([], None),
        (1e30, None),
    ],
)
def test_parse_time(value: Any, expected: datetime | None) -> None:
    got = parse_time(value)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None


def test_parse_time_iso_2023_example() -> None:
    assert parse_time("2023-08-15T14:30:45Z") == datetime(2023, 8, 15, 14, 30, 45, tzinfo=UTC)
    assert parse_time("2023-08-15T22:30:45+08:00") == datetime(2023, 8, 15, 14, 30, 45, tzinfo=UTC)
    assert parse_time("2023-08-15T22:30:45+08:00").utcoffset() == timedelta(hours=8)  # type: ignore[union-attr]
    assert UTC == UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["http://example.com/video1.mp4"], ("http://example.com/video1.mp4",)),
        (["a", "", None, 5, "b"], ("a", "b")),
        ("http://example.com/video1.mp4", ("http://example.com/video1.mp4",)),
        ("[http://example.com/video1.mp4]", ("http://example.com/video1.mp4",)),
        ("[http://e.com/1.mp4, http://e.com/2.mp4]", ("http://e.com/1.mp4", "http://e.com/2.mp4")),
        ('["http://e.com/1.mp4","http://e.com/2.mp4"]', ("http://e.com/1.mp4", "http://e.com/2.mp4")),
        ("['http://e.com/1.mp4']", ("http://e.com/1.mp4",)),
        ("[]", ()),
        ("", ()),
        (None, ()),
        ({"url": "x"}, ()),
        (True, ()),
        ([["nested"]], ("nested",)),
    ],
)
def test_url_list(value: Any, expected: tuple[str, ...]) -> None:
    assert url_list(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (400, 400),
        ("400", 400),
        (" 7 ", 7),
        (3.0, 3),
        (3.5, None),
        ("", None),
        (None, None),
        (True, None),
        ("4x", None),
    ],
)
def test_as_int(value: Any, expected: int | None) -> None:
    assert as_int(value) == expected


def test_message_of() -> None:
    assert message_of({"msg": "a"}) == "a"
    assert message_of({"message": "b"}) == "b"
    assert message_of({"msg": "", "message": "c"}) == "c"
    assert message_of({}) == ""


def test_required_fields() -> None:
    with pytest.raises(errors.MalformedResponseError):
        require_dict(None, "data")
    with pytest.raises(errors.MalformedResponseError):
        require_int({"successFlag": "x"}, "successFlag")
    with pytest.raises(errors.MalformedResponseError):
        require_str({"state": 1}, "state")
    assert require_str({"a": None, "b": " x "}, "a", "b") == "x"
