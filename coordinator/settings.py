"""The service's settings, read once at the entry point from `COORDINATOR_*` variables or flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

OpenStage = Literal[
    "reported",
    "investigating",
    "planning",
    "approved",
    "rescued",
    "in_transit",
    "returned",
    "reunited",
    "aftercare",
]
"""An operation's open stages (coordinator/domain/state.py `Stage`), for per-stage settings."""


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
    # Checkpoints as C2SP signed notes, and their witnesses (evidence/checkpoint_note.py).
    checkpoint_origin: str | None = Field(
        default=None,
        pattern=r"^[^\s+]+$",
        description="Origin line of the checkpoint notes; unset: the database's own, "
        "homeward.example/<random id> made once at migration. Changing it starts a new log "
        "for the witnesses.",
    )
    witness_keys: tuple[str, ...] = Field(
        default=(),
        description="Witnesses whose cosignatures POST /v1/audit/checkpoint/cosignatures "
        "accepts: C2SP vkeys, name+hex(key ID)+base64(0x04 || Ed25519 public key).",
    )
    # Alerts (projections/read_models/alert_rules.py), judged on the events' occurred_at times,
    # and their webhook (coordinator/service/alert_webhook.py).
    alert_no_update_days: float = Field(
        default=7.0, gt=0, description="Days an open operation may go without an update."
    )
    alert_no_update_days_by_stage: dict[OpenStage, float] = Field(
        default_factory=dict,
        description="Days without an update allowed in a stage, overriding alert_no_update_days "
        'for it, as JSON: {"aftercare": 30, "investigating": 14}.',
    )
    alert_abroad_days: float = Field(
        default=30.0, gt=0, description="Days a survivor may stay abroad after her rescue."
    )
    alert_in_transit_hours: float = Field(
        default=72.0, gt=0, description="Hours a survivor may be in transit."
    )
    alert_review_overdue_hours: float = Field(
        default=24.0,
        gt=0,
        description="Hours an emergency rescue may await leadership's review.",
    )
    alert_aftercare_gap_days: float = Field(
        default=90.0, gt=0, description="Days a survivor in aftercare may go without a service."
    )
    alert_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Where each new alert is POSTed (HMAC-signed, no personal data); unset: none.",
    )
    alert_webhook_secret_file: Path | None = Field(
        default=None,
        description="The webhook's HMAC secret; unset: data_dir/keys/alert_webhook.key, made "
        "(0600) on first start.",
    )
    alert_webhook_attempts: int = Field(
        default=6, ge=1, le=20, description="Tries per alert before the webhook gives up."
    )
    alert_webhook_backoff_seconds: float = Field(
        default=2.0, gt=0, description="Wait before the webhook's second try; doubled after each."
    )
    alert_webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one webhook request may take."
    )
    alert_webhook_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often alerts are judged for the webhook."
    )
    # RFC 3161 trusted timestamps on checkpoints (evidence/timestamping.py).
    timestamp_authority_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="A time-stamping authority (RFC 3161) asked for a token on each checkpoint "
        "note; unset: no timestamps.",
    )
    timestamp_authority_cert_file: Path | None = Field(
        default=None,
        description="The TSA's certificate (PEM or DER), to check each token before it is "
        "recorded; unset: only the hash and nonce are checked.",
    )
    timestamp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one request to the TSA may take."
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
