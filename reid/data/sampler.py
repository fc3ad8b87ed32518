"""P x K identity samplers: P identities with K images each per batch, deterministic per
(seed, epoch, pass). `PKSampler` splits every identity's images into groups of K (the paper's
and PatchKD's sampler); `CrossCameraPKSampler` takes each identity once per pass, an anchor
image and K − 1 images from other cameras (LSTKC's and DKP's `RandomMultipleGallerySampler`).
`batch_stream` draws as many batches as an epoch needs from consecutive passes."""

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

    def batches(self, epoch: int, round_: int = 0) -> list[list[int]]:
        """All batches of `epoch` (pass `round_` of it, see `batch_stream`): each has p*k
        indices, p distinct pids with k indices each."""
        rng = np.random.default_rng(_stream(self.seed, epoch, round_))
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


def _stream(seed: int, epoch: int, round_: int) -> list[int]:
    """The random stream of one pass; pass 0 keeps the stream the samplers always used."""
    return [seed, epoch] if round_ == 0 else [seed, epoch, round_]


def _pick(rng: np.random.Generator, pool: Sequence[int], size: int) -> list[int]:
    """`size` items of `pool`: without replacement when it holds enough, else with."""
    replace = len(pool) < size
    return [int(i) for i in rng.choice(np.asarray(pool), size=size, replace=replace)]


class CrossCameraPKSampler:
    """Each pass: every identity once, in a random order, as a group of k images: a random
    anchor image, then k − 1 of its images from other cameras (without replacement when
    there are enough, else with); an identity seen by one camera only gives k − 1 of its other
    images, and one with a single image repeats it. Consecutive groups of p make the batches
    (p distinct identities each; the last incomplete batch is dropped)."""

    def __init__(
        self, pids: Sequence[int], camids: Sequence[int], p: int, k: int, seed: int
    ) -> None:
        self.base = PKSampler(pids, p, k, seed)  # checks p and k, groups indices by pid
        self.p, self.k, self.seed = p, k, seed
        self.camids = np.asarray([int(c) for c in camids])
        if len(self.camids) != len(pids):
            raise ValueError(f"{len(pids)} pids but {len(self.camids)} camera ids")

    def _group(self, rng: np.random.Generator, indices: np.ndarray) -> list[int]:
        anchor = int(rng.choice(indices))
        others = [int(i) for i in indices if self.camids[i] != self.camids[anchor]]
        if not others:
            others = [int(i) for i in indices if i != anchor]
        if not others:
            return [anchor] * self.k
        return [anchor, *_pick(rng, others, self.k - 1)]

    def batches(self, epoch: int, round_: int = 0) -> list[list[int]]:
        """All batches of pass `round_` of `epoch`: floor(identities / p) batches."""
        rng = np.random.default_rng(_stream(self.seed, epoch, round_))
        pids = list(self.base.pid_indices)
        order = rng.permutation(len(pids))
        groups = [self._group(rng, self.base.pid_indices[pids[int(i)]]) for i in order]
        usable = len(groups) - len(groups) % self.p
        return [
            [index for group in groups[s : s + self.p] for index in group]
            for s in range(0, usable, self.p)
        ]


def batch_stream(sampler, epoch: int, count: int | None) -> list[list[int]]:
    """The batches of `epoch`: one pass of the sampler (`count` None), or the first `count`
    batches of its passes 0, 1, 2, ... (an epoch of a fixed number of iterations)."""
    if count is None:
        return sampler.batches(epoch)
    batches: list[list[int]] = []
    round_ = 0
    while len(batches) < count:
        more = sampler.batches(epoch, round_)
        if not more:
            raise ValueError("the sampler gives no batch: fewer identities than batch.p")
        batches.extend(more)
        round_ += 1
    return batches[:count]
