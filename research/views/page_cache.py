"""Rendered pages kept per reader until anything in the database changes.

A finished job's results, the all-leads table and the jobs list change only when something is
written: a profile stored, a shortlist status set, a column chosen, a person moved to another
team. Building them costs a dozen queries and a large template; serving one kept is a hash
lookup. Each copy is keyed on:

- the reader (their id and their CSRF secret: the page's forms carry a token of that secret),
- the address (path and query string) and the htmx headers (a partial is another page),
- today's date (budget windows turn over at midnight without a write),
- a marker of the database's state that any committed write changes (`database_marker`).

So a write anywhere makes every kept page a miss: nothing is invalidated by hand, and no write
path can be forgotten. A copy lives `PAGE_CACHE_SECONDS` (a minute) at most, so a time in
minutes or coarser ("started 5 minutes ago") lags by that at most; a page that tells the time
to the second (a running job's "checked 40 s ago") is not kept: its view says which responses
may be (`keep`). Nothing is kept for a request with messages waiting (they are shown once),
nor inside a transaction (its own writes do not move the marker). Copies are held by each
process (a local-memory cache), as the SQLite marker is a property of one process's connection;
on SQLite they are served by a process that keeps its connection (gunicorn's workers, whose
`SQLITE_CONN_MAX_AGE` gunicorn.conf.py sets), elsewhere each request's new connection misses.
"""

import hashlib
import itertools
from functools import wraps

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

CACHE = "pages"
_KEEP = "_page_cache_keep"
_connections = itertools.count(1)


def keep(response, allowed=True):
    """Mark `response` as one that may be kept (a view's say; `cached` decides the rest)."""
    setattr(response, _KEEP, bool(allowed))
    return response


def cached(view):
    """Serve the reader's kept copy of this page if nothing changed since it was built; else build it."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        key = _key(request)
        if key is None:
            return view(request, *args, **kwargs)
        store = caches[CACHE]
        if (copy := store.get(key)) is not None:
            get_token(request)  # as the page's own render would: the CSRF cookie's expiry is renewed
            return _response(copy)
        response = view(request, *args, **kwargs)
        if getattr(response, _KEEP, False) and response.status_code == 200:
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            store.set(key, _copy(response), settings.PAGE_CACHE_SECONDS)
        return response

    return wrapped


def database_marker():
    """A value that any committed write to the database changes, read in one cheap query.

    PostgreSQL: the current snapshot (which transactions are visible). A write takes a
    transaction id, so its commit changes the snapshot of every later statement.
    SQLite: `PRAGMA data_version` (changes when another connection commits) with this
    connection's own count of changed rows and the connection itself (both are per connection).
    Anything else: None, and nothing is kept.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_current_snapshot()::text")
            return cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA data_version")
            version = cursor.fetchone()[0]
            raw = connection.connection
            return f"{_connection_number(raw)}:{version}:{raw.total_changes}"
    return None


def _connection_number(raw):
    """A number for this connection, never reused for another in this process.

    Kept beside Django's wrapper with the connection itself, so the number cannot pass to a
    later connection that happens to get the same address.
    """
    if getattr(connection, "_page_cache_raw", None) is not raw:
        connection._page_cache_raw = raw
        connection._page_cache_number = next(_connections)
    return connection._page_cache_number


def _key(request):
    """The kept copy's key for this request, or None when this request may not use one."""
    if settings.PAGE_CACHE_SECONDS <= 0 or request.method != "GET":
        return None
    user = getattr(request, "user", None)
    secret = request.META.get("CSRF_COOKIE")
    if user is None or not user.is_authenticated or not secret:
        return None
    if connection.in_atomic_block or len(get_messages(request)):
        return None
    marker = database_marker()
    if marker is None:
        return None
    htmx = sorted((k, v) for k, v in request.META.items() if k.startswith("HTTP_HX_"))
    parts = [user.pk, secret, request.get_full_path(), htmx, timezone.localdate().isoformat(), marker]
    return "page:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _copy(response):
    """What is kept: the body and the headers (cookies are set afresh by the middleware)."""
    return (response.content, response.status_code, list(response.items()))


def _response(copy):
    content, status, headers = copy
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    return response
