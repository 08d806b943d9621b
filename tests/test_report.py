"""Browser reports (pipeline.report): per-video NAME.report.html, index.html and summary.csv, rebuilt
from the JSON records; opened in headless Chromium (tests.browser)."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from definitions.layout import REGIONS
from pipeline.description import BODY_PARTS
from pipeline.report.cli import main as report_main
from pipeline.report.figures import timeline_figure
from pipeline.report.record_files import find_records, find_results, report_path
from pipeline.report.summary import Entry, categories, summary_csv
from pipeline.report.video_page import write_video_report
from tests import browser
from tests.helpers import ffmpeg

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def batch(tmp_path_factory, ref_checkpoint):
    """A folder run: two generated videos of a real person (MMN with the conformance checkpoint, so the
    action lanes are exercised; its labels mean nothing) and one broken file."""
    import run_pipeline
    from pipeline.sample import make_sample_video

    root = tmp_path_factory.mktemp("report")
    videos = root / "videos"
    make_sample_video(videos / "a" / "interview_1.mp4", seconds=8.0, fps=15, size=256)
    make_sample_video(videos / "b" / "interview_2.mp4", seconds=5.0, fps=15, size=288)
    (videos / "broken.mp4").write_bytes(b"not a video at all" * 100)
    out = root / "out"
    code = run_pipeline.main([str(videos), "--out", str(out), "--checkpoint", str(ref_checkpoint),
                              "--device", "cpu", "--workers", "1"])
    return videos, out, code


def _expected_counts(doc: dict, pid: int) -> Counter:
    """Counts per summary column stem, straight from the record (independent of pipeline.report)."""
    c = Counter()
    touches, actions = set(), set()
    for s in doc["segments"]:
        if s["person"] != pid:
            continue
        if s["action"] and s["action"]["source"] == "mmn":
            c["action_" + s["action"]["code"].lower()] += 1
        for a in s["movement"]["actions"]:  # weight-free instances, each once
            actions.add((a["code"], a["start_s"], a["end_s"]))
        if s["movement"]["body_part"]:
            c["part_" + s["movement"]["body_part"].replace(" ", "_").replace("-", "_")] += 1
        for t in s["movement"]["touch_events"]:
            if t.get("kind", "touch") == "touch":
                touches.add((t["hand"], t["target"], t["start_s"], t["end_s"]))
    for _, target, _, _ in touches:
        c["touch_" + target.replace("/", "_")] += 1
    for code, _, _ in actions:
        c["kin_" + code.lower()] += 1
    return c


def _rows(out: Path) -> list[dict]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_batch_outputs(batch):
    videos, out, code = batch
    assert code == 1  # the broken file failed, the others are done
    for name in ("a/interview_1", "b/interview_2"):
        html = (out / f"{name}.report.html").read_text(encoding="utf-8")
        assert "<video id=\"player\"" in html and "plotly-gz" in html
        assert (out / f"{name}.json").is_file()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="a/interview_1.report.html"' in index and 'href="b/interview_2.report.html"' in index
    assert "broken.mp4" in index and "failed" in index
    rows = _rows(out)
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["video"] == "broken.mp4" and "broken.mp4" in failed[0]["message"]


def test_summary_counts_match_json(batch):
    _, out, _ = batch
    rows = [r for r in _rows(out) if r["status"] == "done"]
    assert rows
    for path, doc in find_results(out):
        persons = {p["id"] for p in doc["pose"]["persons"] if p["analysed"]}
        mine = [r for r in rows if r["path"] == doc["video"]["path"]]
        assert {int(r["person"]) for r in mine} == persons
        minutes = doc["video"]["duration_s"] / 60
        for r in mine:
            pid = int(r["person"])
            want = _expected_counts(doc, pid)
            got = {k[:-2]: int(v) for k, v in r.items() if k.endswith("_n") and int(v)}
            assert got == dict(want), path
            assert int(r["segments"]) == sum(s["person"] == pid for s in doc["segments"])
            for stem, n in want.items():
                assert float(r[f"{stem}_per_min"]) == pytest.approx(n / minutes, abs=1e-3)
            secs = sum(s["duration_s"] for s in doc["segments"] if s["person"] == pid and s["action"]
                       and s["action"]["code"].lower() == "a1")
            assert float(r["action_a1_s"]) == pytest.approx(secs, abs=1e-3)
            # the windows' stretches cover the video once
            total = sum(float(r[k]) for k in ("active_s", "still_s", "absent_s"))
            wins = [w for w in doc["windows"] if w["person"] == pid]
            assert total == pytest.approx(max(w["end_s"] for w in wins) - min(w["start_s"] for w in wins), abs=1e-3)


def _doc(persons=(0, 1), model=True) -> dict:
    """A small hand-made record: two persons, a touch shared by two segments, one resting contact."""
    from definitions.labels import ma52_labels

    touch = {"hand": "left", "target": "face/head", "start_s": 1.2, "end_s": 1.9, "kind": "touch"}
    leave = {"hand": "right", "target": "legs", "start_s": 3.0, "end_s": 3.4, "kind": "leave"}
    rest = {"hand": "right", "target": "legs", "start_s": 0.0, "end_s": 3.0}

    def seg(pid, a, b, part, code=None, touches=(), resting=()):
        action = {"id": 0, "code": code, "name": ma52_labels().by_code(code).name, "probability": 0.7} if code else None
        scores = {p: 0.0 for p in BODY_PARTS}
        if part:
            scores[part] = 0.8
        return {"person": pid, "start_s": a, "end_s": b, "duration_s": round(b - a, 3), "windows": 1,
                "action": action if model else None, "body": {"id": 0, "name": "body"} if model and code else None,
                "top5": [dict(action, body_id=0)] if model and code else [],
                "movement": {"body_part": part, "body_part_scores": scores,
                             "part_energy": {"body": 0.1, "head": 0.1, "upper limb": 0.1, "lower limb": 0.0},
                             "motion_energy": 0.2, "region_energy": {r: 0.1 for r in REGIONS},
                             "touch_events": list(touches), "resting_contacts": list(resting)}}

    segments = [seg(0, 1.0, 2.0, "head-hand", "A1", [touch]), seg(0, 1.5, 2.5, "head-hand", "A1", [touch]),
                seg(0, 3.0, 4.0, "leg-hand", "B1", [leave], [rest]), seg(1, 0.5, 1.0, None),
                seg(1, 5.0, 6.0, "body", "A1")]
    windows = [{"person": pid, "start_s": float(a), "end_s": float(a + 2), "status": st, "motion_energy": 0.1,
                "region_energy": {r: 0.1 for r in REGIONS}}
               for pid in persons for a, st in zip(range(0, 9), ["active", "active", "still", "still", "active",
                                                                  "absent", "absent", "active", "active"])]
    return {"schema_version": 2, "tool": {"name": "microaction-finder", "version": "test"},
            "video": {"file": "v.mp4", "path": "sub/v.mp4", "fingerprint": "x", "duration_s": 10.0, "fps": 30.0,
                      "num_frames": 300, "width": 640, "height": 480, "rotation": 0, "codec": "h264"},
            "pose": {"backend": "mediapipe", "settings": {}, "stabilizer": {}, "cache": None,
                     "persons": [{"id": p, "frames_seen": 300, "presence": 1.0, "mean_area_px": 1.0,
                                  "subject": p == 0, "analysed": True} for p in persons]},
            "model": {"checkpoints": [{"file": "j.pt", "sha256": "0" * 64, "format": "official", "stream": "joint",
                                       "num_joints": 44, "num_classes": 52}], "fusion": "single stream",
                      "labels": "MA-52", "device": "cpu"} if model else None,
            "analysis": {"mode": "long", "requested_mode": "auto", "window_s": 2.0, "stride_s": 1.0,
                         "still_threshold": 0.06, "smooth_s": 0.1, "person": "all"},
            "shots": [{"start_s": 0.0, "end_s": 6.0, "first_frame": 0}, {"start_s": 6.0, "end_s": 10.0,
                                                                          "first_frame": 180}],
            "segments": segments, "windows": windows, "notes": [], "settings_key": "k", "timing": {}}


def test_summary_hand_made_record():
    doc = _doc()
    cats = categories([doc])
    rows = {int(r["person"]): r for r in csv.DictReader(summary_csv(
        [Entry("sub/v.mp4", "done", "", Path("sub/v.json"), doc)], cats).splitlines())}
    p0, p1 = rows[0], rows[1]
    assert (p0["action_a1_n"], p0["action_b1_n"], p1["action_a1_n"]) == ("2", "1", "1")
    assert float(p0["action_a1_s"]) == pytest.approx(2.0) and float(p0["action_a1_per_min"]) == pytest.approx(12.0)
    assert (p0["part_head_hand_n"], p0["part_leg_hand_n"], p1["part_body_n"]) == ("2", "1", "1")
    assert p0["touch_face_head_n"] == "1"  # one touch, shared by two segments; a leave is no touch
    assert float(p0["touch_face_head_s"]) == pytest.approx(0.7)
    assert p0["touch_legs_n"] == "0" and p1["touch_face_head_n"] == "0"
    assert p0["subject"] == "1" and p1["subject"] == "0" and p0["segments"] == "3"
    # windows 0-2 active... owned halves: active 0-2.5, still 2.5-4.5, active 4.5-5.5, absent 5.5-7.5, active 7.5-10
    assert float(p0["active_s"]) == pytest.approx(2.5 + 1.0 + 2.5)
    assert float(p0["still_s"]) == pytest.approx(2.0) and float(p0["absent_s"]) == pytest.approx(2.0)
    # all 52 MA-52 actions get columns when a model was used; none without one
    assert sum(c.group == "action" for c in cats) == 52
    assert not any(c.group == "action" for c in categories([_doc(model=False)]))


def test_status_stretches_give_each_window_the_time_segments_give_it():
    """The report's active/still/absent time (``summary.stretches``, from the record's windows, rounded to
    the millisecond) hands time from window to window where ``segments.make_windows`` does
    (``Window.owned``): one rule (``segments.owned_spans``), equal to the rounding of the record's times."""
    from pipeline.export import window_record
    from pipeline.report.summary import stretches
    from pipeline.segments import make_windows

    for fps, stride in ((24.0, 1.0), (29.97, 0.5), (25.0, 0.75)):
        times = np.arange(int(37.3 * fps)) / fps
        wins = make_windows(times, "long", 2.0, stride)
        for n, w in enumerate(wins):  # no two neighbours alike: every window is a stretch of its own
            w.status = ("active", "still", "absent")[n % 3]
        got = stretches({"windows": [dict(window_record(w), person=0) for w in wins]}, 0)
        assert [s for *_, s in got] == [w.status for w in wins]
        ends = np.array([(a, b) for a, b, _ in got])
        assert np.abs(ends - np.array([w.owned for w in wins])).max() <= 1.001e-3  # rounded in and out


def test_hand_made_report_renders(tmp_path):
    doc = _doc()
    (tmp_path / "sub").mkdir()
    js = tmp_path / "sub" / "v.json"
    js.write_text(json.dumps(doc))
    path = write_video_report(js, doc, out=tmp_path)
    html = path.read_text(encoding="utf-8")
    assert 'href="../index.html"' in html and "video not found" in html
    assert html.count('class="seekable"') == len(doc["segments"])
    timeline = timeline_figure(doc)
    lanes = {y for t in timeline["data"] for y in t["y"]}
    assert lanes == {"#0 action", "#0 body part", "#0 hands", "#0 still/absent",
                     "#1 action", "#1 body part", "#1 still/absent"}
    hands = [t for t in timeline["data"] if t["y"][0] == "#0 hands"]
    assert sorted(t["name"] for t in hands) == ["leave legs", "resting legs", "touch face/head"]
    cut_lines = [s for s in timeline["layout"]["shapes"] if s["x0"] == 6.0]
    assert len(cut_lines) == 1  # the camera cut


def test_rebuild_from_json_cli(batch, tmp_path):
    videos, out, _ = batch
    copy = tmp_path / "old_run"
    shutil.copytree(out, copy)
    for p in list(copy.rglob("*.html")) + [copy / "summary.csv"]:
        p.unlink()
    # an older record: no video.source, no per-region window energy; the videos moved
    moved = tmp_path / "moved"
    shutil.copytree(videos, moved)
    old = copy / "a" / "interview_1.json"
    doc = json.loads(old.read_text())
    del doc["video"]["source"]
    for w in doc["windows"]:
        w.pop("region_energy", None)
    old.write_text(json.dumps(doc))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "pipeline.report", str(copy), "--video-root", str(moved)],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    html = (copy / "a" / "interview_1.report.html").read_text(encoding="utf-8")
    assert "data:image/jpeg;base64," in html  # keyframes from the moved video
    assert html.count("data:image/jpeg;base64,") == len(doc["segments"])
    assert "largest region" in html  # energy from the older record's one number per window
    assert (copy / "b" / "interview_2.report.html").is_file()
    assert _rows(copy) and (copy / "index.html").is_file()
    # nothing to report on: one line, exit 2
    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run([sys.executable, "-m", "pipeline.report", str(empty)], capture_output=True, text=True,
                         cwd=tmp_path, env=env)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and str(empty) in run.stderr


def test_no_report_option(tmp_path, small_video):
    import run_pipeline

    out = tmp_path / "out"
    assert run_pipeline.main([str(small_video), "--out", str(out), "--no-report", "--workers", "1"]) == 0
    assert (out / "person.json").is_file()
    assert not list(out.rglob("*.html")) and not (out / "summary.csv").exists()


def ten_minute_record(video: Path) -> dict:
    """A busy 10-minute interview: a window every second, a segment every 2 s, a touch every 10 s."""
    doc = _doc(persons=(0,))
    rng = np.random.default_rng(0)
    base = doc["segments"][0]
    segs = []
    for k in range(300):
        s = json.loads(json.dumps(base))
        s["start_s"], s["end_s"] = 2.0 * k, 2.0 * k + 1.5
        s["duration_s"] = 1.5
        s["action"]["code"] = f"A{k % 9 + 1}"
        s["movement"]["touch_events"] = [dict(base["movement"]["touch_events"][0], start_s=2.0 * k,
                                              end_s=2.0 * k + 1)] if k % 5 == 0 else []
        segs.append(s)
    doc["segments"] = segs
    doc["windows"] = [{"person": 0, "start_s": float(a), "end_s": float(a + 2), "status": "active",
                       "motion_energy": float(rng.uniform(0, 1)),
                       "region_energy": {r: float(rng.uniform(0, 1)) for r in REGIONS}} for a in range(599)]
    doc["shots"] = [{"start_s": 0.0, "end_s": 600.0, "first_frame": 0}]
    doc["video"].update(duration_s=600.0, fps=10.0, num_frames=6000, width=320, height=240, file=video.name,
                        path=video.name, source=str(video))
    return doc


@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ten")
    video = folder / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=600", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "35", "-pix_fmt", "yuv420p", str(video))
    doc = ten_minute_record(video)
    js = folder / "long.json"
    js.write_text(json.dumps(doc))
    return write_video_report(js, doc), doc


def test_ten_minute_report_size(ten_minutes):
    path, doc = ten_minutes
    html = path.read_text(encoding="utf-8")
    assert html.count("data:image/jpeg;base64,") == len(doc["segments"])
    assert path.stat().st_size < 5 * 1024 * 1024


# ------------------------------------------------------------------------------------ in Chromium

def test_report_in_browser(batch, tmp_path):
    _, out, _ = batch
    path = out / "a" / "interview_1.report.html"
    doc = json.loads((out / "a" / "interview_1.json").read_text())
    with browser.chromium(tmp_path) as d:
        browser.open_page(d, path)
        assert browser.console_errors(d) == []
        # the timeline has a bar per segment in each segment lane, the energy plot a line per region
        bars = d.execute_script("return document.querySelectorAll('#timeline .barlayer .point').length")
        lanes = 2 if doc["model"] else 1
        assert bars >= lanes * len(doc["segments"])
        lines = d.execute_script("return document.querySelectorAll('#energy .scatterlayer .trace').length")
        assert lines == len(REGIONS) * len({w["person"] for w in doc["windows"]})
        png = d.find_element("id", "timeline").screenshot_as_png
        import cv2

        img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        coloured = (img.max(-1).astype(int) - img.min(-1)) > 60  # bar colours, not grey text or white
        assert coloured.mean() > 0.01, "timeline screenshot shows no bars"
        (tmp_path / "timeline.png").write_bytes(png)

        # a click on a segment bar seeks the video to the segment's start and plays it. play() is
        # counted instead of run, so the position read back is the seek, not the seek plus however
        # far a loaded machine let the video play before the read
        d.execute_script("""
            const v = document.getElementById('player');
            window.__plays = 0;
            v.play = () => { window.__plays += 1; return Promise.resolve(); };
        """)
        seg = doc["segments"][-1]
        target = d.execute_script("""
            const pts = Array.from(document.querySelectorAll('#timeline .barlayer .point'));
            const p = pts.find(e => Math.abs(e.__data__.b - arguments[0]) < 1e-6);
            p.scrollIntoView({block: 'center'});
            const r = p.getBoundingClientRect(), box = document.getElementById('timeline').getBoundingClientRect();
            return [r.left + r.width / 2 - (box.left + box.width / 2), r.top + r.height / 2 - (box.top + box.height / 2)];
        """, seg["start_s"])
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(d).move_to_element_with_offset(d.find_element("id", "timeline"), int(target[0]), int(target[1])) \
            .pause(0.2).click().perform()
        t = d.execute_script("return document.getElementById('player').currentTime")
        assert t == pytest.approx(seg["start_s"], abs=0.05)
        assert d.execute_script("return window.__plays") == 1

        # a click on a table row seeks too; sorting and filtering work
        first = doc["segments"][0]
        rows = d.find_elements("css selector", "#segments tbody tr")
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", rows[0])
        rows[0].click()
        t = d.execute_script("return document.getElementById('player').currentTime")
        assert t == pytest.approx(first["start_s"], abs=0.05)
        assert d.execute_script("return window.__plays") == 2
        header = d.find_element("xpath", "//table[@id='segments']//th[normalize-space()='duration (s)']")
        header.click()
        header.click()  # descending
        shown = d.execute_script("return Array.from(document.querySelectorAll('#segments tbody tr'))"
                                 ".map(r => parseFloat(r.dataset.end) - parseFloat(r.dataset.start))")
        assert shown == sorted(shown, reverse=True) or np.allclose(shown, sorted(shown, reverse=True), atol=2e-3)
        box = d.find_element("id", "filter")
        box.send_keys("no-such-thing")
        visible = d.execute_script("return Array.from(document.querySelectorAll('#segments tbody tr'))"
                                   ".filter(r => r.style.display !== 'none').length")
        assert visible == 0
        assert browser.console_errors(d) == []


def test_index_in_browser(batch, tmp_path):
    _, out, _ = batch
    with browser.chromium(tmp_path) as d:
        browser.open_page(d, out / "index.html")
        assert browser.console_errors(d) == []
        links = [a.get_attribute("href") for a in d.find_elements("css selector", "#videos a")]
        assert any(h.endswith("a/interview_1.report.html") for h in links)
        d.find_element("css selector", "#videos a").click()
        browser.open_page(d, Path(d.current_url[len("file://"):]))
        assert browser.console_errors(d) == []


def test_ten_minute_report_in_browser(ten_minutes, tmp_path):
    path, doc = ten_minutes
    with browser.chromium(tmp_path) as d:
        browser.open_page(d, path)
        assert browser.console_errors(d) == []
        bars = d.execute_script("return document.querySelectorAll('#timeline .barlayer .point').length")
        assert bars >= 2 * len(doc["segments"])


def test_demo_report_in_browser(tmp_path, readme_demo):
    """The README's demo run: its report, screenshotted in headless Chromium, shows the timeline with
    the segments and the energy plot."""
    import cv2

    out, _ = readme_demo
    doc = json.loads((out / "astronaut_demo.json").read_text())
    with browser.chromium(tmp_path) as d:
        browser.open_page(d, out / "astronaut_demo.report.html")
        assert browser.console_errors(d) == []
        for plot in ("timeline", "energy"):
            png = d.find_element("id", plot).screenshot_as_png
            (tmp_path / f"{plot}.png").write_bytes(png)
            img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
            coloured = (img.max(-1).astype(int) - img.min(-1)) > 60
            assert coloured.mean() > 0.003, f"{plot}: nothing drawn"
        bars = d.execute_script("return document.querySelectorAll('#timeline .barlayer .point').length")
        assert bars >= len(doc["segments"])
        assert d.execute_script("return document.querySelectorAll('#energy .scatterlayer .trace').length") == 4


def test_records_of_schema_2_still_open(batch, tmp_path):
    """An output folder written before the weight-free actions (schema 2: MMN actions without a source, no
    movement.actions) is still read, summarised and reported."""
    _, out, _ = batch
    (path, doc), *_ = find_results(out)
    old = json.loads(path.read_text())
    old["schema_version"] = 2
    for s in old["segments"]:
        for key in ("action", "body"):
            if s[key]:
                s[key].pop("source")
        s["movement"].pop("actions")
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / path.name).write_text(json.dumps(old))
    shutil.copy(path.with_suffix(".csv"), folder / path.with_suffix(".csv").name)
    good, bad = find_records(folder)
    assert bad == [] and len(good) == 1
    assert all(s["action"]["source"] == "mmn" for s in good[0][1]["segments"] if s["action"])
    assert report_main([str(folder)]) == 0
    assert (folder / "index.html").is_file() and report_path(folder / path.name).is_file()
