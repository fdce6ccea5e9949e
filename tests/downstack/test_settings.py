"""Settings come from the environment; a bad value names the variable."""

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.db.utils import ConnectionHandler

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


@pytest.mark.parametrize("url", [None, "sqlite:////srv/downstack/db.sqlite3"])
def test_sqlite_waits_its_turn_to_write_in_wal_mode(monkeypatch, url):
    if url is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", url)
    options = envconfig.env_database("DATABASE_URL", Path("/x/db.sqlite3"))["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    pragmas = [p.strip() for p in options["init_command"].split(";")]
    assert "PRAGMA journal_mode=WAL" in pragmas


def test_postgres_gets_no_sqlite_options(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://db.internal/ds")
    assert envconfig.env_database("DATABASE_URL", Path("/unused"))["OPTIONS"] == {}


EMBEDDED = "embedded_sqlite"


@pytest.fixture
def embedded_sqlite(monkeypatch, tmp_path, django_db_blocker):
    """A database alias on a fresh SQLite file, configured as the embedded default is.

    Whatever database the test run itself uses (PostgreSQL in CI), this one is SQLite.
    """
    monkeypatch.delenv("DATABASE_URL", raising=False)
    entry = envconfig.env_database("DATABASE_URL", tmp_path / "db.sqlite3")
    # A handler fills in the keys Django adds to every DATABASES entry.
    configured = ConnectionHandler({"default": entry}).settings["default"]
    monkeypatch.setitem(connections.settings, EMBEDDED, configured)
    with django_db_blocker.unblock():
        with connections[EMBEDDED].cursor() as cursor:
            cursor.execute("CREATE TABLE attempts (who TEXT, seen INTEGER)")
        yield EMBEDDED
        connections[EMBEDDED].close()
    del connections[EMBEDDED]


def test_embedded_sqlite_connection_reports_wal(embedded_sqlite):
    with connections[embedded_sqlite].cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        # FULL: a commit, an accepted submission, survives a power cut.
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2


def _read_then_write(alias: str, who: str, *, after_read, before_begin=None) -> None:
    """One transaction that counts the rows, then adds one: a submission's shape."""

    def watch_begin(execute, sql, params, many, context):
        if before_begin and sql.startswith("BEGIN "):
            before_begin(sql)
        return execute(sql, params, many, context)

    connection = connections[alias]
    try:
        with connection.execute_wrapper(watch_begin), transaction.atomic(using=alias):
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM attempts")
                (seen,) = cursor.fetchone()
                after_read()
                cursor.execute("INSERT INTO attempts VALUES (%s, %s)", [who, seen])
    finally:
        connection.close()


def test_two_writers_that_read_first_both_commit_one_after_the_other(embedded_sqlite):
    """Both transactions read before either writes, the interleaving that made one of two
    concurrent submissions fail with "database is locked"; both must now get through."""
    first_has_read = threading.Event()
    second_is_in = threading.Event()

    def first_waits_for_second():
        first_has_read.set()
        assert second_is_in.wait(timeout=60), "the second writer never started"

    def second_is_in_its_transaction(sql=None):
        # A deferred transaction is in once it has read. An immediate one asks for the
        # write lock as it begins, and then waits for the first to commit, so the first
        # must not wait for its read.
        if sql is None or sql.split()[1] in ("IMMEDIATE", "EXCLUSIVE"):
            second_is_in.set()

    def second():
        assert first_has_read.wait(timeout=60), "the first writer never read"
        _read_then_write(
            embedded_sqlite,
            "second",
            after_read=second_is_in_its_transaction,
            before_begin=second_is_in_its_transaction,
        )

    with ThreadPoolExecutor(2) as pool:
        writers = [
            pool.submit(
                _read_then_write, embedded_sqlite, "first", after_read=first_waits_for_second
            ),
            pool.submit(second),
        ]
        for writer in writers:
            writer.result()  # re-raises "database is locked" from either thread

    with connections[embedded_sqlite].cursor() as cursor:
        cursor.execute("SELECT seen FROM attempts ORDER BY seen")
        # One after the other: the later transaction saw the earlier one's row.
        assert [seen for (seen,) in cursor.fetchall()] == [0, 1]


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
