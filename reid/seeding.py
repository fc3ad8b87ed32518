"""Seeds derived from the run's seed: every random choice of a run (batches, exemplars, the
Fisher's images, prototypes) draws from one of these, so another `seed` draws differently and
the same seed draws the same, on any machine."""

from __future__ import annotations

import numpy as np


def derive_seed(*parts: int) -> int:
    """A 63-bit seed mixed from integers (numpy's SeedSequence: distinct tuples give
    statistically independent streams; (0, 1), (1, 0) and (0, 1, 0) differ)."""
    if not parts:
        raise ValueError("derive_seed needs at least one integer")
    # The count first: SeedSequence pads with zeros, so (0, 0) and (0, 0, 0) would coincide.
    words = [len(parts), *(int(p) & 0xFFFFFFFFFFFFFFFF for p in parts)]
    state = np.random.SeedSequence(words).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & 0x7FFFFFFFFFFFFFFF
