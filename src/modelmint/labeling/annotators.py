"""People who label in the browser. Each signs in with a token ``mml-<prefix>-<secret>``
shown once at creation; only the prefix and an HMAC of the secret under the server's
pepper are stored (as API keys are, with the same ``hash_secret``). An annotator labels
the projects it is given (none given: every project) until it is revoked; the web page
looks it up on every request, so a revoke locks it out on the next one."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.commerce.accounts import hash_secret, new_key, same_secret, split_key
from modelmint.config.clock import Clock, utc, utc_now
from modelmint.labeling.choices import LANGUAGES
from modelmint.labeling.names import check_annotator_name
from modelmint.labeling.projects import LabelingError
from modelmint.store import LabelProject, Store
from modelmint.store.labeling_tables import Annotator

TOKEN_START = "mml-"


@dataclass(frozen=True)
class AnnotatorInfo:
    id: int
    name: str
    prefix: str
    language: str
    projects: tuple[str, ...]  # empty: every project
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def check_language(language: str) -> str:
    language = language.strip().lower()
    if language not in LANGUAGES:
        raise LabelingError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
    return language


def _info(row: Annotator) -> AnnotatorInfo:
    return AnnotatorInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        language=row.language,
        projects=tuple(row.projects or ()),
        created_at=utc(row.created_at),
        revoked_at=utc(row.revoked_at),
    )


def _row(s: Session, name: str) -> Annotator:
    row = s.scalar(select(Annotator).where(Annotator.name == name))
    if row is None:
        raise LabelingError(f"no annotator {name!r}; see `mint label annotators list`")
    return row


class Annotators:
    def __init__(self, store: Store, pepper: bytes, clock: Clock = utc_now) -> None:
        self.store = store
        self.pepper = pepper
        self.clock = clock

    def create(
        self, name: str, language: str = "en", projects: Iterable[str] = ()
    ) -> tuple[AnnotatorInfo, str]:
        """A new annotator and its sign-in token (the only time the token exists)."""
        name = name.strip()
        if not name or len(name) > 200:
            raise LabelingError("an annotator needs a name of 1 to 200 characters")
        check_annotator_name(name)  # not a reviewer's
        language = check_language(language)
        wanted = list(dict.fromkeys(p.strip() for p in projects if p.strip()))
        token, prefix, secret = new_key(TOKEN_START)
        with self.store.session() as s:
            if s.scalar(select(Annotator.id).where(Annotator.name == name)) is not None:
                raise LabelingError(f"annotator {name!r} exists; choose another name")
            known = set(s.scalars(select(LabelProject.name).where(LabelProject.name.in_(wanted))))
            missing = [p for p in wanted if p not in known]
            if missing:
                raise LabelingError(
                    f"no label project {', '.join(map(repr, missing))}; see `mint label list`"
                )
            row = Annotator(
                name=name,
                prefix=prefix,
                secret_hash=hash_secret(self.pepper, secret),
                language=language,
                projects=wanted,
                created_at=self.clock(),
            )
            s.add(row)
            s.flush()
            return _info(row), token

    def authenticate(self, token: str) -> AnnotatorInfo | None:
        """The annotator a token belongs to; None for a wrong or revoked token."""
        parts = split_key(token.strip(), TOKEN_START)
        if parts is None:
            return None
        prefix, secret = parts
        with self.store.session() as s:
            row = s.scalar(select(Annotator).where(Annotator.prefix == prefix))
            info = _info(row) if row is not None else None
            stored = row.secret_hash if row is not None else ""
        given = hash_secret(self.pepper, secret)  # same work whether or not the prefix exists
        if info is None or not same_secret(given, stored) or not info.active:
            return None
        return info

    def by_prefix(self, prefix: str) -> AnnotatorInfo | None:
        """As stored now (a signed-in page checks this on every request)."""
        with self.store.session() as s:
            row = s.scalar(select(Annotator).where(Annotator.prefix == prefix))
            return _info(row) if row is not None else None

    def get(self, name: str) -> AnnotatorInfo:
        with self.store.session() as s:
            return _info(_row(s, name))

    def list(self) -> list[AnnotatorInfo]:
        with self.store.session() as s:
            return [_info(r) for r in s.scalars(select(Annotator).order_by(Annotator.name))]

    def revoke(self, name: str) -> AnnotatorInfo:
        """Locks the annotator out from the next request on; its labels stay."""
        with self.store.session() as s:
            row = _row(s, name)
            if row.revoked_at is None:
                row.revoked_at = self.clock()
            return _info(row)

    def set_language(self, name: str, language: str) -> AnnotatorInfo:
        language = check_language(language)
        with self.store.session() as s:
            row = _row(s, name)
            row.language = language
            return _info(row)

    def may_label(self, annotator: AnnotatorInfo, project: str) -> bool:
        return annotator.active and (not annotator.projects or project in annotator.projects)

    def projects_for(self, annotator: AnnotatorInfo) -> builtins.list[str]:
        """The names of the projects the annotator may label that exist, by name."""
        if not annotator.active:
            return []
        with self.store.session() as s:
            names = list(s.scalars(select(LabelProject.name).order_by(LabelProject.name)))
        return [n for n in names if self.may_label(annotator, n)]
