"""The README is tested: its console examples run in order, their output matches, and
counts quoted in its prose come from the data.

How README.md's examples are read (so anyone editing it knows what is checked):

- Each ```console block is a list of `$ command` lines (a trailing backslash continues a
  line), each followed by the output it shows: stdout and stderr together.
- By default the shown output must be the whole output; a line `...` stands for any number
  of lines (indented or not).
- A block preceded by `<!-- output: partial -->` checks only the lines it shows: each must
  be an output line, in the order shown.
- A block preceded by `<!-- readme: skip REASON -->` is not run (a reason is required).
- A command ending in `&` starts in the background and is stopped at the end; the lines
  shown after it are what it prints once it listens.
- `./scripts/setup` runs the lines of scripts/setup after its "main job" marker (the install
  before them is what this test environment already is); `./scripts/test` is this suite.
- The ```python blocks of the "Python API" section are doctests: each `>>>` line runs and
  must print what follows it (`out_folder` is a fresh folder to publish into).
- Every command runs with bash in a fresh copy of the checkout (a `cd` lasts for its own
  line only), with that copy's `kzld` and the test programs on PATH; ports in the README are
  replaced by free ones.

After every command the site (public/index.html) and the publication
(public/dumps/SHA256SUMS) are checked to still be there once made: following the README in
order never loses work. At the end the publication verifies and the site's download links
resolve.
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import NETBLOCK, ROOT, require_program, subprocess_env

README = ROOT / "README.md"
SETUP_MARKER = "# The main job"
LANDMARKS = ("public/index.html", "public/dumps/SHA256SUMS")
# What a fresh clone does not have: what runs and builds leave behind.
_NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "public", "store", "__pycache__", ".*_cache", "*.egg-info", "build", "dist"
)


@dataclass
class Step:
    command: str
    line: int
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    line: int
    mode: str  # "exact", "partial" or "skip"
    reason: str
    steps: list[Step]


def console_blocks(text: str) -> list[Block]:
    """Every ```console block of a Markdown text, with its marker and steps."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        fence = re.fullmatch(r"(\s*)```console\s*", lines[i])
        if not fence:
            i += 1
            continue
        indent = len(fence.group(1))
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        mode, reason = "exact", ""
        if before == "<!-- output: partial -->":
            mode = "partial"
        elif skip := re.fullmatch(r"<!-- readme: skip (.+) -->", before):
            mode, reason = "skip", skip.group(1)
        start = i + 1
        i += 1
        body = []
        while not re.fullmatch(r"\s*```\s*", lines[i]):
            body.append((i + 1, lines[i][indent:]))
            i += 1
        i += 1
        steps: list[Step] = []
        pending = ""
        for number, content in body:
            if pending:
                pending += "\n" + content
                if not content.endswith("\\"):
                    steps[-1].command, pending = pending, ""
            elif content.startswith("$ "):
                steps.append(Step(content[2:], number))
                if content.endswith("\\"):
                    pending = content[2:]
            elif steps:
                steps[-1].shown.append(content.rstrip())
            else:
                raise AssertionError(f"README.md:{number}: output before any '$ ' command")
        blocks.append(Block(start, mode, reason, steps))
    return blocks


def matches(shown: list[str], actual: list[str], mode: str) -> bool:
    """Whether the output shown in the README fits the real output."""
    if mode == "partial":
        rest = iter(actual)
        return all(any(line == got for got in rest) for line in shown if line.strip() != "...")
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line.strip() == "..." else re.escape(line) + r"\n" for line in shown
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, child: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise AssertionError(f"background command ended with exit code {child.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def _setup_main_job() -> str:
    """The kzld commands scripts/setup runs once installed, as one shell line."""
    text = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    job = text.split(SETUP_MARKER, 1)[1].split("\n", 1)[1]
    commands = [
        re.sub(r"^(exec )?\.venv/bin/", "", line.strip())
        for line in job.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return " && ".join(commands)


class Session:
    """A scratch folder where the README's commands run one after another."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.background: list[tuple[subprocess.Popen, list[str]]] = []
        self.ports: dict[str, str] = {}
        bin_dir = folder / ".bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "kzld"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kzld "$@"\n')
        wrapper.chmod(0o755)
        path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
        self.env = subprocess_env({"PATH": path, "PYTHONUNBUFFERED": "1"})
        # The copy's own package and bundled files, as in a fresh clone.
        self.env["PYTHONPATH"] = os.pathsep.join([str(NETBLOCK), str(folder)])
        self.env.pop("SOURCE_DATE_EPOCH", None)

    def port_for(self, text: str) -> str:
        """The text with each port the README names replaced by a free one (the same each
        time): parallel test runs must not meet on 8765."""

        def swap(match: re.Match) -> str:
            port = match.group(2)
            self.ports.setdefault(port, str(_free_port()))
            return match.group(1) + self.ports[port]

        return re.sub(r"(127\.0\.0\.1:|--port )(\d{4,5})\b", swap, text)

    def run(self, command: str, shown_count: int) -> list[str]:
        command = self.port_for(command)
        if command.rstrip().endswith("&"):
            return self._start(command.rstrip()[:-1], shown_count)
        done = subprocess.run(
            ["bash", "-c", command + " 2>&1"],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        # Trailing white space cannot be seen in the README, and editors strip it.
        return _trimmed([line.rstrip() for line in done.stdout.splitlines()])

    def _start(self, command: str, shown_count: int) -> list[str]:
        child = subprocess.Popen(
            ["bash", "-c", "exec " + command + " 2>&1"],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(iter(child.stdout)), daemon=True).start()
        self.background.append((child, lines))
        port = re.search(r"(?:127\.0\.0\.1:|--port )(\d+)", command)
        if port:
            _wait_for_port(int(port.group(1)), child)
        deadline = time.monotonic() + 10
        while len(lines) < shown_count and time.monotonic() < deadline:
            time.sleep(0.05)
        return [line.rstrip("\n") for line in lines]

    def stop(self) -> None:
        for child, _ in self.background:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            child.stdout.close()


def test_readme_markers_are_known_and_skips_give_a_reason():
    text = README.read_text(encoding="utf-8")
    for marker in re.findall(r"<!-- (?:readme|output):[^>]*-->", text):
        assert marker == "<!-- output: partial -->" or re.fullmatch(
            r"<!-- readme: skip \S.+ -->", marker
        ), marker
    assert any(b.mode != "skip" for b in console_blocks(text))


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Run every console example of the README in order; yield each step's outcome."""
    for program, package in (
        ("rapper", "raptor2-utils"),
        ("curl", "curl"),
        ("sha256sum", "coreutils"),
    ):
        require_program(program, package)
    require_program("oxigraph", "the oxigraph test extra")
    folder = tmp_path_factory.mktemp("readme") / "kzld"
    shutil.copytree(ROOT, folder, symlinks=True, ignore=_NOT_IN_A_CLONE)
    session = Session(folder)
    outcomes = []
    seen: set[str] = set()
    try:
        for block in console_blocks(README.read_text(encoding="utf-8")):
            if block.mode == "skip":
                continue
            for step in block.steps:
                command = step.command.split("  #", 1)[0].strip()
                if command == "./scripts/test":
                    continue  # this suite
                if command == "./scripts/setup":
                    command = _setup_main_job()
                shown = [session.port_for(line) for line in _trimmed(step.shown)]
                actual = session.run(command, len(shown))
                missing = [m for m in seen if not (session.folder / m).exists()]
                seen |= {m for m in LANDMARKS if (session.folder / m).exists()}
                outcomes.append((step, block.mode, shown, actual, missing))
        verify = session.run("kzld verify", 1)
        index = (session.folder / "public" / "index.html").read_text(encoding="utf-8")
    finally:
        session.stop()
    yield outcomes, verify, index, session.folder


def test_every_readme_example_shows_its_real_output(readme_run):
    outcomes, *_ = readme_run
    wrong = [
        f"README.md:{step.line}: $ {step.command}\n  shown:\n    "
        + "\n    ".join(shown)
        + "\n  actual:\n    "
        + "\n    ".join(actual)
        for step, mode, shown, actual, _ in outcomes
        if not matches(shown, actual, mode)
    ]
    assert not wrong, "\n\n".join(wrong)


def test_following_the_readme_in_order_loses_nothing(readme_run):
    outcomes, verify, index, folder = readme_run
    lost = [f"README.md:{s.line}: $ {s.command} removed {m}" for s, *_, m in outcomes if m]
    assert not lost, "\n".join(lost)
    assert verify[-1].startswith("ok: every file in public/dumps"), verify
    downloads = re.findall(r'<ul class="downloads">(.*?)</ul>', index, re.S)
    assert downloads, "the site has no Downloads section"
    links = re.findall(r'href="([^"]+)"', downloads[0])
    sums = (folder / "public" / "dumps" / "SHA256SUMS").read_text(encoding="utf-8")
    published = {"dumps/" + line.split()[-1].lstrip("*") for line in sums.splitlines()}
    assert set(links) == published | {"dumps/SHA256SUMS"}  # every published file
    for link in links:
        assert (folder / "public" / link).is_file(), link


def test_the_triple_count_in_the_prose_is_the_data_s(bundled_graph):
    text = README.read_text(encoding="utf-8")
    counts = set(re.findall(r"(\d+) triples\b", text)) - {"1"}
    assert counts <= {str(len(bundled_graph))} | {"0"}, counts


@pytest.mark.parametrize(
    ("shown", "actual", "mode", "fits"),
    [
        (["a", "...", "d"], ["a", "b", "c", "d"], "exact", True),
        (["a", "d"], ["a", "b", "c", "d"], "exact", False),
        (["a", "d"], ["a", "b", "c", "d"], "partial", True),
        (["d", "a"], ["a", "b", "c", "d"], "partial", False),
        (["a", "...", "e"], ["a", "b", "c", "d"], "exact", False),
    ],
)
def test_the_matching_rules(shown, actual, mode, fits):
    assert matches(shown, actual, mode) is fits


def api_examples(text: str) -> list[tuple[int, str]]:
    """The ```python blocks of the README's Python API section, with their first line."""
    section = re.search(r"^## Python API\n(.*?)^## ", text, flags=re.M | re.S)
    assert section, "the README has no Python API section"
    start = text[: section.start(1)].count("\n")
    return [
        (start + section[1][: m.start(1)].count("\n"), m[1])
        for m in re.finditer(r"^```python\n(.*?)^```", section[1], flags=re.M | re.S)
    ]


def test_the_python_api_examples_run(tmp_path, monkeypatch):
    readme = ROOT / "README.md"
    examples = api_examples(readme.read_text())
    assert examples and all(">>>" in body for _, body in examples)
    monkeypatch.chdir(tmp_path)
    globs = {"out_folder": tmp_path / "public"}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for line, body in examples:
        test = doctest.DocTestParser().get_doctest(body, globs, "README", str(readme), line)
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
    assert runner.tries >= 10


def test_the_api_doctest_checker_fails_on_a_wrong_output():
    text = "## Python API\n\n```python\n>>> 1 + 1\n3\n\n```\n\n## Next\n"
    ((line, body),) = api_examples(text)
    runner = doctest.DocTestRunner()
    runner.run(doctest.DocTestParser().get_doctest(body, {}, "x", "x", line), out=lambda _: None)
    assert (line, runner.failures) == (3, 1)  # the 0-based line doctest counts from
