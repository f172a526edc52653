"""Faulty input files: each is refused with its file and line, or accepted as documented."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import subprocess_env

from kzld.errors import InputError, UsageError
from kzld.loading.graph import GENID, load_graph

FIXTURES = Path(__file__).parent / "fixtures" / "loading"
VALID = Path(__file__).parent / "fixtures" / "shapes" / "_base.ttl"


def test_turtle_syntax_error_names_line_57_and_publishes_nothing(kzld, tmp_path):
    out = tmp_path / "public"
    result = kzld("build", "--data", FIXTURES / "syntax-error-line-57.ttl", "--out", out)
    assert result.exit_code == 3
    first = result.stderr.splitlines()[0]
    assert first.startswith("kzld: error: ")
    assert "syntax-error-line-57.ttl:57:" in first
    assert not out.exists() or not any(out.iterdir())
    assert result.stdout == ""


def test_validate_reports_the_same_location(kzld):
    result = kzld("validate", "--data", FIXTURES / "syntax-error-line-57.ttl")
    assert result.exit_code == 3
    assert "syntax-error-line-57.ttl:57:" in result.stderr


def test_ntriples_error_names_its_line():
    with pytest.raises(InputError) as caught:
        load_graph([FIXTURES / "bad-line-3.nt"])
    assert caught.value.line == 3
    assert caught.value.message.startswith(f"{FIXTURES / 'bad-line-3.nt'}:3:")


def test_not_utf8_is_refused_with_its_line():
    with pytest.raises(InputError) as caught:
        load_graph([FIXTURES / "latin1.ttl"])
    assert caught.value.line == 4
    assert "not valid UTF-8 (byte 0xe9)" in caught.value.message


def test_byte_order_mark_is_accepted():
    graph = load_graph([FIXTURES / "bom.ttl"])
    assert (FIXTURES / "bom.ttl").read_bytes().startswith(b"\xef\xbb\xbf")
    labels = [t.object for t in graph.triples if t.predicate.value.endswith("#label")]
    assert labels == [ox.Literal("Qazaqstan", language="en")]
    assert not any("\ufeff" in str(t) for t in graph.triples)


def test_lone_surrogate_escape_is_refused():
    with pytest.raises(InputError) as caught:
        load_graph([FIXTURES / "lone-surrogate.ttl"])
    assert caught.value.line == 4
    assert "D800" in caught.value.message


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("iri-with-space.nt", 2, "Invalid IRI code point ' '"),
        ("iri-with-quote.nt", 1, "Invalid IRI code point '\"'"),
        ("relative-iri.ttl", 3, "No scheme found"),
        # JSON-LD would drop the triple silently: refused instead.
        ("relative-iri.jsonld", 4, "relative IRI <place/astana> and no base"),
        ("file-iri.ttl", 4, "IRI <file:///etc/passwd> uses a scheme kzld does not publish"),
    ],
)
def test_bad_iris_are_refused_with_location(name, line, words):
    with pytest.raises(InputError) as caught:
        load_graph([FIXTURES / name])
    assert caught.value.line == line
    assert words in caught.value.message


@pytest.mark.parametrize("suffix", [".rdf", ".owl", ".xml"])
def test_unsupported_extension_is_a_usage_error_listing_formats(kzld, tmp_path, suffix):
    # The content is valid Turtle: the format is never sniffed from it.
    path = tmp_path / f"data{suffix}"
    path.write_bytes(VALID.read_bytes())
    with pytest.raises(UsageError) as caught:
        load_graph([path])
    assert ".ttl, .nt, .jsonld" in (caught.value.hint or "")
    result = kzld("validate", "--data", path)
    assert result.exit_code == 2
    assert f"unsupported file type '{suffix}'" in result.stderr
    assert "kzld reads .ttl, .nt, .jsonld" in result.stderr


def test_unsupported_extension_inside_a_folder_is_not_skipped(tmp_path):
    (tmp_path / "good.ttl").write_bytes(VALID.read_bytes())
    (tmp_path / "extra.owl").write_bytes(VALID.read_bytes())
    with pytest.raises(UsageError):
        load_graph([tmp_path])


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        self.requests.append(self.path)
        body = b'{"@context": {"name": "https://schema.org/name"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/ld+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def context_server():
    """A server on 127.0.0.1 that would serve a JSON-LD context, and records any request."""
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_jsonld_remote_context_is_refused_without_a_request(tmp_path, context_server):
    port = context_server.server_address[1]
    path = tmp_path / "remote.jsonld"
    path.write_text(
        f'{{"@context": "http://127.0.0.1:{port}/context.jsonld",'
        ' "@id": "https://w3id.org/kzld/id/person/p", "name": "P"}',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_graph([path])
    assert "remote contexts" in caught.value.message
    assert str(path) in caught.value.message
    assert _Recorder.requests == []


def test_jsonld_file_context_is_refused_without_reading_it(tmp_path):
    context = tmp_path / "context.jsonld"
    context.write_text('{"@context": {"name": "https://schema.org/name"}}', encoding="utf-8")
    os.chmod(context, 0)  # were it opened, the error would be a permission error instead
    path = tmp_path / "local.jsonld"
    path.write_text(
        f'{{"@context": "{context.as_uri()}", "@id": "https://w3id.org/kzld/id/person/p",'
        ' "name": "P"}',
        encoding="utf-8",
    )
    try:
        with pytest.raises(InputError) as caught:
            load_graph([path])
    finally:
        os.chmod(context, 0o600)
    assert "remote contexts" in caught.value.message


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.ttl"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as caught:
        load_graph([fifo])  # reading it would block forever: no writer
    assert "not a regular file" in caught.value.message


def test_fifo_inside_a_folder_is_refused(tmp_path):
    (tmp_path / "good.ttl").write_bytes(VALID.read_bytes())
    os.mkfifo(tmp_path / "pipe.nt")
    with pytest.raises(InputError, match="not a regular file"):
        load_graph([tmp_path])


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_symlink_out_of_the_data_folder_is_refused(tmp_path, kind):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.ttl").write_bytes(VALID.read_bytes())
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.ttl").write_bytes(VALID.read_bytes())
    if kind == "file":
        (data / "linked.ttl").symlink_to(outside / "secret.ttl")
    else:
        (data / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError) as caught:
        load_graph([data])
    assert "symbolic link points outside the data folder" in caught.value.message


def test_symlink_inside_the_data_folder_is_read(tmp_path):
    (tmp_path / "good.ttl").write_bytes(VALID.read_bytes())
    (tmp_path / "same.ttl").symlink_to(tmp_path / "good.ttl")
    assert len(load_graph([tmp_path])) == len(load_graph([VALID]))


def test_empty_file_is_refused(kzld, tmp_path):
    empty = tmp_path / "empty.ttl"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(InputError, match="the file is empty"):
        load_graph([empty])
    result = kzld("validate", "--data", empty)
    assert result.exit_code == 3
    assert "conforms" not in result.stdout


def test_folder_without_rdf_is_refused(kzld, tmp_path):
    (tmp_path / "README.md").write_text("# nothing here\n", encoding="utf-8")
    result = kzld("validate", "--data", tmp_path)
    assert result.exit_code == 3
    assert "no RDF files found" in result.stderr


def test_prefixes_only_is_empty_data(kzld, tmp_path):
    only = tmp_path / "prefixes.ttl"
    only.write_text("@prefix kz: <https://w3id.org/kzld/ontology#> .\n", encoding="utf-8")
    result = kzld("validate", "--data", only)
    assert result.exit_code == 3
    assert "holds no triples" in result.stderr


def _genids(path: Path) -> list[str]:
    graph = load_graph([path])
    terms = [term for t in graph.triples for term in (t.subject, t.object)]
    assert not any(isinstance(term, ox.BlankNode) for term in terms)
    return sorted(
        {t.value for t in terms if isinstance(t, ox.NamedNode) and t.value.startswith(GENID)}
    )


def test_blank_nodes_get_content_iris_whatever_their_labels(tmp_path):
    first = _genids(FIXTURES / "blank-nodes.ttl")
    assert len(first) == 2
    relabelled = tmp_path / "relabelled.ttl"
    text = (FIXTURES / "blank-nodes.ttl").read_text(encoding="utf-8")
    relabelled.write_text(text.replace("_:quote", "_:other"), encoding="utf-8")
    assert _genids(relabelled) == first
    changed = tmp_path / "changed.ttl"
    changed.write_text(text.replace('"x"', '"y"'), encoding="utf-8")
    assert _genids(changed) != first  # the IRI follows the content


def test_blank_nodes_are_skolemised_identically_across_runs(tmp_path):
    script = (
        "import sys; from kzld.loading.graph import load_graph; "
        "g = load_graph([sys.argv[1]]); print('\\n'.join(str(t) for t in g.sorted_triples()))"
    )
    outputs = set()
    for seed in ("0", "1", "4242"):
        done = subprocess.run(
            [sys.executable, "-c", script, str(FIXTURES / "blank-nodes.ttl")],
            env=subprocess_env({"PYTHONHASHSEED": seed}),
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert GENID in outputs.pop()


_G = GENID
_P = "<https://w3id.org/kzld/ontology#note>"


@pytest.mark.parametrize(
    "files",
    [
        # two genid nodes pointing at each other, one triple a line
        {"a.nt": f"<{_G}a> {_P} <{_G}b> .\n<{_G}b> {_P} <{_G}a> .\n"},
        # the same cycle, one link in each of two files
        {"a.nt": f"<{_G}a> {_P} <{_G}b> .\n", "b.nt": f"<{_G}b> {_P} <{_G}a> .\n"},
        # through a blank node, whose genid only the load path gives it
        {"a.nt": f"<{_G}a> {_P} _:b .\n_:b {_P} <{_G}a> .\n"},
        # the second IRI spelt with an escape: its bytes do not say "genid"
        {"a.nt": f"<{_G}a> {_P} <{_G}a> .\n".replace("genid/a> .", "\\u0067enid/a> .")},
        # N-Triples needs no space between terms, or allows tabs
        {"a.nt": f"<{_G}a>\t{_P}<{_G}a>.\n"},
        # Turtle: a triple may span lines
        {"a.ttl": f"<{_G}a>\n  {_P}\n  <{_G}a> .\n"},
    ],
    ids=["one-file", "two-files", "blank-node", "escaped", "no-spaces", "turtle"],
)
def test_a_cycle_of_genid_nodes_is_refused_however_it_is_written(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="refers back to itself"):
        load_graph([tmp_path])


def test_genid_nodes_without_a_link_between_them_load(tmp_path):
    """The cheap check of N-Triples lines lets a dump of genid nodes through untouched."""
    path = tmp_path / "a.nt"
    lines = [f"<https://w3id.org/kzld/id/x> {_P} <{_G}{n}> .\n" for n in "abc"]
    lines += [f'<{_G}{n}> {_P} "names {_G}z in a literal" .\n' for n in "abc"]
    path.write_text("".join(lines), encoding="utf-8")
    assert len(load_graph([path]).triples) == 6
