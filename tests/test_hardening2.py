"""Issue 16's reproductions, local side: each gives one `kzld: error:` line with its
documented exit code, no traceback, and never a connection to a listener on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, subprocess_env

ONTOLOGY = ROOT / "ontology"
DATA = ROOT / "data"
PREFIX = "@prefix ex: <https://w3id.org/kzld/x/> .\n"


def one_error(done, code: int) -> str:
    """The single error line of a failed run with this exit code."""
    assert done.exit_code == code, (done.exit_code, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("kzld: error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


# --------------------------------------------------------------------------- item 1: SERVICE


@pytest.mark.parametrize(
    "where",
    [
        "?s ?p false.SERVICE SILENT <{url}> {{ ?a ?b ?c }}",
        "?s ?p true.SERVICE <{url}> {{ ?a ?b ?c }}",
        "?s ?p 1SERVICE <{url}> {{ ?a ?b ?c }}",
        "SERVICE:x {{ ?a ?b ?c }}",
    ],
)
def test_service_from_query_file_never_connects(run_kzld, tmp_path, listener, where):
    port, accepted = listener
    url = f"http://127.0.0.1:{port}/x"
    query = tmp_path / "svc.rq"
    query.write_text(
        f"PREFIX : <{url}>\nSELECT * WHERE {{ {where.format(url=url)} }} LIMIT 1\n",
        encoding="utf-8",
    )
    line = one_error(run_kzld("query", "--file", query), 2)
    assert "SERVICE" in line and "is refused" in line and str(query) in line
    time.sleep(0.2)
    assert accepted == []


# --------------------------------------------------------------------------- 5, 7, 8: user SPARQL


def test_a_cartesian_product_with_order_by_stops_at_the_memory_cap(run_kzld, tmp_path):
    query = tmp_path / "cart.rq"
    query.write_text(
        "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g\n", encoding="utf-8"
    )
    began = time.monotonic()
    done = run_kzld("query", "--file", query, env={"KZLD_QUERY_MEMORY_MB": "300"}, timeout=120)
    line = one_error(done, 6)
    assert "needed more than 300 MiB of memory" in line
    assert "memory allocation" not in done.stderr  # Rust's own report stays in the child
    assert time.monotonic() - began < 90


def test_a_runaway_query_is_killed_at_the_timeout(run_kzld, tmp_path):
    query = tmp_path / "slow.rq"
    query.write_text(
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }\n", encoding="utf-8"
    )
    began = time.monotonic()
    line = one_error(run_kzld("query", "--file", query, "--timeout", "1"), 6)
    assert "longer than 1 s" in line
    assert time.monotonic() - began < 30


def test_a_user_query_answers_through_the_child(run_kzld, tmp_path):
    query = tmp_path / "posts.rq"
    query.write_text(
        "PREFIX kz: <https://w3id.org/kzld/ontology#>\n"
        "SELECT ?post WHERE { ?post a kz:Post } ORDER BY ?post LIMIT 2\n",
        encoding="utf-8",
    )
    done = run_kzld("query", "--file", query, "--format", "csv")
    assert done.exit_code == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0] == "post" and len(rows) == 3
    assert all(r.startswith("https://w3id.org/kzld/id/post/") for r in rows[1:])


def test_a_broken_query_is_one_usage_error(run_kzld, tmp_path):
    query = tmp_path / "bad.rq"
    query.write_text("SELECT * WHERE { ?s ?p }\n", encoding="utf-8")
    assert "not valid SPARQL" in one_error(run_kzld("query", "--file", query), 2)


def test_query_file_on_a_fifo_or_dev_zero_is_refused_at_once(run_kzld, tmp_path):
    fifo = tmp_path / "q.rq"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.rq"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        began = time.monotonic()
        line = one_error(run_kzld("query", "--file", path, timeout=60), 3)
        assert str(path) in line and "not a regular file" in line
        assert time.monotonic() - began < 30


# --------------------------------------------------------------------------- item 7: verify


@pytest.fixture
def publication(run_kzld, tmp_path) -> Path:
    out = tmp_path / "pub"
    done = run_kzld("build", "--out", out)
    assert done.exit_code == 0, done.stderr
    return out


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_verify_never_reads_a_fifo_or_dev_zero(run_kzld, publication, kind):
    target = publication / "kzld.nt"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    done = run_kzld("verify", "--out", publication, timeout=60)
    line = one_error(done, 1)
    assert "kzld.nt" in line
    assert "altered:" in done.stdout and "not a regular file" in done.stdout


def test_verify_refuses_a_checksum_file_that_is_a_fifo(run_kzld, publication):
    sums = publication / "SHA256SUMS"
    sums.unlink()
    os.mkfifo(sums)
    done = run_kzld("verify", "--out", publication, timeout=60)
    assert done.exit_code in (1, 3) and "Traceback" not in done.stderr
    assert "SHA256SUMS" in one_error(done, done.exit_code)


# --------------------------------------------------------------------------- item 3: never delete


def test_a_sha256sums_decoy_is_not_a_publication(run_kzld, tmp_path):
    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / "thesis.docx").write_text("precious\n")
    (folder / "SHA256SUMS").write_text(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  ubuntu.iso\n"
    )
    line = one_error(run_kzld("build", "--out", folder), 5)
    assert "not a kzld publication" in line and "nothing was published or deleted" in line
    assert (folder / "thesis.docx").read_text() == "precious\n"
    assert sorted(p.name for p in folder.iterdir()) == ["SHA256SUMS", "thesis.docx"]


def test_a_site_beside_the_dumps_survives_a_build_into_its_folder(run_kzld, tmp_path):
    """README layout: the site in public/, the dumps in public/dumps (the default)."""
    public = tmp_path / "public"
    assert run_kzld("build", cwd=tmp_path).exit_code == 0
    (public / "index.html").write_text("<html>site</html>\n")
    line = one_error(run_kzld("build", "--out", "public", cwd=tmp_path), 5)
    assert "public" in line
    assert (public / "index.html").read_text() == "<html>site</html>\n"
    assert (public / "dumps" / "kzld.ttl").is_file()
    assert run_kzld("build", "--out", public / "dumps").exit_code == 0  # its own: replaced


def test_a_file_added_to_a_publication_is_never_deleted(run_kzld, publication):
    (publication / "notes.txt").write_text("mine\n")
    line = one_error(run_kzld("build", "--out", publication), 5)
    assert "notes.txt" in line and "did not write" in line
    assert (publication / "notes.txt").read_text() == "mine\n"


def test_an_edited_dump_is_restored_but_a_changed_checksum_file_blocks(run_kzld, publication):
    """kzld's own files, edited since, are what the build restores (as verify's hint
    says); a SHA256SUMS that is not the marker's own means the marker is not this folder's."""
    original = (publication / "kzld.ttl").read_bytes()
    with (publication / "kzld.ttl").open("a") as f:
        f.write("# my note\n")
    (publication / "kzld.jsonld").unlink()
    assert run_kzld("build", "--out", publication).exit_code == 0
    assert (publication / "kzld.ttl").read_bytes() == original
    assert run_kzld("verify", "--out", publication).exit_code == 0
    with (publication / "SHA256SUMS").open("a") as f:
        f.write("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  x.iso\n")
    line = one_error(run_kzld("build", "--out", publication), 5)
    assert "SHA256SUMS is not the one kzld wrote" in line


def test_a_folder_named_like_a_dump_is_never_deleted(run_kzld, publication):
    (publication / "kzld.ttl").unlink()
    (publication / "kzld.ttl").mkdir()
    (publication / "kzld.ttl" / "mine.txt").write_text("mine\n")
    line = one_error(run_kzld("build", "--out", publication), 5)
    assert "kzld.ttl is not the file kzld wrote" in line
    assert (publication / "kzld.ttl" / "mine.txt").read_text() == "mine\n"


def test_a_publication_from_before_the_marker_is_still_replaced(run_kzld, publication):
    (publication / ".kzld-publication").unlink()
    done = run_kzld("build", "--out", publication)
    assert done.exit_code == 0, done.stderr
    assert (publication / ".kzld-publication").is_file()


# --------------------------------------------------------------------------- item 4: JSON-LD


CONTEXT = {"kz": "https://w3id.org/kzld/ontology#", "name": "kz:name"}
PERSON = "https://w3id.org/kzld/id/person/p"


@pytest.mark.parametrize(
    "node, says",
    [
        ({"@id": PERSON + " x", "name": "P"}, "@id 'https://w3id.org/kzld/id/person/p x'"),
        ({"@id": PERSON, "nmae": "P"}, "term 'nmae' is not defined"),
        ({"@id": PERSON, "kz:na me": "P"}, "property 'kz:na me' is not a valid IRI"),
        ({"@id": PERSON, "name": {"@value": "P", "@language": "en gb"}}, "language tag"),
        ({"@id": PERSON, "@foo": "P"}, "'@foo' is not a JSON-LD keyword"),
        ({"@id": PERSON, "name": None}, "has the value null"),
    ],
)
def test_jsonld_never_drops_a_term_silently(run_kzld, tmp_path, node, says):
    path = tmp_path / "p.jsonld"
    path.write_text(json.dumps({"@context": CONTEXT, **node}, indent=1), encoding="utf-8")
    line = one_error(run_kzld("build", "--data", ONTOLOGY, "--data", path, "--out", "o"), 3)
    assert f"{path}:" in line and says in line and "JSON-LD would drop it" in line
    assert not (tmp_path / "o").exists()


def test_the_published_jsonld_reads_back_whole(run_kzld, publication, tmp_path):
    done = run_kzld("validate", "--data", publication / "kzld.jsonld")
    assert done.exit_code == 0, done.stderr


# --------------------------------------------------------------------------- items 5, 6: loading


def _without_root_reads():
    """For a child of root: drop the capabilities that let root read any folder, from the
    bounding set, so they stay dropped across exec."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP")


def test_an_unreadable_subfolder_is_an_error_naming_it(tmp_path):
    """A folder the process cannot list (root runs without its read-anything rights)."""
    base = Path(tempfile.mkdtemp(prefix="kzld-unreadable-"))
    try:
        os.chmod(base, 0o755)
        data = base / "data"
        (data / "secret").mkdir(parents=True)
        (data / "a.ttl").write_text(PREFIX + "ex:a ex:b ex:c .\n")
        (data / "secret" / "b.ttl").write_text(PREFIX + "ex:a ex:b ex:d .\n")
        for folder in (data,):
            os.chmod(folder, 0o755)
        os.chmod(data / "a.ttl", 0o644)
        os.chmod(data / "secret", 0o000)
        as_root = os.geteuid() == 0
        for target, named in ((data, data / "secret"), (data / "secret" / "b.ttl", None)):
            done = subprocess.run(
                [sys.executable, "-m", "kzld", "validate", "--data", str(target)],
                cwd=base,
                env=subprocess_env(),
                capture_output=True,
                text=True,
                timeout=120,
                preexec_fn=_without_root_reads if as_root else None,
            )
            assert done.returncode == 3, done.stderr
            assert "Traceback" not in done.stderr
            errors = [x for x in done.stderr.splitlines() if x.startswith("kzld: error:")]
            assert len(errors) == 1 and str(named or target) in errors[0], done.stderr
    finally:
        os.chmod(base / "data" / "secret", 0o755)
        import shutil

        shutil.rmtree(base)


def test_a_symlink_loop_in_a_data_folder_is_an_error(run_kzld, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.ttl").write_text(PREFIX + "ex:a ex:b ex:c .\n")
    (data / "x").symlink_to(data / "y")
    (data / "y").symlink_to(data / "x")
    line = one_error(run_kzld("validate", "--data", data), 3)
    assert "symbolic link loop" in line and str(data / "x") in line


def test_a_long_list_and_deep_nesting_load(tmp_path):
    from kzld.loading.graph import load_graph

    items = " ".join(f'"{i}"' for i in range(5000))
    (tmp_path / "list.ttl").write_text(PREFIX + f"ex:s ex:p ({items}) .\n")
    depth = 100_000
    (tmp_path / "deep.ttl").write_text(
        PREFIX + "ex:s ex:p " + "[ ex:q " * depth + '"x"' + " ]" * depth + " .\n"
    )
    graph = load_graph([tmp_path / "list.ttl"])
    assert len(graph) == 5000 * 2 + 1
    assert len(load_graph([tmp_path / "deep.ttl"])) == depth + 1
    again = load_graph([tmp_path / "list.ttl"])
    assert graph.sorted_triples() == again.sorted_triples()  # names derived from content


def test_a_term_over_16_mib_is_exit_3(run_kzld, tmp_path):
    path = tmp_path / "big.ttl"
    path.write_text(PREFIX + 'ex:s ex:p "' + "a" * (17 * 2**20) + '" .\n')
    line = one_error(run_kzld("validate", "--data", path), 3)
    assert str(path) in line and "16 MiB" in line


def test_a_self_referencing_genid_node_is_exit_3(run_kzld, tmp_path):
    path = tmp_path / "self.ttl"
    genid = "<https://w3id.org/kzld/.well-known/genid/abc>"
    path.write_text(
        "<https://w3id.org/kzld/id/person/kassym-jomart-tokayev> "
        f"<https://w3id.org/kzld/ontology#note> {genid} .\n"
        f"{genid} <https://w3id.org/kzld/ontology#quote> {genid} .\n"
    )
    line = one_error(run_kzld("site", "--data", ONTOLOGY, "--data", path, "--out", "s"), 3)
    assert "refers back to itself" in line and str(path) in line


# --------------------------------------------------------------------------- item 9: smaller


def test_the_turtle_position_is_said_once(run_kzld, tmp_path):
    path = tmp_path / "bad.ttl"
    path.write_text(PREFIX + 'ex:a ex:b "x\n')
    line = one_error(run_kzld("validate", "--data", path), 3)
    assert line.startswith(f"kzld: error: {path}:2:")
    assert "line" not in line.split(f"{path}:", 1)[1]


def test_control_bytes_are_escaped_in_errors(run_kzld, tmp_path):
    name = "e\x1b]0;owned\x07\x1b[2J.ttl"
    (tmp_path / name).write_text("x")
    done = run_kzld("validate", "--data", tmp_path / name)
    line = one_error(done, 3)
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "e\\x1b]0;owned\\x07\\x1b[2J.ttl" in line


def test_build_into_a_closed_pipe_is_quiet(tmp_path):
    command = f"{sys.executable} -m kzld build --out {tmp_path / 'o'} | head -c 1 >/dev/null"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (tmp_path / "o" / "kzld.ttl").is_file()


def test_missing_data_is_exit_3(run_kzld, tmp_path):
    line = one_error(run_kzld("validate", "--data", tmp_path / "nothing.ttl"), 3)
    assert "no such file or folder" in line


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "--data", "{file}"),
        ("build", "--data", "{folder}", "--out", "o"),
        ("query", "--file", "{query}"),
        ("validate", "--shapes", "{file}"),
    ],
)
def test_an_unreadable_path_is_exit_3_not_a_usage_error(tmp_path, args):
    """Click would call an unreadable path a usage error (2); kzld names it, exit 3."""
    (tmp_path / "folder").mkdir()
    paths = {
        "file": tmp_path / "a.ttl",
        "folder": tmp_path / "folder",
        "query": tmp_path / "q.rq",
    }
    paths["file"].write_text(PREFIX + "ex:a ex:b ex:c .\n")
    paths["query"].write_text("SELECT * WHERE { ?s ?p ?o }\n")
    for path in paths.values():
        path.chmod(0)
    try:
        argv = [a.format(**paths) for a in args]
        done = subprocess.run(
            [sys.executable, "-m", "kzld", *argv],
            cwd=tmp_path,
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_without_root_reads if os.geteuid() == 0 else None,
        )
    finally:
        for path in paths.values():
            path.chmod(0o755)
    assert done.returncode == 3, done.stderr
    errors = [x for x in done.stderr.splitlines() if x.startswith("kzld: error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert any(str(p.name) in errors[0] for p in paths.values()), errors


def test_ctrl_c_during_a_user_query_leaves_no_child_running(tmp_path):
    import signal

    query = tmp_path / "slow.rq"
    query.write_text(
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }\n", encoding="utf-8"
    )
    command = [sys.executable, "-m", "kzld", "query", "--file", str(query), "--timeout", "60"]
    process = subprocess.Popen(
        command, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        children: list[int] = []
        while time.monotonic() < deadline and not children:  # wait for the fork
            time.sleep(0.2)
            listing = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            children = [int(c) for c in listing.read_text().split()] if listing.exists() else []
        assert children, "the query never started its child"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130 and "Traceback" not in err
    time.sleep(0.5)
    assert not any(Path(f"/proc/{child}").exists() for child in children)
