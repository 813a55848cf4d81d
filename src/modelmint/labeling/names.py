"""Who may give a label. A reviewer's decision is stored as an annotation by
``review:NAME`` and wins over the annotators' majority (see ``labeling.review``), so a name
that comes from outside (an annotator, a Label Studio user, ``--annotator``) can never be
one: else anyone who picks the name, or writes it into a file, would overrule the vote."""

from __future__ import annotations

import unicodedata

from modelmint.labeling.projects import LabelingError

REVIEW_PREFIX = "review:"


def is_review(annotator: str) -> bool:
    """Whether a stored annotation is a reviewer's decision."""
    return annotator.startswith(REVIEW_PREFIX)


def is_reserved_name(name: str) -> bool:
    """Whether no annotator may take ``name``: a reviewer's, or one a person would read as
    a reviewer's (any case, spaces around it, full-width letters or colon: whatever NFKC
    folds to ``review:``)."""
    folded = unicodedata.normalize("NFKC", name).strip().casefold()
    return folded.startswith(REVIEW_PREFIX)


def check_annotator_name(name: str) -> str:
    """The name, stripped; a LabelingError for an empty or reserved one."""
    name = name.strip()
    if not name:
        raise LabelingError("annotator is empty: give who is labeling (--annotator NAME)")
    if is_reserved_name(name):
        raise LabelingError(
            f"annotator {name!r}: names starting {REVIEW_PREFIX!r} are reviewers'; choose "
            "another name (reviewers decide items with `mint label resolve`)"
        )
    return name
