"""microaction-agree on an archive-sized sample: time, peak memory, page size and time to open.

Generates ``--videos`` codings of ``--minutes`` each by ``--coders`` coders (one CSV per video with a
coder column on the reference side, one CSV per video for the other coder): an MA-52 action every
3 s on average, each coder moving the boundaries by up to 0.3 s, naming another action of the same
body part 15 % of the time and missing or adding 10 % of the events. Then runs the command's main
(timed; peak memory from the operating system) and opens ``agreement.html`` in headless Chromium.

    python benchmarks/bench_agreement.py --videos 10 --minutes 60 --coders 3
"""
from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def coding(rng, truth: list[tuple[float, float, str]], same_part: dict[str, list[str]]) -> list[tuple]:
    out = []
    for a, b, code in truth:
        if rng.random() < 0.1:
            continue  # missed
        if rng.random() < 0.15:
            code = str(rng.choice(same_part[code]))
        out.append((round(a + rng.uniform(-0.3, 0.3), 3), round(b + rng.uniform(-0.3, 0.3), 3), code))
        if rng.random() < 0.1:
            out.append((round(b + 0.5, 3), round(b + 1.5, 3), code))  # added
    return [(max(a, 0.0), b, c) for a, b, c in out if b > max(a, 0.0)]


def make(folder: Path, videos: int, minutes: float, coders: int, seed: int = 0) -> tuple[Path, Path]:
    from definitions.labels import ma52_labels

    labels = ma52_labels()
    same_part = {a.code: [b.code for b in labels.actions if b.body_id == a.body_id] for a in labels.actions}
    rng = np.random.default_rng(seed)
    (folder / "other").mkdir(parents=True)
    with open(folder / "reference.csv", "w", newline="") as f:
        ref = csv.writer(f)
        ref.writerow(["video", "coder", "start_s", "end_s", "label"])
        for v in range(videos):
            t, truth = 0.0, []
            while t < minutes * 60 - 3:
                t += rng.exponential(1.5)
                length = rng.uniform(1.0, 2.5)
                truth.append((t, min(t + length, minutes * 60), labels[int(rng.integers(len(labels)))].code))
                t += length
            for c in range(coders - 1):
                ref.writerows((f"v{v:02d}", f"coder{c + 1}", *row) for row in coding(rng, truth, same_part))
            with open(folder / "other" / f"v{v:02d}.csv", "w", newline="") as g:
                w = csv.writer(g)
                w.writerow(["start_s", "end_s", "label"])
                w.writerows(coding(rng, truth, same_part))
    return folder / "reference.csv", folder / "other"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=10)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--coders", type=int, default=3, help="coders in all (the reference CSV holds all but one)")
    args = ap.parse_args()
    from agreement import cli
    from tests import browser

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ref, other = make(work, args.videos, args.minutes, args.coders)
        t = time.perf_counter()
        code = cli.main([str(ref), str(other), "--out", str(work / "out")])
        took = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        page = work / "out" / "agreement.html"
        print(f"{args.videos} videos x {args.minutes:g} min, {args.coders} coders: exit {code}, {took:.1f} s, "
              f"peak memory {peak:.0f} MB, agreement.html {page.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
        if browser.available():
            with browser.chromium(work) as d:
                opened = browser.open_page(d, page, timeout=120)
                print(f"opens in {opened:.2f} s in headless Chromium, console errors: {browser.console_errors(d)}",
                      file=sys.stderr)


if __name__ == "__main__":
    main()
