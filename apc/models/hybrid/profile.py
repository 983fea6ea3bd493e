r"""Profiles: a song-to-playlist classifier on song features (Vall et al. 2019, Sec. 4.1).

Vall et al. train a feed-forward network that maps a song's feature vector
:math:`x_s` to one sigmoid output per training playlist, i.e. the probability that the
song belongs to that playlist, with binary cross-entropy on the observed
playlist-song memberships. The vector of outputs is the song's *profile*

.. math::

    \pi(s) = \sigma(g_\theta(x_s)) \in [0, 1]^{P}.

In the paper the playlists to be continued are themselves training playlists
("weak generalisation"): playlist :math:`p` is continued by the songs with the
largest :math:`\pi_p(s)`, its own output unit. Songs need only features, so songs
that never occur in training (cold start) are scored like any other.

Our protocols hold whole playlists out ("strong generalisation"), so a query has no
output unit of its own. We describe the query by the training playlists its seed songs
are predicted to belong to — the mean profile of its seeds — and rank candidates by how
well their profiles match it:

.. math::

    \pi(q) = \frac{1}{|S_q|} \sum_{s \in S_q} \pi(s), \qquad
    \mathrm{score}(q, t) = \cos(\pi(q), \pi(t))  \ (\text{or } \pi(q)^\top \pi(t)).

With ``seed_profile="observed"`` a seed that occurs in training contributes its
observed memberships (its column of the playlist-song matrix) instead of its
predicted profile; cold seeds always use the prediction. With one seed that belongs
to exactly one training playlist :math:`p`, ``"observed"`` + ``"dot"`` scores
:math:`\pi_p(t)`: the paper's weak-generalisation rule.

Output units: training playlists with at least ``min_playlist_length`` tracks, the
``max_playlists`` longest ones (ties: lower index) when there are more.

References
----------
A. Vall, M. Dorfer, H. Eghbal-zadeh, M. Schedl, K. Burjorjee and G. Widmer.
"Feature-combination hybrid recommender systems for automated music playlist
continuation." User Modeling and User-Adapted Interaction 29(2), 527-572, 2019.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models.base import ScoringRecommender
from apc.models.hybrid import (
    FeatureConfig,
    dot64,
    floor_unavailable,
    preprocess,
    resolve_features,
)
from apc.models.params import ACCELERATORS, param

try:
    import pytorch_lightning as L
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover
    raise ImportError("ProfileModel needs torch and pytorch-lightning") from e


class ProfileNet(nn.Module):
    """Song features (B, d) -> one logit per output playlist (B, P).

    Input dropout, ``n_layers`` x (Linear, BatchNorm, tanh, dropout), Linear — the
    architecture of Vall et al. (2019), whose hidden units are tanh.
    """

    def __init__(
        self,
        d_in: int,
        n_out: int,
        *,
        hidden: int,
        n_layers: int,
        input_dropout: float,
        hidden_dropout: float,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(input_dropout)]
        width = d_in
        for _ in range(n_layers):
            layers += [
                nn.Linear(width, hidden),
                nn.BatchNorm1d(hidden),
                nn.Tanh(),
                nn.Dropout(hidden_dropout),
            ]
            width = hidden
        layers.append(nn.Linear(width, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map song features (B, d) to membership logits (B, P)."""
        return self.net(x)


class LitProfile(L.LightningModule):
    """Weighted binary cross-entropy on song-playlist memberships, Adam."""

    def __init__(
        self, net: ProfileNet, *, lr: float, weight_decay: float, positive_weight: float
    ) -> None:
        super().__init__()
        self.net, self.lr, self.weight_decay = net, lr, weight_decay
        self.positive_weight = float(positive_weight)

    def training_step(self, batch, batch_idx):
        """Return the weighted BCE of a batch ``(x, y)`` of songs and membership rows."""
        x, y = batch
        logits = self.net(x)
        pos_weight = torch.tensor(self.positive_weight, device=logits.device)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(x))
        return loss

    def configure_optimizers(self):
        """Return Adam with the model's learning rate and weight decay."""
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


class _MembershipRows(torch.utils.data.Dataset):
    """Training songs: (features, dense membership row over the output playlists)."""

    def __init__(self, x: np.ndarray, y: sp.csr_array, rows: np.ndarray) -> None:
        self.x, self.y, self.rows = x, y, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> int:
        return int(self.rows[i])

    def collate(self, idx: list[int]):
        idx = np.asarray(idx)
        return torch.from_numpy(self.x[idx]), torch.from_numpy(
            self.y[idx].toarray().astype(np.float32)
        )


@dataclass(frozen=True)
class ProfileConfig(FeatureConfig):
    """Hyper-parameters of :class:`ProfileModel` (features, network, training)."""

    hidden: int = param(64, ge=1, doc="Hidden units per layer (the paper used 100 for tags).")
    n_layers: int = param(1, ge=0, doc="Hidden layers (the paper used up to 3).")
    input_dropout: float = param(0.1, ge=0, lt=1, doc="Input dropout (the paper's 0.1).")
    hidden_dropout: float = param(0.5, ge=0, lt=1, doc="Hidden dropout (the paper's 0.5).")
    epochs: int = param(30, ge=1, doc="Training epochs.")
    batch_size: int = param(64, ge=1, doc="Songs per mini-batch.")
    lr: float = param(1e-2, gt=0, doc="Adam learning rate.")
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay.")
    positive_weight: float = param(
        1.0, gt=0, doc="Weight of positive memberships in the BCE (the paper's 1.0)."
    )
    max_playlists: int = param(
        4096, ge=1, doc="Most output units: the longest training playlists are kept."
    )
    min_playlist_length: int = param(
        2, ge=1, doc="Shortest playlist (distinct tracks) used as an output unit."
    )
    similarity: str = param(
        "cosine", choices=("cosine", "dot"), doc="Match of the query's profile with a candidate's."
    )
    seed_profile: str = param(
        "predicted", choices=("predicted", "observed"),
        doc="How seeds that occur in training contribute.",
    )
    accelerator: str = param("cpu", choices=ACCELERATORS, doc="Lightning accelerator.")


class ProfileModel(ScoringRecommender):
    r"""Profiles hybrid (Vall et al. 2019): song features -> playlist-membership profile.

    The "Profiles" model of Vall et al. (2019, Sec. 4.1), adapted to held-out
    playlists (see the module docstring): a network maps song features to the
    profile :math:`\pi(s) = \sigma(g_\theta(x_s)) \in [0, 1]^P` over the output
    playlists, and a query is matched to candidates by its mean seed profile,

    .. math::

        \mathrm{score}(q, t) = \cos\Big(\frac{1}{|S_q|} \sum_{s \in S_q} \pi(s),\ \pi(t)\Big)
        \quad (\text{or the dot product}).

    Parameters
    ----------
    **params
        Fields of :class:`ProfileConfig` as keywords.

    References
    ----------
    A. Vall, M. Dorfer, H. Eghbal-zadeh, M. Schedl, K. Burjorjee and G. Widmer.
    "Feature-combination hybrid recommender systems for automated music playlist
    continuation." User Modeling and User-Adapted Interaction 29(2), 527-572, 2019.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> m = ProfileModel(features="wmf", epochs=2).fit(pl)
    >>> m.recommend(queries_from(pl, [[0]], [[1]]), 3).items.shape
    (1, 3)
    """

    name = "profile"
    config_class = ProfileConfig

    def output_playlists(self, train: Playlists) -> np.ndarray:
        """Select the training playlists that get an output unit.

        Those with at least ``min_playlist_length`` distinct tracks; when there are more
        than ``max_playlists``, the longest ones (ties: lower index).

        Parameters
        ----------
        train : Playlists
            The training corpus.

        Returns
        -------
        np.ndarray
            int64 sorted playlist rows of ``train``.
        """
        lengths = np.diff(train.to_csr().indptr)  # distinct tracks per playlist
        cand = np.flatnonzero(lengths >= int(self.min_playlist_length))
        if len(cand) > int(self.max_playlists):
            order = np.lexsort((cand, -lengths[cand]))  # longest first, then by index
            cand = np.sort(cand[order[: int(self.max_playlists)]])
        return cand

    def _fit(self, train: Playlists, features: ItemFeatures | None) -> None:
        from apc._threads import torch_threads
        from apc.features.cnn import make_trainer, quiet_lightning

        feats = resolve_features(self, train, features)
        units = self.output_playlists(train)
        if len(units) == 0:
            raise ApcInputError(
                f"no training playlist has >= {self.min_playlist_length} distinct tracks",
                field="min_playlist_length",
            )
        membership = sp.csr_array(train.to_csr()[units].T)  # (n_tracks, P) song x output playlist
        in_train = np.diff(membership.indptr) > 0
        x = preprocess(feats, in_train, standardize=self.standardize)
        rows = np.flatnonzero(in_train & feats.available)
        if len(rows) < 2:
            raise ApcInputError("fewer than two training songs have features", field="features")

        L.seed_everything(int(self.seed), workers=True, verbose=False)
        net = ProfileNet(
            x.shape[1],
            len(units),
            hidden=int(self.hidden),
            n_layers=int(self.n_layers),
            input_dropout=float(self.input_dropout),
            hidden_dropout=float(self.hidden_dropout),
        )
        lit = LitProfile(
            net,
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            positive_weight=self.positive_weight,
        )
        data = _MembershipRows(x, membership, rows)
        loader = torch.utils.data.DataLoader(
            data,
            batch_size=int(self.batch_size),
            shuffle=True,
            collate_fn=data.collate,
            generator=torch.Generator().manual_seed(int(self.seed)),
            drop_last=len(rows) > int(self.batch_size),
        )
        with quiet_lightning(), torch_threads(int(self.num_threads)):
            make_trainer(max_epochs=self.epochs, accelerator=self.accelerator).fit(lit, loader)
        self.net_ = net.cpu().eval()
        self.x_ = x
        self.available_ = feats.available.copy()
        self.units_ = units
        self.membership_ = membership.astype(np.float32)
        self.in_train_ = in_train
        self.blocks_ = dict(feats.blocks)
        self._profiles = None

    # ------------------------------------------------------------------ profiles
    @torch.no_grad()
    def predict_profiles(
        self, tracks: np.ndarray | None = None, *, batch: int = 4096
    ) -> np.ndarray:
        r"""Predict the profiles :math:`\pi(t)` of tracks with the fitted network.

        Parameters
        ----------
        tracks : np.ndarray, optional
            Track indices (default: the whole catalogue).
        batch : int
            Tracks per forward pass (default 4096).

        Returns
        -------
        np.ndarray
            float32 (n, P) membership probabilities; zero rows for tracks without
            features.
        """
        idx = np.arange(len(self.x_)) if tracks is None else np.asarray(tracks)
        out = np.zeros((len(idx), len(self.units_)), dtype=np.float32)
        for start in range(0, len(idx), batch):
            part = idx[start : start + batch]
            out[start : start + len(part)] = torch.sigmoid(
                self.net_(torch.from_numpy(self.x_[part]))
            ).numpy()
        out[~self.available_[idx]] = 0.0
        return out

    def _candidate_profiles(self) -> tuple[np.ndarray, np.ndarray]:
        """(profiles of all tracks, the same row-normalised), computed once and cached."""
        if getattr(self, "_profiles", None) is None:
            prof = self.predict_profiles()
            norm = prof / np.maximum(np.linalg.norm(prof, axis=1, keepdims=True), 1e-8)
            self._profiles = (prof, norm.astype(np.float32))
        return self._profiles

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_profiles"] = None  # derived (n_tracks x P): recomputed after loading
        return state

    # ------------------------------------------------------------------ score
    def _score(self, queries: Queries) -> np.ndarray:
        prof, prof_norm = self._candidate_profiles()
        seeds = queries.seeds_csr()
        usable = self.available_ | (self.in_train_ if self.seed_profile == "observed" else False)
        seeds = sp.csr_array(seeds.multiply(usable[None, :].astype(np.float32)))
        if self.seed_profile == "observed":
            # warm seeds: their observed memberships; cold seeds: predicted profiles
            warm = self.in_train_.astype(np.float32)
            q = (
                (sp.csr_array(seeds.multiply(warm[None, :])) @ self.membership_)
                .toarray()
                .astype(np.float64)
            )
            q += np.asarray(seeds.multiply(1.0 - warm[None, :]) @ prof, dtype=np.float64)
        else:
            q = np.asarray(seeds @ prof, dtype=np.float64)  # (B, P)
        n = np.asarray(seeds.sum(axis=1)).ravel()
        none = n == 0
        q[~none] /= n[~none, None]
        if none.any():  # no seed with features: the catalogue's mean profile
            q[none] = prof[self.available_].mean(axis=0)
        if self.similarity == "cosine":
            q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
            scores = dot64(q, prof_norm)
        else:
            scores = dot64(q, prof)
        return floor_unavailable(scores.astype(np.float32, copy=False), self.available_)
