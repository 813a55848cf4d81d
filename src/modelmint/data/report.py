"""What a curation run did, in numbers (``report.json``) and on one page with plots
(``report.html``): documents in and out, why each dropped one went, lengths, languages,
labels per split, duplicate clusters and PII replaced."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelmint.data.dedup import EXACT, NEAR
from modelmint.data.duplicates import ClusterSummary
from modelmint.data.quality_config import rule_settings
from modelmint.observability.html_pages import html_templates

_templates = html_templates("modelmint.data")

# When one rule drops more than this share of the records read, it does not suit the data
# (a web-page rule on chat messages, a keep-list without the data's language), and ingest
# says which rule it is and how to relax it.
DOMINANT_DROP_SHARE = 0.5


def dominant_drop(drops: Mapping[str, int], read: int) -> tuple[str, int] | None:
    """The rule that dropped more than DOMINANT_DROP_SHARE of ``read``, with its count."""
    for rule, count in drops.items():
        if read and count / read > DOMINANT_DROP_SHARE:
            return rule, count
    return None


def relax_advice(rule: str) -> str:
    """How to keep what ``rule`` (a drop reason) drops, in the options of ``mint data ingest``."""
    settings = rule_settings(rule)
    if settings:
        return (
            f"it is a quality rule, set by {', '.join(settings)}: change one with "
            f"--set NAME=VALUE (none switches a threshold off, false a rule), or choose "
            f"another preset with --quality default|web|off"
        )
    if rule.startswith("lang_not_kept:"):
        lang = rule.partition(":")[2]
        return f"add {lang} to --languages (e.g. --languages zh,en,{lang}), or pass --languages all"
    if rule == "lang_low_confidence":
        # Identification runs whatever --languages says, and drops what it is unsure of.
        return (
            "the language identifier was under half sure of these records' language, and "
            "they are dropped whatever --languages says; look at a few in the report: "
            "records that are only codes, numbers or a word or two read this way"
        )
    if rule in (EXACT, NEAR):
        return "check the input for repeated files; --no-dedup keeps duplicates"
    if rule == "contaminated":
        return "--no-decontaminate keeps training records that overlap the evaluation split"
    return "see the rule in the data documentation"


class LengthHistogram:
    """Document lengths in characters, counted exactly below 65,536 and in 1,024-character
    steps above: percentiles and a histogram in bounded memory, at any corpus size."""

    EXACT = 1 << 16
    STEP = 1 << 10

    def __init__(self) -> None:
        self.small = np.zeros(self.EXACT, dtype=np.int64)
        self.large: Counter[int] = Counter()  # length // STEP -> count
        self.max = 0

    def add(self, chars: int) -> None:
        if chars < self.EXACT:
            self.small[chars] += 1
        else:
            self.large[chars // self.STEP] += 1
        self.max = max(self.max, chars)

    def _values_counts(self) -> tuple[np.ndarray, np.ndarray]:
        nz = np.flatnonzero(self.small)
        big = sorted(self.large)
        values = np.concatenate([nz, np.array(big, dtype=np.int64) * self.STEP])
        counts = np.concatenate([self.small[nz], [self.large[b] for b in big]]).astype(np.int64)
        return values, counts

    def percentile(self, q: float) -> int:
        values, counts = self._values_counts()
        if not len(values):
            return 0
        rank = min(int(counts.sum()) - 1, int(q * counts.sum()))
        return int(values[np.searchsorted(np.cumsum(counts), rank, side="right")])

    def bins(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        values, counts = self._values_counts()
        hist, edges = np.histogram(
            values if len(values) else [0], bins=n, weights=counts if len(values) else None
        )
        return edges, hist


@dataclass
class DatasetReport:
    files: list[str]
    config: dict[str, Any]
    read: int = 0
    kept: int = 0
    rejected: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    pii: Counter[str] = field(default_factory=Counter)
    splits: dict[str, Counter[str]] = field(default_factory=dict)  # split -> stratum counts
    labels: dict[str, Counter[str]] = field(default_factory=dict)  # label name -> value counts
    stratified_by: str | None = None
    clusters: ClusterSummary = field(default_factory=lambda: ClusterSummary(0, {}, []))
    lengths: LengthHistogram = field(default_factory=lambda: LengthHistogram())

    # observing -----------------------------------------------------------------------------
    def observe_drop(self, reason: str) -> None:
        self.drops[reason] += 1

    def observe_kept(
        self, chars: int, lang: str | None, pii: dict[str, int], labels: dict[str, str]
    ) -> None:
        self.lengths.add(chars)
        self.languages[lang or "unidentified"] += 1
        self.pii.update(pii)
        for k, v in labels.items():
            self.labels.setdefault(k, Counter())[v] += 1

    def observe_contaminated(self, rec: dict[str, Any]) -> None:
        self.drops["contaminated"] += 1

    def observe_split(self, split: str, stratum: str) -> None:
        self.kept += 1
        self.splits.setdefault(split, Counter())[stratum] += 1

    # results -------------------------------------------------------------------------------
    def split_counts(self) -> dict[str, int]:
        return {s: sum(c.values()) for s, c in sorted(self.splits.items())}

    def as_dict(self) -> dict[str, Any]:
        pct = self.lengths.percentile
        return {
            "files": self.files,
            "read": self.read,
            "rejected": self.rejected,
            "kept": self.kept,
            "dropped": sum(self.drops.values()),
            "drops": dict(self.drops.most_common()),
            "splits": self.split_counts(),
            "stratified_by": self.stratified_by,
            "split_strata": {s: dict(c.most_common()) for s, c in sorted(self.splits.items())},
            "languages": dict(self.languages.most_common()),
            "labels": {k: dict(c.most_common()) for k, c in sorted(self.labels.items())},
            "pii_replaced": dict(self.pii.most_common()),
            "length_chars": {
                "p10": pct(0.1),
                "p50": pct(0.5),
                "p90": pct(0.9),
                "max": self.lengths.max,
            },
            "duplicate_clusters": self.clusters.count,
            "duplicate_cluster_sizes": self.clusters.sizes,
            "largest_clusters": self.clusters.largest,
            "config": self.config,
        }

    def write(self, out: Path) -> None:
        data = self.as_dict()
        (out / "report.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=2, default=str)
        )
        (out / "report.html").write_text(render_html(data, self), encoding="utf-8")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _bar(ax: Any, counts: dict[str, int], title: str) -> None:
    items = list(counts.items())[:20]
    ax.barh([k or "(none)" for k, _ in items][::-1], [v for _, v in items][::-1], color="#3b7dd8")
    ax.set_title(title)


def render_html(data: dict[str, Any], report: DatasetReport) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots: list[tuple[str, str]] = []
    fig, ax = plt.subplots(figsize=(6, 3))
    edges, counts_ = report.lengths.bins(50)
    ax.stairs(counts_, edges, fill=True, color="#3b7dd8")
    ax.set_title("document length (characters)")
    ax.set_yscale("log")
    plots.append(("Lengths", _png(fig)))
    for title, counts in [("Languages", data["languages"]), ("Drops per rule", data["drops"])]:
        fig, ax = plt.subplots(figsize=(6, 0.4 * max(3, len(counts)) + 0.6))
        _bar(ax, counts or {"none": 0}, title.lower())
        plots.append((title, _png(fig)))
    for name, counts in data["labels"].items():
        fig, ax = plt.subplots(figsize=(6, 0.3 * max(3, len(counts)) + 0.6))
        _bar(ax, counts, f"label balance: {name}")
        plots.append((f"Label {name}", _png(fig)))
    if report.clusters.count:
        fig, ax = plt.subplots(figsize=(6, 3))
        sizes = report.clusters.sizes
        ax.bar([str(k) for k in sizes], list(sizes.values()), color="#3b7dd8")
        ax.set_title("duplicate clusters by size")
        plots.append(("Duplicate clusters", _png(fig)))
    plt.close("all")

    counts = [
        ("read", data["read"]),
        ("rejected (unreadable)", data["rejected"]),
        ("dropped", data["dropped"]),
        ("kept", data["kept"]),
        *data["splits"].items(),
    ]
    return _templates.get_template("dataset_report.html").render(
        counts=counts,
        pii=", ".join(f"{k}: {v}" for k, v in data["pii_replaced"].items()) or "none",
        stratified_by=data["stratified_by"],
        lengths=data["length_chars"],
        plots=plots,
        clusters=data["largest_clusters"],
    )
