"""Settings read from the environment (prefix ``MINT_``) or passed explicitly by tests."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINT_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".modelmint")
    database_url: str | None = None
    redis_url: str | None = None
    # Server-side secret mixed into API-key hashes; kept in MINT_HOME when not given, so a
    # stolen database alone cannot be used to check guessed keys.
    key_pepper: str | None = None
    # Seconds without a heartbeat after which a gateway instance counts as dead and its
    # reservations are swept by the others (MINT_INSTANCE_TIMEOUT_S)
    instance_timeout_s: float = 15.0
    # Start of every Redis key modelmint writes (MINT_REDIS_PREFIX), so several
    # deployments, or tests, can share one Redis
    redis_prefix: str = "mint:"
    # USD per hour of the serving hardware, e.g. "1.20" (`mint economics`); text, so it
    # is parsed exactly into micro-units, never through a float
    hardware_cost_per_hour: str | None = None

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'mint.db'}"

    def resolved_key_pepper(self) -> bytes:
        if self.key_pepper:
            return self.key_pepper.encode()
        path = self.home / "key_pepper"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    def ensure_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
