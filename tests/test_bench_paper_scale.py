"""The paper-scale rehearsal's plan and archive path (benchmarks/bench_paper_scale.py), tiny."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from reid.data.datasets import get_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_paper_scale as bench  # noqa: E402


@pytest.mark.parametrize("source", bench.SOURCES, ids=lambda s: s.task)
def test_full_scale_plan_gives_the_published_counts(source):
    plan = bench.make_plan(source, 1.0)
    assert plan.counts() == get_spec(source.dataset).counts
    per_id = plan.per_test_id()
    assert sum(q for q, _ in per_id) == plan.query_images
    assert sum(g for _, g in per_id) == plan.gallery_test_images
    assert min(min(q, g) for q, g in per_id) >= 1  # every test id in query and gallery


def test_tiny_archives_pack_prepare_and_plan(tmp_path):
    plans = {s.task: bench.make_plan(s, 0.01) for s in bench.SOURCES}
    archives = {}
    for source in bench.SOURCES:
        plan = plans[source.task]
        root = bench.generate(source, plan, tmp_path / "generated" / source.style)
        members = bench.select_members(source, plan, root)
        archive = tmp_path / "archives" / f"{source.task}.zip"
        bench.pack(get_spec(source.dataset).folders[0], members, archive)
        with zipfile.ZipFile(archive) as zf:
            tops = {name.split("/")[0] for name in zf.namelist()}
        assert tops == {get_spec(source.dataset).folders[0]}  # real top folder names
        archives[source.task] = (archive, bench.md5sum(archive))

    override = bench.write_override(tmp_path, archives, verify=False)
    assert bench.dry_run(tmp_path, override)["prepare_dataset"] == 2
    ready = bench.prepare(tmp_path, override)
    bench.check_counts(ready, plans)  # exact planned ids / images per split
    assert ready["market"]["notes"]["junk_skipped"] == plans["market"].junk
    assert "prepare_dataset" not in bench.dry_run(tmp_path, override)


def test_wrong_md5_fails_the_prepare_step(tmp_path):
    plan = bench.make_plan(bench.SOURCES[1], 0.01)
    root = bench.generate(bench.SOURCES[1], plan, tmp_path / "generated")
    archive = tmp_path / "DukeMTMC-reID.zip"
    bench.pack("DukeMTMC-reID", bench.select_members(bench.SOURCES[1], plan, root), archive)
    wrong = (archive, "0" * 32)
    override = bench.write_override(tmp_path, {"market": wrong, "duke": wrong}, verify=False)
    with pytest.raises(bench.StepFailed, match="md5 mismatch"):
        bench.prepare(tmp_path, override)
