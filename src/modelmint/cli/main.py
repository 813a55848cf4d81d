"""``mint``: the command line. Commands parse arguments, call stages and draw results."""

from __future__ import annotations

import json
import time

import typer
from rich.table import Table

from modelmint.cli import serve as serve_cmd
from modelmint.cli.admin_keys import admin_keys_app
from modelmint.cli.audit import audit as audit_cmd
from modelmint.cli.budgets import alerts as alerts_cmd
from modelmint.cli.budgets import budgets_app
from modelmint.cli.channels import channels_app
from modelmint.cli.common import JSON_OUTPUT, MintGroup, console
from modelmint.cli.compress import compress_app
from modelmint.cli.data import data_app
from modelmint.cli.economics import economics_command
from modelmint.cli.eval import eval_app
from modelmint.cli.feedback import feedback_app
from modelmint.cli.invoices import invoices_app
from modelmint.cli.keys import keys_app
from modelmint.cli.label import label_app
from modelmint.cli.label_annotators import annotators_app  # noqa: F401  (registers on label_app)
from modelmint.cli.label_review import label_review  # noqa: F401  (registers on label_app)
from modelmint.cli.label_suggest import label_suggest  # noqa: F401  (registers on label_app)
from modelmint.cli.models import models_app
from modelmint.cli.pipeline import pretrain_recipe, sample_path, train_and_register
from modelmint.cli.prices import prices_app
from modelmint.cli.progress import RichProgress
from modelmint.cli.runs import runs_app
from modelmint.cli.runtime import Runtime
from modelmint.cli.tenants import tenants_app
from modelmint.cli.train import train_app
from modelmint.cli.wallets import wallets_app

app = typer.Typer(
    cls=MintGroup,
    help="modelmint: your data in, a served, metered model out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Each group lives in the module of its name: `mint wallets` in cli/wallets.py.
for sub, name in [
    (data_app, "data"),
    (train_app, "train"),
    (runs_app, "runs"),
    (eval_app, "eval"),
    (compress_app, "compress"),
    (models_app, "models"),
    (feedback_app, "feedback"),
    (label_app, "label"),
    (channels_app, "channels"),
    (tenants_app, "tenants"),
    (keys_app, "keys"),
    (admin_keys_app, "admin-keys"),
    (wallets_app, "wallets"),
    (budgets_app, "budgets"),
]:
    app.add_typer(sub, name=name)
app.command("serve")(serve_cmd.serve)
app.add_typer(prices_app, name="prices")
app.command("audit")(audit_cmd)
app.add_typer(invoices_app, name="invoices")
app.command("economics")(economics_command)
app.command("alerts")(alerts_cmd)


# quickstart --------------------------------------------------------------------------------
@app.command()
def quickstart(
    size: str = typer.Option(
        "tiny", help="Model size: tiny (~1.3M, a few minutes on 2 cores) or small (~30M)."
    ),
    steps: int | None = typer.Option(None, help="Training steps (default depends on size)."),
    name: str = typer.Option("demo", help="Model name to register."),
    tenant: str = typer.Option("demo", help="Tenant that gets the API key."),
) -> None:
    """Sample data -> dataset -> tokenizer -> pretrained model -> perplexity -> catalog ->
    tenant and API key: the whole loop on bundled synthetic data."""
    from modelmint.data import curate
    from modelmint.samples import write_sample_corpus

    start = time.perf_counter()
    rt = Runtime.open()
    with RichProgress(console) as progress:
        path = sample_path(rt)
        truth = write_sample_corpus(path)
        console.print(
            f"[green]✓[/] sample corpus (synthetic) written to {path} "
            f"({len(truth.exact_duplicates)} exact and "
            f"{len(truth.near_duplicates)} near duplicates planted)"
        )
        ingested = curate(rt.catalog, [path], "customer-service", progress=progress)
        ds = ingested.dataset
        console.print(
            f"[green]✓[/] dataset {ds.label}: {ds.num_records} dialogues "
            f"{ds.splits}" + ("" if ingested.created else " (unchanged, reused)")
        )
        recipe = pretrain_recipe(ds, name, size, steps)
        trained = train_and_register(rt, ds, recipe, alias="production", progress=progress)
    m = trained.model
    console.print(
        f"[green]✓[/] model {m.label} ({m.num_parameters / 1e6:.1f}M parameters) trained in "
        f"{trained.train_seconds:.0f}s; held-out perplexity {trained.perplexity:.2f} "
        f"(untrained {trained.perplexity_untrained:.0f}, "
        f"{trained.perplexity_untrained / trained.perplexity:.0f}x better)"
    )
    rt.tenants.ensure(tenant)  # run again, quickstart keeps the tenant and its usage
    created = rt.keys.create(tenant, name="quickstart")
    console.print(
        f"[green]✓[/] tenant {tenant!r} with a new API key "
        f"(done in {time.perf_counter() - start:.0f}s)"
    )
    # soft_wrap: a key broken across lines by the terminal width could not be copied.
    console.print(
        serve_cmd.usage_hint(name, "127.0.0.1", 8000, created.key), highlight=False, soft_wrap=True
    )
    print(created.key)


@app.command()
def usage(
    tenant: str = typer.Option(..., help="Tenant name."),
    as_json: bool = JSON_OUTPUT,
) -> None:
    """Requests and tokens a tenant used, from the usage ledger."""
    rt = Runtime.open()
    rt.tenants.get(tenant)
    s = rt.ledger.summarize(tenant)
    if as_json:
        print(
            json.dumps(
                {
                    "tenant": s.tenant,
                    "requests": s.requests,
                    "prompt_tokens": s.prompt_tokens,
                    "completion_tokens": s.completion_tokens,
                    "total_tokens": s.total_tokens,
                    "by_model": [m.__dict__ for m in s.by_model],
                },
                indent=2,
            )
        )
        return
    table = Table(
        "model", "requests", "prompt tokens", "completion tokens", title=f"usage of {tenant}"
    )
    for m in s.by_model:
        table.add_row(m.model, str(m.requests), str(m.prompt_tokens), str(m.completion_tokens))
    table.add_row("[bold]total", str(s.requests), str(s.prompt_tokens), str(s.completion_tokens))
    console.print(table)


if __name__ == "__main__":
    app()
