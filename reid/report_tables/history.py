"""What the training histories say: how large the covariance term is beside the cross-entropy."""

from __future__ import annotations

import pandas as pd


def covariance_ratio(history: pd.DataFrame | None) -> float | None:
    """Median of cov / ce over the epochs where the covariance term is non-zero."""
    if history is None or "cov" not in history or "ce" not in history:
        return None
    cov = pd.to_numeric(history["cov"], errors="coerce").abs()
    ce = pd.to_numeric(history["ce"], errors="coerce")
    mask = (cov > 0) & (ce > 0)
    if not mask.any():
        return None
    return float((cov[mask] / ce[mask]).median())


def ratio_text(ratio: float | None) -> str:
    """'the covariance term is 1e-15 of the cross-entropy' (median over the epochs of phase ≥ 2)."""
    if ratio is None:
        return "the covariance term was not recorded (or was zero) in the main run"
    return (
        f"the covariance term is {ratio:.0e} of the cross-entropy "
        "(median of cov / ce over the epochs after phase 1)"
    )


def main_ratio_text(histories: list[pd.DataFrame | None]) -> str:
    """The ratio sentence of the main run: its phases after the first, concatenated."""
    later = [h for h in histories[1:] if h is not None and not h.empty]
    return ratio_text(covariance_ratio(pd.concat(later, ignore_index=True) if later else None))
