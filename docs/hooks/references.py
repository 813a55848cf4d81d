"""mkdocs hook: the CLI and HTTP reference pages, generated from the code at every build.

* ``reference/cli.md`` walks the typer app ``modelmint.cli.main:app`` as click sees it
  (``typer.main.get_command``): every command and sub-command, its help, its arguments and
  options with their types and defaults. Groups are walked with ``list_commands`` and
  ``get_command``, so a group whose commands load lazily is walked the same way.
* ``reference/http.md`` renders the gateway's OpenAPI document: the app is built by
  ``modelmint.gateway.build_gateway`` and ``create_app`` around a throw-away SQLite store and
  no model (routes do not depend on what is served), and ``app.openapi()`` is read: every
  path and method, its summary and description, parameters, request body schema and
  responses, then every schema.

Nothing generated is committed: the pages exist only in the build, so they cannot drift
from the code. ``mkdocs build --strict`` fails if either cannot be generated.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from collections.abc import Iterable
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

CLI_PAGE = "reference/cli.md"
HTTP_PAGE = "reference/http.md"


# Markdown helpers ---------------------------------------------------------------------------
def _text(value: str) -> str:
    """Plain text for a Markdown paragraph or table cell: code spans kept as they are, HTML
    and emphasis characters escaped outside them, line breaks folded."""
    parts = re.split(r"(`[^`]*`)", value)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            out.append(part)
        else:
            part = html.escape(part, quote=False)
            out.append(re.sub(r"([\\*_\[\]|])", r"\\\1", part))
    return " ".join("".join(out).split())


def _code(value: object) -> str:
    text = str(value)
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def _paragraphs(value: str | None) -> list[str]:
    """A docstring or help text as Markdown paragraphs (blank lines separate them)."""
    if not value:
        return []
    value = value.replace("\b", "")
    return [_text(p) for p in re.split(r"\n\s*\n", value.strip()) if p.strip()]


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return lines


# CLI reference --------------------------------------------------------------------------
def _param_type(param: Any, ctx: Any) -> str:
    shown = None
    display = getattr(param, "display_type", None)
    if callable(display):
        try:
            shown = display(ctx)
        except Exception:  # a type typer cannot name: fall back to click's
            shown = None
    if not shown:
        shown = getattr(getattr(param, "type", None), "name", "") or ""
    shown = str(shown).strip("<>")
    if getattr(param, "multiple", False) and shown.startswith("list[") and shown.endswith("]"):
        shown = shown[5:-1]  # repeatable: each use gives one value
    return shown


def _param_default(param: Any) -> str:
    if getattr(param, "required", False):
        return "required"
    if getattr(param, "is_flag", False) and getattr(param, "secondary_opts", None):
        on, off = param.opts[0], param.secondary_opts[0]
        return _code(on if param.default else off)
    if getattr(param, "is_flag", False):
        return "off" if not param.default else "on"
    default = param.default
    if callable(default) or default is None or default == "" or default == [] or default == ():
        return ""
    if isinstance(default, (list, tuple)):
        return ", ".join(_code(d) for d in default)
    return _code(default)


def _cli_params(cmd: Any, ctx: Any) -> list[str]:
    arguments, options = [], []
    for param in cmd.get_params(ctx):
        if getattr(param, "hidden", False) or param.name == "help":
            continue
        kind = getattr(param, "param_type_name", "")
        if kind == "argument":
            name = (param.metavar or param.name or "").upper()
            if getattr(param, "nargs", 1) == -1:
                name += "..."
            arguments.append(
                [
                    _code(name),
                    _code(_param_type(param, ctx)),
                    _param_default(param),
                    _text(getattr(param, "help", None) or ""),
                ]
            )
        else:
            names = " / ".join(
                ", ".join(group) for group in (param.opts, param.secondary_opts) if group
            )
            kind_shown = "flag" if getattr(param, "is_flag", False) else _param_type(param, ctx)
            if getattr(param, "multiple", False):
                kind_shown += ", repeatable"
            options.append(
                [
                    _code(names),
                    _code(kind_shown),
                    _param_default(param),
                    _text(getattr(param, "help", None) or ""),
                ]
            )
    lines: list[str] = []
    if arguments:
        lines += ["", "**Arguments**", ""]
        lines += _table(["argument", "type", "default", "meaning"], arguments)
    if options:
        lines += ["", "**Options**", ""]
        lines += _table(["option", "type", "default", "meaning"], options)
    return lines


def _cli_command(cmd: Any, ctx: Any, depth: int) -> list[str]:
    path = ctx.command_path
    lines = ["", "#" * min(depth, 6) + f" {path}", ""]
    lines += [p + "\n" for p in _paragraphs(cmd.help)]
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    lines += ["```text", f"{path} {pieces}".rstrip(), "```"]
    lines += _cli_params(cmd, ctx)
    if hasattr(cmd, "list_commands"):
        names = [n for n in cmd.list_commands(ctx) if cmd.get_command(ctx, n) is not None]
        subs = [(n, cmd.get_command(ctx, n)) for n in names]
        subs = [(n, c) for n, c in subs if not getattr(c, "hidden", False)]
        if subs:
            lines += ["", "**Commands**", ""]
            lines += _table(
                ["command", "does"],
                (
                    [
                        f"[{_text(path + ' ' + n)}](#{_slug(path + ' ' + n)})",
                        _text(c.get_short_help_str(120)),
                    ]
                    for n, c in subs
                ),
            )
        for name, sub in subs:
            sub_ctx = type(ctx)(sub, parent=ctx, info_name=name)
            lines += _cli_command(sub, sub_ctx, depth + 1)
    return lines


def _slug(heading: str) -> str:
    """The id Python-Markdown's toc extension gives a heading of plain words."""
    value = re.sub(r"[^\w\s-]", "", heading).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def cli_reference() -> str:
    import typer

    from modelmint.cli.main import app

    # a Typer app, or already a click command (a lazily loading group, say)
    root = app if hasattr(app, "get_params") else typer.main.get_command(app)
    ctx = root.context_class(root, info_name="mint")  # typer's own click Context
    body = _cli_command(root, ctx, 1)
    # the root's heading becomes the page title
    return (
        "\n".join(
            [
                "# CLI reference",
                "",
                "Generated from the code (`modelmint.cli.main:app`) each time this site is built;",
                "`mint COMMAND --help` prints the same. The guides show the commands at work:",
                "[data](../data.md), [training](../training.md), [evaluation](../evaluation.md),",
                "[compression](../compression.md), [serving](../serving.md),",
                "[labeling](../labeling.md) and [commerce](../commerce.md).",
                "",
                *body[3:],
            ]
        )
        + "\n"
    )


# HTTP reference -------------------------------------------------------------------------
def _schema_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _schema_link(name: str) -> str:
    return f"[{_code(name)}](#schema-{name.lower()})"


def _type(schema: dict[str, Any] | None) -> str:
    """A short human form of a JSON schema: ``integer``, ``list of Key``, ``string or null``."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return _schema_link(_schema_name(schema["$ref"]))
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = [_type(s) for s in schema[combinator]]
            return " or ".join(dict.fromkeys(options))
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type(schema["allOf"][0])
    if "enum" in schema:
        return "one of " + ", ".join(_code(v) for v in schema["enum"])
    if "const" in schema:
        return _code(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items'))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    if isinstance(kind, list):
        kind = " or ".join(kind)
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _bounds(schema: dict[str, Any]) -> str:
    """Limits and default of a field, looking inside ``anyOf`` for the non-null branch."""
    parts = []
    branches = [schema, *schema.get("anyOf", [])]
    for branch in branches:
        for key, word in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("exclusiveMaximum", "<"),
        ):
            if key in branch:
                value = branch[key]
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                parts.append(f"{word} {value}")
        for key, word in (("minLength", "length ≥"), ("maxLength", "length ≤")):
            if key in branch:
                parts.append(f"{word} {branch[key]}")
        for key, word in (("minItems", "items ≥"), ("maxItems", "items ≤")):
            if key in branch:
                parts.append(f"{word} {branch[key]}")
    if "default" in schema and schema["default"] is not None:
        parts.append("default " + _code(_json(schema["default"])))
    return ", ".join(dict.fromkeys(parts))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _media_schema(content: dict[str, Any]) -> str:
    if not content:
        return ""
    parts = []
    for media, body in content.items():
        schema = body.get("schema")
        shown = _type(schema) if schema else ""
        parts.append(f"{shown} ({_code(media)})" if shown else _code(media))
    return "; ".join(parts)


def _http_operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    lines = ["", f"### {method.upper()} {_code(path)}", ""]
    if op.get("summary"):
        lines += [f"**{_text(op['summary'])}**", ""]
    lines += [p + "\n" for p in _paragraphs(op.get("description"))]
    if op.get("security"):
        schemes = sorted({name for s in op["security"] for name in s})
        lines += ["Authorization: " + ", ".join(_code(s) for s in schemes), ""]
    params = op.get("parameters", [])
    if params:
        lines += _table(
            ["parameter", "in", "type", "required", "limits and default", "meaning"],
            (
                [
                    _code(p["name"]),
                    p.get("in", ""),
                    _type(p.get("schema")),
                    "yes" if p.get("required") else "no",
                    _bounds(p.get("schema", {})),
                    _text(p.get("description") or p.get("schema", {}).get("description") or ""),
                ]
                for p in params
            ),
        )
        lines.append("")
    body = op.get("requestBody")
    if body:
        required = " (required)" if body.get("required") else ""
        lines += [f"Request body{required}: {_media_schema(body.get('content', {}))}", ""]
    responses = op.get("responses", {})
    if responses:
        lines += _table(
            ["status", "meaning", "body"],
            (
                [
                    _code(code),
                    _text(r.get("description", "")),
                    _media_schema(r.get("content", {})),
                ]
                for code, r in responses.items()
            ),
        )
    return lines


def _http_schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = ["", f"### {_code(name)} {{ #schema-{name.lower()} }}", ""]
    lines += [p + "\n" for p in _paragraphs(schema.get("description"))]
    props = schema.get("properties")
    if props:
        required = set(schema.get("required", []))
        lines += _table(
            ["field", "type", "required", "limits and default", "meaning"],
            (
                [
                    _code(field),
                    _type(spec),
                    "yes" if field in required else "no",
                    _bounds(spec),
                    _text(spec.get("description") or ""),
                ]
                for field, spec in props.items()
            ),
        )
    elif "enum" in schema or "type" in schema or "anyOf" in schema:
        lines.append(f"Type: {_type(schema)}")
    return lines


def _openapi() -> dict[str, Any]:
    from modelmint.config import Settings
    from modelmint.gateway import build_gateway, create_app
    from modelmint.store import Store

    with tempfile.TemporaryDirectory(prefix="mint-docs-") as tmp:
        settings = Settings(home=tmp, key_pepper="docs", database_url=None, redis_url=None)
        store = Store.open(settings.resolved_database_url())
        try:
            app = create_app(build_gateway(settings, models={}, store=store))
            return app.openapi()
        finally:
            store.close()


def http_reference() -> str:
    doc = _openapi()
    lines = [
        "# HTTP reference",
        "",
        "Generated from the gateway's own OpenAPI document each time this site is built. A",
        "running `mint serve` serves the same document at `/openapi.json` and a browsable",
        "version at `/docs`. The guides explain the behaviour behind the routes:",
        "[serving](../serving.md) for `/v1`, [commerce](../commerce.md) for `/admin/v1`,",
        "[console](../console.md) and [labeling](../labeling.md) for the web pages.",
        "",
        f"OpenAPI {doc.get('openapi', '')}, {_text(doc['info'].get('title', ''))} "
        f"{doc['info'].get('version', '')}.",
    ]
    schemes = doc.get("components", {}).get("securitySchemes", {})
    if schemes:
        lines += ["", "## Authorization", ""]
        lines += _table(
            ["scheme", "kind", "meaning"],
            (
                [
                    _code(name),
                    _text(" ".join(str(s.get(k, "")) for k in ("type", "scheme", "in", "name"))),
                    _text(s.get("description", "")),
                ]
                for name, s in schemes.items()
            ),
        )
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in doc.get("paths", {}).items():
        for method, op in methods.items():
            if method.startswith("x-") or method == "parameters":
                continue
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((path, method, op))
    lines += ["", "## Routes", ""]
    lines += _table(
        ["group", "routes"],
        (
            [
                _text(tag),
                ", ".join(f"[{m.upper()} {_code(p)}](#{_slug(f'{m} {p}')})" for p, m, _ in ops),
            ]
            for tag, ops in by_tag.items()
        ),
    )
    for tag, ops in by_tag.items():
        lines += ["", f"## {_text(tag)}"]
        for path, method, op in ops:
            lines += _http_operation(path, method, op)
    schemas = doc.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["", "## Schemas"]
        for name, schema in sorted(schemas.items(), key=lambda kv: kv[0].lower()):
            lines += _http_schema(name, schema)
    return "\n".join(lines) + "\n"


# mkdocs events --------------------------------------------------------------------------
def on_files(files: Files, config: MkDocsConfig) -> Files:
    for uri, make in ((CLI_PAGE, cli_reference), (HTTP_PAGE, http_reference)):
        files.append(File.generated(config, uri, content=make()))
    return files
