"""The MFCC bag-of-words baseline of van den Oord et al. (2013, Sec. 5.2).

Each clip becomes a sequence of 39-dimensional frames (13 MFCCs with their first and
second time derivatives), every frame is vector-quantised against a k-means vocabulary
(``sklearn.cluster.MiniBatchKMeans``), and the clip is summarised by the normalised
histogram of its words (a bag of words), reduced by PCA. A linear (ridge) regression or
a multi-layer perceptron then maps that vector to the WMF factors
(:class:`FactorRegressor`), the baseline the paper's CNN is compared against.

MFCCs are computed from the cached log-mel spectrograms of :mod:`apc.features.audio`
(decompressed to power, converted to dB, then a DCT), so audio is decoded once.

References
----------
A. van den Oord, S. Dieleman and B. Schrauwen. "Deep content-based music
recommendation." NIPS 2013, 2643-2651.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apc.errors import ApcInputError
from apc.features.audio import MelSettings, decompress


def mfcc_frames(
    logmel: np.ndarray, settings: MelSettings | None = None, *, n_mfcc: int = 13
) -> np.ndarray:
    """Compute the MFCCs, with deltas and delta-deltas, of one clip.

    Parameters
    ----------
    logmel : np.ndarray
        float32 (n_mels, n_frames), compressed as in ``settings``.
    settings : MelSettings, optional
        The settings the spectrogram was computed with.
    n_mfcc : int
        Number of cepstral coefficients (13).

    Returns
    -------
    np.ndarray
        float32 (n_frames, 3 * n_mfcc).
    """
    import librosa

    s = settings or MelSettings()
    power = decompress(np.asarray(logmel, dtype=np.float32), s)
    db = librosa.power_to_db(power, ref=1.0, top_db=80.0)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=n_mfcc)
    t = mfcc.shape[1]
    width = min(9, t if t % 2 else t - 1)
    if width >= 3:
        d1 = librosa.feature.delta(mfcc, width=width, order=1, mode="nearest")
        d2 = librosa.feature.delta(mfcc, width=width, order=2, mode="nearest")
    else:
        d1 = d2 = np.zeros_like(mfcc)
    return np.vstack([mfcc, d1, d2]).T.astype(np.float32)


class MFCCBagOfWords:
    """k-means vocabulary of MFCC frames -> normalised word histogram per clip -> PCA.

    Parameters
    ----------
    n_words : int
        Vocabulary size (default 256; the paper used a much larger one).
    n_components : int
        PCA dimension of the bag of words (default 32; capped by the data).
    n_mfcc : int
        Cepstral coefficients per frame (13; frames have ``3 * n_mfcc`` values).
    frames_per_clip : int
        Frames sampled from each clip to fit the vocabulary (default 200).
    settings : MelSettings, optional
        Settings of the input spectrograms.
    seed : int
        Seed of the frame sampling, k-means and PCA.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> specs = [np.log1p(1e4 * rng.random((128, 60), dtype=np.float32)) for _ in range(6)]
    >>> MFCCBagOfWords(n_words=8, n_components=3).fit_transform(specs).shape
    (6, 3)
    """

    def __init__(
        self,
        *,
        n_words: int = 256,
        n_components: int = 32,
        n_mfcc: int = 13,
        frames_per_clip: int = 200,
        settings: MelSettings | None = None,
        seed: int = 0,
    ) -> None:
        self.n_words = n_words
        self.n_components = n_components
        self.n_mfcc = n_mfcc
        self.frames_per_clip = frames_per_clip
        self.settings = settings
        self.seed = seed

    def _frames(self, spectrograms) -> list[np.ndarray | None]:
        s = self.settings or MelSettings()
        return [None if x is None else mfcc_frames(x, s, n_mfcc=self.n_mfcc) for x in spectrograms]

    def fit(self, spectrograms: Sequence[np.ndarray | None]) -> MFCCBagOfWords:
        """Learn the frame scaler, the vocabulary and the PCA from clips (``None`` skipped).

        Parameters
        ----------
        spectrograms : sequence of np.ndarray or None
            Log-mel spectrogram (n_mels, n_frames) per clip; None for a clip without
            audio.

        Returns
        -------
        MFCCBagOfWords
            ``self``, fitted.

        Raises
        ------
        ApcInputError
            If fewer than two clips have audio.
        """
        from sklearn.cluster import MiniBatchKMeans
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        frames = [f for f in self._frames(spectrograms) if f is not None and len(f)]
        if len(frames) < 2:
            raise ApcInputError(
                "need at least two clips with audio to fit the vocabulary", field="audio"
            )
        rng = np.random.default_rng(self.seed)
        sample = np.vstack(
            [
                f
                if len(f) <= self.frames_per_clip
                else f[rng.choice(len(f), self.frames_per_clip, replace=False)]
                for f in frames
            ]
        )
        self.scaler_ = StandardScaler().fit(sample)
        n_words = int(min(self.n_words, len(sample)))
        self.kmeans_ = MiniBatchKMeans(
            n_clusters=n_words, random_state=self.seed, n_init=3, batch_size=max(1024, 4 * n_words)
        ).fit(self.scaler_.transform(sample))
        bow = self._bow(frames)
        n_comp = int(min(self.n_components, bow.shape[0], bow.shape[1]))
        self.pca_ = PCA(n_components=n_comp, random_state=self.seed).fit(bow)
        return self

    def _bow(self, frames: list[np.ndarray]) -> np.ndarray:
        n_words = self.kmeans_.n_clusters
        out = np.zeros((len(frames), n_words), dtype=np.float32)
        for i, f in enumerate(frames):
            words = self.kmeans_.predict(self.scaler_.transform(f))
            out[i] = np.bincount(words, minlength=n_words) / max(1, len(words))
        return out

    def transform(self, spectrograms: Sequence[np.ndarray | None]) -> np.ndarray:
        """Map clips to their PCA-reduced bag-of-words vectors.

        Parameters
        ----------
        spectrograms : sequence of np.ndarray or None
            Log-mel spectrogram (n_mels, n_frames) per clip; None for a clip without
            audio.

        Returns
        -------
        np.ndarray
            float32 (n_clips, n_components); rows of zeros for ``None`` clips.
        """
        frames = self._frames(spectrograms)
        has = np.array([f is not None and len(f) > 0 for f in frames], dtype=bool)
        out = np.zeros((len(frames), self.pca_.n_components_), dtype=np.float32)
        if has.any():
            bow = self._bow([f for f, h in zip(frames, has, strict=True) if h])
            out[has] = self.pca_.transform(bow).astype(np.float32)
        return out

    def fit_transform(self, spectrograms: Sequence[np.ndarray | None]) -> np.ndarray:
        """Run :meth:`fit` then :meth:`transform` on the same clips.

        Parameters
        ----------
        spectrograms : sequence of np.ndarray or None
            Log-mel spectrogram (n_mels, n_frames) per clip; None for a clip without
            audio.

        Returns
        -------
        np.ndarray
            float32 (n_clips, n_components).
        """
        return self.fit(spectrograms).transform(spectrograms)


class FactorRegressor:
    """Ridge regression or an MLP from content vectors to WMF factors (paper's baseline).

    Parameters
    ----------
    kind : {"ridge", "mlp"}
        Linear regression with an L2 penalty, or ``sklearn.neural_network.MLPRegressor``.
    alpha : float
        L2 penalty (ridge) or weight decay (mlp); default 1.0.
    hidden : tuple of int
        Hidden layer sizes of the MLP (default (128,)).
    max_iter : int
        MLP epochs (default 300).
    seed : int
        Seed of the MLP initialisation.
    """

    def __init__(
        self,
        *,
        kind: str = "ridge",
        alpha: float = 1.0,
        hidden: tuple[int, ...] = (128,),
        max_iter: int = 300,
        seed: int = 0,
    ) -> None:
        self.kind = kind
        self.alpha = alpha
        self.hidden = hidden
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> FactorRegressor:
        """Fit the regression from content vectors to factors.

        Inputs are standardised; targets are divided by their RMS (and multiplied back
        in :meth:`predict`).

        Parameters
        ----------
        x : np.ndarray
            (n, d) content vectors.
        y : np.ndarray
            (n, K) target factors.

        Returns
        -------
        FactorRegressor
            ``self``, fitted.

        Raises
        ------
        ApcInputError
            If ``kind`` is neither ``"ridge"`` nor ``"mlp"``.
        """
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.kind == "ridge":
            from sklearn.linear_model import Ridge

            reg = Ridge(alpha=self.alpha)
        elif self.kind == "mlp":
            from sklearn.neural_network import MLPRegressor

            reg = MLPRegressor(
                hidden_layer_sizes=tuple(self.hidden),
                alpha=self.alpha,
                max_iter=int(self.max_iter),
                early_stopping=False,
                random_state=self.seed,
            )
        else:
            raise ApcInputError(f"kind must be 'ridge' or 'mlp', got {self.kind!r}", field="kind")
        self.scale_ = float(np.sqrt(np.mean(np.asarray(y, np.float64) ** 2))) or 1.0
        self.model_ = make_pipeline(StandardScaler(), reg).fit(x, np.asarray(y) / self.scale_)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predict factors from content vectors.

        Parameters
        ----------
        x : np.ndarray
            (n, d) content vectors.

        Returns
        -------
        np.ndarray
            float32 (n, K).
        """
        return (self.model_.predict(x) * self.scale_).astype(np.float32)
