"""Every page of the app under load, against the production server, each next to a trivial page.

    .venv/bin/python bench/pages.py [--leads 1000000] [--jobs 1000] [--big-job 100000] [--reuse]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pages .venv/bin/python bench/pages.py --reuse

Seeds the database (bench/seed.py: COPY on PostgreSQL, batched inserts on SQLite; never through
HTTP, nothing paid), or with --reuse keeps a database that already holds the same seed. Without
DATABASE_URL the database is var/bench/pages.sqlite3. Then starts gunicorn as production runs it
(DEBUG=0, INSECURE_HTTP=1 for plain http on loopback, 2 sync workers), logs in, and for each page
first drives the login page (the trivial page) and then the page itself, each with `--concurrency`
threads making `--requests` requests (fresh connections, as sync workers close them), and prints
p50/p95 and the page's p95 over the login page's p95 measured just before it.

A slow page is cut at `--page-seconds` (the count says how many requests it got) and the server
is let settle before the next; a request may take `--request-timeout` seconds, after which gunicorn
restarts its worker, and on PostgreSQL one query `--statement-timeout` seconds (then HTTP 500), so
a runaway query never outlives its request. Figures only: nothing here is a pass or a fail.
"""

import argparse
import http.client
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.pop("CLADO_MPP_URL", None)  # the sandbox: nothing here can pay
DEFAULT_DB = f"sqlite:///{VAR / 'pages.sqlite3'}"


def pages(big):
    """(name, path) of every page in the issue's table, in its order."""
    job = f"/jobs/{big}/"
    return [
        ("all leads (deduplicated)", "/jobs/leads/"),
        ("all leads, sorted by name", "/jobs/leads/?sort=name"),
        ("all leads, country filter", "/jobs/leads/?country=Germany"),
        ("all leads, sorted by shortlist status", "/jobs/leads/?sort=status"),
        ("job page, big job", job),
        ("results, search hit (q=hooli)", job + "?q=hooli"),
        ("results, search miss", job + "?q=zzyzxnomatch"),
        ("results, criteria filter", job + "?" + urllib.parse.urlencode({"c:Works in sales.": "YES"})),
        ("results, country filter", job + "?country=Germany"),
        ("results, deep page", job + "?page={deep}"),
        ("results, deep page sorted by name", job + "?page={deep}&sort=name"),
        ("results, 100 rows a page", job + "?per_page=100"),
        ("jobs list (all jobs)", "/jobs/"),
        ("results page 1, sorted (-name)", job + "?sort=-name"),
        ("results, sorted by shortlist status", job + "?sort=status"),
        ("new search form", "/jobs/new/"),
    ]


# --- Seeding ------------------------------------------------------------------------------


def prepare(args):
    """Migrate and seed (or reuse) the database; returns the big job's id."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    sys.path.insert(0, str(ROOT / "bench"))
    import seed

    call_command("migrate", verbosity=0)
    if args.reuse and (big := seed.seeded(args.leads, args.jobs, args.big_job)):
        print(f"reusing the seeded {connection.vendor} database (big job #{big})")
        return big, connection.vendor
    call_command("flush", "--no-input", verbosity=0)
    summary = seed.seed(leads=args.leads, jobs=args.jobs, big=args.big_job, password=PASSWORD)
    print(
        f"seeded {connection.vendor}: {summary['leads']:,} leads ({summary['people']:,} people) in "
        f"{summary['jobs']:,} jobs, the big job #{summary['big_job']} with {args.big_job:,}, "
        f"in {summary['seconds']:.0f} s"
    )
    connection.close()
    return summary["big_job"], connection.vendor


# --- The server ---------------------------------------------------------------------------

PASSWORD = "bench-pass"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(database_url, vendor, args):
    port = free_port()
    if vendor == "postgresql":  # a runaway query is cancelled, not left running after its worker dies
        joiner = "&" if "?" in database_url else "?"
        timeout_ms = args.statement_timeout * 1000
        database_url += joiner + urllib.parse.urlencode({"options": f"-c statement_timeout={timeout_ms}"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLADO_", "TEMPO_", "REDIS_URL"))}
    env.update(
        DEBUG="0",
        INSECURE_HTTP="1",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=database_url,
        STATIC_ROOT=str(VAR / "static"),
        WEB_CONCURRENCY=str(args.workers),
        GUNICORN_THREADS="1",
        GUNICORN_TIMEOUT=str(args.request_timeout + 10),
        LOG_LEVEL="ERROR",
        GUNICORN_LOG_LEVEL="warning",
        PYTHONPATH=str(ROOT),
        # --build-every-time: no kept pages (research/views/page_cache.py), every request builds its page
        PAGE_CACHE_SECONDS="0" if args.build_every_time else env.get("PAGE_CACHE_SECONDS", "60"),
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    log = (VAR / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
        + ["dashboard.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {VAR / 'gunicorn.log'}") from None
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def request(port, method, path, headers=None, body=None, timeout=60):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read()
        return response.status, response.getheaders(), content
    finally:
        connection.close()


def cookies_of(headers):
    found = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            found[key] = rest.split(";", 1)[0]
    return found


def log_in(port):
    """A session cookie for the bench user, through the login form like a person."""
    status, headers, content = request(port, "GET", "/login/")
    cookies = cookies_of(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content).group(1).decode()
    form = urllib.parse.urlencode({"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token})
    status, headers, _ = request(
        port,
        "POST",
        "/login/",
        {
            "Cookie": f"csrftoken={cookies['csrftoken']}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://127.0.0.1:{port}/login/",
        },
        form,
    )
    session = cookies_of(headers).get("sessionid")
    if status != 302 or not session:
        raise SystemExit(f"could not log in (HTTP {status})")
    return f"sessionid={session}; csrftoken={cookies['csrftoken']}"


# --- The load -----------------------------------------------------------------------------


def drive(port, path, cookie, args):
    """`args.requests` GETs of `path` from `args.concurrency` threads; [(seconds, status)]."""
    results, lock = [], threading.Lock()
    issued = [0]
    deadline = time.monotonic() + args.page_seconds
    headers = {"Cookie": cookie}

    def worker():
        while True:
            with lock:
                if issued[0] >= args.requests or time.monotonic() > deadline:
                    return
                issued[0] += 1
            began = time.perf_counter()
            try:
                status = request(port, "GET", path, headers, timeout=args.request_timeout + 20)[0]
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
            with lock:
                results.append((time.perf_counter() - began, status))

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def settle(port, seconds=600):
    """Wait until the server is idle again: requests a slow page left queued have been served."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            request(port, "GET", "/login/", timeout=10)
            if time.perf_counter() - began < 0.5:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(1)


def measure(port, path, cookie, args):
    settle(port)
    for _ in range(args.warmup):  # a page slower than 5 s is warm after one request
        began = time.perf_counter()
        try:
            request(port, "GET", path, {"Cookie": cookie}, timeout=args.request_timeout + 20)
        except (OSError, http.client.HTTPException):
            break
        if time.perf_counter() - began > 5:
            break
    results = drive(port, path, cookie, args)
    times = [seconds for seconds, _ in results]
    errors = [status for _, status in results if status != 200]
    return {
        "n": len(results),
        "errors": len(errors),
        "error_kinds": sorted({str(e) for e in errors}),
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads in the database, in all")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs (the big one included)")
    parser.add_argument("--big-job", type=int, default=100_000, help="leads in the one big job")
    parser.add_argument("--repeat", type=float, default=0.21, help="share of people found twice")
    parser.add_argument("--reuse", action="store_true", help="keep a database that holds this seed")
    parser.add_argument("--seed-only", action="store_true", help="seed, then stop")
    parser.add_argument("--requests", type=int, default=400, help="requests per page")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--warmup", type=int, default=4, help="requests per page before measuring")
    parser.add_argument("--page-seconds", type=float, default=60, help="cut a slow page after this")
    parser.add_argument("--request-timeout", type=int, default=60, help="seconds a request may take")
    parser.add_argument(
        "--statement-timeout", type=int, default=20, help="PostgreSQL: seconds one query may take"
    )
    parser.add_argument("--only", help="measure only pages whose name contains this")
    parser.add_argument(
        "--build-every-time", action="store_true", help="serve no kept pages: every request builds its page"
    )
    args = parser.parse_args()

    VAR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    database_url = os.environ["DATABASE_URL"]
    sys.path.insert(0, str(ROOT / "bench"))
    import seed

    seed.ensure_database(database_url)
    big, vendor = prepare(args)
    if args.seed_only:
        return
    server, port = start_server(database_url, vendor, args)
    try:
        cookie = log_in(port)
        deep = max(1, (args.big_job // 25) * 3 // 4)
        print(
            f"\n{vendor}: {args.leads:,} leads in {args.jobs:,} jobs, big job {args.big_job:,}; gunicorn "
            f"{args.workers} sync workers; concurrency {args.concurrency}, up to {args.requests} requests "
            f"or {args.page_seconds:.0f} s a page; "
            + ("no kept pages: every request builds its page" if args.build_every_time else "kept pages on")
        )
        print(f"{'page':<36} {'n':>4} {'err':>4} {'p50':>9} {'p95':>9}  {'login p95':>9} {'ratio':>8}")
        for name, path in pages(big):
            if args.only and args.only not in name:
                continue
            trivial = measure(port, "/login/", cookie, args)
            page = measure(port, path.format(deep=deep), cookie, args)
            ratio = page["p95"] / trivial["p95"]
            errors = f"{page['errors']:>4}" + (f" {','.join(page['error_kinds'])}" if page["errors"] else "")
            p50, p95, login = page["p50"] * 1000, page["p95"] * 1000, trivial["p95"] * 1000
            print(
                f"{name:<36} {page['n']:>4} {errors} {p50:>7.0f}ms {p95:>7.0f}ms"
                f"  {login:>7.0f}ms {ratio:>7.1f}x",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
