"""Orchestration of one video: inputs -> pose, analysis and exports, each a named step of its own module.

For each video: probe -> pose (from the cache when the video and settings are unchanged) ->
tracking and person choice -> windows -> MMN (when a checkpoint is configured) -> segments with
movement descriptions -> CSV, ELAN, (overlay), and last the JSON record. Models load once per run.
A batch of videos runs in ``pipeline.batch.run_batch``.
"""
from __future__ import annotations

import contextlib

from pose.types import PoseBackend

from .analysis import analyse_video
from .frame_notes import count_frames, missing_warning
from .inputs import VideoJob, check_name_encoding
from .models import Models
from .options import Options
from .outcome import Outcome
from .outputs import discard_results
from .pool import PosePool
from .results import write_results, write_video_report
from .videopose import VideoRun, finish_pose, start_pose


def _silent(name, total=None) -> None:
    """A stage shown to nobody."""


class Pipeline:
    """Holds the loaded models and the pose workers for a run; processes videos in two steps: ``start_video``
    (lock, probe, pose chunks submitted to the workers) and ``finish_video`` (pose assembled, analysis,
    exports, report), so the workers estimate pose of the next videos while this process finishes one."""

    def __init__(self, opts: Options, models: Models | None = None, backend: PoseBackend | None = None,
                 workers=None):
        self.opts = opts
        self.models = models or Models()
        self.pool = PosePool(opts, backend, workers)
        self._settings_key: str | None = None
        self.videos_expected: int | None = None  # the batch's size, when known (``run_batch``)

    @classmethod
    def from_options(cls, opts: Options, workers=None, background: bool = False) -> "Pipeline":
        """The pipeline with its models loaded (their errors raised here), or with ``background`` being
        loaded in a thread while the first videos' pose chunks are handed out (errors then come from
        ``run_batch`` as ``ModelsFailed``, before any video is finished)."""
        return cls(opts, Models.load(opts, background), workers=workers)

    @property
    def has_models(self) -> bool:
        """Whether MMN checkpoints are configured (known without waiting for them to load)."""
        return self.models.configured

    @property
    def recognizer(self):
        """The MMN recognizer, None without checkpoints (waits for a background load)."""
        return self.models.get()

    @property
    def settings_key(self) -> str:
        """What the outputs depend on (``Options.settings_key``), checkpoints included."""
        if self._settings_key is None:
            rec = self.recognizer
            self._settings_key = self.opts.settings_key(rec.checkpoints if rec is not None else [])
        return self._settings_key

    def cancel(self) -> None:
        self.pool.cancel()

    def close(self) -> None:
        self.pool.close()

    def process(self, job: VideoJob, progress=None, stage=None) -> Outcome:
        """One video from start to finish."""
        return self.finish_video(self.start_video(job, stage), progress, stage)

    def start_video(self, job: VideoJob, stage=None) -> VideoRun:
        """Lock the video's outputs, probe it, and hand its pose chunks to the workers (a name that is not
        UTF-8 is refused first: ``check_name_encoding``)."""
        check_name_encoding(job.path)
        return start_pose(job, self.opts, self.pool, self.videos_expected, stage or _silent)

    def finish_video(self, run: VideoRun, progress=None, stage=None) -> Outcome:
        """Assemble the pose, analyse, write the results (the JSON record last) and the report. Releases
        the video's lock."""
        stage = stage or _silent
        with run.stack:
            try:
                pose = finish_pose(run, self.opts, self.pool, progress, stage)
                frames = count_frames(run.job.path, run.info, pose)
                analysis = analyse_video(run, pose, self.opts, self.recognizer, self.pool, stage, progress)
                doc = write_results(run, pose, analysis, frames, self.opts, self.recognizer, stage, progress,
                                    self.settings_key)
            except BaseException:
                if run.replacing and not run.complete:  # all or nothing: no file of a run that did not finish
                    with contextlib.suppress(OSError):
                        discard_results(run.outs)
                raise
            warnings = [w for w in [missing_warning(frames, pose, run.info)] if w]
            if self.opts.report:
                stage("report")
                warnings += write_video_report(run.outs["json"], doc, run, pose, self.opts.out)
        return Outcome(run.job, "done", "; ".join(f"warning: {w}" for w in warnings), segments=len(doc["segments"]),
                       seconds=doc["timing"]["total_s"], doc=doc)
