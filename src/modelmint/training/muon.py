"""Muon for a transformer's hidden matrices, AdamW for the rest, as one optimizer.

Muon (Keller Jordan, 2024: https://kellerjordan.github.io/posts/muon/, MIT) replaces each
hidden weight matrix's momentum update by its nearest semi-orthogonal matrix, found with
five Newton-Schulz iterations, so every direction of the update moves at the same rate.
Embeddings, the output head tied to them, and the norms' gains stay on AdamW, as in the
reference's ``SingleDeviceMuonWithAuxAdam``, whose algorithm this follows.

Why it is here: a small model trained from scratch on dialogues learns which reply is
likely long before it learns to read the customer's words for which reply is due, and
Muon brings that second step forward by hundreds of steps (docs/benchmarks.md, "The demo
model"). ``torch.optim.Muon`` takes matrices only, so it cannot be the one optimizer the
Trainer's scheduler, clipping and checkpoints see, and it orthogonalizes in bfloat16,
which CPUs without AMX multiply slower than float32; this one takes both kinds of
parameter groups and orthogonalizes in float32 unless told otherwise.

Each parameter group says ``muon: True`` or ``False``; the state of both kinds lives in
``self.state``, so checkpoints and resume are the base class's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

# The quintic's coefficients from the reference: they maximize the slope at zero, so five
# iterations suffice; singular values land in about [0.7, 1.2], which trains as well as 1.
_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5


def orthogonalize(update: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The nearest semi-orthogonal matrix to ``update`` (approximately: U S' V^T with S'
    near 1), by Newton-Schulz iteration."""
    a, b, c = _NS_COEFFICIENTS
    x = update.to(dtype)
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / (x.norm() + 1e-7)  # spectral norm at most 1
    for _ in range(NS_STEPS):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    if tall:
        x = x.T
    return x.to(update.dtype)


class MuonWithAdamW(torch.optim.Optimizer):
    """One optimizer over groups of two kinds. A ``muon`` group takes ``lr``,
    ``momentum`` (Nesterov) and ``weight_decay``; any other group takes AdamW's ``lr``,
    ``betas``, ``eps`` and ``weight_decay``. Weight decay is decoupled in both."""

    def __init__(
        self, param_groups: Iterable[dict[str, Any]], *, ns_dtype: torch.dtype = torch.float32
    ) -> None:
        groups = []
        for group in param_groups:
            if "muon" not in group:
                raise ValueError("every parameter group of MuonWithAdamW says muon: True or False")
            if group["muon"]:
                bad = [tuple(p.shape) for p in group["params"] if p.ndim != 2]
                if bad:
                    raise ValueError(f"Muon takes weight matrices only; got shapes {bad}")
                groups.append({"momentum": 0.95, "weight_decay": 0.0, **group})
            else:
                groups.append({"betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.0, **group})
        super().__init__(groups, {})
        self.ns_dtype = ns_dtype

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, decay = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                update = (
                    self._muon(p, grad, group) if group["muon"] else self._adamw(p, grad, group)
                )
                p.mul_(1 - lr * decay)
                p.add_(update, alpha=-lr)
        return loss

    def _muon(self, p: torch.Tensor, grad: torch.Tensor, group: dict[str, Any]) -> torch.Tensor:
        state = self.state[p]
        if not state:
            state["momentum_buffer"] = torch.zeros_like(p)
        buf, beta = state["momentum_buffer"], group["momentum"]
        buf.lerp_(grad, 1 - beta)
        nesterov = grad.lerp(buf, beta)
        # Scaled so a tall matrix's rows move as far as a wide one's (the reference's rule).
        scale = max(1.0, p.size(0) / p.size(1)) ** 0.5
        return orthogonalize(nesterov, self.ns_dtype) * scale

    def _adamw(self, p: torch.Tensor, grad: torch.Tensor, group: dict[str, Any]) -> torch.Tensor:
        state = self.state[p]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        beta1, beta2 = group["betas"]
        state["step"] += 1
        step = float(state["step"])
        state["exp_avg"].lerp_(grad, 1 - beta1)
        state["exp_avg_sq"].lerp_(grad.square(), 1 - beta2)
        mean = state["exp_avg"] / (1 - beta1**step)
        var = state["exp_avg_sq"] / (1 - beta2**step)
        return mean / (var.sqrt() + group["eps"])
