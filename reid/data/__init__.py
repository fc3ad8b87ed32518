"""Datasets, generated domains, decoded image banks, augmentation and the P x K sampler."""

from reid.data.datasets import DATASETS, format_summary, load_dataset, write_summary
from reid.data.types import DatasetSplits, Sample

__all__ = ["DATASETS", "DatasetSplits", "Sample", "format_summary", "load_dataset", "write_summary"]
