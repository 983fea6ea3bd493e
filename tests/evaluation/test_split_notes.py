"""The split report says what the protocol cannot give a model (issue 17, item 8)."""

from apc.data.playlists import Playlists
from apc.evaluation.protocols import make_protocol


def corpus() -> Playlists:
    seqs = [[f"t{(i + j) % 40}" for j in range(12)] for i in range(60)]
    # playlists that open with tracks found nowhere else: seeds all unknown to training
    seqs += [[f"new{i}_{j}" for j in range(25)] + [f"t{j}" for j in range(10)] for i in range(30)]
    return Playlists.from_sequences(seqs, names=[f"mix {i}" for i in range(len(seqs))])


def test_next_track_report_says_queries_have_no_titles():
    split = make_protocol("next-track").split(corpus(), seed=0)
    assert split.queries.titles is None
    assert any("no playlist titles" in n and "equals popularity" in n for n in split.report.notes)


def test_continuation_report_counts_queries_answered_by_the_title_fallback():
    split = make_protocol("continuation", test_fraction=0.5).split(corpus(), seed=0)
    empty = split.report.counts["empty_seeds"]
    assert empty > 0
    (note,) = [n for n in split.report.notes if "no seed track known to training" in n]
    assert note.startswith(f"{empty} of {split.report.counts['queries']} queries")
    assert "title fallback" in note
    assert not any("no playlist titles" in n for n in split.report.notes)


def test_no_note_when_every_query_has_a_known_seed():
    seqs = [[f"t{(i + j) % 40}" for j in range(12)] for i in range(60)]
    split = make_protocol("continuation").split(Playlists.from_sequences(seqs), seed=0)
    assert split.report.counts["empty_seeds"] == 0
    assert not any("no seed track known" in n for n in split.report.notes)
