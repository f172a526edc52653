"""The Reconciliation Service API 0.2 that `kzld serve` answers (OpenRefine matching names
against kzld's entities), with bounded work: scoring is linear in the length of the query
and of each label, and a request holds a bounded number of bounded queries.

(kzld/wikidata/reconciliation.py is the other direction: kzld's entities against Wikidata.)
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import pyoxigraph as ox

from kzld.vocabulary import ID as ID_BASE
from kzld.vocabulary import KZ
from kzld.web.index import ALT_LABEL, LABEL, Index

MAX_QUERY = 200  # characters in one query's text
MAX_QUERIES = 100  # queries in one batch
MAX_TYPES = 20  # classes in one query's 'type'
MAX_LIMIT = 100  # candidates one query may ask for
THRESHOLD = 0.5  # likeness below which a label is no candidate

_CLASS = re.compile(r"(?:https?://[^\s<>\"{}|\\^`]+|kz:[A-Za-z][A-Za-z0-9_-]*)")


class BadQuery(ValueError):
    """A reconciliation query the API cannot answer: the message says why."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def normalise(text: str) -> str:
    """Case, accents and punctuation removed: 'Zhaqsylyqov,' ~ 'zhaqsylyqov'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.casefold().replace("ı", "i")
    return " ".join(re.findall(r"\w+", plain))


def _bigrams(text: str) -> Counter[str]:
    padded = f" {text} "
    return Counter(padded[i : i + 2] for i in range(len(padded) - 1))


def _dice(a: Counter[str], b: Counter[str], size_a: int, size_b: int) -> float:
    """Sørensen–Dice likeness of two bigram multisets: linear in their sizes."""
    if len(a) > len(b):
        a, b = b, a
    common = sum(min(n, b[gram]) for gram, n in a.items() if gram in b)
    return 2 * common / (size_a + size_b)


@dataclass(frozen=True)
class _Text:
    """A normalised name with its bigrams and its words' bigrams, computed once."""

    text: str
    grams: Counter[str]
    size: int
    words: tuple[tuple[Counter[str], int], ...]

    @classmethod
    def of(cls, text: str) -> _Text:
        grams = _bigrams(text)
        words = tuple((g, sum(g.values())) for g in (_bigrams(w) for w in text.split()))
        return cls(text, grams, sum(grams.values()), words)


def similarity(query: _Text, label: _Text) -> float:
    """1.0 for the same normalised text; otherwise the better of whole-string and
    word-by-word likeness (bigram Dice), so one surname finds a full name spelt another
    way. Cost: linear in the two texts (times the words of the label, a handful)."""
    if not query.text or not label.text:
        return 0.0
    if query.text == label.text:
        return 1.0
    whole = _dice(query.grams, label.grams, query.size, label.size)
    by_word = sum(max(_dice(w, lw, n, ln) for lw, ln in label.words) for w, n in query.words) / len(
        query.words
    )
    short, long_ = sorted((len(query.words), len(label.words)))
    coverage = short / long_
    return min(max(whole, by_word * (0.85 + 0.15 * coverage)), 0.99)


@dataclass
class Candidate:
    iri: str
    name: str
    labels: list[_Text]
    types: list[ox.NamedNode]


class Reconciler:
    """Matches names against every rdfs:label and skos:altLabel of the kzld entities."""

    def __init__(self, index: Index):
        self.index = index
        self.candidates = []
        for entity in index.entities():
            names = index.values(entity, LABEL) + index.values(entity, ALT_LABEL)
            labels = sorted({normalise(n.value) for n in names if isinstance(n, ox.Literal)})
            if labels:
                self.candidates.append(
                    Candidate(
                        entity.value,
                        index.label(entity),
                        [_Text.of(label) for label in labels],
                        index.types(entity),
                    )
                )

    def manifest(self, base: str) -> dict:
        person = KZ + "Person"
        return {
            "versions": ["0.1", "0.2"],
            "name": "kzld: Kazakhstan's military leadership, 2022-2025",
            "identifierSpace": ID_BASE,
            "schemaSpace": KZ,
            "defaultTypes": [{"id": person, "name": "person"}],
            "view": {"url": f"{base}/reconcile/view?id={{{{id}}}}"},
            "preview": {
                "url": f"{base}/reconcile/preview?id={{{{id}}}}",
                "width": 400,
                "height": 160,
            },
            "suggest": {
                "entity": {"service_url": f"{base}/reconcile", "service_path": "/suggest/entity"}
            },
        }

    def check(self, query: object) -> tuple[_Text, int, set[ox.NamedNode] | None]:
        """A query's text, limit and allowed classes, or BadQuery: done for the whole
        batch before any scoring, so a bad query costs no work."""
        if not isinstance(query, dict):
            raise BadQuery("each reconciliation query must be an object")
        text = query.get("query")
        if not isinstance(text, str) or not text.strip():
            raise BadQuery("each reconciliation query needs a non-empty 'query' string")
        if len(text) > MAX_QUERY:
            raise BadQuery(
                f"a reconciliation query is at most {MAX_QUERY} characters ({len(text)} given)",
                hint="send the name alone; use properties for the rest",
            )
        limit = query.get("limit", 5)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_LIMIT:
            raise BadQuery(f"'limit' must be a whole number from 1 to {MAX_LIMIT}")
        wanted = _Text.of(normalise(text))
        if not wanted.words:
            raise BadQuery("the 'query' string has no letters or digits to match")
        return wanted, limit, self._types(query.get("type"))

    def reconcile(self, checked: tuple[_Text, int, set[ox.NamedNode] | None]) -> list[dict]:
        wanted, limit, allowed = checked
        scored = []
        for c in self.candidates:
            if allowed is not None and not allowed.intersection(c.types):
                continue
            score = max(similarity(wanted, label) for label in c.labels)
            if score >= THRESHOLD:
                scored.append((round(score * 100, 1), c))
        scored.sort(key=lambda pair: (-pair[0], pair[1].name, pair[1].iri))
        exact = [s for s, _ in scored if s == 100.0]
        return [
            {
                "id": c.iri,
                "name": c.name,
                "score": score,
                "match": score == 100.0 and len(exact) == 1,
                "type": [{"id": t.value, "name": self.index.label(t)} for t in c.types],
            }
            for score, c in scored[:limit]
        ]

    def _types(self, given: object) -> set[ox.NamedNode] | None:
        if given is None or given == "":
            return None
        names = given if isinstance(given, list) else [given]
        if not all(isinstance(n, str) for n in names) or len(names) > MAX_TYPES:
            raise BadQuery(f"'type' must be a class IRI or a list of at most {MAX_TYPES}")
        allowed: set[ox.NamedNode] = set()
        for name in names:
            if not _CLASS.fullmatch(name):
                raise BadQuery(
                    f"'type' {name[:60]!r} is not a class IRI",
                    hint=f"for example {KZ}Person or kz:Person",
                )
            iri = KZ + name[3:] if name.startswith("kz:") else name
            allowed |= self.index.subclasses(ox.NamedNode(iri))
        return allowed

    def suggest(self, prefix: str) -> list[dict]:
        wanted = normalise(prefix[:MAX_QUERY])
        if not wanted:
            return []
        hits = [
            c
            for c in self.candidates
            if any(
                label.text.startswith(wanted) or f" {wanted}" in f" {label.text}"
                for label in c.labels
            )
        ]
        hits.sort(key=lambda c: (c.name.casefold(), c.iri))
        return [
            {
                "id": c.iri,
                "name": c.name,
                "description": ", ".join(self.index.label(t) for t in c.types),
            }
            for c in hits[:10]
        ]
