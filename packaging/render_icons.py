"""Render the application icon's PNGs from its SVG, and build .ico / .icns files from them.

    python packaging/render_icons.py            # re-render resources/app/png/kievideo-<N>.png
    python packaging/render_icons.py --check    # exit 1 if a committed PNG differs from a fresh render

The PNGs are committed (Linux desktop integration and the window icon use them); the Windows
``.ico`` and macOS ``.icns`` are generated at bundle time by ``packaging/kievideo.spec`` through
:func:`write_ico` and :func:`write_icns`, which need no Pillow: both formats can simply embed PNGs.

Sizes up to 24 px are drawn from ``kievideo-small.svg`` when it exists: the same tile and play
triangle without the fine film-strip holes, which turn into grey noise at that size.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "resources" / "app"
SVG = APP_DIR / "kievideo.svg"
SMALL_SVG = APP_DIR / "kievideo-small.svg"
PNG_DIR = APP_DIR / "png"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
SMALL_MAX = 24
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# icns chunk type per pixel size (PNG payloads; "ic10" is 1024 = 512@2x, which we do not render).
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}


def png_path(size: int) -> Path:
    """Where the committed PNG for ``size`` pixels lives."""
    return PNG_DIR / f"kievideo-{size}.png"


def render(sizes: Iterable[int] = SIZES) -> dict[int, bytes]:
    """Render the SVG at each size with QSvgRenderer (offscreen) and return the PNG bytes per size."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    big = QSvgRenderer(str(SVG))
    small = QSvgRenderer(str(SMALL_SVG)) if SMALL_SVG.exists() else big
    if not big.isValid() or not small.isValid():
        raise SystemExit(f"invalid SVG: {SVG}")
    out: dict[int, bytes] = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        (small if size <= SMALL_MAX else big).render(painter)
        painter.end()
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        # For PNG, Qt maps quality 0 to zlib level 9: lossless, just smaller.
        if not image.convertToFormat(QImage.Format.Format_ARGB32).save(buf, "PNG", 0):
            raise SystemExit(f"could not encode {size}px PNG")
        buf.close()
        out[size] = bytes(data.data())
    return out


def write_ico(pngs: dict[int, bytes], dest: Path) -> Path:
    """Write a Windows .ico holding the given PNGs (PNG entries are valid since Windows Vista)."""
    sizes = sorted(s for s in pngs if s <= 256)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        blob = pngs[s]
        dim = 0 if s == 256 else s  # 0 means 256 in the ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(header + entries + blobs)
    return dest


def write_icns(pngs: dict[int, bytes], dest: Path) -> Path:
    """Write a macOS .icns holding the given PNGs (modern icns chunks are plain PNG data)."""
    chunks = b"".join(
        ICNS_TYPES[s] + struct.pack(">I", 8 + len(pngs[s])) + pngs[s] for s in sorted(pngs) if s in ICNS_TYPES
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks)
    return dest


def committed_pngs() -> dict[int, bytes]:
    """The committed PNG bytes per size (what the bundle and install.sh use)."""
    return {s: png_path(s).read_bytes() for s in SIZES if png_path(s).exists()}


def main(argv: list[str] | None = None) -> int:
    """Render (or with ``--check`` verify) the committed PNGs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="verify the committed PNGs, write nothing")
    args = parser.parse_args(argv)
    fresh = render()
    if args.check:
        committed = committed_pngs()
        stale = [s for s, data in fresh.items() if committed.get(s) != data]
        if stale:
            print(f"stale or missing PNGs for sizes {stale}: run python packaging/render_icons.py")
            return 1
        print("icons up to date")
        return 0
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    for size, data in fresh.items():
        png_path(size).write_bytes(data)
    total = sum(p.stat().st_size for p in APP_DIR.rglob("*") if p.is_file())
    print(f"wrote {len(fresh)} PNGs to {PNG_DIR.relative_to(ROOT)}; resources/app is {total / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
