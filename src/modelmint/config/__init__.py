"""Settings: the only global state modelmint has."""

from modelmint.config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
