"""A page read again is served from the reader's kept copy until anything in the database changes.

Transactional tests: the copies are keyed on what has been committed, as in production, where a
request runs in no transaction. Within a transaction nothing is kept (the last test).
"""

import datetime
import re
import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from research.models import JobStatus, Lead, Preferences, ResearchJob
from tests.conftest import in_team
from tests.workspace_data import stored_job

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}
# A kept page costs the session, the reader and the database's marker; building one costs a dozen.
KEPT_PAGE_QUERIES = 3


def queries_of(client, path, **extra):
    """(the response, how many queries it took)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **extra)
    return response, len(captured.captured_queries)


def seen_twice(client, path):
    """Read `path` until the reader has a CSRF cookie and a kept copy (the first read builds it)."""
    client.get(path)
    client.get(path)


def test_a_finished_job_s_page_read_again_costs_three_queries_and_is_the_same_page(logged_in, user):
    job = stored_job(user, count=30)
    built, built_queries = queries_of(logged_in, job.get_absolute_url())
    built, built_queries = queries_of(logged_in, job.get_absolute_url())  # now with a CSRF cookie
    kept, kept_queries = queries_of(logged_in, job.get_absolute_url())

    assert built_queries > 8
    assert kept_queries == KEPT_PAGE_QUERIES
    assert kept.status_code == 200 and kept.content == built.content
    assert kept["Content-Type"] == built["Content-Type"] and "HX-Request" in kept["Vary"]


def test_the_all_leads_table_and_the_jobs_list_are_kept_too(logged_in, user):
    job = stored_job(user, count=5)
    ResearchJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=3))
    for path in (reverse("research:lead_list"), reverse("research:job_list")):
        seen_twice(logged_in, path)
        assert queries_of(logged_in, path)[1] == KEPT_PAGE_QUERIES, path


def test_a_jobs_list_that_says_started_seconds_ago_is_built_every_time(logged_in, user):
    """ "Started 40 seconds ago" moves every second: a copy would lag behind it."""
    stored_job(user, count=5)
    seen_twice(logged_in, reverse("research:job_list"))
    assert queries_of(logged_in, reverse("research:job_list"))[1] > KEPT_PAGE_QUERIES


def test_a_status_set_on_a_row_shows_on_the_next_read(logged_in, user):
    job = stored_job(user, count=5)
    lead = job.leads.get(position=2)
    seen_twice(logged_in, job.get_absolute_url())

    logged_in.post(reverse("research:shortlist_update", args=[lead.person_id]), {"status": "contacted"})

    for _ in range(3):  # the first read shows the "saved" notice; the ones after may be kept copies
        page = logged_in.get(job.get_absolute_url()).content.decode()
        cell = page[page.index(f'id="shortlist-cell-{lead.person_id}"') :]
        assert '<option value="contacted" selected>' in cell[: cell.index("</form>")]


def test_a_profile_stored_by_another_process_shows_on_the_next_read(logged_in, user):
    """The worker stores profiles on its own connection: the page's copy is not read again."""
    job = stored_job(user, count=3)
    seen_twice(logged_in, job.get_absolute_url())
    lead = job.leads.get(position=0)

    def elsewhere():
        try:
            Lead.objects.filter(pk=lead.pk).update(name="Renamed Elsewhere")
        finally:
            connection.close()

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()

    for _ in range(2):
        assert "Renamed Elsewhere" in logged_in.get(job.get_absolute_url()).content.decode()


def test_a_column_chosen_shows_at_once_and_its_notice_once(logged_in, user):
    job = stored_job(user, count=3)
    seen_twice(logged_in, job.get_absolute_url())

    logged_in.post(reverse("research:columns_save"), {"offered": ["name", "company"], "columns": ["name"]})

    after = logged_in.get(job.get_absolute_url()).content.decode()
    assert "Columns saved" in after and 'class="col-company"' not in after
    assert Preferences.columns_of(user)
    again = logged_in.get(job.get_absolute_url()).content.decode()
    assert "Columns saved" not in again and 'class="col-company"' not in again


def test_nobody_else_is_served_my_copy(logged_in, user, bob):
    job = stored_job(user, count=3)
    seen_twice(logged_in, job.get_absolute_url())
    other = Client()
    other.force_login(bob)

    assert other.get(job.get_absolute_url()).status_code == 404

    in_team("Sales", user, bob)  # a change of team is a write: bob now sees the job, with his own page
    job.team = user.groups.get()
    job.save(update_fields=["team"])
    page = other.get(job.get_absolute_url())
    assert page.status_code == 200
    assert page.context is not None  # built for him, not a copy of mine


def test_the_kept_page_s_forms_carry_a_token_the_server_accepts(user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    job = stored_job(user, count=3)
    lead = job.leads.get(position=1)
    seen_twice(strict, job.get_absolute_url())
    kept, kept_queries = queries_of(strict, job.get_absolute_url())
    assert kept_queries == KEPT_PAGE_QUERIES

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', kept.content.decode()).group(1)
    answer = strict.post(
        reverse("research:shortlist_update", args=[lead.person_id]),
        {"status": "contacted", "csrfmiddlewaretoken": token},
    )
    assert answer.status_code == 302


def test_a_partial_and_the_whole_page_are_kept_apart(logged_in, user):
    job = stored_job(user, count=3)
    seen_twice(logged_in, job.get_absolute_url())
    partial = logged_in.get(job.get_absolute_url(), **HTMX).content.decode()
    partial_again = logged_in.get(job.get_absolute_url(), **HTMX).content.decode()
    whole = logged_in.get(job.get_absolute_url()).content.decode()

    assert "<html" not in partial and partial == partial_again
    assert "<html" in whole


def test_a_running_job_s_page_is_built_every_time(logged_in, user):
    """It says when the job was last checked, "40 s ago": a copy would tell the wrong time."""
    job = stored_job(user, count=3, status=JobStatus.SEARCHING)
    seen_twice(logged_in, job.get_absolute_url())
    assert queries_of(logged_in, job.get_absolute_url())[1] > KEPT_PAGE_QUERIES


def test_nothing_is_kept_when_turned_off(logged_in, user, settings):
    settings.PAGE_CACHE_SECONDS = 0
    job = stored_job(user, count=3)
    seen_twice(logged_in, job.get_absolute_url())
    assert queries_of(logged_in, job.get_absolute_url())[1] > KEPT_PAGE_QUERIES


def test_nothing_is_kept_within_a_transaction(logged_in, user):
    """Its own writes do not move the marker, so a copy could hide them."""
    job = stored_job(user, count=3)
    with transaction.atomic():
        seen_twice(logged_in, job.get_absolute_url())
        Lead.objects.filter(job=job, position=0).update(name="Renamed Within")
        page, page_queries = queries_of(logged_in, job.get_absolute_url())
        assert "Renamed Within" in page.content.decode() and page_queries > KEPT_PAGE_QUERIES
