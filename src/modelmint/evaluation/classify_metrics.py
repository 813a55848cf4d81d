"""Classification metrics from a confusion matrix, equal to scikit-learn's (macro averages
over the labels that occur in the references or the predictions, zero where undefined).
Computed with numpy because a paired bootstrap scores 2,000 resamples and scikit-learn's
per-call cost, paid on each, dominated (docs/benchmarks.md, "Evaluation")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion(
    references: Sequence[str], predictions: Sequence[str], labels: Sequence[str]
) -> np.ndarray:
    """Rows are references, columns predictions, both in ``labels`` order."""
    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    cells = [index[r] * k + index[p] for r, p in zip(references, predictions, strict=True)]
    return np.bincount(np.asarray(cells, dtype=np.int64), minlength=k * k).reshape(k, k)


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


def metrics_from_confusion(cm: np.ndarray) -> dict[str, float]:
    cm = cm.astype(np.float64)
    n = cm.sum()
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    present = (predicted + actual) > 0
    precision = _safe_divide(tp, predicted)[present]
    recall = _safe_divide(tp, actual)[present]
    f1 = _safe_divide(2 * tp, predicted + actual)[present]
    observed = tp.sum() / n if n else 0.0
    chance = float((predicted * actual).sum() / (n * n)) if n else 1.0
    # Chance agreement 1 means references and predictions are all one class: kappa is
    # undefined (scikit-learn gives NaN), and 0 says "nothing beyond chance".
    kappa = (observed - chance) / (1 - chance) if chance < 1 else 0.0
    return {
        "accuracy": float(observed),
        "macro_precision": float(precision.mean()) if precision.size else 0.0,
        "macro_recall": float(recall.mean()) if recall.size else 0.0,
        "macro_f1": float(f1.mean()) if f1.size else 0.0,
        "kappa": float(kappa),
    }


def classification_metrics(
    references: Sequence[str], predictions: Sequence[str]
) -> dict[str, float]:
    labels = sorted(set(references) | set(predictions))
    return metrics_from_confusion(confusion(references, predictions, labels))
