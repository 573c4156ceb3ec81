"""One person across jobs: a LinkedIn profile URL normalised into a key, and the `Person` rows behind it.

`http://LinkedIn.com/in/Alex/`, `https://www.linkedin.com/in/alex?trk=x` and
`https://de.linkedin.com/in/alex` are one person: the key drops the scheme, the host's
subdomain, case, a trailing slash, the query string and the fragment. A lead without a
URL is keyed by its Clado profile id instead, so every stored lead belongs to one person.

Ingest keeps the `Person` table up to date in bulk, a page of leads at a time (`assign` before
the leads are inserted, `point_to_newest` after; on PostgreSQL the leads' ids are taken ahead
and `assign` points each person at theirs in the same statement), so reading one row per
person is a join on an indexed table, never a deduplication over every lead.
"""

from urllib.parse import unquote, urlsplit

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .models import Lead, Person

LINKEDIN_HOST = "linkedin.com"


def normalise_linkedin_url(url):
    """The key of a LinkedIn profile URL ("linkedin.com/in/alex"), or "" for no URL."""
    text = str(url or "").strip()
    if not text:
        return ""
    if "//" not in text:
        text = "//" + text  # "linkedin.com/in/alex": no scheme, still a host
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.casefold()[:500]
    host = (parts.hostname or "").casefold().rstrip(".")
    if host == LINKEDIN_HOST or host.endswith("." + LINKEDIN_HOST):
        host = LINKEDIN_HOST  # www., country (de., uk.) and mobile (m.) hosts are one site
    elif host.startswith("www."):
        host = host[4:]
    path = unquote(parts.path).casefold().rstrip("/")
    return f"{host}{path}"[:500]


def key_of(linkedin_url, profile_id=""):
    """The person key of a lead: its normalised LinkedIn URL, else its Clado profile id."""
    return normalise_linkedin_url(linkedin_url) or (f"id:{profile_id}"[:500] if profile_id else "")


def assign(leads, now=None, newest=False):
    """Create or update the Person of each (unsaved) lead and set `lead.person_id`. One query.

    One bulk upsert whatever the number of leads (in key order, so two racing pages lock rows in the
    same order), which hands back every person's id, new or not: the latest URL seen is kept for display.

    `newest`: the leads already have the ids they will be inserted with (`reserve_ids`), and each
    person is pointed at theirs in the same upsert when it is later than the one they have: a
    racing page's later lead wins whichever commits first. Then `point_to_newest` is not needed.
    """
    now = now or timezone.now()
    keys = [key_of(lead.linkedin_url, lead.profile_id) for lead in leads]
    by_key = {}
    for lead, key in zip(leads, keys, strict=True):
        if key:
            url, latest = by_key.get(key, ("", None))
            by_key[key] = (lead.linkedin_url or url, max(filter(None, (latest, lead.pk)), default=None))
    if not by_key:
        return
    ids = _upsert(sorted(by_key.items()), now, newest)
    for lead, key in zip(leads, keys, strict=True):
        lead.person_id = ids.get(key)


def reserve_ids(leads):
    """Give unsaved `leads` the ids they will be inserted with, from the table's sequence, in their
    order; False (and nothing given) where ids cannot be taken ahead (SQLite)."""
    if connection.vendor != "postgresql" or not leads:
        return False
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(leads)],
        )
        for lead, (pk,) in zip(leads, sorted(cursor.fetchall()), strict=True):
            lead.pk = pk
    return True


def _upsert(people, now, newest=False):
    """{key: id} of `people` [(key, (url, newest lead id))], inserted or their URL updated; with
    `newest`, their latest lead too, where it is later than theirs.

    Written as SQL both PostgreSQL and SQLite (3.35+) run: `INSERT ... ON CONFLICT DO UPDATE
    ... RETURNING`. Django's `bulk_create(update_conflicts=True)` writes the same statement, but
    builds a model object and prepares each of its values first, which on SQLite cost more than the
    database's own work for the page (bench/ingest.py).
    """
    if not _writes_sql_here():
        made = Person.objects.bulk_create(
            [Person(key=key, linkedin_url=url[:500], first_seen_at=now) for key, (url, _) in people],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["linkedin_url"],
        )
        if None not in (person.pk for person in made):
            return {person.key: person.pk for person in made}
        return dict(Person.objects.filter(key__in=[key for key, _ in people]).values_list("key", "pk"))
    table = connection.ops.quote_name(Person._meta.db_table)
    seen = connection.ops.adapt_datetimefield_value(now)
    ids = {}
    columns, width, update = '"key", "linkedin_url", "first_seen_at"', 3, ""
    if newest:  # GREATEST skips a NULL: a person without a lead yet takes this one
        columns, width = columns + ', "latest_lead_id"', 4
        update = f', "latest_lead_id" = GREATEST({table}."latest_lead_id", excluded."latest_lead_id")'
    for start in range(0, len(people), 500):
        batch = people[start : start + 500]
        sql = (
            f"INSERT INTO {table} ({columns}) VALUES {_rows(len(batch), width)} "
            f'ON CONFLICT ("key") DO UPDATE SET "linkedin_url" = excluded."linkedin_url"{update} '
            'RETURNING "key", "id"'
        )
        values = [(key, url[:500], seen, latest)[:width] for key, (url, latest) in batch]
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in values for value in row])
            ids.update(cursor.fetchall())
    return ids


def point_to_newest(leads):
    """Point each person at their lead just stored, as its newest: no lookup of their other leads.

    Sound because `assign` upserted each person's row before the lead got its id, in the same
    transaction: the row stays locked until commit, so a racing page that finds the same person
    waits, and its lead gets a later id. Leads without an id (an insert that ignored conflicts
    hands none back) are looked up as `refresh_latest` does. One UPDATE, two at most.
    """
    newest, unknown = {}, []
    for lead in leads:
        if lead.person_id is None:
            continue
        if lead.pk is None:
            unknown.append(lead.person_id)
        elif lead.pk > newest.get(lead.person_id, 0):
            newest[lead.person_id] = lead.pk
    if newest and not _writes_sql_here():
        unknown.extend(newest)
    elif newest:
        # UPDATE ... FROM (VALUES ...), which PostgreSQL and SQLite (3.33+) both run: Django's
        # bulk_update writes a CASE of one branch per row, which costs more than the page's insert.
        table = connection.ops.quote_name(Person._meta.db_table)
        pairs = sorted(newest.items())
        sql = (
            f'UPDATE {table} SET "latest_lead_id" = v.column2 '
            f"FROM (VALUES {_rows(len(pairs), 2)}) AS v "
            f'WHERE {table}."id" = v.column1'
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for pair in pairs for value in pair])
    refresh_latest(unknown)


def _writes_sql_here():
    """Whether the database runs the statements written out above (PostgreSQL, SQLite 3.35+)."""
    return connection.vendor in ("postgresql", "sqlite")


def _rows(count, width):
    """The placeholders of `count` rows of `width` values: "(%s, %s), (%s, %s)"."""
    return ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * count)


def refresh_latest(person_ids):
    """Point each person at their most recently stored lead (what one row per person shows). One UPDATE."""
    person_ids = [pk for pk in set(person_ids) if pk is not None]
    if not person_ids:
        return 0
    latest = Lead.objects.filter(person=OuterRef("pk")).order_by("-pk").values("pk")[:1]
    return Person.objects.filter(pk__in=person_ids).update(latest_lead=Subquery(latest))


def link_unassigned(batch=2000):
    """Give every lead that has no person one (leads stored before people were kept). Returns how many."""
    unassigned = Lead.objects.filter(person__isnull=True).exclude(linkedin_url="", profile_id="")
    linked = 0
    while leads := list(unassigned.only("pk", "linkedin_url", "profile_id")[:batch]):
        assign(leads)
        Lead.objects.bulk_update(leads, ["person"], batch_size=500)
        refresh_latest(lead.person_id for lead in leads)
        linked += len(leads)
    return linked
