r"""Deep belief network content and hybrid models (Wang & Wang 2014).

Wang & Wang predict a track's latent preference factors from its audio with a deep
belief network (DBN): clip spectrograms (5 s, 120 bands, 30 ms frames; 166 x 120),
PCA-whitened to 100 dimensions per frame (:mod:`apc.features.spectrogram`), feed a stack
of restricted Boltzmann machines pre-trained greedily, layer by layer, with contrastive
divergence (Hinton et al. 2006), then fine-tuned by back-propagation to regress the
factors. The first RBM has Gaussian visible units (the whitened frames), the others
Bernoulli ones; an RBM with weights :math:`W`, visible bias :math:`b` and hidden bias
:math:`c` has

.. math::

    p(h_j = 1 \mid v) = \sigma(c_j + v^\top W_{:j}), \qquad
    \mathbb{E}[v \mid h] = b + W h \ \ (\text{Gaussian}) \ \text{or}\ \sigma(b + W h),

and CD-k updates :math:`\Delta W \propto \langle v h^\top \rangle_0 - \langle v h^\top
\rangle_k`. The fine-tuned network :math:`f` maps every frame through the sigmoid
layers initialised from the RBMs, averages the top layer over the clip's frames and
applies a linear output layer: :math:`\hat y_i = f(x_i)`, trained by squared error
against the WMF factors :math:`y_i` of the training tracks.

``dbn-content`` (the paper's content model) scores every track by :math:`f(x_i)`.
``dbn-hybrid`` (the paper's hybrid) makes the item factor the sum of the content part and
a collaborative offset, :math:`y_i = f(x_i) + \epsilon_i`, learned jointly with the
matrix factorisation: ALS with prior mean :math:`f(x_i)` on :math:`y_i`
(:func:`apc.models.content._base.als_with_prior`), the network fine-tuned on the current
:math:`y` between sweeps. Cold tracks get :math:`f(x_i)`.

References
----------
X. Wang and Y. Wang. "Improving content-based and hybrid music recommendation using deep
learning." ACM Multimedia 2014, 627-636.

G. E. Hinton, S. Osindero and Y.-W. Teh. "A fast learning algorithm for deep belief
nets." Neural Computation 18(7), 1527-1554, 2006.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.models.content._base import (
    ContentConfig,
    FactorModel,
    als_with_prior,
    cached_table,
    confidence_matrix,
    flat_content,
    need_rows,
    predict,
    regress,
    uses_front_end,
    wmf_targets,
)
from apc.models.params import param

try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover
    raise ImportError("the DBN models need torch") from e


class RBM:
    """A restricted Boltzmann machine trained by contrastive divergence (CD-k), in torch.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    gaussian : bool
        Gaussian visible units of unit variance (for whitened real-valued input) instead
        of Bernoulli ones.
    generator : torch.Generator
        Source of the initial weights and of the hidden samples.
    """

    def __init__(self, n_visible: int, n_hidden: int, *, gaussian: bool,
                 generator: torch.Generator) -> None:
        self.gaussian = gaussian
        self.gen = generator
        self.w = 0.01 * torch.randn(n_visible, n_hidden, generator=generator)
        self.b = torch.zeros(n_visible)
        self.c = torch.zeros(n_hidden)

    def hidden_prob(self, v: torch.Tensor) -> torch.Tensor:
        """Return the hidden probabilities p(h = 1 | v), (B, n_hidden)."""
        return torch.sigmoid(v @ self.w + self.c)

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """Return the visible means E[v | h], (B, n_visible)."""
        a = h @ self.w.T + self.b
        return a if self.gaussian else torch.sigmoid(a)

    def cd_step(self, v0: torch.Tensor, *, k: int, lr: float, momentum: float,
                weight_decay: float, state: dict) -> float:
        """One CD-k update on a mini-batch; returns its mean squared reconstruction error."""
        ph0 = self.hidden_prob(v0)
        h = torch.bernoulli(ph0, generator=self.gen)
        for _ in range(k):
            vk = self.visible_mean(h)  # mean-field visible reconstruction
            phk = self.hidden_prob(vk)
            h = torch.bernoulli(phk, generator=self.gen)
        n = len(v0)
        grads = {
            "w": (v0.T @ ph0 - vk.T @ phk) / n - weight_decay * self.w,
            "b": (v0 - vk).mean(0),
            "c": (ph0 - phk).mean(0),
        }
        for name, g in grads.items():
            vel = state.get(name, torch.zeros_like(g)) * momentum + lr * g
            state[name] = vel
            setattr(self, name, getattr(self, name) + vel)
        return float(((v0 - vk) ** 2).mean())


def pretrain_stack(
    frames: np.ndarray, sizes: list[int], *, epochs: int, lr: float, batch_size: int, k: int,
    seed: int,
) -> tuple[list[RBM], list[float]]:
    """Greedy layer-wise CD-k pre-training (Hinton et al. 2006) of an RBM stack on frames.

    Returns
    -------
    rbms : list of RBM
        Bottom to top.
    errors : list of float
        Final-epoch reconstruction error of each layer.
    """
    from apc.progress import progress

    gen = torch.Generator().manual_seed(int(seed))
    data = torch.from_numpy(np.ascontiguousarray(frames, np.float32))
    rbms, errors = [], []
    for layer, n_hid in enumerate(sizes):
        rbm = RBM(data.shape[1], n_hid, gaussian=layer == 0, generator=gen)
        state: dict = {}
        rate = lr * (0.1 if layer == 0 else 1.0)  # Gaussian units need a smaller rate
        err = float("nan")
        for epoch in progress(range(int(epochs)), f"DBN pre-training: RBM {layer + 1}",
                              unit="epoch"):
            perm = torch.randperm(len(data), generator=gen)
            errs = []
            for start in range(0, len(data), int(batch_size)):
                errs.append(rbm.cd_step(data[perm[start : start + int(batch_size)]], k=int(k),
                                        lr=rate, momentum=0.5 if epoch < 5 else 0.9,
                                        weight_decay=2e-4, state=state))
            err = float(np.mean(errs))
        rbms.append(rbm)
        errors.append(err)
        data = rbm.hidden_prob(data)  # the next RBM learns the hidden probabilities
    return rbms, errors


class DBNNet(nn.Module):
    """Frames (B, T, d) -> sigmoid layers (from the RBMs) per frame -> mean over T -> K."""

    def __init__(self, d_in: int, sizes: list[int], n_out: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = d_in
        for n_hid in sizes:
            layers += [nn.Linear(width, n_hid), nn.Sigmoid()]
            width = n_hid
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, n_out)

    def load_rbms(self, rbms: list[RBM]) -> None:
        """Initialise the sigmoid layers with the pre-trained RBM weights and hidden biases."""
        linears = [m for m in self.body if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, rbm in zip(linears, rbms, strict=True):
                lin.weight.copy_(rbm.w.T)
                lin.bias.copy_(rbm.c)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Predicted factors (B, K) of clips given as frames (B, T, d)."""
        return self.out(self.body(frames).mean(dim=1))


@dataclass(frozen=True)
class DBNConfig(ContentConfig):
    """Hyper-parameters of :class:`DBNContent` and :class:`DBNHybrid`."""

    clip_seconds: float = param(5.0, gt=0, doc="Clip length in seconds (the paper's 5).")
    n_bands: int = param(120, ge=1, doc="Spectrogram bands (the paper's 120).")
    window_ms: float = param(30.0, gt=0, doc="Window = hop in ms, no overlap (the paper's 30).")
    n_components: int = param(100, ge=1, doc="PCA dimensions per frame (the paper's 100).")
    frames: int = param(
        32, ge=1, doc="Evenly spaced frames kept per clip (the paper used all 166).")
    hidden: int = param(128, ge=1, doc="Units of every RBM / sigmoid layer.")
    n_layers: int = param(2, ge=1, doc="Stacked RBMs.")
    pretrain_epochs: int = param(5, ge=0, doc="CD epochs per RBM (0: no pre-training).")
    pretrain_frames: int = param(20_000, ge=1, doc="Frames sampled for pre-training.")
    cd_k: int = param(1, ge=1, doc="Gibbs steps of contrastive divergence (CD-k).")
    rbm_lr: float = param(0.05, gt=0, doc="CD learning rate (a tenth of it for layer 1).")
    epochs: int = param(20, ge=1, doc="Fine-tuning epochs.")
    batch_size: int = param(64, ge=1, doc="Clips per fine-tuning mini-batch.")
    lr: float = param(1e-3, gt=0, doc="Adam learning rate of fine-tuning.")
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay.")
    item_regularization: float = param(
        1.0, gt=0, doc="dbn-hybrid: lambda of the CF offset y - f(x).")
    iterations: int = param(5, ge=1, doc="dbn-hybrid: joint ALS sweeps.")
    joint_epochs: int = param(2, ge=1, doc="dbn-hybrid: fine-tuning epochs between sweeps.")


class DBNContent(FactorModel):
    r"""Content-based DBN (Wang & Wang 2014): item factors :math:`f(x_i)` predicted from audio.

    See the module docstring. Every track with content is scored through its predicted
    factors (warm and cold alike); queries are folded in as new WMF users.

    Parameters
    ----------
    **params
        Fields of :class:`DBNConfig` as keywords.

    References
    ----------
    X. Wang and Y. Wang. "Improving content-based and hybrid music recommendation using
    deep learning." ACM Multimedia 2014, 627-636.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> m = DBNContent(features="wmf", n_factors=4, hidden=8, epochs=2).fit(pl)
    >>> m.recommend(queries_from(pl, [[0]], [[1]]), 3).items.shape
    (1, 3)
    """

    name = "dbn-content"
    config_class = DBNConfig

    def clip_frames(self, train: Playlists, features: ItemFeatures | None):
        """Return the per-clip frames (n_tracks, T, d) and the availability mask.

        With ``features="auto"`` and no features given: the Wang & Wang front end
        (:mod:`apc.features.spectrogram`), cached as a feature table. Otherwise every
        track is one "frame": its feature vector (T = 1).
        """
        if not uses_front_end(self, features):
            x, avail = flat_content(self, train, features)
            return x[:, None, :], avail
        from apc.features.sources import audio_digest
        from apc.features.spectrogram import (
            ClipSpectrogramSettings,
            clip_spectrograms,
            pca_frames,
            settings_key,
        )

        s = ClipSpectrogramSettings(
            seconds=float(self.clip_seconds), n_bands=int(self.n_bands),
            window_ms=float(self.window_ms), n_components=int(self.n_components),
            frames=int(self.frames), pca_frames=int(self.pretrain_frames),
        )
        s.validate()

        def build():
            specs, _ = clip_spectrograms(train, s, cache_dir=self.cache_dir)
            return pca_frames(specs, s, seed=int(self.seed))

        matrix, avail = cached_table(train, "wang_spectrogram",
                                     [settings_key(s), int(self.seed), audio_digest(train)],
                                     self.cache_dir, build)
        return matrix.reshape(len(matrix), -1, int(self.n_components)), avail

    def _network(self, frames: np.ndarray, rows: np.ndarray) -> DBNNet:
        sizes = [int(self.hidden)] * int(self.n_layers)
        torch.manual_seed(int(self.seed))
        net = DBNNet(frames.shape[2], sizes, int(self.n_factors))
        self.pretrain_error_ = []
        if int(self.pretrain_epochs) > 0:
            flat = frames[rows].reshape(-1, frames.shape[2])
            rng = np.random.default_rng(int(self.seed))
            pick = rng.choice(len(flat), size=min(len(flat), int(self.pretrain_frames)),
                              replace=False)
            rbms, self.pretrain_error_ = pretrain_stack(
                flat[np.sort(pick)], sizes, epochs=int(self.pretrain_epochs),
                lr=float(self.rbm_lr), batch_size=100, k=int(self.cd_k), seed=int(self.seed),
            )
            net.load_rbms(rbms)
        return net

    def _tune(self, net: DBNNet, frames: np.ndarray, y: np.ndarray, rows: np.ndarray,
              epochs: int, description: str) -> None:
        self.loss_ = getattr(self, "loss_", []) + regress(
            net, [frames], y, rows=rows, epochs=epochs, batch_size=int(self.batch_size),
            lr=float(self.lr), weight_decay=float(self.weight_decay),
            seed=int(self.seed) + len(getattr(self, "loss_", [])), description=description,
        )

    def _prepare(self, train: Playlists, features: ItemFeatures | None):
        frames, avail = self.clip_frames(train, features)
        _, y, warm = wmf_targets(train, self)
        rows = np.flatnonzero(warm & avail)
        need_rows(rows, "content and playlists")
        self.loss_ = []
        net = self._network(frames, rows)
        self._tune(net, frames, y, rows, int(self.epochs), f"{self.name}: fine-tuning")
        return frames, avail, y, warm, rows, net

    def _fit(self, train: Playlists, features: ItemFeatures | None) -> None:
        from apc._threads import torch_threads

        with torch_threads(int(self.num_threads)):
            frames, avail, _, _, _, net = self._prepare(train, features)
            pred = predict(net, [frames])
        self.net_ = net
        self._finish(pred, avail)


class DBNHybrid(DBNContent):
    r"""Hybrid DBN (Wang & Wang 2014): :math:`y_i = f(x_i) + \epsilon_i`, learned jointly.

    The content network is pre-trained and fine-tuned as in :class:`DBNContent`; then
    ALS with prior mean :math:`f(x_i)` alternates with fine-tuning :math:`f` on the
    current item factors. Warm tracks are scored by the joint :math:`y_i`, cold ones by
    :math:`f(x_i)`.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> m = DBNHybrid(features="wmf", n_factors=4, hidden=8, epochs=2, iterations=2).fit(pl)
    >>> m.recommend(queries_from(pl, [[0]], [[1]]), 3).items.shape
    (1, 3)
    """

    name = "dbn-hybrid"

    def _fit(self, train: Playlists, features: ItemFeatures | None) -> None:
        from apc._threads import torch_threads

        with torch_threads(int(self.num_threads)):
            frames, avail, _, warm, rows, net = self._prepare(train, features)

            def prior_of(y: np.ndarray) -> np.ndarray:
                """Fine-tune f on the current item factors; return f(x) for every track."""
                self._tune(net, frames, y, rows, int(self.joint_epochs),
                           "dbn-hybrid: joint fine-tuning")
                return predict(net, [frames]) * avail[:, None]

            conf = confidence_matrix(train.to_csr(), float(self.alpha), float(self.epsilon))
            _, y = als_with_prior(
                conf, predict(net, [frames]) * avail[:, None],
                reg=float(self.regularization), reg_item=float(self.item_regularization),
                iterations=int(self.iterations), seed=int(self.seed), update_prior=prior_of,
                description="dbn-hybrid: ALS",
            )
            content = predict(net, [frames])
        self.net_ = net
        self.content_factors_ = np.where(avail[:, None], content, 0.0).astype(np.float32)
        self.warm_ = warm.copy()
        self._finish(np.where(warm[:, None], y, self.content_factors_), warm | avail)
