"""GRU4Rec: session-parallel GRU next-track model (Hidasi et al. 2016; Hidasi & Karatzoglou 2018).

A GRU reads a playlist one track at a time; after each track its hidden state scores
every track of the catalogue as the next one. Training follows the reference
implementation detail by detail, because third-party ports that change those details
lose much of its accuracy (Hidasi & Czapp 2023); ``docs/models/gru4rec.md`` maps
each detail to the function below that implements it:

- session-parallel mini-batches, one time step and one update per mini-batch, hidden
  state reset where a playlist ends and carried (detached) otherwise — no padding, no
  BPTT over several steps (:class:`apc.models.sequence.data.SessionParallelBatches`,
  :meth:`GRU4RecLightning.training_step`);
- the targets of the other rows of the mini-batch serve as negatives, plus
  ``n_negatives`` extra samples shared by the mini-batch, drawn with probability
  proportional to popularity^``sample_alpha`` (:class:`NegativeSampler`);
- cross-entropy over a softmax of (target, negatives) with optional log-q
  correction, or BPR-max over an ELU with score regularisation ``bpreg``
  (:func:`xe_loss`, :func:`bpr_max_loss`);
- input: the output embedding itself (``constrained_embedding=True``, the default of the
  official code), a separate embedding (``embedding > 0``) or one-hot vectors
  (``embedding=0, constrained_embedding=False``, the 2016 paper);
- dropout on the input embedding and on every GRU layer's output (the dropped-out
  output is the carried hidden state, as in the reference code);
- Adagrad (with optional momentum) on sparse embedding gradients, uniform
  ``±sqrt(6 / (fan_in + fan_out))`` initialisation per gate, zero biases.

References
----------
B. Hidasi, A. Karatzoglou, L. Baltrunas, D. Tikk. "Session-based recommendations with
recurrent neural networks." ICLR 2016. arXiv:1511.06939.

B. Hidasi, A. Karatzoglou. "Recurrent neural networks with top-k gains for
session-based recommendations." CIKM 2018, 843-852. arXiv:1706.03847.

B. Hidasi, Á. T. Czapp. "The effect of third party implementations on
reproducibility." RecSys 2023, 272-282. arXiv:2307.14956.
"""

from __future__ import annotations

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
    init_uniform_,
    last_position,
)
from apc.models.sequence.data import IGNORE


# ---------------------------------------------------------------------------- (a) network
@dataclass(frozen=True)
class GRU4RecConfig:
    """Shape of a :class:`GRU4RecNet`.

    Attributes
    ----------
    n_tracks : int
        Catalogue size (the pad index is ``n_tracks``).
    hidden : int
        Units per GRU layer (also the output embedding size).
    layers : int
        Number of stacked GRU layers.
    embedding : int
        Size of a separate input embedding; 0 = none (see ``constrained_embedding``).
    constrained_embedding : bool
        Use the output embedding as input embedding (overrides ``embedding``).
    dropout_embed, dropout_hidden : float
        Dropout on the input embedding and on each layer's output.
    sparse : bool
        Sparse gradients for the embedding tables (single-device Adagrad).
    """

    n_tracks: int
    hidden: int = 100
    layers: int = 1
    embedding: int = 0
    constrained_embedding: bool = True
    dropout_embed: float = 0.0
    dropout_hidden: float = 0.0
    sparse: bool = True


class OneHotGRU(nn.Module):
    """A GRU layer fed one-hot track vectors (GRU4Rec's ``GRUEmbedding``).

    ``W_x onehot(x)`` is a row lookup in an ``(n_tracks, 3H)`` table, so the
    catalogue-sized input never materialises.
    """

    def __init__(self, n_tracks: int, hidden: int, sparse: bool) -> None:
        super().__init__()
        self.hidden = hidden
        self.wx = nn.Embedding(n_tracks, 3 * hidden, sparse=sparse)  # [candidate | reset | update]
        self.wh = nn.Parameter(torch.empty(hidden, 3 * hidden))
        self.b = nn.Parameter(torch.zeros(3 * hidden))
        init_uniform_(self.wx.weight, n_tracks, hidden)
        init_uniform_(self.wh, hidden, hidden)

    def _cell(self, vx: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        vh = h @ self.wh  # (B, 3H)
        xc, xr, xz = vx.chunk(3, dim=-1)
        hc, hr, hz = vh.chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        c = torch.tanh(xc + r * hc)
        return (1.0 - z) * h + z * c

    def step(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """X (B,) int64, h (B, H) -> new h (B, H)."""
        return self._cell(self.wx(x) + self.b, h)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Seq (B, T) int64 -> hidden states (B, T, H), starting from zeros."""
        vx = self.wx(seq) + self.b  # (B, T, 3H)
        h = vx.new_zeros(len(seq), self.hidden)
        out = []
        for t in range(seq.shape[1]):
            h = self._cell(vx[:, t], h)
            out.append(h)
        return torch.stack(out, dim=1)


class GRU4RecNet(nn.Module):
    """The GRU4Rec network: input embedding -> GRU layers -> scores against output embeddings.

    ``forward(seq)`` runs right-padded sequences from a zero state (inference and
    validation); :meth:`step` advances a carried state by one track (session-parallel
    training).
    """

    def __init__(self, config: GRU4RecConfig) -> None:
        super().__init__()
        self.config = config
        n, h = config.n_tracks, config.hidden
        self.pad = n
        self.Wy = nn.Embedding(n, h, sparse=config.sparse)  # output embeddings (n, H)
        self.By = nn.Embedding(n, 1, sparse=config.sparse)  # output biases (n, 1)
        self.E = None
        self.onehot = None
        first, n_in = 0, h
        if config.constrained_embedding:
            pass  # input embedding = Wy
        elif config.embedding > 0:
            self.E = nn.Embedding(n, config.embedding, sparse=config.sparse)
            n_in = config.embedding
            init_uniform_(self.E.weight, n, config.embedding)
        else:
            self.onehot = OneHotGRU(n, h, config.sparse)
            first = 1
        self.grus = nn.ModuleList(
            nn.GRU(n_in if i == 0 else h, h, batch_first=True) for i in range(first, config.layers)
        )
        self.drop_embed = nn.Dropout(config.dropout_embed)
        self.drop_hidden = nn.Dropout(config.dropout_hidden)
        for gru in self.grus:
            init_uniform_(gru.weight_ih_l0, gru.input_size, h)  # per gate: (in, H)
            init_uniform_(gru.weight_hh_l0, h, h)
            nn.init.zeros_(gru.bias_ih_l0)
            nn.init.zeros_(gru.bias_hh_l0)
        init_uniform_(self.Wy.weight, n, h)
        nn.init.zeros_(self.By.weight)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.Wy(x) if self.E is None else self.E(x)

    def step(
        self, x: torch.Tensor, hidden: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One session-parallel step.

        Parameters
        ----------
        x : torch.Tensor
            (B,) int64 current tracks.
        hidden : list of torch.Tensor
            One (B, H) state per layer.

        Returns
        -------
        out : torch.Tensor
            (B, H) last layer's output (after dropout in training mode).
        hidden : list of torch.Tensor
            The new states; as in the reference code a layer's dropped-out output is its
            carried state.
        """
        hidden = list(hidden)
        if self.onehot is not None:
            e = self.drop_embed(self.onehot.step(x, hidden[0]))  # (B, H)
            hidden[0] = e
            first = 1
        else:
            e = self.drop_embed(self._embed(x))  # (B, E)
            first = 0
        h = e
        for i, gru in enumerate(self.grus, start=first):
            out, _ = gru(h[:, None, :], hidden[i][None])  # (B, 1, H)
            h = self.drop_hidden(out[:, 0])
            hidden[i] = h
        return h, hidden

    def hidden_states(self, seq: torch.Tensor) -> torch.Tensor:
        """Seq (B, T) right-padded -> (B, T, H) last-layer states from a zero start.

        Pads only follow a row's tracks, so they are mapped to track 0: whatever they
        compute lies after the positions that are read.
        """
        x = seq.masked_fill(seq == self.pad, 0)
        if self.onehot is not None:
            h = self.drop_embed(self.onehot(x))  # (B, T, H)
        else:
            h = self.drop_embed(self._embed(x))  # (B, T, E)
        for gru in self.grus:
            h, _ = gru(h)
            h = self.drop_hidden(h)
        return h

    def score_candidates(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """H (B, H), y (C,) track ids -> (B, C) scores ``h @ Wy[y].T + By[y]``."""
        return h @ self.Wy(y).T + self.By(y).T

    def forward(self, seq: torch.Tensor, targets: torch.Tensor | None = None):
        """Next-track logits.

        Parameters
        ----------
        seq : torch.Tensor
            (B, T) int64, right-padded with ``n_tracks``.
        targets : torch.Tensor, optional
            (B, T) int64 next tracks, :data:`IGNORE` where padded.

        Returns
        -------
        logits : torch.Tensor
            (B, n_tracks) at each row's last position (no targets), else (B, T, n_tracks).
        loss : torch.Tensor or None
            Full-softmax cross-entropy over the valid positions when targets are given.
        """
        h = self.hidden_states(seq)  # (B, T, H)
        if targets is None:
            last = last_position(h, seq, self.pad)  # (B, H)
            return last @ self.Wy.weight.T + self.By.weight.T, None  # (B, n)
        logits = h @ self.Wy.weight.T + self.By.weight.T  # (B, T, n)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)
        return logits, loss


# ---------------------------------------------------------------------------- losses, optimiser
def xe_loss(scores: torch.Tensor, log_q: torch.Tensor | None = None) -> torch.Tensor:
    """Sum the cross-entropy of a softmax over (in-batch targets + samples).

    ``scores`` is (B, B + S) with row ``i``'s target in column ``i`` (Hidasi &
    Karatzoglou 2018, Sec. 3); ``log_q`` (B + S,) subtracts the log sampling
    probability of each column (log-q correction of the official code).
    """
    if log_q is not None:
        scores = scores - log_q[None, :]
    return F.cross_entropy(scores, torch.arange(len(scores), device=scores.device), reduction="sum")


def bpr_max_loss(scores: torch.Tensor, *, bpreg: float, elu_param: float) -> torch.Tensor:
    r"""Sum the BPR-max loss with score regularisation (Hidasi & Karatzoglou 2018, Eq. 9).

    .. math:: L = -\log \sum_j s_j \sigma(r_i - r_j) + \lambda \sum_j s_j r_j^2

    where ``s_j`` is the softmax of the negative scores (the target excluded) and
    ``r = ELU(scores, elu_param)`` (linear when ``elu_param == 0``).
    """
    if elu_param > 0:
        scores = F.elu(scores, elu_param)
    b, c = scores.shape
    diag = torch.eye(b, c, dtype=torch.bool, device=scores.device)
    s = torch.softmax(scores.masked_fill(diag, float("-inf")), dim=1)  # (B, C), 0 on the target
    target = scores.diagonal()[:, None]  # (B, 1)
    ranking = -torch.log((torch.sigmoid(target - scores) * s).sum(1) + 1e-24)
    return (ranking + bpreg * (scores.pow(2) * s).sum(1)).sum()


class AdagradM(torch.optim.Optimizer):
    """Adagrad with optional momentum that updates only the rows of sparse gradients.

    Per parameter: ``acc += g^2``; ``m = momentum * m - lr * g / sqrt(acc + eps)``;
    ``p += m`` (``momentum = 0``: plain Adagrad). For sparse gradients only the touched
    rows of ``acc``, ``m`` and ``p`` change. This is the optimiser of the official
    GRU4Rec (``IndexedAdagradM``; eps 1e-6).

    Parameters
    ----------
    params : iterable
        Parameters to optimise.
    lr : float
        Learning rate.
    momentum : float
        Momentum (0 disables it).
    eps : float
        Added to the accumulator before the square root.
    """

    def __init__(self, params, lr: float = 0.05, momentum: float = 0.0, eps: float = 1e-6) -> None:
        if lr <= 0:
            raise ValueError(f"invalid learning rate {lr}")
        if momentum < 0:
            raise ValueError(f"invalid momentum {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        """One update."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mom, eps = group["lr"], group["momentum"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["acc"] = torch.zeros_like(p)
                    if mom > 0:
                        state["mom"] = torch.zeros_like(p)
                g = p.grad
                if g.is_sparse:
                    g = g.coalesce()  # non-linear update: indices must be unique
                    idx, val = g.indices()[0], g.values()
                    acc = state["acc"][idx] + val.pow(2)
                    state["acc"].index_copy_(0, idx, acc)
                    upd = -lr * val / (acc + eps).sqrt()
                    if mom > 0:
                        upd = state["mom"][idx] * mom + upd
                        state["mom"].index_copy_(0, idx, upd)
                    p.index_add_(0, idx, upd)
                else:
                    state["acc"].add_(g.pow(2))
                    upd = -lr * g / (state["acc"] + eps).sqrt()
                    if mom > 0:
                        upd = state["mom"].mul_(mom).add_(upd)
                    p.add_(upd)
        return loss


# ---------------------------------------------------------------------------- (b) Lightning
class GRU4RecLightning(SequenceLightning):
    """Session-parallel training of a :class:`GRU4RecNet` (one update per time step)."""

    def __init__(
        self,
        network: GRU4RecNet,
        *,
        popularity: np.ndarray,
        loss: str = "cross-entropy",
        n_negatives: int = 2048,
        sample_alpha: float = 0.5,
        bpreg: float = 1.0,
        elu_param: float = 0.5,
        logq: float = 0.0,
        optimizer: str = "adagrad",
        lr: float = 0.05,
        momentum: float = 0.0,
        batch_size: int = 64,
        seed: int = 0,
        val_k: int = 20,
    ) -> None:
        super().__init__(network, val_k=val_k, seed=seed)
        self.save_hyperparameters(ignore=["network", "popularity"])
        self.sampler = NegativeSampler(popularity, sample_alpha, seed) if n_negatives > 0 else None
        self.log_pop = None
        if logq > 0:
            with np.errstate(divide="ignore"):
                self.log_pop = torch.from_numpy(
                    np.log(np.maximum(popularity, 1)).astype(np.float32)
                )
        self._hidden: list[torch.Tensor] | None = None

    def on_train_epoch_start(self) -> None:
        """Every epoch starts with empty slots (all hidden states zero)."""
        self._hidden = None

    def _carry(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        n = len(batch["inputs"])
        layers, h = self.network.config.layers, self.network.config.hidden
        if self._hidden is None:
            return [batch["inputs"].new_zeros((n, h), dtype=torch.float32) for _ in range(layers)]
        hidden = self._hidden
        if batch["keep"] is not None:  # slots whose playlist ended with none left to replace it
            hidden = [x[batch["keep"]] for x in hidden]
        reset = batch["reset"][:, None]
        return [x.masked_fill(reset, 0.0) for x in hidden]  # new playlists start from zeros

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """One session-parallel step: advance the carried state, score targets + samples."""
        hp = self.hparams
        x, y = batch["inputs"], batch["targets"]  # (b,), (b,)
        out, hidden = self.network.step(x, self._carry(batch))  # (b, H)
        self._hidden = [h.detach() for h in hidden]  # no BPTT across steps
        log_q = None
        if self.sampler is not None:
            neg = self.sampler.sample(hp.n_negatives, x.device)  # (S,) shared by the mini-batch
            cand = torch.cat([y, neg])  # (b + S,)
            if self.log_pop is not None:
                lp = self.log_pop.to(x.device)
                log_q = hp.logq * torch.cat([lp[y], hp.sample_alpha * lp[neg]])
        else:
            cand = y
            if self.log_pop is not None:
                log_q = hp.logq * self.log_pop.to(x.device)[y]
        scores = self.network.score_candidates(out, cand)  # (b, b + S)
        if hp.loss == "cross-entropy":
            loss = xe_loss(scores, log_q)
        else:
            loss = bpr_max_loss(scores, bpreg=hp.bpreg, elu_param=hp.elu_param)
        loss = loss / hp.batch_size  # the reference code divides by the nominal batch size
        self.log(
            "train_loss", loss, on_step=False, on_epoch=True, batch_size=len(x), sync_dist=True
        )
        return loss

    def configure_optimizers(self):
        """AdagradM (the reference optimiser) or Adam."""
        hp = self.hparams
        if hp.optimizer == "adam":
            return torch.optim.Adam(self.network.parameters(), lr=hp.lr)
        return AdagradM(self.network.parameters(), lr=hp.lr, momentum=hp.momentum)


# ---------------------------------------------------------------------------- (c) Recommender
def _single_device(devices) -> bool:
    if isinstance(devices, (list, tuple)):
        return len(devices) == 1
    if isinstance(devices, str):
        return devices.strip() in ("1", "cpu")
    return devices == 1


class GRU4Rec(SequenceRecommender):
    """GRU4Rec next-track recommender (Hidasi et al. 2016; Hidasi & Karatzoglou 2018).

    Defaults are those of the official PyTorch implementation (``GRU4Rec.__init__`` of
    hidasib/GRU4Rec_PyTorch_Official), except ``epochs`` (early stopping on a held-out
    share of playlists picks the epoch) — see ``docs/models/gru4rec.md``.

    Parameters
    ----------
    hidden : int
        GRU units per layer (default 100).
    layers : int
        Stacked GRU layers (default 1).
    embedding : int
        Separate input embedding size; 0 with ``constrained_embedding=False`` means
        one-hot input as in the 2016 paper (default 0).
    constrained_embedding : bool
        Share the output embedding as input embedding (default True).
    loss : {"cross-entropy", "bpr-max"}
        Training loss (default "cross-entropy").
    n_negatives : int
        Extra negatives shared per mini-batch on top of the in-batch ones (default 2048).
    sample_alpha : float
        Negatives are drawn with probability ∝ popularity^alpha (default 0.5).
    bpreg : float
        BPR-max score regularisation λ (default 1.0).
    elu_param : float
        ELU parameter of the BPR-max final activation; 0 = linear (default 0.5).
    logq : float
        Weight of the log-q correction of cross-entropy (default 0).
    dropout_embed, dropout_hidden : float
        Dropout on the input embedding / on each GRU layer's output (default 0).
    optimizer : {"adagrad", "adam"}
        Adagrad with momentum on sparse gradients (the reference) or Adam (default adagrad).
    lr : float
        Learning rate (default 0.05).
    momentum : float
        Adagrad momentum (default 0).
    batch_size : int
        Parallel playlists per mini-batch; also queries per scoring block (default 64).
    epochs : int
        Maximum epochs (default 10).
    max_len : int or None
        Seed tracks read at inference (None: the whole seed).
    patience : int
        Early-stopping patience in epochs on ``val_recall@val_k`` (default 2).
    val_fraction : float
        Share of playlists held out for early stopping; 0 disables it (default 0.1).
    val_k : int
        Cut-off of the validation recall (default 20).
    seed : int
        Seeds initialisation, sampling and the validation split (default 0).
    accelerator, devices :
        Passed to the Lightning ``Trainer`` ("cpu"/"gpu"/"auto"; 1, 2, [0, 1] ...).
    log_dir : str or None
        Keep the CSV training logs there (default: a temporary directory, removed).

    Examples
    --------
    >>> from apc.testing import cycles, queries_from
    >>> pl_ = cycles(n_playlists=100)
    >>> model = GRU4Rec(hidden=16, n_negatives=0, epochs=2, val_fraction=0).fit(pl_)
    >>> model.recommend(queries_from(pl_, [[3, 4]], [[5]]), k=3).items.shape
    (1, 3)
    """

    name = "gru4rec"
    layout = "session"

    def __init__(
        self,
        *,
        hidden: int = 100,
        layers: int = 1,
        embedding: int = 0,
        constrained_embedding: bool = True,
        loss: str = "cross-entropy",
        n_negatives: int = 2048,
        sample_alpha: float = 0.5,
        bpreg: float = 1.0,
        elu_param: float = 0.5,
        logq: float = 0.0,
        dropout_embed: float = 0.0,
        dropout_hidden: float = 0.0,
        optimizer: str = "adagrad",
        lr: float = 0.05,
        momentum: float = 0.0,
        batch_size: int = 64,
        epochs: int = 10,
        max_len: int | None = None,
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
        self.embedding = embedding
        self.constrained_embedding = constrained_embedding
        self.loss = loss
        self.n_negatives = n_negatives
        self.sample_alpha = sample_alpha
        self.bpreg = bpreg
        self.elu_param = elu_param
        self.logq = logq
        self.dropout_embed = dropout_embed
        self.dropout_hidden = dropout_hidden
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_len = max_len
        self.patience = patience
        self.val_fraction = val_fraction
        self.val_k = val_k
        self.seed = seed
        self.accelerator = accelerator
        self.devices = devices
        self.log_dir = log_dir

    def _check(self, train: Playlists) -> None:
        for name in ("hidden", "layers"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ApcInputError(f"must be a positive integer, got {v!r}", field=name)
        for name in ("embedding", "n_negatives"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ApcInputError(f"must be an integer >= 0, got {v!r}", field=name)
        if self.loss not in ("cross-entropy", "bpr-max"):
            raise ApcInputError(
                f"must be 'cross-entropy' or 'bpr-max', got {self.loss!r}", field="loss"
            )
        if self.optimizer not in ("adagrad", "adam"):
            raise ApcInputError(
                f"must be 'adagrad' or 'adam', got {self.optimizer!r}", field="optimizer"
            )
        for name in ("dropout_embed", "dropout_hidden"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ApcInputError(f"must lie in [0, 1), got {v!r}", field=name)
        for name in ("sample_alpha", "bpreg", "elu_param", "logq", "momentum"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or v < 0:
                raise ApcInputError(f"must be a number >= 0, got {v!r}", field=name)
        if not isinstance(self.lr, (int, float)) or self.lr <= 0:
            raise ApcInputError(f"must be a number > 0, got {self.lr!r}", field="lr")

    def _min_rows(self) -> int:
        # without extra samples a lone row has no negative: the reference stops there
        return 2 if self.n_negatives == 0 else 1

    def _build_network(self, train: Playlists, features) -> GRU4RecNet:
        return GRU4RecNet(
            GRU4RecConfig(
                n_tracks=train.n_tracks,
                hidden=int(self.hidden),
                layers=int(self.layers),
                embedding=int(self.embedding),
                constrained_embedding=bool(self.constrained_embedding),
                dropout_embed=float(self.dropout_embed),
                dropout_hidden=float(self.dropout_hidden),
                # sparse rows for Adagrad on one device; DDP and Adam get dense gradients
                sparse=self.optimizer == "adagrad" and _single_device(self.devices),
            )
        )

    def _build_lightning(self, network, train, dm) -> GRU4RecLightning:
        return GRU4RecLightning(
            network,
            popularity=dm.fit_pl.item_popularity(distinct=False),
            loss=self.loss,
            n_negatives=int(self.n_negatives),
            sample_alpha=float(self.sample_alpha),
            bpreg=float(self.bpreg),
            elu_param=float(self.elu_param),
            logq=float(self.logq),
            optimizer=self.optimizer,
            lr=float(self.lr),
            momentum=float(self.momentum),
            batch_size=int(self.batch_size),
            seed=int(self.seed),
            val_k=int(self.val_k),
        )
