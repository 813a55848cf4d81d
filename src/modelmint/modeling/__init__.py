"""Model and tokenizer building, loading and saving."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.modeling.chat import chat_template_kwargs, render_chat
    from modelmint.modeling.checkpoints import CheckpointError, ImportOptions
    from modelmint.modeling.families import FAMILIES, ModelFamily, family_of
    from modelmint.modeling.loading import (
        build_causal_lm,
        count_parameters,
        cpu_supports_bf16,
        cpu_trains_faster_in_bf16,
        load_causal_lm,
    )
    from modelmint.modeling.presets import (
        PRESETS,
        Preset,
        bert_config,
        llama_config,
        llama_config_for,
        resolve_preset,
    )
    from modelmint.modeling.records import classifier_text, record_text
    from modelmint.modeling.tokenizer import (
        CHAT_TEMPLATE,
        END_OF_TEXT,
        IM_END,
        IM_START,
        MASK,
        SPECIAL_TOKENS,
        end_token_ids,
        load_tokenizer,
        stop_token_ids,
        wrap_tokenizer,
    )

__all__ = [
    "CHAT_TEMPLATE",
    "END_OF_TEXT",
    "FAMILIES",
    "IM_END",
    "IM_START",
    "MASK",
    "PRESETS",
    "SPECIAL_TOKENS",
    "CheckpointError",
    "ImportOptions",
    "ModelFamily",
    "Preset",
    "bert_config",
    "build_causal_lm",
    "chat_template_kwargs",
    "classifier_text",
    "count_parameters",
    "cpu_supports_bf16",
    "cpu_trains_faster_in_bf16",
    "end_token_ids",
    "family_of",
    "llama_config",
    "llama_config_for",
    "load_causal_lm",
    "load_tokenizer",
    "record_text",
    "render_chat",
    "resolve_preset",
    "stop_token_ids",
    "wrap_tokenizer",
]

lazy_exports(__name__)
