import asyncio

from transformers import LlamaConfig, LlamaForCausalLM

from modelmint.serving import Engine, SamplingParams, TextDelta


def run_stream(engine: Engine, prompt: str | list[int], params: SamplingParams) -> list[TextDelta]:
    """Every piece the engine streams for one prompt."""
    ids = engine.codec.encode(prompt) if isinstance(prompt, str) else prompt

    async def main() -> list[TextDelta]:
        return [d async for d in engine.stream(ids, params)]

    return asyncio.run(main())


def tiny_llama(**overrides: object) -> LlamaForCausalLM:
    """A two-layer Llama with grouped-query attention, random weights: for the serving
    kernels' equality tests (``overrides`` change any config field)."""
    fields: dict[str, object] = dict(
        vocab_size=97,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    return LlamaForCausalLM(LlamaConfig(**(fields | overrides)))
