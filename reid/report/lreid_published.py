"""Published order-1 results of the lifelong re-ID benchmark, as data (mAP / Rank-1 in %).

Read from the official README table images of LSTKC, DKP, DASK and PatchKD (see
/work/shared/field-facts.md); not yet confirmed against the papers' text. The LwF and PatchKD
rows (and SPD's, quoted in the LSTKC table) are copied between papers from PatchKD's run, which
used CUHK03 *detected* and possibly pooled the unseen sets into one retrieval problem.
"""

from __future__ import annotations

from typing import NamedTuple


class PublishedRow(NamedTuple):
    """One published row: Seen-Avg and Unseen-Avg after the last step of order 1."""

    method: str
    seen_map: float
    seen_rank1: float
    unseen_map: float
    unseen_rank1: float
    ours: str | None = None  # our comparison method of the same kind, if any


ORDER1: tuple[PublishedRow, ...] = (
    PublishedRow("Finetune", 32.3, 43.9, 38.4, 34.4, "finetune"),
    PublishedRow("SPD (ICCV'19)", 34.4, 46.4, 40.4, 36.6, "spd"),
    PublishedRow("LwF", 40.2, 50.6, 47.2, 42.6, "lwf"),
    PublishedRow("PatchKD (MM'22)", 43.7, 53.7, 49.1, 45.4, "patchkd"),
    PublishedRow("LSTKC (AAAI'24)", 50.0, 63.1, 57.0, 49.9, "lstkc"),
    PublishedRow("DKP (CVPR'24)", 51.8, 64.1, 59.2, 51.6, "dkp"),
    PublishedRow("DASK (AAAI'25)", 55.4, 69.3, 65.3, 58.4),
    PublishedRow("Joint-Train, as in PatchKD / LSTKC", 55.4, 67.5, 49.8, 46.3, "joint"),
    PublishedRow("Joint-Train, as in DKP", 63.4, 75.2, 55.2, 48.2, "joint"),
    PublishedRow("Joint-Train, as in DASK", 66.8, 77.3, 59.4, 52.6, "joint"),
)
SOURCE_NOTE = (
    "Published rows: order 1, read from the official README tables of LSTKC, DKP, DASK and "
    "PatchKD (not yet confirmed against the papers' text); the LwF and PatchKD rows come from "
    "PatchKD's run (CUHK03 detected, unseen sets possibly pooled). One seed each; none reports "
    "variance, forgetting or BWT."
)
