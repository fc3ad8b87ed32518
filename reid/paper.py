"""The paper's numbers as data (Bhargava, "Incremental Learning in Person Re-Identification").

Percent values are stored as written in the paper (89.3 means 89.3 %).
"""

from __future__ import annotations

# Section 3.3: Rank-1 on Market-1501 after phase 1, per optimiser.
OPTIMIZER: dict[str, float] = {"adam": 74.0, "sgd": 89.3}
OPTIMIZER_LABELS: dict[str, str] = {"adam": "Adam", "sgd": "SGD+CLR"}

# Section 3.3 table: Rank-1 on Market-1501 after phase 1, per batch size.
BATCH_SIZE: dict[int, float] = {32: 89.3, 64: 79.2}

# Section 3.4 table: the covariance-loss hyperparameters the paper settled on.
HYPERPARAMETERS: dict[str, float] = {"lam": 1.0, "alpha": 1e-9, "beta": 0.0}
HYPERPARAMETER_LABELS: dict[str, str] = {"lam": "λ", "alpha": "α", "beta": "β"}

# Section 3.4 table: Rank-1 after 100 epochs of phase 2, per λ.
LAMBDA: dict[float, float] = {0.7: 83.3, 0.8: 83.1, 0.9: 83.1, 1.0: 84.6, 1.3: 82.9}
LAMBDA_EPOCHS = 100

# Section 4.1 table: training identities per dataset (keyed by the suite's dataset names).
DATASETS: dict[str, tuple[str, int]] = {
    "market1501": ("Market 1501", 751),
    "dukemtmcreid": ("Duke MTMC", 702),
}

# Section 4.2 table: Rank-1 of the second task, per ensembling method and training length.
# "short" is the paper's 100 epochs, "long" its 500 epochs.
ENSEMBLING: dict[tuple[str, str], float] = {
    ("base_second", "short"): 84.5,
    ("base_second", "long"): 87.7,
    ("both", "short"): 84.1,
}
ENSEMBLING_LABELS: dict[str, str] = {
    "base_second": "Base model + second pipeline",
    "both": "Both pipelines",
}
ENSEMBLING_EPOCHS: dict[str, int] = {"short": 100, "long": 500}

# Section 4.3 table: (phase, task index 1-based) -> Rank-1, Rank-20, mAP.
RESULTS: dict[tuple[int, int], dict[str, float]] = {
    (1, 1): {"rank1": 89.3, "rank20": 98.3, "mAP": 71.8},
    (2, 2): {"rank1": 80.0, "rank20": 93.7, "mAP": 60.2},
    (2, 1): {"rank1": 70.2, "rank20": 93.0, "mAP": 41.2},
}
RESULT_TASK_LABELS: dict[int, str] = {1: "Market 1501", 2: "DukeMTMC"}
METRIC_LABELS: dict[str, str] = {
    "rank1": "Rank-1",
    "rank5": "Rank-5",
    "rank10": "Rank-10",
    "rank20": "Rank-20",
    "mAP": "mAP",
}
