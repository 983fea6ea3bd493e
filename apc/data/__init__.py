"""The data model: vocabularies, the Playlists corpus, queries, recommendations, features."""

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.data.vocab import Vocabulary

__all__ = ["ItemFeatures", "Playlists", "Queries", "Recommendations", "Vocabulary"]
