"""A stand-in AlphaPose installation for testing our live adapter's side of the contract
(``../shared/docs/alphapose-contract.md``): the same module names and call signatures as AlphaPose's
demo uses, each call recorded in ``alphapose.CALLS``. AlphaPose itself needs CUDA and weights from
cloud drives, so it cannot run here; this checks what our adapter hands it and how it reads the answers.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

FILES = {
    "alphapose/__init__.py": """
        CALLS = []

        class Cfg(dict):
            def __getattr__(self, k):
                return self[k]
    """,
    "alphapose/models/__init__.py": "",
    "alphapose/models/builder.py": """
        import torch
        from alphapose import CALLS

        class Net(torch.nn.Module):
            def __init__(self, joints, hm):
                super().__init__()
                self.conv = torch.nn.Conv2d(3, joints, 1)
                self.hm = hm

            def forward(self, x):
                return torch.nn.functional.adaptive_avg_pool2d(self.conv(x), self.hm)

        def build_sppe(model_cfg, preset_cfg):
            CALLS.append(("build_sppe", model_cfg["NUM_JOINTS"]))
            return Net(model_cfg["NUM_JOINTS"], tuple(preset_cfg["HEATMAP_SIZE"]))

        def retrieve_dataset(cfg):
            return "dataset"
    """,
    "alphapose/utils/__init__.py": "",
    "alphapose/utils/config.py": """
        import json
        from alphapose import Cfg

        def _cfg(x):
            return Cfg({k: _cfg(v) for k, v in x.items()}) if isinstance(x, dict) else x

        def update_config(path):
            return _cfg(json.load(open(path)))
    """,
    "alphapose/utils/pPose_nms.py": """
        from alphapose import CALLS

        def pose_nms(boxes, scores, ids, preds, pred_scores, area, use_heatmap_loss=True):
            CALLS.append(("pose_nms", use_heatmap_loss, tuple(preds.shape)))
            return boxes, scores, ids, preds, pred_scores, list(range(len(scores)))
    """,
    "alphapose/utils/presets.py": """
        import os
        import torch
        from alphapose import CALLS

        class SimpleTransform:
            def __init__(self, dataset, scale_factor, input_size, output_size, rot, sigma, train, add_dpg, gpu_device):
                self.size = input_size

            def test_transform(self, image, box):
                CALLS.append(("pose_input_first_pixel", tuple(int(v) for v in image[0, 0])))
                x1, y1, x2, y2 = [float(v) for v in box]
                return torch.zeros(3, *self.size), [x1, y1, x2, y2]
    """,
    "alphapose/utils/transforms.py": """
        import numpy as np
        from alphapose import CALLS

        def _decoder(name, offset):
            def decode(hm, box, hm_shape, norm_type):
                n = hm.shape[0]
                CALLS.append((name, n))
                j = np.arange(n, dtype=np.float32) + offset
                return np.stack([box[0] + j, box[1] + j], 1), np.full((n, 1), 0.9, np.float32)
            return decode

        def get_func_heatmap_to_coord(cfg):
            if cfg.LOSS.TYPE == "Combined":
                return [_decoder("heatmap_decoder", 0), _decoder("regression_decoder", 26)]
            return _decoder("heatmap_decoder", 0)
    """,
    "detector/__init__.py": "",
    "detector/apis.py": """
        import os
        import numpy as np
        import torch
        from alphapose import CALLS

        class Detector:
            def image_preprocess(self, img):
                CALLS.append(("detector_input_first_pixel", tuple(int(v) for v in img[0, 0]), os.getcwd()))
                return torch.zeros(3, 8, 8)

            def images_detection(self, imgs, dims):
                w, h = float(dims[0, 0]), float(dims[0, 1])
                return torch.tensor([[0, 0.25 * w, 0.1 * h, 0.75 * w, 0.9 * h, 0.95, 0.9, 0]])

        def get_detector(opt):
            CALLS.append(("get_detector", opt.detector, os.getcwd()))
            return Detector()
    """,
}


def install(root: Path, loss: str = "Combined") -> tuple[Path, Path, Path]:
    """Write the stand-in under ``root/AlphaPose`` with a config and a checkpoint; returns (the folder
    to put on sys.path, config, checkpoint)."""
    import json

    import torch

    home = root / "AlphaPose"
    for name, text in FILES.items():
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    cfg = {"MODEL": {"NUM_JOINTS": 136}, "DATASET": {"TRAIN": {"TYPE": "Halpe_136"}},
           "DATA_PRESET": {"TYPE": "simple", "IMAGE_SIZE": [32, 24], "HEATMAP_SIZE": [8, 6], "SIGMA": 2,
                           "LOSS_TYPE": loss},
           "LOSS": {"TYPE": loss}}
    config = home / "configs" / "halpe_136.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(cfg))
    checkpoint = home / "pretrained_models" / "halpe136.pth"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"conv.weight": torch.zeros(136, 3, 1, 1), "conv.bias": torch.zeros(136)}, checkpoint)
    return home, config, checkpoint
