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
    from modelmint.catalog import ModelRef
    from modelmint.commerce.admission import Admission
    from modelmint.gateway import ServedModel
    from modelmint.serving import EngineConfig, TextEngine, VllmConfig

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
        engine: str,
        config: EngineConfig,
        vllm: VllmConfig,
        *,
        engine_process: bool = True,
    ) -> None:
        from modelmint.observability.serving_metrics import ServingMetrics

        self.rt, self.engine, self.config, self.vllm = rt, engine, config, vllm
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
            served = ServedModel(spec, ref.label, ref.id, engine=self._engine(ref))
        self._built[ref.id] = served
        return served

    def _engine(self, ref: ModelRef) -> TextEngine:
        from modelmint.serving import Engine, ProcessEngine, TextCodec, VllmEngine

        path = self._servable_path(ref)
        if self.engine == "vllm":
            return VllmEngine(path, TextCodec(path), self.vllm)
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
    engine: str = typer.Option("native", help="native (CPU or one GPU) or vllm (GPUs)."),
    tensor_parallel_size: int = typer.Option(1, help="vllm: GPUs per model."),
    dtype: str = typer.Option(
        "auto",
        help="native: auto (bfloat16 where the CPU has bf16 instructions, as vLLM serves "
        "float32 checkpoints in half precision; else float32), float32 or bfloat16.",
    ),
    slots: int = typer.Option(32, help="native: most sequences decoded together."),
    max_waiting: int = typer.Option(256, help="Requests queued before new ones get 429."),
    queue_timeout: float = typer.Option(60.0, help="Seconds a request may wait for a slot."),
    prefix_cache_mb: int = typer.Option(128, help="native: memory for shared prompt starts."),
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
    from modelmint.serving import EngineConfig, VllmConfig, vllm_available

    if engine not in ("native", "vllm"):
        raise typer.BadParameter("choose native or vllm", param_hint="--engine")
    if engine == "vllm" and not vllm_available():
        raise typer.BadParameter(
            "needs vLLM and a GPU: pip install 'modelmint[vllm]'", param_hint="--engine"
        )
    if dtype not in ("float32", "bfloat16", "auto"):
        raise typer.BadParameter("choose float32, bfloat16 or auto", param_hint="--dtype")
    canaries = [parse_canary(c) for c in canary]
    rt = Runtime.open()
    config = EngineConfig(
        slots=slots,
        max_waiting=max_waiting,
        queue_timeout_s=queue_timeout,
        prefix_cache_mb=prefix_cache_mb,
        dtype=dtype,
        threads=threads,
    )
    loader = _Loader(
        rt,
        engine,
        config,
        VllmConfig(tensor_parallel_size=tensor_parallel_size),
        engine_process=engine_process,
    )
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
        what = "embeddings" if s.embedder else f"{engine} engine"
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
