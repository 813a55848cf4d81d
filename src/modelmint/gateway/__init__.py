"""Gateway: the HTTP API (OpenAI-compatible). Knows nothing about tensors."""

from modelmint.gateway.app import create_app
from modelmint.gateway.context import Canary, GatewayContext, ServedModel
from modelmint.gateway.wiring import GatewayParts, build_gateway

__all__ = ["Canary", "GatewayContext", "GatewayParts", "ServedModel", "build_gateway", "create_app"]
