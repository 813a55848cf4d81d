"""The one way modelmint writes an HTML page: a Jinja2 template shipped inside the package
that owns the page (``<package>/templates/``), rendered with every value escaped.

Dataset reports, evaluation and comparison reports and invoices all show text that came from
outside (documents, model outputs, customer names); autoescaping is on here, once, so no page
can forget it. A name a template uses but is not given is an error, not an empty string, and
a page ends with the newline its template ends with."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined


def html_templates(package: str) -> Environment:
    """The templates of ``package`` (a dotted name; its ``templates/`` folder)."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
