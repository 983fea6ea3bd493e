r"""What the factor-predicting content models share: config, ALS with a prior, fold-in, training.

Every model of :mod:`apc.models.content` ends with item factors :math:`y_t \in
\mathbb{R}^K` for every track with content (predicted from audio/text, or learned
jointly with WMF). A query is scored like a new WMF user (Hu et al. 2008): its seeds
:math:`S_q` are folded in by one implicit-ALS user step

.. math::

    x_q = \Big(Y^\top Y + \lambda I + \sum_{s \in S_q} (c - 1)\, y_s y_s^\top\Big)^{-1}
          \sum_{s \in S_q} c\, y_s, \qquad c = 1 + \alpha \log(1 + 1/\epsilon),

and tracks are ranked by :math:`x_q^\top y_t`. With a prior mean :math:`m_i` on the
item factors (Liang et al. 2015; the hybrid of Wang & Wang 2014) the ALS item step is

.. math::

    y_i = \Big(X^\top X + \lambda_y I + \sum_u (c_{ui} - 1) x_u x_u^\top\Big)^{-1}
          \Big(\sum_u c_{ui} p_{ui} x_u + \lambda_y m_i\Big),

the minimiser of :math:`\sum_u c_{ui}(p_{ui} - x_u^\top y_i)^2 + \lambda_y \lVert y_i -
m_i \rVert^2`; tracks in no training playlist take :math:`y_i = m_i`.

Both steps are vectorised: the per-row sums of weighted outer products are one sparse
(rows x entries) by dense (entries x K²) product per chunk, the K x K systems one
batched ``numpy.linalg.solve``.

References
----------
Y. Hu, Y. Koren and C. Volinsky. "Collaborative filtering for implicit feedback
datasets." ICDM 2008, 263-272.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError, DataWarning
from apc.models.base import ScoringRecommender
from apc.models.hybrid import FeatureConfig, dot64, floor_unavailable, preprocess
from apc.models.params import param

#: Upper bound on float64 cells of one chunk of weighted outer products.
_CHUNK_CELLS = 1 << 22


@dataclass(frozen=True)
class ContentConfig(FeatureConfig):
    """Settings shared by the factor-predicting content models (extended by each)."""

    features: str | list[str] = param(
        "auto", doc="Content input: auto = the model's own front end (see its page); else "
        "feature sets of apc.features.store (mfcc_bow, audio_cnn, tags_w2v, wmf ...).",
    )
    n_factors: int = param(32, ge=1, doc="WMF latent dimension K (targets of the networks).")
    regularization: float = param(1.0, gt=0, doc="WMF L2 weight lambda (also of the fold-in).")
    alpha: float = param(2.0, ge=0, doc="WMF confidence scale (van den Oord et al. 2013).")
    epsilon: float = param(1e-6, gt=0, doc="WMF confidence offset.")
    wmf_iterations: int = param(15, ge=1, doc="ALS sweeps of the WMF targets.")


def confidence_value(alpha: float, epsilon: float) -> float:
    """Return the confidence ``1 + alpha log(1 + 1/epsilon)`` of one play."""
    return float(1.0 + alpha * np.log1p(1.0 / epsilon))


# ---------------------------------------------------------------------------- ALS
def als_step(
    conf: sp.csr_array,
    fixed: np.ndarray,
    reg: float,
    *,
    prior: np.ndarray | None = None,
    gram: np.ndarray | None = None,
) -> np.ndarray:
    r"""Solve the implicit-ALS step for every row of ``conf`` given the other side's factors.

    Row :math:`u` gets :math:`(F^\top F + \lambda I + \sum_j (c_{uj}-1) f_j f_j^\top)^{-1}
    (\sum_j c_{uj} f_j + \lambda m_u)` (Hu et al. 2008, Eq. 4, with a prior mean
    :math:`m_u`, zero by default).

    Parameters
    ----------
    conf : scipy.sparse.csr_array
        (n_rows, n_cols) confidences ``c`` on the observed entries (preference 1 there).
    fixed : np.ndarray
        (n_cols, K) factors of the other side.
    reg : float
        :math:`\lambda`.
    prior : np.ndarray, optional
        (n_rows, K) prior means.
    gram : np.ndarray, optional
        Precomputed ``fixed.T @ fixed`` (float64).

    Returns
    -------
    np.ndarray
        float64 (n_rows, K).
    """
    conf = sp.csr_array(conf)
    f = np.asarray(fixed, dtype=np.float64)
    k = f.shape[1]
    base = (f.T @ f if gram is None else gram) + reg * np.eye(k)
    n = conf.shape[0]
    out = np.zeros((n, k))
    indptr, indices, data = conf.indptr, conf.indices, conf.data.astype(np.float64)
    step = max(1, _CHUNK_CELLS // (k * k))
    lo = 0
    while lo < n:
        # rows lo..hi whose entries fit one chunk (at least one row)
        hi = int(np.searchsorted(indptr, indptr[lo] + step, side="right")) - 1
        hi = min(n, max(hi, lo + 1))
        a, b = int(indptr[lo]), int(indptr[hi])
        fe = f[indices[a:b]]
        ptr = indptr[lo : hi + 1] - a
        cols = np.arange(b - a)
        w = sp.csr_array((data[a:b] - 1.0, cols, ptr), shape=(hi - lo, b - a))
        c = sp.csr_array((data[a:b], cols, ptr), shape=(hi - lo, b - a))
        outer = (fe[:, :, None] * fe[:, None, :]).reshape(b - a, k * k)
        mats = base[None] + np.asarray(w @ outer).reshape(hi - lo, k, k)
        rhs = np.asarray(c @ fe)
        if prior is not None:
            rhs = rhs + reg * prior[lo:hi]
        out[lo:hi] = np.linalg.solve(mats, rhs[..., None])[..., 0]
        lo = hi
    return out


def confidence_matrix(counts, alpha: float, epsilon: float) -> sp.csr_array:
    """Return the confidences of a count matrix on its non-zeros (van den Oord et al., Eq. 1)."""
    from apc.features.wmf import confidence

    c = sp.csr_array(counts, dtype=np.float64, copy=True)
    c.sum_duplicates()
    c.data = confidence(c.data, alpha, epsilon).astype(np.float64)
    return c


def als_with_prior(
    conf: sp.csr_array,
    prior: np.ndarray,
    *,
    reg: float,
    reg_item: float,
    iterations: int,
    seed: int,
    update_prior=None,
    description: str = "ALS with a content prior",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Factorise playlists x tracks with a prior mean on the item factors.

    Alternates the user step, the item step with prior mean ``prior`` (items in no
    playlist take the prior itself) and, when given, ``update_prior(Y)`` which returns a
    new prior from the current item factors (the content model's own update: ridge
    regression of ``Y`` for Liang et al., fine-tuning the DBN for Wang & Wang).

    Parameters
    ----------
    conf : scipy.sparse.csr_array
        (n_users, n_items) confidences.
    prior : np.ndarray
        (n_items, K) initial prior means.
    reg, reg_item : float
        :math:`\lambda_x` of the user factors, :math:`\lambda_y` of the item offsets.
    iterations : int
        Sweeps.
    seed : int
        Seed of the initial noise around the prior.
    update_prior : callable, optional
        ``Y -> new prior`` after every item step but the last.
    description : str
        Progress-bar label.

    Returns
    -------
    x, y : np.ndarray
        float32 user (n_users, K) and item (n_items, K) factors.
    """
    from apc.progress import progress

    conf = sp.csr_array(conf)
    conf_t = sp.csr_array(conf.T)
    warm = np.diff(conf_t.indptr) > 0
    rng = np.random.default_rng(seed)
    m = np.asarray(prior, dtype=np.float64)
    y = m + 0.01 * rng.standard_normal(m.shape)
    x = np.zeros((conf.shape[0], m.shape[1]))
    for it in progress(range(int(iterations)), description, unit="sweep"):
        x = als_step(conf, y, reg)
        y = als_step(conf_t, x, reg_item, prior=m)
        y[~warm] = m[~warm]
        if update_prior is not None and it < int(iterations) - 1:
            m = np.asarray(update_prior(y.astype(np.float32)), dtype=np.float64)
    return x.astype(np.float32), y.astype(np.float32)


def wmf_targets(train: Playlists, model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit plain WMF (:class:`apc.features.wmf.WMF`) with the model's settings.

    Returns
    -------
    x, y, warm : np.ndarray
        Playlist factors, track factors and the mask of tracks in a training playlist.
    """
    from apc.features.wmf import WMF

    wmf = WMF(
        n_factors=int(model.n_factors),
        regularization=float(model.regularization),
        alpha=float(model.alpha),
        epsilon=float(model.epsilon),
        iterations=int(model.wmf_iterations),
        seed=int(model.seed),
        num_threads=1,
    ).fit(train)
    return wmf.playlist_factors_, wmf.track_factors_, wmf.available_


# ---------------------------------------------------------------------------- content
def flat_content(model, train: Playlists, features: ItemFeatures | None,
                 names: str | None = None):
    """Feature-store (or given) content as a standardised, L2-normalised float32 matrix.

    Parameters
    ----------
    model : object
        Reads ``features``, ``standardize``, ``cache_dir``, ``seed``, ``feature_options``.
    train : Playlists
        The training corpus.
    features : ItemFeatures or None
        Features given to ``fit``.
    names : str, optional
        Feature sets to build instead of ``model.features``.

    Returns
    -------
    x : np.ndarray
        float32 (n_tracks, d); zero rows where unavailable.
    available : np.ndarray
        bool (n_tracks,).
    """
    from types import SimpleNamespace

    from apc.models.hybrid import resolve_features

    if names is not None:
        model = SimpleNamespace(
            features=names, cache_dir=model.cache_dir, seed=model.seed,
            feature_options=model.feature_options, num_threads=model.num_threads,
            standardize=model.standardize,
        )
    feats = resolve_features(model, train, features)
    x = preprocess(feats, feats.available, standardize=bool(model.standardize))
    return x, feats.available.copy()


def uses_front_end(model, features: ItemFeatures | None) -> bool:
    """Tell whether the model builds its own content (``features="auto"``, none given)."""
    spec = model.features
    return features is None and isinstance(spec, str) and spec.strip().lower() == "auto"


def cached_table(train: Playlists, name: str, parts: list, cache_dir, build) -> tuple:
    """Load a per-track (matrix, available) pair from the feature store, or build and keep it.

    The key hashes ``name``, ``parts`` and the track ids; tables go to
    ``<cache_dir>/features`` or, without ``cache_dir``, the default table cache
    (:func:`apc.features.store.default_cache_dir`). A store that cannot be written is
    skipped with a :class:`~apc.errors.DataWarning`.

    Returns
    -------
    matrix, available : np.ndarray
        float32 (n_tracks, d) and bool (n_tracks,).
    """
    from apc.features.store import default_cache_dir
    from apc.features.table import FeatureStore, FeatureTable

    ids = train.tracks["track_id"].to_numpy(dtype=object)
    h = hashlib.sha1()
    for p in [name, *parts]:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"|")
    h.update("\x1f".join(map(str, ids)).encode())
    key = h.hexdigest()[:16]
    root = cache_dir if cache_dir is not None else default_cache_dir()
    store = None if root is None else FeatureStore(Path(root) / "features")
    if store is not None and store.has(name, key):
        try:
            t = store.load(name, key)
            return t.matrix, t.available
        except ApcInputError:
            pass  # damaged entry: rebuild
    matrix, available = build()
    if store is not None:
        try:
            store.save(FeatureTable(name, ids, matrix, available, {"parts": str(parts)}), key)
        except (OSError, ApcInputError) as e:
            warnings.warn(f"{name} table not cached in {store.root}: {e}", DataWarning,
                          stacklevel=2)
    return np.asarray(matrix, np.float32), np.asarray(available, bool)


# ---------------------------------------------------------------------------- training
def regress(
    net,
    inputs: list,
    target: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    description: str,
    rows: np.ndarray | None = None,
) -> list[float]:
    """Fit ``net(*inputs[rows]) -> target[rows]`` by mean squared error with Adam.

    Parameters
    ----------
    net : torch.nn.Module
        The network (trained in place, left in eval mode).
    inputs : list of np.ndarray
        Network inputs, first axis = samples.
    target : np.ndarray
        float32 (n, K) regression targets.
    epochs, batch_size, lr, weight_decay, seed
        Training settings.
    description : str
        Progress-bar label.
    rows : np.ndarray, optional
        The training samples (default: all); indexed without copying the inputs.

    Returns
    -------
    list of float
        Mean training loss per epoch.
    """
    import torch

    from apc.progress import progress

    torch.manual_seed(int(seed))
    xs = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in inputs]
    y = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))
    use = torch.arange(len(y)) if rows is None else torch.from_numpy(np.asarray(rows, np.int64))
    opt = torch.optim.Adam(net.parameters(), lr=float(lr), weight_decay=float(weight_decay))
    gen = torch.Generator().manual_seed(int(seed))
    n = len(use)
    losses = []
    net.train()
    for _ in progress(range(int(epochs)), description, unit="epoch"):
        perm = use[torch.randperm(n, generator=gen)]
        total = 0.0
        for start in range(0, n, int(batch_size)):
            idx = perm[start : start + int(batch_size)]
            if len(idx) < 2 and n >= 2:
                continue  # BatchNorm-free nets would cope, but a 1-sample step is noise
            loss = torch.nn.functional.mse_loss(net(*(a[idx] for a in xs)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / max(1, n))
    net.eval()
    return losses


def predict(net, inputs: list, *, batch: int = 1024) -> np.ndarray:
    """Run ``net`` in eval mode over ``inputs`` in batches; float32 numpy output."""
    import torch

    n = len(inputs[0])
    outs = []
    net.eval()
    with torch.no_grad():
        for start in range(0, n, batch):
            part = [torch.from_numpy(np.ascontiguousarray(a[start : start + batch], np.float32))
                    for a in inputs]
            outs.append(net(*part).numpy())
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


# ---------------------------------------------------------------------------- model
class FactorModel(ScoringRecommender):
    """Template: a subclass's ``_fit`` sets ``item_factors_`` and ``available_``; scores fold in.

    Attributes set by subclasses
    ----------------------------
    item_factors_ : np.ndarray
        float32 (n_tracks, K); zero rows where unavailable.
    available_ : np.ndarray
        bool (n_tracks,): tracks with factors (content or CF).
    """

    def _finish(self, item_factors: np.ndarray, available: np.ndarray) -> None:
        y = np.asarray(item_factors, dtype=np.float32).copy()
        y[~available] = 0.0
        self.item_factors_ = y
        self.available_ = np.asarray(available, bool).copy()
        y64 = y.astype(np.float64)
        self.gram_ = y64.T @ y64
        self.confidence_ = confidence_value(self.alpha, self.epsilon)

    def query_factors(self, queries: Queries) -> np.ndarray:
        """Fold each query's seeds in as a new WMF user (one ALS user step); float64 (B, K)."""
        seeds = sp.csr_array(queries.seeds_csr(), dtype=np.float64)
        seeds.data[:] = self.confidence_
        seeds = sp.csr_array(seeds.multiply(self.available_[None, :].astype(np.float64)))
        seeds.eliminate_zeros()
        return als_step(seeds, self.item_factors_, float(self.regularization), gram=self.gram_)

    def _score(self, queries: Queries) -> np.ndarray:
        q = self.query_factors(queries)
        scores = dot64(q, self.item_factors_)
        return floor_unavailable(scores, self.available_)


def need_rows(rows: np.ndarray, what: str, field: str = "features") -> None:
    """Raise :class:`ApcInputError` unless at least two training rows exist."""
    if len(rows) < 2:
        raise ApcInputError(f"fewer than two training tracks have {what}", field=field)


__all__: list[Any] = [
    "ContentConfig",
    "FactorModel",
    "als_step",
    "als_with_prior",
    "cached_table",
    "confidence_matrix",
    "confidence_value",
    "flat_content",
    "predict",
    "regress",
    "uses_front_end",
    "wmf_targets",
]
