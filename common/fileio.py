"""Atomic file writes: a reader never sees a half-written file, an interrupted write leaves none.

Everything the tool writes (exports, pose caches, checkpoints, logs rewritten per epoch) goes
through ``atomic_path`` / ``write_text_atomic``: the data is written to a temporary file in the
same folder, flushed to disk, then renamed over the target in one step.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from common.errors import OutputError


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def stale_parts(target: str | Path, older_than_s: float = 0.0) -> list[Path]:
    """The temporary files ``atomic_path`` left beside ``target`` (a writer killed part-way) that were last
    written more than ``older_than_s`` seconds ago."""
    import glob
    import time

    target = Path(target)
    now = time.time()
    found = []
    for part in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > older_than_s:
                found.append(part)
    return found


def write_text_atomic(target: str | Path, text: str) -> None:
    """``text`` as UTF-8. A file name that is not valid UTF-8 (bytes an old system wrote in Latin-1, say)
    reaches Python as lone surrogates, which UTF-8 cannot hold: they are written as their escapes
    (``caf\\udce9.mp4``), which a JSON reader turns back into the same name, and which stay readable
    in CSV, XML and HTML."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace")


def write_json_atomic(target: str | Path, obj: object) -> None:
    write_text_atomic(target, json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def ensure_writable_dir(folder: str | Path) -> None:
    """Make ``folder`` and check that a file can be written in it; ``OSError`` with one line naming
    it otherwise (commands check this before any long work)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write_test_{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise OutputError(f"{folder}: output folder cannot be written ({e.strerror or e})") from None


def check_writable_dir(folder: str | Path) -> None:
    """Whether ``folder`` could be made and written, without making it (so a command that then finds
    its inputs bad leaves nothing behind): its nearest existing ancestor must be a folder we may write
    in. ``OSError`` with one line naming it otherwise."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        why = "Not a directory" if existing != folder or folder.exists() else "not found"
        raise OutputError(f"{folder}: output folder cannot be written ({why}: {existing})")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: output folder cannot be written (Permission denied: {existing})")

