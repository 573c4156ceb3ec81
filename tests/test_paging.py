"""Long tables at any size: the same queries for a hundred leads as for thousands, deep pages with the
right rows, totals from the job's counter or counted up to 1,000 and said as "more than" beyond,
one row per person among the jobs a reader may see, and filter choices kept at ingest.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from research import clado, facets, ingest, leads, paging, shortlists
from research.models import JobCountry, Lead, ResearchJob, ShortlistEntry
from research.sandbox import profiles as sandbox_profiles
from tests.conftest import in_team
from tests.workspace_data import big_job, stored_job

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def queries_of(client, url, params=None):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params or {}, **HTMX)
    assert response.status_code == 200
    return [query["sql"] for query in context.captured_queries]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"page": 3},
        {"sort": "-name"},
        {"q": "Person"},
        {"country": "Germany"},
        {"c:Works in sales.": "NO"},
    ],  # noqa: E501
)
def test_a_results_page_asks_the_same_queries_at_two_hundred_leads_as_at_three_thousand(
    logged_in, user, params
):
    small, large = big_job(user, 200), big_job(user, 3000)
    assert len(queries_of(logged_in, small.get_absolute_url(), params)) == len(
        queries_of(logged_in, large.get_absolute_url(), params)
    )


def test_the_all_leads_page_asks_the_same_queries_at_a_hundred_leads_as_at_three_thousand(logged_in, user):
    big_job(user, 100)
    before = len(queries_of(logged_in, reverse("research:lead_list")))
    big_job(user, 2900)
    assert len(queries_of(logged_in, reverse("research:lead_list"))) == before


def test_an_unfiltered_page_takes_its_total_from_the_jobs_counter_and_counts_nothing(logged_in, user):
    job = big_job(user, 3000)
    sql = queries_of(logged_in, job.get_absolute_url(), {"page": 2})
    assert not [query for query in sql if "COUNT(" in query.upper()]
    page = logged_in.get(job.get_absolute_url(), {"page": 2}).context["leads_page"]
    assert (page.paginator.count, page.paginator.num_pages, page.exact) == (3000, 120, True)
    assert "Page 2 of 120" in logged_in.get(job.get_absolute_url(), {"page": 2}).content.decode()


def test_a_deep_page_shows_the_rows_of_that_page_in_every_sort(logged_in, user):
    job = big_job(user, 3000)
    page = logged_in.get(job.get_absolute_url(), {"page": 100}).context["leads_page"]
    assert [lead.position for lead in page] == list(range(2475, 2500))
    by_name = logged_in.get(job.get_absolute_url(), {"page": 100, "sort": "-name"}).context["leads_page"]
    expected = list(job.leads.order_by("-name", "pk").values_list("name", flat=True)[2475:2500])
    assert [lead.name for lead in by_name] == expected


def test_sorted_by_shortlist_status_every_page_is_that_part_of_the_whole_ordered_view(logged_in, user):
    """The shortlisted people by status, then everyone else in the search's order; descending the
    other way round. Read a page at a time (the shortlisted part, then the rest, each walked by
    index), the pages put together are the whole view as one ordered query gives it."""
    job, small = big_job(user, 130), big_job(user, 60)
    scope = shortlists.scope_of(user)
    statuses = ["qualified", "new", "not_a_fit", "contacted"]
    for number, lead in enumerate(job.leads.order_by("-position")[:30:2]):  # 15 people, four statuses
        ShortlistEntry.objects.create(scope=scope, person_id=lead.person_id, status=statuses[number % 4])
    # The small job finds the same people as the big one's first sixty: its first is listed in both.
    ShortlistEntry.objects.create(scope=scope, person_id=small.leads.first().person_id, status="new")

    def positions(sort, page):
        shown = logged_in.get(job.get_absolute_url(), {"sort": sort, "page": page}).context["leads_page"]
        return [lead.position for lead in shown]

    for sort in ("status", "-status"):
        whole = list(leads.browse(job.leads.all(), {"sort": sort}, scope).values_list("position", flat=True))
        pages = [positions(sort, number) for number in range(1, 7)]
        assert [position for page in pages for position in page] == whole and len(whole) == 130, sort
        assert [len(page) for page in pages] == [25, 25, 25, 25, 25, 5]
    ranks = list(
        leads.browse(job.leads.all(), {"sort": "status"}, scope).values_list("shortlist_rank", flat=True)
    )
    assert ranks[:16] == sorted(ranks[:16]) and set(ranks[16:]) == {len(statuses)}, "statuses first, in order"
    assert positions("status", 1)[16:] == list(range(1, 10)), "then everyone else, in the search's order"
    assert len(queries_of(logged_in, small.get_absolute_url(), {"sort": "status", "page": 2})) == len(
        queries_of(logged_in, job.get_absolute_url(), {"sort": "status", "page": 2})
    )


def test_a_page_past_the_end_shows_the_last_page(logged_in, user):
    job = big_job(user, 60)
    page = logged_in.get(job.get_absolute_url(), {"page": 99}).context["leads_page"]
    assert page.number == 3 and [lead.position for lead in page] == list(range(50, 60))
    assert logged_in.get(job.get_absolute_url(), {"page": "abc"}).context["leads_page"].number == 1


def test_a_filter_matching_more_than_a_thousand_says_so_and_never_a_made_up_number(logged_in, user):
    job = big_job(user, 3000)  # 1,500 of them answer NO
    response = logged_in.get(job.get_absolute_url(), {"c:Works in sales.": "NO"})
    page = response.context["leads_page"]
    assert (page.exact, page.paginator.num_pages, page.has_next()) == (False, None, True)
    html = response.content.decode()
    assert "more than 1,000</strong> profiles match" in html
    assert "Page 1 of" not in html and "Page 1<" in html
    # Its last pages still say the exact total: a page that isn't full is the last.
    last_page = {"c:Works in sales.": "NO", "page": 60}
    last = logged_in.get(job.get_absolute_url(), last_page).context["leads_page"]
    assert (last.exact, last.paginator.count, len(last)) == (True, 1500, 25)


def test_a_filter_matching_fewer_than_a_thousand_gives_the_exact_total(logged_in, user):
    job = big_job(user, 3000)
    page = logged_in.get(job.get_absolute_url(), {"q": "Person 0001"}).context["leads_page"]
    matching = job.leads.filter(name__icontains="Person 0001").count()
    assert (page.exact, page.paginator.count) == (True, matching)


def test_a_team_reader_sees_each_person_once_as_their_latest_lead_among_the_jobs_they_may_see(
    client, user, bob, django_user_model
):
    carol = django_user_model.objects.create_user("carol", password="s3cret-pass")
    east = in_team("East", user, carol)
    in_team("West", bob)
    query = "Heads of sales in Berlin"
    first = stored_job(user, query, count=5, team=east)
    second = stored_job(carol, query, count=3, team=east)  # the same three people found again
    stored_job(bob, query, count=5, team=None)  # later still, but not theirs to see
    client.force_login(user)
    rows = list(client.get(reverse("research:lead_list"), {"per_page": 100}).context["leads_page"])
    assert sorted(lead.job_id for lead in rows) == [first.pk] * 2 + [second.pk] * 3
    assert len({lead.person_id for lead in rows}) == 5
    client.force_login(bob)
    assert len(client.get(reverse("research:lead_list")).context["leads_page"]) == 5


def test_one_row_per_person_is_the_same_for_staff_and_for_a_reader_who_sees_every_job(user, staff):
    query = "Heads of sales in Berlin"
    for count in (4, 6, 3):
        stored_job(user, query, count=count)
    everyone = leads.deduplicated(Lead.objects.all(), everyone=True)
    some = leads.deduplicated(Lead.objects.all())
    assert sorted(everyone.values_list("pk", flat=True)) == sorted(some.values_list("pk", flat=True))
    assert everyone.count() == 6


def test_the_countries_a_job_offers_are_kept_as_its_pages_are_stored(logged_in, user):
    job = ResearchJob.objects.create(owner=user, query="Heads of sales in Berlin", limit=40)
    results = sandbox_profiles.profiles(job.query, 0, 40)
    ingest.store_page(job, clado.StatusPage(status="completed", results=results))
    stored = set(job.leads.exclude(country="").values_list("country", flat=True))
    assert stored and set(facets.countries(job)) == stored
    assert list(response_countries(logged_in, job)) == sorted(stored)
    ingest.store_page(job, clado.StatusPage(status="completed", results=results))  # again: nothing twice
    assert JobCountry.objects.filter(job=job).count() == len(stored)


def response_countries(client, job):
    return client.get(job.get_absolute_url()).context["countries"]


def test_the_jobs_list_shows_each_jobs_spend(logged_in, user):
    job = stored_job(user, count=3)
    job.charges.create(
        endpoint="deep-research",
        user=user,
        amount=123_000,
        currency="0x20c0000000000000000000000000000000000000",
        decimals=6,
        recipient="0x" + "22" * 20,
        chain_id=4217,
        challenge_id="c-1",
        state="settled",
    )
    rows = logged_in.get(reverse("research:job_list")).context["page"].object_list
    assert [row.spend() for row in rows if row.pk == job.pk] == [123_000]


def test_page_numbers_from_the_address_are_positive_integers_or_the_first_page():
    assert [paging.page_number(value) for value in ("3", "0", "-2", "x", "", None, "9" * 30)] == [
        3,
        1,
        1,
        1,
        1,
        1,
        1,
    ]


def test_the_search_finds_what_is_stored_changed_or_short_in_any_case(user):
    job = big_job(user, 30)
    found = lambda q: set(leads.browse(job.leads.all(), {"q": q}).values_list("name", flat=True))  # noqa: E731
    assert found("PERSON 000012") == {"Person 000012"}
    job.leads.filter(name="Person 000012").update(name='Zoë "the closer" Quinn')
    assert found("person 000012") == set() and found('"THE CLOSER"') == {'Zoë "the closer" Quinn'}
    assert found("zo") == {'Zoë "the closer" Quinn'}  # under three characters: scanned, still found
    job.leads.filter(name__startswith="Zoë").delete()
    assert found("closer") == set()
    expected = set(job.leads.filter(company__icontains="company 1").values_list("name", flat=True))
    assert len(expected) == 10 and found("company 1") == expected  # Company 1, 10..19 but the deleted 12


def test_a_poll_cycle_notes_each_country_once_and_forgets_what_was_rolled_back(
    user, django_capture_on_commit_callbacks
):
    job = ResearchJob.objects.create(owner=user, query="Heads of sales in Berlin", limit=200)
    results = sandbox_profiles.profiles(job.query, 0, 200)
    first, second = results[:100], results[100:]

    def countries_of(page):
        return {clado.parse_lead(result)["country"] for result in page}

    assert countries_of(second) <= countries_of(first), "the second page brings no new country"

    with pytest.raises(RuntimeError), transaction.atomic():  # a page whose transaction fails
        facets.note(job, [Lead(country="Atlantis")])
        raise RuntimeError
    with django_capture_on_commit_callbacks(execute=True):
        ingest.store_page(job, clado.StatusPage(status="completed", results=first, page=1))
    with CaptureQueriesContext(connection) as later_page, django_capture_on_commit_callbacks(execute=True):
        ingest.store_page(job, clado.StatusPage(status="completed", results=second, page=2))

    assert not [q for q in later_page.captured_queries if "research_jobcountry" in q["sql"]]
    assert job.leads.count() == 200
    assert set(facets.countries(job)) == set(job.leads.exclude(country="").values_list("country", flat=True))
    facets.note(job, [Lead(country="Atlantis")])  # rolled back before, so noted now
    assert "Atlantis" in set(facets.countries(job))
