"""Downstack settings: one module, every value from the environment with an embedded default.

A fresh clone runs with no servers but Docker: SQLite and a filesystem broker under var/,
submissions on the local filesystem. Production sets DATABASE_URL, CELERY_BROKER_URL and
the rest; nothing here exists only in production.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from downstack.envconfig import (
    env_admins,
    env_bool,
    env_broker_url,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_proxy_ssl_header,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("DOWNSTACK_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
_DEV_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The site's public address (https://learn.example.org): the issuer that credentials
# name (records.credentials). Empty: the address each request came in on.
SITE_URL = env_str("SITE_URL", "")

# HTTPS. DEBUG is off by default, so it cannot tell a deployment from a fresh clone on
# its own; a real SECRET_KEY can, because every deployment must set one. A deployment then
# gets the safe defaults (HTTPS only, secure cookies, a year of HSTS), while the demo and
# the tests, on the development key, keep serving plain HTTP on 127.0.0.1.
_DEPLOYED = not DEBUG and SECRET_KEY != _DEV_SECRET_KEY
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _DEPLOYED)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", _DEPLOYED)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if _DEPLOYED else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _DEPLOYED)
# Asking browsers to preload HTTPS-only for the domain is hard to undo, so it is opt-in.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy: the header it sets to "https" (e.g. X-Forwarded-Proto).
# Unset by default, because trusting it without such a proxy lets clients fake HTTPS.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
# The operator's probes and Prometheus ask over plain HTTP from inside the deployment.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
# /metrics wants this as a Bearer token; unset, it is served to the loopback address only.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts",
    "catalog",
    "grading",
    "records",
    "cohorts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.TimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "downstack.urls"
WSGI_APPLICATION = "downstack.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "grading.context_processors.infra_alert",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", VAR_DIR / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:lab_list"
LOGOUT_REDIRECT_URL = "login"
# Who may create an account at /signup/: anyone ("open"), only someone with a live
# cohort invite, who joins its cohort on the way ("invite"), or nobody ("closed": staff
# create accounts in the admin).
SIGNUP = env_choice("SIGNUP", "invite", ("open", "invite", "closed"))

# Email (password resets). Printed to the console unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_PORT = env_int("EMAIL_PORT", 587 if EMAIL_USE_TLS else 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
# A web worker waits at most this long for the SMTP server.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Downstack <downstack@localhost>")
# Who gets the operator's alerts (grading.alerts), as "Name <a@b>, c@d".
ADMINS = env_admins("ADMINS")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = "[Downstack] "

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {
        "BACKEND": env_str("SUBMISSION_STORAGE", "django.core.files.storage.FileSystemStorage")
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Labs live in the repository as data; `manage.py labs sync` loads them.
LABS_DIR = Path(env_str("LABS_DIR", str(BASE_DIR / "labs")))

# Grading. Limits nest so that each layer fails before the one outside it:
# sandbox wall time (per lab, at most GRADING_MAX_TIMEOUT_S) < Celery soft limit
# < Celery hard limit < broker visibility timeout. A dead worker's job is recovered by
# its lease (below), not by these limits.
GRADING_MAX_TIMEOUT_S = env_int("GRADING_MAX_TIMEOUT_S", 120, minimum=1)
GRADING_SOFT_TIME_LIMIT_S = GRADING_MAX_TIMEOUT_S + 30
GRADING_HARD_TIME_LIMIT_S = GRADING_MAX_TIMEOUT_S + 60
GRADING_RUNTIME = env_choice("GRADING_RUNTIME", "", ("", "runc", "runsc")) or None
GRADING_MAX_RETRIES = env_int("GRADING_MAX_RETRIES", 8, minimum=0)
GRADING_RETRY_BACKOFF_S = env_int("GRADING_RETRY_BACKOFF_S", 5, minimum=1)
# A claimed job's lease: its worker renews it every third of this while the sandbox
# runs, and the reaper re-queues a job whose lease lapsed (its worker died) at its next
# round, so a crash costs a learner at most the lease plus the reap interval.
GRADING_LEASE_S = env_int("GRADING_LEASE_S", 60, minimum=3)
GRADING_REAP_INTERVAL_S = env_int("GRADING_REAP_INTERVAL_S", 60, minimum=1)
# A queued row whose message is older than this is assumed lost and sent again; it must
# exceed the longest retry countdown so that a pending retry is not doubled needlessly.
GRADING_REQUEUE_AFTER_S = env_int("GRADING_REQUEUE_AFTER_S", 900, minimum=60)
GRADING_RETRY_BACKOFF_MAX_S = 300
# The checks a running checker streams are stored as they come, but at most once per
# this many milliseconds, so that a chatty checker cannot hammer the database.
GRADING_PROGRESS_WRITE_MS = env_int("GRADING_PROGRESS_WRITE_MS", 500, minimum=50)
# Every grading worker writes a heartbeat this often, with whether its Docker engine
# answers, to its WorkerHeartbeat row.
GRADING_HEARTBEAT_S = env_int("GRADING_HEARTBEAT_S", 15, minimum=1)
# A job that the platform failed this many times mails ADMINS, once.
GRADING_ALERT_AFTER_FAILURES = env_int("GRADING_ALERT_AFTER_FAILURES", 3, minimum=1)

# Celery. Without CELERY_BROKER_URL, kombu's filesystem transport under var/ means a
# fresh clone needs no broker server.
CELERY_BROKER_URL = env_broker_url("CELERY_BROKER_URL") or "filesystem://"
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": GRADING_HARD_TIME_LIMIT_S + 3600,
    # Redis: a worker on several queues always takes from the first one named that has a
    # message (`--queues grading,regrade` puts fresh submissions before regrades), instead
    # of taking from each in turn.
    "queue_order_strategy": "priority",
}
if CELERY_BROKER_URL.startswith("filesystem"):
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(_BROKER_DIR / "queue"),
            "data_folder_out": str(_BROKER_DIR / "queue"),
            "processed_folder": str(_BROKER_DIR / "processed"),
            "control_folder": str(_BROKER_DIR / "control"),
            "store_processed": False,
            # The transport looks for new messages this often (kombu's default is 1 s,
            # which a learner waits on every submission).
            "polling_interval": 0.1,
        }
    )
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Regrades have their own queue so that a batch of hundreds never sits in front of fresh
# submissions in one FIFO: a worker started with `--queues grading,regrade` takes a regrade
# only when no submission waits (on Redis; see queue_order_strategy above), and a site can
# also run regrades on workers of their own.
CELERY_TASK_ROUTES = {
    "grading.grade_submission": {"queue": "grading"},
    "grading.regrade_run": {"queue": "regrade"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE = {
    "reap-stuck-submissions": {
        "task": "grading.reap_submissions",
        "schedule": float(GRADING_REAP_INTERVAL_S),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Log-in throttling counts live in the cache. The default counts per process; set
# CACHE_URL (redis://...) so that every web process shares the counts.
_CACHE_URL = env_str("CACHE_URL", "")
if _CACHE_URL and not _CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, not {_CACHE_URL!r}")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # A request for a host not in ALLOWED_HOSTS is logged, not mailed to ADMINS (Django's
    # default): scanners and misaddressed probes would send one mail per request.
    "loggers": {
        "django.security.DisallowedHost": {"handlers": ["console"], "propagate": False},
    },
}
