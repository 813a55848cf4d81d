"""One table of supported families, read by GGUF import and export alike, and one list of a
model directory's end tokens, read by serving, evaluation, import and the Modelfile."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from modelmint.modeling import end_token_ids, load_tokenizer, stop_token_ids
from modelmint.modeling.families import FAMILIES, family_of, family_of_gguf
from modelmint.modeling.gguf_export import ARCHES


def test_every_family_exports_to_a_llama_cpp_architecture_that_imports_back() -> None:
    for family in FAMILIES.values():
        assert family_of(family.model_type) is family
        assert family.gguf.architecture in ARCHES  # a name llama.cpp's gguf package knows
        found = family_of_gguf(family.gguf.architecture)
        assert found is not None and found.gguf.architecture == family.gguf.architecture
    # Mistral's GGUF files say llama, and import as the llama family they are
    assert family_of_gguf("llama") is FAMILIES["llama"]
    assert family_of_gguf("phi3") is None and family_of("gemma3") is None


def test_end_tokens_are_the_stated_ids_then_the_tokenizers_eos(
    checkpoints: Callable[[str], Path], tmp_path: Path
) -> None:
    model_dir = tmp_path / "gemma2"
    shutil.copytree(checkpoints("gemma2"), model_dir)
    tok = load_tokenizer(model_dir)
    ids = tok.convert_tokens_to_ids
    assert end_token_ids(model_dir, tok) == [ids("<eos>"), ids("<end_of_turn>")]
    generation = model_dir / "generation_config.json"
    stated = json.loads(generation.read_text())
    stated["eos_token_id"] = ids("<end_of_turn>")  # one id, not a list; config.json's after
    generation.write_text(json.dumps(stated))
    assert end_token_ids(model_dir) == [ids("<end_of_turn>"), ids("<eos>")]
    assert set(stop_token_ids(tok, model_dir)) == {ids("<eos>"), ids("<end_of_turn>")}
    generation.write_text('{"eos_token_id": [true, 7')  # unreadable: config.json still counts
    assert end_token_ids(model_dir) == [ids("<eos>")]
    assert stop_token_ids(tok) == [tok.eos_token_id]
