"""``mint label suggest``: a model proposes a label for every unfinished item of a project
(a modelmint classifier, the nearest labeled neighbours, or a served LM asked zero-shot);
the queue then serves the least confident items first."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from modelmint.cli.common import console
from modelmint.cli.label import label_app
from modelmint.cli.progress import RichProgress
from modelmint.cli.runtime import Runtime
from modelmint.labeling.choices import API_KEY_ENV, DEFAULT_K

if TYPE_CHECKING:
    from modelmint.labeling.suggest import Suggester, SuggestResult

SOURCES = ("classifier", "neighbours", "zero-shot")
ALIASES = {
    "neighbors": "neighbours",
    "knn": "neighbours",
    "zero_shot": "zero-shot",
    "lm": "zero-shot",
}


def build_suggester(rt: Runtime, config: dict[str, Any], api_key: str | None) -> Suggester:
    from modelmint.labeling.suggest import SuggestError

    source = ALIASES.get(str(config.get("source")), str(config.get("source")))
    if source == "classifier":
        if not config.get("model"):
            raise SuggestError("--source classifier needs --model NAME[:VERSION]")
        from modelmint.labeling.suggest_classifier import ClassifierSuggester

        return ClassifierSuggester(rt.catalog, str(config["model"]))
    if source == "neighbours":
        from modelmint.labeling.suggest_neighbours import NeighbourSuggester

        return NeighbourSuggester(DEFAULT_K if config.get("k") is None else int(config["k"]))
    if source == "zero-shot":
        from modelmint.labeling.suggest_zero_shot import ZeroShotSuggester

        if not config.get("base_url") or not config.get("model"):
            raise SuggestError("--source zero-shot needs --base-url URL and --model NAME")
        return ZeroShotSuggester(
            str(config["base_url"]),
            str(config["model"]),
            api_key=api_key or os.environ.get(str(config.get("api_key_env") or API_KEY_ENV)),
            max_tokens=int(config.get("max_tokens") or 32),
        )
    raise SuggestError(f"--source {config.get('source')!r}: use one of {', '.join(SOURCES)}")


def _print(result: SuggestResult) -> None:
    console.print(
        f"{result.project}: {result.suggested} of {result.considered} unfinished items got a "
        f"suggestion from {result.source} in {result.seconds:.1f}s"
        + (f"; {result.unparseable} answers were not a label" if result.unparseable else "")
        + (f"; {result.failed} the model could not answer" if result.failed else "")
        + (f"; {result.cleared} old suggestions removed" if result.cleared else "")
    )
    for answer in result.examples:
        console.print(f"  e.g. {answer[:100]!r}", highlight=False)
    if not result.suggested:
        return
    table = Table("confidence", "suggestions", "", title="confidence of the suggestions")
    peak = max(result.histogram) or 1
    for span, n in result.histogram_rows():
        table.add_row(span, str(n), "█" * round(20 * n / peak))
    if result.no_confidence:
        table.add_row("none", str(result.no_confidence), "")
    console.print(table)
    mean = "-" if result.mean_confidence is None else f"{result.mean_confidence:.2f}"
    values = ", ".join(f"{v} {n}" for v, n in list(result.by_value.items())[:10])
    console.print(f"mean confidence {mean}; suggested: {values}", highlight=False)


@label_app.command("suggest")
def label_suggest(
    name: str = typer.Argument(..., help="Project name."),
    source: str = typer.Option("", help=f"Where suggestions come from: {', '.join(SOURCES)}."),
    model: str = typer.Option(
        "", help="classifier: NAME[:VERSION] in the catalog; zero-shot: the served model."
    ),
    k: int | None = typer.Option(None, help=f"neighbours: how many vote (default {DEFAULT_K})."),
    base_url: str = typer.Option("", help="zero-shot: the server, e.g. http://127.0.0.1:8000."),
    api_key: str = typer.Option(
        "", help=f"zero-shot: the server's API key (default: ${API_KEY_ENV})."
    ),
    refresh: bool = typer.Option(
        False, help="Run the project's last suggester again (options given override it)."
    ),
) -> None:
    """Suggest a label for every unfinished item (replacing older suggestions)."""
    from modelmint.labeling import LabelProjects
    from modelmint.labeling.suggest import SuggestError, run_suggester, stored_config

    rt = Runtime.open()
    project = LabelProjects(rt.store, rt.catalog).get(name)
    config: dict[str, Any] = stored_config(rt.store, name) if refresh else {}
    if refresh and not config:
        raise SuggestError(f"project {name!r} has no suggester yet; give --source")
    if source and ALIASES.get(source, source) != config.get("source", source):
        config = {}  # another source: nothing of the last one applies
    given = {"source": source, "model": model, "k": k, "base_url": base_url}
    config.update({key: v for key, v in given.items() if v not in ("", None)})
    if not config.get("source"):
        raise SuggestError(f"give --source ({', '.join(SOURCES)}) or --refresh")
    suggester = build_suggester(rt, config, api_key or None)
    with RichProgress(console) as progress:
        result = run_suggester(rt.store, project, suggester, progress=progress)
    _print(result)
