"""Settings: profiles, parsing, and the production profile's refusals."""

import pytest
from pydantic import ValidationError

from selflink_api.platform.crypto import generate_key
from selflink_api.settings import DEFAULT_SECRET_KEY, Profile, load_settings

STRONG_KEY = "k" * 48
POSTGRES = "postgresql://selflink@db.internal/selflink"
PII = {"PII_KEYS": f"k1:{generate_key()}", "PII_INDEX_KEY": generate_key()}


def settings(**values: object):  # type: ignore[no-untyped-def]
    return load_settings(_env_file=None, **values)


def test_defaults_are_the_embedded_local_setup() -> None:
    local = settings()
    assert local.profile is Profile.LOCAL
    assert local.sqlalchemy_url == "sqlite+aiosqlite:///var/selflink.sqlite3"
    assert local.should_migrate_on_startup
    assert local.should_run_schedules
    assert not local.redis_url


def test_database_url_variants_select_asyncpg() -> None:
    for url in ("postgresql://u@h/d", "postgres://u@h/d", "postgresql+psycopg://u@h/d"):
        assert settings(DATABASE_URL=url).sqlalchemy_url == "postgresql+asyncpg://u@h/d"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    loaded = load_settings(_env_file=None)
    assert loaded.sqlalchemy_url.startswith("postgresql+asyncpg://")
    assert [str(n) for n in loaded.trusted_proxies] == ["10.0.0.0/8", "192.168.1.1/32"]
    assert not loaded.should_run_schedules  # with Redis, SAQ workers own the schedules


def test_production_starts_with_safe_settings() -> None:
    production = settings(
        SELFLINK_PROFILE="production", SECRET_KEY=STRONG_KEY, DATABASE_URL=POSTGRES, **PII
    )
    assert production.profile is Profile.PRODUCTION
    assert not production.should_migrate_on_startup


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"DATABASE_URL": POSTGRES, **PII}, "SECRET_KEY is missing or the development default"),
        (
            {"DATABASE_URL": POSTGRES, "SECRET_KEY": DEFAULT_SECRET_KEY, **PII},
            "SECRET_KEY is missing or the development default",
        ),
        ({"DATABASE_URL": POSTGRES, "SECRET_KEY": "short", **PII}, "at least 32 characters"),
        ({"SECRET_KEY": STRONG_KEY, **PII}, "must point at PostgreSQL"),
        (
            {"SECRET_KEY": STRONG_KEY, "DATABASE_URL": "sqlite:///x.db", **PII},
            "must point at PostgreSQL",
        ),
        (
            {"SECRET_KEY": STRONG_KEY, "DATABASE_URL": POSTGRES, "SELFLINK_DEBUG": True, **PII},
            "SELFLINK_DEBUG must be off",
        ),
        ({"DATABASE_URL": POSTGRES, "SECRET_KEY": STRONG_KEY}, "PII_KEYS and PII_INDEX_KEY"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        settings(SELFLINK_PROFILE="production", **overrides)
