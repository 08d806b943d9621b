"""A person's skeleton drawn on a frame, and the colour each analysed person has.

The overlay video (``export.write_overlay``) and the report's keyframes (``pipeline.report.keyframes``) draw
skeletons with this module, and the report's pages show the same colours beside each person, so a
person looks the same in the video, the keyframes and the legend.
"""
from __future__ import annotations

import numpy as np

# the n-th analysed person's colour (hex, RGB), repeating after the fourth
PERSON_COLOURS = ("#00c8ff", "#ff7800", "#00ff78", "#ff00c8")
BONE_WIDTH = 2  # px


def person_colour(n: int) -> str:
    """The hex colour of the ``n``-th analysed person (counted from 0)."""
    return PERSON_COLOURS[n % len(PERSON_COLOURS)]


def person_rgb(n: int) -> tuple[int, int, int]:
    """``person_colour(n)`` as an (R, G, B) tuple for drawing on RGB frames."""
    hexcol = person_colour(n)
    return tuple(int(hexcol[k:k + 2], 16) for k in (1, 3, 5))


def draw_skeleton(image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int], joint_radius: int,
                  smooth: bool) -> None:
    """Draw the MA-52 layout's bones and joints of ``points`` ([V, 2] pixels of ``image``; NaN where a
    joint is not seen) on ``image`` (RGB, changed in place). ``smooth``: anti-aliased lines (small
    keyframes), else plain 8-connected ones (the overlay video)."""
    import cv2

    from definitions.layout import ma52_layout

    line_type = cv2.LINE_AA if smooth else cv2.LINE_8
    seen = np.isfinite(points).all(-1)
    for a, b in ma52_layout().bones:
        if seen[a] and seen[b]:
            cv2.line(image, tuple(int(v) for v in points[a]), tuple(int(v) for v in points[b]), colour, BONE_WIDTH,
                     line_type)
    for p in points[seen]:
        cv2.circle(image, (int(p[0]), int(p[1])), joint_radius, colour, -1, line_type)
