"""Seed a database with many jobs and leads fast: COPY on PostgreSQL, batched executemany on SQLite.

Used by bench/pages.py and bench/csv_export.py (never by the app). Nothing is paid for: the rows
are written directly, shaped like what the poller stores. People are numbered; a person's name,
title, company, country and LinkedIn URL follow from their number, so the same person found by
two jobs looks the same in both. About `repeat` of the people are found by two jobs.

Call `seed(...)` after `django.setup()` and `migrate`.
"""

import datetime
import json
import math
import time
import urllib.parse

FIRST = "Alex Maria Jonas Lena Omar Priya Chen Sofia Lukas Ana Noah Mia Ravi Yuki Elif Tom".split()
LAST = "Johnson Müller Kowalski Dubois García Rossi Nowak Tanaka Silva Haddad Ivanova Smith".split()
TITLES = [
    "Head of Sales",
    "VP Engineering",
    "Chief Technology Officer",
    "Account Executive",
    "Sales Development Representative",
    "Founder & CEO",
    "Director of Partnerships",
    "Principal Engineer",
]
COMPANIES = ["Initech", "Globex", "Umbrella", "Stark Industries", "Wayne Enterprises", "Pied Piper"]
PLACES = [
    ("Berlin", "Germany"),
    ("Paris", "France"),
    ("San Francisco", "United States"),
    ("New York", "United States"),
    ("Warsaw", "Poland"),
    ("London", "United Kingdom"),
    ("Madrid", "Spain"),
    ("Bangalore", "India"),
    ("São Paulo", "Brazil"),
    ("Tallinn", "Estonia"),
    ("Tokyo", "Japan"),
    ("Toronto", "Canada"),
]
QUESTIONS = ("Works in sales.", "Based in Europe.")
ANSWERS = ("YES", "NO", "MAYBE")
HOOLI_EVERY = 97  # one person in 97 works at Hooli: the search hit of bench/pages.py
LEAD_COLUMNS = (
    "job_id",
    "profile_id",
    "position",
    "name",
    "headline",
    "title",
    "company",
    "location",
    "country",
    "linkedin_url",
    "is_decision_maker",
    "criteria",
    "raw",
    "created_at",
    "person_id",
)


def person_url(number):
    return f"https://www.linkedin.com/in/person-{number}"


def person(number):
    """The lead fields of person `number`, the same whichever job finds them."""
    name = f"{FIRST[number % len(FIRST)]} {LAST[(number // len(FIRST)) % len(LAST)]} {number}"
    title = TITLES[number % len(TITLES)]
    company = "Hooli" if number % HOOLI_EVERY == 0 else f"{COMPANIES[number % len(COMPANIES)]} {number % 997}"
    city, country = PLACES[(number // 7) % len(PLACES)]
    url = person_url(number)
    answer = ANSWERS[number % 3]
    criteria = {
        QUESTIONS[0]: answer,
        QUESTIONS[1]: {"answer": ANSWERS[(number // 3) % 3], "reasoning": f"Lives in {city}."},
    }
    headline = f"{title} at {company}"
    raw = {
        "profile": {
            "id": str(number),
            "name": name,
            "headline": headline,
            "location": f"{city}, {country}",
            "location_country": country,
            "linkedin_url": url,
            "connections_count": number % 500,
            "is_decision_maker": number % 2 == 0,
            "skills": ["Sales", "SaaS", "Negotiation"],
            "criteria": criteria,
        },
        "experience": [
            {
                "title": title,
                "company_name": company,
                "start_date": "2021-01-01T00:00:00",
                "end_date": "1970-01-01T00:00:00",
            }
        ],
        "education": [{"degree": "BSc", "field_of_study": "Economics", "school_name": "A University"}],
    }
    return {
        "profile_id": str(number),
        "name": name,
        "headline": headline,
        "title": title,
        "company": company,
        "location": f"{city}, {country}",
        "country": country,
        "linkedin_url": url,
        "is_decision_maker": number % 2 == 0,
        "criteria": criteria,
        "raw": raw,
    }


class Layout:
    """Which job each lead is in and which person it is.

    Job 0 is the big one (leads 0..big-1), the other jobs share the rest evenly. Leads below
    `people` are persons 0..people-1 in order; each later lead is a person found again, chosen by
    a stride through all of them and never one its own job already has.
    """

    def __init__(self, leads, jobs, big, repeat):
        self.leads, self.jobs, self.big = leads, jobs, big
        self.people = min(leads, math.ceil(leads / (1 + repeat)))
        self.small = math.ceil((leads - big) / max(jobs - 1, 1))
        self.stride = next(s for s in range(7919, 10**6) if math.gcd(s, self.people) == 1)

    def job_of(self, index):
        return 0 if index < self.big else 1 + (index - self.big) // self.small

    def job_sizes(self):
        sizes = [0] * self.jobs
        sizes[0] = min(self.big, self.leads)
        for job in range(1, self.jobs):
            start = self.big + (job - 1) * self.small
            sizes[job] = max(0, min(self.small, self.leads - start))
        return sizes

    def leads_of(self, job):
        """[(position, person)] of one job's leads."""
        start = 0 if job == 0 else self.big + (job - 1) * self.small
        size = self.job_sizes()[job]
        taken, found = set(), []
        for position, index in enumerate(range(start, start + size)):
            if index < self.people:
                number = index
            else:
                number = ((index - self.people) * self.stride) % self.people
                while self.job_of(number) == job or number in taken:
                    number = (number + 1) % self.people
                taken.add(number)
            found.append((position, number))
        return found


def seed(leads=1_000_000, jobs=1000, big=100_000, repeat=0.21, username="bench", password="bench-pass"):
    """Create the user, the jobs (each with a few settled charges) and the leads. Returns a summary."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from research.models import JobStatus, Lead, ResearchJob

    columns = {f.column for f in Lead._meta.concrete_fields if not f.primary_key}
    missing = columns - set(LEAD_COLUMNS)
    assert not missing, f"Lead has columns bench/seed.py does not fill: {missing}"

    began = time.perf_counter()
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    user.save()
    layout = Layout(leads, jobs, big, repeat)
    now = timezone.now()
    sizes = layout.job_sizes()
    job_rows = [
        ResearchJob(
            owner=user,
            query=f"Bench search {n}" + (" (the big one)" if n == 0 else ""),
            limit=max(size, 1),
            status=JobStatus.COMPLETED,
            clado_id=f"bench-{n}-{now.timestamp():.0f}",
            created_at=now - datetime.timedelta(minutes=jobs - n),
            launched_at=now - datetime.timedelta(minutes=jobs - n),
            finished_at=now - datetime.timedelta(minutes=jobs - n - 1),
            leads_stored=size,
            results_reported=size,
            criteria=list(QUESTIONS),
        )
        for n, size in enumerate(sizes)
    ]
    with transaction.atomic():
        ResearchJob.objects.bulk_create(job_rows, batch_size=1000)
    job_ids = list(
        ResearchJob.objects.filter(owner=user).order_by("created_at", "id").values_list("pk", flat=True)
    )
    job_ids = job_ids[-jobs:]
    seed_charges(user, job_ids, sizes)
    seed_people(connection, layout, now)

    insert = copy_rows if connection.vendor == "postgresql" else executemany_rows
    created = now - datetime.timedelta(days=1)
    rows_written = 0
    for job, job_id in enumerate(job_ids):
        rows = []
        for position, number in layout.leads_of(job):
            p = person(number)
            rows.append(
                (
                    job_id,
                    p["profile_id"],
                    position,
                    p["name"],
                    p["headline"],
                    p["title"],
                    p["company"],
                    p["location"],
                    p["country"],
                    p["linkedin_url"],
                    p["is_decision_maker"],
                    json.dumps(p["criteria"]),
                    json.dumps(p["raw"]),
                    created,
                    number + 1,  # the Person of this number (seed_people)
                )
            )
        insert(connection, rows)
        rows_written += len(rows)
    finish_people(connection)
    analyse(connection)
    return {
        "big_job": job_ids[0],
        "jobs": len(job_ids),
        "leads": rows_written,
        "people": layout.people,
        "seconds": time.perf_counter() - began,
    }


def seed_charges(user, job_ids, sizes):
    """A settled launch charge and two status charges per job: the jobs list sums them."""
    from django.conf import settings

    from research.models import Charge

    charges = []
    for job_id, size in zip(job_ids, sizes, strict=True):
        for endpoint, amount in (("deep-research", 10_000 * size + 3000), ("deep-research-status", 3000)):
            for _ in range(1 if endpoint == "deep-research" else 2):
                charges.append(
                    Charge(
                        endpoint=endpoint,
                        user=user,
                        job_id=job_id,
                        amount=amount,
                        currency=settings.USDC_E,
                        decimals=6,
                        recipient=settings.MPP_RECIPIENTS[0],
                        chain_id=settings.TEMPO_CHAIN_ID,
                        payer="0x" + "11" * 20,
                        challenge_id=f"bench-{len(charges)}",
                        tx_hash=f"0x{job_id:032x}{len(charges):032x}",
                        state=Charge.State.SETTLED,
                    )
                )
    Charge.objects.bulk_create(charges, batch_size=2000)


def seed_people(connection, layout, now):
    """One Person per numbered person (id = number + 1), keyed as ingest keys them."""
    from research.people import key_of

    rows = []
    for number in range(layout.people):
        url = person_url(number)
        rows.append((number + 1, key_of(url), url, now))
    insert = copy_rows if connection.vendor == "postgresql" else executemany_rows
    columns = ("id", "key", "linkedin_url", "first_seen_at")
    for start in range(0, len(rows), 100_000):
        insert(connection, rows[start : start + 100_000], table="research_person", columns=columns)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('research_person', 'id'), %s)", [max(layout.people, 1)]
            )


def finish_people(connection):
    """What ingest keeps up to date as it stores leads: each person's latest lead, each job's countries."""
    from research import facets

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE research_lead")
        cursor.execute(
            "UPDATE research_person SET latest_lead_id = latest.id FROM "
            "(SELECT person_id, MAX(id) AS id FROM research_lead GROUP BY person_id) AS latest "
            "WHERE research_person.id = latest.person_id"
        )
    facets.rebuild()


def copy_rows(connection, rows, table="research_lead", columns=LEAD_COLUMNS):
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def executemany_rows(connection, rows, table="research_lead", columns=LEAD_COLUMNS):
    from django.db import transaction

    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, [tuple(_sqlite_value(value) for value in row) for row in rows])


def _sqlite_value(value):
    return value.replace(tzinfo=None).isoformat(sep=" ") if isinstance(value, datetime.datetime) else value


def analyse(connection):
    """Planner statistics; on PostgreSQL a VACUUM too, as autovacuum would after a bulk load, so
    index-only scans need not visit the table."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def seeded(leads, jobs, big, username="bench"):
    """The big job's id if the database already holds exactly this seed, else None."""
    from research.models import Lead, ResearchJob

    ours = ResearchJob.objects.filter(owner__username=username).order_by("created_at", "id")
    if ours.count() != jobs or Lead.objects.count() != leads:
        return None
    first = ours.first()
    return first.pk if first.leads_stored == big else None


def ensure_database(url):
    """Create the PostgreSQL database `url` names if it does not exist yet (SQLite needs nothing)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
