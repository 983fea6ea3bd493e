"""apc mpd make-challenge says what it did: share held out, answers repeating a seed."""

import json
import warnings

import pytest

from apc.data.playlists import Playlists
from apc.errors import DataWarning
from apc.mpd.offline import MAX_CHALLENGE_SHARE, make_offline_challenge
from apc.mpd.submission import Problem


def corpus(n: int = 200, length: int = 30, *, echo: bool = True) -> Playlists:
    # echo: every playlist ends by repeating its first five tracks, so answers of
    # first-n categories repeat a seed track
    seqs = []
    for i in range(n):
        own = [f"spotify:track:{i:04d}{j:02d}" for j in range(length - 5 * echo)]
        seqs.append(own + own[:5] if echo else own)
    return Playlists.from_sequences(seqs, names=[f"mix {i}" for i in range(n)])


def test_answers_repeating_a_seed_are_dropped_and_counted(tmp_path):
    pl = corpus()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = make_offline_challenge(pl, tmp_path / "ch", n_per_category=3, seed=1)
    challenge = json.loads(res.challenge.read_text())["playlists"]
    heldout = {h["pid"]: h for h in json.loads(res.heldout.read_text())["playlists"]}
    dropped = 0
    for c in challenge:
        seeds = {t["track_uri"] for t in c["tracks"]}
        answers = heldout[c["pid"]]["tracks"]
        assert answers and not seeds & {t["track_uri"] for t in answers}
        assert c["num_holdouts"] == len(answers) == heldout[c["pid"]]["num_holdouts"]
        dropped += c["num_tracks"] - c["num_samples"] - len(answers)
    assert dropped > 0
    # title_first25 playlists (30 tracks) hold out only the five repeats: left in training
    assert res.report["playlists_left_in_train_no_answer"] == 3
    assert res.counts["title_first25"] == 0
    assert res.report["heldout_seed_repeats_dropped"] == dropped + 3 * 5


def test_playlist_whose_answers_all_repeat_seeds_stays_in_training(tmp_path):
    echo = [[f"e{i}_{j}" for j in range(5)] * 2 for i in range(3)]  # seeds == answers
    normal = [[f"n{i}_{j}" for j in range(12)] for i in range(40)]
    pl = Playlists.from_sequences(echo + normal)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = make_offline_challenge(
            pl, tmp_path / "ch", n_per_category=100, categories=("first5",), seed=0
        )
    assert res.report["playlists_left_in_train_no_answer"] == 3
    assert res.report["heldout_seed_repeats_dropped"] == 15
    assert res.counts == {"first5": 40}
    assert res.report["challenge_playlists"] == 40
    assert res.report["train_playlists"] == 3


def test_large_share_warns_with_sizes(tmp_path):
    pl = corpus(echo=False)  # 8 categories fit 30-track playlists
    with pytest.warns(DataWarning) as w:
        res = make_offline_challenge(pl, tmp_path / "a", n_per_category=5)
    (share,) = [str(x.message) for x in w if "holds out" in str(x.message)]
    assert "holds out 40 of 200 playlists (20%, above 10%" in share
    assert "training keeps 160" in share
    assert res.report["challenge_share"] == 0.2
    assert res.report["train_playlists"] + res.report["challenge_playlists"] == 200
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "not enough eligible", DataWarning)
        warnings.filterwarnings("error", "the challenge holds out", DataWarning)  # 8 of 200
        small = make_offline_challenge(pl, tmp_path / "b", n_per_category=1)
    assert small.report["challenge_share"] <= MAX_CHALLENGE_SHARE


def test_problem_without_a_line_is_never_line_zero():
    assert str(Problem(0, None, "3 challenge-set pid(s) missing")) == (
        "3 challenge-set pid(s) missing"
    )
    assert str(Problem(0, 7, "not answered")) == "pid 7: not answered"
    assert str(Problem(4, 7, "bad")) == "line 4 (pid 7): bad"


def test_challenge_set_report_counts_playlists_whose_seeds_are_all_unknown(tmp_path):
    from apc.datasets.mpd_challenge import read_challenge_set

    train = Playlists.from_sequences([["a", "b", "c"], ["b", "c", "d"]])
    playlists = [
        {"pid": 1, "name": "x", "num_samples": 0, "tracks": []},  # title only
        {"pid": 2, "num_samples": 2, "tracks": [{"pos": 0, "track_uri": "zz"},
                                                 {"pos": 1, "track_uri": "yy"}]},
        {"pid": 3, "num_samples": 2, "tracks": [{"pos": 0, "track_uri": "a"},
                                                 {"pos": 1, "track_uri": "yy"}]},
    ]
    path = tmp_path / "challenge_set.json"
    path.write_text(json.dumps({"playlists": playlists}))
    queries, report = read_challenge_set(path, train)
    assert report["empty_seeds"] == 2 and report["all_seeds_unknown"] == 1
    assert report["unknown_seed_tracks_dropped"] == 3
