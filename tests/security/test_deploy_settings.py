"""Production settings pass Django's deployment checks, while a fresh clone (the demo,
the tests) keeps serving plain HTTP on the development key."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from downstack import envconfig

ROOT = Path(__file__).resolve().parents[2]
# Variables of this machine's environment that would change what is being checked.
CLEARED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_COOKIES",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
)


def production(tmp_path, **extra) -> dict:
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "downstack.example.org",
        "DOWNSTACK_VAR_DIR": str(tmp_path),
        **extra,
    }


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def setting_values(env: dict, *names: str) -> list[str]:
    code = "from django.conf import settings; " + "; ".join(
        f"print(repr(settings.{name}))" for name in names
    )
    done = manage(env, "shell", "--no-imports", "-c", code)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")[: len(names)]


def test_check_deploy_is_clean_in_production(tmp_path):
    done = manage(
        production(tmp_path, SECURE_HSTS_PRELOAD="true"),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_hsts_preload_is_the_one_deliberate_opt_in(tmp_path):
    done = manage(production(tmp_path), "check", "--deploy")
    warnings = [line.split(")")[0] for line in done.stderr.splitlines() if "(security." in line]
    assert warnings == ["?: (security.W021"], done.stderr


def test_production_defaults_are_https_only(tmp_path):
    values = setting_values(
        production(tmp_path),
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert values == ["True", "True", "True", "31536000", "True", "None"]


def test_a_fresh_clone_serves_plain_http(tmp_path):
    values = setting_values(
        {"DOWNSTACK_VAR_DIR": str(tmp_path)},
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_PRELOAD",
    )
    assert values == ["False", "False", "0", "False"]


def test_each_https_setting_can_be_overridden(tmp_path):
    values = setting_values(
        production(
            tmp_path,
            SECURE_SSL_REDIRECT="false",  # the proxy redirects
            SECURE_HSTS_SECONDS="3600",
            SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        ),
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert values == ["False", "3600", "('HTTP_X_FORWARDED_PROTO', 'https')"]


@pytest.mark.parametrize("value", ["X-Forwarded-Proto: https", "X Forwarded", "é"])
def test_a_bad_proxy_header_stops_startup_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", value)
    with pytest.raises(ImproperlyConfigured, match="SECURE_PROXY_SSL_HEADER"):
        envconfig.env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
