"""Benchmark: `silp-access rates` against DuckDB and pandas on the same
generated extract.

Generates an extract with `silp-access generate`, checks that all three give
the same counts, then runs them alternately and prints medians of wall time
and peak memory (each run's own max RSS, from wait4) and the ratios against
DuckDB. Python start-up (with the peer's import) is measured on its own.

usage: python3 bench/compare.py [--persons 1000000] [--runs 5] [--binary target/release/silp-access]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def measure(argv):
    """Runs argv; returns (wall seconds, peak RSS in MiB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(argv)}")
    return wall, usage.ru_maxrss / 1024, out.decode()


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


def same_counts(silp, peer, threshold=5):
    """Published cells must match exactly; a suppressed cell must be small in the peer."""
    if silp.keys() != peer.keys():
        return False
    for key, counts in silp.items():
        n, x = peer[key]
        if counts is None:
            if not any(1 <= c < threshold for c in (n, x, n - x)):
                return False
        elif counts != (n, x):
            return False
    return True


def duckdb_counts(text):
    rows = {}
    for line in text.strip().splitlines():
        p, g, s, n, x = line.split(";")
        rows[(p, g, s)] = (int(n), int(x))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--year", type=int, default=2024)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser.add_argument("--binary", default=str(target / "release/silp-access"))
    parser.add_argument("--workdir", default="/tmp/silp-bench")
    args = parser.parse_args()

    extract = Path(args.workdir) / f"p{args.persons}-s{args.seed}"
    if not (extract / "politiche.csv").exists():
        t = time.perf_counter()
        subprocess.run([args.binary, "generate", "--persons", str(args.persons), "--seed", str(args.seed),
                        "--out", str(extract)], check=True)
        print(f"generate {args.persons} persons: {time.perf_counter() - t:.1f} s")
    size = sum(f.stat().st_size for f in extract.glob("*.csv")) / 2**20
    print(f"extract {extract}: {size:.0f} MiB of CSV")

    silp = [args.binary, "rates", "--extract", str(extract), "--year", str(args.year),
            "--by", "provincia,gruppo_cittadinanza,sesso", "--format", "csv"]
    peer_args = [str(extract), str(ROOT / "reference"), str(args.year)]
    duck = [sys.executable, str(HERE / "duckdb_rates.py"), *peer_args]
    pandas = [sys.executable, str(HERE / "pandas_rates.py"), *peer_args]

    a = silp_counts(measure(silp)[2])
    for name, argv in [("duckdb", duck), ("pandas", pandas)]:
        b = duckdb_counts(measure(argv)[2])
        if not same_counts(a, b):
            sys.exit(f"counts differ:\nsilp-access {sorted(a.items())[:5]}...\n{name} {sorted(b.items())[:5]}...")
    published = [c for c in a.values() if c is not None]
    total = sum(n for n, _ in published)
    print(f"same counts in all three: {len(published)} published cells ({len(a) - len(published)} suppressed, small in the peers too), {total} eligible persons in them")

    results = {"silp-access rates": [], "duckdb (python subprocess)": [], "pandas (python subprocess)": [],
               "python+duckdb start-up": []}
    startup = duck + ["--startup-only"]
    for _ in range(args.runs):
        results["silp-access rates"].append(measure(silp)[:2])
        results["duckdb (python subprocess)"].append(measure(duck)[:2])
        results["pandas (python subprocess)"].append(measure(pandas)[:2])
        results["python+duckdb start-up"].append(measure(startup)[:2])

    print(f"\nmedians of {args.runs} alternating runs")
    print(f"{'':30} {'wall s':>8} {'peak MiB':>9}")
    med = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        med[name] = (wall, rss)
        print(f"{name:30} {wall:8.2f} {rss:9.0f}")
    s, d, p = med["silp-access rates"], med["duckdb (python subprocess)"], med["pandas (python subprocess)"]
    print(f"\nratio silp-access / duckdb: wall {s[0] / d[0]:.2f}, peak memory {s[1] / d[1]:.2f}")
    print(f"ratio pandas / duckdb: wall {p[0] / d[0]:.2f}, peak memory {p[1] / d[1]:.2f}")


if __name__ == "__main__":
    main()
