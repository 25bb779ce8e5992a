"""The one settings class of the platform: every variable is `ADUAN_*`, `.env` is read too."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Requests a client may make per route group (`limits` notation: "60/minute", "10 per hour").
# ADUAN_RATE_LIMITS (JSON) overrides some of them; README "Rate limits" has the groups.
DEFAULT_RATE_LIMITS = {
    "anonymous_create": "60/minute",  # anonymous complaint creates (API and Open311), per IP
    "login": "10/minute",  # login attempts, per IP
    "principal": "1200/minute",  # every request of an authenticated caller, per principal
    "ip": "2400/minute",  # every request, per client IP
}


def _comma_list(value: Any) -> Any:
    """`a, b` from the environment; a list as is."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _rate_limits(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    unknown = set(value) - set(DEFAULT_RATE_LIMITS)
    if unknown:
        raise ValueError(
            f"unknown rate limit groups {sorted(unknown)}: {list(DEFAULT_RATE_LIMITS)}"
        )
    return DEFAULT_RATE_LIMITS | value


def _json_object(value: Any) -> Any:
    """A JSON object from the environment, where empty means none; a dict as is."""
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return value


# Lists read from the environment as `a, b` (not JSON).
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_list)]
Networks = Annotated[list[IPvAnyNetwork], NoDecode, BeforeValidator(_comma_list)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ADUAN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Unset URLs mean "start the embedded PostgreSQL / Redis under var_dir" (aduan run does that).
    database_url: str | None = Field(
        default=None, description="postgresql+asyncpg://user@host:port/db; unset = embedded"
    )
    redis_url: str | None = Field(
        default=None, description="redis://host:port/db; unset = embedded"
    )
    var_dir: Path = Field(default=Path("var"), description="Data of the embedded servers")

    admin_api_key: SecretStr | None = None
    # The gateway signs the identity header with its Ed25519 key; the services verify it with
    # the public keys (several while the key rotates). services/identity.py has the format.
    internal_signing_key: SecretStr | None = Field(
        default=None,
        description="Gateway only: base64 of the raw 32-byte Ed25519 private key (or a PEM)",
    )
    internal_verify_keys: str | None = Field(
        default=None, description="Comma-separated base64 raw Ed25519 public keys of the gateway"
    )
    internal_max_age_seconds: float = Field(
        default=30, description="How old an identity header may be"
    )
    internal_clock_skew_seconds: float = Field(
        default=2, description="How far in the future an identity header may be dated"
    )

    host: str = "127.0.0.1"
    gateway_port: int = 8000
    intake_port: int = 8001
    routing_port: int = 8002
    notifications_port: int = 8003
    intake_url: str | None = None
    routing_url: str | None = None
    notifications_url: str | None = None

    # A pool per process, sized for the requests (or jobs) it runs at once, so none waits for
    # a connection; no ping per checkout: a dead connection is replaced when a query fails on it.
    db_pool_size: int = Field(default=20, description="PostgreSQL connections kept per process")
    db_max_overflow: int = Field(default=10, description="Extra connections allowed at peaks")
    db_pool_recycle_seconds: int = 1800

    queue_prefix: str = Field(default="aduan", description="Namespace of the arq queues in Redis")
    publish_batch_window_seconds: float = Field(
        default=0.002,
        description="Commits this close together share one job per consumer (0: none wait)",
    )
    publish_batch_max: int = Field(default=100, description="Most events in one published job")
    relay_interval_seconds: int = 5
    relay_grace_seconds: int = 2
    reconcile_interval_seconds: int = Field(
        default=10, description="How often each worker looks for published but unprocessed events"
    )
    reconcile_after_seconds: int = Field(
        default=60,
        description="An event not in every consumer's inbox this long after it happened is "
        "published again",
    )
    reconcile_max_republishes: int = Field(
        default=5, description="Republishes before an event is listed as failed for admins"
    )
    job_timeout_seconds: int = 30
    job_max_tries: int = 8
    worker_max_jobs: int = Field(default=32, description="Jobs one worker process runs at once")
    worker_poll_delay_seconds: float = Field(
        default=0.02, description="Pause between two polls of an idle arq queue"
    )

    # Deadlines (routing's SLA clocks and sweep): docs/architecture.md "Deadlines".
    sla_warning_fraction: float = Field(
        default=0.8, gt=0, lt=1, description="Share of a clock's working time that raises a warning"
    )
    sla_reminder_every_working_days: int = Field(
        default=2, ge=1, description="Working days between two reminders after a breach"
    )
    sla_reminder_max: int = Field(
        default=3, ge=0, description="Most reminders sent per breach (the breach's own included)"
    )
    sla_sweep_interval_seconds: int = Field(
        default=60, ge=1, description="How often the routing worker sweeps due SLA clocks"
    )
    sla_sweep_batch: int = Field(
        default=200, ge=1, description="Clocks one sweep transaction handles at most"
    )
    sla_escalation_enabled: bool = Field(
        default=True, description="A breached agency clock escalates one level up the hierarchy"
    )
    # Verification (routing): docs/architecture.md "Verification and disposition".
    classification_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Least confidence with which an uncategorised complaint is classified "
        "automatically; below it goes to the manual verification queue",
    )
    verification_flagged_words: CommaList = Field(
        default_factory=list,
        description="Spam/abuse words or phrases (comma-separated) that send a complaint to the "
        "manual verification queue, besides the built-in list",
    )
    verification_manual_channels: CommaList = Field(
        default_factory=list,
        description="Channels (mobile, web, sms, regional_system, open311) or filing roles "
        "(anonymous, citizen, regional_system, admin), comma-separated, whose complaints are "
        "always verified by hand",
    )
    time_travel_enabled: bool = Field(
        default=False,
        description="Development and tests only: the platform clock adds the offset stored in "
        "Redis (<queue_prefix>:clock:offset_seconds)",
    )

    webhook_allow_private_targets: bool = False
    webhook_timeout_seconds: float = 10.0
    webhook_max_in_flight: int = Field(
        default=128, description="Attempts in flight per notifications worker process"
    )
    webhook_endpoint_concurrency: int = Field(
        # 8 capped one endpoint near 150 deliveries/s here, below P2's 50 complaints/s with
        # every event type subscribed (a complaint's events go one after the other).
        default=16,
        description="Attempts in flight per endpoint, across all processes",
    )
    webhook_breaker_failures: int = Field(
        default=5, description="Failed attempts in a row that open an endpoint's circuit"
    )
    webhook_breaker_cooldown_seconds: float = 30.0
    webhook_breaker_max_cooldown_seconds: float = 600.0
    webhook_order_max_wait_seconds: float = Field(
        default=3600.0,
        description="After this long pending, a delivery stops holding back later events of "
        "its complaint",
    )
    webhook_poll_seconds: float = 0.2
    webhook_lease_margin_seconds: float = Field(
        default=30.0, description="How much longer than the HTTP timeout a delivery's lease lasts"
    )
    # Webhook endpoints managed by their owners and the delivery policy (issue 9, webhooks).
    webhook_retry_schedule: Annotated[
        list[Annotated[float, Field(ge=0)]], NoDecode, BeforeValidator(_comma_list)
    ] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0],
        min_length=1,
        description="Seconds to wait before each retry after the immediate first attempt "
        "(comma-separated); its length + 1 is the number of attempts",
    )
    webhook_retry_after_max_seconds: float = Field(
        default=3600.0, description="Cap on a receiver's Retry-After (429/503) that Aduan honours"
    )
    webhook_allow_http: bool | None = Field(
        default=None,
        description="Accept http:// endpoint URLs; unset: only when private targets are allowed "
        "(development)",
    )
    webhook_secret_keys: CommaList = Field(
        default_factory=list,
        description="Fernet keys (comma-separated) encrypting endpoint secrets at rest: the "
        "first encrypts, all decrypt (add a new key first to rotate); unset = a development key",
    )
    webhook_secret_grace_seconds: float = Field(
        default=86400.0, description="After a secret rotation the previous secret signs this long"
    )
    webhook_disable_after_failing_seconds: float = Field(
        default=5 * 86400.0,
        description="An endpoint failing this long without a success is disabled",
    )

    # Accounts and credentials (the gateway). Every key of jwt_keys verifies access tokens, the
    # active one signs new ones: add a key, make it active, drop the old one after a token TTL.
    jwt_keys: Annotated[dict[str, SecretStr], NoDecode, BeforeValidator(_json_object)] = Field(
        default_factory=dict,
        description='Access-token signing keys by key id, JSON {"kid": "secret"} (HS256, '
        "≥ 32 characters each)",
    )
    jwt_active_kid: str | None = Field(
        default=None, description="Key id that signs new access tokens; unset = the only key"
    )
    access_token_ttl_seconds: int = Field(default=900, description="Lifetime of an access token")
    refresh_token_ttl_seconds: int = Field(
        default=2_592_000, description="Lifetime of a refresh token (each use issues a new one)"
    )
    admin_totp_required: bool = Field(
        default=False, description="National admins must use a TOTP second factor to sign in"
    )

    max_body_bytes: int = 1_048_576
    proxy_timeout_seconds: float = 30.0

    # Protection at the gateway: README "Rate limits, CORS and metrics".
    rate_limits_enabled: bool = Field(
        default=True, description="Count requests and refuse those over a limit (429)"
    )
    rate_limits: Annotated[dict[str, str], BeforeValidator(_rate_limits)] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description="Limit per route group, JSON; the groups it names replace the defaults",
    )
    trusted_proxies: Networks = Field(
        default_factory=list,
        description="Proxies (CIDRs, comma-separated) whose X-Forwarded-For the gateway "
        "believes for the client address",
    )
    cors_origins: CommaList = Field(
        default_factory=list,
        description="Origins browsers may call the API from (comma-separated); empty: no CORS",
    )
    metrics_port: int | None = Field(
        default=None,
        description="Also serve the gateway's /metrics, without credentials, on this port",
    )
    metrics_host: str = Field(default="127.0.0.1", description="Address of metrics_port")
    log_level: str = "INFO"
    access_log: bool = Field(
        default=False,
        description="uvicorn access lines on the internal services (the gateway logs each request)",
    )
    # Open311 GeoReport v2 (intake/open311/): docs/architecture.md "Open311 GeoReport v2".
    open311_base_url: str = Field(
        default="/open311/v2",
        description="The public URL of the Open311 endpoint that discovery.json announces",
    )
    open311_contact: str = Field(
        default="Aduan, Kementerian Dalam Negeri",
        description="Who runs the Open311 endpoint, as discovery.json names it",
    )

    # Attachments (intake): README "Attachments"; storage behind services/storage.py.
    attachment_max_bytes: int = Field(
        default=10_485_760, description="Largest attachment file (bytes), checked while it streams"
    )
    attachment_max_per_complaint: int = Field(
        default=5,
        description="Most files a reporter attaches to one complaint (an agency: to one follow-up)",
    )
    attachment_max_pixels: int = Field(
        default=40_000_000, description="Largest image (width × height) re-encoded; larger: 422"
    )
    upload_max_body_bytes: int = Field(
        default=11_534_336,
        description="Body limit of attachment uploads at the gateway and the services (the file "
        "and its multipart envelope); other requests keep max_body_bytes",
    )
    media_storage: str = Field(
        default="local", pattern="^(local|s3)$", description="Where attachments are kept"
    )
    media_dir: Path = Field(
        default=Path("var/media"), description="local storage: the directory of the files"
    )
    media_s3_endpoint_url: str | None = Field(
        default=None,
        description="s3 storage: endpoint, e.g. https://s3.ap-southeast-3.amazonaws.com",
    )
    media_s3_bucket: str | None = Field(default=None, description="s3 storage: the bucket")
    media_s3_region: str = Field(default="us-east-1", description="s3 storage: SigV4 region")
    media_s3_access_key_id: str | None = Field(default=None, description="s3 storage: key id")
    media_s3_secret_access_key: SecretStr | None = Field(
        default=None, description="s3 storage: secret key"
    )

    # Statistics (routing/stats): docs/architecture.md "Statistics".
    stats_min_count: int = Field(
        default=10,
        ge=1,
        description="Least number of complaints behind a measure for it to count in a grade; "
        "below it the measure is shown, flagged `small`, and left out of the ranking",
    )
    stats_grade_thresholds: CommaList = Field(
        default_factory=lambda: ["85", "70", "55"],
        description="Least scores (0-100, comma-separated) for Sangat Baik, Baik and Sedang; "
        "below the last is Kurang",
    )
    stats_grade_weights: CommaList = Field(
        default_factory=lambda: [
            "completion_compliance=3",
            "first_response_compliance=2",
            "verification_compliance=1",
            "backlog_on_time=2",
            "rating=1",
        ],
        description="Measures that make up a region's score and their weights "
        "(measure=weight, comma-separated)",
    )
    stats_refresh_interval_seconds: int = Field(
        default=60, ge=1, description="How often the routing worker refreshes the statistics"
    )
    stats_refresh_overlap_seconds: int = Field(
        default=300,
        ge=0,
        description="Events this much older than the watermark are read again at each refresh "
        "(a transaction that committed late is not missed)",
    )
    stats_refresh_batch: int = Field(
        default=500, ge=1, description="Complaints whose facts one refresh step recomputes"
    )
    stats_refresh_max_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Time one refresh run may spend before it leaves the rest to the next run "
        "(it stops after the batch in progress)",
    )
    stats_stalled_working_days: int = Field(
        default=5,
        ge=1,
        description="An open complaint with no event for this many working days is stalled",
    )

    @field_validator("stats_grade_thresholds")
    @classmethod
    def _grade_thresholds(cls, value: list[str]) -> list[str]:
        # statistics: three descending scores, checked at startup rather than at the first call
        scores = [float(v) for v in value]
        if len(scores) != 3 or scores != sorted(scores, reverse=True):
            raise ValueError("three descending scores, e.g. 85,70,55")
        return value

    @field_validator("stats_grade_weights")
    @classmethod
    def _grade_weights(cls, value: list[str]) -> list[str]:
        for item in value:
            name, equals, weight = item.partition("=")
            if not name.strip() or not equals or float(weight) < 0:
                raise ValueError("measure=weight pairs, e.g. completion_compliance=3")
        return value

    # Notifications to people (issue 9, people): docs/architecture.md "Notifications to people".
    # A channel without its endpoint/host is not configured: its messages are skipped (logged).
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no email")
    smtp_port: int = Field(default=587, description="SMTP port")
    smtp_username: str | None = Field(default=None, description="SMTP login, if it needs one")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_from: str = Field(
        default="Aduan <noreply@aduan.go.id>", description="From: of the emails sent"
    )
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (upgrade on the plain port), tls (implicit, port 465) or none",
    )
    push_endpoint: str | None = Field(
        default=None,
        description='URL that takes FCM HTTP v1 messages ({"message": {...}}, e.g. '
        "https://fcm.googleapis.com/v1/projects/<id>/messages:send); unset: no push",
    )
    push_token: SecretStr | None = Field(
        default=None, description="Bearer token sent to push_endpoint"
    )
    sms_endpoint: str | None = Field(
        default=None,
        description='HTTP SMS gateway: POST {"to", "text"} as JSON; unset: no SMS',
    )
    sms_api_key: SecretStr | None = Field(
        default=None, description="Sent to sms_endpoint in the X-API-Key header"
    )
    people_send_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one email, push or SMS attempt"
    )
    people_max_attempts: int = Field(
        default=8, ge=1, description="Attempts of one message before it is given up (dead)"
    )
    people_retry_base_seconds: float = Field(
        default=30.0, gt=0, description="First retry delay of a failed message (doubles, jitter)"
    )
    people_retry_cap_seconds: float = Field(
        default=3600.0, gt=0, description="Longest delay between two attempts of a message"
    )
    people_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the sender looks for due messages when idle"
    )
    people_digest_hour: int = Field(
        default=7, ge=0, le=23, description="Hour (WIB) of the opt-in daily digest for staff"
    )
    people_retention_days: int = Field(
        default=30,
        ge=1,
        description="Sent and given-up messages (they hold addresses) are deleted after this",
    )
    people_reply_window_check_minutes: int = Field(
        default=30,
        ge=1,
        le=60,
        description="How often the worker looks for reply windows closing in 2 working days",
    )

    # Intake (issue 8): duplicate hints in the create answer; docs/architecture.md "Complaints".
    duplicate_hint_threshold: float = Field(
        default=0.25,
        ge=0,
        description="Least similarity of an open complaint offered as a possible duplicate: "
        "ts_rank against any word of the new complaint, scaled by the number of words (about "
        "the share of the shorter text's words found in the other)",
    )
    duplicate_hint_limit: int = Field(
        default=3, ge=0, le=20, description="Most possible duplicates in a create answer"
    )
    duplicate_hint_candidates: int = Field(
        default=30,
        ge=1,
        description="Open complaints ranked for the duplicate hint: the most recently filed of "
        "the kabupaten/kota and category sharing a word with the new one (bounds a create's "
        "cost where many are open)",
    )

    # demo data (issue 10)
    seed_demo_complaints: int = Field(
        default=0,
        ge=0,
        description="`aduan run` seeds this many demo complaints on an empty database (0: none)",
    )

    @field_validator("internal_signing_key", "internal_verify_keys", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `aduan run` blanks the signing key for every process but the gateway.
        return None if isinstance(value, str) and not value.strip() else value

    def service_url(self, name: str) -> str:
        explicit: str | None = getattr(self, f"{name}_url")
        if explicit:
            return explicit.rstrip("/")
        port: int = getattr(self, f"{name}_port")
        return f"http://{self.host}:{port}"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("ADUAN_DATABASE_URL is not set (aduan run starts an embedded one)")
        return self.database_url

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise RuntimeError("ADUAN_REDIS_URL is not set (aduan run starts an embedded one)")
        return self.redis_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
