"""`kzld query`: the catalogue, output formats, parameters, refusals, timeouts, remote faults."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from test_remote_faults import Reply, serve  # noqa: F401  (the scripted-server fixture)

FIXTURES = Path(__file__).parent / "fixtures" / "queries"


def test_no_name_lists_the_catalogue(kzld):
    result = kzld("query")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines() if line[:1].isalpha()]
    for name in ("successors", "holders", "timeline", "dismissals", "conflicts", "sources"):
        assert name in names
    assert "[--post POST]" in result.stdout


def test_an_unknown_query_name(kzld):
    result = kzld("query", "sucessors")
    assert result.exit_code == 2
    assert "no canned query named 'sucessors'" in result.stderr
    assert "did you mean: successors" in result.stderr


def test_an_unknown_query_name_fails_before_the_data_is_read(kzld, tmp_path):
    broken = tmp_path / "broken.ttl"
    broken.write_text("<a> <b> .\n", encoding="utf-8")
    result = kzld("query", "sucessors", "--data", broken)
    assert result.exit_code == 2
    assert "no canned query named 'sucessors'" in result.stderr


def test_csv_rows_and_column_order(kzld):
    result = kzld("query", "successors", "--post", "defence minister", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert table[0] == ["office", "predecessor", "successor", "date", "left", "sources"]
    pairs = [(r[1], r[2], r[3]) for r in table[1:]]
    assert ("Murat Bektanov", "Ruslan Zhaksylykov", "2022-01-19") in pairs
    assert ("Ruslan Zhaksylykov", "Dauren Kosanov", "2025-06-08") in pairs


def test_tsv(kzld):
    result = kzld("query", "successors", "--post", "prime minister", "-f", "tsv")
    header, *rows = result.stdout.splitlines()
    assert header.split("\t")[:4] == ["office", "predecessor", "successor", "date"]
    assert any(r.split("\t")[1:4] == ["Askar Mamin", "Alikhan Smailov", "2022-01-11"] for r in rows)


def test_json_is_sparql_results_json(kzld):
    result = kzld("query", "holders", "--post", "minister-of-defence", "-f", "json")
    document = json.loads(result.stdout)
    assert document["head"]["vars"] == ["office", "holder", "start", "end", "acting"]
    starts = {
        b["holder"]["value"]: b["start"] for b in document["results"]["bindings"] if "start" in b
    }
    assert starts["Ruslan Zhaksylykov"] == {
        "type": "literal",
        "value": "2022-01-19",
        "datatype": "http://www.w3.org/2001/XMLSchema#date",
    }


def test_markdown(kzld):
    result = kzld("query", "successors", "--post", "minister-of-defence", "-f", "md")
    lines = result.stdout.splitlines()
    assert lines[0] == "| office | predecessor | successor | date | left | sources |"
    assert lines[1] == "|---|---|---|---|---|---|"
    assert any("| Murat Bektanov | Ruslan Zhaksylykov | 2022-01-19 |" in line for line in lines)


def test_the_terminal_table(kzld):
    result = kzld("query", "successors", "--post", "minister-of-defence")
    assert result.exit_code == 0
    assert "Bektanov" in result.stdout and "2022-01-19" in result.stdout
    assert result.stdout.rstrip().endswith("rows")


def test_dates_show_their_precision(kzld):
    result = kzld("query", "dismissals", "--from", "2022-04", "--to", "2022-04", "-f", "csv")
    assert "2022-04 (month)" in result.stdout


def test_output_is_identical_across_runs_and_hash_seeds(run_kzld):
    outputs = {
        run_kzld("query", "events", "-f", "csv", env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1 and next(iter(outputs)).count("\n") > 5


def test_an_unknown_person_names_close_matches(kzld):
    result = kzld("query", "timeline", "--person", "Bektanof")
    assert result.exit_code == 2
    assert "no person is named 'Bektanof'" in result.stderr
    assert "murat-bektanov" in result.stderr
    assert result.stdout == ""


def test_an_ambiguous_name(kzld):
    result = kzld("query", "holders", "--post", "commander")
    assert result.exit_code == 2
    assert "names" in result.stderr and "give the slug or IRI" in result.stderr


def test_a_parameter_the_query_does_not_take(kzld):
    result = kzld("query", "conflicts", "--person", "murat-bektanov")
    assert result.exit_code == 2
    assert "takes no --person" in result.stderr


def test_a_bad_date(kzld):
    result = kzld("query", "dismissals", "--from", "2022-13-01")
    assert result.exit_code == 2
    assert "not a date" in result.stderr


@pytest.mark.parametrize("value", ["x> } ; DROP ALL", 'foo" . ?s ?p ?o'])
def test_hostile_parameters_are_refused(kzld, value):
    result = kzld("query", "successors", "--post", value)
    assert result.exit_code == 2
    assert "no post is named" in result.stderr
    assert result.stdout == ""


def test_a_user_query(kzld):
    result = kzld("query", "--file", FIXTURES / "persons.rq", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "name"
    assert len(result.stdout.splitlines()) == 4


@pytest.mark.parametrize(
    ("fixture", "word"), [("service.rq", "SERVICE"), ("from.rq", "FROM"), ("update.rq", "DELETE")]
)
def test_refused_user_queries_never_reach_the_endpoint(kzld, serve, fixture, word):  # noqa: F811
    server = serve()
    result = kzld("query", "--file", FIXTURES / fixture, "--endpoint", server.url)
    assert result.exit_code == 2
    assert f"{word} is refused" in result.stderr
    assert f"{fixture}:" in result.stderr  # names the file and line
    assert server.seen == []


def test_refused_locally_too(kzld):
    result = kzld("query", "--file", FIXTURES / "service.rq")
    assert result.exit_code == 2
    assert "SERVICE is refused" in result.stderr


def test_a_runaway_query_times_out(run_kzld, tmp_path):
    many = tmp_path / "many.nt"
    many.write_text("".join(f'<urn:s{i}> <urn:p> "{i}" .\n' for i in range(300)))
    result = run_kzld(
        "query", "--file", FIXTURES / "explode.rq", "--data", many, "--timeout", "1", timeout=120
    )
    assert result.exit_code == 6
    assert "ran longer than 1 s" in result.stderr
    assert result.stdout == ""


def test_local_queries_open_no_connection(run_kzld):
    # The child process has the network blocked at socket level, and kzld's own guard on.
    result = run_kzld("query", "successors", "--post", "minister-of-defence", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert "Murat Bektanov" in result.stdout


# --------------------------------------------------------------------------- remote faults


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(403, {}, b""), "403 Forbidden"),
        (Reply(200, {"Content-Type": "text/html"}, b"<html>down</html>"), "an HTML page"),
        (Reply(body=b'{"head": {"vars": ["x"]}, "results": {"bind'), "invalid JSON"),
    ],
)
def test_remote_faults_are_exit_4_never_an_empty_table(kzld, serve, reply, message):  # noqa: F811
    server = serve(reply)
    result = kzld("query", "successors", "--endpoint", server.url)
    assert result.exit_code == 4
    assert message in result.stderr
    assert result.stdout == ""


def test_repeated_429_through_the_cli(kzld, serve):  # noqa: F811
    server = serve(*[Reply(429, {"Retry-After": "0"}, b"") for _ in range(10)])
    result = kzld("query", "successors", "--endpoint", server.url)
    assert result.exit_code == 4
    assert "throttling" in result.stderr
    assert len(server.seen) == 4  # one try and three retries
    assert result.stdout == ""


def test_an_unreachable_endpoint(kzld):
    result = kzld("query", "successors", "--endpoint", "http://kzld-test.invalid/sparql")
    assert result.exit_code == 4
    assert "kzld-test.invalid" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_user_query_with_a_syntax_error_never_reaches_the_endpoint(kzld, serve, tmp_path):  # noqa: F811
    broken = tmp_path / "broken.rq"
    broken.write_text("SELECT ?s WHERE { ?s ?p }\n")
    server = serve()
    result = kzld("query", "--file", broken, "--endpoint", server.url)
    assert result.exit_code == 2
    assert f"{broken}: not valid SPARQL" in result.stderr
    assert server.seen == []


def test_a_malformed_binding_is_a_bad_response(kzld, serve):  # noqa: F811
    body = b'{"head": {"vars": ["office"]}, "results": {"bindings": [{"office": {"type": "uri"}}]}}'
    server = serve(Reply(body=body))
    result = kzld("query", "successors", "--endpoint", server.url)
    assert result.exit_code == 4
    assert "malformed binding" in result.stderr
    assert result.stdout == ""


def test_an_unknown_event_type_suggests_close_matches(kzld):
    result = kzld("query", "events", "--type", "arest")
    assert result.exit_code == 2
    assert "no event type is named 'arest'" in result.stderr
    assert "Arrest" in result.stderr


def test_load_refuses_a_graph_name_that_is_not_an_iri(kzld, serve):  # noqa: F811
    server = serve()
    result = kzld("load", "--store", server.url, "--graph", "not an iri")
    assert result.exit_code == 2
    assert "--graph is not an IRI" in result.stderr
    assert server.seen == []
