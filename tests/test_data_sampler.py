"""P x K sampler invariants and determinism."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid.data.sampler import PKSampler
from reid.errors import ConfigError

PIDS = [i // 5 for i in range(50)] + [10, 10, 11]  # 10 ids with 5 images, two smaller ids


def _check(batches, pids, p, k):
    for batch in batches:
        assert len(batch) == p * k
        counts = Counter(pids[i] for i in batch)
        assert len(counts) == p and set(counts.values()) == {k}


def test_batches_are_p_identities_with_k_images():
    sampler = PKSampler(PIDS, p=4, k=3, seed=0)
    batches = sampler.batches(0)
    assert batches and sampler.num_batches(0) == len(batches)
    _check(batches, PIDS, 4, 3)
    big = [i for b in batches for i in b if PIDS[i] < 10]
    assert len(big) == len(set(big))  # an identity with >= k images never repeats an index


def test_identity_with_fewer_than_k_images_is_filled_with_replacement():
    pids = [0, 0, 0, 0, 1]
    sampler = PKSampler(pids, p=2, k=4, seed=1)
    (batch,) = sampler.batches(0)
    assert [i for i in batch if pids[i] == 1] == [4, 4, 4, 4]


def test_deterministic_per_epoch_and_independent_of_call_order():
    a = PKSampler(PIDS, p=4, k=2, seed=5)
    b = PKSampler(PIDS, p=4, k=2, seed=5)
    first = a.batches(3)
    a.batches(0)
    a.batches(1)
    assert a.batches(3) == first == b.batches(3)
    assert a.batches(4) != first
    assert PKSampler(PIDS, p=4, k=2, seed=6).batches(3) != first


def test_refuses_bad_p_and_k():
    with pytest.raises(ConfigError, match=r"train\.batch\.k"):
        PKSampler(PIDS, p=2, k=1, seed=0)
    with pytest.raises(ConfigError, match=r"train\.batch\.p"):
        PKSampler(PIDS, p=13, k=2, seed=0)
    with pytest.raises(ConfigError, match=r"train\.batch\.p"):
        PKSampler(PIDS, p=0, k=2, seed=0)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=12),
    p=st.integers(1, 4),
    k=st.integers(2, 4),
    epoch=st.integers(0, 100),
)
def test_invariants_hold_for_random_label_lists(sizes, p, k, epoch):
    pids = [pid for pid, size in enumerate(sizes) for _ in range(size)]
    p = min(p, len(sizes))
    sampler = PKSampler(pids, p=p, k=k, seed=epoch)
    batches = sampler.batches(epoch)
    _check(batches, pids, p, k)
    used = Counter(pids[i] for batch in batches for i in batch)
    left = [max(size // k, 1) - used[pid] // k for pid, size in enumerate(sizes)]
    assert min(left) >= 0
    assert sum(1 for n in left if n > 0) < p  # stops only when fewer than p ids have groups left
