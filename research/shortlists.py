"""Shortlists: a status, tags and a note on a person, shared by the team, whichever job found them.

Whose shortlist a person works on is decided in ONE place, `scope_of`: their team's (their
first group) if they have one, else their own. Everything else here takes that scope, so
switching to another notion of team changes one function.

Reading costs a fixed number of queries: filters and sorting are subqueries on the leads
query, and a page's (or an export chunk's) entries come with their tags in two queries.
"""

import re

from django.db.models import Case, Exists, IntegerField, OuterRef, Subquery, Value, When
from django.utils import timezone

from .models import ShortlistEntry, ShortlistStatus, ShortlistTag

# The "shortlist" filter: on it at all, not on it, or one status.
ON_SHORTLIST, NOT_ON_SHORTLIST = "any", "none"
MAX_TAGS = 20
BATCH = 500


def scope_of(user):
    """Whose shortlist `user` reads and writes: "team:<group id>" (their first group), else "user:<id>".

    The one visibility rule of shortlists: when teams arrive (`access`), this is what changes.
    """
    group_id = user.groups.order_by("pk").values_list("pk", flat=True).first()
    return f"team:{group_id}" if group_id is not None else f"user:{user.pk}"


def clean_tag(text):
    return re.sub(r"\s+", " ", str(text or "")).strip().strip(",").strip().casefold()[:50]


def parse_tags(text):
    """ "Berlin, warm lead,berlin" -> ["berlin", "warm lead"]."""
    return list(dict.fromkeys(t for t in (clean_tag(part) for part in str(text or "").split(",")) if t))[
        :MAX_TAGS
    ]


# --- Reading --------------------------------------------------------------------------------


def _entries(scope):
    return ShortlistEntry.objects.filter(scope=scope, person=OuterRef("person"))


def narrow(leads, params, scope):
    """Leads filtered by the query string's shortlist status (`shortlist`) and `tag`."""
    wanted = params.get("shortlist", "")
    entries = _entries(scope)
    if wanted == ON_SHORTLIST:
        leads = on_list(leads, scope)
    elif wanted == NOT_ON_SHORTLIST:
        leads = off_list(leads, scope)
    elif wanted in ShortlistStatus.values:
        leads = leads.filter(Exists(entries.filter(status=wanted)))
    if tag := clean_tag(params.get("tag", "")):
        leads = leads.filter(Exists(entries.filter(tags__name=tag)))
    return leads


def on_list(leads, scope):
    """Those of `leads` whose person is on the scope's shortlist.

    `IN` the scope's people rather than `EXISTS` an entry per lead: a database then starts from
    the shortlist (small) and finds its people's leads by index, instead of probing every lead.
    """
    return leads.filter(person__in=_people_of(scope))


def off_list(leads, scope):
    return leads.exclude(person__in=_people_of(scope))


def _people_of(scope):
    return ShortlistEntry.objects.filter(scope=scope).values("person")


def with_status_rank(leads, scope):
    """Leads annotated with `shortlist_rank`: the statuses in pipeline order, people not on it last."""
    status = Subquery(_entries(scope).values("status")[:1])
    ranks = [
        When(shortlist_status=value, then=Value(rank)) for rank, value in enumerate(ShortlistStatus.values)
    ]
    return leads.annotate(shortlist_status=status).annotate(
        shortlist_rank=Case(*ranks, default=Value(len(ranks)), output_field=IntegerField())
    )


def is_filtered(params):
    return bool(params.get("shortlist") in (ON_SHORTLIST, NOT_ON_SHORTLIST, *ShortlistStatus.values)) or bool(
        clean_tag(params.get("tag", ""))
    )


def attach(leads, scope):
    """Set `lead.entry` (the scope's ShortlistEntry, with `tag_names`, or None) on each lead. Two queries."""
    leads = list(leads)
    person_ids = {lead.person_id for lead in leads if lead.person_id}
    found = {}
    if person_ids:
        for entry in ShortlistEntry.objects.filter(scope=scope, person_id__in=person_ids).prefetch_related(
            "tags"
        ):
            entry.tag_names = [tag.name for tag in entry.tags.all()]
            found[entry.person_id] = entry
    for lead in leads:
        lead.entry = found.get(lead.person_id)
    return leads


def tags_in_use(scope, limit=200):
    """The tags on this scope's shortlist, for the tag filter (a lazy query: read only if shown)."""
    names = ShortlistTag.objects.filter(entry__scope=scope).order_by("name").values_list("name", flat=True)
    return names.distinct()[:limit]


def entry_of(person, scope):
    entry = ShortlistEntry.objects.filter(scope=scope, person=person).prefetch_related("tags").first()
    if entry is not None:
        entry.tag_names = [tag.name for tag in entry.tags.all()]
    return entry


# --- Changing -------------------------------------------------------------------------------


def update(person, scope, user, *, status=None, tags=None, note=None, remove=False):
    """Put `person` on the scope's shortlist (or change their entry); `remove` takes them off.

    `tags` replaces the tags (a list); None leaves them. Returns the entry, or None once removed.
    """
    if remove:
        ShortlistEntry.objects.filter(scope=scope, person=person).delete()
        return None
    entry, _ = ShortlistEntry.objects.get_or_create(scope=scope, person=person, defaults={"updated_by": user})
    if status in ShortlistStatus.values:
        entry.status = status
    if note is not None:
        entry.note = note[:5000]
    entry.updated_by, entry.updated_at = user, timezone.now()
    entry.save()
    if tags is not None:
        entry.tags.exclude(name__in=tags).delete()
        ShortlistTag.objects.bulk_create(
            [ShortlistTag(entry=entry, name=t) for t in tags], ignore_conflicts=True
        )
    return entry_of(person, scope)


def bulk(person_ids, scope, user, *, status=None, tag=None):
    """Set a status on, or add a tag to, every person in `person_ids` (an iterable). Returns how many.

    People not on the shortlist yet are added (as new). A few queries per BATCH people.
    """
    tag = clean_tag(tag) if tag else ""
    count = 0
    batch = []
    for person_id in person_ids:
        batch.append(person_id)
        if len(batch) == BATCH:
            count += _bulk_batch(batch, scope, user, status, tag)
            batch = []
    if batch:
        count += _bulk_batch(batch, scope, user, status, tag)
    return count


def _bulk_batch(person_ids, scope, user, status, tag):
    now = timezone.now()
    fields = ["updated_by", "updated_at"] + (["status"] if status in ShortlistStatus.values else [])
    ShortlistEntry.objects.bulk_create(
        [
            ShortlistEntry(
                person_id=pk,
                scope=scope,
                status=status if status in ShortlistStatus.values else ShortlistStatus.NEW,
                updated_by=user,
                updated_at=now,
            )
            for pk in person_ids
        ],
        update_conflicts=True,
        unique_fields=["scope", "person"],
        update_fields=fields,
    )
    if tag:
        entry_ids = ShortlistEntry.objects.filter(scope=scope, person_id__in=person_ids).values_list(
            "pk", flat=True
        )
        ShortlistTag.objects.bulk_create(
            [ShortlistTag(entry_id=pk, name=tag) for pk in entry_ids], ignore_conflicts=True
        )
    return len(person_ids)
