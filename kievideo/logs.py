"""Logging for kievideo: a rotating log file, secret redaction and crash hooks. Qt-free.

The GUI, the CLI and the simulator all call :func:`setup_logging` once at start-up::

    from kievideo import logs
    log_file = logs.setup_logging(logs.log_dir_for(paths), debug=args.debug)
    logs.register_secret(key_from_keyring)        # as soon as the key is read
    logs.install_excepthook(show=window.show_crash)  # GUI; CLI passes None
    logs.install_asyncio_handler(loop)

Redaction policy (documented, tested in ``tests/unit/test_logs.py``):

* Every handler installed here carries a :class:`RedactingFilter` and a :class:`RedactingFormatter`, so
  the message, the arguments, exception messages, tracebacks (``exc_text``) and ``stack_info`` all pass
  through :func:`redact` before a byte reaches the file or the console.
* A secret is replaced by ``***`` and **nothing of it is kept** (no prefix, no last characters): a
  partial key is still a leak when keys are short or structured, and a support log never needs it.
* What is masked:

  - every exact value registered with :func:`register_secret` (and its URL-encoded form), anywhere in
    the text; values shorter than :data:`MIN_SECRET_LENGTH` characters are ignored because they would
    mask ordinary words and cannot be real API keys;
  - ``Authorization: <scheme> <credentials>`` and any ``Bearer <token>``;
  - ``name=value`` and ``name: value`` for the names api_key / apikey / api-key / x-api-key / token /
    access_token / refresh_token / secret / client_secret / password (query strings, kwargs, headers);
  - ``key=value`` (query strings such as ``?key=...``), but not ``key: value`` prose;
  - quoted mappings such as JSON ``"key": "..."`` or a Python repr ``{'api_key': '...'}`` for all the
    names above (``"job_key"`` and other names that merely end in ``key`` are left alone).

Redaction is a safety net, not a licence: code must still not log keys on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import os
import platform
import re
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from kievideo import __version__

__all__ = [
    "LOG_FILE_NAME",
    "MASK",
    "MIN_SECRET_LENGTH",
    "RedactingFilter",
    "RedactingFormatter",
    "current_log_file",
    "forget_secrets",
    "install_asyncio_handler",
    "install_excepthook",
    "log_dir_for",
    "redact",
    "register_secret",
    "setup_logging",
    "teardown_logging",
]

LOG_FILE_NAME = "kievideo.log"
MASK = "***"
MIN_SECRET_LENGTH = 4
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_BACKUP_COUNT = 5
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"
CRASH_LOGGER = "kievideo.crash"

ShowFn = Callable[[str], None]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# --------------------------------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------------------------------

_secrets_lock = threading.Lock()
_secrets: set[str] = set()
_secrets_re: re.Pattern[str] | None = None

# Names whose value is a credential in name=value, name: value and quoted-mapping forms.
_NAMES = (
    r"(?:x-)?api[_-]?key|apikey|(?:access|refresh|id|auth)[_-]?token|token|"
    r"(?:client[_-]?)?secret|password|passwd"
)
# Value characters for unquoted forms: stop at whitespace, quotes and common delimiters.
_VALUE = r"[^\s\"'&,;)}\]<>]+"

_AUTH_RE = re.compile(
    r"(?P<head>\bauthorization[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?P<scheme>bearer|basic|token|digest|apikey)\s+)?"
    r"(?P<val>[^\s\"',;)}\]]+)",
    re.IGNORECASE,
)
# RFC 6750 token68 characters; a trailing "." is punctuation, not part of the token.
_BEARER_RE = re.compile(
    r"(?P<head>\bbearer\s+)(?P<val>[A-Za-z0-9\-._~+/]*[A-Za-z0-9\-_~+/]=*)", re.IGNORECASE
)
_QUOTED_RE = re.compile(
    r"(?P<head>(?P<q1>[\"'])(?:key|" + _NAMES + r")(?P=q1)\s*:\s*(?P<q2>[\"']))"
    r"(?P<val>(?:\\.|(?!(?P=q2)).)+)(?P=q2)",
    re.IGNORECASE,
)
_NAMED_RE = re.compile(
    r"(?P<head>\b(?:" + _NAMES + r")\s*[:=]\s*[\"']?)(?P<val>" + _VALUE + ")",
    re.IGNORECASE,
)
_KEY_EQ_RE = re.compile(r"(?P<head>\bkey\s*=\s*[\"']?)(?P<val>" + _VALUE + ")", re.IGNORECASE)


def _mask_val(m: re.Match[str]) -> str:
    """Keep the matched ``head`` (and an auth scheme), replace the value with :data:`MASK`."""
    val = m.group("val")
    if val == MASK or val.startswith(MASK):
        return m.group(0)  # already redacted: keep redaction idempotent
    head = m.group("head")
    scheme = m.groupdict().get("scheme")
    tail = m.group(0)[m.end("val") - m.start(0) :]
    return f"{head}{scheme + ' ' if scheme else ''}{MASK}{tail}"


def register_secret(value: str | None) -> None:
    """Mask every later occurrence of ``value`` (and its URL-encoded form) in all log output.

    The app calls this as soon as it reads a key from the keyring or the settings dialog. ``None``,
    empty values and values shorter than :data:`MIN_SECRET_LENGTH` are ignored.
    """
    global _secrets_re
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    variants = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe="")}
    with _secrets_lock:
        _secrets.update(v for v in variants if len(v) >= MIN_SECRET_LENGTH)
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
        _secrets_re = re.compile("|".join(re.escape(s) for s in ordered))


def forget_secrets() -> None:
    """Drop every registered secret (tests, or after the user deletes the key)."""
    global _secrets_re
    with _secrets_lock:
        _secrets.clear()
        _secrets_re = None


def redact(text: str) -> str:
    """Return ``text`` with registered secrets and credential-looking values replaced by ``***``."""
    if not text:
        return text
    pattern = _secrets_re  # read once: register_secret swaps it atomically
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _AUTH_RE.sub(_mask_val, text)
    text = _BEARER_RE.sub(_mask_val, text)
    text = _QUOTED_RE.sub(_mask_val, text)
    text = _NAMED_RE.sub(_mask_val, text)
    return _KEY_EQ_RE.sub(_mask_val, text)


class RedactingFormatter(logging.Formatter):
    """A Formatter whose whole output, including tracebacks and stack info, is passed through :func:`redact`.

    ``formatException`` is redacted too, so the ``exc_text`` that ``logging.Formatter.format`` caches
    on the record (and other handlers reuse) never holds a secret.
    """

    default_msec_format = "%s.%03d"

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


_EXC_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record so its message, traceback and stack are redacted.

    It formats ``msg % args`` once, redacts it and stores the result with empty ``args`` (only when
    something was masked, so clean records keep their structure), and fills ``exc_text`` with a
    redacted traceback so any formatter, even a plain ``logging.Formatter``, prints the safe text.
    It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        clean = redact(message)
        if clean != message:
            record.msg = clean
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(_EXC_FORMATTER.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# --------------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------------

_installed_handlers: list[logging.Handler] = []
_log_file: Path | None = None


def log_dir_for(paths: object | None = None) -> Path:
    """The folder for log files.

    * an object with a ``log_dir`` attribute (:class:`kievideo.core.paths.AppPaths`) → that folder;
    * a :class:`~pathlib.Path` or ``str`` (a ``--data-dir`` override) → ``<data-dir>/logs``;
    * ``None`` → ``AppPaths.resolve().log_dir``: ``$KIEVIDEO_DATA_DIR/logs`` if that is set, else
      platformdirs' per-user log folder: ``~/.local/state/kievideo/log`` on Linux,
      ``%LOCALAPPDATA%\\kievideo\\Logs`` on Windows, ``~/Library/Logs/kievideo`` on macOS.
    """
    from kievideo.core.paths import AppPaths

    if paths is None:
        return AppPaths.resolve().log_dir
    if isinstance(paths, (str, os.PathLike)):
        return AppPaths.under(paths).log_dir
    log_dir = getattr(paths, "log_dir", None)
    if log_dir is None:
        raise TypeError(f"log_dir_for() needs a path or an object with .log_dir, not {type(paths).__name__}")
    return Path(log_dir)


def current_log_file() -> Path | None:
    """The file :func:`setup_logging` writes to, or ``None`` before set-up (the crash dialog links it)."""
    return _log_file


def setup_logging(
    log_dir: Path,
    *,
    debug: bool = False,
    console: bool = False,
    file_name: str = LOG_FILE_NAME,
    max_bytes: int = DEFAULT_MAX_BYTES,
    backup_count: int = DEFAULT_BACKUP_COUNT,
) -> Path:
    """Configure the root logger and return the path of the log file.

    Writes ``log_dir/file_name`` (created with its parents; the file is made owner-only on POSIX)
    through a :class:`~logging.handlers.RotatingFileHandler` (``max_bytes`` x ``backup_count``, UTF-8),
    plus a stderr handler when ``console`` is true. Level is DEBUG with ``debug`` else INFO. Every
    handler gets a :class:`RedactingFilter` and a :class:`RedactingFormatter`; ``warnings`` are routed
    into the log. Calling it again replaces the handlers it installed before (it is idempotent), and
    :func:`teardown_logging` removes them. A second process (the CLI next to the GUI) should pass its
    own ``file_name`` (e.g. ``kievideo-cli.log``): two processes must not rotate one file.
    """
    global _log_file
    teardown_logging()
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / file_name
    formatter = RedactingFormatter(LOG_FORMAT)
    redactor = RedactingFilter()

    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
    )
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)  # prompts and file names are the user's business
    handlers: list[logging.Handler] = [file_handler]
    if console and sys.stderr is not None:  # a windowed Windows/macOS bundle has no stderr at all
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        handler.set_name(f"kievideo:{type(handler).__name__}")
        root.addHandler(handler)
        _installed_handlers.append(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if not debug:
        # Per-request chatter of the HTTP stack stays out of normal logs (it is redacted anyway).
        for noisy in ("httpcore", "hpack", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    _log_file = path
    logging.getLogger("kievideo").info(
        "kievideo %s starting; Python %s on %s; pid %d; log %s",
        __version__,
        platform.python_version(),
        platform.platform(terse=True),
        os.getpid(),
        path,
    )
    return path


def teardown_logging() -> None:
    """Remove and close the handlers :func:`setup_logging` installed (tests; the app's last step)."""
    global _log_file
    root = logging.getLogger()
    while _installed_handlers:
        handler = _installed_handlers.pop()
        root.removeHandler(handler)
        handler.close()
    logging.captureWarnings(False)
    _log_file = None


# --------------------------------------------------------------------------------------------------
# Crash hooks
# --------------------------------------------------------------------------------------------------

_show: ShowFn | None = None
_repeat_interval = 2.0
_last_shown: dict[str, float] = {}
_hook_lock = threading.Lock()
_in_hook = threading.local()


def _summary(exc: BaseException) -> str:
    """One short, redacted line for a dialog: ``TypeName: message`` (at most 500 characters)."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = redact(text)
    return text if len(text) <= 500 else text[:497] + "..."


def _console_logging() -> bool:
    """True when a handler installed by :func:`setup_logging` already prints to the console."""
    return any(
        isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
        for h in _installed_handlers
    )


def _report(exc_info: ExcInfo, where: str) -> None:
    """Log one uncaught exception and hand a summary to ``show`` (or stderr when there is no UI)."""
    if getattr(_in_hook, "active", False):  # the hook itself failed: never recurse
        return
    _in_hook.active = True
    try:
        exc = exc_info[1]
        logging.getLogger(CRASH_LOGGER).critical("Uncaught exception in %s", where, exc_info=exc_info)
        summary = _summary(exc)
        show = _show
        if show is None:
            if not _console_logging() and sys.stderr is not None:
                sys.stderr.write(redact("".join(traceback.format_exception(*exc_info))))
            return
        now = time.monotonic()
        with _hook_lock:
            last = _last_shown.get(summary)
            if last is not None and now - last < _repeat_interval:
                return  # an exception storm (say, in a paint event) opens one dialog, not hundreds
            _last_shown[summary] = now
        try:
            show(summary)
        except Exception:
            logging.getLogger(CRASH_LOGGER).exception("The crash reporter's show() failed")
    finally:
        _in_hook.active = False


_prev_sys_hook: Callable[[type[BaseException], BaseException, TracebackType | None], Any] | None = None
_prev_thread_hook: Callable[[threading.ExceptHookArgs], Any] | None = None


def _sys_hook(tp: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(tp, KeyboardInterrupt):  # Ctrl-C keeps its normal behaviour
        sys.__excepthook__(tp, value, tb)
        return
    _report((tp, value, tb), "the main thread")


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    _report((args.exc_type, args.exc_value, args.exc_traceback), f"thread {name!r}")


def install_excepthook(show: ShowFn | None = None, *, repeat_interval: float = 2.0) -> Callable[[], None]:
    """Log uncaught exceptions (``sys.excepthook`` and ``threading.excepthook``) instead of dying.

    Each one is logged with its redacted traceback at CRITICAL on the ``kievideo.crash`` logger; then
    ``show(summary)`` is called with one redacted line (``TypeName: message``). The GUI passes a
    function that opens a non-modal dialog. **show may be called from any thread** (a worker thread's
    exception arrives on that thread): the GUI must marshal it to the GUI thread, e.g. by emitting a
    Qt signal. The same summary is shown at most once per ``repeat_interval`` seconds (it is always
    logged). With ``show=None`` (the CLI) the redacted traceback goes to stderr, unless a console
    handler already prints it. ``KeyboardInterrupt`` keeps Python's default behaviour.

    Returns a function that restores the previous hooks (tests). qasync's ``@asyncSlot`` reports
    through ``sys.excepthook``, so it is covered; asyncio's own handler needs
    :func:`install_asyncio_handler`.
    """
    global _show, _repeat_interval, _prev_sys_hook, _prev_thread_hook
    _show = show
    _repeat_interval = repeat_interval
    _last_shown.clear()
    prev_sys, prev_thread = sys.excepthook, threading.excepthook
    if prev_sys is not _sys_hook:
        _prev_sys_hook = prev_sys
    if prev_thread is not _thread_hook:
        _prev_thread_hook = prev_thread
    sys.excepthook = _sys_hook
    threading.excepthook = _thread_hook

    def uninstall() -> None:
        global _show
        sys.excepthook = _prev_sys_hook or sys.__excepthook__
        threading.excepthook = _prev_thread_hook or threading.__excepthook__
        _show = None

    return uninstall


def install_asyncio_handler(loop: asyncio.AbstractEventLoop) -> None:
    """Route ``loop``'s unhandled errors ("Task exception was never retrieved", callback errors) here.

    An error with an exception is logged with its traceback and shown like an uncaught exception
    (through the ``show`` given to :func:`install_excepthook`); ``CancelledError`` is ignored; a
    context without an exception (a warning-like message) is only logged, at WARNING.
    """

    def handler(_loop: asyncio.AbstractEventLoop, context: Mapping[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message") or "Unhandled error in the event loop")
        if isinstance(exc, asyncio.CancelledError):
            return
        if isinstance(exc, BaseException):
            where = f"the asyncio loop ({message})"
            _report((type(exc), exc, exc.__traceback__), where)
        else:
            details = {k: v for k, v in context.items() if k != "message"}
            logging.getLogger(CRASH_LOGGER).warning("%s %r", message, details)

    loop.set_exception_handler(handler)
