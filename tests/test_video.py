"""Probing and streaming decode: real timestamps, variable frame rate, rotation, bad files."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.ffmpeg_tools import VideoError
from pipeline.video_probe import frame_times, probe
from pipeline.video_decode import iter_frames, prefetch
from tests.helpers import blank_video, ffmpeg


def test_constant_rate_times(tmp_path):
    path = blank_video(tmp_path / "cfr.mp4", seconds=2, fps=10)
    info = probe(path)
    assert (info.width, info.height) == (96, 64)
    assert info.fps == pytest.approx(10)
    assert info.duration == pytest.approx(2.0, abs=0.11)
    frames = list(iter_frames(path, info))
    assert len(frames) == 20
    assert [f.index for f in frames] == list(range(20))
    assert np.allclose([f.time for f in frames], np.arange(20) / 10, atol=1e-3)
    assert frames[0].image.shape == (64, 96, 3) and frames[0].image.dtype == np.uint8
    assert np.allclose(frame_times(path, info), np.arange(20) / 10, atol=1e-3)


def test_variable_frame_rate_times(tmp_path):
    src = blank_video(tmp_path / "src.mp4", seconds=2, fps=10)
    vfr = tmp_path / "vfr.mp4"
    # frames 10.. are shifted by half a second: a gap, as phones produce when they drop frames
    ffmpeg("-i", str(src), "-vf", "setpts=(N*0.1+gte(N\\,10)*0.5)/TB", "-fps_mode", "vfr",
           "-video_track_timescale", "1000", str(vfr))
    times = np.array([f.time for f in iter_frames(vfr)])
    expected = np.arange(20) * 0.1 + (np.arange(20) >= 10) * 0.5
    assert len(times) == 20
    assert np.allclose(times, expected, atol=2e-3)
    assert np.allclose(frame_times(vfr), expected, atol=2e-3)


def test_rotation_metadata_is_applied(tmp_path):
    src = blank_video(tmp_path / "src.mp4", seconds=1, fps=10, size=(96, 64))
    rot = tmp_path / "rotated.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(src), "-c", "copy", str(rot))
    info = probe(rot)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (64, 96)
    frame = next(iter(iter_frames(rot, info)))
    assert frame.image.shape == (96, 64, 3)


def test_downscaled_decode_keeps_aspect(tmp_path):
    path = blank_video(tmp_path / "big.mp4", seconds=0.5, fps=10, size=(640, 480))
    frame = next(iter(iter_frames(path, max_side=320)))
    assert frame.image.shape == (240, 320, 3)


@pytest.mark.parametrize("content, problem", [
    (b"", "empty file"),
    (b"this is a text file, not a video\n" * 20, "not a readable video"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, problem):
    path = tmp_path / "bad clip ü.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError) as e:
        probe(path)
    assert str(path) in str(e.value) and problem in str(e.value)
    assert "\n" not in str(e.value)


def test_audio_only_and_missing(tmp_path):
    audio = tmp_path / "voice.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(audio))
    with pytest.raises(VideoError, match="no video stream .audio-only file."):
        probe(audio)
    with pytest.raises(VideoError, match="no such file"):
        probe(tmp_path / "absent.mp4")


def test_still_images_are_refused_by_name(tmp_path):
    """A photo given as a video (whatever its file name says) is a one-line error, not a one-frame run."""
    for name, codec in (("portrait.jpg", "mjpeg"), ("renamed photo.mp4", "png"), ("x.webp", "webp")):
        path = tmp_path / name
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1",
               *(["-f", "image2", "-c:v", "png"] if codec == "png" else []), str(path))
        with pytest.raises(VideoError) as e:
            probe(path)
        assert str(e.value) == f"{path}: a still image ({codec}), not a video"
    gif = tmp_path / "anim.gif"  # an animation is a video
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "1", str(gif))
    assert probe(gif).fps == 10


def test_truncated_video(tmp_path):
    good = blank_video(tmp_path / "good.mp4", seconds=2, fps=10)
    data = good.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError) as e:
        list(iter_frames(cut))
    assert str(cut) in str(e.value)


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
