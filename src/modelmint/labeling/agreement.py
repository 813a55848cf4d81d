"""How much annotators agree: Cohen's kappa (two annotators), Fleiss' kappa (a fixed
number of raters per item), Krippendorff's alpha (any number of labels, missing allowed),
accuracy against gold items, and the items whose labels disagree.

Pure functions over plain Python values; no database. A label is any hashable value
(a class name, a 1-5 rating, "A"/"B"). A *multi-label* value (a list, tuple or set of
labels) is scored one label at a time as a yes/no question, and the per-label results are
averaged (labels whose agreement is undefined, e.g. nobody ever chose them, are left out
of the average).

Chance agreement can be exactly 1 (every label is the same category): kappa and alpha are
then undefined and returned as ``nan`` (as scikit-learn does), not as an error, because
"everybody agreed on the only label used" is a legitimate state of a project.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from modelmint.errors import UserError

Level = Literal["nominal", "interval"]


class AgreementError(UserError, ValueError):
    """The labels given cannot be scored (too few raters, no shared items, bad shape)."""


def _is_multi(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def _key(value: Any) -> Hashable:
    """A hashable, comparable form: multi-label values compare as sets."""
    if _is_multi(value):
        return frozenset(value)
    return value


def _label_universe(values: Iterable[Any]) -> list[Any]:
    seen: dict[Any, None] = {}
    for v in values:
        if v is None:
            continue
        for label in v:
            seen.setdefault(label, None)
    return sorted(seen, key=repr)


def _any_multi(values: Iterable[Any]) -> bool:
    return any(_is_multi(v) for v in values if v is not None)


def _average_defined(scores: Iterable[float]) -> float:
    defined = [s for s in scores if not math.isnan(s)]
    return sum(defined) / len(defined) if defined else math.nan


# --- Cohen's kappa -----------------------------------------------------------------------


def cohen_kappa(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    weights: Literal["linear", "quadratic"] | None = None,
) -> float:
    """Cohen's kappa between two annotators' labels on the same items (``a[i]`` and
    ``b[i]`` label item i; ``None`` means that annotator did not label it, and the item is
    skipped). ``weights`` (for ordered labels such as ratings) weighs a disagreement by its
    distance between category ranks, as scikit-learn's ``cohen_kappa_score`` does."""
    if len(a) != len(b):
        raise AgreementError(
            f"cohen_kappa: the two annotators' label lists differ in length ({len(a)} and "
            f"{len(b)}); give one entry per item for both, None where an item is unlabeled"
        )
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    if not pairs:
        raise AgreementError(
            "cohen_kappa: the two annotators labeled no item in common; kappa needs items "
            "both of them labeled"
        )
    if _any_multi(v for p in pairs for v in p):
        if weights is not None:
            raise AgreementError("cohen_kappa: weights apply to single labels, not multi-label")
        labels = _label_universe(v for p in pairs for v in p)
        return _average_defined(
            _cohen([(lab in x, lab in y) for x, y in pairs], None) for lab in labels
        )
    return _cohen(pairs, weights)


def _cohen(pairs: list[tuple[Any, Any]], weights: str | None) -> float:
    cats = sorted({v for p in pairs for v in p}, key=_sort_key)
    index = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    n = len(pairs)
    observed = [[0.0] * k for _ in range(k)]
    for x, y in pairs:
        observed[index[x]][index[y]] += 1
    row = [sum(observed[i]) for i in range(k)]
    col = [sum(observed[i][j] for i in range(k)) for j in range(k)]

    def w(i: int, j: int) -> float:
        if weights is None:
            return 0.0 if i == j else 1.0
        if weights == "linear":
            return float(abs(i - j))
        if weights == "quadratic":
            return float((i - j) ** 2)
        raise AgreementError(
            f"cohen_kappa: weights must be linear, quadratic or None, not {weights!r}"
        )

    num = sum(w(i, j) * observed[i][j] for i in range(k) for j in range(k))
    den = sum(w(i, j) * row[i] * col[j] / n for i in range(k) for j in range(k))
    if den == 0:
        return math.nan
    return 1.0 - num / den


def _sort_key(value: Any) -> tuple[int, Any]:
    # numbers in numeric order, everything else by its text, never comparing across types
    if isinstance(value, bool):
        return (1, repr(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, repr(value))


# --- Fleiss' kappa -----------------------------------------------------------------------


def fleiss_kappa(ratings: Sequence[Sequence[Any]], *, counts: bool = False) -> float:
    """Fleiss' kappa for items each labeled by the same number of raters.

    ``ratings`` is a list of per-item label lists (``[["pos", "neg", "pos"], ...]``), or,
    with ``counts=True``, an items x categories matrix of how many raters chose each
    category (Fleiss 1971). Items with a different number of raters are an error: use
    :func:`krippendorff_alpha` for those."""
    if not ratings:
        raise AgreementError("fleiss_kappa: no items given")
    if counts:
        return _fleiss_counts([list(r) for r in ratings])
    for i, item in enumerate(ratings):
        if any(v is None for v in item):
            raise AgreementError(
                f"fleiss_kappa: item {i} has a missing label (None); Fleiss' kappa needs "
                "every rater on every item, use krippendorff_alpha for missing labels"
            )
    values = [v for item in ratings for v in item]
    if _any_multi(values):
        labels = _label_universe(values)
        return _average_defined(
            _fleiss_counts(
                [[sum(lab not in v for v in item), sum(lab in v for v in item)] for item in ratings]
            )
            for lab in labels
        )
    cats = sorted(set(values), key=_sort_key)
    return _fleiss_counts([[Counter(item)[c] for c in cats] for item in ratings])


def _fleiss_counts(matrix: list[list[Any]]) -> float:
    n = None
    for i, row in enumerate(matrix):
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in row):
            raise AgreementError(
                f"fleiss_kappa: row {i} of the count matrix holds {row!r}; counts must be "
                "non-negative whole numbers (pass counts=False for lists of labels)"
            )
        total = sum(row)
        if n is None:
            n = total
        elif total != n:
            raise AgreementError(
                f"fleiss_kappa: item {i} has {total} ratings but item 0 has {n}; every item "
                "needs the same number of raters (use krippendorff_alpha otherwise)"
            )
    if n is None or n < 2:
        raise AgreementError(f"fleiss_kappa: each item needs at least 2 raters, got {n or 0}")
    if len({len(row) for row in matrix}) != 1:
        raise AgreementError(
            "fleiss_kappa: every row of the count matrix needs one count per category"
        )
    items = len(matrix)
    k = len(matrix[0])
    p_j = [sum(row[j] for row in matrix) / (items * n) for j in range(k)]
    p_i = [(sum(c * c for c in row) - n) / (n * (n - 1)) for row in matrix]
    p_bar = sum(p_i) / items
    p_e = sum(p * p for p in p_j)
    if p_e == 1:
        return math.nan
    return (p_bar - p_e) / (1 - p_e)


# --- Krippendorff's alpha ----------------------------------------------------------------


def krippendorff_alpha(units: Sequence[Sequence[Any]], level: Level = "nominal") -> float:
    """Krippendorff's alpha over units (items), each the list of labels it received from
    any number of annotators; ``None`` entries are missing labels and are ignored, and units
    with fewer than two labels cannot be paired and do not count. ``level`` is ``nominal``
    (categories) or ``interval`` (numbers, e.g. ratings: distance is squared difference)."""
    if level not in ("nominal", "interval"):
        raise AgreementError(
            f"krippendorff_alpha: level must be nominal or interval, not {level!r}"
        )
    cleaned = [[v for v in unit if v is not None] for unit in units]
    values = [v for unit in cleaned for v in unit]
    if _any_multi(values):
        if level != "nominal":
            raise AgreementError("krippendorff_alpha: multi-label values need level='nominal'")
        labels = _label_universe(values)
        return _average_defined(
            _alpha([[lab in v for v in unit] for unit in cleaned], _nominal) for lab in labels
        )
    if level == "interval":
        for i, unit in enumerate(cleaned):
            for v in unit:
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise AgreementError(
                        f"krippendorff_alpha: unit {i} has the label {v!r}; level='interval' "
                        "needs numbers (use level='nominal' for categories)"
                    )
        return _alpha(cleaned, _interval)
    return _alpha(cleaned, _nominal)


def _nominal(c: Any, k: Any) -> float:
    return 0.0 if c == k else 1.0


def _interval(c: Any, k: Any) -> float:
    return float((c - k) ** 2)


def _alpha(units: list[list[Any]], delta: Callable[[Any, Any], float]) -> float:
    # coincidence matrix: every ordered pair of labels within a unit, weighted 1/(m_u - 1)
    coincidence: dict[tuple[Any, Any], float] = {}
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        for i, c in enumerate(unit):
            for j, k in enumerate(unit):
                if i != j:
                    coincidence[(c, k)] = coincidence.get((c, k), 0.0) + 1.0 / (m - 1)
    if not coincidence:
        raise AgreementError(
            "krippendorff_alpha: no unit has two or more labels; alpha needs items labeled "
            "by at least two annotators"
        )
    n_c: dict[Any, float] = {}
    for (c, _k), o in coincidence.items():
        n_c[c] = n_c.get(c, 0.0) + o
    n = sum(n_c.values())
    observed = sum(o * delta(c, k) for (c, k), o in coincidence.items())
    expected = sum(n_c[c] * n_c[k] * delta(c, k) for c in n_c for k in n_c)
    if expected == 0:
        return math.nan
    return 1.0 - (n - 1) * observed / expected


# --- accuracy against gold and the review queue -----------------------------------------


@dataclass(frozen=True)
class AnnotatorAccuracy:
    annotator: str
    correct: int
    total: int  # gold items this annotator labeled

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


def annotator_accuracy(
    labels_by_annotator: Mapping[str, Mapping[Hashable, Any]],
    gold: Mapping[Hashable, Any],
) -> dict[str, AnnotatorAccuracy]:
    """Each annotator's share of gold items labeled as the gold answer says (multi-label:
    the same set of labels). Annotators who labeled no gold item get ``total == 0`` and
    ``accuracy is None``."""
    if not gold:
        raise AgreementError(
            "annotator_accuracy: no gold items; mark some items' gold answers first"
        )
    out: dict[str, AnnotatorAccuracy] = {}
    for annotator, labels in labels_by_annotator.items():
        scored = [
            _key(v) == _key(gold[item])
            for item, v in labels.items()
            if item in gold and v is not None and gold[item] is not None
        ]
        out[annotator] = AnnotatorAccuracy(annotator, sum(scored), len(scored))
    return out


@dataclass(frozen=True)
class Disagreement:
    item: Hashable
    majority_share: float  # share of labels that went to the most common one
    counts: tuple[tuple[Any, int], ...]  # (label, how many), most common first


def disagreements(
    labels_by_item: Mapping[Hashable, Sequence[Any]], threshold: float = 1.0
) -> list[Disagreement]:
    """Items with two or more labels whose most common label has a share below
    ``threshold`` (1.0: any disagreement at all), most disputed first (ties keep the
    given item order). Multi-label values agree only when they are the same set."""
    if not 0 < threshold <= 1:
        raise AgreementError(f"disagreements: threshold must be in (0, 1], not {threshold!r}")
    found: list[Disagreement] = []
    for item, labels in labels_by_item.items():
        given = [v for v in labels if v is not None]
        if len(given) < 2:
            continue
        counter = Counter(_key(v) for v in given)
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], _sort_key(kv[0])))
        share = ranked[0][1] / len(given)
        if share < threshold:
            counts = tuple((_plain(k), c) for k, c in ranked)
            found.append(Disagreement(item, share, counts))
    found.sort(key=lambda d: d.majority_share)  # stable: same share keeps item order
    return found


def _plain(key: Any) -> Any:
    return sorted(key, key=_sort_key) if isinstance(key, frozenset) else key


# --- one report over a project's labels --------------------------------------------------


@dataclass(frozen=True)
class PairKappa:
    a: str
    b: str
    items: int  # items both labeled
    kappa: float | None  # None: undefined (both used one and the same label throughout)


@dataclass(frozen=True)
class AgreementReport:
    """Agreement over the items with two or more labels. A metric that cannot be computed
    (too few labels, items with different numbers of raters for Fleiss) is None."""

    kind: str
    items: int
    annotators: list[str]
    pairs: list[PairKappa]
    fleiss: float | None
    alpha: float | None
    alpha_level: Level
    accuracy: dict[str, AnnotatorAccuracy]
    review: list[Disagreement]


def agreement_report(
    kind: str,
    annotations: Iterable[tuple[Hashable, str, Any]],
    gold: Mapping[Hashable, Any] | None = None,
    threshold: float = 1.0,
) -> AgreementReport:
    """Everything the agreement page shows, from ``(item, annotator, value)`` rows (e.g.
    the ``annotations`` table of a project; ``None`` values are skipped). Ratings get an
    interval alpha; other kinds are nominal (a correction agrees only on identical text)."""
    by_item: dict[Hashable, dict[str, Any]] = {}
    for item, annotator, value in annotations:
        if value is not None:
            by_item.setdefault(item, {})[annotator] = value
    shared = {item: labels for item, labels in by_item.items() if len(labels) >= 2}
    annotators = sorted({a for labels in by_item.values() for a in labels})
    pairs: list[PairKappa] = []
    for i, a in enumerate(annotators):
        for b in annotators[i + 1 :]:
            both = [labels for labels in shared.values() if a in labels and b in labels]
            if both:
                kappa = cohen_kappa([x[a] for x in both], [x[b] for x in both])
                pairs.append(PairKappa(a, b, len(both), _defined(kappa)))
    units = [list(labels.values()) for labels in shared.values()]
    level: Level = "interval" if kind == "rating" else "nominal"
    fleiss = alpha = None
    if units:
        alpha = _defined(krippendorff_alpha(units, level))
        if len({len(u) for u in units}) == 1:
            fleiss = _defined(fleiss_kappa(units))
    labels_by_annotator: dict[str, dict[Hashable, Any]] = {a: {} for a in annotators}
    for item, labels in by_item.items():
        for a, v in labels.items():
            labels_by_annotator[a][item] = v
    gold = {k: v for k, v in (gold or {}).items() if v is not None}
    accuracy = annotator_accuracy(labels_by_annotator, gold) if gold else {}
    review = disagreements(
        {item: list(labels.values()) for item, labels in shared.items()}, threshold
    )
    return AgreementReport(
        kind, len(shared), annotators, pairs, fleiss, alpha, level, accuracy, review
    )


def _defined(x: float) -> float | None:
    return None if math.isnan(x) else x
