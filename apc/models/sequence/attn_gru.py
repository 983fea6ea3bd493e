"""Attentive bidirectional GRU over a playlist's tracks and, optionally, their tags.

The STABR architecture of Sachdeva, Gupta & Pudi (2018, Fig. 1): two parallel streams
read the last ``max_len`` tracks of the seed,

- the **song stream**: track embeddings -> bidirectional GRU -> attention -> context
  vector ``c_s``;
- the **tag stream** (``use_tags=True``): each track's tag embedding is the mean of the
  embeddings of its tags (``train.tracks["tags"]``, lists of strings) -> bidirectional
  GRU -> attention -> context vector ``c_t``;

``[c_s; c_t]`` goes through a hidden dense layer and a softmax over the catalogue
gives the next track. The attention is additive (Bahdanau et al. 2015; Yang et al.
2016): ``u_t = tanh(W h_t + b)``, ``a = softmax_t(v . u_t)`` over the real positions,
``c = sum_t a_t h_t``. Training examples are prefix windows (every position of every
training playlist, with the tracks before it as seed); the softmax is sampled for
large catalogues (``n_negatives``).

The paper reports its architecture, not a full list of hyper-parameters, so ours are
chosen to train quickly on a CPU; see ``docs/models/attn-gru.md``.

References
----------
N. Sachdeva, K. Gupta, V. Pudi. "Attentive neural architecture incorporating song
features for music recommendation." RecSys 2018 (late-breaking results), 417-421.
arXiv:1811.08203.

D. Bahdanau, K. Cho, Y. Bengio. "Neural machine translation by jointly learning to align
and translate." ICLR 2015.

Z. Yang, D. Yang, C. Dyer, X. He, A. Smola, E. Hovy. "Hierarchical attention networks
for document classification." NAACL 2016, 1480-1489.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.models.params import param
from apc.models.sequence._base import (
    SequenceLightning,
    SequenceRecommender,
    TrainingConfig,
    resolve_negatives,
)
from apc.models.sequence.sparse import LazyAdam, embed, lazy_rows


# ---------------------------------------------------------------------------- tags
def track_tags(train: Playlists) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Tags of every track as CSR over a tag vocabulary.

    ``train.tracks["tags"]`` holds a list of strings per track (None, NaN or an empty
    list where unknown; a bare string counts as one tag).

    Returns
    -------
    indptr : np.ndarray
        int64 (n_tracks + 2,): track ``i``'s tags are ``tag_ids[indptr[i]:indptr[i+1]]``;
        the extra row ``n_tracks`` (the pad index) has none.
    tag_ids : np.ndarray
        int64, indices into ``vocab``.
    vocab : list of str
        Tag names, index = tag id.
    """
    if "tags" not in train.tracks.columns:
        raise ApcInputError("use_tags=True needs a 'tags' column in the tracks table", field="tags")
    s = train.tracks["tags"].reset_index(drop=True).explode().dropna().astype(str)
    s = s[s != ""]
    codes, vocab = pd.factorize(s.to_numpy(dtype=object), sort=True)
    rows = s.index.to_numpy(dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=train.n_tracks + 1)
    indptr = np.zeros(train.n_tracks + 2, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, codes[order].astype(np.int64), [str(t) for t in vocab]


# ---------------------------------------------------------------------------- config
@dataclass(frozen=True)
class AttnGRUConfig(TrainingConfig):
    """Hyper-parameters of :class:`AttentiveBiGRU` (network, sampling, training).

    The paper reports its architecture, not its hyper-parameters: these defaults are
    chosen to train quickly on a CPU (``docs/models/attn-gru.md``).
    """

    embedding: int = param(64, ge=1, doc="Track embedding size.")
    hidden: int = param(64, ge=1, doc="GRU units per direction.")
    attention: int = param(64, ge=1, doc="Size of the attention projection.")
    mlp: int = param(128, ge=1, doc="Units of the hidden dense layer.")
    dropout: float = param(0.2, ge=0, lt=1, doc="Dropout on embeddings and the dense layer.")
    use_tags: bool = param(False, doc='Add the tag stream from train.tracks["tags"].')
    tag_embedding: int = param(32, ge=1, doc="Tag embedding size.")
    max_len: int = param(
        20, ge=1, doc="Seed tracks read (the last ones): a bounded context, the model's "
        "short-term preferences; each prefix is encoded again, so cost grows with it.",
    )
    lr: float = param(2e-3, gt=0, doc="Adam learning rate.")
    batch_size: int = param(
        256, ge=1, doc="Prefixes per training step; also queries per scoring block."
    )
    epochs: int = param(8, ge=1, doc="Maximum epochs (early stopping on validation recall).")
    n_negatives: int | None = param(
        None, ge=0, doc="0 = full softmax, k > 0 = sampled softmax with k shared negatives; "
        "None = full softmax up to 10,000 tracks when batch_size x n_tracks <= 2^25, "
        "else 1024.",
    )
    sample_alpha: float = param(
        0.0, ge=0, doc="Negatives drawn with probability proportional to popularity^alpha "
        "(0: uniform).",
    )
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay.")
    lazy_adam: bool | None = param(
        None, doc="Row-sparse gradients for the track embedding and output layer, and Adam "
        "updating only the rows a step reads (lazy Adam); None = on with a sampled softmax "
        "on one device, False = dense Adam over the whole tables (slow on large catalogues).",
    )
    bucket: bool = param(
        True, doc="Length-bucketed batches (prefixes of near-equal length together) instead "
        "of uniformly shuffled ones.",
    )


# ---------------------------------------------------------------------------- (a) network
class AdditiveAttention(nn.Module):
    """Attention pooling ``c = sum_t a_t h_t``, ``a = softmax_t(v . tanh(W h_t + b))`` (real t)."""

    def __init__(self, d: int, att: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d, att)
        self.v = nn.Linear(att, 1, bias=False)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """H (B, T, D), mask (B, T) True on real positions -> context (B, D), weights (B, T)."""
        e = self.v(torch.tanh(self.proj(h)))[..., 0]  # (B, T)
        a = torch.softmax(e.masked_fill(~mask, float("-inf")), dim=1)  # (B, T), 0 on padding
        return (a[..., None] * h).sum(1), a


class BiGRUAttention(nn.Module):
    """One stream: bidirectional GRU over packed sequences, then attention pooling."""

    def __init__(self, d_in: int, hidden: int, att: int) -> None:
        super().__init__()
        self.gru = nn.GRU(d_in, hidden, batch_first=True, bidirectional=True)
        self.attention = AdditiveAttention(2 * hidden, att)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """X (B, T, d_in), lengths (B,) >= 1 -> context (B, 2H).

        Packing makes the backward direction start at each row's last real track, so
        padding never enters the states.
        """
        t = x.shape[1]
        mask = torch.arange(t, device=x.device)[None, :] < lengths[:, None]
        if bool((lengths == t).all()):  # e.g. a length-bucketed batch: nothing to pack
            h, _ = self.gru(x)  # (B, T, 2H)
        else:
            packed = pack_padded_sequence(
                x, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            h, _ = self.gru(packed)
            h, _ = pad_packed_sequence(h, batch_first=True, total_length=t)  # (B, T, 2H)
        c, _ = self.attention(h, mask)
        return c


class AttentiveBiGRUNet(nn.Module):
    """Song stream (+ tag stream) -> concatenated contexts -> dense layer -> catalogue logits.

    Parameters
    ----------
    config : AttnGRUConfig
        Reads ``embedding``, ``tag_embedding``, ``hidden``, ``attention``, ``mlp`` and
        ``dropout``.
    n_tracks : int
        Catalogue size; ``n_tracks`` is the pad index.
    n_tags : int
        Tag vocabulary size; 0 = no tag stream.
    tag_indptr, tag_ids : np.ndarray, optional
        The tags of each track as CSR (see :func:`track_tags`); needed when ``n_tags > 0``.
    """

    def __init__(
        self,
        config: AttnGRUConfig,
        n_tracks: int,
        n_tags: int = 0,
        tag_indptr: np.ndarray | None = None,
        tag_ids: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.n_tracks, self.n_tags = n_tracks, n_tags
        n = n_tracks
        self.pad = n
        self.item_emb = nn.Embedding(n + 1, config.embedding, padding_idx=n)
        self.songs = BiGRUAttention(config.embedding, config.hidden, config.attention)
        self.tags = None
        streams = 1
        if n_tags > 0:
            if tag_indptr is None or tag_ids is None:
                raise ValueError("n_tags > 0 needs tag_indptr and tag_ids")
            self.tag_emb = nn.EmbeddingBag(n_tags, config.tag_embedding, mode="mean")
            self.register_buffer("tag_indptr", torch.as_tensor(tag_indptr, dtype=torch.int64))
            self.register_buffer("tag_ids", torch.as_tensor(tag_ids, dtype=torch.int64))
            self.tags = BiGRUAttention(config.tag_embedding, config.hidden, config.attention)
            streams = 2
        self.drop = nn.Dropout(config.dropout)
        self.dense = nn.Linear(2 * config.hidden * streams, config.mlp)
        self.out = nn.Linear(config.mlp, n)

    def track_tag_embeddings(self, seq: torch.Tensor) -> torch.Tensor:
        """Seq (B, T) -> (B, T, tag_embedding): mean tag embedding of each track (0 if none)."""
        uniq, inv = torch.unique(seq, return_inverse=True)  # tags of each distinct track once
        starts = self.tag_indptr[uniq]
        lens = self.tag_indptr[uniq + 1] - starts  # (U,)
        offsets = torch.cumsum(lens, 0) - lens
        flat = torch.repeat_interleave(starts - offsets, lens) + torch.arange(
            int(lens.sum()), device=seq.device
        )
        bags = self.tag_emb(self.tag_ids[flat], offsets)  # (U, E_t); empty bags give zeros
        return bags[inv]

    def context(self, seq: torch.Tensor) -> torch.Tensor:
        """Seq (B, T) right-padded -> (B, mlp) representation of the seed."""
        lengths = (seq != self.pad).sum(1).clamp(min=1)  # empty seeds read one pad (zero) vector
        sparse = getattr(self, "sparse_rows", False)  # row-sparse gradients (LazyAdam)
        e = embed(self.item_emb.weight, seq, self.pad, sparse)  # (B, T, E)
        c = self.songs(self.drop(e), lengths)  # (B, 2H)
        if self.tags is not None:
            ct = self.tags(self.drop(self.track_tag_embeddings(seq)), lengths)  # (B, 2H)
            c = torch.cat([c, ct], dim=1)  # (B, 4H)
        return self.drop(torch.relu(self.dense(c)))  # (B, mlp)

    def forward(self, seq: torch.Tensor, targets: torch.Tensor | None = None):
        """Next-track logits (B, n_tracks) and, with ``targets`` (B,), the cross-entropy."""
        logits = self.out(self.context(seq))
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


# ---------------------------------------------------------------------------- (b) Lightning
class AttnGRULightning(SequenceLightning):
    """Trains an :class:`AttentiveBiGRUNet` on prefix windows with Adam."""

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Softmax (full or sampled) cross-entropy of each prefix's next track."""
        z = self.network.context(batch["seq"])  # (B, mlp)
        y = batch["target"]  # (B,)
        w, b = self.network.out.weight, self.network.out.bias
        loss = self.next_track_loss(z, w, b, y)
        self.log_train_loss(loss, len(y))
        return loss

    def configure_optimizers(self):
        """Adam; lazy Adam (row-sparse updates, :class:`LazyAdam`) with row-sparse gradients."""
        hp = self.cfg
        if getattr(self.network, "sparse_rows", False):
            return LazyAdam(self.network.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        return torch.optim.Adam(self.network.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)


# ---------------------------------------------------------------------------- (c) Recommender
class AttentiveBiGRU(SequenceRecommender):
    """Attentive bi-GRU next-track recommender (Sachdeva, Gupta & Pudi 2018).

    Parameters
    ----------
    **params
        Fields of :class:`AttnGRUConfig` as keywords (``embedding=16, use_tags=True``
        ...); ``apc models attn-gru`` lists them with defaults, bounds and meaning.

    Examples
    --------
    >>> from apc.testing import cycles, queries_from
    >>> pl_ = cycles(n_playlists=100)
    >>> model = AttentiveBiGRU(embedding=16, hidden=16, epochs=1, val_fraction=0).fit(pl_)
    >>> model.recommend(queries_from(pl_, [[3, 4]], [[5]]), k=3).items.shape
    (1, 3)
    """

    name = "attn-gru"
    layout = "prefix"
    config_class = AttnGRUConfig

    def _check(self, train: Playlists) -> None:
        if self.config.use_tags and "tags" not in train.tracks.columns:
            raise ApcInputError(
                "use_tags=True needs a 'tags' column in the tracks table", field="tags"
            )

    def _build_network(self, train: Playlists, features) -> AttentiveBiGRUNet:
        indptr = ids = None
        n_tags = 0
        self.tag_vocab_ = None
        if self.config.use_tags:
            indptr, ids, vocab = track_tags(train)
            if not vocab:
                raise ApcInputError("use_tags=True but no track has a tag", field="tags")
            self.tag_vocab_ = vocab
            n_tags = len(vocab)
        return AttentiveBiGRUNet(self.config, train.n_tracks, n_tags, indptr, ids)

    def _build_lightning(self, network, train, dm) -> AttnGRULightning:
        cfg = self.config
        n_neg = resolve_negatives(cfg.n_negatives, cfg.batch_size, train.n_tracks)
        self.n_negatives_ = n_neg
        network.sparse_rows = self.lazy_adam_ = lazy_rows(cfg.lazy_adam, n_neg, cfg.devices)
        dm.bucket = bool(cfg.bucket)
        return AttnGRULightning(
            network, popularity=dm.fit_pl.item_popularity(distinct=False), n_negatives=n_neg
        )
