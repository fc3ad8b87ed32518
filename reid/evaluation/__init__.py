"""Re-ID evaluation: distances, CMC / mAP, feature extraction."""

from reid.evaluation.distance import pairwise_distance
from reid.evaluation.features import FeatureSource, extract_features, parse_feature_source
from reid.evaluation.metrics import evaluate, evaluate_features

__all__ = [
    "FeatureSource",
    "evaluate",
    "evaluate_features",
    "extract_features",
    "pairwise_distance",
    "parse_feature_source",
]
