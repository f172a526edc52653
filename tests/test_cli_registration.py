"""A run imports only the module of the command it names; every command still works."""

from __future__ import annotations

import pytest

from kzld.cli import COMMAND_MODULES, app, register_commands


def test_every_command_is_mapped_to_its_module():
    register_commands([])  # no command named: every module registers
    names = {c.name or c.callback.__name__ for c in app.registered_commands if not c.hidden}
    names |= {g.name for g in app.registered_groups}
    assert names == set(COMMAND_MODULES)


@pytest.mark.parametrize("command", sorted(COMMAND_MODULES))
def test_each_command_runs_in_a_fresh_process(run_kzld, command):
    # A wrong entry in COMMAND_MODULES would make the command unknown here.
    result = run_kzld("--debug", command, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Usage: kzld " + command in " ".join(result.stdout.split())


def test_help_in_a_fresh_process_lists_every_command(run_kzld):
    result = run_kzld("--help")
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert set(COMMAND_MODULES) <= listed


def test_a_misspelt_command_is_still_named_in_the_error(run_kzld):
    result = run_kzld("qeury")
    assert result.exit_code == 2
    assert "qeury" in result.stderr
