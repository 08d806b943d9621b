"""Skeleton files: MA-52 and pyskl pickles, numpy files, the classify command."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from definitions.skeleton_io import (SkeletonClip, SkeletonFileError, read_ma52_pickle, read_skeleton_file,
                              write_ma52_pickles, write_pyskl)
from pipeline import classify

rng = np.random.default_rng(3)


def _clips(n=3):
    return [SkeletonClip(f"clip{i:04d}", rng.random((20 + i, 44, 2)).astype(np.float32) * 500, label=i * 7,
                         img_shape=(1296, 1080)) for i in range(n)]


def test_ma52_pickle_round_trip(tmp_path):
    clips = _clips()
    data, label = write_ma52_pickles(clips, tmp_path, "train")
    assert (data.name, label.name) == ("train_data.pkl", "train_label.pkl")
    raw = pickle.loads(data.read_bytes())  # the layout the official code reads
    assert raw["annotations"][1]["keypoint"].shape == (1, 21, 44, 2)
    assert pickle.loads(label.read_bytes())[2] == {"file_name": "clip0002", "label": 14}
    back = read_ma52_pickle(data)  # labels found beside the data file
    assert [c.clip_id for c in back] == [c.clip_id for c in clips]
    assert [c.label for c in back] == [0, 7, 14]
    assert np.allclose(back[2].keypoints, clips[2].keypoints)


def test_pyskl_round_trip(tmp_path):
    clips = _clips(2)
    path = write_pyskl(clips, tmp_path / "mine.pkl", split="xsub_val")
    raw = pickle.loads(path.read_bytes())
    assert raw["split"] == {"xsub_val": ["clip0000", "clip0001"]}
    ann = raw["annotations"][0]
    assert ann["keypoint"].shape == (1, 20, 44, 2) and ann["keypoint_score"].shape == (1, 20, 44)
    assert ann["total_frames"] == 20 and ann["img_shape"] == (1296, 1080) and ann["label"] == 0
    back = read_skeleton_file(path)
    assert [c.label for c in back] == [0, 7] and np.allclose(back[1].keypoints, clips[1].keypoints)


class _Evil:
    def __reduce__(self):
        return (print, ("must not run",))


def test_unsafe_and_malformed_files(tmp_path, capsys):
    evil = tmp_path / "evil_data.pkl"
    evil.write_bytes(pickle.dumps({"annotations": [{"keypoint": _Evil()}]}))
    with pytest.raises(SkeletonFileError, match="evil_data.pkl: refused to load builtins.print"):
        read_skeleton_file(evil)
    assert "must not run" not in capsys.readouterr().out
    trunc = tmp_path / "t.pkl"
    trunc.write_bytes(pickle.dumps({"annotations": []})[:-3])
    with pytest.raises(SkeletonFileError, match="not a readable pickle"):
        read_skeleton_file(trunc)
    np.save(tmp_path / "wrong.npy", np.zeros((10, 17, 2)))
    with pytest.raises(SkeletonFileError, match=r"shape \(10, 17, 2\); expected \[frames, 44, 2\]"):
        read_skeleton_file(tmp_path / "wrong.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(SkeletonFileError, match="objects.npy"):
        read_skeleton_file(tmp_path / "objects.npy")
    with pytest.raises(SkeletonFileError, match="unknown skeleton file type"):
        (tmp_path / "x.csv").write_text("1,2")
        read_skeleton_file(tmp_path / "x.csv")


def test_classify_command(tmp_path, ref_checkpoint, capsys):
    np.save(tmp_path / "clip.npy", rng.random((40, 44, 2)) * 800)
    assert classify.main([str(tmp_path / "clip.npy"), "--checkpoint", str(ref_checkpoint), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "clip" in out and "probability" in out and out.count("\n") > 6
    write_ma52_pickles(_clips(), tmp_path, "test")
    assert classify.main([str(tmp_path / "test_data.pkl"), "--clip", "clip0001", "--checkpoint", str(ref_checkpoint),
                          "--bone-checkpoint", str(ref_checkpoint), "--device", "cpu"]) == 0
    assert "clip0001" in capsys.readouterr().out
    assert classify.main([str(tmp_path / "test_data.pkl"), "--clip", "nope", "--checkpoint",
                          str(ref_checkpoint)]) == 2
    assert "no clip 'nope'" in capsys.readouterr().out


def test_export_annotated_segments_from_pose_caches(tmp_path, small_video, capsys):
    import run_pipeline
    from pose import export_skeletons
    from tests.helpers import write_label_tsv

    out = tmp_path / "run"
    assert run_pipeline.main([str(small_video), "--out", str(out), "--mode", "long"]) == 0
    labels = write_label_tsv(tmp_path / "labels.tsv")
    (out / "annotations.csv").write_text("pose,start_s,end_s,label\nperson.pose.npz,0.0,1.0,X1\n"
                                         "person.pose.npz,0.5,1.9,wave right\n")
    assert export_skeletons.main([str(out / "annotations.csv"), "--labels", str(labels), "--out",
                                  str(tmp_path / "ds")]) == 0
    clips = read_ma52_pickle(tmp_path / "ds" / "train_data.pkl")
    assert [c.label for c in clips] == [0, 2]
    assert clips[0].keypoints.shape == (15, 44, 2) and clips[1].keypoints.shape == (21, 44, 2)
    (out / "bad.csv").write_text("pose,start_s,end_s,label\nperson.pose.npz,0,1,dancing\n")
    assert export_skeletons.main([str(out / "bad.csv"), "--labels", str(labels), "--out", str(tmp_path / "x")]) == 2
    assert "bad.csv:2: label 'dancing' is not in the label set" in capsys.readouterr().err
