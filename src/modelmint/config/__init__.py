"""Settings: the only global state modelmint has; and the clock (``config.clock``), which
needs none of it, so importing the clock does not load the settings' libraries."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]

lazy_exports(__name__)
