"""The report's opening answer (a report table fed by the α study, computed by its aggregate
job), from a fake α study, its runs' histories and the method comparison."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reid.report_tables.answer import answer, answer_table
from reid.report_tables.base import TableInputs

ALPHAS = {1e-9: 1e-14, 1e-3: 1e-4, 1e-1: 0.2, 1.0: 3.0}  # α -> cov / ce of its runs


def _write_history(results: Path, run: str, ratio: float) -> None:
    folder = results / "runs" / run
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"epoch": [1, 2], "ce": [2.0, 1.0], "cov": [2.0 * ratio, 1.0 * ratio]})
    frame.to_csv(folder / "history.csv", index=False)


def _study(results: Path, forgetting: dict[float, list[float]]) -> pd.DataFrame:
    rows = []
    for alpha, per_seed in forgetting.items():
        for seed, forget in enumerate(per_seed):
            run = f"a{alpha:g}s{seed}"
            _write_history(results, run, ALPHAS[alpha])
            rows.append(
                {
                    "state": "COMPLETE",
                    "value": 50.0,
                    "point": f"{alpha:g}@{seed}",
                    "run": run,
                    "param_alpha": alpha,
                    "param_seed": seed,
                    "market_after_phase1_mAP": 70.0,
                    "market_mAP": 70.0 - forget,
                    "duke_rank1": 60.0,
                }
            )
    return pd.DataFrame(rows)


def _histories(results: Path):
    def history(run: str) -> pd.DataFrame | None:
        path = results / "runs" / run / "history.csv"
        return pd.read_csv(path) if path.is_file() else None

    return history


def _continual(finetune: list[float], lwf: list[float]) -> pd.DataFrame:
    rows = []
    for method, values in (("finetune", finetune), ("lwf", lwf)):
        for seed, value in enumerate(values):
            rows.append({"method": method, "seed": seed, "metric": "mAP", "forgetting": value})
    return pd.DataFrame(rows)


def test_answer_names_the_onset_and_the_paired_forgetting_differences(tmp_path):
    study = _study(
        tmp_path,
        {
            1e-9: [20.0, 22.0, 18.0],
            1e-3: [20.0, 22.0, 18.0],
            1e-1: [10.0, 12.5, 7.5],  # 10 points less than finetune, every seed
            1.0: [25.0, 27.0, 23.0],
        },
    )
    result = answer(
        study,
        _continual([20.0, 22.0, 18.0], [9.0, 14.0, 7.0]),
        _histories(tmp_path),
        ["market", "duke"],
    )
    assert result.run and result.seeds == 3
    text = " ".join(result.sentences)
    assert "starts to change training at α = 0.1" in text
    assert "Against finetune, the covariance loss at α = 0.1" in text
    assert "reduces forgetting" in text and "-10.0 [" in text
    assert "Against lwf" in text and "does not change forgetting beyond the seed noise" in text
    rows = {row["alpha"]: row for row in result.rows}
    assert set(rows) == {"1e-09", "0.001", "0.1", "1"}
    assert rows["1e-09"]["ratio"] == "1e-14" and rows["0.1"]["ratio"] == "2e-01"
    assert rows["0.1"]["forgetting"].startswith("10.0 [")


def test_answer_when_the_term_never_acts(tmp_path):
    study = _study(tmp_path, {1e-9: [20.0, 21.0], 1e-3: [19.0, 22.0]})
    result = answer(study, None, _histories(tmp_path), ["market", "duke"])
    assert result.run
    assert result.sentences[0].startswith("At no α tried (1e-09, 0.001)")
    assert "finetune: not run" in " ".join(result.sentences)


def test_no_alpha_study_is_not_run(tmp_path):
    assert answer(None, None, _histories(tmp_path), ["market", "duke"]).run is False
    assert (
        answer(pd.DataFrame({"state": []}), None, _histories(tmp_path), ["market", "duke"]).run
        is False
    )


def test_answer_names_failed_alphas_and_dominating_ones(tmp_path):
    study = _study(
        tmp_path,
        {1e-9: [20.0, 22.0, 18.0], 1e-1: [10.0, 12.5, 7.5], 1.0: [50.0, 52.0, 48.5]},
    )
    failed = study.iloc[:1].assign(state="FAIL", param_alpha=10.0, run="x")
    result = answer(
        pd.concat([study, failed]),
        _continual([20.0, 22.0, 18.0], [9.0, 14.0, 7.0]),
        _histories(tmp_path),
        ["market", "duke"],
    )
    text = " ".join(result.sentences)
    assert "forgetting of task 1 (mAP) changes against fine-tuning by α = 1: +30.2 [" in text
    assert "Trials failed at α = 10 (1 of 10;" in text


def test_the_answer_is_a_report_table_the_alpha_study_feeds(tmp_path):
    from reid.tuning.studies import STUDIES

    assert "answer" in STUDIES.get("alpha").tables
    study = _study(tmp_path, {1e-9: [20.0, 22.0], 1e-3: [19.0, 22.0]})
    inputs = TableInputs(
        config={"tasks": [{"name": "market"}, {"name": "duke"}]},
        study=study,
        history=_histories(tmp_path),
    )
    table = answer_table(inputs)
    assert table["run"] and table["rows"][0]["alpha"] == "1e-09"
