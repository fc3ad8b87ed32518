"""Re-ID metrics against a plain per-query reference, distances, feature extraction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reid.errors import ConfigError
from reid.evaluation import (
    FeatureSource,
    evaluate,
    evaluate_features,
    extract_features,
    pairwise_distance,
    parse_feature_source,
)
from reid.evaluation import metrics as metrics_module
from reid.models import ModelConfig, MultiPipelineNet


def reference_evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """The textbook loop: full stable argsort per query."""
    cmcs, aps = [], []
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        keep = ~((g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i]))
        hits = (g_pids[order] == q_pids[i])[keep]
        if not hits.any():
            continue
        cum = np.minimum(np.cumsum(hits), 1).astype(float)
        cmc = np.ones(max_rank)
        cmc[: min(max_rank, len(cum))] = cum[:max_rank]
        cmcs.append(cmc)
        where = np.flatnonzero(hits)
        aps.append(np.mean((np.arange(len(where)) + 1) / (where + 1)))
    return np.mean(cmcs, axis=0), float(np.mean(aps)), len(aps)


def random_split(seed: int, num_q: int = 120, num_g: int = 700):
    """Random ids/cameras with distractors (pid 0), same-camera matches, unmatched queries."""
    rng = np.random.default_rng(seed)
    g_pids = rng.integers(1, 40, num_g)
    g_pids[rng.random(num_g) < 0.2] = 0
    g_camids = rng.integers(1, 4, num_g)
    q_pids = rng.integers(1, 45, num_q)  # pids 40–44 have no gallery image
    q_camids = rng.integers(1, 4, num_q)
    return q_pids, g_pids, q_camids, g_camids


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("max_rank", [1, 20, 50])
def test_evaluate_matches_reference(seed: int, max_rank: int) -> None:
    q_pids, g_pids, q_camids, g_camids = random_split(seed)
    dist = np.random.default_rng(seed + 10).random((len(q_pids), len(g_pids)))
    res = evaluate(dist, q_pids, g_pids, q_camids, g_camids, max_rank=max_rank)
    cmc, m_ap, n_valid = reference_evaluate(dist, q_pids, g_pids, q_camids, g_camids, max_rank)
    assert res["num_valid_queries"] == n_valid < len(q_pids)
    assert res["cmc"].shape == (max_rank,)
    np.testing.assert_allclose(res["cmc"], cmc, atol=1e-6)
    assert res["mAP"] == pytest.approx(m_ap, abs=1e-6)
    assert np.isnan(res["all_AP"]).sum() == len(q_pids) - n_valid


def test_evaluate_row_chunks_float32_and_tensors(monkeypatch) -> None:
    monkeypatch.setattr(metrics_module, "_ROW_BUDGET", 700 * 7)  # 7 rows per block
    q_pids, g_pids, q_camids, g_camids = random_split(5)
    dist = np.random.default_rng(3).random((len(q_pids), len(g_pids))).astype(np.float32)
    res = evaluate(
        torch.from_numpy(dist),
        torch.from_numpy(q_pids),
        torch.from_numpy(g_pids),
        torch.from_numpy(q_camids),
        torch.from_numpy(g_camids),
    )
    cmc, m_ap, _ = reference_evaluate(dist, q_pids, g_pids, q_camids, g_camids)
    np.testing.assert_allclose(res["cmc"], cmc, atol=1e-6)
    assert res["mAP"] == pytest.approx(m_ap, abs=1e-6)


def test_evaluate_hand_worked() -> None:
    g_pids = np.array([1, 2, 1, 1, 0])
    g_camids = np.array([1, 1, 2, 1, 3])
    q_pids = np.array([1, 1, 2])
    q_camids = np.array([1, 2, 1])
    dist = np.array(
        [
            [0.1, 0.2, 0.3, 0.05, 0.4],  # g0, g3 same pid+cam → dropped; g1, g2(hit), g4
            [0.5, 0.9, 0.1, 0.3, 0.2],  # g2 dropped; g4, g3(hit), g0(hit), g1
            [0.3, 0.1, 0.2, 0.4, 0.5],  # only g1 has pid 2, same camera → no match, skipped
        ]
    )
    res = evaluate(dist, q_pids, g_pids, q_camids, g_camids, max_rank=5)
    # query 0: hit at rank 2 → AP 1/2; query 1: hits at ranks 2, 3 → AP (1/2 + 2/3) / 2
    np.testing.assert_allclose(res["cmc"], [0.0, 1.0, 1.0, 1.0, 1.0])
    assert res["mAP"] == pytest.approx((1 / 2 + 7 / 12) / 2)
    assert res["num_valid_queries"] == 2
    np.testing.assert_allclose(res["all_AP"], [0.5, 7 / 12, np.nan])


def test_ties_are_pessimistic_and_long_max_rank() -> None:
    # the match g0 ties with the non-match g1: the non-match is ranked first
    res = evaluate(np.array([[0.5, 0.5, 0.1]]), [1], [1, 2, 3], [1], [2, 1, 1], max_rank=5)
    np.testing.assert_allclose(res["cmc"], [0.0, 0.0, 1.0, 1.0, 1.0])
    assert res["mAP"] == pytest.approx(1 / 3)


def test_no_valid_query() -> None:
    res = evaluate(np.zeros((2, 2)), [1, 2], [3, 4], [1, 1], [1, 1], max_rank=3)
    assert res["num_valid_queries"] == 0 and np.isnan(res["mAP"])
    np.testing.assert_array_equal(res["cmc"], np.zeros(3))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_pairwise_distance(metric: str) -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(5, 6, generator=gen, dtype=torch.float64)
    b = torch.randn(7, 6, generator=gen, dtype=torch.float64)
    dist = pairwise_distance(a, b, metric)
    if metric == "euclidean":
        expected = torch.cdist(a, b).square()
    else:
        expected = 1 - F.normalize(a, dim=1) @ F.normalize(b, dim=1).T
    assert torch.allclose(dist, expected, atol=1e-10)
    with pytest.raises(ValueError):
        pairwise_distance(a, b, "manhattan")


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("chunk_size", [7, 50, 1000])
def test_evaluate_features_equals_full_matrix(metric: str, chunk_size: int) -> None:
    q_pids, g_pids, q_camids, g_camids = random_split(9, num_q=101, num_g=400)
    gen = torch.Generator().manual_seed(4)
    centres = torch.randn(50, 16, generator=gen, dtype=torch.float64)
    qf = centres[torch.from_numpy(q_pids) % 50] + torch.randn(101, 16, generator=gen).double()
    gf = centres[torch.from_numpy(g_pids) % 50] + torch.randn(400, 16, generator=gen).double()
    full = evaluate(pairwise_distance(qf, gf, metric).numpy(), q_pids, g_pids, q_camids, g_camids)
    chunked = evaluate_features(
        qf, gf, q_pids, g_pids, q_camids, g_camids, metric=metric, chunk_size=chunk_size
    )
    np.testing.assert_allclose(chunked["cmc"], full["cmc"], atol=1e-12)
    assert chunked["mAP"] == pytest.approx(full["mAP"], abs=1e-12)
    assert chunked["num_valid_queries"] == full["num_valid_queries"]
    assert full["cmc"][0] > 0.3  # the clustered features are far better than chance


def test_parse_feature_source() -> None:
    assert parse_feature_source("base") == FeatureSource("base")
    assert parse_feature_source("pipeline:1") == FeatureSource("pipeline", (1,))
    assert parse_feature_source("concat:0,1") == FeatureSource("concat", (0, 1))
    assert str(parse_feature_source(" mean:0, 2 ")) == "mean:0,2"
    assert parse_feature_source("concat:base,1") == FeatureSource("concat", (1,), True)
    assert str(parse_feature_source("concat:base,1")) == "concat:base,1"
    for bad in [
        "pipeline",
        "pipeline:0,1",
        "mean:",
        "sum:0",
        "concat:a",
        "base:0",
        "mean:-1",
        "pipeline:base",
    ]:
        with pytest.raises(ConfigError):
            parse_feature_source(bad)


def _tiny_model() -> MultiPipelineNet:
    torch.manual_seed(0)
    net = MultiPipelineNet(ModelConfig(input_size=(64, 32)))
    net.add_pipeline(4)
    net.add_pipeline(3)
    return net


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255.0


def test_extract_features_sources() -> None:
    net = _tiny_model().train()
    images = torch.randint(0, 256, (5, 3, 64, 32), dtype=torch.uint8)
    net_eval = _tiny_model().eval()
    with torch.no_grad():
        out = net_eval(_to_float(images))
        flipped = net_eval(_to_float(images).flip(dims=[3]))
    e0, e1 = out.embeddings

    def got(source: str, **kw) -> torch.Tensor:
        return extract_features(net, images, source, _to_float, batch_size=2, **kw)

    norm = F.normalize
    assert torch.allclose(got("base"), norm(out.base.mean(dim=(2, 3)), dim=1), atol=1e-5)
    assert torch.allclose(got("pipeline:1"), norm(e1, dim=1), atol=1e-5)
    assert torch.allclose(got("pipeline:0", normalize=False), e0, atol=1e-5)
    mean = norm((norm(e0, dim=1) + norm(e1, dim=1)) / 2, dim=1)
    assert torch.allclose(got("mean:0,1"), mean, atol=1e-5)
    concat = got("concat:0,1")
    assert concat.shape == (5, 1024)
    assert torch.allclose(concat.norm(dim=1), torch.ones(5), atol=1e-5)
    base_concat = norm(
        torch.cat([norm(out.base.mean(dim=(2, 3)), dim=1), norm(e1, dim=1)], 1), dim=1
    )
    assert torch.allclose(got("concat:base,1"), base_concat, atol=1e-5)
    flip = norm((e0 + flipped.embeddings[0]) / 2, dim=1)
    assert torch.allclose(got("pipeline:0", flip=True), flip, atol=1e-5)
    assert net.training  # mode restored
