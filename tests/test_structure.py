"""Imports point one way: agreement -> pipeline -> pose, recognizer -> definitions -> common (the stages
never import each other, nothing imports a layer above it)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["agreement", "pipeline", "pose", "recognizer", "definitions", "common"]
ALLOWED = {
    "agreement": {"agreement", "pipeline", "definitions", "common", "assets"},  # reads the pipeline's records
    "pipeline": {"pipeline", "pose", "recognizer", "definitions", "common", "assets"},
    "pose": {"pose", "definitions", "common", "assets"},
    "recognizer": {"recognizer", "definitions", "common", "assets"},
    "definitions": {"definitions", "common", "assets"},
    "common": {"common"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_point_one_way(layer):
    ours = set(LAYERS) | {"assets", "run_pipeline", "tests"}
    wrong = {}
    for path in sorted((ROOT / layer).rglob("*.py")):
        bad = (_imports(path) & ours) - ALLOWED[layer]
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert wrong == {}


def test_the_wheel_holds_every_module_and_asset(tmp_path):
    """A wheel built from the project holds every module of its packages and the report templates (a
    hand-kept list of packages once left ``recognizer.kinematics`` out: installed from a wheel, the
    weight-free recognizer was missing)."""
    import subprocess
    import sys
    import zipfile

    import shutil

    build = ROOT / "build"  # setuptools builds in the source tree: removed again unless it was there
    had_build = build.exists()
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT),  # (its own build tools)
                        "-w", str(tmp_path)], check=True, capture_output=True, cwd=tmp_path)
    finally:
        if not had_build:
            shutil.rmtree(build, ignore_errors=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = ("agreement", "assets", "common", "definitions", "pipeline", "pose", "recognizer")
    wanted = {p.relative_to(ROOT).as_posix() for top in packages for p in (ROOT / top).rglob("*.py")}
    wanted |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "assets").rglob("*")
               if p.is_file() and p.suffix in (".tsv", ".json", ".j2", ".js", ".css")}
    assert "recognizer/kinematics/head_actions.py" in wanted and "run_pipeline.py" in names
    assert not wanted - names, sorted(wanted - names)
