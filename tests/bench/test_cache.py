import time

import numpy as np

from apc.bench.cache import Cache, corpus_hash, model_key, split_key
from apc.bench.memory import PeakMemory, rss_bytes
from apc.data.playlists import Playlists
from apc.models.popularity import Popularity, RandomRecommender


def corpus(names=("a", "b")):
    return Playlists.from_sequences([["x", "y"], ["y", "z"]], names=list(names))


def test_corpus_hash_sees_content_changes():
    a, b = corpus(), corpus()
    assert corpus_hash(a) == corpus_hash(b)
    assert corpus_hash(a) != corpus_hash(corpus(names=("a", "c")))  # a playlist title
    c = Playlists.from_sequences([["x", "y"], ["z", "y"]], names=["a", "b"])  # order matters
    assert corpus_hash(a) != corpus_hash(c)


def test_keys_cover_protocol_seed_model_and_params():
    h = corpus_hash(corpus())
    k = split_key(h, "next-track", {}, 1)
    assert k == split_key(h, "next-track", {}, 1)
    assert len({k, split_key(h, "next-track", {}, 2), split_key(h, "continuation", {}, 1),
                split_key(h, "next-track", {"a": 1}, 1)}) == 4
    m = model_key(k, Popularity, {"distinct": True})
    assert m != model_key(k, Popularity, {"distinct": False})
    assert m != model_key(k, RandomRecommender, {"distinct": True})
    assert m != model_key(split_key(h, "next-track", {}, 2), Popularity, {"distinct": True})


def test_model_and_split_roundtrip(tmp_path):
    pl = corpus()
    cache = Cache(tmp_path)
    model = Popularity().fit(pl)
    assert cache.save_model("k", model)
    loaded = cache.load_model("k", Popularity)
    np.testing.assert_array_equal(loaded.popularity_, model.popularity_)
    assert cache.load_model("missing", Popularity) is None
    cache.save_split("s", {"train": pl})
    assert cache.load_split("s")["train"].n_tracks == 3
    (tmp_path / "splits" / "s.pkl").write_bytes(b"garbage")
    assert cache.load_split("s") is None  # a corrupt entry is a miss
    off = Cache(None)
    assert not off.save_model("k", model) and off.load_split("s") is None


def test_peak_memory_sees_a_large_allocation():
    if np.isnan(rss_bytes()):
        return  # no RSS source on this platform
    with PeakMemory(interval=0.001) as mem:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block.sum()
        # free it only once the sampler thread has seen it: on a loaded machine that thread
        # may not run at all between allocation and `del`, which is not what is tested here
        give_up = time.monotonic() + 60
        while mem._max - mem.start_bytes < 48 * 2**20 and time.monotonic() < give_up:
            time.sleep(0.001)
        del block
    assert mem.peak_bytes >= 48 * 2**20
