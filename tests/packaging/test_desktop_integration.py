"""Desktop integration files: the app icon, the .desktop entry, AppStream metainfo, install.sh, ico/icns.

Fast (a few seconds). The validators run when installed (``desktop-file-utils``, ``appstream``);
the checks that need no tool always run.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
APP_ID = "io.github.kievideo.KieVideo"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
APP_RES = ROOT / "resources" / "app"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _render_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_icons", ROOT / "packaging" / "render_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icon_pngs_exist_with_their_sizes_and_stay_small() -> None:
    for size in SIZES:
        data = (APP_RES / "png" / f"kievideo-{size}.png").read_bytes()
        assert _png_size(data) == (size, size)
    total = sum(p.stat().st_size for p in APP_RES.rglob("*") if p.is_file())
    assert total < 150 * 1024, f"resources/app is {total} bytes"
    ET.parse(APP_RES / "kievideo.svg")  # well-formed


def test_committed_pngs_match_the_svg() -> None:
    """`python packaging/render_icons.py --check` (a subprocess: it needs its own QGuiApplication)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "render_icons.py"), "--check"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_ico_and_icns_writers(tmp_path: Path) -> None:
    icons = _render_icons()
    pngs = icons.committed_pngs()
    ico = icons.write_ico(pngs, tmp_path / "k.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 7)  # 16..256
    for i in range(count):
        w, h, _c, _r, _planes, _bpp, size, offset = struct.unpack("<BBBBHHII", ico[6 + 16 * i : 22 + 16 * i])
        blob = ico[offset : offset + size]
        assert _png_size(blob) == ((w or 256), (h or 256))
    icns = icons.write_icns(pngs, tmp_path / "k.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    types, pos = [], 8
    while pos < len(icns):
        types.append(icns[pos : pos + 4])
        pos += struct.unpack(">I", icns[pos + 4 : pos + 8])[0]
    assert types == [b"icp4", b"icp5", b"icp6", b"ic07", b"ic08", b"ic09"]


def test_desktop_entry_fields() -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "kievideo"
    assert entry["Icon"] == APP_ID
    assert entry["GenericName"] == "AI Video Studio"
    assert entry["Categories"] == "AudioVideo;Video;"
    assert entry["Terminal"] == "false"
    assert entry["StartupWMClass"] == "kievideo"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_validates() -> None:
    cmd = ["desktop-file-validate", str(DESKTOP)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_metainfo_fields() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "MIT"
    assert root.findtext("launchable") == f"{APP_ID}.desktop"
    release = root.find("releases/release")
    assert release is not None and release.get("version") == "0.1.0" and release.get("date") == "2026-11-21"
    assert root.find("content_rating") is not None
    image = root.findtext("screenshots/screenshot/image") or ""
    assert image.endswith("docs/screenshots/main-playing.png")


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_validates() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_sh_installs_and_uninstalls(tmp_path: Path) -> None:
    share = tmp_path / "share"
    fake = tmp_path / "bundle dir" / "kievideo"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    env = dict(os.environ, XDG_DATA_HOME=str(share), PATH="/usr/bin:/bin")
    script = str(LINUX / "install.sh")
    subprocess.run(["bash", script, "--exec", str(fake)], env=env, check=True, capture_output=True)
    desktop = share / "applications" / f"{APP_ID}.desktop"
    text = desktop.read_text(encoding="utf-8")
    assert f'Exec="{fake}"\n' in text and f'Exec="{fake}" --demo\n' in text
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").is_file()
    for size in SIZES:
        png = share / f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png"
        assert _png_size(png.read_bytes()) == (size, size)
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    subprocess.run(["bash", script, "--uninstall"], env=env, check=True, capture_output=True)
    leftovers = [p for p in share.rglob("*") if p.is_file() and APP_ID in p.name]
    assert leftovers == []
