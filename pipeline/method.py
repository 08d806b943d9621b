"""The method's version: what a video's results depend on besides the video, the options and the checkpoints.

Results change when the code that computes them changes, and when one of its constants does. So the
method is named by a digest of both:

* **sources**: the modules between the video and the record (``POSE_SOURCES``: decoding, cut
  detection, the pose backends, tracking, stitching, stabilising; ``ANALYSIS_SOURCES``: motion, the
  description, segments, the weight-free recogniser, MMN, the record and its exports) and the assets
  they read. Python files count by their syntax tree without docstrings, so an edited comment or
  docstring changes nothing; any other edit does. Read once per process (a fraction of a second).
* **constants**: the upper-case module-level values of those modules (numbers, strings, tuples,
  dicts, arrays, settings dataclasses), read when asked for: a constant changed at run time (a test's
  monkeypatch, a user's script) counts as well as one edited in the file. Modules that import torch
  (``SOURCE_ONLY``) count by their source alone, so that the key never loads torch.

``pose_method()`` covers what the pose cache (``NAME.pose.npz``) and the chunks of an interrupted run
hold; ``method_version()`` covers everything and goes into the record (``tool.method``) and the
settings key that ``--resume`` compares.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent  # where the packages are (a checkout or site-packages)

# folders (every .py in them, recursively) and files, relative to ROOT
POSE_SOURCES = ("pose/", "pipeline/ffmpeg_tools.py", "pipeline/video_probe.py", "pipeline/video_decode.py",
                "pipeline/cut_detection.py", "pipeline/posework.py", "common/shots.py", "common/frames.py", "common/chunks.py",
                "definitions/layout.py", "definitions/body.py", "assets/ma52_layout.json")
ANALYSIS_SOURCES = ("pipeline/motion.py", "pipeline/description.py", "pipeline/segments.py", "pipeline/record.py",
                    "pipeline/export.py", "pipeline/drawing.py", "pipeline/run.py", "pipeline/options.py",
                    "pipeline/videopose.py", "pipeline/pool.py", "pipeline/alphapose_input.py", "pipeline/analysis.py",
                    "pipeline/notes.py", "pipeline/frame_notes.py", "pipeline/results.py", "pipeline/outputs.py",
                    "recognizer/kinematics/", "recognizer/preprocess.py",
                    "recognizer/inference.py", "recognizer/mmn.py", "recognizer/checkpoints.py", "definitions/",
                    "assets/ma52_labels.tsv")
SOURCE_ONLY = ("recognizer.inference", "recognizer.mmn", "recognizer.checkpoints")  # import torch
NOT_RUN = ("pose/export_skeletons.py",)  # in a folder above, but a command of its own (microaction-export)


def pose_method() -> str:
    """16 hex digits naming the pose stage's method (``POSE_SOURCES`` and their constants)."""
    return _digest({"sources": source_digest(POSE_SOURCES), "constants": constants(POSE_SOURCES)})


def method_version() -> str:
    """16 hex digits naming the whole method: the pose stage's and the analysis's."""
    return _digest({"pose": pose_method(), "sources": source_digest(ANALYSIS_SOURCES),
                    "constants": constants(ANALYSIS_SOURCES)})


def source_files(sources: tuple[str, ...]) -> list[Path]:
    """The files ``sources`` name, folders expanded to their .py files (sorted; caches left out)."""
    out = []
    for s in sources:
        path = ROOT / s
        if s.endswith("/"):
            out += sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts
                          and p.relative_to(ROOT).as_posix() not in NOT_RUN)
        else:
            out.append(path)
    return out


@functools.lru_cache(maxsize=None)
def source_digest(sources: tuple[str, ...]) -> str:
    """SHA-256 of the files of ``sources`` (Python by its syntax tree without docstrings); a missing file
    counts as missing, so an install that lacks one is told apart."""
    h = hashlib.sha256()
    for path in source_files(sources):
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        try:
            data = path.read_bytes()
        except OSError:
            data = b"<missing>"
        h.update(_code(data) if path.suffix == ".py" and data != b"<missing>" else data)
        h.update(b"\0")
    return h.hexdigest()


def constants(sources: tuple[str, ...]) -> dict:
    """``module: {NAME: value}`` of the upper-case module-level values of the Python modules of
    ``sources`` (values that are not plain data, such as paths or patterns, are left out)."""
    out = {}
    for path in source_files(sources):
        if path.suffix != ".py" or not path.exists():
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if name in SOURCE_ONLY:
            continue
        module = importlib.import_module(name)
        values = {}
        for key, value in vars(module).items():
            if key.isupper() and not key.startswith("_"):
                try:
                    values[key] = _plain(value)
                except TypeError:
                    pass
        out[name] = values
    return out


def _code(source: bytes) -> bytes:
    """A Python file's syntax tree without docstrings (its text if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


def _plain(value):
    """``value`` as JSON data; TypeError for anything else."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(json.dumps(_plain(v)) for v in value)
    raise TypeError(type(value).__name__)


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
