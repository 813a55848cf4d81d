import asyncio

from modelmint.serving import Engine, SamplingParams, TextDelta


def run_stream(engine: Engine, prompt: str | list[int], params: SamplingParams) -> list[TextDelta]:
    """Every piece the engine streams for one prompt."""
    ids = engine.codec.encode(prompt) if isinstance(prompt, str) else prompt

    async def main() -> list[TextDelta]:
        return [d async for d in engine.stream(ids, params)]

    return asyncio.run(main())
