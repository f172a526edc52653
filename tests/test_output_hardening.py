"""Output faults: kill -9, a full disk, read-only folders, concurrent builds, hostile
literals, and files altered after publication."""

from __future__ import annotations

import fcntl
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import subprocess_env
from test_roundtrip import DUMPS, by_oxigraph, by_rapper, by_rdflib, canonical

PERSON = "https://w3id.org/kzld/id/person/test-person"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def stress_literals() -> list[ox.Literal]:
    """Quotes, backslashes, newlines, emoji, right-to-left text, a 1 MiB string, and
    strings that look like syntax in one of the dump formats."""
    mib = ('Ж€😀 " \\ \n' * (1 << 20))[: 1 << 20]
    texts = [
        "say \"hello\" and 'bye'",
        'three """ quotes and a trailing quote"',
        "back\\slash and a trailing backslash\\",
        "\\n is not a newline, \\u0041 is not A",
        "line one\nline two\r\nline three\ttabbed",
        "emoji 😀 👩‍👩‍👧 🇰🇿 and a skin tone 👍🏽",
        "right-to-left: العربية עברית \u200f mixed \u202e override",
        "control \u0001 \u0008 \u000b \u000c \u001f \u007f characters",
        '{"@context": "https://evil.example/ctx", "@id": "kz:Person"}',
        "@id",
        "kz:Person",
        "<https://example.org/not-an-iri>",
        "#not a comment",
        " ",
        mib,
    ]
    literals = [ox.Literal(t) for t in texts]
    literals += [
        ox.Literal(t, language=lang)
        for t, lang in zip(texts[:6], ["en", "ru", "kk", "ar", "he", "en-gb"], strict=True)
    ]
    xsd = "http://www.w3.org/2001/XMLSchema#"
    typed = [
        ("0.60", "decimal"),
        ("01", "integer"),
        ("+1", "integer"),
        ("1E0", "double"),
        ("2022-03", "gYearMonth"),
        ("2022", "gYear"),
        ("2022-03-09", "date"),
        ("1", "boolean"),
    ]
    literals += [ox.Literal(v, datatype=ox.NamedNode(xsd + d)) for v, d in typed]
    return literals


def write_dataset(path: Path, extra: list[ox.Literal] = (), label: str = "Test Person") -> Path:
    """A small conforming dataset: one person, its comments carrying the given literals."""
    person = ox.NamedNode(PERSON)
    triples = [
        ox.Triple(
            person,
            ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            ox.NamedNode("https://w3id.org/kzld/ontology#Person"),
        ),
        ox.Triple(person, ox.NamedNode(RDFS + "label"), ox.Literal(label, language="en")),
    ]
    triples += [ox.Triple(person, ox.NamedNode(RDFS + "comment"), lit) for lit in extra]
    path.write_bytes(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".previous" in p.name)


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Two different datasets, each published once to a reference folder."""
    from kzld.publishing.publication import publish

    root = tmp_path_factory.mktemp("references")
    a = write_dataset(root / "a.nt", label="Person A")
    b = write_dataset(root / "b.nt", [ox.Literal("x" * (1 << 20))], label="Person B")
    refs = {}
    for name, data in (("a", a), ("b", b)):
        publish([data], root / f"ref-{name}")
        refs[name] = root / f"ref-{name}"
    return {"a": a, "b": b, "refs": refs}


def published_a(builds, out: Path) -> Path:
    """A previous publication of dataset a in out (a copy: builds are byte-identical)."""
    shutil.copytree(builds["refs"]["a"], out)
    return out


# A child build whose nth file write (or the swap) pauses: the test kills it there.
PAUSING_BUILD = textwrap.dedent(
    """
    import os, sys, time
    import kzld.publishing.publication as publication
    marker, where, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    writes = 0

    def pause():  # until the test creates MARKER.release, or for so many seconds
        open(marker, "w").close()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not os.path.exists(marker + ".release"):
            time.sleep(0.05)

    write_file, swap, exchange = publication._write_file, publication._swap, publication._exchange

    def pausing_write(path, body):
        global writes
        write_file(path, body)
        writes += 1
        if where == f"write-{writes}":
            pause()

    def pausing_swap(fresh, out):
        if where == "swap":
            pause()
        swap(fresh, out)

    def pausing_exchange(a, b):
        done = exchange(a, b)
        if where == "exchanged":
            pause()
        return done

    publication._write_file = pausing_write
    publication._swap = pausing_swap
    publication._exchange = pausing_exchange
    from kzld.cli import run
    sys.exit(run(sys.argv[4:]))
    """
)


def start_pausing_build(tmp_path: Path, where: str, seconds: float, *args) -> tuple:
    marker = tmp_path / f"paused-{where}-{time.monotonic_ns()}"
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSING_BUILD, str(marker), where, str(seconds), *map(str, args)],
        env=subprocess_env({"PYTHONDONTWRITEBYTECODE": "1"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if child.poll() is not None:
            raise AssertionError(f"the build ended before pausing: {child.communicate()}")
        assert time.monotonic() < deadline, "the build never reached the pause point"
        time.sleep(0.05)
    return child, marker


@pytest.mark.parametrize("where", ["write-1", "write-6", "write-12", "swap"])
def test_kill_9_during_a_build_leaves_the_previous_publication(tmp_path, kzld, builds, where):
    out = published_a(builds, tmp_path / "public")
    child, _ = start_pausing_build(
        tmp_path, where, 600, "build", "--data", builds["b"], "--out", out
    )
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert snapshot(out) == snapshot(builds["refs"]["a"])
    assert kzld("verify", "--out", out).exit_code == 0
    if where == "write-6":  # the next build cleans up what the killed one left
        assert kzld("build", "--data", builds["b"], "--out", out).exit_code == 0
        assert snapshot(out) == snapshot(builds["refs"]["b"])
        assert leftovers(tmp_path) == []


def test_kill_9_right_after_the_swap_leaves_the_new_publication_whole(tmp_path, kzld, builds):
    out = published_a(builds, tmp_path / "public")
    child, _ = start_pausing_build(
        tmp_path, "exchanged", 600, "build", "--data", builds["b"], "--out", out
    )
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert snapshot(out) == snapshot(builds["refs"]["b"])
    assert kzld("verify", "--out", out).exit_code == 0


def test_a_full_disk_leaves_the_previous_publication(tmp_path, kzld, builds):
    out = published_a(builds, tmp_path / "public")

    def small_files():  # the dumps of b hold a 1 MiB string; no file may pass 256 KiB
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    done = subprocess.run(
        [sys.executable, "-m", "kzld", "build", "--data", str(builds["b"]), "--out", str(out)],
        env=subprocess_env({"PYTHONDONTWRITEBYTECODE": "1"}),
        preexec_fn=small_files,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 5, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("kzld: error: cannot write") and "previous publication" in lines[0]
    assert lines[1].startswith("  hint: ")
    assert snapshot(out) == snapshot(builds["refs"]["a"])
    assert leftovers(tmp_path) == []


def test_a_read_only_output_folder_is_refused(tmp_path, kzld, builds):
    out = published_a(builds, tmp_path / "public")
    out.chmod(0o555)
    try:
        done = kzld("build", "--data", builds["b"], "--out", out)
    finally:
        out.chmod(0o755)
    assert done.exit_code == 5
    assert "read-only" in done.stderr
    assert snapshot(out) == snapshot(builds["refs"]["a"])


def test_a_read_only_parent_folder_is_refused(tmp_path, kzld, builds):
    parent = tmp_path / "site"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        done = kzld("build", "--data", builds["a"], "--out", parent / "public")
    finally:
        parent.chmod(0o755)
    assert done.exit_code == 5
    assert "read-only" in done.stderr
    assert list(parent.iterdir()) == []


def second_build(data, out, *, lock_wait: str) -> subprocess.CompletedProcess:
    """Another `kzld build` into the same folder, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "kzld", "build", "--data", str(data), "--out", str(out)]
        + ["--lock-wait", lock_wait],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_two_builds_at_once_take_turns(tmp_path, kzld, builds):
    out = tmp_path / "public"
    first, _ = start_pausing_build(
        tmp_path, "write-3", 3, "build", "--data", builds["a"], "--out", out
    )
    second = second_build(builds["b"], out, lock_wait="120")
    _, first_errors = first.communicate(timeout=300)
    assert first.returncode == 0, first_errors
    assert second.returncode == 0, second.stderr
    # The second waited for the first: what is published is the second, whole.
    assert snapshot(out) == snapshot(builds["refs"]["b"])
    assert kzld("verify", "--out", out).exit_code == 0


def test_a_second_build_never_writes_while_the_first_is_publishing(tmp_path, kzld, builds):
    out = tmp_path / "public"
    first, marker = start_pausing_build(
        tmp_path, "swap", 600, "build", "--data", builds["a"], "--out", out
    )
    second = second_build(builds["b"], out, lock_wait="0.5")
    Path(f"{marker}.release").touch()
    _, first_errors = first.communicate(timeout=300)
    assert second.returncode == 5, second.stderr
    assert "another kzld build is writing" in second.stderr
    assert first.returncode == 0, first_errors
    assert snapshot(out) == snapshot(builds["refs"]["a"])


def test_a_build_that_cannot_get_the_lock_fails_clearly(tmp_path, kzld, builds):
    out = published_a(builds, tmp_path / "public")
    with open(tmp_path / ".public.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = kzld("build", "--data", builds["b"], "--out", out, "--lock-wait", "0.3")
    assert done.exit_code == 5
    assert "another kzld build is writing" in done.stderr
    assert snapshot(out) == snapshot(builds["refs"]["a"])


def test_stress_literals_round_trip_through_every_dump(tmp_path, kzld, monkeypatch):
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import bundled

    data = write_dataset(tmp_path / "stress.nt", stress_literals())
    out = tmp_path / "public"
    done = kzld("build", "--data", data, "--out", out)
    assert done.exit_code == 0, done.stderr
    authored = canonical(load_graph([data]).triples)
    assert len(authored) == len(stress_literals()) + 2
    everything = canonical(load_graph([bundled("ontology"), data]).triples)
    for name in DUMPS:
        if name.startswith("kzld-ontology"):
            continue
        path = out / name
        want = authored if name.startswith("kzld-data") else everything
        assert by_oxigraph(path) == want, name
        # rdflib reads N-Triples slowly (~10 s for the 1 MiB string): once is enough.
        if path.suffix != ".nt" or name.startswith("kzld-data"):
            assert by_rdflib(path, monkeypatch) == want, name
        if path.suffix != ".jsonld":
            assert by_rapper(path) == want, name


def _verify(kzld, out: Path):
    return kzld("verify", "--out", out)


def test_verify_accepts_an_untouched_publication(tmp_path, kzld, builds):
    out = published_a(builds, tmp_path / "public")
    done = _verify(kzld, out)
    assert done.exit_code == 0
    assert done.stdout.startswith("ok:")


def test_verify_names_altered_missing_and_added_files(tmp_path, kzld, builds):
    out = published_a(builds, tmp_path / "public")
    with (out / "kzld-data.ttl").open("ab") as f:
        f.write(b"# edited by hand\n")
    (out / "kzld.jsonld").unlink()
    (out / "notes.txt").write_text("hello")
    done = _verify(kzld, out)
    assert done.exit_code == 1
    assert f"altered: {out / 'kzld-data.ttl'}" in done.stdout
    assert f"missing: {out / 'kzld.jsonld'}" in done.stdout
    assert f"added: {out / 'notes.txt'}" in done.stdout
    assert "kzld.ttl" not in done.stdout.replace("kzld-data.ttl", "")
    error = done.stderr.splitlines()
    assert len(error) == 2 and error[0].startswith("kzld: error:") and "kzld-data.ttl" in error[0]


def test_verify_catches_a_dump_altered_together_with_its_checksum(tmp_path, kzld, builds):
    import hashlib

    out = published_a(builds, tmp_path / "public")
    dump = out / "kzld-data.nt"
    dump.write_bytes(dump.read_bytes().replace(b"Person A", b"Person Z"))
    sums = out / "SHA256SUMS"
    lines = [
        f"{hashlib.sha256(dump.read_bytes()).hexdigest()}  {dump.name}"
        if line.endswith("  " + dump.name)
        else line
        for line in sums.read_text().splitlines()
    ]
    sums.write_text("\n".join(lines) + "\n")
    done = _verify(kzld, out)
    assert done.exit_code == 1
    assert f"altered: {dump}" in done.stdout and "dataset.ttl" in done.stdout


def test_verify_of_a_folder_without_checksums_fails(tmp_path, kzld):
    (tmp_path / "x").mkdir()
    done = _verify(kzld, tmp_path / "x")
    assert done.exit_code == 1
    assert "SHA256SUMS" in done.stderr


def test_an_output_folder_reached_by_a_symbolic_link_stays_linked(tmp_path, kzld, builds):
    target = published_a(builds, tmp_path / "releases" / "current")
    link = tmp_path / "public"
    link.symlink_to(target, target_is_directory=True)
    assert kzld("build", "--data", builds["b"], "--out", link).exit_code == 0
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert snapshot(target) == snapshot(builds["refs"]["b"])
    assert leftovers(tmp_path / "releases") == []


def test_without_an_atomic_exchange_the_fallback_swap_publishes_whole(
    tmp_path, kzld, builds, monkeypatch
):
    import kzld.publishing.publication as publication

    monkeypatch.setattr(publication, "_exchange", lambda fresh, out: False)
    out = published_a(builds, tmp_path / "public")
    assert kzld("build", "--data", builds["b"], "--out", out).exit_code == 0
    assert snapshot(out) == snapshot(builds["refs"]["b"])
    assert leftovers(tmp_path) == []


def test_a_build_killed_between_the_fallback_renames_is_undone_by_the_next(tmp_path, kzld, builds):
    # What the fallback leaves when killed between its two renames: the old
    # publication moved aside, no output folder, and the new one in a temp folder.
    shutil.copytree(builds["refs"]["a"], tmp_path / ".public.previous")
    shutil.copytree(builds["refs"]["b"], tmp_path / ".public.tmp-1-deadbeef")
    out = tmp_path / "public"
    done = kzld("build", "--data", builds["a"], "--out", out)
    assert done.exit_code == 0
    assert snapshot(out) == snapshot(builds["refs"]["a"])
    assert leftovers(tmp_path) == []
