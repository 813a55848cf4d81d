"""A dataset version's report.html: every value that came from the input is escaped, and
each plot is one figure."""

from __future__ import annotations

from modelmint.data.duplicates import ClusterSummary
from modelmint.data.report import DatasetReport, render_html


def test_the_page_escapes_labels_strata_and_ids_from_the_input() -> None:
    report = DatasetReport(files=["in.jsonl"], config={})
    report.read = 4
    report.observe_drop("too_short")
    report.observe_kept(120, "en", {"EMAIL": 1}, {"<b>intent</b>": "<script>x</script>"})
    report.observe_split("<i>train</i>", "s")
    big = [f"d{i}" for i in range(10)]
    report.clusters = ClusterSummary(2, {2: 1, 10: 1}, [big, ["<id>&1", "d2"]])

    page = render_html(report.as_dict(), report)

    for raw in ("<b>", "<script>", "<i>", "<id>"):
        assert raw not in page
    assert "<figcaption>Label &lt;b&gt;intent&lt;/b&gt;</figcaption>" in page
    assert "<tr><td>&lt;i&gt;train&lt;/i&gt;</td><td>1</td></tr>" in page
    assert "<li>d0, d1, d2, d3, d4, d5, d6, d7 …</li><li>&lt;id&gt;&amp;1, d2</li>" in page
    assert "PII replaced: EMAIL: 1. Stratified by: None." in page
    # lengths, languages, drops per rule, the one label, duplicate clusters
    assert page.count("<figure>") == page.count("data:image/png;base64,") == 5


def test_a_dataset_without_duplicates_says_so() -> None:
    report = DatasetReport(files=["in.jsonl"], config={})
    report.observe_kept(10, None, {}, {})
    report.observe_split("train", "")

    page = render_html(report.as_dict(), report)

    assert "<ul><li>none</li></ul>" in page
    assert "PII replaced: none." in page
    assert page.count("<figure>") == 3
