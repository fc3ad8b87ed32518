"""Incremental (continual) person re-identification: the reference experiment suite."""

__version__ = "0.1.0"
