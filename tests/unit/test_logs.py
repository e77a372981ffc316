"""kievideo.logs: rotating log file, secret redaction (messages, exceptions, tracebacks) and crash hooks."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kievideo import logs

KEY = "kie-5f3a9c0d7e1b4a2f8c6d0e9b1a7f3c55"  # looks like a real key: 32 hex chars behind a prefix
OTHER = "s3cr3t-Registered-Value-91"


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    """Every test starts and ends with no kievideo handlers, no secrets and the original hooks."""
    root = logging.getLogger()
    level = root.level
    sys_hook, thread_hook = sys.excepthook, threading.excepthook
    logs.teardown_logging()
    logs.forget_secrets()
    yield
    logs.teardown_logging()
    logs.forget_secrets()
    root.setLevel(level)
    sys.excepthook, threading.excepthook = sys_hook, thread_hook


def _all_log_text(log_dir: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(log_dir.glob("kievideo.log*")))


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


# ---------------------------------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------------------------------


def test_setup_writes_the_log_file_with_time_level_and_logger(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path / "deep" / "logs")
    assert path == tmp_path / "deep" / "logs" / "kievideo.log"
    assert logs.current_log_file() == path
    logging.getLogger("kievideo.test").warning("hello %s", "world")
    _flush()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert "kievideo 0.1.0 starting" in lines[0]
    last = lines[-1]
    assert last.endswith("hello world")
    assert " WARNING " in last and " kievideo.test " in last
    assert last[:4].isdigit() and last[4] == "-" and "." in last[:24]  # 2026-11-21 21:27:00.123
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600


def test_log_file_rotates_and_keeps_backup_count(tmp_path: Path) -> None:
    logs.setup_logging(tmp_path, max_bytes=4_000, backup_count=3)
    log = logging.getLogger("kievideo.rotate")
    for i in range(400):
        log.info("line %04d %s", i, "x" * 60)
    _flush()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["kievideo.log", "kievideo.log.1", "kievideo.log.2", "kievideo.log.3"]
    assert all(p.stat().st_size <= 4_000 for p in tmp_path.iterdir())
    assert "line 0399" in (tmp_path / "kievideo.log").read_text(encoding="utf-8")


def test_setup_twice_does_not_duplicate_lines_and_debug_level(tmp_path: Path) -> None:
    logs.setup_logging(tmp_path)
    path = logs.setup_logging(tmp_path, debug=True)
    logging.getLogger("kievideo.x").debug("only once")
    _flush()
    assert path.read_text(encoding="utf-8").count("only once") == 1
    logs.teardown_logging()
    assert logs.current_log_file() is None
    assert not any(h.get_name().startswith("kievideo:") for h in logging.getLogger().handlers if h.get_name())


def test_console_handler_is_redacted_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup_logging(tmp_path, console=True)
    logging.getLogger("kievideo.console").error("Authorization: Bearer %s", KEY)
    err = capsys.readouterr().err
    assert "Authorization: Bearer ***" in err
    assert KEY not in err


# ---------------------------------------------------------------------------------------------------
# Redaction
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {KEY}", "Authorization: Bearer ***"),
        (f"sent bearer {KEY}.", "sent bearer ***."),
        (f"{{'authorization': 'Bearer {KEY}'}}", "{'authorization': 'Bearer ***'}"),
        (f"authorization=Basic {KEY}", "authorization=Basic ***"),
        (
            f"GET https://api.kie.ai/x?taskId=t1&key={KEY}&a=1",
            "GET https://api.kie.ai/x?taskId=t1&key=***&a=1",
        ),
        (f"client(api_key={KEY!r})", "client(api_key='***')"),
        (f"x-api-key: {KEY}", "x-api-key: ***"),
        (f'{{"key": "{KEY}", "job_key": "jk-1"}}', '{"key": "***", "job_key": "jk-1"}'),
        (f'{{"apiKey":"{KEY}"}}', '{"apiKey":"***"}'),
        (f"access_token={KEY} max_tokens=5", "access_token=*** max_tokens=5"),
        ("missing key: prompt", "missing key: prompt"),  # prose is left alone
        ("monkey=banana donkey_key=1", "monkey=banana donkey_key=1"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact_patterns(text: str, expected: str) -> None:
    assert logs.redact(text) == expected
    assert logs.redact(expected) == expected  # idempotent


def test_registered_secret_is_masked_anywhere_and_url_encoded() -> None:
    secret = "sk/live+Zq=42xyz"
    assert logs.redact(f"plain {secret} text") == f"plain {secret} text"
    logs.register_secret(secret)
    assert logs.redact(f"plain {secret} text") == "plain *** text"
    assert logs.redact("q=sk%2Flive%2BZq%3D42xyz&x=1") == "q=***&x=1"
    logs.register_secret(None)
    logs.register_secret("ab")  # too short to be a key: ignored, "ab" stays readable
    assert logs.redact("tab") == "tab"
    logs.forget_secrets()
    assert logs.redact(secret) == secret


def test_key_never_reaches_the_file_even_in_exceptions_and_tracebacks(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path, debug=True)
    log = logging.getLogger("kievideo.api")
    log.debug("request headers=%s", {"Authorization": f"Bearer {KEY}"})
    log.info("GET https://api.kie.ai/api/v1/veo/record-info?key=%s", KEY)

    def call_provider(api_key: str) -> None:
        raise RuntimeError(f"401 from provider: api_key={api_key} rejected; Authorization: Bearer {api_key}")

    try:
        try:
            call_provider(KEY)
        except RuntimeError as exc:
            raise ValueError(f'upload failed: {{"key": "{KEY}"}}') from exc
    except ValueError:
        log.exception("job failed with key=%s", KEY)
        log.error("again", exc_info=True, stack_info=True)
    _flush()
    text = path.read_text(encoding="utf-8")
    assert KEY not in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: 401 from provider: api_key=*** rejected; Authorization: Bearer ***" in text
    assert 'ValueError: upload failed: {"key": "***"}' in text
    assert "Stack (most recent call last)" in text
    assert "job failed with key=***" in text


def test_registered_secret_masked_in_message_exception_and_traceback(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path)
    logs.register_secret(OTHER)
    log = logging.getLogger("kievideo.core.secrets")
    log.warning("the keyring returned %s for profile kie", OTHER)  # no key= / Bearer context at all
    try:
        raise OSError(OTHER)
    except OSError:
        log.exception("keyring failure")
    _flush()
    text = path.read_text(encoding="utf-8")
    assert OTHER not in text
    assert "the keyring returned *** for profile kie" in text
    assert "OSError: ***" in text


def test_filter_alone_protects_a_plain_formatter_and_other_handlers(tmp_path: Path) -> None:
    """A handler the app adds itself (plain Formatter) is safe once it carries the filter."""
    logs.register_secret(OTHER)
    out = tmp_path / "plain.log"
    handler = logging.FileHandler(out, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(logs.RedactingFilter())
    log = logging.getLogger("kievideo.plain")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise KeyError(OTHER)
        except KeyError:
            log.exception("lookup %s", OTHER)
    finally:
        log.removeHandler(handler)
        log.propagate = True
        handler.close()
    text = out.read_text(encoding="utf-8")
    assert OTHER not in text
    assert "ERROR lookup ***" in text and "KeyError: '***'" in text


def test_log_dir_for(tmp_path: Path) -> None:
    class Paths:
        log_dir = tmp_path / "state" / "log"

    assert logs.log_dir_for(Paths()) == tmp_path / "state" / "log"
    assert logs.log_dir_for(tmp_path) == tmp_path / "logs"
    assert logs.log_dir_for(str(tmp_path)) == tmp_path / "logs"
    assert "kievideo" in str(logs.log_dir_for())
    with pytest.raises(TypeError):
        logs.log_dir_for(42)


# ---------------------------------------------------------------------------------------------------
# Crash hooks
# ---------------------------------------------------------------------------------------------------


def test_excepthook_logs_and_calls_show(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path)
    shown: list[str] = []
    uninstall = logs.install_excepthook(shown.append)
    assert sys.excepthook is not sys.__excepthook__
    try:
        raise RuntimeError(f"boom with api_key={KEY}")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())  # what Python / PySide6 / qasync do with an uncaught exception
    assert shown == ["RuntimeError: boom with api_key=***"]
    _flush()
    text = path.read_text(encoding="utf-8")
    assert "CRITICAL kievideo.crash" in text and "Uncaught exception in the main thread" in text
    assert "Traceback (most recent call last)" in text
    assert KEY not in text
    uninstall()
    assert sys.excepthook is not logs._sys_hook


def test_excepthook_same_error_storm_shows_once_but_logs_each(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path)
    shown: list[str] = []
    logs.install_excepthook(shown.append, repeat_interval=60)
    for _ in range(3):
        try:
            raise ZeroDivisionError("paint failed")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
    try:
        raise TypeError("different")
    except TypeError:
        sys.excepthook(*sys.exc_info())
    assert shown == ["ZeroDivisionError: paint failed", "TypeError: different"]
    _flush()
    assert path.read_text(encoding="utf-8").count("ZeroDivisionError: paint failed") == 3


def test_threading_excepthook_logs_and_calls_show(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path)
    shown: list[str] = []
    logs.install_excepthook(shown.append)

    def worker() -> None:
        raise LookupError(f"Bearer {KEY}")

    t = threading.Thread(target=worker, name="thumbnailer")
    t.start()
    t.join()
    assert shown == ["LookupError: Bearer ***"]
    _flush()
    text = path.read_text(encoding="utf-8")
    assert "Uncaught exception in thread 'thumbnailer'" in text
    assert KEY not in text


def test_asyncio_handler_logs_and_calls_show(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path)
    shown: list[str] = []
    logs.install_excepthook(shown.append)
    loop = asyncio.new_event_loop()
    try:
        logs.install_asyncio_handler(loop)

        def callback() -> None:
            raise ConnectionError(f"key={KEY}")

        async def main() -> None:
            loop.call_soon(callback)
            await asyncio.sleep(0.01)
            loop.call_exception_handler({"message": "Unclosed client session"})
            task = loop.create_task(asyncio.sleep(10))
            task.cancel()
            loop.call_exception_handler({"message": "cancelled", "exception": asyncio.CancelledError()})

        loop.run_until_complete(main())
    finally:
        loop.close()
    assert shown == ["ConnectionError: key=***"]
    _flush()
    text = path.read_text(encoding="utf-8")
    assert "Uncaught exception in the asyncio loop" in text
    assert "WARNING  kievideo.crash [MainThread] Unclosed client session" in text
    assert KEY not in text


def test_show_that_raises_is_logged_not_fatal(tmp_path: Path) -> None:
    path = logs.setup_logging(tmp_path)

    def bad_show(summary: str) -> None:
        raise RuntimeError("dialog broke")

    logs.install_excepthook(bad_show)
    try:
        raise ValueError("first")
    except ValueError:
        sys.excepthook(*sys.exc_info())  # must not raise
    _flush()
    assert "The crash reporter's show() failed" in path.read_text(encoding="utf-8")


def test_without_show_the_redacted_traceback_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.setup_logging(tmp_path)
    logs.install_excepthook(None)
    try:
        raise RuntimeError(f"Authorization: Bearer {KEY}")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    err = capsys.readouterr().err
    assert "RuntimeError: Authorization: Bearer ***" in err
    assert KEY not in err
