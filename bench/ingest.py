"""Ingest: the project's `store_page` against a raw `bulk_create` of the same pages, in the same run.

    .venv/bin/python bench/ingest.py [--leads 100000] [--rounds 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_ingest .venv/bin/python bench/ingest.py

The results are the sandbox's own profiles (real shapes: raw JSON kept whole, tricky text), built
before any timing and cut into pages of 100 as the gateway returns them. Each round stores them
into two fresh jobs: through `research.ingest.store_page` (what the poller calls), and as the
baseline, `parse_lead` + `Lead(...)` + `bulk_create` of the same page in its own transaction.
The two take turns page by page (which goes first alternates), so a busy machine slows both
alike. The server runs as in production (`DEBUG=0`: no query log). Printed: leads/s of
each, their ratio, and the mean time of a page over the first and the last 10 pages of the job,
which stay level when ingest costs nothing that grows with the job. Without DATABASE_URL a
throwaway SQLite file is used. Figures only.

The database first holds `--background` leads in 100 other jobs (bench/seed.py), with statistics
taken as autovacuum would have: a database in service. On a table never analysed, PostgreSQL's
planner guesses, and may read a whole growing job for a lookup by (job, profile id).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp(prefix='ingest-bench-')}/bench.sqlite3")
os.environ.pop("CLADO_MPP_URL", None)
# As a worker runs in production: with DEBUG on, Django would log every query it runs.
os.environ.update(DEBUG="0", INSECURE_HTTP="1", SECRET_KEY="bench-ingest-" + "x" * 40)
PAGE = 100
EDGE = 10  # pages at the start and at the end of the job compared


def pages_of(total):
    from research import clado
    from research.sandbox import profiles

    results = list(profiles.profiles("Bench ingest of a big job", 0, total))
    return [
        clado.parse_status(
            {"status": "completed", "total_results": total, "results": results[start : start + PAGE]},
            page=start // PAGE + 1,
            page_size=PAGE,
        )
        for start in range(0, total, PAGE)
    ]


def new_job(user, total, label):
    from research.models import JobStatus, ResearchJob

    return ResearchJob.objects.create(
        owner=user, query=f"{label} {time.time()}", limit=total, status=JobStatus.PROCESSING
    )


def store_project(job, page):
    from research import ingest

    ingest.store_page(job, page)


def store_baseline(job, page):
    from django.db import transaction

    from research import clado
    from research.models import Lead

    offset = (page.page - 1) * PAGE
    rows = [Lead(job=job, position=offset + i, **clado.parse_lead(r)) for i, r in enumerate(page.results)]
    with transaction.atomic():
        Lead.objects.bulk_create(rows, batch_size=500)


def store_both(jobs, pages):
    """Store every page into both jobs, taking turns; {name: [seconds a page]}."""
    stores = {"project": store_project, "baseline": store_baseline}
    times = {name: [] for name in stores}
    for number, page in enumerate(pages):
        order = list(stores) if number % 2 == 0 else list(reversed(stores))
        for name in order:
            began = time.perf_counter()
            stores[name](jobs[name], page)
            times[name].append(time.perf_counter() - began)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000, help="leads in the job (pages of 100)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--background", type=int, default=100_000, help="leads already stored, in 100 jobs")
    args = parser.parse_args()

    import seed

    seed.ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from research.models import Lead

    call_command("migrate", verbosity=0)
    call_command("flush", "--no-input", verbosity=0)
    if args.background:
        seed.seed(leads=args.background, jobs=100, big=args.background // 100)  # analyses when done
    user, _ = get_user_model().objects.get_or_create(username="bench")
    began = time.perf_counter()
    pages = pages_of(args.leads)
    print(
        f"{connection.vendor}: {args.background:,} leads already stored;"
        f" {len(pages)} pages of {PAGE} built in {time.perf_counter() - began:.1f} s"
    )
    print(f"{'':>5} {'leads/s':^37}   ms a page, first {EDGE} / last {EDGE} pages")
    print(
        f"{'round':>5} {'project':>14} {'bulk_create':>14} {'ratio':>6}   {'project':>17} {'bulk_create':>17}"
    )
    for number in range(1, args.rounds + 1):
        jobs = {name: new_job(user, args.leads, f"{name} round {number}") for name in ("project", "baseline")}
        times = store_both(jobs, pages)
        for name, job in jobs.items():
            assert Lead.objects.filter(job=job).count() == args.leads, name
        rate = {name: args.leads / sum(t) for name, t in times.items()}

        def edges(t):
            return f"{statistics.mean(t[:EDGE]) * 1000:6.1f} / {statistics.mean(t[-EDGE:]) * 1000:6.1f} ms"

        print(
            f"{number:>5} {rate['project']:>8,.0f} /s {rate['baseline']:>9,.0f} /s"
            f" {rate['project'] / rate['baseline']:>6.2f}   {edges(times['project']):>17}"
            f" {edges(times['baseline']):>17}"
        )


if __name__ == "__main__":
    main()
