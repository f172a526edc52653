"""Where the successors query spends its time, and which part grows faster than the data.

The query is cut into cumulative parts, each a valid query derived from queries/successors.rq:
its joins only (counted, nothing decoded), the joins' rows (every variable decoded), then
the whole query: the GROUP BY with its aggregates (the rows are ordered by kzld, after the
query, as the header's `order:` says). Each part runs
on the same pyoxigraph store, the parts taking turns so that a drift in the machine's speed
touches every part alike. Printed: microseconds per triple (medians) at each size, and
the growth of that cost from the smallest size to the largest.

    python benchmarks/parts.py                   # 100k and 1M, from the benchmark cache
    python benchmarks/parts.py --sizes 10k,100k --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import time
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


def measure(path: Path, queries: dict[str, str], runs: int) -> tuple[int, dict[str, float]]:
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.N_TRIPLES)
    seconds: dict[str, list[float]] = {name: [] for name in queries}
    for _ in range(runs):
        for name, query in queries.items():
            start = time.perf_counter()
            for _solution in store.query(query):
                pass
            seconds[name].append(time.perf_counter() - start)
    return len(store), {name: statistics.median(times) for name, times in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m", help="synthetic sizes, smallest first")
    parser.add_argument("--runs", type=int, default=5, help="runs of every part per size")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where generated data is kept")
    args = parser.parse_args()
    queries = parts((ROOT / "queries" / "successors.rq").read_text(encoding="utf-8"))
    sizes = args.sizes.split(",")
    per_triple: dict[str, dict[str, float]] = {}
    for size in sizes:
        triples, medians = measure(synthetic(size, SIZES[size], args.cache), queries, args.runs)
        per_triple[size] = {name: s / triples * 1e6 for name, s in medians.items()}
    first, last = sizes[0], sizes[-1]
    columns = " | ".join(f"{size} (us/triple)" for size in sizes)
    print(f"| part of successors.rq | {columns} | growth |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for name in queries:
        cells = " | ".join(f"{per_triple[s][name]:.3f}" for s in sizes)
        growth = per_triple[last][name] / per_triple[first][name]
        print(f"| {name} | {cells} | {growth:.2f} |")


if __name__ == "__main__":
    main()
