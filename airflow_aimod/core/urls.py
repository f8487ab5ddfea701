"""How a ``sqlite:///`` URL names its file, shared by the checkpoint saver and the AiMod store."""

from __future__ import annotations

from pathlib import Path


def sqlite_path(url: str) -> Path:
    """The file of ``sqlite:///abs/path`` or ``sqlite:////abs/path`` (always absolute)."""
    raw = url[len("sqlite:///"):]
    return Path("/" + raw.lstrip("/"))
