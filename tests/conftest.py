"""Shared test fixtures. Tests that need ``../shared`` skip cleanly when it is not there."""
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
    return _need(SHARED / "fixtures" / "mmn_reference")


@pytest.fixture(scope="session")
def ref_checkpoint(mmn_ref) -> Path:
    return mmn_ref / "mmn_ma52_random.pt"


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return _need(SHARED / "fixtures" / "ma52_demo")


@pytest.fixture(scope="session")
def demo_clips(demo_dir) -> list[Path]:
    return sorted(demo_dir.glob("*.mp4"))
