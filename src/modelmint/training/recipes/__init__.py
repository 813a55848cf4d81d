"""One short script per recipe; each composes the components of ``modelmint.training``."""
