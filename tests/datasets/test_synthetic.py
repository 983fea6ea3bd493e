import numpy as np
import pytest

from apc.datasets.synthetic import GENERIC_WORDS, GENRE_WORDS, PRESETS, generate, render_audio, write_audio
from apc.errors import ApcInputError


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny", seed=0)


@pytest.fixture(scope="module")
def small():
    return generate("small", seed=0)


def test_deterministic_and_seeded(tiny):
    again = generate("tiny", seed=0)
    assert (again.items == tiny.items).all() and (again.indptr == tiny.indptr).all()
    assert again.meta["name"].tolist() == tiny.meta["name"].tolist()
    other = generate("tiny", seed=1)
    assert len(other.items) != len(tiny.items) or (other.items != tiny.items).any()


def test_schema(tiny):
    assert tiny.items.dtype == np.int32 and tiny.indptr.dtype == np.int64
    for col in ("track_id", "title", "artist", "album", "duration_ms", "genre", "tags",
                "tempo_bpm", "pitch_hz", "brightness", "percussiveness"):
        assert col in tiny.tracks.columns, col
    for col in ("playlist_id", "name", "timestamp", "num_followers", "genre"):
        assert col in tiny.meta.columns, col
    assert tiny.info["dataset"] == "synth:tiny" and tiny.info["adapter"] == "synthetic"
    assert all(isinstance(t, list) and t[0] in GENRE_WORDS for t in tiny.tracks["tags"])
    assert (tiny.lengths >= 1).all()
    cfg = PRESETS["tiny"]
    assert len(tiny) == cfg.n_playlists and tiny.n_tracks == cfg.n_tracks


def test_no_repeats_inside_a_playlist(small):
    rows = small.playlist_rows
    keys = rows * small.n_tracks + small.items
    assert len(np.unique(keys)) == len(keys)


def test_power_law_popularity(small):
    counts = np.sort(np.bincount(small.items, minlength=small.n_tracks))[::-1]
    top = counts[: small.n_tracks // 10].sum() / counts.sum()
    assert top > 0.4  # the top 10% of tracks hold most entries
    assert small.stats()["popularity_gini"] > 0.5


def test_sequential_coherence(small):
    art = small.track_artists[small.items]
    first = np.zeros(small.n_entries, dtype=bool)
    first[small.indptr[:-1]] = True
    same = (art[1:] == art[:-1])[~first[1:]].mean()
    chance = (np.bincount(art) / len(art)) @ (np.bincount(art) / len(art))
    assert same > 0.2 > 10 * chance


def test_playlists_stay_in_their_genres(small):
    g = small.tracks["genre"].to_numpy()[small.items]
    rows = small.playlist_rows
    own = small.meta["genre"].to_numpy()[rows]
    share_own = (g == own).mean()
    assert share_own > 0.6


def test_titles_use_genre_words(small):
    words = small.meta["name"].str.split()
    genre = small.meta["genre"]
    vocab = {w for ws in GENRE_WORDS.values() for w in ws} | {w for g in GENERIC_WORDS for w in g.split()}
    assert all(set(ws) <= vocab for ws in words)
    own = np.mean([bool(set(ws) & set(GENRE_WORDS[g])) for ws, g in zip(words, genre, strict=True)])
    assert own > 0.6


def test_unknown_preset_and_option():
    with pytest.raises(ApcInputError) as e:
        generate("huge")
    assert e.value.field == "preset"
    with pytest.raises(ApcInputError) as e:
        generate("tiny", n_playlistz=3)
    assert e.value.field == "n_playlistz"
    assert len(generate("tiny", n_playlists=37)) == 37


def test_render_audio(tiny):
    rows = np.arange(6)
    a = render_audio(tiny.tracks, rows, sr=8000, seconds=1.0)
    assert a.shape == (6, 8000) and a.dtype == np.float32 and np.abs(a).max() <= 1.0
    np.testing.assert_array_equal(a, render_audio(tiny.tracks, rows, sr=8000, seconds=1.0))
    with pytest.raises(ApcInputError):
        render_audio(tiny.tracks[["track_id"]], rows)


def test_audio_follows_genre():
    pl = generate("tiny", seed=0, n_genres=4)
    genre = pl.tracks["genre"].to_numpy()
    sr = 8000

    def centroid(rows):
        x = render_audio(pl.tracks, rows, sr=sr, seconds=1.0)
        spec = np.abs(np.fft.rfft(x, axis=1))
        f = np.fft.rfftfreq(x.shape[1], 1 / sr)
        return (spec * f).sum(axis=1) / spec.sum(axis=1)

    a = centroid(np.flatnonzero(genre == "rock")[:10])
    b = centroid(np.flatnonzero(genre == "jazz")[:10])
    assert abs(a.mean() - b.mean()) > 3 * (a.std() + b.std()) / 2 or abs(a.mean() - b.mean()) > 200


def test_write_audio(tmp_path, tiny):
    sf = pytest.importorskip("soundfile")
    sub = tiny.subset(np.arange(3))
    names = write_audio(sub, tmp_path, sr=8000, seconds=0.5, chunk=100)
    assert len(names) == sub.n_tracks and names[0] == "000000.wav"
    data, sr = sf.read(tmp_path / names[5])
    assert sr == 8000 and len(data) == 4000


def test_classic_models_rank_sensibly(small):
    from apc.evaluation.evaluate import evaluate
    from apc.evaluation.protocols import make_protocol
    from apc.models.registry import create_model

    split = make_protocol("continuation").split(small, seed=0)
    recall = {m: evaluate(create_model(m), split, ks=[100], metrics=["recall"]).summary()["recall@100"]
              for m in ("random", "popularity", "knn", "cagh")}
    assert recall["random"] < recall["popularity"] < recall["knn"]
    assert recall["popularity"] < recall["cagh"]
    nt = make_protocol("next-track").split(small, seed=0)
    mrr = {m: evaluate(create_model(m), nt, ks=[10], metrics=["mrr"]).summary()["mrr@10"]
           for m in ("popularity", "knn", "markov")}
    assert mrr["popularity"] < mrr["knn"] < mrr["markov"]
