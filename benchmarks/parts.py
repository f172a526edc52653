"""Where the successors query spends its time, and which part grows faster than the data.

The query is cut into cumulative parts, each a valid query derived from queries/successors.rq:
its joins only (counted, nothing decoded), the joins' rows (every variable decoded), then
the whole query: the GROUP BY with its aggregates (the rows are ordered by kzld, after the
query, as the header's `order:` says). Every size has its pyoxigraph store in the one
process, and the sizes and parts take turns, run after run, so that a drift in the
machine's speed touches every part and size alike. Printed: microseconds per triple
(medians) at each size, and the growth of that cost from the smallest size to the largest.

A second table says whether it is the store's size or the number of rows that costs more
than linearly: pyoxigraph's own `Store.load` (no kzld code) per triple, and the whole query
per succession, once over every succession and once over only as many successions as the
smallest size holds (the same work, on a store ten times larger).

    python benchmarks/parts.py                   # 100k and 1M, from the benchmark cache
    python benchmarks/parts.py --sizes 10k,100k --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
from run import CACHE, ROOT, SIZES, synthetic  # beside this script, on Python's path


def parts(text: str) -> dict[str, str]:
    """Cumulative parts of a SELECT ... WHERE { ... } GROUP BY ... query."""
    prefixes = text[: text.index("SELECT")]
    where = text[text.index("WHERE {") : text.index("GROUP BY")]
    return {
        "joins (counted)": f"{prefixes}SELECT (COUNT(*) AS ?rows) {where}",
        "+ rows decoded": f"{prefixes}SELECT * {where}",
        "+ GROUP BY, aggregates (whole query)": text,
    }


_SUCCESSION = "  ?before kz:replacedBy ?after .\n"
SUCCESSIONS = (
    "PREFIX kz: <https://w3id.org/kzld/ontology#>\nSELECT (COUNT(*) AS ?n) { ?b kz:replacedBy ?a }"
)


def first_successions(text: str, count: int) -> str:
    """The whole query over only `count` of the successions (whichever the store gives)."""
    if _SUCCESSION not in text:
        raise ValueError("successors.rq no longer starts from `?before kz:replacedBy ?after`")
    limited = f"  {{ SELECT ?before ?after {{ ?before kz:replacedBy ?after }} LIMIT {count} }}\n"
    return text.replace(_SUCCESSION, limited, 1)


def timed(work, *args):
    """Seconds work(*args) took, and what it returned."""
    start = time.perf_counter()
    done = work(*args)
    return time.perf_counter() - start, done


def load(path: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.N_TRIPLES)
    return store


def run(store: ox.Store, query: str) -> None:
    for _solution in store.query(query):
        pass


def successions(store: ox.Store) -> int:
    return int(next(iter(store.query(SUCCESSIONS)))["n"].value)


def print_table(title: str, unit: str, rows: dict[str, dict[str, float]], sizes: list[str]) -> None:
    columns = " | ".join(f"{size} ({unit})" for size in sizes)
    print(f"| {title} | {columns} | growth |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for name, cost in rows.items():
        cells = " | ".join(f"{cost[s]:.3f}" for s in sizes)
        print(f"| {name} | {cells} | {cost[sizes[-1]] / cost[sizes[0]]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m", help="synthetic sizes, smallest first")
    parser.add_argument("--runs", type=int, default=5, help="runs of every part per size")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where generated data is kept")
    args = parser.parse_args()
    text = (ROOT / "queries" / "successors.rq").read_text(encoding="utf-8")
    queries = parts(text)
    whole = "+ GROUP BY, aggregates (whole query)"
    sizes = args.sizes.split(",")
    files = {size: synthetic(size, SIZES[size], args.cache) for size in sizes}
    # Every size is loaded and queried in turn, run after run, so that a drift in the
    # machine's speed touches every size alike; the last store of each size is kept.
    stores: dict[str, ox.Store] = {}
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _ in range(args.runs):
        for size, path in files.items():
            took, stores[size] = timed(load, path)
            seconds["load", size].append(took)
    held = {size: successions(store) for size, store in stores.items()}
    few = held[sizes[0]]  # the successions the smallest size holds
    queries["first"] = first_successions(text, few)
    for _ in range(args.runs):
        for name, query in queries.items():
            for size, store in stores.items():
                seconds[name, size].append(timed(run, store, query)[0])
    median = {key: statistics.median(times) for key, times in seconds.items()}
    per_triple = {
        name: {size: median[name, size] / len(stores[size]) * 1e6 for size in sizes}
        for name in queries
        if name != "first"
    }
    loading = {size: median["load", size] / len(stores[size]) * 1e6 for size in sizes}
    every = {size: median[whole, size] / held[size] * 1e6 for size in sizes}
    first = {size: median["first", size] / few * 1e6 for size in sizes}
    print_table("part of successors.rq", "us/triple", per_triple, sizes)
    print()
    print_table("the store's size, or the rows at once", "us", {
        "pyoxigraph Store.load alone, per triple": loading,
        "whole query, every succession, per succession": every,
        f"whole query, {few} successions only, per succession": first,
    }, sizes)  # fmt: skip


if __name__ == "__main__":
    main()
