"""Small generated inputs for tests (videos are made with the real encoder)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from pipeline.ffmpeg_tools import ffmpeg_exe
from pipeline.video_write import write_video

BIN = Path(sys.executable).parent  # the installed commands (microaction-*) of this environment


def blank_video(path: Path, seconds: float = 1.0, fps: float = 10, size=(96, 64), colour=(30, 90, 160)) -> Path:
    frames = (np.full((size[1], size[0], 3), colour, np.uint8) for _ in range(int(seconds * fps)))
    write_video(path, frames, fps, size)
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def pipeline_pose(video: Path, out: Path):
    """The pose of ``video`` as the pipeline computes it (a real run, long mode, one worker), read back
    from the pose cache the run writes (``out/NAME.pose.npz``; the run's JSON lies beside it)."""
    from pipeline.inputs import VideoJob
    from pipeline.options import Options
    from pipeline.run import Pipeline
    from pose.result import load_pose

    pipe = Pipeline.from_options(Options(out=out, mode="long", workers=1))
    try:
        pipe.process(VideoJob(video, Path(video.stem)))
    finally:
        pipe.close()
    return load_pose(out / f"{video.stem}.pose.npz")


MOTIONS = ("nod", "shake_head", "wave_right", "shake_left_leg")


def synthetic_clips(n_per_class: int, seed: int, classes=MOTIONS):
    """Class-dependent motions on the 44-joint skeleton: a fixed body with per-clip placement, size
    and noise; class k moves one region in one direction (head up-down, head sideways, right arm up-down,
    left leg sideways)."""
    from definitions.layout import REGIONS, ma52_layout
    from definitions.skeleton_io import SkeletonClip

    layout = ma52_layout()
    template = np.random.default_rng(0).random((44, 2)) * [300, 700] + [200, 100]
    moving = {
        "nod": (layout.indices(*REGIONS["head"]), (0, 1)),
        "shake_head": (layout.indices(*REGIONS["head"]), (1, 0)),
        "wave_right": (layout.indices("right_elbow", "right_wrist", *[n for n in layout.names if n.startswith("right_hand")]), (0, 1)),
        "shake_left_leg": (layout.indices("left_knee", "left_ankle", "left_big_toe", "left_small_toe", "left_heel"), (1, 0)),
    }
    rng = np.random.default_rng(seed)
    clips = []
    for label, name in enumerate(classes):
        joints, direction = moving[name]
        for i in range(n_per_class):
            length = int(rng.integers(40, 90))
            t = np.arange(length) / 30.0
            freq, amp = rng.uniform(1.5, 3.0), rng.uniform(15, 30)
            k = np.repeat((template * rng.uniform(0.8, 1.2) + rng.uniform(-50, 50, 2))[None], length, axis=0)
            k[:, joints] += (amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3)))[:, None, None] * np.array(direction)
            k += rng.normal(0, 1.5, k.shape)
            clips.append(SkeletonClip(f"{name}_{seed}_{i:03d}", k.astype(np.float32), label=label))
    return clips


def write_label_tsv(path, classes=MOTIONS):
    lines = ["action_id\tcode\taction_name\tbody_id\tbody_name"]
    bodies = {"nod": (1, "head"), "shake_head": (1, "head"), "wave_right": (2, "upper limb"),
              "shake_left_leg": (3, "lower limb")}
    for i, name in enumerate(classes):
        b = bodies.get(name, (0, "body"))
        lines.append(f"{i}\tX{i + 1}\t{name.replace('_', ' ')}\t{b[0]}\t{b[1]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def docs_by_workers(video: Path, out: Path, checkpoint: Path | None, workers=(1, 2), **opts) -> dict[int, dict]:
    """The long-mode result documents of ``video`` with each number of pose workers."""
    from pipeline.posework import InlineWorkers, LocalWorkers
    from pipeline.inputs import VideoJob
    from pipeline.options import Options
    from pipeline.run import Pipeline

    docs = {}
    for n in workers:
        pipe = Pipeline.from_options(Options(out=out / f"w{n}", mode="long", checkpoint=checkpoint, device="cpu",
                                             workers=n, **opts))
        try:
            docs[n] = pipe.process(VideoJob(video, Path(video.stem))).doc
            # n worker processes really ran the chunks (one: this process)
            assert type(pipe.pool.workers) is (LocalWorkers if n > 1 else InlineWorkers) and pipe.pool.workers.workers == n
        finally:
            pipe.close()
        docs[n].pop("timing")
        docs[n].pop("outputs")  # the files' fingerprints: the ELAN file holds its date and paths
    return docs


def dies_in_worker(task):
    """A chunk-task stand-in whose process dies: always for a task of ``video`` "crash", once (then it
    leaves a marker file beside itself) for a task of a video path ending in "once"."""
    import os

    if task.video == "crash":
        os._exit(3)
    if task.video.endswith("once"):
        marker = Path(task.video + ".died")
        if not marker.exists():
            marker.write_text("")
            os._exit(3)
    return task.index


def worker_imports(task):
    """A chunk-task stand-in that tells what its worker process had imported before the task ran, and
    its parent process."""
    import os
    import sys

    return {"mediapipe": "mediapipe" in sys.modules, "torch": "torch" in sys.modules, "parent": os.getppid()}


def cmd(name: str, *args, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    """An installed command (``microaction-run`` ...) as a user runs it, from ``cwd``."""
    import pytest

    exe = BIN / name
    if not exe.exists():
        pytest.fail(f"{exe} is missing: install the tool as the README says (pip install -r requirements.txt -e .)")
    env = dict(os.environ, PYTHONPATH="")  # nothing from the repository but what the install provides
    res = subprocess.run([str(exe), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if ok:
        assert res.returncode == 0, res.stderr[-3000:]
    return res


def confusion_png_ok(path: Path, classes: int, well_recognised: bool = True) -> None:
    """``path`` is the confusion matrix ``recognizer.metrics.save_confusion_png`` draws: a PNG of the size
    its figure has for ``classes`` classes (110 dpi), neither blank nor one colour: a white background,
    blue cells, and (``well_recognised``) the dark blue of cells near 100 % (the ``Blues`` colour map)."""
    from matplotlib.image import imread

    img = imread(path)  # floats in 0..1, RGBA
    side = max(6.0, 0.3 * classes + 3)
    assert img.shape[:2] == (round(side * 110), round((side + 1.5) * 110)), img.shape
    rgb = img[..., :3]
    white = np.all(rgb > 0.97, axis=-1).mean()
    dark_blue = np.all(np.abs(rgb - np.array([8, 48, 107]) / 255) < 0.08, axis=-1).mean()
    blue = ((rgb[..., 2] - rgb[..., 0]) > 0.15).mean()  # any shade of the map (the colour bar alone: ~2 %)
    assert 0.2 < white < 0.95 and blue > 0.1 and (dark_blue > 0.01 or not well_recognised), (white, blue, dark_blue)
