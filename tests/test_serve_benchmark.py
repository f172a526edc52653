"""benchmarks/serve.py runs end to end on a tiny load: both servers start on 127.0.0.1, every
round prints its row for each, and every target its verdict."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, subprocess_env

pytestmark = pytest.mark.slow


def test_the_serving_benchmark_prints_every_round_and_target():
    if not (shutil.which("oxigraph") or (Path(sys.executable).parent / "oxigraph").exists()):
        pytest.skip("the oxigraph program is not installed (pip install oxigraph)")
    tiny = ["--requests", "100", "--rounds", "1", "--slowloris", "5"]
    tiny += ["--slowloris-seconds", "2", "--normal", "2", "--heavy-seconds", "2"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "serve.py"), *tiny],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode in (0, 1), result.stderr
    rows = re.findall(r"^\| (.+?) \| (kzld|oxigraph) \|", result.stdout, re.M)
    rounds = {name for name, _ in rows}
    assert len(rounds) == 6 and len(rows) == 12  # simple and successors: repeated, each new
    assert any(name.startswith("slowloris") for name in rounds)
    verdicts = re.findall(r"^(PASS|FAIL)  ", result.stdout, re.M)
    assert len(verdicts) == 5
    assert result.returncode == (0 if set(verdicts) == {"PASS"} else 1)
    # Every request of the tiny load was answered by both servers.
    simple = [line for line in result.stdout.splitlines() if line.startswith("| simple")]
    assert all("| 100 | 0 |" in line for line in simple), simple
