"""Shortlists: one person across jobs (by normalised LinkedIn URL), a status, tags and a note shared
with the team, changed inline (htmx) or with plain forms, filtered and sorted, and bulk actions on
the ticked people or everyone matching the filters.
"""

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from research import clado, ingest, people, shortlists
from research.models import Lead, Person, ResearchJob, ShortlistEntry
from research.sandbox import profiles as sandbox_profiles
from tests.workspace_data import stored_job

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def shortlist(client, lead, **data):
    return client.post(reverse("research:shortlist_update", args=[lead.person_id]), data)


def bulk(client, job, htmx=False, **data):
    headers = HTMX if htmx else {}
    return client.post(reverse("research:shortlist_bulk"), {"job": job.pk if job else "", **data}, **headers)


def entries(scope):
    return {e.person_id: e for e in ShortlistEntry.objects.filter(scope=scope).prefetch_related("tags")}


# --- One person across jobs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/in/alexjohnson",
        "http://www.linkedin.com/in/alexjohnson",
        "https://linkedin.com/in/alexjohnson/",
        "HTTPS://WWW.LinkedIn.com/in/AlexJohnson",
        "https://www.linkedin.com/in/alexjohnson?trk=public_profile&originalSubdomain=de",
        "https://de.linkedin.com/in/alexjohnson#about",
        "www.linkedin.com/in/alexjohnson",
        " https://www.linkedin.com/in/alexjohnson/ ",
    ],
)
def test_one_linkedin_profile_is_one_key_whatever_its_url_looks_like(url):
    assert people.normalise_linkedin_url(url) == "linkedin.com/in/alexjohnson"


def test_different_profiles_stay_different():
    assert people.normalise_linkedin_url(
        "https://www.linkedin.com/in/alex-johnson"
    ) != people.normalise_linkedin_url("https://www.linkedin.com/in/alexjohnson")
    assert people.normalise_linkedin_url("") == "" and people.key_of("", "123") == "id:123"
    assert people.normalise_linkedin_url("https://www.linkedin.com/in/j%C3%B6rg") == "linkedin.com/in/jörg"


def test_ingest_keeps_one_person_per_profile_however_the_url_is_written(user):
    first = stored_job(user, "Heads of sales in Berlin", count=4)
    again = ResearchJob.objects.create(owner=user, query="Heads of sales in Berlin", limit=4)
    results = sandbox_profiles.profiles("Heads of sales in Berlin", 0, 4)
    for result in results:  # the same people, their URLs written otherwise
        url = result["profile"]["linkedin_url"]
        result["profile"]["linkedin_url"] = url.replace("https://www.", "http://").upper() + "/?trk=x"
    ingest.store_page(again, clado.StatusPage(status="completed", results=results))

    assert Person.objects.count() == 4
    for position in range(4):
        assert first.leads.get(position=position).person_id == again.leads.get(position=position).person_id
    assert all(person.latest_lead.job_id == again.pk for person in Person.objects.all()), "the latest lead"


@pytest.mark.django_db(transaction=True)
def test_pages_stored_at_once_by_two_workers_leave_each_person_at_their_newest_lead(user, settings):
    """Two workers store the same people for two jobs at the same moment, pages overlapping in part
    (a retried page among them): each person ends pointing at their lead with the highest id."""
    import threading

    from django.db import connection

    results = sandbox_profiles.profiles("Founders in Tallinn", 0, 120)
    jobs = [
        ResearchJob.objects.create(owner=user, query=f"Founders in Tallinn {n}", limit=120) for n in (1, 2)
    ]
    start = threading.Barrier(2)
    errors = []

    def worker(job, pages):
        try:
            for number, first in pages:
                start.wait(timeout=20)
                page = clado.StatusPage(status="completed", results=results[first : first + 40], page=number)
                ingest.store_page(job, page)
        except Exception as error:  # raised in the test below
            errors.append(error)
        finally:
            connection.close()

    settings.POLL_PAGE_SIZE = 40  # three pages a job; the first job retries its last one
    plans = [[(1, 0), (2, 40), (3, 80), (3, 80)], [(3, 80), (2, 40), (1, 0), (2, 40)]]
    threads = [threading.Thread(target=worker, args=pair) for pair in zip(jobs, plans, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors

    assert Lead.objects.count() == 240 and Person.objects.count() == 120
    for person in Person.objects.all():
        assert person.latest_lead_id == max(person.leads.values_list("pk", flat=True)), person.key


def test_ingest_costs_the_same_however_many_people_are_known(user, django_assert_max_num_queries):
    stored_job(user, "Heads of sales in Berlin", count=300)
    job = ResearchJob.objects.create(owner=user, query="Heads of sales in Berlin", limit=100)
    page = clado.StatusPage(
        status="completed", results=sandbox_profiles.profiles("Heads of sales in Berlin", 0, 100)
    )
    # known leads, people upserted, their ids, leads inserted (SQLite: in two statements), latest leads,
    # the page's countries, the job's counter, a savepoint and its release
    with django_assert_max_num_queries(10):
        assert ingest.store_page(job, page) == 100
    assert Person.objects.count() == 300


def test_all_leads_shows_a_person_once_whichever_way_their_url_was_written(logged_in, user):
    job = stored_job(user, count=3)
    lead = job.leads.get(position=0)
    variant = ResearchJob.objects.create(owner=user, query="another", limit=1)
    raw = sandbox_profiles.profile("Heads of sales in Berlin", 0)
    raw["profile"]["id"] = "another-id"
    raw["profile"]["linkedin_url"] = lead.linkedin_url.replace("https://www.", "http://") + "/"
    ingest.store_page(variant, clado.StatusPage(status="completed", results=[raw]))

    rows = list(logged_in.get(reverse("research:lead_list"), {"per_page": 100}).context["leads_page"])
    assert len(rows) == 3
    shown = next(row for row in rows if row.person_id == lead.person_id)
    assert [job_id for job_id, _ in shown.sources] == [job.pk, variant.pk]


def test_leads_stored_before_people_were_kept_get_theirs(user):
    job = stored_job(user, count=5)
    job.leads.update(person=None)
    Person.objects.all().delete()
    assert people.link_unassigned() == 5
    assert Person.objects.count() == 5 and not job.leads.filter(person=None).exists()
    assert Lead.objects.filter(latest_for__isnull=False).count() == 5


# --- A status, tags and a note, shared with the team ----------------------------------------


def test_a_status_set_from_the_row_without_javascript(logged_in, user):
    job = stored_job(user, count=5)
    lead = job.leads.get(position=2)
    response = shortlist(logged_in, lead, status="contacted", next=job.get_absolute_url())
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    entry = ShortlistEntry.objects.get()
    assert (entry.person_id, entry.status, entry.updated_by) == (lead.person_id, "contacted", user)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    assert f'id="shortlist-cell-{lead.person_id}"' in page and '<option value="contacted" selected>' in page


def test_with_htmx_a_change_answers_with_the_changed_controls(logged_in, user):
    job = stored_job(user, count=3)
    lead = job.leads.get(position=1)
    answer = logged_in.post(
        reverse("research:shortlist_update", args=[lead.person_id]),
        {"status": "qualified", "tags": "Berlin, warm lead, berlin", "note": "Call Tuesday.", "part": "panel",
         "lead": lead.pk},
        **HTMX,
    ).content.decode()  # fmt: skip
    assert answer.lstrip().startswith(
        f'<form method="post" action="/jobs/people/{lead.person_id}/shortlist/"'
    )
    assert f'id="shortlist-cell-{lead.person_id}"' in answer and 'hx-swap-oob="true"' in answer, (
        "the row follows"
    )
    assert 'value="berlin, warm lead"' in answer and "Call Tuesday." in answer
    entry = ShortlistEntry.objects.get()
    assert sorted(t.name for t in entry.tags.all()) == ["berlin", "warm lead"] and entry.status == "qualified"

    logged_in.post(reverse("research:shortlist_update", args=[lead.person_id]), {"remove": "on"}, **HTMX)
    assert not ShortlistEntry.objects.exists()


def test_the_shortlist_is_the_team_s(logged_in, client, user, bob, django_user_model):
    sales = Group.objects.create(name="Sales")
    sales.user_set.add(user, bob)
    carol = django_user_model.objects.create_user("carol")
    job = stored_job(user, count=3)
    lead = job.leads.get(position=0)
    shortlist(logged_in, lead, status="qualified", tags="hot")

    client.force_login(bob)
    page = client.get(job.get_absolute_url(), {"shortlist": "qualified"})
    assert [row.pk for row in page.context["leads_page"]] == [lead.pk], "bob sees alice's shortlist"
    assert client.get(job.get_absolute_url()).status_code == 200
    client.force_login(carol)
    assert client.get(job.get_absolute_url()).status_code == 404, "carol is in no team: not her job"
    hers = stored_job(carol, count=3)  # the same people, found by carol
    page = client.get(hers.get_absolute_url(), {"shortlist": "qualified"})
    assert list(page.context["leads_page"]) == [], "another team's (or nobody's) shortlist is another"
    assert shortlists.scope_of(bob) == shortlists.scope_of(user) == f"team:{sales.pk}"
    assert shortlists.scope_of(carol) == f"user:{carol.pk}"


def test_one_person_found_by_two_jobs_has_one_entry(logged_in, user):
    first = stored_job(user, "Heads of sales in Berlin", count=3)
    again = stored_job(user, "Heads of sales in Berlin", count=3)
    shortlist(logged_in, first.leads.get(position=0), status="qualified")
    page = logged_in.get(again.get_absolute_url(), {"shortlist": "qualified"})
    assert [row.position for row in page.context["leads_page"]] == [0], (
        "shortlisted in one job, seen in the other"
    )


# --- Filtering and sorting ------------------------------------------------------------------


def test_filter_and_sort_by_status_and_tag(logged_in, user):
    job = stored_job(user, count=10)
    leads = list(job.leads.order_by("position"))
    shortlist(logged_in, leads[3], status="not_a_fit")
    shortlist(logged_in, leads[5], status="qualified", tags="warm")
    shortlist(logged_in, leads[7], status="new", tags="warm, berlin")
    url = job.get_absolute_url()

    def positions(**params):
        return [row.position for row in logged_in.get(url, {"per_page": 100, **params}).context["leads_page"]]

    assert positions(shortlist="any") == [3, 5, 7]
    assert positions(shortlist="none") == [0, 1, 2, 4, 6, 8, 9]
    assert positions(shortlist="qualified") == [5]
    assert positions(tag="warm") == [5, 7] and positions(tag=" Berlin ") == [7]
    assert positions(sort="status")[:3] == [7, 5, 3], "new, then qualified, then not a fit; the others after"
    assert positions(sort="-status")[-3:] == [3, 5, 7]
    page = logged_in.get(url).content.decode()
    assert '<option value="warm">' in page and '<option value="berlin">' in page, (
        "the tags in use are offered"
    )


# --- Bulk actions ---------------------------------------------------------------------------


def test_bulk_set_a_status_on_the_ticked_people(logged_in, user):
    job = stored_job(user, count=10)
    ticked = [job.leads.get(position=n).person_id for n in (1, 4, 6)]
    outsider = stored_job(user, "CTOs in Paris", count=1).leads.get().person_id
    response = bulk(
        logged_in, job, selection="page", person=[*ticked, outsider], action="status", new_status="contacted"
    )
    assert response.status_code == 302
    scope = shortlists.scope_of(user)
    assert {pk: e.status for pk, e in entries(scope).items()} == dict.fromkeys(ticked, "contacted"), (
        "only people of this table"
    )


def test_bulk_add_a_tag_to_everyone_matching_the_filters(logged_in, user):
    job = stored_job(user, count=40)
    germans = {lead.person_id for lead in job.leads.filter(country="Germany")}
    shortlist(logged_in, job.leads.filter(country="Germany").first(), status="qualified")
    response = bulk(
        logged_in, job, selection="all", country="Germany", action="tag", new_tag="DACH", htmx=True
    )
    assert response.status_code == 204 and response["HX-Trigger"] == "leads-changed"
    found = entries(shortlists.scope_of(user))
    assert set(found) == germans and all([t.name for t in e.tags.all()] == ["dach"] for e in found.values())
    assert sorted(e.status for e in found.values()).count("qualified") == 1, "a status already set stays"
    table = logged_in.get(job.get_absolute_url(), {"country": "Germany"}, **HTMX).content.decode()
    assert f"added to {len(germans)} people" in table


def test_bulk_export_of_the_selection_is_a_download_of_the_table_s_view(logged_in, user):
    job = stored_job(user, count=20)
    ticked = [job.leads.get(position=n) for n in (2, 3, 9, 12)]
    country = ticked[0].country
    response = bulk(
        logged_in, job, selection="page", person=[lead.person_id for lead in ticked], action="export",
        preset="salesforce", country=country, htmx=True,
    )  # fmt: skip
    assert response.status_code == 204, "the browser downloads it and stays on the page"
    target = urlsplit(response["HX-Redirect"])
    assert target.path == reverse("research:job_export", args=[job.pk])
    assert parse_qs(target.query)["preset"] == ["salesforce"] and parse_qs(target.query)["country"] == [
        country
    ]

    download = logged_in.get(response["HX-Redirect"])
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    expected = [lead for lead in ticked if lead.country == country]
    assert len(rows) == len(expected) and {row["LastName"] for row in rows} <= {
        lead.name.split()[-1] for lead in expected
    } | {lead.name for lead in expected}
    assert "selected" in download["Content-Disposition"] and "salesforce" in download["Content-Disposition"]

    everyone = bulk(logged_in, job, selection="all", action="export")
    assert everyone.status_code == 302 and everyone.url == reverse("research:job_export", args=[job.pk]) + "?"


def test_bulk_without_anyone_ticked_says_so(logged_in, user):
    job = stored_job(user, count=3)
    response = bulk(
        logged_in, job, selection="page", action="status", new_status="new", next=job.get_absolute_url()
    )
    assert response.status_code == 302
    assert "Tick at least one person" in logged_in.get(job.get_absolute_url()).content.decode()
    assert not ShortlistEntry.objects.exists()
