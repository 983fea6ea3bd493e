import json

from typer.testing import CliRunner

from apc.cli.mpd import app

runner = CliRunner()


def uri(i: int) -> str:
    return f"spotify:track:{i:022d}"


def write_challenge(path):
    data = {
        "playlists": [
            {
                "pid": 1,
                "name": "a",
                "num_samples": 1,
                "num_holdouts": 2,
                "num_tracks": 3,
                "tracks": [{"pos": 0, "track_uri": uri(0)}],
            },
            {
                "pid": 2,
                "num_samples": 1,
                "num_holdouts": 2,
                "num_tracks": 3,
                "tracks": [{"pos": 0, "track_uri": uri(1)}],
            },
        ]
    }
    path.write_text(json.dumps(data))
    return path


def write_sub(path, rows):
    path.write_text(
        "team_info,t,t@x.org\n" + "".join(f"{pid}, " + ", ".join(r) + "\n" for pid, r in rows)
    )
    return path


def test_validate_ok_and_every_problem_listed(tmp_path):
    ch = write_challenge(tmp_path / "challenge_set.json")
    good = write_sub(
        tmp_path / "good.csv",
        [(1, [uri(i) for i in range(10, 510)]), (2, [uri(i) for i in range(10, 510)])],
    )
    res = runner.invoke(app, ["validate", str(good), "--challenge", str(ch)])
    assert res.exit_code == 0, res.output
    assert "valid (2 playlists" in res.output

    bad_rows = [
        (1, [uri(0)] + [uri(i) for i in range(10, 509)]),
        (1, [uri(i) for i in range(10, 510)]),
    ]
    bad = write_sub(tmp_path / "bad.csv", bad_rows)
    res = runner.invoke(app, ["validate", str(bad), "--challenge", str(ch)])
    assert res.exit_code == 1
    assert "line 3 (pid 1): pid 1 appears again (first on line 2)" in res.output
    assert "seed track(s) recommended" in res.output
    assert "1 challenge-set pid(s) missing from the file: 2" in res.output
    assert "line 0" not in res.output
    assert "invalid: 3 problem(s)" in res.output
