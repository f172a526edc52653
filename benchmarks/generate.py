"""Synthetic data in kzld's own model, at any size, for the benchmarks.

Persons hold posts in tenures linked both ways by kz:replaces / kz:replacedBy, each tenure
started by an appointment event, everything cited from sources with verbatim quotes. The
data conforms to the bundled shapes (up to the information-level "no Wikidata item"
findings), so validation costs what it costs on real data. Citations are written with the
skolem IRIs kzld's loader would give them. Output is deterministic: same size, same bytes.

    python benchmarks/generate.py --triples 100000 --out ~/.cache/kzld-bench/100k
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

KZ = "https://w3id.org/kzld/ontology#"
ID = "https://w3id.org/kzld/id/"
GENID = "https://w3id.org/kzld/.well-known/genid/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
DCT = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"

TRIPLES_PER_PERSON = 33  # measured on the output; used only to size the run
TENURES_PER_POST = 12
PERSONS_PER_SOURCE = 25
POSTS_PER_ORGANISATION = 8
RANKS = ("major", "colonel", "major-general", "lieutenant-general", "general")


def iri(text: str) -> str:
    return f"<{text}>"


def kz(local: str) -> str:
    return iri(KZ + local)


def lit(text: str, lang: str = "en") -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"@' + lang


def typed(text: str, datatype: str) -> str:
    return f'"{text}"^^<{XSD}{datatype}>'


def generate(triples: int, out: Path) -> Path:
    """Write about this many triples to out/synthetic.nt; return the file's path."""
    persons = max(TENURES_PER_POST, triples // TRIPLES_PER_PERSON)
    posts = max(1, persons // TENURES_PER_POST)
    organisations = max(1, posts // POSTS_PER_ORGANISATION)
    sources = max(1, persons // PERSONS_PER_SOURCE)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "synthetic.nt"
    partial = out / "synthetic.nt.partial"
    with partial.open("w", encoding="utf-8") as f:

        def emit(s: str, p: str, o: str) -> None:
            f.write(f"{s} {p} {o} .\n")

        for rank in RANKS:
            node = iri(f"{ID}rank/{rank}")
            emit(node, iri(RDF_TYPE), kz("MilitaryRank"))
            emit(node, iri(RDFS_LABEL), lit(rank.replace("-", " ")))
        for o in range(organisations):
            node = iri(f"{ID}organisation/bench-organisation-{o}")
            emit(node, iri(RDF_TYPE), kz("Organisation"))
            emit(node, iri(RDFS_LABEL), lit(f"Bench Organisation {o}"))
        for s in range(sources):
            node = iri(f"{ID}source/bench-outlet-{s}")
            emit(node, iri(RDF_TYPE), kz("SecondaryReport"))
            emit(node, iri(RDFS_LABEL), lit(f"Bench Outlet report {s}"))
            emit(node, iri(DCT + "publisher"), iri(f"{ID}organisation/bench-organisation-0"))
            emit(
                node, iri(DCT + "issued"), typed(f"{2000 + s % 25}-{1 + s % 12:02d}", "gYearMonth")
            )
            emit(node, kz("url"), iri(f"https://news.example.org/bench/{s}"))
        for p in range(posts):
            node = iri(f"{ID}post/bench-post-{p}")
            emit(node, iri(RDF_TYPE), kz("Post"))
            emit(node, iri(RDFS_LABEL), lit(f"Bench Post {p}"))
            emit(node, iri(SKOS_ALT), lit(f"Бенч пост {p}", "ru"))
            emit(
                node, kz("postIn"), iri(f"{ID}organisation/bench-organisation-{p % organisations}")
            )
            emit(node, kz("singleHolder"), typed("true", "boolean"))
        for i in range(persons):
            _person(emit, i, persons, posts, sources)
    partial.replace(target)
    return target


def _person(emit, i: int, persons: int, posts: int, sources: int) -> None:
    """One person, their tenure of a post, its appointment event and the citations."""
    post, k = i % posts, i // posts  # the k-th holder of this post
    person = iri(f"{ID}person/bench-person-{i}")
    tenure = iri(f"{ID}tenure/bench-person-{i}--bench-post-{post}")
    event = iri(f"{ID}event/appointment-of-bench-person-{i}")
    source = iri(f"{ID}source/bench-outlet-{i % sources}")
    start = dt.date(1990, 1, 1) + dt.timedelta(days=90 * k + post % 30)
    end = dt.date(1990, 1, 1) + dt.timedelta(days=90 * (k + 1) + post % 30)
    has_next = i + posts < persons

    emit(person, iri(RDF_TYPE), kz("Person"))
    emit(person, iri(RDFS_LABEL), lit(f"Bench Person {i}"))
    emit(person, iri(SKOS_ALT), lit(f"Бенч Персона {i}", "ru"))
    emit(person, kz("birthDate"), typed(f"{1950 + i % 30}-{1 + i % 12:02d}", "gYearMonth"))
    emit(person, kz("militaryRank"), iri(f"{ID}rank/{RANKS[i % len(RANKS)]}"))

    emit(tenure, iri(RDF_TYPE), kz("Tenure"))
    emit(tenure, kz("holder"), person)
    emit(tenure, kz("post"), iri(f"{ID}post/bench-post-{post}"))
    emit(tenure, kz("start"), typed(start.isoformat(), "date"))
    if k > 0:
        emit(tenure, kz("replaces"), iri(f"{ID}tenure/bench-person-{i - posts}--bench-post-{post}"))
    if has_next:
        emit(tenure, kz("end"), typed(end.isoformat(), "date"))
        emit(tenure, kz("endCause"), kz("dismissed" if i % 3 else "resigned"))
        emit(
            tenure, kz("replacedBy"), iri(f"{ID}tenure/bench-person-{i + posts}--bench-post-{post}")
        )
    if i % 7 == 0:
        emit(tenure, kz("appointedBy"), iri(f"{ID}person/bench-person-0"))
    # Every value is backed by a citation that kz:supports it (the shapes' ksh:Backed).
    starts = ["start"] + ["replaces"] * (k > 0) + ["appointedBy"] * (i % 7 == 0)
    ends = ["end"] + ["endCause", "replacedBy"] * has_next
    for n, (supports, quote) in enumerate(
        (
            (starts, f"Bench Person {i} was appointed on {start.isoformat()}"),
            (ends, f"Bench Person {i} left the post on {end.isoformat()}"),
        )
    ):
        citation = iri(f"{GENID}bench-{i}-{n}")
        emit(tenure, kz("evidence"), citation)
        emit(citation, kz("source"), source)
        emit(citation, kz("quote"), lit(quote))
        for supported in supports:
            emit(citation, kz("supports"), kz(supported))

    emit(event, iri(RDF_TYPE), kz("Appointment"))
    emit(event, kz("date"), typed(start.isoformat(), "date"))
    emit(event, kz("person"), person)
    emit(event, kz("post"), iri(f"{ID}post/bench-post-{post}"))
    emit(event, kz("startsTenure"), tenure)
    citation = iri(f"{GENID}bench-{i}-event")
    emit(event, kz("evidence"), citation)
    emit(citation, kz("source"), source)
    emit(citation, kz("quote"), lit(f"Bench Person {i} was appointed on {start.isoformat()}"))
    emit(citation, kz("supports"), kz("date"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, required=True, help="about this many triples")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args()
    print(generate(args.triples, args.out))


if __name__ == "__main__":
    main()
