"""Overlapped stages give the results of sequential ones."""
from __future__ import annotations

import pytest

from pipeline.overlap import prefetch
from pipeline.sample import make_sample_video
from tests.helpers import streamed_and_sequential


def test_prefetch_order_errors_and_early_stop():
    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("decoder died")

    with pytest.raises(ValueError, match="decoder died"):
        list(prefetch(broken()))
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    for i in prefetch(endless(), depth=2):
        if i == 5:
            break
    assert closed == [True]  # the producer (e.g. ffmpeg) is shut down when the consumer stops


def test_streamed_mmn_equals_sequential(tmp_path, ref_checkpoint):
    video = make_sample_video(tmp_path / "talk.mp4", seconds=8, fps=10, size=192)
    docs = streamed_and_sequential(video, tmp_path, ref_checkpoint)
    assert docs[True]["segments"] and docs[True]["segments"] == docs[False]["segments"]
    assert docs[True]["windows"] == docs[False]["windows"]
