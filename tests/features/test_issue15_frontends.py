"""Issue 15 front ends: clip spectrograms + PCA, constant-Q patches, artist TF-IDF, synthetic bios."""

import numpy as np
import pytest

from apc.datasets.synthetic import generate
from apc.errors import ApcInputError
from apc.features.cqt import CQTSettings, cqt_patches, log_cqt
from apc.features.spectrogram import ClipSpectrogramSettings, clip_spectrograms, pca_frames
from apc.features.text import artist_texts, tfidf


def test_clip_settings_are_the_papers():
    s = ClipSpectrogramSettings()
    assert (s.window, s.clip_frames, s.n_bands, s.n_components) == (662, 166, 120, 100)
    with pytest.raises(ApcInputError):
        ClipSpectrogramSettings(n_components=200).validate()


def test_pca_frames_whiten_and_keep_evenly_spaced_frames(seed):
    rng = np.random.default_rng(seed)
    s = ClipSpectrogramSettings(n_bands=12, n_components=5, frames=4, seconds=0.3)
    t = s.clip_frames
    specs = [rng.standard_normal((t, 12)).astype(np.float32) @ rng.standard_normal((12, 12))
             .astype(np.float32) for _ in range(40)] + [None]
    m, avail = pca_frames(specs, s, seed=seed)
    assert m.shape == (41, 4 * 5) and avail.tolist() == [True] * 40 + [False]
    assert not m[40].any()
    z = m[:40].reshape(-1, 5)
    assert np.allclose(z.std(axis=0), 1.0, atol=0.25)  # whitened


def test_clip_spectrograms_of_rendered_audio():
    pl = generate("tiny", seed=0)
    from apc.data.playlists import Playlists

    sub = Playlists(pl.indptr[:1], pl.items[:0], pl.tracks.iloc[:3].reset_index(drop=True),
                    pl.artists, pl.meta.iloc[:0], pl.info)
    specs, failed = clip_spectrograms(sub, ClipSpectrogramSettings(seconds=1.0))
    assert failed == 0 and all(x.shape == (33, 120) for x in specs)


def test_cqt_puts_a_tone_in_its_bin():
    s = CQTSettings(seconds=2.0)
    t = np.arange(int(2.0 * s.sr)) / s.sr
    c = log_cqt(np.sin(2 * np.pi * 440.0 * t)[None], s)[0]
    assert c.shape == (96, s.frames) and 0.0 <= c.min() and c.max() <= 1.0
    # C1 = 32.70 Hz, 12 bins per octave: A4 = 440 Hz is bin 12 * log2(440 / 32.70) = 45
    assert int(np.argmax(c[:, s.frames // 2])) == 45


def test_cqt_patches_of_the_synthetic_corpus():
    pl = generate("tiny", seed=0)
    from apc.data.playlists import Playlists

    sub = Playlists(pl.indptr[:1], pl.items[:0], pl.tracks.iloc[:4].reset_index(drop=True),
                    pl.artists, pl.meta.iloc[:0], pl.info)
    s = CQTSettings(seconds=1.0, n_bins=48)
    m, avail, failed = cqt_patches(sub, s)
    assert m.shape == (4, 48 * s.frames) and avail.all() and failed == 0
    assert not np.allclose(m[0], m[1])


def test_tfidf_of_artist_texts():
    import pandas as pd

    artists = pd.DataFrame({"bio": ["rock guitar loud", "jazz sax", None]})
    m, has, terms = tfidf(artist_texts(artists))
    assert m.shape == (3, 5) and has.tolist() == [True, True, False]
    assert artist_texts(pd.DataFrame({"name": ["x"]})) == [""]
    m, has, terms = tfidf(["", ""])
    assert m.shape == (2, 0) and not has.any()


def test_synthetic_bios_are_seeded_and_carry_genre():
    a, b = generate("tiny", seed=3), generate("tiny", seed=3)
    assert list(a.artists["bio"]) == list(b.artists["bio"])
    assert list(a.artists["bio"]) != list(generate("tiny", seed=4).artists["bio"])
    names = a.artists["genre"].to_numpy(dtype=object)
    bios = a.artists["bio"].to_numpy(dtype=object)
    says_genre = np.mean([f" {g} act" in bio for g, bio in zip(names, bios, strict=True)])
    assert 0.6 < says_genre < 1.0  # informative, with noise (15% other genres' words)
