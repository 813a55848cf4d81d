"""Recipes: one YAML file says what to train, on what, and how. Validated by pydantic, so a
typo is an error that names the key and suggests the closest one, before anything runs.

    recipe: sft               # pretrain-clm | pretrain-mlm | continue | sft | classify | distill
    name: support-bot         # model name the result is registered under
    dataset: customer-service # NAME or NAME:VERSION
    base: demo@production     # the model to start from (not for pretraining)
    method: lora              # full | lora
    training: {max_steps: 200, learning_rate: 2e-4}

``mint train --recipe FILE --set training.learning_rate=1e-4`` overrides any key."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from modelmint.errors import UserError


class RecipeError(UserError, ValueError):
    """A recipe that cannot run; the message names the file, the key and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArchitectureSpec(_Strict):
    """A model built from scratch: a preset, or any preset's fields overridden."""

    size: Literal["tiny", "small"] = "tiny"
    hidden_size: int | None = None
    num_layers: int | None = None
    num_heads: int | None = None
    intermediate_size: int | None = None
    context_length: int | None = None


class TokenizerSpec(_Strict):
    """A byte-level BPE tokenizer trained on the dataset's training split, or a model's."""

    vocab_size: int = Field(8192, ge=512)
    from_model: str | None = None  # NAME[:V|@ALIAS] or a directory: reuse that tokenizer


class LoraSpec(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = 32
    # 0: peft then skips dropout entirely; any other value keeps a copy of every adapted
    # layer's input for the backward pass, which can cost more memory than LoRA saves
    dropout: float = Field(0.0, ge=0, lt=1)
    # "auto": every linear projection of attention and MLP blocks (what QLoRA found best)
    target_modules: list[str] | Literal["auto"] = "auto"


class TrainingSpec(_Strict):
    max_steps: int | None = Field(None, ge=1)  # None: train for `epochs`
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(16, ge=1)  # per device
    grad_accum: int = Field(1, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    schedule: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_steps: int = Field(20, ge=0)
    weight_decay: float = Field(0.1, ge=0)
    # AdamW's second-moment decay: 0.999 is the usual default; language-model pretraining
    # (GPT-3, Llama, nanoGPT) uses 0.95, which follows the gradients' scale faster
    adam_beta2: float = Field(0.999, gt=0, lt=1)
    # muon: Muon on the weight matrices of the transformer's blocks (at muon_learning_rate),
    # AdamW on embeddings, heads and norms (at learning_rate); a model trained from scratch
    # learns from far fewer steps with it (docs/benchmarks.md, "The demo model")
    optimizer: Literal["adamw", "muon"] = "adamw"
    muon_learning_rate: float = Field(0.02, gt=0)
    max_grad_norm: float = Field(1.0, gt=0)
    bf16: bool | None = None  # None: on where the hardware supports it
    # recompute each layer's activations in the backward pass instead of keeping them: less
    # memory, about a third more compute. "auto" turns it on when the memory estimate says
    # the run fits only with it (and the run says so); false refuses such a run instead.
    gradient_checkpointing: bool | Literal["auto"] = "auto"
    # torch.compile: more tokens/s on CPU after a compile that takes a while, so it pays back
    # only over long runs (docs/benchmarks.md, "Training"). "auto" compiles runs of 200 steps or
    # more whose batches all have one shape (packed pretraining).
    compile: bool | Literal["auto"] = "auto"
    eval_every: int | None = Field(None, ge=1)  # steps; None: at the end only
    early_stopping_patience: int | None = Field(None, ge=1)  # evaluations without a gain
    save_every: int | None = Field(None, ge=1)  # checkpoint interval in steps (for resume)
    keep_checkpoints: int = Field(2, ge=1)
    seed: int = 0
    report_to: list[Literal["tensorboard", "mlflow"]] = []


class _Recipe(_Strict):
    # Training values that suit this kind of recipe; the recipe file's own win key by key.
    training_defaults: ClassVar[dict[str, Any]] = {}

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    dataset: str
    alias: str | None = None
    training: TrainingSpec = TrainingSpec()

    @model_validator(mode="before")
    @classmethod
    def _merge_training_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("training", {}), dict):
            data = {**data, "training": {**cls.training_defaults, **data.get("training", {})}}
        return data


# What a causal LM reads of each record: all of it, or of a conversation only its opening
# and the agent's first reply, so that every block is the moment a chat model is asked most.
LMInput = Literal["text", "first_exchange"]


class PretrainCLM(_Recipe):
    """A causal (GPT/Llama-style) LM from scratch on packed blocks of text."""

    training_defaults: ClassVar[dict[str, Any]] = {"adam_beta2": 0.95}

    recipe: Literal["pretrain-clm"]
    architecture: ArchitectureSpec = ArchitectureSpec()
    tokenizer: TokenizerSpec = TokenizerSpec()
    block_size: int = Field(256, ge=8)
    input: LMInput = "text"


class PretrainMLM(_Recipe):
    """A BERT-style masked LM from scratch: 15% of tokens chosen, of those 80% masked,
    10% replaced by a random token, 10% left as they are."""

    recipe: Literal["pretrain-mlm"]
    architecture: ArchitectureSpec = ArchitectureSpec()
    tokenizer: TokenizerSpec = TokenizerSpec()
    block_size: int = Field(128, ge=8)
    mask_probability: float = Field(0.15, gt=0, lt=1)


class ContinuePretrain(_Recipe):
    """More causal-LM pretraining of an existing checkpoint, on new text."""

    recipe: Literal["continue"]
    base: str
    block_size: int = Field(256, ge=8)
    input: LMInput = "text"
    training_defaults: ClassVar[dict[str, Any]] = {"learning_rate": 5e-4, "warmup_steps": 10}


class SFT(_Recipe):
    """Supervised fine-tuning on chat data with the model's chat template; the loss counts
    assistant tokens only."""

    recipe: Literal["sft"]
    base: str
    method: Literal["full", "lora"] = "full"
    lora: LoraSpec = LoraSpec()
    max_length: int = Field(512, ge=16)
    # a batch's conversations in one row, attention kept apart: no padding computed
    packing: bool = True
    # variables the chat template reads, e.g. {enable_thinking: false} for Qwen3: training
    # must render conversations as serving will
    chat_template_kwargs: dict[str, Any] = {}
    training_defaults: ClassVar[dict[str, Any]] = {"learning_rate": 1e-4, "warmup_steps": 10}


class Classify(_Recipe):
    """Sequence classification (intent, sentiment) on a label of the dataset."""

    recipe: Literal["classify"]
    base: str  # "minilm" (the bundled pretrained encoder), a model reference or a directory
    label: str = "intent"
    # what the classifier reads: the record's whole text, its first user message, or its first
    # assistant message (a classifier that judges a chat model's replies)
    input: Literal["text", "first_user_turn", "first_assistant_turn"] = "text"
    # add characters the base tokenizer reads as unknown (MiniLM and Chinese) to its vocabulary
    extend_vocabulary: bool = True
    method: Literal["full", "lora"] = "full"
    lora: LoraSpec = LoraSpec()
    max_length: int = Field(128, ge=8)
    training_defaults: ClassVar[dict[str, Any]] = {
        "learning_rate": 5e-5,
        "warmup_steps": 10,
        "epochs": 3,
        "batch_size": 32,
        "weight_decay": 0.01,
    }


class Distill(_Recipe):
    """A smaller student learns a teacher's next-token distributions on packed blocks of the
    dataset's text: loss = (1 - w) * T^2 * KL(teacher_T || student_T) + w * cross-entropy,
    with temperature T and w = ``hard_label_weight``. The student starts from ``base`` (e.g.
    a pruned version of the teacher) or is built fresh from ``architecture``; it uses the
    teacher's tokenizer, since the logits are compared token by token."""

    recipe: Literal["distill"]
    teacher: str  # NAME[:V|@ALIAS] or a directory
    base: str | None = None  # the student to start from
    architecture: ArchitectureSpec | None = None  # or a fresh student of this shape
    temperature: float = Field(2.0, gt=0)
    hard_label_weight: float = Field(0.0, ge=0, le=1)
    block_size: int = Field(256, ge=8)
    training_defaults: ClassVar[dict[str, Any]] = {"learning_rate": 1e-3, "warmup_steps": 10}

    @model_validator(mode="after")
    def _one_student(self) -> Distill:
        if (self.base is None) == (self.architecture is None):
            raise ValueError(
                "give the student as either 'base' (a model to start from) or "
                "'architecture' (a fresh model), not both or neither"
            )
        return self


Recipe = Annotated[
    PretrainCLM | PretrainMLM | ContinuePretrain | SFT | Classify | Distill,
    Field(discriminator="recipe"),
]
RECIPES = ("pretrain-clm", "pretrain-mlm", "continue", "sft", "classify", "distill")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Recipe)
_KINDS = {
    "pretrain-clm": PretrainCLM,
    "pretrain-mlm": PretrainMLM,
    "continue": ContinuePretrain,
    "sft": SFT,
    "classify": Classify,
    "distill": Distill,
}


def _set(data: dict[str, Any], dotted: str, raw: str) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise RecipeError(f"--set {dotted}: {key!r} is not a section")
        node = child
    node[leaf] = yaml.safe_load(raw) if raw != "" else None


def _fields_at(kind: str | None, loc: tuple[Any, ...]) -> list[str]:
    """The keys a recipe of this kind accepts at ``loc`` (the parent of the bad key)."""
    model: Any = _KINDS.get(kind or "")
    for key in loc:
        if model is None:
            return []
        field = model.model_fields.get(key)
        if field is None:
            return []
        # An optional section (``X | None``) suggests the keys of X.
        options = (field.annotation, *get_args(field.annotation))
        model = next((a for a in options if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return list(model.model_fields) if model is not None else []


def _explain(error: ValidationError, kind: str | None, source: str) -> str:
    lines = []
    for e in error.errors():
        loc = tuple(x for x in e["loc"] if x != kind)
        where = ".".join(str(x) for x in loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            known = _fields_at(kind, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {known}"
            lines.append(f"unknown key {where!r}{hint}")
        elif e["type"] == "union_tag_invalid" or where == "recipe":
            lines.append(f"'recipe' must be one of {', '.join(RECIPES)}")
        elif e["type"] == "value_error" and where == "(top level)":
            lines.append(e["msg"].removeprefix("Value error, "))
        elif e["type"] == "missing":
            lines.append(f"missing key {where!r}")
        else:
            lines.append(f"{where}: {e['msg']} (got {e.get('input')!r})")
    return f"{source}: " + "; ".join(lines)


def parse_recipe(data: dict[str, Any], source: str = "recipe") -> Any:
    """A validated recipe (one of the recipe classes) from a mapping."""
    kind = data.get("recipe") if isinstance(data, dict) else None
    if kind not in _KINDS:
        raise RecipeError(f"{source}: 'recipe' must be one of {', '.join(RECIPES)}, not {kind!r}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        raise RecipeError(_explain(e, kind, source)) from None


def load_recipe(path: Path, overrides: list[str] = []) -> Any:  # noqa: B006 - never mutated
    """Reads a YAML recipe and applies ``key.sub=value`` overrides (values parsed as YAML)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise RecipeError(f"recipe file {path} does not exist") from None
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys to values")
    for item in overrides:
        key, eq, raw = item.partition("=")
        if not eq or not key:
            raise RecipeError(f"--set {item!r}: write it as key.sub=value")
        _set(data, key.strip(), raw.strip())
    return parse_recipe(data, str(path))
