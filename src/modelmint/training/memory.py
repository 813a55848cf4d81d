"""Will this training fit? An estimate from the model and the batch, made before anything is
allocated, so a run that cannot fit is refused with what to change instead of dying an hour
in (or taking the machine down with it).

Bytes, for P parameters of which T train, batch b, sequence s, hidden h, L layers, a heads,
vocabulary V, and e bytes per activation (2 under bf16 autocast, else 4):
  weights 4P; gradients 4T; AdamW moments 8T;
  activations L*b*s*(17h + 2.5*a*s)*e (Korthikanti et al. 2022, per layer: s*b*h*(34 + 5as/h)
  bytes in 16-bit), or L*b*s*h*e plus one layer's worth with gradient checkpointing;
  logits and their gradient 12*b*s*V;
plus 20% and 300 MiB for the allocator and the framework."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from modelmint.training.recipe import RecipeError, TrainingSpec

GIB = 1 << 30


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    gradients: int
    optimizer: int
    activations: int
    logits: int

    @property
    def total(self) -> int:
        parts = self.weights + self.gradients + self.optimizer + self.activations + self.logits
        return int(parts * 1.2) + 300 * (1 << 20)


def estimate(model: Any, spec: TrainingSpec, seq_len: int, bf16: bool) -> MemoryEstimate:
    cfg = model.config
    total = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    h = getattr(cfg, "hidden_size", 0)
    layers = getattr(cfg, "num_hidden_layers", 0)
    heads = getattr(cfg, "num_attention_heads", 1)
    vocab = getattr(cfg, "vocab_size", 0)
    b, s, e = spec.batch_size, seq_len, 2 if bf16 else 4
    per_layer = b * s * (17 * h + 2.5 * heads * s) * e
    acts = layers * b * s * h * e + per_layer if spec.gradient_checkpointing else layers * per_layer
    return MemoryEstimate(4 * total, 4 * trainable, 8 * trainable, int(acts), 12 * b * s * vocab)


def available_bytes() -> int:
    """Free memory where training will run: the GPU's, else RAM within any cgroup limit."""
    if torch.cuda.is_available():
        return int(torch.cuda.mem_get_info()[0])
    free = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            free = int(line.split()[1]) * 1024
    limit = Path("/sys/fs/cgroup/memory.max")
    if limit.exists() and limit.read_text().strip().isdigit():
        used = Path("/sys/fs/cgroup/memory.current")
        cap = int(limit.read_text()) - (int(used.read_text()) if used.exists() else 0)
        free = min(free, cap) if free else cap
    return free


def check_fits(model: Any, spec: TrainingSpec, seq_len: int, bf16: bool) -> MemoryEstimate:
    """Raises RecipeError, with a batch size that would fit, when the estimate exceeds what is
    free."""
    est = estimate(model, spec, seq_len, bf16)
    free = available_bytes()
    if not free or est.total <= free:
        return est
    fixed = est.weights + est.gradients + est.optimizer
    per_row = (est.activations + est.logits) / spec.batch_size
    fits = int((free / 1.2 - 300 * (1 << 20) - fixed) // max(per_row, 1))
    advice = []
    if fits >= 1:
        accum = -(-spec.batch_size * spec.grad_accum // fits)
        advice.append(
            f"set training.batch_size={fits} and training.grad_accum={accum} "
            "(the same effective batch)"
        )
    if not spec.gradient_checkpointing:
        advice.append("set training.gradient_checkpointing=true")
    advice.append("use method: lora, or a smaller model or sequence length")
    raise RecipeError(
        f"training would need about {est.total / GIB:.1f} GiB "
        f"(weights {est.weights / GIB:.2f}, gradients {est.gradients / GIB:.2f}, "
        f"optimizer {est.optimizer / GIB:.2f}, activations {est.activations / GIB:.2f}, "
        f"logits {est.logits / GIB:.2f}) but {free / GIB:.1f} GiB is free: " + "; or ".join(advice)
    )
