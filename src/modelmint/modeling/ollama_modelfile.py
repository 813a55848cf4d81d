"""An Ollama ``Modelfile`` for an exported GGUF: ``ollama create NAME -f Modelfile`` in its
directory then serves the model with its own chat format and end tokens.

Ollama does not run the Jinja chat template a GGUF carries; it renders a Go template over
``.System`` and ``.Messages``. The model's template is recognised by its markers and
translated into the Go template of its family (ChatML for Qwen and SmolLM and modelmint's
own models, Llama 3's headers, Gemma's turns, Mistral's ``[INST]``), written to render the
same text for a conversation as the Jinja template does; a Qwen3 template's
``enable_thinking`` becomes Ollama's ``think`` option. Where a family has no system role
(Gemma, Mistral) the system prompt opens the first user turn, as their published templates
do. A template that opens with ``bos_token`` gets the BOS text only when the GGUF does not
tell Ollama to add BOS itself, so it is never doubled. Every end token of the model (the
ids its directory states, as serving stops on them: ``modeling.tokenizer.end_token_ids``;
and the format's end of turn) becomes a ``PARAMETER stop``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from modelmint.modeling.tokenizer import end_token_ids

CHATML = (
    "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{ range .Messages }}"
    '{{ if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n'
    '{{ else if eq .Role "assistant" }}<|im_start|>assistant\n{{ .Content }}<|im_end|>\n'
    "{{ end }}{{ end }}<|im_start|>assistant\n"
)
LLAMA3 = (
    "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
    "{{ end }}{{ range .Messages }}"
    '{{ if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>\n\n'
    "{{ .Content }}<|eot_id|>"
    '{{ else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>\n\n'
    "{{ .Content }}<|eot_id|>"
    "{{ end }}{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
)
# The system prompt goes once, in front of the first user turn ($system is emptied after).
GEMMA = (
    "{{ $system := .System }}{{ range .Messages }}"
    '{{ if eq .Role "user" }}<start_of_turn>user\n'
    '{{ if $system }}{{ $system }}\n\n{{ $system = "" }}{{ end }}{{ .Content }}<end_of_turn>\n'
    '{{ else if eq .Role "assistant" }}<start_of_turn>model\n{{ .Content }}<end_of_turn>\n'
    "{{ end }}{{ end }}<start_of_turn>model\n"
)
MISTRAL = (
    "{{ $system := .System }}{{ range .Messages }}"
    '{{ if eq .Role "user" }}[INST] '
    '{{ if $system }}{{ $system }}\n\n{{ $system = "" }}{{ end }}{{ .Content }} [/INST]'
    '{{ else if eq .Role "assistant" }}{{ .Content }}{EOS}'
    "{{ end }}{{ end }}"
)
# Qwen3's switch: thinking off (Ollama's `think: false`) writes the empty reasoning block its
# Jinja template writes for enable_thinking=false; left unset, the model may reason first.
THINKING_OFF = "{{ if and $.IsThinkSet (not $.Think) }}<think>\n\n</think>\n\n{{ end }}"
# Marker in the Jinja template -> the family's Go template, checked in this order.
FORMATS = {
    "<|im_start|>": ("chatml", CHATML),
    "<|start_header_id|>": ("llama3", LLAMA3),
    "<start_of_turn>": ("gemma", GEMMA),
    "[INST]": ("mistral", MISTRAL),
}
# The token that closes an assistant turn in each format.
TURN_ENDS = {"chatml": "<|im_end|>", "llama3": "<|eot_id|>", "gemma": "<end_of_turn>"}
# generation_config.json's sampling settings, by the name Ollama gives each.
SAMPLING = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k"}


@dataclass(frozen=True)
class Modelfile:
    path: Path
    chat_format: str | None  # None: no template recognised, prompts go to the model raw
    stops: list[str]
    text: str


def go_template(
    chat_template: str, *, bos: str | None, eos: str | None, add_bos: bool
) -> tuple[str, str] | None:
    """(format name, Ollama template) for a Jinja chat template, or None if unrecognised."""
    for marker, (name, template) in FORMATS.items():
        if marker in chat_template:
            opens_with_bos = bool(bos) and "bos_token" in chat_template and not add_bos
            if name == "chatml" and "enable_thinking" in chat_template:
                template += THINKING_OFF
            prefix = bos if bos and opens_with_bos else ""
            return name, prefix + template.replace("{EOS}", eos or "")
    return None


def _default_system(tok: PreTrainedTokenizerBase, chat_format: str) -> str | None:
    """The system prompt a ChatML template writes when a conversation has none (Qwen2's
    'You are a helpful assistant.'), which Ollama's SYSTEM line then supplies."""
    if chat_format != "chatml":
        return None
    text = str(tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False))
    found = re.match(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", text, re.S)
    return found.group(1) if found else None


def _quoted(text: str) -> str:
    if '"""' in text:
        raise ValueError(f'cannot quote a text containing """ for a Modelfile: {text[:80]!r}')
    return f'"""{text}"""'


def write_modelfile(
    model_dir: Path, gguf_file: Path, *, add_bos: bool, source: str | None = None
) -> Modelfile:
    """Writes ``Modelfile`` next to ``gguf_file`` for the model at ``model_dir``."""
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    translated = go_template(
        str(tok.chat_template or ""), bos=tok.bos_token, eos=tok.eos_token, add_bos=add_bos
    )
    stops = [str(tok.convert_ids_to_tokens(i)) for i in end_token_ids(model_dir, tok)]
    turn_end = TURN_ENDS.get(translated[0]) if translated else None
    if turn_end and turn_end in tok.get_vocab() and turn_end not in stops:
        stops.append(turn_end)  # a model trained here ends turns there, whatever its EOS
    lines = [f"# {source or model_dir.name} exported by modelmint", f"FROM ./{gguf_file.name}"]
    chat_format = None
    if translated:
        chat_format, template = translated
        lines.append(f"TEMPLATE {_quoted(template)}")
        if system := _default_system(tok, chat_format):
            lines.append(f"SYSTEM {_quoted(system)}")
    generation = model_dir / "generation_config.json"
    settings = json.loads(generation.read_text()) if generation.exists() else {}
    for key, name in SAMPLING.items():
        if settings.get("do_sample") and settings.get(key) is not None:
            lines.append(f"PARAMETER {name} {settings[key]}")
    lines += [f"PARAMETER stop {json.dumps(s, ensure_ascii=False)}" for s in stops]
    text = "\n".join(lines) + "\n"
    path = gguf_file.parent / "Modelfile"
    path.write_text(text, encoding="utf-8")
    return Modelfile(path, chat_format, stops, text)


__all__ = ["FORMATS", "Modelfile", "go_template", "write_modelfile"]
