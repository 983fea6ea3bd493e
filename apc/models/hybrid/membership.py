r"""Membership: a playlist-song match network on song features (Vall et al. 2019, Sec. 4.2).

Songs and playlists are described by song features only. A shared feature network
:math:`f` transforms each song's features; a playlist is the average of its songs'
transformed features; a match function gives the probability that a candidate song
belongs to the playlist:

.. math::

    h(p) = \frac{1}{|p|} \sum_{s \in p} f(x_s), \qquad
    \Pr(t \in p) = \sigma\big(m(h(p), f(x_t))\big).

Training draws (playlist, positive song) pairs from the training playlists, removes the
positive from the playlist, pairs it with ``n_negatives`` songs drawn uniformly from
the training songs outside the playlist, and minimises binary cross-entropy. Since both
sides are functions of song features, the model continues playlists unseen at training
time and scores songs that occur in no training playlist (strong generalisation and
cold start).

Match functions (``match``):

``"dot"`` (default)
    Playlist and song are mapped into one latent space by two linear heads,
    :math:`m = (W_p h(p))^\top (W_s f(x_t)) + b`; scoring the catalogue is one
    matrix product.
``"mlp"``
    The paper's reference implementation: the two vectors are concatenated and passed
    through a decision network (two hidden layers, batch norm, dropout 0.5) to one
    logit. Scoring evaluates the decision network on every (query, track) pair, in
    chunks.

Groups: a playlist side holds at most ``max_group`` other songs of the playlist (all
of them when it is that short, otherwise drawn with replacement), so long playlists do
not dominate the batch cost.

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
    raise ImportError("MembershipModel needs torch and pytorch-lightning") from e


def _block(d_in: int, d_out: int, dropout: float) -> list[nn.Module]:
    return [nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.ReLU(), nn.Dropout(dropout)]


class MembershipNet(nn.Module):
    """Shared song network ``f``, playlist = mean of ``f``, match ``m`` -> one logit.

    ``forward(group, mask, items)``: ``group`` (B, G, d) features of the playlist's songs,
    ``mask`` (B, G) bool valid positions, ``items`` (B, d) candidates -> logits (B,).
    """

    def __init__(
        self, d_in: int, *, hidden: int, n_layers: int, dropout: float, match: str
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = d_in
        for _ in range(n_layers):
            layers += _block(width, hidden, dropout)
            width = hidden
        self.song = nn.Sequential(*layers) if layers else nn.Identity()
        self.match = match
        if match == "dot":
            self.playlist_head = nn.Linear(width, hidden)
            self.song_head = nn.Linear(width, hidden)
            self.bias = nn.Parameter(torch.zeros(()))
        else:
            self.decision = nn.Sequential(
                *_block(2 * width, hidden, 0.5), *_block(hidden, hidden, 0.5), nn.Linear(hidden, 1)
            )
        self.width = width

    def playlist(self, group: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Encode playlist sides as the mean ``f`` of their valid songs.

        Parameters
        ----------
        group : torch.Tensor
            (B, G, d) features of the songs of each playlist side.
        mask : torch.Tensor
            (B, G) bool, True at valid positions.

        Returns
        -------
        torch.Tensor
            (B, width) :math:`h(p)`; zero for a side without valid songs.
        """
        b, g, d = group.shape
        flat_mask = mask.reshape(-1)
        enc = self.song(group.reshape(-1, d)[flat_mask])  # (n_valid, width)
        out = torch.zeros(b * g, enc.shape[1], dtype=enc.dtype, device=enc.device)
        out[flat_mask] = enc
        counts = mask.sum(dim=1, keepdim=True).clamp(min=1).to(enc.dtype)
        return out.reshape(b, g, -1).sum(dim=1) / counts  # (B, width)

    def logits(self, h_playlist: torch.Tensor, h_song: torch.Tensor) -> torch.Tensor:
        """Return the match logits :math:`m(h(p), f(x_t))` of paired rows.

        Parameters
        ----------
        h_playlist : torch.Tensor
            (B, width) playlist encodings from :meth:`playlist`.
        h_song : torch.Tensor
            (B, width) song encodings ``f(x)``.

        Returns
        -------
        torch.Tensor
            (B,) logits of "row ``b``'s song belongs to row ``b``'s playlist".
        """
        if self.match == "dot":
            return (self.playlist_head(h_playlist) * self.song_head(h_song)).sum(dim=1) + self.bias
        return self.decision(torch.cat([h_playlist, h_song], dim=1)).squeeze(1)

    def forward(self, group, mask, items):
        """Return the (B,) logits of candidates ``items`` (B, d) for sides ``group``, ``mask``."""
        return self.logits(self.playlist(group, mask), self.song(items))


class LitMembership(L.LightningModule):
    """BCE of positive vs sampled negative songs for the same playlist side; Adam."""

    def __init__(self, net: MembershipNet, *, lr: float, weight_decay: float) -> None:
        super().__init__()
        self.net, self.lr, self.weight_decay = net, lr, weight_decay

    def training_step(self, batch, batch_idx):
        """Return the BCE of a batch ``(group, mask, pos, neg)``: positives 1, negatives 0."""
        group, mask, pos, neg = batch  # (B,G,d) (B,G) (B,d) (B,n_neg,d)
        h_p = self.net.playlist(group, mask)  # (B, width)
        n_neg = neg.shape[1]
        items = torch.cat([pos, neg.reshape(-1, neg.shape[2])], dim=0)
        h_s = self.net.song(items)
        h_rep = torch.cat([h_p, h_p.repeat_interleave(n_neg, dim=0)], dim=0)
        logits = self.net.logits(h_rep, h_s)
        labels = torch.cat([torch.ones(len(pos)), torch.zeros(len(pos) * n_neg)]).to(logits)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, labels)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(pos))
        return loss

    def configure_optimizers(self):
        """Return Adam with the model's learning rate and weight decay."""
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


class _PairBatches(torch.utils.data.Dataset):
    """Batch ``b`` of epoch ``e``: (playlist side, positive, negatives), from rng(seed, e, b).

    Every usable (playlist, position) entry is a positive once per epoch.
    """

    def __init__(
        self,
        x,
        indptr,
        items,
        pair_rows,
        pair_pos,
        usable,
        neg_pool,
        member_keys,
        *,
        n_tracks,
        batch_size,
        max_group,
        n_negatives,
        seed,
    ) -> None:
        self.x, self.indptr, self.items = x, indptr, items
        self.pair_rows, self.pair_pos = pair_rows, pair_pos
        self.usable, self.neg_pool, self.member_keys = usable, neg_pool, member_keys
        self.n_tracks, self.batch_size = n_tracks, batch_size
        self.max_group, self.n_negatives, self.seed = max_group, n_negatives, seed
        self.epoch = 0
        self._perm_epoch, self._perm = -1, None

    def __len__(self) -> int:
        return -(-len(self.pair_rows) // self.batch_size)

    def _order(self) -> np.ndarray:
        if self._perm_epoch != self.epoch:
            self._perm = np.random.default_rng([self.seed, self.epoch]).permutation(
                len(self.pair_rows)
            )
            self._perm_epoch = self.epoch
        return self._perm

    def __getitem__(self, b: int):
        sel = self._order()[b * self.batch_size : (b + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, b])
        p, j = self.pair_rows[sel], self.pair_pos[sel]
        start, length = self.indptr[p], self.indptr[p + 1] - self.indptr[p]
        others = length - 1
        g = self.max_group
        slots = np.broadcast_to(np.arange(g), (len(sel), g))
        short = others <= g
        r = np.where(
            short[:, None], slots, (rng.random((len(sel), g)) * others[:, None]).astype(np.int64)
        )
        r = np.minimum(r, np.maximum(others - 1, 0)[:, None])
        pos_in = r + (r >= j[:, None])  # skip the positive itself
        group_items = self.items[start[:, None] + pos_in]
        mask = (slots < others[:, None]) & self.usable[group_items]
        positive = self.items[start + j]
        neg = self.neg_pool[rng.integers(0, len(self.neg_pool), (len(sel), self.n_negatives))]
        for _ in range(50):  # resample negatives that are in the playlist (rarely needed twice)
            clash = _in_sorted(p[:, None] * self.n_tracks + neg, self.member_keys)
            if not clash.any():
                break
            neg[clash] = self.neg_pool[rng.integers(0, len(self.neg_pool), int(clash.sum()))]
        return (
            torch.from_numpy(self.x[group_items]),
            torch.from_numpy(mask),
            torch.from_numpy(self.x[positive]),
            torch.from_numpy(self.x[neg]),
        )


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_keys)`` for sorted keys, by binary search.

    ``np.isin`` hashes the whole key array on every call; the keys of all
    (playlist, song) entries are sorted once in ``fit``, so a search per value costs
    O(log E) instead (issue 13: ``np.isin`` was 40% of a membership epoch).
    """
    if len(sorted_keys) == 0:
        return np.zeros(np.shape(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[at] == values


class _EpochSetter(L.Callback):
    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        """Pass the starting epoch to the dataset, which seeds its batches with it."""
        self.dataset.epoch = trainer.current_epoch


@dataclass(frozen=True)
class MembershipConfig(FeatureConfig):
    """Hyper-parameters of :class:`MembershipModel` (features, network, training)."""

    hidden: int = param(
        64, ge=1, doc="Width of the song network and the heads (the paper used 512)."
    )
    n_layers: int = param(2, ge=0, doc="Layers of the shared song network (the paper's 2).")
    dropout: float = param(0.25, ge=0, lt=1, doc="Dropout in the song network (the paper's).")
    match: str = param("dot", choices=("dot", "mlp"), doc="Match function (module docstring).")
    max_group: int = param(20, ge=1, doc="Most songs on the playlist side of a training pair.")
    n_negatives: int = param(1, ge=1, doc="Negative songs per positive (the paper's 1).")
    epochs: int = param(10, ge=1, doc="Passes over all (playlist, song) entries.")
    batch_size: int = param(256, ge=1, doc="Positive pairs per mini-batch.")
    lr: float = param(1e-3, gt=0, doc="Adam learning rate.")
    weight_decay: float = param(1e-5, ge=0, doc="Adam weight decay.")
    accelerator: str = param("cpu", choices=ACCELERATORS, doc="Lightning accelerator.")
    score_chunk_cells: int = param(
        1 << 24, ge=1, doc="Bound on queries x tracks x hidden cells per decision-network "
        "pass (match=mlp).",
    )


class MembershipModel(ScoringRecommender):
    r"""Membership hybrid (Vall et al. 2019): the probability that song t belongs to playlist p.

    The "Membership" model of Vall et al. (2019, Sec. 4.2; see the module docstring):

    .. math::

        \Pr(t \in q) = \sigma\big(m(h(q), f(x_t))\big), \qquad
        h(q) = \frac{1}{|S_q|} \sum_{s \in S_q} f(x_s),

    trained with binary cross-entropy on (playlist, song) pairs against sampled
    negatives. A query's seed tracks with features (:math:`S_q`) form the playlist
    side; a query without any is represented by the mean ``f`` of the training songs with features.

    Parameters
    ----------
    **params
        Fields of :class:`MembershipConfig` as keywords.

    References
    ----------
    A. Vall, M. Dorfer, H. Eghbal-zadeh, M. Schedl, K. Burjorjee and G. Widmer.
    "Feature-combination hybrid recommender systems for automated music playlist
    continuation." User Modeling and User-Adapted Interaction 29(2), 527-572, 2019.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> m = MembershipModel(features="wmf", epochs=2).fit(pl)
    >>> m.recommend(queries_from(pl, [[0]], [[1]]), 3).items.shape
    (1, 3)
    """

    name = "membership"
    config_class = MembershipConfig

    def _fit(self, train: Playlists, features: ItemFeatures | None) -> None:
        from apc._threads import torch_threads
        from apc.features.cnn import make_trainer, quiet_lightning

        feats = resolve_features(self, train, features)
        # distinct tracks per playlist, in playlist order of first occurrence is not needed
        csr = train.to_csr()
        indptr, items = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
        in_train = np.diff(sp.csc_array(csr).indptr) > 0
        x = preprocess(feats, in_train, standardize=self.standardize)
        usable = feats.available
        lengths = np.diff(indptr)
        rows = np.repeat(np.arange(len(lengths)), lengths)
        pos = np.arange(len(items)) - np.repeat(indptr[:-1], lengths)
        # a positive needs features, and its playlist side at least one other song with features
        n_usable = np.bincount(
            rows, weights=usable[items].astype(np.float64), minlength=len(lengths)
        )
        keep = usable[items] & (n_usable[rows] - usable[items] >= 1)
        neg_pool = np.flatnonzero(in_train & usable)
        if keep.sum() == 0 or len(neg_pool) < 2:
            raise ApcInputError(
                "no (playlist, song) pair with features on both sides; "
                "need playlists of >= 2 songs with features",
                field="features",
            )
        member_keys = np.sort(rows * train.n_tracks + items)

        L.seed_everything(int(self.seed), workers=True, verbose=False)
        net = MembershipNet(
            x.shape[1],
            hidden=int(self.hidden),
            n_layers=int(self.n_layers),
            dropout=float(self.dropout),
            match=self.match,
        )
        lit = LitMembership(net, lr=float(self.lr), weight_decay=float(self.weight_decay))
        data = _PairBatches(
            x,
            indptr,
            items,
            rows[keep],
            pos[keep],
            usable,
            neg_pool,
            member_keys,
            n_tracks=train.n_tracks,
            batch_size=int(self.batch_size),
            max_group=int(self.max_group),
            n_negatives=int(self.n_negatives),
            seed=int(self.seed),
        )
        loader = torch.utils.data.DataLoader(data, batch_size=None, shuffle=False)
        with quiet_lightning(), torch_threads(int(self.num_threads)):
            make_trainer(
                max_epochs=self.epochs, accelerator=self.accelerator, callbacks=[_EpochSetter(data)]
            ).fit(lit, loader)
        self.net_ = net.cpu().eval()
        self.x_ = x
        self.available_ = feats.available.copy()
        self.blocks_ = dict(feats.blocks)
        with torch.no_grad():
            enc = self._encode(np.arange(len(x)))
            self.song_enc_ = enc
            self.default_playlist_ = enc[in_train & usable].mean(axis=0)
            # scoring runs in float64 (see apc.models.hybrid.dot64): export the heads
            if self.match == "dot":
                self.song_vec_ = self.net_.song_head(torch.from_numpy(enc)).numpy()
                self.playlist_w_ = self.net_.playlist_head.weight.double().numpy().copy()
                self.playlist_b_ = self.net_.playlist_head.bias.double().numpy().copy()
                self.bias_ = float(self.net_.bias)
            else:
                import copy

                first: nn.Linear = self.net_.decision[0]
                w = self.net_.width
                self.first_w_ = first.weight[:, :w].double().numpy().copy()
                self.first_b_ = first.bias.double().numpy().copy()
                self.song_first_ = (
                    enc.astype(np.float64) @ first.weight[:, w:].double().numpy().T
                )  # (N, H)
                self.decision64_ = copy.deepcopy(self.net_.decision[1:]).double().eval()

    @torch.no_grad()
    def _encode(self, idx: np.ndarray, batch: int = 8192) -> np.ndarray:
        """``f(x)`` of tracks ``idx``: float32 (n, width)."""
        out = np.zeros((len(idx), self.net_.width), dtype=np.float32)
        for s in range(0, len(idx), batch):
            part = idx[s : s + batch]
            out[s : s + len(part)] = self.net_.song(torch.from_numpy(self.x_[part])).numpy()
        return out

    # ------------------------------------------------------------------ score
    @torch.no_grad()
    def _score(self, queries: Queries) -> np.ndarray:
        seeds = sp.csr_array(
            queries.seeds_csr().multiply(self.available_[None, :].astype(np.float32))
        )
        n = np.asarray(seeds.sum(axis=1)).ravel()
        h = np.asarray(seeds @ self.song_enc_, dtype=np.float64)  # (B, width) sums
        has = n > 0
        h[has] /= n[has, None]
        h[~has] = self.default_playlist_  # no seed with features: the average training song
        h = h.astype(np.float64)
        if self.match == "dot":
            u = h @ self.playlist_w_.T + self.playlist_b_  # (B, hidden)
            scores = dot64(u, self.song_vec_) + np.float32(self.bias_)
        else:
            scores = self._decision_scores(h)
        return floor_unavailable(scores.astype(np.float32, copy=False), self.available_)

    def _decision_scores(self, h: np.ndarray) -> np.ndarray:
        """Decision network on every (query, track) pair, in chunks of tracks (float64).

        The first layer of the concatenation is split, ``W [h; s] = W_p h + W_s s``, so the
        song half ``W_s s`` is computed once per track at fit time.
        """
        a = torch.from_numpy(h @ self.first_w_.T + self.first_b_)  # (B, H)
        s_all = torch.from_numpy(self.song_first_)  # (N, H)
        b, n = a.shape[0], s_all.shape[0]
        chunk = max(1, int(self.score_chunk_cells) // max(1, b * a.shape[1]))
        out = np.empty((b, n), dtype=np.float32)
        for start in range(0, n, chunk):
            z = a[:, None, :] + s_all[None, start : start + chunk, :]  # (B, C, H)
            z = self.decision64_(z.reshape(-1, z.shape[2]))
            out[:, start : start + chunk] = z.reshape(b, -1).numpy()
        return out
