"""Shared machinery of the neural next-track models: losses, sampling, Lightning, adapter.

Each model is three layers (STYLE.md habit 8):

(a) a pure ``nn.Module`` whose ``forward(seq, targets=None) -> (logits, loss)`` returns,
    without targets, ``(B, n_tracks)`` logits of the *last* position only;
(b) a :class:`SequenceLightning` subclass owning the loss, the optimiser and logging;
    validation (shared, here) ranks the whole catalogue for held-out prefixes and logs
    ``val_recall@K``, which drives early stopping and checkpointing;
(c) a :class:`SequenceRecommender` subclass: the ``Recommender`` the registry and the
    CLI see. Its ``fit`` seeds everything, builds a :class:`SequenceDataModule` and a
    ``Trainer`` (CPU, GPU or multi-GPU DDP all come from Lightning's ``accelerator`` /
    ``devices``), restores the best checkpoint from a temporary directory and keeps only
    the trained ``nn.Module``. Its ``_score`` runs one block of queries under
    ``torch.no_grad()``; the base class turns the block into top-k, so no queries x
    catalogue matrix is ever built.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from apc._threads import torch_threads
from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models._topk import BLOCK_CELLS
from apc.models.base import ScoringRecommender
from apc.models.params import ACCELERATORS, param
from apc.models.sequence.data import IGNORE, SequenceDataModule, pad_seeds
from apc.models.sequence.sparse import sampled_softmax_loss_rows


@dataclass(frozen=True)
class TrainingConfig:
    """Training settings shared by the neural next-track models.

    Each model's config extends this one with its architecture and loss, and may
    re-declare a field to change its default (e.g. GRU4Rec's ``lr=0.05``).
    """

    lr: float = param(1e-3, gt=0, doc="Learning rate.")
    batch_size: int = param(
        128, ge=1, doc="Examples per training step; also queries per scoring block."
    )
    epochs: int = param(10, ge=1, doc="Maximum epochs.")
    max_len: int | None = param(
        50, ge=1, doc="Seed tracks read (the last ones); None reads the whole seed."
    )
    patience: int = param(
        2, ge=0, doc="Early-stopping patience in epochs on the validation recall."
    )
    val_fraction: float = param(
        0.1, ge=0, lt=1, doc="Share of playlists held out for early stopping; 0 disables it."
    )
    val_k: int = param(20, ge=1, doc="Cut-off K of the validation recall val_recall@K.")
    seed: int = param(0, ge=0, doc="Seeds initialisation, sampling and the validation split.")
    accelerator: str = param(
        "cpu", choices=ACCELERATORS, doc="Lightning accelerator (cpu, gpu, auto ...)."
    )
    devices: int | str | list[int] = param(
        1, doc="Lightning devices: 1, 2, 'auto', [0, 1] ... (several = DDP)."
    )
    log_dir: str | None = param(
        None, doc="Keep the CSV training logs there (default: a temporary directory)."
    )
    num_threads: int = param(
        1, ge=0, doc="Torch intra-op threads while training (0: torch's default). One by "
        "default: a training step's products are small, and on a loaded 2-core machine two "
        "spin-waiting OpenMP threads cost 5-13x the CPU time of one (issue 13).",
    )


# ---------------------------------------------------------------------------- sampling and losses
class NegativeSampler:
    """Shared negative samples drawn with probability proportional to popularity^alpha.

    ``alpha=0`` is uniform sampling, ``alpha=1`` matches the popularity of in-batch
    targets (Hidasi & Karatzoglou 2018, Sec. 4.1: additional samples shared by the
    whole mini-batch). The generator lives on the CPU so that a seed gives the same
    samples on every device.

    Parameters
    ----------
    popularity : np.ndarray
        (n_tracks,) occurrence counts.
    alpha : float
        Exponent of the sampling distribution.
    seed : int
        Seed of the private generator.
    """

    def __init__(self, popularity: np.ndarray, alpha: float, seed: int) -> None:
        pop = np.maximum(np.asarray(popularity, dtype=np.float64), 0.0)
        w = (
            np.power(pop, alpha) if alpha != 0 else np.ones_like(pop)
        )  # 0 ** alpha = 0: unseen tracks never drawn
        if w.sum() <= 0:
            w = np.ones_like(w)
        p = w / w.sum()
        self.cdf = torch.from_numpy(np.cumsum(p))
        self.cdf[-1] = 1.0
        with np.errstate(divide="ignore"):
            self.log_prob = torch.from_numpy(np.log(p).astype(np.float32))
        self.generator = torch.Generator().manual_seed(int(seed))

    def sample(self, n: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """(n,) int64 track indices, drawn with replacement."""
        u = torch.rand(n, generator=self.generator, dtype=torch.float64)
        idx = torch.searchsorted(self.cdf, u, right=True).clamp_(max=len(self.cdf) - 1)
        return idx.to(device)


def sampled_softmax_loss(
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Cross-entropy of the target against shared sampled negatives (sampled softmax).

    .. math:: L = -\log \frac{e^{o_t - \log q_t}}
                 {e^{o_t - \log q_t} + \sum_{j \in S, j \ne t} e^{o_j - \log q_j}}

    with the log-q correction of Jean et al. (2015) / Bengio & Senécal (2008) when
    ``log_q`` is given. A negative equal to the row's target is masked out.

    Parameters
    ----------
    h : torch.Tensor
        (N, D) final hidden states.
    weight : torch.Tensor
        (n_tracks, D) output embeddings.
    bias : torch.Tensor or None
        (n_tracks,) output biases.
    targets : torch.Tensor
        (N,) int64 target tracks.
    negatives : torch.Tensor
        (S,) int64 shared negatives.
    log_q : torch.Tensor, optional
        (n_tracks,) log sampling probabilities.
    """
    # one implementation: the row-gathering one, here with ordinary (dense) gradients
    return sampled_softmax_loss_rows(h, weight, bias, targets, negatives, log_q, sparse=False)


def full_softmax_loss(
    h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, targets: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy over the whole catalogue: ``h (N, D) @ weight.T (D, n) + bias``."""
    logits = h @ weight.T
    if bias is not None:
        logits = logits + bias
    return F.cross_entropy(logits, targets)


#: ``n_negatives=None`` trains with the full softmax up to this catalogue size.
FULL_SOFTMAX_MAX_TRACKS = 10_000


def resolve_negatives(n_negatives: int | None, rows: int, n_tracks: int) -> int:
    """Resolve the number of sampled negatives per step (0 = full softmax).

    ``None`` means: full softmax while the catalogue is small
    (:data:`FULL_SOFTMAX_MAX_TRACKS`) and a step's ``rows x n_tracks`` logits fit in one
    score block (:data:`apc.models._topk.BLOCK_CELLS`); otherwise 1024 shared sampled
    negatives, which on a 100k-track catalogue cost about 1% of the full softmax.
    """
    if n_negatives is not None:
        return int(n_negatives)
    if n_tracks <= FULL_SOFTMAX_MAX_TRACKS and rows * n_tracks <= BLOCK_CELLS:
        return 0
    return 1024


def last_position(h: torch.Tensor, seq: torch.Tensor, pad: int) -> torch.Tensor:
    """(B, D): the hidden state at the last non-pad position of each right-padded row."""
    lengths = (seq != pad).sum(1).clamp(min=1)
    return h[torch.arange(len(h), device=h.device), lengths - 1]


# ---------------------------------------------------------------------------- Lightning
class SequenceLightning(pl.LightningModule):
    """Base LightningModule: validation by full-catalogue ranking, shared by all models.

    For each held-out (prefix, next track) example the network's last-position logits
    over the whole catalogue are computed, the prefix's tracks are excluded (as
    :meth:`ScoringRecommender.recommend` excludes seeds), and the target's rank is
    counted conservatively (ties rank the target last). ``val_recall@K`` is the share
    of examples whose target ranks in the top ``K``; ``val_mrr@K`` is logged too.

    Parameters
    ----------
    network : nn.Module
        The network; its ``config`` (a :class:`TrainingConfig` subclass) is kept as
        ``self.cfg`` and saved as the hyper-parameters.
    popularity : np.ndarray
        (n_tracks,) occurrence counts, for the negative sampler.
    n_negatives : int
        Resolved number of shared sampled negatives (0 = none).
    sample : bool, optional
        Build the sampler even when ``n_negatives`` is 0 (SASRec's BCE loss).
    """

    def __init__(
        self,
        network: nn.Module,
        *,
        popularity: np.ndarray,
        n_negatives: int = 0,
        sample: bool = False,
    ) -> None:
        super().__init__()
        self.network = network
        self.cfg = cfg = network.config
        self.n_negatives = int(n_negatives)
        self.save_hyperparameters(
            {**dataclasses.asdict(cfg), "n_negatives": self.n_negatives},
            ignore=["network", "popularity"],
        )
        self.val_k = int(cfg.val_k)
        self.sampler_seed = int(cfg.seed)
        self.sampler: NegativeSampler | None = None
        if sample or self.n_negatives > 0:
            self.sampler = NegativeSampler(popularity, cfg.sample_alpha, cfg.seed)

    def on_train_start(self) -> None:
        """Re-seed the negative sampler: distinct, reproducible samples on each DDP rank."""
        if self.sampler is not None:
            self.sampler.generator.manual_seed(self.sampler_seed + 7919 * self.global_rank)

    def next_track_loss(self, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                        targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of each target: full softmax, or sampled softmax over shared negatives.

        With ``n_negatives > 0``, ``n_negatives`` shared negatives are drawn from the
        popularity sampler and the logits are corrected by their log probabilities
        (:func:`sampled_softmax_loss`); the gradients are row-sparse (only the rows read,
        for :class:`~apc.models.sequence.sparse.LazyAdam`) when the network has
        ``sparse_rows``. Otherwise the softmax runs over the whole catalogue.
        """
        if self.n_negatives <= 0:
            return full_softmax_loss(h, weight, bias, targets)
        neg = self.sampler.sample(self.n_negatives, targets.device)
        log_q = self.sampler.log_prob.to(targets.device)
        return sampled_softmax_loss_rows(h, weight, bias, targets, neg, log_q,
                                         sparse=getattr(self.network, "sparse_rows", False))

    def log_train_loss(self, loss: torch.Tensor, n: int) -> None:
        """Log the epoch mean ``train_loss`` and the step loss on the progress bar."""
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        self.log("loss", loss.detach(), on_step=True, on_epoch=False, prog_bar=True, logger=False)

    @property
    def monitor(self) -> str:
        """Name of the early-stopping metric."""
        return f"val_recall@{self.val_k}"

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        seq, target = batch["seq"], batch["target"]  # (B, T), (B,)
        logits, _ = self.network(seq)  # (B, n_tracks)
        pad = logits.shape[1]
        seen = torch.where(seq == pad, seq[:, :1], seq)  # pads -> the first (always seen) track
        logits = logits.scatter(1, seen, float("-inf"))
        t_score = logits.gather(1, target[:, None])  # (B, 1)
        rank = (logits >= t_score).sum(1) - 1  # 0-based; ties count against the target
        hit = (rank < self.val_k) & torch.isfinite(t_score[:, 0])
        rr = torch.where(hit, 1.0 / (rank.float() + 1.0), torch.zeros_like(rank, dtype=torch.float))
        self.log(
            self.monitor, hit.float().mean(), prog_bar=True, batch_size=len(seq), sync_dist=True
        )
        self.log(f"val_mrr@{self.val_k}", rr.mean(), batch_size=len(seq), sync_dist=True)


class _EpochTimer(pl.Callback):
    """Wall time of each training epoch, validation excluded."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._t0: float | None = None

    def on_train_epoch_start(self, trainer, module) -> None:
        self._t0 = time.perf_counter()

    def _stop(self) -> None:
        if self._t0 is not None:
            self.times.append(time.perf_counter() - self._t0)
            self._t0 = None

    def on_validation_epoch_start(self, trainer, module) -> None:
        if trainer.training:
            self._stop()

    def on_train_epoch_end(self, trainer, module) -> None:
        self._stop()


def _progress_enabled() -> bool:
    from apc.progress import enabled

    return enabled()  # a terminal on stderr, unless APC_PROGRESS says otherwise


# ---------------------------------------------------------------------------- Recommender adapter
class SequenceRecommender(ScoringRecommender):
    """Base of the neural next-track Recommenders (GRU4Rec, attentive bi-GRU, SASRec).

    Subclasses set ``layout`` and ``config_class`` (a :class:`TrainingConfig`
    subclass: the model is built from its fields as flat keywords and reads
    ``self.config``) and implement :meth:`_build_network` and :meth:`_build_lightning`;
    :meth:`_check` adds checks that need the training data.

    Fitted attributes
    -----------------
    network_ : nn.Module
        The trained network (CPU, eval mode); the only torch state that is pickled.
    history_ : pandas.DataFrame
        Per-epoch metrics from the CSV logger (``train_loss``, ``val_recall@K``...).
    epoch_times_ : list of float
        Seconds of training per epoch (validation excluded).
    n_train_events_ : int
        (input, target) pairs seen per epoch.
    best_epoch_ : int or None
        Epoch whose weights were kept (None without validation: the last).
    """

    layout: ClassVar[str] = "prefix"
    # the training batch size doubles as the number of queries scored per block

    # ------------------------------------------------------------------ hooks
    def _check(self, train: Playlists) -> None:
        """Model-specific checks against the training data (raise ApcInputError)."""

    def _build_network(self, train: Playlists, features) -> nn.Module:
        raise NotImplementedError

    def _build_lightning(
        self, network: nn.Module, train: Playlists, dm: SequenceDataModule
    ) -> SequenceLightning:
        raise NotImplementedError

    def _min_rows(self) -> int:
        return 1

    # ------------------------------------------------------------------ validation
    def _validate(self, train: Playlists) -> None:
        # types and ranges were checked by validate_params (the config's declarations)
        if train.n_tracks < 2:
            raise ApcInputError(f"needs at least 2 tracks, got {train.n_tracks}", field="tracks")
        if int(np.maximum(train.lengths - 1, 0).sum()) == 0:
            raise ApcInputError(
                "no playlist has two tracks: nothing to learn a next track from", field="items"
            )
        self._check(train)

    # ------------------------------------------------------------------ fit
    def _fit(self, train: Playlists, features) -> None:
        cfg = self.config
        pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
        val_batch = max(1, min(256, BLOCK_CELLS // max(1, train.n_tracks)))
        dm = SequenceDataModule(
            train,
            val_fraction=float(cfg.val_fraction),
            layout=self.layout,
            batch_size=int(cfg.batch_size),
            max_len=cfg.max_len,
            seed=int(cfg.seed),
            min_rows=self._min_rows(),
            val_batch_size=val_batch,
        )
        network = self._build_network(train, features)
        lit = self._build_lightning(network, train, dm)
        has_val = dm.has_validation
        tmp = tempfile.mkdtemp(prefix=f"apc-{self.name}-")
        try:
            from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
            from pytorch_lightning.loggers import CSVLogger

            logger = CSVLogger(save_dir=cfg.log_dir or tmp, name=self.name)
            timer = _EpochTimer()
            callbacks: list[Any] = [timer]
            ckpt = None
            if has_val:
                ckpt = ModelCheckpoint(
                    dirpath=os.path.join(tmp, "checkpoints"),
                    filename="best",
                    monitor=lit.monitor,
                    mode="max",
                    save_top_k=1,
                    save_weights_only=True,
                )
                callbacks += [
                    ckpt,
                    EarlyStopping(monitor=lit.monitor, mode="max", patience=int(cfg.patience)),
                ]
            with _quiet_lightning():
                trainer = pl.Trainer(
                    accelerator=cfg.accelerator,
                    devices=cfg.devices,
                    max_epochs=int(cfg.epochs),
                    logger=logger,
                    callbacks=callbacks,
                    enable_checkpointing=has_val,
                    enable_progress_bar=_progress_enabled(),
                    enable_model_summary=False,
                    num_sanity_val_steps=0,
                    limit_val_batches=1.0 if has_val else 0,
                    default_root_dir=tmp,
                    log_every_n_steps=50,
                )
                with torch_threads(int(cfg.num_threads)):
                    trainer.fit(lit, datamodule=dm)
            self.best_epoch_ = None
            if ckpt is not None and ckpt.best_model_path:
                state = torch.load(ckpt.best_model_path, map_location="cpu", weights_only=True)
                lit.load_state_dict(state["state_dict"])
                self.best_epoch_ = int(state.get("epoch", -1))
            self.history_ = _read_history(logger)
            self.epoch_times_ = list(timer.times)
            self.n_train_events_ = dm.n_train_events
            self.has_validation_ = has_val
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.network_ = lit.network.cpu().eval()
        self._scoring_net = None

    # ------------------------------------------------------------------ scoring
    def _inference_device(self) -> torch.device:
        acc = str(self.config.accelerator).lower()
        if acc in ("gpu", "cuda") or (acc == "auto" and torch.cuda.is_available()):
            if torch.cuda.is_available():
                return torch.device("cuda")
        return torch.device("cpu")

    def _score(self, queries: Queries) -> torch.Tensor:
        """(B, n_tracks) float32 next-track logits of each seed's last ``max_len`` tracks."""
        net = getattr(self, "_scoring_net", None)
        if net is None:
            device = self._inference_device()
            net = self.network_ if device.type == "cpu" else _copy_to(self.network_, device)
            self._scoring_net = net
        device = next(net.parameters()).device
        max_len = self.config.max_len
        seq = pad_seeds(queries.seeds_indptr, queries.seeds, max_len, self.n_tracks_).to(device)
        with torch.no_grad():
            logits, _ = net(seq)
        return logits.float()

    def next_track_log_proba(self, queries: Queries) -> np.ndarray:
        """Return the softmax log-probability of each query's first target.

        The network's next-track logits over the whole catalogue are normalised by a
        full log-softmax (no smoothing needed). The probabilities are those the model
        was trained for only when it was trained with a (full or sampled) softmax
        cross-entropy; with BPR-max or TOP1 losses they are a softmax of ranking scores.

        Parameters
        ----------
        queries : Queries
            Queries with at least one target each.

        Returns
        -------
        np.ndarray
            float64 ``(Q,)``.
        """
        from apc.models._loglik import gather_log_proba
        from apc.models.base import check_is_fitted

        check_is_fitted(self)
        return gather_log_proba(self, queries, normalise=True)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_scoring_net", None)  # a device copy; rebuilt on first use
        return state


def _copy_to(net: nn.Module, device: torch.device) -> nn.Module:
    import copy

    return copy.deepcopy(net).to(device).eval()


def _read_history(logger) -> Any:
    import pandas as pd

    logger.save()
    path = os.path.join(logger.log_dir, "metrics.csv")
    if not os.path.exists(path):
        return pd.DataFrame()
    df = pd.read_csv(path)
    if "epoch" in df.columns:
        df = df.groupby("epoch", as_index=False).first()
    return df.drop(columns=[c for c in ("step",) if c in df.columns])


class _quiet_lightning:
    """Silence Lightning's info banner and its warnings about in-memory data loaders."""

    _patterns = (
        r".*does not have many workers.*",
        r".*smaller than the logging interval.*",
        r".*Checkpoint directory.*exists and is not empty.*",
        r".*GPU available but not used.*",
        r".*LeafSpec.*",
    )

    def __enter__(self):
        self._levels = {}
        for name in (
            "pytorch_lightning",
            "lightning.pytorch",
            "lightning_fabric",
            "lightning.fabric",
        ):
            log = logging.getLogger(name)
            self._levels[name] = log.level
            log.setLevel(logging.WARNING)
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        for p in self._patterns:
            warnings.filterwarnings("ignore", message=p)
        return self

    def __exit__(self, *exc):
        self._warn.__exit__(*exc)
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        return False


def init_uniform_(
    tensor: torch.Tensor, fan_a: int, fan_b: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Uniform in ``±sqrt(6 / (fan_a + fan_b))`` (Glorot; GRU4Rec's ``init_parameter_matrix``)."""
    sigma = math.sqrt(6.0 / float(fan_a + fan_b))
    with torch.no_grad():
        return tensor.uniform_(-sigma, sigma, generator=generator)


__all__ = [
    "IGNORE",
    "NegativeSampler",
    "SequenceLightning",
    "SequenceRecommender",
    "TrainingConfig",
    "full_softmax_loss",
    "init_uniform_",
    "last_position",
    "resolve_negatives",
    "sampled_softmax_loss",
]
