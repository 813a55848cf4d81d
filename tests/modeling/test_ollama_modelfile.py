"""The Ollama Modelfile written next to a GGUF: its Go template must render a conversation to
the same text as the model's own Jinja chat template, and it must stop on every end token.

Go is not installed here, so a small interpreter below renders the part of Go's
text/template that the templates use (if / else if / else, range, variables and their
reassignment, eq / ne / not / and / or, and the ``{{-``/``-}}`` trim markers), following
Go's rules: a block's variables are scoped to it, ``=`` assigns to the enclosing one, and
empty strings and lists are false."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer

from modelmint.modeling.gguf_export import export_gguf
from modelmint.modeling.ollama_modelfile import go_template, write_modelfile
from modelmint.training.tokenizer import train_tokenizer
from support.open_weights import FAMILIES

CONVERSATION = [
    {"role": "user", "content": "你好，我的订单 #12345 什么时候到？"},
    {"role": "assistant", "content": "It shipped yesterday. 预计明天送达。"},
    {"role": "user", "content": "Thanks! 可以改地址吗？"},
]
ACTION = re.compile(r"\{\{(- )?(.*?)( -)?\}\}", re.S)
WORD = re.compile(r'"(?:[^"\\]|\\.)*"|\(|\)|[^\s()]+')


def _tree(template: str) -> list[Any]:
    """Text and actions, trim markers applied, nested by if/range ... end."""
    pieces: list[Any] = []
    pos = 0
    for m in ACTION.finditer(template):
        text = template[pos : m.start()]
        if m.group(1):
            text = text.rstrip(" \t\r\n")
        pieces.append(("text", text))
        pieces.append(("action", m.group(2).strip(), bool(m.group(3))))
        pos = m.end()
    pieces.append(("text", template[pos:]))
    for i, piece in enumerate(pieces):  # a right trim marker eats the following whitespace
        if piece[0] == "action" and piece[2]:
            pieces[i + 1] = ("text", pieces[i + 1][1].lstrip(" \t\r\n"))
    stack: list[list[Any]] = [[]]
    for piece in pieces:
        if piece[0] == "text":
            stack[-1].append(piece)
            continue
        words = piece[1].split(None, 1)
        head, rest = words[0], words[1] if len(words) > 1 else ""
        if head in ("if", "range"):
            node = [head, [(rest, [])], None]  # branches: (condition, body); else body
            stack[-1].append(node)
            stack.append(node[1][0][1])
        elif head == "else":
            stack.pop()
            node = stack[-1][-1]
            if rest.startswith("if "):
                node[1].append((rest[3:], []))
                stack.append(node[1][-1][1])
            else:
                node[2] = []
                stack.append(node[2])
        elif head == "end":
            stack.pop()
        else:
            stack[-1].append(("expr", piece[1]))
    assert len(stack) == 1, "unbalanced template"
    return stack[0]


def _value(words: list[str], dot: Any, scopes: list[dict[str, Any]]) -> Any:
    def atom(word: str) -> Any:
        if word.startswith('"'):
            return word[1:-1].encode().decode("unicode_escape")
        if word.startswith("$"):
            name, _, field = word.partition(".")
            base = next(s[name] for s in reversed(scopes) if name in s)
            return base[field] if field else base
        if word.startswith("."):
            return dot[word[1:]] if word != "." else dot
        raise ValueError(word)

    def expr(i: int) -> tuple[Any, int]:
        if words[i] == "(":
            value, i = call(i + 1)
            return value, i + 1  # past ")"
        return atom(words[i]), i + 1

    def call(i: int) -> tuple[Any, int]:
        name = words[i]
        if name in ("eq", "ne", "and", "or", "not"):
            args, i = [], i + 1
            while i < len(words) and words[i] != ")":
                value, i = expr(i)
                args.append(value)
            result = {
                "eq": lambda a: a[0] == a[1],
                "ne": lambda a: a[0] != a[1],
                "and": lambda a: all(a),
                "or": lambda a: any(a),
                "not": lambda a: not a[0],
            }[name](args)
            return result, i
        return expr(i)

    return call(0)[0]


def _run(nodes: list[Any], dot: Any, scopes: list[dict[str, Any]], out: list[str]) -> None:
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "expr":
            m = re.match(r"(\$\w+)\s*(:?=)\s*(.*)", node[1], re.S)
            if m and m.group(2) == ":=":
                scopes[-1][m.group(1)] = _value(WORD.findall(m.group(3)), dot, scopes)
            elif m:
                owner = next(s for s in reversed(scopes) if m.group(1) in s)
                owner[m.group(1)] = _value(WORD.findall(m.group(3)), dot, scopes)
            else:
                out.append(str(_value(WORD.findall(node[1]), dot, scopes)))
        elif node[0] == "if":
            for condition, body in node[1]:
                if _value(WORD.findall(condition), dot, scopes):
                    _run(body, dot, [*scopes, {}], out)
                    break
            else:
                _run(node[2] or [], dot, [*scopes, {}], out)
        elif node[0] == "range":
            for item in _value(WORD.findall(node[1][0][0]), dot, scopes):
                _run(node[1][0][1], item, [*scopes, {}], out)


def render_go(
    template: str, system: str, messages: list[dict[str, str]], think: bool | None = None
) -> str:
    """Renders as Ollama does: .System holds the system messages, .Messages all of them,
    .Think and .IsThinkSet the request's ``think`` option."""
    data = {
        "System": system,
        "Messages": [{"Role": m["role"], "Content": m["content"]} for m in messages],
        "Think": bool(think),
        "IsThinkSet": think is not None,
    }
    out: list[str] = []
    _run(_tree(template), data, [{"$": data}], out)
    return "".join(out)


def test_the_renderer_follows_go_rules() -> None:
    template = (
        '{{- $x := "a" }}{{ range .Messages }}{{ if eq .Role "user" -}}\n  u{{ $x }}'
        '{{ $x = "b" }}{{ else }}o{{ end }}{{ end }}|{{ $x }}'
    )
    got = render_go(
        template, "", [{"role": "user", "content": ""}] * 2 + [{"role": "x", "content": ""}]
    )
    assert got == "uaubo|b"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_modelfile_renders_the_chat_format_and_stops_on_every_end_token(
    family: str, checkpoints: Any, tmp_path: Path
) -> None:
    model_dir = checkpoints(family)
    gguf_file = tmp_path / "tiny.gguf"
    done = export_gguf(model_dir, gguf_file, quant="q8_0")
    modelfile = write_modelfile(model_dir, gguf_file, add_bos=done.vocabulary.add_bos)
    text = (tmp_path / "Modelfile").read_text()
    assert text == modelfile.text and "FROM ./tiny.gguf\n" in text
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    spec = FAMILIES[family]
    for token in dict.fromkeys([*spec.end_tokens, spec.eos]):
        assert f'PARAMETER stop "{token}"' in text
    assert text.count("PARAMETER stop") == len(set([*spec.end_tokens, spec.eos]))
    template = re.search(r'TEMPLATE """(.*?)"""', text, re.S)
    assert template is not None
    system_line = re.search(r'SYSTEM """(.*?)"""', text, re.S)
    jinja = tok.apply_chat_template(
        CONVERSATION, add_generation_prompt=True, tokenize=False, **spec.template_kwargs
    )
    system = system_line.group(1) if system_line else ""
    thinking = spec.template_kwargs.get("enable_thinking")
    assert render_go(template.group(1), system, CONVERSATION, think=thinking) == jinja
    if thinking is not None:  # unset, both leave the choice to the model
        plain = tok.apply_chat_template(CONVERSATION, add_generation_prompt=True, tokenize=False)
        assert render_go(template.group(1), system, CONVERSATION) == plain != jinja
    if modelfile.chat_format in ("chatml", "llama3"):  # families with a system role
        with_system = [{"role": "system", "content": "只用中文回答。"}, *CONVERSATION]
        jinja = tok.apply_chat_template(
            with_system, add_generation_prompt=True, tokenize=False, **spec.template_kwargs
        )
        go = render_go(template.group(1), "只用中文回答。", with_system, think=thinking)
        assert go == jinja
    assert (system_line is not None) == (family == "qwen2")  # its template's default prompt


def test_bos_is_written_by_the_template_only_when_the_runtime_does_not_add_it() -> None:
    jinja = "{{ bos_token }}{% for m in messages %}<start_of_turn>{% endfor %}"
    _, added = go_template(jinja, bos="<bos>", eos="<eos>", add_bos=True)  # type: ignore[misc]
    _, written = go_template(jinja, bos="<bos>", eos="<eos>", add_bos=False)  # type: ignore[misc]
    assert written == "<bos>" + added and not added.startswith("<bos>")
    assert go_template("{{ messages }}", bos=None, eos=None, add_bos=False) is None


def test_a_model_trained_here_stops_at_the_end_of_its_chatml_turn(tmp_path: Path) -> None:
    """modelmint's tokenizer has <|endoftext|> as EOS and no generation config; a chat turn
    still ends at <|im_end|>, so Ollama must stop there too."""
    texts = ["你好，订单已发货。", "Your order shipped yesterday.", "谢谢 thanks"] * 20
    train_tokenizer(texts, tmp_path, vocab_size=300, min_frequency=1)
    done = write_modelfile(tmp_path, tmp_path / "demo.gguf", add_bos=False)
    assert done.chat_format == "chatml"
    assert done.stops == ["<|endoftext|>", "<|im_end|>"]
    assert 'PARAMETER stop "<|im_end|>"' in (tmp_path / "Modelfile").read_text()
