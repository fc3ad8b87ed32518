"""Print every run hash a config plans (main chain, comparison, studies, LReID benchmark) and
each study's settings hash: `python benchmarks/plan_hashes.py config/config.yaml ...`.

Used to check that a change of the code leaves the run folders of existing configs alone: run
it on two checkouts and compare the output."""

from __future__ import annotations

import sys

from reid.config import canonical_json, load_config, stable_hash
from reid.lreid.plan import benchmark_plan
from reid.runs import comparison_plan, main_chain, run_hash
from reid.tuning.studies import enabled_studies, study_config, study_plan


def planned(path: str) -> dict[str, list[str]]:
    """Run hashes of every part of the plan of one config file."""
    config = load_config([path])
    out = {"main": [run_hash(spec) for spec in main_chain(config)]}
    out["comparison"] = sorted(
        run_hash(spec) for entry in comparison_plan(config) for spec in entry["specs"]
    )
    for study in enabled_studies(config):
        plan = study_plan(config, study)
        out[f"study {study}"] = [plan.study_name, stable_hash(study_config(config, study))]
        settings = canonical_json(study_config(config, study))
        out[f"study {study} settings"] = [stable_hash(settings)]
    if config["benchmark"]["enabled"]:
        bench = benchmark_plan(config)
        out["lreid"] = sorted({run_hash(s) for s in bench["specs"]} | set(bench["references"]))
    return out


if __name__ == "__main__":
    for path in sys.argv[1:]:
        for part, hashes in planned(path).items():
            print(f"{path}\t{part}\t{' '.join(hashes)}")
