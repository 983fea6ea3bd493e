import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from apc.data.playlists import Playlists
from apc.errors import ApcInputError, DataWarning
from apc.features import sources as sources_mod
from apc.features import store as store_mod
from apc.features.store import (
    FeatureStore,
    FeatureTable,
    align,
    build_features,
    build_tables,
    feature_key,
    parse_names,
)
from apc.testing import checkerboard

SR = 22_050
FAST = {"wmf": {"n_factors": 4, "iterations": 5}}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny networks gain nothing from intra-op threads, and on a shared 2-core machine
    OpenMP spin-waiting makes them many times slower; restore the setting afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def with_tracks(pl: Playlists, extra: pd.DataFrame, **info) -> Playlists:
    """``pl`` with more catalogue rows / columns (extra rows: tracks in no playlist)."""
    tracks = pl.tracks.copy()
    for col in extra.columns:
        if col != "track_id" and col not in tracks.columns:
            tracks[col] = None
    new = extra[~extra["track_id"].isin(tracks["track_id"])]
    upd = extra[extra["track_id"].isin(tracks["track_id"])].set_index("track_id")
    tracks = tracks.set_index("track_id")
    for col in upd.columns:
        tracks.loc[upd.index, col] = upd[col]
    tracks = pd.concat([tracks.reset_index(), new], ignore_index=True)
    return Playlists(pl.indptr, pl.items, tracks, pl.artists, pl.meta, {**pl.info, **info})


# ---------------------------------------------------------------------------- store
def test_round_trip_is_exact_and_atomic(tmp_path, rng):
    m = rng.standard_normal((5, 3)).astype(np.float32)
    avail = np.array([True, True, False, True, True])
    t = FeatureTable("x", np.array(["a", "b", "c", 4, "e"], dtype=object), m, avail, {"seed": 3})
    store = FeatureStore(tmp_path)
    path = store.save(t, key="k")
    assert path.name == "x-k.parquet"
    assert [p.name for p in tmp_path.iterdir()] == ["x-k.parquet"]  # no temp files left
    back = store.load("x", "k")
    expected = m.copy()
    expected[2] = 0.0  # unavailable rows are zero
    np.testing.assert_array_equal(back.matrix, expected)
    assert back.available.tolist() == avail.tolist()
    assert back.track_ids.tolist() == ["a", "b", "c", "4", "e"]
    assert back.info == {"seed": 3}
    assert store.names() == ["x"] and store.has("x", "k") and not store.has("x", "other")
    assert store.load("x").dim == 3  # latest by name


def test_load_errors(tmp_path):
    store = FeatureStore(tmp_path)
    with pytest.raises(ApcInputError, match="no feature table"):
        store.load("nope")
    (tmp_path / "bad-k.parquet").write_bytes(b"not parquet")
    with pytest.raises(ApcInputError, match="not an apc feature table"):
        store.load("bad", "k")


def test_align_follows_catalogue_order_and_concatenates():
    a = FeatureTable(
        "a", np.array(["t1", "t2", "t3"], object), np.array([[1.0], [2.0], [3.0]]), np.ones(3, bool)
    )
    b = FeatureTable(
        "b",
        np.array(["t3", "t1"], object),
        np.array([[30.0, 31.0], [10.0, 11.0]]),
        np.array([True, False]),
    )
    tracks = pd.DataFrame({"track_id": ["t3", "t9", "t1"]})
    f = align([a, b], tracks)
    assert f.matrix.tolist() == [[3.0, 30.0, 31.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    assert f.available.tolist() == [True, False, True]  # t9 is in no table
    assert f.blocks == {"a": slice(0, 1), "b": slice(1, 3)}


def test_parse_names():
    assert parse_names("audio_cnn, tags_w2v") == ["audio_cnn", "tags_w2v"]
    assert parse_names(["wmf"]) == ["wmf"]
    with pytest.raises(ApcInputError, match="unknown feature set"):
        parse_names("wmf,mystery")
    with pytest.raises(ApcInputError):
        parse_names("")


# ---------------------------------------------------------------------------- building
def test_build_wmf_is_cached_and_keyed(tmp_path, monkeypatch):
    pl = checkerboard()
    store_mod._MEMO.clear()
    f1 = build_features(pl, "wmf", cache_dir=tmp_path, options=FAST)
    assert f1.matrix.shape == (pl.n_tracks, 4) and f1.available.all()
    # in the same process the in-memory copy is reused (no cache directory needed)
    np.testing.assert_array_equal(build_features(pl, "wmf", options=FAST).matrix, f1.matrix)

    # a second build loads from the store instead of recomputing
    def boom(*a, **k):
        raise AssertionError("rebuilt")

    monkeypatch.setitem(store_mod.FEATURES, "wmf", (boom, ("playlists",)))
    store_mod._MEMO.clear()
    f2 = build_features(pl, "wmf", cache_dir=tmp_path, options=FAST)
    np.testing.assert_array_equal(f1.matrix, f2.matrix)
    # the key depends on the playlists, the seed and the options
    k = feature_key(pl, "wmf", options=FAST)
    assert k != feature_key(pl.subset(np.arange(10)), "wmf", options=FAST)
    assert k != feature_key(pl, "wmf", seed=1, options=FAST)
    assert k != feature_key(pl, "wmf", options={"wmf": {"n_factors": 5}})
    # a change of a builder's defaults (its DEFAULTS_REVISION) changes only that set's key
    monkeypatch.setitem(store_mod.DEFAULTS_REVISION, "wmf", 7)
    assert feature_key(pl, "wmf", options=FAST) != k
    monkeypatch.delitem(store_mod.DEFAULTS_REVISION, "wmf")
    assert feature_key(pl, "wmf", options=FAST) == k


def test_default_table_cache_is_reused_across_processes_and_keyed(tmp_path, monkeypatch):
    # issue 13 item 4: a hybrid model without cache_dir keeps its feature tables in the
    # user cache folder, so a second run (a new process: the in-memory memo is empty)
    # reads them instead of building them again; a changed option misses.
    from apc.models.hybrid.content_knn import ContentKNN

    pl = checkerboard()
    monkeypatch.setenv("APC_CACHE_DIR", str(tmp_path))
    assert store_mod.default_cache_dir() == tmp_path

    def fit(n_factors):
        store_mod._MEMO.clear()  # what a new process starts with
        before = dict(store_mod.CACHE_STATS)
        ContentKNN(features="wmf", feature_options={"wmf": {**FAST["wmf"],
                                                            "n_factors": n_factors}}).fit(pl)
        return {k: store_mod.CACHE_STATS[k] - before.get(k, 0) for k in ("built", "store")}

    assert fit(4) == {"built": 1, "store": 0}
    assert len(list((tmp_path / "features").glob("wmf-*.parquet"))) == 1
    assert fit(4) == {"built": 0, "store": 1}  # second run: a cache hit, nothing built
    assert fit(5) == {"built": 1, "store": 0}  # another option: another key
    assert len(list((tmp_path / "features").glob("wmf-*.parquet"))) == 2

    monkeypatch.setenv("APC_CACHE_DIR", "off")
    assert store_mod.default_cache_dir() is None
    assert fit(4) == {"built": 1, "store": 0}


def test_build_tags_and_concatenate(seed):
    pl = checkerboard()
    tags = pd.DataFrame(
        {
            "track_id": pl.tracks["track_id"],
            "tags": [
                ["rock", "guitar"] if t.startswith("a") else "jazz|piano"
                for t in pl.tracks["track_id"]
            ],
        }
    )
    tags.loc[0, "tags"] = None  # one untagged track
    pl = with_tracks(pl, tags)
    f = build_features(
        pl,
        ["tags_w2v", "wmf"],
        seed=seed,
        options={**FAST, "tags_w2v": {"vector_size": 6, "epochs": 3}},
    )
    assert f.blocks == {"tags_w2v": slice(0, 6), "wmf": slice(6, 10)}
    assert not f.matrix[0, :6].any() and f.available[0]  # no tags, but wmf factors
    a_rows = np.flatnonzero(pl.tracks["track_id"].str.startswith("a"))[1:]
    np.testing.assert_allclose(
        f.matrix[a_rows[0], :6], f.matrix[a_rows[1], :6]
    )  # same tags, same vector


def sine_wav(path, freq):
    t = np.arange(SR) / SR
    sf.write(path, (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)


@pytest.fixture
def audio_corpus(tmp_path):
    """Checkerboard with an audio file per track (genre a: low tones, b: high), a cold
    track with audio, a missing file and a garbage file."""
    pl = checkerboard()
    root = tmp_path / "audio"
    root.mkdir()
    rows = []
    for i, tid in enumerate(pl.tracks["track_id"]):
        sine_wav(root / f"{tid}.wav", (200 if tid.startswith("a") else 3000) + 20 * i)
        rows.append((tid, f"{tid}.wav"))
    sine_wav(root / "cold.wav", 210)
    (root / "garbage.wav").write_bytes(b"RIFF....WAVEfmt garbage" * 10)
    rows += [("cold", "cold.wav"), ("lost", "missing.wav"), ("junk", "garbage.wav")]
    extra = pd.DataFrame(rows, columns=["track_id", "audio_path"])
    return with_tracks(pl, extra, audio_root=str(root))


def test_bad_audio_is_reported_and_skipped(audio_corpus, tmp_path, seed):
    cache = tmp_path / "cache"
    with pytest.warns(DataWarning, match="2 track"):
        tables, report = build_tables(
            audio_corpus,
            "mfcc_bow",
            cache_dir=cache,
            seed=seed,
            options={"mfcc_bow": {"n_words": 8, "n_components": 3, "mel": {"n_mels": 32}}},
        )
    assert sorted(report["track"]) == ["junk", "lost"]
    saved = pd.read_parquet(cache / "features" / "report.parquet")
    assert sorted(saved["track"]) == ["junk", "lost"]
    f = align(tables, audio_corpus.tracks)
    ids = audio_corpus.tracks["track_id"].tolist()
    assert f.available.tolist() == [t not in ("lost", "junk") for t in ids]
    assert not f.matrix[ids.index("junk")].any()


@pytest.mark.slow
def test_audio_cnn_predicts_factors_for_cold_tracks(audio_corpus, seed):
    opts = {
        "audio_cnn": {
            "epochs": 40,
            "lr": 1e-2,
            "wmf": {"n_factors": 2, "iterations": 10},
            "mel": {"n_mels": 32},
            "window_seconds": 0.5,
            "config": {"channels": [8], "pool_sizes": [2], "hidden": 16},
        }
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        f = build_features(audio_corpus, "audio_cnn", seed=seed, options=opts)
    ids = audio_corpus.tracks["track_id"].tolist()
    cold = ids.index("cold")
    assert f.available[cold] and f.matrix[cold].any()  # in no playlist, but it has audio
    # the cold low tone's predicted factors are closest to genre a's
    x = f.matrix / np.maximum(np.linalg.norm(f.matrix, axis=1, keepdims=True), 1e-9)
    is_a = np.array([t.startswith("a") for t in ids])
    is_b = np.array([t.startswith("b") for t in ids])
    assert (x[is_a] @ x[cold]).mean() > (x[is_b] @ x[cold]).mean()


def test_synthetic_corpus_audio_is_rendered(monkeypatch, seed):
    pl = checkerboard()
    pl = Playlists(
        pl.indptr, pl.items, pl.tracks, pl.artists, pl.meta, {"dataset": "synthetic:test"}
    )
    calls = []

    def render_audio(tracks, rows, sr=22050, seconds=3.0):
        calls.append((len(rows), sr, seconds))
        t = np.arange(int(sr * seconds)) / sr
        freqs = np.where(
            tracks["track_id"].to_numpy()[rows].astype(str).astype("U1") == "a", 200.0, 3000.0
        )
        return (0.5 * np.sin(2 * np.pi * freqs[:, None] * t[None, :])).astype(np.float32)

    monkeypatch.setattr(sources_mod, "render_audio", render_audio)
    specs, report = store_mod.corpus_log_mels(pl, render_seconds=1.0, render_chunk=5)
    assert report.empty and len(specs) == pl.n_tracks
    assert [c[0] for c in calls] == [5, 5, 2] and calls[0][1:] == (SR, 1.0)
    assert all(s.shape == (128, 1 + SR // 512) for s in specs)


def test_corpus_without_audio_is_an_input_error():
    with pytest.raises(ApcInputError, match="no audio"):
        build_features(checkerboard(), "mfcc_bow")
