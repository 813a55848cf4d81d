"""Settings read from the environment (prefix ``MINT_``) or passed explicitly by tests."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
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
    # The key `mint serve --upstream` sends to its upstream servers (MINT_UPSTREAM_API_KEY,
    # vLLM's --api-key); kept out of every repr and log line
    upstream_api_key: SecretStr | None = None
    # The largest file the Files API (POST /v1/files) accepts, in bytes (MINT_FILES_MAX_BYTES)
    files_max_bytes: int = Field(64 << 20, gt=0)

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
            create_secret_file(path, secrets.token_hex(32))
        pepper = path.read_text().strip()
        if not pepper:
            raise ValueError(
                f"the key pepper file {path} is empty; restore it from a backup (every API "
                "and admin key was hashed with it), or set MINT_KEY_PEPPER"
            )
        return pepper.encode()

    def ensure_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)


def create_secret_file(path: Path, text: str) -> None:
    """Writes ``text`` to a new file only its owner can read, whatever the umask: the file
    is opened with O_EXCL and mode 0600 (never readable by others, not even for an
    instant), filled under a temporary name and linked into place, so nobody reads it
    half-written. If ``path`` exists already (another process made it first), it is kept."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(partial, path)
    finally:
        partial.unlink()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
