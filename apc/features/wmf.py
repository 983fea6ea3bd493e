r"""Weighted matrix factorisation for implicit feedback (Hu, Koren & Volinsky 2008).

The playlist x track count matrix ``R`` is factorised as ``P ≈ X Yᵀ`` where the
preference ``p_ui = [r_ui > 0]`` is weighted by the confidence of van den Oord et al.
(2013, Eq. 1)

.. math::

    c_{ui} = 1 + \alpha \log(1 + r_{ui} / \epsilon),

and the objective is

.. math::

    \min_{X, Y} \sum_{u,i} c_{ui} (p_{ui} - x_u^\top y_i)^2
        + \lambda (\lVert X \rVert^2 + \lVert Y \rVert^2).

Here the "users" are playlists. The per-track factors ``y_i`` are the regression
targets of the audio CNN (:mod:`apc.features.cnn`) and the ``wmf`` feature block.
Fitting uses ``implicit.als.AlternatingLeastSquares`` on the CPU, inside a
``threadpoolctl`` limit of one BLAS thread (implicit's own threads do the parallel work
and warn about BLAS oversubscription otherwise).

References
----------
Y. Hu, Y. Koren and C. Volinsky. "Collaborative filtering for implicit feedback
datasets." ICDM 2008, 263-272.

A. van den Oord, S. Dieleman and B. Schrauwen. "Deep content-based music
recommendation." NIPS 2013, 2643-2651.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.errors import ApcInputError


def confidence(r: np.ndarray, alpha: float, epsilon: float) -> np.ndarray:
    """Compute confidences ``1 + alpha * log(1 + r / epsilon)`` (van den Oord et al. 2013, Eq. 1).

    Parameters
    ----------
    r : np.ndarray
        Play counts.
    alpha : float
        Confidence scale.
    epsilon : float
        Confidence offset.

    Returns
    -------
    np.ndarray
        float32, same shape as ``r``.

    Examples
    --------
    >>> float(confidence(np.array([0.0]), 2.0, 1e-6)[0])
    1.0
    """
    r = np.asarray(r, dtype=np.float64)
    return (1.0 + alpha * np.log1p(r / epsilon)).astype(np.float32)


class WMF:
    """Weighted matrix factorisation of playlists x tracks by alternating least squares.

    Parameters
    ----------
    n_factors : int
        Latent dimension ``K`` (default 32).
    regularization : float
        ``lambda`` (default 1.0).
    alpha : float
        Confidence scale (default 2.0, as in van den Oord et al. 2013).
    epsilon : float
        Confidence offset (default 1e-6, as in van den Oord et al. 2013).
    iterations : int
        ALS sweeps (default 15).
    binary : bool
        Count each track once per playlist (default True) or every repeat.
    seed : int
        Seed of the random initialisation (default 0).
    num_threads : int
        Threads of implicit's solver (0 = all cores).

    Attributes
    ----------
    playlist_factors_ : np.ndarray
        float32 (n_playlists, K).
    track_factors_ : np.ndarray
        float32 (n_tracks, K); zero rows for tracks in no training playlist.
    available_ : np.ndarray
        bool (n_tracks,): track occurs in at least one playlist.

    Examples
    --------
    >>> from apc.testing import checkerboard
    >>> wmf = WMF(n_factors=2, iterations=5).fit(checkerboard())
    >>> wmf.track_factors_.shape
    (12, 2)
    """

    def __init__(
        self,
        *,
        n_factors: int = 32,
        regularization: float = 1.0,
        alpha: float = 2.0,
        epsilon: float = 1e-6,
        iterations: int = 15,
        binary: bool = True,
        seed: int = 0,
        num_threads: int = 0,
    ) -> None:
        self.n_factors = n_factors
        self.regularization = regularization
        self.alpha = alpha
        self.epsilon = epsilon
        self.iterations = iterations
        self.binary = binary
        self.seed = seed
        self.num_threads = num_threads

    def _validate(self) -> None:
        if int(self.n_factors) < 1:
            raise ApcInputError("n_factors must be >= 1", field="n_factors")
        if self.alpha < 0 or self.epsilon <= 0 or self.regularization < 0:
            raise ApcInputError(
                "need alpha >= 0, epsilon > 0 and regularization >= 0", field="alpha"
            )
        if int(self.iterations) < 1:
            raise ApcInputError("iterations must be >= 1", field="iterations")

    def confidence_matrix(self, counts: sp.csr_array) -> sp.csr_matrix:
        """Compute the playlists x tracks confidences ``c_ui`` on the non-zeros.

        Parameters
        ----------
        counts : sparse matrix
            Playlists x tracks counts.

        Returns
        -------
        scipy.sparse.csr_matrix
            float32, same sparsity as ``counts``.
        """
        c = sp.csr_matrix(counts, dtype=np.float32, copy=True)
        c.data = confidence(c.data, self.alpha, self.epsilon)
        return c

    def fit_matrix(self, counts) -> WMF:
        """Factorise a (users x items) count matrix; see :meth:`fit`.

        Parameters
        ----------
        counts : sparse matrix
            Playlists x tracks counts.

        Returns
        -------
        WMF
            ``self``, fitted.

        Raises
        ------
        ApcInputError
            If a hyper-parameter is out of range.
        """
        self._validate()
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        counts = sp.csr_matrix(counts, dtype=np.float32)
        cui = self.confidence_matrix(counts)
        with threadpool_limits(limits=1, user_api="blas"):
            als = AlternatingLeastSquares(
                factors=int(self.n_factors),
                regularization=float(self.regularization),
                alpha=1.0,  # the confidence is already in the matrix
                iterations=int(self.iterations),
                random_state=int(self.seed),
                num_threads=int(self.num_threads),
            )
            als.fit(cui, show_progress=False)
        self.playlist_factors_ = np.ascontiguousarray(als.user_factors, dtype=np.float32)
        self.track_factors_ = np.ascontiguousarray(als.item_factors, dtype=np.float32)
        self.available_ = np.asarray((counts != 0).sum(axis=0)).ravel() > 0
        self.track_factors_[~self.available_] = 0.0
        return self

    def fit(self, train: Playlists) -> WMF:
        """Factorise a corpus' playlist x track matrix.

        Parameters
        ----------
        train : Playlists
            Training corpus (counted with :meth:`Playlists.to_csr`, ``binary`` as set).

        Returns
        -------
        WMF
            ``self``, fitted.
        """
        return self.fit_matrix(train.to_csr(binary=self.binary))

    def score(self, playlists: np.ndarray | None = None) -> np.ndarray:
        """Predict preferences ``X Yᵀ`` for the given playlists.

        Parameters
        ----------
        playlists : np.ndarray, optional
            Playlist rows (all when None).

        Returns
        -------
        np.ndarray
            float32 (n_playlists, n_tracks).
        """
        x = self.playlist_factors_ if playlists is None else self.playlist_factors_[playlists]
        return x @ self.track_factors_.T

    def weighted_error(self, counts, track_factors: np.ndarray | None = None) -> float:
        """Evaluate the data term of the WMF objective, ``sum_ui c_ui (p_ui - x_u·y_i)^2``.

        With ``track_factors`` (e.g. factors predicted from audio) in place of the fitted
        ``Y`` this is the "weighted prediction error" of van den Oord et al. (2013, Sec. 4).
        Computed without forming the dense matrix:
        ``sum_i y_iᵀ (XᵀX) y_i + sum_{(u,i): r>0} [c (1 - s)^2 - s^2]`` with ``s = x_u·y_i``.

        Parameters
        ----------
        counts : sparse matrix
            Playlists x tracks counts (the preference ``p_ui`` is 1 on the non-zeros).
        track_factors : np.ndarray, optional
            (n_tracks, K) factors replacing the fitted ones.

        Returns
        -------
        float
            The weighted squared error.
        """
        y = self.track_factors_ if track_factors is None else np.asarray(track_factors, np.float32)
        x = self.playlist_factors_.astype(np.float64)
        counts = sp.coo_matrix(counts)
        gram = x.T @ x
        dense_part = float(np.einsum("ik,kl,il->", y, gram, y))
        s = np.einsum("nk,nk->n", x[counts.row], y[counts.col].astype(np.float64))
        c = confidence(counts.data, self.alpha, self.epsilon).astype(np.float64)
        return dense_part + float((c * (1 - s) ** 2 - s**2).sum())
