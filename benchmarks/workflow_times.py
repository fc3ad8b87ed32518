"""Target 4: wall time of the default workflow, per rule, from Snakemake's benchmark files.

Reads results/benchmarks/<rule>/*.tsv (written by the rules' `benchmark:` directives: columns
s, h:m:s, max_rss, ...) and prints, per rule folder, the number of jobs and the sum and mean of
their wall times, then the total. It does not run the workflow (`make run` does).

Jobs run in parallel under `--cores all`, so the sum of the rules' times is CPU-side work, not
the workflow's wall time; the span from the earliest job start (file time minus its `s`) to the
latest job end (file time) approximates the wall time of the last `make run`.

Target: the whole default workflow within 600 s on the 2-core machine, aiming at 300 s.

    .venv/bin/python benchmarks/workflow_times.py [--root results/benchmarks]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from common import ROOT, result_line  # benchmarks/ is on sys.path

LIMIT_S, AIM_S = 600.0, 300.0


def read_rows(root: Path) -> list[dict]:
    """One dict per benchmark file: rule folder, job name, wall seconds, max RSS, end time."""
    rows = []
    for path in sorted(root.rglob("*.tsv")):
        with path.open(newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle, delimiter="\t"))
        if not records:
            continue
        # A benchmark with `repeat(...)` has several lines: count their mean as the job's time.
        seconds = sum(float(r["s"]) for r in records) / len(records)
        rss = max(_float(r.get("max_rss")) for r in records)
        rows.append(
            {
                "rule": str(path.parent.relative_to(root)),
                "job": path.stem,
                "s": seconds,
                "max_rss": rss,
                "end": path.stat().st_mtime,
            }
        )
    return rows


def _float(text: str | None) -> float:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")  # "NA" when the job was too short to sample


def table(rows: list[dict]) -> list[tuple[str, int, float, float, float]]:
    """(rule, count, sum s, mean s, max RSS MB) per rule, slowest first."""
    by_rule: dict[str, list[dict]] = {}
    for row in rows:
        by_rule.setdefault(row["rule"], []).append(row)
    out = []
    for rule, items in by_rule.items():
        total = sum(r["s"] for r in items)
        rss = [r["max_rss"] for r in items if r["max_rss"] == r["max_rss"]]
        out.append((rule, len(items), total, total / len(items), max(rss) if rss else float("nan")))
    return sorted(out, key=lambda t: -t[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT / "results" / "benchmarks")
    args = parser.parse_args(argv)
    rows = read_rows(args.root) if args.root.is_dir() else []
    if not rows:
        print(
            f"no Snakemake benchmark files under {args.root}: run `make run` first "
            "(the workflow itself is not run here)"
        )
        print("RESULT workflow_wall_seconds = n/a (target <= 600, aim 300) NOT MEASURED")
        return 0
    print(f"{'rule':<22} {'jobs':>5} {'sum s':>10} {'mean s':>9} {'max RSS MB':>11}")
    for rule, count, total, mean, rss in table(rows):
        print(f"{rule:<22} {count:>5} {total:>10.1f} {mean:>9.2f} {rss:>11.0f}")
    total = sum(r["s"] for r in rows)
    span = max(r["end"] for r in rows) - min(r["end"] - r["s"] for r in rows)
    print(f"{'total (sum of jobs)':<22} {len(rows):>5} {total:>10.1f}")
    print(
        f"span from first job start to last job end: {span:.1f} s ({span / 60:.1f} min); "
        "reliable only when every file comes from the same `make run`"
    )
    print(
        result_line(
            "workflow_wall_seconds_span",
            span,
            f"<= {LIMIT_S:.0f}, aim {AIM_S:.0f}",
            span <= LIMIT_S,
            " s",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
