"""Where kievideo keeps its files.

By default the per-user folders of the OS (via platformdirs, so we do not hand-write the
XDG / macOS / Windows rules). ``--data-dir DIR`` (or the ``KIEVIDEO_DATA_DIR`` environment
variable) puts *everything* under one folder instead: handy for tests, portable installs and
keeping a demo separate from real work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "DATA_DIR_ENV", "DB_NAME", "AppPaths"]

APP_NAME = "kievideo"
DATA_DIR_ENV = "KIEVIDEO_DATA_DIR"
DB_NAME = "tasks.sqlite3"


@dataclass(frozen=True, slots=True)
class AppPaths:
    """The folders and files of one kievideo installation (or one ``--data-dir``)."""

    data_dir: Path  # the task database and other state that must survive
    library_dir: Path  # finished videos (the user's files: never deleted by the app unasked)
    log_dir: Path
    config_dir: Path  # settings (never secrets: the API key lives in the OS keyring)
    cache_dir: Path  # thumbnails and other things that can be rebuilt
    db_path: Path

    @classmethod
    def default(cls) -> AppPaths:
        """The OS's per-user folders. The library goes to the user's Videos folder, where a
        creator expects to find videos and where they outlive an uninstall."""
        data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        return cls(
            data_dir=data,
            library_dir=Path(platformdirs.user_videos_dir()) / APP_NAME,
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            db_path=data / DB_NAME,
        )

    @classmethod
    def under(cls, root: str | os.PathLike[str]) -> AppPaths:
        """Everything under one folder (``--data-dir``)."""
        base = Path(root).expanduser().absolute()
        return cls(
            data_dir=base,
            library_dir=base / "library",
            log_dir=base / "logs",
            config_dir=base / "config",
            cache_dir=base / "cache",
            db_path=base / DB_NAME,
        )

    @classmethod
    def resolve(
        cls, data_dir: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
    ) -> AppPaths:
        """``--data-dir`` if given, else ``$KIEVIDEO_DATA_DIR`` if set, else the OS defaults."""
        if data_dir is not None and str(data_dir) != "":
            return cls.under(data_dir)
        from_env = (os.environ if env is None else env).get(DATA_DIR_ENV, "")
        return cls.under(from_env) if from_env else cls.default()

    @property
    def thumbs_dir(self) -> Path:
        return self.cache_dir / "thumbs"

    def ensure(self) -> AppPaths:
        """Create every folder (idempotent). State folders are private to the user (0700 on
        POSIX when we create them): the database holds prompts and signed result URLs."""
        for private in (self.data_dir, self.config_dir, self.log_dir, self.cache_dir):
            private.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.library_dir.mkdir(parents=True, exist_ok=True)
        self.db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self
