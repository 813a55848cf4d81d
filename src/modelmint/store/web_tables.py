"""Browser sessions of our web pages (the console, the annotator page) that were signed
out before they expired. A session is a signed cookie the server does not otherwise keep;
signing out records its id here, and a cookie whose id is here is refused until the time
it would have expired anyway (then the row may go)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from modelmint.store.tables import Base


class RevokedWebSession(Base):
    __tablename__ = "revoked_web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the random id the signed cookie carries (useless without the server's signature)
    session_id: Mapped[str] = mapped_column(String(64), unique=True)
    page: Mapped[str] = mapped_column(String(50))  # mint_console | mint_label
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime]
