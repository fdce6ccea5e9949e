"""Strict readers for configuration from environment variables.

Every reader takes the variable's name and an embedded default, and raises
ImproperlyConfigured naming the variable when a value is set but unusable, so a typo
in production fails at start-up instead of misbehaving later.
"""

import os
import re
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_admins(name: str) -> list[tuple[str, str]]:
    """ADMINS from "Name <a@example.org>, b@example.org": (name, address) pairs."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return []
    admins = getaddresses([raw])
    for _, address in admins:
        if "@" not in address:
            raise ImproperlyConfigured(
                f"{name} must be addresses such as 'Ops <ops@example.org>, b@example.org', "
                f"not {raw!r}"
            )
    return admins


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


# Connections outlive a request (checked before reuse): a new one per request costs a
# PostgreSQL backend start, and for SQLite a cold page cache, every time.
PERSISTENT = {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}


# SQLite with several writers at once: the web workers and the Celery workers are separate
# processes on one file. Django's defaults (a rollback journal, deferred transactions) make
# a transaction that read before it writes, such as a submission counting the learner's
# attempts before storing the new one, fail at once with "database is locked" whenever
# another process is writing, instead of waiting its turn.
SQLITE_OPTIONS = {
    # Busy timeout, in seconds: a connection that finds the write lock taken waits up to
    # this long for it rather than failing at once.
    "timeout": 20,
    # BEGIN IMMEDIATE: every transaction (atomic block) takes the write lock as it starts,
    # where it can wait under the busy timeout. A deferred one that has already read may
    # not wait for the lock (that could deadlock), so SQLite refuses it on the spot.
    "transaction_mode": "IMMEDIATE",
    # Run on every new connection. WAL: readers and the one writer no longer block each
    # other, so pages, API polls and workers' reads go on during a write. The mode is kept
    # in the file, so setting it again costs nothing. synchronous stays FULL, SQLite's
    # default: NORMAL makes a commit far cheaper (no fsync of its own) and cannot corrupt
    # the file, but in WAL mode a power cut may undo the last commits, submissions already
    # accepted among them; a 30-learner rush (bench/rush.py) was no faster with it.
    "init_command": "PRAGMA journal_mode=WAL",
}


def _sqlite(path: Path | str) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        **PERSISTENT,
        "OPTIONS": dict(SQLITE_OPTIONS),
    }


def env_database(name: str, default_sqlite: Path) -> dict:
    """A DATABASES entry from a URL: postgres://user:pass@host:port/db or sqlite:///path."""
    raw = os.environ.get(name)
    if not raw:
        return {
            **_sqlite(default_sqlite),
            "TEST": {"NAME": default_sqlite.with_name("test.sqlite3")},
        }
    url = urlsplit(raw)
    if url.scheme in ("postgres", "postgresql"):
        db = url.path.lstrip("/")
        if not db:
            raise ImproperlyConfigured(
                f"{name} must name a database, e.g. postgres://host/downstack"
            )
        options = {k: v[-1] for k, v in parse_qs(url.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(db),
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "",
            "PORT": str(url.port or ""),
            **PERSISTENT,
            "OPTIONS": options,
        }
    if url.scheme == "sqlite":
        path = unquote(url.path)[1:]  # sqlite:///rel/path, sqlite:////abs/path
        if not path or path == "/":
            raise ImproperlyConfigured(f"{name} must name a file, e.g. sqlite:///var/db.sqlite3")
        return _sqlite(path)
    raise ImproperlyConfigured(
        f"{name} must start with postgres://, postgresql:// or sqlite://, not {url.scheme!r}"
    )


def env_broker_url(name: str) -> str | None:
    """The broker URL, or None when unset (the caller then picks the filesystem broker)."""
    raw = os.environ.get(name)
    if not raw:
        return None
    scheme = urlsplit(raw).scheme
    if scheme not in ("redis", "rediss", "amqp", "amqps", "pyamqp", "filesystem", "memory"):
        raise ImproperlyConfigured(
            f"{name} must be a redis://, amqp:// or filesystem:// URL, not {raw!r}"
        )
    return raw


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER from a header name such as X-Forwarded-Proto, or None."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]+", raw):
        raise ImproperlyConfigured(
            f"{name} must be a header name such as X-Forwarded-Proto, not {raw!r}"
        )
    return ("HTTP_" + raw.upper().replace("-", "_"), "https")
