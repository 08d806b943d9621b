"""Robustness, third pass (issue 30, first half): each case runs the command as a user would and asserts
the exact outcome (exit code, the one-line message, what is on disk). Timestamp cases are in
``tests/test_timestamps.py``, frame rates in ``tests/test_frame_rate.py``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.export import validate
from tests.test_robustness import _person_video, _run


def _doc(out: Path, name: str) -> dict:
    doc = json.loads((out / f"{name}.json").read_text())
    validate(doc)
    return doc


# -- item 2: clip mode respects stillness -------------------------------------------------------------
def test_a_still_clip_is_still_in_clip_mode(tmp_path, capsys, ref_checkpoint, demo_dir):
    """A real frame repeated for 2 s (nothing moves; energy ~0.02; the issue: one "lower limb" or "head"
    segment at 0.013-0.023): no segment, no body part, no action, in clip mode as in long mode;
    ``--still-threshold 0`` classifies it anyway."""
    from pipeline.sample import frozen_video

    video = frozen_video(demo_dir / "B1_nodding__0019_02_0078.mp4", tmp_path / "still.mp4", seconds=2.0)
    code, err = _run([video, "--out", tmp_path / "out", "--mode", "clip", "--checkpoint", ref_checkpoint,
                      "--device", "cpu", "--workers", "1", "--no-report"], capsys)
    assert code == 0, err
    doc = _doc(tmp_path / "out", "still")
    assert doc["segments"] == []
    [window] = doc["windows"]
    assert window["status"] == "still" and window["motion_energy"] < 0.06 and "action_code" not in window
    assert any(n.startswith("The clip's motion energy (") and "is reported as still" in n for n in doc["notes"])
    assert (tmp_path / "out" / "still.csv").read_text().count("\n") == 1  # the header only
    code, err = _run([video, "--out", tmp_path / "out", "--mode", "clip", "--still-threshold", "0",
                      "--workers", "1", "--no-report"], capsys)  # the pose cache is reused
    assert code == 0, err
    [segment] = _doc(tmp_path / "out", "still")["segments"]
    assert segment["movement"]["body_part"] is not None


# -- item 4: user errors are one family; everything else is a bug with its traceback kept ----------------
def test_a_bug_while_loading_the_models_keeps_its_traceback(tmp_path, capsys, monkeypatch, ref_checkpoint):
    """A ValueError inside our model loading was printed as if the user were wrong (one line, no traceback)."""
    import recognizer.inference
    from tests.helpers import blank_video

    def broken(self, *args, **kwargs):
        raise ValueError("an internal table is missing a key")

    monkeypatch.setattr(recognizer.inference.Recognizer, "__init__", broken)
    video = blank_video(tmp_path / "v.mp4")
    out = tmp_path / "out"
    code, err = _run([video, "--out", out, "--checkpoint", ref_checkpoint, "--workers", "1"], capsys)
    line = " ".join(err.split())
    assert code == 1
    assert f"error: ValueError: an internal table is missing a key (traceback in {out / 'errors.log'})" in line
    log = (out / "errors.log").read_text()
    assert "loading the models" in log and "Traceback" in log and "def broken" not in err


def test_a_value_error_in_the_analysis_is_a_bug_not_the_users(tmp_path, capsys, monkeypatch):
    import pipeline.analysis

    def broken(*args, **kwargs):
        raise ValueError("shapes (3,) and (4,) not aligned")

    monkeypatch.setattr(pipeline.analysis, "analyse_track", broken)
    video = _person_video(tmp_path / "v.mp4")
    out = tmp_path / "out"
    code, err = _run([video, "--out", out, "--workers", "1", "--no-report"], capsys)
    line = " ".join(err.split())
    assert code == 1 and "ValueError: shapes (3,) and (4,) not aligned (traceback in" in line
    assert "Traceback" in (out / "errors.log").read_text() and "Traceback" not in err


def test_user_errors_are_one_line_without_a_log(tmp_path, capsys):
    video = _person_video(tmp_path / "v.mp4")
    out = tmp_path / "out"
    code, err = _run([video, "--out", out, "--person", "999", "--workers", "1", "--no-report"], capsys)
    line = " ".join(err.split())
    assert code == 1 and f"{video}: no person with id 999 in this video (ids seen: 0; --person all" in line
    assert "traceback" not in line.lower() and not (out / "errors.log").exists()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    code, err = _run([video, "--out", tmp_path / "out2", "--checkpoint", bad, "--workers", "1"], capsys)
    assert code == 2 and "bad.pt: not a readable PyTorch checkpoint" in err and "traceback" not in err.lower()
    assert not (tmp_path / "out2").exists()


# -- item 7: thumbnails bounded by both sides -----------------------------------------------------------
def test_a_very_thin_video_needs_little_memory(tmp_path):
    """A 1.8 KB file of 2 x 2000 px frames took the run past 3 GB (cut-detection thumbnails of 256 x 256000;
    2.9 GB measured): its thumbnails now fit a 256 px square (about 300 MB for the whole command)."""
    import os
    import subprocess
    import sys
    import time

    from pipeline.video_decode import _scaled_size
    from tests.conftest import ROOT
    from tests.helpers import ffmpeg

    assert _scaled_size(2, 2000, 256, enlarge=True) == (2, 256)
    assert _scaled_size(1920, 1080, 256, enlarge=True) == (256, 144)
    assert _scaled_size(96, 64, 256, enlarge=True) == (256, 170)
    video = tmp_path / "thin.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=2x2000:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(video))
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_pipeline.py"), str(video), "--out", str(tmp_path / "out"),
                             "--workers", "1", "--no-report"], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0  # the command's own peak resident size (VmHWM: ru_maxrss would start at this test process's size)
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.02)
    assert proc.returncode == 0
    assert 0 < peak < 1000 * 1024, f"{peak / 1024:.0f} MB"  # KiB; about 300 MB measured
    doc = _doc(tmp_path / "out", "thin")
    assert (doc["video"]["width"], doc["video"]["height"], doc["video"]["num_frames"]) == (2, 2000, 10)


# -- item 6: the video stream's duration, not the container's ---------------------------------------------
def _patch_mkv_duration(src: Path, dst: Path, seconds: float) -> Path:
    """``src`` (Matroska) with the Segment's Duration element set to ``seconds`` (a header anyone can edit)."""
    import struct

    data = bytearray(src.read_bytes())
    at = data.find(b"\x44\x89")  # the Duration element: its size byte, then a float in milliseconds
    size = data[at + 2] & 0x7F
    data[at + 3:at + 3 + size] = struct.pack(">d" if size == 8 else ">f", seconds * 1000.0)
    dst.write_bytes(bytes(data))
    return dst


def test_duration_is_the_video_streams(tmp_path, capsys):
    """1.6 s of video with 60 s of audio, a start offset of 1000 s, a header patched to 10 h: the issue found
    60 / 1001.6 / 36000 s, long mode instead of clip mode, and 600 pose chunks for 47 frames."""
    from tests.helpers import ffmpeg

    src = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=30:duration=1.6"]
    ffmpeg(*src, "-f", "lavfi", "-i", "sine=duration=60", "-c:v", "libx264", "-c:a", "aac", str(tmp_path / "audio60.mp4"))
    ffmpeg(*src, "-f", "lavfi", "-i", "sine=duration=60", "-c:v", "libx264", "-c:a", "aac", str(tmp_path / "audio60m.mkv"))
    ffmpeg(*src, "-c:v", "libx264", "-output_ts_offset", "1000", str(tmp_path / "offset.mkv"))
    ffmpeg(*src, "-c:v", "libx264", str(tmp_path / "plain.mkv"))
    _patch_mkv_duration(tmp_path / "plain.mkv", tmp_path / "patched.mkv", 36000)
    names = ["audio60.mp4", "audio60m.mkv", "offset.mkv", "patched.mkv"]
    code, err = _run([*(tmp_path / n for n in names), "--out", tmp_path / "out", "--workers", "1", "--no-report"],
                     capsys)
    assert code == 0, err
    for name in names:
        doc = _doc(tmp_path / "out", Path(name).stem)
        assert doc["video"]["duration_s"] == pytest.approx(1.6, abs=0.034), name
        assert doc["video"]["num_frames"] == 48 and doc["analysis"]["mode"] == "clip", name
        assert doc["timing"]["pose_chunks"] == 1, name


# -- item 10: no silent pixel scale ----------------------------------------------------------------------
def test_body_scale_falls_back_to_the_face_then_says_it_is_unknown():
    """Without a torso (and shoulders) seen, the scale was 1 pixel: every threshold silently in pixels."""
    import numpy as np

    from definitions.body import SHOULDERS_TO_TORSO
    from definitions.layout import ma52_layout
    from pipeline import motion
    from pipeline.segments import analyse_track
    from pose.types import PersonTrack

    L = ma52_layout()
    n = 60
    t = np.arange(n) / 30
    kp = np.full((n, 44, 2), np.nan, np.float32)
    kp[:, L.indices("left_eye", "right_eye")] = [[300, 200], [340, 200]]
    kp[:, L.indices("upper_lip_top", "lower_lip_bottom")] = [[320, 226], [320, 234]]  # 30 px below the eyes
    assert motion.body_scale(kp) == pytest.approx(30 * motion.HEAD_TO_TORSO)
    kp[:, L.indices("left_shoulder", "right_shoulder")] = [[200, 400], [440, 400]]
    assert motion.body_scale(kp) == pytest.approx(240 * SHOULDERS_TO_TORSO)
    hands = np.full((n, 44, 2), np.nan, np.float32)
    hands[:, L.indices(*[name for name in L.names if "hand" in name])] = 300.0
    hands[:, :, 0] += 20 * np.sin(2 * np.pi * t)[:, None]  # waving
    assert motion.body_scale(hands) is None
    track = PersonTrack(0, hands, np.where(np.isfinite(hands[..., 0]), 0.9, 0.0).astype(np.float32),
                        np.ones((n, 44), np.uint8))
    segments, windows = analyse_track(track, t, (640, 480), "long")
    assert segments == [] and windows and {w.status for w in windows} == {"absent"}


# -- item 8: MPEG transport streams, and a decoder crash is not a bad file ----------------------------------
def test_transport_streams_are_read(tmp_path, capsys):
    """.ts and camcorders' .mts (AVCHD: 192-byte packets): the bundled static ffprobe 6.0 crashed on every
    one (exit 139) and the message blamed the file."""
    from tests.helpers import ffmpeg

    src = _person_video(tmp_path / "src.mp4", seconds=1.0)
    ffmpeg("-i", str(src), "-c:v", "libx264", "-f", "mpegts", str(tmp_path / "clip.ts"))
    ffmpeg("-i", str(src), "-c:v", "libx264", "-f", "mpegts", "-mpegts_m2ts_mode", "1", str(tmp_path / "camera.mts"))
    code, err = _run([tmp_path / "clip.ts", tmp_path / "camera.mts", "--out", tmp_path / "out", "--workers", "1",
                      "--no-report"], capsys)
    assert code == 0, err
    for name in ("clip", "camera"):
        doc = _doc(tmp_path / "out", name)
        assert doc["video"]["num_frames"] == 10 and doc["video"]["duration_s"] == pytest.approx(1.0, abs=0.01)
        assert doc["pose"]["persons"], name  # the portrait was seen


def test_a_decoder_crash_is_not_blamed_on_the_file(tmp_path, capsys, monkeypatch):
    import pipeline.video_decode

    crashing = tmp_path / "ffmpeg"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    video = _person_video(tmp_path / "v.mp4")
    monkeypatch.setattr(pipeline.video_decode, "ffmpeg_exe", lambda: str(crashing))
    out = tmp_path / "out"
    code, err = _run([video, "--out", out, "--workers", "1", "--no-report"], capsys)
    line = " ".join(err.split())
    assert code == 1
    assert (f"failed: DecoderCrash: {video}: ffmpeg ({crashing}) was killed by signal 11 while decoding it: a fault "
            "of that ffmpeg build or the machine (memory?), not necessarily of the file (traceback in") in line
    assert "not a readable video" not in line and "could not decode" not in line


def test_a_decoder_crash_is_named_when_its_pipes_close_before_it_dies(tmp_path, monkeypatch):
    """ffmpeg's output ends a moment before the process can be reaped (here: its pipes closed 0.5 s before
    the crash). The reader must wait for it rather than kill it as if it hung: a race that, under load,
    read the crash as "could not decode video" (seen in 2 of 9 runs of the test above)."""
    import pipeline.video_decode
    from pipeline.video_decode import DecoderCrash, iter_frames

    crashing = tmp_path / "ffmpeg"
    crashing.write_text("#!/bin/sh\nexec 1>&- 2>&-; sleep 0.5; kill -SEGV $$\n")
    crashing.chmod(0o755)
    video = _person_video(tmp_path / "v.mp4")
    monkeypatch.setattr(pipeline.video_decode, "ffmpeg_exe", lambda: str(crashing))
    with pytest.raises(DecoderCrash, match="killed by signal 11"):
        list(iter_frames(video))


# -- item 9: the main video stream, and a picture that changes size ------------------------------------
def test_a_change_of_picture_size_is_fitted_and_noted(tmp_path, capsys):
    """480x270, then 360x432 in the same stream (the issue: later frames stretched, the record says 480x270,
    no note)."""
    from pipeline.video_decode import iter_frames
    from pipeline.video_probe import probe
    from tests.helpers import ffmpeg

    src = _person_video(tmp_path / "p.mp4", seconds=1.0, size=256)
    for name, (w, h) in (("a", (480, 270)), ("b", (360, 432))):
        ffmpeg("-i", str(src), "-vf", f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:-1:-1",
               "-c:v", "libx264", "-bf", "0", "-f", "h264", str(tmp_path / f"{name}.h264"))
    (tmp_path / "ab.h264").write_bytes((tmp_path / "a.h264").read_bytes() + (tmp_path / "b.h264").read_bytes())
    video = tmp_path / "changed.mkv"
    ffmpeg("-r", "10", "-i", str(tmp_path / "ab.h264"), "-c", "copy", "-bsf:v", "setts=ts=N/10/TB", str(video))
    frames = list(iter_frames(video, probe(video), small_width=256))
    assert [f.size for f in frames] == [(480, 270)] * 10 + [(360, 432)] * 10
    later = frames[15].image.astype(int)  # 360x432 fitted into 480x270: 225 px wide, black on both sides
    assert later.shape == (270, 480, 3) and later[:, :120].max() < 20 and later[:, 200:280].mean() > 40
    code, err = _run([video, "--out", tmp_path / "out", "--workers", "1", "--no-report", "--mode", "long"], capsys)
    assert code == 0, err
    doc = _doc(tmp_path / "out", "changed")
    assert ("The picture changes size at 1.00 s (to 360x432; the video is 480x270): later frames are fitted into that "
            "size (not stretched), and the change counts as a shot boundary.") in doc["notes"]
    assert [s["first_frame"] for s in doc["shots"]] == [0, 10]


def test_the_largest_video_stream_is_analysed_and_the_others_named(tmp_path, capsys):
    """A 160x90 test pattern as the first video stream, the camera second: the pattern was analysed."""
    from tests.helpers import ffmpeg

    src = _person_video(tmp_path / "p.mp4", seconds=1.0, size=256)
    video = tmp_path / "two.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=1", "-i", str(src), "-map", "0:v", "-map", "1:v",
           "-c:v", "libx264", str(video))
    code, err = _run([video, "--out", tmp_path / "out", "--workers", "1", "--no-report"], capsys)
    assert code == 0, err
    doc = _doc(tmp_path / "out", "two")
    assert (doc["video"]["width"], doc["video"]["height"]) == (256, 256) and doc["pose"]["persons"]
    assert ("Analysed video stream #1 (256x256 h264), the largest; the file's other video stream (#0 160x90 h264) "
            "not analysed.") in doc["notes"]


# -- item 3: no frame goes missing without a word ------------------------------------------------------
def _damaged_video(tmp_path: Path) -> Path:
    """3 s of the nodding portrait at 10 fps, a keyframe every second, whose bytes for 1.0-2.0 s are
    overwritten with noise: those 10 frames cannot be decoded, the decoder recovers at the 2 s keyframe."""
    import av
    import numpy as np

    from pipeline.sample import sample_frames
    from pipeline.video_write import write_video
    from tests.helpers import ffmpeg

    src = tmp_path / "src.mp4"
    write_video(src, iter(list(sample_frames(5.0, 10, 160))[20:]), 10, (160, 160))
    video = tmp_path / "damaged.mp4"
    ffmpeg("-i", str(src), "-c:v", "libx264", "-g", "10", "-bf", "0", str(video))
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        middle = [(p.pos, p.pos + p.size) for p in c.demux(s) if p.pts is not None and 1.0 <= p.pts * s.time_base < 2.0]
    data = bytearray(video.read_bytes())
    lo, hi = min(a for a, _ in middle), max(b for _, b in middle)
    data[lo:hi] = np.random.default_rng(1).integers(0, 256, hi - lo, dtype=np.uint8).tobytes()
    video.write_bytes(bytes(data))
    return video


def test_a_damaged_middle_is_named_with_its_time_span(tmp_path, capsys):
    video = _damaged_video(tmp_path)
    code, err = _run([video, "--out", tmp_path / "out", "--workers", "1", "--no-report", "--mode", "long"], capsys)
    assert code == 0, err
    assert "warning: 10 of the 30 frames could not be decoded (1.00-2.00 s): nothing there is analysed" in " ".join(err.split())
    doc = _doc(tmp_path / "out", "damaged")
    v = doc["video"]
    assert (v["frames_expected"], v["num_frames"], v["frames_analysed"]) == (30, 20, 20)
    assert v["missing"] == [{"start_s": 1.0, "end_s": 2.0, "frames": 10}]
    assert ("10 frames from 1.00 s to 2.00 s could not be decoded (the file is damaged there?): nothing in that "
            "stretch is analysed.") in doc["notes"]
    assert not any(n.startswith("No frame from") for n in doc["notes"])  # named once, as frames not decoded
    for s in doc["segments"]:
        assert s["end_s"] <= 1.0 + 1e-6 or s["start_s"] >= 2.0 - 1e-6, s


def test_a_reader_failure_is_never_a_silent_end(tmp_path, monkeypatch):
    """_pump took any reader exception (the 60 s frame-time timeout too) for the end of the video."""
    import pipeline.video_decode
    from pipeline.video_decode import DecodeStopped, iter_frames
    from tests.helpers import blank_video

    video = blank_video(tmp_path / "v.mp4", seconds=2, fps=10)
    real, calls = pipeline.video_decode._read_exact, []

    def failing(pipe, size):
        calls.append(size)
        if len(calls) == 8:
            raise OSError("Input/output error")
        return real(pipe, size)

    monkeypatch.setattr(pipeline.video_decode, "_read_exact", failing)
    with pytest.raises(DecodeStopped, match=r"v.mp4: reading the decoded frames stopped after \d frames "
                                            r"\(OSError: Input/output error\)"):
        list(iter_frames(video))
