"""Settings come from the environment; a bad value names the variable."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from downstack import envconfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "engine", "name"),
    [
        ("postgres://u:p%40ss@db.internal:5433/downstack", "postgresql", "downstack"),
        ("postgresql://localhost/ds?sslmode=require", "postgresql", "ds"),
        ("sqlite:////srv/downstack/db.sqlite3", "sqlite3", "/srv/downstack/db.sqlite3"),
    ],
)
def test_database_url_is_parsed(monkeypatch, url, engine, name):
    monkeypatch.setenv("DATABASE_URL", url)
    db = envconfig.env_database("DATABASE_URL", Path("/unused"))
    assert db["ENGINE"].endswith(engine)
    assert str(db["NAME"]) == name


def test_postgres_url_keeps_credentials_and_options(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p%40ss@db.internal:5433/ds?sslmode=require")
    db = envconfig.env_database("DATABASE_URL", Path("/unused"))
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "u",
        "p@ss",
        "db.internal",
        "5433",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_unset_database_url_means_sqlite_under_var(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = envconfig.env_database("DATABASE_URL", tmp_path / "db.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == tmp_path / "db.sqlite3"


@pytest.mark.parametrize(
    ("name", "value", "reader"),
    [
        (
            "DATABASE_URL",
            "mysql://localhost/x",
            lambda: envconfig.env_database("DATABASE_URL", Path("/x")),
        ),
        (
            "DATABASE_URL",
            "postgres://localhost/",
            lambda: envconfig.env_database("DATABASE_URL", Path("/x")),
        ),
        ("CELERY_BROKER_URL", "kafka://x", lambda: envconfig.env_broker_url("CELERY_BROKER_URL")),
        ("DEBUG", "maybe", lambda: envconfig.env_bool("DEBUG", False)),
        ("GRADING_MAX_TIMEOUT_S", "ten", lambda: envconfig.env_int("GRADING_MAX_TIMEOUT_S", 1)),
        (
            "GRADING_MAX_TIMEOUT_S",
            "0",
            lambda: envconfig.env_int("GRADING_MAX_TIMEOUT_S", 1, minimum=1),
        ),
        (
            "GRADING_RUNTIME",
            "kata",
            lambda: envconfig.env_choice("GRADING_RUNTIME", "", ("", "runsc")),
        ),
    ],
)
def test_bad_value_raises_improperly_configured_naming_the_variable(
    monkeypatch, name, value, reader
):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        reader()


def _settings_in_subprocess(env_overrides: dict, expr: str) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(env_overrides)
    code = f"from django.conf import settings; print({expr})"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_without_broker_url_the_filesystem_transport_under_var_is_used(tmp_path):
    done = _settings_in_subprocess(
        {"DOWNSTACK_VAR_DIR": str(tmp_path)},
        "settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in']",
    )
    assert done.returncode == 0, done.stderr
    assert "filesystem://" in done.stdout and str(tmp_path / "broker") in done.stdout


def test_bad_setting_stops_startup_with_the_variable_named(tmp_path):
    done = _settings_in_subprocess(
        {"DOWNSTACK_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": "ftp://nope"}, "1"
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: CELERY_BROKER_URL" in done.stderr


def test_time_limits_nest():
    from django.conf import settings

    assert settings.GRADING_MAX_TIMEOUT_S < settings.GRADING_SOFT_TIME_LIMIT_S
    assert settings.GRADING_SOFT_TIME_LIMIT_S < settings.GRADING_HARD_TIME_LIMIT_S
    assert (
        settings.GRADING_HARD_TIME_LIMIT_S
        < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    )
    assert settings.GRADING_RETRY_BACKOFF_MAX_S < settings.GRADING_REQUEUE_AFTER_S


def test_cache_url_must_be_redis(tmp_path):
    done = _settings_in_subprocess(
        {"DOWNSTACK_VAR_DIR": str(tmp_path), "CACHE_URL": "memcached://x"}, "1"
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: CACHE_URL" in done.stderr


def test_redis_cache_url_selects_the_redis_cache(tmp_path):
    done = _settings_in_subprocess(
        {"DOWNSTACK_VAR_DIR": str(tmp_path), "CACHE_URL": "redis://127.0.0.1:6379/3"},
        "settings.CACHES['default']['BACKEND']",
    )
    assert done.returncode == 0, done.stderr
    assert "RedisCache" in done.stdout
