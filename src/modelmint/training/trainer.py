"""The Hugging Face Trainer, set up one way for every recipe: AdamW with warmup and decay,
gradient accumulation and clipping, bf16 autocast where the CPU has it, periodic evaluation
with early stopping and the best checkpoint kept, checkpoints to resume from, and every
logged metric sent to the run's record in the catalog and to the progress callback."""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    EarlyStoppingCallback,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
    default_data_collator,
)
from transformers.utils import ModelOutput

from modelmint.modeling import cpu_trains_faster_in_bf16
from modelmint.observability import ProgressEvent, ProgressFn
from modelmint.training.epochs import PaddingIgnored, WholeBatches, padding_only, with_one_label
from modelmint.training.memory import MemoryPlan
from modelmint.training.muon import MuonWithAdamW
from modelmint.training.recipe import TrainingSpec

_log = logging.getLogger("modelmint.training")
MetricsSink = Callable[[int, dict[str, float]], None]  # (step, {name: value})


@dataclass(frozen=True)
class TrainContext:
    """Where a run writes and reports; built by the runner."""

    run_id: int
    run_dir: Path
    progress: ProgressFn
    log_metrics: MetricsSink
    # (model, spec, longest row, bf16, logit_positions=) -> how training fits in memory
    # (whether it needs gradient checkpointing); raises when it cannot (memory.check_fits)
    check_memory: Callable[..., MemoryPlan] | None = None
    callbacks: tuple[TrainerCallback, ...] = ()  # the caller's own, added to ours

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / "checkpoints"


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def use_bf16(spec: TrainingSpec) -> bool:
    if spec.bf16 is not None:
        return spec.bf16
    return torch.cuda.is_available() or cpu_trains_faster_in_bf16()


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest COMPLETE checkpoint: the Trainer writes ``trainer_state.json`` last, so a
    directory without it is one a kill interrupted."""
    done = [
        p
        for p in (run_dir / "checkpoints").glob("checkpoint-*")
        if (p / "trainer_state.json").exists()
    ]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


COMPILE_FROM_STEPS = 200  # where compiling (~1 min on 2 cores) has paid for itself


def planned_steps(spec: TrainingSpec, rows: int) -> int:
    if spec.max_steps:
        return spec.max_steps
    per_epoch = math.ceil(rows / (spec.batch_size * spec.grad_accum))
    return math.ceil(per_epoch * spec.epochs)


def use_compile(
    spec: TrainingSpec, rows: int, fixed_shapes: bool, checkpointing: bool = False
) -> bool:
    """Whether to torch.compile: as asked, or under "auto" when the run is long enough to
    repay the compile and every batch has the same shape (otherwise each new padded length
    compiles again)."""
    if isinstance(spec.compile, bool):
        return spec.compile
    long_enough = planned_steps(spec, rows) >= COMPILE_FROM_STEPS
    return fixed_shapes and long_enough and not checkpointing


def training_arguments(
    spec: TrainingSpec,
    ctx: TrainContext,
    *,
    evaluate: bool,
    best_metric: str = "eval_loss",
    checkpointing: bool = False,
) -> TrainingArguments:
    on_gpu = torch.cuda.is_available()
    max_steps = spec.max_steps or -1
    eval_every = spec.eval_every if evaluate else None
    # Checkpoints on the evaluation grid when there is one (best-model selection needs it).
    save_every = eval_every or spec.save_every
    return TrainingArguments(
        output_dir=str(ctx.checkpoints),
        max_steps=max_steps,
        num_train_epochs=spec.epochs,
        per_device_train_batch_size=spec.batch_size,
        per_device_eval_batch_size=spec.batch_size,
        gradient_accumulation_steps=spec.grad_accum,
        learning_rate=spec.learning_rate,
        lr_scheduler_type=spec.schedule,
        warmup_steps=spec.warmup_steps,
        weight_decay=spec.weight_decay,
        adam_beta2=spec.adam_beta2,
        max_grad_norm=spec.max_grad_norm,
        bf16=use_bf16(spec),
        use_cpu=not on_gpu,
        activation_checkpointing=checkpointing,
        eval_strategy="steps" if eval_every else "no",
        eval_steps=eval_every,
        save_strategy="steps" if save_every else "no",
        save_steps=save_every or 500,
        save_total_limit=spec.keep_checkpoints,
        load_best_model_at_end=bool(eval_every),
        metric_for_best_model=best_metric if eval_every else None,
        greater_is_better=None if not eval_every else not best_metric.endswith("loss"),
        logging_steps=1,
        report_to=list(spec.report_to) or "none",
        seed=spec.seed,
        data_seed=spec.seed,
        disable_tqdm=True,
        # in workers, the training set's epoch (its order, set by the loader) would be a copy's
        dataloader_num_workers=0,
        # The training set comes shuffled and in whole global batches (epochs.WholeBatches):
        # read in order, accelerate's sharding neither repeats nor drops an example.
        train_sampling_strategy="sequential",
        dataloader_drop_last=False,
        ddp_find_unused_parameters=False,
    )


class _Report(TrainerCallback):
    """Metrics to the catalog (main process only) and progress with tokens/s and ETA."""

    def __init__(self, ctx: TrainContext, stage: str, tokens_per_step: int | None) -> None:
        self.ctx, self.stage, self.tokens_per_step = ctx, stage, tokens_per_step
        self.start: float | None = None
        self.first_step = 0
        self.last: dict[str, float] = {}

    def on_train_begin(
        self, args: Any, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        self.start, self.first_step = time.perf_counter(), state.global_step

    def on_log(self, args: Any, state: TrainerState, control: TrainerControl, **kw: Any) -> None:
        logs = {k: float(v) for k, v in (kw.get("logs") or {}).items() if _number(v)}
        self.last.update(logs)
        if state.is_world_process_zero and logs:
            self.ctx.log_metrics(state.global_step, logs)

    def on_step_end(
        self, args: Any, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        elapsed = time.perf_counter() - (self.start or time.perf_counter())
        done = state.global_step - self.first_step
        rate = done / max(elapsed, 1e-9)
        info: dict[str, Any] = {"loss": self.last.get("loss")}
        if self.tokens_per_step:
            info["tokens_per_s"] = rate * self.tokens_per_step * args.world_size
        if state.max_steps:
            info["eta_s"] = (state.max_steps - state.global_step) / max(rate, 1e-9)
        self.ctx.progress(ProgressEvent(self.stage, state.global_step, state.max_steps, info))


@dataclass
class LossOnly(ModelOutput):
    loss: torch.Tensor | None = None


def _compiled_training_forward(model: Any) -> Any:
    """The model's forward with its training steps compiled: a call in training mode with
    labels runs a compiled function that returns only the loss. The Trainer reads nothing
    else, but logits returned from the compiled graph are kept whole and then copied to
    float32 by accelerate's mixed-precision wrapper ([batch, block, vocab] per step), a
    sizeable share of a small model's step (docs/benchmarks.md, "Training"). Every other
    call (evaluation, generation, no labels) runs the eager forward and gets logits: inside
    the compiled function it was a second graph, compiled at the end of a run for a single
    evaluation, 30 s of the quickstart's 225 s of training on 2 cores."""
    forward = model.forward
    loss_only = torch.compile(lambda *args, **kwargs: forward(*args, **kwargs)["loss"])

    @functools.wraps(forward)
    def training_forward(*args: Any, **kwargs: Any) -> Any:
        if model.training and kwargs.get("labels") is not None:
            return LossOnly(loss=loss_only(*args, **kwargs))
        return forward(*args, **kwargs)

    return training_forward


def muon_optimizer(model: Any, spec: TrainingSpec) -> MuonWithAdamW:
    """Muon for the linear layers of the model's body, AdamW for everything else: the
    embeddings, the output or classification head, the norms and biases. Only what
    requires grad (a LoRA run's adapters). AdamW's groups come first, so the learning rate
    the Trainer logs is the recipe's ``learning_rate``."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    head_ids = {id(p) for p in head.parameters()} if head is not None else set()
    body = getattr(model, "base_model", model)
    matrices = {
        id(m.weight): m.weight
        for m in body.modules()
        if isinstance(m, torch.nn.Linear)
        and m.weight.requires_grad
        and id(m.weight) not in head_ids
    }
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in matrices]
    adamw = {"muon": False, "lr": spec.learning_rate, "betas": (0.9, spec.adam_beta2)}
    return MuonWithAdamW(
        [
            {
                **adamw,
                "params": [p for p in rest if p.ndim >= 2],
                "weight_decay": spec.weight_decay,
            },
            {**adamw, "params": [p for p in rest if p.ndim < 2], "weight_decay": 0.0},
            {
                "muon": True,
                "params": list(matrices.values()),
                "lr": spec.muon_learning_rate,
                "weight_decay": spec.weight_decay,
            },
        ],
        ns_dtype=torch.bfloat16 if use_bf16(spec) else torch.float32,
    )


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def longest_row(dataset: Any) -> int:
    """The most tokens in one example: the whole set's where it knows (examples mapped from
    a file), else the first 2,000 examples'."""
    if hasattr(dataset, "longest"):
        return int(dataset.longest())
    return max((len(dataset[i]["input_ids"]) for i in range(min(len(dataset), 2000))), default=0)


def _announce(ctx: TrainContext, stage: str, plan: MemoryPlan, report: _Report) -> None:
    """Says that the memory guard turned gradient checkpointing on: in the progress (a line of
    its own), in the log, and in the run's metrics (``gradient_checkpointing`` 1 at step 0)."""
    note = plan.note()
    _log.warning("%s: %s", stage, note)
    ctx.progress(ProgressEvent(f"{stage}: memory", 1, 1, {"note": note}))
    if is_main_process():
        ctx.log_metrics(0, {"gradient_checkpointing": 1.0})
    report.last["gradient_checkpointing"] = 1.0


def build_trainer(
    model: Any,
    spec: TrainingSpec,
    ctx: TrainContext,
    *,
    stage: str,
    train_dataset: Any,
    eval_dataset: Any = None,
    data_collator: Any = None,
    compute_metrics: Any = None,
    best_metric: str = "eval_loss",
    tokens_per_step: int | None = None,
    fixed_shapes: bool = False,
    trainer_class: Callable[..., Trainer] = Trainer,  # a subclass with its own loss
    logit_positions: int | None = None,  # per batch, where not every position's (memory)
) -> Trainer:
    checkpointing = spec.gradient_checkpointing is True
    plan = None
    if ctx.check_memory is not None:
        plan = ctx.check_memory(
            model,
            spec,
            longest_row(train_dataset),
            use_bf16(spec),
            logit_positions=logit_positions,
        )
        checkpointing = plan.checkpointing
    evaluate = eval_dataset is not None and len(eval_dataset) > 0
    compiled = use_compile(spec, len(train_dataset), fixed_shapes, checkpointing)
    if compiled:
        # The forward alone is compiled, so the bf16 autocast accelerate wraps around it is
        # entered outside the compiled graph (inside it, the same loop ran slower; see
        # docs/benchmarks.md, "Training"), and the module stays itself for checkpoints
        # and saving.
        model.forward = _compiled_training_forward(model)
    args = training_arguments(
        spec, ctx, evaluate=evaluate, best_metric=best_metric, checkpointing=checkpointing
    )
    # Compiled, an epoch's short last batch would be a new shape: the graph compiles again,
    # with a symbolic batch size, and runs slower from then on; padded, it keeps its shape.
    epochs = WholeBatches(
        train_dataset,
        batch_size=spec.batch_size,
        processes=args.world_size,
        seed=spec.seed,
        pad=args.world_size > 1 or compiled,
    )
    report = _Report(ctx, stage, tokens_per_step)
    if plan is not None and plan.automatic:
        _announce(ctx, stage, plan, report)
    callbacks: list[TrainerCallback] = [report, *ctx.callbacks]
    if spec.early_stopping_patience and args.eval_strategy != "no":
        callbacks.append(EarlyStoppingCallback(spec.early_stopping_patience))
    optimizer = muon_optimizer(model, spec) if spec.optimizer == "muon" else None
    trainer = trainer_class(
        model=model,
        args=args,
        optimizers=(optimizer, None),  # None: the Trainer's own AdamW; the schedule is its own
        train_dataset=epochs,
        eval_dataset=eval_dataset if evaluate else None,
        data_collator=PaddingIgnored(
            data_collator or default_data_collator, makes_labels=not epochs.labeled
        ),
        compute_metrics=compute_metrics,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # progress goes through the callback, not stdout
    if epochs.pads:
        _zero_loss_for_padding_only(trainer)
    return trainer


def _zero_loss_for_padding_only(trainer: Trainer) -> None:
    """A batch of padding only still goes forward and backward (DDP's gradient all-reduce
    waits for every process), with a loss of zero, where a loss averaged over its labels
    would be 0/0 and make every gradient NaN: its loss with one label counted, times zero."""
    compute_loss: Callable[..., Any] = trainer.compute_loss

    def loss_or_zero(
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        if model.training and not return_outputs and padding_only(inputs):
            return compute_loss(model, with_one_label(inputs), False, num_items_in_batch) * 0.0
        return compute_loss(model, inputs, return_outputs, num_items_in_batch)

    trainer.compute_loss = loss_or_zero  # type: ignore[method-assign]


def train(trainer: Trainer, ctx: TrainContext, resume: bool) -> dict[str, float]:
    """Trains (from the last complete checkpoint when resuming) and returns the last logged
    value of every metric, plus an evaluation at the end when there is an evaluation set."""
    checkpoint = last_checkpoint(ctx.run_dir) if resume else None
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    report = next(c for c in trainer.callback_handler.callbacks if isinstance(c, _Report))
    metrics = dict(report.last)
    if trainer.eval_dataset is not None:
        final = {k: float(v) for k, v in trainer.evaluate().items() if _number(v)}
        metrics.update(final)
    return metrics
