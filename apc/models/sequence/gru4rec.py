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
  (:func:`~apc.models.sequence.gru4rec_optim.xe_loss`,
  :func:`~apc.models.sequence.gru4rec_optim.bpr_max_loss`);
- input: the output embedding itself (``constrained_embedding=True``, the default of the
  official code), a separate embedding (``embedding > 0``) or one-hot vectors
  (``embedding=0, constrained_embedding=False``, the 2016 paper);
- dropout on the input embedding and on every GRU layer's output (the dropped-out
  output is the carried hidden state, as in the reference code);
- Adagrad (with optional momentum) that updates only the embedding rows a mini-batch
  touches (:class:`~apc.models.sequence.gru4rec_optim.AdagradM`), uniform
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
from apc.models.params import param
from apc.models.sequence._base import (
    SequenceLightning,
    SequenceRecommender,
    TrainingConfig,
    init_uniform_,
    last_position,
)
from apc.models.sequence.data import IGNORE
from apc.models.sequence.gru4rec_optim import AdagradM, bpr_max_loss, xe_loss


# ---------------------------------------------------------------------------- config
@dataclass(frozen=True)
class GRU4RecConfig(TrainingConfig):
    """Hyper-parameters of :class:`GRU4Rec` (network, loss, sampling, optimiser, training).

    Defaults are those of the official PyTorch implementation (``GRU4Rec.__init__`` of
    hidasib/GRU4Rec_PyTorch_Official), except ``epochs`` (early stopping on a held-out
    share of playlists picks the epoch); see ``docs/models/gru4rec.md``.
    """

    hidden: int = param(100, ge=1, doc="GRU units per layer (also the output embedding size).")
    layers: int = param(1, ge=1, doc="Stacked GRU layers.")
    embedding: int = param(
        0, ge=0, doc="Separate input embedding size; 0 with constrained_embedding=False "
        "means one-hot input (the 2016 paper).",
    )
    constrained_embedding: bool = param(
        True, doc="Use the output embedding as input embedding (overrides embedding)."
    )
    loss: str = param("cross-entropy", choices=("cross-entropy", "bpr-max"), doc="Training loss.")
    n_negatives: int = param(
        2048, ge=0, doc="Extra negatives shared per mini-batch on top of the in-batch ones."
    )
    sample_alpha: float = param(
        0.5, ge=0, doc="Negatives are drawn with probability proportional to popularity^alpha."
    )
    bpreg: float = param(1.0, ge=0, doc="BPR-max score regularisation lambda.")
    elu_param: float = param(
        0.5, ge=0, doc="ELU parameter of the BPR-max final activation; 0 = linear."
    )
    logq: float = param(0.0, ge=0, doc="Weight of the log-q correction of cross-entropy.")
    dropout_embed: float = param(0.0, ge=0, lt=1, doc="Dropout on the input embedding.")
    dropout_hidden: float = param(0.0, ge=0, lt=1, doc="Dropout on each GRU layer's output.")
    optimizer: str = param(
        "adagrad", choices=("adagrad", "adam"),
        doc="Adagrad with momentum on sparse gradients (the reference) or Adam.",
    )
    momentum: float = param(0.0, ge=0, doc="Adagrad momentum.")
    lr: float = param(0.05, gt=0, doc="Learning rate.")
    batch_size: int = param(
        64, ge=1, doc="Parallel playlists per mini-batch; also queries per scoring block."
    )
    max_len: int | None = param(
        None, ge=1, doc="Seed tracks read at inference (the last ones); None reads the whole seed."
    )


# ---------------------------------------------------------------------------- (a) network
class OneHotGRU(nn.Module):
    r"""A GRU layer fed one-hot track vectors (GRU4Rec's ``GRUEmbedding``).

    ``W_x onehot(x)`` is a row lookup in an ``(n_tracks, 3H)`` table, so the
    catalogue-sized input never materialises. As in the official code the reset gate
    applies to the state *before* its product with the candidate weights:

    .. math::

        r = \sigma(x W_{xr} + h W_{hr}), \quad z = \sigma(x W_{xz} + h W_{hz}), \\
        \tilde h = \tanh(x W_{xc} + (r \odot h) W_{hc}), \quad
        h' = (1 - z) \odot h + z \odot \tilde h

    (``torch.nn.GRU`` instead computes ``r * (h W_hc + b_hc)``).
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
        n = self.hidden
        xc, xr, xz = vx.chunk(3, dim=-1)  # (B, H) each
        hr, hz = (h @ self.wh[:, n:]).chunk(2, dim=-1)  # (B, H) each
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        c = torch.tanh(xc + (r * h) @ self.wh[:, :n])  # reset before the product
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

    Parameters
    ----------
    config : GRU4RecConfig
        Reads ``hidden``, ``layers``, ``embedding``, ``constrained_embedding`` and the
        two dropouts.
    n_tracks : int
        Catalogue size (the pad index is ``n_tracks``).
    sparse : bool
        Single-device Adagrad: the embedding tables give sparse gradients, and
        :class:`GRU4RecLightning` updates only the rows each step touches.
    """

    def __init__(self, config: GRU4RecConfig, n_tracks: int, *, sparse: bool = True) -> None:
        super().__init__()
        self.config = config
        self.n_tracks = n_tracks
        self.sparse = sparse
        n, h = n_tracks, config.hidden
        self.pad = n
        self.Wy = nn.Embedding(n, h, sparse=sparse)  # output embeddings (n, H)
        self.By = nn.Embedding(n, 1, sparse=sparse)  # output biases (n, 1)
        self.E = None
        self.onehot = None
        first, n_in = 0, h
        if config.constrained_embedding:
            pass  # input embedding = Wy
        elif config.embedding > 0:
            self.E = nn.Embedding(n, config.embedding, sparse=sparse)
            n_in = config.embedding
            init_uniform_(self.E.weight, n, config.embedding)
        else:
            self.onehot = OneHotGRU(n, h, sparse)
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

    def input_table(self) -> nn.Embedding:
        """Return the table whose rows are a track's input: Wy, E or the one-hot W_x."""
        if self.onehot is not None:
            return self.onehot.wx
        return self.Wy if self.E is None else self.E

    def step(
        self,
        x: torch.Tensor,
        hidden: list[torch.Tensor],
        *,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One session-parallel step.

        Parameters
        ----------
        x : torch.Tensor
            (B,) int64 current tracks.
        hidden : list of torch.Tensor
            One (B, H) state per layer.
        rows : torch.Tensor, optional
            ``input_table().weight[x]`` gathered by the caller (training gathers each
            table's touched rows once, see :meth:`GRU4RecLightning._update`).

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
            vx = self.onehot.wx(x) if rows is None else rows  # (B, 3H)
            e = self.drop_embed(self.onehot._cell(vx + self.onehot.b, hidden[0]))  # (B, H)
            hidden[0] = e
            first = 1
        else:
            e = self.drop_embed(self._embed(x) if rows is None else rows)  # (B, E)
            first = 0
        h = e
        for i, gru in enumerate(self.grus, start=first):
            # one time step of nn.GRU is its cell: skip nn.GRU's per-call sequence handling
            h = torch.gru_cell(
                h, hidden[i], gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0
            )  # (B, H)
            h = self.drop_hidden(h)
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


# ---------------------------------------------------------------------------- (b) Lightning
class GRU4RecLightning(SequenceLightning):
    """Session-parallel training of a :class:`GRU4RecNet` (one update per time step).

    A ``training_step`` receives a chunk of consecutive session-parallel mini-batches
    (:class:`~apc.models.sequence.data.SessionParallelDataset`) and runs one update per
    mini-batch itself (manual optimisation), so Lightning's per-batch machinery runs
    once per chunk. The extra negatives of the whole chunk are drawn in one call.
    With Adagrad on one device (``network.sparse``), each step gathers the embedding
    rows it touches once, as leaf tensors, and :meth:`AdagradM.step_rows` updates just
    those rows from their dense gradient: the update of the reference
    ``IndexedAdagradM``, without building and coalescing sparse gradients.
    """

    def __init__(self, network: GRU4RecNet, *, popularity: np.ndarray) -> None:
        cfg = network.config
        super().__init__(network, popularity=popularity, n_negatives=cfg.n_negatives)
        self.automatic_optimization = False
        self.log_pop = None
        if cfg.logq > 0:
            with np.errstate(divide="ignore"):
                self.log_pop = torch.from_numpy(
                    np.log(np.maximum(popularity, 1)).astype(np.float32)
                )
        self._hidden: list[torch.Tensor] | None = None

    def on_train_epoch_start(self) -> None:
        """Every epoch starts with empty slots (all hidden states zero)."""
        self._hidden = None

    def _carry(
        self, inputs: torch.Tensor, reset: torch.Tensor, keep: torch.Tensor | None
    ) -> list[torch.Tensor]:
        """Hidden states for a step: drop ended slots (``keep``), zero new ones (``reset``)."""
        n = len(inputs)
        if self._hidden is None:
            return [inputs.new_zeros((n, self.cfg.hidden), dtype=torch.float32)
                    for _ in range(self.cfg.layers)]
        hidden = self._hidden
        if keep is not None:  # slots whose playlist ended with none left to replace it
            hidden = [x[keep] for x in hidden]
        if len(reset):  # new playlists start from zeros (the states are detached copies)
            hidden = [x.index_fill_(0, reset, 0.0) for x in hidden]
        return hidden

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Run the chunk's mini-batches, one update each; log their mean loss."""
        hp = self.cfg
        opt = self.optimizers()
        inputs, targets, reset, keep = (batch[k] for k in ("inputs", "targets", "reset", "keep"))
        ptr, rptr, kptr = (batch[k].tolist() for k in ("ptr", "reset_ptr", "keep_ptr"))
        n_steps = len(ptr) - 1
        neg = neg_lq = None
        if self.sampler is not None:  # (steps, S): each step's samples, shared by its rows
            neg = self.sampler.sample(n_steps * hp.n_negatives, inputs.device)
            neg = neg.view(n_steps, hp.n_negatives)
            if self.log_pop is not None:
                neg_lq = (hp.logq * hp.sample_alpha) * self.log_pop.to(inputs.device)[neg]
        total, rows = [], 0
        for i in range(n_steps):
            a, b = ptr[i], ptr[i + 1]
            hidden = self._carry(
                inputs[a:b],
                reset[rptr[i] : rptr[i + 1]],
                keep[kptr[i] : kptr[i + 1]] if kptr[i] < kptr[i + 1] else None,
            )
            loss = self._update(
                opt,
                inputs[a:b],
                targets[a:b],
                hidden,
                None if neg is None else neg[i],
                None if neg_lq is None else neg_lq[i],
            )
            total.append(loss * (b - a))
            rows += b - a
        mean_loss = torch.stack(total).sum() / rows
        self.log("train_loss", mean_loss, on_step=False, on_epoch=True, batch_size=rows,
                 sync_dist=True)
        # the chunk's loss beside the bar's ETA (the epoch mean goes to the logger)
        self.log("loss", mean_loss.detach(), on_step=True, on_epoch=False, prog_bar=True,
                 logger=False)

    def _update(self, opt, x, y, hidden, neg, neg_lq) -> torch.Tensor:
        """One mini-batch: advance the carried state, score targets + samples, one update."""
        hp, net = self.cfg, self.network
        b = len(x)
        cand = y if neg is None else torch.cat([y, neg])  # (b + S,)
        opt.zero_grad(set_to_none=True)
        leaves = []
        if net.sparse:
            table = net.input_table()
            if table is net.Wy:  # one gather of Wy for inputs and candidates
                u, inv = torch.unique(torch.cat([x, cand]), return_inverse=True)
                x_inv, c_inv = inv[:b], inv[b:]
            else:
                u, c_inv = torch.unique(cand, return_inverse=True)
                ux, x_inv = torch.unique(x, return_inverse=True)
                ex = table.weight.detach().index_select(0, ux).requires_grad_()
                leaves.append((table.weight, ux, ex))
            w = net.Wy.weight.detach().index_select(0, u).requires_grad_()  # (U, H)
            bias = net.By.weight.detach().index_select(0, u).requires_grad_()  # (U, 1)
            leaves += [(net.Wy.weight, u, w), (net.By.weight, u, bias)]
            rows = (w if table is net.Wy else ex).index_select(0, x_inv)
            out, hidden = net.step(x, hidden, rows=rows)  # (b, H)
            # score each distinct candidate once, then repeat the columns of repeated ones
            scores = torch.addmm(bias.T, out, w.T).index_select(1, c_inv)  # (b, b + S)
        else:
            out, hidden = net.step(x, hidden)
            scores = net.score_candidates(out, cand)  # (b, b + S)
        self._hidden = [h.detach() for h in hidden]  # no BPTT across steps
        if hp.loss == "cross-entropy":
            log_q = None
            if self.log_pop is not None:
                log_q = hp.logq * self.log_pop.to(x.device).index_select(0, y)
                if neg_lq is not None:
                    log_q = torch.cat([log_q, neg_lq])
            loss = xe_loss(scores, log_q)
        else:
            loss = bpr_max_loss(scores, bpreg=hp.bpreg, elu_param=hp.elu_param)
        loss = loss / hp.batch_size  # the reference code divides by the nominal batch size
        if leaves:  # one device, Adagrad: plain backward, row updates for the tables
            loss.backward()
            opt.step()
            raw = opt.optimizer
            for param, idx, leaf in leaves:
                raw.step_rows(param, idx, leaf.grad)
        else:  # Adam or DDP: dense gradients through Lightning
            self.manual_backward(loss)
            opt.step()
        return loss.detach()

    def configure_optimizers(self):
        """AdagradM (the reference optimiser) or Adam."""
        hp = self.cfg
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

    Parameters
    ----------
    **params
        Fields of :class:`GRU4RecConfig` as keywords (``hidden=100, epochs=2`` ...);
        ``apc models gru4rec`` lists them with defaults, bounds and meaning. Defaults
        are the official implementation's, except ``epochs``.

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
    config_class = GRU4RecConfig

    def _min_rows(self) -> int:
        # without extra samples a lone row has no negative: the reference stops there
        return 2 if self.config.n_negatives == 0 else 1

    def _build_network(self, train: Playlists, features) -> GRU4RecNet:
        cfg = self.config
        # sparse rows for Adagrad on one device; DDP and Adam get dense gradients
        sparse = cfg.optimizer == "adagrad" and _single_device(cfg.devices)
        return GRU4RecNet(cfg, train.n_tracks, sparse=sparse)

    def _build_lightning(self, network, train, dm) -> GRU4RecLightning:
        return GRU4RecLightning(network, popularity=dm.fit_pl.item_popularity(distinct=False))
