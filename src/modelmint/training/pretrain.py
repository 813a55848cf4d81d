"""Recipe: pretrain a Llama-style causal LM from scratch with the Hugging Face Trainer.

Texts are tokenized once, joined with end-of-text and cut into equal blocks (packing), so
every position of every batch is a real token and no compute goes to padding."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    PreTrainedTokenizerBase,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)

from modelmint.modeling import (
    build_causal_lm,
    count_parameters,
    cpu_supports_bf16,
    llama_config,
    load_tokenizer,
)
from modelmint.observability import ProgressEvent, ProgressFn, no_progress


@dataclass(frozen=True)
class PretrainConfig:
    size: str = "tiny"
    max_steps: int = 300
    batch_size: int = 16
    block_size: int = 256
    learning_rate: float = 2e-3
    warmup_steps: int = 20
    weight_decay: float = 0.1
    seed: int = 0
    bf16: bool | None = None  # None: on where the hardware supports it


@dataclass(frozen=True)
class PretrainResult:
    path: Path
    num_parameters: int
    final_loss: float
    tokens_trained: int
    seconds: float
    bf16: bool


def pack_blocks(
    texts: Sequence[str], tokenizer: PreTrainedTokenizerBase, block_size: int
) -> torch.Tensor:
    """All texts as one token stream, each ended by end-of-text, cut into full blocks."""
    eos = tokenizer.eos_token_id
    assert eos is not None, "the tokenizer needs an end-of-text token"
    stream: list[int] = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(eos)
    n = len(stream) // block_size
    if n == 0:
        raise ValueError(f"{len(stream)} tokens are fewer than one block of {block_size}")
    return torch.tensor(stream[: n * block_size], dtype=torch.long).view(n, block_size)


class _Blocks(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    def __init__(self, blocks: torch.Tensor) -> None:
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.blocks[i], "labels": self.blocks[i]}


class _ReportProgress(TrainerCallback):
    def __init__(self, progress: ProgressFn, tokens_per_step: int) -> None:
        self.progress = progress
        self.tokens_per_step = tokens_per_step
        self.loss: float | None = None
        self.start = time.perf_counter()

    def on_log(self, args: Any, state: TrainerState, control: TrainerControl, **kw: Any) -> None:
        logs = kw.get("logs") or {}
        if "loss" in logs:
            self.loss = float(logs["loss"])

    def on_step_end(
        self, args: Any, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        elapsed = time.perf_counter() - self.start
        self.progress(
            ProgressEvent(
                "pretrain",
                state.global_step,
                state.max_steps,
                {
                    "loss": self.loss,
                    "tokens_per_s": state.global_step * self.tokens_per_step / max(elapsed, 1e-9),
                },
            )
        )


def pretrain_causal_lm(
    texts: Sequence[str],
    tokenizer_dir: Path,
    out_dir: Path,
    config: PretrainConfig = PretrainConfig(),
    progress: ProgressFn = no_progress,
) -> PretrainResult:
    """Trains a causal LM on ``texts`` and saves model and tokenizer to ``out_dir`` in Hugging
    Face format (safetensors), loadable by ``AutoModelForCausalLM.from_pretrained``."""
    tokenizer = load_tokenizer(tokenizer_dir)
    blocks = pack_blocks(texts, tokenizer, config.block_size)
    assert tokenizer.pad_token_id is not None and tokenizer.eos_token_id is not None
    model_config = llama_config(
        config.size,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    if config.block_size > model_config.max_position_embeddings:
        raise ValueError(
            f"block_size {config.block_size} exceeds the model's context of "
            f"{model_config.max_position_embeddings} tokens"
        )
    model = build_causal_lm(model_config, seed=config.seed)
    on_gpu = torch.cuda.is_available()
    bf16 = config.bf16 if config.bf16 is not None else (on_gpu or cpu_supports_bf16())
    args = TrainingArguments(
        output_dir=str(out_dir / "trainer"),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type="cosine",
        weight_decay=config.weight_decay,
        max_grad_norm=1.0,
        bf16=bf16,
        use_cpu=not on_gpu,
        logging_steps=max(1, min(10, config.max_steps // 10)),
        save_strategy="no",
        report_to="none",
        seed=config.seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    callback = _ReportProgress(progress, config.batch_size * config.block_size)
    trainer = Trainer(model=model, args=args, train_dataset=_Blocks(blocks), callbacks=[callback])
    trainer.remove_callback(PrinterCallback)  # progress goes through the callback, not stdout
    start = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    shutil.rmtree(out_dir / "trainer", ignore_errors=True)
    (out_dir / "pretrain_config.json").write_text(json.dumps(asdict(config), indent=2))
    return PretrainResult(
        path=out_dir,
        num_parameters=count_parameters(model),
        final_loss=callback.loss if callback.loss is not None else float(output.training_loss),
        tokens_trained=output.global_step * config.batch_size * config.block_size,
        seconds=seconds,
        bf16=bf16,
    )
