"""Where a video's AlphaPose results are (``--pose alphapose-json``), and the digest that tells a changed
results file from the one a record was computed from."""
from __future__ import annotations

import hashlib
from pathlib import Path

from pose.alphapose import AlphaPoseError

from .inputs import VideoJob


def alphapose_json_for(source: Path | None, job: VideoJob) -> Path:
    """The AlphaPose results file of a video (``--alphapose-json`` FILE, or FOLDER/NAME.json or
    FOLDER/NAME/alphapose-results.json)."""
    if source is None:
        raise AlphaPoseError("--pose alphapose-json needs --alphapose-json FILE_OR_FOLDER")
    if source.is_file():
        return source
    for cand in (source / job.rel.with_suffix(".json"), source / job.rel / "alphapose-results.json",
                 source / f"{job.path.stem}.json", source / job.path.stem / "alphapose-results.json"):
        if cand.is_file():
            return cand
    raise AlphaPoseError(f"{source}: no AlphaPose results for {job.path.name} "
                         f"(looked for {job.path.stem}.json and {job.path.stem}/alphapose-results.json)")


def results_digest(path: Path) -> str:
    """16 hex digits of the results file's SHA-256 (the pose settings' ``json_sha256``)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
