"""Runtime configuration, read from the environment (and an optional `.env`) once per app.

Settings are a value passed into `create_app`, never a module-level singleton, so tests and
tools build the app they need without touching the process environment.
"""

from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "insecure-local-development-key-change-me"  # noqa: S105 - refused in production
DEFAULT_SQLITE_PATH = Path("var") / "selflink.sqlite3"
DEFAULT_MEDIA_PATH = Path("var") / "media"
MEDIA_STORAGE_SCHEMES = ("file://", "s3://", "memory://")


class Profile(StrEnum):
    LOCAL = "local"
    TEST = "test"
    PRODUCTION = "production"


class InsecureSettingsError(ValueError):
    """The production profile was asked to run with a setting that is only safe locally."""


class Settings(BaseSettings):
    """Everything the API and its workers read from the environment."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    profile: Annotated[Profile, Field(validation_alias="SELFLINK_PROFILE")] = Profile.LOCAL
    debug: Annotated[bool, Field(validation_alias="SELFLINK_DEBUG")] = False
    secret_key: Annotated[SecretStr, Field(validation_alias="SECRET_KEY")] = SecretStr(
        DEFAULT_SECRET_KEY
    )
    database_url: Annotated[str, Field(validation_alias="DATABASE_URL")] = ""
    database_echo: Annotated[bool, Field(validation_alias="DATABASE_ECHO")] = False
    database_pool_size: Annotated[int, Field(validation_alias="DATABASE_POOL_SIZE", ge=1)] = 20
    migrate_on_startup: Annotated[
        bool | None, Field(validation_alias="SELFLINK_MIGRATE_ON_STARTUP")
    ] = None
    run_schedules: Annotated[bool | None, Field(validation_alias="SELFLINK_RUN_SCHEDULES")] = None
    redis_url: Annotated[str, Field(validation_alias="REDIS_URL")] = ""
    job_queue_name: Annotated[str, Field(validation_alias="SELFLINK_JOB_QUEUE")] = "selflink"
    worker_concurrency: Annotated[int, Field(validation_alias="SELFLINK_WORKER_CONCURRENCY")] = 10
    event_gather_ms: Annotated[
        int, Field(validation_alias="SELFLINK_EVENT_GATHER_MS", ge=0, le=1000)
    ] = 50
    """A worker that read fewer events than a full batch waits this long for more before
    delivering them, so that busy moments are delivered in fewer, larger batches."""
    worker_niceness: Annotated[
        int, Field(validation_alias="SELFLINK_WORKER_NICENESS", ge=0, le=19)
    ] = 10
    """A worker process's scheduling niceness: background work yields the CPU to API processes
    on the same machine."""
    job_heartbeat_seconds: Annotated[
        int, Field(validation_alias="SELFLINK_JOB_HEARTBEAT_SECONDS", ge=1)
    ] = 30
    """A running SAQ job is touched every third of this; one untouched this long (its worker
    died) is retried by another worker, whose sweep runs this often."""
    shutdown_grace_seconds: Annotated[
        int, Field(validation_alias="SELFLINK_SHUTDOWN_GRACE_SECONDS", ge=0)
    ] = 30
    """How long a stopping worker or API process lets running jobs finish before cancelling
    them."""
    log_level: Annotated[str, Field(validation_alias="LOG_LEVEL")] = "INFO"
    log_json: Annotated[bool | None, Field(validation_alias="LOG_JSON")] = None
    rate_limit_per_minute: Annotated[int, Field(validation_alias="RATE_LIMIT_PER_MINUTE", ge=1)] = (
        600
    )
    trusted_proxies: Annotated[
        tuple[IPv4Network | IPv6Network, ...],
        NoDecode,
        Field(validation_alias="TRUSTED_PROXIES"),
    ] = ()
    max_request_body_bytes: Annotated[
        int, Field(validation_alias="MAX_REQUEST_BODY_BYTES", ge=1024)
    ] = 1_048_576
    cors_allow_origins: Annotated[
        tuple[str, ...], NoDecode, Field(validation_alias="CORS_ALLOW_ORIGINS")
    ] = ()
    log_file: Annotated[str, Field(validation_alias="LOG_FILE")] = ""
    public_base_url: Annotated[str, Field(validation_alias="PUBLIC_BASE_URL")] = (
        "http://127.0.0.1:8000"
    )

    # Accounts and sessions
    access_token_minutes: Annotated[int, Field(validation_alias="ACCESS_TOKEN_MINUTES", ge=1)] = 15
    refresh_token_days: Annotated[int, Field(validation_alias="REFRESH_TOKEN_DAYS", ge=1)] = 30
    email_token_hours: Annotated[int, Field(validation_alias="EMAIL_TOKEN_HOURS", ge=1)] = 24
    argon2_time_cost: Annotated[int, Field(validation_alias="ARGON2_TIME_COST", ge=1)] = 3
    argon2_memory_kib: Annotated[int, Field(validation_alias="ARGON2_MEMORY_KIB", ge=8)] = 65536
    argon2_parallelism: Annotated[int, Field(validation_alias="ARGON2_PARALLELISM", ge=1)] = 4
    auth_attempts_per_ip: Annotated[int, Field(validation_alias="AUTH_ATTEMPTS_PER_IP", ge=1)] = 30
    auth_attempts_per_account: Annotated[
        int, Field(validation_alias="AUTH_ATTEMPTS_PER_ACCOUNT", ge=1)
    ] = 10
    auth_attempt_window_seconds: Annotated[
        int, Field(validation_alias="AUTH_ATTEMPT_WINDOW_SECONDS", ge=1)
    ] = 900

    # Personal data encryption: "id:base64key,id2:base64key" (32-byte AES keys)
    pii_keys: Annotated[SecretStr, Field(validation_alias="PII_KEYS")] = SecretStr("")
    pii_active_key_id: Annotated[str, Field(validation_alias="PII_ACTIVE_KEY_ID")] = ""
    pii_index_key: Annotated[SecretStr, Field(validation_alias="PII_INDEX_KEY")] = SecretStr("")

    # Rewards
    github_webhook_secret: Annotated[SecretStr, Field(validation_alias="GITHUB_WEBHOOK_SECRET")] = (
        SecretStr("")
    )
    github_webhook_max_bytes: Annotated[
        int, Field(validation_alias="GITHUB_WEBHOOK_MAX_BYTES", ge=1024)
    ] = 1_048_576
    rewards_dispute_days: Annotated[int, Field(validation_alias="REWARDS_DISPUTE_DAYS", ge=0)] = 7
    # Astrology: the ephemeris (the Swiss Ephemeris files shipped with the engine, or those in
    # SELFLINK_EPHEMERIS_PATH; or the built-in Moshier one) and the per-client limit of charts
    # computed for arbitrary input (POST /astro/charts, /synastry)
    astro_ephemeris: Annotated[
        Literal["swiss_ephemeris", "moshier"], Field(validation_alias="SELFLINK_EPHEMERIS")
    ] = "swiss_ephemeris"
    astro_ephemeris_path: Annotated[str, Field(validation_alias="SELFLINK_EPHEMERIS_PATH")] = ""
    astro_charts_per_minute: Annotated[
        int, Field(validation_alias="ASTRO_CHARTS_PER_MINUTE", ge=1)
    ] = 60

    # Media (docs/content.md#media): where uploads are stored (a local directory by default, or
    # `s3://bucket[/prefix]` with the endpoint and credentials below), their limits, and how
    # long signed and public URLs live
    media_storage_url: Annotated[str, Field(validation_alias="MEDIA_STORAGE_URL")] = ""
    media_s3_endpoint: Annotated[str, Field(validation_alias="MEDIA_S3_ENDPOINT")] = ""
    media_s3_region: Annotated[str, Field(validation_alias="MEDIA_S3_REGION")] = "us-east-1"
    media_s3_access_key_id: Annotated[str, Field(validation_alias="MEDIA_S3_ACCESS_KEY_ID")] = ""
    media_s3_secret_access_key: Annotated[
        SecretStr, Field(validation_alias="MEDIA_S3_SECRET_ACCESS_KEY")
    ] = SecretStr("")
    media_max_image_bytes: Annotated[
        int, Field(validation_alias="MEDIA_MAX_IMAGE_BYTES", ge=1024)
    ] = 10 * 1024 * 1024
    media_max_video_bytes: Annotated[
        int, Field(validation_alias="MEDIA_MAX_VIDEO_BYTES", ge=1024)
    ] = 100 * 1024 * 1024
    media_max_image_pixels: Annotated[
        int, Field(validation_alias="MEDIA_MAX_IMAGE_PIXELS", ge=1)
    ] = 50_000_000
    media_max_image_dimension: Annotated[
        int, Field(validation_alias="MEDIA_MAX_IMAGE_DIMENSION", ge=16)
    ] = 4096
    media_signed_url_seconds: Annotated[
        int, Field(validation_alias="MEDIA_SIGNED_URL_SECONDS", ge=10)
    ] = 300
    media_public_max_age_seconds: Annotated[
        int, Field(validation_alias="MEDIA_PUBLIC_MAX_AGE_SECONDS", ge=0)
    ] = 86400

    # Search (docs/content.md#search): how many of the newest posts holding the words a post
    # search ranks; older ones are not found
    search_ranked_posts: Annotated[
        int, Field(validation_alias="SEARCH_RANKED_POSTS", ge=1, le=100_000)
    ] = 500

    # AI mentor (docs/mentor.md): `builtin` (templates, no network) or `openai` (any
    # OpenAI-compatible chat-completions server at MENTOR_BASE_URL), limits and retention
    mentor_provider: Annotated[
        Literal["builtin", "openai"], Field(validation_alias="MENTOR_PROVIDER")
    ] = "builtin"
    mentor_base_url: Annotated[str, Field(validation_alias="MENTOR_BASE_URL")] = ""
    mentor_model: Annotated[str, Field(validation_alias="MENTOR_MODEL")] = ""
    mentor_api_key: Annotated[SecretStr, Field(validation_alias="MENTOR_API_KEY")] = SecretStr("")
    mentor_connect_timeout_seconds: Annotated[
        float, Field(validation_alias="MENTOR_CONNECT_TIMEOUT_SECONDS", gt=0)
    ] = 5.0
    mentor_read_timeout_seconds: Annotated[
        float, Field(validation_alias="MENTOR_READ_TIMEOUT_SECONDS", gt=0)
    ] = 30.0
    mentor_reply_timeout_seconds: Annotated[
        float, Field(validation_alias="MENTOR_REPLY_TIMEOUT_SECONDS", gt=0)
    ] = 120.0
    mentor_max_retries: Annotated[int, Field(validation_alias="MENTOR_MAX_RETRIES", ge=0)] = 2
    mentor_max_reply_tokens: Annotated[
        int, Field(validation_alias="MENTOR_MAX_REPLY_TOKENS", ge=16)
    ] = 800
    mentor_history_messages: Annotated[
        int, Field(validation_alias="MENTOR_HISTORY_MESSAGES", ge=0)
    ] = 12
    mentor_requests_per_minute: Annotated[
        int, Field(validation_alias="MENTOR_REQUESTS_PER_MINUTE", ge=1)
    ] = 6
    mentor_daily_quota: Annotated[int, Field(validation_alias="MENTOR_DAILY_QUOTA", ge=1)] = 50
    mentor_max_concurrent: Annotated[int, Field(validation_alias="MENTOR_MAX_CONCURRENT", ge=1)] = (
        256
    )
    mentor_retention_days: Annotated[int, Field(validation_alias="MENTOR_RETENTION_DAYS", ge=1)] = (
        90
    )
    mentor_cost_micros_per_1k_tokens: Annotated[
        int, Field(validation_alias="MENTOR_COST_MICROS_PER_1K_TOKENS", ge=0)
    ] = 0
    mentor_crisis_resources: Annotated[str, Field(validation_alias="MENTOR_CRISIS_RESOURCES")] = ""
    """JSON: {"US": ["988 Suicide & Crisis Lifeline: call or text 988"], ...}; "" = built-in."""

    # Messaging and the realtime gateway (docs/messaging.md)
    messaging_max_group_members: Annotated[
        int, Field(validation_alias="MESSAGING_MAX_GROUP_MEMBERS", ge=2, le=10_000)
    ] = 256
    messaging_messages_per_minute: Annotated[
        int, Field(validation_alias="MESSAGING_MESSAGES_PER_MINUTE", ge=1)
    ] = 120
    realtime_auth_seconds: Annotated[
        float, Field(validation_alias="REALTIME_AUTH_SECONDS", gt=0)
    ] = 10.0
    realtime_session_check_seconds: Annotated[
        float, Field(validation_alias="REALTIME_SESSION_CHECK_SECONDS", gt=0)
    ] = 30.0
    realtime_queue_limit: Annotated[int, Field(validation_alias="REALTIME_QUEUE_LIMIT", ge=1)] = 256
    realtime_max_frame_bytes: Annotated[
        int, Field(validation_alias="REALTIME_MAX_FRAME_BYTES", ge=256)
    ] = 4096
    realtime_bad_frames_allowed: Annotated[
        int, Field(validation_alias="REALTIME_BAD_FRAMES_ALLOWED", ge=0)
    ] = 10
    realtime_compression: Annotated[bool, Field(validation_alias="REALTIME_COMPRESSION")] = False
    """Offer WebSocket clients permessage-deflate (RFC 7692); read by `selflink-api run`."""

    # Notifications and Web Push (docs/notifications.md)
    vapid_private_key: Annotated[SecretStr, Field(validation_alias="VAPID_PRIVATE_KEY")] = (
        SecretStr("")
    )
    """The key pushes are signed with: base64url of the raw P-256 key or its DER; "" = no push."""
    vapid_subject: Annotated[str, Field(validation_alias="VAPID_SUBJECT")] = (
        "mailto:admin@selflink.local"
    )
    push_lease_seconds: Annotated[int, Field(validation_alias="PUSH_LEASE_SECONDS", ge=5)] = 60
    push_attempts: Annotated[int, Field(validation_alias="PUSH_ATTEMPTS", ge=1, le=20)] = 6
    push_retry_seconds: Annotated[float, Field(validation_alias="PUSH_RETRY_SECONDS", gt=0)] = 30.0
    notification_retention_days: Annotated[
        int, Field(validation_alias="NOTIFICATION_RETENTION_DAYS", ge=1)
    ] = 90

    # Payments (docs/payments.md): Stripe, reached with its own client at STRIPE_API_BASE
    stripe_api_key: Annotated[SecretStr, Field(validation_alias="STRIPE_API_KEY")] = SecretStr("")
    stripe_api_base: Annotated[str, Field(validation_alias="STRIPE_API_BASE")] = (
        "https://api.stripe.com"
    )
    stripe_webhook_secret: Annotated[SecretStr, Field(validation_alias="STRIPE_WEBHOOK_SECRET")] = (
        SecretStr("")
    )
    stripe_webhook_tolerance_seconds: Annotated[
        int, Field(validation_alias="STRIPE_WEBHOOK_TOLERANCE_SECONDS", ge=1)
    ] = 300
    stripe_webhook_max_bytes: Annotated[
        int, Field(validation_alias="STRIPE_WEBHOOK_MAX_BYTES", ge=1024)
    ] = 524_288
    stripe_timeout_seconds: Annotated[
        float, Field(validation_alias="STRIPE_TIMEOUT_SECONDS", gt=0)
    ] = 10.0
    stripe_max_retries: Annotated[int, Field(validation_alias="STRIPE_MAX_RETRIES", ge=0)] = 2
    stripe_price_plus_monthly: Annotated[
        str, Field(validation_alias="STRIPE_PRICE_PLUS_MONTHLY")
    ] = ""
    stripe_price_plus_yearly: Annotated[str, Field(validation_alias="STRIPE_PRICE_PLUS_YEARLY")] = (
        ""
    )
    payments_grace_days: Annotated[int, Field(validation_alias="PAYMENTS_GRACE_DAYS", ge=0)] = 7
    payments_plus_mentor_daily_quota: Annotated[
        int, Field(validation_alias="PAYMENTS_PLUS_MENTOR_DAILY_QUOTA", ge=1)
    ] = 500
    payments_free_recommendation_pages: Annotated[
        int, Field(validation_alias="PAYMENTS_FREE_RECOMMENDATION_PAGES", ge=1)
    ] = 50
    payments_plus_recommendation_pages: Annotated[
        int, Field(validation_alias="PAYMENTS_PLUS_RECOMMENDATION_PAGES", ge=1)
    ] = 1000

    # Moderation (docs/moderation.md)
    moderation_word_list: Annotated[str, Field(validation_alias="MODERATION_WORD_LIST")] = ""
    """Words and phrases that flag a new post, comment or message, comma- or newline-separated;
    matched as whole words in any case ("" flags nothing)."""
    moderation_rate_limit: Annotated[int, Field(validation_alias="MODERATION_RATE_LIMIT", ge=1)] = (
        20
    )
    """Posts and comments (or messages) in one window that flag the person as a rate anomaly."""
    moderation_rate_window_seconds: Annotated[
        int, Field(validation_alias="MODERATION_RATE_WINDOW_SECONDS", ge=1)
    ] = 60

    # Outgoing mail: smtp://user:password@host:587 (STARTTLS) or smtps://...:465
    smtp_url: Annotated[SecretStr, Field(validation_alias="SMTP_URL")] = SecretStr("")
    mail_from: Annotated[str, Field(validation_alias="MAIL_FROM")] = (
        "SelfLink <no-reply@selflink.local>"
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(
                ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
            )
        return value

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("media_storage_url")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        if value and not value.startswith(MEDIA_STORAGE_SCHEMES):
            msg = f"MEDIA_STORAGE_URL must start with one of {', '.join(MEDIA_STORAGE_SCHEMES)}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.profile is not Profile.PRODUCTION:
            return self
        problems = []
        if self.secret_key.get_secret_value() in {"", DEFAULT_SECRET_KEY}:
            problems.append("SECRET_KEY is missing or the development default")
        elif len(self.secret_key.get_secret_value()) < 32:
            problems.append("SECRET_KEY must be at least 32 characters")
        if not self.database_url or self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must point at PostgreSQL, not SQLite")
        if self.debug:
            problems.append("SELFLINK_DEBUG must be off")
        if not self.pii_keys.get_secret_value() or not self.pii_index_key.get_secret_value():
            problems.append("PII_KEYS and PII_INDEX_KEY must be set")
        if problems:
            raise InsecureSettingsError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL: PostgreSQL through asyncpg, or the embedded SQLite file."""
        url = self.database_url or f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}"
        for prefix in ("postgresql://", "postgres://", "postgresql+psycopg://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url.removeprefix(prefix)
        if url.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
        return url

    @property
    def media_storage(self) -> str:
        """Where media live, as a URL: `MEDIA_STORAGE_URL`, or the local `./var/media`."""
        return self.media_storage_url or DEFAULT_MEDIA_PATH.resolve().as_uri()

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def should_migrate_on_startup(self) -> bool:
        if self.migrate_on_startup is not None:
            return self.migrate_on_startup
        return self.profile is Profile.LOCAL

    @property
    def should_run_schedules(self) -> bool:
        """In-process cron runs locally; under SAQ the workers own the schedules."""
        if self.run_schedules is not None:
            return self.run_schedules
        return self.profile is Profile.LOCAL and not self.redis_url


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (used by tests and tools)."""
    return Settings(**overrides)  # type: ignore[arg-type]
