"""Run by test_memory.py in a fresh process: builds a Qwen2-architecture model from a config
(random weights), puts LoRA on it, and trains it a few steps through ``build_trainer`` with
the memory guard in place. Prints one JSON object: the guard's estimate and the growth of
the process's peak RSS from before the model was built to the end of training.

The peak is the kernel's high-water mark (VmHWM), reset to the current RSS before the model
is built by writing 5 to /proc/self/clear_refs, so what importing left behind does not
count. Arguments: the model's Qwen2Config fields as JSON, then batch, sequence, steps and
the training spec's gradient_checkpointing ("auto", "true" or "false")."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, Qwen2Config

from modelmint.observability import ProgressEvent
from modelmint.training.adapters import add_lora
from modelmint.training.examples import Rows
from modelmint.training.memory import MemoryPlan, check_fits
from modelmint.training.recipe import LoraSpec, TrainingSpec
from modelmint.training.trainer import TrainContext, build_trainer, train


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def main() -> None:
    shape = json.loads(sys.argv[1])
    batch, seq, steps = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    checkpointing = {"auto": "auto", "true": True, "false": False}[sys.argv[5]]
    free = int(sys.argv[6]) if len(sys.argv) > 6 else None
    torch.set_num_threads(1)  # the figures are the same, the time steadier on a busy machine
    Path("/proc/self/clear_refs").write_text("5")
    start = status_kib("VmRSS")
    torch.manual_seed(0)
    model = add_lora(
        AutoModelForCausalLM.from_config(Qwen2Config(**shape)), LoraSpec(), "causal-lm"
    )
    spec = TrainingSpec(
        max_steps=steps,
        batch_size=batch,
        warmup_steps=0,
        learning_rate=1e-4,
        gradient_checkpointing=checkpointing,
        compile=False,
    )
    ids = torch.randint(0, shape["vocab_size"], (batch * steps, seq))
    plans: list[MemoryPlan] = []
    events: list[ProgressEvent] = []

    def guard(
        model: object, spec: TrainingSpec, seq_len: int, bf16: bool, **kw: int | None
    ) -> MemoryPlan:
        plans.append(check_fits(model, spec, seq_len, bf16, free, **kw))
        return plans[-1]

    with tempfile.TemporaryDirectory() as run_dir:
        ctx = TrainContext(0, Path(run_dir), events.append, lambda *_: None, check_memory=guard)
        data = Rows([{"input_ids": row, "labels": row} for row in ids])
        trainer = build_trainer(model, spec, ctx, stage="probe", train_dataset=data)
        metrics = train(trainer, ctx, resume=False)
    growth = (status_kib("VmHWM") - start) * 1024
    (plan,) = plans
    print(
        json.dumps(
            {
                "growth": growth,
                "estimate": plan.estimate.total,
                "parts": plan.estimate.parts,
                "checkpointing": trainer.args.activation_checkpointing,
                "automatic": plan.automatic,
                "notes": [e.info["note"] for e in events if "note" in e.info],
                "metrics": metrics,
            }
        )
    )


if __name__ == "__main__":
    main()
