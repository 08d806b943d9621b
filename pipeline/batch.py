"""A batch of videos: each started (its pose handed to the workers) while the one before is finished in
this process; a failing video is reported in one line and the batch goes on; Ctrl-C stops cleanly."""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .batch_outputs import write_batch_outputs
from .failures import error_line
from .inputs import VideoJob
from .lock import BusyError
from .models import ModelsFailed
from .outcome import Outcome, Summary
from .progress import NullReporter, Reporter
from .resume import skip_if_complete
from .videopose import VideoRun

if TYPE_CHECKING:
    from .run import Pipeline


def guarded(job: VideoJob, out: Path, step: Callable[[], VideoRun]) -> Outcome | VideoRun:
    """``step()``, with any failure turned into a one-line failed outcome (KeyboardInterrupt passes; a
    bug's traceback goes to ``out``/errors.log)."""
    try:
        return step()
    except KeyboardInterrupt:
        raise
    except BusyError as e:
        return Outcome(job, "skipped", str(e), busy=True)
    except Exception as e:  # one video's failure never stops the batch
        msg = error_line(e, out, str(job.path))
        named = " ".join(str(job.path).split()) in msg  # (as one_line_error left it)
        return Outcome(job, "failed", msg if named else f"{job.path}: {msg}")


def run_batch(jobs: list[VideoJob], pipeline: Pipeline, reporter: Reporter | None = None) -> Summary:
    """Process every job; failures are recorded and the batch goes on; Ctrl-C stops cleanly (finished
    pose chunks are kept for the rerun). The next videos are started (their pose chunks queued for the
    workers) while this process finishes the current one."""
    summary = Summary()
    reporter = reporter or NullReporter()
    opts = pipeline.opts
    todo, started = deque(jobs), deque()
    pipeline.videos_expected = len(jobs)

    def start(job: VideoJob):
        return (skip_if_complete(job, opts, lambda: pipeline.settings_key)
                or guarded(job, opts.out, lambda: pipeline.start_video(job)))

    try:
        while todo or started:
            while todo and (not started or pipeline.pool.wants_more(len(started))):
                job = todo.popleft()
                started.append((job, start(job)))
            pipeline.recognizer  # noqa: B018 - the models (loading while pose began): none finishes without them
            job, item = started.popleft()
            reporter.start_video(job)
            if isinstance(item, VideoRun):
                item = guarded(job, opts.out, lambda: pipeline.finish_video(item, progress=reporter.frame,
                                                                            stage=reporter.stage))
            summary.outcomes.append(item)
            reporter.end_video(item)
    except (KeyboardInterrupt, ModelsFailed) as e:
        pipeline.cancel()
        for _, item in started:
            if isinstance(item, VideoRun):
                item.stack.close()
        if isinstance(e, ModelsFailed):
            raise
        summary.interrupted = True
    return write_batch_outputs(summary, opts)
