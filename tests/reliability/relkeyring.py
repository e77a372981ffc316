"""A real, file-backed keyring backend for the secret scan (``PYTHON_KEYRING_BACKEND=
relkeyring.FileKeyring`` with this folder on ``PYTHONPATH`` and ``KIEVIDEO_TEST_KEYRING`` naming
the JSON file). The file is "the keyring backend's own storage": the one place the key may be.

keyring's null backend would drop every write and the fail backend would make the app fall back
to its session-only store, so neither would exercise the path a real user's key takes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend
import keyring.errors


class FileKeyring(keyring.backend.KeyringBackend):
    """Passwords in a JSON file: {"service": {"user": "password"}}."""

    priority = 1.0  # type: ignore[assignment]

    @staticmethod
    def _path() -> Path:
        return Path(os.environ["KIEVIDEO_TEST_KEYRING"])

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self._path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        path = self._path()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if username not in data.get(service, {}):
            raise keyring.errors.PasswordDeleteError("no such password")
        del data[service][username]
        self._save(data)
