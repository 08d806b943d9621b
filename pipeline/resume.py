"""``--resume``: whether a video's outputs are complete for these settings, so that it is skipped."""
from __future__ import annotations

import contextlib
import json
from typing import Callable

from pose.alphapose import AlphaPoseError
from pose.result import video_fingerprint

from .alphapose_input import alphapose_json_for, results_digest
from .inputs import VideoJob
from .lock import BusyError, video_lock
from .options import Options
from .outcome import Outcome
from .outputs import outputs_intact, remove_stale_parts


def is_complete(job: VideoJob, opts: Options, settings_key: str) -> bool:
    """The JSON record exists, is readable, matches this video and these settings, and every file it was
    written with is there unchanged."""
    outs = job.outputs(opts.out)
    try:
        doc = json.loads(outs["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if doc.get("settings_key") != settings_key:
        return False
    try:
        if doc["video"]["fingerprint"] != video_fingerprint(job.path):
            return False
    except OSError:
        return False
    if opts.pose == "alphapose-json":  # the results file may have changed since
        try:
            src = alphapose_json_for(opts.alphapose_json, job)
            if doc["pose"]["settings"].get("json_sha256") != results_digest(src):
                return False
        except (OSError, AlphaPoseError, KeyError, TypeError):
            return False
    return outputs_intact(doc, outs, ["csv", "eaf"] + (["overlay"] if opts.overlay else []))


def skip_if_complete(job: VideoJob, opts: Options, settings_key: Callable[[], str]) -> Outcome | None:
    """With --resume, an outcome "skipped" (with the finished record) when the outputs are complete;
    ``settings_key`` is asked only with --resume (it waits for the models)."""
    if not (opts.resume and is_complete(job, opts, settings_key())):
        return None
    outs = job.outputs(opts.out)
    try:
        doc = json.loads(outs["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = None
    with contextlib.suppress(BusyError):  # temporary files a killed run left (unless a run is writing now)
        with video_lock(outs["lock"]):
            remove_stale_parts(outs)
    return Outcome(job, "skipped", "complete (--resume)", doc=doc)
