"""The method's version (issue 30): --resume recomputes when anything that changes results changed, the
code or a constant of it, and takes unchanged results as complete; the package's version has one home."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pipeline
from pipeline import method
from pipeline.record import TOOL
from tests.test_robustness import _person_video, _run

ROOT = method.ROOT
# modules the pipeline runs that do not compute results: input listing, progress, pages, process
# plumbing, file writing, the command line, error types
NOT_METHOD = {"common", "common.cli", "common.diskarray", "common.errors", "common.fileio", "common.quiet",
              "common.safe_pickle",
              "pipeline", "pipeline.method", "pipeline.forkserver", "pipeline.inputs", "pipeline.progress",
              "pipeline.report", "pipeline.report.batch_pages", "pipeline.report.cli", "pipeline.report.figures",
              "pipeline.report.keyframes", "pipeline.report.record_files", "pipeline.report.rendering",
              "pipeline.report.summary", "pipeline.report.video_page",
              "pipeline.lock", "pipeline.failures", "pipeline.outcome", "pipeline.batch",
              "pipeline.batch_outputs", "pipeline.models", "pipeline.resume",
              "recognizer", "recognizer.errors", "assets", "run_pipeline"}


def test_the_version_has_one_home():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pipeline.__version__"}
    assert TOOL["version"] == pipeline.__version__


def test_the_versions_minor_number_is_the_record_schema():
    """A new schema is a new version: ``tool.version`` 0.3.x writes records of schema 3."""
    from pipeline.record import SCHEMA_VERSION

    major, minor, patch = (int(n) for n in pipeline.__version__.split("."))
    assert (major, minor) == (0, SCHEMA_VERSION) and patch >= 0


def test_the_python_the_readme_names_is_the_one_the_package_requires():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    oldest = project["project"]["requires-python"].removeprefix(">=")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python {oldest}" in readme


def test_every_module_the_pipeline_runs_is_in_the_method_or_said_not_to_be():
    """A module added to the pipeline must be put in ``pipeline.method``'s sources (or here, if it computes
    no result): else results of older code would pass for current."""
    code = ("import sys, run_pipeline, pipeline.run, pipeline.batch, recognizer.inference; "
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
            "('pipeline', 'pose', 'recognizer', 'definitions', 'common', 'assets', 'run_pipeline')))")
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.split())
    files = method.source_files(method.POSE_SOURCES + method.ANALYSIS_SOURCES)
    assert all(f.exists() for f in files)
    covered = {".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for f in files}
    assert loaded - NOT_METHOD <= covered, sorted(loaded - NOT_METHOD - covered)
    assert "pipeline.segments" in covered and "pose.tracking" in covered and "recognizer.kinematics.head_actions" in covered
    assert "pose.export_skeletons" not in covered  # microaction-export: editing it recomputes no pose


def test_code_counts_but_docstrings_and_comments_do_not():
    src = b'"""A module."""\nX = 1  # a constant\n\ndef f():\n    """Twice."""\n    return 2 * X\n'
    same = b'"""Another text."""\nX = 1\n\n\ndef f():\n    return 2 * X  # twice\n'
    other = src.replace(b"2 * X", b"3 * X")
    assert method._code(src) == method._code(same) != method._code(other)


def test_a_constant_changed_at_run_time_changes_the_method(monkeypatch):
    from pipeline import segments
    from pose import tracking

    pose, whole = method.pose_method(), method.method_version()
    with monkeypatch.context() as m:
        m.setattr(segments, "MIN_PRESENT", 0.6)  # analysis: the pose stage's method is the same
        assert method.pose_method() == pose and method.method_version() != whole
    with monkeypatch.context() as m:
        m.setattr(tracking, "REID_S", 12.0)  # tracking: both change
        assert method.pose_method() != pose and method.method_version() != whole
    assert (method.pose_method(), method.method_version()) == (pose, whole)


def test_resume_recomputes_after_a_method_change_and_skips_an_unchanged_rerun(tmp_path, capsys, monkeypatch):
    from pipeline import segments
    from pose import estimate

    video = _person_video(tmp_path / "v.mp4", seconds=1.0)
    out = tmp_path / "out"
    args = [video, "--out", out, "--mode", "long", "--workers", "1", "--resume"]

    def run() -> tuple[str, dict]:
        code, err = _run(args, capsys)
        assert code == 0, err
        return err, json.loads((out / "v.json").read_text())

    err, first = run()
    assert "1 done, 0 skipped" in err and first["tool"]["method"] == method.method_version()
    assert first["pose"]["settings"]["method"] == method.pose_method()
    assert "0 done, 1 skipped" in run()[0]  # unchanged: complete
    monkeypatch.setattr(segments, "MIN_PRESENT", 0.6)  # a constant of the segments
    err, doc = run()
    assert "1 done, 0 skipped" in err and doc["timing"]["pose_cached"]  # analysed again, the pose kept
    assert doc["tool"]["method"] != first["tool"]["method"] and doc["settings_key"] != first["settings_key"]
    assert "0 done, 1 skipped" in run()[0]
    monkeypatch.setattr(estimate, "STITCH_COST", 0.3)  # a constant of the pose stage (stitching chunks)
    err, doc = run()
    assert "1 done, 0 skipped" in err and not doc["timing"]["pose_cached"]  # the pose cache was not used
    assert doc["pose"]["settings"]["method"] != first["pose"]["settings"]["method"]
    assert "0 done, 1 skipped" in run()[0]
