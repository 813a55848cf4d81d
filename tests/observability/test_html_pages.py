"""The one Jinja2 set-up of every HTML page: values escaped, a missing one an error."""

from __future__ import annotations

import pytest
from jinja2 import TemplateNotFound, UndefinedError

from modelmint.observability.html_pages import html_templates


def test_every_value_is_escaped_and_a_missing_one_is_an_error() -> None:
    template = html_templates("modelmint.data").from_string("<p title='{{ x }}'>{{ x }}</p>\n")
    assert template.render(x="<b>&'\"") == (
        "<p title='&lt;b&gt;&amp;&#39;&#34;'>&lt;b&gt;&amp;&#39;&#34;</p>\n"
    )
    with pytest.raises(UndefinedError):
        template.render()


@pytest.mark.parametrize(
    ("package", "name"),
    [
        ("modelmint.data", "dataset_report.html"),
        ("modelmint.evaluation", "evaluation_report.html"),
        ("modelmint.evaluation", "comparison_report.html"),
        ("modelmint.commerce.ledger", "invoice.html"),
    ],
)
def test_each_page_is_found_in_its_package(package: str, name: str) -> None:
    templates = html_templates(package)
    assert name in templates.list_templates()
    with pytest.raises(TemplateNotFound):
        templates.get_template("nothing.html")
