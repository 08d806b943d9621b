"""What became of each video of a batch (done, skipped, failed), and the batch's exit code."""
from __future__ import annotations

from dataclasses import dataclass, field

from common.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK

from .inputs import VideoJob


@dataclass
class Outcome:
    job: VideoJob
    status: str  # done | skipped | failed
    message: str = ""
    segments: int = 0
    seconds: float = 0.0
    doc: dict | None = None
    busy: bool = False  # skipped because another run holds the video: not done here


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def busy(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.busy]

    @property
    def exit_code(self) -> int:
        """130 interrupted; 1 when a video failed or was busy in another run (not done: a script must not
        take the batch for complete); else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.failed or self.busy else EXIT_OK
