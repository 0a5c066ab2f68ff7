"""Settings: parsing from the environment and .env, and the production guard rails."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.core.settings import SettingsError, load_settings

STRONG_KEY = "k" * 48


def load(env: dict[str, str], tmp_path: Path, dotenv: str | None = None) -> object:
    dotenv_path = tmp_path / ".env"
    if dotenv is not None:
        dotenv_path.write_text(dotenv)
    return load_settings({"DATA_DIR": str(tmp_path / "data"), **env}, dotenv_path=dotenv_path)


def test_defaults_in_development(tmp_path: Path) -> None:
    settings = load({}, tmp_path)
    assert settings.environment == "development"  # type: ignore[attr-defined]
    assert settings.allowed_origins == ["http://localhost:8000", "http://127.0.0.1:8000"]  # type: ignore[attr-defined]
    assert settings.access_token_ttl_seconds == 900  # type: ignore[attr-defined]


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load({}, tmp_path).secret_key  # type: ignore[attr-defined]
    second = load({}, tmp_path).secret_key  # type: ignore[attr-defined]
    assert len(first) >= 32
    assert first == second
    assert (tmp_path / "data" / "secret_key").read_text() == first


def test_lists_accept_json_or_commas(tmp_path: Path) -> None:
    as_json = load({"ALLOWED_ORIGINS": '["https://a.example", "https://b.example"]'}, tmp_path)
    as_commas = load({"ALLOWED_ORIGINS": "https://a.example, https://b.example"}, tmp_path)
    assert as_json.allowed_origins == as_commas.allowed_origins == ["https://a.example", "https://b.example"]  # type: ignore[attr-defined]


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    settings = load({"LOG_LEVEL": "DEBUG"}, tmp_path, dotenv='LOG_LEVEL=ERROR\nRELEASE="v9"\n# comment\n')
    assert settings.log_level == "DEBUG"  # type: ignore[attr-defined]
    assert settings.release == "v9"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"ACCESS_TOKEN_TTL_SECONDS": "soon"}, "ACCESS_TOKEN_TTL_SECONDS"),
        ({"RATE_LIMIT_ENABLED": "perhaps"}, "RATE_LIMIT_ENABLED"),
        ({"ENVIRONMENT": "staging"}, "ENVIRONMENT"),
        ({"LLM_PROVIDERS": "openai,skynet"}, "LLM_PROVIDERS"),
        ({"ALLOWED_ORIGINS": "not-an-origin"}, "ALLOWED_ORIGINS"),
        ({"ALLOWED_ORIGINS": "[1, 2]"}, "ALLOWED_ORIGINS"),
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
        ({"ACCESS_TOKEN_TTL_SECONDS": "0"}, "ACCESS_TOKEN_TTL_SECONDS"),
    ],
)
def test_invalid_values_name_the_variable(tmp_path: Path, env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load(env, tmp_path)


PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": STRONG_KEY,
    "DATABASE_URL": "postgresql://app@db/app",
    "REDIS_URL": "redis://cache:6379/0",
    "ALLOWED_ORIGINS": "https://interviewace.example",
}


def test_production_accepts_a_complete_configuration(tmp_path: Path) -> None:
    settings = load(PRODUCTION, tmp_path)
    assert settings.is_production  # type: ignore[attr-defined]
    assert settings.json_logs  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-but-random-Xk29"}, "SECRET_KEY"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"ALLOWED_ORIGINS": "*"}, "ALLOWED_ORIGINS"),
        ({"ALLOWED_ORIGINS": "https://ok.example,*"}, "ALLOWED_ORIGINS"),
    ],
)
def test_production_refuses_unsafe_configuration(
    tmp_path: Path, override: dict[str, str], names: str
) -> None:
    with pytest.raises(SettingsError, match=names):
        load({**PRODUCTION, **override}, tmp_path)
