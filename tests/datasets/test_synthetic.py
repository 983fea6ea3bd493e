import numpy as np
import pandas as pd
import pytest

from apc.datasets.synthetic import (
    GENERIC_WORDS,
    PRESETS,
    SynthConfig,
    config,
    generate,
    genre_vocabulary,
    max_genres,
)
from apc.errors import ApcInputError
from apc.features.synth_audio import AUDIO_COLUMNS


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny", seed=0)


def _first_positions(pl):
    first = np.zeros(pl.n_entries, dtype=bool)
    first[pl.indptr[:-1][pl.lengths > 0]] = True
    return first


# ---------------------------------------------------------------------------- determinism
def test_same_seed_same_corpus(tiny):
    again = generate("tiny", seed=0)
    np.testing.assert_array_equal(again.indptr, tiny.indptr)
    np.testing.assert_array_equal(again.items, tiny.items)
    pd.testing.assert_frame_equal(again.meta, tiny.meta)
    pd.testing.assert_frame_equal(again.tracks, tiny.tracks)
    pd.testing.assert_frame_equal(again.artists, tiny.artists)


def test_other_seed_other_corpus(tiny):
    other = generate("tiny", seed=1)
    assert len(other.items) != len(tiny.items) or (other.items != tiny.items).any()
    assert (other.tracks["genre"] != tiny.tracks["genre"]).any()


def test_catalogue_does_not_depend_on_the_number_of_playlists(tiny):
    fewer = generate("tiny", seed=0, n_playlists=50)
    assert len(fewer) == 50
    pd.testing.assert_frame_equal(fewer.tracks, tiny.tracks)


# ---------------------------------------------------------------------------- schema
def test_schema_and_dtypes(tiny):
    cfg = PRESETS["tiny"]
    assert len(tiny) == cfg.n_playlists and tiny.n_tracks == cfg.n_tracks
    assert tiny.n_artists == cfg.n_artists
    assert tiny.items.dtype == np.int32 and tiny.indptr.dtype == np.int64
    t = tiny.tracks
    for col in ("track_id", "title", "artist", "album", "track_number", "duration_ms",
                "release_year", "genre", "tags", *AUDIO_COLUMNS, "audio_seed", "artist_seed"):
        assert col in t.columns, col
    assert t["artist"].dtype == np.int32 and t["duration_ms"].dtype == np.int64
    assert all(t[c].dtype == np.float32 for c in AUDIO_COLUMNS)
    assert t["track_id"].iloc[123] == "synth:track:000123" and t["track_id"].is_unique
    assert t["artist"].between(0, tiny.n_artists - 1).all()
    assert t["duration_ms"].between(45_000, 900_000).all()
    assert list(tiny.artists.columns[:2]) == ["artist_id", "name"]
    m = tiny.meta
    for col in ("playlist_id", "name", "timestamp", "num_followers", "genre", "second_genre"):
        assert col in m.columns, col
    assert m["timestamp"].dtype == np.int64 and m["num_followers"].dtype == np.int64
    start = pd.Timestamp(f"{cfg.start_year}-01-01").value // 10**9
    end = pd.Timestamp(f"{cfg.end_year + 1}-01-01").value // 10**9
    assert m["timestamp"].between(start, end).all()
    assert (m["num_followers"] >= 1).all() and m["num_followers"].median() == 1
    assert tiny.info == {"dataset": "synth:tiny", "adapter": "synthetic", "preset": "tiny",
                         "seed": 0, "config": tiny.info["config"]}
    assert (tiny.lengths >= 1).all() and tiny.lengths.max() <= cfg.length_max


def test_tags(tiny):
    tags = tiny.tracks["tags"]
    assert all(isinstance(ts, list) and len(ts) == 3 for ts in tags)
    assert all(ts[0] == g for ts, g in zip(tags, tiny.tracks["genre"], strict=True))
    four = generate("tiny", seed=0, n_playlists=1, n_tags=4).tracks
    vocab = genre_vocabulary(PRESETS["tiny"].n_genres)
    assert all(ts[3] in vocab[g] for ts, g in zip(four["tags"], four["genre"], strict=True))


def test_no_repeats_inside_a_playlist(tiny):
    keys = tiny.playlist_rows * tiny.n_tracks + tiny.items
    assert len(np.unique(keys)) == len(keys)


# ---------------------------------------------------------------------------- realism
def test_power_law_popularity():
    pl = generate("small", seed=0, n_playlists=1500)
    counts = np.sort(np.bincount(pl.items, minlength=pl.n_tracks))[::-1]
    top = counts[: pl.n_tracks // 10].sum() / counts.sum()
    assert top > 0.35  # the top 10% of tracks hold several times their share
    assert pl.stats()["popularity_gini"] > 0.5


def test_same_artist_transitions_well_above_chance(tiny):
    art = tiny.track_artists[tiny.items]
    follows = ~_first_positions(tiny)[1:]
    same = (art[1:] == art[:-1])[follows].mean()
    share = np.bincount(art) / len(art)
    assert same > 0.2 and same > 5 * (share @ share)


def test_artist_runs_follow_album_order(tiny):
    # within a same-artist step the next track is usually the artist's next one
    t = tiny.tracks
    art, num, alb = (t[c].to_numpy()[tiny.items] for c in ("artist", "track_number", "album"))
    follows = ~_first_positions(tiny)[1:] & (art[1:] == art[:-1]) & (alb[1:] == alb[:-1])
    assert ((num[1:] - num[:-1])[follows] == 1).mean() > 0.5


def test_playlists_stay_in_their_genres(tiny):
    g = tiny.tracks["genre"].to_numpy()[tiny.items]
    rows = tiny.playlist_rows
    main = g == tiny.meta["genre"].to_numpy()[rows]
    own = main | (g == tiny.meta["second_genre"].to_numpy()[rows])
    assert own.mean() > 0.9 and main.mean() > 0.6


def test_titles_use_genre_words(tiny):
    vocab = genre_vocabulary(PRESETS["tiny"].n_genres)
    generic = {w for g in GENERIC_WORDS for w in g.split()}
    words = tiny.meta["name"].str.lower().str.split()
    genre, second = tiny.meta["genre"], tiny.meta["second_genre"]
    for ws, g, g2 in zip(words, genre, second, strict=True):
        allowed = set(vocab[g]) | generic | (set(vocab[g2]) if isinstance(g2, str) else set())
        assert 1 <= len(ws) and set(ws) <= allowed, (ws, g, g2)
    named = np.mean([bool(set(ws) & set(vocab[g])) for ws, g in zip(words, genre, strict=True)])
    assert 0.5 < named < 0.9  # most titles name the genre, some are generic


def test_styled_genres_beyond_the_base_ones():
    assert max_genres() > 15
    pl = generate("tiny", seed=0, n_genres=20, n_artists=60, n_playlists=20)
    assert pl.tracks["genre"].nunique() == 20
    assert "indie pop" in set(pl.tracks["genre"])


# ---------------------------------------------------------------------------- options
def test_unknown_preset_option_and_bad_values():
    with pytest.raises(ApcInputError) as e:
        generate("huge")
    assert e.value.field == "preset"
    with pytest.raises(ApcInputError) as e:
        generate("tiny", n_playlistz=3)
    assert e.value.field == "n_playlistz"
    for key, value in [("p_same_artist", 1.5), ("n_genres", 10_000), ("n_tags", 0),
                       ("length_max", 1), ("n_playlists", 2.5)]:
        with pytest.raises(ApcInputError) as e:
            generate("tiny", **{key: value})
        assert e.value.field == key


def test_size_alias_and_config_object():
    assert config("tiny", size="small") == PRESETS["small"]
    assert config("tiny", size=2).n_playlists == 2 * PRESETS["tiny"].n_playlists
    pl = generate("tiny", size="tiny")
    assert pl.info["dataset"] == "synth:tiny"
    custom = generate(SynthConfig(n_playlists=30, n_tracks=50, n_artists=10, n_genres=2))
    assert len(custom) == 30 and custom.info["dataset"] == "synth:custom"


# ---------------------------------------------------------------------------- models
def _recall(model, split, k):
    from apc.evaluation.evaluate import evaluate
    from apc.models.registry import create_model

    res = evaluate(create_model(model), split, ks=[k], metrics=["recall"])
    return res.summary()[f"recall@{k}"]


def test_knn_beats_popularity_and_title_beats_random(tiny):
    from apc.evaluation.protocols import make_protocol

    cont = make_protocol("continuation", test_fraction=0.25).split(tiny, seed=0)
    recall = {m: _recall(m, cont, 10) for m in ("random", "popularity", "knn")}
    assert recall["random"] < recall["popularity"] < recall["knn"]
    titles = make_protocol("mpd-challenge", categories=["title_only"], test_fraction=0.25,
                           min_holdouts=2).split(tiny, seed=0)
    assert _recall("random", titles, 10) < _recall("title", titles, 10)


@pytest.mark.slow
def test_classic_models_rank_sensibly_on_small():
    from apc.evaluation.evaluate import evaluate
    from apc.evaluation.protocols import make_protocol
    from apc.models.registry import create_model

    small = generate("small", seed=0)
    split = make_protocol("continuation").split(small, seed=0)
    recall = {m: _recall(m, split, 100) for m in ("random", "popularity", "title", "knn", "cagh")}
    assert recall["random"] < recall["popularity"] < recall["title"] < recall["knn"]
    assert recall["popularity"] < recall["cagh"]
    nt = make_protocol("next-track").split(small, seed=0)
    mrr = {m: evaluate(create_model(m), nt, ks=[10], metrics=["mrr"]).summary()["mrr@10"]
           for m in ("popularity", "knn", "markov")}
    assert mrr["popularity"] < mrr["knn"] < mrr["markov"]
