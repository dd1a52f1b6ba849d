"""The service's settings, read once at the entry point from `COORDINATOR_*` variables or flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service can be told; defaults run it on one laptop with nothing installed."""

    model_config = SettingsConfigDict(env_prefix="COORDINATOR_", frozen=True, extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL to use; unset starts an embedded PostgreSQL under data_dir.",
    )
    data_dir: Path = Field(default=Path(".coordinator"), description="Embedded database, keys.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    app_role: str | None = Field(
        default=None, description="Database role granted only SELECT and INSERT on the record."
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Service processes sharing the port (SO_REUSEPORT); about one per core.",
    )
    reuse_port: bool = Field(
        default=False, description="Bind with SO_REUSEPORT (set for the workers by `serve`)."
    )
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=20, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=1000)
    shutdown_timeout_seconds: float = Field(default=30.0, ge=0)
    run_projections: bool = Field(
        default=True, description="Keep the projections current from this process (leader only)."
    )
    max_projection_lag_seconds: float = Field(
        default=30.0, gt=0, description="/ready fails while a projection lags more than this."
    )
    personal_key_dir: Path | None = Field(
        default=None,
        description="Key-encryption keys for personal data (never in the database); "
        "data_dir/keys/personal.",
    )
    write_rate_per_minute: int = Field(
        default=600, ge=1, description="Appends a token may make per minute (429 beyond)."
    )
    write_burst: int = Field(default=120, ge=1, description="Appends a token may make at once.")
    personal_read_rate_per_minute: int = Field(
        default=600,
        ge=1,
        description="Reads that may open personal data (an operation, its events, a survivor's "
        "case, a prosecution, an audit trail) a token may make per minute (429 beyond).",
    )
    personal_read_burst: int = Field(
        default=120, ge=1, description="Reads of personal data a token may make at once."
    )
    cors_origins: tuple[str, ...] = Field(
        default=(), description="Origins allowed to call the API from a browser (none: no CORS)."
    )
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error)$")
    # Memory (ops/load_test.py measures it): what each replica keeps of recent operations.
    operation_cache_mb: float = Field(
        default=16.0,
        ge=0,
        description="Memory for the states appends decide on (about 2 KB a 40-event operation).",
    )
    projection_cache_operations: int = Field(
        default=5_000,
        ge=1,
        description="Operation states each folding projection (board, status) keeps.",
    )
    # The audit trail (evidence/integrator.py): where the signing keys live, how often to sign.
    signing_key_dir: Path | None = Field(
        default=None, description="Checkpoint signing keys (never in the database); data_dir/keys."
    )
    checkpoint_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often a checkpoint is signed when the log grew."
    )
    audit_wait_seconds: float = Field(
        default=10.0, gt=0, description="How long an export waits for the log to cover it."
    )
    # The court page (coordinator/service/trail_page.py) and its signed links.
    court_time_zone: str = Field(
        default="Asia/Ho_Chi_Minh",
        description="IANA zone of the local times on the court page (UTC is shown beside them).",
    )
    court_link_key_dir: Path | None = Field(
        default=None,
        description="Where the secret that signs court links lives; the signing key folder.",
    )
    # Backups (coordinator/service/backup.py): pg_dump and pg_restore of the server's version
    # or newer.
    pg_bin_dir: Path | None = Field(
        default=None,
        description="Folder of pg_dump and pg_restore; unset: found for the server's version.",
    )


def signing_key_folder(settings: Settings) -> Path:
    """Where the log's signing keys live: the configured folder, else `keys` in the data folder."""
    folder = settings.signing_key_dir or Path(settings.data_dir) / "keys"
    return Path(folder).expanduser().resolve()


def court_link_key_folder(settings: Settings) -> Path:
    """Where the secret of the court links lives: beside the signing keys unless configured,
    so the processes that share the signing keys share the links too."""
    if settings.court_link_key_dir is not None:
        return Path(settings.court_link_key_dir).expanduser().resolve()
    return signing_key_folder(settings)


def personal_key_folder(settings: Settings) -> Path:
    """Where the key-encryption keys for personal data live."""
    return Path(settings.personal_key_dir or settings.data_dir / "keys" / "personal")
