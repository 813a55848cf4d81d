"""Gateway: the HTTP API (OpenAI-compatible). Knows nothing about tensors."""

from modelmint.gateway.app import create_app
from modelmint.gateway.context import GatewayContext, ServedModel

__all__ = ["GatewayContext", "ServedModel", "create_app"]
