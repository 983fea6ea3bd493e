import json
import re

import pytest

from apc.datasets.mpd_categories import category_of
from apc.datasets.mpd_challenge import read_challenge
from apc.errors import ApcInputError
from apc.mpd.submission import check_submission, fill_rows, validate_submission, write_submission


def uri(i: int) -> str:
    return f"spotify:track:{i:022d}"


@pytest.fixture
def challenge(tmp_path):
    data = {
        "date": "2018-01-16",
        "version": "v1",
        "playlists": [
            {
                "pid": 10,
                "name": "rock",
                "num_samples": 0,
                "num_holdouts": 3,
                "num_tracks": 3,
                "tracks": [],
            },
            {
                "pid": 11,
                "num_samples": 2,
                "num_holdouts": 4,
                "num_tracks": 6,
                "tracks": [{"pos": 0, "track_uri": uri(1)}, {"pos": 1, "track_uri": uri(2)}],
            },
            {
                "pid": 12,
                "name": "jazz",
                "num_samples": 2,
                "num_holdouts": 4,
                "num_tracks": 6,
                "tracks": [{"pos": 3, "track_uri": uri(3)}, {"pos": 5, "track_uri": uri(4)}],
            },
        ],
    }
    path = tmp_path / "challenge_set.json"
    path.write_text(json.dumps(data))
    return path


def good_rows(start: int = 100) -> dict[int, list[str]]:
    return {
        pid: [uri(start + 1000 * j + i) for i in range(500)] for j, pid in enumerate((10, 11, 12))
    }


def test_categories_from_title_and_positions(challenge):
    ch = read_challenge(challenge)
    assert [p.category for p in ch.playlists] == ["title_only", "first2", "title_random2"]
    assert category_of(True, list(range(100))) == "title_first100"
    assert category_of(False, [0, 1, 2, 3, 4]) == "first5"


def test_write_then_validate_roundtrip(challenge, tmp_path):
    out = write_submission(
        good_rows(), tmp_path / "sub.csv", team="apc team", email="a@b.org", challenge=challenge
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "team_info,apc team,a@b.org"
    assert [line.split(",")[0] for line in lines[1:]] == ["10", "11", "12"]  # challenge order
    assert len(lines[1].split(",")) == 501
    sub = validate_submission(out, challenge)
    assert sub.team == "apc team" and sub.rows[11] == good_rows()[11]


def _write_raw(path, rows, team="team_info,t,a@b.org"):
    text = [team] + [f"{pid}, " + ", ".join(tracks) for pid, tracks in rows]
    path.write_text("\n".join(text) + "\n")
    return path


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r[10].pop(), "499 tracks, expected exactly 500"),
        (lambda r: r[11].__setitem__(7, r[11][3]), "duplicate track"),
        (lambda r: r[11].__setitem__(0, uri(2)), "seed track(s) recommended"),
        (lambda r: r.pop(12), "challenge-set pid(s) missing from the file: 12"),
        (lambda r: r.__setitem__(99, r[10]), "pid 99 is not in the challenge set"),
        (lambda r: r[12].__setitem__(4, "spotify:track:bad"), "malformed track URI"),
    ],
)
def test_validator_rejects(challenge, tmp_path, mutate, message):
    rows = good_rows()
    mutate(rows)
    path = _write_raw(tmp_path / "sub.csv", rows.items())
    with pytest.raises(ApcInputError, match=re.escape(message)) as e:
        validate_submission(path, challenge)
    assert "sub.csv" in str(e.value)
    # write_submission refuses the same rows and leaves no file behind
    with pytest.raises(ApcInputError):
        write_submission(rows, tmp_path / "w.csv", team="t", email="a@b.org", challenge=challenge)
    assert not (tmp_path / "w.csv").exists()


def test_validator_names_line_of_duplicate_pid(challenge, tmp_path):
    rows = list(good_rows().items()) + [(11, good_rows()[11])]
    path = _write_raw(tmp_path / "sub.csv", rows)
    _, problems = check_submission(path, challenge)
    assert [str(p) for p in problems] == ["line 5 (pid 11): pid 11 appears again (first on line 3)"]


def test_validator_requires_team_info(challenge, tmp_path):
    path = _write_raw(tmp_path / "sub.csv", good_rows().items(), team="# comment only")
    with pytest.raises(ApcInputError, match="team_info"):
        validate_submission(path, challenge)
    path = _write_raw(tmp_path / "sub2.csv", good_rows().items(), team="team_info,t,not-an-email")
    with pytest.raises(ApcInputError, match="email"):
        validate_submission(path, challenge)


def test_fill_rows_drops_seeds_repeats_and_tops_up():
    rows, report = fill_rows(
        [1, 2],
        [["a", "s", "a", "b"], ["c"]],
        {1: ["s"], 2: []},
        fallback=["a", "x", "c", "y", "z"],
        n_tracks=4,
    )
    assert rows == {1: ["a", "b", "x", "c"], 2: ["c", "a", "x", "y"]}
    assert report == {"filled_rows": 2, "filled_tracks": 5}
    with pytest.raises(ApcInputError, match="only 2 distinct"):
        fill_rows([1], [["a"]], {1: []}, fallback=["b"], n_tracks=3)
