"""A video's output files as a set: temporary files a killed run left, removing the earlier results
before a run writes new ones, and telling whether the files a record was written with are all there."""
from __future__ import annotations

import contextlib
from pathlib import Path

from common.fileio import stale_parts
from pose.result import video_fingerprint

RESULT_FILES = ("json", "report", "csv", "eaf", "overlay")  # one run's, all or nothing: the record first


def remove_stale_parts(outs: dict[str, Path]) -> None:
    """Temporary files of this video's outputs left by a killed run (we hold the video's lock)."""
    for target in outs.values():
        for stale in stale_parts(target):
            with contextlib.suppress(OSError):
                stale.unlink()


def discard_results(outs: dict[str, Path]) -> None:
    """Remove a video's result files, the JSON record (the mark of a complete video) first, before a run
    writes any new one: a run stopped part-way then leaves no record beside files of two runs."""
    for key in RESULT_FILES:
        try:
            outs[key].unlink()
        except FileNotFoundError:
            pass


def output_entry(path: Path) -> dict:
    """How the record names a file written with it (``Record.outputs``)."""
    return {"file": path.name, "fingerprint": video_fingerprint(path)}


def outputs_intact(doc: dict, outs: dict[str, Path], needed: list[str]) -> bool:
    """Every file the record was written with is there, unchanged, and those of ``needed`` among them."""
    written = doc.get("outputs")
    if not isinstance(written, dict) or not set(needed) <= set(written):
        return False
    try:
        return all(key in outs and entry["file"] == outs[key].name and output_entry(outs[key]) == entry
                   for key, entry in written.items())
    except (OSError, KeyError, TypeError):
        return False
