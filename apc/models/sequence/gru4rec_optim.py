"""GRU4Rec's training objective and optimiser (Hidasi & Karatzoglou 2018).

The losses score a session-parallel mini-batch against the in-batch targets plus
shared samples; :class:`AdagradM` is the official code's Adagrad with momentum that
updates only the rows a sparse gradient touches. Used by
:class:`apc.models.sequence.gru4rec.GRU4RecLightning`.

References
----------
B. Hidasi, A. Karatzoglou. "Recurrent neural networks with top-k gains for
session-based recommendations." CIKM 2018, 843-852. arXiv:1706.03847.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def xe_loss(scores: torch.Tensor, log_q: torch.Tensor | None = None) -> torch.Tensor:
    """Sum the cross-entropy of a softmax over (in-batch targets + samples).

    ``scores`` is (B, B + S) with row ``i``'s target in column ``i`` (Hidasi &
    Karatzoglou 2018, Sec. 3); ``log_q`` (B + S,) subtracts the log sampling
    probability of each column (log-q correction of the official code).
    """
    if log_q is not None:
        scores = scores - log_q[None, :]
    return F.cross_entropy(scores, torch.arange(len(scores), device=scores.device), reduction="sum")


def bpr_max_loss(scores: torch.Tensor, *, bpreg: float, elu_param: float) -> torch.Tensor:
    r"""Sum the BPR-max loss with score regularisation (Hidasi & Karatzoglou 2018, Eq. 9).

    .. math:: L = -\log \sum_j s_j \sigma(r_i - r_j) + \lambda \sum_j s_j r_j^2

    where ``s_j`` is the softmax of the negative scores (the target excluded) and
    ``r = ELU(scores, elu_param)`` (linear when ``elu_param == 0``).
    """
    if elu_param > 0:
        scores = F.elu(scores, elu_param)
    b, c = scores.shape
    diag = torch.eye(b, c, dtype=torch.bool, device=scores.device)
    s = torch.softmax(scores.masked_fill(diag, float("-inf")), dim=1)  # (B, C), 0 on the target
    target = scores.diagonal()[:, None]  # (B, 1)
    ranking = -torch.log((torch.sigmoid(target - scores) * s).sum(1) + 1e-24)
    return (ranking + bpreg * (scores.pow(2) * s).sum(1)).sum()


class AdagradM(torch.optim.Optimizer):
    """Adagrad with optional momentum that updates only the rows of sparse gradients.

    Per parameter: ``acc += g^2``; ``m = momentum * m - lr * g / sqrt(acc + eps)``;
    ``p += m`` (``momentum = 0``: plain Adagrad). For sparse gradients only the touched
    rows of ``acc``, ``m`` and ``p`` change. This is the optimiser of the official
    GRU4Rec (``IndexedAdagradM``; eps 1e-6).

    Parameters
    ----------
    params : iterable
        Parameters to optimise.
    lr : float
        Learning rate.
    momentum : float
        Momentum (0 disables it).
    eps : float
        Added to the accumulator before the square root.
    """

    def __init__(self, params, lr: float = 0.05, momentum: float = 0.0, eps: float = 1e-6) -> None:
        if lr <= 0:
            raise ValueError(f"invalid learning rate {lr}")
        if momentum < 0:
            raise ValueError(f"invalid momentum {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mom, eps = group["lr"], group["momentum"], group["eps"]
            dense = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if g.is_sparse:
                    g = g.coalesce()  # non-linear update: indices must be unique
                    self._update_rows(p, group, g.indices()[0], g.values())
                else:
                    dense.append(p)
            if not dense:
                continue
            # dense weights (the GRU's) in a few multi-tensor ops: this runs every mini-batch
            states = [self._state(p, mom) for p in dense]
            grads = [p.grad for p in dense]
            accs = [st["acc"] for st in states]
            torch._foreach_addcmul_(accs, grads, grads)
            denom = torch._foreach_add(accs, eps)
            torch._foreach_sqrt_(denom)
            if mom > 0:
                moms = [st["mom"] for st in states]
                torch._foreach_mul_(moms, mom)
                torch._foreach_addcdiv_(moms, grads, denom, value=-lr)
                torch._foreach_add_(dense, moms)
            else:
                torch._foreach_addcdiv_(dense, grads, denom, value=-lr)
        return loss

    @torch.no_grad()
    def step_rows(self, p: torch.Tensor, idx: torch.Tensor, grad: torch.Tensor) -> None:
        """Update only rows ``idx`` of ``p`` given their dense gradient.

        The same update as a sparse gradient with unique indices ``idx`` and values
        ``grad`` gets from :meth:`step`, without building (and coalescing) the sparse
        tensor: GRU4Rec's training gathers the rows a mini-batch touches once, as leaves,
        and hands their gradient here.

        Parameters
        ----------
        p : torch.Tensor
            A parameter of this optimiser, (n, ...).
        idx : torch.Tensor
            (U,) int64 *unique* row indices.
        grad : torch.Tensor
            (U, ...) gradient of ``p[idx]``.
        """
        for group in self.param_groups:
            if any(q is p for q in group["params"]):
                self._update_rows(p, group, idx, grad)
                return
        raise ValueError("step_rows: the tensor is not a parameter of this optimiser")

    def _state(self, p: torch.Tensor, mom: float) -> dict:
        state = self.state[p]
        if not state:
            state["acc"] = torch.zeros_like(p)
            if mom > 0:
                state["mom"] = torch.zeros_like(p)
        return state

    def _update_rows(self, p, group, idx, val) -> None:
        lr, mom, eps = group["lr"], group["momentum"], group["eps"]
        state = self._state(p, mom)
        # index_select, not [idx]: advanced indexing costs more per call on CPU
        acc = state["acc"].index_select(0, idx).addcmul_(val, val)
        state["acc"].index_copy_(0, idx, acc)
        denom = acc.add_(eps).sqrt_()
        if mom > 0:  # m = mom * m - lr * g / sqrt(acc + eps); p += m
            m = state["mom"].index_select(0, idx).mul_(mom).addcdiv_(val, denom, value=-lr)
            state["mom"].index_copy_(0, idx, m)
            p.index_add_(0, idx, m)
        else:
            p.index_add_(0, idx, val / denom, alpha=-lr)


__all__ = ["AdagradM", "bpr_max_loss", "xe_loss"]
