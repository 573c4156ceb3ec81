"""Settings for the deep-research dashboard.

Everything comes from the environment, with embedded defaults that run the whole app offline:
SQLite, django-q2's ORM broker and the built-in sandbox gateway and chain. A bad value fails
loudly at start-up rather than half-working later. The wallet's private key is deliberately
*not* a setting (settings show up in debug pages): `research.payments` reads it from the
environment when it signs.
"""

import os
import re
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_bool(name, default):
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name, default, minimum=None):
    value = env(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_rate(name, default):
    """A rate like "10/hour" (per second, minute, hour or day) as (count, seconds); "off" is None."""
    value = env(name, default)
    if value.lower() in {"off", "none", "0"}:
        return None
    periods = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
    count, _, period = value.partition("/")
    if not count.strip().isdigit() or int(count) < 1 or period.strip().lower() not in periods:
        raise ImproperlyConfigured(f"{name} must look like 10/hour (per second, minute, hour or day) or off")
    return int(count), periods[period.strip().lower()]


def env_usd(name, default):
    """A dollar amount (e.g. "25" or "0.50") as base units of a 6-decimal stablecoin."""
    value = env(name, default)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a dollar amount like 25.00, got {value!r}") from None
    units = amount * 10**6
    if amount < 0 or units != units.to_integral_value():
        raise ImproperlyConfigured(f"{name} must be a non-negative amount with at most 6 decimals")
    return int(units)


# --- Django core -------------------------------------------------------------------------

# Live mode (a real gateway, real money) is safe by default: DEBUG is off unless asked for, and
# asking for it, or starting without a SECRET_KEY of its own, refuses to start.
LIVE_MODE = env("CLADO_MPP_URL") is not None
DEBUG = env_bool("DEBUG", not LIVE_MODE)
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
SECRET_KEY = env("SECRET_KEY")
if LIVE_MODE and DEBUG:
    raise ImproperlyConfigured(
        "Live mode (CLADO_MPP_URL is set) refuses to start with DEBUG on: its error pages would show "
        "the workings of a wallet that pays real money. Unset DEBUG (or set DEBUG=0)."
    )
if LIVE_MODE and SECRET_KEY in (None, DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "Live mode (CLADO_MPP_URL is set) needs a SECRET_KEY of its own (not the development key): "
        'e.g. python -c "import secrets; print(secrets.token_urlsafe(50))".'
    )
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
# Error pages (DEBUG) mask the secrets in DATABASE_URL, REDIS_URL and any URL with a password.
DEFAULT_EXCEPTION_REPORTER_FILTER = "dashboard.debug.SecretsFilter"
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "django_q",
    "ninja",  # the API's interactive docs from its own static files, not a CDN (no inline script)
    "research",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Under /api/ every error is problem+json, even those Django answers itself (404, 405, 500).
    "research.api.middleware.ProblemMiddleware",
]

# A Content-Security-Policy on every page (django-csp): scripts, styles, fonts and connections
# from this site only, no inline script or style, no eval, no plugins, never framed; pictures
# from this site or over https. The admin alone also allows inline styles (dashboard/csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "https:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

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
                "research.context_processors.gateway_mode",
            ],
        },
    },
]

# SQLite by default, in WAL mode with a busy timeout so the web process and the worker
# don't trip over "database is locked"; DATABASE_URL switches to PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A new connection a request or task, except in gunicorn's workers (gunicorn.conf.py), which
    # keep theirs: the kept pages' SQLite marker is a property of one connection.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("SQLITE_CONN_MAX_AGE", 0, minimum=0)
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests get a file (one per process), not Django's shared-cache in-memory database, whose
    # table locks fail at once instead of waiting: threads racing in tests lock as production does.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"test-db-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rendered pages kept per reader until the database changes (research/views/page_cache.py):
# each process keeps its own, a copy lives this many seconds at most; 0 turns it off.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 60, minimum=0)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": env_int("PAGE_CACHE_ENTRIES", 200, minimum=1)},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "research:job_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", BASE_DIR / "staticfiles"))  # collectstatic writes here
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

SESSION_COOKIE_HTTPONLY = True

# --- Production security (issue 12): what `check --deploy` asks for, on by default with DEBUG=0 ---
# HTTPS only: the SSL redirect, secure cookies and HSTS. TLS is usually terminated in front (a load
# balancer, nginx, Caddy): BEHIND_TLS_PROXY=1 trusts its X-Forwarded-Proto header, which the proxy
# must set (and strip from clients). INSECURE_HTTP=1 is the one switch for a plain-http local run
# no redirect, no secure cookies, no HSTS. Never in production.
# `run.py app` listens on 127.0.0.1 only, so it sets it too unless TLS is in front (BEHIND_TLS_PROXY).
INSECURE_HTTP = env_bool("INSECURE_HTTP", False)
HTTPS_ONLY = not DEBUG and not INSECURE_HTTP
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS_ONLY)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", HTTPS_ONLY)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS_ONLY else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a promise to browsers' built-in lists that is slow to take back: only when asked.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# check --deploy warns whenever preload is off (W021); off is the considered default, not an oversight.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# --- end of production security ----------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # httpx logs every request URL at INFO; keep the noise (never secrets) at WARNING.
        "httpx": {"level": "WARNING"},
        "django_q": {"level": env("Q_LOG_LEVEL", "WARNING")},
    },
}

# --- Email: word to a job's owner when it ends (`research.notify`) ------------------------
# EMAIL_URL picks the backend: console:// (the default: emails are printed by the process that
# sends them, the worker), smtp://user:password@host:25, submission://user:password@host:587
# (STARTTLS), memory://, dummy://. SITE_URL is where the links in an email point.

EMAIL = dj_email_url.parse(env("EMAIL_URL", "console://"))
if "EMAIL_BACKEND" not in EMAIL:
    raise ImproperlyConfigured(
        "EMAIL_URL must start with one of " + ", ".join(f"{s}://" for s in dj_email_url.SCHEMES)
    )
globals().update({name: value for name, value in EMAIL.items() if value not in (None, "")})
del EMAIL
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Lead finder <lead-finder@localhost>")
SITE_URL = env("SITE_URL", f"http://127.0.0.1:{env('PORT', '8000')}")

# --- The gateway and the chain -----------------------------------------------------------

# Unset CLADO_MPP_URL means sandbox mode: the built-in offline gateway and chain
# (`python manage.py sandbox`), a throwaway key, and nothing real is spent.
SANDBOX_URL = env("SANDBOX_URL", "http://127.0.0.1:8777")
CLADO_MPP_URL = env("CLADO_MPP_URL")
SANDBOX_MODE = CLADO_MPP_URL is None
if SANDBOX_MODE:
    CLADO_MPP_URL = SANDBOX_URL
CLADO_MPP_URL = CLADO_MPP_URL.rstrip("/")
TEMPO_RPC_URL = env("TEMPO_RPC_URL", f"{SANDBOX_URL}/rpc" if SANDBOX_MODE else None)
TEMPO_CHAIN_ID = env_int("TEMPO_CHAIN_ID", 4217, minimum=1)

if not SANDBOX_MODE:
    if TEMPO_RPC_URL is None:
        raise ImproperlyConfigured("TEMPO_RPC_URL must be set when CLADO_MPP_URL points at a real gateway.")
    key_file = env("TEMPO_PRIVATE_KEY_FILE")
    if env("TEMPO_PRIVATE_KEY") is None and key_file is None:
        raise ImproperlyConfigured(
            "Live mode (CLADO_MPP_URL is set) needs the paying wallet: set TEMPO_PRIVATE_KEY "
            "or TEMPO_PRIVATE_KEY_FILE. Unset CLADO_MPP_URL to run against the sandbox."
        )
    if key_file is not None and not os.access(key_file, os.R_OK):
        raise ImproperlyConfigured(f"TEMPO_PRIVATE_KEY_FILE {key_file!r} is not readable.")

# What the gateway may ask for. A challenge outside these is refused before signing.
USDC_E = "0x20c000000000000000000000b9537d11c60e8b50"
PATH_USD = "0x20c0000000000000000000000000000000000000"
MPP_CURRENCIES = [c.strip() for c in env("MPP_CURRENCIES", f"{USDC_E},{PATH_USD}").split(",")]
MPP_CURRENCY_DECIMALS = {USDC_E.lower(): 6, PATH_USD.lower(): 6}
MPP_RECIPIENTS = [
    r.strip() for r in env("MPP_RECIPIENTS", "0x060b0fB0Be9d90557577B3AEE480711067149Ff0").split(",")
]

# Prices in base units (6 decimals). Launch and "more" cost PER_RESULT * limit + BASE;
# dynamic prices may exceed the table by MPP_PRICE_TOLERANCE_PERCENT, flat ones never.
PRICE_PER_RESULT = env_int("PRICE_PER_RESULT", 10_000, minimum=0)
PRICE_CALL = env_int("PRICE_CALL", 3_000, minimum=0)
MPP_PRICE_TOLERANCE_PERCENT = env_int("MPP_PRICE_TOLERANCE_PERCENT", 10, minimum=0)

# Seconds to wait for the gateway; the paid retry gets longer (it waits for settlement).
GATEWAY_TIMEOUT = float(env_int("GATEWAY_TIMEOUT", 30, minimum=1))
GATEWAY_PAID_TIMEOUT = float(env_int("GATEWAY_PAID_TIMEOUT", 45, minimum=1))

# --- Launches ----------------------------------------------------------------------------

# Launches one person may make per period ("10/hour"; "off" for none), counted from their jobs.
LAUNCH_RATE_LIMIT = env_rate("LAUNCH_RATE_LIMIT", "10/hour")

# --- Budgets (dollars in the environment, base units here) ------------------------------

BUDGET_TEAM_DAILY = env_usd("BUDGET_TEAM_DAILY_USD", "100")
BUDGET_USER_MONTHLY = env_usd("BUDGET_USER_MONTHLY_USD", "500")
BUDGET_JOB = env_usd("BUDGET_JOB_USD", "25")

# --- The poller -------------------------------------------------------------------------
# Seconds. The policy that uses them is research/polling.py.

POLL_FIRST_DELAY = env_int("POLL_FIRST_DELAY", 5, minimum=0)  # earliest first poll after launch
POLL_FIRST_MAX = env_int("POLL_FIRST_MAX", 60, minimum=0)  # latest first poll, whatever history says
POLL_MIN_INTERVAL = env_int("POLL_MIN_INTERVAL", 5, minimum=1)
POLL_MAX_INTERVAL = env_int("POLL_MAX_INTERVAL", 300, minimum=1)  # longest gap while a job runs
# Longest gap once a job is past its predicted finish, or nothing predicts it: bounds the delay
# from a job finishing to its results being stored.
POLL_OVERDUE_INTERVAL = env_int("POLL_OVERDUE_INTERVAL", 30, minimum=1)
# A fresh install (too few past runs to learn from) never spends more status checks on a job
# than a poller checking every POLL_COLD_PACE seconds, and leaves no more than POLL_COLD_MAX_GAP
# between two checks (which bounds how late a finish is seen while nothing is learned yet).
POLL_COLD_PACE = env_int("POLL_COLD_PACE", 60, minimum=1)
POLL_COLD_MAX_GAP = env_int("POLL_COLD_MAX_GAP", 90, minimum=1)
# Until past jobs teach it: a whole run takes this percent of its projected search phase.
POLL_FINISH_RATIO_PERCENT = env_int("POLL_FINISH_RATIO_PERCENT", 150, minimum=100)
POLL_BUDGET_RETRY = env_int("POLL_BUDGET_RETRY", 300, minimum=1)  # retry a budget-paused launch/poll
# Retry a launch or poll that found our side down (chain RPC, network to the gateway): free, so often.
POLL_OUTAGE_RETRY = env_int("POLL_OUTAGE_RETRY", 30, minimum=1)
# Status checks a launch must leave budget room for, until past runs say how many a run needs.
POLL_EXPECTED_CHECKS = env_int("POLL_EXPECTED_CHECKS", 6, minimum=0)
POLL_LEASE_SECONDS = env_int("POLL_LEASE_SECONDS", 120, minimum=10)
POLL_MAX_FAILURES = env_int("POLL_MAX_FAILURES", 5, minimum=1)
POLL_PAGE_SIZE = 100  # a status call costs the same whatever the page size
# One scheduled task runs this long, polling due jobs every POLL_TICK seconds, because
# django-q2's schedules have whole-minute granularity.
POLL_CYCLE_SECONDS = env_int("POLL_CYCLE_SECONDS", 55, minimum=0)
POLL_TICK = env_int("POLL_TICK", 2, minimum=1)

# --- django-q2: paid work is never retried or replayed by the queue ---------------------

Q_CLUSTER = {
    "name": "research",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A poll cycle starts no new work after POLL_CYCLE_SECONDS; the call in flight then may take
    # GATEWAY_TIMEOUT + GATEWAY_PAID_TIMEOUT more (a payment's 402 round trip and its paid retry).
    "timeout": POLL_CYCLE_SECONDS + int(GATEWAY_TIMEOUT + GATEWAY_PAID_TIMEOUT) + 15,
    "retry": POLL_CYCLE_SECONDS
    + int(GATEWAY_TIMEOUT + GATEWAY_PAID_TIMEOUT)
    + 75,  # > timeout: no re-delivery
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 500,
    "label": "Background tasks",
}
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- The JSON API (/api/v1/) and its webhooks ---------------------------------------------

# Requests per token per fixed window: "<count>/<second|minute|hour|day>". Counted in Django's
# cache (local memory by default: per process; set a shared cache to count across processes).
API_RATE_LIMIT = env("API_RATE_LIMIT", "120/minute")
_rate = re.fullmatch(r"\s*(\d+)\s*/\s*(second|minute|hour|day|s|m|h|d)\s*", API_RATE_LIMIT)
if _rate is None or int(_rate.group(1)) < 1:
    raise ImproperlyConfigured(f"API_RATE_LIMIT must look like 120/minute, got {API_RATE_LIMIT!r}")
API_LONG_POLL_MAX = env_int("API_LONG_POLL_MAX", 60, minimum=0)  # seconds a ?wait= may hold a request
# Webhook events: http to loopback addresses only in development and the sandbox; https elsewhere.
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", DEBUG or SANDBOX_MODE)
WEBHOOK_TIMEOUT = float(env_int("WEBHOOK_TIMEOUT", 5, minimum=1))
WEBHOOK_RETRY_BASE = env_int("WEBHOOK_RETRY_BASE", 10, minimum=1)  # seconds; triples per failure
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
