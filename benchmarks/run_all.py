"""Run every benchmark (`make bench`), then list each target with PASS / FALL SHORT.

Each benchmark runs as its own process (so one's memory does not count against another's) and
prints `RESULT ...` lines; this script repeats them in a summary. It always exits 0: a target
that falls short is printed as FALL SHORT, not turned into a failure (a benchmark that crashes is
listed as crashed). About 6-9 minutes on the 2-core machine (longer when other processes load it).
The paper-scale rehearsal runs at 5 % of the published counts here (`--quick`); run
`benchmarks/bench_paper_scale.py` directly for the full scale. Entries: (title, [script, default
arguments...], arguments that replace the defaults under --quick).

    .venv/bin/python benchmarks/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("evaluation (target 1)", ["bench_evaluation.py"], ["--repeat", "1"]),
    ("memory, MSMT scale (target 2)", ["bench_memory.py"], ["--queries", "2048"]),
    ("training loop (target 3)", ["bench_training.py"], ["--epochs", "3", "--r50-steps", "1"]),
    ("workflow times (target 4)", ["workflow_times.py"], []),
    # full scale (~10 min) only when run directly: `python benchmarks/bench_paper_scale.py`
    ("paper-scale rehearsal at 5 % (no target)", ["bench_paper_scale.py", "--quick"], []),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    args = parser.parse_args(argv)
    results: list[str] = []
    started = time.perf_counter()
    for title, script, quick_args in BENCHES:
        extra = quick_args if args.quick and quick_args else script[1:]
        cmd = [sys.executable, str(HERE / script[0]), *extra]
        print(f"\n=== {title}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        print(proc.stdout, end="")
        if proc.returncode != 0:
            print(proc.stderr[-3000:], end="")
            results.append(f"RESULT {script[0]} crashed (exit {proc.returncode}) FALL SHORT")
        results += [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        print(f"({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\n=== summary ({time.perf_counter() - started:.0f} s in all)")
    for line in results:
        print(line[len("RESULT ") :])
    short = [line for line in results if "FALL SHORT" in line]
    print(f"{len(short)} target(s) fall short" if short else "every measured target passes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
