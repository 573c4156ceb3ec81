"""Pages of a long table that cost the same at a hundred rows and at a million.

Django's paginator counts every row of the view on every request and fetches a deep page
with a plain OFFSET over whole rows. Here a page is read in two steps: the ids of its rows
(one more than fits, to know whether a next page exists), walked in the view's order over an
index that holds the sort column and the id, then the rows of those ids alone. A total is
counted only up to `COUNT_CAP` rows; above that it is the caller's `known_total` (a counter
kept at ingest, for a view that filters nothing), or else said as "more than ..." and
never guessed. The page object answers what templates ask of Django's `Page`.
"""

import math
from contextlib import contextmanager

from django.db import connections, transaction

COUNT_CAP = 1000


class Page:
    """One page of rows. `count` is the total, exact when `exact`, else a number it is more than."""

    def __init__(self, rows, number, per_page, count, exact):
        self.object_list = rows
        self.number = number
        self.per_page = per_page
        self.count = count
        self.exact = exact
        self.num_pages = max(1, math.ceil(count / per_page)) if exact else None
        self.paginator = self  # templates read page.paginator.count and page.paginator.num_pages

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def has_next(self):
        return self.number * self.per_page < self.count or not self.exact

    def has_previous(self):
        return self.number > 1

    def has_other_pages(self):
        return self.has_previous() or self.has_next()

    def next_page_number(self):
        return self.number + 1

    def previous_page_number(self):
        return self.number - 1

    def start_index(self):
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    def end_index(self):
        return (self.number - 1) * self.per_page + len(self.object_list)


def page_number(value):
    """A page number from the query string: a positive integer, else 1."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 9 and int(text) else 1


def page_of(rows, number, per_page, known_total=None):
    """Page `number` (from the query string) of the ordered queryset `rows`, `per_page` rows a page.

    At most three queries: the page's ids, a count of at most `COUNT_CAP` + 1 rows (skipped when
    the page is the last or `known_total` is), the rows themselves. A page past the end shows the
    last page when the total is known, else the first.
    """
    number = page_number(number)
    ids = _ids(rows, number, per_page)
    offset = (number - 1) * per_page
    if len(ids) <= per_page and (ids or number == 1):
        count, exact = offset + len(ids), True  # this is the last page: the total is known
    elif known_total is not None and known_total > offset + per_page and ids:
        count, exact = known_total, True  # the counter agrees with what the page saw
    else:
        counted = _count_upto(rows, COUNT_CAP + 1)
        if counted <= COUNT_CAP:
            count, exact = counted, True
        elif known_total is not None and known_total > COUNT_CAP:
            count, exact = known_total, True
        else:
            count, exact = max(COUNT_CAP, offset + min(len(ids), per_page)), False
        if not ids:  # past the end
            number = max(1, math.ceil(count / per_page)) if exact else 1
            ids = _ids(rows, number, per_page)
    ids = ids[:per_page]
    # The rows by id alone: the view's filters chose these ids already (a search, re-applied, costs).
    plain = rows.model._base_manager.using(rows.db)
    if related := _related(rows):  # (an empty select_related() would join every foreign key)
        plain = plain.select_related(*related)
    found = {row.pk: row for row in plain.filter(pk__in=ids)}
    return Page([found[pk] for pk in ids if pk in found], number, per_page, count, exact)


def _ids(rows, number, per_page):
    start = (number - 1) * per_page
    if isinstance(rows, Chained):
        return rows.ids(start, start + per_page + 1)
    return list(rows.values_list("pk", flat=True)[start : start + per_page + 1])


def _count_upto(rows, cap):
    if isinstance(rows, Chained):
        return rows.count_upto(cap)
    with _serial(rows.db):
        return rows.order_by().values("pk")[:cap].count()


@contextmanager
def _serial(alias):
    """PostgreSQL plans this block's queries without parallel workers.

    A count capped at COUNT_CAP stops early, and parallel workers overshoot the limit and cost
    their start-up: the all-leads country filter's capped count at a million leads took 62 ms
    with two workers, 3.5 ms without.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


class Chained:
    """Ordered querysets of one model one after the other, paged as one view.

    For an order no index holds whole but each part's does: sorted by shortlist status, the
    shortlisted people by status, then everyone else by position (`research.leads.for_pages`).
    The parts must not overlap. Every part but the last is counted as far as the page asked for
    reaches, to know where the next part begins: a deep page costs what a deep page costs.
    """

    def __init__(self, *parts):
        self.parts = parts
        self.model, self.db, self.query = parts[0].model, parts[0].db, parts[0].query

    def ids(self, start, stop):
        """The ids of rows `start` to `stop` (excluded) of the whole view."""
        found = []
        for part in self.parts[:-1]:
            size = _count_upto(part, stop)  # whole, or as far as the page goes
            if start < size:
                found += part.values_list("pk", flat=True)[start : min(stop, size)]
            if stop <= size:
                return found
            start, stop = max(0, start - size), stop - size
        return found + list(self.parts[-1].values_list("pk", flat=True)[start:stop])

    def count_upto(self, cap):
        counted = 0
        for part in self.parts:
            counted += _count_upto(part, cap - counted)
            if counted >= cap:
                break
        return counted


def _related(rows):
    """The select_related() fields of `rows` (a nested dict in Django's query), as names."""
    related = rows.query.select_related
    return list(related) if isinstance(related, dict) else []
