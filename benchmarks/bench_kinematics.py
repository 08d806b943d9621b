#!/usr/bin/env python3
"""How well the weight-free recognizer (``recognizer.kinematics``) names actions, on truth it did not
make: the generated suite of ``tests/synthetic_actions.py`` (3D persons doing labelled MA-52 actions,
projected with camera and framing variation, pose-like noise and dropouts, through the pipeline's
stabiliser), and the head pose against known angles; also its cost per frame.

    python benchmarks/bench_kinematics.py [--families head head_hand] [--seeds 0 1] [--pose] [--cost]

Prints, per family and action: instances, found right (top-1: the recognized instance overlapping the
true one most has its code), recall, precision (recognized instances that overlap a true instance of
their code), median and 90th-percentile onset/offset errors of the right ones, and the false
instances on the negative clips (no action at all). The totals count the classes the recognizer names
(``COVERED``); instances whose acting hand is never in the picture are listed apart. Families: head,
head_hand, body (A, C, D, E1/E3-E6, G: docs/KINEMATICS_COVERAGE.md). ``--cost`` runs the pipeline (defaults, no
checkpoint) on the 20 s benchmark video of ``benchmarks/bench_pipeline.py`` (the real MA-52 demo clips
concatenated, 30 fps; needs ../shared) and prints the recognizer's share of the run's time.
``docs/KINEMATICS.md`` holds the figures.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from recognizer.kinematics import COVERED, head_pose, recognize  # noqa: E402
from recognizer.kinematics.headpose import euler  # noqa: E402
from tests import synthetic_actions as synth  # noqa: E402


def evaluate(scenarios) -> dict:
    """Per code: counts, right, onset/offset errors; false positives; seconds of recognition per frame."""
    rows: dict[str, dict] = defaultdict(lambda: {"n": 0, "right": 0, "on": [], "off": [], "called": 0,
                                                 "called_right": 0, "confused": defaultdict(int)})
    negatives, invisible, frames, spent = [], [], 0, 0.0
    for sc in scenarios:
        t0 = time.perf_counter()
        found = recognize(sc.keypoints, sc.scores, sc.times, sc.size)
        spent += time.perf_counter() - t0
        frames += len(sc.times)
        if not sc.instances:
            negatives.append((sc.name, [(f.code, round(f.start_s, 2), round(f.end_s, 2)) for f in found]))
            continue
        for truth in sc.instances:
            if getattr(truth, "visible_s", None) == 0:  # the acting hand never in the picture: not countable
                invisible.append((sc.name, truth.code))
                continue
            r = rows[truth.code]
            r["n"] += 1
            best = max(found, key=lambda f: _overlap(f, truth), default=None)
            if best is None or _overlap(best, truth) <= 0:
                r["confused"]["missed"] += 1
                continue
            if best.code == truth.code:
                r["right"] += 1
                r["on"].append(abs(best.start_s - truth.start_s))
                r["off"].append(abs(best.end_s - truth.end_s))
            else:
                r["confused"][best.code] += 1
        for f in found:
            rows[f.code]["called"] += 1
            rows[f.code]["called_right"] += any(t.code == f.code and _overlap(f, t) > 0 for t in sc.instances)
    return {"rows": rows, "negatives": negatives, "invisible": invisible, "ms_per_frame": 1000 * spent / max(frames, 1)}


def _overlap(a, b) -> float:
    return min(a.end_s, b.end_s) - max(a.start_s, b.start_s)


def print_table(name: str, result: dict) -> None:
    rows = result["rows"]
    print(f"\n{name}: {result['ms_per_frame']:.2f} ms of recognition per frame")
    print(f"{'code':5} {'n':>4} {'right':>5} {'recall':>6} {'prec':>6} {'onset p50/p90':>14} {'offset p50/p90':>15}  confused with")
    total = right = timely = 0
    for code in sorted(rows, key=lambda c: (c[0], int(c[1:]))):
        r = rows[code]
        if r["n"] == 0 and r["called"] == 0:
            continue
        if code in COVERED:  # a class the recognizer does not name (C2, C8, G3) is listed, not counted
            total += r["n"]
            right += r["right"]
            timely += sum(a <= 0.3 and b <= 0.3 for a, b in zip(r["on"], r["off"]))
        rec = r["right"] / r["n"] if r["n"] else float("nan")
        prec = r["called_right"] / r["called"] if r["called"] else float("nan")
        on = f"{np.median(r['on']):.2f}/{np.percentile(r['on'], 90):.2f}" if r["on"] else "-"
        off = f"{np.median(r['off']):.2f}/{np.percentile(r['off'], 90):.2f}" if r["off"] else "-"
        conf = ", ".join(f"{k} {v}" for k, v in sorted(r["confused"].items(), key=lambda kv: -kv[1]))
        mark = "" if code in COVERED else "  (not named by the recognizer)"
        print(f"{code:5} {r['n']:4d} {r['right']:5d} {rec:6.2f} {prec:6.2f} {on:>14} {off:>15}  {conf}{mark}")
    print(f"all   {total:4d} {right:5d} {right / max(total, 1):6.2f}   (covered classes; right with onset and offset "
          f"within 0.3 s: {timely})")
    if result["invisible"]:
        print(f"not counted (the acting hand never in the picture): {result['invisible']}")
    for clip, found in result["negatives"]:
        print(f"negative {clip}: {found if found else 'no action'}")


def _camera_angles(pose) -> np.ndarray:
    """The fit's angles relative to the camera's axes (the truth's frame; the recognizer's own angles are
    against the line of sight, roll against the shoulders)."""
    return euler(pose.rotation[0]) if pose.valid[0] else np.full(3, np.nan)


def head_pose_accuracy(seed: int = 0) -> None:
    cases = synth.head_pose_cases(seed=seed)
    print("\nhead pose against known angles (yaw -60..60, pitch/roll -30..30; abs error, deg)")
    print(f"{'iod px':>6} {'|yaw|':>6} {'cases':>5} {'valid':>5}  yaw p50/p90   pitch p50/p90   roll p50/p90")
    for iod in sorted(set(cases.iod_px)):
        for lo, hi in ((0, 30), (31, 45), (46, 60)):
            sel = (cases.iod_px == iod) & (np.abs(cases.angles[:, 0]) >= lo) & (np.abs(cases.angles[:, 0]) <= hi)
            kp, sc = cases.keypoints[sel], cases.scores[sel]
            est = np.array([_camera_angles(head_pose(kp[i:i + 1], sc[i:i + 1], np.zeros(1), cases.size))
                            for i in range(len(kp))])
            ok = np.isfinite(est).all(1)
            err = np.abs(est[ok] - cases.angles[sel][ok])
            cols = "  ".join(f"{np.median(err[:, k]):5.1f}/{np.percentile(err[:, k], 90):5.1f}" for k in range(3)) if ok.any() else "-"
            print(f"{iod:6.0f} {lo:2d}-{hi:<3d} {sel.sum():5d} {ok.mean():5.2f}  {cols}")


def cost(seconds: float = 20.0) -> None:
    """The weight-free recognizer's time against a whole run of the pipeline on the 20 s video."""
    import json
    import tempfile

    import run_pipeline
    from bench_pipeline import real_footage
    from pose.result import load_pose

    demo = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "ma52_demo"
    with tempfile.TemporaryDirectory() as tmp:
        video = real_footage(demo, seconds, Path(tmp) / "interview.mp4")
        t0 = time.perf_counter()
        assert run_pipeline.main([str(video), "--out", str(Path(tmp) / "out"), "--no-report"]) == 0
        run_s = time.perf_counter() - t0
        doc = json.loads((Path(tmp) / "out" / "interview.json").read_text())
        pose = load_pose(Path(tmp) / "out" / "interview.pose.npz")
        track = pose.tracks[0]
        spent = []
        for _ in range(3):
            t0 = time.perf_counter()
            recognize(track.keypoints, track.scores, pose.times, (pose.width, pose.height), pose.cuts)
            spent.append(time.perf_counter() - t0)
    rec = min(spent)
    print(f"\n{seconds:g} s video: run {run_s:.1f} s (record total_s {doc['timing']['total_s']:.1f} s); "
          f"recognizer {rec * 1000:.0f} ms = {100 * rec / run_s:.2f} % of the run "
          f"({1000 * rec / len(pose.times):.2f} ms per frame)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+", default=["head", "head_hand"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--pose", action="store_true", help="also the head pose against known angles")
    ap.add_argument("--cost", action="store_true", help="also the recognizer's share of a 20 s run (needs ../shared)")
    args = ap.parse_args()
    print(f"covered codes: {' '.join(COVERED)}")
    for family in args.families:
        scen = [s for seed in args.seeds for s in synth.suite(family, seed=seed)]
        print_table(f"{family} (seeds {args.seeds}, {len(scen)} clips)", evaluate(scen))
    if args.pose:
        head_pose_accuracy()
    if args.cost:
        cost()


if __name__ == "__main__":
    main()
