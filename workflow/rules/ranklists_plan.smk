# Which rank lists the workflow draws (input functions of the ranklist and report rules): the
# main run after phase 1 and 2, and one baseline after phase 2 (lwf when compared, else the first
# other sequential method of the comparison; first comparison seed). Task 1 (pipeline 0) only.


def _ranklist_baseline():
    main = CONFIG["method"]["name"]
    entries = [e for e in COMPARISON if e["seed"] == CONFIG["comparison"]["seeds"][0]]
    entries = [e for e in entries if e["method"] not in (main, "joint")]
    entries.sort(key=lambda e: e["method"] != "lwf")
    return entries[0] if entries else None


def _ranklist_plan():
    """{"<run>_<task>": what to draw}: task 1 (pipeline 0) of each chosen model."""
    method, seed = CONFIG["method"]["name"], CONFIG["seed"]
    chosen = [
        (MAIN_HASHES[i], i + 1, f"{method} (main run, seed {seed})")
        for i in range(min(2, len(MAIN_HASHES)))
    ]
    baseline = _ranklist_baseline()
    if baseline is not None and len(baseline["specs"]) > 1:
        label = f"{baseline['method']} (baseline, seed {baseline['seed']})"
        chosen.append((run_hash(baseline["specs"][1]), 2, label))
    plan = {}
    for run, phase, label in chosen:
        plan.setdefault(
            f"{run}_{TASK_NAMES[0]}", {"run": run, "phase": phase, "label": label}
        )
    return plan


RANKLISTS = _ranklist_plan()


def get_ranklists(wildcards):
    return [f"results/ranklists/{key}.json" for key in RANKLISTS]


def _ranklist_params(wildcards):
    entry = RANKLISTS[f"{wildcards.run}_{wildcards.task}"]
    return canonical_json(
        {
            "task": task_entry(CONFIG, TASKS[0]),
            "evaluation": CONFIG["evaluation"],
            "label": entry["label"],
            "phase": entry["phase"],
            "seed": CONFIG["seed"],
        }
    )
