"""What the command line shows: help without markup, the exit-code table, usage errors in
kzld's one-line form, values checked at the option, Ctrl-C as exit code 130."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import ROOT, subprocess_env

from kzld.cli import COMMAND_MODULES
from kzld.errors import EXIT_CODES

# Every command and subcommand, as typed.
COMMANDS = [
    *[(name,) for name in sorted(set(COMMAND_MODULES) - {"export", "reconcile", "diff"})],
    ("export", "wikidata"),
    ("export", "quickstatements"),
    ("reconcile",),
    ("reconcile", "accept"),
    ("diff", "wikidata"),
]


def _one_error(result) -> tuple[str, str]:
    """The error line and hint line; nothing else on stderr, nothing on stdout."""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("kzld: error: ") and lines[1].startswith("  hint: ")
    assert "Usage:" not in result.stderr and "Traceback" not in result.stderr
    return lines[0], lines[1]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_defaults_plainly_and_ends_with_the_exit_codes(kzld, command):
    result = kzld(*command, "--help")
    assert result.exit_code == 0, result.stderr
    assert "\\[" not in result.stdout
    tail = result.stdout.split("Exit codes:", 1)[1].splitlines()[1:]
    shown = {int(line.split()[0]): line.split(None, 1)[1] for line in tail if line.strip()}
    assert shown == EXIT_CODES


def test_defaults_read_as_default(kzld):
    assert "[default: table]" in kzld("query", "--help").stdout
    assert "[default: public/dumps]" in " ".join(kzld("build", "--help").stdout.split())


def test_readme_exit_code_table_is_the_one_in_errors_py():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| ")]
    table = {int(code): meaning.strip() for code, meaning in rows if code.strip().isdigit()}
    assert table == EXIT_CODES


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (("query", "successors", "--format", "cvs"), "'cvs' is not one of table, csv", "csv"),
        (("query", "--formt", "csv"), "kzld query has no option --formt", "--format"),
        (("qeury",), "kzld has no command 'qeury'", "did you mean query?"),
        (("validate", "--engine", "pyshackle"), "is not one of pyshacl, native", "pyshacl"),
        (("query", "--timeout", "0"), "--timeout", "kzld query --help"),
        (("reconcile", "accept", "--score", "120"), "--score", "kzld reconcile accept --help"),
    ],
)
def test_usage_errors_are_one_line_with_a_hint(kzld, args, message, hint):
    result = kzld(*args)
    assert result.exit_code == 2
    line, hint_line = _one_error(result)
    assert message in line
    assert hint in hint_line


def test_choices_ignore_case(kzld):
    result = kzld("query", "holders", "--post", "minister-of-defence", "-f", "JSON")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("query", "holders", "--date", "2022-13"), "no month 13"),
        (("query", "holders", "--date", "2022-02-30"), "February 2022 has 28 days"),
        (("query", "dismissals", "--from", "22-01"), "not a date: '22-01'"),
        (("export", "quickstatements", "--retrieved", "2026-13-45"), "no month 13"),
        (("export", "quickstatements", "--retrieved", "2026-02-30"), "February 2026 has 28"),
        (("export", "quickstatements", "--retrieved", "9999-99-99"), "no month 99"),
        (("export", "quickstatements", "--retrieved", "2026-02"), "not a date"),
        (("diff", "wikidata", "--retrieved", "2026-13-45"), "no month 13"),
    ],
)
def test_dates_are_checked_at_the_option(kzld, args, words):
    result = kzld(*args)
    assert result.exit_code == 2
    line, hint = _one_error(result)
    assert words in line and args[-2] in line
    assert "YYYY" in hint
    assert result.stdout == ""  # nothing written, no QuickStatements with a bad date


@pytest.mark.parametrize("option", ["--person", "--post", "--org", "--type"])
def test_an_empty_name_is_refused_not_read_as_everybody(kzld, option):
    result = kzld("query", "timeline", option, " ")
    assert result.exit_code == 2
    line, hint = _one_error(result)
    assert f"{option} is empty" in line and f"leave {option} out" in hint


def test_an_inverted_period_is_refused(kzld):
    result = kzld("query", "dismissals", "--from", "2023", "--to", "2022")
    assert result.exit_code == 2
    line, hint = _one_error(result)
    assert "--from 2023 is after --to 2022" in line and "swap" in hint
    # A period inside one month, at two precisions, is not inverted.
    assert kzld("query", "dismissals", "--from", "2022-01", "--to", "2022-01-19").exit_code == 0


def test_a_missing_query_file_is_named_without_errno(kzld, tmp_path):
    result = kzld("query", "--file", tmp_path / "nonexistent.rq")
    assert result.exit_code == 3
    line, _ = _one_error(result)
    assert line == f"kzld: error: {tmp_path / 'nonexistent.rq'}: no such file"
    assert "Errno" not in result.stderr


def test_a_remote_jsonld_context_is_refused_in_kzlds_words(kzld, tmp_path):
    path = tmp_path / "remote.jsonld"
    path.write_text('{"@context": "http://127.0.0.1:9/c.jsonld", "@id": "urn:x:a"}')
    result = kzld("validate", "--data", path)
    assert result.exit_code == 3
    line, hint = _one_error(result)
    assert "LoadDocumentCallback" not in result.stderr
    assert str(path) in line and "never fetches remote contexts" in line
    assert "inline" in hint


def test_site_refuses_a_dumps_folder_that_holds_no_publication(kzld, tmp_path):
    result = kzld("site", "--out", tmp_path / "site", "--dumps", tmp_path / "nonexistent")
    assert result.exit_code == 2
    line, hint = _one_error(result)
    assert "no kzld publication there" in line and "kzld build --out" in hint
    assert not (tmp_path / "site").exists()


def test_export_files_get_the_same_mode_as_the_build(kzld, tmp_path):
    old = os.umask(0o022)
    try:
        assert kzld("export", "wikidata", "--out", tmp_path / "w.ttl").exit_code == 0
        assert kzld("build", "--out", tmp_path / "dumps").exit_code == 0
    finally:
        os.umask(old)
    export_mode = stat.S_IMODE((tmp_path / "w.ttl").stat().st_mode)
    build_mode = stat.S_IMODE((tmp_path / "dumps" / "kzld.ttl").stat().st_mode)
    assert export_mode == build_mode == 0o644


def _start_serve() -> subprocess.Popen:
    """`kzld serve` on a free port, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "kzld", "serve", "--port", "0", "--quiet"],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_on_serve_exits_130(tmp_path):
    child = _start_serve()
    try:
        line = child.stdout.readline()
        assert "serving" in line
        # Ctrl-C as a user gives it: once the server answers (its workers are forked by then).
        url = re.search(r"http://\S+/", line).group(0)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "sparql?query=ASK%7B%7D", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.2)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130
    assert "Traceback" not in stderr and "interrupted" in stderr


def test_reconcile_types_are_checked_at_the_option(kzld):
    from kzld.cli.wikidata import _kinds_value
    from kzld.wikidata.reconciliation import KINDS

    empty = kzld("reconcile", "--types", " , ")
    assert empty.exit_code == 2 and "--types is empty" in _one_error(empty)[0]
    wrong = kzld("reconcile", "--types", "person,postt")
    assert wrong.exit_code == 2
    assert "did you mean post?" in _one_error(wrong)[1]
    assert _kinds_value(None, None, ",".join(KINDS))  # the option knows every kind


def test_the_mapping_file_gets_the_same_mode_as_the_build(kzld, tmp_path):
    from kzld.loading.resources import bundled

    mapping = tmp_path / "mapping.ttl"
    old = os.umask(0o022)
    try:
        result = kzld(
            "reconcile", "accept", "person/murat-bektanov", "Q900000101", "--by", "A. Reviewer",
            "--mapping", mapping,
        )  # fmt: skip
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o644
    assert bundled("data") != mapping.parent


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.01, 0.02, 0.04])
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_stop_signal_during_serve_start_up_still_stops_it(name, delay):
    """Sent while the fronts and workers are still being forked (it used to be swallowed
    now and then, and the server ran on with nobody to stop it)."""
    child = _start_serve()
    try:
        assert "serving" in child.stdout.readline()
        time.sleep(delay)
        child.send_signal(getattr(signal, name))
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == (130 if name == "SIGINT" else -signal.SIGTERM), stderr
    assert "Traceback" not in stderr
