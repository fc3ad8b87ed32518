"""Write the shipped split files of the random-split LReID sets (reid/data/splits/<name>.json).

    python -m reid.data.adapters.make_splits          # rewrite the files
    python -m reid.data.adapters.make_splits --check  # exit 1 if a file differs

Each split is drawn over the dataset's *published* identity numbering (so it applies to the
real images, which are not needed to make it) with `numpy.random.default_rng(0)`: a permutation
of the identity numbers, the first `train` of them (sorted) are the train identities, the rest
the test identities. The adapter's rule (in each file's "rule") then places every image.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from reid import io

SEED = 0
# name -> (first id, last id, train ids, how the adapter uses the split)
ID_SPACES: dict[str, tuple[int, int, int, str]] = {
    "viper": (
        0,
        631,
        316,
        "id = index of the pair in sorted order (i-th file of cam_a with i-th of cam_b); train: "
        "both images of train ids; query: cam_a of test ids; gallery: cam_b of test ids",
    ),
    "prid": (
        1,
        200,
        100,
        "id = NNNN of person_NNNN.png (ids 1-200 are seen by both cameras); train: cam_a and "
        "cam_b of train ids; query: cam_a of test ids; gallery: cam_b of test ids and every "
        "cam_b id above 200",
    ),
    "grid": (
        1,
        250,
        125,
        "id = PPPP of PPPP_C_*.jpeg; used only when underground_reid/features_and_partitions.mat "
        "is absent (then trainIdxAll split 0 is used); train: probe and gallery images of train "
        "ids; query: probe images of test ids; gallery: gallery images of test ids and all 0000 "
        "distractors",
    ),
    "ilids": (
        1,
        119,
        59,
        "id = PPPP of PPPPIII.jpg; train: all images of train ids; each test id: its first "
        "image (sorted by name) is the query, its second the gallery image",
    ),
    "cuhk01": (
        1,
        971,
        485,
        "id = PPPP of PPPPIII.png; train: all images of train ids; query: view 0 (III 001-002) "
        "of test ids; gallery: view 1 (III 003-004) of test ids",
    ),
}


def make_split(name: str) -> dict[str, object]:
    """The split of `name`, drawn with seed 0 over its published identity numbers."""
    first, last, train, rule = ID_SPACES[name]
    order = np.random.default_rng(SEED).permutation(np.arange(first, last + 1))
    return {
        "dataset": name,
        "seed": SEED,
        "made_by": "python -m reid.data.adapters.make_splits",
        "rule": rule,
        "train_ids": sorted(int(i) for i in order[:train]),
        "test_ids": sorted(int(i) for i in order[train:]),
    }


def split_dir() -> Path:
    """The folder of the shipped split files."""
    return Path(__file__).resolve().parent.parent / "splits"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check compare) every shipped split file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for name in ID_SPACES:
        path = split_dir() / f"{name}.json"
        text = json.dumps(make_split(name), indent=1) + "\n"
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            io.write_text(path, text)
            print(path)
    if stale:
        print("split files differ from what the script makes: " + ", ".join(stale))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
