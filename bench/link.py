"""What linking a file costs: `rates --link FILE --by accoglienza,gruppo_cittadinanza`
against the same extract's `rates --by gruppo_cittadinanza`, from the CSV
files and from the cache, and against DuckDB answering the linked question
over the same CSV files (duckdb_rates.py --link), all run alternately.
Checks first that every published cell of silp-access has DuckDB's counts.

The extract is generated with --accoglienza (once, kept in --workdir).

usage: python3 bench/link.py --binary target/release/silp-access [--persons 1000000] [--runs 5]
"""
import argparse
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from compare import HERE, ROOT, measure, warm


def counts(text, silp):
    rows = {}
    lines = text.strip().splitlines()
    if silp:
        header = lines[0].split(";")
        at = {name: i for i, name in enumerate(header)}
        for line in lines[1:]:
            f = line.split(";")
            published = f[at["stato_cella"]] == "s"
            key = (f[at["accoglienza"]], f[at["gruppo_cittadinanza"]])
            rows[key] = (int(f[at["popolazione"]]), int(f[at["beneficiari"]])) if published else None
    else:
        for line in lines:
            a, g, _, n, x = line.split(";")
            rows[(a, g)] = (int(n), int(x))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", default="/tmp/silp-bench")
    args = parser.parse_args()
    extract = Path(args.workdir) / f"p{args.persons}-s{args.seed}-accoglienza"
    linked = extract / "accoglienza.csv"
    if not linked.exists():
        subprocess.run([args.binary, "--quiet", "generate", "--persons", str(args.persons), "--seed",
                        str(args.seed), "--out", str(extract), "--accoglienza"], check=True)
    shutil.rmtree(extract / ".silp-cache", ignore_errors=True)
    silp = [args.binary, "--quiet", "rates", "--extract", str(extract), "--year", "2024", "--format", "csv"]
    plain = ["--by", "gruppo_cittadinanza"]
    with_link = ["--link", str(linked), "--by", "accoglienza,gruppo_cittadinanza"]
    duck = [sys.executable, str(HERE / "duckdb_rates.py"), str(extract), str(ROOT / "reference"),
            "2024", "--link", str(linked)]
    ours = counts(measure(silp + with_link + ["--no-cache"]).out, True)
    peer = counts(measure(duck).out, False)
    if ours.keys() != peer.keys() or any(c is not None and c != peer[k] for k, c in ours.items()):
        sys.exit(f"silp-access and DuckDB disagree:\n{ours}\n{peer}")
    subprocess.run([args.binary, "--quiet", "import", "--extract", str(extract)], check=True)
    commands = {
        "rates (CSV)": silp + plain + ["--no-cache"],
        "rates --link (CSV)": silp + with_link + ["--no-cache"],
        "duckdb --link (CSV)": duck,
        "rates (cache)": silp + plain,
        "rates --link (cache)": silp + with_link,
    }
    runs = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            warm(extract)
            runs[name].append(measure(argv))
    medians = {}
    print(f"{args.persons} persons, {sum(1 for _ in open(linked)) - 1} linked rows, {args.runs} runs")
    print(f"{'command':24} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}")
    for name, done in runs.items():
        wall = statistics.median(r.wall for r in done)
        cpu = statistics.median(r.cpu for r in done)
        peak = statistics.median(r.peak for r in done)
        medians[name] = (wall, peak)
        print(f"{name:24} {wall:8.2f} {cpu:8.2f} {peak:9.0f}")
    for a, b in [("rates --link (CSV)", "rates (CSV)"), ("rates --link (cache)", "rates (cache)"),
                 ("rates --link (CSV)", "duckdb --link (CSV)")]:
        print(f"ratio {a} / {b}: wall {medians[a][0] / medians[b][0]:.2f}, "
              f"peak memory {medians[a][1] / medians[b][1]:.2f}")


if __name__ == "__main__":
    main()
