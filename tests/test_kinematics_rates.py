"""The weight-free recognizer's time windows span their time in seconds at any frame rate (issue 30).

Each test feeds one rule the same movement sampled at two frame rates (15 and 60 fps, or 30 fps with
frames dropped, as a variable-rate video gives them) and asserts the same answer; counted in rounded
frames, each of these windows spanned another time at one of the two (the docstrings say which).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from recognizer.kinematics import body_actions, hand_body, hand_head, hands, leg_actions
from recognizer.kinematics.signals import settled


def _times(fps: float, seconds: float) -> np.ndarray:
    return np.arange(int(round(seconds * fps))) / fps


def test_settled_window_spans_its_time_at_every_rate():
    """A hand drifting at 0.5 m/s moves 150 mm in 0.3 s: not settled under 140 mm at any rate. With a
    half-window of round(0.15 s) frames the window spanned 0.27 s at 15 fps (133 mm: settled) and
    0.3 s at 60 fps."""
    answers = {}
    for fps in (15, 60):
        t = _times(fps, 2.0)
        point = np.stack([500.0 * t, np.zeros_like(t)], -1)  # mm
        answers[fps] = settled(point, t, 0.3, 140.0)[(t > 0.5) & (t < 1.5)]
    assert not answers[15].any() and not answers[60].any(), answers


def test_hold_after_a_movement_lasts_its_time_across_dropped_frames():
    """A trunk movement that is not undone ends MIN_HOLD_S (0.3 s) after it arrives, at the frame nearest
    that time, at 60 fps and at 30 fps with frames missing in the hold (a variable-rate video): counted
    as round(0.3 s / the median frame step) frames, the hold ran to the 9th frame after the arrival,
    0.47 s later there."""
    tails = {}
    for fps in (30, 60):
        t = _times(fps, 3.0)
        if fps == 30:
            t = t[(t < 1.45) | (t > 1.6)]  # the ramp below arrives at 1.4 s
        x = np.clip((t - 1.0) / 0.4, 0.0, 1.0)  # a 0.4 s ramp by 1 unit, then held
        x = 0.5 - 0.5 * np.cos(np.pi * x)  # smooth at both ends
        (i, j, end, amp, returned, hold), = list(body_actions._displacements(x, t, 0.5, 1.5))
        assert not returned and amp > 0.9
        tails[fps] = float(t[end] - t[j])
    assert abs(tails[30] - body_actions.MIN_HOLD_S) < 1e-6 and abs(tails[60] - body_actions.MIN_HOLD_S) < 1e-6, tails


def test_reach_looks_back_its_time_across_dropped_frames():
    """A hand's reach is looked for within MAX_REACH_S (1.2 s) of the frame where it is away: a fast
    movement 1.5 s before it is another movement. At 30 fps with 0.5 s of frames missing in between
    (a variable-rate video, a decoder gap), 36 frames reached 1.7 s back and took it for the reach."""
    t = _times(30, 3.0)
    t = t[(t < 1.0) | (t > 1.5)]
    i = int(np.searchsorted(t, 2.5))
    speed = np.where(np.abs(t - (t[i] - 1.55)) < 0.1, 2.0, 0.0)  # torso lengths/s, 1.45-1.65 s before frame i
    k, moved = hands._reach(speed, t, i, -1)
    assert not moved and k == i
    speed = np.where((t >= t[i] - 0.6) & (t <= t[i]), 2.0, 0.0)  # moving for the last 0.6 s: the reach
    k, moved = hands._reach(speed, t, i, -1)
    assert moved and abs(t[k] - (t[i] - 0.6)) < 0.02


def _bouncing_legs(fps: float, start_s: float, end_s: float, hz: float = 3.0) -> tuple[dict, np.ndarray]:
    """Both feet and knees (torso lengths, y down) of a seated person whose feet bounce 20 mm (0.04) at
    ``hz`` from ``start_s`` to ``end_s``, the knees going with them (by half)."""
    t = _times(fps, 3.0)
    live = (t >= start_s) & (t < end_s)
    bounce = np.where(live, 0.02 * np.sin(2 * np.pi * hz * (t - start_s)), 0.0)
    raw = {}
    for s, x in (("left", 0.2), ("right", -0.2)):
        for part, y, k in (("knee", 1.2, 0.5), ("ankle", 2.0, 1.0), ("heel", 2.05, 1.0)):
            raw[f"{s}_{part}"] = np.stack([np.full_like(t, x), y + k * bounce], -1)
    return {"raw": raw}, t


def test_shaking_windows_start_at_the_same_times_at_every_rate():
    """Feet bouncing at 3 Hz from 0.2 to 1.3 s: six strokes fit only in windows of SHAKE_WINDOW_S that
    start near the bounce. Windows starting every window // 4 frames began every 0.2 s at 15 fps (one at
    0.2 s: the D3 began there) and every 0.25 s at 60 fps (none near 0.2 s: it began at 0.3 s); now they
    start every SHAKE_HOP_S at any rate."""
    found = {}
    for fps in (15, 60):
        legs, t = _bouncing_legs(fps, 0.2, 1.3)
        found[fps] = [(f.code, round(f.start_s, 1), round(f.end_s, 1)) for f in leg_actions._shakes(legs, t)]
    assert found[15] == found[60] == [("D3", 0.2, 1.3)] * 2, found  # one per leg


def _patting_hand(fps: float, start_s: float, end_s: float, hz: float = 2.5):
    """A hand resting on the thigh (seat's frame, torso lengths) that pats 50 mm (0.1) up and down at
    ``hz`` from ``start_s`` to ``end_s``, the knees seen; 4 s."""
    t = _times(fps, 4.0)
    live = (t >= start_s) & (t < end_s)
    lift = np.where(live, 0.05 - 0.05 * np.cos(2 * np.pi * hz * (t - start_s)), 0.0)
    hand = SimpleNamespace(stays=np.ones(len(t), bool), away=np.zeros(len(t), bool),
                           seat=np.stack([np.full_like(t, 0.3), 1.2 - lift], -1))
    legs = {f"{s}_knee": np.tile([x, 1.3], (len(t), 1)) for s, x in (("left", 0.2), ("right", -0.2))}
    return {"left": hand}, legs, t


def test_patting_windows_start_at_the_same_times_at_every_rate():
    """Pats at 2.5 Hz from 1.0 to 2.6 s by a hand at rest: the G2 spans the pats at 15 and 60 fps alike.
    Windows of PAT_WINDOW_S starting every window // 4 frames (0.2 s at 15 fps, 0.25 s at 60) were
    marked whole, so the G2 began at the first window holding three strokes, 0.2-0.3 s before the
    first pat at one rate or the other; now windows start every PAT_HOP_S at any rate and mark the pats
    they hold."""
    found = {}
    for fps in (15, 60):
        hands, legs, t = _patting_hand(fps, 1.0, 2.6)
        found[fps] = [(f.code, round(f.start_s, 1), round(f.end_s, 1)) for f in hand_body.at_rest(hands, t, legs, [])]
    assert found[15] == found[60] and len(found[15]) == 1, found
    code, start, end = found[15][0]
    assert code == "G2" and abs(start - 1.0) <= 0.1 and abs(end - 2.6) <= 0.2, found


def test_home_needs_the_hand_seen_for_its_time_across_dropped_frames():
    """A resting place is the hand's home when the hand was in the picture for HOME_MIN_S (0.5 s) before
    its stay began (a hand that came into the picture to get there is not at rest). Here it came into
    view at 1.0 s and stays low from 1.6 s, with the frames from 1.1 to 1.5 s missing (a variable-rate
    video): seen for 0.6 s, it is at home. Counted as round(0.5 s / the median step) = 15 frames, the
    look-back reached 0.67 s, before the hand was seen, and the hand had no home."""
    t = _times(30, 4.0)
    t = t[(t < 1.1) | (t > 1.5)]
    seen = (t >= 1.0).astype(int) * 6
    low = t >= 1.6
    place = np.where(low[:, None], [0.2, hands.REST_Y + 0.1], np.nan)
    hand = SimpleNamespace(stays=low.copy(), place=place, centre=place.copy(), seen=seen,
                           arm=np.tile([0.1, 0.5], (len(t), 1)))
    home, arm = hands._home(hand, t)
    assert home is not None and np.allclose(home, [0.2, hands.REST_Y + 0.1]), home


def test_touch_looks_back_its_time_for_the_hand_coming_into_view():
    """A hand already at the face when the contact begins came into the picture on its way there if it
    was unseen within MAX_REACH_S (1.2 s) before. Here it is seen, still at the face, from 0.2 s, the
    contact begins at 1.5 s and the frames from 0.6 to 1.0 s are missing (a variable-rate video): it was
    already at the head. Counted as 36 frames at the median step, the look-back reached to the track's
    start, before the hand was seen, and the touch was said to begin when the hand came into view."""
    t = _times(30, 3.0)
    t = t[(t < 0.6) | (t > 1.0)]
    seen = t >= 0.2
    xy = np.where(seen[:, None, None], np.asarray(hand_head.FACE_CENTRE)[None, None, :2] + [20.0, 0.0], np.nan)
    a = int(np.searchsorted(t, 1.5))
    start, end, info = hand_head._reach({"xy": np.repeat(xy, 3, axis=1), "seen": seen}, t, a, a + 15)
    assert info["already_at_head"] and not info["came_into_view"] and start == t[a], (start, info)


def test_before_and_after_a_movement_span_their_time_across_dropped_frames():
    """The trunk's state before a movement is the median over the 0.3 s before it. With the frames from
    1.1 to 1.4 s missing, the 0.3 s before 1.57 s hold only the new state (0); counted as 9 frames at the
    median step, the span reached back to 0.93 s and read half the old state (0.5)."""
    t = _times(30, 3.0)
    t = t[(t < 1.1) | (t > 1.4)]
    x = np.where(t < 1.1, 1.0, 0.0)
    i = int(np.searchsorted(t, 1.56))
    assert body_actions._around(x, t, i, -1) == 0.0
    assert body_actions._around(x, t, int(np.searchsorted(t, 0.5)), +1) == 1.0
