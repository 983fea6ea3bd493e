"""Recommenders: the interface, the registry and one module per model family."""

from apc.models.base import Recommender, ScoringRecommender, check_is_fitted, load_model
from apc.models.fallback import TitleFallback, with_title_fallback
from apc.models.registry import available_models, create_model, get_model_class

__all__ = [
    "Recommender",
    "ScoringRecommender",
    "TitleFallback",
    "available_models",
    "check_is_fitted",
    "create_model",
    "get_model_class",
    "load_model",
    "with_title_fallback",
]
