"""The transcript hook of the generating routes: what ``call.keep`` runs when a request
asks for ``store: true`` or its tenant keeps every transcript. It lives outside the routes
so that chat and completions share one rule for when a transcript is kept and what it
records, without importing another route's module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.gateway.context import GatewayContext
from modelmint.gateway.generation import GenerationCall
from modelmint.gateway.schemas import SamplingFields


def wants_transcript(req: SamplingFields, principal: KeyPrincipal) -> bool:
    """The request asks for ``store``, or its tenant keeps every transcript."""
    return req.store or principal.keep_transcripts


def transcript_keeper(
    ctx: GatewayContext, call: GenerationCall, req: SamplingFields, prompt: dict[str, Any]
) -> Callable[[list[str]], None]:
    """Writes ``call``'s request (``prompt``, e.g. its messages, and the sampling parameters
    it ran with) and, once it is billed, every choice's text as the request's transcript,
    with the context's ``Transcripts``."""
    params = {**req.kept_params(), "max_tokens": call.params.max_tokens}
    return ctx.transcripts.keeper(
        call.request_id,
        tenant_id=call.principal.tenant_id,
        api_key_id=call.principal.key_id,
        model_version_id=call.served.model_version_id,
        endpoint=call.endpoint,
        request={**prompt, "params": params},
    )
