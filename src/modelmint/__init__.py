"""modelmint: turn your own data into a served, metered, billable language model."""

__version__ = "0.1.0"
