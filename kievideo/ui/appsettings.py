"""UI preferences in QSettings (organization "kievideo", application "kievideo").

With ``--data-dir DIR`` the ini file lives under ``DIR/config`` so tests and the demo never touch
the user's real settings. Secrets never go here: API keys live in the OS keyring (core.secrets).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

ORG = "kievideo"
APP = "kievideo"

POLLING_MODES = ("normal", "frugal")


@dataclass(frozen=True, slots=True)
class UnifiedProfile:
    """A user-defined "unified video API" account: a name (the key's keyring entry) and a base URL."""

    name: str
    base_url: str


def open_settings(config_dir: Path | None) -> QSettings:
    """The app's QSettings: an ini under ``config_dir`` when given, else the platform default."""
    if config_dir is not None:
        config_dir.mkdir(parents=True, exist_ok=True)
        return QSettings(str(config_dir / "kievideo.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


class AppSettings:
    """Typed access to the few preferences the UI keeps."""

    def __init__(self, qs: QSettings) -> None:
        self.qs = qs

    def _text(self, key: str, default: str) -> str:
        """A string setting (QSettings.value is typed ``object``; with ``str`` it converts)."""
        v = self.qs.value(key, default, str)
        return v if isinstance(v, str) else default

    # download folder (None: the platform library folder from core.paths)
    @property
    def library_dir(self) -> Path | None:
        v = self._text("library/dir", "")
        return Path(v) if v else None

    @library_dir.setter
    def library_dir(self, value: Path | None) -> None:
        self.qs.setValue("library/dir", str(value) if value else "")

    @property
    def notify(self) -> bool:
        return bool(self.qs.value("notify/enabled", True, bool))

    @notify.setter
    def notify(self, on: bool) -> None:
        self.qs.setValue("notify/enabled", bool(on))

    @property
    def polling(self) -> str:
        v = self._text("poll/mode", "normal")
        return v if v in POLLING_MODES else "normal"

    @polling.setter
    def polling(self, mode: str) -> None:
        self.qs.setValue("poll/mode", mode if mode in POLLING_MODES else "normal")

    @property
    def unified_profiles(self) -> list[UnifiedProfile]:
        import json  # not at module level: this module is imported before the first paint

        raw = self._text("unified/profiles", "[]")
        try:
            items = json.loads(raw)
        except (TypeError, ValueError):
            return []
        out: list[UnifiedProfile] = []
        for it in items if isinstance(items, list) else []:
            if isinstance(it, dict) and it.get("name") and it.get("base_url"):
                out.append(UnifiedProfile(str(it["name"]), str(it["base_url"])))
        return out

    @unified_profiles.setter
    def unified_profiles(self, profiles: list[UnifiedProfile]) -> None:
        import json

        self.qs.setValue(
            "unified/profiles", json.dumps([{"name": p.name, "base_url": p.base_url} for p in profiles])
        )

    def sync(self) -> None:
        self.qs.sync()
