"""`benchmarks/gpu_check.py --cpu --tiny`: the GPU check's CPU rehearsal runs end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reid.strategies import STRATEGIES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import gpu_check  # noqa: E402


def test_cpu_rehearsal_covers_both_models_and_every_strategy(tmp_path: Path) -> None:
    assert gpu_check.main(["--cpu", "--tiny", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "gpu_check.json").read_text())
    rows = record["results"]
    assert not [row for row in rows if "failure" in row]
    speed = [row for row in rows if row["section"] == "throughput"]
    assert {(r["model"], r["channels_last"]) for r in speed} == {
        (model, layout) for model in ("paper", "recipe") for layout in (False, True)
    }
    for row in speed:
        assert row["images_per_second"] > 0 and row["bare_images_per_second"] > 0
        assert row["iterations"] >= 2 and row["data_wait_seconds"] >= 0
        assert row["peak_memory_mib"] > 0
    ran = {(r["model"], r["strategy"]) for r in rows if r["section"] == "strategy"}
    for name, cls in STRATEGIES.items():
        accepts = {"pipeline", "bnneck", cls.model.get("head")} if cls.heads is None else cls.heads
        assert (("paper", name) in ran) == ("pipeline" in accepts)
        # On the recipe: with its head, or with the model piece the strategy brings.
        recipe = bool({"bnneck", cls.model.get("head")} & set(accepts))
        assert (("recipe", name) in ran) == recipe
    recipe_terms = [r["terms"] for r in rows if r.get("strategy") == "finetune"]
    assert any("triplet" in terms for terms in recipe_terms)
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| recipe | fp32 | on |" in table and "Failures: 0" in table
