"""Shots of a video: the frame ranges between camera cuts (cuts are found in ``pipeline.cut_detection``)."""
from __future__ import annotations


def shot_ranges(cuts, num_frames: int) -> list[tuple[int, int]]:
    """Frame ranges [a, b) of the shots of a video of ``num_frames`` frames, given the first frame of
    every shot after the first (``cuts``)."""
    edges = [0] + sorted(c for c in set(cuts or ()) if 0 < c < num_frames) + [num_frames]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
