"""Logistic Markov embedding (LME): tracks as points, transitions as nearby moves.

Chen, Moore, Turnbull & Joachims (2012) embed every track in a Euclidean space and
model the next track by a softmax over negative squared distances. Trained here with
plain torch (Adam or SGD) on the training transitions, with the full softmax on small
catalogues and a sampled softmax with log-q correction on large ones.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models._sparse_prior import entry_mask
from apc.models.base import ScoringRecommender
from apc.models.params import param

#: Held-out transitions scored per epoch for early stopping (sampled when more).
MAX_VALIDATION_TRANSITIONS = 10_000


def transitions(train: Playlists) -> tuple[np.ndarray, np.ndarray]:
    """Return every consecutive pair of ``train`` as int64 arrays ``(current, next)``.

    Examples
    --------
    >>> from apc.data import Playlists
    >>> cur, nxt = transitions(Playlists.from_sequences([["a", "b", "c"], ["c", "a"]]))
    >>> cur.tolist(), nxt.tolist()
    ([0, 1, 2], [1, 2, 0])
    """
    mask = entry_mask(train.indptr, train.n_entries, 1)[1:]
    return train.items[:-1][mask].astype(np.int64), train.items[1:][mask].astype(np.int64)


@dataclass(frozen=True)
class LMEConfig:
    """Hyper-parameters of :class:`LogisticMarkovEmbedding`."""

    n_dims: int = param(32, ge=1, doc="Embedding dimension d.")
    model: str = param("dual", choices=("dual", "single"), doc="Dual-point or single-point model.")
    popularity_bias: bool = param(True, doc="Learn the per-track bias b.")
    softmax: str = param(
        "auto", choices=("auto", "full", "sampled"), doc="Exact softmax over the catalogue, "
        "sampled softmax, or auto: full up to full_softmax_max_tracks tracks.",
    )
    full_softmax_max_tracks: int = param(
        4096, ge=1, doc="Threshold of softmax=auto (above it the sampled softmax trains one to "
        "two orders of magnitude more transitions per second).",
    )
    n_negatives: int = param(256, ge=1, doc="Negatives shared by a batch in the sampled softmax.")
    negative_sampling: str = param(
        "popularity", choices=("popularity", "uniform"),
        doc="Negatives by popularity^0.75 or uniformly.",
    )
    epochs: int = param(10, ge=1, doc="Passes over the training transitions.")
    batch_size: int = param(1024, ge=1, doc="Transitions per step.")
    learning_rate: float = param(0.02, gt=0, doc="Step size.")
    optimizer: str = param(
        "adam", choices=("adam", "sgd"),
        doc="Adam (SparseAdam with the sampled softmax) or plain SGD.",
    )
    l2: float = param(1e-4, ge=0, doc="lambda, L2 weight on the embeddings a batch touches.")
    init_scale: float = param(
        0.1, gt=0, doc="Standard deviation of the Gaussian initial embeddings."
    )
    context: str = param(
        "last", choices=("last", "mean"),
        doc="Query point from the last seed track or the mean over the seed.",
    )
    validation_fraction: float = param(
        0.0, ge=0, lt=1, doc="Share of training playlists held out for early stopping (0: off); "
        "their exact held-out log-likelihood is computed after every epoch and the best "
        "epoch's parameters are kept.",
    )
    patience: int = param(2, ge=1, doc="Epochs without improvement before stopping.")
    seed: int = param(
        0, ge=0, doc="Seed of initialisation, shuffling, negatives and the validation split."
    )
    device: str = param("cpu", doc="Torch device for training and scoring.")
    num_threads: int = param(
        1, ge=0, doc="Torch intra-op threads while training (0: torch's default). One by "
        "default: the per-step products are small, and two threads spin-waiting on a shared "
        "2-core machine took 5x the CPU time per epoch on synth:small (issue 13).",
    )


class LogisticMarkovEmbedding(ScoringRecommender):
    r"""Logistic Markov embedding (Chen et al. 2012), single- or dual-point.

    **Single-point model** (the paper's basic LME): each track ``s`` is a point
    :math:`X(s) \in \mathbb{R}^d` and

    .. math::

        P(s' \mid s) = \frac{\exp(-\lVert X(s) - X(s')\rVert^2 + b_{s'})}
        {\sum_{t} \exp(-\lVert X(s) - X(t)\rVert^2 + b_t)}.

    It is symmetric in distance, so the track before ``s`` is as likely as the one after.

    **Dual-point model**: each track has an exit vector :math:`U(s)` (used when it is
    the current track) and an entry vector :math:`V(s')` (used when it is the next one),
    :math:`P(s' \mid s) \propto \exp(-\lVert U(s) - V(s')\rVert^2 + b_{s'})`, which can
    represent direction.

    The popularity bias :math:`b_{s'}` (the paper's popularity extension) is optional
    (``popularity_bias``). Training maximises the regularised log-likelihood of the
    training transitions :math:`(s_a, s_b)`,

    .. math::

        \max_{U, V, b} \sum_{(s_a, s_b)} \log P(s_b \mid s_a)
        - \lambda \sum_{(s_a, s_b)} \bigl(\lVert U(s_a)\rVert^2 + \lVert V(s_b)\rVert^2\bigr),

    by mini-batch Adam or SGD (the paper uses SGD; the L2 term is applied to the rows a
    batch touches, i.e. weighted by frequency). With ``softmax="sampled"`` the partition
    function is estimated from ``n_negatives`` tracks shared by the batch, drawn from
    :math:`q(t) \propto \text{pop}(t)^{0.75}` (or uniformly), with :math:`-\log q(t)`
    added to every logit (log-q correction, Bengio & Senecal 2008; Jean et al. 2015)
    and accidental hits of the positive masked out.

    **Recommendation**: with ``context="last"`` the query point is :math:`U` of the last
    seed track; with ``context="mean"`` it is the mean of :math:`U` over the seed, which
    ranks tracks exactly as the average squared distance to all seed tracks does
    (:math:`\frac{1}{m}\sum_i \lVert u_i - v\rVert^2 = \lVert \bar u - v\rVert^2 +`
    const). Scores are :math:`\log P(s' \mid \cdot)` over the catalogue, computed in
    blocks as :math:`\lVert a\rVert^2 + \lVert b\rVert^2 - 2ab` with one matmul.

    Parameters
    ----------
    **params
        Fields of :class:`LMEConfig` as keywords (``n_dims=16, epochs=5`` ...).

    Attributes
    ----------
    U_, V_ : np.ndarray
        float32 (n_tracks, d): exit and entry vectors (the same array for ``"single"``).
    b_ : np.ndarray
        float32 (n_tracks,): popularity bias (zeros without ``popularity_bias``).
    history_ : list of dict
        Per epoch: ``epoch``, ``loss`` (training), ``val_loglik`` (if validating),
        ``seconds``.
    softmax_ : str
        ``"full"`` or ``"sampled"``, as resolved from ``softmax``.

    Notes
    -----
    An epoch costs :math:`O(T\, n\, d)` with the full softmax and
    :math:`O(T\, (K + 1)\, d)` with the sampled one (``T`` transitions, ``K``
    negatives); scoring a query costs :math:`O(n\, d)`. Memory: :math:`2 n d` floats
    (plus Adam's two moments while training).

    References
    ----------
    .. [1] S. Chen, J. L. Moore, D. Turnbull and T. Joachims. "Playlist prediction via
       metric embedding". In Proc. ACM SIGKDD 2012, pp. 714-722.
    .. [2] S. Jean, K. Cho, R. Memisevic and Y. Bengio. "On using very large target
       vocabulary for neural machine translation". In Proc. ACL 2015.
    .. [3] Y. Bengio and J.-S. Senecal. "Adaptive importance sampling to accelerate
       training of a neural probabilistic language model". IEEE Trans. Neural Networks
       19(4), 2008.

    Examples
    --------
    >>> from apc.testing import cycles, queries_from
    >>> pl = cycles()
    >>> model = LogisticMarkovEmbedding(n_dims=4, epochs=60, learning_rate=0.05).fit(pl)
    >>> model.recommend(queries_from(pl, [[3]], [[4]]), 1).items.tolist()
    [[4]]
    """

    name = "lme"
    config_class = LMEConfig

    def _validate(self, train: Playlists) -> None:
        if train.n_tracks < 2:
            raise ApcInputError("LME needs a catalogue of at least 2 tracks", field="n_tracks")

    # ------------------------------------------------------------------ training
    def _fit(self, train: Playlists, features) -> None:
        from apc._threads import torch_threads

        with torch_threads(int(self.num_threads)):
            self._train(train)

    def _train(self, train: Playlists) -> None:
        import torch

        device = torch.device(self.device)
        gen = torch.Generator().manual_seed(int(self.seed))
        n = train.n_tracks
        self.softmax_ = (
            self.softmax
            if self.softmax != "auto"
            else ("full" if n <= self.full_softmax_max_tracks else "sampled")
        )
        sampled = self.softmax_ == "sampled"
        fit_part, val_pairs = self._split(train)
        cur, nxt = transitions(fit_part)
        cur_t, nxt_t = torch.from_numpy(cur), torch.from_numpy(nxt)

        d = int(self.n_dims)
        scale = float(self.init_scale)
        u = torch.nn.Parameter((torch.randn(n, d, generator=gen) * scale).to(device))
        v = (
            torch.nn.Parameter((torch.randn(n, d, generator=gen) * scale).to(device))
            if self.model == "dual"
            else u
        )
        # (n, 1) so that the sampled loss can look it up with a sparse-gradient embedding
        b = torch.nn.Parameter(torch.zeros(n, 1, device=device)) if self.popularity_bias else None
        params = [u] + ([v] if v is not u else []) + ([b] if b is not None else [])
        lr = float(self.learning_rate)
        if self.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=lr)
        elif sampled:
            opt = torch.optim.SparseAdam(params, lr=lr)
        else:
            opt = torch.optim.Adam(params, lr=lr)

        pop = train.item_popularity().astype(np.float64) + 1e-12
        q = pop**0.75 if self.negative_sampling == "popularity" else np.ones(n)
        q = q / q.sum()
        q_t = torch.from_numpy(q)
        log_q = torch.log(q_t).float().to(device)

        self.history_: list[dict[str, float]] = []
        best = (-math.inf, None)
        bad_epochs = 0
        l2 = float(self.l2)
        bs = int(self.batch_size)
        for epoch in range(int(self.epochs)):
            start = time.perf_counter()
            perm = torch.randperm(len(cur_t), generator=gen)
            total, count = 0.0, 0
            for lo in range(0, len(perm), bs):
                idx = perm[lo : lo + bs]
                i = cur_t[idx].to(device)
                j = nxt_t[idx].to(device)
                if sampled:
                    neg = torch.multinomial(
                        q_t, int(self.n_negatives), replacement=True, generator=gen
                    )
                    loss, reg = _sampled_loss(u, v, b, i, j, neg.to(device), log_q)
                else:
                    loss, reg = _full_loss(u, v, b, i, j)
                opt.zero_grad(set_to_none=True)
                (loss + l2 * reg).backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                count += len(idx)
            row = {
                "epoch": epoch + 1,
                "loss": total / max(1, count),
                "seconds": time.perf_counter() - start,
            }
            self._store(u, v, b)
            if val_pairs is not None:
                row["val_loglik"] = self._loglik(*val_pairs)
                if row["val_loglik"] > best[0]:
                    best, bad_epochs = (row["val_loglik"], (self.U_, self.V_, self.b_)), 0
                else:
                    bad_epochs += 1
            self.history_.append(row)
            self._end_epoch(row)
            if val_pairs is not None and bad_epochs >= self.patience:
                break
        if best[1] is not None:
            self.U_, self.V_, self.b_ = best[1]

    def _split(self, train: Playlists):
        """Training playlists and, with ``validation_fraction``, held-out transitions."""
        if not self.validation_fraction or len(train) < 2:
            return train, None
        rng = np.random.default_rng([int(self.seed), 1])
        perm = rng.permutation(len(train))
        n_val = min(len(train) - 1, max(1, int(round(self.validation_fraction * len(train)))))
        val = train.subset(np.sort(perm[:n_val]))
        cur, nxt = transitions(val)
        if len(cur) == 0:
            return train, None
        if len(cur) > MAX_VALIDATION_TRANSITIONS:
            pick = np.sort(rng.choice(len(cur), MAX_VALIDATION_TRANSITIONS, replace=False))
            cur, nxt = cur[pick], nxt[pick]
        return train.subset(np.sort(perm[n_val:])), (cur, nxt)

    def _store(self, u, v, b) -> None:
        self.U_ = u.detach().float().cpu().numpy().copy()
        self.V_ = self.U_ if v is u else v.detach().float().cpu().numpy().copy()
        self.b_ = (
            np.zeros(len(self.U_), np.float32)
            if b is None
            else b.detach().float().cpu().numpy()[:, 0].copy()
        )

    def _end_epoch(self, row: dict[str, float]) -> None:
        """Run after each epoch with its history row (parameters already in ``U_``...); a hook."""

    def _loglik(self, cur: np.ndarray, nxt: np.ndarray) -> float:
        """Mean exact log P(next | current) of the given transitions under the stored model."""
        import torch

        total = 0.0
        step = max(1, (1 << 24) // len(self.V_))
        for lo in range(0, len(cur), step):
            logits = self._logits(torch.from_numpy(self.U_[cur[lo : lo + step]]))
            logp = torch.log_softmax(logits, dim=1)
            total += float(
                logp[torch.arange(len(logp)), torch.from_numpy(nxt[lo : lo + step])].sum()
            )
        return total / max(1, len(cur))

    # ------------------------------------------------------------------ scoring
    def _logits(self, points):
        """(B, n) logits ``-||a - V_j||^2 + b_j`` up to a per-row constant, on ``device``.

        ``-||a - v||^2 = 2 a.v - ||v||^2 - ||a||^2`` and the last term is the same for
        every candidate, so it is left out: softmax and ranking do not change.
        """
        import torch

        device = torch.device(self.device)
        a = points.to(device=device, dtype=torch.float32)
        vt = torch.from_numpy(self.V_).to(device)
        bias = torch.from_numpy(self.b_).to(device)
        return _shifted_logits(a, vt, bias)

    def _score(self, queries: Queries):
        import torch

        b = len(queries)
        d = self.U_.shape[1]
        lengths = queries.seed_lengths
        if self.context == "last":
            last = queries.last_seed()
            pts = np.where((last >= 0)[:, None], self.U_[np.maximum(last, 0)], 0.0)
        else:
            rows = np.repeat(np.arange(b), lengths)
            pts = np.zeros((b, d), np.float64)
            np.add.at(pts, rows, self.U_[queries.seeds])
            pts /= np.maximum(lengths, 1)[:, None]
        with torch.no_grad():
            logits = self._logits(torch.from_numpy(np.ascontiguousarray(pts, dtype=np.float32)))
            return torch.log_softmax(logits, dim=1).cpu()

    def next_track_log_proba(self, queries: Queries) -> np.ndarray:
        """Return the exact softmax log-probability of each query's first target.

        The full softmax over the catalogue (Chen et al. 2012, Eq. 3), whatever softmax
        trained the model; no smoothing is needed (every track has a finite logit).

        Parameters
        ----------
        queries : Queries
            Queries with at least one target each.

        Returns
        -------
        np.ndarray
            float64 ``(Q,)``.
        """
        from apc.models._loglik import gather_log_proba
        from apc.models.base import check_is_fitted

        check_is_fitted(self)
        return gather_log_proba(self, queries, normalise=False)


def _shifted_logits(a, vt, bias):
    """``2 a V^T - ||V||^2 + b``: (B, n) logits minus the per-row constant ``||a||^2``."""
    import torch

    row = -(vt * vt).sum(1)
    if bias is not None:
        row = row + bias
    return torch.addmm(row[None, :], a, vt.T, alpha=2.0)


def _pairwise_logits(a, vt, bias):
    sq = (a * a).sum(1, keepdim=True) + (vt * vt).sum(1)[None, :] - 2.0 * (a @ vt.T)
    return -sq if bias is None else bias[None, :] - sq


def _full_loss(u, v, b, i, j):
    """Exact softmax cross-entropy over the catalogue, and the L2 term of the batch."""
    import torch.nn.functional as F

    a = u[i]  # (B, d)
    logits = _shifted_logits(a, v, None if b is None else b[:, 0])  # (B, n); softmax-invariant
    loss = F.cross_entropy(logits, j)
    reg = (a * a).sum(1).mean() + (v[j] * v[j]).sum(1).mean()
    return loss, reg


def _sampled_loss(u, v, b, i, j, neg, log_q):
    """Return the sampled-softmax loss (log-q corrected; positive + K shared negatives)."""
    import torch
    import torch.nn.functional as F

    a = F.embedding(i, u, sparse=True)  # (B, d)
    vp = F.embedding(j, v, sparse=True)  # (B, d)
    vn = F.embedding(neg, v, sparse=True)  # (K, d)
    pos = -((a - vp) ** 2).sum(1) - log_q[j]  # (B,)
    negl = _pairwise_logits(a, vn, None) - log_q[neg][None, :]  # (B, K)
    if b is not None:
        pos = pos + F.embedding(j, b, sparse=True)[:, 0]
        negl = negl + F.embedding(neg, b, sparse=True)[:, 0][None, :]
    negl = negl.masked_fill(neg[None, :] == j[:, None], float("-inf"))  # accidental hits
    logits = torch.cat([pos[:, None], negl], dim=1)
    target = torch.zeros(len(i), dtype=torch.long, device=logits.device)
    loss = F.cross_entropy(logits, target)
    reg = (a * a).sum(1).mean() + (vp * vp).sum(1).mean()
    return loss, reg
