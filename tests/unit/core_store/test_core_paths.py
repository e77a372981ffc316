"""AppPaths: platform folders by default, everything under --data-dir when given."""

from __future__ import annotations

import os
from pathlib import Path

from kievideo.core.paths import DATA_DIR_ENV, AppPaths


def test_under_puts_everything_in_one_folder(tmp_path: Path) -> None:
    p = AppPaths.under(tmp_path / "d")
    root = tmp_path / "d"
    assert p.data_dir == root
    assert p.library_dir == root / "library"
    assert p.log_dir == root / "logs"
    assert p.config_dir == root / "config"
    assert p.cache_dir == root / "cache"
    assert p.db_path == root / "tasks.sqlite3"
    assert p.ensure() is p
    for d in (p.data_dir, p.library_dir, p.log_dir, p.config_dir, p.cache_dir):
        assert d.is_dir()
    if os.name == "posix":
        assert (p.config_dir.stat().st_mode & 0o777) == 0o700
    p.ensure()  # idempotent


def test_default_uses_platformdirs_with_app_name() -> None:
    p = AppPaths.default()
    for d in (p.data_dir, p.log_dir, p.config_dir, p.cache_dir, p.library_dir):
        assert "kievideo" in str(d)
    assert p.db_path.parent == p.data_dir


def test_resolve_prefers_argument_then_env(tmp_path: Path) -> None:
    assert AppPaths.resolve(tmp_path / "a", env={}).data_dir == tmp_path / "a"
    assert AppPaths.resolve(None, env={DATA_DIR_ENV: str(tmp_path / "e")}).data_dir == tmp_path / "e"
    assert AppPaths.resolve(None, env={}) == AppPaths.default()
