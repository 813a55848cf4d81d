"""Will this training fit? An estimate from the model and the batch, made before anything is
allocated, so a run that cannot fit is refused with what to change instead of dying an hour
in (or taking the machine down with it); and where turning on gradient checkpointing makes
it fit, it is turned on, and the run says so.

Bytes, for P parameters of which T train, batch b, sequence s, hidden h, key/value width k
(KV heads x head size), MLP width i, L layers, a heads, vocabulary V, and e bytes per
activation (2 under bf16 autocast, else 4):
  weights 4P (2 bytes a parameter kept in bfloat16, as a LoRA base published so is, which
  then computes in bfloat16: e is 2); gradients 4T; AdamW moments 8T; under bf16 autocast,
  the bf16 copies of the float32 weights that the matrix products read and keep for the
  backward pass, 2P;
  activations, per layer and token, 20h (the float32 residual stream and RMS norms) plus
  e(8h + 2k + 4i) (what the projections, attention and gated MLP keep), plus a*s*(e + 4)
  when attention is computed eagerly (scores and their softmax; SDPA keeps neither);
  with gradient checkpointing, the float32 input of every layer (4h) and the share of its
  activations a checkpointed layer was measured to keep (CHECKPOINTED_KEPT), and two
  layers' worth (the one the backward pass recomputes, and the gradients of its
  activations);
  logits and their gradient 12*b*s*V (12*n*V where a batch computes the logits of n
  positions only: packed SFT's labeled ones).
The process needs more than those bytes. Activations and weight copies are allocated and
freed in every step, in pieces of a few MB; once the first step has freed such pieces,
glibc's allocator keeps later ones on its heap, where they fragment, so from the second
step on a run whose memory is mostly activations peaks at about 1.45 times its live bytes
(measured here): they count 1.5 times. Logits come in pieces far above the allocator's
32 MiB ceiling for that and go back to the system when freed. Then 20% more for all of
it, and 300 MiB for the framework.

The activation terms are counted from what autograd saves in a Llama/Qwen2 decoder layer
(torch 2.13, transformers 5.25, CPU), within 10% of it; ``tests/training/test_memory.py``
holds the estimate against a measured peak, and docs/training.md has a 0.5B-parameter
model's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from modelmint.training.recipe import RecipeError, TrainingSpec

GIB = 1 << 30
HEADROOM, FRAGMENTATION, FRAMEWORK = 1.2, 1.5, 300 * (1 << 20)
# With gradient checkpointing, a layer keeps more than its input from its forward to its
# backward. Measured beyond the input, per layer (4 against 16 layers of
# tests/training/test_memory.py's shape, on CPU, before the fragmentation factor): a third
# of its activations in float32, an eighth under bf16 autocast. Keyed by bf16.
CHECKPOINTED_KEPT = {False: 0.35, True: 0.12}


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    gradients: int
    optimizer: int
    activations: int
    logits: int
    weight_copies: int = 0  # bf16 copies of the weights under autocast

    @property
    def parts(self) -> int:
        """What the tensors themselves take, without headroom."""
        return self.fixed + self.per_step

    @property
    def fixed(self) -> int:
        """Bytes held from the first step to the last."""
        return self.weights + self.gradients + self.optimizer

    @property
    def per_step(self) -> int:
        """Bytes a step allocates and frees again."""
        return self.weight_copies + self.activations + self.logits

    @property
    def total(self) -> int:
        """What the process will need at its peak (see the module's notes)."""
        fragmenting = (self.weight_copies + self.activations) * FRAGMENTATION
        return int((self.fixed + self.logits + fragmenting) * HEADROOM) + FRAMEWORK

    def describe(self) -> str:
        parts = {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "bf16 weight copies": self.weight_copies,
            "activations": self.activations,
            "logits": self.logits,
        }
        listed = ", ".join(f"{k} {v / GIB:.2f}" for k, v in parts.items() if v)
        return f"about {self.total / GIB:.1f} GiB ({listed})"


def estimate(
    model: Any,
    spec: TrainingSpec,
    seq_len: int,
    bf16: bool,
    checkpointing: bool | None = None,
    logit_positions: int | None = None,
) -> MemoryEstimate:
    """The estimate for a batch of ``spec.batch_size`` rows of ``seq_len`` tokens, with
    gradient checkpointing as ``checkpointing`` says (None: as the spec sets it; "auto"
    counts as off), and logits for ``logit_positions`` positions of a batch (None: every
    position; a packed SFT batch computes them for its labeled positions only)."""
    cfg = model.config
    unique = list({id(p): p for p in model.parameters()}.values())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # a LoRA base kept in its published bfloat16 computes in bfloat16 without autocast
    half = {torch.bfloat16, torch.float16}
    low = bf16 or any(p.dtype in half and not p.requires_grad for p in unique)
    h = getattr(cfg, "hidden_size", 0)
    layers = getattr(cfg, "num_hidden_layers", 0)
    heads = getattr(cfg, "num_attention_heads", 1) or 1
    head_size = getattr(cfg, "head_dim", None) or h // heads
    kv = (getattr(cfg, "num_key_value_heads", None) or heads) * head_size
    mlp = getattr(cfg, "intermediate_size", None) or 4 * h
    vocab = getattr(cfg, "vocab_size", 0)
    ckpt = spec.gradient_checkpointing is True if checkpointing is None else checkpointing
    b, s, e = spec.batch_size, seq_len, 2 if low else 4
    per_token = 20 * h + e * (8 * h + 2 * kv + 4 * mlp)
    if getattr(cfg, "_attn_implementation", None) == "eager":
        per_token += heads * s * (e + 4)
    layer = b * s * per_token
    kept = layers * (b * s * 4 * h + CHECKPOINTED_KEPT[low] * layer)
    acts = kept + 2 * layer if ckpt else layers * layer
    return MemoryEstimate(
        weights=sum(p.numel() * p.element_size() for p in unique),
        gradients=4 * trainable,
        optimizer=8 * trainable,
        activations=int(acts),
        logits=12 * (b * s if logit_positions is None else logit_positions) * vocab,
        weight_copies=2 * sum(p.numel() for p in unique if p.dtype not in half) if bf16 else 0,
    )


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


@dataclass(frozen=True)
class MemoryPlan:
    """How a run will train to fit: its estimate, and whether gradient checkpointing is on
    (``automatic``: turned on because the estimate without it exceeds what is free)."""

    estimate: MemoryEstimate
    checkpointing: bool
    free: int
    automatic: bool = False
    without: MemoryEstimate | None = None  # the estimate without checkpointing, when automatic

    def note(self) -> str:
        if not self.automatic or self.without is None:
            return ""
        return (
            f"gradient checkpointing turned on: training without it would need "
            f"{self.without.describe()}, with it {self.estimate.describe()}, and "
            f"{self.free / GIB:.1f} GiB is free (training.gradient_checkpointing: auto; "
            "set it to false to refuse instead, true to always use it)"
        )


def check_fits(
    model: Any,
    spec: TrainingSpec,
    seq_len: int,
    bf16: bool,
    free: int | None = None,
    logit_positions: int | None = None,
) -> MemoryPlan:
    """The plan for this run where it fits in ``free`` bytes (by default what is free now):
    gradient checkpointing on when the spec asks for it, or under "auto" when the run fits
    only with it. Otherwise raises RecipeError, with a batch size that would fit."""
    free = available_bytes() if free is None else free
    asked = spec.gradient_checkpointing
    est = estimate(model, spec, seq_len, bf16, asked is True, logit_positions)
    if not free or est.total <= free:
        return MemoryPlan(est, asked is True, free)
    if asked == "auto":
        with_ckpt = estimate(model, spec, seq_len, bf16, True, logit_positions)
        if with_ckpt.total <= free:
            return MemoryPlan(with_ckpt, True, free, automatic=True, without=est)
        est = with_ckpt  # the advice below is for a run with checkpointing on
    fixed = est.fixed + est.weight_copies * FRAGMENTATION
    per_row = (est.activations * FRAGMENTATION + est.logits) / spec.batch_size
    fits = int(((free - FRAMEWORK) / HEADROOM - fixed) // max(per_row, 1))
    advice = []
    if fits >= 1:
        accum = -(-spec.batch_size * spec.grad_accum // fits)
        advice.append(
            f"set training.batch_size={fits} and training.grad_accum={accum} "
            "(the same effective batch)"
        )
    if asked is False:
        advice.append("set training.gradient_checkpointing=true")
    advice.append("use method: lora, or a smaller model or sequence length")
    counted = ", with gradient checkpointing on," if asked is not False else ""
    raise RecipeError(
        f"training{counted} would need {est.describe()} but {free / GIB:.1f} GiB is free: "
        + "; or ".join(advice)
    )
