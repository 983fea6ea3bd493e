"""Public test helpers: tiny corpora with known answers and a conformance suite.

Participants can reuse these for their own models::

    from apc.testing import RecommenderContract

    class TestMyModel(RecommenderContract):
        def make_model(self):
            return MyModel(n_factors=8)

``check_recommender(factory)`` runs the same checks outside pytest (as scikit-learn's
``check_estimator`` does).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.datasets import SHARED_DATA  # noqa: F401 - the real-data folder, for tests

#: Seed used by the test-suite; override with APC_TEST_SEED.
TEST_SEED = int(os.environ.get("APC_TEST_SEED", "42"))


def checkerboard(n_playlists: int = 20, n_per_genre: int = 6) -> Playlists:
    """Build a corpus of two genres that never mix.

    Playlists ``2i`` hold tracks ``a0..a{n-1}`` (artist ``A``, name ``"rock"``),
    playlists ``2i+1`` hold ``b0..b{n-1}`` (artist ``B``, name ``"jazz"``), each
    rotated by ``i mod n`` positions. A query seeded with ``a`` tracks must be
    continued with ``a`` tracks only.

    Parameters
    ----------
    n_playlists : int
        Number of playlists, alternating between the two genres (default 20).
    n_per_genre : int
        Tracks per genre, ``n`` above (default 6).

    Returns
    -------
    Playlists
        The corpus, with track artists and playlist names.

    Examples
    --------
    >>> pl = checkerboard()
    >>> len(pl), pl.n_tracks
    (20, 12)
    """
    seqs, artists, names = [], {}, []
    for p in range(n_playlists):
        g = "ab"[p % 2]
        tracks = [f"{g}{i}" for i in range(n_per_genre)]
        rot = (p // 2) % n_per_genre
        seqs.append(tracks[rot:] + tracks[:rot])
        names.append("rock" if g == "a" else "jazz")
        for t in tracks:
            artists[t] = g.upper()
    return Playlists.from_sequences(seqs, artists=artists, names=names)


def cycles(n_tracks: int = 12, n_playlists: int = 60, length: int = 8, seed: int = 0) -> Playlists:
    """Build playlists that walk the cycle 0 -> 1 -> ... -> n-1 -> 0 from a random start.

    Every track is equally popular and co-occurs with many others, so only the order
    tells what comes next: the next track after ``i`` is always ``i + 1 (mod n)``.
    A first playlist ``t0, ..., t{n-1}`` makes the track index equal the cycle position.

    Parameters
    ----------
    n_tracks : int
        Length of the cycle, ``n`` (default 12).
    n_playlists : int
        Random walks besides the first, ordered playlist (default 60).
    length : int
        Tracks per random walk (default 8).
    seed : int
        Seed of the start positions (default 0).

    Returns
    -------
    Playlists
        ``n_playlists + 1`` playlists over tracks ``t0 .. t{n-1}``.
    """
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n_tracks, n_playlists)
    seqs = [[f"t{(s + j) % n_tracks}" for j in range(length)] for s in starts]
    # make track index == cycle position
    seqs = [[f"t{j}" for j in range(n_tracks)]] + seqs
    return Playlists.from_sequences(seqs)


def queries_from(
    pl: Playlists, seeds: list[list[int]], targets: list[list[int]], **kw
) -> Queries:
    """Build queries over ``pl``'s catalogue from lists of track indices.

    Parameters
    ----------
    pl : Playlists
        Corpus whose catalogue the indices refer to.
    seeds, targets : list of list of int
        Seed and target track indices, one list per query.
    **kw
        Passed to :meth:`Queries.from_lists` (e.g. ``titles``).

    Returns
    -------
    Queries
        One query per element of ``seeds``.
    """
    return Queries.from_lists(seeds, targets, n_tracks=pl.n_tracks, **kw)


def check_recommendations(
    recs: Recommendations, queries: Queries, k: int, *, allows_repeats: bool = False
) -> None:
    """Assert the invariants the :class:`~apc.models.base.Recommender` protocol states.

    Checks: one row per query and at most ``k`` columns of int32 items and float32
    scores; item indices inside the catalogue; ``-1`` padding (scored ``-inf``) only at
    the end of a row; non-increasing scores; no duplicates in a row; and, unless
    ``allows_repeats``, no seed track recommended.

    Parameters
    ----------
    recs : Recommendations
        What the model returned for ``queries``.
    queries : Queries
        The queries it answered.
    k : int
        The list length asked for.
    allows_repeats : bool
        Whether seed tracks may be recommended (default False).

    Raises
    ------
    AssertionError
        When an invariant does not hold.
    """
    assert isinstance(recs, Recommendations), f"expected Recommendations, got {type(recs)}"
    assert recs.items.ndim == 2 and recs.items.shape[0] == len(queries), (
        f"items of shape {recs.items.shape}; expected ({len(queries)}, <= {k})"
    )
    assert recs.items.shape[1] <= k, f"{recs.items.shape[1]} columns for k={k}"
    assert recs.items.dtype == np.int32 and recs.scores.dtype == np.float32
    items, scores = recs.items, recs.scores
    valid = items >= 0
    assert (items < queries.n_tracks).all(), "item index outside the catalogue"
    assert (items >= -1).all(), "padding must be -1"
    # padding only at the end of a row
    assert (np.diff(valid.astype(np.int8), axis=1) <= 0).all(), "-1 padding must be at the end"
    assert np.isneginf(scores[~valid]).all(), "padded slots must score -inf"
    # scores non-increasing
    s = np.where(valid, scores, -np.inf)
    with np.errstate(invalid="ignore"):
        d = np.diff(s, axis=1)
    assert ((d <= 1e-6) | np.isnan(d)).all(), "scores must be non-increasing"
    for q in range(len(queries)):
        row = items[q][valid[q]]
        assert len(np.unique(row)) == len(row), f"duplicates in row {q}"
        if not allows_repeats:
            assert not np.isin(row, queries.seed(q)).any(), f"seed track recommended in row {q}"


def _is_template(model) -> bool:
    from apc.models.base import ScoringRecommender
    from apc.models.fallback import TitleFallback

    return isinstance(model, (ScoringRecommender, TitleFallback))


class RecommenderContract:
    """Pytest mixin: the behaviour the :class:`~apc.models.base.Recommender` protocol states.

    Subclasses implement :meth:`make_model` (a fresh, unfitted model, small enough to
    fit in a second or two) and may override :meth:`make_corpus`. Any object with the
    protocol's ``fit`` and ``recommend`` can pass: the ``test_*`` checks below are
    exactly what the protocol's docstring promises.

    The ``optional_*`` checks test what apc's own template adds (a
    :class:`~apc.errors.NotFittedError` before ``fit``, ``save``/``load``, an answer
    for an empty seed, ``k`` capped at the catalogue). Each is off for a bare model and
    on for a :class:`~apc.models.base.ScoringRecommender` (``None``, the default);
    set the class attribute to ``True`` or ``False`` to choose.
    """

    k = 5
    #: Check that ``recommend`` before ``fit`` raises NotFittedError.
    check_not_fitted: bool | None = None
    #: Check that ``save`` then ``type(model).load`` gives the same lists.
    check_save_load: bool | None = None
    #: Check that a query with an empty seed gets at least one track.
    check_empty_seed_answered: bool | None = None

    def make_model(self):  # pragma: no cover - to be overridden
        """Return a fresh, unfitted model (subclasses must override)."""
        raise NotImplementedError

    def make_corpus(self) -> Playlists:
        """Return the training corpus (default: :func:`checkerboard`)."""
        return checkerboard()

    def make_queries(self, pl: Playlists) -> Queries:
        """Return five queries over ``pl``: seeds of 0 to 3 tracks, titled and untitled."""
        n = pl.n_tracks
        return queries_from(
            pl,
            [[0, 1], [n - 1], [], [2, 3, 4], [0]],
            [[2], [n - 2], [0], [5], [1]],
            titles=np.array(["rock", "jazz", "rock", None, ""], dtype=object),
        )

    def _fitted(self):
        pl = self.make_corpus()
        return self.make_model().fit(pl), pl

    def _wants(self, flag: bool | None, model) -> bool:
        return _is_template(model) if flag is None else bool(flag)

    # ---- the protocol
    def test_fit_returns_self(self):
        """Check that ``fit`` returns the model itself."""
        pl = self.make_corpus()
        model = self.make_model()
        assert model.fit(pl) is model

    def test_recommendations_well_formed(self):
        """Check the invariants of :func:`check_recommendations` on fitted output."""
        model, pl = self._fitted()
        q = self.make_queries(pl)
        recs = model.recommend(q, self.k)
        check_recommendations(
            recs, q, self.k, allows_repeats=getattr(model, "allows_repeats", False)
        )

    def test_k_larger_than_catalogue(self):
        """Check that ``k`` above the catalogue size still gives well-formed lists."""
        import warnings

        model, pl = self._fitted()
        q = self.make_queries(pl)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a model may warn about the large k
            recs = model.recommend(q, pl.n_tracks + 3)
        check_recommendations(
            recs, q, pl.n_tracks + 3, allows_repeats=getattr(model, "allows_repeats", False)
        )

    def test_batch_equals_single(self):
        """Check that each query gets the same list alone as in a batch."""
        model, pl = self._fitted()
        q = self.make_queries(pl)
        batch = model.recommend(q, self.k)
        for i in range(len(q)):
            single = model.recommend(q.subset([i]), self.k)
            w = single.items.shape[1]
            np.testing.assert_array_equal(single.items[0], batch.items[i, :w])
            np.testing.assert_allclose(single.scores[0], batch.scores[i, :w], rtol=1e-4,
                                       atol=1e-5)

    def test_deterministic(self):
        """Check that two fits on the same data give the same lists."""
        pl = self.make_corpus()
        q = self.make_queries(pl)
        a = self.make_model().fit(pl).recommend(q, self.k)
        b = self.make_model().fit(pl).recommend(q, self.k)
        np.testing.assert_array_equal(a.items, b.items)

    # ---- optional: what apc's template adds
    def test_optional_not_fitted_raises(self):
        """Check that ``recommend`` before ``fit`` raises NotFittedError (optional)."""
        import pytest

        from apc.errors import NotFittedError

        pl = self.make_corpus()
        model = self.make_model()
        if not self._wants(self.check_not_fitted, model):
            pytest.skip("optional check: set check_not_fitted = True to run it")
        with pytest.raises(NotFittedError):
            model.recommend(self.make_queries(pl), self.k)

    def test_optional_k_capped_at_catalogue(self):
        """Check that ``k`` above the catalogue is capped, with a ParameterWarning (optional)."""
        import pytest

        from apc.errors import ParameterWarning

        model, pl = self._fitted()
        if not self._wants(None, model):
            pytest.skip("optional check: apc's template caps k at the catalogue")
        with pytest.warns(ParameterWarning, match="exceeds the catalogue"):
            recs = model.recommend(self.make_queries(pl), pl.n_tracks + 1000)
        assert recs.items.shape[1] == pl.n_tracks

    def test_optional_save_load_roundtrip(self, tmp_path):
        """Check that ``save`` then ``load`` gives a model with the same output (optional)."""
        import pytest

        model, pl = self._fitted()
        has = hasattr(model, "save") and hasattr(type(model), "load")
        if not (has if self.check_save_load is None else self.check_save_load):
            pytest.skip("optional check: the model has no save()/load()")
        q = self.make_queries(pl)
        before = model.recommend(q, self.k)
        path = model.save(tmp_path / "model.pkl")
        loaded = type(model).load(path)
        after = loaded.recommend(q, self.k)
        np.testing.assert_array_equal(before.items, after.items)
        np.testing.assert_allclose(before.scores, after.scores, rtol=1e-5)

    def test_optional_empty_seed_is_answered(self):
        """Check that a query with an empty seed still gets recommendations (optional)."""
        import pytest

        model, pl = self._fitted()
        if not self._wants(self.check_empty_seed_answered, model):
            pytest.skip("optional check: set check_empty_seed_answered = True to run it")
        q = queries_from(pl, [[]], [[0]], titles=np.array(["rock"], dtype=object))
        recs = model.recommend(q, self.k)
        assert (recs.items[0] >= 0).sum() > 0


def check_recommender(
    factory, corpus: Playlists | None = None, tmp_dir: str | Path | None = None
) -> None:
    """Run the :class:`RecommenderContract` checks on ``factory()`` outside pytest.

    Optional checks that do not apply to the model are skipped, as under pytest.

    Parameters
    ----------
    factory : callable
        Called without arguments; returns a fresh, unfitted model.
    corpus : Playlists, optional
        Training corpus (default: :func:`checkerboard`).
    tmp_dir : str or Path, optional
        Parent of the temporary directory used by the save/load check (default: the
        system's); the check is skipped for models without ``save``/``load``.

    Raises
    ------
    AssertionError
        On the first check that fails.
    """
    import tempfile

    class _C(RecommenderContract):
        def make_model(self):
            return factory()

        def make_corpus(self):
            return corpus if corpus is not None else checkerboard()

    import pytest

    c = _C()
    for name in dir(c):
        if name.startswith("test_"):
            fn = getattr(c, name)
            try:
                if name == "test_optional_save_load_roundtrip":
                    with tempfile.TemporaryDirectory(dir=tmp_dir) as d:
                        fn(Path(d))
                else:
                    fn()
            except pytest.skip.Exception:
                continue
