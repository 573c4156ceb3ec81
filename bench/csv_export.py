"""CSV export: the project's stream against a raw driver cursor + `csv.writer` of the same rows.

    .venv/bin/python bench/csv_export.py [--sizes 10000,100000,1000000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_csv .venv/bin/python bench/csv_export.py

For each size, two databases' worth of leads are seeded in turn (bench/seed.py: COPY / batched
inserts, nothing paid): one job with that many leads, and that many leads in 10 jobs with 21% of
the people found twice, for the all-leads CSV (one row per person) read by staff and by the jobs'
owner (each reader's own deduplication, as the page has it). For each, in the same run:
- the project: `research.exports.stream_leads` over the rows the download view streams (default
  columns), each chunk dropped as a client would after sending;
- the baseline: the same SQL (the queryset's own) straight from the database driver's cursor (a
  server-side cursor on PostgreSQL, fetchmany on SQLite) through `csv.writer`, with the same
  formula neutralising and the same yes/no cells, so both write the same bytes (checked).
Printed: rows/s of each and their ratio, time to the first rows, and the Python heap's peak while
streaming (tracemalloc, a separate traced pass): flat from 10k to 1M rows means constant memory.
Without DATABASE_URL a throwaway SQLite file is used. Figures only.
"""

import argparse
import csv
import hashlib
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp(prefix='csv-bench-')}/bench.sqlite3")
os.environ.pop("CLADO_MPP_URL", None)
FETCH = 2000


def project(rows):
    """The download view's stream; yields str pieces."""
    from research import exports

    return exports.stream_leads(rows)


def raw(rows):
    """The same CSV from the driver's cursor running the same SQL, yielding a piece per fetched batch."""
    from django.db import connection

    from research import exports

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    safe = exports.safe_cell
    yield "\ufeff" + writer.writerow([safe(exports.COLUMNS[c].label) for c in exports.DEFAULT_COLUMNS])
    fields = [exports.COLUMNS[c].reads[0] for c in exports.DEFAULT_COLUMNS]  # one field each, in order
    sql, params = rows.values_list(*fields).query.sql_with_params()
    connection.ensure_connection()
    driver = connection.connection
    if connection.vendor == "postgresql":
        with driver.transaction():
            cursor = driver.cursor(name="bench_csv")  # server-side: rows arrive FETCH at a time
            cursor.execute(sql, params)
            yield from _pieces(cursor, writer, safe)
            cursor.close()
    else:
        cursor = driver.cursor()
        cursor.execute(sql.replace("%s", "?"), params)
        yield from _pieces(cursor, writer, safe)
        cursor.close()


def _pieces(cursor, writer, safe):
    decision = {True: "yes", False: "no", None: ""}  # 1 == True and 0 == False: SQLite's ints too
    while rows := cursor.fetchmany(FETCH):
        yield "".join(
            writer.writerow([safe(n), safe(h), safe(t), safe(c), safe(lo), safe(co), safe(u), decision[d]])
            for n, h, t, c, lo, co, u, d in rows
        )


def consume(pieces):
    """Drain a stream; (bytes, digest, seconds to the first rows, seconds in all, rows)."""
    began = time.perf_counter()
    digest, size, first_rows, lines = hashlib.sha256(), 0, None, 0
    for number, piece in enumerate(pieces):
        data = piece.encode()
        lines += data.count(b"\r\n")
        size += len(data)
        digest.update(data)
        if number == 1:
            first_rows = time.perf_counter() - began
    return size, digest.hexdigest(), first_rows or 0.0, time.perf_counter() - began, lines - 1


def peak_heap(stream, rows):
    tracemalloc.start()
    consume(stream(rows))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="row counts, comma separated")
    parser.add_argument("--no-memory", action="store_true", help="skip the traced (slow) passes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    import seed

    seed.ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    print(
        f"{'case':<22} {'rows':>9} {'project':>11} {'raw cursor':>11} {'ratio':>6} {'first rows':>11}"
        f" {'peak heap: project':>19} {'raw':>8} {'CSV':>8}"
    )
    for count in sizes:
        for case, rows in cases(count):
            measure(case, rows, args.no_memory)


def cases(count):
    """(name, Lead queryset) of each export measured at `count` leads, seeding what it reads."""
    import seed
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from research import access, leads
    from research.models import Lead

    call_command("flush", "--no-input", verbosity=0)
    seeded = seed.seed(leads=count, jobs=1, big=count, repeat=0)
    yield "one job", Lead.objects.filter(job=seeded["big_job"]).order_by("position")
    call_command("flush", "--no-input", verbosity=0)
    seed.seed(leads=count, jobs=10, big=count // 10, repeat=0.21)
    owner = get_user_model().objects.get(username="bench")
    staff = get_user_model().objects.create(username="bench-staff", is_staff=True)
    for name, reader in (("all leads, staff", staff), ("all leads, owner", owner)):
        rows = leads.deduplicated(access.visible_leads(reader), everyone=reader.is_staff)
        yield name, leads.browse(rows, {})


def measure(case, rows, no_memory):
    # Alternate the order over two passes each; keep each one's best time.
    results = {"project": [], "raw": []}
    for order in (("project", "raw"), ("raw", "project")):
        for name in order:
            results[name].append(consume((project if name == "project" else raw)(rows)))
    (size, digest, first, *_), (raw_size, raw_digest, *_) = results["project"][0], results["raw"][0]
    assert (size, digest) == (raw_size, raw_digest), "both write the same bytes"
    count = results["project"][0][4]
    best = {name: min(r[3] for r in runs) for name, runs in results.items()}
    rate = {name: count / seconds for name, seconds in best.items()}
    if no_memory:
        peaks = "-", "-"
    else:
        peaks = (f"{peak_heap(project, rows) / 2**20:.1f} MB", f"{peak_heap(raw, rows) / 2**20:.1f} MB")
    print(
        f"{case:<22} {count:>9,} {rate['project']:>8,.0f}/s {rate['raw']:>8,.0f}/s"
        f" {rate['project'] / rate['raw']:>6.2f}"
        f" {first * 1000:>8.0f} ms {peaks[0]:>19} {peaks[1]:>8} {size / 2**20:>5.1f} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()
