"""One person across jobs: a LinkedIn profile URL normalised into a key, and the `Person` rows behind it.

`http://LinkedIn.com/in/Alex/`, `https://www.linkedin.com/in/alex?trk=x` and
`https://de.linkedin.com/in/alex` are one person: the key drops the scheme, the host's
subdomain, case, a trailing slash, the query string and the fragment. A lead without a
URL is keyed by its Clado profile id instead, so every stored lead belongs to one person.

Ingest keeps the `Person` table up to date in bulk, a page of leads at a time
(`assign` before the leads are inserted, `refresh_latest` after), so reading one row per
person is a join on an indexed table, never a deduplication over every lead.
"""

from urllib.parse import unquote, urlsplit

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


def assign(leads, now=None):
    """Create or update the Person of each (unsaved) lead and set `lead.person_id`. One query.

    One bulk upsert whatever the number of leads (in key order, so two racing pages lock rows in the
    same order), which hands back every person's id, new or not: the latest URL seen is kept for display.
    """
    now = now or timezone.now()
    keys = [key_of(lead.linkedin_url, lead.profile_id) for lead in leads]
    by_key = {}
    for lead, key in zip(leads, keys, strict=True):
        if key:
            by_key[key] = lead.linkedin_url or by_key.get(key, "")
    if not by_key:
        return
    people = Person.objects.bulk_create(
        [Person(key=key, linkedin_url=url[:500], first_seen_at=now) for key, url in sorted(by_key.items())],
        update_conflicts=True,
        unique_fields=["key"],
        update_fields=["linkedin_url"],
        batch_size=500,
    )
    ids = {person.key: person.pk for person in people}
    if None in ids.values():  # a database that returns no ids from an upsert
        ids = dict(Person.objects.filter(key__in=list(by_key)).values_list("key", "pk"))
    for lead, key in zip(leads, keys, strict=True):
        lead.person_id = ids.get(key)


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
