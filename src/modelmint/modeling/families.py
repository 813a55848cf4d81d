"""The open-weight model families modelmint takes in from outside, by the ``model_type`` a
checkpoint's config.json states.

One list, so that importing, serving and exporting agree on what is supported: a family is
here once its publishers' checkpoints import, load and stop where they should. Several
publishers share a family (SmolLM is a Llama, Mistral's first models too in GGUF files).
What a format needs to know of a family (llama.cpp's architecture name and layout, for GGUF
import and export) is a field of its row, so adding a family is one row. The table imports
nothing, so any package, and any command's help, may read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GgufLayout:
    """How llama.cpp names and computes a family, which a GGUF export must match (see
    ``modeling.gguf_export``); importing a GGUF file finds the family by ``architecture``."""

    architecture: str  # GGUF's general.architecture: Mistral's and SmolLM's files are llama
    permute_qk: bool = False  # llama.cpp's llama graph rotates interleaved pairs
    norm_shift: float = 0.0  # Gemma's RMSNorm scales by (1 + w), llama.cpp's by w
    always_tied: bool = False  # llama.cpp's tensor list has no output layer
    swa_pattern: int = 0  # llama.cpp's fixed pattern: layer i slides unless i % n == n - 1


@dataclass(frozen=True)
class LayerMath:
    """How a family's layers compute differently from Llama's, beyond what its modules and
    config show (biases, q/k norms, windows): what serving's written-out decoding step
    switches on."""

    gemma_norms: bool = False  # RMSNorm as x * (1 + w) in float32, also after attention and MLP
    attention_softcap: bool = False  # its config's attn_logit_softcapping is applied


@dataclass(frozen=True)
class ModelFamily:
    name: str
    model_type: str  # config.json's model_type
    architecture: str  # the causal LM class transformers builds for it
    examples: str  # published models of the family, for messages and docs
    gguf: GgufLayout
    layers: LayerMath = LayerMath()


FAMILIES: dict[str, ModelFamily] = {
    f.name: f
    for f in (
        ModelFamily(
            "llama",
            "llama",
            "LlamaForCausalLM",
            "Llama 3.x, SmolLM",
            GgufLayout("llama", permute_qk=True),
        ),
        ModelFamily(
            "mistral",
            "mistral",
            "MistralForCausalLM",
            "Mistral 7B",
            GgufLayout("llama", permute_qk=True),
        ),
        ModelFamily("qwen2", "qwen2", "Qwen2ForCausalLM", "Qwen2, Qwen2.5", GgufLayout("qwen2")),
        ModelFamily("qwen3", "qwen3", "Qwen3ForCausalLM", "Qwen3 dense", GgufLayout("qwen3")),
        ModelFamily(
            "gemma2",
            "gemma2",
            "Gemma2ForCausalLM",
            "Gemma 2",
            GgufLayout("gemma2", norm_shift=1.0, always_tied=True, swa_pattern=2),
            LayerMath(gemma_norms=True, attention_softcap=True),
        ),
        ModelFamily(
            "gemma3",
            "gemma3_text",
            "Gemma3ForCausalLM",
            "Gemma 3 1B, text",
            GgufLayout("gemma3", norm_shift=1.0, swa_pattern=6),
            LayerMath(gemma_norms=True),  # its config has a soft-cap its layers never use
        ),
    )
}

# model_type -> family
FAMILY_BY_MODEL_TYPE: dict[str, ModelFamily] = {f.model_type: f for f in FAMILIES.values()}

# Checkpoints that wrap a supported text model in a multimodal one: model_type -> the text
# model's. Their weights and config nest the text model, so they are refused by name.
TEXT_MODEL_INSIDE: dict[str, str] = {"gemma3": "gemma3_text"}


def family_of(model_type: str | None) -> ModelFamily | None:
    """The family of a config.json's ``model_type``; None when modelmint does not support it."""
    return FAMILY_BY_MODEL_TYPE.get(model_type or "")


def family_of_gguf(architecture: str | None) -> ModelFamily | None:
    """The family of a GGUF file's ``general.architecture``: the first listed, so a llama
    file is the llama family whoever published it; None when modelmint does not support it."""
    return next((f for f in FAMILIES.values() if f.gguf.architecture == architecture), None)


def supported_model_types() -> list[str]:
    """Every supported ``model_type``, sorted, as messages list them."""
    return sorted(FAMILY_BY_MODEL_TYPE)


def supported_summary() -> str:
    """The supported families as one line: ``llama (Llama 3.x, SmolLM), mistral (...)``."""
    return ", ".join(f"{f.model_type} ({f.examples})" for f in FAMILIES.values())
