"""One typed settings object, read from the environment and `.env`, validated at start-up.

Every setting is an upper-case environment variable of the same name as the field. Errors name
the offending variable so that a mis-configured deployment fails with one clear line.
"""

from __future__ import annotations

import json
import os
import secrets
import types
import typing
from pathlib import Path
from typing import Any, Literal

import msgspec

Environment = Literal["development", "test", "production"]
StorageBackend = Literal["local", "s3"]

# Values people paste from tutorials; never acceptable as a production signing key.
KNOWN_PLACEHOLDER_KEYS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "secretkey",
        "secret-key",
        "your-secret-key",
        "please-change-me",
        "development",
        "insecure",
        "replace-me-with-a-long-random-string-of-at-least-32-chars",
    }
)
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_DEV_ORIGINS = ("http://localhost:8000", "http://127.0.0.1:8000")


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the environment variable."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    environment: Environment = "development"
    debug: bool = False
    log_level: str = "INFO"
    log_json: bool | None = None  # None: JSON in production, console elsewhere
    data_dir: str = "./.interviewace"

    secret_key: str = ""
    database_url: str = ""
    redis_url: str = ""
    database_pool_size: int = 20
    allowed_origins: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_DEV_ORIGINS))
    public_base_url: str = "http://127.0.0.1:8000"

    sentry_dsn: str = ""
    sentry_traces_sample_rate: float = 0.0
    release: str = ""

    # Accounts
    jwt_issuer: str = "interviewace"
    jwt_audience: str = "interviewace-api"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 7 * 24 * 3600
    require_email_verification: bool = False
    initial_admin_email: str = ""
    initial_admin_password: str = ""
    password_hash_threads: int = 4
    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile). Tests lower them.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 64 * 1024
    password_hash_parallelism: int = 4
    rate_limit_enabled: bool = True

    # Mail
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "InterviewAce <no-reply@interviewace.local>"
    smtp_tls: bool = True

    # LLM providers
    llm_providers: list[str] = msgspec.field(default_factory=lambda: ["openai", "gemini", "offline"])
    openai_api_key: str = ""
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str = ""
    gemini_api_key: str = ""
    gemini_model: str = "gemini-2.0-flash"
    llm_connect_timeout_seconds: float = 5.0
    llm_first_token_timeout_seconds: float = 15.0
    llm_total_timeout_seconds: float = 120.0
    llm_max_retries: int = 2
    llm_breaker_failure_threshold: int = 3
    llm_breaker_reset_seconds: float = 30.0
    offline_tokens_per_second: float = 40.0
    offline_seed: int = 0

    # Resumes and storage
    storage_backend: StorageBackend = "local"
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    resume_max_bytes: int = 5 * 1024 * 1024
    resume_quota_per_user: int = 50
    resume_retention_days: int = 30
    # Test only (refused outside ENVIRONMENT=test): hold every resume parse this long once its text is
    # extracted, so that a test can kill a worker while a parse is provably in flight.
    resume_parse_test_delay_seconds: float = 0.0

    # Live interview channel (websocket.md); tests shorten the timeouts
    ws_hello_timeout_seconds: float = 10.0
    ws_idle_timeout_seconds: float = 60.0
    # How long an interview's in-flight work stays owned by a process that stops renewing it.
    interview_lease_seconds: float = 6.0
    # An interview in progress with no new event for this long is marked abandoned.
    interview_abandon_after_hours: float = 24.0

    # Workers
    worker_processes: int = 1
    worker_threads: int = 4
    # A worker killed mid-task gets its message back after this long without a heartbeat.
    worker_heartbeat_timeout_seconds: float = 60.0
    # Out of every million broker commands, how many also move the messages of workers without a
    # recent heartbeat back to their queues (Dramatiq's "maintenance"; 1000 is Dramatiq's default).
    worker_maintenance_chance: int = 1000

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(Settings)
    return {name: hints[name] for name in Settings.__struct_fields__}


def _is_list_type(tp: Any) -> bool:
    if typing.get_origin(tp) is list:
        return True
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_is_list_type(arg) for arg in typing.get_args(tp))
    return False


def _parse_list(raw: str) -> list[str]:
    """Lists come as a JSON array or as comma-separated values."""
    raw = raw.strip()
    if raw.startswith("["):
        value = json.loads(raw)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a JSON list of strings")
        return [v.strip() for v in value if v.strip()]
    return [part.strip() for part in raw.split(",") if part.strip()]


def read_dotenv(path: Path) -> dict[str, str]:
    """A deliberately small .env reader: KEY=VALUE lines, optional quotes, # comments."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def load_settings(
    env: typing.Mapping[str, str] | None = None,
    *,
    dotenv_path: Path | None = Path(".env"),
    ensure_secret: bool = True,
) -> Settings:
    """Build Settings from `.env` overlaid by the real environment, then validate them."""
    source: dict[str, str] = {}
    if dotenv_path is not None:
        source.update(read_dotenv(dotenv_path))
    source.update(os.environ if env is None else env)

    raw: dict[str, Any] = {}
    for name, tp in _field_types().items():
        var = name.upper()
        if var not in source:
            continue
        value = source[var]
        try:
            if _is_list_type(tp):
                raw[name] = _parse_list(value)
            elif value == "" and type(None) in typing.get_args(tp):
                raw[name] = None
            else:
                raw[name] = msgspec.convert(value, tp, strict=False)
        except (msgspec.ValidationError, ValueError) as exc:
            raise SettingsError(f"{var} is invalid: {exc}") from None

    try:
        settings = msgspec.convert(raw, Settings)
    except msgspec.ValidationError as exc:  # pragma: no cover - per-field conversion catches these
        raise SettingsError(str(exc)) from None
    _validate(settings)
    if ensure_secret and not settings.secret_key:
        settings = msgspec.structs.replace(settings, secret_key=_development_secret(settings))
    return settings


def _validate(settings: Settings) -> None:
    if settings.is_production:
        key = settings.secret_key
        if len(key) < MIN_SECRET_KEY_LENGTH or key.lower() in KNOWN_PLACEHOLDER_KEYS:
            raise SettingsError(
                f"SECRET_KEY must be a random string of at least {MIN_SECRET_KEY_LENGTH} characters in "
                "production (python -c 'import secrets; print(secrets.token_urlsafe(48))' makes one)"
            )
        if not settings.database_url:
            raise SettingsError("DATABASE_URL must be set in production (no embedded database)")
        if not settings.redis_url:
            raise SettingsError("REDIS_URL must be set in production (no embedded Redis)")
        if any("*" in origin for origin in settings.allowed_origins):
            raise SettingsError("ALLOWED_ORIGINS must list explicit origins in production (no wildcard)")
    for origin in settings.allowed_origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise SettingsError(f"ALLOWED_ORIGINS has an entry that is not an origin: {origin!r}")
    for provider in settings.llm_providers:
        if provider not in ("openai", "gemini", "offline"):
            raise SettingsError(f"LLM_PROVIDERS names an unknown provider: {provider!r}")
    if (
        settings.resume_max_bytes < 1
        or settings.resume_quota_per_user < 0
        or settings.resume_retention_days < 0
    ):
        raise SettingsError(
            "RESUME_MAX_BYTES must be positive; RESUME_QUOTA_PER_USER and RESUME_RETENTION_DAYS not negative"
        )
    if settings.resume_parse_test_delay_seconds and settings.environment != "test":
        raise SettingsError("RESUME_PARSE_TEST_DELAY_SECONDS is for the test suite only (ENVIRONMENT=test)")
    if not 0 <= settings.worker_maintenance_chance <= 1_000_000:
        raise SettingsError("WORKER_MAINTENANCE_CHANCE must be between 0 and 1000000")
    if settings.storage_backend == "s3" and not settings.s3_bucket:
        raise SettingsError("S3_BUCKET must be set when STORAGE_BACKEND=s3")
    if settings.access_token_ttl_seconds <= 0 or settings.refresh_token_ttl_seconds <= 0:
        raise SettingsError("ACCESS_TOKEN_TTL_SECONDS and REFRESH_TOKEN_TTL_SECONDS must be positive")
    if settings.password_hash_threads < 1 or settings.password_hash_time_cost < 1:
        raise SettingsError("PASSWORD_HASH_THREADS and PASSWORD_HASH_TIME_COST must be at least 1")
    if settings.password_hash_parallelism < 1:
        raise SettingsError("PASSWORD_HASH_PARALLELISM must be at least 1")
    if settings.password_hash_memory_kib < 8 * settings.password_hash_parallelism:
        raise SettingsError("PASSWORD_HASH_MEMORY_KIB must be at least 8 × PASSWORD_HASH_PARALLELISM")


def _development_secret(settings: Settings) -> str:
    """Generate a signing key once per data dir so tokens survive restarts in development."""
    from server.core.logging import get_logger

    key_file = settings.data_path / "secret_key"
    if key_file.is_file():
        return key_file.read_text(encoding="utf-8").strip()
    settings.data_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once agree on one key instead of overwriting each other.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    get_logger(__name__).warning(
        "secret_key_generated", path=str(key_file), hint="set SECRET_KEY to choose your own"
    )
    return key


_settings: Settings | None = None


def get_settings() -> Settings:
    """Process-wide settings, loaded once. Tests and the CLI may call `reset_settings()`."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def reset_settings(settings: Settings | None = None) -> None:
    global _settings
    _settings = settings
