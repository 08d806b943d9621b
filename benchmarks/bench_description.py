#!/usr/bin/env python3
"""How well does the weight-free movement description do? (pipeline/description.py)

    python benchmarks/bench_description.py [--seeds 4] [--jitter 1 2 3] [--clips DIR] [--real-dev DIR]

1. The labelled synthetic suite (tests/synthetic_motions.py: nods, head shakes, body sways, a hand to
   the face, leg shaking, three pairs back to back, hands resting on the lap; 42 s at 30 fps) with
   pose-model jitter of ``--jitter`` pixels per joint and frame (torso 230 px; 1 px gives still
   stretches the energy that real frozen MediaPipe clips have after stabilisation, ~0.02), through the
   pipeline's stabiliser: body part right, episode edge errors, episodes found beyond the movements,
   touch events (the suite has two, both to the face) and how far they are from the true contact.
2. The MA-52 demo clips in clip mode (real pipeline, MediaPipe): body part and each part's own motion.
3. Held-out real footage (``--real-dev``: the first seconds of three clips of fixtures/real_dev that the
   constants were not fitted on, the cuts tests/test_description.py checks): the episodes with their body
   part, each part's own motion over the cut (and, for the standing speaker, while her hands are held
   together and while she gestures), contacts.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.synthetic_motions import SUITE, evaluate  # noqa: E402


def synthetic(seeds: int, jitters: list[float]) -> None:
    print(f"synthetic suite: {len(SUITE)} movements")
    print(f"{'jitter px':>9} {'seed':>4} {'body part':>10} {'edge err max':>12} {'edge err mean':>13} "
          f"{'episodes':>8} {'extra':>5} {'touches':>7} {'touch err':>9}  wrong")
    for jitter in jitters:
        for seed in range(seeds):
            r = evaluate(seed=seed, jitter_px=jitter)
            rows = [x for x in r["rows"] if x["found"]]
            errs = [abs(e) for x in rows for e in (x["start_err"], x["end_err"])]
            right = sum(x.get("part_ok", False) for x in r["rows"])
            wrong = [f"{x['movement'].kind}@{x['movement'].start_s:g}->{x.get('body_part')}"
                     for x in r["rows"] if not x.get("part_ok")]
            print(f"{jitter:9g} {seed:4d} {right:>5d}/{len(r['rows']):<4d} {max(errs):12.2f} {np.mean(errs):13.2f} "
                  f"{r['episodes']:8d} {r['extra']:5d} {len(r['touches']):7d} {max(r['face_touch_errors']):9.2f}  "
                  + " ".join(wrong))


def clips(folder: Path) -> None:
    import run_pipeline

    videos = sorted(folder.glob("*.mp4"))
    if not videos:
        print(f"\n(no clips in {folder})")
        return
    with tempfile.TemporaryDirectory() as out:
        run_pipeline.main([str(folder), "--out", out, "--mode", "clip"])
        print(f"\n{'clip':40} {'body part':>10} {'score':>6}  own motion (torso lengths/s)  contacts")
        for v in videos:
            doc = json.loads((Path(out) / f"{v.stem}.json").read_text())
            mv = doc["segments"][0]["movement"]
            contacts = [f"{c['hand']} {c.get('kind', 'rests on')} {c['target']}"
                        for c in mv["touch_events"] + mv["resting_contacts"]]
            print(f"{v.stem[:40]:40} {mv['body_part']:>10} {mv['body_part_scores'][mv['body_part']]:6.2f}  "
                  + " ".join(f"{k} {e:.3f}" for k, e in mv["part_energy"].items()) + "  " + "; ".join(contacts))


def held_out(folder: Path) -> None:
    from tests.test_description import GESTURES, HANDS_TOGETHER, REAL_CUTS, describe_cut

    if not folder.is_dir():
        print(f"\n(no clips in {folder})")
        return
    print("\nheld-out real footage (long mode): own motion (torso lengths/s); episodes")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (clip, seconds) in REAL_CUTS.items():
            r = describe_cut(folder / clip, seconds, Path(tmp))
            stretches = {f"0-{seconds:g} s": (0.0, seconds)}
            if name == "speaker":
                stretches.update({"hands together": HANDS_TOGETHER, "gesturing": GESTURES})
            for label, (a, b) in stretches.items():
                print(f"{name:8} {label:15} " + " ".join(f"{k} {v:.3f}" for k, v in r.part_motion(a, b).items()))
            episodes = "; ".join(f"{s:.2f}-{e:.2f} s {d['body_part']}" for s, e, d in r.episodes) or "none"
            resting = "; ".join(f"{c['hand']} on {c['target']} {c['start_s']:g}-{c['end_s']:g} s"
                                for c in r.desc.resting) or "none"
            print(f"{name:8} episodes: {episodes}; touch/leave events: {len(r.desc.touches)}; resting: {resting}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--jitter", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "fixtures" / "ma52_demo")
    ap.add_argument("--real-dev", type=Path, default=ROOT.parent / "shared" / "fixtures" / "real_dev")
    args = ap.parse_args()
    synthetic(args.seeds, args.jitter)
    clips(args.clips)
    held_out(args.real_dev)


if __name__ == "__main__":
    main()
