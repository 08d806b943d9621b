"""Joint speeds measured on the continuous trajectory (``motion.joint_speed``, issue 30: results must not
depend on the frame rate)."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline import motion
from tests.test_frame_rate import RATES


def _nod_speed(fps: float, hz: float) -> float:
    t = np.arange(int(2 * fps)) / fps
    kp = np.zeros((len(t), 44, 2))
    kp[:, :, 1] = 10 * np.sin(2 * np.pi * hz * t)[:, None]  # pixels; scale 100 px: 0.1 torso lengths
    return motion.region_energy(kp, np.ones((len(t), 44), bool), t, 100.0)["head"]


@pytest.mark.parametrize("hz", [1.0, 3.0])
def test_a_movement_measures_the_same_speed_at_every_rate(hz):
    """Within 3 % from 15 to 60 fps (averaged over the frames themselves, a 3 Hz nod read 8 % faster at
    15 fps than at 30)."""
    speeds = {fps: _nod_speed(fps, hz) for fps in RATES}
    assert max(speeds.values()) <= 1.03 * min(speeds.values()), speeds


def test_steady_motion_reads_its_speed_whatever_the_timestamps():
    """A joint moving 30 px/s reads 30 px/s at every frame, also next to equal timestamps, a 10 s hole and
    jittered frame times (frames whose average reaches the stretch's ends or unseen frames are left out:
    there the average is one-sided)."""
    rng = np.random.default_rng(0)
    t = np.arange(120) / 30.0
    t[40:] += 10.0  # a hole
    t[60:70:2] = t[59:69:2]  # equal pairs
    t[80:] += rng.uniform(-0.005, 0.005, 40)  # jitter
    kp = np.zeros((len(t), 44, 2))
    kp[..., 0] = 30.0 * t[:, None]
    ok = np.ones((len(t), 44), bool)
    ok[20:23, :10] = False
    sp = motion.joint_speed(kp, ok, t, 1 / 30)
    reach = len(motion.trajectory_kernels(motion.SMOOTH_S / np.sqrt(12) * 30)[0]) // 2
    inner = np.zeros(ok.shape, bool)
    inner[reach:-reach] = True
    inner[20 - reach:23 + reach, :10] = False
    np.testing.assert_allclose(sp[inner], 30.0, rtol=1e-6)
    assert np.isfinite(sp[ok]).all()


def test_a_still_joint_with_missing_frames_does_not_move():
    kp = np.full((60, 44, 2), 50.0)
    ok = np.ones((60, 44), bool)
    ok[::7] = False
    sp = motion.joint_speed(kp, ok, np.arange(60) / 15.0, 1 / 15)
    assert np.nanmax(sp) < 1e-9


def test_a_joint_glimpsed_for_less_than_the_average_has_no_speed():
    """A hand that shows at the picture's edge for two frames at 30 fps, at another place each time (the
    hand model fitting a part of it), read 0.59 torso lengths/s in the arms/hands region of a real_dev
    webcam talker, and its 60 fps copy (each frame twice) spread that over twice the time: a body-part
    episode there came and went with the rate. A joint's frames count only in runs of SMOOTH_S or more
    (``motion.steady``); seen that long, the same jumpy joint counts at every rate."""
    def energy(fps: float, seen_s: float) -> float:
        t = np.arange(int(2 * fps)) / fps
        kp = np.zeros((len(t), 44, 2)) + 100.0
        ok = np.ones((len(t), 44), bool)
        hand = motion.REGION_JOINTS["arms/hands"]
        glimpse = (t >= 1.0) & (t < 1.0 + seen_s - 1e-9)
        ok[:, hand] = glimpse[:, None]
        kp[:, hand, 0] += np.where(np.floor(t * 30) % 2 == 0, 0.0, 20.0)[:, None]  # 20 px apart, frame by frame at 30 fps
        return float(np.max(motion.frame_energy(kp, ok, t, 100.0)))

    for fps in (30, 60):
        assert energy(fps, 2 / 30) < 1e-9, fps
        assert energy(fps, 4 / 30) > motion.STILL_THRESHOLD, fps
    assert motion.steady(np.array([0, 1, 1, 0, 1, 1, 1, 1, 0], bool), 1 / 30).tolist() == \
        [False, False, False, False, True, True, True, True, False]
