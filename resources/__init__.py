"""Bundled resources (icons, sample clips, translations), installed as ``kievideo.resources``."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """A real filesystem path to a bundled resource (works in a checkout, a wheel and a bundle)."""
    ref = files("kievideo.resources").joinpath(*parts)
    with as_file(ref) as p:  # our resources are plain files, so the path outlives the context
        return Path(p)
