"""Datasets, generated domains, decoded image banks, augmentation and the P x K sampler."""

from reid.data import adapters  # registers the LReID adapters and their generated styles
from reid.data.datasets import DATASETS, format_summary, load_dataset, write_summary
from reid.data.select import select_ids
from reid.data.types import DatasetSplits, Sample

__all__ = [
    "DATASETS",
    "DatasetSplits",
    "Sample",
    "adapters",
    "format_summary",
    "load_dataset",
    "select_ids",
    "write_summary",
]
