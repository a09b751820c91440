"""Benchmark: silp-access against DuckDB and pandas on the same generated extracts.

For each size and each export shape (`generate --shape`: rows in random
order, job centres by name, quoted fields, CR LF, Windows-1252) it generates
an extract with `silp-access generate` (kept in --workdir between runs),
checks that silp-access, DuckDB (over the CSV files and over its own
database file) and pandas (plain shape only) give the same counts, then runs
alternately, --runs times, each round starting one command further down the
list so that no command always runs first or after the same one (each run
after reading the extract's files once, so all start with them in the page
cache):
  - silp-access rates from the CSV files (--no-cache)  [the question DuckDB answers]
  - DuckDB SQL over the CSV files (python subprocess)
  - pandas over the CSV files (python subprocess)
  - silp-access rates from the Parquet cache
  - DuckDB SQL over its own database file (the cache's peer)
  - silp-access report (all its tables) from the CSV files (--no-cache)
  - silp-access survival and outcomes, from the CSV files and from the cache
  - silp-access import, and DuckDB's CREATE TABLE ... AS SELECT * FROM read_csv
and prints medians of wall time and peak memory (each run's own max RSS,
from wait4), each target ratio (met or missed) and, with two sizes, how
each grows from the smaller to the larger.

With --pseudonymised it first runs `silp-access pseudonymise` on each
extract and measures the copy, whose person ids are 64 characters long.

usage: python3 bench/compare.py [--persons 1000000,10000000] [--runs 5]
       [--binary $CARGO_TARGET_DIR/release/silp-access] [--skip-pandas-above N]
       [--shapes 'plain;shuffled;named-centres;quoted;crlf;named-centres,windows1252']
       [--pseudonymised]
"""
import argparse
import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUESTION = ["--by", "provincia,gruppo_cittadinanza,sesso", "--format", "csv"]


Run = collections.namedtuple("Run", "wall cpu peak out")


def measure(argv):
    """Runs argv; returns its wall seconds, CPU seconds, peak RSS in MiB and stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(argv)}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.decode())


def warm(extract):
    """Reads every file of the extract (CSV and cache) so each timed run starts
    with them in the page cache, as an analyst's repeated runs do. Without it,
    the run after pandas (5.5 GB at 10 million persons) found part of the
    files evicted and paid for the disk: 13.6 s instead of 5.4 s for rates
    from the cache."""
    for path in sorted(p for p in extract.rglob("*") if p.is_file()):
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def silp_counts(text):
    rows = {}
    lines = text.strip().splitlines()
    header = lines[0].split(";")
    idx = {name: i for i, name in enumerate(header)}
    for line in lines[1:]:
        f = line.split(";")
        key = (f[idx["provincia"]], f[idx["gruppo_cittadinanza"]], f[idx["sesso"]])
        published = f[idx["stato_cella"]] == "s"
        rows[key] = (int(f[idx["popolazione"]]), int(f[idx["beneficiari"]])) if published else None
    return rows


def peer_counts(text):
    rows = {}
    for line in text.strip().splitlines():
        p, g, s, n, x = line.split(";")
        rows[(p, g, s)] = (int(n), int(x))
    return rows


def pooled_as_published(silp, peer):
    """The peer's cells with citizenship groups pooled as silp-access pooled
    them for disclosure control (ND with EXTRA_UE when an ND cell is small)."""
    groups = {g for _, g, _ in silp}
    pool = {"EXTRA_UE": "EXTRA_UE_ND", "ND": "EXTRA_UE_ND"} if "EXTRA_UE_ND" in groups else {}
    pooled = {}
    for (p, g, s), (n, x) in peer.items():
        key = (p, pool.get(g, g), s)
        pn, px = pooled.get(key, (0, 0))
        pooled[key] = (pn + n, px + x)
    return pooled


def same_counts(silp, peer):
    """The same cells, and every published one with the peer's counts (a
    hidden cell may be small, or hidden to protect a small one)."""
    peer = pooled_as_published(silp, peer)
    if silp.keys() != peer.keys():
        return False
    return all(counts is None or counts == peer[key] for key, counts in silp.items())


def extract_dir(args, persons, shape):
    """The extract of `persons` in `shape` (generated once, kept in --workdir)."""
    name = f"p{persons}-s{args.seed}" + ("" if shape == "plain" else "-" + shape.replace(",", "+"))
    extract = Path(args.workdir) / name
    if not (extract / "politiche.csv").exists():
        t = time.perf_counter()
        argv = [args.binary, "--quiet", "generate", "--persons", str(persons), "--seed", str(args.seed),
                "--out", str(extract)]
        if shape != "plain":
            argv += ["--shape", shape]
        subprocess.run(argv, check=True)
        print(f"generate {persons} persons ({shape}): {time.perf_counter() - t:.1f} s")
    return extract


def bench_size(args, persons, shape, report_dir):
    extract = extract_dir(args, persons, shape)
    if args.pseudonymised:
        # The 64-character identifiers `pseudonymise` writes, where the
        # generator writes 16: real extracts reach the analysis this way.
        source, extract = extract, extract.with_name(extract.name + "-pseudonymised")
        if not (extract / "politiche.csv").exists():
            key = Path(args.workdir) / "benchmark.key"
            key.write_bytes(b"silp-access benchmark key, not a secret!")
            t = time.perf_counter()
            subprocess.run([args.binary, "--quiet", "pseudonymise", "--in", str(source), "--out", str(extract),
                            "--key-file", str(key)], check=True, stderr=subprocess.DEVNULL)
            print(f"pseudonymise {persons} persons: {time.perf_counter() - t:.1f} s")
    size = sum(f.stat().st_size for f in extract.glob("*.csv")) / 2**20
    print(f"\n== {persons} persons, shape {shape}: {extract}, {size:.0f} MiB of CSV")

    year = str(args.year)
    rates = [args.binary, "--quiet", "rates", "--extract", str(extract), "--year", year, *QUESTION]
    encoding = ["--encoding", "latin-1"] if "windows1252" in shape else []
    peer_args = [str(extract), str(ROOT / "reference"), year, *encoding]
    database = Path(args.workdir) / f"{extract.name}.duckdb"
    commands = {
        "silp-access rates (CSV)": rates + ["--no-cache"],
        "duckdb (CSV)": [sys.executable, str(HERE / "duckdb_rates.py"), *peer_args],
    }
    with_pandas = persons <= args.skip_pandas_above and shape == "plain"
    if with_pandas:
        commands["pandas (CSV)"] = [sys.executable, str(HERE / "pandas_rates.py"), *peer_args]
    commands["silp-access rates (cache)"] = rates
    commands["duckdb (own database file)"] = commands["duckdb (CSV)"] + ["--db", str(database)]
    commands["silp-access report (CSV)"] = [args.binary, "--quiet", "report", "--extract", str(extract),
                                            "--year", year, "--out", str(report_dir), "--no-cache"]
    # After access: the same breakdowns, cohort of the year (survival) and
    # measures ending in the year (outcomes), at the default days.
    for command in ["survival", "outcomes"]:
        asked = [args.binary, "--quiet", command, "--extract", str(extract), "--year", year, *QUESTION]
        commands[f"silp-access {command} (CSV)"] = asked + ["--no-cache"]
        commands[f"silp-access {command} (cache)"] = asked
    commands["silp-access import"] = [args.binary, "--quiet", "import", "--extract", str(extract)]
    commands["duckdb import"] = [sys.executable, str(HERE / "duckdb_import.py"), str(extract), str(database),
                                 *encoding]

    measure(commands["duckdb import"])
    silp = silp_counts(measure(commands["silp-access rates (CSV)"]).out)
    peers = ["duckdb (CSV)", "duckdb (own database file)"] + (["pandas (CSV)"] if with_pandas else [])
    for name in peers:
        peer = peer_counts(measure(commands[name]).out)
        if not same_counts(silp, peer):
            sys.exit(f"counts differ:\nsilp-access {sorted(silp.items())[:5]}...\n{name} {sorted(peer.items())[:5]}...")
    published = [c for c in silp.values() if c is not None]
    print(f"same counts in silp-access and {', '.join(peers)}: {len(published)} published "
          f"cells ({len(silp) - len(published)} suppressed), "
          f"{sum(n for n, _ in published)} eligible persons in them")

    shutil.rmtree(extract / ".silp-cache", ignore_errors=True)
    measure(commands["silp-access import"])
    cached = silp_counts(measure(commands["silp-access rates (cache)"]).out)
    if cached != silp:
        sys.exit("rates from the Parquet cache differ from rates from the CSV files")

    runs = {name: [] for name in commands}
    names = list(commands)
    for round_ in range(args.runs):
        # Rotated: `rates` from the CSV files, always first in a round, had
        # medians here above its runs alone (docs/benchmarks.md); whatever
        # the order does now falls on every command alike.
        at = round_ % len(names)
        for name in names[at:] + names[:at]:
            warm(extract)
            run = measure(commands[name])
            runs[name].append((run.wall, run.peak))

    medians = {name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
               for name, rs in runs.items()}
    print(f"\nmedians of {args.runs} alternating runs")
    print(f"{'':30} {'wall s':>8} {'peak MiB':>9}   wall s of each run")
    for name, (wall, rss) in medians.items():
        each = " ".join(f"{r[0]:.2f}" for r in runs[name])
        print(f"{name:30} {wall:8.2f} {rss:9.0f}   {each}")
    print()
    for name in ["pandas (CSV)"] if with_pandas else []:
        wall, rss = medians[name]
        duck = medians["duckdb (CSV)"]
        print(f"ratio {name} / duckdb (CSV): wall {wall / duck[0]:.2f}, peak memory {rss / duck[1]:.2f}")
    return medians


def ratio(medians, ours, peer, column=0):
    return medians[ours][column] / medians[peer][column]


# (what, our command, the peer's, 0 for wall time or 1 for peak memory, target)
TARGETS = [
    ("rates CSV / duckdb CSV, wall", "silp-access rates (CSV)", "duckdb (CSV)", 0, 0.8),
    ("rates CSV / duckdb CSV, memory", "silp-access rates (CSV)", "duckdb (CSV)", 1, 1.0),
    ("rates cache / duckdb database, wall", "silp-access rates (cache)", "duckdb (own database file)", 0, 0.3),
    ("import / duckdb import, wall", "silp-access import", "duckdb import", 0, 1.2),
    ("report / rates, both from CSV, wall", "silp-access report (CSV)", "silp-access rates (CSV)", 0, 3.0),
    ("survival / rates, CSV, wall", "silp-access survival (CSV)", "silp-access rates (CSV)", 0, 1.5),
    ("survival / rates, cache, wall", "silp-access survival (cache)", "silp-access rates (cache)", 0, 1.5),
    ("outcomes / rates, CSV, wall", "silp-access outcomes (CSV)", "silp-access rates (CSV)", 0, 1.5),
    ("outcomes / rates, cache, wall", "silp-access outcomes (cache)", "silp-access rates (cache)", 0, 1.5),
]


def print_targets(all_medians):
    print("\n== targets: ratio (target), medians of alternating runs")
    header = f"{'persons':>9} {'shape':36}" + "".join(f" {t[0][:24]:>26}" for t in TARGETS)
    print(header)
    for (persons, shape), medians in all_medians.items():
        cells = []
        for _, ours, peer, column, target in TARGETS:
            r = ratio(medians, ours, peer, column)
            cells.append(f"{r:.2f} ({target}) {'met' if r <= target else 'MISSED'}")
        print(f"{persons:>9} {shape:36}" + "".join(f" {c:>26}" for c in cells))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", default="1000000,10000000",
                        help="comma-separated extract sizes in persons")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--year", type=int, default=2024)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser.add_argument("--binary", default=str(target / "release/silp-access"))
    parser.add_argument("--workdir", default="/tmp/silp-bench")
    parser.add_argument("--pseudonymised", action="store_true",
                        help="run on a pseudonymised copy of each extract (64-character person ids)")
    parser.add_argument("--skip-pandas-above", type=int, default=10**12,
                        help="leave pandas out for extracts larger than this many persons")
    parser.add_argument("--shapes", default="plain",
                        help="semicolon-separated `generate --shape` lists, `plain` for none, e.g. "
                             "'plain;shuffled;named-centres;quoted;crlf;named-centres,windows1252'")
    args = parser.parse_args()
    sizes = [int(p) for p in args.persons.split(",")]

    shapes = args.shapes.split(";")
    all_medians = {}
    with tempfile.TemporaryDirectory() as tmp:
        for persons in sizes:
            for shape in shapes:
                report_dir = Path(tmp) / f"report-{persons}-{shape}"
                all_medians[(persons, shape)] = bench_size(args, persons, shape, report_dir)
    print_targets(all_medians)
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        print(f"\ngrowth from {small} to {large} persons ({large / small:.0f}x the rows): wall time ratio")
        for shape in shapes:
            for name, (wall, _) in all_medians[(large, shape)].items():
                print(f"{shape:36} {name:30} {wall / all_medians[(small, shape)][name][0]:6.1f}")


if __name__ == "__main__":
    main()
