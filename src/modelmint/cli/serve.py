"""``mint serve``: load model versions from the catalog and put the gateway in front."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelmint.catalog import CatalogError
from modelmint.cli.common import console
from modelmint.cli.runtime import Runtime

if TYPE_CHECKING:
    from pydantic import SecretStr

    from modelmint.catalog import ModelRef
    from modelmint.commerce.admission import Admission
    from modelmint.gateway import ServedModel
    from modelmint.serving import EngineConfig, ReplicaSet, TextEngine

ENCODER_KINDS = {"masked-lm", "encoder"}

log = logging.getLogger("modelmint.serve")


class Upkeep:
    """Heart-beats this instance and sweeps the reservations of dead ones: once before
    serving, then every ``interval_s`` on a background thread until stopped; then it removes
    this instance's heartbeat (a clean shutdown leaves no instance to sweep)."""

    def __init__(self, admission: Admission, interval_s: float) -> None:
        self.admission = admission
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mint-upkeep", daemon=True)

    def beat(self) -> None:
        try:
            self.admission.heartbeat()
            swept = self.admission.sweep()
            if swept:
                log.warning("swept %d reservations of stopped gateway instances", swept)
        except Exception:  # a database hiccup must not stop the beat; the next one retries
            log.exception("heartbeat or sweep failed")

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.beat()

    def __enter__(self) -> Upkeep:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)
        try:
            self.admission.forget()
        except Exception:  # the others sweep this instance once its heartbeat is stale
            log.exception("could not remove this instance's heartbeat")


def usage_hint(model: str, host: str, port: int, key: str = "$MINT_API_KEY") -> str:
    """A first call as curl and as the openai client. Greedy (temperature 0): a small model's
    single most likely answer reads better than a draw at the API's default temperature 1."""
    base = f"http://{host}:{port}/v1"
    return f"""
[bold]Call it[/]
  curl {base}/chat/completions -H "Authorization: Bearer {key}" \\
    -H "Content-Type: application/json" \\
    -d '{{"model": "{model}", "temperature": 0,
         "messages": [{{"role": "user", "content": "我的订单什么时候发货？"}}]}}'

  from openai import OpenAI
  client = OpenAI(base_url="{base}", api_key="{key}")
  r = client.chat.completions.create(model="{model}", temperature=0,
      messages=[{{"role": "user", "content": "Where is my order?"}}])
  print(r.choices[0].message.content)
"""


class _Loader:
    """Builds the served models, each version once however many names point at it."""

    def __init__(
        self,
        rt: Runtime,
        config: EngineConfig,
        *,
        upstreams: dict[str, list[str]] | None = None,
        engine_process: bool = True,
    ) -> None:
        from modelmint.observability.serving_metrics import ServingMetrics

        self.rt, self.config = rt, config
        self.upstreams = upstreams or {}
        self.engine_process = engine_process
        self.metrics = ServingMetrics()
        self._built: dict[int, ServedModel] = {}

    def load(self, spec: str) -> ServedModel:
        from modelmint.cli.models import bundled_encoder
        from modelmint.gateway import ServedModel
        from modelmint.modeling.encoders import MINILM
        from modelmint.serving import Embedder

        if spec == MINILM:
            bundled_encoder(self.rt.catalog)
        ref = self.rt.catalog.resolve_model(spec)
        if ref.id in self._built:
            known = self._built[ref.id]
            return ServedModel(
                id=spec,
                label=known.label,
                model_version_id=ref.id,
                engine=known.engine,
                embedder=known.embedder,
            )
        if ref.kind in ENCODER_KINDS:
            served = ServedModel(spec, ref.label, ref.id, embedder=Embedder(ref.path))
        else:
            served = ServedModel(spec, ref.label, ref.id, engine=self._engine(spec, ref))
        self._built[ref.id] = served
        return served

    def _engine(self, spec: str, ref: ModelRef) -> TextEngine:
        from modelmint.serving import Engine, ProcessEngine, TextCodec, UpstreamEngine

        path = self._servable_path(ref)
        if spec in self.upstreams:
            replicas = replica_set(self.upstreams[spec], self.rt.settings.upstream_api_key)
            replicas.start()
            return UpstreamEngine(TextCodec(path), replicas)
        observer = self.metrics.observer(ref.label)
        native = ProcessEngine if self.engine_process else Engine
        return native.load(path, config=self.config, observer=observer)

    def _servable_path(self, ref: ModelRef) -> Path:
        from modelmint.cli.models import merge_into
        from modelmint.compression.merged import build_once

        if ref.kind != "adapter":
            return ref.path
        # An adapter is served folded into its base, merged once into the cache (an
        # interrupted merge is never served: it is made again).
        merged = self.rt.settings.home / "cache" / "merged" / str(ref.id)
        return build_once(merged, lambda out: merge_into(self.rt, ref, out))


def parse_upstreams(specs: list[str], served: list[str]) -> dict[str, list[str]]:
    """``["demo=http://a:8000/v1", "demo=http://b:8000/v1"]`` -> the replicas of each served
    name; every name must be one this server serves."""
    upstreams: dict[str, list[str]] = {}
    for spec in specs:
        name, _, url = spec.partition("=")
        name, url = name.strip(), url.strip()
        if not name or not url.startswith(("http://", "https://")):
            raise typer.BadParameter(
                f"{spec!r}: write NAME=URL, e.g. demo=http://10.0.0.5:8000/v1",
                param_hint="--upstream",
            )
        if name not in served:
            raise typer.BadParameter(
                f"{name!r} is not served here: serve it with --model {name} (or as a canary)",
                param_hint="--upstream",
            )
        upstreams.setdefault(name, []).append(url)
    return upstreams


def replica_set(urls: list[str], api_key: SecretStr | None) -> ReplicaSet:
    """``URL`` or ``URL#MODEL`` per replica, each sent the upstream key if one is set."""
    from modelmint.serving import Replica, ReplicaSet

    key = api_key.get_secret_value() if api_key is not None else None
    replicas = []
    for url in urls:
        base, _, model = url.partition("#")
        replicas.append(Replica(base, model or None, api_key=key))
    return ReplicaSet(replicas)


def engine_label(spec: str, upstreams: dict[str, list[str]]) -> str:
    n = len(upstreams.get(spec, []))
    if n == 0:
        return "native engine"
    return f"upstream, {n} replica{'s' if n > 1 else ''}"


def parse_canary(spec: str) -> tuple[str, str, float]:
    """``name@candidate=10%`` -> ("name", "name@candidate", 0.10)."""
    m = re.fullmatch(r"([\w.\-]+)@([\w.\-]+)=(\d+(?:\.\d+)?)%", spec.strip())
    if not m or not 0 < float(m.group(3)) <= 100:
        raise typer.BadParameter(
            f"{spec!r}: write NAME@ALIAS=PERCENT%, e.g. demo@candidate=10%", param_hint="--canary"
        )
    return m.group(1), f"{m.group(1)}@{m.group(2)}", float(m.group(3)) / 100


def serve(
    model: list[str] = typer.Option(
        ...,
        help="NAME, NAME:VERSION or NAME@ALIAS from `mint models list` (repeat to serve "
        "several; `minilm` serves the bundled encoder for /v1/embeddings).",
    ),
    canary: list[str] = typer.Option(
        [], help="NAME@ALIAS=P%: send P% of the requests for NAME to NAME@ALIAS."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    upstream: list[str] = typer.Option(
        [],
        help="NAME=URL: serve the model NAME (a --model or a canary's NAME@ALIAS) by the "
        "OpenAI-compatible server at URL (vLLM, SGLang, llama.cpp, mint serve) instead of "
        "loading it here; repeat for replicas. URL#MODEL names the model a server serves "
        "several of. Its key, if it needs one: MINT_UPSTREAM_API_KEY.",
    ),
    dtype: str = typer.Option(
        "auto",
        help="native: auto (bfloat16 where the CPU has bf16 instructions, as vLLM serves "
        "float32 checkpoints in half precision; else float32), float32 or bfloat16.",
    ),
    kv_dtype: str = typer.Option(
        "auto",
        help="native: the keys' and values' dtype: auto (the model's) or bfloat16, which "
        "halves the bytes each decoding step reads from the cache beside float32 weights, "
        "and fits twice the sequences in the same memory.",
    ),
    slots: int | None = typer.Option(
        None,
        help="native: most sequences decoded together (default: up to 64, as many as half "
        "the available memory holds the keys and values of, each for the served context).",
    ),
    max_context: int | None = typer.Option(
        None,
        min=2,
        help="native: the most tokens a request (prompt and answer) may reach (default: the "
        "model's context, or a shorter one, never below 8,192, where that lets 64 slots fit "
        "in memory).",
    ),
    max_waiting: int = typer.Option(256, help="Requests queued before new ones get 429."),
    queue_timeout: float = typer.Option(60.0, help="Seconds a request may wait for a slot."),
    prefix_cache_mb: int = typer.Option(128, help="native: memory for shared prompt starts."),
    max_prefill_tokens: int = typer.Option(
        512,
        min=1,
        help="native: prompt tokens read per step beside the decoding ones; a longer prompt "
        "is read over several steps. Lower keeps decoding smoother, higher starts answers "
        "sooner under load.",
    ),
    threads: int | None = typer.Option(None, help="native: CPU threads for the engine."),
    engine_process: bool = typer.Option(
        True,
        "--engine-process/--engine-thread",
        help="native: run each model's engine in a process of its own (the HTTP side never "
        "holds its interpreter lock) or on a thread of the server's process.",
    ),
    drain_timeout: int = typer.Option(30, help="On SIGTERM, seconds to finish requests."),
    log_level: str = typer.Option("info", help="uvicorn's log level: debug, info, warning, error."),
) -> None:
    """Serve models over the OpenAI-compatible API; every request needs a key and is metered."""
    import uvicorn

    from modelmint.gateway import Canary, build_gateway, create_app
    from modelmint.serving import EngineConfig

    if dtype not in ("float32", "bfloat16", "auto"):
        raise typer.BadParameter("choose float32, bfloat16 or auto", param_hint="--dtype")
    if kv_dtype not in ("auto", "bfloat16"):
        raise typer.BadParameter("choose auto or bfloat16", param_hint="--kv-dtype")
    canaries = [parse_canary(c) for c in canary]
    upstreams = parse_upstreams(upstream, [*model, *(c for _, c, _ in canaries)])
    rt = Runtime.open()
    config = EngineConfig(
        slots=slots,
        max_waiting=max_waiting,
        queue_timeout_s=queue_timeout,
        prefix_cache_mb=prefix_cache_mb,
        max_prefill_tokens=max_prefill_tokens,
        dtype=dtype,
        kv_dtype=kv_dtype,
        threads=threads,
        max_context=max_context,
    )
    loader = _Loader(rt, config, upstreams=upstreams, engine_process=engine_process)
    served = {spec: loader.load(spec) for spec in model}
    splits = []
    for name, candidate, fraction in canaries:
        primary = next((s for s in served.values() if s.label.split(":")[0] == name), None)
        if primary is None:
            raise CatalogError(f"--canary {name}: serve {name} itself with --model {name}")
        splits.append(Canary(primary.names, loader.load(candidate), fraction))
    gateway = build_gateway(
        rt.settings, models=served, store=rt.store, canaries=splits, metrics=loader.metrics
    )
    app = create_app(gateway)
    for spec, s in served.items():
        what = "embeddings" if s.embedder else engine_label(spec, upstreams)
        console.print(f"serving [bold]{s.label}[/] as [bold]{spec!r}[/] ({what})", highlight=False)
    for c in splits:
        console.print(
            f"canary: {c.fraction:.0%} of {c.names[0]!r} -> {c.candidate.label}", highlight=False
        )
    console.print(f"on http://{host}:{port}/v1", highlight=False)
    console.print(
        f"console: http://{host}:{port}/console (an admin key signs in); "
        f"labeling: http://{host}:{port}/label",
        highlight=False,
    )
    first = next(iter(served))
    console.print(usage_hint(first, host, port), highlight=False, soft_wrap=True)
    # A few beats per timeout, so a live instance is never taken for a dead one.
    interval = max(0.5, min(5.0, rt.settings.instance_timeout_s / 3))
    with Upkeep(gateway.admission, interval):
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            timeout_graceful_shutdown=drain_timeout,
        )
