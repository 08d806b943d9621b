"""Our live AlphaPose adapter against AlphaPose's contract (../shared/docs/alphapose-contract.md), with
a stand-in installation (tests/fake_alphapose.py) that records what the adapter hands it."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from definitions.layout import ma52_layout
from pose.alphapose import AlphaPoseError, AlphaPoseLiveBackend
from tests import fake_alphapose


@pytest.fixture
def alphapose(tmp_path, monkeypatch):
    def make(loss="Combined"):
        home, config, ckpt = fake_alphapose.install(tmp_path / loss, loss)
        for name in [m for m in sys.modules if m.split(".")[0] in ("alphapose", "detector")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.syspath_prepend(str(home))
        import alphapose as ap

        return home, config, ckpt, ap.CALLS
    yield make
    for name in [m for m in sys.modules if m.split(".")[0] in ("alphapose", "detector")]:
        del sys.modules[name]


def _frame(w=64, h=48) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[0, 0] = (10, 20, 30)  # RGB
    return img


def test_live_adapter_follows_alphapose_demo(alphapose, tmp_path):
    home, config, ckpt, calls = alphapose("Combined")
    cwd = os.getcwd()
    backend = AlphaPoseLiveBackend(config, ckpt, device="cpu")
    assert os.getcwd() == cwd  # the working directory is only borrowed
    assert ("get_detector", "yolo", str(home.resolve())) in calls  # detector configs are relative to the root
    dets = backend.process(_frame(), 128, 96)  # frame downscaled by 2 from the video's size
    assert os.getcwd() == cwd
    det_calls = [c for c in calls if c[0] == "detector_input_first_pixel"]
    assert det_calls == [("detector_input_first_pixel", (30, 20, 10), str(home.resolve()))]  # BGR, from the root
    assert ("pose_input_first_pixel", (10, 20, 30)) in calls  # the pose model gets RGB
    # combined loss: body joints 0-25 by the heatmap decoder, face and hands 26-135 by the regression one
    assert ("heatmap_decoder", 26) in calls and ("regression_decoder", 110) in calls
    assert ("pose_nms", False, (1, 136, 2)) in calls  # not a heatmap-loss model: NMS told so
    assert len(dets) == 1
    # the stand-in decoders put Halpe joint k at box corner + k; our 44 joints are picked from Halpe's 136,
    # then scaled back to the video's size
    box = np.array([0.25 * 64, 0.1 * 48])
    halpe = np.array(ma52_layout().halpe136)
    assert np.allclose(dets[0].keypoints, 2 * (box + halpe[:, None]), atol=1e-4)
    assert backend.settings["combined_decoders"] and not backend.settings["heatmap_loss_nms"]


def test_live_adapter_heatmap_model(alphapose):
    _, config, ckpt, calls = alphapose("MSELoss")
    backend = AlphaPoseLiveBackend(config, ckpt, device="cpu")
    backend.process(_frame(), 64, 48)
    assert ("heatmap_decoder", 136) in calls and not any(c[0] == "regression_decoder" for c in calls)
    assert ("pose_nms", True, (1, 136, 2)) in calls


def test_live_adapter_bad_files(alphapose, tmp_path):
    _, config, ckpt, _ = alphapose("Combined")
    with pytest.raises(AlphaPoseError, match="checkpoint not found"):
        AlphaPoseLiveBackend(config, tmp_path / "missing.pth", device="cpu")
    bad = tmp_path / "other.pth"
    import torch

    torch.save({"something": torch.zeros(2)}, bad)
    with pytest.raises(AlphaPoseError, match=f"{bad}: not an AlphaPose checkpoint"):
        AlphaPoseLiveBackend(config, bad, device="cpu")


def test_live_adapter_in_the_pipeline(alphapose, tmp_path, small_video, capsys):
    """``--pose alphapose`` end to end through the command line with the stand-in installation."""
    import run_pipeline

    _, config, ckpt, calls = alphapose("Combined")
    out = tmp_path / "out"
    code = run_pipeline.main([str(small_video), "--out", str(out), "--pose", "alphapose", "--alphapose-config",
                              str(config), "--alphapose-checkpoint", str(ckpt), "--no-report"])
    assert code == 0, capsys.readouterr().err
    doc = json.loads((out / "person.json").read_text())
    assert doc["pose"]["backend"] == "alphapose" and doc["pose"]["settings"]["combined_decoders"] is True
    assert doc["pose"]["persons"] and doc["pose"]["persons"][0]["frames_seen"] == doc["video"]["num_frames"]
    assert sum(c[0] == "detector_input_first_pixel" for c in calls) == doc["video"]["num_frames"]
