"""Long stretches a piece at a time, each piece with context on both sides: the one home of "pieces of N
frames with M frames of context".

A computation whose value at a frame depends on at most ``context`` frames to either side (a smoothing
kernel, a running mean) gives the same values on a piece computed with that much context as on the whole
stretch; working piece by piece keeps the memory bounded whatever the video's length.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Piece:
    """Frames [start, stop) of a stretch, to be computed on frames [lo, hi) (the piece and its context)."""

    start: int
    stop: int
    lo: int
    hi: int

    @property
    def own(self) -> slice:
        """Where the piece's own frames lie in what was computed on [lo, hi)."""
        return slice(self.start - self.lo, self.stop - self.lo)


def pieces(first: int, last: int, size: int, context: int) -> Iterator[Piece]:
    """Frames [first, last) in pieces of ``size`` frames, each with up to ``context`` frames on either side
    (never outside [first, last): a shot's edges are not crossed)."""
    for start in range(first, last, size):
        yield Piece(start, min(last, start + size), max(first, start - context), min(last, start + size + context))
