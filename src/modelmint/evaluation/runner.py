"""Running a suite on a model version and storing the result on it; running the suites one
version was measured with on another (a compressed or retrained copy)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from modelmint.catalog import Catalog, CatalogError, DatasetRef, ModelRef, latest_by_key
from modelmint.evaluation.base import EvaluationError, Suite, SuiteInput
from modelmint.evaluation.report import evaluation_report
from modelmint.evaluation.results import DETAILS_FILE, EvaluationResult, write_examples
from modelmint.evaluation.suites import DEFAULT_SUITE, parse_options, suite_named
from modelmint.observability import ProgressFn, no_progress


def run_evaluation(
    catalog: Catalog,
    model: ModelRef,
    suite: str,
    *,
    dataset: str | None = None,
    split: str = "validation",
    options: dict[str, Any] | None = None,
    progress: ProgressFn = no_progress,
) -> EvaluationResult:
    """Runs ``suite`` on ``model`` and stores the result on it. ``dataset`` is NAME or
    NAME:VERSION for dataset suites (default: the dataset in the model's lineage), or the
    JSONL file for the custom suite."""
    spec = suite_named(suite)
    _check_kind(spec, model)
    opts = parse_options(spec, options)
    if spec.source == "file":
        if dataset is None:
            raise EvaluationError(f"suite {spec.name} reads a JSONL file: pass --file PATH")
        file = Path(dataset).expanduser().resolve()
        if not file.is_file():
            raise EvaluationError(f"suite {spec.name}: no file {file}")
        inp = SuiteInput(catalog, model, opts, file=file, progress=progress)
        label, dataset_id, content_hash, used_split = str(file), None, _sha256(file), None
    else:
        ds = _dataset(catalog, model, dataset)
        try:
            records = ds.read_split(split)
        except CatalogError as e:
            raise EvaluationError(f"{e} (it has {', '.join(ds.splits)})") from None
        inp = SuiteInput(catalog, model, opts, records=records, progress=progress)
        label, dataset_id, content_hash, used_split = ds.label, ds.id, ds.content_hash, split
    out = spec.run(inp)
    staged = catalog.staging_dir("evaluation")
    try:
        write_examples(staged / "examples.jsonl", out.examples)
        details = {**out.details, "examples": len(out.examples)}
        (staged / DETAILS_FILE).write_text(
            json.dumps(details, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        record = catalog.evaluations.add(
            model.id,
            staged,
            suite=spec.name,
            dataset=label,
            dataset_id=dataset_id,
            dataset_hash=content_hash,
            split=used_split,
            options=out.options,
            metrics=out.metrics,
        )
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    result = EvaluationResult.from_record(record)
    evaluation_report(result, spec)
    return result


def rerun_evaluations(
    catalog: Catalog, source: ModelRef, target: ModelRef, *, progress: ProgressFn = no_progress
) -> list[tuple[EvaluationResult, EvaluationResult]]:
    """Runs on ``target`` every evaluation last recorded on ``source`` (the newest of each
    suite, dataset, split and options), and pairs each source result with the new target
    result. A source never evaluated gets the default suite of its kind first, on both."""
    earlier = [
        EvaluationResult.from_record(r) for r in latest_by_key(catalog.evaluations.list(source.id))
    ]
    if not earlier:
        if source.kind not in DEFAULT_SUITE:
            raise EvaluationError(
                f"{source.label} is a {source.kind}: no suite evaluates that kind by default; "
                "run `mint eval` with a suite first"
            )
        earlier = [run_evaluation(catalog, source, DEFAULT_SUITE[source.kind], progress=progress)]
    return [(a, repeat_on(catalog, a, target, progress=progress)) for a in earlier]


def repeat_on(
    catalog: Catalog,
    earlier: EvaluationResult,
    model: ModelRef,
    *,
    progress: ProgressFn = no_progress,
) -> EvaluationResult:
    """The same measurement as ``earlier`` (suite, dataset version or file, split, options)
    on another model version."""
    if suite_named(earlier.suite).source == "file" and earlier.dataset:
        recorded = catalog.evaluations.get(earlier.id).dataset_hash
        file = Path(earlier.dataset)
        if not file.is_file() or _sha256(file) != recorded:
            raise EvaluationError(
                f"{file} is gone or changed since evaluation {earlier.id} read it, so the "
                "results would not be comparable; restore it or evaluate both models again"
            )
    return run_evaluation(
        catalog,
        model,
        earlier.suite,
        dataset=earlier.dataset,
        split=earlier.split or "validation",
        options=earlier.options,
        progress=progress,
    )


def _check_kind(spec: Suite, model: ModelRef) -> None:
    if model.kind in spec.kinds:
        return
    if model.kind == "adapter":
        raise EvaluationError(
            f"{model.label} is a LoRA adapter: fold it into its base with "
            f"`mint models merge {model.label}` and evaluate the merged model"
        )
    fits = sorted(k for k in ("causal-lm", "classifier") if k in spec.kinds)
    raise EvaluationError(
        f"suite {spec.name} evaluates {' and '.join(fits)} models; {model.label} is a {model.kind}"
    )


def _dataset(catalog: Catalog, model: ModelRef, spec: str | None) -> DatasetRef:
    """NAME or NAME:VERSION, or else the dataset the model (or the nearest model it was
    made from) was trained on."""
    if spec is None:
        found = catalog.lineage_dataset(model)
        if found is None:
            raise EvaluationError(
                f"{model.label} has no dataset in its lineage: pass --dataset NAME[:VERSION]"
            )
        return found
    name, _, version = spec.partition(":")
    if version and not version.isdigit():
        raise EvaluationError(f"dataset {spec!r}: the version after ':' must be a number")
    return catalog.get_dataset(name, int(version) if version else None)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
