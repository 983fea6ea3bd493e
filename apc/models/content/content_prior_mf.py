r"""Content-aware collaborative filtering with a pre-trained network prior (Liang et al. 2015).

Liang, Zhan & Ellis pre-train a multi-layer perceptron to predict tags from
vector-quantised MFCCs and use the activations :math:`h_i` of its last hidden layer
(1,200 ReLU units) as content features. Item factors of weighted matrix factorisation
get a Gaussian prior centred on a linear map of them (Sec. 3):

.. math::

    y_i = W^\top h_i + \epsilon_i, \qquad \epsilon_i \sim \mathcal{N}(0, \lambda_y^{-1} I),
    \qquad W \sim \mathcal{N}(0, \lambda_W^{-1} I),

so the MAP objective is

.. math::

    \sum_{u,i} c_{ui} (p_{ui} - x_u^\top y_i)^2 + \lambda_x \sum_u \lVert x_u \rVert^2
    + \lambda_y \sum_i \lVert y_i - W^\top h_i \rVert^2 + \lambda_W \lVert W \rVert_F^2,

minimised by alternating least squares: the user step of WMF, the item step with prior
mean :math:`W^\top h_i` (:func:`apc.models.content._base.als_step`) and the ridge
regression :math:`W = (H^\top H + \lambda_W I)^{-1} H^\top Y`. A cold track (in no
training playlist) gets its factors from the prior alone, :math:`y_i = W^\top h_i`.

In apc the MFCC codebook histogram is the ``mfcc_bow`` feature set
(:mod:`apc.features.mfcc_bow`, PCA-reduced); the tags are the corpus' ``tags`` column
(the synthetic corpus' tags; tagtraum genres on AotM). With ``pretrain="none"`` (or no
tags) :math:`h_i` is the content vector itself — the paper's "raw MFCC" comparison.

References
----------
D. Liang, M. Zhan and D. P. W. Ellis. "Content-aware collaborative music recommendation
using pre-trained neural networks." ISMIR 2015, 295-301.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import DataWarning
from apc.models.content._base import (
    ContentConfig,
    FactorModel,
    als_with_prior,
    confidence_matrix,
    flat_content,
    need_rows,
    predict,
    uses_front_end,
    wmf_targets,
)
from apc.models.params import param

try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover
    raise ImportError("ContentPriorMF needs torch") from e


class TagMLP(nn.Module):
    """Content (B, d) -> tag logits (B, n_tags): 3 x (Linear, ReLU, dropout), Linear.

    The last hidden layer (``prior_units`` wide, 1,200 in the paper) is the content
    representation :math:`h_i` (:meth:`hidden`).
    """

    def __init__(self, d_in: int, n_tags: int, *, hidden: int, prior_units: int,
                 dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, prior_units), nn.ReLU(), nn.Dropout(dropout),
        )
        self.head = nn.Linear(prior_units, n_tags)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer activations :math:`h` (B, prior_units)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tag logits (B, n_tags)."""
        return self.head(self.body(x))


@dataclass(frozen=True)
class ContentPriorConfig(ContentConfig):
    """Hyper-parameters of :class:`ContentPriorMF`."""

    pretrain: str = param(
        "auto", choices=("auto", "tags", "none"),
        doc="tags: h = last hidden layer of a tag-predicting MLP; none: h = the content "
        "itself (the paper's raw-MFCC comparison); auto: tags when the corpus has them.",
    )
    tag_column: str = param("tags", doc="Track column holding the tags.")
    min_tag_count: int = param(2, ge=1, doc="Tags on fewer tracks are dropped.")
    max_tags: int = param(500, ge=1, doc="Most frequent tags kept as MLP outputs.")
    hidden: int = param(256, ge=1, doc="Width of the first two hidden layers.")
    prior_units: int = param(1200, ge=1, doc="Width of the last hidden layer (the paper's 1,200).")
    dropout: float = param(0.5, ge=0, lt=1, doc="Dropout after every hidden layer.")
    epochs: int = param(30, ge=1, doc="Tag-MLP training epochs.")
    batch_size: int = param(64, ge=1, doc="Tracks per mini-batch.")
    lr: float = param(1e-3, gt=0, doc="Adam learning rate.")
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay.")
    item_regularization: float = param(
        1.0, gt=0, doc="lambda_y: pull of the item factors towards the prior W^T h."
    )
    prior_regularization: float = param(10.0, gt=0, doc="lambda_W: ridge weight of W.")
    iterations: int = param(10, ge=1, doc="Joint ALS sweeps (user, item, W).")


class ContentPriorMF(FactorModel):
    r"""WMF whose item factors have the prior :math:`W^\top h_i` (Liang, Zhan & Ellis 2015).

    See the module docstring for the model. Warm tracks get the jointly learned
    :math:`y_i`, cold tracks :math:`W^\top h_i`; queries are folded in as new users.

    Parameters
    ----------
    **params
        Fields of :class:`ContentPriorConfig` as keywords.

    References
    ----------
    D. Liang, M. Zhan and D. P. W. Ellis. "Content-aware collaborative music
    recommendation using pre-trained neural networks." ISMIR 2015, 295-301.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> m = ContentPriorMF(features="wmf", n_factors=4, epochs=2, pretrain="none").fit(pl)
    >>> m.recommend(queries_from(pl, [[0]], [[1]]), 3).items.shape
    (1, 3)
    """

    name = "content-prior-mf"
    config_class = ContentPriorConfig

    def _content(self, train: Playlists, features: ItemFeatures | None):
        if uses_front_end(self, features):
            from apc.features.store import has_audio
            from apc.models.hybrid import default_feature_names

            names = ["mfcc_bow"] if has_audio(train) else default_feature_names(train)
            return flat_content(self, train, None, ",".join(names))
        return flat_content(self, train, features)

    def tag_matrix(self, train: Playlists) -> tuple[np.ndarray, list[str]] | None:
        """Return the (n_tracks, n_tags) 0/1 tag matrix and the kept tags, or None.

        None when ``pretrain="none"``, or ``"auto"`` and the corpus has no tag column or
        no tag passes ``min_tag_count``.
        """
        from apc.features.tags import tag_lists

        if self.pretrain == "none":
            return None
        if self.tag_column not in train.tracks.columns:
            if self.pretrain == "tags":
                tag_lists(train.tracks, self.tag_column)  # raises, naming the column
            return None
        lists = tag_lists(train.tracks, self.tag_column)
        tags, counts = np.unique([t for ts in lists for t in set(ts)], return_counts=True)
        keep = counts >= int(self.min_tag_count)
        tags, counts = tags[keep], counts[keep]
        order = np.lexsort((tags, -counts))[: int(self.max_tags)]
        vocab = sorted(tags[order].tolist())
        if not vocab:
            return None
        pos = {t: j for j, t in enumerate(vocab)}
        y = np.zeros((len(lists), len(vocab)), np.float32)
        for i, ts in enumerate(lists):
            for t in ts:
                if t in pos:
                    y[i, pos[t]] = 1.0
        return y, vocab

    def _pretrain(self, x: np.ndarray, avail: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """Train the tag MLP on tracks with content and tags; return h for every track."""
        from apc.progress import progress

        rows = np.flatnonzero(avail & (tags.sum(axis=1) > 0))
        need_rows(rows, "content and tags", "tags")
        torch.manual_seed(int(self.seed))
        net = TagMLP(x.shape[1], tags.shape[1], hidden=int(self.hidden),
                     prior_units=int(self.prior_units), dropout=float(self.dropout))
        opt = torch.optim.Adam(net.parameters(), lr=float(self.lr),
                               weight_decay=float(self.weight_decay))
        gen = torch.Generator().manual_seed(int(self.seed))
        xt, yt = torch.from_numpy(x[rows]), torch.from_numpy(tags[rows])
        self.tag_loss_ = []
        net.train()
        for _ in progress(range(int(self.epochs)), "content-prior-mf: tag MLP", unit="epoch"):
            perm = torch.randperm(len(rows), generator=gen)
            total = 0.0
            for start in range(0, len(rows), int(self.batch_size)):
                idx = perm[start : start + int(self.batch_size)]
                loss = nn.functional.binary_cross_entropy_with_logits(net(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            self.tag_loss_.append(total / len(rows))
        net.eval()
        self.tag_net_ = net

        class _Hidden(nn.Module):
            def forward(self_inner, a):
                return net.hidden(a)

        h = predict(_Hidden(), [x])
        h[~avail] = 0.0
        return h

    def _fit(self, train: Playlists, features: ItemFeatures | None) -> None:
        from apc._threads import torch_threads

        x, has_content = self._content(train, features)
        tagged = self.tag_matrix(train)
        with torch_threads(int(self.num_threads)):
            if tagged is None:
                if self.pretrain == "auto":
                    warnings.warn(
                        f"content-prior-mf: no usable {self.tag_column!r} column; the prior "
                        "uses the content vectors themselves (pretrain='none')",
                        DataWarning, stacklevel=3,
                    )
                h, self.tags_ = x.astype(np.float32), []
            else:
                h = self._pretrain(x, has_content, tagged[0])
                self.tags_ = tagged[1]
        _, y0, warm = wmf_targets(train, self)
        fit_rows = np.flatnonzero(warm & has_content)
        need_rows(fit_rows, "content and playlists")
        h64 = h.astype(np.float64)
        gram = h64[fit_rows].T @ h64[fit_rows]
        gram += float(self.prior_regularization) * np.eye(h.shape[1])

        def prior_of(y: np.ndarray) -> np.ndarray:
            """Ridge regression of the item factors on h (the W step); returns H W."""
            self.w_ = np.linalg.solve(gram, h64[fit_rows].T @ y[fit_rows].astype(np.float64))
            return (h64 @ self.w_).astype(np.float32)

        conf = confidence_matrix(train.to_csr(), float(self.alpha), float(self.epsilon))
        _, y = als_with_prior(
            conf, prior_of(y0), reg=float(self.regularization),
            reg_item=float(self.item_regularization), iterations=int(self.iterations),
            seed=int(self.seed), update_prior=prior_of, description="content-prior-mf: ALS",
        )
        prior_of(y)  # the final W, fitted to the final factors
        self.h_ = h.astype(np.float32)
        self.prior_factors_ = (h64 @ self.w_).astype(np.float32)
        self.warm_ = warm.copy()
        self.content_available_ = has_content.copy()
        # warm tracks: the joint factors; cold tracks with content: the prior alone
        factors = np.where(warm[:, None], y, self.prior_factors_)
        self._finish(factors, warm | has_content)
