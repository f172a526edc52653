"""The wheel: it carries the ontology, shapes, queries and data, and works installed in a
fresh virtual environment, run from a folder far from the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import NETBLOCK, ROOT
from test_roundtrip import published  # noqa: F401  (a fixture)

BUNDLED = ("ontology", "shapes", "queries", "data")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    # No build isolation: the backend (hatchling) comes from the test extras, offline.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [found] = out.glob("kzld-*.whl")
    return found


@pytest.mark.slow
def test_wheel_carries_every_bundled_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in BUNDLED:
        on_disk = [
            p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
        assert on_disk or folder == "queries", folder
        for path in on_disk:
            assert f"kzld/_bundled/{path.relative_to(ROOT).as_posix()}" in names
    assert "kzld/cli/__init__.py" in names
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)


@pytest.mark.slow
def test_installed_wheel_builds_outside_the_repository(wheel, tmp_path, published):  # noqa: F811
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        timeout=600,
    )
    # The dependencies come from the test environment, read as a plain path entry: its
    # .pth files (the editable kzld among them) are not processed, so kzld is the wheel's.
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    (site / "test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(NETBLOCK)  # the network stays blocked
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600
        )

    where = run(
        str(python),
        "-c",
        "import kzld.loading.resources as r; print(r.__file__); print(r.bundled('data'))",
    )
    assert where.returncode == 0, where.stderr
    module, data = where.stdout.splitlines()
    assert Path(module).is_relative_to(venv) and Path(data).is_relative_to(venv)
    assert "_bundled" in Path(data).parts

    done = run(str(venv / "bin" / "kzld"), "build")
    assert done.returncode == 0, done.stderr
    out = elsewhere / "public" / "dumps"  # the default layout: the site goes in public/
    # Same data, same bytes: the installed kzld publishes exactly what the checkout does.
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        p.name: p.read_bytes() for p in published.iterdir()
    }
    assert run(str(venv / "bin" / "kzld"), "verify").returncode == 0
    version = run(str(python), "-m", "kzld", "--version")
    assert version.returncode == 0 and version.stdout.startswith("kzld ")
