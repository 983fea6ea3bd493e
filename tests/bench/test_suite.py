from pathlib import Path

import pytest

from apc.bench.suite import default_metrics, load_suite, parse_label, suite_from_dict
from apc.errors import ApcInputError

ROOT = Path(__file__).resolve().parents[2]

BASE = """
[suite]
name = "t"
seeds = [0, 1]
cutoff = 50
metrics = ["hit@10", "mrr@20"]
baseline = "popularity"

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "next-track"

[[models]]
name = "popularity"

[[models]]
name = "random"
"""


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def test_valid_suite(tmp_path):
    s = load_suite(write(tmp_path, BASE))
    assert s.name == "t" and s.seeds == [0, 1] and s.cutoff == 50
    assert [m.name for m in s.models] == ["popularity", "random"]
    assert s.models[0].model == "popularity" and s.models[0].cache
    assert s.metrics == ["hit@10", "mrr@20"]
    assert s.datasets[0].source == "synth:tiny"
    assert s.config_hash() == load_suite(write(tmp_path, BASE)).config_hash()


@pytest.mark.parametrize(
    "suite_file", sorted((ROOT / "benchmarks").glob("**/*.toml")), ids=lambda p: p.name
)
def test_shipped_suites_are_valid(suite_file):
    s = load_suite(suite_file)
    assert s.models and s.datasets


@pytest.mark.parametrize(
    "old, new, key",
    [
        ('name = "t"', 'name = "t"\nseeds_typo = 3', "suite.seeds_typo"),
        ("[protocol]", "[protocol]\nfoo = 1", "protocol.foo"),
        ('name = "random"', 'name = "random"\nparamz = { a = 1 }', "models[1].paramz"),
        ('source = "synth:tiny"', 'source = "synth:tiny"\npath = "x"', "datasets[0].path"),
        ("[[datasets]]", "[extra]\nx = 1\n[[datasets]]", "extra"),
    ],
)
def test_unknown_keys_name_file_and_key(tmp_path, old, new, key):
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ApcInputError) as e:
        load_suite(path)
    assert e.value.file == str(path)
    assert e.value.field == key
    assert str(path) in str(e.value) and key in str(e.value)


@pytest.mark.parametrize(
    "old, new, key, message",
    [
        ("seeds = [0, 1]", 'seeds = ["a"]', "suite.seeds[0]", "integer"),
        ("seeds = [0, 1]", "seeds = [1, 1]", "suite.seeds", "distinct"),
        ('"mrr@20"]', '"mrr@20", "bogus@5"]', "suite.metrics[2]", "unknown metric"),
        ('"mrr@20"]', '"hit@100"]', "suite.metrics[1]", "cutoff"),
        ('baseline = "popularity"', 'baseline = "nope"', "suite.baseline", "not a model label"),
        ('name = "random"', 'name = "popularity"', "models", "duplicate"),
        ('[protocol]\nname = "next-track"', "[protocol]", "protocol.name", "missing"),
        ('name = "t"', 'name = "t"\ntest = "t-test"', "suite.test", "unknown test"),
        ("cutoff = 50", "cutoff = 0", "suite.cutoff", ">= 1"),
    ],
)
def test_bad_values(tmp_path, old, new, key, message):
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ApcInputError, match=message) as e:
        load_suite(path)
    assert e.value.field == key


def test_ks_expand_metric_names_and_defaults(tmp_path):
    text = BASE.replace(
        'metrics = ["hit@10", "mrr@20"]', 'metrics = ["hit", "mrr@20", "rprec"]\nks = [1, 5]'
    )
    s = load_suite(write(tmp_path, text))
    assert s.metrics == ["hit@1", "hit@5", "mrr@20", "rprec"]
    s = load_suite(write(tmp_path, BASE.replace('metrics = ["hit@10", "mrr@20"]\n', "")))
    assert s.metrics == default_metrics("next-track")
    assert s.metrics[:6] == ["hit@1", "hit@5", "hit@10", "hit@20", "mrr@20", "ndcg@20"]
    assert "recall@500" in default_metrics("continuation") and "clicks_mpd" in default_metrics(
        "mpd-challenge"
    )


def test_relative_dataset_paths_resolve_against_the_suite(tmp_path, monkeypatch):
    monkeypatch.setenv("APC_TEST_DATA", str(tmp_path / "data"))
    text = BASE.replace('source = "synth:tiny"', 'source = "corpus"').replace(
        "[protocol]", '[[datasets]]\nname = "env"\nsource = "$APC_TEST_DATA/x"\n\n[protocol]'
    )
    s = load_suite(write(tmp_path, text))
    assert s.datasets[0].source == str((tmp_path / "corpus").resolve())
    assert s.datasets[1].source == str(tmp_path / "data" / "x")


def test_parse_label():
    assert parse_label("recall@20") == ("recall", 20)
    assert parse_label("rprec_mpd") == ("rprec_mpd", None)
    with pytest.raises(ApcInputError):
        parse_label("recall@")


def test_suite_from_dict_requires_sections():
    with pytest.raises(ApcInputError, match="datasets"):
        suite_from_dict({"protocol": {"name": "next-track"}, "models": [{"name": "random"}]})
    with pytest.raises(ApcInputError, match="models"):
        suite_from_dict(
            {"datasets": [{"source": "synth:tiny"}], "protocol": {"name": "next-track"}}
        )


def test_default_metrics_follow_a_small_cutoff(tmp_path):
    # issue 17: cutoff = 50 must not fail on defaults the user never wrote (recall@100 ...)
    text = BASE.replace('metrics = ["hit@10", "mrr@20"]\n', "").replace(
        'name = "next-track"', 'name = "continuation"'
    )
    s = load_suite(write(tmp_path, text))
    assert s.cutoff == 50
    ks = [parse_label(m)[1] for m in s.metrics]
    assert max(k for k in ks if k is not None) == 50
    assert "recall@20" in s.metrics and "recall@50" in s.metrics and "ndcg@50" in s.metrics
    assert len(s.metrics) == len(set(s.metrics))  # recall@100 and recall@500 -> one recall@50
    assert "rprec" in s.metrics
    # at the default cutoff (500) nothing changes
    assert default_metrics("continuation", 500) == default_metrics("continuation")
    # tiny cutoff: every default label still valid
    assert all(parse_label(m)[1] in (None, 1) for m in default_metrics("next-track", 1))


def test_explicit_metric_above_cutoff_still_errors(tmp_path):
    text = BASE.replace('["hit@10", "mrr@20"]', '["hit@10", "recall@100"]')
    with pytest.raises(ApcInputError, match=r"recall@100: k exceeds the suite's cutoff \(50\)"):
        load_suite(write(tmp_path, text))
