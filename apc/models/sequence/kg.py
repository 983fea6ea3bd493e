r"""A heterogeneous knowledge graph of the catalogue and its TransR embedding.

The graph's entities are the tracks, then the artists, albums and tags the tracks
table names; its triples ``(head, relation, tail)`` link each track to them:

- ``artist``: track -> its artist (``tracks["artist"]``, an index of ``artists``, -1 if
  unknown);
- ``album``: track -> its album (``tracks["album"]``, any hashable id; None/NaN if
  unknown);
- ``tags``: track -> each of its tags (``tracks["tags"]``, lists of strings).

A relation whose column is absent, or holds no value, is left out and reported
(:attr:`KnowledgeGraph.missing`), so a corpus with artists only (the MPD subset) gives
an artist-only graph.

The embedding is TransR (Lin, Liu, Sun, Liu & Zhu 2015): entities live in
``R^{d_e}``, each relation ``r`` has a vector ``r in R^{d_r}`` and a projection
``M_r in R^{d_e x d_r}``, and a true triple should satisfy
``h M_r + r ~ t M_r`` (their Eq. 7-8):

.. math:: f_r(h, t) = \lVert h M_r + r - t M_r \rVert_2^2

trained with the margin loss of their Eq. 9 against corrupted triples,
``max(0, f_r(h, t) + margin - f_r(h', t'))``, under the norm constraints
``||h||, ||t||, ||r||, ||h M_r||, ||t M_r|| <= 1`` (here imposed by rescaling any
longer vector onto the unit ball inside the score).

References
----------
Y. Lin, Z. Liu, M. Sun, Y. Liu, X. Zhu. "Learning entity and relation embeddings for
knowledge graph completion." AAAI 2015, 2181-2187.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from apc.data.playlists import Playlists

#: The relations apc can build from a tracks table, in entity-block order.
RELATIONS = ("artist", "album", "tags")


@dataclass(frozen=True, eq=False)
class KnowledgeGraph:
    """Entities and triples of the catalogue graph.

    Attributes
    ----------
    n_tracks : int
        Tracks are entities ``0 .. n_tracks - 1`` (their catalogue index).
    n_entities : int
        All entities: tracks, then one block per relation used.
    relations : tuple of str
        The relations used, in the order of their ids.
    missing : tuple of str
        Relations asked for but absent from the tracks table (or empty there).
    triples : np.ndarray
        int64 (n_triples, 3): head, relation id, tail.
    tail_start, tail_stop : np.ndarray
        int64 (n_relations,): the entity block ``[start, stop)`` of each relation's tails,
        from which corrupted tails are drawn.
    """

    n_tracks: int
    n_entities: int
    relations: tuple[str, ...]
    missing: tuple[str, ...]
    triples: np.ndarray
    tail_start: np.ndarray
    tail_stop: np.ndarray

    @property
    def n_relations(self) -> int:
        """Number of relations used."""
        return len(self.relations)

    def describe(self) -> str:
        """One line: entities, triples, relations used and missing."""
        counts = np.bincount(self.triples[:, 1], minlength=self.n_relations)
        pairs = zip(self.relations, counts, strict=True)
        used = ", ".join(f"{r} ({c:,} triples)" for r, c in pairs)
        text = f"{self.n_entities:,} entities; relations: {used or 'none'}"
        if self.missing:
            text += f"; absent from the tracks table: {', '.join(self.missing)}"
        return text


def _links(train: Playlists, relation: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(track rows, tail codes, number of tail entities) of one relation; empty if absent."""
    tracks = train.tracks
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
    if relation not in tracks.columns:
        return empty
    col = tracks[relation].reset_index(drop=True)
    if relation == "artist":
        art = pd.to_numeric(col, errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
        rows = np.flatnonzero(art >= 0)
        if not len(rows):
            return empty
        codes, uniq = pd.factorize(art[rows], sort=True)  # only artists that have a track
        return rows, codes.astype(np.int64), len(uniq)
    if relation == "tags":
        col = col.map(lambda v: [v] if isinstance(v, str) else v).explode()
    s = col.dropna()
    s = s[s.astype(str) != ""]
    if not len(s):
        return empty
    codes, uniq = pd.factorize(s.astype(str).to_numpy(dtype=object), sort=True)
    return s.index.to_numpy(dtype=np.int64), codes.astype(np.int64), len(uniq)


def build_graph(train: Playlists, relations: tuple[str, ...] = RELATIONS) -> KnowledgeGraph:
    """Build the knowledge graph of ``train``'s catalogue over the ``relations`` it has.

    Parameters
    ----------
    train : Playlists
        Its ``tracks`` table supplies the ``artist``, ``album`` and ``tags`` columns.
    relations : tuple of str
        Subset of :data:`RELATIONS` to use; those without data are reported as missing.

    Examples
    --------
    >>> from apc.testing import cycles
    >>> build_graph(cycles(4, n_playlists=2)).relations   # no metadata: no relation
    ()
    """
    n = train.n_tracks
    parts, used, missing, starts, stops = [], [], [], [], []
    offset = n
    for rel in (r for r in RELATIONS if r in relations):
        rows, codes, n_tail = _links(train, rel)
        if not len(rows):
            missing.append(rel)
            continue
        rid = len(used)
        used.append(rel)
        parts.append(np.stack([rows, np.full_like(rows, rid), codes + offset], axis=1))
        starts.append(offset)
        stops.append(offset + n_tail)
        offset += n_tail
    triples = np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)
    return KnowledgeGraph(
        n_tracks=n,
        n_entities=offset,
        relations=tuple(used),
        missing=tuple(missing),
        triples=triples.astype(np.int64),
        tail_start=np.array(starts, dtype=np.int64),
        tail_stop=np.array(stops, dtype=np.int64),
    )


def _rows(entities: torch.Tensor | nn.Embedding, idx: torch.Tensor) -> torch.Tensor:
    """Rows ``idx`` of an entity table, or of an embedding module (sparse gradients)."""
    return entities(idx) if isinstance(entities, nn.Module) else entities[idx]


def _unit_ball(x: torch.Tensor) -> torch.Tensor:
    """Rescale rows longer than 1 onto the unit sphere (TransR's norm constraints)."""
    return x / x.norm(dim=-1, keepdim=True).clamp(min=1.0)


class TransR(nn.Module):
    """TransR scores and margin loss over the entity table it is given.

    The entity embeddings are not owned here: the session network shares its track
    embeddings with the graph, so :meth:`loss` takes the entity table as an argument.

    Parameters
    ----------
    n_relations : int
        Number of relations.
    d_entity, d_relation : int
        Entity and relation space sizes.
    margin : float
        Margin gamma of the ranking loss.
    """

    def __init__(self, n_relations: int, d_entity: int, d_relation: int, margin: float) -> None:
        super().__init__()
        self.margin = float(margin)
        self.rel = nn.Embedding(max(1, n_relations), d_relation)
        nn.init.xavier_uniform_(self.rel.weight)
        eye = torch.eye(d_entity, d_relation)  # Lin et al. initialise M_r to the identity
        self.proj = nn.Parameter(eye.repeat(max(1, n_relations), 1, 1))

    def distance(
        self, entities: torch.Tensor | nn.Embedding, h: torch.Tensor, r: torch.Tensor,
        t: torch.Tensor,
    ) -> torch.Tensor:
        """(N,) ``f_r(h, t) = ||h M_r + r - t M_r||^2`` of triples given by index tensors.

        ``entities`` is the (n_entities, d_e) table, or an ``nn.Embedding`` holding it
        (then only the rows used get gradients, when it is sparse).
        """
        m = self.proj[r]  # (N, d_e, d_r)
        eh = _unit_ball(_rows(entities, h))[:, None, :]  # (N, 1, d_e)
        et = _unit_ball(_rows(entities, t))[:, None, :]
        hp = _unit_ball((eh @ m)[:, 0])  # (N, d_r)
        tp = _unit_ball((et @ m)[:, 0])
        return (hp + _unit_ball(self.rel(r)) - tp).pow(2).sum(-1)

    def loss(
        self,
        entities: torch.Tensor | nn.Embedding,
        triples: torch.Tensor,
        graph_tail_start: torch.Tensor,
        graph_tail_stop: torch.Tensor,
        n_tracks: int,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Mean margin loss of ``triples`` (N, 3) against one corrupted copy of each.

        Half of the copies get a random track as head, half a random entity of the
        relation's tail type as tail (typed corruption, so a negative is never a
        wrong-type entity that is trivially false).
        """
        h, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
        dev = triples.device
        u = torch.rand(len(h), generator=generator).to(dev)
        side = torch.rand(len(h), generator=generator).to(dev) < 0.5
        lo, hi = graph_tail_start[r], graph_tail_stop[r]
        new_t = lo + (u * (hi - lo).double()).long().clamp(max=(hi - lo - 1).clamp(min=0)).to(dev)
        new_h = (u * n_tracks).long().clamp(max=n_tracks - 1)
        h2 = torch.where(side, new_h, h)
        t2 = torch.where(side, t, new_t)
        pos = self.distance(entities, h, r, t)
        neg = self.distance(entities, h2, r, t2)
        return F.relu(pos + self.margin - neg).mean()


__all__ = ["RELATIONS", "KnowledgeGraph", "TransR", "build_graph"]
