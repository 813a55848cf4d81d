"""``mint serve``: load a model version from the catalog and put the gateway in front."""

from __future__ import annotations

import typer
import uvicorn

from modelmint.catalog import CatalogError
from modelmint.cli.common import console, fail
from modelmint.cli.runtime import Runtime
from modelmint.gateway import GatewayContext, ServedModel, create_app
from modelmint.serving import Engine, TextGenerator


def usage_hint(model: str, host: str, port: int, key: str = "$MINT_API_KEY") -> str:
    base = f"http://{host}:{port}/v1"
    return f"""
[bold]Call it[/]
  curl {base}/chat/completions -H "Authorization: Bearer {key}" \\
    -H "Content-Type: application/json" \\
    -d '{{"model": "{model}",
         "messages": [{{"role": "user", "content": "我的订单什么时候发货？"}}]}}'

  from openai import OpenAI
  client = OpenAI(base_url="{base}", api_key="{key}")
  r = client.chat.completions.create(model="{model}",
      messages=[{{"role": "user", "content": "Where is my order?"}}])
  print(r.choices[0].message.content)
"""


def serve(
    model: str = typer.Option(
        ..., help="NAME, NAME:VERSION or NAME@ALIAS from `mint models list`."
    ),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    threads: int | None = typer.Option(None, help="CPU threads for the engine."),
    log_level: str = typer.Option("info"),
) -> None:
    """Serve a model over the OpenAI-compatible API; every request needs a key and is metered."""
    rt = Runtime.open()
    try:
        ref = rt.catalog.resolve_model(model)
    except CatalogError as e:
        raise fail(e) from e
    engine = Engine(TextGenerator(ref.path, threads=threads))
    served = ServedModel(id=model, label=ref.label, model_version_id=ref.id, engine=engine)
    app = create_app(GatewayContext(keys=rt.keys, ledger=rt.ledger, models={model: served}))
    console.print(
        f"serving [bold]{ref.label}[/] as model [bold]{model!r}[/] on http://{host}:{port}/v1",
        highlight=False,
    )
    console.print(usage_hint(model, host, port), highlight=False, soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
