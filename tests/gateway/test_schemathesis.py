"""schemathesis against the app's own ``/openapi.json``, in process: every ``/v1`` and
``/admin/v1`` operation gets generated requests (valid keys sent) and must answer without
a server error and with a response that matches its documented schema."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from modelmint.catalog import Catalog
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.gateway import ServedModel
from modelmint.serving import Engine, EngineConfig
from modelmint.store import Store
from support.admin import PEPPER, admin_app, bearer, platform_key


class Target:
    """The app under test and the key each family of routes takes."""

    def __init__(self, store: Store, artifacts: Path, micro_model_dir: Path) -> None:
        catalog = Catalog(store, artifacts)
        ref = catalog.add_model_version(
            "micro",
            catalog.staging_dir("model"),
            run_id=None,
            kind="causal-lm",
            num_parameters=1,
            metrics={},
        )
        engine = Engine.load(micro_model_dir, config=EngineConfig())
        served = ServedModel(id="micro", label=ref.label, model_version_id=ref.id, engine=engine)
        self.app = admin_app(store, artifacts, {"micro": served})
        Tenants(store).create("acme")
        self.api_key = ApiKeys(store, PEPPER).create("acme").key
        self.admin_key = platform_key(store)

    def headers(self, path: str) -> dict[str, str]:
        return bearer(self.admin_key if path.startswith("/admin/") else self.api_key)


@pytest.fixture
def target(store: Store, tmp_path: Path, micro_model_dir: Path) -> Iterator[Target]:
    t = Target(store, tmp_path / "artifacts", micro_model_dir)
    with TestClient(t.app):  # runs the lifespan (engines closed at the end)
        yield t


MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
EXAMPLES = 10  # per operation and mode: the whole run stays well under two minutes


def served_model(case: Any) -> Any:
    """Positive cases name the served model, so generation itself is exercised (a random
    model name only ever reaches the 404)."""
    if isinstance(case.body, dict) and "model" in case.body:
        case.body["model"] = "micro"
    return case


def _failures(target: Target, operation: Any, mode: GenerationMode) -> list[str]:
    """The first failing request of this operation and mode, described (or nothing)."""
    found: list[str] = []

    strategy = operation.as_strategy(generation_mode=mode)
    if mode == GenerationMode.POSITIVE:
        strategy = strategy.map(served_model)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same requests every run: a failure here is reproducible
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        if found:
            return  # one failure per operation and mode is enough to report
        try:
            case.call_and_validate(
                headers=target.headers(case.path),
                checks=[not_a_server_error, response_schema_conformance],
            )
        # FailureGroup: a check failed; any other exception: a server error that the
        # in-process transport re-raises
        except (FailureGroup, Exception) as e:
            found.append(
                f"{operation.label} ({mode.value}): {case.method} {case.formatted_path}"
                f" query={case.query} body={case.body!r}: {e}"
            )

    # negative mode on an operation with nothing to get wrong (no parameters) is unsatisfiable
    with contextlib.suppress(Unsatisfiable):
        run()
    return found


def test_api_matches_its_schema(target: Target) -> None:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    schema = loaded.include(path_regex=r"^/(v1|admin/v1)(/|$)")
    # an operation the schema itself gets wrong raises here, failing the test
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 30  # the admin API and /v1 are both there
    failures = [f for op in operations for mode in MODES for f in _failures(target, op, mode)]
    assert not failures, "\n\n".join(failures)


# Found by schemathesis: a value above 0 but below float32's smallest number passed the
# schema (gt=0) and was 0 in the sampler: NaN probabilities, a 500.
@pytest.mark.parametrize("param", ["temperature", "repetition_penalty"])
def test_a_tiny_sampling_parameter_is_not_a_server_error(target: Target, param: str) -> None:
    body = {"model": "micro", "prompt": "true", "max_tokens": 3, param: 5e-324}
    client = TestClient(target.app)  # the fixture runs the app's lifespan
    r = client.post("/v1/completions", headers=target.headers("/v1/"), json=body)
    assert r.status_code < 500, r.text


# Values at and past every boundary a number or a string can have, sent in place of each
# field of a valid request to every operation.
NUMBERS: list[Any] = [0, -1, 2**31, 2**63, 2**64, -(2**64), 1e308, -1e308, math.nan, math.inf]
STRINGS: list[Any] = ["", "x" * 100_000, "\x00", "🙂" * 2_000, "' OR 1=1 --"]
LISTS: list[Any] = [[], [0] * 10_000, [2**64], ["x" * 100_000], [[[]]], {"a": {"b": None}}]
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def _valid_case(operation: Any) -> Any:
    found: list[Any] = []

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE).map(served_model))
    @settings(
        max_examples=1,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def take(case: Any) -> None:
        found.append(case)

    take()
    return found[0]


def _fields(openapi: dict[str, Any], operation: Any) -> tuple[list[str], list[str]]:
    """Every property of the operation's JSON body, and every query parameter, by the
    app's own OpenAPI document: optional ones too, which a generated example may omit."""
    spec = openapi["paths"][operation.path][operation.method.lower()]
    query = [p["name"] for p in spec.get("parameters", []) if p["in"] == "query"]
    schema = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = schema.get("schema", {}).get("$ref", "")
    body = openapi["components"]["schemas"][ref.rpartition("/")[2]] if ref else {}
    return list(body.get("properties", {})), query


def _boundary_variants(
    case: Any, body_fields: list[str], query_fields: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what was changed, the case's request with one field at one boundary value)."""
    body = case.body if isinstance(case.body, dict) else None
    query = dict(case.query or {})
    for where, names in (("body", body_fields), ("query", query_fields)):
        for name in names:
            # a URL carries a few kB at most (clients refuse longer ones)
            long_query = ["x" * 8_000]
            values = [*NUMBERS, *STRINGS[:1], *STRINGS[2:], *long_query]
            if where == "body":
                values = [*NUMBERS, *STRINGS, *LISTS]
            for v in values:
                sent = {**(body or {}), name: v} if where == "body" else body
                # NaN and infinities as Python's json writes them: what a client may send
                content = None if sent is None else json.dumps(sent).encode()
                params = {**query, name: v} if where == "query" else query
                yield f"{where}.{name}={str(v)[:20]!r}", {"content": content, "params": params}


def test_boundary_values_never_give_a_server_error(target: Target) -> None:
    """Every field of every /v1 and /admin/v1 operation at 0, -1, 2^31, 2^63, 2^64, 1e308,
    NaN, a very long string, and every body as deeply nested JSON: no response is a 5xx,
    and the engine still answers afterwards."""
    loaded = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    schema = loaded.include(path_regex=r"^/(v1|admin/v1)(/|$)")
    client = TestClient(target.app, raise_server_exceptions=False)
    openapi = target.app.openapi()
    tried, failures = 0, []
    for result in schema.get_all_operations():  # type: ignore[union-attr]
        operation = result.ok()
        case = _valid_case(operation)
        headers = target.headers(case.path)
        method = operation.method.upper()
        for changed, request in _boundary_variants(case, *_fields(openapi, operation)):
            tried += 1
            json_headers = {**headers, "Content-Type": "application/json"}
            r = client.request(method, case.formatted_path, headers=json_headers, **request)
            if r.status_code >= 500:
                failures.append(f"{operation.label} {changed}: {r.status_code} {r.text[:200]}")
        if method in ("POST", "PUT", "PATCH"):
            tried += 1
            r = client.request(
                method,
                case.formatted_path,
                content=DEEP_JSON,
                headers={**headers, "Content-Type": "application/json"},
            )
            if r.status_code >= 500:
                failures.append(f"{operation.label} deep JSON: {r.status_code} {r.text[:200]}")
    print(f"\n{tried} boundary requests, {len(failures)} server errors")
    assert tried > 2000 and not failures, "\n".join(failures)
    alive = client.post(
        "/v1/completions",
        headers=target.headers("/v1/"),
        json={"model": "micro", "prompt": "Hi", "max_tokens": 2},
    )
    assert alive.status_code == 200, alive.text
