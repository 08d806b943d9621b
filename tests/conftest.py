"""Shared test fixtures. Tests that need the licensed demo clips in ``../shared`` skip cleanly when it
is not there; everything else (the MMN conformance fixtures included) is in the repository."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("MICROACTION_SHARED", ROOT.parent / "shared"))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the team's shared folder beside the checkout)")
    return path


@pytest.fixture(scope="session")
def mmn_ref() -> Path:
    """The conformance fixtures (official-format checkpoint with random weights and the official code's
    outputs; docs/mmn-reference.md), kept in the repository so a plain clone runs these tests."""
    return ROOT / "tests" / "fixtures" / "mmn_reference"


@pytest.fixture(scope="session")
def ref_checkpoint(mmn_ref) -> Path:
    return mmn_ref / "mmn_ma52_random.pt"


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return _need(SHARED / "fixtures" / "ma52_demo")


@pytest.fixture(scope="session")
def real_dev() -> Path:
    """Real development clips (``fixtures/real_dev/README.md`` says what each shows)."""
    return _need(SHARED / "fixtures" / "real_dev")


@pytest.fixture(scope="session")
def demo_clips(demo_dir) -> list[Path]:
    return sorted(demo_dir.glob("*.mp4"))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, demo_dir, ref_checkpoint):
    """The whole pipeline, once, on the real MA-52 demo clips with the reference checkpoint."""
    import run_pipeline

    out = tmp_path_factory.mktemp("demo_run")
    code = run_pipeline.main([str(demo_dir), "--out", str(out), "--checkpoint", str(ref_checkpoint),
                              "--bone-checkpoint", str(ref_checkpoint), "--mode", "clip", "--submission",
                              "--device", "cpu"])
    return out, code


@pytest.fixture(scope="session")
def small_video(tmp_path_factory):
    """A 2 s, 256 x 256 video of a real person (the animated astronaut portrait)."""
    from pipeline.sample import make_sample_video

    return make_sample_video(tmp_path_factory.mktemp("small") / "person.mp4", seconds=2.0, fps=15, size=256)


@pytest.fixture(scope="session")
def readme_demo(tmp_path_factory):
    """The README's main command as a user types it (``microaction-run --demo --out demo_out``, default
    settings), run once: (output folder, what it printed on stderr)."""
    from tests.helpers import cmd

    here = tmp_path_factory.mktemp("readme_demo")
    res = cmd("microaction-run", "--demo", "--out", "demo_out", cwd=here)
    return here / "demo_out", res.stderr
