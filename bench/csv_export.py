"""Peak memory of a streamed CSV export: 10k rows against 100k rows.

    .venv/bin/python bench/csv_export.py            # a throwaway SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/csv_export.py

Builds a job with N leads (bulk-created, never paid for), streams its CSV the way the view does,
drops each chunk as a client would after sending it, and prints the Python heap's peak while
streaming (tracemalloc) and how long the first bytes took. Constant memory means the peak stays
flat as N grows tenfold.
"""

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")


def stream(job):
    """Stream the CSV, dropping each piece; returns (bytes, seconds to header, to first rows, to end)."""
    from research import exports

    started = time.perf_counter()
    pieces = exports.stream_leads(job.leads.order_by("position"))
    size = len(next(pieces).encode())
    header = time.perf_counter() - started
    size += len(next(pieces).encode())
    first_rows = time.perf_counter() - started
    for piece in pieces:
        size += len(piece.encode())
    return size, header, first_rows, time.perf_counter() - started


def measure(job):
    """Times from a plain run (tracemalloc slows Python down), the peak from a traced one."""
    size, header, first_rows, total = stream(job)
    tracemalloc.start()
    stream(job)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, size, header, first_rows, total


def main():
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from tests.workspace_data import big_job

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    print(f"database: {django.db.connection.vendor}")
    print(f"{'rows':>8} {'peak heap':>10} {'CSV size':>9} {'header':>8} {'first rows':>10} {'all':>7}")
    for count in (10_000, 100_000):
        job = big_job(user, count)
        peak, size, first_bytes, first_rows, total = measure(job)
        print(
            f"{count:>8,} {peak / 2**20:>8.1f} MB {size / 2**20:>6.1f} MB {first_bytes * 1000:>6.1f} ms"
            f" {first_rows * 1000:>7.0f} ms {total:>6.2f} s"
        )
        job.leads.all().delete()
        job.delete()


if __name__ == "__main__":
    main()
