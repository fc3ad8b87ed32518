"""The camera-preferring P x K sampler (LSTKC / DKP) and epochs of a fixed number of batches."""

from __future__ import annotations

from collections import Counter

import pytest

from reid.data.sampler import CrossCameraPKSampler, PKSampler, batch_stream

# 6 identities: 0-2 seen by three cameras, 3 by one camera, 4 by two cameras with one image on
# the second, 5 with a single image.
PIDS = [0] * 6 + [1] * 6 + [2] * 6 + [3] * 4 + [4] * 3 + [5]
CAMS = [0, 0, 1, 1, 2, 2] * 3 + [3, 3, 3, 3] + [0, 0, 1] + [2]


def _groups(batch: list[int], k: int) -> list[list[int]]:
    return [batch[s : s + k] for s in range(0, len(batch), k)]


def test_every_batch_is_p_distinct_identities_each_anchor_then_other_cameras() -> None:
    sampler = CrossCameraPKSampler(PIDS, CAMS, p=3, k=4, seed=0)
    batches = sampler.batches(0)
    assert len(batches) == 2  # 6 identities, each once per pass
    seen = []
    for batch in batches:
        assert len(batch) == 12
        for group in _groups(batch, 4):
            pid = PIDS[group[0]]
            assert {PIDS[i] for i in group} == {pid}
            seen.append(pid)
            anchor_cam = CAMS[group[0]]
            rest = group[1:]
            if pid in (0, 1, 2):  # 4 other-camera images: drawn without replacement
                assert all(CAMS[i] != anchor_cam for i in rest)
                assert len(set(rest)) == 3
            elif pid == 3:  # one camera: other images of the identity, not the anchor
                assert group[0] not in rest and len(set(rest)) == 3
            elif pid == 4 and anchor_cam == 0:  # one other-camera image: repeated
                assert rest == [24] * 3
            elif pid == 5:
                assert group == [25] * 4
    assert sorted(seen) == [0, 1, 2, 3, 4, 5]


def test_deterministic_per_epoch_and_pass_and_different_across_them() -> None:
    a = CrossCameraPKSampler(PIDS, CAMS, p=2, k=2, seed=3)
    b = CrossCameraPKSampler(PIDS, CAMS, p=2, k=2, seed=3)
    assert a.batches(4) == b.batches(4)
    assert a.batches(4, 1) == b.batches(4, 1)
    assert a.batches(4) != a.batches(5)
    assert a.batches(4) != a.batches(4, 1)


def test_the_anchor_camera_varies_so_every_camera_gets_anchored() -> None:
    sampler = CrossCameraPKSampler(PIDS, CAMS, p=3, k=2, seed=1)
    anchors = Counter(
        CAMS[batch[s]]
        for epoch in range(30)
        for batch in sampler.batches(epoch)
        for s in range(0, len(batch), 2)
        if PIDS[batch[s]] == 0
    )
    assert set(anchors) == {0, 1, 2}


def test_too_few_identities_for_p_is_refused() -> None:
    from reid.errors import ConfigError

    with pytest.raises(ConfigError, match="train.batch.p"):
        CrossCameraPKSampler(PIDS, CAMS, p=7, k=2, seed=0)


@pytest.mark.parametrize("sampler_kind", ["pk", "cross_camera"])
def test_an_epoch_of_n_batches_chains_passes(sampler_kind: str) -> None:
    if sampler_kind == "pk":
        sampler = PKSampler(PIDS, p=2, k=2, seed=0)
    else:
        sampler = CrossCameraPKSampler(PIDS, CAMS, p=2, k=2, seed=0)
    one_pass = sampler.batches(7)
    assert batch_stream(sampler, 7, None) == one_pass
    longer = batch_stream(sampler, 7, len(one_pass) * 2 + 1)
    assert longer[: len(one_pass)] == one_pass
    assert longer[len(one_pass) : 2 * len(one_pass)] == sampler.batches(7, 1)
    assert len(longer) == 2 * len(one_pass) + 1
    assert batch_stream(sampler, 7, 1) == one_pass[:1]
