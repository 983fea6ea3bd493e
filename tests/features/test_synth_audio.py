"""The synthetic corpus' audio: deterministic per track, timbre follows genre, WAV files."""

import numpy as np
import pytest

from apc.datasets.synthetic import generate
from apc.errors import ApcInputError
from apc.features.synth_audio import render_audio, write_audio


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny", seed=0)


def test_render_audio_shape_and_determinism(tiny):
    rows = np.arange(6)
    a = render_audio(tiny.tracks, rows, sr=8000, seconds=1.0)
    assert a.shape == (6, 8000) and a.dtype == np.float32
    assert 0.5 < np.abs(a).max() <= 1.0 and np.isfinite(a).all()
    # a track sounds the same whatever it is rendered with
    b = render_audio(tiny.tracks, [4, 0, 299], sr=8000, seconds=1.0, block=2)
    np.testing.assert_array_equal(b[:2], a[[4, 0]])
    assert not np.array_equal(a[0], a[1])
    with pytest.raises(ApcInputError) as e:
        render_audio(tiny.tracks[["track_id"]], rows)
    assert e.value.field == "tempo_bpm"


def test_render_audio_block_size_changes_nothing(tiny):
    # the default block (as many rows as fit _BLOCK_SAMPLES) renders one row at a time
    # for long clips; the values must not depend on the block
    rows = np.arange(10)
    ref = render_audio(tiny.tracks, rows, sr=8000, seconds=1.0, block=32)
    for block in (None, 1, 3):
        np.testing.assert_array_equal(
            render_audio(tiny.tracks, rows, sr=8000, seconds=1.0, block=block), ref
        )
    long = render_audio(tiny.tracks, [0, 1], sr=8000, seconds=9.0)  # 72,000 samples: 1 row
    np.testing.assert_array_equal(
        long, render_audio(tiny.tracks, [0, 1], sr=8000, seconds=9.0, block=2)
    )


def _centroid(x, sr):
    spec = np.abs(np.fft.rfft(x, axis=1))
    f = np.fft.rfftfreq(x.shape[1], 1 / sr)
    return (spec * f).sum(axis=1) / spec.sum(axis=1)


def test_audio_timbre_follows_genre(tiny):
    # tiny has the first four genres: pop, electronic, hiphop, funk; electronic is the
    # brightest and most percussive, hiphop the lowest-pitched
    genre = tiny.tracks["genre"].to_numpy()
    sr = 8000
    bright = _centroid(render_audio(tiny.tracks, np.flatnonzero(genre == "electronic")[:8],
                                    sr=sr, seconds=1.0), sr)
    dull = _centroid(render_audio(tiny.tracks, np.flatnonzero(genre == "pop")[:8],
                                  sr=sr, seconds=1.0), sr)
    assert bright.mean() - dull.mean() > 2 * (bright.std() + dull.std())


def test_write_audio(tmp_path):
    sf = pytest.importorskip("soundfile")
    pl = generate("tiny", seed=0, n_playlists=5, n_tracks=12, n_artists=4, n_genres=2)
    names = write_audio(pl, tmp_path, sr=8000, seconds=0.5, chunk=5)
    assert names == [f"{i:06d}.wav" for i in range(12)]
    data, sr = sf.read(tmp_path / names[7], dtype="float32")
    assert sr == 8000 and data.shape == (4000,)
    clip = render_audio(pl.tracks, [7], sr=8000, seconds=0.5)[0]
    np.testing.assert_allclose(data, clip, atol=1 / 2**14)
