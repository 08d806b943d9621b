"""--engine ray on a local Ray instance gives the local engine's outputs."""
from __future__ import annotations

import json

import pytest

import run_pipeline
from pipeline.sample import sample_frames
from pipeline.video_write import write_video

ray = pytest.importorskip("ray")


def _strip(doc):
    doc = dict(doc)
    doc.pop("timing")
    doc.pop("outputs")  # the files' fingerprints: the ELAN file holds its date and paths
    return doc


def _eaf_annotations(path):
    import pympi

    eaf = pympi.Elan.Eaf(str(path))
    return {t: sorted(eaf.get_annotation_data_for_tier(t)) for t in eaf.get_tier_names()}


@pytest.fixture(scope="module")
def ray_local():
    from pipeline.distributed import RUNTIME_ENV

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=RUNTIME_ENV)
    yield
    ray.shutdown()


def test_ray_engine_matches_local(tmp_path, ray_local, ref_checkpoint, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for name, secs in (("a.mp4", 1.0), ("sub/b.mp4", 1.5), ("c.mp4", 0.8)):
        write_video(src / name, sample_frames(secs, 10, 160), 10, (160, 160))
    (src / "broken.mp4").write_bytes(b"not a video at all")
    common = ["--mode", "long", "--checkpoint", str(ref_checkpoint), "--device", "cpu"]
    assert run_pipeline.main([str(src), "--out", str(tmp_path / "local"), *common]) == 1
    capsys.readouterr()
    code = run_pipeline.main([str(src), "--out", str(tmp_path / "ray"), "--engine", "ray", *common])
    err = capsys.readouterr().err
    assert code == 1 and "broken.mp4" in err and "3 done" in err and "1 failed" in err
    for rel in ("a", "sub/b", "c"):
        local = json.loads((tmp_path / "local" / f"{rel}.json").read_text())
        remote = json.loads((tmp_path / "ray" / f"{rel}.json").read_text())
        assert _strip(local) == _strip(remote)
        assert (tmp_path / "local" / f"{rel}.csv").read_text() == (tmp_path / "ray" / f"{rel}.csv").read_text()
        assert _eaf_annotations(tmp_path / "local" / f"{rel}.eaf") == _eaf_annotations(tmp_path / "ray" / f"{rel}.eaf")
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "ray").rglob("*.json")}
    code = run_pipeline.main([str(src), "--out", str(tmp_path / "ray"), "--engine", "ray", "--resume", *common])
    err = capsys.readouterr().err
    assert code == 1 and "3 skipped" in err and "1 failed" in err
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "ray").rglob("*.json")} == stamps


def test_a_long_video_spreads_over_the_cluster_as_chunks(tmp_path, ray_local, capsys):
    """One video of two chunks: its chunk tasks run on the Ray workers; the result equals a local run's."""
    video = tmp_path / "long.mp4"
    write_video(video, sample_frames(22.0, 5, 128), 5, (128, 128))
    common = ["--mode", "long", "--device", "cpu"]
    assert run_pipeline.main([str(video), "--out", str(tmp_path / "local"), "--workers", "1", *common]) == 0
    assert run_pipeline.main([str(video), "--out", str(tmp_path / "ray"), "--engine", "ray", *common]) == 0
    local = json.loads((tmp_path / "local" / "long.json").read_text())
    remote = json.loads((tmp_path / "ray" / "long.json").read_text())
    assert remote["timing"]["pose_chunks"] == 2
    assert _strip(local) == _strip(remote)
