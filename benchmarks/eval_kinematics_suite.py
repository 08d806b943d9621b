#!/usr/bin/env python3
"""The weight-free recognizer (``recognizer.kinematics.recognize``) on the generated MA-52 suite
(``tests/synthetic_actions.py``): per class, how many labelled instances it names right and how precise
its instances are, with their onset and offset errors.

    python benchmarks/eval_kinematics_suite.py [--family body] [--seeds 10 11 12] [--markdown]

An instance is **right** (top-1) when the recognizer's instance that overlaps it most has the same code
(no overlapping instance: missed). A recognizer instance is **precise** when the labelled instance it
overlaps most has its code. Onset and offset errors are over the right ones (seconds, absolute).
Instances whose acting hand was never in the picture (``Instance.visible_s == 0``: a hand spread outside
a narrow portrait picture, a fist on a lap below a waist-up frame) are counted apart ("unseeable"), not
in the figures; and only the classes the recognizer names (``COVERED``) are scored. Negatives (clips
without actions) report every instance found in them.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognizer.kinematics import COVERED, recognize  # noqa: E402
from tests.synthetic_actions import suite  # noqa: E402


@dataclass
class Tally:
    right: int = 0
    labelled: int = 0
    precise: int = 0
    found: int = 0
    onsets: list = field(default_factory=list)
    offsets: list = field(default_factory=list)
    confused: dict = field(default_factory=lambda: defaultdict(int))


def most_overlapping(item, candidates):
    best, shared = None, 0.0
    for c in candidates:
        o = min(item.end_s, c.end_s) - max(item.start_s, c.start_s)
        if o > shared:
            best, shared = c, o
    return best


def evaluate(scenarios, covered=COVERED) -> tuple[dict, list, int, float]:
    """Per-code tallies, the instances found in negatives, the unseeable count, seconds spent."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    negatives, unseeable, spent = [], 0, 0.0
    for s in scenarios:
        t0 = time.perf_counter()
        found = recognize(s.keypoints, s.scores, s.times, s.size)
        spent += time.perf_counter() - t0
        if not s.instances:
            negatives += [(s.name, f.code, round(f.start_s, 2), round(f.end_s, 2)) for f in found]
            continue
        for tr in s.instances:
            if tr.code not in covered:
                continue
            if tr.visible_s is not None and tr.visible_s <= 0:
                unseeable += 1
                continue
            tally = tallies[tr.code]
            tally.labelled += 1
            f = most_overlapping(tr, found)
            if f is not None and f.code == tr.code:
                tally.right += 1
                tally.onsets.append(abs(f.start_s - tr.start_s))
                tally.offsets.append(abs(f.end_s - tr.end_s))
            else:
                tally.confused[f.code if f is not None else "-"] += 1
        for f in found:
            tally = tallies[f.code]
            tally.found += 1
            tr = most_overlapping(f, s.instances)
            tally.precise += int(tr is not None and tr.code == f.code)
    return tallies, negatives, unseeable, spent


def _q(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def report(tallies: dict, negatives: list, unseeable: int, markdown: bool) -> str:
    codes = sorted(tallies, key=lambda c: (c[0], int(c[1:])))
    rows = []
    for c in codes:
        t = tallies[c]
        if not t.labelled and not t.found:
            continue
        rows.append((c, t.right, t.labelled, t.precise, t.found, _q(t.onsets, 50), _q(t.onsets, 95),
                     _q(t.offsets, 50), _q(t.offsets, 95), ", ".join(f"{k} {v}" for k, v in sorted(t.confused.items()))))
    right = sum(tallies[c].right for c in codes if c in COVERED)
    labelled = sum(tallies[c].labelled for c in codes if c in COVERED)
    within = sum(sum(1 for a, b in zip(tallies[c].onsets, tallies[c].offsets) if a <= 0.3 and b <= 0.3) for c in codes)
    lines = []
    if markdown:
        lines.append("| code | right | precise | onset median / 95 % (s) | offset median / 95 % (s) | named instead |")
        lines.append("|---|---|---|---|---|---|")
        for c, r, n, p, f, o50, o95, e50, e95, conf in rows:
            lines.append(f"| {c} | {r}/{n} | {p}/{f} | {o50:.2f} / {o95:.2f} | {e50:.2f} / {e95:.2f} | {conf} |")
    else:
        lines.append(f"{'code':5} {'right':>9} {'precise':>9} {'onset 50/95':>12} {'offset 50/95':>13}  named instead")
        for c, r, n, p, f, o50, o95, e50, e95, conf in rows:
            lines.append(f"{c:5} {r:4d}/{n:<4d} {p:4d}/{f:<4d} {o50:5.2f}/{o95:5.2f} {e50:6.2f}/{e95:5.2f}  {conf}")
    lines.append(f"top-1 over the covered classes: {right}/{labelled} = {right / max(labelled, 1):.1%}; "
                 f"right with onset and offset within 0.3 s: {within}/{right}; unseeable instances: {unseeable}")
    lines.append(f"instances in negatives: {negatives if negatives else 'none'}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", default="body", choices=("head", "head_hand", "body"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    scenarios = [s for seed in args.seeds for s in suite(args.family, seed=seed)]
    tallies, negatives, unseeable, spent = evaluate(scenarios)
    print(report(tallies, negatives, unseeable, args.markdown))
    video = sum(float(s.times[-1]) for s in scenarios)
    print(f"{len(scenarios)} clips, {video:.0f} s of video, recognized in {spent:.1f} s")


if __name__ == "__main__":
    main()
