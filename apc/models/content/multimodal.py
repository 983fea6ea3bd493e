r"""A deep multimodal model for cold-start recommendation (Oramas et al. 2017).

Oramas et al. learn two content networks that regress collaborative factors and fuse
them late:

- **audio**: a CNN on one constant-Q patch per track (96 bins, 46 ms hops, 15 s; ReLU,
  50% dropout; :mod:`apc.features.cqt`) regresses the track's WMF factors
  :math:`y_t`;
- **text**: an MLP on the TF-IDF vector of the artist's biography
  (:mod:`apc.features.text`) regresses the artist's WMF factors :math:`a_{\mathrm{art}(t)}`,
  from a factorisation of the playlist x artist matrix;
- **fusion**: an MLP on the concatenated predictions
  :math:`[\hat y_t;\ \hat a_{\mathrm{art}(t)}]` regresses :math:`y_t` again:

.. math::

    \hat y_t^{\mathrm{fused}} = g_\phi\big([\,f^{\mathrm{audio}}(x_t);\
    f^{\mathrm{text}}(d_{\mathrm{art}(t)})\,]\big), \qquad
    \min \sum_{t\ \mathrm{warm}} \lVert y_t - \hat y_t^{\mathrm{fused}} \rVert^2 .

Every track with audio or artist text is scored by its fused factors (warm and cold
alike); queries are folded in as new WMF users.

When a modality is missing the model uses what is there and says so (a
:class:`~apc.errors.DataWarning` and ``notes_``): no artist text (real corpora rarely
have it) -> audio only; no audio -> the feature-store content (``tags_w2v`` / ``wmf``)
through an MLP instead of the CNN.

References
----------
S. Oramas, O. Nieto, M. Sordo and X. Serra. "A deep multimodal approach for cold-start
music recommendation." DLRS 2017 (RecSys workshop), 32-37.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError, DataWarning
from apc.models.content._base import (
    ContentConfig,
    FactorModel,
    cached_table,
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
    raise ImportError("Multimodal needs torch") from e


class CQTNet(nn.Module):
    """Constant-Q patch (B, bins, T) -> factors (B, K): 2 x (conv, ReLU), pooling, dropout."""

    def __init__(self, n_bins: int, n_out: int, *, channels: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(n_bins, channels, 4, padding=2), nn.ReLU(), nn.MaxPool1d(4, ceil_mode=True),
            nn.Conv1d(channels, channels, 4, padding=2), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * channels, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted factors (B, K); mean and max over time are pooled."""
        h = self.conv(x)
        return self.head(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))


class MLP(nn.Module):
    """(B, d) -> Linear, ReLU, dropout -> Linear -> (B, K)."""

    def __init__(self, d_in: int, n_out: int, *, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted factors (B, K)."""
        return self.net(x)


@dataclass(frozen=True)
class MultimodalConfig(ContentConfig):
    """Hyper-parameters of :class:`Multimodal`."""

    patch_seconds: float = param(
        5.0, gt=0, doc="Length of the constant-Q patch (the paper's 15 s; 5 s keeps "
        "synth:small quick).")
    n_bins: int = param(96, ge=1, doc="Constant-Q bins (the paper's 96, 12 per octave).")
    hop_length: int = param(1024, ge=1, doc="Hop in samples at 22,050 Hz (46 ms, no overlap).")
    channels: int = param(64, ge=1, doc="CNN filters per convolution.")
    hidden: int = param(128, ge=1, doc="Hidden units of the text and fusion MLPs.")
    dropout: float = param(0.5, ge=0, lt=1, doc="Dropout (the paper's 50%).")
    epochs: int = param(20, ge=1, doc="Epochs of the audio network.")
    text_epochs: int = param(100, ge=1, doc="Epochs of the text MLP (one sample per artist).")
    fusion_epochs: int = param(30, ge=1, doc="Epochs of the fusion MLP.")
    batch_size: int = param(32, ge=1, doc="Samples per mini-batch.")
    lr: float = param(1e-3, gt=0, doc="Adam learning rate.")
    weight_decay: float = param(0.0, ge=0, doc="Adam weight decay.")
    text_column: str = param("bio", doc="Column of the artists table holding artist text.")
    max_terms: int = param(2000, ge=1, doc="TF-IDF vocabulary size.")
    modalities: str = param(
        "auto", choices=("auto", "audio+text", "audio", "text"),
        doc="Branches to use; auto: those the corpus has (reported in notes_).")


class Multimodal(FactorModel):
    r"""Audio CNN + artist-text MLP + late fusion, regressing WMF factors (Oramas et al. 2017).

    See the module docstring. ``modalities_`` says which branches were trained and
    ``notes_`` why a branch was left out.

    Parameters
    ----------
    **params
        Fields of :class:`MultimodalConfig` as keywords.

    References
    ----------
    S. Oramas, O. Nieto, M. Sordo and X. Serra. "A deep multimodal approach for
    cold-start music recommendation." DLRS 2017, 32-37.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> m = Multimodal(features="wmf", n_factors=4, epochs=2, modalities="audio").fit(pl)
    >>> m.recommend(queries_from(pl, [[0]], [[1]]), 3).items.shape
    (1, 3)
    """

    name = "multimodal"
    config_class = MultimodalConfig

    def _note(self, text: str) -> None:
        self.notes_.append(text)
        warnings.warn(f"multimodal: {text}", DataWarning, stacklevel=4)

    # ------------------------------------------------------------------ branches
    def _audio_branch(self, train: Playlists, features: ItemFeatures | None, y, warm):
        """Train the audio (or content) network; return its predictions and mask."""
        from apc.features.store import has_audio

        if uses_front_end(self, features) and has_audio(train):
            from apc.features.cqt import CQTSettings, cqt_patches, settings_key
            from apc.features.sources import audio_digest

            s = CQTSettings(seconds=float(self.patch_seconds), n_bins=int(self.n_bins),
                            hop_length=int(self.hop_length))
            s.validate()
            matrix, avail = cached_table(
                train, "cqt_patch", [settings_key(s), audio_digest(train)], self.cache_dir,
                lambda: cqt_patches(train, s)[:2])
            x = matrix.reshape(len(matrix), int(self.n_bins), -1)
            net: nn.Module = CQTNet(int(self.n_bins), int(self.n_factors),
                                    channels=int(self.channels), dropout=float(self.dropout))
        else:
            if uses_front_end(self, features):
                from apc.models.hybrid import default_feature_names

                names = ",".join(default_feature_names(train))
                self._note(f"the corpus has no audio; the track branch is an MLP on {names}")
                x, avail = flat_content(self, train, None, names)
            else:
                x, avail = flat_content(self, train, features)
            net = MLP(x.shape[1], int(self.n_factors), hidden=int(self.hidden),
                      dropout=float(self.dropout))
        rows = np.flatnonzero(warm & avail)
        need_rows(rows, "content and playlists")
        torch.manual_seed(int(self.seed))
        self.audio_loss_ = regress(
            net, [x], y, rows=rows, epochs=int(self.epochs), batch_size=int(self.batch_size),
            lr=float(self.lr), weight_decay=float(self.weight_decay), seed=int(self.seed),
            description="multimodal: audio network")
        self.audio_net_ = net
        return predict(net, [x], batch=256) * avail[:, None], avail

    def _text_branch(self, train: Playlists):
        """Train the artist-text MLP; return per-track predictions and mask, or None."""
        from apc.features.text import artist_texts, tfidf
        from apc.features.wmf import WMF

        texts = artist_texts(train.artists, self.text_column)
        m, has_text, terms = tfidf(texts, max_features=int(self.max_terms))
        if not has_text.any():
            self._note(f"no artist text (artists column {self.text_column!r} absent or empty); "
                       "using audio only")
            return None
        art = train.tracks["artist"].to_numpy().astype(np.int64)
        known = (art >= 0) & (art < len(texts))
        t2a = sp.csr_array(
            (np.ones(int(known.sum()), np.float32), (np.flatnonzero(known), art[known])),
            shape=(train.n_tracks, len(texts)))
        wmf = WMF(n_factors=int(self.n_factors), regularization=float(self.regularization),
                  alpha=float(self.alpha), epsilon=float(self.epsilon),
                  iterations=int(self.wmf_iterations), seed=int(self.seed), num_threads=1)
        wmf.fit_matrix(train.to_csr() @ t2a)
        rows = np.flatnonzero(wmf.available_ & has_text)
        if len(rows) < 2:
            self._note("fewer than two artists have both text and playlists; using audio only")
            return None
        d = m.toarray()
        torch.manual_seed(int(self.seed))
        net = MLP(d.shape[1], int(self.n_factors), hidden=int(self.hidden),
                  dropout=float(self.dropout))
        self.text_loss_ = regress(
            net, [d], wmf.track_factors_, rows=rows, epochs=int(self.text_epochs),
            batch_size=int(self.batch_size), lr=float(self.lr),
            weight_decay=float(self.weight_decay), seed=int(self.seed),
            description="multimodal: text network")
        self.text_net_, self.terms_ = net, terms
        pred_art = predict(net, [d]) * has_text[:, None]
        track_has = known.copy()
        track_has[known] = has_text[art[known]]
        out = np.zeros((train.n_tracks, int(self.n_factors)), np.float32)
        out[track_has] = pred_art[art[track_has]]
        return out, track_has

    # ------------------------------------------------------------------ fit
    def _fit(self, train: Playlists, features: ItemFeatures | None) -> None:
        from apc._threads import torch_threads

        self.notes_: list[str] = []
        want = self.modalities
        _, y, warm = wmf_targets(train, self)
        with torch_threads(int(self.num_threads)):
            audio = None if want == "text" else self._audio_branch(train, features, y, warm)
            text = None if want == "audio" else self._text_branch(train)
            if want in ("text", "audio+text") and text is None:
                raise ApcInputError(
                    f"modalities={want!r} needs artist text in column {self.text_column!r}",
                    field="modalities")
            branches = [b for b in (audio, text) if b is not None]
            self.modalities_ = [n for n, b in (("audio", audio), ("text", text)) if b is not None]
            avail = np.logical_or.reduce([b[1] for b in branches])
            if len(branches) == 1:
                factors = branches[0][0]
            else:
                z = np.concatenate([b[0] for b in branches], axis=1)
                rows = np.flatnonzero(warm & avail)
                need_rows(rows, "content and playlists")
                torch.manual_seed(int(self.seed))
                net = MLP(z.shape[1], int(self.n_factors), hidden=int(self.hidden),
                          dropout=float(self.dropout))
                self.fusion_loss_ = regress(
                    net, [z], y, rows=rows, epochs=int(self.fusion_epochs),
                    batch_size=int(self.batch_size), lr=float(self.lr),
                    weight_decay=float(self.weight_decay), seed=int(self.seed),
                    description="multimodal: fusion network")
                self.fusion_net_ = net
                factors = predict(net, [z])
        self._finish(factors, avail)
