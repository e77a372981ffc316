"""Static checks of a built bundle (run by scripts/build-bundle.sh before the smoke start).

    python packaging/check_bundle.py dist/kievideo

* the GUI and CLI executables exist;
* the Qt FFmpeg multimedia plugin is there (without it QMediaPlayer silently plays nothing);
* the app icon and the UI icons of ``kievideo.resources`` are there;
* Linux: every shared library in the bundle resolves all of its dependencies (``ldd`` with the
  bundle's own folders first), so a filter in the spec cannot silently break a Qt plugin, the way
  dropping libQt6Quick broke the FFmpeg plugin once.

Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXE_SUFFIX = ".exe" if os.name == "nt" else ""


def _internal(bundle: Path) -> Path:
    inner = bundle / "_internal"
    return inner if inner.is_dir() else bundle


def problems(bundle: Path) -> list[str]:
    """Everything wrong with the bundle at ``bundle`` (an empty list when it looks right)."""
    out: list[str] = []
    for name in ("kievideo", "kievideo-cli"):
        exe = bundle / f"{name}{EXE_SUFFIX}"
        if not exe.is_file():
            out.append(f"missing executable: {exe}")
    inner = _internal(bundle)
    plugin = "ffmpegmediaplugin" if sys.platform != "darwin" else "libffmpegmediaplugin"
    if not any(plugin in p.name for p in inner.rglob("*mediaplugin*")):
        out.append("missing the Qt FFmpeg multimedia plugin (libffmpegmediaplugin)")
    for rel in ("kievideo/resources/app/kievideo.svg", "kievideo/resources/app/png/kievideo-256.png"):
        if not (inner / rel).is_file():
            out.append(f"missing resource: {rel}")
    if not list((inner / "kievideo" / "resources" / "icons").glob("*.svg")):
        out.append("missing UI icons: kievideo/resources/icons/*.svg")
    if sys.platform.startswith("linux") and shutil.which("ldd"):
        out += unresolved_libraries(inner)
    return out


def unresolved_libraries(inner: Path) -> list[str]:
    """``ldd`` every ``*.so*`` in the bundle and report dependencies that resolve nowhere."""
    lib_dirs = sorted({str(p.parent) for p in inner.rglob("*.so*") if p.is_file()})
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join([str(inner), *lib_dirs]))
    found: list[str] = []
    for lib in sorted(p for p in inner.rglob("*.so*") if p.is_file() and not p.is_symlink()):
        result = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, env=env, check=False)
        for line in result.stdout.splitlines():
            if "not found" in line:
                found.append(f"{lib.relative_to(inner)}: {line.strip()}")
    return found


def main(argv: list[str] | None = None) -> int:
    """Check the bundle folder given as the only argument (default ``dist/kievideo``)."""
    args = sys.argv[1:] if argv is None else argv
    bundle = Path(args[0] if args else "dist/kievideo")
    issues = problems(bundle)
    for issue in issues:
        print(f"bundle check: {issue}")
    if not issues:
        print(f"bundle check: OK ({bundle})")
    return 1 if issues else 0


if __name__ == "__main__":
    raise SystemExit(main())
