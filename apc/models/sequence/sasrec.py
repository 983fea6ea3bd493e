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

import torch
import torch.nn.functional as F
from torch import nn

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.models.params import param
from apc.models.sequence._base import (
    SequenceLightning,
    SequenceRecommender,
    TrainingConfig,
    last_position,
    resolve_negatives,
)
from apc.models.sequence.data import IGNORE
from apc.models.sequence.sparse import (
    LazyAdam,
    embed,
    gather_rows,
    lazy_rows,
)


# ---------------------------------------------------------------------------- config
@dataclass(frozen=True)
class SASRecConfig(TrainingConfig):
    """Hyper-parameters of :class:`SASRec` (network, loss, sampling, training)."""

    hidden: int = param(50, ge=1, doc="Model width d (the paper's 50).")
    layers: int = param(2, ge=1, doc="Self-attention blocks (the paper's 2).")
    heads: int = param(1, ge=1, doc="Attention heads; must divide hidden (the paper's 1).")
    dropout: float = param(
        0.2, ge=0, lt=1, doc="Dropout on embeddings, attention weights and feed-forward layers "
        "(the paper: 0.2 on MovieLens, 0.5 on sparse data).",
    )
    max_len: int = param(
        50, ge=1, doc="Tracks of context = learned positions (the paper: 50, 200 on MovieLens)."
    )
    share_embedding: bool = param(
        True, doc="Score with the input item embeddings (the paper's) or a separate layer."
    )
    loss: str = param(
        "cross-entropy", choices=("cross-entropy", "bce"),
        doc="Softmax cross-entropy, or the paper's binary cross-entropy with one sampled "
        "negative per position.",
    )
    n_negatives: int | None = param(
        None, ge=0, doc="Cross-entropy only: 0 = full softmax, k > 0 = k shared sampled "
        "negatives; None = full softmax up to 10,000 tracks when batch_size x max_len x "
        "n_tracks <= 2^25, else 1024.",
    )
    sample_alpha: float = param(
        0.0, ge=0, doc="Negatives drawn with probability proportional to popularity^alpha "
        "(0: uniform, as in the paper).",
    )
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay.")
    batch_size: int = param(
        128, ge=1, doc="Windows per step (the paper's 128); also queries per scoring block."
    )
    epochs: int = param(20, ge=1, doc="Maximum epochs.")
    lazy_adam: bool | None = param(
        None, doc="Row-sparse gradients for the item embedding (and output layer), and Adam "
        "updating only the rows a step reads (lazy Adam); None = on with a sampled softmax "
        "or the BCE loss on one device, False = dense Adam over the whole tables.",
    )
    bucket: bool = param(
        False, doc="Length-bucketed batches (windows of near-equal length together) instead "
        "of uniformly shuffled ones. Off by default: a batch of short windows holds few "
        "targets but gets a full Adam step, which cost accuracy on synth:small (issue 13).",
    )

    def check(self) -> None:
        """Check that ``hidden`` splits evenly over the heads."""
        if self.hidden % self.heads:
            raise ApcInputError(
                f"hidden={self.hidden} is not divisible by heads={self.heads}",
                field="heads",
            )


# ---------------------------------------------------------------------------- (a) network
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
    """Causal self-attention encoder with a catalogue-wide output layer.

    Parameters
    ----------
    config : SASRecConfig
        Reads ``hidden``, ``layers``, ``heads``, ``dropout``, ``max_len`` and
        ``share_embedding``.
    n_tracks : int
        Catalogue size; ``n_tracks`` is the pad index.
    """

    def __init__(self, config: SASRecConfig, n_tracks: int) -> None:
        super().__init__()
        self.config = config
        self.n_tracks = n_tracks
        n, d = n_tracks, config.hidden
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
            return self.item_emb.weight[: self.n_tracks], None
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
        sparse = getattr(self, "sparse_rows", False)  # row-sparse gradients (LazyAdam)
        e = embed(self.item_emb.weight, seq, self.pad, sparse)  # (B, T, d)
        x = e * math.sqrt(self.config.hidden) + self.pos_emb(pos)[None]  # (B, T, d)
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

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Loss over every valid position of a batch of windows."""
        hp = self.cfg
        seq, targets = batch["seq"], batch["targets"]  # (B, T), (B, T)
        valid = targets != IGNORE
        h = self.network.encode(seq)[valid]  # (N, d)
        y = targets[valid]  # (N,)
        w, bias = self.network.output_layer()
        lazy = getattr(self.network, "sparse_rows", False)
        if lazy:  # whole tables (row n of a shared embedding is the pad, never a target)
            net = self.network
            w, bias = net.item_emb.weight, None
            if net.out is not None:
                w, bias = net.out.weight, net.out.bias
        if hp.loss == "bce":  # the paper: one sampled negative per position, binary cross-entropy
            neg = self.sampler.sample(len(y), y.device)  # (N,)
            n = len(y)
            ids = torch.cat([y, neg])
            wr = gather_rows(w, ids, lazy)  # (2N, d): row-sparse gradient when lazy
            pos_logit = (h * wr[:n]).sum(-1)
            neg_logit = (h * wr[n:]).sum(-1)
            if bias is not None:
                br = gather_rows(bias, ids, lazy)
                pos_logit, neg_logit = pos_logit + br[:n], neg_logit + br[n:]
            loss = F.binary_cross_entropy_with_logits(
                pos_logit, torch.ones_like(pos_logit)
            ) + F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit))
        else:  # full or sampled softmax (row-sparse gradients when lazy)
            loss = self.next_track_loss(h, w, bias, y)
        self.log_train_loss(loss, len(y))
        return loss

    def configure_optimizers(self):
        """Adam (beta2 = 0.98); lazy Adam (:class:`LazyAdam`) with row-sparse gradients."""
        hp = self.cfg
        # Adam with beta2 = 0.98 as in the reference implementation
        if getattr(self.network, "sparse_rows", False):
            return LazyAdam(
                self.network.parameters(), lr=hp.lr, betas=(0.9, 0.98),
                weight_decay=hp.weight_decay,
            )
        return torch.optim.Adam(
            self.network.parameters(), lr=hp.lr, betas=(0.9, 0.98), weight_decay=hp.weight_decay
        )


# ---------------------------------------------------------------------------- (c) Recommender
class SASRec(SequenceRecommender):
    """SASRec next-track recommender (Kang & McAuley 2018).

    Parameters
    ----------
    **params
        Fields of :class:`SASRecConfig` as keywords (``hidden=64, max_len=20`` ...);
        ``apc models sasrec`` lists them with defaults, bounds and meaning.

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
    config_class = SASRecConfig

    def _build_network(self, train: Playlists, features) -> SASRecNet:
        return SASRecNet(self.config, train.n_tracks)

    def _build_lightning(self, network, train, dm) -> SASRecLightning:
        cfg = self.config
        n_neg = (
            0
            if cfg.loss == "bce"
            else resolve_negatives(cfg.n_negatives, cfg.batch_size * cfg.max_len, train.n_tracks)
        )
        self.n_negatives_ = n_neg
        sampled = n_neg > 0 or cfg.loss == "bce"
        network.sparse_rows = self.lazy_adam_ = lazy_rows(
            cfg.lazy_adam, int(sampled), cfg.devices
        )
        dm.bucket = bool(cfg.bucket)
        return SASRecLightning(
            network,
            popularity=dm.fit_pl.item_popularity(distinct=False),
            n_negatives=n_neg,
            sample=cfg.loss == "bce",  # the paper's loss: one sampled negative per position
        )
