"""kzld build: the files, their determinism, the dataset description, help and errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest
from test_roundtrip import DUMPS, published  # noqa: F401  (a fixture)

KZ = "https://w3id.org/kzld/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
EXPECTED_FILES = {*DUMPS, "context.jsonld", "dataset.ttl", "SHA256SUMS"}
MARKER = ".kzld-publication"  # what kzld wrote, so that it never replaces anything else
INVALID = """
@prefix kz: <https://w3id.org/kzld/ontology#> .
<https://w3id.org/kzld/id/person/nameless> a kz:Person .
"""


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _description(out: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(out / "dataset.ttl"), format=ox.RdfFormat.TURTLE)
    return store


def _values(store: ox.Store, query: str) -> list[str]:
    prefixes = """
        PREFIX void: <http://rdfs.org/ns/void#>  PREFIX dcat: <http://www.w3.org/ns/dcat#>
        PREFIX dcterms: <http://purl.org/dc/terms/>  PREFIX spdx: <http://spdx.org/rdf/terms#>
        PREFIX kz: <https://w3id.org/kzld/ontology#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
    """
    return [row[0].value for row in store.query(prefixes + query)]


def test_build_publishes_every_part_in_every_format(kzld, tmp_path):
    out = tmp_path / "public"
    done = kzld("build", "--out", out)
    assert done.exit_code == 0, done.stderr
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES | {MARKER}
    assert done.stderr == ""  # no progress display when stderr is not a terminal
    for name in EXPECTED_FILES - {"SHA256SUMS"}:
        assert name in done.stdout


def test_default_output_folder_is_public_dumps_in_the_working_directory(run_kzld, tmp_path):
    done = run_kzld("build", cwd=tmp_path)
    assert done.exit_code == 0, done.stderr
    assert {p.name for p in (tmp_path / "public" / "dumps").iterdir()} == EXPECTED_FILES | {MARKER}


def test_checksums_file_passes_sha256sum_check(published):  # noqa: F811
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    done = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],
        cwd=published,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {
        line.split("  ", 1)[1] for line in (published / "SHA256SUMS").read_text().splitlines()
    }
    assert listed == EXPECTED_FILES - {"SHA256SUMS"}


def test_builds_are_byte_identical_whatever_the_hash_seed(run_kzld, tmp_path):
    outputs = []
    for seed in ("0", "4242"):
        out = tmp_path / f"seed-{seed}"
        done = run_kzld("build", "--out", out, env={"PYTHONHASHSEED": seed})
        assert done.exit_code == 0, done.stderr
        outputs.append(_contents(out))
    assert outputs[0].keys() == EXPECTED_FILES | {MARKER}
    for name in EXPECTED_FILES:
        assert outputs[0][name] == outputs[1][name], name


def test_description_counts_match_the_dumps(published):  # noqa: F811
    store = _description(published)
    for part, name in (
        ("", "kzld.nt"),
        ("#ontology", "kzld-ontology.nt"),
        ("#data", "kzld-data.nt"),
    ):
        lines = (published / name).read_text("utf-8").splitlines()
        triples = _values(
            store, f"SELECT ?n {{ <https://w3id.org/kzld/dataset{part}> void:triples ?n }}"
        )
        assert triples == [str(len(lines))], part
    graph = ox.Store()
    graph.load(path=str(published / "kzld.nt"), format=ox.RdfFormat.N_TRIPLES)
    partitions = store.query(
        "PREFIX void: <http://rdfs.org/ns/void#> "
        "SELECT ?class ?n { ?d void:classPartition [ void:class ?class ; void:entities ?n ] }"
    )
    counted = 0
    for row in partitions:
        actual = list(graph.query(f"SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s a {row['class']} }}"))
        assert int(row["n"].value) == int(actual[0][0].value), row["class"]
        counted += 1
    classes = list(graph.query("SELECT (COUNT(DISTINCT ?c) AS ?n) { ?s a ?c }"))
    assert counted == int(classes[0][0].value)
    for row in store.query(
        "PREFIX void: <http://rdfs.org/ns/void#> "
        "SELECT ?p ?n { ?d void:propertyPartition [ void:property ?p ; void:triples ?n ] }"
    ):
        actual = list(graph.query(f"SELECT (COUNT(*) AS ?n) {{ ?s {row['p']} ?o }}"))
        assert int(row["n"].value) == int(actual[0][0].value), row["p"]


def test_each_distribution_has_media_type_size_and_checksum(published):  # noqa: F811
    store = _description(published)
    rows = list(
        store.query(
            "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX spdx: <http://spdx.org/rdf/terms#> "
            "SELECT ?url ?media ?size ?sum { ?d a dcat:Distribution ; dcat:downloadURL ?url ; "
            "dcat:mediaType ?media ; dcat:byteSize ?size ; spdx:checksum [ "
            "spdx:algorithm spdx:checksumAlgorithm_sha256 ; spdx:checksumValue ?sum ] }"
        )
    )
    media = {
        ".ttl": "text/turtle",
        ".nt": "application/n-triples",
        ".jsonld": "application/ld+json",
    }
    assert sorted(row["url"].value.rsplit("/", 1)[1] for row in rows) == sorted(DUMPS)
    for row in rows:
        path = published / row["url"].value.rsplit("/", 1)[1]
        assert int(row["size"].value) == path.stat().st_size
        assert row["sum"].value == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row["media"].value.endswith("/" + media[path.suffix])


def test_description_names_license_version_and_sources(published):  # noqa: F811
    from kzld import __version__

    store = _description(published)
    dataset = "<https://w3id.org/kzld/dataset>"
    licences = _values(store, f"SELECT ?l {{ {dataset} dcterms:license ?l }}")
    assert licences == ["https://creativecommons.org/licenses/by/4.0/"]
    assert "MIT" in " ".join(_values(store, f"SELECT ?r {{ {dataset} dcterms:rights ?r }}"))
    assert _values(store, f"SELECT ?v {{ {dataset} dcat:version ?v }}") == [__version__]
    assert _values(store, f"SELECT ?t {{ {dataset} dcterms:title ?t }}")
    assert _values(store, f"SELECT ?t {{ {dataset} dcterms:description ?t }}")
    graph = ox.Store()
    graph.load(path=str(published / "kzld.nt"), format=ox.RdfFormat.N_TRIPLES)
    sources = set(
        _values(graph, "SELECT DISTINCT ?s { ?s a/rdfs:subClassOf* kz:Source }")
        + _values(graph, "SELECT DISTINCT ?s { ?e kz:source ?s }")
    )
    assert sources
    assert set(_values(store, f"SELECT ?s {{ {dataset} dcterms:source ?s }}")) == sources
    issued = _values(store, f"SELECT ?d {{ {dataset} dcterms:issued ?d }}")
    source_dates = _values(
        graph, "SELECT ?d { ?s a/rdfs:subClassOf* kz:Source ; dcterms:issued ?d }"
    )
    # The newest source date: ISO dates sort lexically, and a fuller date sorts later.
    assert issued == [max(source_dates)]


def test_issued_date_comes_from_source_date_epoch(kzld, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(86400 * 365))
    out = tmp_path / "public"
    assert kzld("build", "--out", out).exit_code == 0
    rows = list(
        _description(out).query(
            "SELECT ?d { <https://w3id.org/kzld/dataset> <http://purl.org/dc/terms/issued> ?d }"
        )
    )
    assert [str(row[0]) for row in rows] == [f'"1971-01-01"^^<{XSD}date>']


def test_jsonld_is_compact_typed_and_self_contained(published, bundled_graph):  # noqa: F811
    document = json.loads((published / "kzld.jsonld").read_text("utf-8"))
    context = document["@context"]
    assert isinstance(context, dict)  # inline: never a reference to fetch
    assert json.loads((published / "context.jsonld").read_text("utf-8"))["@context"] == context
    nodes = {node["@id"]: node for node in document["@graph"]}
    tenures = [n for n in nodes.values() if n.get("@type") == "Tenure"]
    assert tenures and all("holder" in n and "post" in n for n in tenures)
    assert all(isinstance(n["holder"], str) for n in tenures)  # IRIs as plain strings
    dated = [t for t in bundled_graph.triples if t.predicate == ox.NamedNode(KZ + "start")]
    assert dated
    written = [v for n in tenures for v in _list(n.get("start"))]
    for t in dated:
        kind = t.object.datatype.value.removeprefix(XSD)
        assert {"@value": t.object.value, "@type": f"xsd:{kind}"} in written
    labels = [v for n in nodes.values() for v in _list(n.get("label"))]
    assert labels and all(set(v) == {"@value", "@language"} for v in labels)


def _list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def test_invalid_data_is_never_published(kzld, tmp_path):
    from kzld.loading.resources import bundled

    out = tmp_path / "public"
    assert kzld("build", "--out", out).exit_code == 0
    before = _contents(out)
    invalid = tmp_path / "invalid.ttl"
    invalid.write_text(INVALID, encoding="utf-8")
    done = kzld("build", "--data", bundled("data"), "--data", invalid, "--out", out)
    assert done.exit_code == 1
    assert "does not conform" in done.stderr and "nothing was published" in done.stderr
    assert "person/nameless" in done.stderr
    assert _contents(out) == before
    fresh = tmp_path / "never"
    assert (
        kzld("build", "--data", bundled("data"), "--data", invalid, "--out", fresh).exit_code == 1
    )
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] in ([], [".public.lock"])


def test_user_data_is_the_data_part_and_the_ontology_stays_bundled(kzld, tmp_path):
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import bundled

    extra = tmp_path / "extra.ttl"
    extra.write_text(
        "<https://w3id.org/kzld/id/figure/extra> <http://www.w3.org/2000/01/rdf-schema#comment>"
        ' "added by a user"@en .\n',
        encoding="utf-8",
    )
    out = tmp_path / "public"
    done = kzld("build", "--data", bundled("data"), "--data", extra, "--out", out)
    assert done.exit_code == 0, done.stderr

    def read(name: str) -> set[str]:
        return {str(t) for t in ox.parse(path=str(out / name), format=ox.RdfFormat.N_TRIPLES)}

    ontology = {str(t) for t in load_graph([bundled("ontology")]).triples}
    data = {str(t) for t in load_graph([bundled("data"), extra]).triples}
    assert read("kzld-ontology.nt") == ontology
    assert read("kzld-data.nt") == data - ontology
    assert read("kzld.nt") == data | ontology


def test_build_refuses_a_folder_that_is_not_a_publication(kzld, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    done = kzld("build", "--out", out)
    assert done.exit_code == 5
    assert "not a kzld publication" in done.stderr
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert (out / "thesis.tex").read_text() == "years of work"


def test_help_is_complete(kzld):
    root = kzld("--help")
    assert root.exit_code == 0
    assert "build" in root.stdout and "verify" in root.stdout
    build = kzld("build", "--help")
    assert build.exit_code == 0
    for word in ("--data", "--out", "--lock-wait", "SOURCE_DATE_EPOCH", "SHA256SUMS", "JSON-LD"):
        assert word in build.stdout, word
    verify = kzld("verify", "--help")
    assert verify.exit_code == 0
    for word in ("--out", "SHA256SUMS", "altered", "missing", "added"):
        assert word in verify.stdout, word


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("build", "--data", "no/such/file.ttl"), 3, "no/such/file.ttl"),
        (("build", "--data", "notes.rdf"), 2, ".rdf"),
        (("verify", "--out", "no/such/folder"), 3, "no/such/folder"),
    ],
)
def test_errors_are_one_line_with_a_hint_and_no_traceback(run_kzld, tmp_path, args, code, words):
    (tmp_path / "notes.rdf").write_text("<rdf:RDF/>")
    done = run_kzld(*args, cwd=tmp_path)
    assert done.exit_code == code
    lines = done.stderr.splitlines()
    assert lines[0].startswith("kzld: error: ") and words in lines[0]
    assert all(line.startswith("  hint: ") for line in lines[1:])
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "public" / "dumps").exists()


def test_debug_shows_the_traceback(run_kzld, tmp_path):
    done = run_kzld("--debug", "verify", "--out", "no/such/folder", cwd=tmp_path)
    assert done.exit_code != 0
    assert "Traceback" in done.stderr


def test_progress_is_shown_when_stderr_is_a_terminal(tmp_path):
    import os
    import pty
    import sys

    from conftest import subprocess_env

    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "kzld", "build", "--out", str(tmp_path / "public")],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=subprocess_env({"TERM": "xterm"}),
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes with the child
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    stdout, _ = child.communicate(timeout=300)
    assert child.returncode == 0
    assert b"validating" in shown and b"publishing" in shown
    assert b"validating" not in stdout  # the report on stdout stays plain


def test_a_dump_that_does_not_read_back_is_never_published(kzld, tmp_path, monkeypatch):
    import kzld.publishing.publication as publication

    out = tmp_path / "public"
    write_turtle = publication.write_turtle
    # A writer that loses the last statement: the build's own read-back must catch it.
    monkeypatch.setattr(
        publication, "write_turtle", lambda lines, _joined=None: write_turtle(lines[:-1])
    )
    done = kzld("build", "--out", out)
    assert done.exit_code == 5
    assert "does not read back" in done.stderr
    assert not out.exists()


def test_a_bad_source_date_epoch_is_a_usage_error(kzld, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    done = kzld("build", "--out", tmp_path / "public")
    assert done.exit_code == 2
    assert "SOURCE_DATE_EPOCH" in done.stderr.splitlines()[0]
    assert not (tmp_path / "public").exists()


def test_a_nested_out_folder_is_created_with_its_parents(kzld, tmp_path):
    out = tmp_path / "site" / "dumps"
    result = kzld("build", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert (out / "SHA256SUMS").is_file()


def test_an_out_folder_under_a_file_is_an_output_error(kzld, tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    result = kzld("build", "--out", tmp_path / "plain" / "dumps")
    assert result.exit_code == 5
    assert "cannot be created" in result.stderr


def test_whole_graph_dumps_equal_those_written_in_one_go(tmp_path):
    """The whole graph's JSON-LD is put together from the data and ontology parts' nodes;
    a subject both parts describe is written again from all it has. The Turtle is written
    from all the statements."""
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import bundled
    from kzld.publishing.jsonld import build_context, write_jsonld
    from kzld.publishing.publication import dump_order, ntriples_lines, publish_loaded, write_turtle

    extra = tmp_path / "extra.ttl"
    extra.write_text(
        "@prefix kz: <https://w3id.org/kzld/ontology#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'kz:Person rdfs:comment "also described by the data"@en ; a kz:Extra .\n'
        'kz:Tenure kz:note "a"@en .\n',
        encoding="utf-8",
    )
    ontology = load_graph([bundled("ontology")])
    graph = load_graph([bundled("ontology"), bundled("data"), extra])
    out = tmp_path / "public"
    publish_loaded(graph, ontology, out)
    lines = ntriples_lines(graph.triples)
    assert (out / "kzld.ttl").read_bytes() == write_turtle(dump_order(lines))
    context = build_context(ontology.triples)
    assert (out / "kzld.jsonld").read_bytes() == write_jsonld(lines, context)
    turtle = (out / "kzld.ttl").read_text("utf-8")
    assert "\nkz:Person a " in turtle and "also described by the data" in turtle


def test_a_dump_that_does_not_parse_is_never_published(tmp_path, monkeypatch):
    import kzld.publishing.publication as publication
    from kzld.errors import OutputError
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import bundled

    monkeypatch.setattr(publication, "jsonld_document", lambda nodes, context: b'{"@graph": [')
    ontology = load_graph([bundled("ontology")])
    graph = load_graph([bundled("ontology"), bundled("data")])
    with pytest.raises(OutputError, match="kzld.jsonld does not read back"):
        publication.publish_loaded(graph, ontology, tmp_path / "public")
    assert not (tmp_path / "public").exists()


def test_turtle_writes_whole_iris_where_a_prefixed_name_would_need_escapes():
    """rdflib 7 cannot read post:a\\. (a valid Turtle name): such a namespace gets no prefix."""
    import pyoxigraph as ox
    import rdflib

    from kzld.publishing.publication import dump_order, ntriples_lines, write_turtle

    source = (
        b"<https://w3id.org/kzld/id/post/a.> <http://www.w3.org/2000/01/rdf-schema#label> "
        b'"a"@en .\n'
        b"<https://w3id.org/kzld/id/person/b> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        b"<https://w3id.org/kzld/ontology#Person> .\n"
        b"<https://w3id.org/kzld/id/person/b> <https://w3id.org/kzld/ontology#holds> "
        b"<https://w3id.org/kzld/id/post/c/d> .\n"
        b"<https://w3id.org/kzld/id/person/b> <http://www.w3.org/2000/01/rdf-schema#comment> "
        b'"a back\\\\slash, and post:x\\\\. quoted"@en .\n'
    )
    turtle = write_turtle(
        dump_order(ntriples_lines(ox.parse(source, format=ox.RdfFormat.N_TRIPLES)))
    )
    assert b"<https://w3id.org/kzld/id/post/a.>" in turtle
    assert b"<https://w3id.org/kzld/id/post/c/d>" in turtle
    assert b"\nperson:b a kz:Person ;" in turtle
    assert b"@prefix post:" not in turtle
    read = rdflib.Graph().parse(data=turtle, format="turtle")
    assert set(read) == set(rdflib.Graph().parse(data=source, format="nt"))


def test_turtle_keeps_numbers_as_authored_for_parsers_that_rewrite_bare_ones(monkeypatch):
    """rdflib reads a bare 01 as 1 even when told to keep lexical forms: numbers not in
    canonical form are written in full."""
    import pyoxigraph as ox
    import rdflib

    from kzld.publishing.publication import dump_order, ntriples_lines, write_turtle

    xsd = "http://www.w3.org/2001/XMLSchema#"
    person = ox.NamedNode("https://w3id.org/kzld/id/person/a")
    numbers = [("7", "integer"), ("01", "integer"), ("+1", "integer"), ("0.60", "decimal")]
    numbers += [(".5", "decimal"), ("1.0E3", "double")]
    triples = [
        ox.Triple(
            person,
            ox.NamedNode(f"https://w3id.org/kzld/ontology#n{i}"),
            ox.Literal(value, datatype=ox.NamedNode(xsd + kind)),
        )
        for i, (value, kind) in enumerate(numbers)
    ]
    turtle = write_turtle(dump_order(ntriples_lines(triples)))
    assert b"person:a kz:n0 7 ;" in turtle and b"\tkz:n3 0.60 " in turtle  # canonical: bare
    tail = turtle.split(b"# Numbers as authored")[1]
    for value in ("01", "+1", ".5", "1.0E3"):
        assert f'"{value}"^^<{xsd}'.encode() in tail
    monkeypatch.setattr(rdflib, "NORMALIZE_LITERALS", False)
    read = {(str(o), str(o.datatype)) for o in rdflib.Graph().parse(data=turtle).objects()}
    assert read == {(v, xsd + t) for v, t in numbers}
