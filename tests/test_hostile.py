"""What a hostile user tried (issue 30, second half): each case asserts the exact outcome (exit code, the
one-line message, what is on disk). Bad inputs of the first passes are in test_robustness.py and
test_adversarial.py."""
from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from pipeline.lock import BusyError, video_lock
from tests.test_robustness import _person_video, _run


# -- 6. the per-video lock is exclusive under contention -------------------------------------------------
def _contend(lock: str, marker: str, seconds: float, results) -> None:
    """Take the lock as often as possible for ``seconds``; while holding it, create ``marker`` exclusively
    (a second holder finds it there)."""
    held = overlaps = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with video_lock(Path(lock)):
                try:
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    overlaps += 1
                    continue
                held += 1
                os.close(fd)
                os.unlink(marker)
        except BusyError:
            pass
    results.put((held, overlaps))


def test_video_lock_is_held_by_one_process_at_a_time(tmp_path):
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    lock, marker = tmp_path / ".v.lock", tmp_path / "holder"
    procs = [ctx.Process(target=_contend, args=(str(lock), str(marker), 2.0, results)) for _ in range(3)]
    for p in procs:
        p.start()
    counts = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    assert sum(o for _, o in counts) == 0, counts  # never two holders at once
    assert all(h > 20 for h, _ in counts), counts  # each process held it many times: real contention
    assert not lock.exists() and not marker.exists()  # nothing left behind


# -- 1. a video's outputs are one run's, all or nothing ---------------------------------------------------
def _killed_run(video: Path, out: Path, target: str, **opts) -> None:
    """A run (``Options(**opts)``) in a child process killed with SIGKILL when it calls ``target``
    (``module.function``), leaving the temporary file an atomic write in progress leaves."""

    def child() -> None:
        import importlib

        from pipeline.batch import run_batch
        from pipeline.inputs import collect_inputs
        from pipeline.options import Options
        from pipeline.run import Pipeline

        module, name = target.rsplit(".", 1)

        def die(path, *args, **kwargs):
            path = Path(path)
            if name == "write_video_report":  # it writes NAME.report.html beside the record
                path = path.with_name(path.name[:-len(".json")] + ".report.html")
            path.with_name(f".{path.name}.killed.part").write_text("half a file")
            os.kill(os.getpid(), 9)

        setattr(importlib.import_module(module), name, die)
        run_batch(collect_inputs([video]), Pipeline(Options(out=out, **opts), workers=None))

    proc = multiprocessing.get_context("fork").Process(target=child)
    proc.start()
    proc.join(120)
    assert proc.exitcode == -9  # killed where planned


def _files(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.is_file())


def test_rerun_killed_while_writing_then_resume_with_the_first_settings(tmp_path, capsys):
    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    first = ["--mode", "clip", "--workers", "1"]
    assert _run([video, "--out", out, *first], capsys)[0] == 0
    assert len(json.loads((out / "v.json").read_text())["segments"]) == 1
    # a rerun with other settings (long mode: no segment) killed while it writes the ELAN file
    _killed_run(video, out, "pipeline.export.write_eaf", mode="long")
    assert not (out / "v.json").exists()  # the record went before the first new file was written
    assert (out / ".v.eaf.killed.part").exists()
    code, err = _run([video, "--out", out, *first, "--resume"], capsys)
    assert code == 0 and "1 done, 0 skipped, 0 failed" in err  # not "complete (--resume)"
    doc = json.loads((out / "v.json").read_text())
    assert len(doc["segments"]) == 1 and doc["analysis"]["mode"] == "clip"
    assert len((out / "v.csv").read_text().splitlines()) == 2  # header and the one segment
    assert _files(out) == ["index.html", "summary.csv", "v.csv", "v.eaf", "v.json", "v.pose.npz", "v.report.html"]


def test_killed_right_after_the_record_leaves_no_older_report(tmp_path, capsys):
    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    assert _run([video, "--out", out, "--mode", "clip", "--workers", "1"], capsys)[0] == 0
    old_key = json.loads((out / "v.json").read_text())["settings_key"]
    _killed_run(video, out, "pipeline.report.write_video_report", mode="long")
    doc = json.loads((out / "v.json").read_text())
    assert doc["settings_key"] != old_key and not (out / "v.report.html").exists()  # no report of the first run
    assert (out / ".v.report.html.killed.part").exists()
    code, err = _run([video, "--out", out, "--mode", "long", "--workers", "1", "--resume"], capsys)
    assert code == 0 and "0 done, 1 skipped, 0 failed" in err
    assert old_key not in (out / "v.report.html").read_text() and doc["settings_key"] in (out / "v.report.html").read_text()
    assert not list(out.glob(".*.part"))  # the stale temporary files are gone


def test_resume_recomputes_when_an_output_was_changed_or_is_missing(tmp_path, capsys):
    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    args = [video, "--out", out, "--mode", "clip", "--workers", "1", "--no-report"]
    assert _run(args, capsys)[0] == 0
    assert set(json.loads((out / "v.json").read_text())["outputs"]) == {"csv", "eaf"}
    assert "0 done, 1 skipped" in _run(args + ["--resume"], capsys)[1]
    (out / "v.csv").write_text((out / "v.csv").read_text().splitlines()[0] + "\n")  # another run's CSV
    assert "1 done, 0 skipped" in _run(args + ["--resume"], capsys)[1]
    (out / "v.eaf").unlink()
    assert "1 done, 0 skipped" in _run(args + ["--resume"], capsys)[1]
    assert "1 done, 0 skipped" in _run(args + ["--resume", "--overlay"], capsys)[1]  # no overlay was written
    assert "0 done, 1 skipped" in _run(args + ["--resume", "--overlay"], capsys)[1]


def test_a_rerun_that_fails_while_writing_leaves_nothing_of_the_video(tmp_path, capsys, monkeypatch):
    from pipeline import export

    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    assert _run([video, "--out", out, "--mode", "clip", "--workers", "1"], capsys)[0] == 0

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_eaf", full_disk)
    code, err = _run([video, "--out", out, "--mode", "long", "--workers", "1"], capsys)
    assert code == 1 and f"failed: {video}: [Errno 28] No space left on device" in " ".join(err.split())
    # no CSV of a run that did not finish; a full disk is the environment's problem, not a bug: no traceback kept
    assert _files(out) == ["index.html", "summary.csv", "v.pose.npz"]


# -- 5. symlinks: followed, counted once, outputs where the paths as given say -----------------------------
def test_symlinked_folders_are_searched_once_without_looping(tmp_path):
    from pipeline.inputs import collect_inputs

    src, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    _person_video(src / "a.mp4")
    _person_video(elsewhere / "more" / "b.mp4")
    (src / "linked").symlink_to(elsewhere / "more", target_is_directory=True)
    (src / "loop").symlink_to(src, target_is_directory=True)  # a link back up the tree
    (src / "again").symlink_to(src / "a.mp4")  # the same video by another name (not a video suffix)
    (src / "again.mp4").symlink_to(src / "a.mp4")  # and one that is: still one video
    jobs = collect_inputs([src])
    assert [(j.path.relative_to(src).as_posix(), j.rel.as_posix()) for j in jobs] == [
        ("a.mp4", "a"), ("linked/b.mp4", "linked/b")]


def test_adding_a_symlinked_video_moves_no_output(tmp_path, capsys):
    import csv

    src, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    _person_video(src / "a.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    args = [src, "--out", out, "--mode", "clip", "--workers", "1", "--resume"]
    assert _run(args, capsys)[0] == 0
    _person_video(elsewhere / "c.mp4", seconds=2.0, fps=5)
    (src / "c.mp4").symlink_to(elsewhere / "c.mp4")  # its real folder is outside the input folder
    code, err = _run(args, capsys)
    assert code == 0 and "1 done, 1 skipped, 0 failed" in err  # a.mp4 is where it was: complete
    assert (out / "a.json").is_file() and (out / "c.json").is_file()
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["video"] for r in rows] == ["a.mp4", "c.mp4"]
    # a record of the same video left elsewhere in --out by an earlier layout counts once (the newest)
    (out / "old").mkdir()
    (out / "old" / "a.json").write_text((out / "a.json").read_text())
    os.utime(out / "old" / "a.json", (1, 1))
    assert _run(args, capsys)[0] == 0
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["video"] for r in rows] == ["a.mp4", "c.mp4"]


# -- 2. training data: clip ids unique, label files unambiguous --------------------------------------------
LABELS = ("action_id\tcode\taction_name\tbody_id\tbody_name\n0\tX1\tswaying\t0\tbody\n1\tX2\tnodding\t1\thead\n"
          "2\tX3\tlooking aside\t1\thead\n")


def _two_person_pose(path: Path) -> Path:
    """A pose cache of two persons seen for 3 s at 10 fps."""
    import numpy as np

    from pose.result import PoseResult, save_pose
    from pose.types import PersonTrack

    rng = np.random.default_rng(0)
    tracks = [PersonTrack(tid, (rng.random((30, 44, 2)) * 100 + 200 * tid).astype(np.float32),
                          np.full((30, 44), 0.9, np.float32), np.ones((30, 44), np.uint8)) for tid in (0, 1)]
    save_pose(path, PoseResult(np.arange(30) / 10.0, 640, 480, "mediapipe", {}, tracks, "f"))
    return path


def _export(tmp_path, rows: str, labels: str = LABELS, capsys=None) -> tuple[int, str]:
    from pose.export_skeletons import main as export

    (tmp_path / "labels.tsv").write_text(labels, encoding="utf-8")
    (tmp_path / "a.csv").write_text("pose,start_s,end_s,label,person\n" + rows, encoding="utf-8")
    code = export([str(tmp_path / "a.csv"), "--labels", str(tmp_path / "labels.tsv"), "--out", str(tmp_path / "ds")])
    return code, " ".join(capsys.readouterr().err.split()) if capsys else ""


def test_export_keeps_two_persons_and_close_times_apart(tmp_path, capsys):
    from definitions.skeleton_io import read_ma52_pickle

    _two_person_pose(tmp_path / "v.pose.npz")
    code, err = _export(tmp_path, "v.pose.npz,0.5,2.0,X1,0\nv.pose.npz,0.5,2.0,X2,1\n"
                                  "v.pose.npz,0.501,2.0,X3,0\n", capsys=capsys)
    assert code == 0, err
    clips = read_ma52_pickle(tmp_path / "ds" / "train_data.pkl")
    assert [(c.clip_id, c.label) for c in clips] == [("v_p0_0.5_2.0", 0), ("v_p1_0.5_2.0", 1),
                                                     ("v_p0_0.501_2.0", 2)]


def test_export_refuses_two_labels_for_one_person_and_time_span(tmp_path, capsys):
    _two_person_pose(tmp_path / "v.pose.npz")
    code, err = _export(tmp_path, "v.pose.npz,0.5,2.0,X1,0\nv.pose.npz,0.5,2.0,X2,0\n", capsys=capsys)
    assert code == 2 and err == (f"error: {tmp_path / 'a.csv'}:3: clip 'v_p0_0.5_2.0' is annotated already "
                                 f"({tmp_path / 'a.csv'}:2): one label per person and time span (or give each "
                                 "its own clip_id)")
    assert not (tmp_path / "ds" / "train_data.pkl").exists()


@pytest.mark.parametrize("line, says", [
    ("3\tX1\twaving\t0\tbody", ":5: code 'X1' is already the code of line 2"),
    ("3\tX4\tnodding\t1\thead", ":5: action_name 'nodding' is already the action_name of line 3"),
    ("3\tswaying\twave\t0\tbody", ":5: code 'swaying' is already the action_name of line 2"),
    ("3\tX4\twaving\t1\tupper limb", ":5: body_id 1 is named 'upper limb' here but 'head' on line 3"),
    ("2\tX4\twaving\t0\tbody", ":5: action_id 2 is already on line 4"),
])
def test_ambiguous_label_files_are_refused_naming_the_line(tmp_path, capsys, line, says):
    _two_person_pose(tmp_path / "v.pose.npz")
    code, err = _export(tmp_path, "v.pose.npz,0.5,2.0,X1,0\n", labels=LABELS + line + "\n", capsys=capsys)
    assert code == 2 and err.startswith(f"error: {tmp_path / 'labels.tsv'}{says}"), err
    assert not (tmp_path / "ds").exists()


# -- 3. a custom label set is shown with its own names -----------------------------------------------------
CUSTOM = [{"id": 0, "code": "A1", "name": "waving hello", "body_id": 2, "body_name": "upper limb"},
          {"id": 1, "code": "Z9", "name": "shrugging", "body_id": 0, "body_name": "body"}]


def test_summary_uses_each_records_label_set():
    import csv

    from pipeline.report.summary import Entry, categories, summary_csv
    from tests.test_report import _doc

    ma52 = _doc()  # an older record: MA-52 by name, no label list
    custom = _doc()
    custom["model"].update(labels="mine", actions=CUSTOM)
    for s in custom["segments"]:
        if s["action"]:
            s["action"].update(code="A1", name="waving hello")
    cats = categories([custom])
    assert [(c.column, c.title) for c in cats if c.group == "action"] == [("action_a1", "A1 waving hello"),
                                                                          ("action_z9", "Z9 shrugging")]
    # an MA-52 record beside it: A1 is two actions, each with its own column
    cats = categories([ma52, custom])
    titles = {c.column: c.title for c in cats if c.group == "action"}
    assert len(titles) == 54 and titles["action_a1_shaking_body"] == "A1 shaking body"
    assert titles["action_a1_waving_hello"] == "A1 waving hello" and titles["action_z9"] == "Z9 shrugging"
    entries = [Entry("v.mp4", "done", "", Path("v.json"), d) for d in (ma52, custom)]
    rows = list(csv.DictReader(summary_csv(entries, cats).splitlines()))
    assert [(r["action_a1_shaking_body_n"], r["action_a1_waving_hello_n"]) for r in rows if r["person"] == "0"] == [
        ("2", "0"), ("0", "3")]  # the custom record: its B1 segment became A1 too


def test_a_checkpoint_with_its_own_labels_names_them_everywhere(tmp_path, capsys):
    import csv

    import torch

    from recognizer.checkpoints import save_project_checkpoint
    from recognizer.mmn import MMN, MMNConfig

    torch.manual_seed(0)
    ckpt = tmp_path / "mine.pt"
    save_project_checkpoint(ckpt, MMN(MMNConfig(num_classes=2, width=16, blocks_per_scale=1)), stream="joint",
                            labels=CUSTOM)
    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    code, err = _run([video, "--out", out, "--mode", "clip", "--workers", "1", "--checkpoint", ckpt,
                      "--device", "cpu"], capsys)
    assert code == 0, err
    doc = json.loads((out / "v.json").read_text())
    assert doc["model"]["actions"] == CUSTOM
    header = next(csv.reader((out / "summary.csv").open()))
    assert [h for h in header if h.startswith("action_")] == [f"action_{c}_{m}" for c in ("a1", "z9")
                                                              for m in ("n", "per_min", "s")]
    index = (out / "index.html").read_text()
    action = doc["segments"][0]["action"]
    assert f"{action['code']} {action['name']}" in index and "shaking body" not in index


# -- 4. one bad record never stops the batch pages ---------------------------------------------------------
def _spoil(doc: dict, how: str) -> str:
    """A record spoiled in one way, as JSON text."""
    import copy

    doc = copy.deepcopy(doc)
    seg = doc["segments"][0]
    if how == "no windows":
        del doc["windows"]
    elif how == "mistyped":
        seg["start_s"] = "0.1"
    elif how == "reversed":
        seg["start_s"], seg["end_s"] = seg["end_s"], seg["start_s"]
    elif how == "negative":
        seg["start_s"] = -1.5
    elif how == "window mistyped":
        doc["windows"][0]["end_s"] = None
    text = json.dumps(doc, indent=2)
    return text[:len(text) // 2] if how == "truncated" else text


BAD_RECORDS = {"no windows": 'the record: "windows" is a required property',
               "mistyped": 'segments/0/start_s: "0.1" is not of type "number"',
               "reversed": "segments/0: end_s 0.0 is before start_s 2.0",
               "negative": "segments/0/start_s: -1.5 is less than the minimum of 0",
               "window mistyped": 'windows/0/end_s: null is not of type "number"',
               "truncated": "not valid JSON, cut off?"}


def test_bad_records_are_skipped_and_listed_the_others_shown(tmp_path, capsys):
    import csv

    from pipeline.report.cli import main as report_main

    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    assert _run([video, "--out", out, "--mode", "clip", "--workers", "1"], capsys)[0] == 0
    good = json.loads((out / "v.json").read_text())
    assert good["segments"][0]["start_s"] == 0.0 and good["segments"][0]["end_s"] == 2.0
    for n, how in enumerate(BAD_RECORDS):
        (out / f"bad{n}.json").write_text(_spoil(good, how))
    (out / "index.html").unlink()
    assert report_main([str(out), "--no-keyframes"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == len(BAD_RECORDS), err
    for n, (how, says) in enumerate(BAD_RECORDS.items()):
        line = next(ln for ln in err if f"/bad{n}.json:" in ln)
        assert line.startswith(f"warning: {out / f'bad{n}.json'}: record skipped (") and says in line, (how, line)
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [(r["video"], r["status"]) for r in rows] == [("v.mp4", "done")] + [
        (f"bad{n}.json", "unreadable") for n in range(len(BAD_RECORDS))]
    index = (out / "index.html").read_text()
    assert "6 unreadable records (skipped)" in index and index.count(">unreadable<") == 6
    assert (out / "v.report.html").is_file()
    # a run on the folder says the same, and writes its pages
    (out / "index.html").unlink()
    code, err = _run([video, "--out", out, "--mode", "clip", "--workers", "1", "--resume"], capsys)
    assert code == 0 and " ".join(err.split()).count("record skipped") == 6
    assert (out / "index.html").is_file()


def test_batch_pages_that_cannot_be_made_leave_no_stale_ones(tmp_path, capsys, monkeypatch):
    from pipeline.report import batch_pages

    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    assert _run([video, "--out", out, "--mode", "clip", "--workers", "1"], capsys)[0] == 0

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(batch_pages, "render_index", broken)
    code, err = _run([video, "--out", out, "--mode", "clip", "--workers", "1", "--resume"], capsys)
    assert code == 0 and (f"warning: {out / 'index.html'} and summary.csv not written (RuntimeError: a bug "
                          f"(traceback in {out / 'errors.log'})); the old ones are removed") in " ".join(err.split())
    assert not (out / "index.html").exists() and not (out / "summary.csv").exists()
    assert 'raise RuntimeError("a bug")' in (out / "errors.log").read_text()  # the bug's traceback is kept

    # microaction-report says the same of a bug in one video's page, keeps its traceback, and goes on
    from pipeline.report import cli as report_cli

    monkeypatch.setattr(report_cli, "write_video_report", broken)
    (out / "errors.log").unlink()
    assert report_cli.main([str(out)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"report not written (RuntimeError: a bug (traceback in {out / 'errors.log'}))" in err, err
    assert 'raise RuntimeError("a bug")' in (out / "errors.log").read_text()


# -- 7. control characters in names: well-formed XML, nothing raw on the terminal ---------------------------
HOSTILE_NAME = "a\x1b[31mred\x1b[0m\u202e\x07\nfailed: forged"


def test_control_characters_in_a_video_name(tmp_path, capsys, monkeypatch):
    import xml.etree.ElementTree as ET

    monkeypatch.setenv("COLUMNS", "300")
    src = tmp_path / "in"
    video = _person_video(src / f"{HOSTILE_NAME}.mp4", seconds=2.0, fps=5)
    (src / f"{HOSTILE_NAME} broken.mp4").write_bytes(b"not a video")
    out = tmp_path / "out"
    code, err = _run([src, "--out", out, "--mode", "clip", "--workers", "1"], capsys)
    assert code == 1
    assert "\x1b" not in err and "\u202e" not in err and "\x07" not in err  # nothing a terminal acts on
    lines = err.splitlines()
    assert not any(ln.startswith("failed: forged") for ln in lines)  # no line forged by the name
    failed = [ln for ln in lines if ln.startswith("failed:")]
    assert len(failed) == 2 and failed[0] == failed[1], failed  # as it happened, and in the summary at the end
    assert f"failed: {src}/a\\x1b[31mred\\x1b[0m\\u202e\\x07 failed: forged broken.mp4: not a readable video" in failed[0]
    # the ELAN file is well-formed XML, its media links point at the video
    eaf = ET.parse(out / f"{HOSTILE_NAME}.eaf").getroot()
    media = eaf.find("HEADER/MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL") == video.resolve().as_uri() and "\ufffd" in media.get("RELATIVE_MEDIA_URL")


def test_control_characters_in_a_label_name_keep_the_elan_file_well_formed(tmp_path):
    import xml.etree.ElementTree as ET

    from pipeline.export import write_eaf
    from tests.test_report import _doc

    doc = _doc()
    doc["segments"][0]["action"]["name"] = "wave\x1b[5m\x00hello\ufffe"
    write_eaf(tmp_path / "v.eaf", doc, tmp_path / "v.mp4")
    values = [v.text for v in ET.parse(tmp_path / "v.eaf").getroot().iter("ANNOTATION_VALUE")]
    assert "A1 wave\ufffd[5m\ufffdhello\ufffd (0.70)" in values


# -- 8. label names are text in the figures, never Plotly markup -------------------------------------------
def test_label_names_are_not_plotly_markup(tmp_path):
    from pipeline.report.figures import timeline_figure
    from pipeline.report.video_page import write_video_report
    from tests.test_report import _doc

    loud = '<span style="font-size:60px;color:red">big</span><a href="https://example.org">Q&A</a>'
    doc = _doc()
    for s in doc["segments"]:
        if s["action"]:
            s["action"].update(code="<b>A1</b>", name=loud)
            s["top5"][0].update(code="<b>A1</b>", name=loud)
    fig = timeline_figure(doc)
    texts = [str(v) for t in fig["data"] for v in [t["name"], *t["hovertext"], *t["y"]]]
    assert not any(tag in t for t in texts for tag in ("<span", "<a ", "<b>A1"))
    escaped = "&lt;b&gt;A1&lt;/b&gt; &lt;span style=\"font-size:60px;color:red\"&gt;big&lt;/span&gt;" \
              "&lt;a href=\"https://example.org\"&gt;Q&amp;A&lt;/a&gt;"
    assert escaped in {t["name"] for t in fig["data"]}  # the legend entry: shown as written
    assert any(h.startswith(f"<b>{escaped}</b> p=0.70<br>{escaped}: 0.70") for h in texts)  # our own markup stays
    # the segments table escapes the same text (HTML)
    (tmp_path / "sub").mkdir()
    page = write_video_report(tmp_path / "sub" / "v.json", doc, out=tmp_path).read_text()
    assert "<span style=" not in page and "&lt;span style=" in page


# -- 9. smaller ones ---------------------------------------------------------------------------------------
def test_label_and_annotation_files_with_a_bom_and_line_separators_in_names(tmp_path, capsys):
    from definitions.labels import load_labels
    from definitions.skeleton_io import read_ma52_pickle
    from pose.export_skeletons import main as export

    _two_person_pose(tmp_path / "v.pose.npz")
    labels = "\ufeff# label set: mine\r\n" + LABELS.replace("looking aside", "looking\u2028aside\x85now").replace("\n", "\r\n")
    (tmp_path / "labels.tsv").write_text(labels, encoding="utf-8")
    (tmp_path / "a.csv").write_text("\ufeffpose,start_s,end_s,label\r\nv.pose.npz,0.5,2.0,looking\u2028aside\x85now\r\n",
                                    encoding="utf-8")
    assert export([str(tmp_path / "a.csv"), "--labels", str(tmp_path / "labels.tsv"), "--out",
                   str(tmp_path / "ds")]) == 0, capsys.readouterr().err
    assert [c.label for c in read_ma52_pickle(tmp_path / "ds" / "train_data.pkl")] == [2]
    back = load_labels(tmp_path / "ds" / "labels.tsv")
    assert back.name == "mine" and back[2].name == "looking\u2028aside\x85now"


def test_a_video_busy_in_another_run_is_not_done(tmp_path, capsys):
    from pipeline.inputs import collect_inputs

    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    with video_lock(collect_inputs([video])[0].outputs(out)["lock"]):
        code, err = _run([video, "--out", out, "--mode", "clip", "--workers", "1"], capsys)
    assert code == 1
    assert ("0 done, 1 skipped, 0 failed (1 skipped as busy in another run: not done, rerun with --resume once it is "
            "done)") in " ".join(err.split())
    assert not (out / "v.json").exists()


@pytest.mark.parametrize("args, says", [
    (["--window", "1e-300"], "--window must be at least 0.2 s (two motion-smoothing spans of 0.1 s: a shorter one "
                             "measures pose jitter, not movement); got 1e-300"),
    (["--stride", "0.05"], "--stride must be at least 0.2 s"),
    (["--submission"], "--submission needs --checkpoint"),
    (["--person", "\u00b2"], "--person must be subject, all or a person id"),  # a digit to str.isdigit, no number
])
def test_options_refused_before_any_work(tmp_path, capsys, args, says):
    import run_pipeline

    video = _person_video(tmp_path / "v.mp4")
    with pytest.raises(SystemExit) as exc:
        run_pipeline.main([str(video), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and says in " ".join(err.split()) and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_person_id_not_in_the_video_is_a_one_line_user_error(tmp_path, capsys):
    video = _person_video(tmp_path / "v.mp4", seconds=2.0, fps=5)
    out = tmp_path / "out"
    code, err = _run([video, "--out", out, "--mode", "clip", "--workers", "1", "--person", "999"], capsys)
    failed = [ln for ln in err.splitlines() if ln.startswith("failed:")]
    assert code == 1 and failed[0] == (f"failed: {video}: no person with id 999 in this video (ids seen: 0; --person "
                                       "all analyses everyone)")
    assert not (out / "errors.log").exists()  # no bug of ours: no traceback kept


@pytest.mark.parametrize("args, says", [
    (["--width", "8"], "--width must be a multiple of 16 (quarters of it are split into 4 groups); got 8 (96 = the "
                       "released model)"),
    (["--width", "24"], "--width must be a multiple of 16"),
    (["--device", "gpu"], "--device must be auto, cpu or cuda[:N]; got 'gpu'"),
])
def test_training_arguments_checked_before_any_work(tmp_path, capsys, args, says):
    from recognizer.train import main

    with pytest.raises(SystemExit) as exc:  # the training pickle is not even read
        main(["--train", str(tmp_path / "missing.pkl"), "--out", str(tmp_path / "run"), *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and says in " ".join(err.split()) and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_of_an_unbuildable_width_is_refused_in_one_line(tmp_path):
    import torch

    from recognizer.checkpoints import CheckpointError, load_mmn, save_project_checkpoint
    from recognizer.mmn import MMN, MMNConfig

    path = tmp_path / "c.pt"
    save_project_checkpoint(path, MMN(MMNConfig(num_classes=2, width=16, blocks_per_scale=1)), stream="joint",
                            labels=CUSTOM)
    payload = torch.load(path, weights_only=True)
    payload["config"]["width"] = 24
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"c.pt: bad config in checkpoint \(width must be a multiple of 16"):
        load_mmn(path)


def test_temporary_files_of_killed_page_writes_are_removed(tmp_path, capsys):
    from pipeline.report.cli import main as report_main

    video = _person_video(tmp_path / "in" / "a [draft].mp4", seconds=2.0, fps=5)  # [..] is glob syntax
    out = tmp_path / "out"
    args = [video, "--out", out, "--mode", "clip", "--workers", "1"]
    assert _run(args, capsys)[0] == 0
    old = [out / ".index.html.k1.part", out / ".summary.csv.k2.part", out / ".a [draft].report.html.k3.part"]
    for part in old:
        part.write_text("half")
        os.utime(part, (time.time() - 3600,) * 2)
    fresh = out / ".index.html.now.part"  # another writer's, right now
    fresh.write_text("half")
    assert report_main([str(out), "--no-keyframes"]) == 0
    assert [p.exists() for p in old] == [False, False, False] and fresh.exists()
    (out / ".a [draft].csv.k4.part").write_text("half")  # a killed run's, of the video: gone with its next run
    assert _run(args, capsys)[0] == 0
    assert sorted(p.name for p in out.glob(".*.part")) == [".index.html.now.part"]


# --------------------------------------------------------------- a bug is never shown as the user's mistake

def _bug(*args, **kwargs):
    raise ValueError("an internal inconsistency (a bug of ours)")


@pytest.mark.parametrize("command", ["classify", "evaluate", "train", "export", "agree"])
def test_a_bug_in_a_command_keeps_its_traceback(tmp_path, monkeypatch, capsys, command):
    """A ValueError from our own code (not a ``UserError``, not a missing file the user named) is raised with
    its traceback by every command, instead of one line that blames the input (issue 30); a user error in
    the same place is still one line with exit 2."""
    import definitions.labels
    import pipeline.classify
    import pose.export_skeletons
    import recognizer.evaluate
    import recognizer.train
    from agreement import cli as agree_cli

    data = tmp_path / "clip.npy"
    data.write_bytes(b"")  # never read: the patched step fails first
    mains = {"classify": (pipeline.classify, "read_skeleton_file", [str(data)]),
             "evaluate": (recognizer.evaluate, "read_skeleton_file",
                          [str(data), "--checkpoint", "x.pt", "--out", str(tmp_path / "ev")]),
             "train": (recognizer.train, "train", ["--train", str(data), "--out", str(tmp_path / "tr")]),
             "export": (pose.export_skeletons, "clips_from_annotations",
                        [str(tmp_path / "a.csv"), "--out", str(tmp_path / "ex")]),
             "agree": (definitions.labels, "load_labels", [str(data), str(data)])}
    module, name, argv = mains[command]
    main = agree_cli.main if command == "agree" else module.main
    monkeypatch.setattr(module, name, _bug)
    with pytest.raises(ValueError, match="a bug of ours"):
        main(argv)

    from common.errors import UserError

    def _user(*args, **kwargs):
        raise type("SomeUserError", (UserError, ValueError), {})(f"{data}: the problem, on one line")

    monkeypatch.setattr(module, name, _user)
    assert main(argv) == 2
    said = capsys.readouterr()
    err = said.out + said.err  # classify and evaluate print their tables and errors on stdout
    assert f"{data}: the problem, on one line" in err and "Traceback" not in err


def test_a_file_name_that_is_not_utf8_is_refused_as_that_video(tmp_path, capsys):
    """A video whose name is Latin-1 bytes (not UTF-8) fails as that video with one line saying how to
    rename it; the other video of the batch is done, and every file written is valid UTF-8 (issue 30)."""
    videos = tmp_path / "videos"
    videos.mkdir()
    good = _person_video(videos / "good.mp4")
    odd = os.fsdecode(os.fsencode(str(videos)) + b"/caf\xe9 interview.mp4")
    Path(odd).write_bytes(good.read_bytes())
    out = tmp_path / "out"
    code, err = _run([videos, "--out", out], capsys)
    assert code == 1
    failed = [ln for ln in err.splitlines() if ln.startswith("failed:")]
    assert failed and all("caf\\udce9 interview.mp4: the file name is not valid UTF-8" in ln for ln in failed), err
    assert "Traceback" not in err
    assert json.loads((out / "good.json").read_text(encoding="utf-8"))["segments"] is not None
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".csv", ".html", ".json", ".eaf", ".log"):
            f.read_text(encoding="utf-8")  # raises on invalid UTF-8
    assert "caf\\udce9 interview.mp4" in (out / "summary.csv").read_text(encoding="utf-8")
