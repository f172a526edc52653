"""Run every benchmark, compare kzld with a plain rdflib/pySHACL baseline, check the targets.

Each measurement runs in a fresh child process (cold start included where the target says
so) and its peak memory is that child's own (os.wait4). The runs go in rounds: every step on
every dataset once, then again. Steps whose command does not exist yet print "missing";
steps that fail print "error"; steps past --timeout print "timeout".

    python benchmarks/run.py                     # bundled data, 10k, 100k and 1M triples
    python benchmarks/run.py --sizes 10k --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from generate import generate  # beside this script, which Python puts on the path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
GB = 1024**3
# Generated data is kept here between runs, never inside the repository.
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kzld-bench"
# Steps whose cost must grow at most linearly from 100k to 1M triples.
STEPS_GROWING = (
    "load",
    "successors after load",
    "validate",
    "dumps (load + write)",
    "build",
)

# Child programs, run with `python -c`; each prints one JSON line of timings.
# Loading as `kzld query` loads: the checked graph, and its store.
KZLD_LOAD = """
import json, sys, time
t0 = time.perf_counter()
import kzld
store = kzld.load(sys.argv[2:], prepare_store=True).store()
t1 = time.perf_counter()
text = open(sys.argv[1], encoding="utf-8").read()
queries = []  # five runs on the same store: one run at 1M varies by a quarter
for _ in range(5):
    start = time.perf_counter()
    rows = list(store.query(text))
    queries.append(time.perf_counter() - start)
print(json.dumps({"load": t1 - t0, "queries": queries, "triples": len(store), "rows": len(rows)}))
"""
RDFLIB_LOAD = """
import json, sys, time
t0 = time.perf_counter()
from rdflib import Graph
graph = Graph()
for path in sys.argv[2:]:
    graph.parse(path)
t1 = time.perf_counter()
try:
    rows = list(graph.query(open(sys.argv[1], encoding="utf-8").read()))
    error = None
except Exception as err:  # rdflib fails on some valid queries; the time is then a floor
    rows, error = [], type(err).__name__ + ": " + str(err)
t2 = time.perf_counter()
for row in rows:
    print(*row, sep="\\t", file=sys.stderr)
print(json.dumps({"load": t1 - t0, "query": t2 - t1, "rows": len(rows), "error": error}))
"""
# Every dump kzld build writes, without its validation step: the dumps target of issue 6.
KZLD_DUMPS = """
import sys, tempfile
from pathlib import Path
from kzld.loading.graph import load_graph
from kzld.publishing.publication import publish_loaded
from kzld.loading.resources import bundled
ontology = load_graph([bundled("ontology")])
graph = load_graph([bundled("ontology"), *sys.argv[1:]])
with tempfile.TemporaryDirectory() as out:
    publish_loaded(graph, ontology, Path(out) / "public")
"""
# The growth check: one growing step on both sizes inside one process, the sizes taking
# turns (small, large, small, large ...), so that the machine's drift over a quarter of an
# hour and the cost of starting a process touch both sizes alike. A first run on the small
# size warms the imports and is not counted. Each step has a process of its own: after a
# million-triple validation the heap is not what it was, and a query measured after it
# would pay for the step before (one process for every step put the 1M query after 1M
# validation and the 100k query after 100k validation).
GROWTH = """
import contextlib, gc, io, json, sys, tempfile, time
from pathlib import Path
from kzld.cli import run
from kzld.loading.graph import load_graph
from kzld.publishing.publication import publish_loaded
import kzld
from kzld.loading.resources import bundled
query_path, runs, step, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
text = open(query_path, encoding="utf-8").read()
ontology = load_graph([bundled("ontology")])
times = []

def timed(counted, work):
    gc.collect()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        work()
    if counted is not None:
        counted.append(time.perf_counter() - start)

def successors(path, counted):
    store = kzld.load([path], prepare_store=True).store()
    for _ in range(5):
        timed(counted, lambda: list(store.query(text)))

def dumps(path):
    graph = load_graph([bundled("ontology"), path])
    with tempfile.TemporaryDirectory() as out:
        publish_loaded(graph, ontology, Path(out) / "public")

def build(path):
    with tempfile.TemporaryDirectory() as out:
        assert run(["build", "--data", path, "--out", str(Path(out) / "public")]) == 0

steps = {
    "load": lambda path: kzld.load([path], prepare_store=True).store(),
    "validate": lambda path: run(["validate", "--data", path]),
    "dumps (load + write)": dumps,
    "build": build,
}

def measure(path, counted):
    if step == "successors after load":
        successors(path, counted)
    else:
        timed(counted, lambda: steps[step](path))

measure(sizes[0], None)  # warm-up, not counted
by_size = {str(size): [] for size in range(len(sizes))}
for _ in range(runs):
    for size, path in enumerate(sizes):
        measure(path, by_size[str(size)])
print(json.dumps(by_size))
"""
PYSHACL = """
import json, sys, time
from rdflib import Graph
import pyshacl
shapes = Graph()
for path in sys.argv[1].split(","):
    shapes.parse(path)
data = Graph()
for path in sys.argv[2:]:
    data.parse(path)
t0 = time.perf_counter()
conforms, _, _ = pyshacl.validate(data, shacl_graph=shapes)
print(json.dumps({"validate": time.perf_counter() - t0, "conforms": conforms}))
"""


@dataclass
class Run:
    """One child process: wall seconds, peak memory, exit code, and what it printed."""

    seconds: float
    peak: int  # bytes
    code: int | None  # None: killed at the time limit
    out: str = ""

    @property
    def json(self) -> dict:
        lines = [line for line in self.out.splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


@dataclass
class Row:
    """One line of the table: a kzld measurement and its baseline."""

    dataset: str
    step: str
    kzld: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    peak: int = 0
    note: str = ""  # "missing", "error", "timeout", "skipped" instead of a figure
    floor: str = ""  # why the baseline figure is only a lower bound (it failed part-way)

    @property
    def median(self) -> float | None:
        return statistics.median(self.kzld) if self.kzld and not self.note else None

    @property
    def base(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None


def child(args: list[str], timeout: float, cwd: Path | None = None) -> Run:
    """Run one child process to its end; wall time from fork to exit, its own peak RSS."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", PYTHONHASHSEED="0")
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True
        )
        deadline = start + timeout
        code: int | None = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - start
        proc.returncode = code if code is not None else -9  # reaped above
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Run(seconds, usage.ru_maxrss * 1024, code, text)


def kzld(*args: str) -> list[str]:
    return [sys.executable, "-m", "kzld", *args]


def has_command(name: str) -> bool:
    done = subprocess.run(kzld(name, "--help"), capture_output=True, cwd=ROOT)
    return done.returncode == 0


@dataclass
class Dataset:
    name: str
    files: list[Path]
    data_args: list[str]  # the --data options of the kzld commands
    triples: int


class Bench:
    """Rows filled round by round: each round runs every step once on every dataset, so a
    drift in the machine's speed during a run touches every size alike, and the growth from
    100k to 1M compares measurements taken minutes, not a quarter of an hour, apart."""

    def __init__(self, timeout: float, baseline_limit: int, pyshacl_limit: int):
        self.timeout = timeout
        self.baseline_limit = baseline_limit
        self.pyshacl_limit = pyshacl_limit
        self._rows: dict[tuple[str, str], Row] = {}
        # step -> (100k seconds, 1M seconds), measured in one process by GROWTH
        self.growth: dict[str, tuple[list[float], list[float]]] = {}
        self.query = ROOT / "queries" / "successors.rq"
        self.shapes = sorted(str(p) for p in (ROOT / "shapes").glob("*.ttl"))
        self.commands = {c: has_command(c) for c in ("query", "validate", "build")}

    @property
    def rows(self) -> list[Row]:
        return list(self._rows.values())

    def row(self, dataset: str, step: str) -> Row:
        return self._rows.setdefault((dataset, step), Row(dataset, step))

    def round(self, data: Dataset, attempt: int) -> None:
        """One run of every step on one dataset (the first round creates the rows)."""
        name, paths = data.name, [str(p) for p in data.files]
        # The rdflib baseline takes two minutes a run at 1M: there it runs in round 1 only.
        with_baseline = data.triples <= self.baseline_limit and (
            attempt == 0 or data.triples < 1_000_000
        )

        # Load, and the successors query on the loaded store.
        load, after = self.row(name, "load"), self.row(name, "successors after load")
        cold = self.row(name, "successors (cold CLI)")
        if not self.query.exists():
            load.note = after.note = "missing"
        if not load.note:
            mine = child([sys.executable, "-c", KZLD_LOAD, str(self.query), *paths], self.timeout)
            if self._ok(load, mine) and mine.json:
                load.kzld.append(mine.json["load"])
                after.kzld.extend(mine.json["queries"])
                load.peak = max(load.peak, mine.peak)
            else:
                after.note = load.note = load.note or "error"
        if with_baseline and not load.note:
            theirs = child(
                [sys.executable, "-c", RDFLIB_LOAD, str(self.query), *paths], self.timeout
            )
            if theirs.code == 0 and theirs.json:
                load.baseline.append(theirs.json["load"])
                after.baseline.append(theirs.json["query"])
                cold.baseline.append(theirs.seconds)  # process start to last row
                after.floor = cold.floor = theirs.json["error"] or ""

        # Cold kzld query successors: process start to last row.
        self._command(cold, "query", kzld("query", "successors", *data.data_args))

        validate = self.row(name, "validate")
        # The native engine, kzld validate's default.
        self._command(validate, "validate", kzld("validate", *data.data_args), ok_codes=(0, 1))
        if data.triples <= self.pyshacl_limit and not validate.note:
            shapes = ",".join(self.shapes)
            run = child([sys.executable, "-c", PYSHACL, shapes, *paths], self.timeout)
            if run.code == 0 and run.json:
                validate.baseline.append(run.seconds)

        dumps = self.row(name, "dumps (load + write)")
        if not dumps.note:
            run = child([sys.executable, "-c", KZLD_DUMPS, *paths], self.timeout)
            if self._ok(dumps, run):
                dumps.kzld.append(run.seconds)
                dumps.peak = max(dumps.peak, run.peak)

        build = self.row(name, "build")
        with tempfile.TemporaryDirectory() as out:
            argv = kzld("build", *data.data_args, "--out", "public")  # relative to its cwd
            self._command(build, "build", argv, cwd=Path(out))

    def _command(self, row: Row, command: str, argv: list[str], **kw) -> None:
        ok_codes = kw.pop("ok_codes", (0,))
        if not self.commands[command]:
            row.note = "missing"
        if row.note:
            return
        run = child(argv, self.timeout, **kw)
        if self._ok(row, run, ok_codes):
            row.kzld.append(run.seconds)
            row.peak = max(row.peak, run.peak)

    @staticmethod
    def _ok(row: Row, run: Run, ok_codes: tuple[int, ...] = (0,)) -> bool:
        if run.code is None:
            row.note = "timeout"
        elif run.code not in ok_codes:
            row.note = f"error (exit {run.code})"
        return not row.note

    def find(self, dataset: str, step: str) -> Row | None:
        return self._rows.get((dataset, step))

    def measure_growth(self, small: Dataset, large: Dataset, runs: int) -> None:
        """Each growing step on both sizes in a child process of its own, the sizes
        interleaved."""
        for step in STEPS_GROWING:
            argv = [sys.executable, "-c", GROWTH, str(self.query), str(runs), step]
            run = child(argv + [str(small.files[0]), str(large.files[0])], self.timeout * 4 * runs)
            if run.code != 0 or not run.json:
                print(f"growth run of {step} failed (exit {run.code})", flush=True)
                continue
            self.growth[step] = (run.json.get("0", []), run.json.get("1", []))


def targets(bench: Bench, sizes: dict[str, int]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, passed) for each target of the issue; None: not measured."""
    checks: list[tuple[str, str, bool | None]] = []

    def limit(label: str, dataset: str, step: str, seconds: float, memory: float = 0) -> None:
        row = bench.find(dataset, step)
        value = row.median if row else None
        if value is None:
            checks.append((label, row.note if row else "not run", None if not row else False))
            return
        passed = value <= seconds and (not memory or row.peak <= memory)
        shown = f"{value:.2f} s" + (f", {row.peak / GB:.2f} GB" if memory else "")
        checks.append((label, shown, passed))

    limit(
        "bundled: cold `kzld query successors` <= 0.25 s", "bundled", "successors (cold CLI)", 0.25
    )
    cold = bench.find("bundled", "successors (cold CLI)")
    if cold and cold.median and cold.base:
        ratio = cold.base / cold.median
        shown = (">= " if cold.floor else "") + f"{ratio:.1f}x"
        checks.append(("bundled: successors >= 3x faster than rdflib", shown, ratio >= 3))
    else:
        checks.append(("bundled: successors >= 3x faster than rdflib", "not measured", None))
    limit("bundled: `kzld build` <= 3 s", "bundled", "build", 3)
    if "1m" in sizes:
        limit("1M: load <= 10 s", "1m", "load", 10)
        limit("1M: successors after load <= 2 s", "1m", "successors after load", 2)
        limit("1M: validation <= 120 s, peak <= 6 GB", "1m", "validate", 120, 6 * GB)
        limit(
            "1M: all dumps (load + write, no validation) <= 60 s", "1m", "dumps (load + write)", 60
        )
    if "1m" in sizes and "100k" in sizes:
        for step in STEPS_GROWING:
            small, large = bench.growth.get(step, ([], []))
            label = f"100k -> 1M: {step} grows at most linearly (own process, interleaved)"
            if not (small and large):
                checks.append((label, "not measured", None))
                continue
            # Cost per triple may grow by 25% (noise, cache effects) and still count as linear.
            ratio = statistics.median(large) / statistics.median(small)
            growth = ratio / (sizes["1m"] / sizes["100k"])
            shown = (
                f"{growth:.2f} x per triple ({statistics.median(small):.3f} s -> "
                f"{statistics.median(large):.3f} s)"
            )
            checks.append((label, shown, growth <= 1.25))
    return checks


def table(bench: Bench) -> str:
    lines = [
        "| data | step | kzld (median s) | peak MB | baseline (median s) | baseline / kzld |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in bench.rows:
        mine = r.note or (f"{r.median:.3f}" if r.median is not None else "-")
        at_least = ">= " if r.floor else ""
        base = f"{at_least}{r.base:.3f}" if r.base is not None else "-"
        ratio = f"{at_least}{r.base / r.median:.1f}x" if r.base and r.median else "-"
        peak = f"{r.peak / 1024**2:.0f}" if r.peak else "-"
        lines.append(f"| {r.dataset} | {r.step} | {mine} | {peak} | {base} | {ratio} |")
    for r in bench.rows:
        if r.floor:
            lines.append(f"\n{r.dataset}, {r.step}: rdflib failed ({r.floor[:120]}); ")
            lines[-1] += "its time up to the failure is a lower bound"
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="synthetic sizes: 10k,100k,1m")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per step (the rdflib baseline runs once at 1M)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per child process")
    parser.add_argument(
        "--baseline-limit",
        type=int,
        default=2_000_000,
        help="skip the rdflib load and query baseline above this many triples",
    )
    parser.add_argument(
        "--pyshacl-limit",
        type=int,
        default=10_000,
        help="skip the pySHACL baseline above this many triples (10k takes about a minute)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=CACHE,
        help="where generated data is kept between runs (never inside the repository)",
    )
    parser.add_argument(
        "--triples", type=int, default=0, help="generate this many triples instead (smoke test)"
    )
    parser.add_argument("--skip-bundled", action="store_true", help="only the synthetic data")
    parser.add_argument(
        "--growth-runs",
        type=int,
        default=3,
        help="runs of the in-process growth check (100k and 1M interleaved)",
    )
    args = parser.parse_args()

    sizes = {s: SIZES[s] for s in args.sizes.split(",") if s} if not args.triples else {}
    if args.triples:
        sizes = {f"{args.triples}": args.triples}
    bench = Bench(args.timeout, args.baseline_limit, args.pyshacl_limit)
    missing = [c for c, there in bench.commands.items() if not there]
    if missing:
        print("missing commands: " + ", ".join(missing), flush=True)

    datasets: list[Dataset] = []
    if not args.skip_bundled:
        bundled = sorted(
            p for folder in ("ontology", "data") for p in (ROOT / folder).rglob("*") if p.suffix in
            {".ttl", ".nt", ".jsonld"}
        )  # fmt: skip
        datasets.append(Dataset("bundled", bundled, [], _count(bundled)))
    for name, triples in sizes.items():
        target = synthetic(name, triples, args.cache)
        datasets.append(Dataset(name, [target], ["--data", str(target)], _count([target])))
    for attempt in range(args.runs):
        for data in datasets:
            print(
                f"[round {attempt + 1}/{args.runs}] {data.name}: {data.triples} triples", flush=True
            )
            bench.round(data, attempt)

    by_name = {d.name: d for d in datasets}
    if "100k" in by_name and "1m" in by_name:
        print(
            f"[growth] 100k and 1m interleaved, one process a step, {args.growth_runs} runs",
            flush=True,
        )
        bench.measure_growth(by_name["100k"], by_name["1m"], args.growth_runs)

    print()
    print(table(bench))
    print()
    print("| target | measured | result |")
    print("|---|---|---|")
    checks = targets(bench, sizes)
    for label, measured, passed in checks:
        verdict = {True: "pass", False: "FAIL", None: "not measured"}[passed]
        print(f"| {label} | {measured} | {verdict} |")
    return 0 if all(passed for _, _, passed in checks) else 1


def synthetic(name: str, triples: int, cache: Path) -> Path:
    """The cached synthetic data of this size, generated on first use."""
    folder = cache / name
    target = folder / "synthetic.nt"
    if not target.exists():
        print(f"generating {name} into {folder}", flush=True)
        generate(triples, folder)
    return target


def _count(files: list[Path]) -> int:
    """Triples in these files: N-Triples by line, anything else through kzld's loader."""
    if all(p.suffix == ".nt" for p in files):
        return sum(
            1
            for p in files
            for line in p.open(encoding="utf-8")
            if line.strip() and not line.startswith("#")
        )
    from kzld.loading.graph import load_graph

    return len(load_graph(files))


if __name__ == "__main__":
    sys.exit(main())
