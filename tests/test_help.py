"""``--help`` names each command as the user started it (issue 31): the installed ``microaction-*`` command
that the README teaches, ``python -m MODULE`` or ``python run_pipeline.py``; its examples say the same."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [("microaction-classify", "pipeline.classify"), ("microaction-train", "recognizer.train"),
            ("microaction-evaluate", "recognizer.evaluate"), ("microaction-export", "pose.export_skeletons"),
            ("microaction-report", "pipeline.report"), ("microaction-agree", "agreement.cli")]


@pytest.mark.parametrize("script, module", COMMANDS)
def test_an_installed_command_names_itself(script, module, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [f"/venv/bin/{script}", "--help"])
    with pytest.raises(SystemExit) as e:
        importlib.import_module(module).main()
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith(f"usage: {script} ")
    assert "python -m" not in out and "run_pipeline" not in out


def test_microaction_run_names_itself_in_usage_and_examples(monkeypatch, capsys):
    import run_pipeline

    monkeypatch.setattr(sys, "argv", ["/venv/bin/microaction-run", "--help"])
    with pytest.raises(SystemExit):
        run_pipeline.parse_args()
    out = capsys.readouterr().out
    assert out.startswith("usage: microaction-run ") and "  microaction-run --demo --out demo_out" in out
    assert "run_pipeline.py" not in out and "python -m" not in out


@pytest.mark.parametrize("command, prog, example, script", [
    (["run_pipeline.py"], "python run_pipeline.py", "  python run_pipeline.py --demo --out demo_out", "microaction-run"),
    (["-m", "pipeline.classify"], "python -m pipeline.classify", "    python -m pipeline.classify clip.npy --checkpoint",
     "microaction-classify"),
    (["-m", "agreement"], "python -m agreement", "  python -m agreement coder1/ coder2/", "microaction-agree")])
def test_python_started_commands_name_python(command, prog, example, script):
    out = subprocess.run([sys.executable, *command, "--help"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith(f"usage: {prog} ") and example in out and script not in out
