"""A model fine-tuned with chat template variables (an SFT recipe's ``chat_template_kwargs``,
recorded in its ``modelmint.json``) is served and evaluated on prompts rendered with the same
variables: Qwen3 trained with ``enable_thinking: false`` is asked with the empty think block
its training text had, by the server and by the generation suite alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from modelmint.evaluation.base import SuiteInput
from modelmint.evaluation.suite_generation import SUITE as GENERATION
from modelmint.modeling import chat_template_kwargs, load_tokenizer, record_text
from modelmint.serving.text import TextCodec
from support.open_weights import FAMILIES, build_checkpoint

THINK_OFF = "<|im_start|>assistant\n<think>\n\n</think>\n\n"
RECORD = {
    "id": "r1",
    "messages": [
        {"role": "user", "content": "Where is my order?"},
        {"role": "assistant", "content": "It shipped."},
    ],
}


@pytest.fixture(scope="module")
def qwen3_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same Qwen3 checkpoint twice: as imported, and as an SFT recipe with the family's
    template variables records it."""
    root = tmp_path_factory.mktemp("qwen3")
    plain = build_checkpoint("qwen3", root / "plain")
    tuned = root / "tuned"
    shutil.copytree(plain, tuned)
    facts = {"name": "q3", "recipe": "sft", "task": "causal-lm"}
    facts["chat_template_kwargs"] = FAMILIES["qwen3"].template_kwargs
    (tuned / "modelmint.json").write_text(json.dumps(facts))
    return plain, tuned


def _generation_prompt(model_dir: Path) -> str:
    """The prompt the generation suite put to the model for RECORD."""
    model: Any = SimpleNamespace(path=model_dir, label="q3:1")
    options = GENERATION.options(max_new_tokens=1)
    done = GENERATION.run(SuiteInput(None, model, options, records=[RECORD]))  # type: ignore[arg-type]
    return str(done.examples[0]["input"])


def test_the_recorded_variables_are_read_from_the_model_directory(
    qwen3_dirs: tuple[Path, Path],
) -> None:
    plain, tuned = qwen3_dirs
    assert chat_template_kwargs(tuned) == {"enable_thinking": False}
    assert chat_template_kwargs(plain) == {}
    (plain / "modelmint.json").write_text("not json")
    try:
        assert chat_template_kwargs(plain) == {}
    finally:
        (plain / "modelmint.json").unlink()


def test_serving_and_evaluation_render_with_the_recorded_variables(
    qwen3_dirs: tuple[Path, Path],
) -> None:
    plain, tuned = qwen3_dirs
    question = RECORD["messages"][:1]
    served = TextCodec(tuned).render_chat(question)
    assert served.endswith(THINK_OFF)
    assert _generation_prompt(tuned) == served
    # a model that records no variables is asked as its template does by default
    unset = TextCodec(plain).render_chat(question)
    assert unset.endswith("<|im_start|>assistant\n") and "<think>" not in unset
    assert _generation_prompt(plain) == unset


def test_a_record_reads_as_the_server_renders_the_conversation(
    qwen3_dirs: tuple[Path, Path],
) -> None:
    _, tuned = qwen3_dirs
    codec = TextCodec(tuned)
    text = record_text(RECORD, load_tokenizer(tuned), template_kwargs=chat_template_kwargs(tuned))
    assert text == codec.render_chat(RECORD["messages"], add_generation_prompt=False)
