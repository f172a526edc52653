"""The benchmark data is valid kzld data, and the benchmark script runs end to end."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kzld.loading.graph import load_graph
from kzld.validating.validation import validate

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
KZ = "https://w3id.org/kzld/ontology#"
STEPS = (
    "load",
    "successors after load",
    "successors (cold CLI)",
    "validate",
    "dumps (load + write)",
    "build",
)


def generate(triples: int, out: Path) -> Path:
    done = subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "--triples", str(triples), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())


def bench_module(name: str):
    """A script of benchmarks/ imported as a module (they import each other by name)."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return generate(3000, tmp_path_factory.mktemp("bench"))


def test_generated_data_is_valid_kzld_data(synthetic):
    graph = load_graph([synthetic])
    assert 2000 < len(graph) < 4000  # about the size asked for
    report = validate(graph, engine="native")
    assert report.conforms, report.to_text()
    assert not [f for f in report.findings if f.severity != "Info"], report.to_text()
    types = {t.object.value for t in graph.triples if t.predicate.value.endswith("#type")}
    assert {KZ + c for c in ("Person", "Post", "Tenure", "Appointment", "SecondaryReport")} <= types


def test_generated_successions_chain_every_post(synthetic):
    graph = load_graph([synthetic])
    store = graph.store()
    rows = list(
        store.query(
            "PREFIX kz: <https://w3id.org/kzld/ontology#> "
            "SELECT ?a ?b WHERE { ?a kz:replacedBy ?b . ?b kz:replaces ?a . "
            "?a kz:post ?post . ?b kz:post ?post }"
        )
    )
    replaced = [t for t in graph.triples if t.predicate.value == KZ + "replacedBy"]
    assert rows and len(rows) == len(replaced)


def test_generation_is_deterministic(synthetic, tmp_path):
    again = generate(3000, tmp_path)
    assert again.read_bytes() == synthetic.read_bytes()


@pytest.mark.slow
def test_benchmark_script_runs_every_step(tmp_path):
    done = subprocess.run(
        [
            sys.executable, str(BENCH / "run.py"), "--triples", "1500", "--runs", "1",
            "--skip-bundled", "--pyshacl-limit", "0", "--cache", str(tmp_path / "cache"),
        ],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert (tmp_path / "cache" / "1500" / "synthetic.nt").is_file()
    for step in STEPS:
        match = re.search(rf"^\| 1500 \| {re.escape(step)} \| ([^|]+) \|", done.stdout, re.M)
        assert match, f"no row for {step}:\n{done.stdout}"
        float(match.group(1))  # a figure, not "missing" or "error"
    # The rdflib baseline ran on the same input and a ratio is printed.
    load = re.search(r"^\| 1500 \| load \|.*\| ([0-9.]+)x \|$", done.stdout, re.M)
    assert load, done.stdout
    assert "| target | measured | result |" in done.stdout


def test_the_parts_of_successors_are_the_query_cut_short(synthetic):
    parts = bench_module("parts").parts
    text = (ROOT / "queries" / "successors.rq").read_text(encoding="utf-8")
    cut = parts(text)
    store = load_graph([synthetic]).store()
    results = {name: list(store.query(query)) for name, query in cut.items()}
    joins, decoded, whole = results.values()
    assert int(joins[0]["rows"].value) == len(decoded) > 0
    assert 0 < len(whole) <= len(decoded)
    assert cut["+ GROUP BY, aggregates (whole query)"] == text


def test_the_first_successions_are_the_whole_query_over_fewer_of_them(synthetic):
    first_successions = bench_module("parts").first_successions
    successions = bench_module("parts").successions
    text = (ROOT / "queries" / "successors.rq").read_text(encoding="utf-8")
    store = load_graph([synthetic]).store()
    every = {tuple(row) for row in store.query(text)}
    held = successions(store)
    assert held == len(every) > 3  # the synthetic data has one row per succession
    few = {tuple(row) for row in store.query(first_successions(text, 3))}
    assert len(few) == 3 and few <= every
    with pytest.raises(ValueError, match="replacedBy"):
        first_successions(text.replace("?before kz:replacedBy ?after .", ""), 3)


@pytest.mark.slow
def test_the_parts_script_prints_a_row_per_part(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH / "parts.py"), "--sizes", "10k", "--runs", "1",
         "--cache", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = (
        "joins (counted)",
        "+ rows decoded",
        "+ GROUP BY, aggregates (whole query)",
        "pyoxigraph Store.load alone, per triple",
        "whole query, every succession, per succession",
    )
    for part in rows:
        assert re.search(rf"^\| {re.escape(part)}.* \| [0-9.]+ \| 1\.00 \|$", done.stdout, re.M)
    only = r"^\| whole query, [1-9][0-9]* successions only, per succession \| [0-9.]+ \| 1\.00 \|$"
    assert re.search(only, done.stdout, re.M), done.stdout


@pytest.mark.parametrize("step", ["successors after load", "dumps (load + write)"])
def test_the_growth_check_measures_one_step_on_both_sizes_in_turn(synthetic, tmp_path, step):
    """The in-process growth check times the step on each size, runs interleaved."""
    import json

    script = bench_module("run").GROWTH
    small = generate(1500, tmp_path / "small")
    query = ROOT / "queries" / "successors.rq"
    done = subprocess.run(
        [sys.executable, "-c", script, str(query), "2", step, str(small), str(synthetic)],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    by_size = json.loads(done.stdout.strip().splitlines()[-1])
    per_run = 5 if step.startswith("successors") else 1
    assert sorted(by_size) == ["0", "1"]
    assert all(len(times) == 2 * per_run and min(times) > 0 for times in by_size.values())
