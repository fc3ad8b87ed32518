"""The data records every adapter returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One image: its path, person id and camera id (cameras counted from 1, as in file names)."""

    path: Path
    pid: int
    camid: int


@dataclass
class DatasetSplits:
    """Train / query / gallery lists of one dataset. Train pids are relabelled 0..N-1."""

    name: str
    train: list[Sample]
    query: list[Sample]
    gallery: list[Sample]
    root: Path | None = None
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def num_train_pids(self) -> int:
        """Number of distinct identities in the train split."""
        return len({s.pid for s in self.train})

    def summary_rows(self) -> list[dict[str, object]]:
        """One row per split: identities, images and cameras."""
        rows = []
        for split in ("train", "query", "gallery"):
            samples: list[Sample] = getattr(self, split)
            rows.append(
                {
                    "dataset": self.name,
                    "split": split,
                    "ids": len({s.pid for s in samples}),
                    "images": len(samples),
                    "cameras": len({s.camid for s in samples}),
                }
            )
        return rows
