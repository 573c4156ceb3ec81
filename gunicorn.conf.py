"""gunicorn's settings, from the environment (`gunicorn -c gunicorn.conf.py dashboard.wsgi`).

    WEB_CONCURRENCY   worker processes (default 2 per core, plus one)
    GUNICORN_THREADS  threads per worker (default 1: sync workers; more switches to gthread)
    GUNICORN_TIMEOUT  seconds a request may take before its worker is restarted (default 60)
    GUNICORN_BIND     where to listen (default 0.0.0.0:$PORT, PORT defaulting to 8000)

Pages never make paid calls (the worker does), so a request is a few database reads: sync
workers are the simple right choice. The command line overrides anything here (`run.py app`
passes --bind 127.0.0.1:$PORT).
"""

import multiprocessing
import os


def _int(name, default):
    value = os.environ.get(name) or default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {value!r}") from None


# On SQLite a web worker keeps its connection (dashboard/settings.py), so that the pages it
# kept can be served again (research/views/page_cache.py); PostgreSQL's are kept anyway.
os.environ.setdefault("SQLITE_CONN_MAX_AGE", "60")

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_int('PORT', 8000)}"
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
# GUNICORN_MAX_REQUESTS=N restarts a worker after about N requests (off by default).
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" logs each request to stdout
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Behind a TLS proxy on the same machine (see docs/deploy.md), trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn 24+ opens a control socket at one fixed path per user: two servers on one machine
# (a bench next to the app) would fight over it, and nothing here uses it.
control_socket_disable = True
