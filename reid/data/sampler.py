"""P x K identity sampler: P identities with K images each per batch, deterministic per epoch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reid.errors import ConfigError


class PKSampler:
    """Batches of `p` distinct pids with `k` image indices each; depends only on (seed, epoch)."""

    def __init__(self, pids: Sequence[int], p: int, k: int, seed: int) -> None:
        by_pid: dict[int, list[int]] = {}
        for index, pid in enumerate(pids):
            by_pid.setdefault(int(pid), []).append(index)
        if k < 2:
            raise ConfigError(f"`train.batch.k` must be >= 2 (images per identity), got {k}")
        if p < 1 or p > len(by_pid):
            raise ConfigError(
                f"`train.batch.p` must be between 1 and the number of training identities "
                f"({len(by_pid)}), got {p}"
            )
        self.p, self.k, self.seed = p, k, seed
        self.pid_indices = {pid: np.array(by_pid[pid]) for pid in sorted(by_pid)}

    def _groups(self, rng: np.random.Generator) -> dict[int, list[list[int]]]:
        groups = {}
        for pid, indices in self.pid_indices.items():
            if len(indices) < self.k:
                chosen = rng.choice(indices, size=self.k, replace=True)
            else:
                chosen = rng.permutation(indices)
            usable = len(chosen) - len(chosen) % self.k
            groups[pid] = [
                [int(i) for i in chosen[s : s + self.k]] for s in range(0, usable, self.k)
            ]
        return groups

    def batches(self, epoch: int) -> list[list[int]]:
        """All batches of `epoch`: each has p*k indices, p distinct pids with k indices each."""
        rng = np.random.default_rng([self.seed, epoch])
        groups = self._groups(rng)
        batches = []
        while True:
            available = [pid for pid, left in groups.items() if left]
            if len(available) < self.p:
                return batches
            chosen = rng.choice(len(available), size=self.p, replace=False)
            batch: list[int] = []
            for position in chosen:
                batch.extend(groups[available[int(position)]].pop())
            batches.append(batch)

    def num_batches(self, epoch: int) -> int:
        """How many batches `epoch` has."""
        return len(self.batches(epoch))
