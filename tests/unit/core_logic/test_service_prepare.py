"""TaskService.prepare(): what the first status request and the first finished video would
import (the HTTP stack's lazy parts, PyAV) is imported when the app calls it at start, not in the
middle of the work. A clean interpreter shows it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path


def test_prepare_imports_pyav_and_the_http_stack_up_front(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import asyncio, json, sys
        from pathlib import Path
        from kievideo.core.providers import ProviderRegistry
        from kievideo.core.service import TaskService
        from kievideo.core.store import TaskStore

        before = {{m: m in sys.modules for m in ("av", "anyio._backends._asyncio")}}
        store = TaskStore(Path({str(tmp_path)!r}) / "tasks.sqlite3")
        service = TaskService(store, ProviderRegistry(lambda profile: None, []),
                              library_dir=Path({str(tmp_path)!r}) / "library")
        async def main() -> None:
            await service.prepare()

        asyncio.run(main())
        after = {{m: m in sys.modules for m in ("av", "anyio._backends._asyncio")}}
        store.close()
        print(json.dumps({{"before": before, "after": after}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] == {"av": False, "anyio._backends._asyncio": False}
    assert seen["after"] == {"av": True, "anyio._backends._asyncio": True}
