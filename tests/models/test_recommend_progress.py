"""The recommend phase of every scoring model reports progress (issue 17, item 5)."""

from contextlib import contextmanager

import apc.progress
from apc.models.popularity import Popularity
from apc.testing import cycles, queries_from


def test_recommend_in_several_blocks_advances_a_progress_bar(monkeypatch):
    seen = []

    class Bar:
        def advance(self, n=1):
            seen[-1][2] += n

    @contextmanager
    def fake_task(description, total=None, *, transient=False):
        seen.append([description, total, 0, transient])
        yield Bar()

    monkeypatch.setattr(apc.progress, "task", fake_task)
    train = cycles(n_playlists=60)
    queries = queries_from(train, [[i % 12] for i in range(60)], [[(i + 1) % 12] for i in range(60)])
    model = Popularity().fit(train)
    model.batch_size = 16  # 60 queries: four blocks
    rec = model.recommend(queries, 5)
    assert rec.items.shape == (60, 5)
    assert seen == [["Popularity: recommending for 60 queries", 60, 60, True]]
    seen.clear()
    model.batch_size = 1024  # one block: no bar
    model.recommend(queries, 5)
    assert seen == []
