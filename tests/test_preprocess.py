"""Preprocessing beyond the reference fixture: any length, missing joints, batches."""
from __future__ import annotations

import numpy as np
import pytest

from recognizer.preprocess import fill_missing, prepare_batch, prepare_clip, train_indices

rng = np.random.default_rng(0)


def _clip(length: int) -> np.ndarray:
    return (rng.random((length, 44, 2)) * [1080, 1296]).astype(np.float32)


@pytest.mark.parametrize("length", [1, 2, 63, 64, 65, 300])
def test_any_length(length):
    x, it = prepare_clip(_clip(length))
    assert x.shape == (2, 64, 44, 1) and it.shape == (64,)
    assert np.isfinite(x).all() and -1 - 1e-6 <= x.min() and x.max() <= 1 + 1e-6
    assert it[0] == -1 and (np.diff(it) >= 0).all() and it[-1] < 1


def test_missing_joints_take_nearest_frame():
    k = _clip(10)
    truth = k.copy()
    k[3:5, 9] = np.nan  # a wrist lost for two frames
    k[:2, 20] = np.nan  # a toe missing at the start
    filled = fill_missing(k, center=19)
    assert np.allclose(filled[3, 9], truth[2, 9]) and np.allclose(filled[4, 9], truth[5, 9])  # tie -> earlier
    assert np.allclose(filled[0, 20], truth[2, 20]) and np.allclose(filled[1, 20], truth[2, 20])
    assert np.allclose(np.delete(filled, [9, 20], axis=1), np.delete(truth, [9, 20], axis=1))


def test_never_seen_joint_takes_hip_centre_and_nan_does_not_poison():
    k = _clip(8)
    k[:, 33] = np.nan
    k[2, 5] = np.inf
    filled = fill_missing(k, center=19)
    assert np.allclose(filled[:, 33], filled[:, 19])
    x, _ = prepare_clip(k)
    assert np.isfinite(x).all() and x.min() >= -1 - 1e-6 and x.max() <= 1 + 1e-6
    k[:, 19] = np.nan  # hip centre never seen either: mean of the found joints
    assert np.isfinite(fill_missing(k, center=19)).all()


def test_all_missing_is_an_error():
    with pytest.raises(ValueError, match="no valid keypoint"):
        prepare_clip(np.full((5, 44, 2), np.nan))


@pytest.mark.parametrize("shape", [(10, 43, 2), (10, 44, 3), (44, 2), (0, 44, 2)])
def test_bad_shapes(shape):
    with pytest.raises(ValueError):
        prepare_clip(np.zeros(shape))


def test_batch_and_training_sampling():
    x, it = prepare_batch([_clip(30), _clip(90)], "bone")
    assert x.shape == (2, 2, 64, 44, 1) and it.shape == (2, 64)
    idx = train_indices(30, np.random.default_rng(1))
    assert len(idx) == 64 and (np.diff(idx) >= 0).all() and idx.min() >= 0 and idx.max() < 30
