"""Lenient readers for provider JSON, shared by every client.

The doc versions disagree on types (times as strings, seconds or milliseconds; URL lists as
arrays, strings or the string ``'[http://...]'``; ``msg`` or ``message``), so optional fields are
read leniently and never crash. Fields a result cannot do without are read with ``require_*``,
which raise :class:`MalformedResponseError` (retryable for reads).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kievideo.api.errors import AmbiguousSubmitError, MalformedResponseError
from kievideo.api.http import Envelope

# Epoch numbers above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973.
_MS_THRESHOLD = 1e11

_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d")


def as_int(value: object) -> int | None:
    """An int from an int, an integral float or a digit string; None otherwise (bools excluded)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
    return None


def as_str(value: object) -> str | None:
    """A non-empty string (stripped), or None; numbers become their text (ids are sometimes ints)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        return text or None
    return None


def as_dict(value: object) -> Mapping[str, Any]:
    """The mapping, or an empty one for null/wrong types (optional sub-objects)."""
    return value if isinstance(value, Mapping) else {}


def first_str(obj: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` holding a non-empty string or a number (as text)."""
    for key in keys:
        val = as_str(obj.get(key))
        if val is not None:
            return val
    return None


def first_text(obj: Mapping[str, Any], *keys: str) -> str | None:
    """Like :func:`first_str` but only real strings: a status word must not be a number."""
    for key in keys:
        val = obj.get(key)
        if isinstance(val, str) and val.strip():
            return val.strip()
    return None


def message_of(obj: Mapping[str, Any]) -> str:
    """``msg`` or ``message`` (docs use both)."""
    return first_str(obj, "msg", "message") or ""


def parse_time(value: object) -> datetime | None:
    """A timezone-aware datetime from epoch seconds/ms (number or digit string) or a date string.

    Date strings without a zone (``"2025-06-06 10:30:00"``) are taken as UTC: the docs do not
    say which zone they mean. Unparseable values give None; times are never required.
    """
    if isinstance(value, bool) or value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if re.fullmatch(r"\d+(\.\d+)?", text):
            number = float(text)
        else:
            return _parse_date_string(text)
    else:
        return None
    if number <= 0:
        return None
    if number > _MS_THRESHOLD:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_date_string(text: str) -> datetime | None:
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
        for fmt in _NAIVE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def url_list(value: object) -> tuple[str, ...]:
    """URLs from an array, a single string, a JSON-array string or the bogus ``'[http://a.mp4]'``."""
    if value is None or isinstance(value, bool):
        return ()
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            out.extend(url_list(item) if isinstance(item, list | tuple) else _one_url(item))
        return tuple(out)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        if text.startswith("[") and text.endswith("]"):
            try:
                decoded = json.loads(text)
            except ValueError:
                # The OpenAPI example '[http://example.com/video1.mp4]': brackets, no quotes.
                parts = [p.strip().strip("'\"").strip() for p in text[1:-1].split(",")]
                return tuple(p for p in parts if p)
            return url_list(decoded) if isinstance(decoded, list) else ()
        return (text,)
    return ()


def _one_url(item: object) -> tuple[str, ...]:
    text = as_str(item) if isinstance(item, str) else None
    return (text,) if text else ()


def require_dict(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        kind = "null" if value is None else type(value).__name__
        raise MalformedResponseError(
            f"The provider's answer has no {what} (got {kind}).", provider_message=f"{what}: {kind}"
        )
    return value


def require_str(obj: Mapping[str, Any], *keys: str, what: str | None = None) -> str:
    """The first of ``keys`` holding a non-empty string; otherwise MalformedResponseError."""
    val = first_text(obj, *keys)
    if val is None:
        name = what or "/".join(keys)
        raise MalformedResponseError(
            f"The provider's answer is missing {name}.", provider_message=f"missing {name}"
        )
    return val


def require_int(obj: Mapping[str, Any], key: str) -> int:
    val = as_int(obj.get(key))
    if val is None:
        raise MalformedResponseError(
            f"The provider's answer has no usable {key} (got {obj.get(key)!r}).",
            provider_message=f"{key}: {obj.get(key)!r}",
        )
    return val


def task_id_from_create(envelope: Envelope) -> str:
    """``data.taskId`` of a create answer; without one the task may exist but we cannot track it.

    Raises :class:`AmbiguousSubmitError`, never a retryable error: the create must not be sent
    again automatically.
    """
    data = envelope.data
    task_id = first_str(data, "taskId", "task_id", "id") if isinstance(data, Mapping) else None
    if task_id is None:
        raise AmbiguousSubmitError(
            "The provider accepted the request but sent no task id. It may have been submitted "
            "(and billed): check your provider's task logs before trying again.",
            code=envelope.code,
            http_status=envelope.http_status,
            provider_message=f"create answer without a task id: data={_short(data)}",
        )
    return task_id


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
