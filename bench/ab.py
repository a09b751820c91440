"""A/B: two builds of silp-access on the same command, run alternately.

Prints, for each build, the median wall time, CPU time and peak memory
(max RSS from wait4) over --runs runs, the range of wall times, and the
ratio B / A; checks first that both builds print the same bytes on stdout.
Each run starts after the files of --warm were read once, so both builds
find them in the page cache.

usage: python3 bench/ab.py A_BINARY B_BINARY [--runs 5] [--warm DIR] -- ARGS...
e.g.   python3 bench/ab.py /tmp/silp-main target/release/silp-access --warm /tmp/silp-bench/p1000000-s7 -- \\
           --quiet rates --extract /tmp/silp-bench/p1000000-s7 --year 2024 \\
           --by provincia,gruppo_cittadinanza,sesso --format csv --no-cache
"""
import argparse
import statistics
import sys

from pathlib import Path

from compare import measure, warm


def main():
    if "--" not in sys.argv:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", help="folder whose CSV files are read before each run")
    args = parser.parse_args(sys.argv[1:split])
    command = sys.argv[split + 1:]

    builds = {"A": args.a, "B": args.b}
    outputs = {name: measure([binary, *command]).out for name, binary in builds.items()}
    if outputs["A"] != outputs["B"]:
        sys.exit("the two builds print different bytes")
    runs = {name: [] for name in builds}
    for _ in range(args.runs):
        for name, binary in builds.items():
            if args.warm:
                warm(Path(args.warm))
            run = measure([binary, *command])
            runs[name].append((run.wall, run.cpu, run.peak))

    print(f"same stdout from both builds; medians of {args.runs} alternating runs")
    print(f"{'':4} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}   wall range")
    medians = {}
    for name, measured in runs.items():
        wall, cpu, peak = (statistics.median(m[i] for m in measured) for i in range(3))
        medians[name] = (wall, cpu, peak)
        walls = sorted(m[0] for m in measured)
        print(f"{name:4} {wall:8.2f} {cpu:8.2f} {peak:9.0f}   {walls[0]:.2f}-{walls[-1]:.2f}   {builds[name]}")
    (aw, ac, ap), (bw, bc, bp) = medians["A"], medians["B"]
    print(f"B / A: wall {bw / aw:.2f}, cpu {bc / ac:.2f}, peak memory {bp / ap:.2f}")


if __name__ == "__main__":
    main()
