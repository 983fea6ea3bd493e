"""SASRec: self-attentive next-track model (Kang & McAuley 2018).

A stack of causal self-attention blocks reads the last ``max_len`` tracks of a
playlist; the output at each position, matched against the track embeddings, scores
the next track. Every position is a training example (sequence windows), so one
window of ``T`` tracks gives ``T`` targets.

Architecture, as in the paper (Sec. III) and its reference implementations:
item embedding scaled by ``sqrt(d)`` plus a learned position embedding, dropout,
``layers`` blocks of [LayerNorm -> causal multi-head attention (residual on the
normalised input) -> LayerNorm -> point-wise two-layer ReLU feed-forward (residual)],
padded positions zeroed after every block, a final LayerNorm, and the shared item
embedding as output layer (``share_embedding=False`` adds a separate output layer with
bias).

Loss: by default cross-entropy over the whole catalogue, which later work found far
stronger than the paper's binary cross-entropy with one sampled negative per
position (Klenitskiy & Vasilev 2023; Petrov & Macdonald 2023); ``loss="bce"`` gives the
paper's loss. For large catalogues the softmax is sampled: ``n_negatives`` negatives
shared by the mini-batch, drawn ∝ popularity^``sample_alpha``, with log-q correction.

References
----------
W.-C. Kang, J. McAuley. "Self-attentive sequential recommendation." ICDM 2018, 197-206.
arXiv:1808.09781.

A. Klenitskiy, A. Vasilev. "Turning dross into gold loss: is BERT4Rec really better than
SASRec?" RecSys 2023, 1120-1125.

A. V. Petrov, C. Macdonald. "gSASRec: reducing overconfidence in sequential
recommendation trained with negative sampling." RecSys 2023, 116-128.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.models.sequence._base import (
    NegativeSampler,
    SequenceLightning,
    SequenceRecommender,
    full_softmax_loss,
    last_position,
    resolve_negatives,
    sampled_softmax_loss,
)
from apc.models.sequence.data import IGNORE


# ---------------------------------------------------------------------------- (a) network
@dataclass(frozen=True)
class SASRecConfig:
    """Shape of a :class:`SASRecNet`.

    Attributes
    ----------
    n_tracks : int
        Catalogue size; ``n_tracks`` is the pad index.
    max_len : int
        Number of positions (learned position embeddings).
    hidden : int
        Model width ``d``.
    layers : int
        Self-attention blocks.
    heads : int
        Attention heads (``hidden`` must be divisible by it).
    dropout : float
        Dropout on embeddings, attention weights and feed-forward layers.
    share_embedding : bool
        Score with the input item embeddings (True) or a separate output layer.
    """

    n_tracks: int
    max_len: int = 50
    hidden: int = 50
    layers: int = 2
    heads: int = 1
    dropout: float = 0.2
    share_embedding: bool = True


class SelfAttentionBlock(nn.Module):
    """One SASRec block: causal multi-head attention + point-wise feed-forward (Sec. III-B, C)."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.ln_attn = nn.LayerNorm(d, eps=1e-8)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ln_ffn = nn.LayerNorm(d, eps=1e-8)
        self.ffn = nn.Sequential(
            nn.Linear(d, d), nn.Dropout(dropout), nn.ReLU(), nn.Linear(d, d), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor, causal: torch.Tensor) -> torch.Tensor:
        """X (B, T, d), causal (T, T) bool (True = may not attend) -> (B, T, d)."""
        q = self.ln_attn(x)
        a, _ = self.attn(q, x, x, attn_mask=causal, need_weights=False)  # (B, T, d)
        x = self.ln_ffn(q + a)
        return x + self.ffn(x)


class SASRecNet(nn.Module):
    """Causal self-attention encoder with a catalogue-wide output layer."""

    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        self.config = config
        n, d = config.n_tracks, config.hidden
        self.pad = n
        self.item_emb = nn.Embedding(n + 1, d, padding_idx=n)  # row n = pad, kept at zero
        self.pos_emb = nn.Embedding(config.max_len, d)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(d, config.heads, config.dropout) for _ in range(config.layers)
        )
        self.ln_out = nn.LayerNorm(d, eps=1e-8)
        self.out = None if config.share_embedding else nn.Linear(d, n)
        for name, p in self.named_parameters():  # Xavier for matrices, as the reference code
            if p.dim() > 1 and "ln_" not in name:
                nn.init.xavier_normal_(p)
        with torch.no_grad():
            self.item_emb.weight[n].zero_()

    def output_layer(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(n_tracks, d) output weights and (n_tracks,) bias (None when shared)."""
        if self.out is None:
            return self.item_emb.weight[: self.config.n_tracks], None
        return self.out.weight, self.out.bias

    def encode(self, seq: torch.Tensor) -> torch.Tensor:
        """Seq (B, T) right-padded, T <= max_len -> hidden states (B, T, d).

        Position ``t`` attends to positions ``<= t`` only, so an output never depends
        on later tracks or on the padding after the row's last track.
        """
        b, t = seq.shape
        if t > self.config.max_len:
            raise ValueError(f"sequence length {t} exceeds max_len={self.config.max_len}")
        keep = (seq != self.pad)[..., None]  # (B, T, 1)
        pos = torch.arange(t, device=seq.device)
        x = (
            self.item_emb(seq) * math.sqrt(self.config.hidden) + self.pos_emb(pos)[None]
        )  # (B, T, d)
        x = self.drop(x) * keep
        causal = torch.ones(t, t, dtype=torch.bool, device=seq.device).triu(1)  # (T, T)
        for block in self.blocks:
            x = block(x, causal) * keep
        return self.ln_out(x)

    def forward(self, seq: torch.Tensor, targets: torch.Tensor | None = None):
        """Next-track logits.

        Parameters
        ----------
        seq : torch.Tensor
            (B, T) int64, right-padded with ``n_tracks``.
        targets : torch.Tensor, optional
            (B, T) int64 next track at each position, :data:`IGNORE` where padded.

        Returns
        -------
        logits : torch.Tensor
            (B, n_tracks) at each row's last position without targets, else (N, n_tracks)
            for the N valid positions.
        loss : torch.Tensor or None
            Full-softmax cross-entropy when targets are given.
        """
        h = self.encode(seq)  # (B, T, d)
        w, bias = self.output_layer()
        if targets is None:
            h = last_position(h, seq, self.pad)  # (B, d): output head only at the last position
            logits = h @ w.T
            return (logits if bias is None else logits + bias), None
        valid = targets != IGNORE
        logits = h[valid] @ w.T  # (N, n)
        if bias is not None:
            logits = logits + bias
        return logits, F.cross_entropy(logits, targets[valid])


# ---------------------------------------------------------------------------- (b) Lightning
class SASRecLightning(SequenceLightning):
    """Trains a :class:`SASRecNet` on sequence windows with Adam (Kang & McAuley 2018, IV-D)."""

    def __init__(
        self,
        network: SASRecNet,
        *,
        popularity: np.ndarray,
        loss: str = "cross-entropy",
        n_negatives: int = 0,
        sample_alpha: float = 0.0,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        val_k: int = 20,
    ) -> None:
        super().__init__(network, val_k=val_k, seed=seed)
        self.save_hyperparameters(ignore=["network", "popularity"])
        needs = loss == "bce" or n_negatives > 0
        self.sampler = NegativeSampler(popularity, sample_alpha, seed) if needs else None

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Loss over every valid position of a batch of windows."""
        hp = self.hparams
        seq, targets = batch["seq"], batch["targets"]  # (B, T), (B, T)
        valid = targets != IGNORE
        h = self.network.encode(seq)[valid]  # (N, d)
        y = targets[valid]  # (N,)
        w, bias = self.network.output_layer()
        if hp.loss == "bce":  # the paper: one sampled negative per position, binary cross-entropy
            neg = self.sampler.sample(len(y), y.device)  # (N,)
            pos_logit = (h * w[y]).sum(-1)
            neg_logit = (h * w[neg]).sum(-1)
            if bias is not None:
                pos_logit, neg_logit = pos_logit + bias[y], neg_logit + bias[neg]
            loss = F.binary_cross_entropy_with_logits(
                pos_logit, torch.ones_like(pos_logit)
            ) + F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit))
        elif hp.n_negatives > 0:
            neg = self.sampler.sample(hp.n_negatives, y.device)  # (S,) shared
            loss = sampled_softmax_loss(h, w, bias, y, neg, self.sampler.log_prob.to(y.device))
        else:
            loss = full_softmax_loss(h, w, bias, y)
        self.log(
            "train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True
        )
        return loss

    def configure_optimizers(self):
        """Adam."""
        hp = self.hparams
        # Adam with beta2 = 0.98 as in the reference implementation
        return torch.optim.Adam(
            self.network.parameters(), lr=hp.lr, betas=(0.9, 0.98), weight_decay=hp.weight_decay
        )


# ---------------------------------------------------------------------------- (c) Recommender
class SASRec(SequenceRecommender):
    """SASRec next-track recommender (Kang & McAuley 2018).

    Parameters
    ----------
    hidden : int
        Model width d (default 50, the paper's).
    layers : int
        Self-attention blocks (default 2, the paper's).
    heads : int
        Attention heads (default 1, the paper's).
    dropout : float
        Dropout rate (default 0.2; the paper uses 0.2 on MovieLens, 0.5 on sparse data).
    max_len : int
        Tracks of context (default 50; the paper: 50, 200 on MovieLens).
    share_embedding : bool
        Tie output and input item embeddings (default True, the paper's).
    loss : {"cross-entropy", "bce"}
        Softmax cross-entropy (default) or the paper's binary cross-entropy with one
        sampled negative per position.
    n_negatives : int or None
        Cross-entropy only: 0 = full softmax, k > 0 = sampled softmax with k shared
        negatives; None (default) = full softmax for catalogues of at most 10,000
        tracks whose batch logits fit one score block
        (``batch_size x max_len x n_tracks <= 2^25``), else 1024 sampled.
    sample_alpha : float
        Negatives are drawn ∝ popularity^alpha (default 0: uniform, as in the paper).
    lr : float
        Adam learning rate (default 1e-3, the paper's).
    weight_decay : float
        Adam weight decay (default 0).
    batch_size : int
        Windows per step; also queries per scoring block (default 128, the paper's).
    epochs : int
        Maximum epochs (default 20).
    patience, val_fraction, val_k, seed, accelerator, devices, log_dir :
        See :class:`apc.models.sequence.gru4rec.GRU4Rec`.

    Examples
    --------
    >>> from apc.testing import cycles, queries_from
    >>> pl_ = cycles(n_playlists=100)
    >>> model = SASRec(hidden=16, max_len=8, epochs=2, val_fraction=0).fit(pl_)
    >>> model.recommend(queries_from(pl_, [[3, 4]], [[5]]), k=3).items.shape
    (1, 3)
    """

    name = "sasrec"
    layout = "sequence"

    def __init__(
        self,
        *,
        hidden: int = 50,
        layers: int = 2,
        heads: int = 1,
        dropout: float = 0.2,
        max_len: int = 50,
        share_embedding: bool = True,
        loss: str = "cross-entropy",
        n_negatives: int | None = None,
        sample_alpha: float = 0.0,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 128,
        epochs: int = 20,
        patience: int = 2,
        val_fraction: float = 0.1,
        val_k: int = 20,
        seed: int = 0,
        accelerator: str = "cpu",
        devices: int | str | list[int] = 1,
        log_dir: str | None = None,
    ) -> None:
        self.hidden = hidden
        self.layers = layers
        self.heads = heads
        self.dropout = dropout
        self.max_len = max_len
        self.share_embedding = share_embedding
        self.loss = loss
        self.n_negatives = n_negatives
        self.sample_alpha = sample_alpha
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.val_k = val_k
        self.seed = seed
        self.accelerator = accelerator
        self.devices = devices
        self.log_dir = log_dir

    def _check(self, train: Playlists) -> None:
        for name in ("hidden", "layers", "heads", "max_len"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ApcInputError(f"must be a positive integer, got {v!r}", field=name)
        if self.hidden % self.heads:
            raise ApcInputError(
                f"hidden={self.hidden} is not divisible by heads={self.heads}", field="heads"
            )
        if self.loss not in ("cross-entropy", "bce"):
            raise ApcInputError(
                f"must be 'cross-entropy' or 'bce', got {self.loss!r}", field="loss"
            )
        if self.n_negatives is not None and (
            isinstance(self.n_negatives, bool)
            or not isinstance(self.n_negatives, (int, np.integer))
            or self.n_negatives < 0
        ):
            raise ApcInputError(
                f"must be None or an integer >= 0, got {self.n_negatives!r}", field="n_negatives"
            )
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ApcInputError(f"must lie in [0, 1), got {self.dropout!r}", field="dropout")
        for name in ("lr",):
            if not isinstance(self.lr, (int, float)) or self.lr <= 0:
                raise ApcInputError(f"must be a number > 0, got {self.lr!r}", field=name)
        for name in ("weight_decay", "sample_alpha"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or v < 0:
                raise ApcInputError(f"must be a number >= 0, got {v!r}", field=name)

    def _build_network(self, train: Playlists, features) -> SASRecNet:
        return SASRecNet(
            SASRecConfig(
                n_tracks=train.n_tracks,
                max_len=int(self.max_len),
                hidden=int(self.hidden),
                layers=int(self.layers),
                heads=int(self.heads),
                dropout=float(self.dropout),
                share_embedding=bool(self.share_embedding),
            )
        )

    def _build_lightning(self, network, train, dm) -> SASRecLightning:
        n_neg = (
            0
            if self.loss == "bce"
            else resolve_negatives(
                self.n_negatives, int(self.batch_size) * int(self.max_len), train.n_tracks
            )
        )
        self.n_negatives_ = n_neg
        return SASRecLightning(
            network,
            popularity=dm.fit_pl.item_popularity(distinct=False),
            loss=self.loss,
            n_negatives=n_neg,
            sample_alpha=float(self.sample_alpha),
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            seed=int(self.seed),
            val_k=int(self.val_k),
        )
