"""Browser report of a long generated interview: size and time to open in headless Chromium.

Makes the sample interview (the animated astronaut portrait, its 10 s script repeated) for
``--minutes``, runs the pipeline on it (pose on ``--pose-fps`` frames a second, to keep the run
short; the report does not depend on it), then rebuilds the report from the JSON record (timed) and
opens it in headless Chromium ``--opens`` times: seconds until its plots are drawn (the page's ready
flag), console errors, file size. Targets (issue 18): under 2 s to open, under 5 MB.

    python benchmarks/bench_report.py --minutes 10
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--pose-fps", default="10")
    ap.add_argument("--opens", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="work in this folder (kept) instead of a temporary one")
    args = ap.parse_args()

    import run_pipeline
    from pipeline.report.video_page import write_video_report
    from pipeline.sample import make_sample_video
    from tests import browser

    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        video = work / "videos" / f"interview_{args.minutes:g}min.mp4"
        t = time.perf_counter()
        make_sample_video(video, seconds=args.minutes * 60)
        print(f"video: {video.name}, {args.minutes:g} min, made in {time.perf_counter() - t:.1f} s")
        out = work / "out"
        t = time.perf_counter()
        code = run_pipeline.main([str(video), "--out", str(out), "--pose-fps", args.pose_fps, "--resume"])
        print(f"pipeline (pose fps {args.pose_fps}): exit {code}, {time.perf_counter() - t:.1f} s")
        js = out / f"{video.stem}.json"
        doc = json.loads(js.read_text())
        t = time.perf_counter()
        path = write_video_report(js, doc, out=out)
        build = time.perf_counter() - t
        size = path.stat().st_size
        print(f"report: {len(doc['segments'])} segments, {len(doc['windows'])} windows; built in {build:.1f} s; "
              f"{size / 1e6:.2f} MB ({size / 2**20:.2f} MiB)")
        with tempfile.TemporaryDirectory() as prof, browser.chromium(Path(prof)) as d:
            times = []
            for _ in range(args.opens):
                times.append(browser.open_page(d, path))
                d.get("about:blank")
            browser.open_page(d, path)
            errors = browser.console_errors(d)
        print(f"open in headless Chromium (until the plots are drawn): median {statistics.median(times):.2f} s, "
              f"all {', '.join(f'{x:.2f}' for x in times)}; console errors: {len(errors)}")
        ok = statistics.median(times) < 2.0 and size < 5 * 2**20 and not errors
        print("targets (< 2 s, < 5 MB, no errors):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
