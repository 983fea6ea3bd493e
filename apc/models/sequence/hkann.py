"""HKANN: heterogeneous-knowledge attentive next-track model (Lin et al. 2018).

Lin, Niu, Zhu, Lu, Mushonga & Niu (IEEE Access 6, 2018; the survey's "Lin et al.
2019") represent each track by embeddings of heterogeneous knowledge about it -- a
TransR embedding of a graph of tracks and their related entities, a paragraph vector
of its text and a VAE code of its image, concatenated -- and read the current session
with a recurrent network with attention to score the next track.

apc's version, on the metadata a playlist corpus carries:

- **Graph embedding** (:mod:`apc.models.sequence.kg`): entities are the tracks,
  artists, albums and tags of ``train.tracks``; triples link each track to its artist,
  album and tags; TransR (Lin et al. 2015) embeds them,
  ``f_r(h, t) = ||h M_r + r - t M_r||^2`` with a margin loss against corrupted triples.
  The TransR loss is minimised alone for ``kg_pretrain_epochs`` passes over the triples
  (the paper's separate pre-training), then kept in the objective with weight
  ``kg_weight`` while the session model trains, so the graph keeps shaping the track
  embeddings the session loss moves. Relations without data are left out and reported
  (``graph_``); with none, the model is the session network alone.
- **Track representation**: ``x_i = [e_i ; u_i]``, the track's TransR entity embedding
  ``e_i`` and, when ``id_embedding > 0``, a free embedding ``u_i``. The paper's text
  and image embeddings have no counterpart here (tags enter through the graph).
- **Attentive session encoder** (the paper's attention RNN, in the form of NARM, Li et
  al. 2017): a GRU reads ``x`` of the last ``max_len`` tracks, ``h_1..h_t``; attention
  over the positions so far, ``a_tj = softmax_j(v . sigmoid(A_1 h_t + A_2 h_j))``, gives
  the local context ``c_t = sum_j a_tj h_j``; the session is ``s_t = [h_t ; c_t]``.
- **Scores** ``y_i = x_i . (B s_t) + b_i`` (NARM's bilinear decoder with a bias), a
  softmax over the catalogue (sampled for large catalogues), so a track's score goes
  through its graph embedding: a track never seen in a training playlist is still
  placed by its artist, album and tags.

Every position of a training window is an example (``layout = "sequence"``); the
attention is causal, so position ``t`` attends to positions ``<= t`` only.

References
----------
Q. Lin, Y. Niu, Y. Zhu, H. Lu, K. Z. Mushonga, Z. Niu. "Heterogeneous knowledge-based
attentive neural networks for short-term music recommendations." IEEE Access 6 (2018),
58990-59000. doi:10.1109/ACCESS.2018.2874959.

Y. Lin, Z. Liu, M. Sun, Y. Liu, X. Zhu. "Learning entity and relation embeddings for
knowledge graph completion." AAAI 2015, 2181-2187.

J. Li, P. Ren, Z. Chen, Z. Ren, T. Lian, J. Ma. "Neural attentive session-based
recommendation." CIKM 2017, 1419-1428.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from apc._threads import torch_threads
from apc.data.playlists import Playlists
from apc.models.params import param
from apc.models.sequence._base import (
    SequenceLightning,
    SequenceRecommender,
    TrainingConfig,
    last_position,
    resolve_negatives,
)
from apc.models.sequence.data import IGNORE
from apc.models.sequence.kg import RELATIONS, KnowledgeGraph, TransR, build_graph

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- config
@dataclass(frozen=True)
class HKANNConfig(TrainingConfig):
    """Hyper-parameters of :class:`HKANN` (graph, network, sampling, training).

    The paper does not list its sizes for this setting; the defaults train
    ``synth:small`` in about a minute on one CPU thread (``docs/models/hkann.md``).
    """

    embedding: int = param(64, ge=1, doc="Entity (TransR) embedding size d_e.")
    relation_dim: int = param(64, ge=1, doc="TransR relation space size d_r.")
    id_embedding: int = param(
        0, ge=0, doc="Size of an extra free per-track embedding (0: the graph embedding alone)."
    )
    hidden: int = param(64, ge=1, doc="GRU units.")
    attention: int = param(32, ge=1, doc="Size of the attention projections A_1, A_2.")
    dropout: float = param(0.2, ge=0, lt=1, doc="Dropout on inputs and on the session vector.")
    relations: tuple[str, ...] | str = param(
        RELATIONS, choices=RELATIONS, doc="Graph relations to use (each dropped, and "
        "reported, when the tracks table lacks it); () = no graph.",
    )
    kg_weight: float = param(
        1.0, ge=0, doc="Weight of the TransR loss in the joint objective (0: pre-training only)."
    )
    kg_pretrain_epochs: int = param(
        20, ge=0, doc="Passes of TransR alone over the triples before the session model trains."
    )
    kg_batch: int = param(512, ge=1, doc="Triples per TransR step.")
    margin: float = param(1.0, gt=0, doc="TransR margin gamma.")
    max_len: int = param(20, ge=1, doc="Seed tracks read (the last ones); training window.")
    lr: float = param(3e-3, gt=0, doc="Adam learning rate.")
    n_negatives: int | None = param(
        None, ge=0, doc="0 = full softmax, k > 0 = sampled softmax with k shared negatives; "
        "None = full softmax up to 10,000 tracks, else 1024.",
    )
    sample_alpha: float = param(
        0.0, ge=0, doc="Negatives drawn with probability proportional to popularity^alpha."
    )
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay.")


# ---------------------------------------------------------------------------- (a) network
class HKANNNet(nn.Module):
    """Graph-embedded tracks -> GRU -> causal NARM attention -> bilinear catalogue scores.

    Parameters
    ----------
    config : HKANNConfig
        Reads the sizes, ``dropout`` and ``margin``.
    graph : KnowledgeGraph
        Entities (tracks first, ``graph.n_tracks`` of them) and triples; the triples are
        kept as buffers for the joint TransR loss.
    """

    def __init__(self, config: HKANNConfig, graph: KnowledgeGraph) -> None:
        super().__init__()
        self.config = config
        n = self.n_tracks = graph.n_tracks
        self.pad = n
        self.n_entities = graph.n_entities
        d = config.embedding
        self.entity = nn.Embedding(graph.n_entities + 1, d, padding_idx=graph.n_entities)
        nn.init.normal_(self.entity.weight[:-1], std=d**-0.5)  # norms near 1
        self.ids = None
        if config.id_embedding > 0:
            self.ids = nn.Embedding(n + 1, config.id_embedding, padding_idx=n)
            nn.init.normal_(self.ids.weight[:-1], std=0.05)
        dim = d + config.id_embedding
        self.transr = TransR(graph.n_relations, d, config.relation_dim, config.margin)
        self.register_buffer("triples", torch.as_tensor(graph.triples, dtype=torch.int64))
        self.register_buffer("tail_start", torch.as_tensor(graph.tail_start, dtype=torch.int64))
        self.register_buffer("tail_stop", torch.as_tensor(graph.tail_stop, dtype=torch.int64))
        self.drop_in = nn.Dropout(config.dropout)
        self.gru = nn.GRU(dim, config.hidden, batch_first=True)
        self.a1 = nn.Linear(config.hidden, config.attention, bias=False)
        self.a2 = nn.Linear(config.hidden, config.attention, bias=False)
        self.v = nn.Linear(config.attention, 1, bias=False)
        self.drop_out = nn.Dropout(config.dropout)
        self.b = nn.Linear(2 * config.hidden, dim, bias=False)
        self.bias = nn.Parameter(torch.zeros(n))

    # ------------------------------------------------------------------ representations
    def track_vectors(self, seq: torch.Tensor) -> torch.Tensor:
        """Seq (B, T) track indices (pad = n_tracks) -> (B, T, dim), zero at the pad."""
        x = self.entity(torch.where(seq == self.pad, self.n_entities, seq))
        if self.ids is not None:
            x = torch.cat([x, self.ids(seq)], dim=-1)
        return x

    def output_layer(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(n_tracks, dim) track representations ``x_i`` and (n_tracks,) biases ``b_i``."""
        w = self.entity.weight[: self.n_tracks]
        if self.ids is not None:
            w = torch.cat([w, self.ids.weight[: self.n_tracks]], dim=-1)
        return w, self.bias

    # ------------------------------------------------------------------ encoder
    def _states(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """GRU states (B, T, H) of right-padded ``seq`` and its mask (B, T) of real tracks."""
        h, _ = self.gru(self.drop_in(self.track_vectors(seq)))  # causal: pads only follow
        return h, seq != self.pad

    def _session(self, h_t: torch.Tensor, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Session vectors ``B [h_t ; c_t]`` for queries h_t (B, Q, H) over states h (B, T, H).

        ``mask`` (B, Q, T) marks the positions each query may attend to.
        """
        e = self.v(torch.sigmoid(self.a1(h_t)[:, :, None, :] + self.a2(h)[:, None, :, :]))[..., 0]
        e = e.masked_fill(~mask, float("-inf"))  # (B, Q, T)
        a = torch.softmax(e, dim=-1).nan_to_num(0.0)  # an all-masked row (pad query) gives 0
        c = a @ h  # (B, Q, H)
        return self.b(self.drop_out(torch.cat([h_t, c], dim=-1)))  # (B, Q, dim)

    def encode(self, seq: torch.Tensor) -> torch.Tensor:
        """Seq (B, T) -> (B, T, dim): the session vector after every position (causal)."""
        h, real = self._states(seq)
        t = seq.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool, device=seq.device).tril()
        return self._session(h, h, causal[None] & real[:, None, :])

    def context(self, seq: torch.Tensor) -> torch.Tensor:
        """Seq (B, T) right-padded -> (B, dim): the session vector at the last real track."""
        h, real = self._states(seq)
        h_t = last_position(h, seq, self.pad)[:, None, :]  # (B, 1, H)
        return self._session(h_t, h, real[:, None, :])[:, 0]

    def forward(self, seq: torch.Tensor, targets: torch.Tensor | None = None):
        """Next-track logits (B, n_tracks) of each row's last position; loss with targets."""
        w, b = self.output_layer()
        logits = self.context(seq) @ w.T + b
        loss = None
        if targets is not None:
            loss = nn.functional.cross_entropy(logits, targets)
        return logits, loss

    # ------------------------------------------------------------------ graph
    def kg_loss(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """TransR margin loss of ``batch`` triples drawn uniformly (0 without a graph)."""
        if len(self.triples) == 0:
            return self.bias.sum() * 0.0
        idx = torch.randint(len(self.triples), (batch,), generator=generator)
        return self.transr.loss(
            self.entity.weight, self.triples[idx.to(self.triples.device)],
            self.tail_start, self.tail_stop, self.n_tracks, generator,
        )

    def pretrain_graph(self, epochs: int, batch: int, lr: float, seed: int) -> list[float]:
        """Minimise the TransR loss alone (entity and relation parameters), ``epochs`` passes.

        Returns the mean loss of each pass.
        """
        n = len(self.triples)
        if n == 0 or epochs == 0:
            return []
        gen = torch.Generator().manual_seed(int(seed) + 1)
        # a sparse copy of the entity table: a step touches ~2 x batch rows, so sparse
        # gradients and SparseAdam keep it O(batch d) instead of O(n_entities d)
        table = nn.Embedding.from_pretrained(self.entity.weight.detach().clone(), freeze=False,
                                             sparse=True)
        opt_e = torch.optim.SparseAdam(list(table.parameters()), lr=lr)
        opt = torch.optim.Adam(self.transr.parameters(), lr=lr)
        losses = []
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            total = 0.0
            for start in range(0, n, batch):
                chunk = self.triples[order[start : start + batch]]
                loss = self.transr.loss(
                    table, chunk, self.tail_start, self.tail_stop, self.n_tracks, gen
                )
                opt.zero_grad()
                opt_e.zero_grad()
                loss.backward()
                opt.step()
                opt_e.step()
                total += float(loss.detach()) * len(chunk)
            losses.append(total / n)
        with torch.no_grad():
            self.entity.weight.copy_(table.weight)
            self.entity.weight[-1].zero_()  # keep the pad row at zero
        return losses


# ---------------------------------------------------------------------------- (b) Lightning
class HKANNLightning(SequenceLightning):
    """Trains :class:`HKANNNet`: next-track softmax at every position + ``kg_weight`` TransR."""

    def on_train_start(self) -> None:
        """Seed the negative sampler (base) and the triple sampler of this rank."""
        super().on_train_start()
        self.kg_generator = torch.Generator().manual_seed(
            self.sampler_seed + 104729 * (1 + self.global_rank)
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Softmax (full or sampled) cross-entropy of every valid position, plus the graph."""
        seq, targets = batch["seq"], batch["targets"]  # (B, T), (B, T)
        valid = targets != IGNORE
        z = self.network.encode(seq)[valid]  # (N, dim)
        y = targets[valid]
        w, bias = self.network.output_layer()
        loss = self.next_track_loss(z, w, bias, y)
        self.log("rec_loss", loss, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True)
        hp = self.cfg
        if hp.kg_weight > 0 and len(self.network.triples):
            kg = self.network.kg_loss(int(hp.kg_batch), getattr(self, "kg_generator", None))
            self.log("kg_loss", kg, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True)
            loss = loss + hp.kg_weight * kg
        self.log_train_loss(loss, len(y))
        return loss

    def configure_optimizers(self):
        """Adam."""
        hp = self.cfg
        return torch.optim.Adam(self.network.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)


# ---------------------------------------------------------------------------- (c) Recommender
class HKANN(SequenceRecommender):
    """Heterogeneous-knowledge attentive next-track recommender (Lin et al. 2018).

    Parameters
    ----------
    **params
        Fields of :class:`HKANNConfig` as keywords (``embedding=32, relations=("artist",)``
        ...); ``apc models hkann`` lists them with defaults, bounds and meaning.

    Fitted attributes
    -----------------
    graph_ : str
        The graph used: entities, triples per relation, relations absent from the data.
    relations_ : tuple of str
        The relations used.
    kg_pretrain_losses_ : list of float
        Mean TransR loss of each pre-training pass.

    Examples
    --------
    >>> from apc.testing import cycles, queries_from
    >>> pl_ = cycles(n_playlists=100)
    >>> model = HKANN(embedding=16, hidden=16, epochs=1, val_fraction=0).fit(pl_)
    >>> model.relations_   # cycles() has no artists, albums or tags
    ()
    >>> model.recommend(queries_from(pl_, [[3, 4]], [[5]]), k=3).items.shape
    (1, 3)
    """

    name = "hkann"
    layout = "sequence"
    config_class = HKANNConfig

    def _relations(self) -> tuple[str, ...]:
        r = self.config.relations
        return (r,) if isinstance(r, str) else tuple(r)

    def _build_network(self, train: Playlists, features) -> HKANNNet:
        cfg = self.config
        graph = build_graph(train, self._relations())
        self.graph_ = graph.describe()
        self.relations_ = graph.relations
        if graph.missing:
            log.info("hkann: graph %s", self.graph_)
        net = HKANNNet(cfg, graph)
        with torch_threads(int(cfg.num_threads)):
            self.kg_pretrain_losses_ = net.pretrain_graph(
                int(cfg.kg_pretrain_epochs), int(cfg.kg_batch), float(cfg.lr), int(cfg.seed)
            )
        return net

    def _build_lightning(self, network, train, dm) -> HKANNLightning:
        cfg = self.config
        n_neg = resolve_negatives(cfg.n_negatives, cfg.batch_size * cfg.max_len, train.n_tracks)
        self.n_negatives_ = n_neg
        return HKANNLightning(
            network, popularity=dm.fit_pl.item_popularity(distinct=False), n_negatives=n_neg
        )


__all__ = ["HKANN", "HKANNConfig", "HKANNLightning", "HKANNNet"]
