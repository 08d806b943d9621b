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
