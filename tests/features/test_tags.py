import numpy as np
import pandas as pd
import pytest

from apc.errors import ApcInputError
from apc.features.tags import TagWord2Vec, parse_tags, tag_lists


def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


GROUPS = (["rock", "indie", "guitar", "alternative"], ["jazz", "blues", "swing", "piano"])


def corpus(n=200, seed=0):
    """Tracks carry 2-3 tags of one group; the groups never mix. Tags of one group share
    contexts, so word2vec must put them close (skip-gram similarity = shared contexts)."""
    rng = np.random.default_rng(seed)
    lists = []
    for i in range(n):
        group = GROUPS[i % 2]
        lists.append(list(rng.choice(group, size=int(rng.integers(2, 4)), replace=False)))
    lists += [["rock"], ["jazz"], []]
    return lists


def test_parse_tags_formats():
    assert parse_tags("Rock|Indie; pop, rock") == ["rock", "indie", "pop"]
    assert parse_tags(np.array(["Jazz", None, ""], dtype=object)) == ["jazz"]
    assert parse_tags(float("nan")) == [] and parse_tags(None) == []
    df = pd.DataFrame({"track_id": [1, 2], "tags": [["a"], None]})
    assert tag_lists(df) == [["a"], []]
    with pytest.raises(ApcInputError, match="tags"):
        tag_lists(df.drop(columns="tags"))


def test_cooccurring_tags_are_close(seed):
    lists = corpus()
    w2v = TagWord2Vec(vector_size=8, epochs=10, seed=seed).fit(lists)
    v = dict(zip(w2v.tags_, w2v.vectors_, strict=True))
    assert cos(v["rock"], v["indie"]) > cos(v["rock"], v["jazz"]) + 0.3
    assert cos(v["jazz"], v["blues"]) > cos(v["jazz"], v["indie"]) + 0.3


def test_track_vector_is_mean_of_its_tags(seed):
    lists = corpus()
    w2v = TagWord2Vec(vector_size=8, epochs=5, seed=seed).fit(lists)
    x = w2v.transform(lists)
    v = dict(zip(w2v.tags_, w2v.vectors_, strict=True))
    np.testing.assert_allclose(
        x[0], np.mean([v[t] for t in lists[0]], axis=0), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(x[-3], v["rock"], rtol=1e-6)
    assert not x[-1].any()
    assert w2v.available(lists).tolist()[-3:] == [True, True, False]
    # unknown tags count as no tags
    assert not w2v.transform([["polka"]]).any() and not w2v.available([["polka"]])[0]


def test_deterministic_across_fits(seed):
    a = TagWord2Vec(vector_size=8, epochs=5, seed=seed).fit(corpus())
    b = TagWord2Vec(vector_size=8, epochs=5, seed=seed).fit(corpus())
    np.testing.assert_array_equal(a.vectors_, b.vectors_)


def test_deterministic_across_processes(seed):
    # gensim's default string hash is salted per process; ours is not
    import subprocess
    import sys

    code = (
        "from apc.features.tags import TagWord2Vec;"
        f"print(TagWord2Vec(vector_size=4, epochs=2, seed={seed})"
        ".fit([['a','b'],['c']]).vectors_.sum())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": h},
            check=True,
        ).stdout
        for h in ("1", "2")
    }
    assert len(outs) == 1


def test_no_tags_raises():
    with pytest.raises(ApcInputError, match="no track has tags"):
        TagWord2Vec().fit([[], []])
