"""Ensembles of registered models: score fusion and the two-stage candidates + re-ranking model.

* :mod:`~apc.models.ensemble.fusion` — ``fusion``: a weighted sum of any models'
  per-query normalised scores, weights given or fitted on a validation split;
* :mod:`~apc.models.ensemble.rerank` — ``rerank``: the RecSys Challenge 2018 winners'
  shape, the union of several models' top-N candidates re-ordered by a
  learning-to-rank model on the features of :mod:`~apc.models.ensemble.rank_features`.

Both take their components as data (registry names or ``pkg.mod:Class`` import paths
with their parameters), so a whole pipeline is one TOML table.
"""
