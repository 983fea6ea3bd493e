r"""A convolutional network from log-mel spectrograms to WMF factors (van den Oord et al. 2013).

The network sees random 3-second windows of a track's log-mel spectrogram (128 bands x
129 frames at 22,050 Hz / hop 512) and regresses the track's latent factors from
weighted matrix factorisation (:mod:`apc.features.wmf`). As in the paper, convolutions
are one-dimensional over time (the mel bands are the input channels), interleaved with
max-pooling over time, followed by a global temporal pooling layer that concatenates
the mean, the maximum and the L2 norm over time, and fully connected layers. At
inference the predictions of consecutive windows of a clip are averaged.

Two losses (paper, Sec. 4): the mean squared error to the factors (``loss="mse"``), or
the weighted prediction error of the WMF objective (``loss="wpe"``)

.. math::

    \sum_{u,i} c_{ui} (p_{ui} - x_u^\top y'_i)^2

with the playlist factors ``x_u`` held fixed and ``y'_i`` the predicted track factors,
computed without densifying (see :meth:`apc.features.wmf.WMF.weighted_error`).

Three layers, as in the house style: :class:`AudioCNN` (``nn.Module``),
:class:`LitAudioCNN` (``LightningModule``: loss, optimiser) and
:class:`AudioFactorCNN` (the estimator: ``fit(spectrograms, factors)``/``predict``).

References
----------
A. van den Oord, S. Dieleman and B. Schrauwen. "Deep content-based music
recommendation." NIPS 2013, 2643-2651.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from apc._threads import torch_threads
from apc.errors import ApcInputError

try:  # torch is a hard dependency, but keep `import apc.features.cnn` cheap to fail
    import pytorch_lightning as L
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover
    raise ImportError("apc.features.cnn needs torch and pytorch-lightning") from e


@dataclass(frozen=True)
class AudioCNNConfig:
    """Shape of :class:`AudioCNN` (tiny CPU defaults; the paper's net is wider).

    Parameters
    ----------
    n_mels : int
        Input channels = mel bands (128).
    n_outputs : int
        Output dimension = number of WMF factors.
    channels : tuple of int
        Filters of each 1-D convolution over time (default (64, 64)).
    kernel_size : int
        Width of the convolutions in frames (4, as in the paper).
    pool_sizes : tuple of int
        Max-pooling factor after each convolution (default (4, 2)).
    hidden : int
        Width of the fully connected layer after global pooling (default 128).
    dropout : float
        Dropout before the output layer (default 0.0).
    """

    n_mels: int = 128
    n_outputs: int = 32
    channels: tuple[int, ...] = (64, 64)
    kernel_size: int = 4
    pool_sizes: tuple[int, ...] = (4, 2)
    hidden: int = 128
    dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "pool_sizes", tuple(int(p) for p in self.pool_sizes))
        if len(self.channels) != len(self.pool_sizes) or not self.channels:
            raise ApcInputError(
                "channels and pool_sizes must be non-empty and equally long", field="channels"
            )

    def output_frames(self, frames: int) -> int:
        """Count the time steps left after the conv/pool stack.

        Parameters
        ----------
        frames : int
            Input length in frames.

        Returns
        -------
        int
            Output length; 0 when the input is too short for the stack.
        """
        t = int(frames)
        for pool in self.pool_sizes:
            t = t - self.kernel_size + 1
            if t < 1:
                return 0
            t = -(-t // pool)
        return t


class AudioCNN(nn.Module):
    """1-D convolutions over time, max-pooling, global (mean, max, L2) pooling, dense head.

    ``forward(x)`` maps a batch of log-mel windows ``(B, n_mels, T)`` to predicted
    factors ``(B, n_outputs)``; the input is standardised per band with the buffers
    ``band_mean`` and ``band_std``.

    Parameters
    ----------
    config : AudioCNNConfig
        Network shape.
    """

    def __init__(self, config: AudioCNNConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        c_in = config.n_mels
        for c_out, pool in zip(config.channels, config.pool_sizes, strict=True):
            layers += [
                nn.Conv1d(c_in, c_out, config.kernel_size),  # "valid" convolution over time
                nn.ReLU(),
                nn.MaxPool1d(pool, ceil_mode=True),
            ]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(3 * c_in, config.hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.n_outputs),
        )
        # per-band standardisation of the input, learned from the training clips
        self.register_buffer("band_mean", torch.zeros(config.n_mels, 1))
        self.register_buffer("band_std", torch.ones(config.n_mels, 1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pool the conv features over time (mean, max, L2): (B, n_mels, T) -> (B, 3 C).

        Parameters
        ----------
        x : torch.Tensor
            float (B, n_mels, T) log-mel windows.

        Returns
        -------
        torch.Tensor
            (B, 3 C), C the channels of the last convolution.
        """
        h = self.conv((x - self.band_mean) / self.band_std)  # (B, C, T')
        mean = h.mean(dim=2)
        mx = h.amax(dim=2)
        l2 = torch.sqrt((h * h).mean(dim=2) + 1e-8)
        return torch.cat([mean, mx, l2], dim=1)  # (B, 3C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict factors from log-mel windows.

        Parameters
        ----------
        x : torch.Tensor
            float (B, n_mels, T).

        Returns
        -------
        torch.Tensor
            (B, n_outputs).
        """
        return self.head(self.embed(x))


class LitAudioCNN(L.LightningModule):
    """Lightning wrapper: MSE or weighted prediction error, Adam.

    Parameters
    ----------
    config : AudioCNNConfig
        Network shape.
    lr, weight_decay : float
        Adam settings.
    loss : {"mse", "wpe"}
        Training objective.
    target_scale : float
        Targets are divided by this for ``mse`` (predictions are multiplied back).
    """

    def __init__(
        self,
        config: AudioCNNConfig,
        *,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        loss: str = "mse",
        target_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters({"config": asdict(config), "lr": lr, "loss": loss})
        self.net = AudioCNN(config)
        self.lr, self.weight_decay, self.loss_name = lr, weight_decay, loss
        self.target_scale = float(target_scale)
        self.wpe: _WPE | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict factors in target units: (B, n_mels, T) -> (B, K).

        Parameters
        ----------
        x : torch.Tensor
            float (B, n_mels, T) log-mel windows.

        Returns
        -------
        torch.Tensor
            The network's output multiplied by ``target_scale``.
        """
        return self.net(x) * self.target_scale

    def training_step(self, batch, batch_idx):
        """Compute the training loss of a batch and log it as ``train_loss``.

        Parameters
        ----------
        batch : tuple of torch.Tensor
            ``(windows, target factors, clip indices)``.
        batch_idx : int
            Index of the batch (unused).

        Returns
        -------
        torch.Tensor
            The weighted prediction error (``loss="wpe"``) or the MSE to the scaled
            targets.
        """
        x, y, idx = batch
        pred = self.net(x)
        if self.loss_name == "wpe":
            loss = self.wpe(pred * self.target_scale, idx)
        else:
            loss = torch.mean((pred - y / self.target_scale) ** 2)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(x))
        return loss

    def configure_optimizers(self):
        """Return the Adam optimiser (``lr``, ``weight_decay``)."""
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


class _WPE:
    """Weighted prediction error of a batch of predicted track factors (mean per cell)."""

    def __init__(self, playlist_factors: np.ndarray, counts, alpha: float, epsilon: float) -> None:
        from apc.features.wmf import confidence

        x = torch.as_tensor(np.asarray(playlist_factors, np.float32))
        self.x = x
        self.gram = x.T @ x  # (K, K)
        ct = sp.csr_array(counts).T.tocsr()  # tracks x playlists
        self.indptr, self.users = ct.indptr, ct.indices
        self.conf = confidence(ct.data, alpha, epsilon)
        self.n_users = x.shape[0]

    def __call__(self, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        idx = idx.cpu().numpy()
        lengths = self.indptr[idx + 1] - self.indptr[idx]
        starts = np.repeat(self.indptr[idx], lengths)
        offs = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        pos = starts + offs
        rows = torch.as_tensor(np.repeat(np.arange(len(idx)), lengths), device=y.device)
        users = torch.as_tensor(self.users[pos], device=y.device, dtype=torch.long)
        conf = torch.as_tensor(self.conf[pos], device=y.device)
        dense = torch.einsum("bk,kl,bl->", y, self.gram.to(y.device), y)
        s = (self.x.to(y.device)[users] * y[rows]).sum(dim=1)
        sparse = (conf * (1 - s) ** 2 - s**2).sum()
        return (dense + sparse) / (len(idx) * self.n_users)


class _Windows(torch.utils.data.Dataset):
    """Random fixed-length windows of each clip; the crop depends on (seed, epoch, index)."""

    def __init__(
        self, specs: Sequence[np.ndarray], targets: np.ndarray, window: int, seed: int
    ) -> None:
        self.specs, self.targets, self.window, self.seed = specs, targets, window, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, i: int):
        s = self.specs[i]
        rng = np.random.default_rng([self.seed, self.epoch, i])
        w = _crop(s, self.window, int(rng.integers(0, max(1, s.shape[1] - self.window + 1))))
        return torch.from_numpy(w), torch.from_numpy(self.targets[i]), i


class _EpochSetter(L.Callback):
    def __init__(self, dataset: _Windows) -> None:
        self.dataset = dataset

    def on_train_epoch_start(self, trainer, pl_module) -> None:  # noqa: D102
        self.dataset.epoch = trainer.current_epoch


def _crop(spec: np.ndarray, window: int, start: int) -> np.ndarray:
    """``spec[:, start:start + window]``, right-padded with the clip's minimum if short."""
    out = spec[:, start : start + window]
    if out.shape[1] < window:
        pad = np.full((spec.shape[0], window - out.shape[1]), spec.min(), dtype=np.float32)
        out = np.concatenate([out, pad], axis=1)
    return np.ascontiguousarray(out, dtype=np.float32)


@contextmanager
def quiet_lightning():
    """Silence Lightning's info banner and its 'few workers' warnings inside the block.

    Lightning loggers are set to WARNING and restored afterwards.

    Yields
    ------
    None
    """
    loggers = [
        logging.getLogger(n)
        for n in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*GPU available.*")
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            warnings.filterwarnings("ignore", message=".*number of training batches.*")
            warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
            yield
    finally:
        for lg, lvl in zip(loggers, levels, strict=True):
            lg.setLevel(lvl)


def make_trainer(
    *, max_epochs: int, accelerator: str = "cpu", callbacks=None, **kwargs
) -> L.Trainer:
    """Make a quiet, checkpoint-free Lightning ``Trainer`` (progress bar per APC_PROGRESS).

    Parameters
    ----------
    max_epochs : int
        Training epochs.
    accelerator : str, default "cpu"
        Lightning accelerator (one device).
    callbacks : list, optional
        Lightning callbacks.
    **kwargs
        Further ``Trainer`` arguments.

    Returns
    -------
    pytorch_lightning.Trainer
        Without logger, checkpoints, model summary or sanity validation steps.
    """
    from apc.progress import enabled

    return L.Trainer(
        max_epochs=int(max_epochs),
        accelerator=accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=enabled(),
        callbacks=callbacks or [],
        num_sanity_val_steps=0,
        **kwargs,
    )


class AudioFactorCNN:
    """Estimator: train :class:`AudioCNN` on spectrograms -> factors, predict per clip.

    Parameters
    ----------
    config : AudioCNNConfig, optional
        Network shape; ``n_mels`` and ``n_outputs`` are taken from the data.
    window_seconds : float
        Length of the training and inference windows (3.0 s, as in the paper).
    frames_per_second : float
        Spectrogram frame rate (22,050 / 512).
    epochs : int
        Training epochs (one random window per clip each; default 15, sized for
        ``synth:small``, where 30 cost 51 CPU s for +0.011 recall@100; issue 13).
    batch_size : int
        Clips per mini-batch (default 32).
    lr, weight_decay : float
        Adam settings (1e-3, 0).
    loss : {"mse", "wpe"}
        Objective; ``"wpe"`` needs ``wmf`` and ``counts`` in :meth:`fit`.
    seed : int
        Seed of initialisation, shuffling and window crops.
    accelerator : str
        Lightning accelerator ("cpu" by default; "auto" or "gpu" where available).
    num_threads : int
        Torch intra-op threads while training and predicting (default 1; 0: torch's
        default). The network is small: on a loaded 2-core machine a training step
        took 15.6 CPU ms with one thread and 203 CPU ms with two spin-waiting OpenMP
        threads (issue 13).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> specs = [rng.random((16, 200), dtype=np.float32) for _ in range(4)]
    >>> cfg = AudioCNNConfig(channels=(8,), pool_sizes=(2,), hidden=8)
    >>> cnn = AudioFactorCNN(epochs=1, config=cfg)
    >>> cnn.fit(specs, rng.random((4, 3), dtype=np.float32)).predict(specs).shape
    (4, 3)
    """

    def __init__(
        self,
        *,
        config: AudioCNNConfig | None = None,
        window_seconds: float = 3.0,
        frames_per_second: float = 22_050 / 512,
        epochs: int = 15,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        loss: str = "mse",
        seed: int = 0,
        accelerator: str = "cpu",
        num_threads: int = 1,
    ) -> None:
        self.config = config
        self.window_seconds = window_seconds
        self.frames_per_second = frames_per_second
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.loss = loss
        self.seed = seed
        self.accelerator = accelerator
        self.num_threads = num_threads

    @property
    def window_frames(self) -> int:
        """Frames per window (129 for 3 s at 22,050 Hz / 512)."""
        return max(1, int(round(self.window_seconds * self.frames_per_second)))

    def fit(
        self,
        spectrograms: Sequence[np.ndarray],
        factors: np.ndarray,
        *,
        wmf=None,
        counts=None,
        track_index: np.ndarray | None = None,
    ) -> AudioFactorCNN:
        """Train on clips and their target factors.

        Parameters
        ----------
        spectrograms : sequence of np.ndarray
            float32 (n_mels, n_frames) per clip.
        factors : np.ndarray
            float32 (n_clips, K) targets (WMF track factors).
        wmf : apc.features.wmf.WMF, optional
            Fitted factorisation (its playlist factors, ``alpha``, ``epsilon``): for ``wpe``.
        counts : sparse matrix, optional
            Playlists x tracks counts the WMF was fitted on: for ``wpe``.
        track_index : np.ndarray, optional
            int (n_clips,): column of ``counts`` of each clip (for ``wpe``).

        Returns
        -------
        AudioFactorCNN
            ``self``, fitted.

        Raises
        ------
        ApcInputError
            On an unknown loss, mismatched or malformed inputs, windows too short for
            the network, or ``loss="wpe"`` without ``wmf`` and ``counts``.
        """
        if self.loss not in ("mse", "wpe"):
            raise ApcInputError(f"loss must be 'mse' or 'wpe', got {self.loss!r}", field="loss")
        specs = [np.asarray(s, dtype=np.float32) for s in spectrograms]
        y = np.ascontiguousarray(factors, dtype=np.float32)
        if len(specs) != len(y) or len(specs) == 0:
            raise ApcInputError(f"{len(specs)} clips for {len(y)} target rows", field="factors")
        n_mels = specs[0].shape[0]
        if any(s.ndim != 2 or s.shape[0] != n_mels for s in specs):
            raise ApcInputError(
                "all spectrograms must be (n_mels, n_frames) with one n_mels", field="spectrograms"
            )
        base = self.config or AudioCNNConfig()
        cfg = AudioCNNConfig(**{**asdict(base), "n_mels": n_mels, "n_outputs": y.shape[1]})
        if cfg.output_frames(self.window_frames) < 1:
            raise ApcInputError(
                f"windows of {self.window_frames} frames are too short for the conv stack",
                field="window_seconds",
            )
        L.seed_everything(int(self.seed), workers=True, verbose=False)
        scale = float(np.sqrt(np.mean(y**2))) or 1.0
        lit = LitAudioCNN(
            cfg, lr=self.lr, weight_decay=self.weight_decay, loss=self.loss, target_scale=scale
        )
        allf = np.concatenate(specs, axis=1)
        lit.net.band_mean.copy_(torch.from_numpy(allf.mean(axis=1, keepdims=True)))
        lit.net.band_std.copy_(torch.from_numpy(allf.std(axis=1, keepdims=True) + 1e-3))
        del allf
        if self.loss == "wpe":
            if wmf is None or counts is None:
                raise ApcInputError("loss='wpe' needs the fitted wmf and the counts", field="loss")
            idx = np.arange(len(specs)) if track_index is None else np.asarray(track_index)
            lit.wpe = _WPE(
                wmf.playlist_factors_, sp.csr_array(counts)[:, idx], wmf.alpha, wmf.epsilon
            )
        data = _Windows(specs, y, self.window_frames, int(self.seed))
        gen = torch.Generator().manual_seed(int(self.seed))
        loader = torch.utils.data.DataLoader(
            data, batch_size=int(self.batch_size), shuffle=True, generator=gen, num_workers=0
        )
        with quiet_lightning(), torch_threads(int(self.num_threads)):
            trainer = make_trainer(
                max_epochs=self.epochs, accelerator=self.accelerator, callbacks=[_EpochSetter(data)]
            )
            trainer.fit(lit, loader)
        lit.wpe = None  # holds training data; not needed for prediction
        self.module_ = lit.cpu().eval()
        self.n_outputs_ = y.shape[1]
        return self

    @torch.no_grad()
    def predict(
        self, spectrograms: Sequence[np.ndarray | None], *, batch_windows: int = 256
    ) -> np.ndarray:
        """Predict factors per clip: the mean over its consecutive windows.

        Parameters
        ----------
        spectrograms : sequence of np.ndarray or None
            float32 (n_mels, n_frames) per clip; ``None`` gives a row of zeros.
        batch_windows : int
            Windows per forward pass.

        Returns
        -------
        np.ndarray
            float32 (n_clips, K).
        """
        if not hasattr(self, "module_"):
            from apc.errors import NotFittedError

            raise NotFittedError("AudioFactorCNN is not fitted yet; call fit() first")
        w = self.window_frames
        out = np.zeros((len(spectrograms), self.n_outputs_), dtype=np.float32)
        counts = np.zeros(len(spectrograms), dtype=np.float32)
        windows: list[np.ndarray] = []
        owner: list[int] = []

        def flush() -> None:
            pred = self.module_(torch.from_numpy(np.stack(windows))).numpy()
            np.add.at(out, np.asarray(owner), pred)
            windows.clear()
            owner.clear()

        with torch_threads(int(getattr(self, "num_threads", 1))):
            for i, s in enumerate(spectrograms):
                if s is None:
                    continue
                s = np.asarray(s, dtype=np.float32)
                n = max(1, s.shape[1] // w)  # consecutive, non-overlapping windows
                for j in range(n):
                    windows.append(_crop(s, w, j * w))
                    owner.append(i)
                    if len(windows) >= batch_windows:
                        flush()
                counts[i] = n
            if windows:
                flush()
        has = counts > 0
        out[has] /= counts[has, None]
        return out
